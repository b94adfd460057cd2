//! The API's reads as the edge must know them: each GET route, whether a shared cache may keep its answers, and
//! the query parameters it reads (in order, with their defaults); and the syntax of the values in those paths and
//! parameters (ULIDs, page limits, thumbnail sizes). The API parses with these rules; the edge builds its cache
//! keys from them, so two requests the API answers alike share one key and nothing else does.

/// A query parameter a read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `limit`: how many items a page holds ([`page_limit`]), [`PAGE_LIMIT_DEFAULT`] when absent.
    Limit,
    /// `cursor`: where a page starts, opaque; an empty one is none (the first page).
    Cursor,
}

/// Why a parameter's value names no answer the API would give: it refuses the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

impl Param {
    pub fn name(self) -> &'static str {
        match self {
            Self::Limit => "limit",
            Self::Cursor => "cursor",
        }
    }

    /// The canonical value for a request that sent `raw` (or none): `None` when the parameter is left out.
    pub fn canonical(self, raw: Option<&str>) -> Result<Option<String>, Refused> {
        match self {
            Self::Limit => match raw {
                None => Ok(Some(PAGE_LIMIT_DEFAULT.to_string())),
                Some(raw) => page_limit(raw).map(|n| Some(n.to_string())).ok_or(Refused),
            },
            Self::Cursor => Ok(raw.filter(|c| !c.is_empty()).map(str::to_owned)),
        }
    }
}

/// The parameters of a page of a list.
const PAGE: &[Param] = &[Param::Limit, Param::Cursor];

/// A GET route of API v1: its path (`{id}` a ULID, `{size}` a thumbnail size) and, for a read a shared cache may
/// keep, the parameters it reads. A route that answers per caller is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub path: &'static str,
    pub shared: bool,
    pub params: &'static [Param],
}

const fn shared(path: &'static str, params: &'static [Param]) -> Read {
    Read { path, shared: true, params }
}

/// Every GET route of API v1. A literal segment takes precedence over a placeholder (`/v1/users/me` is not a
/// user id), as in the API's router.
pub const READS: [Read; 7] = [
    Read { path: "/v1/users/me", shared: false, params: &[] },
    shared("/v1/users/{id}", &[]),
    shared("/v1/users/{id}/posts", PAGE),
    shared("/v1/posts", PAGE),
    shared("/v1/posts/{id}", &[]),
    shared("/v1/media/{id}", &[]),
    shared("/v1/media/{id}/thumbnails/{size}", &[]),
];

/// What a request path is to the API's reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// A read: its path written canonically (upper-case ids).
    Read { read: Read, path: String },
    /// The shape of a read with an id or size that names nothing: the API answers 404, now and always.
    Nothing,
    /// No read of the API (another route, or none): the API answers as it does.
    Unknown,
}

/// Matches `path` against [`READS`]: the first read whose literal segments it has decides.
pub fn match_read(path: &str) -> Matched {
    let segments: Vec<&str> = path.split('/').collect();
    let Some(read) = READS.into_iter().find(|read| {
        let pattern = read.path.split('/');
        pattern.clone().count() == segments.len() && pattern.zip(&segments).all(|(p, s)| p.starts_with('{') || p == *s)
    }) else {
        return Matched::Unknown;
    };
    let canonical: Option<Vec<String>> = read
        .path
        .split('/')
        .zip(&segments)
        .map(|(pattern, segment)| match pattern {
            "{id}" => ulid(segment),
            "{size}" => thumbnail_size(segment).map(|size| size.to_string()),
            _ => Some((*segment).to_owned()),
        })
        .collect();
    match canonical {
        Some(canonical) => Matched::Read { read, path: canonical.join("/") },
        None => Matched::Nothing,
    }
}

/// The items of a page when a list request sets no `limit`.
pub const PAGE_LIMIT_DEFAULT: u8 = 20;
/// The most items a page holds.
pub const PAGE_LIMIT_MAX: u8 = 100;

/// A `limit` value: a whole number from 1 to [`PAGE_LIMIT_MAX`].
pub fn page_limit(raw: &str) -> Option<u8> {
    raw.parse::<u8>().ok().filter(|n| (1..=PAGE_LIMIT_MAX).contains(n))
}

/// Edge lengths (px) of the thumbnails made of every upload (each fits in a square of that size).
pub const THUMBNAIL_SIZES: [u32; 2] = [128, 512];

/// A `{size}` segment: one of [`THUMBNAIL_SIZES`], written as a plain decimal.
pub fn thumbnail_size(raw: &str) -> Option<u32> {
    THUMBNAIL_SIZES.into_iter().find(|size| size.to_string() == raw)
}

