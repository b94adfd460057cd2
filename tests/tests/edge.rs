//! The edge worker, black-box, under `wrangler dev` (workerd) with fresh state per test, in front of upstreams
//! the test controls and trusting an issuer the test serves: cache MISS/HIT/STALE, canonical keys, coalesced
//! misses, redirects and 404s, request ids, rate limits per address and per verified user, tokens refused at the
//! edge, failover and the breaker (503 is backpressure, not failure), replays only where the API honours
//! Idempotency-Key, invalidation, limits.

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
        // Redirects are answers to check, not to follow.
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { origin, lambda, issuer, edge, http }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.edge.url(path)).header("cf-connecting-ip", "198.51.100.1").send().await.unwrap()
    }
}

/// A new id, as the API makes them (a ULID): the edge answers paths with anything else itself.
fn new_id() -> String {
    ulid::Ulid::generate().to_string()
}

async fn cache_state(response: reqwest::Response) -> (String, Value) {
    let state = header_map(&response)["x-cache"].clone();
    (state, response.json().await.unwrap())
}

#[tokio::test]
async fn a_miss_then_hits_with_the_origin_asked_once() {
    let stack = Stack::start().await;
    let post = format!("/v1/posts/{}", new_id());
    let first = stack.get(&post).await;
    let headers = header_map(&first);
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(headers["x-upstream"], "origin");
    assert_eq!(headers["cache-control"], "public, max-age=0, s-maxage=60, stale-while-revalidate=60");
    for _ in 0..3 {
        let (state, body) = cache_state(stack.get(&post).await).await;
        assert_eq!(state, "HIT");
        assert_eq!(body["path"], post);
    }
    assert_eq!(stack.origin.hits(&post), 1);
    assert_eq!(stack.lambda.hits("/"), 0);
}

#[tokio::test]
async fn other_parameters_their_order_and_the_case_of_ids_are_hits_of_the_canonical_entry() {
    let stack = Stack::start().await;
    assert_eq!(cache_state(stack.get("/v1/posts?limit=5&cursor=c").await).await.0, "MISS");
    for variant in [
        "/v1/posts?cursor=c&limit=5",
        "/v1/posts?x=1&cursor=c&utm_source=news&limit=05",
        "/v1/posts?limit=5&cursor=c&x=2",
    ] {
        assert_eq!(cache_state(stack.get(variant).await).await.0, "HIT", "{variant}");
    }
    // The first page, however it is asked for, is one entry: the default limit is part of its key.
    assert_eq!(cache_state(stack.get("/v1/posts?x=1").await).await.0, "MISS");
    for variant in ["/v1/posts", "/v1/posts?x=2", "/v1/posts?limit=20", "/v1/posts?cursor=&x=3"] {
        assert_eq!(cache_state(stack.get(variant).await).await.0, "HIT", "{variant}");
    }
    let id = new_id();
    assert_eq!(cache_state(stack.get(&format!("/v1/users/{}/posts", id.to_lowercase())).await).await.0, "MISS");
    assert_eq!(cache_state(stack.get(&format!("/v1/users/{id}/posts?limit=20&z=1")).await).await.0, "HIT");
    assert_eq!(cache_state(stack.get("/v1/posts?cursor=c&limit=6").await).await.0, "MISS", "another page");

    // The upstream was asked for exactly the keys: canonical paths, only the parameters the API reads.
    let asked: Vec<String> = stack.origin.seen().into_iter().map(|seen| seen.path).collect();
    let timeline = format!("/v1/users/{id}/posts?limit=20");
    assert_eq!(
        asked,
        ["/v1/posts?limit=5&cursor=c", "/v1/posts?limit=20", timeline.as_str(), "/v1/posts?limit=6&cursor=c"]
    );

    // What cannot name anything is answered here; what the API refuses is passed on, never stored.
    for nothing in ["/v1/posts/p1", "/v1/users/someone", "/v1/users/someone/posts?limit=5"] {
        let response = stack.get(nothing).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{nothing}");
        assert_eq!(response.json::<Value>().await.unwrap()["type"], "/problems/not-found");
    }
    for refused in ["/v1/posts?limit=500", "/v1/posts?limit=500", "/v1/posts?limit=5&limit=6"] {
        assert_eq!(header_map(&stack.get(refused).await)["x-cache"], "BYPASS", "{refused}");
    }
    assert_eq!(stack.origin.hits("/"), 7, "three refused requests forwarded as sent, nothing for the 404s");
}

