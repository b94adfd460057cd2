//! The Workers runtime binding: one `fetch` handler that applies the policy modules. Order: rate limits →
//! body limit → cache (GET/HEAD without credentials) or proxy → invalidation after writes → security headers.

mod cache;
mod exchange;
mod limits;
mod proxy;

use worker::{Context, Env, Request, Response, Result, event};

use crate::{cache_policy, client, config::Config, invalidation, problem, security_headers};
use exchange::Exchange;

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = Config::from_vars(|name| env.var(name).ok().map(|v| v.to_string()));
    let response = match config {
        Ok(config) => match handle(request, &env, &ctx, config).await {
            Ok(response) => response,
            Err(err) => {
                worker::console_error!("edge failure: {err}");
                exchange::problem(&problem::bad_gateway("the edge could not complete the request"), &[])?
            }
        },
        Err(err) => exchange::problem(&problem::bad_gateway(format!("the edge is misconfigured: {err}")), &[])?,
    };
    secure(response)
}

async fn handle(mut request: Request, env: &Env, ctx: &Context, config: Config) -> Result<Response> {
    let method = request.method().to_string();
    let headers = request.headers();
    let ip = client::ip(headers.get("cf-connecting-ip")?.as_deref());
    let user = client::user(headers.get("x-user-id")?.as_deref());
    let has_credentials = (headers.has("authorization")?, headers.has("cookie")?);
    if let Some(refused) = limits::check(env, &config, &method, &ip, user.as_deref()).await? {
        return Ok(refused);
    }
    let body = match exchange::read_body(&mut request, &method, config.max_body_bytes).await? {
        Ok(body) => body,
        Err(too_large) => return Ok(too_large),
    };
    let exchange = Exchange::new(&request, method, body, ip)?;

    if cache_policy::lookup(&exchange.method, has_credentials.0, has_credentials.1).is_ok() {
        return cache::serve(exchange, config, ctx).await;
    }
    let fetched = proxy::send(&exchange, &config).await;
    if (200..300).contains(&fetched.status) {
        for path in invalidation::affected_paths(&exchange.method, exchange.url.path(), user.as_deref()) {
            cache::invalidate(&exchange.url, &path).await;
        }
    }
    fetched.into_response("BYPASS", None, false)
}

/// Adds the security headers to a response leaving the edge.
fn secure(response: Response) -> Result<Response> {
    let headers = response.headers().clone();
    for (name, value) in security_headers::HEADERS {
        headers.set(name, value)?;
    }
    Ok(response.with_headers(headers))
}
