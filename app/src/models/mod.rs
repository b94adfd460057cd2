//! The sample domain's types. Every input is parsed into a validated newtype at the edge of the app: once a
//! handler holds a `Handle` or a `PostBody`, it is valid. Parse errors are messages for the client.

mod ids;
mod media;
mod page_limit;
mod post;
mod text;
mod timestamp;
mod user;

pub use ids::{MediaId, PostId, UserId};
pub use media::{ImageType, Media, MediaStatus, PostMedia, THUMBNAIL_SIZES};
pub use page_limit::PageLimit;
pub use post::Post;
pub use text::{DisplayName, Handle, PostBody};
pub use timestamp::Timestamp;
pub use user::User;
