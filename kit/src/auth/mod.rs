//! Verified identity from bearer tokens (JWT access tokens from an OIDC provider: Amazon Cognito deployed, the
//! local issuer in development). `jsonwebtoken` checks the signature with a key from the provider's JWKS
//! (`jwks`) under an algorithm allow-list; the claim rules (expiry with leeway, issuer, audience or Cognito's
//! `client_id`, access tokens only, a usable subject) are `stampede_contract::token`, the same the edge applies.
//!
//! Routes that act for someone get the [`require`] middleware: it answers 401 (problem+json with
//! `WWW-Authenticate: Bearer`) before the handler runs, or puts the caller's [`Identity`] in the request's
//! extensions, where the [`Identity`] extractor and the idempotency scope ([`subject_scope`]) find it.

mod jwks;

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use stampede_contract::token::{self, Claims, Expected, Rejection};

pub use jwks::{KeyError, KeySet};

use crate::{
    config::{ConfigError, Env, Secret},
    https,
    problem::{Problem, types},
};

/// Who the identity provider says the caller is: the token's subject (`sub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
}

/// The `AUTH_*` settings (README, "Configuration").
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `AUTH_ISSUER`: the `iss` of accepted tokens, exactly.
    pub issuer: String,
    /// `AUTH_AUDIENCE`: the app client id, matched against `aud` or Cognito's `client_id`.
    pub audience: String,
    /// `AUTH_JWKS_URL` (default `{AUTH_ISSUER}/.well-known/jwks.json`, where Cognito and OIDC providers serve it).
    pub jwks_url: String,
    /// `AUTH_LEEWAY_S` (30): clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// `AUTH_HS256_SECRET` (unset): also accept HS256 tokens signed with this secret. For local tools only;
    /// a deployed host never has it.
    pub hs256_secret: Option<Secret>,
}

impl AuthConfig {
    /// The settings, or `None` when `AUTH_ISSUER` is unset (a host that verifies no tokens). The keys must come
    /// over HTTPS (plain HTTP only from this machine, for the local issuer), and a local HS256 secret goes only
    /// with a local issuer.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(issuer) = env.optional::<String>("AUTH_ISSUER")? else { return Ok(None) };
        let jwks_url = env
            .optional("AUTH_JWKS_URL")?
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        let invalid = |name: &str, value: &str, reason: &str| ConfigError::Invalid {
            name: name.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if !(jwks_url.starts_with("https://") || is_loopback_url(&jwks_url)) {
            return Err(invalid("AUTH_JWKS_URL", &jwks_url, "keys must come over https:// (or from this machine)"));
        }
        let hs256_secret = env.optional_secret("AUTH_HS256_SECRET")?;
        if hs256_secret.is_some() && !is_loopback_url(&issuer) {
            return Err(invalid("AUTH_HS256_SECRET", "(hidden)", "is for a local issuer only, not for AUTH_ISSUER"));
        }
        Ok(Some(Self {
            jwks_url,
            issuer,
            audience: env.required("AUTH_AUDIENCE")?,
            leeway: Duration::from_secs(env.or("AUTH_LEEWAY_S", token::DEFAULT_LEEWAY_S)?),
            hs256_secret,
        }))
    }
}

