//! Operational endpoints: for the load balancer, `/healthz` (the process answers) and `/readyz` (DynamoDB answers
//! and the process is not draining) beside the API; for a scraper, `/metrics` (Prometheus text) on its own
//! listener, which neither the load balancer nor the edge can reach.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use app::store::Store;
use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use kit::problem::{Problem, types};
use metrics_exporter_prometheus::PrometheusHandle;

const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Ops {
    store: Store,
    metrics: PrometheusHandle,
    draining: Arc<AtomicBool>,
}

impl Ops {
    pub fn new(store: Store, metrics: PrometheusHandle) -> Self {
        Self { store, metrics, draining: Arc::default() }
    }

    /// From now on /readyz says 503, so load balancers stop sending new requests.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Served beside the API.
    pub fn health_routes(&self) -> Router {
        Router::new().route("/healthz", get(|| async { "ok" })).route("/readyz", get(readyz)).with_state(self.clone())
    }

    /// Served on the metrics listener only.
    pub fn metrics_routes(&self) -> Router {
        Router::new().route("/metrics", get(metrics)).with_state(self.clone())
    }
}

async fn readyz(State(ops): State<Ops>) -> Response {
    if ops.draining.load(Ordering::SeqCst) {
        return Problem::new(types::UNAVAILABLE).detail("shutting down").into_response();
    }
    match tokio::time::timeout(READINESS_TIMEOUT, ops.store.ping()).await {
        Ok(Ok(())) => "ready".into_response(),
        Ok(Err(err)) => {
            tracing::warn!(error = ?err, "not ready: DynamoDB check failed");
            Problem::new(types::UNAVAILABLE).detail("the database is unreachable").into_response()
        }
        Err(_) => Problem::new(types::UNAVAILABLE).detail("the database did not answer in time").into_response(),
    }
}

async fn metrics(State(ops): State<Ops>) -> Response {
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4");
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], ops.metrics.render()).into_response()
}
