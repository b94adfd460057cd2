//! The single DynamoDB table behind the sample app (layout in `docs/data-model.md`): one `Store` with a
//! module per access pattern. Every method is one or a few DynamoDB calls; none scans.

mod cached;
pub(crate) mod keys;
mod latest_index;
mod likes;
mod media;
mod posts;
mod timeline;
mod users;

use std::{sync::Arc, time::Duration};

use aws_sdk_dynamodb::Client;
use kit::{dynamo::DynamoError, read_cache::ReadCacheConfig, shard::ShardCount};
use moka::{Expiry, future::Cache};

use crate::models::PostId;

pub use likes::{Applied, LikeChange, LikeDelta, Rollup};
pub use media::MediaOutcome;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the handle is already taken")]
    HandleTaken,
    #[error("this identity already has a profile")]
    ProfileExists,
    #[error("no such user")]
    UserNotFound,
    #[error("no such post")]
    PostNotFound,
    #[error("no such media, or not the acting user's")]
    MediaNotFound,
    #[error("the media is already attached to a post")]
    MediaInUse,
    #[error("the resource belongs to another user")]
    NotOwner,
    #[error("a concurrent write changed the item first")]
    Conflict,
    #[error(transparent)]
    Dynamo(#[from] DynamoError),
    /// A failed read that other requests waiting for the same cached value share.
    #[error(transparent)]
    Shared(Arc<StoreError>),
    #[error("a stored item could not be read: {0}")]
    Corrupt(#[from] serde_dynamo::Error),
    #[error("the table is in an unexpected state: {0}")]
    Inconsistent(&'static str),
}

impl StoreError {
    /// DynamoDB is overloaded or out of reach: 503 with Retry-After, not 500.
    pub fn is_overload(&self) -> bool {
        match self {
            Self::Dynamo(err) => err.is_overload(),
            Self::Shared(err) => err.is_overload(),
            _ => false,
        }
    }
}

impl<E, R> From<aws_sdk_dynamodb::error::SdkError<E, R>> for StoreError
where
    DynamoError: From<aws_sdk_dynamodb::error::SdkError<E, R>>,
{
    fn from(err: aws_sdk_dynamodb::error::SdkError<E, R>) -> Self {
        Self::Dynamo(err.into())
    }
}

/// A page of a newest-first list and the feed position to continue after, if there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A partition read newest first by its feed-position sort key: an author's timeline (GSI1) or a latest shard.
pub(crate) struct FeedPartition {
    index: Option<&'static str>,
    pk: &'static str,
    sk: &'static str,
    value: String,
}

impl Store {
    /// Up to `limit + 1` posts of `feed` older than the feed position `after` (or the newest), newest first.
    async fn read_feed(
        &self,
        feed: FeedPartition,
        after: Option<&str>,
        limit: crate::models::PageLimit,
    ) -> Result<Vec<crate::models::Post>, StoreError> {
        let condition = match after {
            Some(_) => format!("{} = :pk AND {} < :after", feed.pk, feed.sk),
            None => format!("{} = :pk", feed.pk),
        };
        let mut query = self
            .db
            .query()
            .table_name(self.table())
            .set_index_name(feed.index.map(Into::into))
            .key_condition_expression(condition)
            .expression_attribute_values(":pk", kit::dynamo::s(feed.value))
            .scan_index_forward(false)
            .limit(limit.get() as i32 + 1);
        if let Some(after) = after {
            query = query.expression_attribute_values(":after", kit::dynamo::s(after));
        }
        let output = query.send().await?;
        Ok(serde_dynamo::from_items(output.items.unwrap_or_default())?)
    }
}

impl Page<crate::models::Post> {
    /// Builds a page from up to `limit + 1` posts, newest first: the extra one only says there is more.
    fn newest_first(mut posts: Vec<crate::models::Post>, limit: crate::models::PageLimit) -> Self {
        let more = posts.len() > limit.get();
        posts.truncate(limit.get());
        let next = if more { posts.last().map(crate::models::Post::feed_position) } else { None };
        Self { items: posts, next }
    }
}

#[derive(Clone)]
pub struct Store {
    db: Client,
    table: Arc<str>,
    latest_shards: ShardCount,
    /// Whether a post exists, as last read (see `likes`).
    posts_seen: Cache<PostId, bool>,
    /// Hot reads (see `cached`); off unless [`Store::with_read_cache`] turns them on.
    cached: cached::ReadCaches,
}

/// Existence is cached longer than absence.
struct SeenFor;

impl Expiry<PostId, bool> for SeenFor {
    fn expire_after_create(&self, _: &PostId, exists: &bool, _: std::time::Instant) -> Option<Duration> {
        Some(if *exists { likes::POST_EXISTS_TTL } else { likes::POST_MISSING_TTL })
    }
}

impl Store {
    pub fn new(db: Client, table: impl Into<Arc<str>>, latest_shards: ShardCount) -> Self {
        let posts_seen = Cache::builder().max_capacity(100_000).expire_after(SeenFor).build();
        let cached = cached::ReadCaches::new(ReadCacheConfig::OFF);
        Self { db, table: table.into(), latest_shards, posts_seen, cached }
    }

    /// This store with its hot reads cached as `config` says.
    pub fn with_read_cache(self, config: ReadCacheConfig) -> Self {
        Self { cached: cached::ReadCaches::new(config), ..self }
    }

    pub fn client(&self) -> &Client {
        &self.db
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item by key, with a strongly consistent read when `consistent`.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        key: kit::dynamo::Item,
        consistent: bool,
    ) -> Result<Option<T>, StoreError> {
        let output =
            self.db.get_item().table_name(self.table()).set_key(Some(key)).consistent_read(consistent).send().await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }
}
