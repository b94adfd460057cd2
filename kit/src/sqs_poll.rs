//! The local stand-in for Lambda's SQS event source mapping: long-poll a queue (up to 10 messages, 20 s wait),
//! hand the batch to the same handler Lambda calls as an `SqsEvent`, delete the successes and leave the
//! failures to reappear, so the queue's own redrive policy moves them to the dead-letter queue as on AWS.
//! Used by `jobs --poll` locally and by tests; AWS never runs it.

use std::{collections::HashSet, future::Future, time::Duration};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::{
    Client,
    config::timeout::TimeoutConfig,
    types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName},
};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Sqs(Box<aws_sdk_sqs::Error>),
    #[error("the queue {0} reported no ARN")]
    NoArn(String),
}

impl<E, R> From<aws_sdk_sqs::error::SdkError<E, R>> for PollError
where
    aws_sdk_sqs::Error: From<aws_sdk_sqs::error::SdkError<E, R>>,
{
    fn from(err: aws_sdk_sqs::error::SdkError<E, R>) -> Self {
        Self::Sqs(Box::new(err.into()))
    }
}

pub struct Poller {
    sqs: Client,
    queue_url: String,
    queue_arn: String,
    region: Option<String>,
    wait: Duration,
}

/// Messages per batch: the most one ReceiveMessage returns, and the batch size of the CDK event sources.
const BATCH_SIZE: i32 = 10;

/// The record Lambda would deliver for `message`.
fn record(message: Message, queue_arn: &str, region: Option<&str>) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id;
    record.receipt_handle = message.receipt_handle;
    record.body = message.body;
    record.md5_of_body = message.md5_of_body;
    record.md5_of_message_attributes = message.md5_of_message_attributes;
    record.attributes = message
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name.as_str().to_owned(), value))
        .collect();
    record.message_attributes = message
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| {
            let mut attribute = SqsMessageAttribute::default();
            attribute.data_type = Some(value.data_type);
            attribute.string_value = value.string_value;
            (name, attribute)
        })
        .collect();
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(queue_arn.to_owned());
    record.aws_region = region.map(str::to_owned);
    record
}

impl Poller {
    pub async fn new(sqs: Client, queue_url: impl Into<String>) -> Result<Self, PollError> {
        let queue_url = queue_url.into();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?;
        let queue_arn = attributes
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| PollError::NoArn(queue_url.clone()))?;
        let region = sqs.config().region().map(|r| r.to_string());
        Ok(Self { sqs, queue_url, queue_arn, region, wait: Duration::from_secs(20) })
    }

    /// How long one receive waits for messages (long polling; at most 20 s).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait.min(Duration::from_secs(20));
        self
    }

    async fn receive(&self) -> Result<Vec<Message>, PollError> {
        // A long poll legitimately takes its whole wait: the shared per-attempt timeout would cut it off after the
        // server has already handed out messages, hiding them for a visibility timeout.
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(self.wait + Duration::from_secs(10))
            .operation_timeout(self.wait + Duration::from_secs(30))
            .build();
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(BATCH_SIZE)
            .wait_time_seconds(self.wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .customize()
            .config_override(aws_sdk_sqs::config::Builder::default().timeout_config(timeouts))
            .send()
            .await?;
        Ok(output.messages.unwrap_or_default())
    }

    /// Hands `messages` to `handle` as one event and deletes the ones it did not report as failed.
    async fn process<F, Fut>(&self, messages: Vec<Message>, handle: &F) -> Result<(), PollError>
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let mut event = SqsEvent::default();
        event.records = messages.into_iter().map(|m| record(m, &self.queue_arn, self.region.as_deref())).collect();
        let receipts: Vec<(String, String)> =
            event.records.iter().filter_map(|r| Some((r.message_id.clone()?, r.receipt_handle.clone()?))).collect();
        let response = handle(event).await;
        let failed: HashSet<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        let entries: Vec<DeleteMessageBatchRequestEntry> = receipts
            .into_iter()
            .filter(|(id, _)| !failed.contains(id))
            .enumerate()
            .filter_map(|(n, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder().id(n.to_string()).receipt_handle(receipt).build().ok()
            })
            .collect();
        if !entries.is_empty() {
            let output =
                self.sqs.delete_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await?;
            for failure in output.failed {
                tracing::warn!(id = %failure.id, code = %failure.code, "could not delete a processed message; it will be redelivered");
            }
        }
        Ok(())
    }

    /// One receive and, if it brought messages, one batch. Returns how many messages it handled.
    pub async fn poll_once<F, Fut>(&self, handle: &F) -> Result<usize, PollError>
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let messages = self.receive().await?;
        let count = messages.len();
        if count > 0 {
            self.process(messages, handle).await?;
        }
        Ok(count)
    }

    /// Polls until `shutdown` resolves. A batch in progress is always finished (and its successes deleted)
    /// first; a receive still waiting is abandoned. Receive errors are logged and retried after a pause.
    pub async fn run<F, Fut>(&self, handle: F, shutdown: impl Future<Output = ()>)
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        tokio::pin!(shutdown);
        loop {
            let messages = tokio::select! {
                biased;
                () = &mut shutdown => break,
                received = self.receive() => received,
            };
            let result = match messages {
                Ok(messages) if messages.is_empty() => Ok(()),
                Ok(messages) => self.process(messages, &handle).await,
                Err(err) => Err(err),
            };
            if let Err(err) = result {
                tracing::error!(queue = %self.queue_url, error = %err, "polling failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        tracing::info!(queue = %self.queue_url, "poller stopped");
    }
}
