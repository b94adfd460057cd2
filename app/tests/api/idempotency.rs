use axum::http::{Method, StatusCode};
use serde_json::json;
use stampede_tests::TestApp;

#[tokio::test]
async fn a_retried_post_replays_the_first_response() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let key = ulid::Ulid::generate().to_string();
    let headers = [author.auth(), ("idempotency-key", key.as_str())];

    let first = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": "exactly once"}))).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let second = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": "exactly once"}))).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.header("idempotent-replayed"), "true");
    assert_eq!(second.json(), first.json());
    assert_eq!(second.header("location"), first.header("location"));

    let timeline = app.get(&format!("/v1/users/{}/posts", author.id)).await.json();
    assert_eq!(timeline["items"].as_array().unwrap().len(), 1, "the retry must not create a second post");
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_rejected() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let key = ulid::Ulid::generate().to_string();
    let headers = [author.auth(), ("idempotency-key", key.as_str())];
    app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": "first"}))).await;
    let other = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": "second"}))).await;
    other.assert_problem(422, "idempotency-key-reused");
}

#[tokio::test]
async fn keys_are_scoped_per_user() {
    let app = TestApp::new().await;
    let (a, b) = (app.user().await, app.user().await);
    let key = ulid::Ulid::generate().to_string();
    let body = Some(json!({"body": "same key, different users"}));
    let first = app.call(Method::POST, "/v1/posts", &[a.auth(), ("idempotency-key", &key)], body.clone()).await;
    let second = app.call(Method::POST, "/v1/posts", &[b.auth(), ("idempotency-key", &key)], body).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert!(second.headers.get("idempotent-replayed").is_none());
    assert_ne!(first.json()["id"], second.json()["id"]);
}

#[tokio::test]
async fn invalid_keys_and_failed_requests() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let bad_key = "has spaces in it";
    let headers = [author.auth(), ("idempotency-key", bad_key)];
    let response = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": "x"}))).await;
    response.assert_problem(400, "invalid-idempotency-key");

    // A 4xx is a final answer and is replayed too: the same invalid request keeps getting the same problem.
    let key = ulid::Ulid::generate().to_string();
    let headers = [author.auth(), ("idempotency-key", key.as_str())];
    let first = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": ""}))).await;
    first.assert_problem(422, "validation");
    let again = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": ""}))).await;
    again.assert_problem(422, "validation");
    assert_eq!(again.header("idempotent-replayed"), "true");
}

#[tokio::test]
async fn every_create_honours_the_key_the_contract_names() {
    let app = TestApp::new().await;
    let stranger = stampede_tests::TestUser::stranger();
    let member = app.user().await;
    let bodies = [
        ("/v1/users", &stranger, json!({"handle": stampede_tests::unique_handle("idem"), "display_name": "Once"})),
        ("/v1/posts", &member, json!({"body": "once"})),
        ("/v1/media/uploads", &member, json!({"content_type": "image/png"})),
    ];
    assert_eq!(bodies.each_ref().map(|(path, _, _)| *path), stampede_contract::headers::IDEMPOTENT_POSTS);
    for (path, user, body) in bodies {
        let key = ulid::Ulid::generate().to_string();
        let headers = [user.auth(), ("idempotency-key", key.as_str())];
        let first = app.call(Method::POST, path, &headers, Some(body.clone())).await;
        assert_eq!(first.status, StatusCode::CREATED, "{path}: {:?}", first.body);
        let again = app.call(Method::POST, path, &headers, Some(body)).await;
        assert_eq!(again.header("idempotent-replayed"), "true", "{path}");
        assert_eq!(again.json()["id"], first.json()["id"], "{path}");
    }
}

/// A create whose write outlived its attempt: DynamoDB did not answer in time (a 503, the claim released with its
/// seed) and the write landed later. A retry while the first attempt still runs is told to wait (409, never
/// stored); the retry after it finds the post the first attempt made and answers with it. One post.
#[tokio::test]
async fn a_create_whose_write_outlived_its_attempt_is_not_made_twice() {
    let shared = stampede_tests::emulator_config().await.table;
    let db = aws_sdk_dynamodb::Client::new(&kit::aws::sdk_config().await);
    let table = stampede_tests::copy_of_table(&db, &shared, "test-idem-timeout").await;
    let app = TestApp::with_config(|config| {
        config.table = table.clone();
        config.request_timeout = std::time::Duration::from_millis(1_000); // DynamoDB calls give up at 500 ms
    })
    .await;
    let author = app.user().await;
    let key = ulid::Ulid::generate().to_string();
    let headers = [author.auth(), ("idempotency-key", key.as_str())];
    let body = json!({"body": "slow but sure"});

    // Transactions take 1.5 s: the attempt gives up at 0.5 s, its write lands at 1.5 s.
    stampede_tests::pushback(json!({"table": table, "faults": {"TransactWriteItems": {"latency_ms": 1500}}})).await;
    let first = app.call(Method::POST, "/v1/posts", &headers, Some(body.clone()));
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        app.call(Method::POST, "/v1/posts", &headers, Some(body.clone())).await
    };
    let (first, second) = tokio::join!(first, second);
    first.assert_problem(503, "unavailable");
    assert_eq!(first.header("retry-after"), "1");
    second.assert_problem(409, "request-in-progress");
    assert_eq!(second.header("retry-after"), "1");
    stampede_tests::pushback(json!({"table": table, "off": true})).await;

    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await; // the first attempt's write lands
    let retried = app.call(Method::POST, "/v1/posts", &headers, Some(body.clone())).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{:?}", retried.body);
    assert!(retried.headers.get("idempotent-replayed").is_none(), "the retry ran, and found the post");
    let replayed = app.call(Method::POST, "/v1/posts", &headers, Some(body)).await;
    assert_eq!(replayed.json()["id"], retried.json()["id"]);

    let timeline = app.get(&format!("/v1/users/{}/posts", author.id)).await.json();
    let items = timeline["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one post, not two: {items:?}");
    assert_eq!(items[0]["id"], retried.json()["id"]);
    app.drop_table().await;
}
