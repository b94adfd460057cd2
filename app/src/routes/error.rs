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

use super::cache_control;
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
    Rejected(Box<Problem>),
    #[error("not found: {0}")]
    NotFound(String),
    /// A public resource that does not exist (or a path that can name none): a 404 the edge keeps briefly.
    #[error("absent: {0}")]
    Absent(String),
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
            Self::Rejected(problem) => *problem,
            Self::NotFound(detail) => Problem::new(types::NOT_FOUND).detail(detail),
            Self::Absent(detail) => {
                let [(name, value)] = cache_control::ABSENT;
                Problem::new(types::NOT_FOUND).detail(detail).header(name, value)
            }
            Self::InvalidCursor(err) => Problem::new(types::INVALID_CURSOR).detail(err.to_string()),
            Self::HandleTaken(handle) => Problem::new(HANDLE_TAKEN).detail(format!("@{handle} is taken")),
            Self::ProfileRequired => Problem::new(PROFILE_REQUIRED),
            Self::NotOwner(what) => Problem::new(NOT_OWNER).detail(format!("this {what} belongs to another user")),
            Self::Dependency(detail) => {
                tracing::error!(%detail, "dependency failure");
                Problem::new(types::UNAVAILABLE).header(header::RETRY_AFTER, HeaderValue::from_static("1"))
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
            Self::Store(err) if err.is_overload() => {
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
        Self::Rejected(Box::new(Problem::new(kind).status(rejection.status()).detail(rejection.body_text())))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Rejected(Box::new(Problem::new(types::MALFORMED_REQUEST).detail(rejection.body_text())))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::Rejected(Box::new(Problem::new(types::MALFORMED_REQUEST).detail(rejection.body_text())))
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

#[cfg(test)]
mod tests {
    //! Overload from canned DynamoDB responses (aws-smithy-mocks), through the store, to the HTTP answer.
    use aws_sdk_dynamodb::{
        Client,
        operation::{put_item::PutItemError, transact_write_items::TransactWriteItemsError},
        types::{
            CancellationReason,
            error::{ThrottlingException, TransactionCanceledException},
        },
    };
    use aws_smithy_mocks::{mock, mock_client};
    use kit::shard::ShardCount;

    use super::*;
    use crate::{
        models::{PostBody, PostId, UserId},
        store::Store,
    };

    fn store(client: Client) -> Store {
        Store::new(client, "t", ShardCount::new(16).unwrap())
    }

    fn assert_unavailable(err: StoreError) {
        let response = ApiError::Store(err).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[tokio::test]
    async fn a_transaction_cancelled_by_throttling_is_a_503_with_retry_after() {
        let throttled = mock!(Client::transact_write_items).then_error(|| {
            let reasons = ["None", "ThrottlingError"].map(|code| CancellationReason::builder().code(code).build());
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder().set_cancellation_reasons(Some(reasons.to_vec())).build(),
            )
        });
        let store = store(mock_client!(aws_sdk_dynamodb, [&throttled]));
        let body = PostBody::parse("hello").unwrap();
        assert_unavailable(store.create_post(PostId::generate(), UserId::generate(), &body, None).await.unwrap_err());
        assert_eq!(throttled.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_throttled_like_is_a_503_with_retry_after() {
        let post = mock!(Client::get_item).then_output(|| {
            let item = kit::dynamo::key("POST#x", "POST");
            aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().set_item(Some(item)).build()
        });
        let throttled = mock!(Client::put_item)
            .then_error(|| PutItemError::ThrottlingException(ThrottlingException::builder().build()));
        let client = mock_client!(aws_sdk_dynamodb, aws_smithy_mocks::RuleMode::MatchAny, [&post, &throttled]);
        assert_unavailable(store(client).like(PostId::generate(), UserId::generate()).await.unwrap_err());
    }
}
