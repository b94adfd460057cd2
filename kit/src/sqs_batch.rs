//! A batch runner for SQS-triggered work, the same under Lambda (event source mapping) and locally
//! ([`crate::sqs_poll`]). Each record is decoded into a job; jobs that share a coalescing key are handled once
//! as a group; groups run with bounded concurrency. Outcomes per record:
//! - success: done (Lambda, or the poller, deletes it);
//! - retryable failure: reported in `batchItemFailures`, so only it is redelivered; its visibility is set to an
//!   exponential backoff so retries do not wait a whole visibility timeout; after `maxReceiveCount` receives the
//!   queue's redrive policy moves it to the dead-letter queue;
//! - permanent failure (including a malformed body): sent straight to the queue's dead-letter queue with the
//!   reason in message attributes, then treated as done.
//!
//! One bad message never fails the batch.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::{
    Client,
    types::{MessageAttributeValue, QueueAttributeName},
};
use futures::{StreamExt, stream};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

/// Message attributes a permanent failure carries into the dead-letter queue.
pub const FAILURE_REASON: &str = "failure-reason";
pub const FAILURE_SOURCE: &str = "failure-source-queue";
pub const FAILURE_RECEIVE_COUNT: &str = "failure-receive-count";
const MAX_REASON_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another try (a throttle, a timeout, a dependency down).
    #[error("retryable: {0}")]
    Retryable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Will fail the same way every time (bad input): goes to the dead-letter queue at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl JobError {
    pub fn retryable(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Retryable(err.into())
    }
}

/// A message body type.
pub trait Job: DeserializeOwned + Send + Sync {
    /// Jobs with the same key in one batch are handled once, together (e.g. all likes of one post).
    fn coalesce_key(&self) -> Option<String> {
        None
    }
}

/// Does the work of a group of jobs (one job, or several sharing a coalescing key).
pub trait JobHandler<J: Job>: Send + Sync {
    fn handle(&self, group: &[J]) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// How long a retried message stays invisible: `base × 2^(receives − 1)`, at most `max`.
#[derive(Debug, Clone, Copy)]
pub struct RetryBackoff {
    pub base: Duration,
    pub max: Duration,
}

impl RetryBackoff {
    fn delay(&self, receive_count: u32) -> Duration {
        let factor = 2u32.saturating_pow(receive_count.saturating_sub(1).min(20));
        self.base.saturating_mul(factor).min(self.max)
    }
}

impl Default for RetryBackoff {
    fn default() -> Self {
        Self { base: Duration::from_secs(2), max: Duration::from_secs(300) }
    }
}

/// Queue URLs by ARN, and each queue's dead-letter queue, looked up once.
#[derive(Default)]
struct Directory {
    urls: HashMap<String, String>,
    dead_letters: HashMap<String, Option<String>>,
}

/// Groups of one batch handled at once.
const CONCURRENCY: usize = 8;

pub struct BatchRunner<H> {
    handler: H,
    sqs: Client,
    backoff: RetryBackoff,
    directory: Arc<Mutex<Directory>>,
}

enum Outcome {
    Done,
    Retry(String),
    DeadLetter(String),
}

/// `arn:aws:sqs:region:account:name` → (account, name).
fn parse_queue_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 6 && parts[2] == "sqs").then(|| (parts[4], parts[5]))
}

impl<H> BatchRunner<H> {
    pub fn new(handler: H, sqs: Client) -> Self {
        Self { handler, sqs, backoff: RetryBackoff::default(), directory: Arc::default() }
    }

