//! The time controllers measure deadlines and cooldowns against: the system clock in
//! production; in tests, a clock that can be moved forward, so that "past the deadline" is
//! tested by moving time rather than by waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A clock: the system time, plus an offset that only an adjustable clock can change.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` for the plain system clock.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that starts at the system time and moves forward with [`Clock::advance`]; clones
    /// share the offset, so a test keeps one clone and the controller's config the other.
    pub fn adjustable() -> Clock {
        Clock {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// The current time.
    pub fn now(&self) -> jiff::Timestamp {
        let now = jiff::Timestamp::now();
        match &self.offset_ms {
            Some(offset) => now
                .checked_add(jiff::SignedDuration::from_millis(
                    offset.load(Ordering::Acquire),
                ))
                .unwrap_or(now),
            None => now,
        }
    }

    /// Moves an adjustable clock forward by `by`; returns `false` (and does nothing) for the
    /// system clock, which nobody may move.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.offset_ms {
            Some(offset) => {
                offset.fetch_add(
                    i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
                    Ordering::AcqRel,
                );
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_forward_and_the_system_clock_does_not() {
        let system = Clock::system();
        assert!(!system.advance(Duration::from_secs(3600)));
        assert!(
            system.now().duration_since(jiff::Timestamp::now()).abs()
                < jiff::SignedDuration::from_secs(60)
        );

        let clock = Clock::adjustable();
        let shared = clock.clone();
        assert!(shared.advance(Duration::from_secs(7200)));
        let ahead = clock.now().duration_since(jiff::Timestamp::now());
        assert!(
            ahead >= jiff::SignedDuration::from_secs(7199)
                && ahead <= jiff::SignedDuration::from_secs(7260),
            "{ahead:?}"
        );
    }
}
