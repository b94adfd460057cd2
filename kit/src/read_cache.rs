//! Cache-aside for hot reads, in process (`moka`): a value (or its absence, for a shorter time) is kept for a short
//! TTL; concurrent misses of one key share one load; the size is bounded in bytes. A host's own writes invalidate
//! what they changed, and an answer loaded before such a write is never served after it. Other hosts' writes show
//! within the TTL.

use std::{
    future::Future,
    hash::Hash,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::{Expiry, future::Cache, notification::RemovalCause};

use crate::config::{ConfigError, Env};

/// How long answers are kept and how much memory they may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCacheConfig {
    /// `READ_CACHE_TTL_MS` (2000): how long a found value is served; `0` turns the cache off.
    pub ttl: Duration,
    /// `READ_CACHE_NEGATIVE_TTL_MS` (500): how long "not found" is served.
    pub negative_ttl: Duration,
    /// `READ_CACHE_MAX_MB` (64): the memory all entries of one cache may take, as weighed.
    pub max_bytes: u64,
}

impl ReadCacheConfig {
    pub const OFF: Self = Self { ttl: Duration::ZERO, negative_ttl: Duration::ZERO, max_bytes: 0 };

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            ttl: env.millis_or("READ_CACHE_TTL_MS", 2_000)?,
            negative_ttl: env.millis_or("READ_CACHE_NEGATIVE_TTL_MS", 500)?,
            max_bytes: env.or::<u64>("READ_CACHE_MAX_MB", 64)? * 1024 * 1024,
        })
    }
}

/// One kept answer: the value, or `None` for "not found", and when the read that produced it started.
#[derive(Clone)]
struct Entry<V> {
    value: Option<V>,
    read_at: Instant,
}

/// The bytes an entry is taken to use beyond its value: key, bookkeeping, and the whole of a "not found".
const ENTRY_OVERHEAD: u32 = 128;

struct Lifetimes {
    found: Duration,
    missing: Duration,
}

impl<K, V> Expiry<K, Entry<V>> for Lifetimes {
    fn expire_after_create(&self, _: &K, entry: &Entry<V>, _: Instant) -> Option<Duration> {
        Some(if entry.value.is_some() { self.found } else { self.missing })
    }
}

/// The counters of one cache, registered once: a lookup in the recorder per read cost more than the read.
#[derive(Clone)]
struct Counters {
    hits: metrics::Counter,
    misses: metrics::Counter,
    loads: metrics::Counter,
}

/// A read-through cache of `V` by `K`, named for its metrics (`read_cache_*_total{cache=name}`; install the
/// recorder before making one).
#[derive(Clone)]
pub struct ReadCache<K, V> {
    counters: Counters,
    /// `None` when the cache is off: every read loads.
    entries: Option<Cache<K, Entry<V>>>,
    /// When each recently invalidated key was invalidated, kept long enough to outlive any load begun before.
    invalidated: Cache<K, Instant>,
    /// When this host last invalidated any key, in nanoseconds after `epoch`: an entry read later than that was
    /// read after every write of its key here, and a hit on it needs no look at `invalidated`.
    last_invalidated: Arc<AtomicU64>,
    epoch: Instant,
}

