//! Headers every response leaving the edge carries: an API is never framed, sniffed or leaked by referrer.

pub const HEADERS: [(&str, &str); 6] = [
    ("strict-transport-security", "max-age=63072000; includeSubDomains; preload"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
];
