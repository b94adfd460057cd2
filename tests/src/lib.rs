//! stampede-tests: support for tests that drive Stampede against the local AWS emulator.
//! Owns the wiring of an app to the emulator that `scripts/test` starts, and request/response helpers.
//! Must not hide failures: without the emulator's environment it panics and says how to get one.

use app::AppState;
use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, Method, Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The app state for the emulator named by the environment (`AWS_ENDPOINT_URL`, `TABLE_NAME`, ...).
pub async fn emulator_state() -> AppState {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "integration tests talk to the local AWS emulator: run `scripts/test`, or `infra/local/emulator up` \
         and `source .local/run/aws.env` (plus CURSOR_SECRET) before `cargo test`"
    );
    AppState::from_env()
        .await
        .expect("the emulator environment is complete")
}

/// A handle no other test (or run) uses: `{prefix}_{random}`, at most 30 characters.
pub fn unique_handle(prefix: &str) -> String {
    let random = ulid::Ulid::generate().to_string().to_lowercase();
    let prefix: String = prefix.chars().take(12).collect();
    format!("{prefix}_{}", &random[random.len() - 16..])
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// Asserts an RFC 9457 problem with this status and type slug, and returns the document.
    pub fn assert_problem(&self, status: u16, slug: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "status of {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["type"], format!("/problems/{slug}"), "{problem}");
        assert_eq!(problem["status"], status);
        problem
    }
}

/// The app's router driven in-process (`tower::ServiceExt::oneshot`), no server.
#[derive(Clone)]
pub struct TestApp {
    pub state: AppState,
    router: Router,
}

impl TestApp {
    pub async fn new() -> Self {
        let state = emulator_state().await;
        Self {
            router: app::router(state.clone()),
            state,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    /// A request with optional JSON body and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, &[], None).await
    }

    /// Creates a user with a unique handle and returns its JSON.
    pub async fn create_user(&self) -> Value {
        let handle = unique_handle("user");
        let response = self
            .call(
                Method::POST,
                "/v1/users",
                &[],
                Some(serde_json::json!({"handle": handle, "display_name": "Test User"})),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        response.json()
    }

    /// Creates a post by `author` (an id) and returns its JSON.
    pub async fn create_post(&self, author: &str, body: &str) -> Value {
        let response = self
            .call(
                Method::POST,
                "/v1/posts",
                &[("x-user-id", author)],
                Some(serde_json::json!({"body": body})),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        response.json()
    }
}
