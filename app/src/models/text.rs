//! User-supplied text: handles, display names and post bodies, each with its own rules.
//! Lengths count Unicode scalar values, after trimming surrounding whitespace.

use serde::Serialize;

fn has_control_chars(s: &str, allow_newlines: bool) -> bool {
    s.chars().any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
}

/// A unique public name: 3 to 30 of `a-z`, `0-9`, `_`, compared case-insensitively (stored lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let handle = raw.trim().to_ascii_lowercase();
        let valid_chars = handle.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !(3..=30).contains(&handle.len()) || !valid_chars {
            return Err("handle must be 3 to 30 characters of a-z, 0-9 and _".into());
        }
        Ok(Self(handle))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown next to a user's posts: 1 to 50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if !(1..=Self::MAX_CHARS).contains(&name.chars().count()) || has_control_chars(name, false) {
            return Err(format!("display_name must be 1 to {} characters without control characters", Self::MAX_CHARS));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text of a post: 1 to 500 characters; newlines and tabs allowed, other control characters not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostBody(String);

impl PostBody {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let body = raw.trim();
        if !(1..=Self::MAX_CHARS).contains(&body.chars().count()) || has_control_chars(body, true) {
            return Err(format!(
                "body must be 1 to {} characters; control characters other than newline and tab are not allowed",
                Self::MAX_CHARS
            ));
        }
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_normalised_and_checked() {
        assert_eq!(Handle::parse("  Ada_Lovelace ").unwrap().as_str(), "ada_lovelace");
        assert!(Handle::parse("abc").is_ok());
        assert!(Handle::parse(&"a".repeat(30)).is_ok());
        for bad in ["", "ab", "has space", "dash-ed", "émile", &"a".repeat(31), "a\u{0}b"] {
            assert!(Handle::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names_count_characters_not_bytes() {
        assert!(DisplayName::parse(&"é".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(51)).is_err());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("line\nbreak").is_err());
        assert_eq!(DisplayName::parse(" Ada ").unwrap().as_str(), "Ada");
    }

    #[test]
    fn post_bodies_allow_newlines_but_not_other_controls() {
        assert!(PostBody::parse("hello\nworld\t!").is_ok());
        assert!(PostBody::parse("bell\u{7}").is_err());
        assert!(PostBody::parse("").is_err());
        assert!(PostBody::parse(&"🦀".repeat(500)).is_ok());
        assert!(PostBody::parse(&"🦀".repeat(501)).is_err());
    }
}
