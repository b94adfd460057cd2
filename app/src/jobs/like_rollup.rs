//! Like rollup: a batch's like changes of one post become one write of the exact count (the sum of the
//! counter shards) onto the post, so GET post is one GetItem however hot the post is. A post deleted since
//! has nothing left to count.

use kit::sqs_batch::JobError;

use crate::{
    models::PostId,
    store::{Store, StoreError},
};

pub async fn run(store: &Store, post: PostId) -> Result<(), JobError> {
    match store.rollup_likes(post).await {
        Ok(_) => Ok(()),
        Err(StoreError::PostNotFound) => {
            tracing::info!(%post, "like rollup skipped: the post was deleted");
            Ok(())
        }
        Err(err) => Err(JobError::retryable(err)),
    }
}
