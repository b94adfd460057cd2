//! The like rollup through real SQS: 1 000 likes on one post, handled in batches of 10, end in an exact
//! count written at most once per batch.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use futures::{StreamExt, stream};
use kit::dynamo::key;
use stampede_tests::{TestApp, queue_depth};

const LIKES: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_likes_roll_up_exactly_in_at_most_one_write_per_batch() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let post = app.create_post(&author, "roll me up").await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/posts/{post}/like");
    let fans = app.users(LIKES).await;
    let statuses: Vec<StatusCode> = stream::iter(fans)
        .map(|fan| {
            let (app, path) = (app.clone(), path.clone());
            async move { app.call(Method::PUT, &path, &[fan.auth()], None).await.status }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::NO_CONTENT));
    assert_eq!(queue_depth(&app.state.sqs, &app.jobs_queue).await, LIKES, "one event per like");

    let started = Instant::now();
    let handled = app.run_jobs().await;
    let elapsed = started.elapsed();
    println!(
        "rolled up {handled} like events in {elapsed:.2?}: {:.0} jobs/s (poll mode, batches of 10, against the emulator)",
        handled as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(handled, LIKES);

    let item = app
        .state
        .store
        .client()
        .get_item()
        .table_name(app.state.store.table())
        .set_key(Some(key(format!("POST#{post}"), "POST")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let rollups: i64 = item["like_rollups"].as_n().unwrap().parse().unwrap();
    println!("{rollups} rollup writes for {LIKES} likes");
    assert!(rollups <= (LIKES / 10) as i64, "{rollups} rollup writes for {LIKES} likes in batches of 10");
    assert_eq!(app.get(&format!("/v1/posts/{post}")).await.json()["like_count"], LIKES);
    assert_eq!(queue_depth(&app.state.sqs, &app.jobs_dead_letters).await, 0);
}

#[tokio::test]
async fn lists_show_the_rolled_up_count_too() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let post = app.create_post(&author, "counted everywhere").await["id"].as_str().unwrap().to_owned();
    for fan in app.users(3).await {
        app.call(Method::PUT, &format!("/v1/posts/{post}/like"), &[fan.auth()], None).await;
    }
    app.run_jobs().await;
    let timeline = app.get(&format!("/v1/users/{}/posts", author.id)).await.json();
    assert_eq!(timeline["items"][0]["like_count"], 3);
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("/v1/posts?limit=100{cursor}")).await.json();
        if let Some(found) = page["items"].as_array().unwrap().iter().find(|p| p["id"] == post.as_str()) {
            assert_eq!(found["like_count"], 3, "the latest index copy is rolled up as well");
            break;
        }
        cursor = format!("&cursor={}", page["next_cursor"].as_str().expect("the post is in the feed"));
    }
}

#[tokio::test]
async fn a_rollup_for_a_deleted_post_is_done_not_dead_lettered() {
    let app = TestApp::new().await;
    let ghost = app::models::PostId::generate();
    app.state.events.publish(&app::events::AppEvent::LikesChanged { post_id: ghost }).await.unwrap();
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(queue_depth(&app.state.sqs, &app.jobs_queue).await, 0);
    assert_eq!(queue_depth(&app.state.sqs, &app.jobs_dead_letters).await, 0, "a deleted post is nobody's failure");
}
