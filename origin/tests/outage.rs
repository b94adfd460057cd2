//! The backing store out of reach under load, and back: the origin binary with its AWS traffic through a proxy
//! that the test freezes for 8 s while clients write and read, then thaws. No answer may be a 500 or come late:
//! every failure is a 503 problem with Retry-After (or, just after the thaw, a 409 for a write whose first
//! attempt the store has only just received), within the request timeout; the origin recovers by itself; every
//! write it acknowledged is there afterwards, once.

use std::{
    collections::BTreeSet,
    fs::File,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use stampede_tests::{
    TestUser,
    freezable_proxy::FreezableProxy,
    origin_process::{OriginCommand, OriginProcess},
};

const ORIGIN: &str = env!("CARGO_BIN_EXE_origin");
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// How much later than the request timeout an answer may arrive (the client's side, a loaded machine).
const MARGIN: Duration = Duration::from_secs(1);
const FREEZE: Duration = Duration::from_secs(8);
const CLIENTS: usize = 8;

/// One request as its client saw it.
#[derive(Debug)]
struct Exchange {
    what: &'static str,
    started: Instant,
    elapsed: Duration,
    /// `None`: no answer at all (the client gave up).
    status: Option<StatusCode>,
    content_type: String,
    retry_after: Option<u64>,
    problem: String,
}

impl Exchange {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.is_success())
    }

    /// A failure the API promises for an outage: 503 `unavailable`, or 409 `request-in-progress` for a write
    /// whose earlier attempt the store still holds; problem+json with Retry-After either way.
    fn is_backpressure(&self) -> bool {
        let expected = match self.status {
            Some(StatusCode::SERVICE_UNAVAILABLE) => "/problems/unavailable",
            Some(StatusCode::CONFLICT) => "/problems/request-in-progress",
            _ => return false,
        };
        self.problem == expected && self.content_type == "application/problem+json" && self.retry_after.is_some()
    }
}

/// A client of the API: one user writing posts (retrying a failed one with the same Idempotency-Key), liking
/// the shared posts and reading, and what the API acknowledged.
struct Client {
    user: TestUser,
    posts: Vec<String>,
    likes: BTreeSet<String>,
    /// The key of a post not acknowledged yet, retried next.
    pending: Option<String>,
    sent: usize,
    exchanges: Vec<Exchange>,
}

impl Client {
    async fn send(&mut self, what: &'static str, request: RequestBuilder) -> Option<Value> {
        let started = Instant::now();
        let response = request.send().await;
        let elapsed = started.elapsed();
        let Ok(response) = response else {
            let exchange = Exchange {
                what,
                started,
                elapsed,
                status: None,
                content_type: String::new(),
                retry_after: None,
                problem: String::new(),
            };
            self.exchanges.push(exchange);
            return None;
        };
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, content_type) = (response.status(), header("content-type").unwrap_or_default());
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let body: Option<Value> = response.json().await.ok();
        let problem = body.as_ref().and_then(|b| b["type"].as_str()).unwrap_or_default().to_owned();
        let elapsed = started.elapsed();
        self.exchanges.push(Exchange {
            what,
            started,
            elapsed,
            status: Some(status),
            content_type,
            retry_after,
            problem,
        });
        body
    }

    /// Creates the pending post (a new one if none is pending); its id once acknowledged.
    async fn post(&mut self, http: &reqwest::Client, origin: &str) -> Option<String> {
        let key = self.pending.get_or_insert_with(|| format!("outage-post-{}", self.posts.len())).clone();
        let request = http
            .post(format!("{origin}/v1/posts"))
            .header("authorization", &self.user.authorization)
            .header("idempotency-key", &key)
            .json(&json!({"body": format!("written through an outage: {key}")}));
        let created = self.send("POST /v1/posts", request).await;
        let id = created.filter(|_| self.exchanges.last().unwrap().ok())?["id"].as_str()?.to_owned();
        self.posts.push(id.clone());
        self.pending = None;
        Some(id)
    }

    /// One step of the mix: a post, a like, a cached read, an uncached read.
    async fn step(&mut self, http: &reqwest::Client, origin: &str, shared: &[String]) {
        let target = &shared[self.sent / 4 % shared.len()];
        match self.sent % 4 {
            0 => {
                self.post(http, origin).await;
            }
            1 => {
                let request = http
                    .put(format!("{origin}/v1/posts/{target}/like"))
                    .header("authorization", &self.user.authorization);
                self.send("PUT /v1/posts/{id}/like", request).await;
                if self.exchanges.last().unwrap().ok() {
                    self.likes.insert(target.clone());
                }
            }
            2 => {
                self.send("GET /v1/posts/{id}", http.get(format!("{origin}/v1/posts/{target}"))).await;
            }
            _ => {
                let timeline = format!("{origin}/v1/users/{}/posts?limit=5", self.user.id);
                self.send("GET /v1/users/{id}/posts", http.get(timeline)).await;
            }
        }
        self.sent += 1;
        // As a client does: wait as long as a failure's Retry-After says.
        let pause = self.exchanges.last().unwrap().retry_after.map_or(Duration::from_millis(20), Duration::from_secs);
        tokio::time::sleep(pause).await;
    }
}

