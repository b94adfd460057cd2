//! The origin as a real process over HTTP: health, readiness, the API, metrics, bad configuration and
//! graceful shutdown on SIGTERM.

use std::time::Duration;

use serde_json::{Value, json};
use stampede_tests::origin_process::{OriginCommand, OriginProcess};

const ORIGIN: &str = env!("CARGO_BIN_EXE_origin");

fn start(extra: &[(&str, &str)]) -> OriginProcess {
    OriginCommand::new(ORIGIN, extra).spawn()
}

#[tokio::test]
async fn serves_the_api_health_and_metrics_then_stops_gracefully() {
    stampede_tests::emulator_state().await; // fails clearly without the emulator
    let mut origin = start(&[]);
    origin.wait_until_listening().await;
    let http = reqwest::Client::new();

    assert_eq!(http.get(origin.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(origin.url("/readyz")).send().await.unwrap().status(), 200);

    let handle = stampede_tests::unique_handle("origin");
    let caller = stampede_tests::TestUser::stranger();
    let created = http
        .post(origin.url("/v1/users"))
        .header("authorization", &caller.authorization)
        .json(&json!({"handle": handle, "display_name": "Over HTTP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().contains_key("x-request-id"));
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let user: Value = http.get(origin.url(&location)).send().await.unwrap().json().await.unwrap();
    assert_eq!(user["handle"], handle);

    let malformed = http
        .post(origin.url("/v1/users"))
        .header("authorization", &caller.authorization)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.headers()["content-type"], "application/problem+json");

    assert_eq!(http.get(origin.url("/metrics")).send().await.unwrap().status(), 404, "metrics stay off the API port");
    let metrics = http.get(format!("{}/metrics", origin.metrics_base)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"http_request_duration_seconds_bucket{method="POST",route="/v1/users",status="201""#),
        "{metrics}"
    );

    origin.terminate();
    let status = origin.wait_for_exit(Duration::from_secs(10));
    assert!(status.success(), "SIGTERM must end the origin cleanly, got {status}");
}

#[tokio::test]
async fn is_live_but_not_ready_without_dynamodb() {
    stampede_tests::emulator_state().await;
    // The secrets are read at start: given by value here, since the AWS endpoint (Secrets Manager too) is out of reach.
    let cursor_secret = "cursor-secret-for-an-unreachable-aws-0123";
    let mut origin = start(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("CURSOR_SECRET", cursor_secret)]);
    origin.wait_until_listening().await;
    assert_eq!(reqwest::get(origin.url("/healthz")).await.unwrap().status(), 200);
    let ready = reqwest::get(origin.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn refuses_to_start_with_bad_configuration() {
    stampede_tests::emulator_state().await;
    let output = OriginCommand::new(ORIGIN, &[("LATEST_SHARDS", "0")]).command.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LATEST_SHARDS"), "the error must name the variable: {stderr}");

    // Without an identity provider it would refuse every write: it refuses to start instead.
    let mut command = OriginCommand::new(ORIGIN, &[]).command;
    let output = command.env_remove("AUTH_ISSUER").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AUTH_ISSUER"), "the error must name the variable: {stderr}");
}
