//! The global latest feed, the hottest read and write path: each post is copied into one of N partitions
//! `LATEST#{shard}` (shard = stable hash of the post id), sort key = feed position. A page queries all N shards
//! in parallel, each for at most limit+1 entries older than the cursor, and k-way merges them newest first.
//! Spreading writes over N partitions keeps any one under DynamoDB's per-partition write limit. The post item
//! records its entry's partition (`latest_pk`), so later writes to the entry find it after N changed.

use futures::future::try_join_all;
use itertools::Itertools;
use kit::{
    dynamo::{Item, key, s},
    shard::ShardCount,
};

use super::{FeedPartition, Page, Store, StoreError, keys};
use crate::models::{PageLimit, Post, PostId};

/// The key of a new post `id`'s index entry: its shard and its feed position (both derived from the id).
pub(super) fn entry_key(id: PostId, shards: ShardCount) -> Item {
    key(keys::latest_shard(shards.calculated(&id.to_string())), feed_position(id))
}

fn feed_position(id: PostId) -> String {
    format!("{}#{id}", id.created_at())
}

/// The attribute of the post item that names its entry's partition.
pub(super) const ENTRY_PARTITION: &str = "latest_pk";

/// The key of the index entry of the stored post item `post`, wherever N was when the post was created (a post
/// stored before posts recorded it: where N puts it now).
pub(super) fn stored_entry_key(post: &Item, shards: ShardCount) -> Result<Item, StoreError> {
    let id = post.get("id").and_then(|v| v.as_s().ok()).and_then(|id| PostId::parse(id).ok());
    let id = id.ok_or(StoreError::Inconsistent("a post item without a valid id"))?;
    match post.get(ENTRY_PARTITION).and_then(|v| v.as_s().ok()) {
        Some(partition) => Ok(key(partition.as_str(), feed_position(id))),
        None => Ok(entry_key(id, shards)),
    }
}

/// The index entry of `post`: a full copy, so a page needs no further reads.
pub(super) fn entry(post: &Post, shards: ShardCount) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(post)?;
    item.extend(entry_key(post.id, shards));
    item.insert("entity".into(), s("latest"));
    Ok(item)
}

impl Store {
    /// The newest posts of everyone older than the feed position `after` (or the newest), at most `limit`.
    pub(super) async fn read_latest(&self, after: Option<&str>, limit: PageLimit) -> Result<Page<Post>, StoreError> {
        let shards = self.latest_shards.all().map(|shard| {
            let feed = FeedPartition { index: None, pk: "pk", sk: "sk", value: keys::latest_shard(shard) };
            self.read_feed(feed, after, limit)
        });
        let per_shard = try_join_all(shards).await?;
        let merged = per_shard.into_iter().kmerge_by(|a, b| a.feed_position() > b.feed_position());
        Ok(Page::newest_first(merged.take(limit.get() + 1).collect(), limit))
    }
}
