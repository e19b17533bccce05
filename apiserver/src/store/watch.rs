//! Owns the start of a WATCH (current state or history replay, registered under the store lock) and
//! the watch consistency records the store keeps.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::catalog::ResourceInfo;
use crate::status::ApiError;
use crate::watchcheck::{WatchLedger, WatchViolation};

use super::{Event, ObjKey, Store, Stored, Target};

/// How a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFrom {
    /// Synthetic ADDED events for the current state, then changes (no resourceVersion, "0", or
    /// `sendInitialEvents=true`).
    Current,
    /// Changes after this resourceVersion.
    After(u64),
}

/// A watch registered under the store lock: what to send first, then the live channel.
pub struct WatchStart {
    pub info: Arc<ResourceInfo>,
    /// Current objects to send as ADDED (WatchFrom::Current), with their keys.
    pub initial: Vec<(ObjKey, Arc<Stored>)>,
    /// History events to replay (WatchFrom::After).
    pub replay: Vec<Arc<Event>>,
    /// Live events after `rv`.
    pub rx: broadcast::Receiver<Arc<Event>>,
    /// The resourceVersion the watch is at after `initial`/`replay`.
    pub rv: u64,
    /// Set when the requested resourceVersion is older than the history: send it as an ERROR event.
    pub expired: Option<ApiError>,
    /// The watch reports changes after this resourceVersion (the requested one, or `rv` for a
    /// watch that starts from the current state).
    pub since: u64,
    /// Where the watch records what it sends, for the consistency check.
    pub ledger: Arc<WatchLedger>,
}

impl Store {
    /// Registers a watch: under the lock, collects what to send first and subscribes to what follows.
    pub fn watch(&self, t: &Target<'_>, from: WatchFrom) -> Result<WatchStart, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        let rx = self.events.subscribe();
        let mut start = WatchStart {
            info: info.clone(),
            initial: Vec::new(),
            replay: Vec::new(),
            rx,
            rv: g.rv,
            expired: None,
            since: match from {
                WatchFrom::Current => g.rv,
                WatchFrom::After(rv) => rv,
            },
            ledger: self.ledger.clone(),
        };
        match from {
            WatchFrom::Current => {
                if let Some(m) = g.objects.get(info.store_key().as_str()) {
                    start.initial = m
                        .iter()
                        .filter(|(k, _)| {
                            !info.namespaced || t.namespace.is_empty() || k.0 == t.namespace
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                }
            }
            WatchFrom::After(rv) if rv < g.compacted => {
                start.expired = Some(ApiError::expired(format!(
                    "too old resource version: {rv} ({})",
                    g.compacted + 1
                )));
            }
            WatchFrom::After(rv) => {
                let key = info.store_key();
                start.replay = g
                    .history
                    .iter()
                    .filter(|e| e.rv > rv && *e.resource == *key)
                    .cloned()
                    .collect();
            }
        }
        Ok(start)
    }

    /// The watch connections' records and the fault that breaks them on purpose.
    pub fn watch_ledger(&self) -> &WatchLedger {
        &self.ledger
    }

    /// Every watch connection whose sent events differ from the committed events its filter
    /// matches (see `crate::watchcheck`); empty when all are consistent.
    pub fn watch_violations(&self) -> Vec<WatchViolation> {
        // Copied under the lock, compared outside it: writes do not wait for the check.
        let log = self.lock().commits.snapshot();
        self.ledger.violations(&log)
    }

    /// [`Store::watch_violations`], leaving the watches found inconsistent out of later checks.
    pub fn take_watch_violations(&self) -> Vec<WatchViolation> {
        let log = self.lock().commits.snapshot();
        self.ledger.take_violations(&log)
    }
}
