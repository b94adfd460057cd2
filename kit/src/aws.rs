//! AWS SDK configuration shared by every client: one rustls (ring) HTTP stack, tight timeouts and the one place
//! retries are bounded.
//!
//! The endpoint, region and credentials come from the standard AWS environment (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! the credential chain), so the same binary talks to AWS, moto or LocalStack without code changes.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, rustls_provider::CryptoMode},
};

/// Loads the SDK configuration from the environment with Stampede's HTTP client and timeouts.
///
/// Timeouts: 1 s to connect, 3 s per attempt, 10 s per operation including retries; and for the calls a request
/// makes, all of them together end by the request's deadline (`deadline`: its timeout less a margin to answer),
/// when the one still waiting fails and is not retried.
///
/// Retries: the SDK's standard mode, the only retry of throttling and transient errors anywhere in Stampede: at
/// most 3 attempts, jittered exponential backoff from 50 ms (at most 1 s) between them, and the standard retry
/// quota (500 tokens per client process and service, 5 per retry, 10 per retry of a timeout, refilled by
/// successes), which stops retrying when most attempts fail: an overloaded or unreachable table is not sent 3×
/// the load. What still fails is the caller's overload (503 with Retry-After: `dynamo::DynamoError::is_overload`).
pub async fn sdk_config() -> SdkConfig {
    let http_client = Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let http_client = crate::deadline::DeadlineHttpClient::new(http_client);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(10))
        .build();
    let retries = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1));
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(timeouts)
        .retry_config(retries)
        .load()
        .await
}
