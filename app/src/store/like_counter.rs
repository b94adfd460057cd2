//! Likes: a membership item per (post, user) makes a like idempotent, and the count lives in N counter shards
//! (`POST#{id}#LIKES#{shard}`) so a viral post's likes spread over N partitions instead of one hot item.
//! Membership and counter change in one transaction: the sum of the shards is always exact.

use kit::dynamo::{Expr, Item, Transaction, batch_get, n, s, transact_write, tx_check, tx_delete, tx_put, tx_update};

use super::{Store, StoreError, keys, latest_index};
use crate::models::{PostId, UserId};

const COUNT: &str = "likes";

/// Whether a like or unlike changed anything (liking twice, or unliking what was not liked, does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikeChange {
    Changed,
    Unchanged,
}

/// The count held by one counter shard item.
fn count_of(item: &Item) -> i64 {
    item.get(COUNT).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl Store {
    /// The exact number of likes: the sum of every counter shard, in one BatchGetItem.
    pub async fn count_likes(&self, post: PostId) -> Result<i64, StoreError> {
        let shard_keys = self.like_shards.all().map(|shard| keys::like_counter(post, shard)).collect();
        Ok(batch_get(&self.db, self.table(), shard_keys).await?.iter().map(count_of).sum())
    }

    /// Writes the exact like count onto the post (and its latest-index copy), once. Each write also bumps
    /// `like_rollups`, which says how many rollups a post has had. Returns the count.
    pub async fn rollup_likes(&self, post: PostId) -> Result<i64, StoreError> {
        let count = self.count_likes(post).await?;
        let update = self
            .db
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::post(post)))
            .update_expression("SET like_count = :count ADD like_rollups :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match update {
            Ok(_) => {}
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                return Err(StoreError::PostNotFound);
            }
            Err(err) => return Err(err.into()),
        }
        let copy = self
            .db
            .update_item()
            .table_name(self.table())
            .set_key(Some(latest_index::entry_key(post, self.latest_shards)))
            .update_expression("SET like_count = :count")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":count", n(count))
            .send()
            .await;
        if let Err(err) = copy
            && !err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception())
        {
            return Err(err.into());
        }
        Ok(count)
    }

    pub async fn like(&self, post: PostId, user: UserId) -> Result<LikeChange, StoreError> {
        let mut membership = keys::like(post, user);
        membership.insert("entity".into(), s("like"));
        membership.insert("created_at".into(), s(crate::models::Timestamp::now().to_string()));
        let change = tx_put(self.table(), membership, Some("attribute_not_exists(pk)"), Expr::new());
        self.change_likes(post, change, 1).await
    }

    pub async fn unlike(&self, post: PostId, user: UserId) -> Result<LikeChange, StoreError> {
        let change = tx_delete(self.table(), keys::like(post, user), Some("attribute_exists(pk)"), Expr::new());
        self.change_likes(post, change, -1).await
    }

    /// Post must exist; `membership` change and counter `delta` commit together or not at all.
    async fn change_likes(
        &self,
        post: PostId,
        membership: aws_sdk_dynamodb::types::TransactWriteItem,
        delta: i64,
    ) -> Result<LikeChange, StoreError> {
        let shard = self.like_shards.random();
        let counter = tx_update(
            self.table(),
            keys::like_counter(post, shard),
            "ADD #count :delta SET entity = :entity",
            None,
            Expr::new().name("#count", COUNT).value(":delta", n(delta)).value(":entity", s("like_counter")),
        );
        let request = self
            .db
            .transact_write_items()
            .transact_items(tx_check(self.table(), keys::post(post), "attribute_exists(pk)", Expr::new()))
            .transact_items(membership)
            .transact_items(counter);
        match transact_write(request).await? {
            Transaction::Committed => Ok(LikeChange::Changed),
            outcome if outcome.failed_at(0) => Err(StoreError::PostNotFound),
            _ => Ok(LikeChange::Unchanged),
        }
    }
}
