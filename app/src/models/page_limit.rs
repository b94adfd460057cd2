//! The `limit` of a list request: 1 to 100 items, 20 when absent (`stampede_contract::routes`, the rule the edge's
//! cache keys follow).

use stampede_contract::routes::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, page_limit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u8);

impl PageLimit {
    pub const MAX: u8 = PAGE_LIMIT_MAX;
    pub const DEFAULT: PageLimit = PageLimit(PAGE_LIMIT_DEFAULT);

    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let Some(raw) = raw else { return Ok(Self::DEFAULT) };
        page_limit(raw).map(Self).ok_or_else(|| format!("limit must be a whole number from 1 to {}", Self::MAX))
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_default() {
        assert_eq!(PageLimit::parse(None), Ok(PageLimit::DEFAULT));
        assert_eq!(PageLimit::DEFAULT.get(), 20);
        assert_eq!(PageLimit::parse(Some("1")).unwrap().get(), 1);
        assert_eq!(PageLimit::parse(Some("100")).unwrap().get(), 100);
        for bad in ["0", "101", "-1", "abc", "", "1e2", "255", "300"] {
            assert!(PageLimit::parse(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
