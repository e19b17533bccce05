//! Registers the RemediationOrchestrator's metrics on a caller-supplied registry: no global
//! registry, so every test process reads its own exact values.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Histogram name (seconds).
pub const RECONCILE_DURATION: &str = "remediationorchestrator_reconcile_duration_seconds";
/// Counter name; exported with `_total` (prometheus-client appends it, and panics in debug
/// builds if the name already ends with it).
pub const PHASE_TRANSITIONS: &str = "remediationorchestrator_phase_transitions";
/// Counter name (exported with `_total`).
pub const CHILD_CRD_CREATIONS: &str = "remediationorchestrator_child_crd_creations";
/// Counter name (exported with `_total`).
pub const TIMEOUTS: &str = "remediationorchestrator_timeouts";
/// Counter name (exported with `_total`).
pub const BLOCKED: &str = "remediationorchestrator_blocked";
/// The `phase` label of [`TIMEOUTS`] for the global (whole-remediation) timeout.
pub const GLOBAL_TIMEOUT_PHASE: &str = "Global";

/// Smallest histogram bucket: 1 ms, since reconciles against a local API server take
/// milliseconds.
const DURATION_BUCKET_START: f64 = 0.001;
/// Each bucket doubles the previous one.
const DURATION_BUCKET_FACTOR: f64 = 2.0;
/// 1 ms × 2^15 ≈ 33 s covers the slowest realistic reconcile.
const DURATION_BUCKET_COUNT: u16 = 16;

/// Labels of the reconcile duration: the RR's namespace and its phase when the reconcile began.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// Namespace of the RemediationRequest.
    pub namespace: String,
    /// Phase at the start of the reconcile.
    pub phase: String,
}

/// Labels of a phase transition.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    /// Phase left.
    pub from_phase: String,
    /// Phase entered.
    pub to_phase: String,
    /// Namespace of the RemediationRequest.
    pub namespace: String,
}

/// Labels of a child creation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChildLabels {
    /// Kind of the child (`SignalProcessing`, `AIAnalysis`, `WorkflowExecution`,
    /// `NotificationRequest`).
    pub child_type: String,
}

/// Labels of a timeout.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TimeoutLabels {
    /// The phase that timed out, or [`GLOBAL_TIMEOUT_PHASE`].
    pub phase: String,
}

/// Labels of a block.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BlockedLabels {
    /// The block reason (`ConsecutiveFailures`, `DuplicateInProgress`).
    pub reason: String,
}

/// The controller's metrics. Cheap to clone (handles share the registered series).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Reconcile duration by namespace and phase.
    pub reconcile_duration_seconds: Family<ReconcileLabels, Histogram>,
    /// Phase transitions written.
    pub phase_transitions: Family<TransitionLabels, Counter>,
    /// Children created (not counting ones that already existed).
    pub child_crd_creations: Family<ChildLabels, Counter>,
    /// Timeouts by phase.
    pub timeouts: Family<TimeoutLabels, Counter>,
    /// Requests blocked, by reason.
    pub blocked: Family<BlockedLabels, Counter>,
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            reconcile_duration_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(
                    DURATION_BUCKET_START,
                    DURATION_BUCKET_FACTOR,
                    DURATION_BUCKET_COUNT,
                ))
            }),
            phase_transitions: Family::default(),
            child_crd_creations: Family::default(),
            timeouts: Family::default(),
            blocked: Family::default(),
        };
        registry.register(
            RECONCILE_DURATION,
            "RemediationOrchestrator reconcile duration by namespace and phase",
            metrics.reconcile_duration_seconds.clone(),
        );
        registry.register(
            PHASE_TRANSITIONS,
            "RemediationRequest phase transitions",
            metrics.phase_transitions.clone(),
        );
        registry.register(
            CHILD_CRD_CREATIONS,
            "Child CRDs created by the RemediationOrchestrator, by kind",
            metrics.child_crd_creations.clone(),
        );
        registry.register(
            TIMEOUTS,
            "RemediationRequests timed out, by phase (Global for the whole-remediation timeout)",
            metrics.timeouts.clone(),
        );
        registry.register(
            BLOCKED,
            "RemediationRequests blocked, by reason",
            metrics.blocked.clone(),
        );
        metrics
    }

    /// Records one reconcile of an RR in `namespace` that began in `phase`.
    pub fn observe_reconcile(&self, namespace: &str, phase: &str, seconds: f64) {
        self.reconcile_duration_seconds
            .get_or_create(&ReconcileLabels {
                namespace: namespace.to_owned(),
                phase: phase.to_owned(),
            })
            .observe(seconds);
    }

    /// Records a written phase transition.
    pub fn transition(&self, namespace: &str, from: &str, to: &str) {
        self.phase_transitions
            .get_or_create(&TransitionLabels {
                from_phase: from.to_owned(),
                to_phase: to.to_owned(),
                namespace: namespace.to_owned(),
            })
            .inc();
    }

    /// Records a child created.
    pub fn child_created(&self, child_type: &str) {
        self.child_crd_creations
            .get_or_create(&ChildLabels {
                child_type: child_type.to_owned(),
            })
            .inc();
    }

    /// Records a timeout of `phase`.
    pub fn timed_out(&self, phase: &str) {
        self.timeouts
            .get_or_create(&TimeoutLabels {
                phase: phase.to_owned(),
            })
            .inc();
    }

    /// Records a request blocked for `reason`.
    pub fn blocked(&self, reason: &str) {
        self.blocked
            .get_or_create(&BlockedLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn exports_every_family_with_its_labels() {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        metrics.observe_reconcile("ns", "Pending", 0.002);
        metrics.transition("ns", "Pending", "Processing");
        metrics.transition("ns", "Pending", "Processing");
        metrics.child_created("SignalProcessing");
        metrics.timed_out(GLOBAL_TIMEOUT_PHASE);
        metrics.blocked("DuplicateInProgress");
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "remediationorchestrator_reconcile_duration_seconds_count{namespace=\"ns\",phase=\"Pending\"} 1",
            "remediationorchestrator_phase_transitions_total{from_phase=\"Pending\",to_phase=\"Processing\",namespace=\"ns\"} 2",
            "remediationorchestrator_child_crd_creations_total{child_type=\"SignalProcessing\"} 1",
            "remediationorchestrator_timeouts_total{phase=\"Global\"} 1",
            "remediationorchestrator_blocked_total{reason=\"DuplicateInProgress\"} 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn two_registries_are_isolated() {
        let (mut a, mut b) = (Registry::default(), Registry::default());
        let (ma, mb) = (Metrics::register(&mut a), Metrics::register(&mut b));
        ma.child_created("AIAnalysis");
        let count = |m: &Metrics| {
            m.child_crd_creations
                .get_or_create(&ChildLabels {
                    child_type: "AIAnalysis".to_owned(),
                })
                .get()
        };
        assert_eq!((count(&ma), count(&mb)), (1, 0));
    }
}
