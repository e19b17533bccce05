//! Reconciles RemediationRequests: checks the blockers, creates each child when the previous
//! one completes, follows the children's phases (their changes wake the request through the
//! ownerReference watch), waits for approval, enforces per-phase and global timeouts, and
//! sends escalation, approval and completion notifications. Every phase transition is one
//! `/status` write through `manager::update_status_with` (DD-PERF-001; transient API failures
//! retried in place, `WritePolicy::recording`).

mod analysis;
mod deadlines;
mod ensure;
mod execution;
mod pending;
mod transitions;

use std::sync::Arc;
use std::time::Instant;

use audit::AuditStore;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use manager::{ControllerContext, Manager, StatusError};

use super::config::{CONTROLLER_NAME, Config};
use super::metrics::Metrics;
use crate::api::{
    AIAnalysis, NotificationRequest, Phase as _, RemediationPhase, RemediationRequest,
    RemediationRequestStatus, SignalProcessing, WorkflowExecution,
};
use crate::requeue::ErrorBackoff;

use deadlines::{after, until};
use ensure::Ensured;
use transitions::push_ref;

/// Audit event category.
const AUDIT_CATEGORY: &str = "orchestration";

/// Prefix of every audit event type.
const AUDIT_PREFIX: &str = "orchestrator";

/// HTTP status for AlreadyExists.
const HTTP_CONFLICT: u16 = 409;

/// Outcome recorded when the analysis found nothing to do.
pub const OUTCOME_NO_ACTION: &str = "NoActionRequired";

/// Outcome recorded when the workflow ran and verification passed.
pub const OUTCOME_REMEDIATED: &str = "Remediated";

/// Outcome recorded when execution was skipped because another execution held the target.
pub const OUTCOME_TARGET_BUSY: &str = "TargetBusy";

/// Why a reconcile failed (it is requeued with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object has no namespace (RemediationRequest is namespaced; a bug upstream).
    #[error("RemediationRequest {0} has no namespace")]
    MissingNamespace(String),
    /// Reading the RemediationRequest failed.
    #[error("failed to read RemediationRequest {name}")]
    Read {
        /// The object.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Listing the namespace's RemediationRequests (for the blockers) failed.
    #[error("failed to list the RemediationRequests of namespace {namespace} to check blockers")]
    List {
        /// The namespace.
        namespace: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// A call about a child failed.
    #[error(
        "failed to {action} {kind} {namespace}/{name}, a child of a RemediationRequest; is its CRD installed?"
    )]
    Child {
        /// What was attempted (`create`, `read`).
        action: &'static str,
        /// Kind of the child.
        kind: String,
        /// Namespace of the child.
        namespace: String,
        /// Name of the child.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// A child that existed when its creation conflicted is gone by the time it was read (it
    /// is being replaced; the retry creates it).
    #[error("{kind} {namespace}/{name} vanished between its create (AlreadyExists) and its read")]
    ChildVanished {
        /// Kind of the child.
        kind: String,
        /// Namespace of the child.
        namespace: String,
        /// Name of the child.
        name: String,
    },
    /// The status write failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// State shared by every reconcile.
pub struct Context {
    client: Client,
    config: Config,
    metrics: Metrics,
    audit: AuditStore,
    /// Consecutive failed reconciles per object, for the error backoff.
    errors: ErrorBackoff,
}

impl Context {
    /// A context for reconciles.
    pub fn new(client: Client, config: Config, metrics: Metrics, audit: AuditStore) -> Self {
        let errors = ErrorBackoff::new(config.error_backoff);
        Self {
            client,
            config,
            metrics,
            audit,
            errors,
        }
    }
}

/// Registers the RemediationOrchestrator on `manager`: watches every RemediationRequest, the
/// four child kinds it owns (their changes wake the owner), and RemediationRequests again to
/// wake the requests blocked as duplicates of one that changed.
pub fn register(manager: &mut Manager, config: Config, metrics: Metrics, audit: AuditStore) {
    manager.add(CONTROLLER_NAME, move |ctx: ControllerContext| {
        let client = ctx.client();
        let wc = watcher::Config::default;
        let controller = ctx.controller(Api::<RemediationRequest>::all(client.clone()), wc());
        let (controller, _) = ctx.owns(
            controller,
            Api::<SignalProcessing>::all(client.clone()),
            wc(),
        );
        let (controller, _) = ctx.owns(controller, Api::<AIAnalysis>::all(client.clone()), wc());
        let (controller, _) = ctx.owns(
            controller,
            Api::<WorkflowExecution>::all(client.clone()),
            wc(),
        );
        let (controller, _) = ctx.owns(
            controller,
            Api::<NotificationRequest>::all(client.clone()),
            wc(),
        );
        let requests = controller.store();
        let (controller, _) = ctx.watches(
            controller,
            Api::<RemediationRequest>::all(client.clone()),
            wc(),
            move |changed: RemediationRequest| {
                let (name, namespace) = (changed.name_any(), changed.namespace());
                requests
                    .state()
                    .into_iter()
                    .filter(|rr| rr.namespace() == namespace)
                    .filter(|rr| {
                        rr.status
                            .as_ref()
                            .and_then(|s| s.routing_status.as_ref())
                            .and_then(|r| r.duplicate_of.as_deref())
                            == Some(name.as_str())
                    })
                    .map(|rr| ObjectRef::from_obj(&*rr))
                    .collect::<Vec<_>>()
            },
        );
        let context = Arc::new(Context::new(client, config, metrics, audit));
        ctx.run(controller, reconcile, error_policy, context)
    });
}

/// Reconciles one RemediationRequest, recording its duration by namespace and the phase it
/// began in (read from the API server: the reflector's copy can lag a watch event behind).
pub async fn reconcile(rr: Arc<RemediationRequest>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    // The phase of the latest object (the reconcile refetches it); the cached copy's until then.
    let mut phase = rr.phase();
    let result = reconcile_inner(&rr, &ctx, &mut phase).await;
    ctx.metrics.observe_reconcile(
        &rr.namespace().unwrap_or_default(),
        phase.name(),
        started.elapsed().as_secs_f64(),
    );
    match result {
        Ok(action) => {
            ctx.errors.on_success(&*rr);
            Ok(action)
        }
        // Deleted while we worked on it: nothing left to do (its children go with it).
        Err(Error::Status(e)) if e.is_not_found() => {
            ctx.errors.on_success(&*rr);
            Ok(Action::await_change())
        }
        Err(e) => Err(e),
    }
}

/// Requeues a failed reconcile after the configured jittered backoff for its attempt.
pub fn error_policy(rr: Arc<RemediationRequest>, error: &Error, ctx: Arc<Context>) -> Action {
    // Capped at the nearer of the global and the phase deadline, so repeated errors do not
    // carry a request past its timeout by up to the backoff cap.
    let now = ctx.config.clock.now();
    let left = Rc {
        rr: (*rr).clone(),
        api: Api::namespaced(ctx.client.clone(), &rr.namespace().unwrap_or_default()),
        ctx: &ctx,
        namespace: rr.namespace().unwrap_or_default(),
        name: rr.name_any(),
        now,
    }
    .next_deadline()
    .map(|at| until(now, at));
    let action = ctx.errors.on_error_within(&*rr, left);
    tracing::warn!(rr = %rr.name_any(), %error, failures = ctx.errors.failures(&*rr), "reconcile failed; requeueing");
    action
}

/// One reconcile's view: the latest request, its API, and the shared context.
struct Rc<'a> {
    rr: RemediationRequest,
    api: Api<RemediationRequest>,
    ctx: &'a Context,
    namespace: String,
    name: String,
    now: jiff::Timestamp,
}

