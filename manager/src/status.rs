//! Writes a resource's status atomically (kubernaut DD-PERF-001): refetch, mutate, one
//! `/status` write guarded by the fetched resourceVersion, retry on 409 Conflict.
//!
//! "One reconcile, one status write" keeps the API server's write count equal to the number of
//! real state changes, and the resourceVersion guard means a write never overwrites a change it
//! did not see.

use std::fmt::Debug;

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
        /// Write attempts, including the successful one.
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

/// Refetches `name`, applies `mutate` (which returns whether it changed anything), and writes
/// `/status` once with the fetched resourceVersion; on 409 Conflict it starts over, at most
/// `max_attempts` writes in total. `mutate` may run several times: it must derive the new status
/// from the object it is given, not from state captured before the call.
pub async fn update_status<K, F>(
    api: &Api<K>,
    name: &str,
    max_attempts: u32,
    mut mutate: F,
) -> Result<StatusUpdate<K>, StatusError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    F: FnMut(&mut K) -> bool,
{
    let kind = K::kind(&()).into_owned();
    let max_attempts = max_attempts.max(1);
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
