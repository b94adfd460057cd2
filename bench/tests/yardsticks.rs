//! The yardsticks as scripts/bench runs them, as processes: the Runtime API drives the runtime's real client
//! (the hello world) through init and invokes and reports every figure; it refuses answers that are not the
//! expected status; the bare server answers the bytes it was given. No figure is checked, only that each is there.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use serde_json::Value;

/// A file of its own under the temp dir with `contents`.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn runtime_api(extra: &[&str]) -> Output {
    let event = temp_file("event.json", r#"{"hello": "bench"}"#);
    let log = event.with_file_name("bootstrap.log");
    Command::new(env!("CARGO_BIN_EXE_runtime-api"))
        .args(["--starts", "2", "--warm", "5", "--event"])
        .arg(&event)
        .arg("--log")
        .arg(&log)
        .args(extra)
        .arg(env!("CARGO_BIN_EXE_hello-bootstrap"))
        .output()
        .unwrap()
}

#[test]
fn the_runtime_api_times_init_and_invokes_of_a_real_bootstrap() {
    let output = runtime_api(&[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let figures: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(figures["starts"], 2);
    assert_eq!(figures["warm_invokes"], 10, "5 warm invokes after the first, per start");
    for figure in ["init_ms", "first_invoke_ms", "warm_invoke_ms"] {
        let value = figures[figure].as_f64().unwrap_or_else(|| panic!("{figure} in {figures}"));
        assert!(value.is_finite() && value > 0.0, "{figure}: {value}");
    }
}

#[test]
fn the_runtime_api_fails_a_run_whose_answers_are_not_the_expected_status() {
    let output = runtime_api(&["--expect-status", "200"]);
    assert!(!output.status.success(), "hello world answers no statusCode: the run must fail");
    assert!(String::from_utf8_lossy(&output.stderr).contains("expected statusCode 200"));
}

#[tokio::test]
async fn the_bare_server_answers_the_bytes_it_was_given() {
    let body = r#"{"id":"01BENCH","body":"the origin's bytes"}"#;
    let mut server = Command::new(env!("CARGO_BIN_EXE_bare-axum"))
        .args(["--addr", "127.0.0.1:0", "--cache-control", "public, s-maxage=10", "--body"])
        .arg(temp_file("body.json", body))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut address = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut address).unwrap();
    let answer = reqwest::get(format!("http://{}/v1/posts/01BENCH", address.trim())).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let answer = answer.expect("the bare server answers once it printed its address");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    assert_eq!(answer.headers()["cache-control"], "public, s-maxage=10");
    assert_eq!(answer.text().await.unwrap(), body);
}
