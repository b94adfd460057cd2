//! The worker's settings, from `wrangler.toml` vars (overridable with `wrangler dev --var NAME:VALUE`).

use url::Url;

/// The secret the edge presents to its upstreams. Never printed, not even by `Debug`.
#[derive(Clone, PartialEq)]
pub struct UpstreamSecret(String);

impl UpstreamSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UpstreamSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamSecret(..)")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `ORIGIN_URL`: the container origin, tried first.
    pub origin: Url,
    /// `LAMBDA_URL`: the api function's URL (a Function URL, or `cargo lambda watch`'s `/lambda-url/api`).
    pub lambda: Url,
    /// `ORIGIN_TIMEOUT_MS` (3000): after this the origin counts as failed and Lambda is tried.
    pub origin_timeout_ms: u64,
    /// `LAMBDA_TIMEOUT_MS` (10000).
    pub lambda_timeout_ms: u64,
    /// `MAX_BODY_BYTES` (65536): larger request bodies get 413 at the edge.
    pub max_body_bytes: usize,
    /// `BREAKER_THRESHOLD` (5): consecutive origin failures that open the breaker.
    pub breaker_threshold: u32,
    /// `BREAKER_COOLDOWN_MS` (10000): how long an open breaker sends everything to Lambda before one trial.
    pub breaker_cooldown_ms: u64,
    /// `RATE_LIMIT_PERIOD_S` (60): the period of the rate-limit bindings, sent as Retry-After with a 429.
    pub rate_limit_period_s: u64,
    /// `EDGE_SECRET` (a Worker secret; unset locally): sent upstream in `x-edge-secret`, the same value as the
    /// upstreams' `EDGE_SECRET`, so they answer only the edge.
    pub upstream_secret: Option<UpstreamSecret>,
    /// Who issues the bearer tokens of writes, verified here to key the per-user write limit.
    pub auth: AuthConfig,
}

/// `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_JWKS_URL`, `AUTH_LEEWAY_S`: the API's own settings of the same names.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    /// Default `{AUTH_ISSUER}/.well-known/jwks.json`.
    pub jwks_url: Url,
    pub leeway_s: u64,
}

impl AuthConfig {
    pub fn expected(&self) -> stampede_contract::token::Expected<'_> {
        stampede_contract::token::Expected { issuer: &self.issuer, audience: &self.audience, leeway_s: self.leeway_s }
    }
}

fn parse<T: std::str::FromStr>(name: &str, value: Option<String>, default: T) -> Result<T, String> {
    match value {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| format!("{name}={raw:?} is not valid")),
    }
}

fn url(name: &str, value: Option<String>) -> Result<Url, String> {
    let raw = value.ok_or_else(|| format!("{name} is not set"))?;
    let parsed = Url::parse(raw.trim_end_matches('/')).map_err(|e| format!("{name}={raw:?}: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(format!("{name} must be http(s), not {other}")),
    }
}

fn secret(name: &str, value: Option<String>) -> Result<Option<UpstreamSecret>, String> {
    value
        .map(|raw| {
            stampede_contract::secret::check(&raw).map(|()| UpstreamSecret(raw)).map_err(|e| format!("{name} {e}"))
        })
        .transpose()
}

fn required(name: &str, value: Option<String>) -> Result<String, String> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("{name} is not set"))
}

