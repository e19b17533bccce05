//! The request log: what every request addressed and how it was answered, plus the bookkeeping
//! that lets a reader wait until the log has caught up with the store.
//!
//! A request is logged when its handler returns, which is after its write was committed and its
//! watch events were sent. So a test that has just seen a write's effect (through a GET or a
//! watch) could read the log a moment before that write's entry lands, and count one status
//! write too few. [`RequestLog::settled`] closes that gap: every request gets a sequence number
//! when it arrives, and `settled` waits until every request that arrived before the call has been
//! logged.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use crate::RequestRecord;

/// Requests kept in the request log; the oldest are forgotten beyond this, so a long benchmark or
/// soak test cannot grow memory without bound (about 200 bytes a record).
pub const REQUEST_LOG_CAP: usize = 100_000;

/// The longest [`RequestLog::settled`] waits for requests still being handled. Handlers answer
/// in microseconds; only an injected delay (`faults().delay`) holds one longer, and a reader
/// must not hang behind a test's deliberately slow request: past this, it gets the log as is.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// The log of one server (shared by all its connections).
#[derive(Default)]
pub struct RequestLog {
    inner: Mutex<Inner>,
    /// Woken whenever a request is logged.
    logged: Notify,
}

#[derive(Default)]
struct Inner {
    records: VecDeque<RequestRecord>,
    /// The next request's sequence number.
    next: u64,
    /// Sequence numbers of requests being handled.
    in_flight: BTreeSet<u64>,
}

/// A request being handled: its sequence number, handed back to [`RequestLog::finish`]. A
/// ticket dropped unfinished (the handler was cancelled with its connection, or panicked) takes
/// its request out of the in-flight set, so readers never wait for a request that will not be
/// logged.
#[must_use = "a begun request is logged by passing its ticket to RequestLog::finish"]
pub struct Ticket<'a> {
    log: &'a RequestLog,
    seq: u64,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let removed = self.log.lock().in_flight.remove(&self.seq);
        if removed {
            self.log.logged.notify_waiters();
        }
    }
}

impl RequestLog {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a request that has just arrived.
    pub fn begin(&self) -> Ticket<'_> {
        let mut inner = self.lock();
        let seq = inner.next;
        inner.next += 1;
        inner.in_flight.insert(seq);
        Ticket { log: self, seq }
    }

    /// How many requests have arrived and are not logged yet.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight.len()
    }

    /// Logs the request `ticket` stands for.
    pub fn finish(&self, ticket: Ticket<'_>, record: RequestRecord) {
        {
            let mut inner = self.lock();
            inner.in_flight.remove(&ticket.seq);
            if inner.records.len() >= REQUEST_LOG_CAP {
                inner.records.pop_front();
            }
            inner.records.push_back(record);
        }
        self.logged.notify_waiters();
    }

    /// The log now, oldest first, keeping the records `keep` accepts.
    pub fn snapshot(&self, keep: impl Fn(&RequestRecord) -> bool) -> Vec<RequestRecord> {
        // Copy under the lock, filter cheaply; callers encode after it.
        self.lock()
            .records
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect()
    }

    /// The log once every request that arrived before this call has been logged (at most
    /// [`SETTLE_LIMIT`] later), keeping the records `keep` accepts.
    ///
    /// `own` is the caller's ticket when the caller is itself a request being handled (the
    /// `/debug/requests` endpoint), which is not waited for.
    pub async fn settled(
        &self,
        own: Option<&Ticket<'_>>,
        keep: impl Fn(&RequestRecord) -> bool,
    ) -> Vec<RequestRecord> {
        self.settled_within(SETTLE_LIMIT, own, keep).await
    }

    async fn settled_within(
        &self,
        limit: Duration,
        own: Option<&Ticket<'_>>,
        keep: impl Fn(&RequestRecord) -> bool,
    ) -> Vec<RequestRecord> {
        let horizon = match own {
            Some(t) => t.seq,
            None => self.lock().next,
        };
        let wait = async {
            loop {
                // Registered before the check, so a request logged in between still wakes us.
                let logged = self.logged.notified();
                let pending = self
                    .lock()
                    .in_flight
                    .first()
                    .is_some_and(|&oldest| oldest < horizon);
                if !pending {
                    return;
                }
                logged.await;
            }
        };
        // Past the limit the log is returned as it is: see SETTLE_LIMIT.
        let _ = tokio::time::timeout(limit, wait).await;
        self.snapshot(keep)
    }

    /// Forgets every record (requests being handled are still logged when they finish).
    pub fn clear(&self) {
        self.lock().records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> RequestRecord {
        RequestRecord {
            method: "PUT".into(),
            path: format!("/api/v1/namespaces/default/configmaps/{name}"),
            verb: "update".into(),
            group: String::new(),
            version: "v1".into(),
            resource: "configmaps".into(),
            subresource: String::new(),
            namespace: "default".into(),
            name: name.into(),
            code: 200,
            user: String::new(),
        }
    }

    #[tokio::test]
    async fn settled_waits_for_requests_that_arrived_before_it() {
        let log = std::sync::Arc::new(RequestLog::default());
        let first = log.begin();
        let reader = tokio::spawn({
            let log = log.clone();
            async move { log.settled(None, |_| true).await }
        });
        // The reader cannot finish before `first` is logged: it is still in flight.
        tokio::task::yield_now().await;
        assert!(!reader.is_finished());
        log.finish(first, record("a"));
        let seen = reader.await.unwrap();
        assert_eq!(seen, vec![record("a")]);
    }

    #[tokio::test]
    async fn settled_does_not_wait_for_later_requests_or_its_own() {
        let log = RequestLog::default();
        let own = log.begin();
        let earlier = log.begin();
        log.finish(earlier, record("done"));
        // `own` arrived first and is still in flight, but it is the caller.
        let seen = log.settled(Some(&own), |_| true).await;
        assert_eq!(seen, vec![record("done")]);
        // A request arriving after the call is not waited for either.
        let _later = log.begin();
        let seen = tokio::time::timeout(Duration::from_secs(5), log.settled(Some(&own), |_| true))
            .await
            .expect("settled must not wait for requests that arrived after it");
        assert_eq!(seen.len(), 1);
        log.finish(own, record("own"));
    }

    #[tokio::test]
    async fn settled_gives_up_after_the_limit() {
        let log = RequestLog::default();
        let _stuck = log.begin();
        let seen = log
            .settled_within(Duration::from_millis(20), None, |_| true)
            .await;
        assert!(seen.is_empty());
    }

    #[tokio::test]
    async fn a_request_dropped_unfinished_is_not_waited_for() {
        let log = RequestLog::default();
        let cancelled = log.begin();
        drop(cancelled);
        let seen = tokio::time::timeout(Duration::from_secs(5), log.settled(None, |_| true))
            .await
            .expect("a dropped ticket must leave the in-flight set");
        assert!(seen.is_empty());
    }

    #[test]
    fn the_log_is_capped_and_clearable() {
        let log = RequestLog::default();
        for i in 0..REQUEST_LOG_CAP + 3 {
            let t = log.begin();
            log.finish(t, record(&i.to_string()));
        }
        let all = log.snapshot(|_| true);
        assert_eq!(all.len(), REQUEST_LOG_CAP);
        assert_eq!(all[0].name, "3");
        assert_eq!(log.snapshot(|r| r.name == "4").len(), 1);
        log.clear();
        assert!(log.snapshot(|_| true).is_empty());
    }
}