    pub fn backoff(mut self, backoff: RetryBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    async fn queue_url(&self, arn: &str) -> Result<String, String> {
        if let Some(url) = self.directory.lock().await.urls.get(arn) {
            return Ok(url.clone());
        }
        let (account, name) = parse_queue_arn(arn).ok_or_else(|| format!("not an SQS queue ARN: {arn}"))?;
        let output = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await
            .map_err(|e| format!("GetQueueUrl {name}: {}", aws_sdk_sqs::Error::from(e)))?;
        let url = output.queue_url.ok_or("GetQueueUrl returned no URL")?;
        self.directory.lock().await.urls.insert(arn.to_owned(), url.clone());
        Ok(url)
    }

    /// The URL of the dead-letter queue in `source`'s redrive policy, if it has one.
    async fn dead_letter_url(&self, source_arn: &str) -> Result<Option<String>, String> {
        if let Some(known) = self.directory.lock().await.dead_letters.get(source_arn) {
            return Ok(known.clone());
        }
        let source_url = self.queue_url(source_arn).await?;
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&source_url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| format!("GetQueueAttributes: {}", aws_sdk_sqs::Error::from(e)))?;
        let target = attributes
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::RedrivePolicy))
            .and_then(|policy| serde_json::from_str::<serde_json::Value>(&policy).ok())
            .and_then(|policy| policy["deadLetterTargetArn"].as_str().map(str::to_owned));
        let url = match target {
            Some(arn) => Some(self.queue_url(&arn).await?),
            None => None,
        };
        self.directory.lock().await.dead_letters.insert(source_arn.to_owned(), url.clone());
        Ok(url)
    }

    async fn send_to_dead_letters(&self, record: &SqsMessage, reason: &str) -> Result<(), String> {
        let source = record.event_source_arn.as_deref().ok_or("the record names no source queue")?;
        let dead_letters =
            self.dead_letter_url(source).await?.ok_or_else(|| format!("{source} has no dead-letter queue"))?;
        let text = |value: &str| MessageAttributeValue::builder().data_type("String").string_value(value).build();
        let reason: String = reason.chars().take(MAX_REASON_LEN).collect();
        let receives = record.attributes.get("ApproximateReceiveCount").map(String::as_str).unwrap_or("1");
        let mut send =
            self.sqs.send_message().queue_url(dead_letters).message_body(record.body.clone().unwrap_or_default());
        for (name, value) in
            [(FAILURE_REASON, reason.as_str()), (FAILURE_SOURCE, source), (FAILURE_RECEIVE_COUNT, receives)]
        {
            send = send.message_attributes(name, text(value).map_err(|e| e.to_string())?);
        }
        send.send()
            .await
            .map_err(|e| format!("SendMessage to the dead-letter queue: {}", aws_sdk_sqs::Error::from(e)))?;
        Ok(())
    }

    /// Makes a retried message visible again after the backoff instead of the queue's visibility timeout.
    async fn delay_retry(&self, record: &SqsMessage) {
        let (Some(source), Some(receipt)) = (record.event_source_arn.as_deref(), record.receipt_handle.as_deref())
        else {
            return;
        };
        let receives = record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        let delay = self.backoff.delay(receives).as_secs() as i32;
        let result = match self.queue_url(source).await {
            Ok(url) => self
                .sqs
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(receipt)
                .visibility_timeout(delay)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_sqs::Error::from(e).to_string()),
            Err(e) => Err(e),
        };
        if let Err(err) = result {
            // Harmless: the message then reappears after the queue's visibility timeout instead.
            tracing::warn!(error = %err, "could not shorten the visibility of a retried message");
        }
    }
}

impl<H> BatchRunner<H> {
    /// Runs one batch and reports which records must be redelivered.
    pub async fn run<J>(&self, event: SqsEvent) -> SqsBatchResponse
    where
        J: Job,
        H: JobHandler<J>,
    {
        let records = event.records;
        let mut outcomes: Vec<Option<Outcome>> = records.iter().map(|_| None).collect();

        // Decode; group decodable jobs by coalescing key (a unique key for jobs that do not coalesce).
        let mut groups: HashMap<String, (Vec<usize>, Vec<J>)> = HashMap::new();
        for (index, record) in records.iter().enumerate() {
            match serde_json::from_str::<J>(record.body.as_deref().unwrap_or_default()) {
                Ok(job) => {
                    let key = job.coalesce_key().unwrap_or_else(|| format!("\0{index}"));
                    let group = groups.entry(key).or_default();
                    group.0.push(index);
                    group.1.push(job);
                }
                Err(err) => outcomes[index] = Some(Outcome::DeadLetter(format!("malformed message body: {err}"))),
            }
        }

        let results: Vec<(Vec<usize>, Result<(), JobError>)> = stream::iter(groups.into_values())
            .map(|(indexes, jobs)| async move { (indexes, self.handler.handle(&jobs).await) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (indexes, result) in results {
            for index in indexes {
                outcomes[index] = Some(match &result {
                    Ok(()) => Outcome::Done,
                    Err(JobError::Retryable(err)) => Outcome::Retry(err.to_string()),
                    Err(JobError::Permanent(reason)) => Outcome::DeadLetter(reason.clone()),
                });
            }
        }

        let mut response = SqsBatchResponse::default();
        for (record, outcome) in records.iter().zip(outcomes) {
            let id = record.message_id.clone().unwrap_or_default();
            let retry = match outcome.unwrap_or(Outcome::Retry("not processed".into())) {
                Outcome::Done => false,
                Outcome::Retry(error) => {
                    tracing::warn!(message_id = %id, %error, "job failed; it will be retried");
                    self.delay_retry(record).await;
                    true
                }
                Outcome::DeadLetter(reason) => match self.send_to_dead_letters(record, &reason).await {
                    Ok(()) => {
                        tracing::error!(message_id = %id, %reason, "job failed permanently; sent to the dead-letter queue");
                        false
                    }
                    Err(error) => {
                        tracing::error!(message_id = %id, %reason, %error, "could not dead-letter a failed job; it will be retried");
                        true
                    }
                },
            };
            if retry {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = RetryBackoff { base: Duration::from_secs(2), max: Duration::from_secs(60) };
        let delays: Vec<u64> = (1..=7).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff.delay(0).as_secs(), 2);
        assert_eq!(backoff.delay(u32::MAX).as_secs(), 60);
    }

    #[test]
    fn queue_arns_name_account_and_queue() {
        assert_eq!(parse_queue_arn("arn:aws:sqs:us-east-1:000000000000:jobs-dlq"), Some(("000000000000", "jobs-dlq")));
        assert_eq!(parse_queue_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(parse_queue_arn("jobs"), None);
    }
}
