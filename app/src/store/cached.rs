//! The hot reads, cached in process (`kit::read_cache`): posts, profiles and the first page of each feed at the
//! default limit. Each write method of the store invalidates what it changed, so this host reads its own writes;
//! changes made elsewhere (other hosts, the like rollup, the thumbnail job) show within `READ_CACHE_TTL_MS`.

use kit::read_cache::{ReadCache, ReadCacheConfig};

use super::{Page, Store, StoreError};
use crate::models::{PageLimit, Post, PostId, User, UserId};

/// A feed whose first page is cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Feed {
    Latest,
    Author(UserId),
}

#[derive(Clone)]
pub(super) struct ReadCaches {
    pub posts: ReadCache<PostId, Post>,
    pub users: ReadCache<UserId, User>,
    pub feeds: ReadCache<Feed, Page<Post>>,
}

/// The bytes a post takes beyond a fixed part (ids, time, count, media snapshot).
fn post_weight(post: &Post) -> u32 {
    256 + post.body.len() as u32
}

impl ReadCaches {
    pub fn new(config: ReadCacheConfig) -> Self {
        Self {
            posts: ReadCache::new("posts", config, post_weight),
            users: ReadCache::new("users", config, |user: &User| {
                256 + (user.handle.as_str().len() + user.display_name.as_str().len()) as u32
            }),
            feeds: ReadCache::new("feeds", config, |page: &Page<Post>| page.items.iter().map(post_weight).sum()),
        }
    }
}

impl Store {
    /// The post, with its rolled-up like count: one eventually consistent GetItem per TTL on this host.
    pub async fn get_post(&self, id: PostId) -> Result<Option<Post>, StoreError> {
        let load = || self.get(super::keys::post(id), false);
        self.cached.posts.get_or_load(id, load).await.map_err(StoreError::Shared)
    }

    pub async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let load = || self.get(super::keys::user(id), false);
        self.cached.users.get_or_load(id, load).await.map_err(StoreError::Shared)
    }

    /// The newest posts of everyone older than the feed position `after` (or the newest), at most `limit`.
    pub async fn latest_posts(&self, after: Option<&str>, limit: PageLimit) -> Result<Page<Post>, StoreError> {
        self.first_page_cached(Feed::Latest, after, limit, || self.read_latest(after, limit)).await
    }

    /// Posts of `author` older than the feed position `after` (or the newest), at most `limit`.
    pub async fn author_posts(
        &self,
        author: UserId,
        after: Option<&str>,
        limit: PageLimit,
    ) -> Result<Page<Post>, StoreError> {
        self.first_page_cached(Feed::Author(author), after, limit, || self.read_timeline(author, after, limit)).await
    }

    /// Reads a page of `feed` with `read`, through the cache when it is the first page at the default limit.
    async fn first_page_cached<Fut>(
        &self,
        feed: Feed,
        after: Option<&str>,
        limit: PageLimit,
        read: impl Fn() -> Fut,
    ) -> Result<Page<Post>, StoreError>
    where
        Fut: Future<Output = Result<Page<Post>, StoreError>>,
    {
        if after.is_some() || limit != PageLimit::DEFAULT {
            return read().await;
        }
        let load = || async { read().await.map(Some) };
        let page = self.cached.feeds.get_or_load(feed, load).await.map_err(StoreError::Shared)?;
        Ok(page.unwrap_or(Page { items: Vec::new(), next: None }))
    }

    /// After a write to `post` by `author`: the post and the feeds it is on.
    pub(super) async fn forget_post(&self, post: PostId, author: UserId) {
        self.cached.posts.invalidate(&post).await;
        self.cached.feeds.invalidate(&Feed::Latest).await;
        self.cached.feeds.invalidate(&Feed::Author(author)).await;
    }
}
