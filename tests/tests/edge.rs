//! The edge worker, black-box, under `wrangler dev` (workerd) with fresh state per test, in front of upstreams
//! the test controls: cache MISS/HIT/STALE, rate limits, failover and the breaker, invalidation, limits.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;
use stampede_tests::edge::{Edge, TestUpstream, header_map};

struct Stack {
    origin: TestUpstream,
    lambda: TestUpstream,
    edge: Edge,
    http: reqwest::Client,
}

impl Stack {
    async fn start() -> Self {
        Self::with_vars(&[]).await
    }

    /// A stack whose edge gets these extra `wrangler dev --var`s.
    async fn with_vars(vars: &[(&str, &str)]) -> Self {
        let origin = TestUpstream::start("origin").await;
        let lambda = TestUpstream::start("lambda").await;
        let edge = Edge::start(&origin.url(), &lambda.url(), vars).await;
        Self { origin, lambda, edge, http: reqwest::Client::new() }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.edge.url(path)).header("cf-connecting-ip", "198.51.100.1").send().await.unwrap()
    }
}

async fn cache_state(response: reqwest::Response) -> (String, Value) {
    let state = header_map(&response)["x-cache"].clone();
    (state, response.json().await.unwrap())
}

#[tokio::test]
async fn a_miss_then_hits_with_the_origin_asked_once() {
    let stack = Stack::start().await;
    let first = stack.get("/v1/posts/p1").await;
    let headers = header_map(&first);
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(headers["x-upstream"], "origin");
    assert_eq!(headers["cache-control"], "public, max-age=0, s-maxage=60, stale-while-revalidate=60");
    for _ in 0..3 {
        let (state, body) = cache_state(stack.get("/v1/posts/p1").await).await;
        assert_eq!(state, "HIT");
        assert_eq!(body["path"], "/v1/posts/p1");
    }
    assert_eq!(stack.origin.hits("/v1/posts/p1"), 1);
    assert_eq!(stack.lambda.hits("/"), 0);
}

#[tokio::test]
async fn the_cache_key_ignores_query_order_and_tracking_parameters() {
    let stack = Stack::start().await;
    assert_eq!(cache_state(stack.get("/v1/posts?limit=5&cursor=c").await).await.0, "MISS");
    assert_eq!(cache_state(stack.get("/v1/posts?cursor=c&utm_source=news&limit=5&fbclid=x").await).await.0, "HIT");
    assert_eq!(cache_state(stack.get("/v1/posts?cursor=c&limit=6").await).await.0, "MISS");
    assert_eq!(stack.origin.hits("/v1/posts"), 2);
}

#[tokio::test]
async fn stale_is_served_at_once_while_a_slow_origin_refreshes_it() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.cache_control = "public, max-age=0, s-maxage=1, stale-while-revalidate=60".into());
    assert_eq!(cache_state(stack.get("/v1/posts").await).await.0, "MISS");
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    // Slow (within the test environment's 1 s origin timeout; should a loaded machine push it over, the refresh
    // fails over to Lambda, which has the new version too).
    stack.origin.set(|b| {
        b.delay = Duration::from_millis(900);
        b.version = 2;
    });
    stack.lambda.set(|b| b.version = 2);
    let started = Instant::now();
    let (state, body) = cache_state(stack.get("/v1/posts").await).await;
    let waited = started.elapsed();
    assert_eq!(state, "STALE");
    assert_eq!(body["version"], 1, "the stale copy is what is served");
    assert!(waited < Duration::from_millis(600), "a stale answer must not wait for the origin ({waited:?})");

    // The refresh runs after the response; once it lands the new version is a HIT.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (state, body) = cache_state(stack.get("/v1/posts").await).await;
        if state == "HIT" && body["version"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "not refreshed: {state} {body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(stack.origin.hits("/v1/posts"), 2, "one refresh, however many stale hits");
}

