//! The identity provider's public keys (its JWKS), fetched over HTTPS and cached. A token naming a key id not in
//! the cache triggers one refetch (the provider may have rotated its keys), at most once per `min_refetch` (every
//! 2 s while no key set was ever fetched), so a flood of tokens with made-up key ids costs the provider nothing.
//! Keys older than `max_age` keep serving while one background task refreshes them. Only public signing keys are
//! kept: RSA or EC, not marked for encryption.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    DecodingKey,
    jwk::{AlgorithmParameters, JwkSet, PublicKeyUse},
};

use crate::https;

const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Why no key could be found for a token.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The provider's key set does not have this key id (after a refetch, or too soon for one).
    #[error("no key with id {0:?}")]
    Unknown(String),
    /// The key set could not be fetched and none is cached: the provider is unreachable, not the client wrong.
    #[error("the identity provider's keys are unavailable: {0}")]
    Unavailable(String),
}

#[derive(Default)]
pub(super) struct Cached {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    /// The last fetch, successful or not (tests in `auth` clear it to skip the wait).
    pub(super) attempted_at: Option<Instant>,
}

/// How soon a failed first fetch may be retried: until one succeeds, no token can be checked at all.
const FIRST_FETCH_RETRY: Duration = Duration::from_secs(2);

/// A cached JWKS, shared by every request of the process.
pub struct KeySet {
    url: String,
    http: https::Client,
    pub(super) cached: RwLock<Cached>,
    /// One fetch at a time: concurrent misses wait for it instead of fetching again.
    fetching: Arc<tokio::sync::Mutex<()>>,
    pub min_refetch: Duration,
    pub max_age: Duration,
}

impl KeySet {
    pub fn new(url: impl Into<String>, http: https::Client) -> Self {
        Self {
            url: url.into(),
            http,
            cached: RwLock::default(),
            fetching: Arc::default(),
            min_refetch: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
        }
    }

    fn lookup(&self, kid: &str) -> (Option<Arc<DecodingKey>>, bool) {
        let cached = self.cached.read().expect("the key cache lock is never poisoned");
        let fresh = cached.fetched_at.is_some_and(|at| at.elapsed() < self.max_age);
        (cached.keys.get(kid).cloned(), fresh)
    }

    /// The verification key with id `kid`.
    pub async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<DecodingKey>, KeyError> {
        match self.lookup(kid) {
            (Some(key), true) => return Ok(key),
            (Some(key), false) => {
                // Old but known: answer now, refresh behind (one refresh at a time).
                if let Ok(guard) = self.fetching.clone().try_lock_owned() {
                    let keys = self.clone();
                    tokio::spawn(async move {
                        keys.refresh().await;
                        drop(guard);
                    });
                }
                return Ok(key);
            }
            (None, _) => {}
        }
        let _one_fetch = self.fetching.lock().await;
        if let (Some(key), _) = self.lookup(kid) {
            return Ok(key);
        }
        let recently_tried = {
            let cached = self.cached.read().expect("the key cache lock is never poisoned");
            let bound = if cached.fetched_at.is_some() { self.min_refetch } else { FIRST_FETCH_RETRY };
            cached.attempted_at.is_some_and(|at| at.elapsed() < bound)
        };
        if !recently_tried {
            self.refresh().await;
        }
        let cached = self.cached.read().expect("the key cache lock is never poisoned");
        match cached.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if cached.fetched_at.is_none() => {
                Err(KeyError::Unavailable(format!("no key set fetched from {}", self.url)))
            }
            None => Err(KeyError::Unknown(kid.to_owned())),
        }
    }

    /// Fetches the key set; on failure keeps what is cached.
    async fn refresh(&self) {
        let fetched = self.fetch().await;
        let mut cached = self.cached.write().expect("the key cache lock is never poisoned");
        cached.attempted_at = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "fetched the identity provider's keys");
                cached.keys = keys;
                cached.fetched_at = Some(Instant::now());
            }
            Err(err) => tracing::warn!(url = %self.url, error = %err, "could not fetch the identity provider's keys"),
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
        let body = self.http.get(&self.url, FETCH_TIMEOUT, MAX_JWKS_BYTES).await.map_err(|e| e.to_string())?;
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))?;
        Ok(set
            .keys
            .iter()
            // Only public keys of the families the accepted algorithms use (never a symmetric "oct" key), and
            // none the provider marks for anything but signatures.
            .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_)))
            .filter(|jwk| jwk.common.public_key_use.as_ref().is_none_or(|usage| *usage == PublicKeyUse::Signature))
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, Arc::new(DecodingKey::from_jwk(jwk).ok()?))))
            .collect())
    }
}
