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
