//! DynamoDB patterns every single-table store needs: attribute shorthands, which errors are overload (503, not
//! 500), and TransactWriteItems with bounded retry of transaction conflicts and readable cancellation reasons.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::{
    config::http::HttpResponse,
    error::SdkError,
    operation::transact_write_items::{TransactWriteItemsError, builders::TransactWriteItemsFluentBuilder},
    types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update},
};

pub type Item = HashMap<String, AttributeValue>;

/// Attempts at conflicting transactions before giving up: the backoff between them adds up
/// to at most about 0.35 s, well inside a request's time. Throttling is retried by the SDK alone (`kit::aws`).
const MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    #[error(transparent)]
    Sdk(Box<aws_sdk_dynamodb::Error>),
    /// No answer: a timeout, a connection that failed, or a response that could not be read. The service may
    /// be overloaded or out of reach; whether the request took effect is unknown.
    #[error("DynamoDB did not answer: {0}")]
    NoAnswer(String),
    /// A server error (HTTP 5xx), whether the service's model names it (InternalServerError) or not (a 503, or
    /// a 502 from something on the way): the service failed for now.
    #[error("DynamoDB failed: {0}")]
    ServerError(Box<aws_sdk_dynamodb::Error>),
    #[error("transaction still conflicting with concurrent writes after {MAX_ATTEMPTS} attempts")]
    Contended,
}

impl DynamoError {
    /// Capacity trouble that clears on its own: the right answer is 503 with Retry-After, not 500. Throttling,
    /// whether of a whole request or of one item inside a transaction (its cancellation reason), a write that met
    /// an item a transaction holds, the service's own failure (5xx), and no answer at all.
    pub fn is_overload(&self) -> bool {
        use aws_sdk_dynamodb::Error as E;
        match self {
            Self::Contended | Self::NoAnswer(_) | Self::ServerError(_) => true,
            Self::Sdk(e) => match e.as_ref() {
                E::ProvisionedThroughputExceededException(_)
                | E::RequestLimitExceeded(_)
                | E::ThrottlingException(_)
                | E::LimitExceededException(_)
                | E::TransactionConflictException(_)
                | E::TransactionInProgressException(_) => true,
                E::TransactionCanceledException(e) => {
                    e.cancellation_reasons().iter().filter_map(|r| r.code()).any(is_transient_cancellation)
                }
                _ => false,
            },
        }
    }
}

impl<E> From<SdkError<E, HttpResponse>> for DynamoError
where
    aws_sdk_dynamodb::Error: From<SdkError<E, HttpResponse>>,
    E: std::error::Error + 'static,
{
    fn from(err: SdkError<E, HttpResponse>) -> Self {
        match err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                Self::NoAnswer(aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string())
            }
            SdkError::ServiceError(ref service) if service.raw().status().is_server_error() => {
                Self::ServerError(Box::new(err.into()))
            }
            err => Self::Sdk(Box::new(err.into())),
        }
    }
}

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A primary key (`pk`, `sk`).
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn built<T>(result: Result<T, aws_sdk_dynamodb::error::BuildError>) -> T {
    // The builders below always set every required field; a failure here is a programming error.
    result.expect("transaction item has its required fields")
}

/// Optional expression attribute names and values of a transaction item.
#[derive(Debug, Default, Clone)]
pub struct Expr {
    names: HashMap<String, String>,
    values: Item,
}

impl Expr {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.to_owned(), name.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A transactional put, optionally conditional.
pub fn tx_put(table: &str, item: Item, condition: Option<&str>, expr: Expr) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(Into::into))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values());
    TransactWriteItem::builder().put(built(put.build())).build()
}

/// A transactional condition on an item that is not written.
pub fn tx_check(table: &str, key: Item, condition: &str, expr: Expr) -> TransactWriteItem {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(condition)
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values());
    TransactWriteItem::builder().condition_check(built(check.build())).build()
}

/// A transactional update, optionally conditional.
pub fn tx_update(table: &str, key: Item, update: &str, condition: Option<&str>, expr: Expr) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(update)
        .set_condition_expression(condition.map(Into::into))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values());
    TransactWriteItem::builder().update(built(update.build())).build()
}

/// A transactional delete, optionally conditional.
pub fn tx_delete(table: &str, key: Item, condition: Option<&str>, expr: Expr) -> TransactWriteItem {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .set_condition_expression(condition.map(Into::into))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values());
    TransactWriteItem::builder().delete(built(delete.build())).build()
}

/// Exponential backoff with full jitter: 0..(25 ms × 2^attempt), capped at 1.6 s.
async fn backoff(attempt: u32) {
    let cap_ms = (25u64 << attempt.min(6)).min(1600);
    tokio::time::sleep(Duration::from_millis(rand::random_range(0..=cap_ms))).await;
}

/// Cancellation reasons that say "not now" rather than "not this": the item was throttled or held by another
/// transaction.
fn is_transient_cancellation(code: &str) -> bool {
    matches!(code, "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded" | "TransactionConflict")
}

/// Why each item of a cancelled transaction failed, in request order (`None` for items that did not fail).
fn cancellation_reasons(err: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>) -> Option<Vec<Option<String>>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons().iter().map(|r| r.code().filter(|c| *c != "None").map(str::to_owned)).collect(),
        ),
        _ => None,
    }
}

/// The outcome of a transaction: committed, or cancelled because conditions failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Transaction {
    Committed,
    /// Which items' conditions failed, by their position in the request.
    ConditionsFailed(Vec<bool>),
}