fn auth(var: &impl Fn(&str) -> Option<String>) -> Result<AuthConfig, String> {
    let issuer = required("AUTH_ISSUER", var("AUTH_ISSUER"))?;
    let jwks_url =
        var("AUTH_JWKS_URL").unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
    let jwks_url = url("AUTH_JWKS_URL", Some(jwks_url))?;
    let local = matches!(jwks_url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if jwks_url.scheme() != "https" && !local {
        return Err(format!("AUTH_JWKS_URL={jwks_url} must be https:// (plain http only from this machine)"));
    }
    Ok(AuthConfig {
        jwks_url,
        audience: required("AUTH_AUDIENCE", var("AUTH_AUDIENCE"))?,
        leeway_s: parse("AUTH_LEEWAY_S", var("AUTH_LEEWAY_S"), stampede_contract::token::DEFAULT_LEEWAY_S)?,
        issuer,
    })
}

impl Config {
    /// Reads every setting through `var` (which returns None for unset names).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Ok(Self {
            origin: url("ORIGIN_URL", var("ORIGIN_URL"))?,
            lambda: url("LAMBDA_URL", var("LAMBDA_URL"))?,
            origin_timeout_ms: parse("ORIGIN_TIMEOUT_MS", var("ORIGIN_TIMEOUT_MS"), 3_000)?,
            lambda_timeout_ms: parse("LAMBDA_TIMEOUT_MS", var("LAMBDA_TIMEOUT_MS"), 10_000)?,
            max_body_bytes: parse("MAX_BODY_BYTES", var("MAX_BODY_BYTES"), 64 * 1024)?,
            breaker_threshold: parse("BREAKER_THRESHOLD", var("BREAKER_THRESHOLD"), 5)?,
            breaker_cooldown_ms: parse("BREAKER_COOLDOWN_MS", var("BREAKER_COOLDOWN_MS"), 10_000)?,
            rate_limit_period_s: parse("RATE_LIMIT_PERIOD_S", var("RATE_LIMIT_PERIOD_S"), 60)?,
            upstream_secret: secret("EDGE_SECRET", var("EDGE_SECRET"))?,
            auth: auth(&var)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 4] = [
        ("ORIGIN_URL", "http://o"),
        ("LAMBDA_URL", "http://l"),
        ("AUTH_ISSUER", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/"),
        ("AUTH_AUDIENCE", "client"),
    ];

    fn with(extra: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_vars(vars(&[&BASE[..], extra].concat()))
    }

    #[test]
    fn defaults_and_errors() {
        let config =
            with(&[("ORIGIN_URL", "http://127.0.0.1:8080/"), ("LAMBDA_URL", "https://x.lambda-url.on.aws")]).unwrap();
        assert_eq!(config.origin.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(config.origin_timeout_ms, 3_000);
        assert_eq!(config.breaker_threshold, 5);
        assert!(Config::from_vars(vars(&[("LAMBDA_URL", "http://l")])).unwrap_err().contains("ORIGIN_URL"));
        assert!(with(&[("ORIGIN_URL", "ftp://o")]).unwrap_err().contains("http(s)"));
        assert!(with(&[("MAX_BODY_BYTES", "x")]).unwrap_err().contains("MAX_BODY_BYTES"));
    }

    #[test]
    fn tokens_are_checked_against_the_apis_issuer_and_audience() {
        let auth = with(&[]).unwrap().auth;
        assert_eq!(
            auth.jwks_url.as_str(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/.well-known/jwks.json"
        );
        assert_eq!((auth.audience.as_str(), auth.leeway_s), ("client", 30));
        let without = Config::from_vars(vars(&BASE[..2]));
        assert!(without.unwrap_err().contains("AUTH_ISSUER"), "the per-user limit needs verified tokens");
        let jwks = with(&[("AUTH_JWKS_URL", "http://127.0.0.1:8788/keys")]).unwrap().auth.jwks_url;
        assert_eq!(jwks.as_str(), "http://127.0.0.1:8788/keys");
        assert!(with(&[("AUTH_ISSUER", "http://issuer.example.com")]).unwrap_err().contains("https"));
    }

    #[test]
    fn the_upstream_secret_is_optional_long_and_never_printed() {
        assert_eq!(with(&[]).unwrap().upstream_secret, None);
        assert!(with(&[("EDGE_SECRET", "short")]).unwrap_err().contains("EDGE_SECRET"));
        let secret = "0123456789abcdef0123456789abcdef";
        let config = with(&[("EDGE_SECRET", secret)]).unwrap();
        assert_eq!(config.upstream_secret.as_ref().map(UpstreamSecret::expose), Some(secret));
        assert!(!format!("{config:?}").contains(secret));
    }
}
