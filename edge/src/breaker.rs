//! A circuit breaker for the origin, one per isolate: after `threshold` consecutive failures it opens and the
//! edge goes straight to Lambda for `cooldown`; then one trial request is let through (half-open), and its
//! outcome closes or reopens the breaker. A trial that never reports (its request was cancelled) is given up
//! after `trial_ms` and another is let through. Time is passed in, so the state machine is testable anywhere.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed {
        failures: u32,
    },
    Open {
        until_ms: u64,
    },
    /// A trial request is out; another may go once `trial_until_ms` has passed without an outcome.
    HalfOpen {
        trial_until_ms: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Breaker {
    state: State,
    threshold: u32,
    cooldown_ms: u64,
    trial_ms: u64,
}

impl Breaker {
    /// `trial_ms`: how long a trial may take (the origin's timeout: no answer can come later).
    pub fn new(threshold: u32, cooldown_ms: u64, trial_ms: u64) -> Self {
        Self { state: State::Closed { failures: 0 }, threshold: threshold.max(1), cooldown_ms, trial_ms }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a request may go to the origin now. While half-open only one trial runs at a time.
    pub fn allow(&mut self, now_ms: u64) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until_ms } | State::HalfOpen { trial_until_ms: until_ms } if now_ms >= until_ms => {
                self.state = State::HalfOpen { trial_until_ms: now_ms + self.trial_ms };
                true
            }
            State::Open { .. } | State::HalfOpen { .. } => false,
        }
    }

    pub fn record_success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    pub fn record_failure(&mut self, now_ms: u64) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed { failures: failures + 1 },
            _ => State::Open { until_ms: now_ms + self.cooldown_ms },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_recovers_through_one_trial() {
        let mut breaker = Breaker::new(3, 1_000, 300);
        for _ in 0..2 {
            assert!(breaker.allow(0));
            breaker.record_failure(0);
        }
        assert_eq!(breaker.state(), State::Closed { failures: 2 });
        assert!(breaker.allow(0));
        breaker.record_failure(100);
        assert_eq!(breaker.state(), State::Open { until_ms: 1_100 });
        assert!(!breaker.allow(500), "open: straight to Lambda");
        assert!(breaker.allow(1_100), "cooldown over: one trial");
        assert!(!breaker.allow(1_101), "only one trial at a time");
        breaker.record_success();
        assert_eq!(breaker.state(), State::Closed { failures: 0 });
        assert!(breaker.allow(1_200));
    }

    #[test]
    fn a_failed_trial_reopens_and_a_success_resets_the_count() {
        let mut breaker = Breaker::new(2, 1_000, 300);
        breaker.record_failure(0);
        breaker.record_success();
        breaker.record_failure(0);
        assert_eq!(breaker.state(), State::Closed { failures: 1 }, "failures must be consecutive");
        breaker.record_failure(0);
        assert!(breaker.allow(1_000));
        breaker.record_failure(1_000);
        assert_eq!(breaker.state(), State::Open { until_ms: 2_000 });
    }

    #[test]
    fn a_trial_that_never_reports_is_replaced_by_another() {
        let mut breaker = Breaker::new(1, 1_000, 300);
        breaker.record_failure(0);
        assert!(breaker.allow(1_000), "the trial goes out, and its request is cancelled: no outcome ever");
        assert!(!breaker.allow(1_299), "still waiting for it");
        assert!(breaker.allow(1_300), "given up: another trial");
        breaker.record_success();
        assert_eq!(breaker.state(), State::Closed { failures: 0 });
    }
}
