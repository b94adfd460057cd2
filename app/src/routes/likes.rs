//! `PUT /v1/posts/{id}/like`, `DELETE /v1/posts/{id}/like`: idempotent, 204 whether or not anything changed.
//! Each queues a rollup of the post's like count, also when nothing changed, so a retry after a failed send
//! still gets the count updated. A like invalidates no cached read: the count changes when the rollup runs,
//! and the post's short edge TTL bounds how long the old count shows.

use axum::{extract::State, http::StatusCode, response::IntoResponse};

use super::{cache_control, caller::Member, error::ApiError, extract::PathId};
use crate::{events::AppEvent, models::PostId, state::AppState};

pub async fn like(
    State(state): State<AppState>,
    Member(user): Member,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let post = id.parse(PostId::parse, "post")?;
    state.store.like(post, user).await?;
    likes_changed(&state, post).await
}

pub async fn unlike(
    State(state): State<AppState>,
    Member(user): Member,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let post = id.parse(PostId::parse, "post")?;
    state.store.unlike(post, user).await?;
    likes_changed(&state, post).await
}

async fn likes_changed(state: &AppState, post_id: PostId) -> Result<impl IntoResponse + use<>, ApiError> {
    state.events.publish(&AppEvent::LikesChanged { post_id }).await?;
    Ok((StatusCode::NO_CONTENT, cache_control::PRIVATE))
}
