//! Names in one session are unique: a name already taken (ignoring case) is shown with a
//! suffix, `Ana (2)`, `Ana (3)`, so nobody passes for another player on the big screen.
//! A counter per name keeps each claim a step or two, however many pick the same name.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Default, Clone)]
pub struct UniqueNames {
    /// Every name shown in the session, lowercased.
    taken: HashSet<String>,
    /// Per lowercased name, how many suffixes were handed out.
    suffixes: HashMap<String, u32>,
}

/// The comparison key of a name: two names that differ only in case are the same name.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

impl UniqueNames {
    /// The name to show for a new player who asked for `name`.
    pub fn claim(&mut self, name: &str) -> String {
        let key = name_key(name);
        if self.taken.insert(key.clone()) {
            return name.to_owned();
        }
        loop {
            let count = self.suffixes.entry(key.clone()).or_insert(0);
            *count += 1;
            let n = *count + 1;
            if self.taken.insert(format!("{key} ({n})")) {
                return format!("{name} ({n})");
            }
        }
    }

    /// Marks a name as shown (a player restored from storage keeps the name they had).
    pub fn restore(&mut self, shown: &str) {
        self.taken.insert(name_key(shown));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_second_ana_is_ana_2_whatever_the_case() {
        let mut names = UniqueNames::default();
        assert_eq!(names.claim("Ana"), "Ana");
        assert_eq!(names.claim("ana"), "ana (2)");
        assert_eq!(names.claim("Ana"), "Ana (3)");
        assert_eq!(names.claim("Ben"), "Ben");
    }

    #[test]
    fn a_literal_suffix_is_never_shown_twice() {
        let mut names = UniqueNames::default();
        assert_eq!(names.claim("Ana (2)"), "Ana (2)");
        assert_eq!(names.claim("Ana"), "Ana");
        assert_eq!(names.claim("Ana"), "Ana (3)");
        let mut restored = UniqueNames::default();
        restored.restore("Ana");
        restored.restore("Ana (2)");
        assert_eq!(restored.claim("ANA"), "ANA (3)");
    }

    proptest! {
        #[test]
        fn every_shown_name_differs(picks in proptest::collection::vec("[aAbB()2 ]{1,6}", 1..60)) {
            let mut names = UniqueNames::default();
            let mut shown = HashSet::new();
            for p in &picks {
                let got = names.claim(p);
                prop_assert!(got.starts_with(p.as_str()));
                prop_assert!(shown.insert(name_key(&got)), "{} shown twice", got);
            }
        }
    }
}
