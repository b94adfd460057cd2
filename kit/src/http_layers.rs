//! The middleware every HTTP service gets: request ids, a span per request, logs of failed and slow requests,
//! panic safety, timeouts, metrics, and problem+json for errors that layers produce without a body. Every
//! request is counted and timed in metrics; a line per successful request is logged only at `debug`: at the
//! request rates this serves, a line each would cost more CPU than the request (and log storage at scale).

use std::time::Duration;

use axum::{
    Router,
    http::{HeaderValue, Request, Response, StatusCode},
    middleware,
    response::IntoResponse,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::problem::{self, Problem, types};

const REQUEST_ID: &str = "x-request-id";

/// A request slower than this is logged (at `warn`) whatever its status.
const SLOW: Duration = Duration::from_secs(1);

/// Request ids are ULIDs: unique, time-ordered, and made from a thread-local generator (no system call each).
#[derive(Clone, Copy)]
struct MakeRequestUlid;

impl MakeRequestId for MakeRequestUlid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::try_from(ulid::Ulid::generate().to_string()).ok().map(RequestId::new)
    }
}

fn log_response<B>(response: &Response<B>, latency: Duration, _: &tracing::Span) {
    let (status, ms) = (response.status().as_u16(), latency.as_millis());
    if latency >= SLOW {
        tracing::warn!(status, ms, "slow request");
    } else {
        tracing::debug!(status, ms, "request");
    }
}

/// Wraps `router` in the standard layers. `timeout` bounds each request (504 problem when exceeded).
pub fn with_standard_layers(router: Router, timeout: Duration) -> Router {
    let request_id = axum::http::HeaderName::from_static(REQUEST_ID);
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUlid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &axum::http::Request<_>| {
                        let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = id)
                    })
                    .on_response(log_response),
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
