//! Who a request is from, for rate limits: the client IP (as Cloudflare reports it) for everything, and for
//! writes also the acting user.

/// The client IP: `CF-Connecting-IP` (set by Cloudflare for every request; a client cannot forge it there).
pub fn ip(cf_connecting_ip: Option<&str>) -> String {
    cf_connecting_ip.map(str::trim).filter(|ip| !ip.is_empty()).unwrap_or("unknown").to_owned()
}

/// Writes get stricter limits.
pub fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The acting user of a write (the `X-User-Id` header until JWT auth lands), if it names one.
pub fn user(x_user_id: Option<&str>) -> Option<String> {
    x_user_id.map(str::trim).filter(|id| !id.is_empty() && id.len() <= 64).map(str::to_owned)
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

pub fn user_key(user: &str) -> String {
    format!("user:{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(ip(Some(" 203.0.113.7 ")), "203.0.113.7");
        assert_eq!(ip(None), "unknown");
        assert_eq!(ip(Some("")), "unknown");
        assert!(is_write("POST") && is_write("PUT") && is_write("DELETE") && is_write("PATCH"));
        assert!(!is_write("GET") && !is_write("HEAD") && !is_write("OPTIONS"));
        assert_eq!(user(Some("01ABC")), Some("01ABC".into()));
        assert_eq!(user(Some(&"x".repeat(65))), None);
        assert_eq!(ip_key("1.2.3.4"), "ip:1.2.3.4");
        assert_eq!(user_key("u"), "user:u");
    }
}
