//! A post as stored and as returned by the API.

use serde::{Deserialize, Serialize};

use super::{PostId, PostMedia, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: PostId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: Timestamp,
    /// Rolled up from the like counter shards by the like rollup job (eventually consistent).
    #[serde(default)]
    pub like_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<PostMedia>,
}

impl Post {
    /// The position of this post in any newest-first feed: `{created_at}#{id}` (string order = time order).
    pub fn feed_position(&self) -> String {
        format!("{}#{}", self.created_at, self.id)
    }
}
