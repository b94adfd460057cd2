//! Shared secrets (the edge secret, the cursor-signing key): long enough that guessing is hopeless.

/// The shortest secret accepted, in bytes.
pub const MIN_LEN: usize = 32;

/// Whether `value` may be used as a shared secret; the error says what to do (without repeating the value).
pub fn check(value: &str) -> Result<(), &'static str> {
    if value.len() < MIN_LEN {
        return Err("must be at least 32 characters (e.g. `openssl rand -hex 32`)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thirty_two_characters_or_more() {
        assert!(super::check(&"x".repeat(31)).is_err());
        assert!(super::check(&"x".repeat(32)).is_ok());
    }
}
