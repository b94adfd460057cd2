//! The jobs function's one Lambda handler: its event source mappings deliver SQS batches (answered with partial
//! batch failures) and the table stream's windows (counted by `like_counts`, answered with an empty state; a
//! failure fails the call, and Lambda retries the window). The event's shape says which it is.

use aws_lambda_events::event::{dynamodb::TimeWindowEvent, sqs::SqsEvent};
use kit::{
    sqs_batch::BatchRunner,
    stream_window::{StreamWindow, lambda_response},
};
use serde_json::Value;

use super::{JobMessage, Jobs, like_counts, runner};
use crate::state::AppState;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub struct LambdaJobs {
    runner: BatchRunner<Jobs>,
    state: AppState,
}

impl LambdaJobs {
    pub fn new(state: &AppState) -> Self {
        Self { runner: runner(state), state: state.clone() }
    }

    /// One invocation: a stream window or an SQS batch, and Lambda's answer to it.
    pub async fn handle(&self, event: Value) -> Result<Value, Error> {
        if is_stream_window(&event) {
            let window = StreamWindow::try_from(serde_json::from_value::<TimeWindowEvent>(event)?)?;
            let state = like_counts::handle(&self.state.store, &self.state.events, window).await?;
            Ok(serde_json::to_value(lambda_response(state))?)
        } else {
            let batch: SqsEvent = serde_json::from_value(event)?;
            Ok(serde_json::to_value(self.runner.run::<JobMessage>(batch).await)?)
        }
    }
}

/// Whether an event is a DynamoDB stream window (the table stream's mapping has a tumbling window) rather than
/// an SQS batch.
fn is_stream_window(event: &Value) -> bool {
    event.get("shardId").is_some() || event.pointer("/Records/0/eventSource") == Some(&Value::from("aws:dynamodb"))
}
