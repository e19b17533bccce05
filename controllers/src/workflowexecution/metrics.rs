//! Registers the WorkflowExecution controller's metrics on a caller-supplied registry (the
//! seed's `NewMetricsWithRegistry`): no global registry, so every test process reads its own.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Counter name; prometheus-client exports it as `workflowexecution_reconciler_total` (it
/// appends `_total` itself and panics in debug builds if the name already ends with it).
pub const RECONCILER_TOTAL: &str = "workflowexecution_reconciler";
/// Histogram name (seconds).
pub const RECONCILER_DURATION: &str = "workflowexecution_reconciler_duration_seconds";
/// Smallest histogram bucket: 1 ms, since reconciles against a local API server take
/// milliseconds.
const DURATION_BUCKET_START: f64 = 0.001;
/// Each bucket doubles the previous one.
const DURATION_BUCKET_FACTOR: f64 = 2.0;
/// 1 ms × 2^15 ≈ 33 s covers the slowest realistic reconcile.
const DURATION_BUCKET_COUNT: u16 = 16;

/// Result of one reconcile.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are the snake_case variant names
pub enum Outcome {
    /// The reconcile finished without error.
    success,
    /// The reconcile returned an error (requeued with backoff).
    error,
}

/// Labels: `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `success` or `error`.
    pub outcome: Outcome,
}

/// The controller's metrics. Cheap to clone (handles share the registered series).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Reconciles by outcome.
    pub reconciler_total: Family<OutcomeLabels, Counter>,
    /// Reconcile duration by outcome.
    pub reconciler_duration_seconds: Family<OutcomeLabels, Histogram>,
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            reconciler_total: Family::default(),
            reconciler_duration_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(
                    DURATION_BUCKET_START,
                    DURATION_BUCKET_FACTOR,
                    DURATION_BUCKET_COUNT,
                ))
            }),
        };
        registry.register(
            RECONCILER_TOTAL,
            "WorkflowExecution reconciles by outcome",
            metrics.reconciler_total.clone(),
        );
        registry.register(
            RECONCILER_DURATION,
            "WorkflowExecution reconcile duration by outcome",
            metrics.reconciler_duration_seconds.clone(),
        );
        metrics
    }

    /// Records one reconcile.
    pub fn observe(&self, outcome: Outcome, seconds: f64) {
        let labels = OutcomeLabels { outcome };
        self.reconciler_total.get_or_create(&labels).inc();
        self.reconciler_duration_seconds
            .get_or_create(&labels)
            .observe(seconds);
    }

    /// Reconciles so far with `outcome` (for tests and debugging).
    pub fn reconciles(&self, outcome: Outcome) -> u64 {
        self.reconciler_total
            .get_or_create(&OutcomeLabels { outcome })
            .get()
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn registers_without_total_suffix_and_exports_it() {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        metrics.observe(Outcome::success, 0.002);
        metrics.observe(Outcome::error, 0.5);
        metrics.observe(Outcome::success, 0.004);
        assert_eq!(metrics.reconciles(Outcome::success), 2);
        assert_eq!(metrics.reconciles(Outcome::error), 1);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("workflowexecution_reconciler_total{outcome=\"success\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "workflowexecution_reconciler_duration_seconds_count{outcome=\"error\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn two_registries_are_isolated() {
        let (mut a, mut b) = (Registry::default(), Registry::default());
        let (ma, mb) = (Metrics::register(&mut a), Metrics::register(&mut b));
        ma.observe(Outcome::success, 0.001);
        assert_eq!(ma.reconciles(Outcome::success), 1);
        assert_eq!(mb.reconciles(Outcome::success), 0);
    }
}
