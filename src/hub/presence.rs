//! Who is connected to a session on this node: live stream counts per user, plus a grace
//! period after each long-poll so a polling client stays online between its requests.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Tracker {
    streams: HashMap<String, u32>,
    polls: HashMap<String, i64>,
}

impl Tracker {
    /// Returns whether the user came online.
    pub fn connect(&mut self, user: &str) -> bool {
        let n = self.streams.entry(user.to_owned()).or_insert(0);
        *n += 1;
        *n == 1 && !self.polls.contains_key(user)
    }

    /// Returns whether the user may have gone offline.
    pub fn disconnect(&mut self, user: &str) -> bool {
        match self.streams.get_mut(user) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                self.streams.remove(user);
                true
            }
            None => false,
        }
    }

    /// Records a poll valid until `until_ms`; returns whether the user came online.
    pub fn touch(&mut self, user: &str, until_ms: i64) -> bool {
        let new = !self.streams.contains_key(user) && !self.polls.contains_key(user);
        self.polls.insert(user.to_owned(), until_ms);
        new
    }

    pub fn online(&mut self, now_ms: i64) -> Vec<String> {
        self.polls.retain(|_, until| *until > now_ms);
        let mut users: Vec<String> = self
            .streams
            .keys()
            .chain(self.polls.keys().filter(|u| !self.streams.contains_key(*u)))
            .cloned()
            .collect();
        users.sort_unstable();
        users
    }

    pub fn next_expiry(&self) -> Option<i64> {
        self.polls.values().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_expire_streams_do_not() {
        let mut t = Tracker::default();
        assert!(t.connect("a"));
        assert!(t.touch("b", 100));
        assert!(!t.touch("a", 100));
        assert_eq!(t.online(50), ["a", "b"]);
        assert_eq!(t.online(100), ["a"]);
        assert!(t.disconnect("a"));
        assert!(t.online(100).is_empty());
        assert_eq!(t.next_expiry(), None);
    }
}