/// Crockford's base32 alphabet as ULIDs write it (no I, L, O, U).
const ULID_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The canonical (upper-case) form of a ULID written in either case, or `None` if `raw` is not one: 26 characters
/// of [`ULID_ALPHABET`], the first at most `7` (more would not fit in 128 bits).
pub fn ulid(raw: &str) -> Option<String> {
    let canonical = raw.to_ascii_uppercase();
    let bytes = canonical.as_bytes();
    (bytes.len() == 26 && bytes[0] <= b'7' && bytes.iter().all(|b| ULID_ALPHABET.contains(b))).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JDQ3X7Y8Z9ABCDEFGHJKMNPQ";

    fn read_path(path: &str) -> Option<String> {
        match match_read(path) {
            Matched::Read { path, .. } => Some(path),
            _ => None,
        }
    }

    #[test]
    fn ulids_in_either_case_have_one_canonical_form() {
        assert_eq!(ulid(ID).as_deref(), Some(ID));
        assert_eq!(ulid(&ID.to_lowercase()).as_deref(), Some(ID));
        assert_eq!(ulid("01jdq3x7y8z9ABCDEFGHJKMNPQ").as_deref(), Some(ID));
        assert_eq!(ulid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ").as_deref(), Some("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
        for bad in ["", "123", &ID[1..], &format!("{ID}0"), "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01JDQ3X7Y8Z9ABCDEFGHJKMNPI"]
        {
            assert_eq!(ulid(bad), None, "{bad:?}");
        }
        for letter in ["I", "L", "O", "U", "-", "é"] {
            assert_eq!(ulid(&format!("{}{letter}", &ID[..25])), None, "{letter}");
        }
    }

    #[test]
    fn reads_match_with_their_ids_made_canonical() {
        let lower = ID.to_lowercase();
        assert_eq!(read_path(&format!("/v1/posts/{lower}")), Some(format!("/v1/posts/{ID}")));
        assert_eq!(read_path(&format!("/v1/users/{lower}/posts")), Some(format!("/v1/users/{ID}/posts")));
        assert_eq!(
            read_path(&format!("/v1/media/{ID}/thumbnails/128")),
            Some(format!("/v1/media/{ID}/thumbnails/128"))
        );
        assert_eq!(read_path("/v1/posts").as_deref(), Some("/v1/posts"));
        let Matched::Read { read, .. } = match_read("/v1/posts") else { panic!() };
        assert_eq!(read.params, [Param::Limit, Param::Cursor]);
        assert!(read.shared);
    }

    #[test]
    fn literals_come_before_ids_and_malformed_ids_name_nothing() {
        let Matched::Read { read, .. } = match_read("/v1/users/me") else { panic!() };
        assert!(!read.shared);
        assert_eq!(match_read("/v1/users/someone"), Matched::Nothing);
        assert_eq!(match_read("/v1/posts/p1"), Matched::Nothing);
        assert_eq!(match_read(&format!("/v1/media/{ID}/thumbnails/0128")), Matched::Nothing);
        assert_eq!(match_read(&format!("/v1/media/{ID}/thumbnails/256")), Matched::Nothing);
        assert_eq!(match_read("/v1/posts/"), Matched::Nothing, "an empty id");
        for unknown in ["/", "/v1/nothing", &format!("/v1/posts/{ID}/like"), "/V1/posts", "/v1/posts/a/b/c"] {
            assert_eq!(match_read(unknown), Matched::Unknown, "{unknown}");
        }
    }

    #[test]
    fn parameters_have_one_canonical_value() {
        assert_eq!(Param::Limit.canonical(None), Ok(Some("20".into())));
        assert_eq!(Param::Limit.canonical(Some("5")), Ok(Some("5".into())));
        assert_eq!(Param::Limit.canonical(Some("05")), Ok(Some("5".into())));
        assert_eq!(Param::Limit.canonical(Some("+5")), Ok(Some("5".into())));
        for bad in ["0", "101", "-1", "abc", "", "1e2", "255", "300"] {
            assert_eq!(Param::Limit.canonical(Some(bad)), Err(Refused), "{bad:?}");
        }
        assert_eq!(Param::Cursor.canonical(None), Ok(None));
        assert_eq!(Param::Cursor.canonical(Some("")), Ok(None));
        assert_eq!(Param::Cursor.canonical(Some("a b")), Ok(Some("a b".into())));
        assert_eq!(thumbnail_size("512"), Some(512));
    }
}
