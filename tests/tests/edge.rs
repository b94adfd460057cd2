//! The edge worker, black-box, under `wrangler dev` (workerd) with fresh state per test, in front of upstreams
//! the test controls and trusting an issuer the test serves: cache MISS/HIT/STALE, rate limits per address and
//! per verified user, tokens refused at the edge, failover and the breaker (503 is backpressure, not failure),
//! replays only where the API honours Idempotency-Key, invalidation, limits.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;
use stampede_tests::edge::{Edge, ServedIssuer, TestUpstream, header_map};

struct Stack {
    origin: TestUpstream,
    lambda: TestUpstream,
    issuer: ServedIssuer,
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
        let issuer = ServedIssuer::start().await;
        let trust = issuer.vars();
        let mut all: Vec<(&str, &str)> = trust.iter().map(|(name, value)| (*name, value.as_str())).collect();
        all.extend_from_slice(vars);
        let edge = Edge::start(&origin.url(), &lambda.url(), &all).await;
        Self { origin, lambda, issuer, edge, http: reqwest::Client::new() }
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
async fn a_successful_write_invalidates_the_reads_the_api_says_it_changed() {
    let stack = Stack::start().await;
    for path in ["/v1/posts/p3", "/v1/users/u3/posts", "/v1/posts/other"] {
        assert_eq!(cache_state(stack.get(path).await).await.0, "MISS");
        assert_eq!(cache_state(stack.get(path).await).await.0, "HIT");
    }
    let delete = stack
        .http
        .delete(stack.edge.url("/v1/posts/p3"))
        .header("authorization", stack.issuer.bearer("u3"))
        .header("x-test-invalidates", "/v1/posts/p3, /v1/users/u3/posts, https://elsewhere.example/x")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert!(!header_map(&delete).contains_key("x-invalidates"), "the header is for the edge, not the client");
    assert_eq!(cache_state(stack.get("/v1/posts/p3").await).await.0, "MISS", "the delete dropped the cached post");
    assert_eq!(cache_state(stack.get("/v1/users/u3/posts").await).await.0, "MISS", "and the author's timeline");
    assert_eq!(cache_state(stack.get("/v1/posts/other").await).await.0, "HIT", "and nothing else");

    // A write the upstream refuses invalidates nothing, whatever it says.
    stack.origin.set(|b| b.status = StatusCode::FORBIDDEN);
    let refused = stack
        .http
        .delete(stack.edge.url("/v1/posts/other"))
        .header("authorization", stack.issuer.bearer("u3"))
        .header("x-test-invalidates", "/v1/posts/other")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    stack.origin.set(|b| b.status = StatusCode::OK);
    assert_eq!(cache_state(stack.get("/v1/posts/other").await).await.0, "HIT");
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
    // A new path each time: cache hits spend no budget, misses do.
    let mut n = 0;
    let mut from = |ip: &'static str| {
        n += 1;
        stack.http.get(stack.edge.url(&format!("/v1/posts/p4-{n}"))).header("cf-connecting-ip", ip)
    };
    let (accepted, limited) = until_limited(100, async || from("203.0.113.9").send().await.unwrap()).await;
    assert!(accepted >= 40, "refused after {accepted}: the test limit is 40 per 10 s");
    let headers = header_map(&limited);
    assert_eq!(headers["retry-after"], "10");
    assert_eq!(headers["content-type"], "application/problem+json");
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/rate-limited");
    assert_eq!(from("203.0.113.10").send().await.unwrap().status(), StatusCode::OK, "another IP is unaffected");
}

/// The test environment's rate-limit window (`RATE_LIMIT_PERIOD_S`): the binding counts in windows aligned to
/// the clock.
const WINDOW: Duration = Duration::from_secs(10);

fn window_now() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() / WINDOW.as_millis()
}

/// Sleeps until a new rate-limit window has just begun.
async fn start_of_a_window() {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let into = ms % WINDOW.as_millis();
    tokio::time::sleep(Duration::from_millis((WINDOW.as_millis() - into) as u64 + 50)).await;
}

