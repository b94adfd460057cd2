//! A user profile as stored and as returned by the API.

use serde::{Deserialize, Serialize};

use super::{Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub handle: String,
    pub display_name: String,
    pub created_at: Timestamp,
}
