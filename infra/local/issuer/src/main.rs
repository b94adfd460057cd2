//! local-issuer: serves the local identity provider (`scripts/dev` and `scripts/test` start it).
//! Owns only the command line: where the key lives, which address and issuer URL, which audience.
//! Must never run anywhere but a developer's or CI's loopback: it hands a token to anyone who asks.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use clap::Parser;
use local_issuer::Issuer;

#[derive(Parser)]
#[command(about = "The local identity provider: JWKS at /.well-known/jwks.json, tokens from POST /token")]
struct Cli {
    /// Where the signing key is kept (created on first use).
    #[arg(long, default_value = ".local/issuer")]
    state: PathBuf,
    /// The address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:8788")]
    addr: SocketAddr,
    /// The `aud` of the tokens (the API's AUTH_AUDIENCE).
    #[arg(long, default_value = "stampede-local")]
    audience: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::ensure!(cli.addr.ip().is_loopback(), "the local issuer gives tokens to anyone: listen on loopback only");
    let listener = tokio::net::TcpListener::bind(cli.addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let issuer = Arc::new(Issuer::load_or_create(&cli.state, &url, &cli.audience)?);
    println!("local issuer {url} (key {}, audience {})", issuer.key_id(), cli.audience);
    axum::serve(listener, issuer.router()).await?;
    Ok(())
}
