//! Turns consecutive reconcile failures of one object into jittered exponential requeue
//! delays (for `error_policy`), and forgets them once the object reconciles cleanly; and caps
//! requeues at an object's deadline, so a deadline is never overslept.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt as _};
use manager::Backoff;

use crate::api::Time;
use crate::clock::Clock;

/// Time left until `deadline` by `clock` (zero when past), `None` without a deadline.
pub fn time_left(deadline: Option<&Time>, clock: &Clock) -> Option<Duration> {
    let left = deadline?.0.duration_since(clock.now());
    Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
}

/// A requeue after `delay`, or at the deadline `left` away if that comes first: for a reconcile
/// that went well. A deadline that passed while it ran (its deadline check came before a status
/// write that took seconds, say) requeues at once, so that the next reconcile acts on it: the
/// normal delay would oversleep the deadline by up to that whole delay (an AIAnalysis whose
/// retry write was slowed past its deadline sat out a 10-minute retry backoff).
pub fn requeue_within(delay: Duration, left: Option<Duration>) -> Action {
    match left {
        Some(left) => Action::requeue(delay.min(left)),
        None => Action::requeue(delay),
    }
}

/// How soon a failed reconcile of an object whose deadline has passed is retried (unless its
/// error backoff is shorter). The deadline is overdue, so the grown backoff (minutes) would
/// oversleep it by that much; retrying at once would be a hot loop while the API server fails.
/// Once a second bounds both: at most about a second late per failed attempt.
pub const OVERDUE_RETRY: Duration = Duration::from_secs(1);

/// A failed reconcile's requeue after `delay`, or at the deadline `left` away if that comes
/// first. Past the deadline it is [`OVERDUE_RETRY`] at most: that reconcile failed before it
/// could act on the deadline, or acting on it failed (the API server answered 500, or restarted
/// under the write); either way the deadline action is due, and a 10-minute backoff would keep a
/// signal two seconds from its deadline Enriching for ten minutes (seen under the `all` fault
/// campaign).
fn requeue_after_error(delay: Duration, left: Option<Duration>) -> Action {
    match left {
        Some(left) if left.is_zero() => Action::requeue(delay.min(OVERDUE_RETRY)),
        Some(left) => Action::requeue(delay.min(left)),
        None => Action::requeue(delay),
    }
}

/// Failure counts per object (namespace, name), shared by a controller's reconciles.
#[derive(Debug)]
pub struct ErrorBackoff {
    backoff: Backoff,
    failures: Mutex<HashMap<(String, String), u32>>,
}

impl ErrorBackoff {
    /// Tracks failures with `backoff` as the delay schedule.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            failures: Mutex::default(),
        }
    }

    /// Records a failure of `obj` and returns the requeue for it: the first failure waits
    /// `base`, each further one `factor` times longer, up to `cap`, ± jitter.
    pub fn on_error<K: Resource>(&self, obj: &K) -> Action {
        self.on_error_within(obj, None)
    }

    /// [`ErrorBackoff::on_error`], but no later than `left` (the time left before the object's
    /// deadline): an object whose deadline passes while it backs off is reconciled, and timed
    /// out, at its deadline rather than at the end of a backoff of up to minutes.
    pub fn on_error_within<K: Resource>(&self, obj: &K, left: Option<Duration>) -> Action {
        let attempt = {
            let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            let n = failures.entry(key(obj)).or_insert(0);
            *n = n.saturating_add(1);
            *n - 1
        };
        requeue_after_error(self.backoff.delay(attempt), left)
    }

    /// Forgets the failures of `obj` (call after a successful reconcile).
    pub fn on_success<K: Resource>(&self, obj: &K) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key(obj));
    }

    /// Consecutive failures recorded for `obj`.
    pub fn failures<K: Resource>(&self, obj: &K) -> u32 {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key(obj))
            .copied()
            .unwrap_or(0)
    }
}

