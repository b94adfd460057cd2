//! Media items: created with the presigned upload, finished by the thumbnail job. Finishing is one transaction
//! that also updates the snapshot on the post the media is attached to and on its latest-index copy, conditional
//! on the attachment seen, so a post created meanwhile is never left showing "pending". A pending item that no
//! post holds expires (DynamoDB TTL on `expires_at`) if its upload never comes; it reads as gone from then on,
//! since TTL deletes it only within days.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use kit::dynamo::{Expr, Item, Transaction, n, s, transact_write, tx_put, tx_update};

use super::{Store, StoreError, keys, latest_index};
use crate::models::{ImageType, Media, MediaId, MediaStatus, UserId};

/// How long a media item waits for its upload and thumbnails: far beyond the upload link's 15 minutes and the
/// thumbnail job's retries.
pub const PENDING_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// How the thumbnail job ended for one upload.
#[derive(Debug, Clone)]
pub enum MediaOutcome {
    Ready { width: u32, height: u32, thumbnails: Vec<(u32, String)> },
    Failed(String),
}

impl Store {
    /// Creates the pending media item `id`. If `owner`'s media `id` exists already, an earlier attempt of the
    /// same request made it: that item is returned while still pending (a `Conflict` once uploaded: a new upload
    /// over it would replace an image in use).
    pub async fn create_media(&self, id: MediaId, owner: UserId, content_type: ImageType) -> Result<Media, StoreError> {
        let media = Media {
            id,
            owner_id: owner,
            content_type,
            status: MediaStatus::Pending,
            created_at: id.created_at(),
            post_id: None,
            width: None,
            height: None,
            thumbnails: Default::default(),
            failure: None,
        };
        let mut item = media_item(&media)?;
        item.insert("expires_at".into(), n((unix_now() + PENDING_EXPIRY).as_secs()));
        let put = self
            .db
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(media),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => match self
                .read_media(id, true)
                .await?
            {
                Some(existing) if existing.owner_id == owner && existing.status == MediaStatus::Pending => Ok(existing),
                Some(existing) if existing.owner_id == owner => Err(StoreError::Conflict),
                _ => Err(StoreError::Inconsistent("a new media id belongs to another user's media")),
            },
            Err(err) => Err(err.into()),
        }
    }

    pub async fn get_media(&self, id: MediaId) -> Result<Option<Media>, StoreError> {
        self.read_media(id, false).await
    }

    /// The media item `id`, unless it expired waiting for its upload.
    pub(super) async fn read_media(&self, id: MediaId, consistent: bool) -> Result<Option<Media>, StoreError> {
        let read = self.db.get_item().table_name(self.table()).set_key(Some(keys::media(id)));
        let Some(item) = read.consistent_read(consistent).send().await?.item else {
            return Ok(None);
        };
        let expires_at = item.get("expires_at").and_then(|at| at.as_n().ok()).and_then(|at| at.parse::<u64>().ok());
        if expires_at.is_some_and(|at| at <= unix_now().as_secs()) {
            return Ok(None);
        }
        Ok(Some(serde_dynamo::from_item(item)?))
    }

    /// Records the job's outcome. Idempotent: a media item already finished is returned as it is.
    pub async fn finish_media(&self, id: MediaId, outcome: MediaOutcome) -> Result<Media, StoreError> {
        let mut media: Media = self.get(keys::media(id), true).await?.ok_or(StoreError::MediaNotFound)?;
        if media.status != MediaStatus::Pending {
            return Ok(media);
        }
        match outcome {
            MediaOutcome::Ready { width, height, thumbnails } => {
                media.status = MediaStatus::Ready;
                media.width = Some(width);
                media.height = Some(height);
                media.thumbnails = thumbnails.into_iter().collect();
            }
            MediaOutcome::Failed(reason) => {
                media.status = MediaStatus::Failed;
                media.failure = Some(reason);
            }
        }
        let pending = serde_dynamo::to_attribute_value(MediaStatus::Pending)?;
        let mut expr = Expr::new().name("#status", "status").value(":pending", pending);
        let condition = match media.post_id {
            Some(post) => {
                expr = expr.value(":post", s(post.to_string()));
                "#status = :pending AND post_id = :post"
            }
            None => "#status = :pending AND attribute_not_exists(post_id)",
        };
        let mut request = self.db.transact_write_items().transact_items(tx_put(
            self.table(),
            media_item(&media)?,
            Some(condition),
            expr,
        ));
        if let Some(post) = media.post_id {
            let snapshot: AttributeValue = serde_dynamo::to_attribute_value(media.snapshot())?;
            let read =
                self.db.get_item().table_name(self.table()).set_key(Some(keys::post(post))).consistent_read(true);
            let stored = read.send().await?.item.ok_or(StoreError::Conflict)?;
            for key in [keys::post(post), latest_index::stored_entry_key(&stored, self.latest_shards)?] {
                request = request.transact_items(tx_update(
                    self.table(),
                    key,
                    "SET media = :media",
                    Some("attribute_exists(pk)"),
                    Expr::new().value(":media", snapshot.clone()),
                ));
            }
        }
        let outcome = transact_write(request).await;
        if let Some(post) = media.post_id {
            self.forget_post(post, media.owner_id).await;
        }
        match outcome? {
            Transaction::Committed => Ok(media),
            // Attached to a post, or finished, since we read it: the caller retries with a fresh read.
            _ => Err(StoreError::Conflict),
        }
    }
}

fn media_item(media: &Media) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(media)?;
    item.extend(keys::media(media.id));
    item.insert("entity".into(), s("media"));
    Ok(item)
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}
