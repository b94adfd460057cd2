//! The local stand-in for Lambda's DynamoDB stream event source mapping with a tumbling window: read every shard
//! of a stream through the DynamoDB Streams API, in order, and hand each shard's new changes to the same handler
//! Lambda calls, as one window (`StreamWindow`, its last call). A failed call is made again with the same changes
//! and the shard does not move on until it succeeds, as Lambda retries a batch; the handler must be idempotent,
//! as on AWS. Used by `jobs --stream` locally and by tests; AWS never runs it.

use std::{collections::HashMap, future::Future, time::Duration};

use aws_sdk_dynamodbstreams::{
    Client,
    types::{AttributeValue, ShardIteratorType},
};
use tokio::sync::Mutex;

use crate::stream_window::{Change, ChangeKind, StreamWindow, WindowError};

#[derive(Debug, thiserror::Error)]
pub enum StreamPollError {
    #[error(transparent)]
    Streams(Box<aws_sdk_dynamodbstreams::Error>),
    #[error(transparent)]
    Record(#[from] WindowError),
}

impl<E, R> From<aws_sdk_dynamodbstreams::error::SdkError<E, R>> for StreamPollError
where
    aws_sdk_dynamodbstreams::Error: From<aws_sdk_dynamodbstreams::error::SdkError<E, R>>,
{
    fn from(err: aws_sdk_dynamodbstreams::error::SdkError<E, R>) -> Self {
        Self::Streams(Box::new(err.into()))
    }
}

/// The most records handed over in one call, as the like counter's event source mapping's batch size
/// (`cdk/lib/stage.ts`).
const BATCH_SIZE: i32 = 1000;

/// Where the poller starts reading a shard it has not read before.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// Every record the stream still has (Lambda's `TRIM_HORIZON`): what `jobs --stream` does.
    Oldest,
    /// Only records written from now on: what a test does, to leave older tests' records alone.
    Now,
}

/// A position in each shard of one stream.
pub struct StreamPoller {
    client: Client,
    stream_arn: String,
    start: Start,
    positions: Mutex<HashMap<String, Position>>,
}

/// Where the poller is in one shard.
enum Position {
    /// The iterator to read the shard's next records from.
    At(String),
    /// A closed shard, read to its end.
    Ended,
}

/// Calls `handler` with `window` until it succeeds, at most `attempts` times; whether it succeeded.
async fn call<F, Fut, E>(handler: &F, window: StreamWindow, attempts: u32, shard_id: &str) -> bool
where
    F: Fn(StreamWindow) -> Fut,
    Fut: Future<Output = Result<HashMap<String, String>, E>>,
    E: std::fmt::Display,
{
    for attempt in 1..=attempts {
        match handler(window.clone()).await {
            Ok(_) => return true,
            Err(err) if attempt < attempts => {
                tracing::warn!(shard = %shard_id, attempt, error = %err, "stream window failed; calling again");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(20)))).await;
            }
            Err(err) => tracing::error!(shard = %shard_id, error = %err, "stream window failed {attempts} times"),
        }
    }
    false
}

fn change(record: &aws_sdk_dynamodbstreams::types::Record) -> Result<Change, WindowError> {
    let event = record.event_name().map(|name| name.as_str()).unwrap_or_default();
    let data = record.dynamodb();
    let keys = data
        .and_then(|d| d.keys.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| match value {
            AttributeValue::S(text) => Some((name.clone(), text.clone())),
            _ => None,
        })
        .collect();
    let sequence = data.and_then(|d| d.sequence_number()).ok_or(WindowError::NoSequence)?;
    Ok(Change::new(ChangeKind::parse(event)?, keys, sequence))
}

impl StreamPoller {
    /// A poller positioned at `start` of every shard the stream has now.
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        stream_arn: impl Into<String>,
        start: Start,
    ) -> Result<Self, StreamPollError> {
        let client = Client::new(sdk);
        let poller = Self { client, stream_arn: stream_arn.into(), start, positions: Mutex::default() };
        poller.discover(&mut *poller.positions.lock().await).await?;
        Ok(poller)
    }

    /// Learns the stream's shards (new ones appear as DynamoDB splits and rotates them) and where to read each.
    async fn discover(&self, positions: &mut HashMap<String, Position>) -> Result<(), StreamPollError> {
        let description = self.client.describe_stream().stream_arn(&self.stream_arn).send().await?;
        let shards = description.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default();
        // Shards found after the first look are children of split or rotated ones: read them whole.
        let first_look = positions.is_empty();
        for shard in shards {
            let Some(id) = shard.shard_id else { continue };
            if positions.contains_key(&id) {
                continue;
            }
            let kind = match (self.start, first_look) {
                (Start::Now, true) => ShardIteratorType::Latest,
                _ => ShardIteratorType::TrimHorizon,
            };
            let iterator = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&id)
                .shard_iterator_type(kind)
                .send()
                .await?;
            if let Some(iterator) = iterator.shard_iterator {
                positions.insert(id, Position::At(iterator));
            }
        }
        Ok(())
    }

    /// Reads each shard's new changes (up to a batch) and hands them to `handler` as one window per shard, calling
    /// it again with the same changes while it fails (at most `attempts` times; after that the shard stays where
    /// it was and the next poll hands the same changes over again). Returns how many changes were handled.
    pub async fn poll_once<F, Fut, E>(&self, handler: &F, attempts: u32) -> Result<usize, StreamPollError>
    where
        F: Fn(StreamWindow) -> Fut,
        Fut: Future<Output = Result<HashMap<String, String>, E>>,
        E: std::fmt::Display,
    {
        let mut positions = self.positions.lock().await;
        self.discover(&mut positions).await?;
        let mut handled = 0;
        for (shard_id, position) in positions.iter_mut() {
            let Position::At(start) = position else { continue };
            // What is available now, up to a batch: pages until one comes back empty or the batch is full (as
            // Lambda's batch size; under constant writes no page is ever empty), or the shard ends (it was split
            // or rotated; its children were found by `discover`).
            let (mut changes, mut current) = (Vec::new(), start.clone());
            let after = loop {
                let page = self.client.get_records().shard_iterator(&current).limit(BATCH_SIZE).send().await?;
                let records = page.records.unwrap_or_default();
                for record in &records {
                    changes.push(change(record)?);
                }
                match page.next_shard_iterator {
                    Some(next) if records.is_empty() || changes.len() >= BATCH_SIZE as usize => {
                        break Position::At(next);
                    }
                    Some(next) => current = next,
                    None => break Position::Ended,
                }
            };
            if !changes.is_empty() {
                let count = changes.len();
                let window =
                    StreamWindow { shard_id: shard_id.clone(), changes, state: HashMap::new(), is_final: true };
                if !call(handler, window, attempts, shard_id).await {
                    continue;
                }
                handled += count;
            }
            *position = after;
        }
        Ok(handled)
    }

    /// Polls every `window` until `stop` resolves: the local event source mapping.
    pub async fn run<F, Fut, E>(&self, handler: &F, window: Duration, stop: impl Future<Output = ()>)
    where
        F: Fn(StreamWindow) -> Fut,
        Fut: Future<Output = Result<HashMap<String, String>, E>>,
        E: std::fmt::Display,
    {
        tokio::pin!(stop);
        loop {
            if let Err(err) = self.poll_once(handler, 10).await {
                tracing::warn!(stream = %self.stream_arn, error = %err, "stream poll failed");
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(window) => {}
            }
        }
    }
}
