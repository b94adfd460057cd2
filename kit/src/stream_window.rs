//! One call of a DynamoDB stream consumer, as Lambda's event source mapping makes it with a tumbling window: the
//! shard's id, a batch of its changes in order, the window's state and whether the call is the window's last.
//! Built from Lambda's `TimeWindowEvent`, or by the local poller (`stream_poll`); handlers see only this.
//!
//! The shard id is why Stampede asks for a tumbling window at all: a shard's changes arrive in sequence order,
//! the first time they arrive, so a write that records the last sequence number it applied per shard can apply
//! each change exactly once however often Lambda delivers it (records are delivered at least once, and a
//! repeat may come out of order). A handler may apply each call's changes at once and keep no state.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::{TimeWindowEvent, TimeWindowEventResponse};

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

/// One change of the stream: which item (its string key attributes), what happened, and where in the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub keys: HashMap<String, String>,
    /// The stream's sequence number, left-padded to 40 digits so that string order is sequence order.
    pub sequence: String,
}

impl Change {
    pub fn new(kind: ChangeKind, keys: HashMap<String, String>, sequence: &str) -> Self {
        Self { kind, keys, sequence: format!("{sequence:0>40}") }
    }

    pub fn key(&self, name: &str) -> Option<&str> {
        self.keys.get(name).map(String::as_str)
    }
}

/// A call for one shard's window.
#[derive(Debug, Clone, Default)]
pub struct StreamWindow {
    pub shard_id: String,
    pub changes: Vec<Change>,
    /// What earlier calls of this window returned (empty at a window's start).
    pub state: HashMap<String, String>,
    /// The window's last call: aggregate now, and return no state.
    pub is_final: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error("a stream event without a shard id: the event source mapping needs a tumbling window")]
    NoShard,
    #[error("a stream record without a sequence number")]
    NoSequence,
    #[error("a stream record of unknown kind {0:?}")]
    UnknownKind(String),
}

impl ChangeKind {
    pub fn parse(name: &str) -> Result<Self, WindowError> {
        match name {
            "INSERT" => Ok(Self::Insert),
            "MODIFY" => Ok(Self::Modify),
            "REMOVE" => Ok(Self::Remove),
            other => Err(WindowError::UnknownKind(other.to_owned())),
        }
    }
}

impl TryFrom<TimeWindowEvent> for StreamWindow {
    type Error = WindowError;

    fn try_from(event: TimeWindowEvent) -> Result<Self, WindowError> {
        let properties = event.time_window_properties;
        let changes = event
            .dynamo_db_event
            .records
            .into_iter()
            .map(|record| {
                let keys = record
                    .change
                    .keys
                    .into_inner()
                    .into_iter()
                    .filter_map(|(name, value)| match value {
                        serde_dynamo::AttributeValue::S(text) => Some((name, text)),
                        _ => None,
                    })
                    .collect();
                let sequence = record.change.sequence_number.ok_or(WindowError::NoSequence)?;
                Ok(Change::new(ChangeKind::parse(&record.event_name)?, keys, &sequence))
            })
            .collect::<Result<_, WindowError>>()?;
        Ok(Self {
            shard_id: properties.shard_id.ok_or(WindowError::NoShard)?,
            changes,
            state: properties.state,
            is_final: properties.is_final_invoke_for_window,
        })
    }
}

/// What Lambda is answered for a window call: the state to carry to the next call (none after the last).
pub fn lambda_response(state: HashMap<String, String>) -> TimeWindowEventResponse {
    let mut response = TimeWindowEventResponse::default();
    response.time_window_event_response_properties.state = state;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_window_event_becomes_a_window() {
        let event: TimeWindowEvent = serde_json::from_value(serde_json::json!({
            "Records": [{
                "awsRegion": "us-east-1",
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "Keys": {"pk": {"S": "USER#u"}, "sk": {"S": "LIKE#p"}},
                    "SequenceNumber": "111",
                    "SizeBytes": 26,
                    "StreamViewType": "KEYS_ONLY"
                }
            }],
            "window": {"start": "2026-11-23T12:00:00Z", "end": "2026-11-23T12:00:02Z"},
            "state": {"p": "1"},
            "shardId": "shardId-0001",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
            "isFinalInvokeForWindow": true,
            "isWindowTerminatedEarly": false
        }))
        .unwrap();
        let window = StreamWindow::try_from(event).unwrap();
        assert_eq!(window.shard_id, "shardId-0001");
        assert!(window.is_final);
        assert_eq!(window.state["p"], "1");
        assert_eq!(window.changes[0].kind, ChangeKind::Insert);
        assert_eq!(window.changes[0].key("sk"), Some("LIKE#p"));
        assert_eq!(window.changes[0].sequence.len(), 40);
        assert!(Change::new(ChangeKind::Insert, HashMap::new(), "99").sequence < window.changes[0].sequence);
        let response = serde_json::to_value(lambda_response(HashMap::new())).unwrap();
        assert_eq!(response["state"], serde_json::json!({}));
    }
}
