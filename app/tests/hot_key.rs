//! A viral post: 10 000 likes from 10 000 users, concurrently. The count must be exact and the writes spread
//! evenly over the counter shards (no shard above 1.25/N of the likes). A test binary of its own (cargo runs
//! binaries one after another, so this load does not slow other suites' requests into timeouts) on a table of
//! its own (its 40 000 items would slow every later index query on the emulator's shared table).

use axum::http::{Method, StatusCode};
use futures::{StreamExt, stream};
use kit::dynamo::batch_get;
use stampede_tests::TestApp;

const LIKES: usize = 10_000;
const CONCURRENCY: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_likes_on_one_post_spread_over_every_shard() {
    let shared = stampede_tests::emulator_config().await.table;
    let db = aws_sdk_dynamodb::Client::new(&kit::aws::sdk_config().await);
    let table = stampede_tests::copy_of_table(&db, &shared, "test-hot-key").await;
    let app = TestApp::with_config(|config| config.table = table.clone()).await;
    let author = app.user().await;
    let post = app.create_post(&author, "going viral").await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/posts/{post}/like");
    let fans = app.users(LIKES).await;

    let started = std::time::Instant::now();
    let statuses: Vec<StatusCode> = stream::iter(fans)
        .map(|fan| {
            let (app, path) = (app.clone(), path.clone());
            async move { app.call(Method::PUT, &path, &[fan.auth()], None).await.status }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failed: Vec<&StatusCode> = statuses.iter().filter(|s| **s != StatusCode::NO_CONTENT).collect();
    assert!(failed.is_empty(), "{} likes failed: {:?}", failed.len(), &failed[..failed.len().min(10)]);
    println!(
        "{LIKES} likes in {elapsed:.1?} ({:.0} likes/s through the router against the emulator)",
        LIKES as f64 / elapsed.as_secs_f64()
    );

    let post_id = app::models::PostId::parse(&post).unwrap();
    assert_eq!(app.state.store.count_likes(post_id).await.unwrap(), LIKES as i64, "the shards must sum exactly");

    let shards = app.state.config.like_shards;
    let keys = shards.all().map(|s| kit::dynamo::key(format!("POST#{post}#LIKES#{s}"), "COUNT")).collect();
    let counters = batch_get(app.state.store.client(), app.state.store.table(), keys).await.unwrap();
    let counts: Vec<i64> = counters.iter().map(|c| c["likes"].as_n().unwrap().parse().unwrap()).collect();
    assert_eq!(counts.len(), shards.get() as usize, "every shard must be used");
    assert_eq!(counts.iter().sum::<i64>(), LIKES as i64);
    let max_share = *counts.iter().max().unwrap() as f64 / LIKES as f64;
    let bound = 1.25 / f64::from(shards.get());
    println!("shard counts {counts:?}; max share {max_share:.4} (bound {bound:.4})");
    assert!(max_share <= bound, "hottest shard took {max_share:.4} of the likes, above {bound:.4}");
    db.delete_table().table_name(&table).send().await.unwrap();
}
