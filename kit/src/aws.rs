//! AWS SDK configuration shared by every client: one rustls (ring) HTTP stack and tight timeouts.
//!
//! The endpoint, region and credentials come from the standard AWS environment (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! the credential chain), so the same binary talks to AWS, moto or LocalStack without code changes.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, rustls_provider::CryptoMode},
};

/// Loads the SDK configuration from the environment with Stampede's HTTP client and timeouts.
///
/// Timeouts: 1 s to connect, 3 s per attempt, 10 s per operation including retries. A request handler that
/// waits longer than that on DynamoDB has already lost its client.
pub async fn sdk_config() -> SdkConfig {
    let http_client = Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(10))
        .build();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client).timeout_config(timeouts).load().await
}
