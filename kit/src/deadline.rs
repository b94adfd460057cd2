//! A request's deadline, which bounds every AWS call made for it: [`middleware`] sets it when the request
//! arrives, and the SDK's HTTP client ([`DeadlineHttpClient`], in `kit::aws`) ends any call still waiting then,
//! without a retry. A store that does not answer is then the request's own 503 with Retry-After (the store's
//! `NoAnswer`), given before the request's timeout, however many calls the request makes one after another;
//! without it, each call had its own timeout and a request of several calls overran its time (504), or left the
//! SDK retrying after it was past use. Calls outside a request (jobs, start-up) keep the SDK's timeouts only.

use std::time::Duration;

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        connector_metadata::ConnectorMetadata,
        http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
            SharedHttpConnector,
        },
        orchestrator::HttpRequest,
        result::ConnectorError,
        runtime_components::{RuntimeComponents, RuntimeComponentsBuilder},
    },
    shared::IntoShared,
};
use aws_smithy_types::config_bag::ConfigBag;
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// How long a request's AWS calls may take together: its timeout less the time to answer after they fail (a
/// fifth of it, at most 0.5 s), so the answer is the API's 503 rather than the timeout's 504.
pub fn aws_budget(request_timeout: Duration) -> Duration {
    request_timeout - (request_timeout / 5).min(Duration::from_millis(500))
}

/// Middleware (`axum::middleware::from_fn_with_state(budget, middleware)`): the request's AWS calls end within
/// `budget` from now.
pub async fn middleware(State(budget): State<Duration>, request: Request, next: Next) -> Response {
    DEADLINE.scope(Instant::now() + budget, next.run(request)).await
}

/// The AWS SDK's HTTP client, made to end each call at the deadline of the request it serves, if any.
#[derive(Debug)]
pub struct DeadlineHttpClient(SharedHttpClient);

impl DeadlineHttpClient {
    pub fn new(inner: SharedHttpClient) -> Self {
        Self(inner)
    }
}

impl HttpClient for DeadlineHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        DeadlineConnector(self.0.http_connector(settings, components)).into_shared()
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct DeadlineConnector(SharedHttpConnector);

/// The request this call serves is out of time.
#[derive(Debug, thiserror::Error)]
#[error("the request this call serves reached its deadline")]
struct DeadlineReached;

impl HttpConnector for DeadlineConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = self.0.call(request);
        let Ok(deadline) = DEADLINE.try_with(|deadline| *deadline) else { return call };
        HttpConnectorFuture::new(async move {
            // An error of no retryable kind: the SDK gives up at once instead of retrying past use.
            let reached = || ConnectorError::other(DeadlineReached.into(), None);
            tokio::time::timeout_at(deadline, call).await.unwrap_or_else(|_| Err(reached()))
        })
    }
}

#[cfg(test)]
mod tests {
    //! A store that never answers, behind the deadline client: within a request, calls end at its deadline
    //! and are not retried; outside one, the SDK's timeouts and retries are as configured.
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use aws_sdk_dynamodb::{
        Client,
        config::{Credentials, Region, retry::RetryConfig, timeout::TimeoutConfig},
        error::SdkError,
        operation::get_item::GetItemError,
        types::AttributeValue,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

    use super::*;
    use crate::dynamo::DynamoError;

    /// An endpoint that takes every call and never answers; counts the calls.
    #[derive(Debug, Clone, Default)]
    struct Silent(Arc<AtomicUsize>);

    impl HttpConnector for Silent {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            self.0.fetch_add(1, Ordering::SeqCst);
            HttpConnectorFuture::new(std::future::pending::<Result<HttpResponse, ConnectorError>>())
        }
    }

    impl HttpClient for Silent {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            self.clone().into_shared()
        }
    }

    /// A call to `silent` with `attempt` timeouts, 3 attempts, 10 s in all.
    async fn get_item(silent: &Silent, attempt: Duration) -> SdkError<GetItemError, HttpResponse> {
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(attempt)
            .operation_timeout(Duration::from_secs(10))
            .build();
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
            .endpoint_url("http://127.0.0.1:1")
            .http_client(DeadlineHttpClient::new(silent.clone().into_shared()))
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .build();
        let get = Client::from_conf(config).get_item().table_name("t").key("pk", AttributeValue::S("k".into()));
        get.send().await.unwrap_err()
    }

    #[tokio::test]
    async fn within_a_request_a_call_ends_at_its_deadline_once_as_no_answer() {
        let silent = Silent::default();
        let started = Instant::now();
        let deadline = started + Duration::from_millis(300);
        let err = DEADLINE.scope(deadline, get_item(&silent, Duration::from_secs(3))).await;
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert_eq!(silent.0.load(Ordering::SeqCst), 1, "not retried");
        assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
        assert!(DynamoError::from(err).is_overload(), "a 503, not a 500");

        let late = DEADLINE.scope(Instant::now(), get_item(&silent, Duration::from_secs(3))).await;
        assert!(DynamoError::from(late).is_overload(), "a call past the deadline fails");
        assert!(started.elapsed() < Duration::from_secs(3), "at once");
    }

    #[tokio::test]
    async fn outside_a_request_the_sdk_timeouts_and_retries_apply() {
        let silent = Silent::default();
        let err = get_item(&silent, Duration::from_millis(100)).await;
        assert!(matches!(err, SdkError::TimeoutError(_)), "{err:?}");
        assert_eq!(silent.0.load(Ordering::SeqCst), 3, "every attempt");
    }

    #[test]
    fn the_budget_leaves_time_to_answer() {
        assert_eq!(aws_budget(Duration::from_secs(10)), Duration::from_millis(9_500));
        assert_eq!(aws_budget(Duration::from_millis(2_500)), Duration::from_millis(2_000));
        assert_eq!(aws_budget(Duration::from_millis(800)), Duration::from_millis(640));
    }
}
