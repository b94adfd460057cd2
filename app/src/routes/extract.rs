//! Extractors whose rejections are problem+json: JSON bodies, list queries and path ids; and the id of what a
//! create makes.

use std::convert::Infallible;

use axum::{
    extract::{FromRequest, FromRequestParts, Path, Query},
    http::request::Parts,
};
use serde::Deserialize;

use super::error::{ApiError, Validator};
use crate::models::PageLimit;

/// `axum::Json` with problem+json rejections (400 syntax, 415 content type, 422 shape, 413 size).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` with problem+json rejections.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The one path parameter of a route, as a string to be parsed by the handler.
#[derive(Deserialize, FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct PathId(pub String);

impl PathId {
    /// Parses the id; a malformed id names no resource, now or ever, so it is a 404 the edge may keep.
    pub fn parse<T>(&self, parse: fn(&str) -> Result<T, String>, what: &str) -> Result<T, ApiError> {
        parse(&self.0).map_err(|_| ApiError::Absent(format!("no {what} has the id {:?}", self.0)))
    }
}

/// `?limit=&cursor=` of a list request, with the limit validated. The cursor is checked against its list later.
#[derive(Deserialize, FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<PageLimit, ApiError> {
        let mut validator = Validator::default();
        validator.check("limit", PageLimit::parse(self.limit.as_deref())).ok_or_else(|| validator.into_error())
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// The id of the resource a create makes: the request's idempotency seed (`kit::idempotency::Seed`) when it has
/// an `Idempotency-Key`, so that every attempt of one request makes (or finds) the same resource; otherwise new.
pub struct NewId(pub ulid::Ulid);

impl<S: Send + Sync> FromRequestParts<S> for NewId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let seed = parts.extensions.get::<kit::idempotency::Seed>();
        Ok(Self(seed.map_or_else(ulid::Ulid::generate, |seed| seed.0)))
    }
}
