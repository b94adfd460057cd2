//! A small HTTPS client for the few calls that are not AWS SDK calls (an identity provider's JWKS): the same
//! hyper + rustls (ring) + native roots stack the SDK's client is built on, so nothing new is compiled in.
//!
//! The connector (and with it the platform's root certificates) is built on the first call, not with the client:
//! loading the roots reads and decodes every certificate file the platform has (on Debian a bundle and 146
//! single-certificate files: about 4 ms, a third of the api function's init), the SDK's client loads them once
//! more for itself, and most processes never fetch a key set (reads need no token), while the first that does
//! waits on the provider far longer than that.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::body::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client as HyperClient, connect::HttpConnector},
    rt::TokioExecutor,
};

/// Why a GET did not produce a body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL {0:?}")]
    Url(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
}

type Inner = HyperClient<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A cloneable HTTP(S) client; clones share one connection pool.
#[derive(Clone, Default)]
pub struct Client {
    inner: Arc<OnceLock<Inner>>,
}

impl Client {
    /// A client trusting the platform's root certificates, speaking HTTPS and (for local issuers) plain HTTP.
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> &Inner {
        self.inner.get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(provider)
                .unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "no usable platform root certificates; HTTPS calls will fail");
                    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(empty_roots())
                })
                .https_or_http()
                .enable_http1()
                .build();
            HyperClient::builder(TokioExecutor::new()).build(connector)
        })
    }

    /// GETs `url` and returns its body: a 2xx answer within `timeout`, of at most `max_bytes`.
    pub async fn get(&self, url: &str, timeout: Duration, max_bytes: usize) -> Result<Bytes, FetchError> {
        let uri: axum::http::Uri = url.parse().map_err(|_| FetchError::Url(url.to_owned()))?;
        let exchange = async {
            let response = self.inner().get(uri).await.map_err(|err| FetchError::Transport(err.to_string()))?;
            if !response.status().is_success() {
                return Err(FetchError::Status(response.status().as_u16()));
            }
            let body = Limited::new(response.into_body(), max_bytes).collect().await;
            body.map(|collected| collected.to_bytes()).map_err(|err| {
                if err.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    FetchError::TooLarge(max_bytes)
                } else {
                    FetchError::Transport(err.to_string())
                }
            })
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| FetchError::Timeout(timeout))?
    }
}

fn empty_roots() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}
