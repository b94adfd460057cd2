//! Like counting end to end on a table of the test's own: likes through the router, the table's stream into
//! the like counter, rollups through real SQS. Exact counts, few rollup writes, versioned rollups.

use axum::http::{Method, StatusCode};
use futures::{StreamExt, stream};
use kit::dynamo::{key, n};
use stampede_tests::{TestApp, queue_depth};

const LIKES: usize = 1_000;

async fn post_item(app: &TestApp, post: &str) -> kit::dynamo::Item {
    let read = app.state.store.client().get_item().table_name(app.state.store.table());
    read.set_key(Some(key(format!("POST#{post}"), "POST"))).send().await.unwrap().item.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_likes_are_counted_exactly_and_rolled_up_in_at_most_one_write_per_stream_batch() {
    let app = TestApp::with_own_table("test-rollup").await;
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
    assert_eq!(queue_depth(&app.state.sqs, &app.jobs_queue).await, 0, "a like sends nothing: the stream does");

    app.run_stream().await;
    // One rollup message per post per stream batch (≤ 1 000 records): the likes and the fans' profiles before
    // them fill a few batches.
    let queued = queue_depth(&app.state.sqs, &app.jobs_queue).await;
    assert!((1..=2).contains(&queued), "{queued} rollup messages for {LIKES} likes");
    assert_eq!(app.run_jobs().await, queued);
    let item = post_item(&app, &post).await;
    let rollups: usize = item["like_rollups"].as_n().unwrap().parse().unwrap();
    assert!((1..=queued).contains(&rollups), "{rollups} rollup writes for {queued} messages");
    assert_eq!(item["like_version"], n(LIKES));
    assert_eq!(app.get(&format!("/v1/posts/{post}")).await.json()["like_count"], LIKES);
    assert_eq!(queue_depth(&app.state.sqs, &app.jobs_dead_letters).await, 0);
    app.drop_table().await;
}

#[tokio::test]
async fn a_rollup_of_older_counters_never_overwrites_a_newer_count() {
    let app = TestApp::with_own_table("test-rollup").await;
    let author = app.user().await;
    let post = app.create_post(&author, "raced").await["id"].as_str().unwrap().to_owned();
    let post_id = app::models::PostId::parse(&post).unwrap();
    for fan in app.users(2).await {
        app.call(Method::PUT, &format!("/v1/posts/{post}/like"), &[fan.auth()], None).await;
    }
    app.run_jobs().await;
    assert_eq!(app.get(&format!("/v1/posts/{post}")).await.json()["like_count"], 2);

    // Another rollup wrote a newer version first (as one that read the counters later and finished sooner would).
    let update = app.state.store.client().update_item().table_name(app.state.store.table());
    update
        .set_key(Some(key(format!("POST#{post}"), "POST")))
        .update_expression("SET like_count = :count, like_version = :version")
        .expression_attribute_values(":count", n(7))
        .expression_attribute_values(":version", n(100))
        .send()
        .await
        .unwrap();
    let rollup = app.state.store.rollup_likes(post_id).await.unwrap();
    assert_eq!((rollup.count, rollup.version, rollup.written), (2, 2, false));
    assert_eq!(app.get(&format!("/v1/posts/{post}")).await.json()["like_count"], 7, "the newer count stays");
    app.drop_table().await;
}

#[tokio::test]
async fn lists_show_the_rolled_up_count_too() {
    let app = TestApp::with_own_table("test-rollup").await;
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
    app.drop_table().await;
}

#[tokio::test]
async fn the_latest_copy_is_found_after_latest_shards_changes() {
    let app = TestApp::with_own_table("test-rollup").await;
    let author = app.user().await;
    let post = app.create_post(&author, "made with 16 shards").await["id"].as_str().unwrap().to_owned();
    // The same table, served with more latest-index shards: the post's entry stays where it was written.
    let wider = TestApp::with_config(|config| {
        config.table = app.state.store.table().to_owned();
        config.latest_shards = kit::shard::ShardCount::new(64).unwrap();
    })
    .await;
    let fan = app.user().await;
    wider.call(Method::PUT, &format!("/v1/posts/{post}/like"), &[fan.auth()], None).await;
    wider.run_jobs().await;
    let stored = post_item(&app, &post).await;
    let sk = format!("{}#{post}", app::models::PostId::parse(&post).unwrap().created_at());
    let entry_key = key(stored["latest_pk"].as_s().unwrap(), sk);
    let entry = || async {
        let read = app.state.store.client().get_item().table_name(app.state.store.table());
        read.set_key(Some(entry_key.clone())).consistent_read(true).send().await.unwrap().item
    };
    assert_eq!(entry().await.unwrap()["like_count"], n(1), "the rollup updated the entry the post was written to");
    let deleted = wider.call(Method::DELETE, &format!("/v1/posts/{post}"), &[author.auth()], None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(entry().await.is_none(), "the delete removed the entry the post was written to");
    app.drop_table().await;
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
