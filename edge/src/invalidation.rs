//! Which cached GETs a successful write makes wrong, so the edge deletes them in its location at once instead of
//! waiting for their TTL. Only the canonical (query-less) URLs are deleted: other variants of a list expire by
//! their short TTL.

/// Paths whose cached GET `method path` (by `acting_user`) invalidates.
pub fn affected_paths(method: &str, path: &str, acting_user: Option<&str>) -> Vec<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        // A like or unlike changes the post's count (once rolled up) and the lists showing it.
        ("PUT" | "DELETE", ["", "v1", "posts", id, "like"]) => vec![format!("/v1/posts/{id}"), "/v1/posts".into()],
        // A new post heads the global feed and its author's timeline.
        ("POST", ["", "v1", "posts"]) => {
            let mut paths = vec!["/v1/posts".to_owned()];
            paths.extend(acting_user.map(|user| format!("/v1/users/{user}/posts")));
            paths
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_map_to_the_reads_they_change() {
        assert_eq!(affected_paths("PUT", "/v1/posts/P1/like", Some("U")), ["/v1/posts/P1", "/v1/posts"]);
        assert_eq!(affected_paths("DELETE", "/v1/posts/P1/like", None), ["/v1/posts/P1", "/v1/posts"]);
        assert_eq!(affected_paths("POST", "/v1/posts", Some("U1")), ["/v1/posts", "/v1/users/U1/posts"]);
        assert_eq!(affected_paths("POST", "/v1/posts/", None), ["/v1/posts"]);
        assert!(affected_paths("POST", "/v1/users", None).is_empty());
        assert!(affected_paths("GET", "/v1/posts/P1/like", None).is_empty());
        assert!(affected_paths("POST", "/v1/media/uploads", Some("U")).is_empty());
    }
}