/// Whether `url` points at this machine (`http://127.0.0.1:…`, `http://localhost:…`, `http://[::1]:…`).
fn is_loopback_url(url: &str) -> bool {
    let host = url.parse::<axum::http::Uri>().ok().and_then(|uri| uri.host().map(str::to_owned));
    matches!(host.as_deref(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1"))
}

/// Why a request carries no usable identity.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    #[error("this host verifies no tokens (AUTH_ISSUER is not set)")]
    NotConfigured,
    #[error(transparent)]
    Keys(KeyError),
}

impl AuthError {
    /// The 401 problem with its `WWW-Authenticate` challenge (or, when the provider's keys are unreachable, 503).
    pub fn problem(self) -> Problem {
        let challenge = |value: String| HeaderValue::try_from(value).unwrap_or(HeaderValue::from_static("Bearer"));
        match self {
            // RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
            Self::Missing => Problem::new(types::UNAUTHENTICATED)
                .detail("this request needs an Authorization: Bearer token")
                .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
            Self::Invalid(reason) => Problem::new(types::UNAUTHENTICATED).detail(reason).header(
                header::WWW_AUTHENTICATE,
                challenge(format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"")),
            ),
            Self::Keys(KeyError::Unknown(_)) => {
                let reason = "the token was signed with a key the identity provider does not publish";
                Problem::new(types::UNAUTHENTICATED).detail(reason).header(
                    header::WWW_AUTHENTICATE,
                    challenge(format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"")),
                )
            }
            Self::NotConfigured => {
                tracing::error!("a request needed an identity, but AUTH_ISSUER is not set on this host");
                Problem::new(types::UNAUTHENTICATED)
                    .detail("this host accepts no tokens")
                    .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            }
            Self::Keys(err @ KeyError::Unavailable(_)) => {
                tracing::error!(error = %err, "cannot verify tokens");
                Problem::new(types::UNAVAILABLE)
                    .detail("the identity provider's keys could not be fetched; retry shortly")
                    .header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}

/// The claims read from a token; `aud` may be a string or an array.
#[derive(Deserialize)]
struct TokenClaims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    aud: Vec<String>,
    client_id: Option<String>,
    token_use: Option<String>,
    exp: Option<f64>,
    nbf: Option<f64>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

impl TokenClaims {
    fn view(&self) -> Claims<'_> {
        Claims {
            iss: self.iss.as_deref(),
            sub: self.sub.as_deref(),
            aud: self.aud.iter().map(String::as_str).collect(),
            client_id: self.client_id.as_deref(),
            token_use: self.token_use.as_deref(),
            exp: self.exp,
            nbf: self.nbf,
        }
    }
}

struct Inner {
    config: AuthConfig,
    keys: Arc<KeySet>,
}

/// Verifies bearer tokens; cheap to clone (one key cache per process).
#[derive(Clone)]
pub struct Verifier {
    inner: Option<Arc<Inner>>,
}

impl Verifier {
    pub fn new(config: AuthConfig, http: https::Client) -> Self {
        let keys = Arc::new(KeySet::new(config.jwks_url.clone(), http));
        Self { inner: Some(Arc::new(Inner { config, keys })) }
    }

    /// A verifier that refuses every token (a host without `AUTH_ISSUER`: it fails closed).
    pub fn unconfigured() -> Self {
        Self { inner: None }
    }

    /// From the `AUTH_*` settings, or [`Verifier::unconfigured`] without them.
    pub fn from_config(config: Option<AuthConfig>) -> Self {
        config.map_or_else(Self::unconfigured, |config| Self::new(config, https::Client::new()))
    }

    /// The identity in the `Authorization: Bearer` header of a request.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Identity, AuthError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(if headers.contains_key(header::AUTHORIZATION) {
                AuthError::Invalid("send one Authorization header")
            } else {
                AuthError::Missing
            });
        };
        let value = value.to_str().map_err(|_| AuthError::Invalid("the Authorization header is not text"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(AuthError::Invalid("the Authorization header is not `Bearer <token>`")),
        };
        self.verify(token).await
    }

    /// The identity a token proves.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let inner = self.inner.as_ref().ok_or(AuthError::NotConfigured)?;
        let config = &inner.config;
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid("the token is malformed"))?;
        let hs256 = config.hs256_secret.as_ref().filter(|_| header.alg == Algorithm::HS256);
        let key = match hs256 {
            Some(secret) => Arc::new(DecodingKey::from_secret(secret.expose())),
            None if token::algorithm_allowed(algorithm_name(header.alg)) => {
                let kid = header.kid.as_deref().ok_or(AuthError::Invalid("the token's header names no key (kid)"))?;
                inner.keys.key(kid).await.map_err(AuthError::Keys)?
            }
            None => return Err(AuthError::Invalid("the token's signature algorithm is not accepted")),
        };
        // The signature and algorithm only: the claim rules are the contract's, below.
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<TokenClaims>(token, &key, &validation).map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::Invalid(match err.kind() {
                ErrorKind::InvalidSignature => "the token's signature does not verify",
                ErrorKind::Json(_) => "the token's claims are malformed",
                _ => "the token cannot be verified with the issuer's key",
            })
        })?;
        let expected =
            Expected { issuer: &config.issuer, audience: &config.audience, leeway_s: config.leeway.as_secs() };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        token::check(&data.claims.view(), &expected, now)
            .map_err(|rejection: Rejection| AuthError::Invalid(rejection.describe()))?;
        let subject = data.claims.sub.expect("token::check requires a subject");
        Ok(Identity { subject })
    }
}

fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        // Every other algorithm is refused; the name only has to differ from the accepted ones.
        _ => "other",
    }
}

/// Middleware (`axum::middleware::from_fn_with_state(verifier, require)`) for routes that act for someone:
/// 401 without a valid bearer token; otherwise the caller's [`Identity`] goes into the request's extensions.
pub async fn require(State(verifier): State<Verifier>, mut request: Request, next: Next) -> Response {
    match verifier.authenticate(request.headers()).await {
        Ok(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Err(err) => err.into_response(),
    }
}

/// The caller, as [`require`] verified them; 401 on a route without that middleware.
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthError> {
        parts.extensions.get::<Identity>().cloned().ok_or(AuthError::Missing)
    }
}

/// The idempotency scope of an authenticated request: its subject (`kit::idempotency::ScopeFn`).
pub fn subject_scope(parts: &Parts) -> Option<String> {
    parts.extensions.get::<Identity>().map(|identity| identity.subject.clone())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{Json, Router, routing::get};
    use local_issuer::Issuer;
    use serde_json::{Value, json};

    use super::*;

    /// A JWKS endpoint serving whatever `keys` holds, counting its fetches.
    struct Provider {
        url: String,
        keys: Arc<std::sync::Mutex<Value>>,
        fetches: Arc<AtomicUsize>,
    }

    async fn provider(jwks: Value) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let keys = Arc::new(std::sync::Mutex::new(jwks));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (keys.clone(), fetches.clone());
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().clone();
                async move { Json(body) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Provider { url, keys, fetches }
    }

    fn config(issuer: &str) -> AuthConfig {
        AuthConfig {
            issuer: issuer.to_owned(),
            audience: "app".into(),
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            leeway: Duration::from_secs(30),
            hs256_secret: None,
        }
    }

    fn reason(result: Result<Identity, AuthError>) -> String {
        result.unwrap_err().to_string()
    }

    #[tokio::test]
    async fn tokens_verify_against_the_jwks_and_unknown_keys_refetch_at_most_every_min_refetch() {
        let provider = provider(json!({"keys": []})).await;
        let issuer = Issuer::ephemeral(&provider.url, "app").unwrap();
        let verifier = Verifier::new(config(&provider.url), https::Client::new());

        // The provider publishes no key yet: refused, after one fetch; a flood of made-up kids fetches no more.
        let token = issuer.token("someone", Duration::from_secs(60));
        let unknown = verifier.verify(&token).await.unwrap_err();
        assert!(matches!(unknown, AuthError::Keys(KeyError::Unknown(_))), "{unknown}");
        assert_eq!(unknown.into_response().status(), axum::http::StatusCode::UNAUTHORIZED);
        for _ in 0..20 {
            assert!(
                verifier
                    .verify(&issuer.sign_as(&issuer.claims("x", Duration::from_secs(60)), "made-up"))
                    .await
                    .is_err()
            );
        }
        assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);

        // The provider rotates its keys: once the refetch interval allows, the new key is fetched and used.
        *provider.keys.lock().unwrap() = issuer.jwks();
        let Some(inner) = &verifier.inner else { unreachable!() };
        inner.keys.cached.write().unwrap().attempted_at = None;
        assert_eq!(verifier.verify(&token).await.unwrap(), Identity { subject: "someone".into() });
        assert_eq!(verifier.verify(&token).await.unwrap().subject, "someone", "and cached");
        assert_eq!(provider.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_503_not_a_401() {
        let closed = "http://127.0.0.1:9"; // discard: nothing listens
        let issuer = Issuer::ephemeral(closed, "app").unwrap();
        let verifier = Verifier::new(config(closed), https::Client::new());
        let err = verifier.verify(&issuer.token("someone", Duration::from_secs(60))).await.unwrap_err();
        assert!(matches!(err, AuthError::Keys(KeyError::Unavailable(_))), "{err}");
        let response = err.into_response();
        assert_eq!(response.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }

    #[tokio::test]
    async fn hs256_only_where_a_local_secret_is_configured() {
        let secret = "local-hs256-secret-0123456789abcdef";
        let claims = json!({"iss": "http://local", "aud": "app", "sub": "dev", "exp": 4_000_000_000u64});
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
        let strict = Verifier::new(config("http://local"), https::Client::new());
        assert!(reason(strict.verify(&token).await).contains("algorithm is not accepted"));
        let local = Verifier::new(
            AuthConfig { hs256_secret: Some(secret.parse().unwrap()), ..config("http://local") },
            https::Client::new(),
        );
        assert_eq!(local.verify(&token).await.unwrap().subject, "dev");
    }

    #[test]
    fn keys_come_over_https_and_hs256_only_with_a_local_issuer() {
        let env = |pairs: &[(&str, &str)]| {
            let map: std::collections::HashMap<String, String> =
                pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            AuthConfig::from_env(&Env::from_fn(move |name| map.get(name).cloned()))
        };
        let cognito = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc";
        let config = env(&[("AUTH_ISSUER", cognito), ("AUTH_AUDIENCE", "app")]).unwrap().unwrap();
        assert_eq!(config.jwks_url, format!("{cognito}/.well-known/jwks.json"));
        assert!(env(&[("AUTH_AUDIENCE", "app")]).unwrap().is_none(), "no issuer: no verification");
        let local = env(&[("AUTH_ISSUER", "http://127.0.0.1:8788"), ("AUTH_AUDIENCE", "a")]).unwrap().unwrap();
        assert_eq!(local.jwks_url, "http://127.0.0.1:8788/.well-known/jwks.json");
        let plain = env(&[("AUTH_ISSUER", "http://issuer.example.com"), ("AUTH_AUDIENCE", "a")]).unwrap_err();
        assert!(plain.to_string().contains("AUTH_JWKS_URL"), "{plain}");
        let secret = "local-hs256-secret-0123456789abcdef";
        let remote = env(&[("AUTH_ISSUER", cognito), ("AUTH_AUDIENCE", "a"), ("AUTH_HS256_SECRET", secret)]);
        let refused = remote.unwrap_err().to_string();
        assert!(refused.contains("AUTH_HS256_SECRET") && !refused.contains(secret), "{refused}");
        assert!(env(&[("AUTH_ISSUER", "http://localhost:1"), ("AUTH_HS256_SECRET", secret)]).is_err(), "audience");
    }

    #[tokio::test]
    async fn the_authorization_header_must_be_one_bearer_token() {
        let verifier = Verifier::unconfigured();
        let headers = |values: &[&str]| {
            let mut map = HeaderMap::new();
            for value in values {
                map.append(header::AUTHORIZATION, value.parse().unwrap());
            }
            map
        };
        assert!(matches!(verifier.authenticate(&headers(&[])).await, Err(AuthError::Missing)));
        assert!(reason(verifier.authenticate(&headers(&["Basic abc"])).await).contains("Bearer <token>"));
        assert!(reason(verifier.authenticate(&headers(&["Bearer a", "Bearer b"])).await).contains("one Authorization"));
        assert!(matches!(verifier.authenticate(&headers(&["Bearer a"])).await, Err(AuthError::NotConfigured)));
        let challenge = AuthError::Invalid("the token has expired").into_response();
        assert_eq!(
            challenge.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token", error_description="the token has expired""#
        );
        assert_eq!(AuthError::Missing.into_response().headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
