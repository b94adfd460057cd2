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
    stampede_tests::emulator_config(); // fails clearly without the emulator
    let cargo_lambda = std::env::var("STAMPEDE_CARGO_LAMBDA").expect("scripts/test sets STAMPEDE_CARGO_LAMBDA");

    let origin_port = free_port();
    let mut origin = spawn(
        Command::new(workspace().join("target/debug/origin"))
            .env("BIND_ADDR", format!("127.0.0.1:{origin_port}"))
            .env("METRICS_ADDR", "127.0.0.1:0")
            .env("EDGE_SECRET", EDGE_SECRET),
    );
    let lambda_port = free_port();
    let env_file = std::env::temp_dir().join(format!("stampede-lambda-{}.env", ulid::Ulid::generate()));
    let app_env: String = std::env::vars()
        .filter(|(name, _)| {
            name.starts_with("AWS_")
                || ["TABLE_NAME", "CURSOR_SECRET", "JOBS_QUEUE_URL", "MEDIA_BUCKET"].contains(&name.as_str())
        })
        .map(|(name, value)| format!("{name}={value}\n"))
        .chain([format!("EDGE_SECRET={EDGE_SECRET}\n")])
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
    let edge =
        Edge::start(&format!("http://127.0.0.1:{origin_port}"), &lambda_url, &[("EDGE_SECRET", EDGE_SECRET)]).await;
    let http = reqwest::Client::new();

    // Going around the edge is refused by both upstreams.
    for direct in [format!("http://127.0.0.1:{origin_port}/v1/posts"), format!("{lambda_url}/v1/posts")] {
        let refused = http.get(&direct).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{direct}");
        assert_eq!(header_map(&refused)["content-type"], "application/problem+json");
    }

    // Writes and reads go to the origin while it is up; public reads are cached.
    let handle = stampede_tests::unique_handle("edge");
    let created =
        http.post(edge.url("/v1/users")).json(&json!({"handle": handle, "display_name": "Edgy"})).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(header_map(&created)["x-upstream"], "origin");
    let user: Value = created.json().await.unwrap();
    let id = user["id"].as_str().unwrap();
    let profile = format!("/v1/users/{id}");
    let first = http.get(edge.url(&profile)).send().await.unwrap();
    assert_eq!((header_map(&first)["x-cache"].as_str(), header_map(&first)["x-upstream"].as_str()), ("MISS", "origin"));
    assert_eq!(header_map(&http.get(edge.url(&profile)).send().await.unwrap())["x-cache"], "HIT");
    let post = http
        .post(edge.url("/v1/posts"))
        .header("x-user-id", id)
        .json(&json!({"body": "via the edge"}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::CREATED);
    let post: Value = post.json().await.unwrap();

    // The origin goes away: the same API answers from Lambda.
    stop_group(&mut origin.0);
    let timeline = http.get(edge.url(&format!("/v1/users/{id}/posts"))).send().await.unwrap();
    assert_eq!(timeline.status(), StatusCode::OK);
    assert_eq!(header_map(&timeline)["x-upstream"], "lambda");
    let timeline: Value = timeline.json().await.unwrap();
    assert_eq!(timeline["items"][0]["id"], post["id"]);

    let like = http
        .put(edge.url(&format!("/v1/posts/{}/like", post["id"].as_str().unwrap())))
        .header("x-user-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(like.status(), StatusCode::NO_CONTENT, "an idempotent write fails over too");
    assert_eq!(header_map(&like)["x-upstream"], "lambda");

    let keyed = http
        .post(edge.url("/v1/posts"))
        .header("x-user-id", id)
        .header("idempotency-key", ulid::Ulid::generate().to_string())
        .json(&json!({"body": "written by Lambda"}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), StatusCode::CREATED);
    assert_eq!(header_map(&keyed)["x-upstream"], "lambda");
    let _ = std::fs::remove_file(env_file);
}
