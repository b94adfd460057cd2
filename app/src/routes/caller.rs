//! Who a write acts for: the verified identity (`kit::auth`, checked by the route's middleware) resolved to
//! the profile it created. A valid token without a profile may create one (`POST /v1/users`) and nothing else.

use axum::{extract::FromRequestParts, http::request::Parts};
use kit::auth::Identity;

use super::error::ApiError;
use crate::{models::UserId, state::AppState};

/// The caller, a user with a profile.
pub struct Member(pub UserId);

impl FromRequestParts<AppState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let identity = Identity::from_request_parts(parts, state).await?;
        state.store.user_of(&identity.subject).await?.map(Self).ok_or(ApiError::ProfileRequired)
    }
}
