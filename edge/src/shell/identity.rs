//! Verifying a write's bearer token at the edge: the claims by the contract's rules (`crate::token`), the
//! signature by WebCrypto with the identity provider's public keys, fetched from its JWKS and kept per isolate.
//! An unknown key id makes one refetch (at most every 30 s; every 2 s until a first fetch succeeds), keys older
//! than an hour are refreshed on use; requests that arrive while a fetch runs wait for that one fetch.

use std::{cell::RefCell, collections::HashMap};

use futures::{
    FutureExt,
    future::{Either, LocalBoxFuture, Shared, select},
};

use worker::{
    AbortController, Delay, Fetch, Result,
    js_sys::{self, Array, JSON, Object},
    wasm_bindgen::{JsCast, JsValue},
    wasm_bindgen_futures::{self, JsFuture},
    web_sys::{CryptoKey, SubtleCrypto, WorkerGlobalScope},
};

use super::exchange::now_ms;
use crate::{
    config::AuthConfig,
    token::{self, Alg, Invalid},
};

const MIN_REFETCH_MS: u64 = 30_000;
const FIRST_FETCH_RETRY_MS: u64 = 2_000;
const MAX_AGE_MS: u64 = 3_600_000;
const FETCH_TIMEOUT_MS: u64 = 3_000;

/// What the edge knows about a write's caller.
pub enum Caller {
    /// The identity provider vouches for this subject.
    Verified(String),
    /// The token is not one the API would accept (refused here, with this reason).
    Refused(&'static str),
    /// The provider's keys are out of reach, so no token can be checked now.
    KeysUnavailable,
}

#[derive(Default)]
struct Keys {
    by_id: HashMap<String, (Alg, CryptoKey)>,
    fetched_at_ms: Option<u64>,
    attempted_at_ms: Option<u64>,
}

thread_local! {
    static KEYS: RefCell<Keys> = RefCell::new(Keys::default());
    /// The fetch running now, if any: every request that needs it awaits this one.
    static FETCHING: RefCell<Option<Shared<LocalBoxFuture<'static, ()>>>> = const { RefCell::new(None) };
}

fn subtle() -> Result<SubtleCrypto> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    Ok(scope.crypto().map_err(|_| worker::Error::RustError("no WebCrypto in this runtime".into()))?.subtle())
}

fn js_error(err: JsValue) -> worker::Error {
    worker::Error::RustError(format!("WebCrypto: {err:?}"))
}

fn object(json: &str) -> Result<Object> {
    Ok(JSON::parse(json).map_err(js_error)?.unchecked_into())
}

/// The algorithm a JWK is for, by its key type (and curve): what `importKey` and `verify` are told. Keys the
/// provider marks for anything but signatures, or for another algorithm, are not used.
fn alg_of(jwk: &serde_json::Value) -> Option<Alg> {
    if jwk["use"].as_str().is_some_and(|usage| usage != "sig") {
        return None;
    }
    let alg = match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
        (Some("RSA"), _) => Alg::Rs256,
        (Some("EC"), Some("P-256")) => Alg::Es256,
        _ => return None,
    };
    let named = jwk["alg"].as_str();
    named.is_none_or(|name| name == alg.name()).then_some(alg)
}

fn import_params(alg: Alg) -> &'static str {
    match alg {
        Alg::Rs256 => r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#,
        Alg::Es256 => r#"{"name":"ECDSA","namedCurve":"P-256"}"#,
    }
}

fn verify_params(alg: Alg) -> &'static str {
    match alg {
        Alg::Rs256 => r#"{"name":"RSASSA-PKCS1-v1_5"}"#,
        Alg::Es256 => r#"{"name":"ECDSA","hash":"SHA-256"}"#,
    }
}

/// Fetches the JWKS and imports each usable public key; gives up after [`FETCH_TIMEOUT_MS`].
async fn fetch_keys(config: &AuthConfig) -> Result<HashMap<String, (Alg, CryptoKey)>> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Url(config.jwks_url.clone());
    let sending = fetch.send_with_signal(&signal);
    let timeout = Delay::from(std::time::Duration::from_millis(FETCH_TIMEOUT_MS));
    let mut response = match select(Box::pin(sending), Box::pin(timeout)).await {
        Either::Left((response, _)) => response?,
        Either::Right(_) => {
            controller.abort();
            return Err(worker::Error::RustError(format!("the JWKS did not answer within {FETCH_TIMEOUT_MS} ms")));
        }
    };
    if response.status_code() != 200 {
        return Err(worker::Error::RustError(format!("the JWKS answered {}", response.status_code())));
    }
    let set: serde_json::Value = response.json().await?;
    let subtle = subtle()?;
    let usages = Array::of1(&JsValue::from_str("verify"));
    let mut keys = HashMap::new();
    for jwk in set["keys"].as_array().into_iter().flatten() {
        let (Some(kid), Some(alg)) = (jwk["kid"].as_str(), alg_of(jwk)) else { continue };
        // Only the public members: a JWK with private ones would be refused by importKey("verify").
        let public: serde_json::Map<String, serde_json::Value> = jwk
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| ["kty", "crv", "x", "y", "n", "e"].contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let data = object(&serde_json::Value::Object(public).to_string())?;
        let promise = subtle.import_key_with_object("jwk", &data, &object(import_params(alg))?, false, &usages);
        match JsFuture::from(promise.map_err(js_error)?).await {
            Ok(key) => {
                keys.insert(kid.to_owned(), (alg, key.unchecked_into()));
            }
            Err(err) => worker::console_warn!("JWKS key {kid} not imported: {err:?}"),
        }
    }
    Ok(keys)
}

