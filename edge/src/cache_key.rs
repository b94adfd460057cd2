//! The cache key of a public read: its URL made canonical by the API's own rules (`stampede_contract::routes`):
//! ids in upper case, and of the query only the parameters the route reads, in the route's order, with their
//! defaults. Requests the API answers alike share one key, and the edge forwards exactly the keyed URL, so no
//! query string or spelling of an id makes an entry of its own, and what is stored is the answer to its key.

use stampede_contract::routes::{self, Matched};
use url::{Url, form_urlencoded};

/// What the cache makes of a GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A read a shared cache may keep: its canonical URL, which is both the key and what is fetched.
    Cached(Url),
    /// A read of something that cannot exist (a malformed id or size): the edge answers 404 itself.
    NotFound,
    /// Anything else (a per-caller read, another path, a parameter the API refuses): forwarded as sent, not stored.
    Uncached,
}

pub fn lookup(url: &Url) -> Lookup {
    let (read, path) = match routes::match_read(url.path()) {
        Matched::Read { read, path } if read.shared => (read, path),
        Matched::Nothing => return Lookup::NotFound,
        _ => return Lookup::Uncached,
    };
    let mut query = form_urlencoded::Serializer::new(String::new());
    for param in read.params {
        let mut sent = url.query_pairs().filter(|(name, _)| name == param.name()).map(|(_, value)| value);
        let raw = sent.next();
        // The API refuses a repeated parameter: so many spellings of one request must not be keys.
        if sent.next().is_some() {
            return Lookup::Uncached;
        }
        match param.canonical(raw.as_deref()) {
            Ok(Some(value)) => _ = query.append_pair(param.name(), &value),
            Ok(None) => {}
            Err(routes::Refused) => return Lookup::Uncached,
        }
    }
    let mut canonical = url.clone();
    canonical.set_path(&path);
    canonical.set_fragment(None);
    let query = query.finish();
    canonical.set_query((!query.is_empty()).then_some(&query));
    Lookup::Cached(canonical)
}

/// The key of a plain GET of `path` (e.g. `/v1/posts/{id}`) on the host of `url`, if such a GET is cached: what a
/// write that changed `path` deletes.
pub fn for_path(url: &Url, path: &str) -> Option<String> {
    let mut plain = url.clone();
    plain.set_path(path);
    plain.set_query(None);
    match lookup(&plain) {
        Lookup::Cached(key) => Some(key.into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JDQ3X7Y8Z9ABCDEFGHJKMNPQ";

    fn key(raw: &str) -> String {
        match lookup(&Url::parse(raw).unwrap()) {
            Lookup::Cached(key) => key.into(),
            other => panic!("{raw}: {other:?}"),
        }
    }

    fn lookup_of(raw: &str) -> Lookup {
        lookup(&Url::parse(raw).unwrap())
    }

    #[test]
    fn only_the_parameters_a_route_reads_in_its_order_with_their_defaults() {
        let first_page = "https://api.example.com/v1/posts?limit=20";
        assert_eq!(key("https://api.example.com/v1/posts"), first_page);
        for variant in [
            "https://api.example.com/v1/posts?x=1",
            "https://API.example.com/v1/posts?utm_source=x&limit=20",
            "https://api.example.com/v1/posts?limit=020&cursor=#top",
            "https://api.example.com/v1/posts?fbclid=1&limit=%2B20",
        ] {
            assert_eq!(key(variant), first_page, "{variant}");
        }
        let page = "https://a.com/v1/posts?limit=5&cursor=abc";
        assert_eq!(key("https://a.com/v1/posts?cursor=abc&limit=5"), page);
        assert_eq!(key("https://a.com/v1/posts?cursor=abc&x=2&limit=5"), page);
        assert_eq!(
            key(&format!("https://a.com/v1/posts/{ID}?limit=5&cursor=c")),
            format!("https://a.com/v1/posts/{ID}")
        );
    }

    #[test]
    fn ids_in_either_case_share_the_upper_case_key() {
        let canonical = format!("https://a.com/v1/users/{ID}/posts?limit=20");
        assert_eq!(key(&format!("https://a.com/v1/users/{}/posts", ID.to_lowercase())), canonical);
        assert_eq!(
            key(&format!("https://a.com/v1/media/{}/thumbnails/128?s=1", ID.to_lowercase())),
            format!("https://a.com/v1/media/{ID}/thumbnails/128")
        );
    }

    #[test]
    fn different_content_has_different_keys() {
        assert_ne!(key("https://a.com/v1/posts?limit=20"), key("https://a.com/v1/posts?limit=21"));
        assert_ne!(key("https://a.com/v1/posts?cursor=a"), key("https://a.com/v1/posts?cursor=b"));
        assert_ne!(key(&format!("https://a.com/v1/posts/{ID}")), key(&format!("https://a.com/v1/users/{ID}")));
        assert_eq!(key("https://a.com/v1/posts?cursor=a%2Bb"), "https://a.com/v1/posts?limit=20&cursor=a%2Bb");
    }

    #[test]
    fn what_cannot_exist_is_refused_and_what_the_api_refuses_or_answers_per_caller_is_not_cached() {
        for nothing in ["/v1/posts/p1", "/v1/users/someone/posts", &format!("/v1/media/{ID}/thumbnails/0128")] {
            assert_eq!(lookup_of(&format!("https://a.com{nothing}")), Lookup::NotFound, "{nothing}");
        }
        for uncached in [
            "/v1/posts?limit=0",
            "/v1/posts?limit=many",
            "/v1/posts?limit=5&limit=6",
            "/v1/posts?cursor=a&cursor=b",
            "/v1/users/me",
            "/healthz",
            &format!("/v1/posts/{ID}/like"),
        ] {
            assert_eq!(lookup_of(&format!("https://a.com{uncached}")), Lookup::Uncached, "{uncached}");
        }
    }

    #[test]
    fn invalidation_deletes_the_key_of_a_plain_request() {
        let url = Url::parse(&format!("https://a.com/v1/posts/{ID}/like?x=1")).unwrap();
        assert_eq!(for_path(&url, &format!("/v1/posts/{ID}")), Some(key(&format!("https://a.com/v1/posts/{ID}"))));
        assert_eq!(for_path(&url, "/v1/posts"), Some(key("https://a.com/v1/posts")));
        assert_eq!(for_path(&url, "/v1/users/me"), None);
        assert_eq!(for_path(&url, "/elsewhere"), None);
    }
}
