//! Instants as fixed-width RFC 3339 UTC strings with milliseconds (`2026-11-22T14:11:00.123Z`), so that string
//! order is time order, which the sort keys rely on.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, PrimitiveDateTime, format_description::FormatItem, macros::format_description};

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Now, truncated to the millisecond like every stored timestamp.
    pub fn now() -> Self {
        let millis =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_millis();
        Self::from_unix_millis(millis as u64)
    }

    pub fn from_unix_millis(millis: u64) -> Self {
        let nanos = i128::from(millis) * 1_000_000;
        Self(OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("ULID timestamps fit in the calendar"))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        PrimitiveDateTime::parse(s, FORMAT)
            .map(|t| Self(t.assume_utc()))
            .map_err(|e| format!("not a timestamp like 2026-01-31T12:00:00.000Z: {e}"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.format(FORMAT).map_err(|_| fmt::Error)?)
    }
}

impl TryFrom<String> for Timestamp {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_round_trip() {
        let t = Timestamp::from_unix_millis(1_795_000_000_007);
        assert_eq!(t.to_string(), "2026-11-18T11:06:40.007Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
        assert_eq!(Timestamp::from_unix_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn string_order_is_time_order() {
        let times = [1u64, 999, 1_000, 59_999, 1_795_000_000_000, 1_795_000_000_001];
        let strings: Vec<String> = times.iter().map(|&t| Timestamp::from_unix_millis(t).to_string()).collect();
        let mut sorted = strings.clone();
        sorted.sort();
        assert_eq!(strings, sorted);
    }
}
