//! `POST /v1/users` (the caller creates their own profile), `GET|PATCH /v1/users/me`, `GET /v1/users/{id}`.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use kit::auth::Identity;
use serde::Deserialize;

use super::{
    cache_control,
    caller::Member,
    error::{ApiError, Validator},
    extract::{ApiJson, NewId, PathId},
    invalidates,
};
use crate::{
    models::{DisplayName, Handle, UserId},
    state::AppState,
    store::StoreError,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    handle: String,
    display_name: String,
}

/// The fields of a profile its owner may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    display_name: String,
}

pub async fn create(
    State(state): State<AppState>,
    identity: Identity,
    NewId(id): NewId,
    ApiJson(input): ApiJson<NewUser>,
) -> Result<impl IntoResponse, ApiError> {
    let mut validator = Validator::default();
    let handle = validator.check("handle", Handle::parse(&input.handle));
    let display_name = validator.check("display_name", DisplayName::parse(&input.display_name));
    let (Some(handle), Some(display_name)) = (handle, display_name) else {
        return Err(validator.into_error());
    };

    let user =
        state.store.create_user(UserId::from_ulid(id), &identity.subject, &handle, &display_name).await.map_err(
            |err| match err {
                StoreError::HandleTaken => ApiError::HandleTaken(handle.as_str().to_owned()),
                other => other.into(),
            },
        )?;
    let location = format!("/v1/users/{}", user.id);
    // The profile and its timeline may have been asked for, and their 404s cached, before they existed.
    let changed = invalidates(&[location.clone(), format!("{location}/posts")]);
    Ok((StatusCode::CREATED, cache_control::PRIVATE, changed, [(header::LOCATION, location)], Json(user)))
}

pub async fn get(State(state): State<AppState>, id: PathId) -> Result<impl IntoResponse, ApiError> {
    let id = id.parse(UserId::parse, "user")?;
    let user = state.store.get_user(id).await?.ok_or_else(|| ApiError::Absent(format!("no user has the id {id}")))?;
    Ok((cache_control::PROFILE, Json(user)))
}

/// The caller's own profile.
pub async fn me(State(state): State<AppState>, Member(id): Member) -> Result<impl IntoResponse, ApiError> {
    let user = state.store.get_user(id).await?.ok_or(StoreError::UserNotFound)?;
    Ok((cache_control::PRIVATE, Json(user)))
}

pub async fn update_me(
    State(state): State<AppState>,
    Member(id): Member,
    ApiJson(input): ApiJson<ProfileChange>,
) -> Result<impl IntoResponse, ApiError> {
    let mut validator = Validator::default();
    let Some(display_name) = validator.check("display_name", DisplayName::parse(&input.display_name)) else {
        return Err(validator.into_error());
    };
    let user = state.store.rename_user(id, &display_name).await?;
    Ok((cache_control::PRIVATE, invalidates(&[format!("/v1/users/{id}")]), Json(user)))
}
