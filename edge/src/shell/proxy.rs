//! Sending a request upstream: the origin first unless its breaker is open; on a connection error, a timeout,
//! 502, 504 or a 503 that is not the API's, once to Lambda if the request is safe to repeat (`upstream`). The
//! API's 503 is passed on with a Retry-After and counts as an answer, not a failure; redirects are answers too,
//! never followed. One breaker per isolate.

use std::{cell::RefCell, time::Duration};

use futures::future::{Either, select};
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

use super::exchange::{Exchange, Fetched, now_ms};
use crate::{
    breaker::Breaker,
    config::Config,
    problem,
    upstream::{self, Upstream},
};

thread_local! {
    static BREAKER: RefCell<Option<Breaker>> = const { RefCell::new(None) };
}

fn with_breaker<T>(config: &Config, f: impl FnOnce(&mut Breaker) -> T) -> T {
    BREAKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        f(slot.get_or_insert_with(|| {
            Breaker::new(config.breaker_threshold, config.breaker_cooldown_ms, config.origin_timeout_ms)
        }))
    })
}

/// The upstream's answer, or the edge's 502 (or 504) problem when none answered (in time).
pub async fn send(exchange: &Exchange, config: &Config) -> Fetched {
    let may_retry =
        upstream::may_retry(&exchange.method, exchange.url.path(), exchange.header("idempotency-key").is_some());
    if with_breaker(config, |b| b.allow(now_ms())) {
        match attempt(Upstream::Origin, exchange, config).await {
            Ok(fetched) if !upstream::is_upstream_failure(fetched.status, fetched.header("content-type")) => {
                with_breaker(config, Breaker::record_success);
                return with_retry_after(fetched);
            }
            outcome => {
                with_breaker(config, |b| b.record_failure(now_ms()));
                if !may_retry {
                    return outcome.unwrap_or_else(|err| err.problem("the origin failed"));
                }
            }
        }
    }
    match attempt(Upstream::Lambda, exchange, config).await {
        Ok(fetched) => with_retry_after(fetched),
        Err(err) => err.problem("no upstream answered"),
    }
}

/// A 503 always says when to come back: the upstream's Retry-After, or one second.
fn with_retry_after(mut fetched: Fetched) -> Fetched {
    if fetched.status == 503 && fetched.header("retry-after").is_none() {
        fetched.headers.push(("retry-after".into(), "1".into()));
    }
    fetched
}

/// Why an upstream gave no answer.
enum NoAnswer {
    TimedOut(String),
    Failed(worker::Error),
}

impl From<worker::Error> for NoAnswer {
    fn from(err: worker::Error) -> Self {
        Self::Failed(err)
    }
}

impl NoAnswer {
    fn problem(self, who: &str) -> Fetched {
        Fetched::problem(&match self {
            Self::TimedOut(detail) => problem::gateway_timeout(detail),
            Self::Failed(err) => problem::bad_gateway(format!("{who}: {err}")),
        })
    }
}

async fn attempt(to: Upstream, exchange: &Exchange, config: &Config) -> std::result::Result<Fetched, NoAnswer> {
    let (base, timeout_ms) = match to {
        Upstream::Origin => (&config.origin, config.origin_timeout_ms),
        Upstream::Lambda => (&config.lambda, config.lambda_timeout_ms),
    };
    let headers = Headers::new();
    for (name, value) in &exchange.headers {
        headers.append(name, value)?;
    }
    headers.set("x-forwarded-for", &exchange.client_ip)?;
    if let Some(secret) = &config.upstream_secret {
        headers.set(upstream::SECRET_HEADER, secret.expose())?;
    }
    if let Some(host) = exchange.url.host_str() {
        headers.set("x-forwarded-host", host)?;
    }
    // A HEAD is fetched as GET: the edge stores and answers it like the GET it stands for.
    let method = if exchange.method == "HEAD" { Method::Get } else { Method::from(exchange.method.clone()) };
    let mut init = RequestInit::new();
    // A redirect is the API's answer (a thumbnail's short-lived signed link): passed on, never followed here.
    init.with_method(method).with_headers(headers).with_redirect(RequestRedirect::Manual);
    if let Some(body) = &exchange.body {
        init.with_body(Some(worker::js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let request = Request::new_with_init(&upstream::target(base, &exchange.path_and_query()), &init)?;

    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sending = fetch.send_with_signal(&signal);
    let timeout = Delay::from(Duration::from_millis(timeout_ms));
    match select(Box::pin(sending), Box::pin(timeout)).await {
        Either::Left((response, _)) => Ok(Fetched::read(response?, to).await?),
        Either::Right(_) => {
            controller.abort();
            Err(NoAnswer::TimedOut(format!("{} did not answer within {timeout_ms} ms", to.name())))
        }
    }
}
