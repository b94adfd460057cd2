//! RFC 9457 problem details (`application/problem+json`) and the generic problem types every API needs.
//!
//! A problem type is a stable, documented identifier (`type`), a short title and an HTTP status. The list of
//! types lives in `docs/problems.md`; the `type` URIs are relative references under `/problems/`.

use axum::{
    body::{Body, Bytes},
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value};

/// The media type of RFC 9457 problem documents.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A kind of problem: its stable slug (the last segment of the `type` URI), title and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: StatusCode,
}

impl ProblemType {
    pub const fn new(slug: &'static str, title: &'static str, status: StatusCode) -> Self {
        Self { slug, title, status }
    }
}

/// Problem types that are not specific to any domain.
pub mod types {
    use super::{ProblemType, StatusCode};

    pub const MALFORMED_REQUEST: ProblemType =
        ProblemType::new("malformed-request", "The request is malformed", StatusCode::BAD_REQUEST);
    pub const MALFORMED_JSON: ProblemType =
        ProblemType::new("malformed-json", "The request body is not valid JSON", StatusCode::BAD_REQUEST);
    pub const INVALID_CURSOR: ProblemType = ProblemType::new(
        "invalid-cursor",
        "The pagination cursor is not one this API issued for this list",
        StatusCode::BAD_REQUEST,
    );
    pub const UNAUTHENTICATED: ProblemType =
        ProblemType::new("unauthenticated", "The request needs an authenticated user", StatusCode::UNAUTHORIZED);
    pub const FORBIDDEN: ProblemType =
        ProblemType::new("forbidden", "The request is not allowed here", StatusCode::FORBIDDEN);
    pub const NOT_FOUND: ProblemType = ProblemType::new("not-found", "No such resource", StatusCode::NOT_FOUND);
    pub const METHOD_NOT_ALLOWED: ProblemType = ProblemType::new(
        "method-not-allowed",
        "The resource does not support this method",
        StatusCode::METHOD_NOT_ALLOWED,
    );
    pub const CONFLICT: ProblemType =
        ProblemType::new("conflict", "The request conflicts with the current state", StatusCode::CONFLICT);
    pub const PAYLOAD_TOO_LARGE: ProblemType =
        ProblemType::new("payload-too-large", "The request body is too large", StatusCode::PAYLOAD_TOO_LARGE);
    pub const UNSUPPORTED_MEDIA_TYPE: ProblemType = ProblemType::new(
        "unsupported-media-type",
        "The request body must be application/json",
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    pub const VALIDATION: ProblemType =
        ProblemType::new("validation", "The request has invalid fields", StatusCode::UNPROCESSABLE_ENTITY);
    pub const TOO_MANY_REQUESTS: ProblemType =
        ProblemType::new("rate-limited", "Too many requests", StatusCode::TOO_MANY_REQUESTS);
    pub const INTERNAL: ProblemType =
        ProblemType::new("internal", "The server failed to handle the request", StatusCode::INTERNAL_SERVER_ERROR);
    pub const UNAVAILABLE: ProblemType =
        ProblemType::new("unavailable", "The service is temporarily unavailable", StatusCode::SERVICE_UNAVAILABLE);
    pub const TIMEOUT: ProblemType =
        ProblemType::new("timeout", "The server did not finish in time", StatusCode::GATEWAY_TIMEOUT);

    /// The generic type for a bare status (used when a layer produced an error without a body).
    pub fn for_status(status: StatusCode) -> ProblemType {
        match status {
            StatusCode::BAD_REQUEST => MALFORMED_REQUEST,
            StatusCode::UNAUTHORIZED => UNAUTHENTICATED,
            StatusCode::FORBIDDEN => FORBIDDEN,
            StatusCode::NOT_FOUND => NOT_FOUND,
            StatusCode::METHOD_NOT_ALLOWED => METHOD_NOT_ALLOWED,
            StatusCode::CONFLICT => CONFLICT,
            StatusCode::PAYLOAD_TOO_LARGE => PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => UNSUPPORTED_MEDIA_TYPE,
            StatusCode::UNPROCESSABLE_ENTITY => VALIDATION,
            StatusCode::TOO_MANY_REQUESTS => TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => TIMEOUT,
            s if s.is_server_error() => INTERNAL,
            _ => MALFORMED_REQUEST,
        }
    }
}

/// One invalid input field, reported in the `errors` extension of a validation problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// A problem document plus the response headers that go with it (`Retry-After`, `Allow`, ...).
#[derive(Debug, Clone)]
pub struct Problem {
    kind: ProblemType,
    status: StatusCode,
    detail: Option<String>,
    extensions: Map<String, Value>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(flatten)]
    extensions: &'a Map<String, Value>,
}

impl Problem {
    pub fn new(kind: ProblemType) -> Self {
        Self { kind, status: kind.status, detail: None, extensions: Map::new(), headers: Vec::new() }
    }

    /// A human-readable explanation specific to this occurrence.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Overrides the status of the problem type (e.g. a bare 408 mapped onto the timeout type).
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds an extension member to the document.
    pub fn extension(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.extensions.insert(name.to_owned(), value);
        self
    }

    /// The `errors` extension: the invalid fields of a validation problem.
    pub fn field_errors(self, errors: Vec<FieldError>) -> Self {
        self.extension("errors", errors)
    }

    /// Adds a response header (e.g. `Retry-After`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn type_uri(&self) -> String {
        format!("/problems/{}", self.kind.slug)
    }

    /// The JSON document, as it is sent.
    pub fn to_json(&self) -> Vec<u8> {
        let document = Document {
            type_uri: self.type_uri(),
            title: self.kind.title,
            status: self.status.as_u16(),
            detail: self.detail.as_deref(),
            extensions: &self.extensions,
        };
        serde_json::to_vec(&document).expect("a problem document always serializes")
    }
}

impl From<ProblemType> for Problem {
    fn from(kind: ProblemType) -> Self {
        Problem::new(kind)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.to_json()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

/// Middleware: turns error responses that carry no body type (axum's bare 405, a timeout layer's 408, a body
/// limit's 413, ...) into problem documents, keeping their status and headers (`Allow`, `Retry-After`).
pub async fn bodyless_errors_as_problems<B>(response: Response<B>) -> Response
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response.map(Body::new);
    }
    let (mut parts, _) = response.into_parts();
    let problem = Problem::new(types::for_status(status)).status(status);
    let rendered = problem.into_response();
    let (problem_parts, body) = rendered.into_parts();
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(response: Response) -> Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn renders_rfc9457_document_with_extensions_and_headers() {
        let response = Problem::new(types::VALIDATION)
            .detail("handle is too short")
            .field_errors(vec![FieldError::new("handle", "must be 3 to 30 characters")])
            .header(header::RETRY_AFTER, HeaderValue::from_static("3"))
            .into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let json = body_json(response).await;
        assert_eq!(json["type"], "/problems/validation");
        assert_eq!(json["status"], 422);
        assert_eq!(json["detail"], "handle is too short");
        assert_eq!(json["errors"][0]["field"], "handle");
    }

    #[tokio::test]
    async fn bodyless_error_becomes_problem_and_keeps_headers() {
        let mut bare = Response::new(Body::empty());
        *bare.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        bare.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        let response = bodyless_errors_as_problems(bare).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        assert_eq!(body_json(response).await["type"], "/problems/method-not-allowed");
    }

    #[tokio::test]
    async fn successful_and_typed_responses_pass_through() {
        let ok = bodyless_errors_as_problems(Response::new(Body::from("hi"))).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(!ok.headers().contains_key(header::CONTENT_TYPE));
    }
}
