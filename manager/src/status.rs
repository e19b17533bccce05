//! Writes a resource's status atomically (kubernaut DD-PERF-001): refetch, mutate, one
//! `/status` write guarded by the fetched resourceVersion, retry on 409 Conflict.
//!
//! "One reconcile, one status write" keeps the API server's write count equal to the number of
//! real state changes, and the resourceVersion guard means a write never overwrites a change it
//! did not see.
//!
//! A write that records a side effect already done (a message delivered, a job started) is
//! worth more than a requeue: lost, the next reconcile cannot tell whether the effect happened.
//! [`update_status_with`] with [`WritePolicy::transient_for`] keeps retrying transient failures
//! (429, 5xx, connection errors: an API server that is throttling or restarting) until a
//! deadline, where [`update_status`] gives up at the first one and leaves it to the requeue.
//! (kube's client already retries 429, 503 and 504 by itself, up to 15 times; 500s and lost
//! connections reach the caller.)

use std::fmt::Debug;
use std::time::Duration;

use kube::Resource;
use kube::api::{Api, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Default number of write attempts before giving up on repeated conflicts. Conflicts come from
/// a concurrent writer; more than a handful in a row means something else is writing in a loop.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// HTTP status the API server answers when the resourceVersion no longer matches.
const HTTP_CONFLICT: u16 = 409;
/// HTTP status for an object that does not exist.
const HTTP_NOT_FOUND: u16 = 404;

/// What [`update_status`] did.
#[derive(Debug, Clone)]
pub enum StatusUpdate<K> {
    /// The mutation reported no change; nothing was written. Holds the fetched object.
    Unchanged(K),
    /// The status was written. Holds the object the API server returned and the number of
    /// write attempts it took (1 without conflicts).
    Written {
        /// The object after the write.
        object: K,
        /// Write attempts, including the successful one (transient failures retried by
        /// [`update_status_with`] are not counted).
        attempts: u32,
    },
}

impl<K> StatusUpdate<K> {
    /// The latest object (written or fetched).
    pub fn object(&self) -> &K {
        match self {
            Self::Unchanged(object) | Self::Written { object, .. } => object,
        }
    }

    /// Consumes the outcome, returning the latest object.
    pub fn into_object(self) -> K {
        match self {
            Self::Unchanged(object) | Self::Written { object, .. } => object,
        }
    }

    /// Whether a write happened.
    pub fn written(&self) -> bool {
        matches!(self, Self::Written { .. })
    }
}

/// Why a status update failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The object does not exist (deleted since the reconcile started).
    #[error("failed to update status of {kind} {name}: it no longer exists")]
    NotFound {
        /// Kind of the object.
        kind: String,
        /// Name of the object.
        name: String,
    },
    /// Every attempt hit a conflict.
    #[error(
        "failed to update status of {kind} {name}: {attempts} attempts all conflicted (409); another writer is updating it continuously"
    )]
    Conflict {
        /// Kind of the object.
        kind: String,
        /// Name of the object.
        name: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Reading the object failed.
    #[error("failed to read {kind} {name} before updating its status")]
    Get {
        /// Kind of the object.
        kind: String,
        /// Name of the object.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Writing the status failed for a reason other than a conflict.
    #[error(
        "failed to write the status of {kind} {name}; is the status subresource enabled on its CRD?"
    )]
    Write {
        /// Kind of the object.
        kind: String,
        /// Name of the object.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
}

impl StatusError {
    /// Whether the object was gone (callers usually stop reconciling it).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

fn api_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Whether `err` may pass if the same request is sent again: throttling (429), a server-side
/// failure (5xx) or no answer at all (connection refused or reset, a timeout). A 4xx other than
/// 429 is the request's own fault and never is.
pub fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// How long a write recording a side effect retries transient failures by default: long enough
/// to ride out an API server restart or a burst of throttling, short enough that a reconcile
/// does not hold a worker for long.
pub const DEFAULT_RECORD_RETRY_FOR: Duration = Duration::from_secs(10);

/// First wait before retrying a transient failure; doubles up to [`TRANSIENT_BACKOFF_CAP`].
const TRANSIENT_BACKOFF_START: Duration = Duration::from_millis(50);
/// Longest wait between retries of a transient failure: kube-apiserver's `Retry-After` for
/// throttling is 1 s.
const TRANSIENT_BACKOFF_CAP: Duration = Duration::from_secs(1);

/// How hard [`update_status_with`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WritePolicy {
    /// Writes before giving up on repeated 409 Conflicts (at least one write is made).
    pub max_attempts: u32,
    /// How long to keep retrying transient failures of the read or the write (see
    /// [`is_transient`]); `None` returns the first one.
    pub transient_for: Option<Duration>,
}

