//! The like counter: the consumer of the table's stream. Each call carries one stream shard's changes in order;
//! the likes and unlikes among them (membership items, `keys::like`) are grouped by post, each post's are counted
//! once into its counter item for that shard (`Store::count_like_changes`), and each post with changes gets a
//! rollup queued. The rollup is queued also when every change had been counted before: a repeat call comes after
//! a failure, maybe of that very send. Any failure fails the whole call, which the event source mapping (or
//! `kit::stream_poll` locally) makes again with the same changes.

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt, stream};
use kit::stream_window::{ChangeKind, StreamWindow};

use crate::{
    events::{AppEvent, EventPublisher, PublishError},
    models::PostId,
    store::{Applied, LikeDelta, Store, StoreError, keys},
};

/// Posts counted at once within one call.
const CONCURRENCY: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum CountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// What one call counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// Like changes in the call.
    pub changes: usize,
    /// Of those, counted now (the rest had been counted by an earlier delivery).
    pub new: usize,
    /// Posts with changes (one counter write and one rollup message each).
    pub posts: usize,
}

/// The like changes of a window, per post, in stream order. Other items' changes are not likes.
fn likes_by_post(window: &StreamWindow) -> BTreeMap<PostId, Vec<LikeDelta>> {
    let mut posts: BTreeMap<PostId, Vec<LikeDelta>> = BTreeMap::new();
    for change in &window.changes {
        let (Some(pk), Some(sk)) = (change.key("pk"), change.key("sk")) else { continue };
        let Some(post) = sk.strip_prefix(keys::LIKE_PREFIX).and_then(|id| PostId::parse(id).ok()) else { continue };
        if !pk.starts_with("USER#") {
            continue;
        }
        let delta = match change.kind {
            ChangeKind::Insert => 1,
            ChangeKind::Remove => -1,
            ChangeKind::Modify => continue,
        };
        posts.entry(post).or_default().push(LikeDelta { sequence: change.sequence.clone(), delta });
    }
    posts
}

/// Counts a window's likes and queues a rollup of each post they changed.
pub async fn run(store: &Store, events: &EventPublisher, window: StreamWindow) -> Result<Counted, CountError> {
    let posts = likes_by_post(&window);
    let changes = posts.values().map(Vec::len).sum();
    let shard = window.shard_id.as_str();
    let new: usize = stream::iter(posts.iter())
        .map(|(post, deltas)| async move {
            let applied = store.count_like_changes(*post, shard, deltas).await?;
            events.publish(&AppEvent::LikesChanged { post_id: *post }).await?;
            Ok::<_, CountError>(match applied {
                Applied::Counted(n) => n,
                Applied::AlreadyCounted => 0,
            })
        })
        .buffer_unordered(CONCURRENCY)
        .try_fold(0, |total, n| async move { Ok(total + n) })
        .await?;
    let counted = Counted { changes, new, posts: posts.len() };
    if changes > 0 {
        tracing::info!(shard, changes, new, posts = counted.posts, "likes counted");
    }
    Ok(counted)
}

/// The stream handler as the jobs function and `jobs --stream` call it: no state carried between calls.
pub async fn handle(
    store: &Store,
    events: &EventPublisher,
    window: StreamWindow,
) -> Result<HashMap<String, String>, CountError> {
    run(store, events, window).await.map(|_| HashMap::new())
}

#[cfg(test)]
mod tests {
    use kit::stream_window::Change;

    use super::*;

    fn change(kind: ChangeKind, pk: &str, sk: &str, sequence: &str) -> Change {
        Change::new(kind, HashMap::from([("pk".into(), pk.into()), ("sk".into(), sk.into())]), sequence)
    }

    #[test]
    fn only_likes_count_and_they_keep_their_order() {
        let post = PostId::generate();
        let window = StreamWindow {
            shard_id: "s".into(),
            changes: vec![
                change(ChangeKind::Insert, "USER#a", &format!("LIKE#{post}"), "1"),
                change(ChangeKind::Insert, &format!("POST#{post}"), "POST", "2"),
                change(ChangeKind::Remove, "USER#a", &format!("LIKE#{post}"), "3"),
                change(ChangeKind::Insert, "USER#b", "LIKE#not-a-post-id", "4"),
                change(ChangeKind::Insert, "IDEMPOTENCY#x", &format!("LIKE#{post}"), "5"),
                change(ChangeKind::Insert, "USER#b", &format!("LIKE#{post}"), "6"),
            ],
            ..StreamWindow::default()
        };
        let deltas = likes_by_post(&window).remove(&post).unwrap();
        assert_eq!(deltas.iter().map(|d| d.delta).collect::<Vec<_>>(), [1, -1, 1]);
        assert!(deltas.windows(2).all(|w| w[0].sequence < w[1].sequence));
    }
}
