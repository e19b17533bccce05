//! Owns the buffered per-process audit store: callers `record` without waiting, a background
//! task batches events to DataStorage, retries transient failures with jittered backoff, and
//! counts (and logs) every event it loses on a caller-supplied prometheus-client `Registry`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use crate::client::{Accepted, Client};
use crate::event::{AuditEvent, MAX_BATCH_EVENTS, ValidationError};

/// Default bound of the in-memory buffer: a few seconds of a busy controller's events while
/// DataStorage is briefly away, at a few megabytes of memory.
pub const DEFAULT_BUFFER_CAPACITY: usize = 10_000;
/// Default events per request: DataStorage's batch limit.
pub const DEFAULT_BATCH_SIZE: usize = MAX_BATCH_EVENTS;
/// Default time between background flushes: audit trails may lag by about a second.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Default bound on retrying at close: long enough to ride out a DataStorage restart, short
/// enough not to stall the end of a test process noticeably when it is gone for good.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Name under which the drop counter is registered. prometheus-client appends `_total` when it
/// encodes a counter (and panics in debug builds if the name already ends in it).
pub const DROPPED_METRIC: &str = "audit_events_dropped";
/// Name under which the sent counter is registered (exported as `audit_events_sent_total`).
pub const SENT_METRIC: &str = "audit_events_sent";

/// How failed sends are retried: `initial` × `multiplier`^n, capped at `max`, each wait varied
/// by ±`jitter` (a fraction) so that many processes do not retry in lockstep.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Growth factor of each further wait.
    pub multiplier: f64,
    /// Longest wait.
    pub max_backoff: Duration,
    /// Relative jitter, 0.1 = ±10%.
    pub jitter: f64,
    /// Attempts per batch, the first included, before the batch is dropped and counted.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 1 s, ×2, capped at 30 s, ±10%; six attempts span about 31 s of waiting, longer than a
    /// DataStorage restart, short enough that `close()` finishes when it is gone for good.
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(30),
            jitter: 0.1,
            max_attempts: 6,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 = first retry), jitter included.
    pub fn backoff(&self, retry: u32) -> Duration {
        let base = self.initial_backoff.as_secs_f64()
            * self
                .multiplier
                .max(1.0)
                .powi(retry.min(i32::MAX as u32) as i32);
        let capped = base.min(self.max_backoff.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        // random::<f64>() is in [0, 1): map it to [-jitter, +jitter).
        let factor = 1.0 + jitter * (2.0 * rand::random::<f64>() - 1.0);
        Duration::from_secs_f64((capped * factor).max(0.0))
    }
}

/// Configuration of an [`AuditStore`].
#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    /// Events held in memory; `record` drops (and counts) beyond it.
    pub buffer_capacity: usize,
    /// Events per request, at most [`MAX_BATCH_EVENTS`].
    pub batch_size: usize,
    /// Time between background flushes.
    pub flush_interval: Duration,
    /// Retry schedule for failed sends.
    pub retry: RetryPolicy,
    /// How long `close()` (or dropping the last handle) may keep retrying before it gives up
    /// on what is left, counting it as lost: a process must be able to end when DataStorage is
    /// gone, without waiting for the whole retry schedule.
    pub close_timeout: Duration,
    /// `(actor_type, actor_id)` stamped on events recorded without an actor, so that a
    /// process's events name it (e.g. `("service", "test-workflowexecution@integration.test-p3")`).
    pub default_actor: Option<(String, String)>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            buffer_capacity: DEFAULT_BUFFER_CAPACITY,
            batch_size: DEFAULT_BATCH_SIZE,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            retry: RetryPolicy::default(),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            default_actor: None,
        }
    }
}

/// Why an event was lost, the `reason` label of `audit_events_dropped_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are the snake_case variant names
pub enum DropReason {
    /// The buffer was full when `record` was called.
    buffer_full,
    /// The event failed schema validation.
    invalid,
    /// DataStorage refused the batch with a non-retryable 4xx.
    rejected,
    /// Every retry of the batch failed.
    retries_exhausted,
    /// The store was closing and its `close_timeout` passed before the batch got through.
    close_timeout,
    /// `record` was called after `close`.
    closed,
    /// The store is [detached](AuditStore::detached): there is no DataStorage to send to.
    detached,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabels {
    reason: DropReason,
}

/// Why `record` did not queue an event. The event has been counted as dropped.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The event is not valid; DataStorage would reject it (and its batch).
    #[error("audit event dropped: it is invalid")]
    Invalid(#[source] ValidationError),
    /// The buffer is full: DataStorage is slow or unreachable.
    #[error(
        "audit event dropped: the buffer of {capacity} events is full (is DataStorage reachable?)"
    )]
    BufferFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// The store has been closed.
    #[error("audit event dropped: the audit store is closed")]
    Closed,
    /// The store was made without DataStorage ([`AuditStore::detached`]).
    #[error(
        "audit event dropped: this audit store has no DataStorage to send to (it was made detached, e.g. for a test suite declared without DataStorage); give the process a DataStorage to keep audit events"
    )]
    Detached,
}