#[tokio::test]
async fn writes_are_limited_per_verified_user_and_nobody_can_spend_another_users_budget() {
    let stack = Stack::start().await;
    let like = |authorization: Option<String>, extra: Option<(&'static str, &'static str)>, ip: String| {
        let mut request = stack.http.put(stack.edge.url("/v1/posts/p5/like")).header("cf-connecting-ip", ip);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        request.send()
    };
    let forger = local_issuer::Issuer::ephemeral(&stack.issuer.issuer.url, &stack.issuer.issuer.audience).unwrap();
    let mut forgeries = Vec::new();
    // Conclusive only if the flood and the victim's ten writes fall in one window: retried otherwise.
    for attempt in 0..3 {
        let victim = format!("user-a{attempt}");
        let forged = forger.sign_as(&forger.claims(&victim, Duration::from_secs(600)), stack.issuer.issuer.key_id());
        forgeries.push(format!("Bearer {forged}"));
        start_of_a_window().await;
        let window = window_now();
        // A flood naming the victim every way a client could, from many addresses: none of it is theirs.
        for n in 0..15 {
            let named = like(None, Some(("x-user-id", "user-a0")), format!("192.0.2.{n}")).await.unwrap();
            assert_eq!(named.status(), StatusCode::NO_CONTENT, "forwarded: the API refuses it (no token)");
            let refused = like(Some(format!("Bearer {forged}")), None, format!("192.0.2.{}", 100 + n)).await.unwrap();
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "a forged token is refused at the edge");
            let challenge = header_map(&refused)["www-authenticate"].clone();
            assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
        }
        // The victim's own writes in the same window: the whole budget (10) is theirs. A different address
        // each time, so only the per-user limit could refuse.
        for n in 0..10 {
            let own = like(Some(stack.issuer.bearer(&victim)), None, format!("198.51.{attempt}.{n}")).await.unwrap();
            assert_eq!(own.status(), StatusCode::NO_CONTENT, "write {n} of the victim was refused after the flood");
        }
        if window_now() == window {
            break;
        }
        assert!(attempt < 2, "three attempts each ran past a 10 s window: too slow to be conclusive");
    }
    let forwarded = stack.origin.seen().into_iter().filter_map(|s| s.headers.get("authorization").cloned());
    assert!(forwarded.into_iter().all(|a| !forgeries.iter().any(|f| a == f.as_str())), "a forged token was forwarded");

    // And the limit applies to the user's own token.
    let mut n = 0;
    let (accepted, _) = until_limited(40, async || {
        n += 1;
        like(Some(stack.issuer.bearer("user-b")), None, format!("203.0.113.{n}")).await.unwrap()
    })
    .await;
    assert!(accepted >= 10, "refused after {accepted}: the per-user write limit is 10 per 10 s");
    let c = like(Some(stack.issuer.bearer("user-c")), None, "203.0.113.200".into()).await.unwrap();
    assert_eq!(c.status(), StatusCode::NO_CONTENT, "another user is unaffected");
}

#[tokio::test]
async fn bad_tokens_on_writes_are_refused_at_the_edge() {
    let stack = Stack::start().await;
    let issuer = &stack.issuer.issuer;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut expired = issuer.claims("someone", Duration::from_secs(60));
    expired["exp"] = serde_json::json!(now - 600);
    let mut wrong_audience = issuer.claims("someone", Duration::from_secs(60));
    wrong_audience["aud"] = serde_json::json!("other");
    wrong_audience["client_id"] = serde_json::json!("other");
    let stranger = local_issuer::Issuer::ephemeral(&issuer.url, &issuer.audience).unwrap();
    // Right key id, wrong algorithm for its key (the issuer's key is P-256).
    let mismatched = {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let header = URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": "RS256", "kid": issuer.key_id()}).to_string());
        let claims = URL_SAFE_NO_PAD.encode(issuer.claims("someone", Duration::from_secs(60)).to_string());
        format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]))
    };
    for authorization in [
        format!("Bearer {mismatched}"),
        "Bearer not-a-token".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        format!("Bearer {}", issuer.sign(&expired)),
        format!("Bearer {}", issuer.sign(&wrong_audience)),
        format!("Bearer {}", stranger.token("someone", Duration::from_secs(60))),
    ] {
        let response = stack
            .http
            .post(stack.edge.url("/v1/posts"))
            .header("authorization", &authorization)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{authorization}");
        assert_eq!(header_map(&response)["content-type"], "application/problem+json");
    }
    assert_eq!(stack.origin.hits("/") + stack.lambda.hits("/"), 0, "no refused write reached an upstream");
    let good = stack.http.post(stack.edge.url("/v1/posts")).header("authorization", stack.issuer.bearer("someone"));
    assert_eq!(good.body("{}").send().await.unwrap().status(), StatusCode::OK);
    let seen = stack.origin.seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].headers["authorization"].to_str().unwrap().starts_with("Bearer "), "forwarded as sent");
}

