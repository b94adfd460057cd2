//! A circuit breaker for the origin, one per isolate: after `threshold` consecutive failures it opens and the
//! edge goes straight to Lambda for `cooldown`; then one trial request is let through (half-open), and its
//! outcome closes or reopens the breaker. Time is passed in, so the state machine is testable anywhere.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed { failures: u32 },
    Open { until_ms: u64 },
    HalfOpen { trial_running: bool },
}

#[derive(Debug, Clone)]
pub struct Breaker {
    state: State,
    threshold: u32,
    cooldown_ms: u64,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown_ms: u64) -> Self {
        Self { state: State::Closed { failures: 0 }, threshold: threshold.max(1), cooldown_ms }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a request may go to the origin now. While half-open only one trial runs at a time.
    pub fn allow(&mut self, now_ms: u64) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until_ms } if now_ms >= until_ms => {
                self.state = State::HalfOpen { trial_running: true };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { trial_running: true } => false,
            State::HalfOpen { trial_running: false } => {
                self.state = State::HalfOpen { trial_running: true };
                true
            }
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
        let mut breaker = Breaker::new(3, 1_000);
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
        let mut breaker = Breaker::new(2, 1_000);
        breaker.record_failure(0);
        breaker.record_success();
        breaker.record_failure(0);
        assert_eq!(breaker.state(), State::Closed { failures: 1 }, "failures must be consecutive");
        breaker.record_failure(0);
        assert!(breaker.allow(1_000));
        breaker.record_failure(1_000);
        assert_eq!(breaker.state(), State::Open { until_ms: 2_000 });
    }
}
