use axum::http::{Method, StatusCode};
use serde_json::json;
use stampede_tests::{TestApp, unique_handle};

#[tokio::test]
async fn create_then_get_a_user() {
    let app = TestApp::new().await;
    let handle = unique_handle("Ada");
    let created =
        app.call(Method::POST, "/v1/users", &[], Some(json!({"handle": handle, "display_name": " Ada L. "}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("cache-control"), "private, no-store");
    let user = created.json();
    assert_eq!(user["handle"], handle.to_lowercase());
    assert_eq!(user["display_name"], "Ada L.");
    assert_eq!(created.header("location"), format!("/v1/users/{}", user["id"].as_str().unwrap()));

    let fetched = app.get(created.header("location")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), user);
    assert!(fetched.header("cache-control").starts_with("public"));
    assert!(fetched.header("cache-control").contains("s-maxage="));
}

#[tokio::test]
async fn handles_are_unique_regardless_of_case() {
    let app = TestApp::new().await;
    let handle = unique_handle("dup");
    let first = app.call(Method::POST, "/v1/users", &[], Some(json!({"handle": handle, "display_name": "One"}))).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = app
        .call(Method::POST, "/v1/users", &[], Some(json!({"handle": handle.to_uppercase(), "display_name": "Two"})))
        .await;
    let problem = second.assert_problem(409, "handle-taken");
    assert!(problem["detail"].as_str().unwrap().contains(&handle));
}

#[tokio::test]
async fn invalid_fields_are_all_reported() {
    let app = TestApp::new().await;
    let response = app.call(Method::POST, "/v1/users", &[], Some(json!({"handle": "x", "display_name": ""}))).await;
    let problem = response.assert_problem(422, "validation");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["handle", "display_name"]);
}

#[tokio::test]
async fn wrong_shapes_are_rejected_with_problems() {
    let app = TestApp::new().await;
    let missing = app.call(Method::POST, "/v1/users", &[], Some(json!({"handle": unique_handle("x")}))).await;
    assert!(missing.assert_problem(422, "validation")["detail"].as_str().unwrap().contains("display_name"));
    let unknown = app
        .call(
            Method::POST,
            "/v1/users",
            &[],
            Some(json!({"handle": unique_handle("x"), "display_name": "X", "admin": true})),
        )
        .await;
    unknown.assert_problem(422, "validation");
    let wrong_type = app.call(Method::POST, "/v1/users", &[], Some(json!({"handle": 7, "display_name": "X"}))).await;
    wrong_type.assert_problem(422, "validation");
}

#[tokio::test]
async fn unknown_and_malformed_user_ids_are_404() {
    let app = TestApp::new().await;
    let unknown = app.get(&format!("/v1/users/{}", ulid::Ulid::generate())).await;
    unknown.assert_problem(404, "not-found");
    let malformed = app.get("/v1/users/not-an-id").await;
    malformed.assert_problem(404, "not-found");
}
