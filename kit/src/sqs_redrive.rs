//! Operating dead-letter queues: look at what failed and why, and move messages back once the cause is fixed.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::{
    Client,
    types::{Message, MessageSystemAttributeName, QueueAttributeName},
};

use crate::sqs_batch::{FAILURE_REASON, FAILURE_RECEIVE_COUNT, FAILURE_SOURCE};

pub type SqsError = Box<aws_sdk_sqs::Error>;

fn sqs_error<E>(err: E) -> SqsError
where
    aws_sdk_sqs::Error: From<E>,
{
    Box::new(err.into())
}

/// A dead-lettered message as an operator wants to see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    /// Why it failed, for permanent failures (retryable ones that ran out of receives have none).
    pub reason: Option<String>,
    pub source_queue: Option<String>,
    /// Receives before it was dead-lettered (for permanent failures).
    pub receive_count: Option<String>,
    /// When it was first sent to the dead-letter queue, ms since the epoch.
    pub sent_at: Option<String>,
}

fn attribute(message: &Message, name: &str) -> Option<String> {
    message.message_attributes.as_ref()?.get(name)?.string_value.clone()
}

async fn receive(sqs: &Client, queue: &str, max: usize) -> Result<Vec<Message>, SqsError> {
    let output = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(max.clamp(1, 10) as i32)
        .wait_time_seconds(1)
        .visibility_timeout(30)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(sqs_error)?;
    Ok(output.messages.unwrap_or_default())
}

/// Up to `max` messages of a dead-letter queue, left in place (made visible again at once).
pub async fn inspect(sqs: &Client, queue: &str, max: usize) -> Result<Vec<DeadLetter>, SqsError> {
    let mut seen = Vec::new();
    let mut letters = Vec::new();
    while letters.len() < max {
        let batch = receive(sqs, queue, max - letters.len()).await?;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            if let Some(receipt) = message.receipt_handle.clone() {
                seen.push(receipt);
            }
            letters.push(DeadLetter {
                message_id: message.message_id.clone().unwrap_or_default(),
                body: message.body.clone().unwrap_or_default(),
                reason: attribute(&message, FAILURE_REASON),
                source_queue: attribute(&message, FAILURE_SOURCE),
                receive_count: attribute(&message, FAILURE_RECEIVE_COUNT),
                sent_at: message
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp).cloned()),
            });
        }
    }
    for receipt in seen {
        sqs.change_message_visibility()
            .queue_url(queue)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(sqs_error)?;
    }
    Ok(letters)
}

/// Moves the messages `from` held when the redrive started to `to`, at most `max` of them (all when `None`):
/// each is sent, then deleted, so a crash in between duplicates a message rather than losing it. The failure
/// attributes are dropped; other message attributes are kept. Returns how many moved.
///
/// A message that fails again while the redrive runs comes back as a new message, and moving it again would never
/// end. So only messages sent before the start move: SQS keeps a message's `SentTimestamp` when its redrive policy
/// dead-letters it, and every send (this one's, or a runner's dead-lettering) sets a new one. And never more than
/// the queue held at the start (approximately, visible or in flight), which holds even if this machine's clock and
/// SQS's disagree. Messages that came back stay in the queue, visible again after the receive's visibility timeout.
pub async fn redrive(sqs: &Client, from: &str, to: &str, max: Option<usize>) -> Result<usize, SqsError> {
    let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    let limit = held(sqs, from).await?.min(max.unwrap_or(usize::MAX));
    let mut moved = 0;
    while moved < limit {
        let batch = receive(sqs, from, limit - moved).await?;
        if batch.is_empty() {
            break;
        }
        for message in batch.into_iter().filter(|message| sent_before(message, started)) {
            let mut send = sqs.send_message().queue_url(to).message_body(message.body.clone().unwrap_or_default());
            for (name, value) in message.message_attributes.clone().unwrap_or_default() {
                if ![FAILURE_REASON, FAILURE_SOURCE, FAILURE_RECEIVE_COUNT].contains(&name.as_str()) {
                    send = send.message_attributes(name, value);
                }
            }
            send.send().await.map_err(sqs_error)?;
            if let Some(receipt) = message.receipt_handle {
                sqs.delete_message().queue_url(from).receipt_handle(receipt).send().await.map_err(sqs_error)?;
            }
            moved += 1;
        }
    }
    Ok(moved)
}

/// How many messages `queue` holds, visible or in flight (approximate, as SQS counts).
async fn held(sqs: &Client, queue: &str) -> Result<usize, SqsError> {
    let output = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(sqs_error)?;
    Ok(output.attributes.unwrap_or_default().values().filter_map(|count| count.parse::<usize>().ok()).sum())
}

/// Whether SQS took `message` in before `instant` (ms since the epoch); one without a timestamp counts as old.
fn sent_before(message: &Message, instant: u128) -> bool {
    let sent = message.attributes.as_ref().and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp));
    sent.and_then(|ms| ms.parse::<u128>().ok()).is_none_or(|ms| ms < instant)
}
