use axum::http::{Method, StatusCode};
use serde_json::json;
use stampede_tests::{TestApp, TestUser, unique_handle};

#[tokio::test]
async fn the_caller_creates_their_own_profile_once() {
    let app = TestApp::new().await;
    let caller = TestUser::stranger();
    let handle = unique_handle("Ada");
    let created = app
        .call(Method::POST, "/v1/users", &[caller.auth()], Some(json!({"handle": handle, "display_name": " Ada L. "})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("cache-control"), "private, no-store");
    let user = created.json();
    assert_eq!(user["handle"], handle.to_lowercase());
    assert_eq!(user["display_name"], "Ada L.");
    let location = format!("/v1/users/{}", user["id"].as_str().unwrap());
    assert_eq!(created.header("location"), location);
    assert_eq!(created.header("x-invalidates"), format!("{location}, {location}/posts"), "404s the edge may keep");

    let fetched = app.get(created.header("location")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), user);
    assert!(fetched.header("cache-control").starts_with("public"));
    assert!(fetched.header("cache-control").contains("s-maxage="));

    // One profile per identity, whatever the handle.
    let again = app
        .call(
            Method::POST,
            "/v1/users",
            &[caller.auth()],
            Some(json!({"handle": unique_handle("b"), "display_name": "B"})),
        )
        .await;
    again.assert_problem(409, "profile-exists");
    let me = app.call(Method::GET, "/v1/users/me", &[caller.auth()], None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.header("cache-control"), "private, no-store");
    assert_eq!(me.json(), user);
}

#[tokio::test]
async fn a_profile_needs_a_token() {
    let app = TestApp::new().await;
    let body = json!({"handle": unique_handle("anon"), "display_name": "Anon"});
    let response = app.call(Method::POST, "/v1/users", &[], Some(body)).await;
    response.assert_problem(401, "unauthenticated");
    app.get("/v1/users/me").await.assert_problem(401, "unauthenticated");
    let stranger = TestUser::stranger();
    app.call(Method::GET, "/v1/users/me", &[stranger.auth()], None).await.assert_problem(403, "profile-required");
}

#[tokio::test]
async fn only_the_owner_renames_their_profile() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let renamed =
        app.call(Method::PATCH, "/v1/users/me", &[user.auth()], Some(json!({"display_name": " Grace H. "}))).await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.json()["display_name"], "Grace H.");
    assert_eq!(renamed.header("x-invalidates"), format!("/v1/users/{}", user.id));
    assert_eq!(app.get(&format!("/v1/users/{}", user.id)).await.json()["display_name"], "Grace H.");

    let invalid = app.call(Method::PATCH, "/v1/users/me", &[user.auth()], Some(json!({"display_name": ""}))).await;
    assert_eq!(invalid.assert_problem(422, "validation")["errors"][0]["field"], "display_name");
    let handle = app.call(Method::PATCH, "/v1/users/me", &[user.auth()], Some(json!({"handle": "new_handle"}))).await;
    handle.assert_problem(422, "validation");
    let anonymous = app.call(Method::PATCH, "/v1/users/me", &[], Some(json!({"display_name": "X"}))).await;
    anonymous.assert_problem(401, "unauthenticated");
    let path = format!("/v1/users/{}", user.id);
    let elsewhere = app.call(Method::PATCH, &path, &[user.auth()], Some(json!({"display_name": "X"}))).await;
    elsewhere.assert_problem(405, "method-not-allowed");
}

#[tokio::test]
async fn handles_are_unique_regardless_of_case() {
    let app = TestApp::new().await;
    let handle = unique_handle("dup");
    let first = app
        .call(
            Method::POST,
            "/v1/users",
            &[TestUser::stranger().auth()],
            Some(json!({"handle": handle, "display_name": "One"})),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = app
        .call(
            Method::POST,
            "/v1/users",
            &[TestUser::stranger().auth()],
            Some(json!({"handle": handle.to_uppercase(), "display_name": "Two"})),
        )
        .await;
    let problem = second.assert_problem(409, "handle-taken");
    assert!(problem["detail"].as_str().unwrap().contains(&handle));
}

#[tokio::test]
async fn invalid_fields_are_all_reported() {
    let app = TestApp::new().await;
    let caller = TestUser::stranger();
    let response =
        app.call(Method::POST, "/v1/users", &[caller.auth()], Some(json!({"handle": "x", "display_name": ""}))).await;
    let problem = response.assert_problem(422, "validation");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["handle", "display_name"]);
}

#[tokio::test]
async fn wrong_shapes_are_rejected_with_problems() {
    let app = TestApp::new().await;
    let caller = TestUser::stranger();
    let headers = [caller.auth()];
    let post = |body| app.call(Method::POST, "/v1/users", &headers, Some(body));
    let missing = post(json!({"handle": unique_handle("x")})).await;
    assert!(missing.assert_problem(422, "validation")["detail"].as_str().unwrap().contains("display_name"));
    let unknown = post(json!({"handle": unique_handle("x"), "display_name": "X", "admin": true})).await;
    unknown.assert_problem(422, "validation");
    let wrong_type = post(json!({"handle": 7, "display_name": "X"})).await;
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