#[tokio::test]
async fn cache_hits_spend_no_budget_and_ipv6_clients_share_their_64s() {
    let stack = Stack::start().await;
    let get =
        |path: String, ip: &'static str| stack.http.get(stack.edge.url(&path)).header("cf-connecting-ip", ip).send();
    assert_eq!(cache_state(get("/v1/posts/hot".into(), "203.0.113.20").await.unwrap()).await.0, "MISS");
    // The test limit is 40 per 10 s per address: 100 hits from one address pass.
    for _ in 0..100 {
        let response = get("/v1/posts/hot".into(), "203.0.113.20").await.unwrap();
        assert_eq!(header_map(&response)["x-cache"], "HIT");
    }
    // Misses from addresses of one IPv6 /64 share one budget; another /64 has its own.
    let addresses = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"];
    let mut n = 0;
    let (accepted, _) = until_limited(100, async || {
        n += 1;
        get(format!("/v1/posts/miss-{n}"), addresses[n % 3]).await.unwrap()
    })
    .await;
    assert!(accepted >= 40, "refused after {accepted}");
    let other = get("/v1/posts/miss-other".into(), "2001:db8:1:3::1").await.unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another /64 is unaffected");
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
async fn a_502_or_504_fails_over_and_enough_of_them_open_the_breaker() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.status = StatusCode::BAD_GATEWAY);
    // Breaker threshold 3 in the test environment: three failures reach the origin, then it is skipped.
    for n in 0..3 {
        let response = stack.get(&format!("/v1/posts/b{n}")).await;
        assert_eq!(header_map(&response)["x-upstream"], "lambda", "request {n}");
    }
    stack.origin.set(|b| b.status = StatusCode::GATEWAY_TIMEOUT);
    for n in 3..6 {
        let response = stack.get(&format!("/v1/posts/b{n}")).await;
        assert_eq!(header_map(&response)["x-upstream"], "lambda", "request {n}");
    }
    assert_eq!(stack.origin.hits("/v1/posts/b"), 3, "the open breaker keeps traffic off the failing origin");
    assert_eq!(stack.lambda.hits("/v1/posts/b"), 6);
}

#[tokio::test]
async fn the_apis_503_is_backpressure_passed_on_with_retry_after_never_replayed_and_never_a_failure() {
    let stack = Stack::start().await;
    stack.origin.set(|b| {
        b.status = StatusCode::SERVICE_UNAVAILABLE;
        b.content_type = "application/problem+json";
    });
    // More than the breaker's threshold (3): were a 503 a failure, the breaker would open.
    for n in 0..6 {
        let response = stack.get(&format!("/v1/posts/s{n}")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "request {n}");
        let headers = header_map(&response);
        assert_eq!(headers["x-upstream"], "origin", "request {n}");
        assert_eq!(headers["retry-after"], "1", "a 503 always says when to come back");
    }
    assert_eq!(stack.origin.hits("/v1/posts/s"), 6, "the breaker stayed closed");
    assert_eq!(stack.lambda.hits("/"), 0, "the same overloaded data is not asked again through Lambda");
}

#[tokio::test]
async fn a_503_that_is_not_the_apis_is_a_failure() {
    let stack = Stack::start().await;
    // What an ALB answers when no task is healthy: not the API shedding load, the origin gone.
    stack.origin.set(|b| {
        b.status = StatusCode::SERVICE_UNAVAILABLE;
        b.content_type = "text/html";
    });
    let response = stack.get("/v1/posts/alb").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_map(&response)["x-upstream"], "lambda");
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
async fn writes_are_retried_on_lambda_only_where_the_api_honours_an_idempotency_key() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.status = StatusCode::BAD_GATEWAY);
    let plain = stack.http.post(stack.edge.url("/v1/posts")).body(r#"{"body":"x"}"#).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_GATEWAY, "a POST without a key must not be sent twice");
    assert_eq!(header_map(&plain)["x-upstream"], "origin");
    // PATCH /v1/users/me does not honour keys: replaying it on the strength of one could apply it twice.
    let patch = stack
        .http
        .patch(stack.edge.url("/v1/users/me"))
        .header("idempotency-key", "k-0")
        .body(r#"{"display_name":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::BAD_GATEWAY);
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
async fn a_timed_out_create_without_a_key_is_a_504_and_is_not_replayed() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.delay = Duration::from_secs(3)); // the test environment's origin timeout is 1 s
    let response = stack
        .http
        .post(stack.edge.url("/v1/users"))
        .body(r#"{"handle":"once","display_name":"Once"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(header_map(&response)["content-type"], "application/problem+json");
    assert_eq!(stack.origin.hits("/v1/users"), 1);
    assert_eq!(stack.lambda.hits("/"), 0, "the origin may have made the profile: it is not asked twice");
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
