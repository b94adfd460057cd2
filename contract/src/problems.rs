//! RFC 9457 problem types that both the API and the edge send: a stable slug (the `type` URI is
//! `/problems/{slug}`), a short title and the HTTP status. Domain-specific types live with the domain.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: u16,
}

impl ProblemType {
    pub const fn new(slug: &'static str, title: &'static str, status: u16) -> Self {
        Self { slug, title, status }
    }

    /// The `type` member: a relative reference under `/problems/`.
    pub fn type_uri(&self) -> String {
        format!("/problems/{}", self.slug)
    }
}

/// The media type of problem documents.
pub const CONTENT_TYPE: &str = "application/problem+json";

pub const MALFORMED_REQUEST: ProblemType = ProblemType::new("malformed-request", "The request is malformed", 400);
pub const MALFORMED_JSON: ProblemType = ProblemType::new("malformed-json", "The request body is not valid JSON", 400);
pub const INVALID_CURSOR: ProblemType =
    ProblemType::new("invalid-cursor", "The pagination cursor is not one this API issued for this list", 400);
pub const UNAUTHENTICATED: ProblemType =
    ProblemType::new("unauthenticated", "The request needs a valid bearer token", 401);
pub const FORBIDDEN: ProblemType = ProblemType::new("forbidden", "The request is not allowed here", 403);
pub const NOT_FOUND: ProblemType = ProblemType::new("not-found", "No such resource", 404);
pub const METHOD_NOT_ALLOWED: ProblemType =
    ProblemType::new("method-not-allowed", "The resource does not support this method", 405);
pub const CONFLICT: ProblemType = ProblemType::new("conflict", "The request conflicts with the current state", 409);
pub const PAYLOAD_TOO_LARGE: ProblemType = ProblemType::new("payload-too-large", "The request body is too large", 413);
pub const UNSUPPORTED_MEDIA_TYPE: ProblemType =
    ProblemType::new("unsupported-media-type", "The request body must be application/json", 415);
pub const VALIDATION: ProblemType = ProblemType::new("validation", "The request has invalid fields", 422);
pub const TOO_MANY_REQUESTS: ProblemType = ProblemType::new("rate-limited", "Too many requests", 429);
pub const INTERNAL: ProblemType = ProblemType::new("internal", "The server failed to handle the request", 500);
pub const BAD_GATEWAY: ProblemType = ProblemType::new("bad-gateway", "No upstream answered the request", 502);
pub const UNAVAILABLE: ProblemType = ProblemType::new("unavailable", "The service is temporarily unavailable", 503);
pub const TIMEOUT: ProblemType = ProblemType::new("timeout", "The server did not finish in time", 504);

/// The generic type for a bare status (an error some layer produced without a body).
pub fn for_status(status: u16) -> ProblemType {
    match status {
        401 => UNAUTHENTICATED,
        403 => FORBIDDEN,
        404 => NOT_FOUND,
        405 => METHOD_NOT_ALLOWED,
        408 | 504 => TIMEOUT,
        409 => CONFLICT,
        413 => PAYLOAD_TOO_LARGE,
        415 => UNSUPPORTED_MEDIA_TYPE,
        422 => VALIDATION,
        429 => TOO_MANY_REQUESTS,
        502 => BAD_GATEWAY,
        503 => UNAVAILABLE,
        400..=499 => MALFORMED_REQUEST,
        _ => INTERNAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_statuses_map_to_types_of_the_same_class() {
        for status in [400, 401, 403, 404, 405, 409, 413, 415, 418, 422, 429, 500, 502, 503] {
            let kind = for_status(status);
            assert_eq!(kind.status / 100, status / 100, "{status} → {kind:?}");
        }
        assert_eq!(for_status(408), TIMEOUT);
        assert_eq!(UNAVAILABLE.type_uri(), "/problems/unavailable");
    }
}
