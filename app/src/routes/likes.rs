//! `PUT /v1/posts/{id}/like`, `DELETE /v1/posts/{id}/like`: idempotent, 204 whether or not anything changed.

use axum::{extract::State, http::StatusCode, response::IntoResponse};

use super::{acting_user::ActingUser, cache_control, error::ApiError, extract::PathId};
use crate::{models::PostId, state::AppState};

pub async fn like(
    State(state): State<AppState>,
    ActingUser(user): ActingUser,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let post = id.parse(PostId::parse, "post")?;
    state.store.like(post, user).await?;
    Ok((StatusCode::NO_CONTENT, cache_control::PRIVATE))
}

pub async fn unlike(
    State(state): State<AppState>,
    ActingUser(user): ActingUser,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let post = id.parse(PostId::parse, "post")?;
    state.store.unlike(post, user).await?;
    Ok((StatusCode::NO_CONTENT, cache_control::PRIVATE))
}
