//! `PUT /v1/posts/{id}/like`, `DELETE /v1/posts/{id}/like`: idempotent, 204 whether or not anything changed.
//! One write of the caller's own membership item and nothing else: counting follows from the table's stream
//! (`jobs::like_counts`), so no failure after the write can lose the like. A like invalidates no cached read:
//! the count changes when the rollup runs, and the post's short edge TTL bounds how long the old count shows.

use axum::{extract::State, http::StatusCode, response::IntoResponse};

use super::{cache_control, caller::Member, error::ApiError, extract::PathId};
use crate::{models::PostId, state::AppState};

pub async fn like(
    State(state): State<AppState>,
    Member(user): Member,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let post = id.parse(PostId::parse, "post")?;
    state.store.like(post, user).await?;
    Ok((StatusCode::NO_CONTENT, cache_control::PRIVATE))
}

pub async fn unlike(
    State(state): State<AppState>,
    Member(user): Member,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let post = id.parse(PostId::parse, "post")?;
    state.store.unlike(post, user).await?;
    Ok((StatusCode::NO_CONTENT, cache_control::PRIVATE))
}
