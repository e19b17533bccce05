//! Registers the SignalProcessing controller's metrics on a caller-supplied registry: no global
//! registry, so every test process reads exact values of its own.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::SignalProcessingPhase;

/// Counter name; exported as `signalprocessing_processing_total` (prometheus-client appends
/// `_total` itself and panics in debug builds if the name already ends with it).
pub const PROCESSING_TOTAL: &str = "signalprocessing_processing";
/// Histogram name (seconds).
pub const PROCESSING_DURATION: &str = "signalprocessing_processing_duration_seconds";
/// Counter name; exported as `signalprocessing_enrichment_errors_total`.
pub const ENRICHMENT_ERRORS_TOTAL: &str = "signalprocessing_enrichment_errors";
/// Smallest histogram bucket: 1 ms, since a phase's work against a local API server takes
/// milliseconds.
const DURATION_BUCKET_START: f64 = 0.001;
/// Each bucket doubles the previous one.
const DURATION_BUCKET_FACTOR: f64 = 2.0;
/// 1 ms × 2^15 ≈ 33 s covers the slowest realistic phase.
const DURATION_BUCKET_COUNT: u16 = 16;

/// How a phase's reconcile ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are the snake_case variant names
pub enum ProcessingResult {
    /// The phase finished and the next one began.
    success,
    /// The phase finished with partial data (target or namespace missing) or a policy fallback.
    degraded,
    /// The object moved to Failed (timeout).
    failure,
    /// A transient error; the phase is retried with backoff.
    error,
}

/// What an enrichment lookup failed on (the `error_type` label).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum EnrichmentErrorType {
    /// The API server answered 5xx.
    server_error,
    /// The API server throttled the request (429).
    throttled,
    /// The API server refused the request (401/403).
    forbidden,
    /// Another 4xx answer.
    client_error,
    /// No answer (connection, timeout, decoding).
    transport,
}

/// Labels of `processing_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProcessingLabels {
    /// The phase the work was done in.
    pub phase: String,
    /// How it ended.
    pub result: ProcessingResult,
}

/// Labels of `processing_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    /// The phase the work was done in.
    pub phase: String,
}

/// Labels of `enrichment_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// What failed.
    pub error_type: EnrichmentErrorType,
}

/// The controller's metrics. Cheap to clone (handles share the registered series).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Phase reconciles by phase and result.
    pub processing_total: Family<ProcessingLabels, Counter>,
    /// Time a phase's reconcile took, by phase.
    pub processing_duration_seconds: Family<PhaseLabels, Histogram>,
    /// Enrichment lookups that failed (not counting NotFound, which is tolerated).
    pub enrichment_errors_total: Family<ErrorLabels, Counter>,
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            processing_total: Family::default(),
            processing_duration_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(
                    DURATION_BUCKET_START,
                    DURATION_BUCKET_FACTOR,
                    DURATION_BUCKET_COUNT,
                ))
            }),
            enrichment_errors_total: Family::default(),
        };
        registry.register(
            PROCESSING_TOTAL,
            "SignalProcessing phase reconciles by phase and result",
            metrics.processing_total.clone(),
        );
        registry.register(
            PROCESSING_DURATION,
            "SignalProcessing phase reconcile duration by phase",
            metrics.processing_duration_seconds.clone(),
        );
        registry.register(
            ENRICHMENT_ERRORS_TOTAL,
            "SignalProcessing enrichment lookups that failed, by error type",
            metrics.enrichment_errors_total.clone(),
        );
        metrics
    }

    /// Records one phase reconcile.
    pub fn observe(&self, phase: SignalProcessingPhase, result: ProcessingResult, seconds: f64) {
        let phase = phase.name().to_owned();
        self.processing_total
            .get_or_create(&ProcessingLabels {
                phase: phase.clone(),
                result,
            })
            .inc();
        self.processing_duration_seconds
            .get_or_create(&PhaseLabels { phase })
            .observe(seconds);
    }

    /// Records a failed enrichment lookup.
    pub fn enrichment_error(&self, error_type: EnrichmentErrorType) {
        self.enrichment_errors_total
            .get_or_create(&ErrorLabels { error_type })
            .inc();
    }

    /// Phase reconciles so far with `result` (for tests and debugging).
    pub fn processed(&self, phase: SignalProcessingPhase, result: ProcessingResult) -> u64 {
        self.processing_total
            .get_or_create(&ProcessingLabels {
                phase: phase.name().to_owned(),
                result,
            })
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
        metrics.observe(
            SignalProcessingPhase::Enriching,
            ProcessingResult::success,
            0.002,
        );
        metrics.observe(
            SignalProcessingPhase::Enriching,
            ProcessingResult::error,
            0.5,
        );
        metrics.enrichment_error(EnrichmentErrorType::server_error);
        assert_eq!(
            metrics.processed(SignalProcessingPhase::Enriching, ProcessingResult::success),
            1
        );
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for want in [
            "signalprocessing_processing_total{phase=\"Enriching\",result=\"success\"} 1",
            "signalprocessing_processing_duration_seconds_count{phase=\"Enriching\"} 2",
            "signalprocessing_enrichment_errors_total{error_type=\"server_error\"} 1",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
    }
}
