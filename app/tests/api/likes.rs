use axum::http::{Method, StatusCode};
use stampede_tests::TestApp;

/// The like count GET post shows once the rollup jobs have run.
async fn like_count(app: &TestApp, post: &str) -> i64 {
    app.run_jobs().await;
    app.get(&format!("/v1/posts/{post}")).await.json()["like_count"].as_i64().unwrap()
}

#[tokio::test]
async fn one_like_per_user_and_unlike_is_idempotent() {
    let app = TestApp::new().await;
    let author = app.create_user().await["id"].as_str().unwrap().to_owned();
    let fan = app.create_user().await["id"].as_str().unwrap().to_owned();
    let post = app.create_post(&author, "like me").await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/posts/{post}/like");

    for _ in 0..2 {
        let response = app.call(Method::PUT, &path, &[("x-user-id", &fan)], None).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT);
        assert_eq!(response.header("cache-control"), "private, no-store");
    }
    assert_eq!(like_count(&app, &post).await, 1);

    app.call(Method::PUT, &path, &[("x-user-id", &author)], None).await;
    assert_eq!(like_count(&app, &post).await, 2);

    for _ in 0..2 {
        let response = app.call(Method::DELETE, &path, &[("x-user-id", &fan)], None).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(like_count(&app, &post).await, 1);
}

#[tokio::test]
async fn liking_needs_a_post_and_a_user() {
    let app = TestApp::new().await;
    let fan = app.create_user().await["id"].as_str().unwrap().to_owned();
    let missing = format!("/v1/posts/{}/like", ulid::Ulid::generate());
    app.call(Method::PUT, &missing, &[("x-user-id", &fan)], None).await.assert_problem(404, "not-found");
    app.call(Method::DELETE, &missing, &[("x-user-id", &fan)], None).await.assert_problem(404, "not-found");
    app.call(Method::PUT, &missing, &[], None).await.assert_problem(401, "unauthenticated");
}