#[tokio::test]
async fn credentials_and_writes_bypass_the_cache() {
    let stack = Stack::start().await;
    let authorized =
        stack.http.get(stack.edge.url("/v1/posts/p2")).header("authorization", "Bearer t").send().await.unwrap();
    assert_eq!(header_map(&authorized)["x-cache"], "BYPASS");
    let with_cookie = stack.http.get(stack.edge.url("/v1/posts/p2")).header("cookie", "s=1").send().await.unwrap();
    assert_eq!(header_map(&with_cookie)["x-cache"], "BYPASS");
    let write = stack.http.post(stack.edge.url("/v1/posts")).body("{}").send().await.unwrap();
    assert_eq!(header_map(&write)["x-cache"], "BYPASS");
    assert_eq!(stack.origin.hits("/v1/posts"), 3, "nothing was served from the cache");
    assert_eq!(cache_state(stack.get("/v1/posts/p2").await).await.0, "MISS", "and nothing was stored");
}

#[tokio::test]
async fn a_successful_write_invalidates_the_reads_it_changes() {
    let stack = Stack::start().await;
    assert_eq!(cache_state(stack.get("/v1/posts/p3").await).await.0, "MISS");
    assert_eq!(cache_state(stack.get("/v1/posts/p3").await).await.0, "HIT");
    let like = stack.http.put(stack.edge.url("/v1/posts/p3/like")).header("x-user-id", "u1").send().await.unwrap();
    assert_eq!(like.status(), StatusCode::NO_CONTENT);
    assert_eq!(cache_state(stack.get("/v1/posts/p3").await).await.0, "MISS", "the like deleted the cached post");
    assert_eq!(stack.origin.hits("/v1/posts/p3"), 3, "two reads and the like reached the origin");
}

#[tokio::test]
async fn heads_are_answered_from_the_cached_get() {
    let stack = Stack::start().await;
    stack.get("/v1/users/u9").await;
    let head = stack.http.head(stack.edge.url("/v1/users/u9")).send().await.unwrap();
    assert_eq!(header_map(&head)["x-cache"], "HIT");
    assert!(head.bytes().await.unwrap().is_empty());
}

/// Sends `request()` until the first 429 (at most `max` times); returns how many were accepted before it and
/// the 429. The limits count in windows aligned to the clock, so a burst crossing a window boundary may need up
/// to twice the limit before it is refused — never fewer than the limit.
async fn until_limited(max: usize, mut request: impl AsyncFnMut() -> reqwest::Response) -> (usize, reqwest::Response) {
    for accepted in 0..max {
        let response = request().await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return (accepted, response);
        }
        assert!(response.status().is_success(), "unexpected {}", response.status());
    }
    panic!("no 429 after {max} requests");
}

#[tokio::test]
async fn too_many_requests_from_one_ip_get_429_and_others_do_not() {
    let stack = Stack::start().await;
    let from = |ip: &'static str| stack.http.get(stack.edge.url("/v1/posts/p4")).header("cf-connecting-ip", ip);
    let (accepted, limited) = until_limited(100, async || from("203.0.113.9").send().await.unwrap()).await;
    assert!(accepted >= 40, "refused after {accepted}: the test limit is 40 per 10 s");
    let headers = header_map(&limited);
    assert_eq!(headers["retry-after"], "10");
    assert_eq!(headers["content-type"], "application/problem+json");
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/rate-limited");
    assert_eq!(from("203.0.113.10").send().await.unwrap().status(), StatusCode::OK, "another IP is unaffected");
}

