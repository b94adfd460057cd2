//! The app with the emulator pushing back as DynamoDB and SQS do at scale (infra/local/moto_pushback.py), on
//! tables and queues of each test's own: overload is a 503 with Retry-After, and the like counter counts every
//! committed like exactly once through failed sends, throttling and every record delivered again.

use std::sync::Mutex;

use axum::http::{Method, StatusCode};
use serde_json::json;
use stampede_tests::{TestApp, TestResponse, TestUser, pushback, pushback_report, queue_depth};

/// A client that does what a 503's Retry-After asks (without the wait): sends again until it is not a 503.
async fn until_accepted(app: &TestApp, method: Method, path: &str, user: &TestUser) -> TestResponse {
    for _ in 0..30 {
        let response = app.call(method.clone(), path, &[user.auth()], None).await;
        if response.status != StatusCode::SERVICE_UNAVAILABLE {
            return response;
        }
        assert!(response.headers.contains_key("retry-after"), "a 503 says when to retry");
    }
    panic!("{method} {path}: still 503 after 30 tries");
}

fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[tokio::test]
async fn a_throttled_transaction_is_a_503_with_retry_after_and_writes_nothing() {
    let app = TestApp::with_own_table("test-overload").await;
    let author = app.user().await;
    let table = app.state.store.table().to_owned();
    // 1 write unit a second per partition: a new post's transaction (2× its units) cannot fit.
    pushback(json!({"table": table, "scale": 0.001})).await;
    let body = json!({"body": "too much, too soon"});
    let response = app.call(Method::POST, "/v1/posts", &[author.auth()], Some(body)).await;
    response.assert_problem(503, "unavailable");
    assert_eq!(response.header("retry-after"), "1");
    let report = pushback_report(&table).await;
    assert!(report.values().any(|p| p["throttled_requests"].as_f64() > Some(0.0)), "{report:?}");
    pushback(json!({"table": table, "off": true})).await;

    let timeline = app.get(&format!("/v1/users/{}/posts", author.id)).await.json();
    assert_eq!(timeline["items"], json!([]), "a cancelled transaction wrote nothing");
    app.drop_table().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_like_is_counted_once_through_failed_sends_throttling_and_redelivery() {
    const FANS: usize = 120;
    let app = TestApp::with_own_table("test-counts").await;
    let table = app.state.store.table().to_owned();
    let author = app.user().await;
    let post = app.create_post(&author, "counted under fire").await["id"].as_str().unwrap().to_owned();
    let fans = app.users(FANS).await;

    // Per attempt: the SDK retries up to 3 times, so about 1 in 8 counter writes (and 1 in 37 likes) fails whole.
    let throttled = json!({"error_rate": 0.3, "error": "ThrottlingException"});
    let often = json!({"error_rate": 0.5, "error": "ThrottlingException"});
    pushback(json!({"queue": queue_name(&app.jobs_queue), "send_error_rate": 0.2})).await;
    pushback(json!({"table": table, "faults": {
        "PutItem": throttled, "DeleteItem": throttled, "UpdateItem": often, "Query": often, "GetItem": {"error_rate": 0.1}
    }}))
    .await;

    // The counter, as the event source mapping calls it: each window until it succeeds. Keep every window.
    let windows = Mutex::new(Vec::new());
    let failed = Mutex::new(0);
    let recording = |window: kit::stream_window::StreamWindow| {
        windows.lock().unwrap().push(window.clone());
        async {
            let result = app::jobs::like_counts::handle(&app.state.store, &app.state.events, window).await;
            if result.is_err() {
                *failed.lock().unwrap() += 1;
            }
            result
        }
    };

    // Everyone likes; a third unlike; a sixth like again, twice. Clients retry 503s. The counter runs every 10.
    let path = format!("/v1/posts/{post}/like");
    let (mut likes, mut unlikes, mut changes) = (0, 0, 0);
    for (i, fan) in fans.iter().enumerate() {
        if i % 10 == 0 {
            changes += app.run_stream_with(&recording).await;
        }
        assert_eq!(until_accepted(&app, Method::PUT, &path, fan).await.status, StatusCode::NO_CONTENT);
        likes += 1;
        if i % 3 == 0 {
            assert_eq!(until_accepted(&app, Method::DELETE, &path, fan).await.status, StatusCode::NO_CONTENT);
            unlikes += 1;
            if i % 6 == 0 {
                for _ in 0..2 {
                    assert_eq!(until_accepted(&app, Method::PUT, &path, fan).await.status, StatusCode::NO_CONTENT);
                }
                likes += 1;
            }
        }
    }
    let expected = likes - unlikes;
    changes += app.run_stream_with(&recording).await;
    assert!(changes >= likes + unlikes, "{changes} stream records for {} like changes", likes + unlikes);
    app.run_jobs().await;
    let count = || async { app.get(&format!("/v1/posts/{post}")).await.json()["like_count"].as_i64().unwrap() };
    assert_eq!(count().await, expected as i64);

    // Every stream record again, whole windows and overlapping halves; every rollup message again, twice.
    let recorded = windows.lock().unwrap().clone();
    let calls = recorded.len();
    let failures = *failed.lock().unwrap();
    for window in recorded {
        let half = kit::stream_window::StreamWindow {
            changes: window.changes[window.changes.len() / 2..].to_vec(),
            ..window.clone()
        };
        for again in [window, half] {
            while app::jobs::like_counts::run(&app.state.store, &app.state.events, again.clone()).await.is_err() {}
        }
    }
    let post_id = app::models::PostId::parse(&post).unwrap();
    for _ in 0..2 {
        while app.state.events.publish(&app::events::AppEvent::LikesChanged { post_id }).await.is_err() {}
    }
    app.run_jobs().await;
    assert_eq!(count().await, expected as i64, "redelivered records and messages changed the count");
    assert_eq!(queue_depth(&app.state.sqs, &app.jobs_dead_letters).await, 0);
    println!(
        "{expected} likes counted exactly: {likes} likes and {unlikes} unlikes; {calls} counter calls, {failures} of \
         which failed and were made again; then every record and rollup delivered again"
    );

    pushback(json!({"queue": queue_name(&app.jobs_queue), "send_error_rate": 0})).await;
    pushback(json!({"table": table, "off": true})).await;
    app.drop_table().await;
}
