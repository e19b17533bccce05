//! Owns the vocabulary of store operations: which objects a request addresses, the options of writes,
//! deletes and lists, and the answers a write or delete returns, plus the store's size limits.

use std::sync::Arc;

use bytes::Bytes;

use crate::admission::webhook::Pass;
use crate::auth::{AuthzSnapshot, UserInfo};
use crate::meta;

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// The object itself.
    Main,
    /// `/status`: `.status` changes, and the metadata `registry::status_reset` leaves to the
    /// request.
    Status,
    /// `pods/ephemeralcontainers`: a write of the whole Pod of which only
    /// `spec.ephemeralContainers` is kept (the Pod strategy's `prepare_for_update`), kube's
    /// `podEphemeralContainersStrategy`. Otherwise handled as a main-resource write.
    EphemeralContainers,
    /// `pods/resize`: a write of the whole Pod of which only the containers' `resources` and
    /// `resizePolicy` and the pod-level `spec.resources` are kept (kube's `podResizeStrategy`),
    /// validated by `ValidatePodResize`. Otherwise handled as a main-resource write.
    Resize,
    /// `certificatesigningrequests/approval`: written as `/status` is (only `.status` comes from
    /// the body), then the CSR strategy keeps only `status.conditions` (`csrApprovalStrategy`).
    Approval,
    /// `namespaces/finalize`: a write of the whole Namespace in which `spec.finalizers` may
    /// change (the main resource keeps the stored ones) and `status` stays as stored, kube's
    /// `namespaceFinalizeStrategy`. Otherwise handled as a main-resource write.
    Finalize,
    /// `scale`: the write `Store::update_scale` makes of a Scale (kube's `ScaleREST`): only the
    /// desired replicas and resourceVersion change, admission sees Scales, and managedFields
    /// record the writer under `scale`. Otherwise handled as a main-resource write.
    Scale,
}

impl Sub {
    /// The subresource name managedFields entries record ("" for the object itself).
    pub fn managed_name(self) -> &'static str {
        match self {
            Sub::Main => "",
            Sub::Status => "status",
            Sub::EphemeralContainers => "ephemeralcontainers",
            Sub::Resize => "resize",
            Sub::Approval => "approval",
            Sub::Finalize => "finalize",
            Sub::Scale => "scale",
        }
    }
}

/// `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// What the request body's strict decode found that the decode stage cannot see in the decoded
/// value: its duplicate fields (`strict::parse` noted a repeated key), and for a YAML body the
/// YAML decoder's error about them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyStrict {
    /// Strict errors in the order the decoder met them (`duplicate field "metadata.name"`).
    pub errors: Vec<String>,
    /// True when `errors` already lists the unknown fields too, interleaved as met (a built-in
    /// JSON body walked against its type); false when the decode stage's unknown fields (a
    /// built-in's, or a custom resource's pruned ones) follow them.
    pub complete: bool,
}

/// How a write maintains `metadata.managedFields`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Fields {
    /// Not recorded (the server's own writes, e.g. bootstrap objects).
    #[default]
    Untracked,
    /// An ordinary write (operation Update) by this field manager.
    Update(String),
    /// Server-side apply already computed them: keep what the object carries.
    Applied,
}

/// Options common to writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub dry_run: bool,
    pub field_validation: FieldValidation,
    pub fields: Fields,
    /// Who asked for the write: the authenticated (or impersonated) user, kube's
    /// `request.UserFrom(ctx)`, which strategies read (a CertificateSigningRequest records its
    /// requester) and validating admission evaluates policies for. None for the server's own
    /// writes (bootstrap objects, controllers), which admission does not see.
    pub user: Option<Arc<UserInfo>>,
    /// The user's authorizer answers, for validating admission's `authorizer` variable.
    pub authorizer: Option<AuthzSnapshot>,
    /// The apiVersion the request addressed when the written resource is stored as another's:
    /// `events.k8s.io/v1` for a write through the events.k8s.io view of core Events (kube's
    /// `RequestInfo` group and version, which Event validation reads). None: the resource's own.
    pub request_version: Option<String>,
    /// The webhook passes of a client's write (`admission::webhook::run`); None: no admission
    /// webhooks are called (the server's own writes, or no configuration stored).
    pub webhooks: Option<Arc<Pass>>,
    /// The body's strict decoding findings when it repeated a key (None: it did not, or the
    /// write has no client body).
    pub body_strict: Option<Arc<BodyStrict>>,
}

