//! What every request handler shares: the store, the cursor codec, the idempotency records and the config.

use std::sync::Arc;

use aws_config::SdkConfig;
use kit::{config::Env, cursor::CursorCodec, idempotency::Idempotency};

use crate::{config::AppConfig, events::EventPublisher, routes::acting_user, store::Store};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cursors: CursorCodec,
    pub idempotency: Idempotency,
    pub events: EventPublisher,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub config: Arc<AppConfig>,
}

impl AppState {
    pub fn new(config: AppConfig, sdk: &SdkConfig) -> Self {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        let store = Store::new(db.clone(), config.table.clone(), config.like_shards, config.latest_shards);
        let mut idempotency = Idempotency::new(db, config.table.clone(), Arc::new(acting_user::scope));
        idempotency.max_body = config.max_body_bytes;
        let sqs = aws_sdk_sqs::Client::new(sdk);
        Self {
            store,
            cursors: CursorCodec::new(config.cursor_secret.expose()),
            idempotency,
            events: EventPublisher::new(sqs.clone(), config.jobs_queue_url.clone()),
            s3: s3_client(sdk),
            sqs,
            config: Arc::new(config),
        }
    }

    /// Configuration from the process environment and AWS settings from the standard AWS variables.
    pub async fn from_env() -> Result<Self, kit::config::ConfigError> {
        let config = AppConfig::from_env(&Env::process())?;
        Ok(Self::new(config, &kit::aws::sdk_config().await))
    }
}

/// An S3 client for `sdk`; with an endpoint override (an emulator) it addresses buckets by path, not subdomain.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(config)
}
