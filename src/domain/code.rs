//! Session codes: six characters from an alphabet without look-alikes (no 0/O, 1/I/L).

use std::fmt;

use rand::Rng;

pub const ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const LEN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionCode([u8; LEN]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a session code is 6 characters from {}", std::str::from_utf8(ALPHABET).unwrap_or(""))]
pub struct InvalidCode;

impl SessionCode {
    /// Parses user input: case-insensitive, surrounding spaces ignored.
    pub fn parse(input: &str) -> Result<Self, InvalidCode> {
        let input = input.trim();
        if input.len() != LEN {
            return Err(InvalidCode);
        }
        let mut out = [0u8; LEN];
        for (slot, b) in out.iter_mut().zip(input.bytes()) {
            let up = b.to_ascii_uppercase();
            if !ALPHABET.contains(&up) {
                return Err(InvalidCode);
            }
            *slot = up;
        }
        Ok(Self(out))
    }

    pub fn random(rng: &mut impl Rng) -> Self {
        let mut out = [0u8; LEN];
        for slot in &mut out {
            *slot = ALPHABET[rng.random_range(0..ALPHABET.len())];
        }
        Self(out)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII from ALPHABET is ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for SessionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_case_insensitively() {
        assert_eq!(SessionCode::parse("k7p2qx").unwrap().as_str(), "K7P2QX");
        assert_eq!(SessionCode::parse(" K7P2QX ").unwrap().as_str(), "K7P2QX");
    }

    #[test]
    fn rejects_look_alikes_and_lengths() {
        for bad in [
            "", "ABC", "ABCDEFG", "0OIL11", "ABCDE1", "ABCDÉ", "ABC DE", "ABCDEO",
        ] {
            assert_eq!(SessionCode::parse(bad), Err(InvalidCode), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn random_codes_parse_back(seed in any::<u64>()) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let code = SessionCode::random(&mut rng);
            prop_assert_eq!(SessionCode::parse(code.as_str()), Ok(code));
            prop_assert_eq!(SessionCode::parse(&code.as_str().to_lowercase()), Ok(code));
        }
    }
}
