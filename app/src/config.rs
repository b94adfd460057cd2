//! The app's configuration, read from environment variables (the table in README's configuration section).

use std::time::Duration;

use kit::{
    auth::AuthConfig,
    config::{ConfigError, Env, Secret},
    read_cache::ReadCacheConfig,
    secrets::{RotatingSecret, SecretReader},
    shard::ShardCount,
    sqs_batch::RetryBackoff,
};

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table: String,
    /// `LATEST_SHARDS` (16): partitions of the global latest index. Only ever increase it.
    pub latest_shards: ShardCount,
    /// `CURSOR_SECRET` (or `CURSOR_SECRET_ARN`): signs pagination cursors; the same value on every instance.
    pub cursor_secret: Secret,
    /// `EDGE_SECRET` (or `EDGE_SECRET_ARN`; unset): when set, every API request must carry it in `X-Edge-Secret`
    /// (the edge adds it), so the origin and the function URL answer only the edge. Its previous value
    /// (`EDGE_SECRET_PREVIOUS`, or the secret's `AWSPREVIOUS` version) is accepted too, for rotations.
    pub edge_secret: Option<RotatingSecret>,
    /// `AUTH_ISSUER`, `AUTH_AUDIENCE`, ... (unset: this host verifies no tokens, and every write is refused).
    pub auth: Option<AuthConfig>,
    /// `REQUEST_TIMEOUT_MS` (10000): a request still running after this gets 504.
    pub request_timeout: Duration,
    /// `MAX_BODY_BYTES` (65536): larger request bodies get 413.
    pub max_body_bytes: usize,
    /// `JOBS_QUEUE_URL`: where application events (likes to roll up) are sent.
    pub jobs_queue_url: String,
    /// `MEDIA_BUCKET`: uploads land under `originals/`, thumbnails are written under `thumbnails/`.
    pub media_bucket: String,
    /// `MAX_UPLOAD_BYTES` (10485760): larger uploads are rejected by the thumbnail job.
    pub max_upload_bytes: u64,
    /// `DECODE_MEMORY_MB`: the memory the thumbnail job's image decodes may hold at once. Default: half the
    /// Lambda function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, set by Lambda), else 512.
    pub decode_memory_mb: u32,
    /// `JOB_RETRY_BASE_MS` (2000) and `JOB_RETRY_MAX_MS` (300000): backoff of retried jobs.
    pub job_retry: RetryBackoff,
    /// `READ_CACHE_TTL_MS` (2000), `READ_CACHE_NEGATIVE_TTL_MS` (500), `READ_CACHE_MAX_MB` (64): the in-process
    /// cache of hot reads (posts, profiles, first feed pages); a TTL of 0 turns it off.
    pub read_cache: ReadCacheConfig,
}

impl AppConfig {
    /// The configuration in `env`; secrets given by ARN are read with `secrets`.
    pub async fn from_env(env: &Env, secrets: &SecretReader) -> Result<Self, ConfigError> {
        let default_shards = ShardCount::new(16).expect("16 is a valid shard count");
        // Both secrets at once: each may be a Secrets Manager call, and a Lambda function waits for them to init.
        let (cursor_secret, edge_secret) =
            tokio::try_join!(secrets.required(env, "CURSOR_SECRET"), secrets.rotating(env, "EDGE_SECRET"))?;
        Ok(Self {
            table: env.required("TABLE_NAME")?,
            latest_shards: env.or("LATEST_SHARDS", default_shards)?,
            cursor_secret,
            edge_secret,
            auth: AuthConfig::from_env(env)?,
            request_timeout: env.millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
            max_body_bytes: env.or("MAX_BODY_BYTES", 64 * 1024)?,
            jobs_queue_url: env.required("JOBS_QUEUE_URL")?,
            media_bucket: env.required("MEDIA_BUCKET")?,
            max_upload_bytes: env.or("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)?,
            decode_memory_mb: env.or("DECODE_MEMORY_MB", env.or("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 1024u32)? / 2)?,
            job_retry: RetryBackoff {
                base: env.millis_or("JOB_RETRY_BASE_MS", 2_000)?,
                max: env.millis_or("JOB_RETRY_MAX_MS", 300_000)?,
            },
            read_cache: ReadCacheConfig::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn from_env(env: &Env) -> Result<AppConfig, ConfigError> {
        AppConfig::from_env(env, &SecretReader::env_only()).await
    }

    #[tokio::test]
    async fn defaults_and_clear_errors() {
        let env = Env::from_pairs([
            ("TABLE_NAME", "t"),
            ("CURSOR_SECRET", "0123456789abcdef0123456789abcdef"),
            ("JOBS_QUEUE_URL", "http://localhost/q"),
            ("MEDIA_BUCKET", "media"),
        ]);
        let config = from_env(&env).await.unwrap();
        assert_eq!(config.job_retry.base, Duration::from_secs(2));
        assert_eq!(config.max_upload_bytes, 10 * 1024 * 1024);
        assert_eq!(config.decode_memory_mb, 512);
        let in_lambda = Env::from_pairs([
            ("TABLE_NAME", "t"),
            ("CURSOR_SECRET", "0123456789abcdef0123456789abcdef"),
            ("JOBS_QUEUE_URL", "http://localhost/q"),
            ("MEDIA_BUCKET", "media"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048"),
        ]);
        assert_eq!(from_env(&in_lambda).await.unwrap().decode_memory_mb, 1024, "half the function's memory");
        assert_eq!(config.latest_shards.get(), 16);
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
        assert!(config.edge_secret.is_none(), "only deployed hosts insist on the edge");
        assert!(config.auth.is_none(), "a host without AUTH_ISSUER verifies no tokens");

        let short = Env::from_pairs([("TABLE_NAME", "t"), ("CURSOR_SECRET", "short")]);
        assert!(from_env(&short).await.unwrap_err().to_string().contains("CURSOR_SECRET"));
        let short =
            Env::from_pairs([("TABLE_NAME", "t"), ("CURSOR_SECRET", &"x".repeat(32)), ("EDGE_SECRET", "short")]);
        assert!(from_env(&short).await.unwrap_err().to_string().contains("EDGE_SECRET"));
        let zero = Env::from_pairs([("TABLE_NAME", "t"), ("CURSOR_SECRET", &"x".repeat(32)), ("LATEST_SHARDS", "0")]);
        assert!(from_env(&zero).await.unwrap_err().to_string().contains("LATEST_SHARDS"));
        let missing = Env::from_pairs([("CURSOR_SECRET", &"x".repeat(32))]);
        assert_eq!(from_env(&missing).await.unwrap_err(), ConfigError::Missing { name: "TABLE_NAME".into() });
    }
}