#[tokio::test]
async fn concurrent_misses_of_one_key_make_one_upstream_request() {
    let stack = Stack::start().await;
    // Slow enough that the requests meet while the first is under way (within the 1 s origin timeout).
    stack.origin.set(|b| b.delay = Duration::from_millis(700));
    let post = new_id();
    let requests = (0..20).map(|n| {
        let path =
            if n % 2 == 0 { format!("/v1/posts/{post}") } else { format!("/v1/posts/{}?n={n}", post.to_lowercase()) };
        stack
            .http
            .get(stack.edge.url(&path))
            .header("cf-connecting-ip", format!("198.51.100.{n}"))
            .header("x-request-id", format!("client-{n}"))
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut misses = 0;
    for (n, response) in responses.into_iter().enumerate() {
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = header_map(&response);
        assert_eq!(headers["x-request-id"], format!("client-{n}"), "each answer carries its own request id");
        misses += usize::from(headers["x-cache"] == "MISS");
        assert_eq!(response.json::<Value>().await.unwrap()["path"], format!("/v1/posts/{post}"));
    }
    assert!(misses >= 2, "the requests did not meet ({misses} misses): nothing was coalesced");
    assert_eq!(stack.origin.hits("/v1/posts/"), 1, "{misses} concurrent misses, one upstream request");
}

#[tokio::test]
async fn a_clients_request_id_goes_upstream_with_its_miss_and_never_reaches_another_client() {
    let stack = Stack::start().await;
    let post = format!("/v1/posts/{}", new_id());
    let get = |id: Option<&'static str>| {
        let request = stack.http.get(stack.edge.url(&post));
        match id {
            Some(id) => request.header("x-request-id", id),
            None => request,
        }
        .send()
    };
    let miss = get(Some("client-a")).await.unwrap();
    assert_eq!(header_map(&miss)["x-cache"], "MISS");
    assert_eq!(header_map(&miss)["x-request-id"], "client-a");
    assert_eq!(stack.origin.seen()[0].headers["x-request-id"], "client-a", "the upstream logs the client's id");

    let anonymous = header_map(&get(None).await.unwrap());
    assert_eq!(anonymous["x-cache"], "HIT");
    assert!(!anonymous.contains_key("x-request-id"), "another client's id was served: {anonymous:?}");
    let other = header_map(&get(Some("client-b")).await.unwrap());
    assert_eq!((other["x-cache"].as_str(), other["x-request-id"].as_str()), ("HIT", "client-b"));
    assert_eq!(stack.origin.hits("/"), 1);
}

#[tokio::test]
async fn a_thumbnails_redirect_is_passed_on_and_kept_never_followed() {
    let stack = Stack::start().await;
    let signed = format!("{}/signed/thumbnail.jpg?X-Amz-Signature=abc", stack.origin.url());
    stack.origin.set(|b| {
        b.status = StatusCode::FOUND;
        b.location = Some(signed.clone());
        b.cache_control = "public, max-age=300, s-maxage=300".into();
    });
    let thumbnail = format!("/v1/media/{}/thumbnails/128", new_id());
    for expected in ["MISS", "HIT"] {
        let response = stack.get(&thumbnail).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{expected}");
        let headers = header_map(&response);
        assert_eq!((headers["x-cache"].as_str(), headers["location"].as_str()), (expected, signed.as_str()));
        assert_eq!(headers["cache-control"], "public, max-age=300, s-maxage=300");
    }
    assert_eq!(stack.origin.hits("/v1/media/"), 1);
    assert_eq!(stack.origin.hits("/signed/"), 0, "the edge never fetched the image");
}

#[tokio::test]
async fn a_404_is_kept_as_briefly_as_the_api_says() {
    let stack = Stack::start().await;
    stack.origin.set(|b| {
        b.status = StatusCode::NOT_FOUND;
        b.content_type = "application/problem+json";
        b.cache_control = "public, max-age=0, s-maxage=1".into();
    });
    let missing = format!("/v1/posts/{}", new_id());
    for expected in ["MISS", "HIT", "HIT"] {
        let response = stack.get(&missing).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(header_map(&response)["x-cache"], expected);
    }
    assert_eq!(stack.origin.hits(&missing), 1, "a flood of reads of a missing post asks once");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(header_map(&stack.get(&missing).await)["x-cache"], "MISS", "and asks again after s-maxage");
    assert_eq!(stack.origin.hits(&missing), 2);

    // A 404 the API marks private is never kept.
    stack.origin.set(|b| b.cache_control = "private, no-store".into());
    let private = format!("/v1/users/{}", new_id());
    for _ in 0..2 {
        assert_eq!(header_map(&stack.get(&private).await)["x-cache"], "MISS");
    }
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
    let post = format!("/v1/posts/{}", new_id());
    let authorized = stack.http.get(stack.edge.url(&post)).header("authorization", "Bearer t").send().await.unwrap();
    assert_eq!(header_map(&authorized)["x-cache"], "BYPASS");
    let with_cookie = stack.http.get(stack.edge.url(&post)).header("cookie", "s=1").send().await.unwrap();
    assert_eq!(header_map(&with_cookie)["x-cache"], "BYPASS");
    let write = stack.http.post(stack.edge.url("/v1/posts")).body("{}").send().await.unwrap();
    assert_eq!(header_map(&write)["x-cache"], "BYPASS");
    assert_eq!(stack.origin.hits("/v1/posts"), 3, "nothing was served from the cache");
    assert_eq!(cache_state(stack.get(&post).await).await.0, "MISS", "and nothing was stored");
}

#[tokio::test]
async fn a_successful_write_invalidates_the_reads_the_api_says_it_changed() {
    let stack = Stack::start().await;
    let (author, post, other) = (new_id(), new_id(), new_id());
    let (post, timeline, other) =
        (format!("/v1/posts/{post}"), format!("/v1/users/{author}/posts"), format!("/v1/posts/{other}"));
    for path in [post.as_str(), &timeline, &other, "/v1/posts", "/v1/posts?limit=5"] {
        assert_eq!(cache_state(stack.get(path).await).await.0, "MISS");
        assert_eq!(cache_state(stack.get(path).await).await.0, "HIT");
    }
    let delete = stack
        .http
        .delete(stack.edge.url(&post))
        .header("authorization", stack.issuer.bearer(&author))
        .header("x-test-invalidates", format!("{post}, {timeline}, /v1/posts, https://elsewhere.example/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert!(!header_map(&delete).contains_key("x-invalidates"), "the header is for the edge, not the client");
    assert_eq!(cache_state(stack.get(&post).await).await.0, "MISS", "the delete dropped the cached post");
    assert_eq!(cache_state(stack.get(&timeline).await).await.0, "MISS", "and the author's timeline");
    assert_eq!(cache_state(stack.get("/v1/posts?x=1").await).await.0, "MISS", "and the feed's first page");
    assert_eq!(cache_state(stack.get(&other).await).await.0, "HIT", "and nothing else");
    assert_eq!(cache_state(stack.get("/v1/posts?limit=5").await).await.0, "HIT", "other pages keep to their TTL");

    // A write the upstream refuses invalidates nothing, whatever it says.
    stack.origin.set(|b| b.status = StatusCode::FORBIDDEN);
    let refused = stack
        .http
        .delete(stack.edge.url(&other))
        .header("authorization", stack.issuer.bearer(&author))
        .header("x-test-invalidates", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    stack.origin.set(|b| b.status = StatusCode::OK);
    assert_eq!(cache_state(stack.get(&other).await).await.0, "HIT");
}

#[tokio::test]
async fn heads_are_answered_from_the_cached_get() {
    let stack = Stack::start().await;
    let user = format!("/v1/users/{}", new_id());
    stack.get(&user).await;
    let head = stack.http.head(stack.edge.url(&user)).send().await.unwrap();
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
    let from = |ip: &'static str| {
        stack.http.get(stack.edge.url(&format!("/v1/posts/{}", new_id()))).header("cf-connecting-ip", ip)
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
    let hot = format!("/v1/posts/{}", new_id());
    assert_eq!(cache_state(get(hot.clone(), "203.0.113.20").await.unwrap()).await.0, "MISS");
    // The test limit is 40 per 10 s per address: 100 hits from one address pass.
    for _ in 0..100 {
        let response = get(hot.clone(), "203.0.113.20").await.unwrap();
        assert_eq!(header_map(&response)["x-cache"], "HIT");
    }
    // Misses from addresses of one IPv6 /64 share one budget; another /64 has its own.
    let addresses = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"];
    let mut n = 0;
    let (accepted, _) = until_limited(100, async || {
        n += 1;
        get(format!("/v1/posts/{}", new_id()), addresses[n % 3]).await.unwrap()
    })
    .await;
    assert!(accepted >= 40, "refused after {accepted}");
    let other = get(format!("/v1/posts/{}", new_id()), "2001:db8:1:3::1").await.unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another /64 is unaffected");
}

#[tokio::test]
async fn a_stopped_origin_fails_over_to_lambda() {
    let mut stack = Stack::start().await;
    stack.origin.stop();
    let user = format!("/v1/users/{}", new_id());
    let response = stack.get(&user).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = header_map(&response);
    assert_eq!(headers["x-upstream"], "lambda");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["upstream"], "lambda");
    assert_eq!(body["path"], user);
    assert_eq!(stack.lambda.hits(&user), 1);
}

#[tokio::test]
async fn a_502_or_504_fails_over_and_enough_of_them_open_the_breaker() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.status = StatusCode::BAD_GATEWAY);
    // Breaker threshold 3 in the test environment: three failures reach the origin, then it is skipped.
    for n in 0..3 {
        let response = stack.get(&format!("/v1/posts/{}", new_id())).await;
        assert_eq!(header_map(&response)["x-upstream"], "lambda", "request {n}");
    }
    stack.origin.set(|b| b.status = StatusCode::GATEWAY_TIMEOUT);
    for n in 3..6 {
        let response = stack.get(&format!("/v1/posts/{}", new_id())).await;
        assert_eq!(header_map(&response)["x-upstream"], "lambda", "request {n}");
    }
    assert_eq!(stack.origin.hits("/v1/posts/"), 3, "the open breaker keeps traffic off the failing origin");
    assert_eq!(stack.lambda.hits("/v1/posts/"), 6);
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
        let response = stack.get(&format!("/v1/posts/{}", new_id())).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "request {n}");
        let headers = header_map(&response);
        assert_eq!(headers["x-upstream"], "origin", "request {n}");
        assert_eq!(headers["retry-after"], "1", "a 503 always says when to come back");
    }
    assert_eq!(stack.origin.hits("/v1/posts/"), 6, "the breaker stayed closed");
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
    let response = stack.get(&format!("/v1/posts/{}", new_id())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_map(&response)["x-upstream"], "lambda");
}

#[tokio::test]
async fn a_slow_origin_times_out_to_lambda() {
    let stack = Stack::start().await;
    stack.origin.set(|b| b.delay = Duration::from_secs(3)); // the test environment's origin timeout is 1 s
    let started = Instant::now();
    let response = stack.get(&format!("/v1/posts/{}", new_id())).await;
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
    let user = format!("/v1/users/{}", new_id());
    let forged = stack.http.get(stack.edge.url(&user)).header("x-edge-secret", "forged").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::OK);
    stack.origin.stop();
    assert_eq!(header_map(&stack.get(&format!("/v1/users/{}", new_id())).await)["x-upstream"], "lambda");
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
    for response in [big, stack.get(&format!("/v1/posts/{}", new_id())).await] {
        let headers = header_map(&response);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers["strict-transport-security"].starts_with("max-age="));
        assert!(headers.contains_key("content-security-policy"));
        assert!(!headers.contains_key("x-edge-stored-at"), "internal headers never leave the edge");
    }
}
