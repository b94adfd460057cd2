//! Owned values for one exchange: the request as the edge forwards it (`Exchange`, cloneable, so a background
//! refresh can resend it) and an upstream response read into memory (`Fetched`, so it can be served, stored
//! and served again, to other clients than the one it was fetched for).

use worker::{Date, Headers, Request, Response, Result, Url};

use crate::{
    cache_policy, problem,
    upstream::{self, Upstream},
};

/// Request headers never forwarded: the upstream gets its own Host, Cloudflare's own headers stay here, and only
/// the edge itself may present the upstream secret.
const DROPPED_REQUEST_HEADERS: [&str; 5] =
    ["host", "content-length", "connection", "cf-connecting-ip", upstream::SECRET_HEADER];
/// Response headers not copied from an upstream: the body is re-sent decoded, with a fresh length.
const DROPPED_RESPONSE_HEADERS: [&str; 4] = ["content-length", "content-encoding", "transfer-encoding", "connection"];
/// The id a client may give its request; the API answers with it (or one of its own) and logs it.
pub const REQUEST_ID: &str = "x-request-id";

pub fn now_ms() -> u64 {
    Date::now().as_millis()
}

#[derive(Clone)]
pub struct Exchange {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub client_ip: String,
}

impl Exchange {
    /// The request as the client sent it, less the headers that stay at the edge.
    pub fn new(request: &Request, method: String, body: Option<Vec<u8>>, client_ip: String) -> Result<Self> {
        let headers = request
            .headers()
            .entries()
            .filter(|(name, _)| !DROPPED_REQUEST_HEADERS.contains(&name.as_str()) && !name.starts_with("cf-"))
            .collect();
        Ok(Self { method, url: request.url()?, headers, body, client_ip })
    }

    /// A cached read: its canonical `url` and, of the client's headers, only its request id (for the upstream's
    /// logs), so the answer is the same whoever asked and may be stored and shared.
    pub fn read(request: &Request, method: String, url: Url, client_ip: String) -> Result<Self> {
        let headers = request.headers().get(REQUEST_ID)?.map(|id| (REQUEST_ID.to_owned(), id)).into_iter().collect();
        Ok(Self { method, url, headers, body: None, client_ip })
    }

    pub fn path_and_query(&self) -> String {
        match self.url.query() {
            Some(query) => format!("{}?{query}", self.url.path()),
            None => self.url.path().to_owned(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Reads a request body, refusing (413) one over `limit` by its Content-Length or its actual size.
pub async fn read_body(
    request: &mut Request,
    method: &str,
    limit: usize,
) -> Result<std::result::Result<Option<Vec<u8>>, Response>> {
    if matches!(method, "GET" | "HEAD") {
        return Ok(Ok(None));
    }
    let declared = request.headers().get("content-length")?.and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    if declared > limit {
        return Ok(Err(problem(&problem::payload_too_large(limit), &[])?));
    }
    let body = request.bytes().await?;
    if body.len() > limit {
        return Ok(Err(problem(&problem::payload_too_large(limit), &[])?));
    }
    Ok(Ok(Some(body)))
}

/// A problem+json response with extra headers (e.g. Retry-After).
pub fn problem(document: &problem::Problem, extra: &[(&str, &str)]) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", problem::CONTENT_TYPE)?;
    headers.set("cache-control", "private, no-store")?;
    for (name, value) in extra {
        headers.set(name, value)?;
    }
    Ok(Response::from_bytes(document.to_json().into_bytes())?.with_status(document.status()).with_headers(headers))
}

/// An upstream response held in memory.
#[derive(Clone)]
pub struct Fetched {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub upstream: Option<Upstream>,
}

impl Fetched {
    pub async fn read(mut response: Response, upstream: Upstream) -> Result<Self> {
        let headers = response
            .headers()
            .entries()
            .filter(|(name, _)| !DROPPED_RESPONSE_HEADERS.contains(&name.as_str()))
            .collect();
        Ok(Self { status: response.status_code(), headers, body: response.bytes().await?, upstream: Some(upstream) })
    }

    /// The edge's own problem response when no upstream answered.
    pub fn problem(document: &problem::Problem) -> Self {
        Self {
            status: document.status(),
            headers: vec![
                ("content-type".into(), problem::CONTENT_TYPE.into()),
                ("cache-control".into(), "private, no-store".into()),
            ],
            body: document.to_json().into_bytes(),
            upstream: None,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Removes the header `name` and returns its value: for headers meant for the edge, not the client.
    pub fn take_header(&mut self, name: &str) -> Option<String> {
        let index = self.headers.iter().position(|(n, _)| n == name)?;
        Some(self.headers.remove(index).1)
    }

    /// This answer for the client of `exchange` when it was not fetched for that request alone (it was stored,
    /// or shared by concurrent requests): with that client's own `x-request-id`, if it sent one, never another's.
    pub fn for_client(mut self, exchange: &Exchange) -> Self {
        self.take_header(REQUEST_ID);
        if let Some(id) = exchange.header(REQUEST_ID) {
            self.headers.push((REQUEST_ID.to_owned(), id.to_owned()));
        }
        self
    }

    /// The response to send: `x-cache`, `x-upstream`; no body for HEAD; none of the cache's internal headers
    /// (answers from the cache itself are built by `cache::served`).
    pub fn into_response(self, cache_state: &str, head: bool) -> Result<Response> {
        let headers = Headers::new();
        for (name, value) in &self.headers {
            if !INTERNAL_HEADERS.contains(&name.as_str()) {
                headers.append(name, value)?;
            }
        }
        headers.set("x-cache", cache_state)?;
        if let Some(upstream) = self.upstream {
            headers.set("x-upstream", upstream.name())?;
        }
        let body = if head { Vec::new() } else { self.body };
        Ok(Response::from_bytes(body)?.with_status(self.status).with_headers(headers))
    }
}

/// Where a stored entry keeps the upstream's Cache-Control (its own tells the Cache API how long to keep it).
pub const ORIGINAL_CACHE_CONTROL: &str = "x-edge-cache-control";

/// The headers a stored entry carries for the edge alone: never sent to a client.
pub const INTERNAL_HEADERS: [&str; 4] =
    [cache_policy::STORED_AT, cache_policy::TTL, cache_policy::SWR, ORIGINAL_CACHE_CONTROL];
