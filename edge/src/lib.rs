//! stampede-edge: the Cloudflare Worker in front of Stampede's API (cache with stale-while-revalidate, limits per IP
//! and per verified user, origin ⇄ Lambda failover). Owns the edge policy as plain modules tested natively; the
//! `#[event(fetch)]` shell in `shell/` only binds them to the Workers runtime. Must not hold API logic.

pub mod breaker;
pub mod cache_key;
pub mod cache_policy;
pub mod client;
pub mod config;
pub mod problem;
pub mod security_headers;
pub mod token;
pub mod upstream;

#[cfg(target_arch = "wasm32")]
mod shell;