impl<K, V> ReadCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `config.max_bytes`, each value weighing `weigh(value)` bytes (an estimate).
    pub fn new(name: &'static str, config: ReadCacheConfig, weigh: fn(&V) -> u32) -> Self {
        let entries = (!config.ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(config.max_bytes)
                .weigher(move |_: &K, entry: &Entry<V>| {
                    entry.value.as_ref().map_or(0, weigh).saturating_add(ENTRY_OVERHEAD)
                })
                .expire_after(Lifetimes { found: config.ttl, missing: config.negative_ttl })
                .eviction_listener(move |_, _, cause| {
                    if cause == RemovalCause::Size {
                        metrics::counter!("read_cache_evictions_total", "cache" => name).increment(1);
                    }
                })
                .build()
        });
        // A load runs at most as long as a request (a minute covers any host's timeout): an answer it brings
        // back after an invalidation must still be recognised as older, for as long as it could be served.
        let invalidated =
            Cache::builder().max_capacity(100_000).time_to_live(config.ttl + Duration::from_secs(60)).build();
        let counters = Counters {
            hits: metrics::counter!("read_cache_hits_total", "cache" => name),
            misses: metrics::counter!("read_cache_misses_total", "cache" => name),
            loads: metrics::counter!("read_cache_loads_total", "cache" => name),
        };
        let (last_invalidated, epoch) = (Arc::new(AtomicU64::new(0)), Instant::now());
        Self { counters, entries, invalidated, last_invalidated, epoch }
    }

    /// The value of `key`: kept, or loaded with `load` (`Ok(None)`: not found) once for all concurrent callers.
    /// A failed load is shared by the callers waiting for it and kept by none.
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<Option<V>, Arc<E>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
        E: Send + Sync + 'static,
    {
        let Some(entries) = &self.entries else { return load().await.map_err(Arc::new) };
        let asked_at = Instant::now();
        if let Some(entry) = entries.get(&key).await {
            if self.read_since_last_write(&key, &entry, asked_at).await {
                self.counters.hits.increment(1);
                return Ok(entry.value);
            }
            entries.invalidate(&key).await;
        }
        self.counters.misses.increment(1);
        let entry = entries.try_get_with_by_ref(&key, self.read(&load)).await?;
        if self.read_since_last_write(&key, &entry, asked_at).await {
            return Ok(entry.value);
        }
        // We joined a read that began before this host's last write of `key`, which ended before we asked.
        let entry = self.read(&load).await.map_err(Arc::new)?;
        entries.insert(key, entry.clone()).await;
        Ok(entry.value)
    }

    async fn read<E, Fut: Future<Output = Result<Option<V>, E>>>(
        &self,
        load: &impl Fn() -> Fut,
    ) -> Result<Entry<V>, E> {
        self.counters.loads.increment(1);
        let read_at = Instant::now();
        load().await.map(|value| Entry { value, read_at })
    }

    /// Forgets `key` after this host changed it: its next read loads, and a load in flight is not kept.
    pub async fn invalidate(&self, key: &K) {
        let now = Instant::now();
        self.invalidated.insert(key.clone(), now).await;
        let since_epoch = now.duration_since(self.epoch).as_nanos().try_into().unwrap_or(u64::MAX);
        self.last_invalidated.fetch_max(since_epoch, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate(key).await;
        }
    }

    /// Whether `entry` may answer a read asked at `asked_at`: it was read after this host last wrote `key`, or
    /// that write ended after the read was asked.
    async fn read_since_last_write(&self, key: &K, entry: &Entry<V>, asked_at: Instant) -> bool {
        let last_invalidated = self.epoch + Duration::from_nanos(self.last_invalidated.load(Ordering::SeqCst));
        if entry.read_at > last_invalidated {
            return true;
        }
        self.invalidated.get(key).await.is_none_or(|written| entry.read_at > written || written > asked_at)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::future::join_all;
    use tokio::sync::Notify;

    use super::*;

    const CONFIG: ReadCacheConfig =
        ReadCacheConfig { ttl: Duration::from_secs(60), negative_ttl: Duration::from_millis(50), max_bytes: 1 << 20 };

    fn cache(config: ReadCacheConfig) -> ReadCache<u32, String> {
        ReadCache::new("test", config, |v: &String| v.len() as u32)
    }

    /// A loader that counts its calls and answers `value`.
    fn counted<'a>(
        calls: &'a AtomicUsize,
        value: Option<&'a str>,
    ) -> impl Fn() -> std::future::Ready<Result<Option<String>, ()>> + 'a {
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(value.map(str::to_owned)))
        }
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_load_once() {
        let (cache, calls) = (cache(CONFIG), AtomicUsize::new(0));
        // `join_all` starts all 100 reads before the first load can end.
        let slow = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, ()>(Some("post".to_owned()))
        };
        let answers = join_all((0..100).map(|_| cache.get_or_load(7, slow))).await;
        assert!(answers.iter().all(|a| a.as_ref().unwrap().as_deref() == Some("post")));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.get_or_load(7, counted(&calls, None)).await.unwrap().as_deref(), Some("post"), "a hit");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn not_found_is_kept_for_less_time() {
        let (cache, calls) = (cache(CONFIG), AtomicUsize::new(0));
        assert_eq!(cache.get_or_load(1, counted(&calls, None)).await.unwrap(), None);
        assert_eq!(cache.get_or_load(1, counted(&calls, Some("late"))).await.unwrap(), None, "kept");
        cache.get_or_load(2, counted(&calls, Some("found"))).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        tokio::time::sleep(CONFIG.negative_ttl * 3).await;
        assert_eq!(cache.get_or_load(1, counted(&calls, Some("late"))).await.unwrap().as_deref(), Some("late"));
        assert_eq!(cache.get_or_load(2, counted(&calls, None)).await.unwrap().as_deref(), Some("found"), "still kept");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_write_here_is_seen_by_the_next_read_even_with_a_read_in_flight() {
        let (cache, calls) = (cache(CONFIG), AtomicUsize::new(0));
        cache.get_or_load(1, counted(&calls, Some("old"))).await.unwrap();
        cache.invalidate(&1).await;
        assert_eq!(cache.get_or_load(1, counted(&calls, Some("new"))).await.unwrap().as_deref(), Some("new"));

        // A read that began before the write and ends after it: its answer is not what the next read gets.
        let (started, release) = (Notify::new(), Notify::new());
        let before_write = || async {
            started.notify_one();
            release.notified().await;
            Ok::<_, ()>(Some("before".to_owned()))
        };
        cache.invalidate(&2).await;
        let in_flight = cache.get_or_load(2, before_write);
        let write = async {
            started.notified().await;
            tokio::time::sleep(Duration::from_millis(2)).await;
            cache.invalidate(&2).await;
            release.notify_one();
        };
        let (old, ()) = tokio::join!(in_flight, write);
        assert_eq!(old.unwrap().as_deref(), Some("before"), "the read that began first answers what it read");
        assert_eq!(cache.get_or_load(2, counted(&calls, Some("after"))).await.unwrap().as_deref(), Some("after"));

        // A read asked after the write, joining a read in flight since before it: it reads again.
        let (started, release) = (Notify::new(), Notify::new());
        let before_write = || async {
            started.notify_one();
            release.notified().await;
            Ok::<_, ()>(Some("before".to_owned()))
        };
        let in_flight = cache.get_or_load(3, before_write);
        let write_then_read = async {
            started.notified().await;
            cache.invalidate(&3).await;
            let opening = async {
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                release.notify_one();
            };
            tokio::join!(cache.get_or_load(3, counted(&calls, Some("after"))), opening).0
        };
        let (first, second) = tokio::join!(in_flight, write_then_read);
        assert_eq!(first.unwrap().as_deref(), Some("before"));
        assert_eq!(second.unwrap().as_deref(), Some("after"), "asked after the write");
        assert_eq!(cache.get_or_load(3, counted(&calls, Some("later"))).await.unwrap().as_deref(), Some("after"));
    }

    #[tokio::test]
    async fn failures_are_shared_and_not_kept() {
        let (cache, calls) = (cache(CONFIG), AtomicUsize::new(0));
        let failing = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Err::<Option<String>, _>("throttled")
        };
        let answers = join_all((0..10).map(|_| cache.get_or_load(1, failing))).await;
        assert!(answers.iter().all(|a| a.as_ref().unwrap_err().as_ref() == &"throttled"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.get_or_load(1, counted(&calls, Some("back"))).await.unwrap().as_deref(), Some("back"));
    }

    #[tokio::test]
    async fn off_reads_every_time() {
        let (cache, calls) = (cache(ReadCacheConfig::OFF), AtomicUsize::new(0));
        for _ in 0..3 {
            cache.get_or_load(1, counted(&calls, Some("x"))).await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn size_is_bounded_in_bytes() {
        let config = ReadCacheConfig { max_bytes: 64 * 1024, ..CONFIG };
        let (cache, calls) = (cache(config), AtomicUsize::new(0));
        let big = "x".repeat(1024);
        for key in 0..1_000 {
            cache.get_or_load(key, counted(&calls, Some(&big))).await.unwrap();
        }
        let entries = cache.entries.as_ref().unwrap();
        entries.run_pending_tasks().await;
        assert!(entries.weighted_size() <= config.max_bytes, "{} bytes", entries.weighted_size());
        assert!(entries.entry_count() < 100, "{} entries of ~1 KB in 64 KB", entries.entry_count());
    }

    #[test]
    fn configured_from_the_environment() {
        assert_eq!(
            ReadCacheConfig::from_env(&Env::from_pairs([])),
            Ok(ReadCacheConfig {
                ttl: Duration::from_secs(2),
                negative_ttl: Duration::from_millis(500),
                max_bytes: 64 << 20
            })
        );
        let off = ReadCacheConfig::from_env(&Env::from_pairs([("READ_CACHE_TTL_MS", "0")])).unwrap();
        assert!(off.ttl.is_zero());
        assert!(ReadCacheConfig::from_env(&Env::from_pairs([("READ_CACHE_MAX_MB", "lots")])).is_err());
    }
}
