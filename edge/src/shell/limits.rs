//! Rate limits with Cloudflare's rate-limiting binding: per client IP on everything, and stricter per IP and per
//! user on writes. The binding counts per Cloudflare location and approximately (it is eventually consistent
//! within a location and independent across locations): a limit, not an exact quota.

use worker::{Env, Response, Result};

use super::exchange::problem;
use crate::{client, config::Config, problem as documents};

/// The bindings in wrangler.toml.
const PER_IP: &str = "LIMIT_IP";
const WRITES_PER_IP: &str = "LIMIT_WRITE_IP";
const WRITES_PER_USER: &str = "LIMIT_WRITE_USER";

/// A 429 if any limit that applies is exceeded.
pub async fn check(env: &Env, config: &Config, method: &str, ip: &str, user: Option<&str>) -> Result<Option<Response>> {
    let mut checks = vec![(PER_IP, client::ip_key(ip), "IP address")];
    if client::is_write(method) {
        checks.push((WRITES_PER_IP, client::ip_key(ip), "IP address"));
        if let Some(user) = user {
            checks.push((WRITES_PER_USER, client::user_key(user), "user"));
        }
    }
    for (binding, key, scope) in checks {
        if !env.rate_limiter(binding)?.limit(key).await?.success {
            let retry_after = config.rate_limit_period_s.to_string();
            return Ok(Some(problem(&documents::rate_limited(scope), &[("retry-after", &retry_after)])?));
        }
    }
    Ok(None)
}
