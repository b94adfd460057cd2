//! `POST /v1/posts` (idempotent with `Idempotency-Key`), `GET|DELETE /v1/posts/{id}`, `GET /v1/posts` (global
//! latest), `GET /v1/users/{id}/posts` (author timeline).

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};

use super::{
    cache_control,
    caller::Member,
    error::{ApiError, Validator},
    extract::{ApiJson, NewId, PageQuery, PathId},
    invalidates,
};
use kit::problem::FieldError;

use crate::{
    models::{MediaId, Post, PostBody, PostId, UserId},
    state::AppState,
    store::{Page, StoreError},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    body: String,
    /// An image uploaded with POST /v1/media/uploads by the same user, not yet attached to a post.
    media_id: Option<String>,
}

/// A page of posts as sent: `next_cursor` is absent on the last page.
#[derive(Serialize)]
pub struct PostPage {
    items: Vec<Post>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The feed position a cursor carries.
#[derive(Serialize, Deserialize)]
struct Position {
    after: String,
}

/// Cursors are bound to the list that issued them: the global feed, or one author's timeline.
const LATEST_SCOPE: &str = "latest";

fn cursor_scope_author(author: UserId) -> String {
    format!("author:{author}")
}

impl AppState {
    fn after(&self, scope: &str, query: &PageQuery) -> Result<Option<String>, ApiError> {
        query
            .cursor()
            .map(|cursor| self.cursors.decode::<Position>(scope, cursor).map(|p| p.after))
            .transpose()
            .map_err(Into::into)
    }

    fn page(&self, scope: &str, page: Page<Post>) -> PostPage {
        let next_cursor = page.next.map(|after| self.cursors.encode(scope, &Position { after }));
        PostPage { items: page.items, next_cursor }
    }
}

pub async fn create(
    State(state): State<AppState>,
    Member(author): Member,
    NewId(id): NewId,
    ApiJson(input): ApiJson<NewPost>,
) -> Result<impl IntoResponse, ApiError> {
    let mut validator = Validator::default();
    let body = validator.check("body", PostBody::parse(&input.body));
    let media_id = validator.check("media_id", input.media_id.as_deref().map(MediaId::parse).transpose());
    let (Some(body), Some(media_id)) = (body, media_id) else { return Err(validator.into_error()) };
    let post =
        state.store.create_post(PostId::from_ulid(id), author, &body, media_id).await.map_err(|err| match err {
            StoreError::MediaNotFound => ApiError::Invalid(vec![FieldError::new("media_id", "no such media")]),
            StoreError::NotOwner => ApiError::NotOwner("media"),
            other => other.into(),
        })?;
    let location = format!("/v1/posts/{}", post.id);
    // The post itself too: a 404 for its id may be cached (the id comes from an Idempotency-Key, so it can be asked
    // for before it exists).
    let changed = invalidates(&["/v1/posts".to_owned(), format!("/v1/users/{author}/posts"), location.clone()]);
    Ok((StatusCode::CREATED, cache_control::PRIVATE, changed, [(header::LOCATION, location)], Json(post)))
}

/// Deletes the caller's own post: gone from the post, the author's timeline and the latest feed at once.
pub async fn delete(
    State(state): State<AppState>,
    Member(author): Member,
    id: PathId,
) -> Result<impl IntoResponse, ApiError> {
    let id = id.parse(PostId::parse, "post")?;
    state.store.delete_post(author, id).await.map_err(|err| match err {
        StoreError::PostNotFound => ApiError::NotFound(format!("no post has the id {id}")),
        StoreError::NotOwner => ApiError::NotOwner("post"),
        other => other.into(),
    })?;
    let changed = invalidates(&[format!("/v1/posts/{id}"), format!("/v1/users/{author}/posts"), "/v1/posts".into()]);
    Ok((StatusCode::NO_CONTENT, cache_control::PRIVATE, changed))
}

pub async fn get(State(state): State<AppState>, id: PathId) -> Result<impl IntoResponse, ApiError> {
    let id = id.parse(PostId::parse, "post")?;
    let post = state.store.get_post(id).await?.ok_or_else(|| ApiError::Absent(format!("no post has the id {id}")))?;
    Ok((cache_control::POST, Json(post)))
}

pub async fn latest(State(state): State<AppState>, query: PageQuery) -> Result<impl IntoResponse, ApiError> {
    let scope = LATEST_SCOPE;
    let limit = query.limit()?;
    let after = state.after(scope, &query)?;
    let page = state.store.latest_posts(after.as_deref(), limit).await?;
    Ok((cache_control::FEED, Json(state.page(scope, page))))
}

pub async fn by_author(
    State(state): State<AppState>,
    id: PathId,
    query: PageQuery,
) -> Result<impl IntoResponse, ApiError> {
    let author = id.parse(UserId::parse, "user")?;
    let scope = cursor_scope_author(author);
    let limit = query.limit()?;
    let after = state.after(&scope, &query)?;
    let page = state.store.author_posts(author, after.as_deref(), limit).await?;
    // An empty first page may mean there is no such user: tell the client so instead of an empty list.
    if page.items.is_empty() && after.is_none() && state.store.get_user(author).await?.is_none() {
        return Err(ApiError::Absent(format!("no user has the id {author}")));
    }
    Ok((cache_control::FEED, Json(state.page(&scope, page))))
}
