use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use stampede_tests::{TestApp, TestUser};

#[tokio::test]
async fn create_then_get_a_post() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let created =
        app.call(Method::POST, "/v1/posts", &[author.auth()], Some(json!({"body": "  hello\nworld  "}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("cache-control"), "private, no-store");
    let location = created.header("location");
    assert_eq!(created.header("x-invalidates"), format!("/v1/posts, /v1/users/{}/posts, {location}", author.id));
    let post = created.json();
    assert_eq!(post["body"], "hello\nworld");
    assert_eq!(post["author_id"], author.id.as_str());
    assert_eq!(post["like_count"], 0);

    let fetched = app.get(created.header("location")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), post);
    assert!(fetched.header("cache-control").starts_with("public"));
}

#[tokio::test]
async fn posting_needs_a_token_and_a_profile() {
    let app = TestApp::new().await;
    let missing = app.call(Method::POST, "/v1/posts", &[], Some(json!({"body": "hi"}))).await;
    missing.assert_problem(401, "unauthenticated");
    assert_eq!(missing.header("www-authenticate"), "Bearer");
    let stranger = TestUser::stranger();
    let response = app.call(Method::POST, "/v1/posts", &[stranger.auth()], Some(json!({"body": "hi"}))).await;
    let problem = response.assert_problem(403, "profile-required");
    assert!(problem["title"].as_str().unwrap().contains("POST /v1/users"), "{problem}");
}

#[tokio::test]
async fn post_bodies_are_validated() {
    let app = TestApp::new().await;
    let author = app.user().await;
    for body in ["", "   ", &"x".repeat(501), "bell\u{7}"] {
        let response = app.call(Method::POST, "/v1/posts", &[author.auth()], Some(json!({"body": body}))).await;
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

/// The ids of the posts of a list (one page of up to 100).
async fn ids(app: &TestApp, path: &str) -> Vec<String> {
    let page = app.get(path).await.json();
    page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

/// Whether the global latest feed holds `post` (walking it until the post's position is passed).
async fn in_latest(app: &TestApp, post: &Value) -> bool {
    let mut path = "/v1/posts?limit=100".to_owned();
    loop {
        let page = app.get(&path).await.json();
        let items = page["items"].as_array().unwrap();
        if items.iter().any(|p| p["id"] == post["id"]) {
            return true;
        }
        let passed = items.last().is_some_and(|last| last["created_at"].as_str() < post["created_at"].as_str());
        match page["next_cursor"].as_str() {
            Some(cursor) if !passed => path = format!("/v1/posts?limit=100&cursor={cursor}"),
            _ => return false,
        }
    }
}

#[tokio::test]
async fn only_the_author_deletes_a_post_and_it_leaves_every_list() {
    let app = TestApp::new().await;
    let (author, other) = (app.user().await, app.user().await);
    let post = app.create_post(&author, "delete me").await;
    let path = format!("/v1/posts/{}", post["id"].as_str().unwrap());
    let timeline = format!("/v1/users/{}/posts", author.id);
    assert!(in_latest(&app, &post).await);

    let refused = app.call(Method::DELETE, &path, &[other.auth()], None).await;
    assert_eq!(refused.assert_problem(403, "not-owner")["detail"], "this post belongs to another user");
    app.call(Method::DELETE, &path, &[TestUser::stranger().auth()], None).await.assert_problem(403, "profile-required");
    app.call(Method::DELETE, &path, &[], None).await.assert_problem(401, "unauthenticated");
    assert_eq!(app.get(&path).await.status, StatusCode::OK, "refused deletes changed nothing");

    let deleted = app.call(Method::DELETE, &path, &[author.auth()], None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.header("x-invalidates"), format!("{path}, {timeline}, /v1/posts"));
    app.get(&path).await.assert_problem(404, "not-found");
    assert_eq!(ids(&app, &timeline).await, Vec::<String>::new());
    assert!(!in_latest(&app, &post).await, "gone from the latest feed");
    app.call(Method::DELETE, &path, &[author.auth()], None).await.assert_problem(404, "not-found");
    let like = app.call(Method::PUT, &format!("{path}/like"), &[other.auth()], None).await;
    like.assert_problem(404, "not-found");
}
