use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use kit::config::Secret;
use stampede_tests::{TestApp, TestUser};

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::new().await;
    let response = app.get("/v2/nothing/here").await;
    let problem = response.assert_problem(404, "not-found");
    assert_eq!(problem["detail"], "no route for GET /v2/nothing/here");
    assert!(!response.header("x-request-id").is_empty());
}

#[tokio::test]
async fn wrong_method_is_a_405_problem_with_allow() {
    let app = TestApp::new().await;
    let response = app.call(Method::PATCH, "/v1/posts", &[], None).await;
    response.assert_problem(405, "method-not-allowed");
    let allow = response.header("allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
}

/// A POST /v1/users request from a caller with a valid token.
fn new_user_request(content_type: &str, body: impl Into<Body>) -> Request<Body> {
    let caller = TestUser::stranger();
    Request::post("/v1/users")
        .header("content-type", content_type)
        .header("authorization", &caller.authorization)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::new().await;
    app.send(new_user_request("application/json", "{\"handle\":")).await.assert_problem(400, "malformed-json");
}

#[tokio::test]
async fn non_json_content_type_is_a_415_problem() {
    let app = TestApp::new().await;
    app.send(new_user_request("text/plain", "hi")).await.assert_problem(415, "unsupported-media-type");
}

#[tokio::test]
async fn oversized_body_is_a_413_problem() {
    let app = TestApp::new().await;
    let huge = format!("{{\"handle\":\"{}\",\"display_name\":\"x\"}}", "a".repeat(app.state.config.max_body_bytes));
    app.send(new_user_request("application/json", huge)).await.assert_problem(413, "payload-too-large");
}

#[tokio::test]
async fn head_is_served_for_get_routes() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let response = app.call(Method::HEAD, &format!("/v1/users/{}", user.id), &[], None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.is_empty());
}

#[tokio::test]
async fn with_an_edge_secret_only_requests_carrying_it_are_answered() {
    const SECRET: &str = "edge-secret-for-this-test-0123456789";
    let app = TestApp::with_config(|config| config.edge_secret = Some(SECRET.parse::<Secret>().unwrap().into())).await;
    let problem = app.get("/v1/posts").await.assert_problem(403, "forbidden");
    assert_eq!(problem["detail"], "this API only answers requests that come through its edge");
    let forged =
        app.call(Method::GET, "/v1/posts", &[("x-edge-secret", "guess-0123456789-0123456789-0123456789")], None);
    forged.await.assert_problem(403, "forbidden");
    let unknown = app.call(Method::GET, "/v2/nothing", &[], None).await;
    unknown.assert_problem(403, "forbidden");

    let through_the_edge = app.call(Method::GET, "/v1/posts", &[("x-edge-secret", SECRET)], None).await;
    assert_eq!(through_the_edge.status, StatusCode::OK);
}
