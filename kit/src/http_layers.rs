//! The middleware every HTTP service gets: request ids, a span per request, logs of failed and slow requests,
//! panic safety, timeouts, metrics, and problem+json for errors that layers produce without a body. Every
//! request is counted and timed in metrics; a line per successful request is logged only at `debug`: at the
//! request rates this serves, a line each would cost more CPU than the request (and log storage at scale).

use std::time::Duration;

use axum::{
    BoxError, Router,
    error_handling::HandleErrorLayer,
    http::{HeaderValue, Request, Response, StatusCode},
    middleware,
    response::IntoResponse,
};
use tower::{ServiceBuilder, timeout::TimeoutLayer};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
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

/// Wraps `router` in the standard layers. `timeout` bounds each request (504 problem when exceeded) and, less a
/// margin, the AWS calls made for it (`deadline`).
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
            // tower's timeout, not tower-http's: tower-http's polls its timer before the request, so every
            // request armed a timer, and arming one woke tokio's timer driver with a system call and a thread
            // wake-up (perf and strace: about 10 µs of CPU on a cached read, as much as the read itself).
            // tower's polls the request first: one answered at once never touches the timer.
            // A request past its time is the host's failure to finish (504: the edge may try its other
            // upstream), not an outage of what it depends on: AWS calls end earlier, at the deadline, so that a
            // store that does not answer is the API's own 503 with Retry-After (passed on, not failed over).
            .layer(HandleErrorLayer::new(|_: BoxError| async { StatusCode::GATEWAY_TIMEOUT }))
            .layer(TimeoutLayer::new(timeout))
            .layer(middleware::from_fn_with_state(crate::deadline::aws_budget(timeout), crate::deadline::middleware)),
    )
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::header, routing::get};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn call(router: &Router, path: &str) -> Response<Body> {
        router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn a_request_past_its_time_is_a_504_problem_and_others_are_untouched() {
        let routes = Router::new()
            .route("/slow", get(|| tokio::time::sleep(Duration::from_secs(5))))
            .route("/fast", get(|| async { "ok" }));
        let router = with_standard_layers(routes, Duration::from_millis(50));

        let slow = call(&router, "/slow").await;
        assert_eq!(slow.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(slow.headers()[header::CONTENT_TYPE], problem::CONTENT_TYPE);
        assert!(slow.headers().contains_key(REQUEST_ID));
        let fast = call(&router, "/fast").await;
        assert_eq!(fast.status(), StatusCode::OK);
        assert_eq!(fast.into_body().collect().await.unwrap().to_bytes(), "ok");
    }
}
