//! A viral post against DynamoDB's limits: 10 000 likes on one post from 10 000 users, concurrently, with the
//! emulator's per-partition throughput scaled down 100× (about 100 likes/s here stand for a viral post's 10 000
//! likes/s on DynamoDB) and transactions holding their items as DynamoDB's do. Nobody is throttled or conflicts,
//! and the count converges to exactly 10 000. The same load written the way likes used to be (one transaction
//! per like that checks the post item and adds to a counter shard, membership in the post's partition) is
//! throttled. Figures are printed: likes/s, the hottest partition's share of write units, rollup writes per
//! 1 000 likes. Its own test binary and its own tables: this load would slow every other suite's requests.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use axum::http::{Method, StatusCode};
use futures::{StreamExt, stream};
use kit::dynamo::{DynamoError, Expr, Transaction, key, n, s, transact_write, tx_check, tx_put, tx_update};
use serde_json::{Value, json};
use stampede_tests::{TestApp, pushback, pushback_report};

const LIKES: usize = 10_000;
const CONCURRENCY: usize = 64;
/// DynamoDB's per-partition limits (1 000 WCU/s, 3 000 RCU/s) times this.
const SCALE: f64 = 0.01;
const TRANSACTION_HOLD_MS: u64 = 10;

fn pushback_on(table: &str) -> Value {
    json!({"table": table, "scale": SCALE, "transaction_hold_ms": TRANSACTION_HOLD_MS})
}

