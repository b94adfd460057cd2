use axum::http::{Method, StatusCode};
use stampede_tests::{TestApp, TestUser};

/// The like count GET post shows once the rollup jobs have run.
async fn like_count(app: &TestApp, post: &str) -> i64 {
    app.run_jobs().await;
    app.get(&format!("/v1/posts/{post}")).await.json()["like_count"].as_i64().unwrap()
}

#[tokio::test]
async fn one_like_per_user_and_unlike_is_idempotent() {
    let app = TestApp::with_own_table("test-likes").await;
    let (author, fan) = (app.user().await, app.user().await);
    let post = app.create_post(&author, "like me").await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/posts/{post}/like");

    for _ in 0..2 {
        let response = app.call(Method::PUT, &path, &[fan.auth()], None).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT);
        assert_eq!(response.header("cache-control"), "private, no-store");
    }
    assert_eq!(like_count(&app, &post).await, 1);

    app.call(Method::PUT, &path, &[author.auth()], None).await;
    assert_eq!(like_count(&app, &post).await, 2);

    for _ in 0..2 {
        let response = app.call(Method::DELETE, &path, &[fan.auth()], None).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(like_count(&app, &post).await, 1);
    app.drop_table().await;
}

#[tokio::test]
async fn liking_needs_a_post_a_token_and_a_profile() {
    let app = TestApp::with_own_table("test-likes").await;
    let fan = app.user().await;
    let missing = format!("/v1/posts/{}/like", ulid::Ulid::generate());
    app.call(Method::PUT, &missing, &[fan.auth()], None).await.assert_problem(404, "not-found");
    app.call(Method::DELETE, &missing, &[fan.auth()], None).await.assert_problem(404, "not-found");
    app.call(Method::PUT, &missing, &[], None).await.assert_problem(401, "unauthenticated");

    // Tokens of identities without a profile count for nothing.
    let author = app.user().await;
    let post = app.create_post(&author, "only profiles count").await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/posts/{post}/like");
    for _ in 0..5 {
        let stranger = TestUser::stranger();
        app.call(Method::PUT, &path, &[stranger.auth()], None).await.assert_problem(403, "profile-required");
    }
    assert_eq!(like_count(&app, &post).await, 0);
    app.drop_table().await;
}