async fn reconcile_inner(
    cached: &RemediationRequest,
    ctx: &Context,
    phase: &mut RemediationPhase,
) -> Result<Action, Error> {
    let namespace = cached
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(cached.name_any()))?;
    let name = cached.name_any();
    let api: Api<RemediationRequest> = Api::namespaced(ctx.client.clone(), &namespace);
    // Decide on the latest object, not the reflector's copy, which can lag our own status
    // write by a watch event: acting on a stale phase would re-create a child or repeat a
    // transition's side effects.
    let Some(rr) = api.get_opt(&name).await.map_err(|source| Error::Read {
        name: name.clone(),
        source,
    })?
    else {
        return Ok(Action::await_change());
    };
    *phase = rr.phase();
    if rr.metadata.deletion_timestamp.is_some() || rr.phase().is_terminal() {
        // Garbage collection deletes the children with the request; a finished request
        // changes no more.
        return Ok(Action::await_change());
    }
    let now = ctx.config.clock.now();
    let r = Rc {
        rr,
        api,
        ctx,
        namespace,
        name,
        now,
    };
    match r.rr.phase() {
        RemediationPhase::Pending => r.pending().await,
        RemediationPhase::Blocked => r.blocked().await,
        RemediationPhase::Processing => r.processing().await,
        RemediationPhase::Analyzing => r.analyzing().await,
        RemediationPhase::AwaitingApproval => r.awaiting_approval().await,
        RemediationPhase::Executing => r.executing().await,
        RemediationPhase::Verifying => r.verifying().await,
        _ => Ok(Action::await_change()),
    }
}

/// What a status transition writes besides the phase.
type Extra<'f> = &'f (dyn Fn(&mut RemediationRequestStatus) + Sync);

impl Rc<'_> {
    fn status(&self) -> RemediationRequestStatus {
        self.rr.status.clone().unwrap_or_default()
    }

    fn config(&self) -> &Config {
        &self.ctx.config
    }
}
