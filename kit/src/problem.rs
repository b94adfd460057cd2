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
pub const CONTENT_TYPE: &str = stampede_contract::problems::CONTENT_TYPE;

pub use stampede_contract::problems::ProblemType;

/// Problem types that are not specific to any domain (shared with the edge through the contract crate).
pub mod types {
    pub use stampede_contract::problems::*;

    /// The generic type for a bare status (used when a layer produced an error without a body).
    pub fn for_status(status: axum::http::StatusCode) -> ProblemType {
        stampede_contract::problems::for_status(status.as_u16())
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
        Self { kind, status: status_code(kind.status), detail: None, extensions: Map::new(), headers: Vec::new() }
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

    /// Adds a response header (e.g. `Retry-After`), or replaces one a problem has by default (its
    /// `Cache-Control: private, no-store`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The JSON document, as it is sent.
    pub fn to_json(&self) -> Vec<u8> {
        let document = Document {
            type_uri: self.kind.type_uri(),
            title: self.kind.title,
            status: self.status.as_u16(),
            detail: self.detail.as_deref(),
            extensions: &self.extensions,
        };
        serde_json::to_vec(&document).expect("a problem document always serializes")
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
            headers.insert(name, value);
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
