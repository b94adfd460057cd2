//! stampede-edge: the Cloudflare Worker in front of Stampede's API (CDN cache with stale-while-revalidate, rate
//! limits, origin ⇄ Lambda failover, security headers). Owns the edge policy as plain modules, tested natively;
//! the `#[event(fetch)]` shell in `shell/` only binds them to the Workers runtime. Must not hold API logic.

pub mod breaker;
pub mod cache_key;
pub mod cache_policy;
pub mod client;
pub mod config;
pub mod invalidation;
pub mod problem;
pub mod security_headers;
pub mod upstream;

#[cfg(target_arch = "wasm32")]
mod shell;
