//! Bearer tokens against the real local issuer's JWKS: every way a token can be wrong is a 401 problem with
//! `WWW-Authenticate: Bearer error="invalid_token"` (a missing token gets the bare challenge), and never a write.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use local_issuer::Issuer;
use serde_json::{Value, json};
use stampede_tests::{TestApp, TestUser, issuer};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// Posts as `user` would, but with `authorization`; asserts the 401 and that nothing was written.
async fn refused(app: &TestApp, user: &TestUser, authorization: &str) -> String {
    let headers = [("authorization", authorization)];
    let response = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": "must not land"}))).await;
    let problem = response.assert_problem(401, "unauthenticated");
    let timeline = app.get(&format!("/v1/users/{}/posts", user.id)).await.json();
    assert_eq!(timeline["items"], json!([]), "a refused request wrote something");
    let challenge = response.header("www-authenticate").to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(!problem["detail"].as_str().unwrap().is_empty());
    challenge
}

/// As [`refused`], for a token that is there but wrong.
async fn invalid(app: &TestApp, user: &TestUser, token: &str) {
    let challenge = refused(app, user, &format!("Bearer {token}")).await;
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
}

async fn setup() -> (TestApp, TestUser) {
    let app = TestApp::new().await;
    let user = app.user().await;
    (app, user)
}

/// The standard claims of `user`'s token, changed by `change`.
fn claims(user: &TestUser, change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = issuer().claims(&user.subject, Duration::from_secs(600));
    change(&mut claims);
    claims
}

#[tokio::test]
async fn a_valid_token_acts_as_its_subject() {
    let (app, user) = setup().await;
    let token = issuer().sign(&claims(&user, |_| {}));
    let lowercase = format!("bearer {token}");
    let response =
        app.call(Method::POST, "/v1/posts", &[("authorization", &lowercase)], Some(json!({"body": "ok"}))).await;
    assert_eq!(response.status, StatusCode::CREATED, "the scheme is case-insensitive");
    assert_eq!(response.json()["author_id"], user.id.as_str());
}

#[tokio::test]
async fn a_missing_token_gets_the_bare_challenge() {
    let (app, user) = setup().await;
    let response = app.call(Method::POST, "/v1/posts", &[], Some(json!({"body": "x"}))).await;
    response.assert_problem(401, "unauthenticated");
    assert_eq!(response.header("www-authenticate"), "Bearer");
    let _ = refused(&app, &user, "Basic dXNlcjpwYXNz").await;
}

#[tokio::test]
async fn a_malformed_token_is_refused() {
    let (app, user) = setup().await;
    for token in ["", "abc", "a.b", "a.b.c", "....", &format!("{}.{}", b64(&json!({"alg": "ES256"})), b64(&json!({})))]
    {
        invalid(&app, &user, token).await;
    }
}

#[tokio::test]
async fn a_badly_signed_token_is_refused() {
    let (app, user) = setup().await;
    // Signed by another key that claims to be the issuer's.
    let forger = Issuer::ephemeral(&issuer().url, &issuer().audience).unwrap();
    invalid(&app, &user, &forger.sign_as(&claims(&user, |_| {}), issuer().key_id())).await;
    // The issuer's signature over other claims.
    let genuine = issuer().sign(&claims(&TestUser::stranger(), |_| {}));
    let parts: Vec<&str> = genuine.split('.').collect();
    let swapped = format!("{}.{}.{}", parts[0], b64(&claims(&user, |_| {})), parts[2]);
    invalid(&app, &user, &swapped).await;
}

#[tokio::test]
async fn a_token_signed_by_an_unpublished_key_is_refused() {
    let (app, user) = setup().await;
    let stranger_issuer = Issuer::ephemeral(&issuer().url, &issuer().audience).unwrap();
    invalid(&app, &user, &stranger_issuer.sign(&claims(&user, |_| {}))).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let (app, user) = setup().await;
    let body = b64(&claims(&user, |_| {}));
    for header in [json!({"alg": "none", "typ": "JWT"}), json!({"alg": "none", "kid": issuer().key_id()})] {
        invalid(&app, &user, &format!("{}.{body}.", b64(&header))).await;
    }
}

#[tokio::test]
async fn a_cognito_access_token_names_the_client_not_the_audience() {
    let (app, user) = setup().await;
    let cognito = |c: &mut Value| {
        c.as_object_mut().unwrap().remove("aud");
        c["token_use"] = json!("access");
    };
    let token = issuer().sign(&claims(&user, cognito));
    let response = app.call(Method::POST, "/v1/posts", &[("authorization", &format!("Bearer {token}"))], None).await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "authenticated: only the missing body is wrong");
    // Issued to this client, but for another API: refused.
    let elsewhere = |c: &mut Value| c["aud"] = json!("another-api");
    invalid(&app, &user, &issuer().sign(&claims(&user, elsewhere))).await;
}

/// With no local HS256 secret configured (as deployed), an HS256 token is refused whatever key signed it, here
/// the issuer's own public key: the algorithm allow-list holds before any key is chosen.
#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
    let (app, user) = setup().await;
    let public_key = issuer().jwks().to_string();
    let header = jsonwebtoken::Header { kid: Some(issuer().key_id().into()), ..jsonwebtoken::Header::default() };
    let key = jsonwebtoken::EncodingKey::from_secret(public_key.as_bytes());
    invalid(&app, &user, &jsonwebtoken::encode(&header, &claims(&user, |_| {}), &key).unwrap()).await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let (app, user) = setup().await;
    invalid(&app, &user, &issuer().sign(&claims(&user, |c| c["exp"] = json!(now() - 120)))).await;
    invalid(
        &app,
        &user,
        &issuer().sign(&claims(&user, |c| c.as_object_mut().unwrap().remove("exp").map(drop).unwrap())),
    )
    .await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let (app, user) = setup().await;
    invalid(&app, &user, &issuer().sign(&claims(&user, |c| c["nbf"] = json!(now() + 3600)))).await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let (app, user) = setup().await;
    let other = format!("{}/other", issuer().url);
    invalid(&app, &user, &issuer().sign(&claims(&user, |c| c["iss"] = json!(other)))).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let (app, user) = setup().await;
    let other = |c: &mut Value| {
        c["aud"] = json!("another-app");
        c["client_id"] = json!("another-app");
    };
    invalid(&app, &user, &issuer().sign(&claims(&user, other))).await;
    invalid(&app, &user, &issuer().sign(&claims(&user, |c| c["token_use"] = json!("id")))).await;
}

#[tokio::test]
async fn x_user_id_has_no_effect() {
    let (app, victim) = setup().await;
    let named = [("x-user-id", victim.id.as_str())];
    let anonymous = app.call(Method::POST, "/v1/posts", &named, Some(json!({"body": "as you"}))).await;
    anonymous.assert_problem(401, "unauthenticated");
    let attacker = app.user().await;
    let headers = [attacker.auth(), ("x-user-id", victim.id.as_str())];
    let posted = app.call(Method::POST, "/v1/posts", &headers, Some(json!({"body": "mine"}))).await;
    assert_eq!(posted.status, StatusCode::CREATED);
    assert_eq!(posted.json()["author_id"], attacker.id.as_str(), "the token decides, not the header");
    assert_eq!(app.get(&format!("/v1/users/{}/posts", victim.id)).await.json()["items"], json!([]));
}