impl WritePolicy {
    /// Gives up at the first transient failure, after `max_attempts` conflicts.
    pub fn conflicts(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            transient_for: None,
        }
    }

    /// `max_attempts` conflicts, and transient failures retried for
    /// [`DEFAULT_RECORD_RETRY_FOR`]: for a reconcile's write of what it has done.
    pub fn recording(max_attempts: u32) -> Self {
        Self::conflicts(max_attempts).retrying_transient(DEFAULT_RECORD_RETRY_FOR)
    }

    /// Also retries transient failures for up to `deadline`: for a write recording a side
    /// effect already done.
    pub fn retrying_transient(mut self, deadline: Duration) -> Self {
        self.transient_for = Some(deadline);
        self
    }
}

/// The retry clock for transient failures of one [`update_status_with`] call.
struct Transient {
    until: Option<tokio::time::Instant>,
    wait: Duration,
    retries: u32,
}

impl Transient {
    fn new(policy: &WritePolicy) -> Self {
        Self {
            until: policy
                .transient_for
                .map(|d| tokio::time::Instant::now() + d),
            wait: TRANSIENT_BACKOFF_START,
            retries: 0,
        }
    }

    /// Waits before the next try if `err` is transient and the deadline allows one more;
    /// false when the caller must give up with `err`.
    async fn wait(&mut self, err: &kube::Error, kind: &str, name: &str) -> bool {
        let Some(until) = self.until else {
            return false;
        };
        let now = tokio::time::Instant::now();
        if !is_transient(err) || now + self.wait > until {
            return false;
        }
        self.retries += 1;
        tracing::info!(%kind, name, retry = self.retries, wait = ?self.wait, error = %err, "status write hit a transient error; retrying");
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(TRANSIENT_BACKOFF_CAP);
        true
    }
}

/// Refetches `name`, applies `mutate` (which returns whether it changed anything), and writes
/// `/status` once with the fetched resourceVersion; on 409 Conflict it starts over, at most
/// `max_attempts` writes in total. `mutate` may run several times: it must derive the new status
/// from the object it is given, not from state captured before the call.
pub async fn update_status<K, F>(
    api: &Api<K>,
    name: &str,
    max_attempts: u32,
    mutate: F,
) -> Result<StatusUpdate<K>, StatusError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    F: FnMut(&mut K) -> bool,
{
    update_status_with(api, name, WritePolicy::conflicts(max_attempts), mutate).await
}

/// [`update_status`] with a [`WritePolicy`]: with `transient_for` set, a transient failure of
/// the read or the write (429, 5xx, no connection) is retried with backoff until that deadline
/// instead of being returned.
pub async fn update_status_with<K, F>(
    api: &Api<K>,
    name: &str,
    policy: WritePolicy,
    mut mutate: F,
) -> Result<StatusUpdate<K>, StatusError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    F: FnMut(&mut K) -> bool,
{
    let kind = K::kind(&()).into_owned();
    let max_attempts = policy.max_attempts.max(1);
    let mut transient = Transient::new(&policy);
    let mut attempts = 0;
    loop {
        let mut object = match api.get(name).await {
            Ok(object) => object,
            Err(e) if api_code(&e) == Some(HTTP_NOT_FOUND) => {
                return Err(StatusError::NotFound {
                    kind,
                    name: name.to_owned(),
                });
            }
            Err(e) if transient.wait(&e, &kind, name).await => continue,
            Err(source) => {
                return Err(StatusError::Get {
                    kind,
                    name: name.to_owned(),
                    source,
                });
            }
        };
        if !mutate(&mut object) {
            return Ok(StatusUpdate::Unchanged(object));
        }
        attempts += 1;
        // `object` still carries the resourceVersion it was fetched with, so the server rejects
        // this write with 409 if anything changed in between.
        match api
            .replace_status(name, &PostParams::default(), &object)
            .await
        {
            Ok(object) => return Ok(StatusUpdate::Written { object, attempts }),
            Err(e) if api_code(&e) == Some(HTTP_CONFLICT) => {
                tracing::debug!(%kind, name, attempts, "status write conflicted; refetching");
                if attempts >= max_attempts {
                    return Err(StatusError::Conflict {
                        kind,
                        name: name.to_owned(),
                        attempts,
                    });
                }
            }
            Err(e) if api_code(&e) == Some(HTTP_NOT_FOUND) => {
                return Err(StatusError::NotFound {
                    kind,
                    name: name.to_owned(),
                });
            }
            // Transient retries do not count as conflict attempts: the write never landed.
            Err(e) if transient.wait(&e, &kind, name).await => attempts -= 1,
            Err(source) => {
                return Err(StatusError::Write {
                    kind,
                    name: name.to_owned(),
                    source,
                });
            }
        }
    }
}
