//! Application events: follow-up work handed to the jobs queue (the like counter queues rollups this way).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::models::PostId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AppEvent {
    /// A post's likes changed: its like count needs rolling up.
    LikesChanged { post_id: PostId },
}

#[derive(Debug, thiserror::Error)]
#[error("could not send the event to the jobs queue: {0}")]
pub struct PublishError(#[from] Box<aws_sdk_sqs::Error>);

/// Sends events to the jobs queue.
#[derive(Clone)]
pub struct EventPublisher {
    sqs: aws_sdk_sqs::Client,
    queue_url: Arc<str>,
}

impl EventPublisher {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: impl Into<Arc<str>>) -> Self {
        Self { sqs, queue_url: queue_url.into() }
    }

    pub async fn publish(&self, event: &AppEvent) -> Result<(), PublishError> {
        let body = serde_json::to_string(event).expect("events always serialize");
        self.sqs
            .send_message()
            .queue_url(&*self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| PublishError(Box::new(e.into())))?;
        Ok(())
    }
}
