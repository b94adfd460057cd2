//! `PUT /v1/posts/{id}/like`, `DELETE /v1/posts/{id}/like`: idempotent, 204 whether or not anything changed.
//! Each queues a rollup of the post's like count, also when nothing changed, so a retry after a failed send
//! still gets the count updated.

use axum::{extract::State, http::StatusCode, response::IntoResponse};

use super::{acting_user::ActingUser, cache_control, error::ApiError, extract::PathId};
use crate::{events::AppEvent, models::PostId, state::AppState};

pub async fn like(
    State(state): State<AppState>,
    ActingUser(user): ActingUser,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let post = id.parse(PostId::parse, "post")?;
    state.store.like(post, user).await?;
    likes_changed(&state, post).await
}

pub async fn unlike(
    State(state): State<AppState>,
    ActingUser(user): ActingUser,
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
