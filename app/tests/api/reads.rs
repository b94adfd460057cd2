//! The in-process read cache through the router: concurrent misses of one key make one DynamoDB call, hits
//! make none, and this host's own writes are seen by its next read however long the TTL.

use std::time::Duration;

use app::store::Store;
use axum::http::{Method, StatusCode};
use futures::future::join_all;
use kit::read_cache::ReadCacheConfig;
use serde_json::json;
use stampede_tests::{DynamoCalls, TestApp};

/// Long enough that anything this test sees change was invalidated, not expired.
const LONG: ReadCacheConfig =
    ReadCacheConfig { ttl: Duration::from_secs(600), negative_ttl: Duration::from_secs(600), max_bytes: 1 << 24 };

/// An app whose store caches for [`LONG`] and counts its DynamoDB calls, on `table` or the shared one.
async fn counted_app(table: Option<String>) -> (TestApp, DynamoCalls) {
    let app = TestApp::with_config(|c| {
        c.read_cache = LONG;
        if let Some(table) = table {
            c.table = table;
        }
    })
    .await;
    let calls = DynamoCalls::default();
    let (table, shards) = (app.state.config.table.clone(), app.state.config.latest_shards);
    let store = Store::new(calls.client().await, table, shards).with_read_cache(LONG);
    (app.with_store(store), calls)
}

#[tokio::test]
async fn a_hundred_concurrent_reads_of_one_post_make_one_dynamodb_call() {
    let (app, calls) = counted_app(None).await;
    let author = app.user().await;
    let post = app.create_post(&author, "read by everyone").await;
    let path = format!("/v1/posts/{}", post["id"].as_str().unwrap());
    let before = calls.count();

    let reads = join_all((0..100).map(|_| app.get(&path))).await;
    assert!(reads.iter().all(|r| r.status == StatusCode::OK && r.json() == post));
    assert_eq!(calls.count() - before, 1, "one GetItem for 100 concurrent misses");
    let reads = join_all((0..100).map(|_| app.get(&path))).await;
    assert!(reads.iter().all(|r| r.status == StatusCode::OK));
    assert_eq!(calls.count() - before, 1, "no call for hits");

    let missing = format!("/v1/posts/{}", ulid::Ulid::generate());
    let reads = join_all((0..100).map(|_| app.get(&missing))).await;
    assert!(reads.iter().all(|r| r.status == StatusCode::NOT_FOUND));
    assert_eq!(calls.count() - before, 2, "absence is cached too");
}

#[tokio::test]
async fn this_hosts_writes_are_seen_by_its_next_read() {
    // A table of its own: the global feed's first page is this test's.
    let shared = stampede_tests::emulator_config().await.table;
    let sdk = kit::aws::sdk_config().await;
    let table = stampede_tests::copy_of_table(&aws_sdk_dynamodb::Client::new(&sdk), &shared, "test-reads").await;
    let (app, _) = counted_app(Some(table)).await;
    let author = app.user().await;
    let profile = format!("/v1/users/{}", author.id);
    let timeline = format!("{profile}/posts");
    assert_eq!(app.get(&profile).await.json()["display_name"], "Test User");
    assert_eq!(app.get(&timeline).await.json()["items"], json!([]));
    assert_eq!(app.get("/v1/posts").await.json()["items"], json!([]));

    let renamed = json!({"display_name": "Renamed"});
    assert_eq!(app.call(Method::PATCH, "/v1/users/me", &[author.auth()], Some(renamed)).await.status, 200);
    assert_eq!(app.get(&profile).await.json()["display_name"], "Renamed");

    let post = app.create_post(&author, "fresh").await;
    assert_eq!(app.get(&timeline).await.json()["items"], json!([post]));
    assert_eq!(app.get("/v1/posts").await.json()["items"], json!([post]));

    let path = format!("/v1/posts/{}", post["id"].as_str().unwrap());
    assert_eq!(app.get(&path).await.status, StatusCode::OK);
    assert_eq!(app.call(Method::DELETE, &path, &[author.auth()], None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&timeline).await.json()["items"], json!([]));
    assert_eq!(app.get("/v1/posts").await.json()["items"], json!([]));
    app.drop_table().await;
}
