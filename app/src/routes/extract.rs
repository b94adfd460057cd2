//! Extractors whose rejections are problem+json: JSON bodies, list queries and path ids.

use axum::extract::{FromRequest, FromRequestParts, Path, Query};
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
    /// Parses the id; a malformed id names no resource, so it is a 404.
    pub fn parse<T>(&self, parse: fn(&str) -> Result<T, String>, what: &str) -> Result<T, ApiError> {
        parse(&self.0).map_err(|_| ApiError::NotFound(format!("no {what} has the id {:?}", self.0)))
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
