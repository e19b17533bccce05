//! Checks that every watch connection sent exactly the committed events its filter matches: no
//! gap, no duplicate, in resourceVersion order.
//!
//! The store appends every committed event to a bounded log (under its lock, in commit order);
//! each watch connection records the resourceVersions of the events it sent and how far through
//! the write history it has got. [`WatchLedger::violations`] replays the log through each
//! watch's filter and compares. The filter here is written independently of the one in
//! `watch.rs` (which also decides the event type), so a bug in the sending path shows as a
//! difference rather than being reproduced by the check.
//!
//! Cost: one `Arc` clone per commit, one `u64` per event sent, and a short uncontended lock per
//! event on the watch's own record; the comparison runs only when asked.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::selector::Selectors;
use crate::store::Event;

/// Committed events the check keeps. The same as the default watch history
/// ([`crate::DEFAULT_WATCH_HISTORY`]), so with the default configuration the check keeps no
/// object version alive that the history does not; a watch whose window reaches further back is
/// checked over the part still kept.
pub const CHECKED_EVENTS: usize = 10_000;

/// Finished watch connections whose records are kept for the check; the oldest are forgotten
/// beyond this (a watch client reconnects every few minutes, so a test process has a handful).
const FINISHED_WATCHES_KEPT: usize = 1_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain bookkeeping: a panic elsewhere cannot leave it inconsistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The committed events, oldest first (kept in the store's state, appended under its lock).
#[derive(Default)]
pub(crate) struct CommitLog {
    events: VecDeque<Arc<Event>>,
    /// The resourceVersion of the newest event no longer kept (0: none forgotten).
    forgotten: u64,
}

impl CommitLog {
    pub(crate) fn push(&mut self, event: &Arc<Event>) {
        if self.events.len() >= CHECKED_EVENTS
            && let Some(old) = self.events.pop_front()
        {
            self.forgotten = old.rv;
        }
        self.events.push_back(event.clone());
    }

    /// Forgets the events up to `rv`, when the store's watch history compacts them: the log then
    /// holds no object the history has let go (it would otherwise keep up to `CHECKED_EVENTS`
    /// whole objects alive, whatever their size). Watches are checked from there on.
    pub(crate) fn forget_through(&mut self, rv: u64) {
        while self.events.front().is_some_and(|e| e.rv <= rv) {
            if let Some(old) = self.events.pop_front() {
                self.forgotten = old.rv;
            }
        }
    }

    /// A copy to compare against outside the store lock (an `Arc` clone per event).
    pub(crate) fn snapshot(&self) -> CommitSnapshot {
        CommitSnapshot {
            events: self.events.iter().cloned().collect(),
            forgotten: self.forgotten,
            last: self.events.back().map_or(self.forgotten, |e| e.rv),
        }
    }
}

/// The commit log at one moment.
pub(crate) struct CommitSnapshot {
    events: Vec<Arc<Event>>,
    forgotten: u64,
    /// The newest resourceVersion in it: watches are compared up to here at most.
    last: u64,
}

/// What one watch connection asked for and what it sent.
pub(crate) struct WatchRecord {
    id: u64,
    /// The store key of the watched resource (`group/plural`).
    resource: String,
    /// "" for every namespace.
    namespace: String,
    selectors: Selectors,
    progress: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    /// The watch reports changes after this resourceVersion.
    since: u64,
    /// Every committed event up to this resourceVersion has been sent or filtered out.
    through: u64,
    /// The resourceVersions of the object events sent, in sending order.
    sent: Vec<u64>,
    finished: bool,
    /// A violation of this watch was taken by [`WatchLedger::take_violations`]: not reported again.
    reported: bool,
}

impl WatchRecord {
    /// The watch sent the event committed at `rv`.
    pub(crate) fn sent(&self, rv: u64) {
        let mut p = lock(&self.progress);
        p.sent.push(rv);
        p.through = p.through.max(rv);
    }

    /// Every event up to `rv` has been sent or filtered out.
    pub(crate) fn through(&self, rv: u64) {
        let mut p = lock(&self.progress);
        p.through = p.through.max(rv);
    }

    /// The connection ended.
    pub(crate) fn finish(&self) {
        lock(&self.progress).finished = true;
    }

    /// Whether this watch must report `event`: the resource and namespace match and the object
    /// matches the selectors before or after the change (a selector watch also sees objects
    /// enter and leave its selection).
    fn wants(&self, event: &Event) -> bool {
        *event.resource == *self.resource
            && (self.namespace.is_empty() || event.key.0 == self.namespace)
            && (self.selectors.matches(event.obj.value())
                || event
                    .prev
                    .as_ref()
                    .is_some_and(|p| self.selectors.matches(p.value())))
    }
}

/// Every watch connection of one server, the commit log's companion, and a fault for testing
/// the check itself.
#[derive(Default)]
pub struct WatchLedger {
    watches: Mutex<Vec<Arc<WatchRecord>>>,
    next_id: AtomicU64,
    /// Live events the watches are still to drop (see [`WatchLedger::drop_next_events`]).
    to_drop: AtomicUsize,
    /// Cancelled by [`WatchLedger::cut`]: ends every watch open at that moment.
    cut: Mutex<CancellationToken>,
}

impl WatchLedger {
    /// Registers a watch connection of `resource` (its store key) in `namespace` ("" for all)
    /// that reports changes after `since`.
    pub(crate) fn register(
        &self,
        resource: String,
        namespace: &str,
        selectors: &Selectors,
        since: u64,
    ) -> Arc<WatchRecord> {
        let record = Arc::new(WatchRecord {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            resource,
            namespace: namespace.to_owned(),
            selectors: selectors.clone(),
            progress: Mutex::new(Progress {
                since,
                through: since,
                ..Progress::default()
            }),
        });
        let mut watches = lock(&self.watches);
        let finished = watches
            .iter()
            .filter(|w| lock(&w.progress).finished)
            .count();
        if finished >= FINISHED_WATCHES_KEPT
            && let Some(i) = watches.iter().position(|w| lock(&w.progress).finished)
        {
            watches.remove(i);
        }
        watches.push(record.clone());
        record
    }

    /// A deliberately broken server, to prove the check catches what it is for: the next
    /// `events` live events that some watch would send are silently skipped instead (the
    /// watch still moves past them, as a server that loses an event would).
    pub fn drop_next_events(&self, events: usize) {
        self.to_drop.store(events, Ordering::SeqCst);
    }

    /// Ends every watch connection open now, as a server restart or a network cut would: each
    /// client resumes from the last resourceVersion it saw (kube-runtime's watcher does).
    pub fn cut(&self) {
        let old = std::mem::take(&mut *lock(&self.cut));
        old.cancel();
    }

    /// The token that ends a watch registered now when the watches are cut.
    pub(crate) fn cut_token(&self) -> CancellationToken {
        lock(&self.cut).clone()
    }

    /// Whether the watch must drop the event it is about to send (consumes one).
    pub(crate) fn take_drop(&self) -> bool {
        self.to_drop
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Compares what every watch sent with the committed events its filter matches, over the
    /// part of the history each has got through; empty when every watch is consistent.
    pub(crate) fn violations(&self, log: &CommitSnapshot) -> Vec<WatchViolation> {
        self.check(log, false)
    }

    /// [`WatchLedger::violations`], marking the watches found inconsistent as reported so that
    /// later checks leave them out (a test that broke the server on purpose takes what it
    /// caused).
    pub(crate) fn take_violations(&self, log: &CommitSnapshot) -> Vec<WatchViolation> {
        self.check(log, true)
    }

    fn check(&self, log: &CommitSnapshot, take: bool) -> Vec<WatchViolation> {
        let watches: Vec<Arc<WatchRecord>> = lock(&self.watches).clone();
        let mut out = Vec::new();
        for w in watches {
            let (since, through, sent) = {
                let p = lock(&w.progress);
                if p.reported {
                    continue;
                }
                (p.since, p.through, p.sent.clone())
            };
            // Only the part of the window the snapshot holds can be compared: not what the log
            // has forgotten, nor what the watch got through after the snapshot was taken.
            let from = since.max(log.forgotten);
            let to = through.min(log.last);
            let expected: Vec<u64> = log
                .events
                .iter()
                .filter(|e| e.rv > from && e.rv <= to && w.wants(e))
                .map(|e| e.rv)
                .collect();
            let got: Vec<u64> = sent
                .into_iter()
                .filter(|rv| *rv > from && *rv <= to)
                .collect();
            if let Some(problem) = compare(&expected, &got) {
                if take {
                    lock(&w.progress).reported = true;
                }
                out.push(WatchViolation {
                    watch: w.id,
                    resource: w.resource.clone(),
                    namespace: w.namespace.clone(),
                    since,
                    through,
                    problem,
                });
            }
        }
        out
    }
}

/// The first difference between the events a watch should have sent and those it sent.
fn compare(expected: &[u64], got: &[u64]) -> Option<Problem> {
    if let Some(i) = got.windows(2).position(|w| w[1] <= w[0]) {
        let (before, after) = (got[i], got[i + 1]);
        return Some(if before == after {
            Problem::Duplicate { rv: after }
        } else {
            Problem::OutOfOrder { before, after }
        });
    }
    for (i, want) in expected.iter().enumerate() {
        match got.get(i) {
            Some(g) if g == want => {}
            Some(g) if g > want => return Some(Problem::Missing { rv: *want }),
            Some(g) => return Some(Problem::Unexpected { rv: *g }),
            None => return Some(Problem::Missing { rv: *want }),
        }
    }
    got.get(expected.len())
        .map(|rv| Problem::Unexpected { rv: *rv })
}

/// How a watch's events differ from the write history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A committed event the watch's filter matches was never sent: a lost event.
    Missing {
        /// Its resourceVersion.
        rv: u64,
    },
    /// The same event was sent twice.
    Duplicate {
        /// Its resourceVersion.
        rv: u64,
    },
    /// An event was sent after a later one.
    OutOfOrder {
        /// The resourceVersion sent first.
        before: u64,
        /// The smaller resourceVersion sent after it.
        after: u64,
    },
    /// An event was sent that the watch's filter does not match (or that was never committed).
    Unexpected {
        /// Its resourceVersion.
        rv: u64,
    },
}

/// One watch connection whose events differ from the write history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchViolation {
    /// The connection's number on this server (1 for the first watch).
    pub watch: u64,
    /// The watched resource (`group/plural`, `/plural` for the core group).
    pub resource: String,
    /// The watched namespace ("" for every namespace).
    pub namespace: String,
    /// The watch reported changes after this resourceVersion.
    pub since: u64,
    /// It had got through the history up to this resourceVersion.
    pub through: u64,
    /// The first difference.
    pub problem: Problem,
}

