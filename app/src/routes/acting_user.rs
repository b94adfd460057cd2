//! Who is making a write. TEMPORARY: until JWT auth lands, the caller names itself in `X-User-Id`; this is
//! not authentication and must not be deployed as such (see README, "Acting user").

use axum::{extract::FromRequestParts, http::request::Parts};

use super::error::ApiError;
use crate::models::UserId;

pub const HEADER: &str = "x-user-id";

/// The user a write acts for.
pub struct ActingUser(pub UserId);

fn from_parts(parts: &Parts) -> Result<UserId, ApiError> {
    let raw = parts.headers.get(HEADER).ok_or(ApiError::Unauthenticated("this request needs an X-User-Id header"))?;
    raw.to_str()
        .ok()
        .and_then(|v| UserId::parse(v).ok())
        .ok_or(ApiError::Unauthenticated("X-User-Id must be a user id"))
}

impl<S: Send + Sync> FromRequestParts<S> for ActingUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        from_parts(parts).map(Self)
    }
}

/// The idempotency scope of a request: its acting user.
pub fn scope(parts: &Parts) -> Option<String> {
    from_parts(parts).ok().map(|id| id.to_string())
}