/// Counts since the store started, as returned by `flush` and `close`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreReport {
    /// Events accepted by DataStorage (stored or queued in its dead-letter queue).
    pub sent: u64,
    /// Events lost, for any reason.
    pub dropped: u64,
}

#[derive(Clone)]
struct Metrics {
    dropped: Family<DropLabels, Counter>,
    sent: Counter,
}

impl Metrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            dropped: Family::default(),
            sent: Counter::default(),
        };
        registry.register(
            DROPPED_METRIC,
            "Audit events lost before reaching DataStorage, by reason",
            metrics.dropped.clone(),
        );
        registry.register(
            SENT_METRIC,
            "Audit events accepted by DataStorage",
            metrics.sent.clone(),
        );
        metrics
    }

    fn drop_events(&self, reason: DropReason, count: u64) {
        let before = self
            .dropped
            .get_or_create(&DropLabels { reason })
            .inc_by(count);
        let after = before + count;
        // Log the first loss of each kind and then at each power of two: a full buffer can
        // drop thousands of events a second and one line per event would flood the log.
        if before == 0 || after.ilog2() > before.ilog2() {
            tracing::warn!(reason = ?reason, dropped = count, total_for_reason = after, "audit events dropped");
        }
    }

    fn report(&self) -> StoreReport {
        let reasons = [
            DropReason::buffer_full,
            DropReason::invalid,
            DropReason::rejected,
            DropReason::retries_exhausted,
            DropReason::close_timeout,
            DropReason::closed,
            DropReason::detached,
        ];
        let dropped = reasons
            .into_iter()
            .map(|reason| {
                self.dropped
                    .get(&DropLabels { reason })
                    .map_or(0, |c| c.get())
            })
            .sum();
        StoreReport {
            sent: self.sent.get(),
            dropped,
        }
    }
}

