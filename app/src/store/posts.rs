//! Posts: the post item (also projected into its author's timeline by GSI1) and its copy in one shard of the
//! global latest index, written together in one transaction that also checks the author exists.

use kit::dynamo::{Item, Transaction, batch_get, s, transact_write, tx_check, tx_put};

use super::{Store, StoreError, keys, latest_index};
use crate::models::{Post, PostBody, PostId, UserId};

impl Store {
    pub async fn create_post(&self, author: UserId, body: &PostBody) -> Result<Post, StoreError> {
        let id = PostId::generate();
        let post = Post {
            id,
            author_id: author,
            body: body.as_str().to_owned(),
            created_at: id.created_at(),
            like_count: 0,
        };
        let mut item: Item = serde_dynamo::to_item(&post)?;
        item.extend(keys::post(id));
        item.insert("entity".into(), s("post"));
        item.insert("gsi1pk".into(), s(keys::author_timeline(author)));
        item.insert("gsi1sk".into(), s(post.feed_position()));
        let latest = latest_index::entry(&post, self.latest_shards)?;

        let request = self
            .db
            .transact_write_items()
            .transact_items(tx_check(self.table(), keys::user(author), "attribute_exists(pk)"))
            .transact_items(tx_put(self.table(), item, Some("attribute_not_exists(pk)")))
            .transact_items(tx_put(self.table(), latest, None));
        match transact_write(request).await? {
            Transaction::Committed => Ok(post),
            outcome if outcome.failed_at(0) => Err(StoreError::UserNotFound),
            _ => Err(StoreError::Inconsistent("a freshly generated post id already exists")),
        }
    }

    /// The post with its like count summed over every counter shard, in one BatchGetItem.
    pub async fn get_post(&self, id: PostId) -> Result<Option<Post>, StoreError> {
        let mut keys = vec![keys::post(id)];
        keys.extend(self.like_shards.all().map(|shard| keys::like_counter(id, shard)));
        let items = batch_get(&self.db, self.table(), keys).await?;
        let (posts, counters): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|item| {
            item.get("sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk == "POST")
        });
        let Some(item) = posts.into_iter().next() else {
            return Ok(None);
        };
        let mut post: Post = serde_dynamo::from_item(item)?;
        post.like_count = counters.iter().map(super::like_counter::count_of).sum();
        Ok(Some(post))
    }
}