fn key<K: Resource>(obj: &K) -> (String, String) {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::WorkflowExecution;

    #[test]
    fn delays_grow_per_object_and_reset_on_success() {
        let errors = ErrorBackoff::new(Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(35),
            0.0,
        ));
        let a = WorkflowExecution::test("a");
        let b = WorkflowExecution::test("b");
        assert_eq!(
            errors.on_error(&a),
            Action::requeue(Duration::from_millis(10))
        );
        assert_eq!(
            errors.on_error(&a),
            Action::requeue(Duration::from_millis(20))
        );
        assert_eq!(
            errors.on_error(&a),
            Action::requeue(Duration::from_millis(35))
        );
        assert_eq!(
            errors.on_error(&b),
            Action::requeue(Duration::from_millis(10)),
            "counts are per object"
        );
        assert_eq!(errors.failures(&a), 3);
        errors.on_success(&a);
        assert_eq!(errors.failures(&a), 0);
        assert_eq!(
            errors.on_error(&a),
            Action::requeue(Duration::from_millis(10))
        );
        let other_ns = WorkflowExecution::test("a").with_namespace("other");
        assert_eq!(errors.failures(&other_ns), 0, "namespaces are distinct");
    }

    #[test]
    fn a_deadline_caps_the_backoff() {
        let errors = ErrorBackoff::new(Backoff::new(
            Duration::from_secs(30),
            2.0,
            Duration::from_secs(300),
            0.0,
        ));
        let a = WorkflowExecution::test("a");
        let soon = Some(Duration::from_millis(250));
        assert_eq!(
            errors.on_error_within(&a, soon),
            Action::requeue(Duration::from_millis(250)),
            "the deadline comes before the 30 s backoff"
        );
        assert_eq!(
            errors.on_error_within(&a, Some(Duration::from_secs(3600))),
            Action::requeue(Duration::from_secs(60)),
            "a far deadline leaves the backoff alone; the failure count still grew"
        );
        assert_eq!(
            errors.on_error_within(&a, Some(Duration::ZERO)),
            Action::requeue(OVERDUE_RETRY),
            "past the deadline the 120 s backoff would oversleep it, and at once would be a hot \
             loop: the overdue retry"
        );
        assert_eq!(
            errors.on_error_within(&a, None),
            Action::requeue(Duration::from_secs(240)),
            "the failure count still grew"
        );
        let quick = ErrorBackoff::new(Backoff::new(
            Duration::from_millis(100),
            2.0,
            Duration::from_secs(1),
            0.0,
        ));
        assert_eq!(
            quick.on_error_within(&a, Some(Duration::ZERO)),
            Action::requeue(Duration::from_millis(100)),
            "a backoff shorter than the overdue retry is kept"
        );
    }

    #[test]
    fn a_deadline_passed_during_a_good_reconcile_requeues_at_once() {
        let ten_minutes = Duration::from_secs(600);
        assert_eq!(
            requeue_within(ten_minutes, Some(Duration::ZERO)),
            Action::requeue(Duration::ZERO),
            "the next reconcile acts on the deadline now, not after the delay"
        );
        assert_eq!(
            requeue_within(ten_minutes, Some(Duration::from_secs(2))),
            Action::requeue(Duration::from_secs(2))
        );
        assert_eq!(
            requeue_within(ten_minutes, None),
            Action::requeue(ten_minutes)
        );
    }

    #[test]
    fn time_left_follows_the_clock() {
        let clock = Clock::adjustable();
        assert_eq!(time_left(None, &clock), None);
        let deadline = Time(
            clock
                .now()
                .checked_add(jiff::SignedDuration::from_secs(60))
                .unwrap(),
        );
        let left = time_left(Some(&deadline), &clock).unwrap();
        assert!(
            left <= Duration::from_secs(60) && left > Duration::from_secs(50),
            "{left:?}"
        );
        clock.advance(Duration::from_secs(120));
        assert_eq!(time_left(Some(&deadline), &clock), Some(Duration::ZERO));
    }
}
