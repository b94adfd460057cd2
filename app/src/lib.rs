//! app: Stampede's sample application (users, posts, likes) as plain library code.
//! Owns the domain models, the single-table DynamoDB store and the axum router of API v1.
//! Must not know its host: nothing here names Lambda, ECS or Cloudflare.

pub mod config;
pub mod events;
pub mod jobs;
pub mod models;
pub mod routes;
pub mod state;
pub mod store;

pub use config::AppConfig;
pub use routes::router;
pub use state::AppState;
