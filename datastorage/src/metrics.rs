//! Owns DataStorage's metrics, registered on a `Registry` held in the service state (never a
//! global one, so several instances in one test process do not mix their figures).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabels {
    destination: &'static str,
}

/// Where accepted events were written.
#[derive(Clone, Copy, Debug)]
pub enum Destination {
    /// Stored in PostgreSQL.
    Postgres,
    /// Queued in the Redis dead-letter queue.
    DeadLetterQueue,
}

/// The service's metric handles. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    written: Family<DestinationLabels, Counter>,
    rejected: Counter,
    replayed: Counter,
    parked: Counter,
    unreadable: Counter,
    dlq_depth: Gauge,
}

/// Request latency buckets: 0.5 ms doubling to about 4 s, the span between a cached health
/// check and a large batch on a loaded machine.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Metrics {
    /// Creates the metrics and registers them (names without `_total`: the encoder adds it).
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency_histogram),
            written: Family::default(),
            rejected: Counter::default(),
            replayed: Counter::default(),
            parked: Counter::default(),
            unreadable: Counter::default(),
            dlq_depth: Gauge::default(),
        };
        registry.register(
            "datastorage_http_requests",
            "HTTP requests by method, route and status",
            metrics.requests.clone(),
        );
        registry.register(
            "datastorage_http_request_duration_seconds",
            "HTTP request latency by route",
            metrics.durations.clone(),
        );
        registry.register(
            "datastorage_audit_events_written",
            "Accepted audit events by destination (postgres, dlq)",
            metrics.written.clone(),
        );
        registry.register(
            "datastorage_audit_events_rejected",
            "Audit event requests rejected as invalid",
            metrics.rejected.clone(),
        );
        registry.register(
            "datastorage_dlq_replayed_events",
            "Events replayed from the dead-letter queue into PostgreSQL",
            metrics.replayed.clone(),
        );
        registry.register(
            "datastorage_dlq_parked_events",
            "Dead-letter events PostgreSQL refused for their data, parked in the poison stream",
            metrics.parked.clone(),
        );
        registry.register(
            "datastorage_dlq_unreadable_entries",
            "Dead-letter entries that were not readable events, set aside in the poison stream",
            metrics.unreadable.clone(),
        );
        registry.register(
            "datastorage_dlq_entries",
            "Entries (requests) waiting in the dead-letter queue",
            metrics.dlq_depth.clone(),
        );
        metrics
    }

    pub(crate) fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    pub(crate) fn written(&self, destination: Destination, count: u64) {
        let destination = match destination {
            Destination::Postgres => "postgres",
            Destination::DeadLetterQueue => "dlq",
        };
        self.written
            .get_or_create(&DestinationLabels { destination })
            .inc_by(count);
    }

    pub(crate) fn rejected(&self) {
        self.rejected.inc();
    }

    pub(crate) fn dlq_replayed(&self, count: u64) {
        self.replayed.inc_by(count);
    }

    pub(crate) fn dlq_parked(&self, count: u64) {
        self.parked.inc_by(count);
    }

    pub(crate) fn dlq_unreadable_entry(&self) {
        self.unreadable.inc();
    }

    pub(crate) fn set_dlq_depth(&self, depth: u64) {
        self.dlq_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
}