async fn new_client(http: &reqwest::Client, origin: &str) -> Client {
    let mut user = TestUser::stranger();
    let created = http
        .post(format!("{origin}/v1/users"))
        .header("authorization", &user.authorization)
        .json(&json!({"handle": stampede_tests::unique_handle("outage"), "display_name": "Outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    user.id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let mut client =
        Client { user, posts: Vec::new(), likes: BTreeSet::new(), pending: None, sent: 0, exchanges: Vec::new() };
    client.post(http, origin).await.expect("a first post before the outage");
    client
}

/// Every post on the user's timeline, page after page.
async fn timeline(http: &reqwest::Client, origin: &OriginProcess, user: &str) -> Vec<String> {
    let (mut ids, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let url = origin.url(&format!("/v1/users/{user}/posts?limit=100{after}"));
        let page: Value = http.get(url).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap_or_else(|| panic!("not a page: {page}"));
        ids.extend(items.iter().map(|post| post["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn a_frozen_store_under_load_is_503s_within_the_timeout_then_recovery_with_every_acknowledged_write_kept() {
    let state = stampede_tests::emulator_state().await; // fails clearly without the emulator
    let db = state.store.client();
    let table = stampede_tests::copy_of_table(db, state.store.table(), "test-outage").await;
    // Slow transactions (each post's), so that the freeze finds writes between their idempotency claim and their
    // transaction: a request whose calls, one after another, would outlast its time.
    let latency = json!({"TransactWriteItems": {"latency_ms": 250}});
    stampede_tests::pushback(json!({"table": table, "faults": latency})).await;
    let proxy = FreezableProxy::to_emulator().await;
    let log = std::env::temp_dir().join(format!("stampede-outage-{}.log", std::process::id()));
    let (endpoint, timeout_ms) = (proxy.url(), REQUEST_TIMEOUT.as_millis().to_string());
    let environment = [("AWS_ENDPOINT_URL", &endpoint), ("REQUEST_TIMEOUT_MS", &timeout_ms), ("TABLE_NAME", &table)];
    let mut command = OriginCommand::new(ORIGIN, &environment.map(|(name, value)| (name, value.as_str())));
    command.command.stdout(File::create(&log).unwrap());
    let mut origin = command.spawn();
    origin.wait_until_listening().await;
    let base = origin.url("");
    // Far past the request timeout: a request the origin never answers shows as one, not as a hung test.
    let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT * 4).build().unwrap();

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(new_client(&http, &base).await);
    }
    let shared: Arc<[String]> = clients.iter().map(|c| c.posts[0].clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let running: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let (http, base, shared, stop) = (http.clone(), base.clone(), shared.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    client.step(&http, &base, &shared).await;
                }
                client
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(3)).await;
    let frozen_at = Instant::now();
    proxy.freeze();
    tokio::time::sleep(FREEZE).await;
    let thawed_at = Instant::now();
    proxy.thaw();
    // Past the lapse of any write claimed during the freeze (the request timeout + 1 s), then steady again.
    let recovered_by = thawed_at + REQUEST_TIMEOUT + MARGIN * 2;
    tokio::time::sleep(recovered_by - Instant::now() + Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    clients = Vec::new();
    for client in running {
        clients.push(client.await.unwrap());
    }
    // A client whose last post was not acknowledged retries it until it is.
    for client in &mut clients {
        for _ in 0..10 {
            if client.pending.is_none() {
                break;
            }
            if client.post(&http, &base).await.is_none() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        assert!(client.pending.is_none(), "a post still failing long after the thaw: {:?}", client.exchanges.last());
    }

    let exchanges: Vec<&Exchange> = clients.iter().flat_map(|c| &c.exchanges).collect();
    let context = format!("origin log: {}", log.display());
    for exchange in &exchanges {
        assert!(exchange.status.is_some(), "no answer within {:?}: {exchange:?}; {context}", REQUEST_TIMEOUT * 4);
        assert!(exchange.elapsed <= REQUEST_TIMEOUT + MARGIN, "answered late: {exchange:?}; {context}");
        assert!(exchange.ok() || exchange.is_backpressure(), "not a 2xx nor a 503 problem: {exchange:?}; {context}");
        if exchange.started + exchange.elapsed < frozen_at || exchange.started >= recovered_by {
            assert!(exchange.ok(), "failed while the store answered: {exchange:?}; {context}");
        }
    }
    let during: Vec<&&Exchange> =
        exchanges.iter().filter(|e| e.started < thawed_at && e.started + e.elapsed > frozen_at).collect();
    let unavailable = exchanges.iter().filter(|e| e.status == Some(StatusCode::SERVICE_UNAVAILABLE)).count();
    assert!(during.iter().any(|e| !e.ok()), "the freeze failed no request: was the origin's store behind the proxy?");
    let recovered_in = exchanges
        .iter()
        .filter(|e| e.started >= thawed_at && e.what != "GET /v1/posts/{id}" && e.ok())
        .map(|e| e.started + e.elapsed - thawed_at)
        .min()
        .expect("a write or uncached read succeeded after the thaw");

    // Every acknowledged write is there, once: the posts on their author's timeline and nothing else (a retried
    // key makes no second post), each post readable, each like in the table.
    let (mut posts, mut likes) = (0, 0);
    for client in &clients {
        let listed: BTreeSet<String> = timeline(&http, &origin, &client.user.id).await.into_iter().collect();
        let acknowledged: BTreeSet<String> = client.posts.iter().cloned().collect();
        assert_eq!(listed, acknowledged, "the timeline holds exactly the acknowledged posts");
        for post in &client.posts {
            let read = http.get(origin.url(&format!("/v1/posts/{post}"))).send().await.unwrap();
            assert_eq!(read.status(), StatusCode::OK, "acknowledged post {post}");
        }
        for post in &client.likes {
            let key = kit::dynamo::key(format!("USER#{}", client.user.id), format!("LIKE#{post}"));
            let item = db.get_item().table_name(&table).set_key(Some(key));
            assert!(item.consistent_read(true).send().await.unwrap().item.is_some(), "acknowledged like of {post}");
        }
        (posts, likes) = (posts + client.posts.len(), likes + client.likes.len());
    }
    db.delete_table().table_name(&table).send().await.unwrap();
    let slowest = during.iter().map(|e| e.elapsed).max().unwrap_or_default();
    println!(
        "{} requests; acknowledged {posts} posts and {likes} likes, all present; {unavailable} answered 503 \
         (Retry-After); {} overlapped the {FREEZE:?} freeze, the slowest answered in {slowest:?}; a write or \
         uncached read started after the thaw succeeded {recovered_in:?} after it",
        exchanges.len(),
        during.len(),
    );
}
