//! A post as stored and as returned by the API.

use serde::{Deserialize, Serialize};

use super::{PostId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: PostId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: Timestamp,
    /// Not stored on the post item: filled in from the like counter when a single post is read.
    #[serde(default)]
    pub like_count: i64,
}

impl Post {
    /// The position of this post in any newest-first feed: `{created_at}#{id}` (string order = time order).
    pub fn feed_position(&self) -> String {
        format!("{}#{}", self.created_at, self.id)
    }
}
