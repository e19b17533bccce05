//! Registers the Notification controller's metrics on a caller-supplied registry: delivery
//! attempts and retries by channel, delivery duration, and each channel's breaker state.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::breaker::BreakerState;
use crate::api::notificationrequest::DeliveryStatus;

/// Counter name; exported as `notification_delivery_attempts_total` (prometheus-client appends
/// `_total` itself and panics in debug builds when the name already has it).
pub const DELIVERY_ATTEMPTS: &str = "notification_delivery_attempts";
/// Histogram name (seconds).
pub const DELIVERY_DURATION: &str = "notification_delivery_duration_seconds";
/// Counter name; exported as `notification_delivery_retries_total`.
pub const DELIVERY_RETRIES: &str = "notification_delivery_retries";
/// Gauge name: 0 closed, 1 open, 2 half-open.
pub const CIRCUIT_BREAKER_STATE: &str = "notification_circuit_breaker_state";
/// Smallest bucket: 1 ms (console and file deliveries take less than that).
const DURATION_BUCKET_START: f64 = 0.001;
/// Each bucket doubles the previous one.
const DURATION_BUCKET_FACTOR: f64 = 2.0;
/// 1 ms × 2^14 ≈ 16 s covers the slowest webhook within its default 10 s timeout.
const DURATION_BUCKET_COUNT: u16 = 15;

/// Labels: `channel`, `status`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    /// Channel name.
    pub channel: String,
    /// `success`, `failed`, `timeout` or `invalid`.
    pub status: String,
}

/// Labels: `channel`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// Channel name.
    pub channel: String,
}

/// The controller's metrics; cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Attempts by channel and result.
    pub delivery_attempts: Family<AttemptLabels, Counter>,
    /// Delivery duration by channel.
    pub delivery_duration_seconds: Family<ChannelLabels, Histogram>,
    /// Attempts after the first, by channel.
    pub delivery_retries: Family<ChannelLabels, Counter>,
    /// Breaker state by channel.
    pub circuit_breaker_state: Family<ChannelLabels, Gauge>,
}

/// The label value (and audit wording) of a delivery result.
pub fn status_name(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Success => "success",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Timeout => "timeout",
        DeliveryStatus::Invalid => "invalid",
    }
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            delivery_attempts: Family::default(),
            delivery_duration_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(
                    DURATION_BUCKET_START,
                    DURATION_BUCKET_FACTOR,
                    DURATION_BUCKET_COUNT,
                ))
            }),
            delivery_retries: Family::default(),
            circuit_breaker_state: Family::default(),
        };
        registry.register(
            DELIVERY_ATTEMPTS,
            "Notification delivery attempts by channel and status",
            metrics.delivery_attempts.clone(),
        );
        registry.register(
            DELIVERY_DURATION,
            "Notification delivery duration by channel",
            metrics.delivery_duration_seconds.clone(),
        );
        registry.register(
            DELIVERY_RETRIES,
            "Notification delivery retries by channel",
            metrics.delivery_retries.clone(),
        );
        registry.register(
            CIRCUIT_BREAKER_STATE,
            "Notification channel circuit breaker state (0 closed, 1 open, 2 half-open)",
            metrics.circuit_breaker_state.clone(),
        );
        metrics
    }

    /// Records attempt number `attempt` on `channel`; `seconds` is `None` when the channel was
    /// not contacted (breaker open, interrupted delivery).
    pub fn attempt(
        &self,
        channel: &str,
        attempt: i32,
        status: DeliveryStatus,
        seconds: Option<f64>,
    ) {
        let labels = AttemptLabels {
            channel: channel.to_owned(),
            status: status_name(status).to_owned(),
        };
        self.delivery_attempts.get_or_create(&labels).inc();
        let channel = ChannelLabels {
            channel: channel.to_owned(),
        };
        if attempt > 1 {
            self.delivery_retries.get_or_create(&channel).inc();
        }
        if let Some(seconds) = seconds {
            self.delivery_duration_seconds
                .get_or_create(&channel)
                .observe(seconds);
        }
    }

    /// Sets the breaker gauge of `channel`.
    pub fn breaker(&self, channel: &str, state: BreakerState) {
        self.circuit_breaker_state
            .get_or_create(&ChannelLabels {
                channel: channel.to_owned(),
            })
            .set(state as i64);
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn registers_without_total_suffix_and_exports_every_family() {
        let mut registry = Registry::default();
        let m = Metrics::register(&mut registry);
        m.attempt("webhook", 1, DeliveryStatus::Failed, Some(0.01));
        m.attempt("webhook", 2, DeliveryStatus::Success, Some(0.02));
        m.attempt("webhook", 3, DeliveryStatus::Failed, None);
        m.breaker("webhook", BreakerState::HalfOpen);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "notification_delivery_attempts_total{channel=\"webhook\",status=\"failed\"} 2",
            "notification_delivery_attempts_total{channel=\"webhook\",status=\"success\"} 1",
            "notification_delivery_retries_total{channel=\"webhook\"} 2",
            "notification_delivery_duration_seconds_count{channel=\"webhook\"} 2",
            "notification_circuit_breaker_state{channel=\"webhook\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
