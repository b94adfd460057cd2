//! Posts: the post item (also projected into its author's timeline by GSI1) and its copy in one shard of the
//! global latest index, written together in one transaction that, for a post with an image, also claims the
//! media item for it; deleted together in one transaction that releases the image again. The author's profile
//! exists: every write's caller was resolved to a profile first (`routes::caller`).

use kit::dynamo::{Expr, Item, Transaction, s, transact_write, tx_delete, tx_put, tx_update};

use super::{Store, StoreError, keys, latest_index};
use crate::models::{Media, MediaId, Post, PostBody, PostId, UserId};

impl Store {
    /// Creates the post `id`, with the author's uploaded image `media` if given. The media snapshot on the post
    /// is the media's state at that moment; the thumbnail job updates it when the image becomes ready. If the
    /// author's post `id` exists already, an earlier attempt of the same request made it: that post is returned.
    pub async fn create_post(
        &self,
        id: PostId,
        author: UserId,
        body: &PostBody,
        media: Option<MediaId>,
    ) -> Result<Post, StoreError> {
        // One retry: the thumbnail job may finish the media between our read and our write.
        let created = match self.try_create_post(id, author, body, media).await {
            Err(StoreError::Conflict) => self.try_create_post(id, author, body, media).await,
            other => other,
        };
        // Also after a failure: a write whose answer was lost may have happened.
        self.forget_post(id, author).await;
        created
    }

    async fn try_create_post(
        &self,
        id: PostId,
        author: UserId,
        body: &PostBody,
        media_id: Option<MediaId>,
    ) -> Result<Post, StoreError> {
        let media = match media_id {
            Some(media_id) => {
                let media = self.read_media(media_id, true).await?.ok_or(StoreError::MediaNotFound)?;
                if media.owner_id != author {
                    return Err(StoreError::NotOwner);
                }
                match media.post_id {
                    Some(post) if post == id => return self.made_before(id, author).await,
                    Some(_) => return Err(StoreError::MediaInUse),
                    None => Some(media),
                }
            }
            None => None,
        };
        let post = Post {
            id,
            author_id: author,
            body: body.as_str().to_owned(),
            created_at: id.created_at(),
            like_count: 0,
            media: media.as_ref().map(Media::snapshot),
        };
        let mut item: Item = serde_dynamo::to_item(&post)?;
        item.extend(keys::post(id));
        item.insert("entity".into(), s("post"));
        item.insert("gsi1pk".into(), s(keys::author_timeline(author)));
        item.insert("gsi1sk".into(), s(post.feed_position()));
        let latest = latest_index::entry(&post, self.latest_shards)?;
        item.insert(latest_index::ENTRY_PARTITION.into(), latest["pk"].clone());

        let mut request = self
            .db
            .transact_write_items()
            .transact_items(tx_put(self.table(), item, Some("attribute_not_exists(pk)"), Expr::new()))
            .transact_items(tx_put(self.table(), latest, None, Expr::new()));
        if let Some(media) = &media {
            request = request.transact_items(tx_update(
                self.table(),
                keys::media(media.id),
                // A post holds it now: it no longer expires if its upload never comes (`media::PENDING_EXPIRY`).
                "SET post_id = :post REMOVE expires_at",
                Some("owner_id = :owner AND attribute_not_exists(post_id) AND #status = :status"),
                Expr::new()
                    .name("#status", "status")
                    .value(":post", s(id.to_string()))
                    .value(":owner", s(author.to_string()))
                    .value(":status", serde_dynamo::to_attribute_value(media.status)?),
            ));
        }
        match transact_write(request).await? {
            Transaction::Committed => Ok(post),
            outcome if outcome.failed_at(0) => self.made_before(id, author).await,
            outcome if outcome.failed_at(2) => Err(StoreError::Conflict),
            _ => Err(StoreError::Inconsistent("a post's latest-index entry exists without the post")),
        }
    }

    /// The post `id` an earlier attempt of `author`'s request created.
    async fn made_before(&self, id: PostId, author: UserId) -> Result<Post, StoreError> {
        match self.get::<Post>(keys::post(id), true).await? {
            Some(post) if post.author_id == author => Ok(post),
            Some(_) => Err(StoreError::Inconsistent("a new post's id belongs to another author's post")),
            // Made, then deleted: a retry of the create does not bring it back.
            None => Err(StoreError::PostNotFound),
        }
    }

    /// Deletes `author`'s post `id`: the post (and with it its timeline entry, a GSI projection), its latest-index
    /// entry, and its claim on an attached image. Returns the post as it was.
    pub async fn delete_post(&self, author: UserId, id: PostId) -> Result<Post, StoreError> {
        let read = self.db.get_item().table_name(self.table()).set_key(Some(keys::post(id))).consistent_read(true);
        let stored = read.send().await?.item.ok_or(StoreError::PostNotFound)?;
        let post: Post = serde_dynamo::from_item(stored.clone())?;
        if post.author_id != author {
            return Err(StoreError::NotOwner);
        }
        let mut request = self
            .db
            .transact_write_items()
            .transact_items(tx_delete(self.table(), keys::post(id), Some("attribute_exists(pk)"), Expr::new()))
            .transact_items(tx_delete(
                self.table(),
                latest_index::stored_entry_key(&stored, self.latest_shards)?,
                None,
                Expr::new(),
            ));
        if let Some(media) = &post.media {
            request = request.transact_items(tx_update(
                self.table(),
                keys::media(media.id),
                "REMOVE post_id",
                Some("post_id = :post"),
                Expr::new().value(":post", s(id.to_string())),
            ));
        }
        let outcome = transact_write(request).await;
        self.posts_seen.invalidate(&id).await;
        self.forget_post(id, author).await;
        let outcome = outcome?;
        match outcome {
            Transaction::Committed => Ok(post),
            // Deleted by a concurrent request, or the image was released meanwhile: nothing left to delete.
            outcome if outcome.failed_at(0) => Err(StoreError::PostNotFound),
            _ => Err(StoreError::Conflict),
        }
    }
}
