//! The origin as a real process over HTTP: health, readiness, the API, metrics, bad configuration and
//! graceful shutdown on SIGTERM.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use stampede_tests::free_port;

struct Origin {
    child: Child,
    base: String,
    metrics_base: String,
}

/// The origin binary on free ports (API, metrics) with the emulator's environment plus `extra` variables.
fn origin_command(extra: &[(&str, &str)]) -> (Command, u16, u16) {
    let (port, metrics_port) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_origin"));
    command
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null());
    for (name, value) in extra {
        command.env(name, value);
    }
    (command, port, metrics_port)
}

impl Origin {
    fn start(extra: &[(&str, &str)]) -> Self {
        let (mut command, port, metrics_port) = origin_command(extra);
        Self {
            child: command.spawn().expect("the origin binary starts"),
            base: format!("http://127.0.0.1:{port}"),
            metrics_base: format!("http://127.0.0.1:{metrics_port}"),
        }
    }

    async fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{}/healthz", self.base)).await.is_err() {
            assert!(self.child.try_wait().unwrap().is_none(), "the origin exited before listening");
            assert!(Instant::now() < deadline, "the origin did not listen within 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    fn wait_for_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the origin did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serves_the_api_health_and_metrics_then_stops_gracefully() {
    stampede_tests::emulator_state().await; // fails clearly without the emulator
    let mut origin = Origin::start(&[]);
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
    let mut origin = Origin::start(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("CURSOR_SECRET", cursor_secret)]);
    origin.wait_until_listening().await;
    assert_eq!(reqwest::get(origin.url("/healthz")).await.unwrap().status(), 200);
    let ready = reqwest::get(origin.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn refuses_to_start_with_bad_configuration() {
    stampede_tests::emulator_state().await;
    let output = origin_command(&[("LATEST_SHARDS", "0")]).0.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LATEST_SHARDS"), "the error must name the variable: {stderr}");

    // Without an identity provider it would refuse every write: it refuses to start instead.
    let mut command = origin_command(&[]).0;
    let output = command.env_remove("AUTH_ISSUER").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AUTH_ISSUER"), "the error must name the variable: {stderr}");
}
