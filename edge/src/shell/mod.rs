//! The Workers runtime binding: one `fetch` handler that applies the policy modules. Order: public reads are
//! answered from the cache when it can (no limit spent), a read of a malformed id with 404; everything else, and
//! a cache miss, spends the per-IP budgets; a write's bearer token is verified and spends its user's budget, the
//! body limit applies, then the upstream answers and the cached reads a successful write changed (the API's
//! `x-invalidates`) are deleted.

mod cache;
mod exchange;
mod identity;
mod limits;
mod proxy;

use std::{cell::OnceCell, rc::Rc};

use stampede_contract::headers;
use worker::{Context, Env, Request, Response, Result, event};

use crate::{
    cache_key::{self, Lookup},
    cache_policy, client,
    config::Config,
    problem, security_headers,
};
use exchange::Exchange;
use identity::Caller;

thread_local! {
    /// The settings, read and checked once per isolate: its vars and secrets cannot change while it lives (a new
    /// deployment, or a new secret, runs in new isolates). Reading them on every request (fourteen bindings,
    /// three URLs parsed) was work a cache HIT does not need; what it cost is within the noise of measuring it
    /// under `wrangler dev` (±0.2 ms of CPU per request).
    static CONFIG: OnceCell<Rc<std::result::Result<Config, String>>> = const { OnceCell::new() };
}

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = CONFIG.with(|config| {
        Rc::clone(config.get_or_init(|| Rc::new(Config::from_vars(|name| env.var(name).ok().map(|v| v.to_string())))))
    });
    let response = match config.as_ref() {
        Ok(config) => match handle(request, &env, &ctx, config).await {
            Ok(response) => response,
            Err(err) => {
                worker::console_error!("edge failure: {err}");
                exchange::problem(&problem::bad_gateway("the edge could not complete the request"), &[])?
            }
        },
        Err(err) => exchange::problem(&problem::misconfigured(format!("the edge is misconfigured: {err}")), &[])?,
    };
    secure(response)
}

async fn handle(mut request: Request, env: &Env, ctx: &Context, config: &Config) -> Result<Response> {
    let method = request.method().to_string();
    let headers = request.headers();
    let ip = client::ip(headers.get("cf-connecting-ip")?.as_deref());
    let authorization = headers.get("authorization")?;
    let has_cookie = headers.has("cookie")?;

    if cache_policy::lookup(&method, authorization.is_some(), has_cookie).is_ok() {
        match cache_key::lookup(&request.url()?) {
            Lookup::Cached(url) => {
                let exchange = Exchange::read(&request, method, url, ip)?;
                if let Some(cached) = cache::lookup(&exchange, config, ctx).await? {
                    return Ok(cached);
                }
                if let Some(refused) = limits::per_ip(env, config, &exchange.method, &exchange.client_ip).await? {
                    return Ok(refused);
                }
                return cache::fill(exchange, config, ctx).await;
            }
            Lookup::NotFound => {
                let detail = format!("nothing has the path {}", request.path());
                return exchange::problem(&problem::not_found(detail), &[]);
            }
            Lookup::Uncached => {}
        }
    }

    if let Some(refused) = limits::per_ip(env, config, &method, &ip).await? {
        return Ok(refused);
    }
    if let (true, Some(authorization)) = (client::is_write(&method), &authorization) {
        match identity::verify(authorization, &config.auth).await? {
            Caller::Verified(subject) => {
                if let Some(refused) = limits::per_user(env, config, &subject).await? {
                    return Ok(refused);
                }
            }
            Caller::Refused(reason) => {
                let challenge = problem::invalid_token_challenge(reason);
                return exchange::problem(&problem::invalid_token(reason), &[("www-authenticate", &challenge)]);
            }
            Caller::KeysUnavailable => {
                let document = problem::unavailable("the identity provider's keys could not be fetched; retry shortly");
                return exchange::problem(&document, &[("retry-after", "5")]);
            }
        }
    }
    let body = match exchange::read_body(&mut request, &method, config.max_body_bytes).await? {
        Ok(body) => body,
        Err(too_large) => return Ok(too_large),
    };
    let exchange = Exchange::new(&request, method, body, ip)?;
    let mut fetched = proxy::send(&exchange, config).await;
    let invalidates = fetched.take_header(headers::INVALIDATES);
    if let (true, Some(paths)) = ((200..300).contains(&fetched.status), invalidates) {
        for path in headers::invalidated_paths(&paths) {
            cache::invalidate(&exchange.url, path).await;
        }
    }
    fetched.into_response("BYPASS", false)
}

/// Adds the security headers to a response leaving the edge, in place: every response here is built by the edge
/// with headers of its own (never a fetched or cached response's, which are immutable), so no copy is needed.
fn secure(response: Response) -> Result<Response> {
    for (name, value) in security_headers::HEADERS {
        response.headers().set(name, value)?;
    }
    Ok(response)
}
