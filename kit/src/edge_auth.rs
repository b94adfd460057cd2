//! Traffic must come through the edge: the edge adds a shared secret header to every request it forwards, and
//! a host configured with that secret refuses (403 problem+json) any request without it. Nobody goes around the
//! CDN's cache and rate limits by calling the load balancer or the function URL directly. The secret rotates
//! without refusals: the current and the previous value are both accepted ([`RotatingSecret`]).

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    problem::{Problem, types},
    secrets::RotatingSecret,
};

/// The header the edge sets on every request it forwards upstream.
pub const HEADER: &str = stampede_contract::headers::EDGE_SECRET;

/// Middleware (`axum::middleware::from_fn_with_state(secret, require)`): passes requests carrying `secret` in
/// [`HEADER`]; answers 403 to every other.
pub async fn require(State(secret): State<RotatingSecret>, request: Request, next: Next) -> Response {
    let presented = request.headers().get(HEADER).map(|value| value.as_bytes()).unwrap_or_default();
    if secret.matches(presented).await {
        next.run(request).await
    } else {
        Problem::new(types::FORBIDDEN)
            .detail("this API only answers requests that come through its edge")
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, http::StatusCode, middleware::from_fn_with_state, routing::get};
    use tower::ServiceExt;

    use super::*;

    async fn status(header: Option<&str>) -> StatusCode {
        let current = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let previous = "fedcba9876543210fedcba9876543210".parse().unwrap();
        let secret = RotatingSecret::fixed(current, Some(previous));
        let app = Router::new().route("/", get(|| async { "ok" })).layer(from_fn_with_state(secret, require));
        let mut request = axum::http::Request::builder().uri("/");
        if let Some(value) = header {
            request = request.header(HEADER, value);
        }
        app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
    }

    #[tokio::test]
    async fn only_the_current_or_previous_secret_passes() {
        assert_eq!(status(Some("0123456789abcdef0123456789abcdef")).await, StatusCode::OK);
        assert_eq!(status(Some("fedcba9876543210fedcba9876543210")).await, StatusCode::OK, "during a rotation");
        assert_eq!(status(None).await, StatusCode::FORBIDDEN);
        assert_eq!(status(Some("0123456789abcdef0123456789abcdeX")).await, StatusCode::FORBIDDEN);
        assert_eq!(status(Some("0123456789abcdef")).await, StatusCode::FORBIDDEN);
    }
}
