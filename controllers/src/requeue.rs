//! Turns consecutive reconcile failures of one object into jittered exponential requeue
//! delays (for `error_policy`), and forgets them once the object reconciles cleanly.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt as _};
use manager::Backoff;

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
        let attempt = {
            let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            let n = failures.entry(key(obj)).or_insert(0);
            *n = n.saturating_add(1);
            *n - 1
        };
        Action::requeue(self.backoff.delay(attempt))
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
}