/// The partition with the most write units, its share of all write units, and the throttled requests.
async fn hottest_partition(table: &str) -> (String, f64, f64) {
    let report = pushback_report(table).await;
    let units = |p: &Value| p["write_units"].as_f64().unwrap_or(0.0);
    let total: f64 = report.values().map(units).sum();
    let (name, hottest) = report.iter().max_by(|a, b| units(a.1).total_cmp(&units(b.1))).unwrap();
    let throttled = report.values().map(|p| p["throttled_requests"].as_f64().unwrap_or(0.0)).sum();
    (name.clone(), units(hottest) / total, throttled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_likes_on_one_post_under_dynamodbs_limits() {
    let app = TestApp::with_own_table("test-hot-key").await;
    let table = app.state.store.table().to_owned();
    let author = app.user().await;
    let post = app.create_post(&author, "going viral").await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/posts/{post}/like");
    let fans = app.users(LIKES).await;
    app.run_stream().await; // past the profiles' records: the counter below reads likes as they come
    pushback(pushback_on(&table)).await;

    // The like counter and the rollups run alongside, a batch a second, as their event source mappings would.
    let done = AtomicBool::new(false);
    let counter = async {
        while !done.load(Ordering::Relaxed) {
            app.run_stream_batch().await;
            app.drain(&app.jobs_queue).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let started = Instant::now();
    let likes = async {
        let statuses: Vec<StatusCode> = stream::iter(fans)
            .map(|fan| {
                let (app, path) = (app.clone(), path.clone());
                async move { app.call(Method::PUT, &path, &[fan.auth()], None).await.status }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        done.store(true, Ordering::Relaxed);
        (statuses, started.elapsed())
    };
    let ((statuses, elapsed), ()) = tokio::join!(likes, counter);
    let refused: Vec<&StatusCode> = statuses.iter().filter(|s| **s != StatusCode::NO_CONTENT).collect();
    assert!(refused.is_empty(), "{} likes refused: {:?}", refused.len(), &refused[..refused.len().min(10)]);

    let settle = Instant::now();
    app.run_jobs().await;
    let post_id = app::models::PostId::parse(&post).unwrap();
    assert_eq!(app.state.store.count_likes(post_id).await.unwrap(), (LIKES as i64, LIKES as i64));
    assert_eq!(app.get(&format!("/v1/posts/{post}")).await.json()["like_count"], LIKES);
    let read =
        app.state.store.client().get_item().table_name(&table).set_key(Some(key(format!("POST#{post}"), "POST")));
    let item = read.send().await.unwrap().item.unwrap();
    let rollups: f64 = item["like_rollups"].as_n().unwrap().parse().unwrap();
    let (hottest, share, throttled) = hottest_partition(&table).await;
    println!(
        "new design: {LIKES} likes in {elapsed:.1?} ({:.0} likes/s on one post, {CONCURRENCY} at a time, through the \
         router against the emulator at {SCALE}× DynamoDB's partition limits); counted {:.1?} after the last; \
         {throttled} throttled requests; hottest partition {hottest} with {share:.4} of the write units; \
         {:.1} rollup writes per 1 000 likes",
        LIKES as f64 / elapsed.as_secs_f64(),
        settle.elapsed(),
        rollups * 1000.0 / LIKES as f64,
    );
    assert_eq!(throttled, 0.0, "nothing may be throttled");
    pushback(json!({"table": table, "off": true})).await;
    app.drop_table().await;

    // The same load, written as likes were before: it is throttled (and conflicts) where the new one was not.
    let old = TestApp::with_own_table("test-hot-key-old").await;
    let old_table = old.state.store.table().to_owned();
    let author = old.user().await;
    let post = old.create_post(&author, "going viral, the old way").await["id"].as_str().unwrap().to_owned();
    pushback(pushback_on(&old_table)).await;
    let started = Instant::now();
    let outcomes: Vec<Outcome> =
        stream::iter(0..LIKES).map(|_| like_as_before(&old, &post)).buffer_unordered(CONCURRENCY).collect().await;
    let count = |kind: Outcome| outcomes.iter().filter(|o| **o == kind).count();
    let (hottest, share, throttled_requests) = hottest_partition(&old_table).await;
    println!(
        "old design, same load: {} of {LIKES} likes committed, {} throttled, {} conflicting, in {:.1?} \
         ({throttled_requests} throttled requests); hottest partition {hottest} with {share:.4} of the write units",
        count(Outcome::Committed),
        count(Outcome::Throttled),
        count(Outcome::Conflicting),
        started.elapsed(),
    );
    assert!(count(Outcome::Throttled) > LIKES / 2, "the old design must show the throttling the new one avoids");
    pushback(json!({"table": old_table, "off": true})).await;
    old.drop_table().await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Committed,
    Throttled,
    Conflicting,
}

/// One like the way Stampede wrote it before the stream-fed counter: a transaction that checks the post item,
/// puts the membership item in the post's partition and adds 1 to one of 16 counter shards, retried (by
/// `transact_write`) while it conflicts.
async fn like_as_before(app: &TestApp, post: &str) -> Outcome {
    let table = app.state.store.table();
    let user = ulid::Ulid::generate();
    let shard = user.random() % 16;
    let mut membership = key(format!("POST#{post}"), format!("LIKE#{user}"));
    membership.insert("entity".into(), s("like"));
    let request = app
        .state
        .store
        .client()
        .transact_write_items()
        .transact_items(tx_check(table, key(format!("POST#{post}"), "POST"), "attribute_exists(pk)", Expr::new()))
        .transact_items(tx_put(table, membership, Some("attribute_not_exists(pk)"), Expr::new()))
        .transact_items(tx_update(
            table,
            key(format!("POST#{post}#LIKES#{shard}"), "COUNT"),
            "ADD likes :one",
            None,
            Expr::new().value(":one", n(1)),
        ));
    match transact_write(request).await {
        Ok(Transaction::Committed) => Outcome::Committed,
        Ok(other) => panic!("a fresh like failed a condition: {other:?}"),
        Err(DynamoError::Contended) => Outcome::Conflicting,
        Err(err) if err.to_string().contains("TransactionConflict") => Outcome::Conflicting,
        Err(err) if err.is_overload() => Outcome::Throttled,
        Err(err) => panic!("unexpected: {err}"),
    }
}
