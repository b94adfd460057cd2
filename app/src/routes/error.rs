//! Every way a request can fail, mapped to a problem+json response in one place.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use kit::{
    auth::AuthError,
    cursor::CursorError,
    problem::{FieldError, Problem, ProblemType, types},
};

use crate::store::StoreError;

pub const HANDLE_TAKEN: ProblemType =
    ProblemType::new("handle-taken", "The handle belongs to another user", StatusCode::CONFLICT.as_u16());
pub const PROFILE_EXISTS: ProblemType =
    ProblemType::new("profile-exists", "This identity already has a profile", StatusCode::CONFLICT.as_u16());
pub const MEDIA_IN_USE: ProblemType =
    ProblemType::new("media-in-use", "The media is already attached to another post", StatusCode::CONFLICT.as_u16());
pub const PROFILE_REQUIRED: ProblemType = ProblemType::new(
    "profile-required",
    "The caller has no profile; create it with POST /v1/users first",
    StatusCode::FORBIDDEN.as_u16(),
);
pub const NOT_OWNER: ProblemType =
    ProblemType::new("not-owner", "The resource belongs to another user", StatusCode::FORBIDDEN.as_u16());

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("rejected request: {0:?}")]
    Rejected(Problem),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid cursor: {0}")]
    InvalidCursor(#[from] CursorError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("handle taken: {0}")]
    HandleTaken(String),
    #[error("the caller has no profile")]
    ProfileRequired,
    #[error("not the owner of the {0}")]
    NotOwner(&'static str),
    #[error("a dependency failed: {0}")]
    Dependency(String),
    #[error(transparent)]
    Publish(#[from] crate::events::PublishError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    fn problem(self) -> Problem {
        match self {
            Self::Auth(err) => err.problem(),
            Self::Invalid(errors) => {
                let detail = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
                Problem::new(types::VALIDATION).detail(detail).field_errors(errors)
            }
            Self::Rejected(problem) => problem,
            Self::NotFound(detail) => Problem::new(types::NOT_FOUND).detail(detail),
            Self::InvalidCursor(err) => Problem::new(types::INVALID_CURSOR).detail(err.to_string()),
            Self::HandleTaken(handle) => Problem::new(HANDLE_TAKEN).detail(format!("@{handle} is taken")),
            Self::ProfileRequired => Problem::new(PROFILE_REQUIRED),
            Self::NotOwner(what) => Problem::new(NOT_OWNER).detail(format!("this {what} belongs to another user")),
            Self::Dependency(detail) => {
                tracing::error!(%detail, "dependency failure");
                Problem::new(types::UNAVAILABLE).header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            Self::Publish(err) => {
                tracing::error!(error = %err, "event not published");
                Problem::new(types::UNAVAILABLE)
                    .detail("the change is saved, but its follow-up work could not be queued; retry the request")
                    .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            Self::Store(StoreError::UserNotFound) => Problem::new(types::NOT_FOUND).detail("no such user"),
            Self::Store(StoreError::PostNotFound) => Problem::new(types::NOT_FOUND).detail("no such post"),
            Self::Store(StoreError::HandleTaken) => Problem::new(HANDLE_TAKEN),
            Self::Store(StoreError::ProfileExists) => {
                Problem::new(PROFILE_EXISTS).detail("see it with GET /v1/users/me, change it with PATCH /v1/users/me")
            }
            Self::Store(StoreError::NotOwner) => Problem::new(NOT_OWNER),
            Self::Store(StoreError::MediaNotFound) => Problem::new(types::NOT_FOUND).detail("no such media"),
            Self::Store(StoreError::MediaInUse) => Problem::new(MEDIA_IN_USE),
            Self::Store(StoreError::Conflict) => Problem::new(types::CONFLICT)
                .detail("a concurrent change got there first; retry")
                .header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            Self::Store(StoreError::Dynamo(err)) if err.is_overload() => {
                tracing::warn!(error = %err, "DynamoDB overloaded");
                Problem::new(types::UNAVAILABLE)
                    .detail("the database is busy; retry shortly")
                    .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            Self::Store(err) => {
                tracing::error!(error = ?err, "store failure");
                Problem::new(types::INTERNAL)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let kind = match rejection {
            JsonRejection::JsonSyntaxError(_) => types::MALFORMED_JSON,
            JsonRejection::JsonDataError(_) => types::VALIDATION,
            JsonRejection::MissingJsonContentType(_) => types::UNSUPPORTED_MEDIA_TYPE,
            _ => types::for_status(rejection.status()),
        };
        Self::Rejected(Problem::new(kind).status(rejection.status()).detail(rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Rejected(Problem::new(types::MALFORMED_REQUEST).detail(rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::Rejected(Problem::new(types::MALFORMED_REQUEST).detail(rejection.body_text()))
    }
}

/// Collects field errors so a client learns about every bad field at once.
#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.errors.push(FieldError::new(field, message))).ok()
    }

    pub fn into_error(self) -> ApiError {
        ApiError::Invalid(self.errors)
    }
}