#[tokio::test]
async fn writes_are_limited_per_user_more_strictly() {
    let stack = Stack::start().await;
    let like = |user: &str, ip: String| {
        stack
            .http
            .put(stack.edge.url("/v1/posts/p5/like"))
            .header("x-user-id", user)
            .header("cf-connecting-ip", ip)
            .send()
    };
    // A different IP each time: only the per-user write limit (10 per 10 s) can refuse.
    let mut n = 0;
    let (accepted, _) = until_limited(40, async || {
        n += 1;
        like("busy-user", format!("192.0.2.{n}")).await.unwrap()
    })
    .await;
    assert!(accepted >= 10, "refused after {accepted}: the per-user write limit is 10 per 10 s");
    assert_eq!(like("calm-user", "192.0.2.200".into()).await.unwrap().status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_stopped_origin_fails_over_to_lambda() {
    let mut stack = Stack::start().await;
    stack.origin.stop();
    let response = stack.get("/v1/users/u1").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = header_map(&response);
    assert_eq!(headers["x-upstream"], "lambda");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["upstream"], "lambda");
    assert_eq!(body["path"], "/v1/users/u1");
    assert_eq!(stack.lambda.hits("/v1/users/u1"), 1);
}

#[tokio::test]
async fn a_timeout_or_a_503_fails_over_and_enough_of_them_open_the_breaker() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.status = StatusCode::SERVICE_UNAVAILABLE);
    // Breaker threshold 3 in the test environment: three failures reach the origin, then it is skipped.
    for n in 0..6 {
        let response = stack.get(&format!("/v1/posts/b{n}")).await;
        assert_eq!(header_map(&response)["x-upstream"], "lambda", "request {n}");
    }
    assert_eq!(stack.origin.hits("/v1/posts/b"), 3, "the open breaker keeps traffic off the failing origin");
    assert_eq!(stack.lambda.hits("/v1/posts/b"), 6);
}

#[tokio::test]
async fn a_slow_origin_times_out_to_lambda() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.delay = Duration::from_secs(3)); // the test environment's origin timeout is 1 s
    let started = Instant::now();
    let response = stack.get("/v1/posts/slow").await;
    assert_eq!(header_map(&response)["x-upstream"], "lambda");
    assert!(started.elapsed() < Duration::from_millis(2_500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn writes_are_retried_on_lambda_only_with_an_idempotency_key() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.status = StatusCode::BAD_GATEWAY);
    let plain = stack.http.post(stack.edge.url("/v1/posts")).body(r#"{"body":"x"}"#).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_GATEWAY, "a POST without a key must not be sent twice");
    assert_eq!(header_map(&plain)["x-upstream"], "origin");
    assert_eq!(stack.lambda.hits("/"), 0);

    let keyed = stack
        .http
        .post(stack.edge.url("/v1/posts"))
        .header("idempotency-key", "k-1")
        .header("x-edge-secret", "a-client-guessing-the-edge-secret-0123")
        .body(r#"{"body":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(header_map(&keyed)["x-upstream"], "lambda");
    let seen = stack.lambda.seen();
    assert_eq!(seen[0].headers["idempotency-key"], "k-1");
    assert_eq!(seen[0].body, r#"{"body":"x"}"#, "the body is forwarded intact");
    // Miniflare reports 127.0.0.1 when the client sends no CF-Connecting-IP; Cloudflare always sets it.
    assert_eq!(seen[0].headers["x-forwarded-for"], "127.0.0.1");
    assert!(!seen[0].headers.contains_key("x-edge-secret"), "a client's x-edge-secret is never forwarded");
}

#[tokio::test]
async fn both_upstreams_are_sent_the_edge_secret_and_never_a_clients() {
    const SECRET: &str = "edge-secret-of-the-black-box-tests-0123";
    let mut stack = Stack::with_vars(&[("EDGE_SECRET", SECRET)]).await;
    let forged = stack.http.get(stack.edge.url("/v1/users/s1")).header("x-edge-secret", "forged").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::OK);
    stack.origin.stop();
    assert_eq!(header_map(&stack.get("/v1/users/s2").await)["x-upstream"], "lambda");
    let seen = [stack.origin.seen(), stack.lambda.seen()].concat();
    assert_eq!(seen.len(), 2);
    for request in seen {
        assert_eq!(request.headers["x-edge-secret"], SECRET, "{}", request.path);
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_at_the_edge_and_every_response_is_hardened() {
    let stack = Stack::start().await;
    let big = stack.http.post(stack.edge.url("/v1/posts")).body(vec![b'x'; 70_000]).send().await.unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let headers = header_map(&big);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(stack.origin.hits("/"), 0, "the upstream never saw it");
    for response in [big, stack.get("/v1/posts/p6").await] {
        let headers = header_map(&response);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers["strict-transport-security"].starts_with("max-age="));
        assert!(headers.contains_key("content-security-policy"));
        assert!(!headers.contains_key("x-edge-stored-at"), "internal headers never leave the edge");
    }
}
