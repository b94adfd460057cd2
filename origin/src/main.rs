//! origin: Stampede's router as a long-running HTTP server, the steady baseline behind the edge (ECS Fargate).
//! Owns the process concerns: binding, graceful shutdown on SIGTERM/SIGINT, /healthz, /readyz, /metrics apart.
//! Must not hold request logic: every API route lives in `app`, identical to the Lambda function.

mod ops;

use std::net::SocketAddr;

use kit::config::Env;
use tokio::net::TcpListener;

/// mimalloc, not glibc's malloc: see the workspace's Cargo.toml (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::telemetry::init();
    let env = Env::process();
    let bind: SocketAddr = env.or("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
    let metrics_bind: SocketAddr = env.or("METRICS_ADDR", SocketAddr::from(([127, 0, 0, 1], 9090)))?;
    let metrics = kit::metrics::install_prometheus()?;
    let state = app::AppState::serving_from_env().await?;
    let ops = ops::Ops::new(state.store.clone(), metrics);
    let router = app::router(state).merge(ops.health_routes());

    let listener = TcpListener::bind(bind).await?;
    let metrics_listener = TcpListener::bind(metrics_bind).await?;
    tracing::info!(addr = %listener.local_addr()?, metrics = %metrics_listener.local_addr()?, "origin listening");
    let metrics_routes = ops.metrics_routes();
    let metrics_server = tokio::spawn(async move { axum::serve(metrics_listener, metrics_routes).await });
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            kit::shutdown::signal().await;
            ops.start_draining();
        })
        .await?;
    metrics_server.abort();
    tracing::info!("in-flight requests finished; origin stopped");
    Ok(())
}