impl fmt::Display for WatchViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "every namespace"
        } else {
            &self.namespace
        };
        write!(
            f,
            "watch #{} of {} in {ns} (changes after resourceVersion {}, through {}): ",
            self.watch, self.resource, self.since, self.through
        )?;
        match &self.problem {
            Problem::Missing { rv } => {
                write!(f, "the event at resourceVersion {rv} was never sent")
            }
            Problem::Duplicate { rv } => {
                write!(f, "the event at resourceVersion {rv} was sent twice")
            }
            Problem::OutOfOrder { before, after } => write!(
                f,
                "the event at resourceVersion {after} was sent after the one at {before}"
            ),
            Problem::Unexpected { rv } => write!(
                f,
                "the event at resourceVersion {rv} was sent but does not match the watch"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_sequences_are_consistent() {
        assert_eq!(compare(&[2, 5, 9], &[2, 5, 9]), None);
        assert_eq!(compare(&[], &[]), None);
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        assert_eq!(
            compare(&[2, 5, 9], &[2, 9]),
            Some(Problem::Missing { rv: 5 })
        );
        assert_eq!(compare(&[2, 5], &[2]), Some(Problem::Missing { rv: 5 }));
        assert_eq!(
            compare(&[2, 5], &[2, 5, 5]),
            Some(Problem::Duplicate { rv: 5 })
        );
        assert_eq!(
            compare(&[2, 5], &[5, 2]),
            Some(Problem::OutOfOrder {
                before: 5,
                after: 2
            })
        );
        assert_eq!(
            compare(&[2, 5], &[2, 3, 5]),
            Some(Problem::Unexpected { rv: 3 })
        );
        assert_eq!(compare(&[2], &[2, 7]), Some(Problem::Unexpected { rv: 7 }));
    }
}
