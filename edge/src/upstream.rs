//! Which upstream answers: the container origin first; on a connection error, a timeout, 502 or 504 or an open
//! breaker, Lambda, once, and only for requests that are safe to send twice. The API's own 503 (a problem
//! document) is the origin shedding load, not failing: it is passed on with its Retry-After, never replayed on
//! Lambda against the same overloaded data, and it does not count toward the breaker. Any other 503 (a load
//! balancer with no healthy target) is a failure.

use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Origin,
    Lambda,
}

impl Upstream {
    /// The `x-upstream` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Origin => "origin",
            Self::Lambda => "lambda",
        }
    }
}

/// The header carrying the shared secret that proves to an upstream the request came through the edge (the API's
/// `kit::edge_auth::HEADER`). Set on every upstream request when `EDGE_SECRET` is configured; a client's own is
/// never forwarded.
pub const SECRET_HEADER: &str = stampede_contract::headers::EDGE_SECRET;

/// An answer that means "this upstream is unwell", not "this request is wrong" nor "slow down" (the API's 503).
pub fn is_upstream_failure(status: u16, content_type: Option<&str>) -> bool {
    match status {
        502 | 504 => true,
        503 => !is_backpressure(status, content_type),
        _ => false,
    }
}

/// The API's own 503: a problem document saying it is overloaded, with Retry-After.
pub fn is_backpressure(status: u16, content_type: Option<&str>) -> bool {
    status == 503 && content_type.is_some_and(|t| t.starts_with(stampede_contract::problems::CONTENT_TYPE))
}

/// Whether a request may be sent again after the first upstream may have seen it (`stampede_contract`).
pub fn may_retry(method: &str, path: &str, has_idempotency_key: bool) -> bool {
    stampede_contract::headers::may_resend(method, path, has_idempotency_key)
}

/// The URL of `path_and_query` on `base` (which may carry a path prefix, like `cargo lambda watch`'s
/// `/lambda-url/api`).
pub fn target(base: &Url, path_and_query: &str) -> String {
    format!("{}{path_and_query}", base.as_str().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_rules() {
        let problem = Some("application/problem+json");
        assert!(is_upstream_failure(502, problem) && is_upstream_failure(504, None));
        assert!(!is_upstream_failure(503, problem), "the API's backpressure, not a failure");
        assert!(is_upstream_failure(503, Some("text/html")), "a load balancer without a healthy target");
        assert!(is_upstream_failure(503, None));
        assert!(!is_upstream_failure(500, None) && !is_upstream_failure(404, None) && !is_upstream_failure(429, None));
        assert!(may_retry("GET", "/v1/posts", false) && may_retry("PUT", "/v1/posts/p/like", false));
        assert!(!may_retry("POST", "/v1/posts", false) && may_retry("POST", "/v1/posts", true));
        assert!(!may_retry("PATCH", "/v1/users/me", true));
        assert_eq!(Upstream::Lambda.name(), "lambda");
    }

    #[test]
    fn targets_keep_the_base_prefix() {
        let base = Url::parse("http://127.0.0.1:9000/lambda-url/api").unwrap();
        assert_eq!(target(&base, "/v1/posts?limit=2"), "http://127.0.0.1:9000/lambda-url/api/v1/posts?limit=2");
        let origin = Url::parse("https://origin.example.com").unwrap();
        assert_eq!(target(&origin, "/v1/posts"), "https://origin.example.com/v1/posts");
    }
}
