//! What every request handler shares: the store, the cursor codec, the idempotency records, the token verifier
//! and the config, behind one reference count.

use std::{ops::Deref, sync::Arc};

use aws_config::SdkConfig;
use kit::{
    auth::Verifier,
    config::{ConfigError, Env},
    cursor::CursorCodec,
    idempotency::Idempotency,
    s3_presign::Presigner,
    secrets::SecretReader,
};

use crate::{config::AppConfig, events::EventPublisher, store::Store};

/// The shared state, cloned for every request that extracts it: one reference count to bump (a profile of the
/// cached read found cloning the parts, each with its own reference counts, at ~10 % of the origin's CPU).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

#[derive(Clone)]
pub struct AppParts {
    pub store: Store,
    pub cursors: CursorCodec,
    pub idempotency: Idempotency,
    pub verifier: Verifier,
    pub events: EventPublisher,
    /// Presigns the media bucket's uploads and downloads: all the request path does with S3, so hosts serving
    /// the API build no S3 client (`s3_client`, for the jobs).
    pub presigner: Arc<Presigner>,
    pub sqs: aws_sdk_sqs::Client,
    /// The AWS settings every client here was built from, for the clients only some hosts need.
    pub sdk: SdkConfig,
    pub config: Arc<AppConfig>,
}

impl AppState {
    pub fn new(config: AppConfig, sdk: &SdkConfig) -> Self {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        let store =
            Store::new(db.clone(), config.table.clone(), config.latest_shards).with_read_cache(config.read_cache);
        let mut idempotency = Idempotency::new(db, config.table.clone(), Arc::new(kit::auth::subject_scope));
        idempotency.max_body = config.max_body_bytes;
        // No attempt runs longer than the request timeout: after that, its claim has lapsed for a retry to take.
        idempotency.lock = config.request_timeout + std::time::Duration::from_secs(1);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        Self::from(AppParts {
            store,
            cursors: CursorCodec::new(config.cursor_secret.expose()),
            idempotency,
            verifier: Verifier::from_config(config.auth.clone()),
            events: EventPublisher::new(sqs.clone(), config.jobs_queue_url.clone()),
            presigner: Arc::new(Presigner::new(sdk)),
            sqs,
            sdk: sdk.clone(),
            config: Arc::new(config),
        })
    }

    /// Configuration from the process environment (secrets by ARN from Secrets Manager) and AWS settings from
    /// the standard AWS variables.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = kit::aws::sdk_config().await;
        let config = AppConfig::from_env(&Env::process(), &SecretReader::new(&sdk)).await?;
        Ok(Self::new(config, &sdk))
    }

    /// As [`AppState::from_env`], for a host serving the API: without an identity provider (`AUTH_ISSUER`,
    /// `AUTH_AUDIENCE`) it would refuse every write, so it refuses to start instead.
    pub async fn serving_from_env() -> Result<Self, ConfigError> {
        let state = Self::from_env().await?;
        if state.config.auth.is_none() {
            return Err(ConfigError::Missing { name: "AUTH_ISSUER".into() });
        }
        Ok(state)
    }
}

/// An S3 client for `sdk`; with an endpoint override (an emulator) it addresses buckets by path, not subdomain.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(config)
}
