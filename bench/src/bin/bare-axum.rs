//! bare-axum: the ceiling for the origin's hot path, an axum server that answers `GET /v1/posts/{id}` with bytes
//! it was given at start (the origin's own answer, saved by `scripts/bench`), with no layers, store or cache.
//! Must stay bare: whatever it does per request is what the origin is measured against.

use std::{net::SocketAddr, path::PathBuf};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderValue, header},
    routing::get,
};
use clap::Parser;

/// The origin's allocator: the two differ only in what they do per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Cli {
    /// The address to listen on (printed once bound: port 0 picks a free one).
    #[arg(long)]
    addr: SocketAddr,
    /// The response body to serve.
    #[arg(long)]
    body: PathBuf,
    /// Its `content-type`.
    #[arg(long, default_value = "application/json")]
    content_type: String,
    /// Its `cache-control`.
    #[arg(long)]
    cache_control: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let body = Bytes::from(std::fs::read(&cli.body)?);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::try_from(cli.content_type)?),
        (header::CACHE_CONTROL, HeaderValue::try_from(cli.cache_control)?),
    ];
    let answer = move || {
        let response = (headers.clone(), body.clone());
        async move { response }
    };
    let router = Router::new().route("/v1/posts/{id}", get(answer));
    let listener = tokio::net::TcpListener::bind(cli.addr).await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
