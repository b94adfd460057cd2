//! What the edge caches and for how long. Only GET/HEAD of requests without credentials are looked up; a
//! response is stored when the upstream marks it shareable (`s-maxage`, or `max-age` of a `public` response,
//! and neither `private`, `no-store`, `no-cache` nor a `Set-Cookie`) and its status is an answer about the
//! resource (200, a redirect, 404 or 410), never a failure. Stored entries carry when they were stored, their
//! TTL and their stale-while-revalidate window, because the Cache API has no SWR of its own.

/// Internal headers of a stored entry (removed before a response leaves the edge).
pub const STORED_AT: &str = "x-edge-stored-at";
pub const TTL: &str = "x-edge-ttl";
pub const SWR: &str = "x-edge-swr";

/// Why a request is not looked up in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bypass {
    Method,
    Credentials,
}

/// Whether a request may be served from the cache.
pub fn lookup(method: &str, has_authorization: bool, has_cookie: bool) -> Result<(), Bypass> {
    if !matches!(method, "GET" | "HEAD") {
        return Err(Bypass::Method);
    }
    if has_authorization || has_cookie {
        return Err(Bypass::Credentials);
    }
    Ok(())
}

/// How long a stored response is fresh, then servable stale while it is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub ttl_s: u64,
    pub swr_s: u64,
}

impl Freshness {
    /// How long the Cache API must keep the entry: fresh plus stale.
    pub fn retention_s(self) -> u64 {
        self.ttl_s + self.swr_s
    }
}

fn directives(cache_control: &str) -> impl Iterator<Item = (String, Option<&str>)> {
    cache_control.split(',').filter_map(|part| {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (part, None),
        };
        Some((name.to_ascii_lowercase(), value))
    })
}

/// The statuses kept when the upstream allows: what the resource is, where it is, or that it is not there.
const STORABLE_STATUSES: [u16; 8] = [200, 301, 302, 303, 307, 308, 404, 410];

/// Whether and how long to store a response, from its status and headers.
pub fn storable(status: u16, cache_control: Option<&str>, has_set_cookie: bool) -> Option<Freshness> {
    if !STORABLE_STATUSES.contains(&status) || has_set_cookie {
        return None;
    }
    let (mut public, mut s_maxage, mut max_age, mut swr) = (false, None, None, 0);
    for (name, value) in directives(cache_control?) {
        let seconds = value.and_then(|v| v.parse::<u64>().ok());
        match name.as_str() {
            "private" | "no-store" | "no-cache" => return None,
            "public" => public = true,
            "s-maxage" => s_maxage = seconds,
            "max-age" => max_age = seconds,
            "stale-while-revalidate" => swr = seconds.unwrap_or(0),
            _ => {}
        }
    }
    let ttl_s = s_maxage.or(if public { max_age } else { None })?;
    (ttl_s > 0).then_some(Freshness { ttl_s, swr_s: swr })
}

/// Where a stored entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Fresh,
    /// Servable while it is refreshed in the background.
    Stale,
    /// Too old to serve.
    Expired,
}

pub fn state(stored_at_ms: u64, now_ms: u64, freshness: Freshness) -> State {
    let age_ms = now_ms.saturating_sub(stored_at_ms);
    if age_ms < freshness.ttl_s * 1000 {
        State::Fresh
    } else if age_ms < freshness.retention_s() * 1000 {
        State::Stale
    } else {
        State::Expired
    }
}

/// The `Age` header value of an entry.
pub fn age_s(stored_at_ms: u64, now_ms: u64) -> u64 {
    now_ms.saturating_sub(stored_at_ms) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_anonymous_reads_are_looked_up() {
        assert_eq!(lookup("GET", false, false), Ok(()));
        assert_eq!(lookup("HEAD", false, false), Ok(()));
        assert_eq!(lookup("POST", false, false), Err(Bypass::Method));
        assert_eq!(lookup("PUT", false, false), Err(Bypass::Method));
        assert_eq!(lookup("GET", true, false), Err(Bypass::Credentials));
        assert_eq!(lookup("GET", false, true), Err(Bypass::Credentials));
    }

    #[test]
    fn ttl_and_swr_come_from_the_upstream() {
        let stored = |cc| storable(200, Some(cc), false);
        assert_eq!(
            stored("public, max-age=0, s-maxage=10, stale-while-revalidate=60"),
            Some(Freshness { ttl_s: 10, swr_s: 60 })
        );
        assert_eq!(stored("public, max-age=30"), Some(Freshness { ttl_s: 30, swr_s: 0 }));
        assert_eq!(stored("S-MaxAge=5"), Some(Freshness { ttl_s: 5, swr_s: 0 }));
        assert_eq!(stored(r#"public, s-maxage="7""#), Some(Freshness { ttl_s: 7, swr_s: 0 }));
    }

    #[test]
    fn private_and_unmarked_responses_are_not_stored() {
        for cc in [
            "private, no-store",
            "no-cache, s-maxage=10",
            "max-age=30",
            "public",
            "public, s-maxage=0",
            "public, s-maxage=x",
        ] {
            assert_eq!(storable(200, Some(cc), false), None, "{cc}");
        }
        assert_eq!(storable(200, None, false), None);
        assert_eq!(storable(200, Some("public, s-maxage=10"), true), None, "Set-Cookie is never shared");
        for status in [201, 204, 206, 400, 403, 422, 429, 500, 502, 503] {
            assert_eq!(storable(status, Some("public, s-maxage=10"), false), None, "{status}");
        }
    }

    #[test]
    fn redirects_and_absences_are_stored_as_the_upstream_says() {
        let five = Some(Freshness { ttl_s: 5, swr_s: 0 });
        for status in [302, 301, 307, 404, 410] {
            assert_eq!(storable(status, Some("public, max-age=0, s-maxage=5"), false), five, "{status}");
        }
        assert_eq!(storable(404, Some("private, no-store"), false), None);
    }

    #[test]
    fn entries_go_fresh_then_stale_then_expired() {
        let f = Freshness { ttl_s: 10, swr_s: 60 };
        assert_eq!(state(1_000, 1_000, f), State::Fresh);
        assert_eq!(state(1_000, 10_999, f), State::Fresh);
        assert_eq!(state(1_000, 11_000, f), State::Stale);
        assert_eq!(state(1_000, 70_999, f), State::Stale);
        assert_eq!(state(1_000, 71_000, f), State::Expired);
        assert_eq!(state(1_000, 500, f), State::Fresh, "a clock step back is not an error");
        assert_eq!(state(0, 11_000, Freshness { ttl_s: 10, swr_s: 0 }), State::Expired);
        assert_eq!(age_s(1_000, 12_500), 11);
    }
}
