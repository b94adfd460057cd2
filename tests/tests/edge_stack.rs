//! The whole request path with real processes, against the emulator: the edge (wrangler dev) in front of the
//! origin binary, failing over to the api function served by `cargo lambda watch` when the origin stops.

use std::{
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use serde_json::{Value, json};
use stampede_tests::{
    TestUser,
    edge::{Edge, header_map, stop_group},
    free_port,
};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// A child in its own process group, stopped with everything it started when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        stop_group(&mut self.0);
    }
}

fn spawn(command: &mut Command) -> Process {
    Process(command.stdout(Stdio::null()).stderr(Stdio::null()).process_group(0).spawn().expect("the process starts"))
}

async fn until_answering(url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(url).await.is_err() {
        assert!(Instant::now() < deadline, "{what} did not answer within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the stack's hosts and its edge share, as in a deployed environment: the origin and the function answer
/// only requests that carry it.
const EDGE_SECRET: &str = "edge-secret-of-the-stack-test-0123456789";

#[tokio::test]
async fn through_the_edge_to_the_origin_then_to_lambda_when_the_origin_stops() {
    stampede_tests::emulator_config().await; // fails clearly without the emulator and the issuer
    let cargo_lambda = std::env::var("STAMPEDE_CARGO_LAMBDA").expect("scripts/test sets STAMPEDE_CARGO_LAMBDA");

    let origin_port = free_port();
    let mut origin = spawn(
        Command::new(workspace().join("target/debug/origin"))
            .env("BIND_ADDR", format!("127.0.0.1:{origin_port}"))
            .env("METRICS_ADDR", "127.0.0.1:0")
            .env("EDGE_SECRET", EDGE_SECRET)
            // Below the edge's origin timeout (3 s here, as deployed): the origin gives up first. Its AWS calls
            // share 2 s of it (`kit::deadline`): room for a loaded emulator's feed queries.
            .env("REQUEST_TIMEOUT_MS", "2500")
            // The edge has no readiness to watch: when the test stops the origin, it is gone.
            .env("DRAIN_DELAY_MS", "0"),
    );
    let lambda_port = free_port();
    let env_file = std::env::temp_dir().join(format!("stampede-lambda-{}.env", ulid::Ulid::generate()));
    let app_env: String = std::env::vars()
        .filter(|(name, _)| {
            name.starts_with("AWS_")
                || name.starts_with("AUTH_")
                || ["TABLE_NAME", "CURSOR_SECRET_ARN", "JOBS_QUEUE_URL", "MEDIA_BUCKET"].contains(&name.as_str())
        })
        .map(|(name, value)| format!("{name}={value}\n"))
        .chain([format!("EDGE_SECRET={EDGE_SECRET}\n"), "REQUEST_TIMEOUT_MS=4000\n".to_owned()])
        .collect();
    std::fs::write(&env_file, app_env).unwrap();
    let _lambda = spawn(
        Command::new(cargo_lambda)
            .current_dir(workspace())
            .args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &lambda_port.to_string()])
            .arg("--env-file")
            .arg(&env_file),
    );
    let lambda_url = format!("http://127.0.0.1:{lambda_port}/lambda-url/api");
    until_answering(&format!("http://127.0.0.1:{origin_port}/healthz"), "the origin").await;
    until_answering(&format!("{lambda_url}/v1/posts?limit=1"), "the api function").await;
    let issuer = stampede_tests::issuer();
    let edge = Edge::start(
        &format!("http://127.0.0.1:{origin_port}"),
        &lambda_url,
        &[
            ("EDGE_SECRET", EDGE_SECRET),
            ("AUTH_ISSUER", &issuer.url),
            ("AUTH_AUDIENCE", &issuer.audience),
            ("ORIGIN_TIMEOUT_MS", "3000"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let state = |response: &reqwest::Response| {
        let headers = header_map(response);
        (headers["x-cache"].clone(), headers.get("x-upstream").cloned().unwrap_or_default())
    };

    // Going around the edge is refused by both upstreams.
    for direct in [format!("http://127.0.0.1:{origin_port}/v1/posts"), format!("{lambda_url}/v1/posts")] {
        let refused = http.get(&direct).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{direct}");
        assert_eq!(header_map(&refused)["content-type"], "application/problem+json");
    }

    // Writes and reads go to the origin while it is up; public reads are cached.
    let (author, other) = (TestUser::stranger(), TestUser::stranger());
    let mut ids = Vec::new();
    for user in [&author, &other] {
        let handle = stampede_tests::unique_handle("edge");
        let created = http
            .post(edge.url("/v1/users"))
            .header("authorization", &user.authorization)
            .json(&json!({"handle": handle, "display_name": "Edgy"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(header_map(&created)["x-upstream"], "origin");
        ids.push(created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let id = &ids[0];
    let profile = format!("/v1/users/{id}");
    let first = http.get(edge.url(&profile)).send().await.unwrap();
    assert_eq!(state(&first), ("MISS".into(), "origin".into()));
    assert_eq!(state(&http.get(edge.url(&profile)).send().await.unwrap()).0, "HIT");
    let post_as = |user: &TestUser, body: &str| {
        http.post(edge.url("/v1/posts"))
            .header("authorization", &user.authorization)
            .json(&json!({"body": body}))
            .send()
    };
    let post = post_as(&author, "via the edge").await.unwrap();
    assert_eq!(post.status(), StatusCode::CREATED);
    let post: Value = post.json().await.unwrap();

    // A post deleted by its author is gone from the edge's cache and both feeds at once; nobody else may delete it.
    let doomed: Value = post_as(&author, "short-lived").await.unwrap().json().await.unwrap();
    let doomed_path = format!("/v1/posts/{}", doomed["id"].as_str().unwrap());
    let timeline = format!("/v1/users/{id}/posts");
    for path in [&doomed_path, &timeline] {
        http.get(edge.url(path)).send().await.unwrap();
        assert_eq!(state(&http.get(edge.url(path)).send().await.unwrap()).0, "HIT", "{path}");
    }
    let delete =
        |user: &TestUser| http.delete(edge.url(&doomed_path)).header("authorization", &user.authorization).send();
    let refused = delete(&other).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<Value>().await.unwrap()["type"], "/problems/not-owner");
    assert_eq!(delete(&author).await.unwrap().status(), StatusCode::NO_CONTENT);
    let gone = http.get(edge.url(&doomed_path)).send().await.unwrap();
    assert_eq!((gone.status(), state(&gone).0.as_str()), (StatusCode::NOT_FOUND, "MISS"));
    let listed = http.get(edge.url(&timeline)).send().await.unwrap();
    assert_eq!(state(&listed).0, "MISS", "the cached timeline was dropped");
    let listed: Value = listed.json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().iter().all(|p| p["id"] != doomed["id"]), "{listed}");
    let latest: Value = http.get(edge.url("/v1/posts?limit=100")).send().await.unwrap().json().await.unwrap();
    let items = latest["items"].as_array().unwrap_or_else(|| panic!("not a page: {latest}"));
    assert!(items.iter().all(|p| p["id"] != doomed["id"]), "gone from the latest feed");

    // A create whose write outlives the origin's patience (DynamoDB does not answer in time; the write lands
    // later) is the API's 503: passed on with Retry-After, not replayed on Lambda against the same table. The
    // client's retry, with the same key, finds the post the first attempt made. One post.
    let table = std::env::var("TABLE_NAME").unwrap();
    // Past the origin's 2 s for AWS calls, within the edge's 3 s.
    stampede_tests::pushback(json!({"table": table, "faults": {"TransactWriteItems": {"latency_ms": 2500}}})).await;
    let key = ulid::Ulid::generate().to_string();
    let create = || {
        http.post(edge.url("/v1/posts"))
            .header("authorization", &other.authorization)
            .header("idempotency-key", &key)
            .json(&json!({"body": "slow, once"}))
            .send()
    };
    let first = create().await.unwrap();
    let headers = header_map(&first);
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!((headers["x-upstream"].as_str(), headers["retry-after"].as_str()), ("origin", "1"));
    stampede_tests::pushback(json!({"table": table, "off": true})).await;
    tokio::time::sleep(Duration::from_millis(2_000)).await; // Retry-After, and the first write has landed
    // A client retries a 503 after its Retry-After, a few times: on a loaded machine the emulator can be slower
    // than the origin's 500 ms DynamoDB deadline again. However many attempts, one post.
    let mut attempts = 1;
    let retried = loop {
        let retried = create().await.unwrap();
        if retried.status() != StatusCode::SERVICE_UNAVAILABLE || attempts == 5 {
            break retried;
        }
        attempts += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let (status, headers) = (retried.status(), header_map(&retried));
    let created: Value = retried.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "after {attempts} attempts: {headers:?} {created}");
    let other_timeline: Value =
        http.get(edge.url(&format!("/v1/users/{}/posts", ids[1]))).send().await.unwrap().json().await.unwrap();
    let made: Vec<&Value> = other_timeline["items"].as_array().unwrap().iter().collect();
    assert_eq!(made.len(), 1, "one post, however many attempts: {made:?}");
    assert_eq!(made[0]["id"], created["id"]);

    // The origin goes away: the same API answers from Lambda.
    stop_group(&mut origin.0);
    let timeline = http.get(edge.url(&format!("/v1/users/{id}/posts?limit=5"))).send().await.unwrap();
    assert_eq!(timeline.status(), StatusCode::OK);
    assert_eq!(header_map(&timeline)["x-upstream"], "lambda");
    let timeline: Value = timeline.json().await.unwrap();
    assert_eq!(timeline["items"][0]["id"], post["id"]);

    let like = http
        .put(edge.url(&format!("/v1/posts/{}/like", post["id"].as_str().unwrap())))
        .header("authorization", &other.authorization)
        .send()
        .await
        .unwrap();
    assert_eq!(like.status(), StatusCode::NO_CONTENT, "an idempotent write fails over too");
    assert_eq!(header_map(&like)["x-upstream"], "lambda");

    let keyed = http
        .post(edge.url("/v1/posts"))
        .header("authorization", &author.authorization)
        .header("idempotency-key", ulid::Ulid::generate().to_string())
        .json(&json!({"body": "written by Lambda"}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), StatusCode::CREATED);
    assert_eq!(header_map(&keyed)["x-upstream"], "lambda");
    let _ = std::fs::remove_file(env_file);
}
