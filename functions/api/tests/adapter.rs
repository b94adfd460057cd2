//! The Lambda adapter: Function URL, API Gateway REST (v1) and HTTP API (v2) events (on the `$default` stage
//! and on a named one, whose name AWS puts in the path) and ALB events, as AWS sends them, through the same
//! `lambda_http` adapter `lambda_http::run` uses and `api::handler`, into `app::router` against the emulator;
//! the JSON the function would return to AWS is checked (status, headers, body, base64 flag).

use lambda_http::{Adapter, Context, LambdaEvent, request::LambdaRequest};
use serde_json::{Value, json};
use stampede_tests::TestUser;
use tower::ServiceExt;

/// Invokes the api function's handler with `event` and returns the response JSON sent back to AWS.
async fn invoke(event: Value) -> Value {
    let state = stampede_tests::emulator_state().await;
    let request: LambdaRequest = serde_json::from_value(event).expect("a valid Lambda HTTP event");
    let handler = Adapter::from(api::handler(app::router(state)));
    let response = handler.oneshot(LambdaEvent::new(request, Context::default())).await.unwrap();
    serde_json::to_value(response).unwrap()
}

fn event(template: &str, replacements: &[(&str, &str)]) -> Value {
    let mut text = template.to_owned();
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

fn body_json(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a text body")).unwrap()
}

/// Asserts that `response` is the 404 of a route that matched but found nothing, not of a path no route has.
fn assert_not_found_by_the_route(response: &Value, what: &str) {
    assert_eq!(response["statusCode"], 404, "{response}");
    let detail = body_json(response)["detail"].as_str().unwrap().to_owned();
    assert!(detail.starts_with(&format!("no {what} has the id")), "the route must have matched: {detail}");
}

fn base64(text: &str) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    STANDARD.encode(text)
}

/// Creates a post through `fixture` (a base64 JSON body on a named stage); returns the post.
async fn create_post_on_a_stage(fixture: &str, author: &TestUser, text: &str) -> Value {
    let key = ulid::Ulid::generate().to_string();
    let body = base64(&json!({ "body": text }).to_string());
    let replacements =
        [("AUTHORIZATION", author.authorization.as_str()), ("IDEMPOTENCY_KEY", &key), ("BODY_BASE64", &body)];
    let response = invoke(event(fixture, &replacements)).await;
    assert_eq!(response["statusCode"], 201, "{response}");
    let post = body_json(&response);
    assert_eq!(post["body"], text, "the base64 body is decoded");
    post
}

/// Creates a profile for a new identity through an API Gateway event; returns the profile and the identity.
async fn create_user_via_api_gateway() -> (Value, TestUser) {
    let caller = TestUser::stranger();
    let handle = stampede_tests::unique_handle("apigw");
    let replacements = [("HANDLE", handle.as_str()), ("AUTHORIZATION", &caller.authorization)];
    let response = invoke(event(include_str!("events/apigw_v2_create_user.json"), &replacements)).await;
    assert_eq!(response["statusCode"], 201, "{response}");
    assert_eq!(response["isBase64Encoded"], false);
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(response["headers"]["cache-control"], "private, no-store");
    let user = body_json(&response);
    assert_eq!(user["handle"], handle);
    assert_eq!(response["headers"]["location"], format!("/v1/users/{}", user["id"].as_str().unwrap()));
    (user, caller)
}

#[tokio::test]
async fn api_gateway_v2_post_creates_a_user() {
    let (user, _) = create_user_via_api_gateway().await;
    assert_eq!(user["display_name"], "From API Gateway");
}

#[tokio::test]
async fn function_url_get_returns_cacheable_json() {
    let (user, _) = create_user_via_api_gateway().await;
    let path = format!("/v1/users/{}", user["id"].as_str().unwrap());
    let response = invoke(event(include_str!("events/function_url_get.json"), &[("PATH", &path)])).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(response["headers"]["cache-control"].as_str().unwrap().contains("s-maxage="));
    assert_eq!(body_json(&response), user);
}

#[tokio::test]
async fn function_url_query_string_reaches_the_router() {
    let (user, _) = create_user_via_api_gateway().await;
    let path = format!("/v1/users/{}/posts", user["id"].as_str().unwrap());
    let response = invoke(event(include_str!("events/function_url_get.json"), &[("PATH", &path)])).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(body_json(&response), json!({"items": []}));
}

