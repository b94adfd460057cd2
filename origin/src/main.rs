//! origin: Stampede's router as a long-running HTTP server, the steady baseline behind the edge (ECS Fargate).
//! Owns the process concerns: binding, the drain on SIGTERM/SIGINT, /healthz, /readyz, /metrics apart.
//! Must not hold request logic: every API route lives in `app`, identical to the Lambda function.

mod ops;

use std::net::SocketAddr;

use kit::config::Env;
use tokio::net::TcpListener;

/// mimalloc, not glibc's malloc: see the workspace's Cargo.toml (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long a stopping origin keeps serving while failing readiness: the time a load balancer that was not told
/// takes to stop sending (the CDK stack sets it from its ALB health check; docs/infrastructure.md).
const DEFAULT_DRAIN_DELAY_MS: u64 = 30_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::telemetry::init();
    let env = Env::process();
    let bind: SocketAddr = env.or("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
    let metrics_bind: SocketAddr = env.or("METRICS_ADDR", SocketAddr::from(([127, 0, 0, 1], 9090)))?;
    let drain_delay = env.millis_or("DRAIN_DELAY_MS", DEFAULT_DRAIN_DELAY_MS)?;
    let metrics = kit::metrics::install_prometheus()?;
    let state = app::AppState::serving_from_env().await?;
    let ops = ops::Ops::new(metrics);
    let router = app::router(state).merge(ops.health_routes()).layer(ops.close_connections_while_draining());

    let listener = TcpListener::bind(bind).await?;
    let metrics_listener = TcpListener::bind(metrics_bind).await?;
    tracing::info!(addr = %listener.local_addr()?, metrics = %metrics_listener.local_addr()?, "origin listening");
    let metrics_routes = ops.metrics_routes();
    let metrics_server = tokio::spawn(async move { axum::serve(metrics_listener, metrics_routes).await });
    axum::serve(listener, router).with_graceful_shutdown(ops.drained(drain_delay)).await?;
    metrics_server.abort();
    tracing::info!("in-flight requests finished; origin stopped");
    Ok(())
}
