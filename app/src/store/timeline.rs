//! An author's timeline: their posts newest first, from GSI1 (`AUTHOR#{user}`, sort key = feed position).

use super::{FeedPartition, Page, Store, StoreError, keys};
use crate::models::{PageLimit, Post, UserId};

impl Store {
    /// Posts of `author` older than the feed position `after` (or the newest), at most `limit`.
    pub(super) async fn read_timeline(
        &self,
        author: UserId,
        after: Option<&str>,
        limit: PageLimit,
    ) -> Result<Page<Post>, StoreError> {
        let feed =
            FeedPartition { index: Some(keys::GSI1), pk: "gsi1pk", sk: "gsi1sk", value: keys::author_timeline(author) };
        Ok(Page::newest_first(self.read_feed(feed, after, limit).await?, limit))
    }
}
