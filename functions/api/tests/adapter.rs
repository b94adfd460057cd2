//! The Lambda adapter: API Gateway HTTP API (v2) and Function URL event JSON, as AWS sends it, through the
//! same `lambda_http` adapter `lambda_http::run` uses, into `app::router` against the emulator; the JSON the
//! function would return to AWS is checked (status, headers, body, base64 flag).

use lambda_http::{Adapter, Context, LambdaEvent, request::LambdaRequest};
use serde_json::{Value, json};
use stampede_tests::TestUser;
use tower::ServiceExt;

/// Invokes the api function's handler with `event` and returns the response JSON sent back to AWS.
async fn invoke(event: Value) -> Value {
    let state = stampede_tests::emulator_state().await;
    let request: LambdaRequest = serde_json::from_value(event).expect("a valid Lambda HTTP event");
    let handler = Adapter::from(app::router(state));
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
    use base64::{Engine, engine::general_purpose::STANDARD};
    let (_, author) = create_user_via_api_gateway().await;
    let body = STANDARD.encode(r#"{"body":"sent through a Function URL"}"#);
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
