//! Registers the AIAnalysis controller's metrics on a caller-supplied registry: Rego
//! evaluations, approval decisions, the confidence of selected workflows and failures.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, linear_buckets};
use prometheus_client::registry::Registry;

/// Exported as `aianalysis_rego_evaluations_total` (prometheus-client appends `_total`).
pub const REGO_EVALUATIONS: &str = "aianalysis_rego_evaluations";
/// Exported as `aianalysis_approval_decisions_total`.
pub const APPROVAL_DECISIONS: &str = "aianalysis_approval_decisions";
/// Histogram of selected workflows' confidence.
pub const CONFIDENCE_SCORE_DISTRIBUTION: &str = "aianalysis_confidence_score_distribution";
/// Exported as `aianalysis_failures_total`.
pub const FAILURES: &str = "aianalysis_failures";
/// Confidence buckets: 0.1 to 1.0 in steps of 0.1, fine enough to see the policy's 0.5 and
/// 0.8 thresholds.
const CONFIDENCE_BUCKET_START: f64 = 0.1;
const CONFIDENCE_BUCKET_WIDTH: f64 = 0.1;
const CONFIDENCE_BUCKET_COUNT: u16 = 10;

/// Labels: `outcome` (`success` or `error`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `success` or `error`.
    pub outcome: String,
}

/// Labels: `decision`, `environment`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `Approved`, `ManualReviewRequired` or `Denied`.
    pub decision: String,
    /// The signal's environment.
    pub environment: String,
}

/// Labels: `reason`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The failure reason (as in `status.reason`).
    pub reason: String,
}

/// The controller's metrics. Cheap to clone (handles share the registered series).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Rego evaluations by outcome.
    pub rego_evaluations: Family<OutcomeLabels, Counter>,
    /// Approval decisions by decision and environment.
    pub approval_decisions: Family<DecisionLabels, Counter>,
    /// Confidence of every selected workflow.
    pub confidence_score_distribution: Histogram,
    /// Failed analyses by reason.
    pub failures: Family<ReasonLabels, Counter>,
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            rego_evaluations: Family::default(),
            approval_decisions: Family::default(),
            confidence_score_distribution: Histogram::new(linear_buckets(
                CONFIDENCE_BUCKET_START,
                CONFIDENCE_BUCKET_WIDTH,
                CONFIDENCE_BUCKET_COUNT,
            )),
            failures: Family::default(),
        };
        registry.register(
            REGO_EVALUATIONS,
            "AIAnalysis approval policy evaluations by outcome",
            metrics.rego_evaluations.clone(),
        );
        registry.register(
            APPROVAL_DECISIONS,
            "AIAnalysis approval decisions by decision and environment",
            metrics.approval_decisions.clone(),
        );
        registry.register(
            CONFIDENCE_SCORE_DISTRIBUTION,
            "Confidence of the workflows HolmesGPT-API selected",
            metrics.confidence_score_distribution.clone(),
        );
        registry.register(
            FAILURES,
            "Failed AIAnalyses by reason",
            metrics.failures.clone(),
        );
        metrics
    }

    /// Records one policy evaluation.
    pub fn rego_evaluation(&self, success: bool) {
        let outcome = if success { "success" } else { "error" };
        self.rego_evaluations
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Records one approval decision.
    pub fn decision(&self, decision: &str, environment: &str) {
        self.approval_decisions
            .get_or_create(&DecisionLabels {
                decision: decision.to_owned(),
                environment: environment.to_owned(),
            })
            .inc();
    }

    /// Records one failure.
    pub fn failure(&self, reason: &str) {
        self.failures
            .get_or_create(&ReasonLabels {
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
    fn registers_without_total_suffix_and_exports_every_family() {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        metrics.rego_evaluation(true);
        metrics.rego_evaluation(false);
        metrics.decision("Approved", "Production");
        metrics.failure("Timeout");
        metrics.confidence_score_distribution.observe(0.9);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "aianalysis_rego_evaluations_total{outcome=\"success\"} 1",
            "aianalysis_rego_evaluations_total{outcome=\"error\"} 1",
            "aianalysis_approval_decisions_total{decision=\"Approved\",environment=\"Production\"} 1",
            "aianalysis_failures_total{reason=\"Timeout\"} 1",
            "aianalysis_confidence_score_distribution_count 1",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}
