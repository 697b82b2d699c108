//! The game's rules, free of I/O: codes, names, quizzes, scoring, the session state machine,
//! leaderboard order and the shapes of events. Nothing here knows about HTTP, SQL or Redis,
//! so every rule is unit- and property-tested on its own.

pub mod code;
pub mod deal;
pub mod event;
pub mod feedback;
pub mod import;
#[cfg(test)]
mod input_props;
pub mod leaderboard;
pub mod name;
pub mod quiz;
pub mod scoring;
pub mod session;
pub mod standing;
pub mod unique_names;

pub use code::SessionCode;
pub use name::DisplayName;

/// Users are identified by the `sub` of their token.
pub type UserId = String;

/// Milliseconds since the Unix epoch, as read from the server's clock.
pub type Millis = i64;

/// RFC 3339 UTC with millisecond precision, the format of every `*_at` field.
pub fn rfc3339(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_is_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_500), "1970-01-01T00:00:01.5Z");
    }
}
