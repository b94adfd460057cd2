//! A memory budget for work whose size is known before it starts (an image decode: width × height × bytes per
//! pixel): each piece reserves what it needs, in MiB, and waits while the pieces in progress hold the rest. Peak
//! memory is then bounded by the budget, not by how many pieces a batch happens to run at once.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const MIB: u64 = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct MemoryBudget {
    mib: Arc<Semaphore>,
    capacity_mib: u32,
}

/// Held while the work runs; the memory returns to the budget when it is dropped.
#[derive(Debug)]
pub struct Reserved {
    _permit: OwnedSemaphorePermit,
}

impl MemoryBudget {
    pub fn new(capacity_mib: u32) -> Self {
        Self { mib: Arc::new(Semaphore::new(capacity_mib as usize)), capacity_mib }
    }

    /// Reserves `bytes` (rounded up to whole MiB), once the work in progress leaves room. `None` for more than
    /// the whole budget, which could never be granted.
    pub async fn reserve(&self, bytes: u64) -> Option<Reserved> {
        let mib = u32::try_from(bytes.div_ceil(MIB)).ok().filter(|&mib| mib <= self.capacity_mib)?;
        let permit = self.mib.clone().acquire_many_owned(mib).await.expect("the budget's semaphore is never closed");
        Some(Reserved { _permit: permit })
    }

    pub fn capacity_mib(&self) -> u32 {
        self.capacity_mib
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn work_waits_until_the_memory_it_needs_is_free_and_too_much_is_refused() {
        let budget = MemoryBudget::new(10);
        let first = budget.reserve(6 * MIB).await.unwrap();
        let small = budget.reserve(4 * MIB).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(50), budget.reserve(1)).await;
        assert!(waiting.is_err(), "1 byte takes a whole MiB, and none is left");
        drop(small);
        let second = tokio::time::timeout(Duration::from_millis(50), budget.reserve(4 * MIB)).await;
        assert!(second.unwrap().is_some());
        drop(first);
        assert!(budget.reserve(11 * MIB).await.is_none(), "more than the whole budget is never granted");
        assert!(budget.reserve(u64::MAX).await.is_none());
    }
}
