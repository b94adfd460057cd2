//! Headers that carry meaning between the edge and the API (and, for some, the client).

/// The shared secret the edge adds to every request it forwards; the API answers only requests carrying it.
pub const EDGE_SECRET: &str = "x-edge-secret";

/// Set by the API on a successful write: the paths whose cached GETs the write made wrong, comma-separated.
/// The edge deletes those entries and does not pass the header on to the client.
pub const INVALIDATES: &str = "x-invalidates";

/// Unsafe requests carrying it are replayed, not repeated, by the API on the routes of [`IDEMPOTENT_POSTS`] (so
/// the edge may resend them there, and only there).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The `POST` routes that honour [`IDEMPOTENCY_KEY`]: every create. A create repeated with the same key makes
/// nothing new and answers what the first one did.
pub const IDEMPOTENT_POSTS: [&str; 3] = ["/v1/users", "/v1/posts", "/v1/media/uploads"];

/// Whether a request may be sent a second time after the first may have been seen: safe and idempotent methods,
/// and `POST`s with an [`IDEMPOTENCY_KEY`] to a route that honours it. Never `PATCH`, never other `POST`s.
pub fn may_resend(method: &str, path: &str, has_idempotency_key: bool) -> bool {
    match method {
        "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" => true,
        "POST" => has_idempotency_key && IDEMPOTENT_POSTS.contains(&path),
        _ => false,
    }
}

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
    fn only_idempotent_requests_may_be_sent_twice() {
        assert!(may_resend("GET", "/v1/posts", false) && may_resend("PUT", "/v1/posts/1/like", false));
        assert!(may_resend("DELETE", "/v1/posts/1", false));
        for path in IDEMPOTENT_POSTS {
            assert!(may_resend("POST", path, true) && !may_resend("POST", path, false), "{path}");
        }
        assert!(!may_resend("POST", "/v1/posts/1/anything", true), "a route that ignores the key");
        assert!(!may_resend("PATCH", "/v1/users/me", true));
    }

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