/// Where a token's key stands.
enum Lookup {
    Found(Alg, CryptoKey),
    /// The key set was fetched and does not have it.
    Unknown,
    /// No key set could be fetched yet.
    Unavailable,
}

/// Fetches the key set into the isolate's cache (keeping what it has if that fails).
async fn refresh(config: AuthConfig) {
    let now = now_ms();
    match fetch_keys(&config).await {
        Ok(fetched) => KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            keys.by_id = fetched;
            keys.fetched_at_ms = Some(now);
        }),
        Err(err) => worker::console_warn!("could not fetch the identity provider's keys: {err}"),
    }
    FETCHING.with(|fetching| fetching.borrow_mut().take());
}

/// The key `kid`, refetching the key set first when the key is unknown or old (within the refetch bounds).
async fn key(kid: &str, config: &AuthConfig) -> Lookup {
    let now = now_ms();
    let (known, fresh, may_fetch) = KEYS.with(|keys| {
        let keys = keys.borrow();
        let fresh = keys.fetched_at_ms.is_some_and(|at| now.saturating_sub(at) < MAX_AGE_MS);
        let bound = if keys.fetched_at_ms.is_some() { MIN_REFETCH_MS } else { FIRST_FETCH_RETRY_MS };
        let may_fetch = keys.attempted_at_ms.is_none_or(|at| now.saturating_sub(at) >= bound);
        (keys.by_id.contains_key(kid), fresh, may_fetch)
    });
    let running = FETCHING.with(|fetching| fetching.borrow().clone());
    let fetch = match running {
        Some(fetch) => Some(fetch),
        None if !(known && fresh) && may_fetch => {
            KEYS.with(|keys| keys.borrow_mut().attempted_at_ms = Some(now));
            let fetch = refresh(config.clone()).boxed_local().shared();
            FETCHING.with(|fetching| *fetching.borrow_mut() = Some(fetch.clone()));
            Some(fetch)
        }
        None => None,
    };
    match fetch {
        // An unknown key waits for the keys; a known one answers now and the refresh finishes behind it.
        Some(fetch) if !known => fetch.await,
        Some(fetch) => wasm_bindgen_futures::spawn_local(fetch),
        None => {}
    }
    KEYS.with(|keys| {
        let keys = keys.borrow();
        match (keys.by_id.get(kid), keys.fetched_at_ms) {
            (Some((alg, key)), _) => Lookup::Found(*alg, key.clone()),
            (None, Some(_)) => Lookup::Unknown,
            (None, None) => Lookup::Unavailable,
        }
    })
}

/// Verifies the `Authorization` header of a write.
pub async fn verify(authorization: &str, config: &AuthConfig) -> Result<Caller> {
    let refused = |Invalid(reason)| Ok(Caller::Refused(reason));
    let parsed = match token::bearer(authorization).and_then(token::parse) {
        Ok(parsed) => parsed,
        Err(invalid) => return refused(invalid),
    };
    let subject = match parsed.check(&config.expected(), now_ms() as f64 / 1000.0) {
        Ok(subject) => subject.to_owned(),
        Err(invalid) => return refused(invalid),
    };
    let (alg, crypto_key) = match key(&parsed.kid, config).await {
        Lookup::Found(alg, crypto_key) => (alg, crypto_key),
        Lookup::Unknown => {
            return refused(Invalid("the token was signed with a key the identity provider does not publish"));
        }
        Lookup::Unavailable => return Ok(Caller::KeysUnavailable),
    };
    if alg != parsed.alg {
        return refused(Invalid("the token's algorithm does not match its key"));
    }
    let promise = subtle()?.verify_with_object_and_u8_array_and_u8_array(
        &object(verify_params(alg))?,
        &crypto_key,
        &parsed.signature,
        parsed.signing_input.as_bytes(),
    );
    let valid = JsFuture::from(promise.map_err(js_error)?).await.map(|v| v.as_bool() == Some(true)).unwrap_or(false);
    if valid { Ok(Caller::Verified(subject)) } else { refused(Invalid("the token's signature does not verify")) }
}
