//! The asynchronous work, run by the jobs function (Lambda) or `jobs --poll` / `jobs --stream` (locally): like
//! counting from the table's stream (`like_counts`), and through `kit::sqs_batch` like rollups from the jobs
//! queue and thumbnails from S3 upload notifications on the media queue.

mod lambda;
pub mod like_counts;
mod like_rollup;
mod s3_notification;
mod thumbnails;

use kit::{
    memory_budget::MemoryBudget,
    sqs_batch::{BatchRunner, Job, JobError, JobHandler},
};
use serde::Deserialize;

pub use lambda::LambdaJobs;

use crate::{
    events::AppEvent,
    state::{AppState, s3_client},
    store::Store,
};

/// The body of any message on the app's queues.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum JobMessage {
    Event(AppEvent),
    Upload(s3_notification::S3Notification),
    /// Sent by S3 when a bucket notification is configured; nothing to do.
    S3Test(S3TestEvent),
}

#[derive(Debug, Deserialize)]
pub struct S3TestEvent {
    #[serde(rename = "Event")]
    pub event: S3TestEventName,
}

#[derive(Debug, Deserialize)]
pub enum S3TestEventName {
    #[serde(rename = "s3:TestEvent")]
    TestEvent,
}

impl Job for JobMessage {
    fn coalesce_key(&self) -> Option<String> {
        match self {
            // All like changes of one post in a batch need one rollup.
            Self::Event(AppEvent::LikesChanged { post_id }) => Some(format!("likes:{post_id}")),
            Self::Upload(_) | Self::S3Test(_) => None,
        }
    }
}

/// Handles the app's jobs.
pub struct Jobs {
    store: Store,
    s3: aws_sdk_s3::Client,
    bucket: String,
    max_upload_bytes: u64,
    /// What the image decodes in progress may hold at once (`DECODE_MEMORY_MB`).
    decode_memory: MemoryBudget,
}

impl Jobs {
    pub fn new(state: &AppState) -> Self {
        Self {
            store: state.store.clone(),
            s3: s3_client(&state.sdk),
            bucket: state.config.media_bucket.clone(),
            max_upload_bytes: state.config.max_upload_bytes,
            decode_memory: MemoryBudget::new(state.config.decode_memory_mb),
        }
    }
}

impl JobHandler<JobMessage> for Jobs {
    async fn handle(&self, group: &[JobMessage]) -> Result<(), JobError> {
        match &group[0] {
            JobMessage::Event(AppEvent::LikesChanged { post_id }) => like_rollup::run(&self.store, *post_id).await,
            JobMessage::Upload(event) => thumbnails::run(self, event).await,
            JobMessage::S3Test(_) => Ok(()),
        }
    }
}

/// The batch runner the jobs function and the local poller call.
pub fn runner(state: &AppState) -> BatchRunner<Jobs> {
    BatchRunner::new(Jobs::new(state), state.sqs.clone()).backoff(state.config.job_retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> Result<JobMessage, serde_json::Error> {
        serde_json::from_str(body)
    }

    #[test]
    fn recognises_each_kind_of_message() {
        let id = crate::models::PostId::generate();
        let event = decode(&format!(r#"{{"type":"likes_changed","post_id":"{id}"}}"#)).unwrap();
        assert_eq!(event.coalesce_key(), Some(format!("likes:{id}")));
        let test = decode(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#).unwrap();
        assert!(matches!(test, JobMessage::S3Test(_)));
        assert!(matches!(decode(r#"{"Records":[]}"#).unwrap(), JobMessage::Upload(_)));
        assert!(decode(r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#).is_err(), "an S3 record needs its object");
    }

    #[test]
    fn rejects_anything_else() {
        for body in ["", "null", "{}", "[]", r#"{"type":"nope"}"#, r#"{"Event":"s3:Other"}"#, "not json"] {
            assert!(decode(body).is_err(), "{body:?}");
        }
    }
}
