//! The origin as a real process over HTTP: health, readiness, the API, metrics, bad configuration, and the
//! drain on SIGTERM, alone and under load behind a load balancer.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use stampede_tests::origin_process::{OriginCommand, OriginProcess};

const ORIGIN: &str = env!("CARGO_BIN_EXE_origin");

fn start(extra: &[(&str, &str)]) -> OriginProcess {
    OriginCommand::new(ORIGIN, extra).spawn()
}

#[tokio::test]
async fn serves_the_api_health_and_metrics_then_stops_gracefully() {
    stampede_tests::emulator_state().await; // fails clearly without the emulator
    let mut origin = start(&[("DRAIN_DELAY_MS", "1000")]);
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

    // SIGTERM: not ready at once, still serving for the drain delay, each response closing its connection.
    origin.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = http.get(origin.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["content-type"], "application/problem+json");
    let served = http.get(origin.url(&location)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["connection"], "close");
    let status = origin.wait_for_exit(Duration::from_secs(10));
    assert!(status.success(), "SIGTERM must end the origin cleanly, got {status}");
}

#[tokio::test]
async fn is_live_and_ready_without_dynamodb() {
    stampede_tests::emulator_state().await;
    // A DynamoDB brownout must not take every task out of the load balancer at once (and have ECS replace them
    // all): readiness does not ask DynamoDB. The secrets are read at start: given by value here, since the AWS
    // endpoint (Secrets Manager too) is out of reach.
    let cursor_secret = "cursor-secret-for-an-unreachable-aws-0123";
    let mut origin = start(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("CURSOR_SECRET", cursor_secret)]);
    origin.wait_until_listening().await;
    assert_eq!(reqwest::get(origin.url("/healthz")).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(origin.url("/readyz")).await.unwrap().status(), 200);
}

/// Targets as an ALB sees them: health-checked on `/readyz` every 100 ms, sent requests only while their last
/// check passed, over keep-alive connections.
struct Balancer {
    targets: Vec<String>,
    healthy: Vec<AtomicBool>,
    served: Vec<AtomicUsize>,
    next: AtomicUsize,
}

impl Balancer {
    fn new(targets: Vec<String>) -> Arc<Self> {
        let healthy = targets.iter().map(|_| AtomicBool::new(true)).collect();
        let served = targets.iter().map(|_| AtomicUsize::new(0)).collect();
        Arc::new(Self { targets, healthy, served, next: AtomicUsize::new(0) })
    }

    async fn check_health(self: Arc<Self>, http: reqwest::Client) {
        loop {
            for (target, healthy) in self.targets.iter().zip(&self.healthy) {
                let ready = http.get(format!("{target}/readyz")).send().await.is_ok_and(|r| r.status() == 200);
                healthy.store(ready, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `path` to the next healthy target: Err for anything but a 2xx (a refused connection, a reset, a 5xx).
    async fn send(&self, http: &reqwest::Client, path: &str) -> Result<(), String> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.targets.len();
        let Some(target) = (start..start + n).map(|i| i % n).find(|&i| self.healthy[i].load(Ordering::SeqCst)) else {
            return Err("no healthy target".into());
        };
        let response =
            http.get(format!("{}{path}", self.targets[target])).send().await.map_err(|e| format!("{e:?}"))?;
        if !response.status().is_success() {
            return Err(format!("{} from target {target}: {:?}", response.status(), response.text().await));
        }
        self.served[target].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[tokio::test]
async fn drains_under_load_behind_a_load_balancer_without_failing_a_request() {
    stampede_tests::emulator_state().await;
    let drain = [("DRAIN_DELAY_MS", "1000")];
    let (mut stopping, mut staying) = (start(&drain), start(&drain));
    stopping.wait_until_listening().await;
    staying.wait_until_listening().await;
    let balancer = Balancer::new(vec![stopping.url(""), staying.url("")]);
    let http = reqwest::Client::new();
    let checks = tokio::spawn(balancer.clone().check_health(http.clone()));

    let running = Arc::new(AtomicBool::new(true));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (balancer, http, running) = (balancer.clone(), http.clone(), running.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                while running.load(Ordering::SeqCst) {
                    // The latest feed's first page: served from the read cache, so the load is on the origins.
                    if let Err(failure) = balancer.send(&http, "/v1/posts").await {
                        failures.push(failure);
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                failures
            })
        })
        .collect();
    let warm = Instant::now() + Duration::from_secs(20);
    while balancer.served.iter().any(|served| served.load(Ordering::SeqCst) < 50) {
        assert!(Instant::now() < warm, "both origins serve the load within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = balancer.served[0].load(Ordering::SeqCst);
    stopping.terminate();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    running.store(false, Ordering::SeqCst);
    let mut failures = Vec::new();
    for client in clients {
        failures.extend(client.await.unwrap());
    }
    checks.abort();

    assert_eq!(failures, Vec::<String>::new(), "no request fails while an origin drains");
    assert!(balancer.served[1].load(Ordering::SeqCst) > before, "the other origin took over");
    let status = stopping.wait_for_exit(Duration::from_secs(10));
    assert!(status.success(), "the drained origin ends cleanly, got {status}");
    assert!(stopped.elapsed() >= Duration::from_secs(1), "it served for the whole drain delay");
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
