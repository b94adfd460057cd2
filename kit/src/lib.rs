//! kit: reusable, domain-free building blocks for HTTP APIs that scale out on managed parts.
//! Owns identity, secrets, config, problem+json, cursors, shards, AWS clients, idempotency, read caches, batches.
//! Must not know the sample domain (users, posts, likes) nor which host (Lambda, container) runs it.

pub mod auth;
pub mod aws;
pub mod config;
pub mod cursor;
pub mod deadline;
pub mod dynamo;
pub mod edge_auth;
pub mod http_layers;
pub mod https;
pub mod idempotency;
pub mod memory_budget;
pub mod metrics;
pub mod problem;
pub mod read_cache;
pub mod s3_presign;
pub mod secrets;
pub mod shard;
pub mod shutdown;
pub mod sqs_batch;
pub mod sqs_poll;
pub mod sqs_redrive;
pub mod stream_poll;
pub mod stream_window;
pub mod telemetry;