enum Control {
    Flush(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

struct Inner {
    events: mpsc::Sender<AuditEvent>,
    control: mpsc::UnboundedSender<Control>,
    metrics: Metrics,
    capacity: usize,
    closed: AtomicBool,
    /// Made by [`AuditStore::detached`]: no worker, every event is dropped.
    detached: bool,
    default_actor: Option<(String, String)>,
}

/// The buffered audit store. Cheap to clone; all clones feed one background task, which ends
/// on `close()` or when the last clone is dropped (after sending what it holds).
#[derive(Clone)]
pub struct AuditStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditStore")
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

impl AuditStore {
    /// Registers the store's counters on `registry` and spawns its background task on the
    /// current tokio runtime (so it must be called from within one).
    pub fn start(client: Client, mut config: StoreConfig, registry: &mut Registry) -> Self {
        config.batch_size = config.batch_size.clamp(1, MAX_BATCH_EVENTS);
        config.buffer_capacity = config.buffer_capacity.max(1);
        config.retry.max_attempts = config.retry.max_attempts.max(1);
        if config.flush_interval.is_zero() {
            // tokio's interval panics on zero; a zero interval would also spin.
            config.flush_interval = Duration::from_millis(1);
        }
        let metrics = Metrics::register(registry);
        let (events_tx, events_rx) = mpsc::channel(config.buffer_capacity);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let capacity = config.buffer_capacity;
        let default_actor = config.default_actor.clone();
        let worker = Worker {
            client,
            config,
            metrics: metrics.clone(),
            pending: Vec::new(),
            deadline: None,
        };
        tokio::spawn(worker.run(events_rx, control_rx));
        Self {
            inner: Arc::new(Inner {
                events: events_tx,
                control: control_tx,
                metrics,
                capacity,
                closed: AtomicBool::new(false),
                detached: false,
                default_actor,
            }),
        }
    }

    /// A store with no DataStorage behind it, for processes that have none (e.g. a test suite of
    /// an operator that does not audit): its counters are registered on `registry` as usual, every
    /// `record` drops the event, counts it under reason `detached` and returns
    /// [`RecordError::Detached`], and `flush`/`close` return at once. No task is spawned, so it
    /// needs no runtime.
    pub fn detached(config: StoreConfig, registry: &mut Registry) -> Self {
        let metrics = Metrics::register(registry);
        // Receivers dropped at once: nothing is ever queued, and `flush` sees the worker gone.
        let (events_tx, _) = mpsc::channel(1);
        let (control_tx, _) = mpsc::unbounded_channel();
        Self {
            inner: Arc::new(Inner {
                events: events_tx,
                control: control_tx,
                metrics,
                capacity: config.buffer_capacity.max(1),
                closed: AtomicBool::new(false),
                detached: true,
                default_actor: config.default_actor,
            }),
        }
    }

    /// Whether this store was made [detached](AuditStore::detached) (sends nowhere).
    pub fn is_detached(&self) -> bool {
        self.inner.detached
    }

    /// Queues `event` without waiting. On a full buffer, an invalid event or a closed store the
    /// event is dropped, counted in `audit_events_dropped_total` and the reason returned.
    /// An event without an actor gets the configured `default_actor`.
    pub fn record(&self, mut event: AuditEvent) -> Result<(), RecordError> {
        if self.inner.detached {
            self.inner.metrics.drop_events(DropReason::detached, 1);
            return Err(RecordError::Detached);
        }
        if self.inner.closed.load(Ordering::Acquire) {
            self.inner.metrics.drop_events(DropReason::closed, 1);
            return Err(RecordError::Closed);
        }
        if let Some((actor_type, actor_id)) = &self.inner.default_actor
            && event.actor_type.is_none()
            && event.actor_id.is_none()
        {
            event.actor_type = Some(actor_type.clone());
            event.actor_id = Some(actor_id.clone());
        }
        let validated = if event.event_id.is_some() {
            Err(ValidationError {
                field: "event_id".to_owned(),
                reason: "is assigned by DataStorage; leave it out".to_owned(),
            })
        } else {
            event.validate()
        };
        if let Err(e) = validated {
            self.inner.metrics.drop_events(DropReason::invalid, 1);
            return Err(RecordError::Invalid(e));
        }
        match self.inner.events.try_send(event) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.inner.metrics.drop_events(DropReason::buffer_full, 1);
                Err(RecordError::BufferFull {
                    capacity: self.inner.capacity,
                })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.inner.metrics.drop_events(DropReason::closed, 1);
                Err(RecordError::Closed)
            }
        }
    }

    /// Sends everything recorded before this call (retrying as configured) and returns the
    /// running totals. Events that cannot be sent are dropped and counted, never kept forever.
    pub async fn flush(&self) -> StoreReport {
        let (tx, rx) = oneshot::channel();
        if self.inner.control.send(Control::Flush(tx)).is_ok() {
            // An error means the task has ended, which happens only after it sent what it held.
            let _ = rx.await;
        }
        self.inner.metrics.report()
    }

    /// Flushes, stops the background task and reports how many events were sent and lost over
    /// the store's life. Later `record` calls on any clone are dropped with [`RecordError::Closed`].
    pub async fn close(&self) -> StoreReport {
        self.inner.closed.store(true, Ordering::Release);
        let (tx, rx) = oneshot::channel();
        if self.inner.control.send(Control::Close(tx)).is_ok() {
            let _ = rx.await;
        }
        self.inner.metrics.report()
    }

    /// Running totals without flushing.
    pub fn report(&self) -> StoreReport {
        self.inner.metrics.report()
    }
}

struct Worker {
    client: Client,
    config: StoreConfig,
    metrics: Metrics,
    pending: Vec<AuditEvent>,
    /// Set when closing: retries stop at this instant.
    deadline: Option<tokio::time::Instant>,
}

impl Worker {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<AuditEvent>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut ticker = tokio::time::interval(self.config.flush_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.reset(); // the first tick of an interval is immediate; wait a full period instead
        loop {
            tokio::select! {
                // Control first, so that close() is not starved by a steady stream of events.
                biased;
                message = control.recv() => match message {
                    Some(Control::Flush(reply)) => {
                        drain_ready(&mut events, &mut self.pending);
                        self.send_pending().await;
                        let _ = reply.send(());
                    }
                    Some(Control::Close(reply)) => {
                        self.deadline = Some(tokio::time::Instant::now() + self.config.close_timeout);
                        events.close();
                        while let Some(event) = events.recv().await {
                            self.pending.push(event);
                        }
                        self.send_pending().await;
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        // Every handle is gone: send what is left and stop.
                        self.deadline = Some(tokio::time::Instant::now() + self.config.close_timeout);
                        events.close();
                        while let Some(event) = events.recv().await {
                            self.pending.push(event);
                        }
                        self.send_pending().await;
                        return;
                    }
                },
                event = events.recv() => match event {
                    Some(event) => {
                        self.pending.push(event);
                        if self.pending.len() >= self.config.batch_size {
                            self.send_pending().await;
                        }
                    }
                    // Unreachable while `control` is open (both senders live in Inner), but if
                    // it happens there is nothing more to receive.
                    None => {
                        self.send_pending().await;
                        return;
                    }
                },
                _ = ticker.tick() => self.send_pending().await,
            }
        }
    }

