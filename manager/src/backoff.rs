//! Computes jittered exponential backoff delays for error-policy requeues.
//!
//! Every parameter is explicit (no hidden defaults in the arithmetic) so a service can use the
//! production values (e.g. SignalProcessing: 30 s ×2, cap 5 min, ±10 %) while tests configure
//! milliseconds.

use std::time::Duration;

/// Jittered exponential backoff: `min(base × factor^attempt, cap)`, then ±`jitter` of that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry (attempt 0).
    pub base: Duration,
    /// Growth per attempt; values below 1 are treated as 1 (never shrink).
    pub factor: f64,
    /// Upper bound before jitter.
    pub cap: Duration,
    /// Relative jitter in `[0, 1]`: 0.1 means ±10 %. Values outside are clamped.
    pub jitter: f64,
}

impl Backoff {
    /// A backoff with the given parameters.
    pub const fn new(base: Duration, factor: f64, cap: Duration, jitter: f64) -> Self {
        Self {
            base,
            factor,
            cap,
            jitter,
        }
    }

    /// The delay before retry number `attempt` (0-based), with random jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with_sample(attempt, rand::random_range(-1.0..=1.0))
    }

    /// The delay before retry number `attempt` with a given jitter sample in `[-1, 1]`
    /// (-1 = shortest, 0 = none, 1 = longest). Deterministic, for tests and for callers that
    /// bring their own randomness.
    pub fn delay_with_sample(&self, attempt: u32, sample: f64) -> Duration {
        let cap = self.cap.as_secs_f64();
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        // powi on a large attempt overflows to +inf, which min() then caps: no panic, no NaN.
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let raw = (self.base.as_secs_f64() * factor.powi(exponent)).min(cap);
        let raw = if raw.is_finite() { raw } else { cap };
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let sample = if sample.is_finite() {
            sample.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        Duration::try_from_secs_f64((raw * (1.0 + jitter * sample)).max(0.0)).unwrap_or(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP: Backoff = Backoff::new(Duration::from_secs(30), 2.0, Duration::from_secs(300), 0.1);

    #[test]
    fn grows_exponentially_then_caps() {
        let secs: Vec<u64> = (0..6)
            .map(|a| SP.delay_with_sample(a, 0.0).as_secs())
            .collect();
        assert_eq!(secs, [30, 60, 120, 240, 300, 300]);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        assert_eq!(SP.delay_with_sample(0, -1.0), Duration::from_secs(27));
        assert_eq!(SP.delay_with_sample(0, 1.0), Duration::from_secs(33));
        for attempt in 0..20 {
            let d = SP.delay(attempt).as_secs_f64();
            let nominal = SP.delay_with_sample(attempt, 0.0).as_secs_f64();
            assert!(
                d >= nominal * 0.9 - 1e-9 && d <= nominal * 1.1 + 1e-9,
                "attempt {attempt}: {d} vs {nominal}"
            );
        }
    }

    #[test]
    fn degenerate_parameters_do_not_panic() {
        let weird = Backoff::new(
            Duration::from_millis(1),
            f64::NAN,
            Duration::from_millis(5),
            f64::INFINITY,
        );
        assert_eq!(
            weird.delay_with_sample(1000, f64::NAN),
            Duration::from_millis(1)
        );
        let huge = Backoff::new(Duration::from_secs(1), 10.0, Duration::from_secs(60), 0.0);
        assert_eq!(
            huge.delay_with_sample(u32::MAX, 0.0),
            Duration::from_secs(60)
        );
        let shrinking = Backoff::new(Duration::from_secs(4), 0.5, Duration::from_secs(60), 0.0);
        assert_eq!(shrinking.delay_with_sample(3, 0.0), Duration::from_secs(4));
        let zero = Backoff::new(Duration::ZERO, 2.0, Duration::ZERO, 0.5);
        assert_eq!(zero.delay(5), Duration::ZERO);
    }

    #[test]
    fn milliseconds_for_tests() {
        let fast = Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(50),
            0.0,
        );
        assert_eq!(fast.delay_with_sample(2, 0.0), Duration::from_millis(40));
        assert_eq!(fast.delay_with_sample(3, 0.0), Duration::from_millis(50));
    }
}
