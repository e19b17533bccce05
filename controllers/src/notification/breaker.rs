//! Owns the per-channel circuit breakers: after a run of consecutive failures a channel is not
//! contacted for a while, then one trial delivery decides whether it closes again.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::config::BreakerConfig;

/// State of one channel's breaker (the gauge value is the discriminant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Deliveries go through.
    Closed = 0,
    /// Deliveries are refused without contacting the channel.
    Open = 1,
    /// One trial delivery is in flight; its result closes or re-opens the breaker.
    HalfOpen = 2,
}

/// Whether a delivery may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Closed: go.
    Go,
    /// Half-open: this delivery is the trial.
    Trial,
    /// Open: do not contact the channel for `retry_in`.
    Refused {
        /// Until the breaker lets a trial through.
        retry_in: Duration,
    },
}

#[derive(Debug, Default)]
struct Entry {
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

/// Breakers of every channel, shared by all reconciles of one controller.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    channels: Mutex<HashMap<String, Entry>>,
}

impl CircuitBreaker {
    /// Breakers with `config`'s thresholds.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            channels: Mutex::default(),
        }
    }

    /// Asks to deliver on `channel` at `now`.
    pub fn permit(&self, channel: &str, now: Instant) -> Permit {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = channels.entry(channel.to_owned()).or_default();
        let Some(opened_at) = entry.opened_at else {
            return Permit::Go;
        };
        let open_until = opened_at + self.config.open_for;
        if now < open_until {
            return Permit::Refused {
                retry_in: open_until - now,
            };
        }
        if entry.trial_in_flight {
            // Another reconcile is running the trial: wait for its verdict.
            return Permit::Refused {
                retry_in: self.config.open_for,
            };
        }
        entry.trial_in_flight = true;
        Permit::Trial
    }

    /// Records the result of a delivery allowed by [`CircuitBreaker::permit`] at `now`; returns
    /// the channel's state afterwards.
    pub fn record(&self, channel: &str, success: bool, now: Instant) -> BreakerState {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = channels.entry(channel.to_owned()).or_default();
        entry.trial_in_flight = false;
        if success {
            *entry = Entry::default();
            return BreakerState::Closed;
        }
        entry.consecutive_failures = entry.consecutive_failures.saturating_add(1);
        let threshold = self.config.failure_threshold;
        // A failed trial re-opens at once; otherwise the threshold decides.
        if entry.opened_at.is_some() || (threshold > 0 && entry.consecutive_failures >= threshold) {
            entry.opened_at = Some(now);
            return BreakerState::Open;
        }
        BreakerState::Closed
    }

    /// The state of `channel` at `now`.
    pub fn state(&self, channel: &str, now: Instant) -> BreakerState {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        match channels.get(channel) {
            Some(Entry {
                opened_at: Some(at),
                trial_in_flight,
                ..
            }) => {
                if *trial_in_flight || now >= *at + self.config.open_for {
                    BreakerState::HalfOpen
                } else {
                    BreakerState::Open
                }
            }
            _ => BreakerState::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(30);

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: threshold,
            open_for: OPEN_FOR,
        })
    }

    #[test]
    fn opens_after_threshold_then_half_opens_and_closes_on_success() {
        let b = breaker(3);
        let t0 = Instant::now();
        assert_eq!(b.record("w", false, t0), BreakerState::Closed);
        assert_eq!(b.record("w", false, t0), BreakerState::Closed);
        assert_eq!(b.permit("w", t0), Permit::Go);
        assert_eq!(b.record("w", false, t0), BreakerState::Open);
        assert_eq!(
            b.permit("w", t0 + Duration::from_secs(10)),
            Permit::Refused {
                retry_in: Duration::from_secs(20)
            }
        );
        assert_eq!(
            b.permit("other", t0),
            Permit::Go,
            "breakers are per channel"
        );
        let later = t0 + OPEN_FOR;
        assert_eq!(b.state("w", later), BreakerState::HalfOpen);
        assert_eq!(b.permit("w", later), Permit::Trial);
        assert!(
            matches!(b.permit("w", later), Permit::Refused { .. }),
            "one trial at a time"
        );
        assert_eq!(b.record("w", true, later), BreakerState::Closed);
        assert_eq!(b.permit("w", later), Permit::Go);
    }

    #[test]
    fn a_failed_trial_reopens_and_success_resets_the_count() {
        let b = breaker(2);
        let t0 = Instant::now();
        b.record("w", false, t0);
        assert_eq!(b.record("w", true, t0), BreakerState::Closed);
        assert_eq!(
            b.record("w", false, t0),
            BreakerState::Closed,
            "the success reset the run of failures"
        );
        assert_eq!(b.record("w", false, t0), BreakerState::Open);
        let later = t0 + OPEN_FOR;
        assert_eq!(b.permit("w", later), Permit::Trial);
        assert_eq!(b.record("w", false, later), BreakerState::Open);
        assert!(
            matches!(b.permit("w", later), Permit::Refused { retry_in } if retry_in == OPEN_FOR)
        );
    }

    #[test]
    fn threshold_zero_never_opens() {
        let b = breaker(0);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(b.record("w", false, t0), BreakerState::Closed);
        }
        assert_eq!(b.permit("w", t0), Permit::Go);
    }
}
