//! Likes. A like is one membership item in the liker's partition (`USER#{user}` / `LIKE#{post}`), written alone:
//! no other liker of the post writes that partition, so a viral post has no hot item on its write path. The
//! item is also its own outbox: the table's stream carries each committed like and unlike to the counter
//! (`jobs::like_counts`), which keeps, per post and stream shard, one counter item (`POST#{post}#LIKES` /
//! `STREAM#{shard}`) with the sum of that shard's changes and the last sequence number it applied; the rollup
//! (`jobs::like_rollup`) writes the sum of a post's counters onto the post, versioned so an older sum never wins.
//! Whether the post exists comes from a cached read (`post_exists`), not from a check inside the write.

use std::time::Duration;

use aws_sdk_dynamodb::{operation::update_item::UpdateItemError, types::ReturnValuesOnConditionCheckFailure};
use kit::dynamo::{DynamoError, Item, n, s};

use super::{Store, StoreError, keys, latest_index};
use crate::models::{PostId, Timestamp, UserId};

/// How long a post seen to exist is believed to (a deleted post may gather likes this long on other hosts; the
/// counter and the rollup then find no post and change nothing visible).
pub(super) const POST_EXISTS_TTL: Duration = Duration::from_secs(60);
/// How long a post seen not to exist is believed not to (a just-created post, read from a stale replica).
pub(super) const POST_MISSING_TTL: Duration = Duration::from_secs(2);
/// Rounds of "read the counter, apply what it has not seen" before giving up on a contended counter.
const COUNTER_ATTEMPTS: usize = 3;

/// Whether a like or unlike changed anything (liking twice, or unliking what was not liked, does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikeChange {
    Changed,
    Unchanged,
}

/// One like (+1) or unlike (−1) of a post, as the stream delivered it: its position in its stream shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikeDelta {
    /// The stream sequence number, zero-padded so that string order is sequence order.
    pub sequence: String,
    pub delta: i64,
}

/// What applying a batch of one shard's changes of one post to its counter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// These many changes were new and are now counted.
    Counted(usize),
    /// Every change had been counted before (a redelivery).
    AlreadyCounted,
}

/// The like count of a post as the rollup found and wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollup {
    pub count: i64,
    /// The number of changes counted so far: it only grows, so it orders rollups.
    pub version: i64,
    /// Whether the post was written (false: a rollup of a newer version got there first).
    pub written: bool,
}

