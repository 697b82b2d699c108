//! Display names: 1–32 characters after trimming, no control characters.

use std::fmt;

pub const MAX_CHARS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidName {
    #[error("display_name must not be empty")]
    Empty,
    #[error("display_name must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("display_name must not contain control characters")]
    Control,
}

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, InvalidName> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(InvalidName::Empty);
        }
        if trimmed.chars().count() > MAX_CHARS {
            return Err(InvalidName::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidName::Control);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_counts_characters_not_bytes() {
        assert_eq!(DisplayName::parse("  Ana ").unwrap().as_str(), "Ana");
        assert!(DisplayName::parse(&"é".repeat(32)).is_ok());
        assert_eq!(
            DisplayName::parse(&"é".repeat(33)),
            Err(InvalidName::TooLong)
        );
    }

    #[test]
    fn rejects_empty_and_control() {
        assert_eq!(DisplayName::parse("   "), Err(InvalidName::Empty));
        assert_eq!(DisplayName::parse("a\u{7}b"), Err(InvalidName::Control));
        assert_eq!(DisplayName::parse("a\nb"), Err(InvalidName::Control));
    }
}
