//! Black-box tests of `app::router` (tower oneshot, no server) against the local AWS emulator.
//! Every test creates its own users and posts, so tests run in parallel on one table.

mod auth;
mod edge_reads;
mod feeds;
mod http_errors;
mod idempotency;
mod like_rollup;
mod likes;
mod media;
mod posts;
mod pushback;
mod reads;
mod users;
