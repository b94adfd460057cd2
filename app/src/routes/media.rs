//! `POST /v1/media/uploads` (a presigned S3 PUT for an image), `GET /v1/media/{id}` (its processing state),
//! `GET /v1/media/{id}/thumbnails/{size}` (a redirect to a short-lived presigned GET).

use std::{collections::BTreeMap, time::Duration};

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::{
    cache_control,
    caller::Member,
    error::{ApiError, Validator},
    extract::{ApiJson, ApiPath, NewId, PathId},
    invalidates,
};
use kit::problem::{Problem, types};
use stampede_contract::routes::thumbnail_size;

use crate::{
    models::{ImageType, Media, MediaId, MediaStatus, Timestamp},
    state::AppState,
    store::StoreError,
};

const UPLOAD_EXPIRY: Duration = Duration::from_secs(15 * 60);
const THUMBNAIL_LINK_EXPIRY: Duration = Duration::from_secs(60 * 60);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    content_type: String,
}

/// Where and how to upload.
#[derive(Serialize)]
struct UploadTarget {
    url: String,
    method: &'static str,
    /// Headers the PUT must carry exactly (they are part of the signature).
    headers: BTreeMap<String, String>,
    expires_at: Timestamp,
}

/// A media item as the API shows it: thumbnails as links, never as storage keys.
#[derive(Serialize)]
struct MediaView {
    id: MediaId,
    owner_id: crate::models::UserId,
    content_type: &'static str,
    status: MediaStatus,
    created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_id: Option<crate::models::PostId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    thumbnails: BTreeMap<u32, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

impl From<Media> for MediaView {
    fn from(media: Media) -> Self {
        let thumbnails =
            media.thumbnails.keys().map(|size| (*size, format!("/v1/media/{}/thumbnails/{size}", media.id))).collect();
        Self {
            id: media.id,
            owner_id: media.owner_id,
            content_type: media.content_type.mime(),
            status: media.status,
            created_at: media.created_at,
            post_id: media.post_id,
            width: media.width,
            height: media.height,
            thumbnails,
            failure: media.failure,
        }
    }
}

fn s3_failure(err: impl std::fmt::Display) -> ApiError {
    ApiError::Dependency(format!("S3: {err}"))
}

pub async fn create_upload(
    State(state): State<AppState>,
    Member(owner): Member,
    NewId(id): NewId,
    ApiJson(input): ApiJson<NewUpload>,
) -> Result<impl IntoResponse, ApiError> {
    let mut validator = Validator::default();
    let Some(content_type) = validator.check("content_type", ImageType::parse(&input.content_type)) else {
        return Err(validator.into_error());
    };
    let media =
        state.store.create_media(MediaId::from_ulid(id), owner, content_type).await.map_err(|err| match err {
            StoreError::Conflict => ApiError::Rejected(Box::new(
                Problem::new(types::CONFLICT)
                    .detail("this request's upload was made and used already: ask again with a new Idempotency-Key"),
            )),
            other => other.into(),
        })?;
    let presigned = state
        .presigner
        .put(&state.config.media_bucket, &Media::original_key(media.id), content_type.mime(), UPLOAD_EXPIRY)
        .await
        .map_err(s3_failure)?;
    let expires_at = Timestamp::from_unix_millis(
        (std::time::SystemTime::now() + UPLOAD_EXPIRY)
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64,
    );
    let upload = UploadTarget {
        url: presigned.url,
        method: "PUT",
        headers: presigned.headers.into_iter().collect(),
        expires_at,
    };
    let location = format!("/v1/media/{}", media.id);
    let body = serde_json::json!({ "media": MediaView::from(media), "upload": upload });
    // A 404 for its id may have been cached before it existed (its id comes from the Idempotency-Key).
    let changed = invalidates(std::slice::from_ref(&location));
    Ok((StatusCode::CREATED, cache_control::PRIVATE, changed, [(header::LOCATION, location)], Json(body)))
}

pub async fn get(State(state): State<AppState>, id: PathId) -> Result<Response, ApiError> {
    let id = id.parse(MediaId::parse, "media")?;
    let media =
        state.store.get_media(id).await?.ok_or_else(|| ApiError::Absent(format!("no media has the id {id}")))?;
    // Pending media changes soon; ready or failed media never changes again.
    let cache = if media.status == MediaStatus::Pending { cache_control::PRIVATE } else { cache_control::FINAL };
    Ok((cache, Json(MediaView::from(media))).into_response())
}

pub async fn thumbnail(
    State(state): State<AppState>,
    ApiPath((id, size)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::Absent(format!("no thumbnail {size} of media {id}"));
    let media_id = MediaId::parse(&id).map_err(|_| not_found())?;
    let size = thumbnail_size(&size).ok_or_else(not_found)?;
    let media = state.store.get_media(media_id).await?.ok_or_else(not_found)?;
    let key = media.thumbnails.get(&size).ok_or_else(not_found)?;
    let presigned =
        state.presigner.get(&state.config.media_bucket, key, THUMBNAIL_LINK_EXPIRY).await.map_err(s3_failure)?;
    let location = HeaderValue::try_from(presigned.url).map_err(s3_failure)?;
    Ok((StatusCode::FOUND, cache_control::REDIRECT, [(header::LOCATION, location)]).into_response())
}
