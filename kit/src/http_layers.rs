//! The middleware every HTTP service gets: request ids, access logs, panic safety, timeouts, metrics, and
//! problem+json for errors that layers produce without a body.

use std::time::Duration;

use axum::{Router, http::StatusCode, middleware, response::IntoResponse};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::problem::{self, Problem, types};

const REQUEST_ID: &str = "x-request-id";

/// Wraps `router` in the standard layers. `timeout` bounds each request (504 problem when exceeded).
pub fn with_standard_layers(router: Router, timeout: Duration) -> Router {
    let request_id = axum::http::HeaderName::from_static(REQUEST_ID);
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &axum::http::Request<_>| {
                        let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = id)
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(middleware::map_response(problem::bodyless_errors_as_problems))
            .layer(CatchPanicLayer::custom(|_panic| {
                tracing::error!("handler panicked");
                Problem::new(types::INTERNAL).into_response()
            }))
            .layer(middleware::from_fn(crate::metrics::track_http))
            .layer(TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, timeout)),
    )
}
