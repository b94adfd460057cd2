//! Write sharding for hot keys: spread one logical key over N physical partition keys.
//!
//! Two ways to pick a shard: *calculated* (a stable hash of an id, so the same id always lands on the same shard
//! and can be found again) and *random* (for counters, where any shard will do and the reader sums them all).
//! Sizing rule: N ≥ peak writes/s on the hottest logical key ÷ ~800 (a partition takes 1 000 WCU/s; keep headroom).

use std::{fmt, num::NonZeroU16, str::FromStr};

/// The most shards a key may be split over. Reads that fan out to every shard stay cheap well below this.
pub const MAX_SHARDS: u16 = 1000;

/// A validated shard count, 1..=[`MAX_SHARDS`]. Only ever grow it for live data: items written to shards above a
/// smaller N would no longer be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardCount(NonZeroU16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a shard count must be a whole number from 1 to {MAX_SHARDS}")]
pub struct ShardCountError;

impl ShardCount {
    pub fn new(n: u16) -> Result<Self, ShardCountError> {
        match NonZeroU16::new(n) {
            Some(n) if n.get() <= MAX_SHARDS => Ok(Self(n)),
            _ => Err(ShardCountError),
        }
    }

    pub fn get(self) -> u16 {
        self.0.get()
    }

    /// The shard of `id`: stable across processes, machines and releases (xxh3, not std's randomized hasher).
    pub fn calculated(self, id: &str) -> u16 {
        (xxhash_rust::xxh3::xxh3_64(id.as_bytes()) % u64::from(self.get())) as u16
    }

    /// A uniformly random shard, for write-spreading where readers visit every shard.
    pub fn random(self) -> u16 {
        rand::random_range(0..self.get())
    }

    /// Every shard, for readers that fan out.
    pub fn all(self) -> std::ops::Range<u16> {
        0..self.get()
    }
}

impl FromStr for ShardCount {
    type Err = ShardCountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse::<u16>().map_err(|_| ShardCountError).and_then(Self::new)
    }
}

impl fmt::Display for ShardCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The physical key of one shard of a logical key: `{base}#{shard}`.
pub fn sharded_key(base: &str, shard: u16) -> String {
    format!("{base}#{shard}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_sane_counts() {
        assert_eq!("16".parse::<ShardCount>().unwrap().get(), 16);
        assert_eq!(" 1 ".parse::<ShardCount>().unwrap().get(), 1);
        for bad in ["0", "-1", "1001", "abc", "", "1.5"] {
            assert_eq!(bad.parse::<ShardCount>(), Err(ShardCountError), "{bad:?}");
        }
    }

    const PINNED: [u16; 4] = [9, 14, 6, 2];

    #[test]
    fn calculated_shard_is_stable_and_in_range() {
        let n = ShardCount::new(16).unwrap();
        // Pinned values: a change here would orphan every item already written under the old shard.
        let pinned: Vec<u16> = ["01JDQ3X7Y8Z9ABCDEFGHJKMNPQ", "post-1", "post-2", ""].map(|id| n.calculated(id)).into();
        assert_eq!(pinned, PINNED);
        assert!((0..10_000).all(|i| n.calculated(&format!("id-{i}")) < 16));
    }

    #[test]
    fn calculated_shards_spread_evenly() {
        let n = ShardCount::new(16).unwrap();
        let mut counts = [0u32; 16];
        for i in 0..16_000 {
            counts[n.calculated(&format!("01JDQ{i:021}")) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
    }

    #[test]
    fn random_shard_covers_the_range() {
        let n = ShardCount::new(8).unwrap();
        let mut seen = [false; 8];
        for _ in 0..1000 {
            seen[n.random() as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(ShardCount::new(1).unwrap().random(), 0);
    }

    #[test]
    fn sharded_key_format() {
        assert_eq!(sharded_key("POST#1#LIKES", 7), "POST#1#LIKES#7");
        assert_eq!(ShardCount::new(3).unwrap().all().collect::<Vec<_>>(), vec![0, 1, 2]);
    }
}
