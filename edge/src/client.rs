//! Who a request is from, for rate limits: the client address (as Cloudflare reports it) for everything, and
//! for writes also the verified subject of its bearer token (`token`).

use std::net::IpAddr;

/// The client IP: `CF-Connecting-IP` (set by Cloudflare for every request; a client cannot forge it there).
pub fn ip(cf_connecting_ip: Option<&str>) -> String {
    cf_connecting_ip.map(str::trim).filter(|ip| !ip.is_empty()).unwrap_or("unknown").to_owned()
}

/// Writes get stricter limits.
pub fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The rate-limit key of a client address: an IPv4 address as it is; an IPv6 address by its /64, the block one
/// subscriber is given and can rotate through at will.
pub fn ip_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Err(_) => format!("ip:{ip}"),
    }
}

/// The rate-limit key of a verified subject.
pub fn user_key(subject: &str) -> String {
    format!("user:{subject}")
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
        assert_eq!(ip_key("1.2.3.4"), "ip:1.2.3.4");
        assert_eq!(user_key("u"), "user:u");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let key = ip_key("2001:db8:1:2:aaaa::1");
        assert_eq!(key, "ip6:2001:db8:1:2::/64");
        assert_eq!(ip_key("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), key);
        assert_ne!(ip_key("2001:db8:1:3::1"), key);
        assert_eq!(ip_key("::ffff:198.51.100.4"), "ip:198.51.100.4", "IPv4-mapped is IPv4");
        assert_eq!(ip_key("unknown"), "ip:unknown");
    }
}