    async fn send_pending(&mut self) {
        while !self.pending.is_empty() {
            let take = self.pending.len().min(self.config.batch_size);
            let batch: Vec<AuditEvent> = self.pending.drain(..take).collect();
            self.send_batch(batch).await;
        }
    }

    async fn send_batch(&self, batch: Vec<AuditEvent>) {
        let count = batch.len() as u64;
        // One key for every attempt: when an attempt fails after DataStorage stored the batch
        // (it restarted, or the answer timed out), the retry is recognised and stores nothing
        // twice.
        let key = uuid::Uuid::new_v4().to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.client.post_batch_idempotent(&batch, &key).await {
                Ok(accepted) => {
                    if let Accepted::Queued(_) = accepted {
                        tracing::debug!(
                            count,
                            "audit batch queued in DataStorage's dead-letter queue"
                        );
                    }
                    self.metrics.sent.inc_by(count);
                    return;
                }
                Err(e)
                    if e.is_retryable()
                        && self.deadline.is_some_and(|d| {
                            tokio::time::Instant::now() + self.config.retry.backoff(attempt - 1) > d
                        }) =>
                {
                    tracing::error!(error = %e, attempts = attempt, count, "audit batch dropped: the store is closing and its close timeout has passed");
                    self.metrics.drop_events(DropReason::close_timeout, count);
                    return;
                }
                Err(e) if e.is_retryable() && attempt < self.config.retry.max_attempts => {
                    let wait = self.config.retry.backoff(attempt - 1);
                    tracing::debug!(error = %e, attempt, ?wait, "audit batch send failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    let reason = if e.is_retryable() {
                        DropReason::retries_exhausted
                    } else {
                        DropReason::rejected
                    };
                    tracing::error!(error = %e, attempts = attempt, count, "audit batch dropped");
                    self.metrics.drop_events(reason, count);
                    return;
                }
            }
        }
    }
}

fn drain_ready(events: &mut mpsc::Receiver<AuditEvent>, pending: &mut Vec<AuditEvent>) {
    while let Ok(event) = events.try_recv() {
        pending.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_detached_store_drops_and_counts_every_event_and_flushes_at_once() {
        let mut registry = Registry::default();
        let store = AuditStore::detached(StoreConfig::default(), &mut registry);
        assert!(store.is_detached());
        let event = AuditEvent::new(
            "widget.created",
            "widget",
            "create",
            crate::EventOutcome::Success,
            "c-1",
        );
        let err = store.record(event).unwrap_err();
        assert!(matches!(err, RecordError::Detached), "{err}");
        assert!(err.to_string().contains("no DataStorage"), "{err}");
        // Returns at once: there is no worker to wait for.
        let report = tokio::time::timeout(Duration::from_secs(5), store.flush())
            .await
            .expect("flush of a detached store returns at once");
        assert_eq!(
            report,
            StoreReport {
                sent: 0,
                dropped: 1
            }
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("audit_events_dropped_total{reason=\"detached\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_within_bounds() {
        let policy = RetryPolicy::default();
        for (retry, nominal) in [
            (0u32, 1.0f64),
            (1, 2.0),
            (2, 4.0),
            (4, 16.0),
            (5, 30.0),
            (40, 30.0),
        ] {
            for _ in 0..50 {
                let got = policy.backoff(retry).as_secs_f64();
                assert!(
                    got >= nominal * 0.9 - 1e-9 && got <= nominal * 1.1 + 1e-9,
                    "retry {retry}: {got}"
                );
            }
        }
    }

    #[test]
    fn backoff_without_jitter_is_exact() {
        let policy = RetryPolicy {
            jitter: 0.0,
            initial_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff(0), Duration::from_millis(10));
        assert_eq!(policy.backoff(3), Duration::from_millis(80));
    }
}
