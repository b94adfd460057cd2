//! Headers that carry meaning between the edge and the API (and, for some, the client).

/// The shared secret the edge adds to every request it forwards; the API answers only requests carrying it.
pub const EDGE_SECRET: &str = "x-edge-secret";

/// Set by the API on a successful write: the paths whose cached GETs the write made wrong, comma-separated.
/// The edge deletes those entries and does not pass the header on to the client.
pub const INVALIDATES: &str = "x-invalidates";

/// Unsafe requests carrying it are replayed, not repeated, by the API (so the edge may resend them).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// At most this many paths are honoured in one [`INVALIDATES`] header.
pub const MAX_INVALIDATED_PATHS: usize = 16;

/// The [`INVALIDATES`] value for `paths`.
pub fn invalidates<S: AsRef<str>>(paths: &[S]) -> String {
    paths.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// The paths of an [`INVALIDATES`] value that are plain absolute paths (no query, no scheme, no spaces),
/// at most [`MAX_INVALIDATED_PATHS`] of them; anything else is ignored.
pub fn invalidated_paths(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|path| {
            path.starts_with('/')
                && !path.starts_with("//")
                && path.len() <= 512
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#')
        })
        .take(MAX_INVALIDATED_PATHS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_paths_round_trip_and_junk_is_dropped() {
        let value = invalidates(&["/v1/posts/1", "/v1/users/2/posts"]);
        assert_eq!(value, "/v1/posts/1, /v1/users/2/posts");
        assert_eq!(invalidated_paths(&value), ["/v1/posts/1", "/v1/users/2/posts"]);
        assert_eq!(
            invalidated_paths("https://evil.example/x, //evil.example/x, /ok, /q?x=1, rel, /a#b, , /has space"),
            ["/ok"]
        );
        let many = invalidates(&vec!["/p"; 40]);
        assert_eq!(invalidated_paths(&many).len(), MAX_INVALIDATED_PATHS);
    }
}
