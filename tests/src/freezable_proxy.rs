//! A TCP proxy a test puts between a process and the emulator it shares with every other test, to make that one
//! process's backing store unreachable and bring it back: frozen, it passes no byte either way and leaves new
//! connections accepted but unanswered, as a stopped process does (its kernel still accepts and buffers); thawed,
//! it delivers what it held and forwards again.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::watch,
    task::{JoinHandle, JoinSet},
};

/// A proxy to one upstream on a port of its own; dropping it closes every connection it carries.
pub struct FreezableProxy {
    pub addr: SocketAddr,
    frozen: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl FreezableProxy {
    /// A proxy to `upstream` (`host:port`), forwarding.
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the proxy");
        let addr = listener.local_addr().unwrap();
        let (frozen, watching) = watch::channel(false);
        let accepting = tokio::spawn(async move {
            // Owned here, so stopping this task aborts every connection's.
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                connections.spawn(carry(client, upstream.clone(), watching.clone()));
            }
        });
        Self { addr, frozen, accepting }
    }

    /// A proxy to the emulator that `scripts/test` runs (`AWS_ENDPOINT_URL`).
    pub async fn to_emulator() -> Self {
        let endpoint =
            std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL names the emulator: run scripts/test");
        let url = reqwest::Url::parse(&endpoint).expect("AWS_ENDPOINT_URL is a URL");
        Self::start(format!("{}:{}", url.host_str().unwrap(), url.port_or_known_default().unwrap())).await
    }

    /// `http://{addr}`, for an `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops forwarding: bytes already in flight and new connections wait for [`FreezableProxy::thaw`].
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// One client connection: connected upstream once thawed, then pumped both ways until either side closes.
async fn carry(client: TcpStream, upstream: String, mut frozen: watch::Receiver<bool>) {
    if frozen.wait_for(|frozen| !frozen).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let ((client_read, client_write), (server_read, server_write)) = (client.into_split(), server.into_split());
    tokio::join!(pump(client_read, server_write, frozen.clone()), pump(server_read, client_write, frozen));
}

/// Copies `from` to `to`, holding each chunk read while frozen until thawed.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buffer = vec![0; 64 * 1024];
    while let Ok(read @ 1..) = from.read(&mut buffer).await {
        if frozen.wait_for(|frozen| !frozen).await.is_err() || to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}
