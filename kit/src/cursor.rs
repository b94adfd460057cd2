//! Opaque, versioned, tamper-evident pagination cursors.
//!
//! A cursor is `base64url(version ‖ json(position) ‖ tag)`, where `tag` is a truncated HMAC-SHA256 over the
//! version, the list's scope and the position. The scope ties a cursor to the list that issued it (one author's
//! timeline, the global feed): a cursor edited by hand, or replayed on another list, fails with a clear error.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Serialize, de::DeserializeOwned};
use sha2::Sha256;

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Longer inputs are rejected before decoding: no position this crate issues comes near it.
const MAX_ENCODED_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not valid base64url or is too long")]
    Encoding,
    #[error("the cursor was issued by an incompatible version of this API")]
    Version,
    #[error("the cursor was not issued for this list, or was modified")]
    Signature,
    #[error("the cursor's position is unreadable")]
    Position,
}

/// Encodes and verifies cursors with a server-side secret.
#[derive(Clone)]
pub struct CursorCodec {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(..)")
    }
}

impl CursorCodec {
    pub fn new(secret: &[u8]) -> Self {
        Self { mac: Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length") }
    }

    /// The MAC over everything a tag covers: version, scope (NUL-terminated) and position.
    fn mac_over(&self, scope: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(&[VERSION]);
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }

    pub fn encode<T: Serialize>(&self, scope: &str, position: &T) -> String {
        let payload = serde_json::to_vec(position).expect("cursor positions always serialize");
        let mut raw = Vec::with_capacity(1 + payload.len() + TAG_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(&payload);
        raw.extend_from_slice(&self.mac_over(scope, &payload).finalize().into_bytes()[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode<T: DeserializeOwned>(&self, scope: &str, cursor: &str) -> Result<T, CursorError> {
        if cursor.len() > MAX_ENCODED_LEN {
            return Err(CursorError::Encoding);
        }
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| CursorError::Encoding)?;
        let (&version, rest) =
            raw.split_first().filter(|(_, rest)| rest.len() > TAG_LEN).ok_or(CursorError::Encoding)?;
        if version != VERSION {
            return Err(CursorError::Version);
        }
        let (payload, tag) = rest.split_at(rest.len() - TAG_LEN);
        self.mac_over(scope, payload).verify_truncated_left(tag).map_err(|_| CursorError::Signature)?;
        serde_json::from_slice(payload).map_err(|_| CursorError::Position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Position {
        after: String,
    }

    fn codec() -> CursorCodec {
        CursorCodec::new(b"test secret that is long enough!")
    }

    fn position() -> Position {
        Position { after: "2026-11-22T10:00:00.000Z#01JD".into() }
    }

    #[test]
    fn round_trips_within_its_scope() {
        let cursor = codec().encode("author:1", &position());
        assert_eq!(codec().decode::<Position>("author:1", &cursor), Ok(position()));
        assert!(cursor.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn rejects_other_scope_and_other_secret() {
        let cursor = codec().encode("author:1", &position());
        assert_eq!(codec().decode::<Position>("author:2", &cursor), Err(CursorError::Signature));
        let other = CursorCodec::new(b"another secret");
        assert_eq!(other.decode::<Position>("author:1", &cursor), Err(CursorError::Signature));
    }

    #[test]
    fn rejects_any_flipped_byte() {
        let cursor = codec().encode("latest", &position());
        let raw = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        for i in 0..raw.len() {
            let mut tampered = raw.clone();
            tampered[i] ^= 0x01;
            let tampered = URL_SAFE_NO_PAD.encode(tampered);
            assert!(codec().decode::<Position>("latest", &tampered).is_err(), "byte {i} flip was accepted");
        }
    }

    #[test]
    fn rejects_garbage_short_long_and_future_versions() {
        assert_eq!(codec().decode::<Position>("latest", "not base64!"), Err(CursorError::Encoding));
        assert_eq!(codec().decode::<Position>("latest", ""), Err(CursorError::Encoding));
        assert_eq!(codec().decode::<Position>("latest", "AQ"), Err(CursorError::Encoding));
        assert_eq!(codec().decode::<Position>("latest", &"A".repeat(2000)), Err(CursorError::Encoding));
        let v2 = URL_SAFE_NO_PAD.encode([2u8; 40]);
        assert_eq!(codec().decode::<Position>("latest", &v2), Err(CursorError::Version));
    }

    #[test]
    fn signed_but_wrong_shape_is_a_position_error() {
        let cursor = codec().encode("latest", &42);
        assert_eq!(codec().decode::<Position>("latest", &cursor), Err(CursorError::Position));
    }
}