impl Transaction {
    /// Whether item `index` failed its condition (false for a committed transaction).
    pub fn failed_at(&self, index: usize) -> bool {
        matches!(self, Self::ConditionsFailed(failed) if failed.get(index) == Some(&true))
    }
}

/// Sends a transaction, retrying with backoff while it is cancelled only by conflicts with concurrent
/// transactions on the same items, at most [`MAX_ATTEMPTS`] times (then [`DynamoError::Contended`]).
/// Cancellations by failed conditions are an outcome; any other cancellation is an error, not retried here:
/// throttling (an overload, [`DynamoError::is_overload`]) is the caller's to retry later, and validation is a bug.
pub async fn transact_write(request: TransactWriteItemsFluentBuilder) -> Result<Transaction, DynamoError> {
    let mut attempt = 0;
    loop {
        let err = match request.clone().send().await {
            Ok(_) => return Ok(Transaction::Committed),
            Err(err) => err,
        };
        let Some(reasons) = cancellation_reasons(&err) else {
            return Err(err.into());
        };
        let failed: Vec<bool> = reasons.iter().map(|r| r.as_deref() == Some("ConditionalCheckFailed")).collect();
        if failed.contains(&true) {
            return Ok(Transaction::ConditionsFailed(failed));
        }
        if !reasons.iter().flatten().all(|code| code == "TransactionConflict") {
            return Err(err.into());
        }
        attempt += 1;
        if attempt == MAX_ATTEMPTS {
            return Err(DynamoError::Contended);
        }
        backoff(attempt).await;
    }
}

#[cfg(test)]
mod tests {
    //! Canned SDK responses (aws-smithy-mocks) for what the emulator only produces under pushback.
    use aws_sdk_dynamodb::{
        Client,
        operation::{
            put_item::PutItemError,
            transact_write_items::{TransactWriteItemsError, TransactWriteItemsOutput},
        },
        types::{
            CancellationReason,
            error::{ThrottlingException, TransactionCanceledException},
        },
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
        let reasons = codes.iter().map(|code| CancellationReason::builder().code(*code).build()).collect();
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder().set_cancellation_reasons(Some(reasons)).build(),
        )
    }

    fn request(client: &Client) -> TransactWriteItemsFluentBuilder {
        client.transact_write_items().transact_items(tx_check("t", key("a", "b"), "attribute_exists(pk)", Expr::new()))
    }

    #[tokio::test]
    async fn a_transaction_cancelled_by_throttling_is_an_overload_and_is_not_retried_here() {
        let throttled = mock!(Client::transact_write_items).then_error(|| cancelled(&["None", "ThrottlingError"]));
        let client = mock_client!(aws_sdk_dynamodb, [&throttled]);
        let err = transact_write(request(&client)).await.unwrap_err();
        assert!(err.is_overload(), "{err}");
        assert_eq!(throttled.num_calls(), 1, "the caller retries later, after Retry-After");
    }

    #[tokio::test]
    async fn conflicts_are_retried_a_bounded_number_of_times_then_are_an_overload() {
        let conflict = mock!(Client::transact_write_items)
            .match_requests(|_| true)
            .sequence()
            .error(|| cancelled(&["TransactionConflict", "None"]))
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&conflict]);
        let err = transact_write(request(&client)).await.unwrap_err();
        assert!(matches!(err, DynamoError::Contended) && err.is_overload(), "{err}");
        assert_eq!(conflict.num_calls(), MAX_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn a_conflict_that_clears_commits_and_a_failed_condition_is_an_outcome() {
        let rule = mock!(Client::transact_write_items)
            .sequence()
            .error(|| cancelled(&["TransactionConflict"]))
            .output(|| TransactWriteItemsOutput::builder().build())
            .error(|| cancelled(&["None", "ConditionalCheckFailed"]))
            .build();
        let client = mock_client!(aws_sdk_dynamodb, [&rule]);
        assert_eq!(transact_write(request(&client)).await.unwrap(), Transaction::Committed);
        let outcome = transact_write(request(&client)).await.unwrap();
        assert!(outcome.failed_at(1) && !outcome.failed_at(0));
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn server_errors_are_an_overload_whether_the_model_names_them_or_not() {
        use aws_sdk_dynamodb::config::retry::RetryConfig;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        let internal = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"x"}"#;
        for (status, body) in [(500, internal), (502, "<html>Bad Gateway</html>"), (503, "")] {
            let answer = mock!(Client::put_item)
                .sequence()
                .http_response(move || HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body)))
                .repeatedly()
                .build();
            // The SDK retries these (kit::aws); here only how the last one reads matters.
            let no_retries = |config: aws_sdk_dynamodb::config::Builder| config.retry_config(RetryConfig::disabled());
            let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&answer], no_retries);
            let err: DynamoError = client.put_item().table_name("t").send().await.unwrap_err().into();
            assert!(matches!(err, DynamoError::ServerError(_)) && err.is_overload(), "{status}: {err:?}");
        }
    }

    #[tokio::test]
    async fn throttled_plain_writes_and_validation_errors() {
        let throttled = mock!(Client::put_item)
            .then_error(|| PutItemError::ThrottlingException(ThrottlingException::builder().build()));
        let client = mock_client!(aws_sdk_dynamodb, [&throttled]);
        let err: DynamoError = client.put_item().table_name("t").send().await.unwrap_err().into();
        assert!(err.is_overload(), "{err}");

        let invalid = mock!(Client::transact_write_items).then_error(|| cancelled(&["ValidationError"]));
        let client = mock_client!(aws_sdk_dynamodb, [&invalid]);
        assert!(!transact_write(request(&client)).await.unwrap_err().is_overload(), "a bug is a 500, not a 503");
    }
}
