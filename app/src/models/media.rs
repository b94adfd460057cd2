//! Uploaded images: a media item tracks one upload from presigned URL to thumbnails; a post shows a snapshot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MediaId, PostId, Timestamp, UserId};

/// Edge lengths (px) of the thumbnails made of every upload, stated in the contract: their paths are keys the edge
/// makes.
pub use stampede_contract::routes::THUMBNAIL_SIZES;

/// The image formats an upload may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
}

impl ImageType {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Ok(Self::Jpeg),
            "image/png" => Ok(Self::Png),
            "image/webp" => Ok(Self::Webp),
            _ => Err("content_type must be image/jpeg, image/png or image/webp".into()),
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// Waiting for the upload, or for its thumbnails.
    Pending,
    Ready,
    /// The upload is not a usable image (see `failure`).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub id: MediaId,
    pub owner_id: UserId,
    pub content_type: ImageType,
    pub status: MediaStatus,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_id: Option<PostId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Object key of each thumbnail by size, once ready.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thumbnails: BTreeMap<u32, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Media {
    /// Where the client uploads the original.
    pub fn original_key(id: MediaId) -> String {
        format!("originals/{id}")
    }

    pub fn thumbnail_key(id: MediaId, size: u32) -> String {
        format!("thumbnails/{id}/{size}.jpg")
    }

    /// The media id an original's object key names, if it is one.
    pub fn id_of_original(key: &str) -> Option<MediaId> {
        key.strip_prefix("originals/").and_then(|id| MediaId::parse(id).ok())
    }

    pub fn snapshot(&self) -> PostMedia {
        PostMedia { id: self.id, status: self.status, thumbnails: self.thumbnails.keys().copied().collect() }
    }
}

/// What a post says about its attached media: enough to render it; thumbnails are at
/// `/v1/media/{id}/thumbnails/{size}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMedia {
    pub id: MediaId,
    pub status: MediaStatus,
    /// The thumbnail sizes available.
    #[serde(default)]
    pub thumbnails: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(ImageType::parse("IMAGE/JPEG"), Ok(ImageType::Jpeg));
        assert_eq!(ImageType::parse("image/jpg"), Ok(ImageType::Jpeg));
        assert!(ImageType::parse("image/gif").is_err());
        assert!(ImageType::parse("text/html").is_err());
        assert_eq!(ImageType::Webp.mime(), "image/webp");
    }

    #[test]
    fn keys_round_trip() {
        let id = MediaId::generate();
        assert_eq!(Media::id_of_original(&Media::original_key(id)), Some(id));
        assert_eq!(Media::id_of_original("thumbnails/x"), None);
        assert_eq!(Media::id_of_original("originals/not-an-id"), None);
        assert_eq!(Media::thumbnail_key(id, 128), format!("thumbnails/{id}/128.jpg"));
    }
}
