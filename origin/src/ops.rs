//! Operational endpoints and the drain: for the load balancer, `/healthz` (liveness: the process answers) and
//! `/readyz` (readiness: 503 once draining; never a database check, so a DynamoDB brownout does not take every task
//! out of the load balancer at once) beside the API; for a scraper, `/metrics` (Prometheus text) on its own listener.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use kit::problem::{Problem, types};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::set_header::{MakeHeaderValue, SetResponseHeaderLayer};

#[derive(Clone)]
pub struct Ops {
    metrics: PrometheusHandle,
    draining: Arc<AtomicBool>,
}

impl Ops {
    pub fn new(metrics: PrometheusHandle) -> Self {
        Self { metrics, draining: Arc::default() }
    }

    /// Served beside the API.
    pub fn health_routes(&self) -> Router {
        Router::new().route("/healthz", get(|| async { "ok" })).route("/readyz", get(readyz)).with_state(self.clone())
    }

    /// Served on the metrics listener only.
    pub fn metrics_routes(&self) -> Router {
        Router::new().route("/metrics", get(metrics)).with_state(self.clone())
    }

    /// While draining, every response closes its connection (`Connection: close`): a load balancer's keep-alive
    /// connections end after their next request, and it opens new ones to the targets that are still ready.
    pub fn close_connections_while_draining(&self) -> SetResponseHeaderLayer<CloseWhileDraining> {
        SetResponseHeaderLayer::overriding(header::CONNECTION, CloseWhileDraining(self.draining.clone()))
    }

    /// Resolves when the server should stop accepting connections: on SIGTERM (or Ctrl-C), `/readyz` turns 503
    /// and the API keeps serving for `delay`, the time the load balancer takes to stop sending here; a second
    /// signal cuts the delay short. The server then finishes the requests in flight.
    pub async fn drained(self, delay: Duration) {
        kit::shutdown::signal().await;
        self.draining.store(true, Ordering::Relaxed);
        tracing::info!(delay_ms = delay.as_millis() as u64, "draining: not ready, serving until the delay ends");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = kit::shutdown::signal() => tracing::info!("second signal: the drain ends now"),
        }
        tracing::info!("no new connections; finishing the requests in flight");
    }
}

#[derive(Clone)]
pub struct CloseWhileDraining(Arc<AtomicBool>);

impl<T> MakeHeaderValue<T> for CloseWhileDraining {
    fn make_header_value(&mut self, _: &T) -> Option<HeaderValue> {
        self.0.load(Ordering::Relaxed).then_some(HeaderValue::from_static("close"))
    }
}

async fn readyz(State(ops): State<Ops>) -> Response {
    if ops.draining.load(Ordering::Relaxed) {
        return Problem::new(types::UNAVAILABLE).detail("draining before shutdown").into_response();
    }
    "ready".into_response()
}

async fn metrics(State(ops): State<Ops>) -> Response {
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4");
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], ops.metrics.render()).into_response()
}