#[tokio::test]
async fn function_url_base64_body_and_idempotent_retry() {
    let (_, author) = create_user_via_api_gateway().await;
    let body = base64(r#"{"body":"sent through a Function URL"}"#);
    let key = ulid::Ulid::generate().to_string();
    let replacements =
        [("AUTHORIZATION", author.authorization.as_str()), ("IDEMPOTENCY_KEY", &key), ("BODY_BASE64", &body)];
    let first = invoke(event(include_str!("events/function_url_post_base64.json"), &replacements)).await;
    assert_eq!(first["statusCode"], 201, "{first}");
    assert_eq!(body_json(&first)["body"], "sent through a Function URL");
    let retry = invoke(event(include_str!("events/function_url_post_base64.json"), &replacements)).await;
    assert_eq!(retry["statusCode"], 201);
    assert_eq!(retry["headers"]["idempotent-replayed"], "true");
    assert_eq!(body_json(&retry), body_json(&first));
}

#[tokio::test]
async fn errors_are_problem_json_through_lambda() {
    let missing = invoke(event(include_str!("events/function_url_get.json"), &[("PATH", "/v1/nowhere")])).await;
    assert_eq!(missing["statusCode"], 404);
    assert_eq!(missing["headers"]["content-type"], "application/problem+json");
    assert_eq!(body_json(&missing)["type"], "/problems/not-found");

    let caller = TestUser::stranger();
    let replacements = [("HANDLE", "x"), ("AUTHORIZATION", caller.authorization.as_str())];
    let mut malformed = event(include_str!("events/apigw_v2_create_user.json"), &replacements);
    malformed["body"] = json!("{not json");
    let response = invoke(malformed).await;
    assert_eq!(response["statusCode"], 400);
    assert_eq!(body_json(&response)["type"], "/problems/malformed-json");
}

#[tokio::test]
async fn rest_api_stage_serves_the_routes_with_multi_value_query_strings() {
    let (user, _) = create_user_via_api_gateway().await;
    let id = user["id"].as_str().unwrap();
    let fixture = include_str!("events/apigw_v1_stage_get_posts.json");
    let page = invoke(event(fixture, &[("USER_ID", id), ("LIMIT", "2")])).await;
    assert_eq!(page["statusCode"], 200, "{page}");
    assert_eq!(body_json(&page), json!({"items": []}));

    let bad_limit = invoke(event(fixture, &[("USER_ID", id), ("LIMIT", "0")])).await;
    assert_eq!(bad_limit["statusCode"], 422, "{bad_limit}");
    assert_eq!(body_json(&bad_limit)["errors"][0]["field"], "limit");

    let bad_id = invoke(event(fixture, &[("USER_ID", "not-an-id"), ("LIMIT", "2")])).await;
    assert_not_found_by_the_route(&bad_id, "user");
}

#[tokio::test]
async fn rest_api_stage_decodes_a_base64_json_body() {
    let (user, author) = create_user_via_api_gateway().await;
    let post =
        create_post_on_a_stage(include_str!("events/apigw_v1_stage_post_base64.json"), &author, "via REST").await;
    assert_eq!(post["author_id"], user["id"]);
}

#[tokio::test]
async fn http_api_named_stage_serves_the_routes() {
    let (_, author) = create_user_via_api_gateway().await;
    let post = create_post_on_a_stage(include_str!("events/apigw_v2_stage_post_base64.json"), &author, "via v2").await;
    let fixture = include_str!("events/apigw_v2_stage_get.json");
    let read = invoke(event(fixture, &[("POST_ID", post["id"].as_str().unwrap())])).await;
    assert_eq!(read["statusCode"], 200, "{read}");
    assert_eq!(body_json(&read)["body"], "via v2");

    let bad_id = invoke(event(fixture, &[("POST_ID", "not-an-id")])).await;
    assert_not_found_by_the_route(&bad_id, "post");
}

#[tokio::test]
async fn alb_multi_value_event_serves_the_routes() {
    let (user, _) = create_user_via_api_gateway().await;
    let response =
        invoke(event(include_str!("events/alb_get_user.json"), &[("USER_ID", user["id"].as_str().unwrap())])).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(body_json(&response), user);
}
