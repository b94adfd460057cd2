//! The HTTP API: one axum `Router`, identical in every host (Lambda, container, tests).

mod cache_control;
mod caller;
mod error;
mod extract;
mod likes;
mod media;
mod posts;
mod users;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    handler::Handler,
    http::{HeaderName, HeaderValue, Method, Uri},
    middleware::from_fn_with_state,
    routing::{get, post, put},
};

pub use error::ApiError;

use crate::state::AppState;

/// Every route of API v1 with the standard layers (request ids, logs, timeouts, metrics, problem+json) and, when
/// `EDGE_SECRET` is set, the check that requests came through the edge. Reads are public; every route that
/// acts for someone needs a valid bearer token (`kit::auth::require`) and, but for creating one, a profile.
/// Every create honours `Idempotency-Key` (the routes `stampede_contract::headers::IDEMPOTENT_POSTS` names).
pub fn router(state: AppState) -> Router {
    let idempotent = from_fn_with_state(state.idempotency.clone(), kit::idempotency::middleware);
    let (timeout, max_body) = (state.config.request_timeout, state.config.max_body_bytes);
    let edge_secret = state.config.edge_secret.clone();
    // Per handler, not per route: a wrong method on a route is a 405 for everyone, whoever asks.
    let auth = from_fn_with_state(state.verifier.clone(), kit::auth::require);
    let mut routes = Router::new()
        .route("/v1/users", post(users::create.layer(idempotent.clone()).layer(auth.clone())))
        .route("/v1/users/me", get(users::me.layer(auth.clone())).patch(users::update_me.layer(auth.clone())))
        .route("/v1/users/{id}", get(users::get))
        .route("/v1/users/{id}/posts", get(posts::by_author))
        .route("/v1/posts", get(posts::latest).post(posts::create.layer(idempotent.clone()).layer(auth.clone())))
        .route("/v1/posts/{id}", get(posts::get).delete(posts::delete.layer(auth.clone())))
        .route("/v1/posts/{id}/like", put(likes::like.layer(auth.clone())).delete(likes::unlike.layer(auth.clone())))
        .route("/v1/media/uploads", post(media::create_upload.layer(idempotent).layer(auth)))
        .route("/v1/media/{id}", get(media::get))
        .route("/v1/media/{id}/thumbnails/{size}", get(media::thumbnail))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state);
    if let Some(secret) = edge_secret {
        routes = routes.layer(from_fn_with_state(secret, kit::edge_auth::require));
    }
    kit::http_layers::with_standard_layers(routes, timeout)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

/// The header telling the edge which cached reads a successful write changed (`stampede_contract::headers`).
fn invalidates(paths: &[String]) -> [(HeaderName, HeaderValue); 1] {
    let value = stampede_contract::headers::invalidates(paths);
    let value = HeaderValue::try_from(value).expect("API paths are valid header text");
    [(HeaderName::from_static(stampede_contract::headers::INVALIDATES), value)]
}
