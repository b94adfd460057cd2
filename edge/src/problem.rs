//! RFC 9457 problem documents for what the edge itself refuses; the same `type` URIs as the API's.

use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
}

pub fn rate_limited(scope: &str) -> Problem {
    Problem {
        type_uri: "/problems/rate-limited",
        title: "Too many requests",
        status: 429,
        detail: format!("too many requests from this {scope}; retry after the Retry-After delay"),
    }
}

pub fn payload_too_large(limit: usize) -> Problem {
    Problem {
        type_uri: "/problems/payload-too-large",
        title: "The request body is too large",
        status: 413,
        detail: format!("request bodies are limited to {limit} bytes"),
    }
}

pub fn bad_gateway(detail: impl Into<String>) -> Problem {
    Problem {
        type_uri: "/problems/unavailable",
        title: "The service is temporarily unavailable",
        status: 502,
        detail: detail.into(),
    }
}

impl Problem {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("problems always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        let json: serde_json::Value = serde_json::from_str(&rate_limited("IP address").to_json()).unwrap();
        assert_eq!(json["type"], "/problems/rate-limited");
        assert_eq!(json["status"], 429);
        assert_eq!(payload_too_large(10).status, 413);
        assert_eq!(bad_gateway("x").status, 502);
    }
}
