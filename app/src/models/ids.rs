//! Identifiers: ULIDs (time-sortable, 26 Crockford base32 characters), one type per entity so a user id can
//! never be passed where a post id belongs.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::Timestamp;

macro_rules! ulid_id {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            /// A new id for something created now.
            pub fn generate() -> Self {
                Self(Ulid::generate())
            }

            /// The id of something created with `id` (made for it by `routes::extract::NewId`).
            pub fn from_ulid(id: Ulid) -> Self {
                Self(id)
            }

            pub fn parse(s: &str) -> Result<Self, String> {
                Ulid::from_string(s)
                    .ok()
                    // Round-trip check: rejects values beyond 128 bits ("8ZZZ…") that the decoder wraps.
                    .filter(|id| id.to_string().eq_ignore_ascii_case(s))
                    .map(Self)
                    .ok_or_else(|| format!("{} must be a 26-character ULID", $what))
            }

            /// When the id was generated (millisecond precision).
            pub fn created_at(&self) -> Timestamp {
                Timestamp::from_unix_millis(self.0.timestamp_ms())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

ulid_id!(UserId, "a user id");
ulid_id!(PostId, "a post id");
ulid_id!(MediaId, "a media id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_canonical_and_lowercase_ulids() {
        let id = PostId::generate();
        assert_eq!(PostId::parse(&id.to_string()), Ok(id));
        assert_eq!(PostId::parse(&id.to_string().to_lowercase()), Ok(id));
        assert_eq!(id.to_string().len(), 26);
    }

    #[test]
    fn rejects_non_ulids() {
        for bad in
            ["", "123", "not-a-ulid-at-all-xxxxxxxxx", "01JDQ3X7Y8Z9ABCDEFGHJKMNPQQ", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ"]
        {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_edge_reads_ids_as_the_api_does() {
        // The edge keys paths by `stampede_contract::routes::ulid` and answers 404 where it finds none: it must
        // accept what `parse` accepts, and write the id as the API does.
        let id = PostId::generate().to_string();
        let mixed: String =
            id.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c }).collect();
        let near_misses = [
            "".to_owned(),
            id[1..].to_owned(),
            format!("{id}0"),
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ".to_owned(),
            "7ZZZZZZZZZZZZZZZZZZZZZZZZZ".to_owned(),
            format!("{}I", &id[..25]),
            format!("{}l", &id[..25]),
            format!("{}O", &id[..25]),
            format!("{}u", &id[..25]),
            format!("{} ", &id[..25]),
        ];
        for raw in [id.clone(), id.to_lowercase(), mixed].iter().chain(&near_misses) {
            let api = PostId::parse(raw).ok().map(|id| id.to_string());
            assert_eq!(stampede_contract::routes::ulid(raw), api, "{raw:?}");
        }
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let first = PostId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = PostId::generate();
        assert!(first < second);
        assert!(first.created_at() <= second.created_at());
    }
}