fn number(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// A conditional like or unlike: its condition failing means it was already so (nothing changed).
fn like_change<T, E, R>(written: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>) -> Result<LikeChange, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    DynamoError: From<aws_sdk_dynamodb::error::SdkError<E, R>>,
{
    match written {
        Ok(_) => Ok(LikeChange::Changed),
        Err(err) if err.as_service_error().is_some_and(is_condition_failure) => Ok(LikeChange::Unchanged),
        Err(err) => Err(err.into()),
    }
}

impl Store {
    pub async fn like(&self, post: PostId, user: UserId) -> Result<LikeChange, StoreError> {
        self.post_exists(post).await?;
        let mut membership = keys::like(user, post);
        membership.insert("entity".into(), s("like"));
        membership.insert("post_id".into(), s(post.to_string()));
        membership.insert("created_at".into(), s(Timestamp::now().to_string()));
        let put = self
            .db
            .put_item()
            .table_name(self.table())
            .set_item(Some(membership))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        like_change(put)
    }

    pub async fn unlike(&self, post: PostId, user: UserId) -> Result<LikeChange, StoreError> {
        self.post_exists(post).await?;
        let delete = self
            .db
            .delete_item()
            .table_name(self.table())
            .set_key(Some(keys::like(user, post)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        like_change(delete)
    }

    /// `PostNotFound` unless the post exists, from this host's cache when it can: one eventually consistent
    /// GetItem per post per [`POST_EXISTS_TTL`] however many requests ask at once.
    async fn post_exists(&self, post: PostId) -> Result<(), StoreError> {
        let lookup = async {
            let read = self.db.get_item().table_name(self.table()).set_key(Some(keys::post(post)));
            let found = read.projection_expression("pk").send().await?;
            Ok::<_, StoreError>(found.item.is_some())
        };
        match self.posts_seen.try_get_with(post, lookup).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::PostNotFound),
            Err(err) => Err(StoreError::Shared(err)),
        }
    }

    /// Counts one stream shard's changes of `post`, each exactly once however often they are delivered: the
    /// counter item of (post, shard) records the last sequence number it applied, and only later ones count.
    /// `changes` are in stream order.
    pub async fn count_like_changes(
        &self,
        post: PostId,
        shard: &str,
        changes: &[LikeDelta],
    ) -> Result<Applied, StoreError> {
        let Some(first) = changes.first() else { return Ok(Applied::AlreadyCounted) };
        // The common case, one write: nothing of this batch was applied before.
        if self.add_to_counter(post, shard, changes, Err(&first.sequence)).await? {
            return Ok(Applied::Counted(changes.len()));
        }
        // A redelivery, whole or in part: apply what the counter has not seen, if anything.
        for _ in 0..COUNTER_ATTEMPTS {
            let counter = self
                .db
                .get_item()
                .table_name(self.table())
                .set_key(Some(keys::like_counter(post, shard)))
                .consistent_read(true)
                .send()
                .await?
                .item
                .unwrap_or_default();
            let Some(seen) = counter.get("seq").and_then(|v| v.as_s().ok()) else {
                return Err(StoreError::Inconsistent("a like counter without the sequence number it applied"));
            };
            let unseen: Vec<LikeDelta> = changes.iter().filter(|c| c.sequence > *seen).cloned().collect();
            if unseen.is_empty() {
                return Ok(Applied::AlreadyCounted);
            }
            if self.add_to_counter(post, shard, &unseen, Ok(seen)).await? {
                return Ok(Applied::Counted(unseen.len()));
            }
        }
        Err(StoreError::Conflict)
    }

    /// Adds `changes` to the counter if it last applied exactly `Ok(seen)`, or (`Err(first)`) nothing at or
    /// after `first`. Whether it did.
    async fn add_to_counter(
        &self,
        post: PostId,
        shard: &str,
        changes: &[LikeDelta],
        after: Result<&String, &String>,
    ) -> Result<bool, StoreError> {
        let last = changes.last().map(|c| c.sequence.clone()).unwrap_or_default();
        let delta: i64 = changes.iter().map(|c| c.delta).sum();
        let (condition, bound) = match after {
            Ok(seen) => ("#seq = :bound", seen),
            Err(first) => ("attribute_not_exists(#seq) OR #seq < :bound", first),
        };
        let update = self
            .db
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::like_counter(post, shard)))
            .update_expression("SET #seq = :last, entity = :entity ADD #likes :delta, #events :events")
            .condition_expression(condition)
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_names("#likes", "likes")
            .expression_attribute_names("#events", "events")
            .expression_attribute_values(":last", s(last))
            .expression_attribute_values(":bound", s(bound.as_str()))
            .expression_attribute_values(":entity", s("like_counter"))
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":events", n(changes.len()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// The exact count of a post's likes, and its version (changes counted so far): the sum of its counter
    /// items, read consistently.
    pub async fn count_likes(&self, post: PostId) -> Result<(i64, i64), StoreError> {
        let (mut count, mut version) = (0, 0);
        let mut pages = self
            .db
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::like_counters(post)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(DynamoError::from)?;
            count += number(&item, "likes");
            version += number(&item, "events");
        }
        Ok((count, version))
    }

    /// Writes the exact like count onto the post and its latest-index copy, each unless a rollup of a newer
    /// version did already: two rollups of one post, in any order, leave the newer count. The copy is written
    /// also when the post was not (a retry after the copy's write failed finds the post already written). Each
    /// write of the post bumps `like_rollups` (how many rollups a post has had).
    pub async fn rollup_likes(&self, post: PostId) -> Result<Rollup, StoreError> {
        let (count, version) = self.count_likes(post).await?;
        let newer = "attribute_exists(pk) AND (attribute_not_exists(like_version) OR like_version < :version)";
        let update = self
            .db
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::post(post)))
            .update_expression("SET like_count = :count, like_version = :version ADD like_rollups :one")
            .condition_expression(newer)
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":version", n(version))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let (stored, written) = match update {
            Ok(output) => (output.attributes.unwrap_or_default(), true),
            // Read in place, not taken apart: a timeout taken apart would no longer read as one (503, not 500).
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                    (e.item.clone().ok_or(StoreError::PostNotFound)?, false)
                }
                _ => return Err(err.into()),
            },
        };
        if let Some(author) = stored.get("author_id").and_then(|v| v.as_s().ok()).and_then(|a| UserId::parse(a).ok()) {
            self.forget_post(post, author).await;
        }
        let copy = self
            .db
            .update_item()
            .table_name(self.table())
            .set_key(Some(latest_index::stored_entry_key(&stored, self.latest_shards)?))
            .update_expression("SET like_count = :count, like_version = :version")
            .condition_expression(newer)
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":version", n(version))
            .send()
            .await;
        match copy {
            Err(err) if !err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(err.into())
            }
            _ => Ok(Rollup { count, version, written }),
        }
    }
}
