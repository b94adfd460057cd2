//! Rate limits with Cloudflare's rate-limiting binding: per client address on everything the cache does not
//! answer, stricter per address on writes, and per verified user on writes. The binding counts per Cloudflare
//! location and approximately (eventually consistent within a location, independent across locations): a
//! limit, not an exact quota.

use worker::{Env, Response, Result};

use super::exchange::problem;
use crate::{client, config::Config, problem as documents};

/// The bindings in wrangler.toml.
const PER_IP: &str = "LIMIT_IP";
const WRITES_PER_IP: &str = "LIMIT_WRITE_IP";
const WRITES_PER_USER: &str = "LIMIT_WRITE_USER";

/// A 429 if the client address (by its /64 for IPv6) is over its budget for `method`.
pub async fn per_ip(env: &Env, config: &Config, method: &str, ip: &str) -> Result<Option<Response>> {
    let key = client::ip_key(ip);
    if !env.rate_limiter(PER_IP)?.limit(key.clone()).await?.success {
        return refused(config, "IP address").map(Some);
    }
    if client::is_write(method) && !env.rate_limiter(WRITES_PER_IP)?.limit(key).await?.success {
        return refused(config, "IP address").map(Some);
    }
    Ok(None)
}

/// A 429 if the verified `subject` is over its write budget.
pub async fn per_user(env: &Env, config: &Config, subject: &str) -> Result<Option<Response>> {
    if env.rate_limiter(WRITES_PER_USER)?.limit(client::user_key(subject)).await?.success {
        return Ok(None);
    }
    refused(config, "user").map(Some)
}

fn refused(config: &Config, scope: &str) -> Result<Response> {
    let retry_after = config.rate_limit_period_s.to_string();
    problem(&documents::rate_limited(scope), &[("retry-after", &retry_after)])
}
