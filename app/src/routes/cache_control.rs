//! Cache-Control policy per kind of response. `s-maxage` and `stale-while-revalidate` drive the edge cache;
//! browsers (`max-age=0`) always revalidate. Writes, errors and anything per-user are `private, no-store`, but
//! for the 404 of a public resource that does not exist, which the edge keeps briefly.

use axum::http::{HeaderName, HeaderValue, header};

pub type CacheHeader = [(HeaderName, HeaderValue); 1];

const fn policy(value: &'static str) -> CacheHeader {
    [(header::CACHE_CONTROL, HeaderValue::from_static(value))]
}

/// Profiles change rarely.
pub const PROFILE: CacheHeader = policy("public, max-age=0, s-maxage=60, stale-while-revalidate=300");
/// A post's body never changes; its like count does.
pub const POST: CacheHeader = policy("public, max-age=0, s-maxage=10, stale-while-revalidate=60");
/// Feeds move fast; a second or two at the edge absorbs a stampede.
pub const FEED: CacheHeader = policy("public, max-age=0, s-maxage=2, stale-while-revalidate=10");
/// Things that never change once settled (processed media).
pub const FINAL: CacheHeader = policy("public, max-age=60, s-maxage=3600");
/// Redirects to short-lived signed links: cache for much less than the link lives.
pub const REDIRECT: CacheHeader = policy("public, max-age=300, s-maxage=300");
/// The 404 of a public read whose resource does not exist: a flood of reads of one missing id reaches the
/// database once per edge location per 10 s. The create of the resource deletes it from the edge (`x-invalidates`).
pub const ABSENT: CacheHeader = policy("public, max-age=0, s-maxage=10");
/// Writes and per-user responses.
pub const PRIVATE: CacheHeader = policy("private, no-store");