impl WriteOpts {
    /// A new object's uid: pinned across webhook passes.
    pub(crate) fn new_uid(&self) -> String {
        self.webhooks
            .as_ref()
            .map_or_else(meta::new_uid, |p| p.uid())
    }

    /// The name generated from `prefix`: pinned across webhook passes.
    pub(crate) fn generate_name(&self, prefix: &str) -> String {
        match &self.webhooks {
            Some(p) => p.generated_name(prefix),
            None => meta::generate_name(prefix),
        }
    }

    /// The seed of random address choices: pinned across webhook passes (None: any).
    pub(crate) fn seed(&self) -> Option<u64> {
        self.webhooks.as_ref().map(|p| p.seed())
    }
}

/// `DeleteOptions.propagationPolicy`: what happens to the dependents of a deleted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// The owner goes at once; the garbage collector deletes its dependents afterwards.
    Background,
    /// The owner waits (finalizer `foregroundDeletion`) until its blocking dependents are gone.
    Foreground,
    /// The dependents stay, their ownerReferences to the owner removed (finalizer `orphan`).
    Orphan,
}

/// Delete preconditions and options.
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
    /// None: keep the object's garbage-collection finalizers as they are (background by default).
    pub propagation: Option<Propagation>,
    /// `orphanDependents: false` was sent: answer 202 when the object is not deleted at once.
    pub accepted_when_pending: bool,
    /// `DeleteOptions.gracePeriodSeconds` (None: the type's default).
    pub grace_period: Option<i64>,
    /// Who asked for the delete; None for the server's own deletes (garbage collector,
    /// namespace controller), which validating admission does not see.
    pub user: Option<Arc<UserInfo>>,
    /// The user's authorizer answers, for validating admission's `authorizer` variable.
    pub authorizer: Option<AuthzSnapshot>,
    /// The webhook passes of a client's delete (see `WriteOpts::webhooks`).
    pub webhooks: Option<Arc<Pass>>,
}

/// The answer to a write: status code, body and `Warning` headers.
#[derive(Debug)]
pub struct Written {
    pub code: u16,
    pub body: Bytes,
    pub warnings: Vec<String>,
}

/// The answer to a DELETE of one object.
#[derive(Debug)]
pub struct Deleted {
    /// The object as the delete left it (marked for deletion, or its last state).
    pub written: Written,
    /// The uid of the object when it was removed (or, on a dry run, would have been); None when
    /// it stays, marked for deletion, until its finalizers are gone.
    pub gone: Option<String>,
}

impl Deleted {
    pub(super) fn pending(written: Written) -> Self {
        Self {
            written,
            gone: None,
        }
    }
}

/// Which objects a request addresses.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub plural: &'a str,
    /// "" for cluster-scoped resources or an all-namespaces list/watch.
    pub namespace: &'a str,
    pub name: &'a str,
}

/// How much the store keeps: the watch history's bounds and the per-object storage limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events kept in the watch history at most.
    pub history_events: usize,
    /// Encoded bytes (the JSON of each event's object) kept in the watch history at most.
    pub history_bytes: usize,
    /// The largest encoded object a write may store (etcd's `--max-request-bytes`).
    pub max_object_bytes: usize,
}

/// `application/merge-patch+json`, `application/json-patch+json` or
/// `application/strategic-merge-patch+json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
}
