//! The jobs binary as a process: `--poll` and `--stream` are the local event source mappings (and stop cleanly
//! on SIGTERM); `dlq` and `redrive` operate dead-letter queues.

use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use stampede_tests::{TestApp, queue_depth, queue_with_dead_letters, stream_arn};

fn jobs() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobs"));
    command.env("LOG_FORMAT", "json").env("JOB_RETRY_BASE_MS", "0").stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn run(args: &[&str]) -> Output {
    let output = jobs().args(args).output().unwrap();
    assert!(output.status.success(), "jobs {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn counts_likes_from_the_stream_rolls_them_up_dead_letters_garbage_and_stops_on_sigterm() {
    // A table of its own: `--stream` reads a stream from its oldest record.
    let app = TestApp::with_own_table("test-jobs-process").await;
    let author = app.user().await;
    let post = app.create_post(&author, "polled").await["id"].as_str().unwrap().to_owned();
    for fan in app.users(3).await {
        app.call(axum::http::Method::PUT, &format!("/v1/posts/{post}/like"), &[fan.auth()], None).await;
    }
    app.state.sqs.send_message().queue_url(&app.jobs_queue).message_body("garbage").send().await.unwrap();

    let table = app.state.store.table();
    let stream = stream_arn(app.state.store.client(), table).await;
    let mut poller = jobs()
        .env("TABLE_NAME", table)
        .env("JOBS_QUEUE_URL", &app.jobs_queue)
        .args(["--poll", &app.jobs_queue, "--stream", &stream])
        .spawn()
        .unwrap();
    eventually("the likes are counted and rolled up", async || {
        app.get(&format!("/v1/posts/{post}")).await.json()["like_count"] == 3
    })
    .await;
    eventually("the garbage is dead-lettered", async || queue_depth(&app.state.sqs, &app.jobs_dead_letters).await == 1)
        .await;

    let started = Instant::now();
    Command::new("kill").args(["-TERM", &poller.id().to_string()]).status().unwrap();
    let status = poller.wait().unwrap();
    assert!(status.success(), "SIGTERM must stop the poller cleanly: {status}");
    assert!(started.elapsed() < Duration::from_secs(10), "it must not wait out a 20 s long poll");
    app.drop_table().await;
}

#[tokio::test]
async fn dlq_shows_reasons_and_redrive_moves_messages_back() {
    let app = TestApp::new().await;
    let (queue, dead_letters) = queue_with_dead_letters(&app.state.sqs, "test-cli", 5).await;
    for body in ["{\"broken\":", "also broken"] {
        app.state.sqs.send_message().queue_url(&queue).message_body(body).send().await.unwrap();
    }
    // The poller runs throughout (a killed one's long poll would still take a message at the emulator), and the
    // messages are never fixed: each fails again, at once, whenever it is redriven.
    let mut poller = jobs().args(["--poll", &queue]).spawn().unwrap();
    let (sqs, dead_letters) = (&app.state.sqs, dead_letters.as_str());
    let both_dead_lettered = async || queue_depth(sqs, dead_letters).await == 2 && queue_depth(sqs, &queue).await == 0;
    eventually("both are dead-lettered", both_dead_lettered).await;

    let listed = run(&["dlq", "--queue", dead_letters]);
    let lines: Vec<serde_json::Value> =
        String::from_utf8(listed.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["reason"].as_str().unwrap().starts_with("malformed message body")), "{lines:?}");

    let moved = run(&["redrive", "--from", dead_letters, "--to", &queue, "--max", "1"]);
    assert!(String::from_utf8(moved.stdout).unwrap().starts_with("moved 1 message(s)"));
    eventually("the redriven one failed again", both_dead_lettered).await;

    // Without --max, a redrive moves what the queue held when it started and ends, though each comes back.
    let mut redrive = jobs().args(["redrive", "--from", dead_letters, "--to", &queue]).spawn().unwrap();
    eventually("the redrive ends", async || redrive.try_wait().unwrap().is_some()).await;
    let moved = redrive.wait_with_output().unwrap();
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));
    assert!(String::from_utf8(moved.stdout).unwrap().starts_with("moved 2 message(s)"));
    eventually("both failed again", both_dead_lettered).await;
    poller.kill().unwrap();
    poller.wait().unwrap();
}
