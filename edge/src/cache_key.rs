//! The cache key of a request: its URL normalised so that requests for the same content share one entry —
//! lowercase host, no fragment, query parameters sorted, tracking parameters dropped.

use url::Url;

/// Query parameters that only say where a visitor came from: never part of what the API returns.
const TRACKING_PARAMS: [&str; 12] =
    ["fbclid", "gclid", "gbraid", "wbraid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "igshid", "yclid"];

fn is_tracking(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_") || TRACKING_PARAMS.contains(&name.as_str())
}

/// The normalised URL used as the cache key.
pub fn normalize(url: &Url) -> String {
    let mut key = url.clone();
    key.set_fragment(None);
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !is_tracking(name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    if params.is_empty() {
        key.set_query(None);
    } else {
        key.query_pairs_mut().clear().extend_pairs(params);
    }
    key.to_string()
}

/// The cache key of `path` (e.g. `/v1/posts/1`) on the host of `url`: used to invalidate.
pub fn for_path(url: &Url, path: &str) -> String {
    let mut key = url.clone();
    key.set_path(path);
    key.set_query(None);
    key.set_fragment(None);
    key.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        normalize(&Url::parse(raw).unwrap())
    }

    #[test]
    fn query_order_tracking_and_fragments_do_not_matter() {
        let canonical = key("https://api.example.com/v1/posts?cursor=abc&limit=20");
        for variant in [
            "https://api.example.com/v1/posts?limit=20&cursor=abc",
            "https://API.example.com/v1/posts?limit=20&utm_source=x&cursor=abc&utm_campaign=y",
            "https://api.example.com/v1/posts?fbclid=1&cursor=abc&gclid=2&limit=20#top",
        ] {
            assert_eq!(key(variant), canonical, "{variant}");
        }
        assert_eq!(key("https://api.example.com/v1/posts?utm_source=x"), "https://api.example.com/v1/posts");
    }

    #[test]
    fn different_content_has_different_keys() {
        assert_ne!(key("https://a.com/v1/posts?limit=20"), key("https://a.com/v1/posts?limit=21"));
        assert_ne!(key("https://a.com/v1/posts/1"), key("https://a.com/v1/posts/2"));
        assert_ne!(key("https://a.com/v1/posts?a=1&a=2"), key("https://a.com/v1/posts?a=1"));
        // Repeated parameters keep both values, in a stable order.
        assert_eq!(key("https://a.com/p?a=2&a=1"), key("https://a.com/p?a=1&a=2"));
    }

    #[test]
    fn keys_for_invalidation_match_plain_requests() {
        let url = Url::parse("https://a.com/v1/posts/1/like?x=1").unwrap();
        assert_eq!(for_path(&url, "/v1/posts/1"), key("https://a.com/v1/posts/1"));
    }
}
