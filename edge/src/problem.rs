//! RFC 9457 problem documents for what the edge itself answers, with the API's own types (`stampede_contract`).

use serde::Serialize;
use stampede_contract::problems::{self, ProblemType};

pub const CONTENT_TYPE: &str = problems::CONTENT_TYPE;

#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemType,
    pub detail: String,
}

impl Problem {
    pub fn status(&self) -> u16 {
        self.kind.status
    }

    /// The document, members in the API's order.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Document<'a> {
            #[serde(rename = "type")]
            type_uri: String,
            title: &'a str,
            status: u16,
            detail: &'a str,
        }
        let document = Document {
            type_uri: self.kind.type_uri(),
            title: self.kind.title,
            status: self.kind.status,
            detail: &self.detail,
        };
        serde_json::to_string(&document).expect("problems always serialize")
    }
}

pub fn rate_limited(scope: &str) -> Problem {
    Problem {
        kind: problems::TOO_MANY_REQUESTS,
        detail: format!("too many requests from this {scope}; retry after the Retry-After delay"),
    }
}

pub fn payload_too_large(limit: usize) -> Problem {
    Problem { kind: problems::PAYLOAD_TOO_LARGE, detail: format!("request bodies are limited to {limit} bytes") }
}

/// A token the edge verified and refused.
pub fn invalid_token(reason: &str) -> Problem {
    Problem { kind: problems::UNAUTHENTICATED, detail: reason.to_owned() }
}

/// The `WWW-Authenticate` challenge sent with [`invalid_token`] (RFC 6750 §3).
pub fn invalid_token_challenge(reason: &str) -> String {
    format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"")
}

/// Overload or a dependency briefly out of reach: retry after `Retry-After`.
pub fn unavailable(detail: impl Into<String>) -> Problem {
    Problem { kind: problems::UNAVAILABLE, detail: detail.into() }
}

/// A path that names nothing the API could have (a malformed id).
pub fn not_found(detail: impl Into<String>) -> Problem {
    Problem { kind: problems::NOT_FOUND, detail: detail.into() }
}

/// No upstream answered.
pub fn bad_gateway(detail: impl Into<String>) -> Problem {
    Problem { kind: problems::BAD_GATEWAY, detail: detail.into() }
}

/// The upstream took longer than the edge waits.
pub fn gateway_timeout(detail: impl Into<String>) -> Problem {
    Problem { kind: problems::TIMEOUT, detail: detail.into() }
}

/// The edge's own configuration is wrong: an operator's mistake, not the client's.
pub fn misconfigured(detail: impl Into<String>) -> Problem {
    Problem { kind: problems::INTERNAL, detail: detail.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_use_the_apis_types() {
        let text = rate_limited("IP address").to_json();
        assert!(text.starts_with(r#"{"type":"/problems/rate-limited","title":"#), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["type"], "/problems/rate-limited");
        assert_eq!(json["status"], 429);
        assert_eq!(payload_too_large(10).status(), 413);
        assert_eq!(not_found("x").status(), 404);
        assert_eq!(bad_gateway("x").status(), 502);
        assert_eq!(gateway_timeout("x").status(), 504);
        assert_eq!(unavailable("x").status(), 503);
        assert_eq!(invalid_token("the token has expired").status(), 401);
        assert_eq!(
            invalid_token_challenge("the token has expired"),
            r#"Bearer error="invalid_token", error_description="the token has expired""#
        );
    }
}
