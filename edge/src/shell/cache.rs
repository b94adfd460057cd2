//! The edge cache over the Cache API, with stale-while-revalidate emulated: entries carry when they were stored
//! and their TTL and SWR window; a fresh entry is a HIT, a stale one is served (STALE) while one background
//! refresh per isolate and key replaces it, an expired one is a MISS.

use std::{cell::RefCell, collections::HashSet};

use worker::{Cache, Context, Headers, Response, Result, Url};

use super::{
    exchange::{Exchange, Fetched, ORIGINAL_CACHE_CONTROL, now_ms},
    proxy,
};
use crate::{
    cache_key,
    cache_policy::{self, Freshness, State},
    config::Config,
};

thread_local! {
    /// Keys being refreshed in this isolate, so a burst of stale hits starts one refresh, not one each.
    static REFRESHING: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// The cached answer to a cacheable request, when there is a fresh one (HIT) or a stale one (STALE, refreshed in
/// the background).
pub async fn lookup(exchange: &Exchange, config: &Config, ctx: &Context) -> Result<Option<Response>> {
    let head = exchange.method == "HEAD";
    let key = cache_key::normalize(&exchange.url);
    let Some(stored) = Cache::default().get(key.as_str(), true).await? else { return Ok(None) };
    let stored = Fetched::read(stored, None).await?;
    let Some((stored_at, freshness)) = metadata(&stored) else { return Ok(None) };
    let now = now_ms();
    let age = Some(cache_policy::age_s(stored_at, now));
    match cache_policy::state(stored_at, now, freshness) {
        State::Fresh => stored.into_response("HIT", age, head).map(Some),
        State::Stale => {
            if REFRESHING.with(|r| r.borrow_mut().insert(key.clone())) {
                ctx.wait_until(refresh(key, exchange.clone(), config.clone()));
            }
            stored.into_response("STALE", age, head).map(Some)
        }
        State::Expired => Ok(None),
    }
}

/// Answers a cacheable request the cache could not: from upstream, storing the answer when it may be stored.
pub async fn fill(exchange: Exchange, config: &Config, ctx: &Context) -> Result<Response> {
    let head = exchange.method == "HEAD";
    let key = cache_key::normalize(&exchange.url);
    let fetched = proxy::send(&exchange, config).await;
    if let Some(entry) = entry(&fetched)? {
        ctx.wait_until(async move {
            if let Err(err) = Cache::default().put(key.as_str(), entry).await {
                worker::console_warn!("cache put failed: {err}");
            }
        });
    }
    fetched.into_response("MISS", None, head)
}

/// Fetches `exchange` again and stores the answer under `key`.
async fn refresh(key: String, exchange: Exchange, config: Config) {
    let fetched = proxy::send(&exchange, &config).await;
    match entry(&fetched) {
        Ok(Some(entry)) => {
            if let Err(err) = Cache::default().put(key.as_str(), entry).await {
                worker::console_warn!("cache refresh failed: {err}");
            }
        }
        Ok(None) => {}
        Err(err) => worker::console_warn!("cache refresh failed: {err}"),
    }
    REFRESHING.with(|r| r.borrow_mut().remove(&key));
}

/// The entry to store for an upstream answer, if it may be stored: the Cache API keeps it for TTL + SWR.
fn entry(fetched: &Fetched) -> Result<Option<Response>> {
    let Some(freshness) =
        cache_policy::storable(fetched.status, fetched.header("cache-control"), fetched.header("set-cookie").is_some())
    else {
        return Ok(None);
    };
    let headers = Headers::new();
    for (name, value) in &fetched.headers {
        if name != "cache-control" {
            headers.append(name, value)?;
        }
    }
    if let Some(original) = fetched.header("cache-control") {
        headers.set(ORIGINAL_CACHE_CONTROL, original)?;
    }
    headers.set("cache-control", &format!("public, max-age={}", freshness.retention_s()))?;
    headers.set(cache_policy::STORED_AT, &now_ms().to_string())?;
    headers.set(cache_policy::TTL, &freshness.ttl_s.to_string())?;
    headers.set(cache_policy::SWR, &freshness.swr_s.to_string())?;
    if let Some(upstream) = fetched.upstream {
        headers.set("x-upstream", upstream.name())?;
    }
    Ok(Some(Response::from_bytes(fetched.body.clone())?.with_status(fetched.status).with_headers(headers)))
}

fn metadata(stored: &Fetched) -> Option<(u64, Freshness)> {
    let number = |name| stored.header(name)?.parse::<u64>().ok();
    Some((
        number(cache_policy::STORED_AT)?,
        Freshness { ttl_s: number(cache_policy::TTL)?, swr_s: number(cache_policy::SWR)? },
    ))
}

/// Deletes the cached GET of `path` on this edge location.
pub async fn invalidate(url: &Url, path: &str) {
    if let Err(err) = Cache::default().delete(cache_key::for_path(url, path).as_str(), true).await {
        worker::console_warn!("cache delete failed: {err}");
    }
}
