//! Like rollup: a batch's rollup messages of one post become one write of the exact count (the sum of its
//! counter items) onto the post, so GET post is one GetItem however hot the post is. Versioned: a rollup that
//! read older counters than one already written changes nothing. A post deleted since has nothing to count.

use kit::sqs_batch::JobError;

use crate::{
    models::PostId,
    store::{Store, StoreError},
};

pub async fn run(store: &Store, post: PostId) -> Result<(), JobError> {
    match store.rollup_likes(post).await {
        Ok(rollup) => {
            tracing::debug!(%post, count = rollup.count, version = rollup.version, written = rollup.written, "like rollup");
            Ok(())
        }
        Err(StoreError::PostNotFound) => {
            tracing::info!(%post, "like rollup skipped: the post was deleted");
            Ok(())
        }
        Err(err) => Err(JobError::retryable(err)),
    }
}
