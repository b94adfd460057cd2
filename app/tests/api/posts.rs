use axum::http::{Method, StatusCode};
use serde_json::json;
use stampede_tests::TestApp;

#[tokio::test]
async fn create_then_get_a_post() {
    let app = TestApp::new().await;
    let user = app.create_user().await;
    let author = user["id"].as_str().unwrap();
    let created =
        app.call(Method::POST, "/v1/posts", &[("x-user-id", author)], Some(json!({"body": "  hello\nworld  "}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("cache-control"), "private, no-store");
    let post = created.json();
    assert_eq!(post["body"], "hello\nworld");
    assert_eq!(post["author_id"], author);
    assert_eq!(post["like_count"], 0);

    let fetched = app.get(created.header("location")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), post);
    assert!(fetched.header("cache-control").starts_with("public"));
}

#[tokio::test]
async fn writes_need_an_acting_user() {
    let app = TestApp::new().await;
    let missing = app.call(Method::POST, "/v1/posts", &[], Some(json!({"body": "hi"}))).await;
    missing.assert_problem(401, "unauthenticated");
    assert_eq!(missing.header("www-authenticate"), "Bearer");
    let garbage = app.call(Method::POST, "/v1/posts", &[("x-user-id", "root")], Some(json!({"body": "hi"}))).await;
    garbage.assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn posting_needs_a_profile() {
    let app = TestApp::new().await;
    let stranger = ulid::Ulid::generate().to_string();
    let response = app.call(Method::POST, "/v1/posts", &[("x-user-id", &stranger)], Some(json!({"body": "hi"}))).await;
    response.assert_problem(422, "profile-required");
}

#[tokio::test]
async fn post_bodies_are_validated() {
    let app = TestApp::new().await;
    let user = app.create_user().await;
    let author = user["id"].as_str().unwrap();
    for body in ["", "   ", &"x".repeat(501), "bell\u{7}"] {
        let response = app.call(Method::POST, "/v1/posts", &[("x-user-id", author)], Some(json!({"body": body}))).await;
        let problem = response.assert_problem(422, "validation");
        assert_eq!(problem["errors"][0]["field"], "body");
    }
}

#[tokio::test]
async fn unknown_post_is_404() {
    let app = TestApp::new().await;
    app.get(&format!("/v1/posts/{}", ulid::Ulid::generate())).await.assert_problem(404, "not-found");
    app.get("/v1/posts/12345").await.assert_problem(404, "not-found");
}
