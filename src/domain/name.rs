//! Display names: 1–32 characters after trimming and NFC normalisation, and none of the
//! characters that hide or disguise text on other people's screens: control (Cc), format
//! (Cf: bidi overrides and isolates, zero-width characters, BOM, soft hyphen, …) and
//! line/paragraph separators (Zl, Zp).

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

pub const MAX_CHARS: usize = 32;

/// The longest canonical decomposition of one character (U+1FAF and its kin). Every NFC
/// character stands for at most this many input characters, so a longer input is too long
/// whatever it normalises to, and is refused before normalising it.
const MAX_DECOMPOSITION: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidName {
    #[error("display_name must not be empty")]
    Empty,
    #[error("display_name must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("display_name must not contain control characters such as U+{:04X}", u32::from(*.0))]
    Control(char),
    #[error(
        "display_name must not contain invisible formatting characters such as U+{:04X} \
         (bidi controls, zero-width characters, BOM, soft hyphen)",
        u32::from(*.0)
    )]
    Format(char),
    #[error("display_name must not contain line or paragraph separators such as U+{:04X}", u32::from(*.0))]
    Separator(char),
}

/// Why `c` may not appear in a name, if it may not.
fn forbidden(c: char) -> Option<InvalidName> {
    match c.general_category() {
        GeneralCategory::Control => Some(InvalidName::Control(c)),
        GeneralCategory::Format => Some(InvalidName::Format(c)),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            Some(InvalidName::Separator(c))
        }
        _ => None,
    }
}

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, InvalidName> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(InvalidName::Empty);
        }
        if trimmed.chars().nth(MAX_CHARS * MAX_DECOMPOSITION).is_some() {
            return Err(InvalidName::TooLong);
        }
        let name: String = trimmed.nfc().collect();
        // Trimming again: NFC never makes or moves white space, but this costs nothing.
        let name = name.trim();
        if name.chars().count() > MAX_CHARS {
            return Err(InvalidName::TooLong);
        }
        if let Some(e) = name.chars().find_map(forbidden) {
            return Err(e);
        }
        Ok(Self(name.to_owned()))
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
    use proptest::prelude::*;
    use unicode_normalization::is_nfc;

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
    fn accepts_accents_emoji_and_scripts() {
        for name in [
            "José Ñúñez",
            "Zoë 🎉",
            "🦊🦊🦊",
            "🇪🇸 Lucía",
            "李小龍",
            "Ана-Мария",
            "محمد",
            "ᄒᆞᆫ글",
            "👍🏽 ok",
            "❤️",
        ] {
            let parsed = DisplayName::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(is_nfc(parsed.as_str()));
        }
        let emoji32 = "🎉".repeat(32);
        assert_eq!(DisplayName::parse(&emoji32).unwrap().as_str(), emoji32);
    }

    #[test]
    fn normalises_to_nfc_and_counts_after() {
        // "e" + combining acute, 32 times: 64 characters in, 32 out.
        let decomposed = "e\u{301}".repeat(32);
        let name = DisplayName::parse(&decomposed).unwrap();
        assert_eq!(name.as_str(), "é".repeat(32));
        // Four characters that compose into one (U+1FAF), 32 times, is still 32.
        let four = "\u{3A9}\u{314}\u{342}\u{345}".repeat(32);
        assert_eq!(
            DisplayName::parse(&four).unwrap().as_str().chars().count(),
            32
        );
        assert_eq!(
            DisplayName::parse(&format!("{four}x")),
            Err(InvalidName::TooLong)
        );
    }

    #[test]
    fn no_character_decomposes_into_more_than_the_bound() {
        let longest = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .map(|c| std::iter::once(c).nfd().count())
            .max();
        assert_eq!(longest, Some(MAX_DECOMPOSITION));
    }

    #[test]
    fn rejects_empty_control_format_and_separators() {
        assert_eq!(DisplayName::parse("   "), Err(InvalidName::Empty));
        assert_eq!(DisplayName::parse(""), Err(InvalidName::Empty));
        assert_eq!(
            DisplayName::parse("a\u{7}b"),
            Err(InvalidName::Control('\u{7}'))
        );
        assert_eq!(DisplayName::parse("a\nb"), Err(InvalidName::Control('\n')));
        for c in [
            '\u{AD}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{202A}',
            '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}', '\u{200E}', '\u{200F}', '\u{61C}',
        ] {
            assert_eq!(
                DisplayName::parse(&format!("Ana{c}Bob")),
                Err(InvalidName::Format(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }
        // Leading BOM and zero-width space are not white space: not trimmed, refused.
        assert!(DisplayName::parse("\u{FEFF}Ana").is_err());
        assert!(DisplayName::parse("\u{200B}").is_err());
        for c in ['\u{2028}', '\u{2029}'] {
            assert_eq!(
                DisplayName::parse(&format!("Ana{c}Bob")),
                Err(InvalidName::Separator(c))
            );
        }
        let err = DisplayName::parse("evil\u{202E}gnp.exe").unwrap_err();
        assert!(err.to_string().contains("U+202E"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic_and_accepted_names_are_clean(input in any::<String>()) {
            if let Ok(name) = DisplayName::parse(&input) {
                let s = name.as_str();
                prop_assert!(is_nfc(s));
                prop_assert_eq!(s, s.trim());
                prop_assert!((1..=MAX_CHARS).contains(&s.chars().count()));
                prop_assert!(s.chars().all(|c| forbidden(c).is_none()));
            }
        }

        #[test]
        fn names_from_mixed_scripts_and_marks(input in "[a-zé\u{301}\u{308} 🎉\u{200D}\u{202E}\u{AD}\u{2028}\n]{0,80}") {
            if let Ok(name) = DisplayName::parse(&input) {
                let s = name.as_str();
                prop_assert!(is_nfc(s));
                let hidden = ['\u{200D}', '\u{202E}', '\u{AD}', '\u{2028}', '\n'];
                prop_assert!(!s.contains(hidden), "{:?}", s);
                prop_assert!(s.chars().count() <= MAX_CHARS);
            } else {
                let cleaned: String = input.trim().nfc().collect();
                let bad = cleaned.chars().any(|c| forbidden(c).is_some());
                prop_assert!(bad || cleaned.trim().is_empty() || cleaned.trim().chars().count() > MAX_CHARS);
            }
        }
    }
}
