//! Reconciles RemediationRequests: checks the blockers, creates each child when the previous
//! one completes, follows the children's phases (their changes wake the request through the
//! ownerReference watch), waits for approval, enforces per-phase and global timeouts, and
//! sends escalation, approval and completion notifications. Every phase transition is one
//! `/status` write through `manager::update_status_with` (DD-PERF-001; transient API failures
//! retried in place, `WritePolicy::recording`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use audit::{AuditEvent, AuditStore, EventOutcome};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt as _};
use manager::{ControllerContext, Manager, StatusError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::children::{self, AI_PREFIX, NotificationKind, SP_PREFIX, WE_PREFIX};
use super::config::{
    APPROVAL_ANNOTATION, APPROVED, APPROVED_BY_ANNOTATION, CONTROLLER_NAME, Config, REJECTED,
};
use super::metrics::{GLOBAL_TIMEOUT_PHASE, Metrics};
use super::routing::{self, Block};
use crate::api::remediationrequest::{CompletionStatus, RoutingStatus};
use crate::api::workflowexecution::FailureReason;
use crate::api::{
    AIAnalysis, AIAnalysisPhase, CONDITION_READY, NotificationRequest, ObjectReference, Phase as _,
    RemediationPhase, RemediationRequest, RemediationRequestStatus, SignalProcessing,
    SignalProcessingPhase, Time, WorkflowExecution, WorkflowExecutionPhase,
};
use crate::conditions::set_condition;
use crate::requeue::ErrorBackoff;

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

/// `at + by`, saturating at the largest timestamp.
fn after(at: jiff::Timestamp, by: Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(by)
        .ok()
        .and_then(|d| at.checked_add(d).ok())
        .unwrap_or(jiff::Timestamp::MAX)
}

/// Time from `now` until `at` (zero when past).
fn until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// A child created, found ours, or found under another controller.
enum Ensured<K> {
    Ours(K),
    Foreign(K),
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

    /// When the current phase was entered (the start of orchestration, or now, when unknown).
    fn phase_started(&self) -> jiff::Timestamp {
        let s = self.rr.status.as_ref();
        s.and_then(|s| s.phase_started_at.as_ref().or(s.start_time.as_ref()))
            .map_or(self.now, |t| t.0)
    }

    fn global_deadline(&self) -> Option<jiff::Timestamp> {
        let start = self.rr.status.as_ref()?.start_time.as_ref()?.0;
        Some(after(start, self.config().global_timeout))
    }

    /// The nearer of the global deadline and the current phase's (the phases that wait on a
    /// child or on approval have one): when a reconcile must come back at the latest.
    fn next_deadline(&self) -> Option<jiff::Timestamp> {
        let phase = self.rr.phase();
        let phase_deadline = matches!(
            phase,
            RemediationPhase::Processing
                | RemediationPhase::Analyzing
                | RemediationPhase::AwaitingApproval
                | RemediationPhase::Executing
        )
        .then(|| self.phase_deadline(phase));
        [self.global_deadline(), phase_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Creates `desired` (a child of the request), or finds the existing one and whether it is
    /// ours: AlreadyExists is the normal answer when an earlier reconcile created it but its
    /// status write did not land.
    async fn ensure<K>(&self, desired: K) -> Result<Ensured<K>, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let kind = K::kind(&()).into_owned();
        let name = desired.name_any();
        let error = |action, source| Error::Child {
            action,
            kind: kind.clone(),
            namespace: self.namespace.clone(),
            name: name.clone(),
            source,
        };
        match api.create(&PostParams::default(), &desired).await {
            Ok(created) => {
                self.ctx.metrics.child_created(&kind);
                Ok(Ensured::Ours(created))
            }
            Err(kube::Error::Api(s)) if s.code == HTTP_CONFLICT => {
                match api.get_opt(&name).await.map_err(|e| error("read", e))? {
                    Some(existing) if children::is_controlled_by(&existing, &self.rr) => {
                        Ok(Ensured::Ours(existing))
                    }
                    Some(existing) => Ok(Ensured::Foreign(existing)),
                    None => Err(Error::ChildVanished {
                        kind,
                        namespace: self.namespace.clone(),
                        name,
                    }),
                }
            }
            Err(e) => Err(error("create", e)),
        }
    }

    /// Reads child `name` of kind `K`.
    async fn child<K>(&self, name: &str) -> Result<Option<K>, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        api.get_opt(name).await.map_err(|source| Error::Child {
            action: "read",
            kind: K::kind(&()).into_owned(),
            namespace: self.namespace.clone(),
            name: name.to_owned(),
            source,
        })
    }

    /// The name of a child: from its status reference, else the deterministic name.
    fn child_name(&self, reference: Option<&ObjectReference>, prefix: &str) -> String {
        reference
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| children::child_name(prefix, &self.name))
    }

    /// Message for a child name taken by an object of another controller.
    fn foreign<K: Resource<DynamicType = ()>>(&self, child: &K) -> String {
        format!(
            "{} {}/{} already exists and is controlled by {}, not by this RemediationRequest; delete it or create the request under another name",
            K::kind(&()),
            self.namespace,
            child.name_any(),
            children::controller_of(child)
        )
    }

    /// Writes `from → to` with `message` and `extra`, once (DD-PERF-001): the refetched object
    /// must still be in `from`. Returns whether this reconcile wrote it.
    async fn transition(
        &self,
        from: RemediationPhase,
        to: RemediationPhase,
        message: &str,
        extra: Extra<'_>,
    ) -> Result<bool, Error> {
        let time = Time(self.now);
        let generation = self.rr.metadata.generation;
        let written = manager::update_status_with(
            &self.api,
            &self.name,
            manager::WritePolicy::recording(self.config().status_write_attempts),
            |obj: &mut RemediationRequest| {
                if obj.phase() != from || !from.can_transition_to(to) {
                    return false;
                }
                let status = obj.status.get_or_insert_with(Default::default);
                status.overall_phase = Some(to);
                status.message = Some(message.to_owned());
                status.observed_generation = generation;
                status.phase_started_at = Some(time.clone());
                // Orchestration starts with processing: time spent blocked (bounded by the
                // cooldown or by the original's own timeouts) is not the remediation's.
                if to == RemediationPhase::Processing {
                    status.start_time.get_or_insert_with(|| time.clone());
                }
                if to.is_terminal() {
                    status.completed_at = Some(time.clone());
                }
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    to == RemediationPhase::Completed,
                    to.name(),
                    message,
                    generation,
                    &time,
                );
                extra(status);
                true
            },
        )
        .await?
        .written();
        if written {
            self.ctx
                .metrics
                .transition(&self.namespace, from.name(), to.name());
            self.record(
                "phase.transitioned",
                "transitioned",
                EventOutcome::Success,
                |e| {
                    e.with_data("from_phase", from.name())
                        .with_data("to_phase", to.name())
                        .with_data("message", message)
                },
            );
        }
        Ok(written)
    }

    /// Records an audit event `orchestrator.<suffix>` about the request; the store never
    /// blocks and counts what it drops.
    fn record(
        &self,
        suffix: &str,
        action: &str,
        outcome: EventOutcome,
        extra: impl FnOnce(AuditEvent) -> AuditEvent,
    ) {
        let event = AuditEvent::new(
            format!("{AUDIT_PREFIX}.{suffix}"),
            AUDIT_CATEGORY,
            action,
            outcome,
            self.name.clone(),
        )
        .with_actor("service", &self.config().service_name)
        .with_resource("RemediationRequest", self.name.clone())
        .with_namespace(self.namespace.clone())
        .with_data(
            "signal_fingerprint",
            self.rr.spec.signal_fingerprint.clone(),
        )
        .with_data("signal_name", self.rr.spec.signal_name.clone())
        .with_data("target_resource", self.rr.spec.target_resource.to_path());
        if let Err(error) = self.ctx.audit.record(extra(event)) {
            tracing::warn!(rr = %self.name, %error, "audit event dropped");
        }
    }

    fn duration_ms(&self) -> Option<i64> {
        let start = self.rr.status.as_ref()?.start_time.as_ref()?.0;
        let span = Duration::try_from(self.now.duration_since(start)).ok()?;
        i64::try_from(span.as_millis()).ok()
    }

    /// Sends the `kind` notification (idempotently) and returns its reference; `None` (logged)
    /// when its name is taken by another controller's object or it cannot be created, since
    /// a notification must never hold up the request's own outcome.
    async fn notify(
        &self,
        kind: NotificationKind,
        subject: String,
        body: String,
    ) -> Result<Option<ObjectReference>, Error> {
        let desired = children::notification(&self.rr, kind, subject, body);
        match self.ensure(desired).await {
            Ok(Ensured::Ours(nr)) => Ok(Some(children::child_ref(&nr))),
            Ok(Ensured::Foreign(nr)) => {
                tracing::warn!(rr = %self.name, message = %self.foreign(&nr), "notification not sent");
                Ok(None)
            }
            // A rejection that retrying cannot change (invalid object, forbidden, no such
            // resource): record the outcome without it. Server errors and lost connections
            // stay errors and are retried, since the notification may still go out.
            Err(Error::Child {
                source: kube::Error::Api(status),
                ..
            }) if (400..500).contains(&status.code) && status.code != 409 && status.code != 429 => {
                tracing::warn!(rr = %self.name, code = status.code, reason = %status.reason, message = %status.message, "notification rejected; not sent");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn signal_summary(&self) -> String {
        let s = &self.rr.spec;
        format!(
            "Signal {} ({}) on {}",
            s.signal_name,
            s.severity,
            s.target_resource.to_path()
        )
    }

    /// Ends the request in `to` (Failed or TimedOut) from `from`: sends the escalation
    /// notification first, so a retried reconcile finds it, then writes the phase.
    async fn fail(
        &self,
        from: RemediationPhase,
        to: RemediationPhase,
        failure_phase: RemediationPhase,
        reason: &str,
    ) -> Result<Action, Error> {
        self.end_failed(from, to, failure_phase, reason).await?;
        Ok(Action::await_change())
    }

    /// Times the request out in `phase`, counting the timeout under `label` once: only the
    /// reconcile whose write ended the request counts it, not one that failed before its
    /// write and was retried.
    async fn time_out(
        &self,
        phase: RemediationPhase,
        label: &str,
        reason: &str,
    ) -> Result<Action, Error> {
        let written = self
            .end_failed(phase, RemediationPhase::TimedOut, phase, reason)
            .await?;
        if written {
            self.ctx.metrics.timed_out(label);
        }
        Ok(Action::await_change())
    }

    /// [`Self::fail`]; returns whether this reconcile wrote the end.
    async fn end_failed(
        &self,
        from: RemediationPhase,
        to: RemediationPhase,
        failure_phase: RemediationPhase,
        reason: &str,
    ) -> Result<bool, Error> {
        let verb = if to == RemediationPhase::TimedOut {
            "timed out"
        } else {
            "failed"
        };
        let notification = self
            .notify(
                NotificationKind::Escalation,
                format!("Remediation {} {verb} in {failure_phase}", self.name),
                format!("{}\n{reason}", self.signal_summary()),
            )
            .await?;
        let completion = CompletionStatus {
            failure_phase: Some(failure_phase),
            failure_reason: Some(reason.to_owned()),
            outcome: None,
        };
        let message = format!("{verb} in {failure_phase}: {reason}");
        let written = self
            .transition(from, to, &message, &|s| {
                s.completion_status = Some(completion.clone());
                push_ref(&mut s.notification_request_refs, notification.as_ref());
            })
            .await?;
        if written {
            self.record("lifecycle.failed", verb, EventOutcome::Failure, |e| {
                let e = e
                    .with_error(to.name(), reason)
                    .with_data("failure_phase", failure_phase.name())
                    .with_data("final_phase", to.name());
                match self.duration_ms() {
                    Some(ms) => e.with_duration_ms(ms),
                    None => e,
                }
            });
        }
        Ok(written)
    }

    /// Ends the request in Completed from `from` with `outcome`, after sending the completion
    /// notification.
    async fn complete(&self, from: RemediationPhase, outcome: &str) -> Result<Action, Error> {
        let notification = self
            .notify(
                NotificationKind::Completion,
                format!("Remediation {} completed: {outcome}", self.name),
                format!("{}\nOutcome: {outcome}", self.signal_summary()),
            )
            .await?;
        let message = format!("completed: {outcome}");
        let written = self
            .transition(from, RemediationPhase::Completed, &message, &|s| {
                s.completion_status = Some(CompletionStatus {
                    outcome: Some(outcome.to_owned()),
                    ..CompletionStatus::default()
                });
                push_ref(&mut s.notification_request_refs, notification.as_ref());
            })
            .await?;
        if written {
            self.record(
                "lifecycle.completed",
                "completed",
                EventOutcome::Success,
                |e| {
                    let e = e.with_data("outcome", outcome);
                    match self.duration_ms() {
                        Some(ms) => e.with_duration_ms(ms),
                        None => e,
                    }
                },
            );
        }
        Ok(Action::await_change())
    }

    /// Still waiting in `phase`: time out if the global deadline or `phase_deadline` passed,
    /// else come back when the nearer one is due (children's changes arrive by watch).
    async fn wait(
        &self,
        phase: RemediationPhase,
        phase_deadline: Option<jiff::Timestamp>,
    ) -> Result<Action, Error> {
        if let Some(global) = self.global_deadline()
            && self.now >= global
        {
            let reason = format!(
                "the global timeout ({:?}) passed in phase {phase}",
                self.config().global_timeout
            );
            return self.time_out(phase, GLOBAL_TIMEOUT_PHASE, &reason).await;
        }
        if let Some(deadline) = phase_deadline
            && self.now >= deadline
        {
            let reason = format!(
                "the {phase} timeout ({:?}) passed",
                self.phase_timeout(phase)
            );
            return self.time_out(phase, phase.name(), &reason).await;
        }
        let next = [self.global_deadline(), phase_deadline]
            .into_iter()
            .flatten()
            .min();
        Ok(match next {
            Some(at) => Action::requeue(until(self.now, at)),
            None => Action::await_change(),
        })
    }

    fn phase_timeout(&self, phase: RemediationPhase) -> Duration {
        let c = self.config();
        match phase {
            RemediationPhase::Processing => c.processing_timeout,
            RemediationPhase::Analyzing => c.analyzing_timeout,
            RemediationPhase::AwaitingApproval => c.awaiting_approval_timeout,
            RemediationPhase::Executing => c.executing_timeout,
            _ => c.global_timeout,
        }
    }

    /// The deadline a new child of `phase` gets (`spec.timesOutAt`).
    fn child_deadline(&self, phase: RemediationPhase) -> Time {
        Time(after(self.now, self.phase_timeout(phase)))
    }

    /// When RO times `phase` out itself: the phase timeout, plus the grace for the child's
    /// own timeout report when a child runs the phase.
    fn phase_deadline(&self, phase: RemediationPhase) -> jiff::Timestamp {
        let grace = match phase {
            RemediationPhase::AwaitingApproval => Duration::ZERO,
            _ => self.config().child_timeout_grace,
        };
        after(
            after(self.phase_started(), self.phase_timeout(phase)),
            grace,
        )
    }

    /// Pending: blocked by a duplicate or the target's failures, else create the
    /// SignalProcessing and move to Processing.
    async fn pending(&self) -> Result<Action, Error> {
        let others = self
            .api
            .list(&ListParams::default())
            .await
            .map_err(|source| Error::List {
                namespace: self.namespace.clone(),
                source,
            })?
            .items;
        let c = self.config();
        if let Some(block) = routing::check(
            &self.rr,
            &others,
            c.consecutive_failure_threshold,
            c.blocking_cooldown,
            self.now,
        ) {
            return self.block(&block, &others).await;
        }
        let sp = children::signal_processing(
            &self.rr,
            self.child_deadline(RemediationPhase::Processing),
        );
        let sp = match self.ensure(sp).await? {
            Ensured::Ours(sp) => sp,
            Ensured::Foreign(sp) => {
                let reason = self.foreign(&sp);
                return self
                    .fail(
                        RemediationPhase::Pending,
                        RemediationPhase::Failed,
                        RemediationPhase::Pending,
                        &reason,
                    )
                    .await;
            }
        };
        let first_start = self
            .rr
            .status
            .as_ref()
            .is_none_or(|s| s.start_time.is_none());
        let sp_ref = children::child_ref(&sp);
        let written = self
            .transition(
                RemediationPhase::Pending,
                RemediationPhase::Processing,
                &format!("SignalProcessing {} created", sp.name_any()),
                &|s| {
                    s.signal_processing_ref = Some(sp_ref.clone());
                },
            )
            .await?;
        if written && first_start {
            self.record("lifecycle.started", "started", EventOutcome::Pending, |e| {
                e.with_data("signal_processing", sp.name_any())
            });
        }
        Ok(Action::requeue(c.phase_requeue))
    }

    /// Pending → Blocked for `block`.
    async fn block(&self, block: &Block, others: &[RemediationRequest]) -> Result<Action, Error> {
        let others_refs: Vec<&RemediationRequest> = others
            .iter()
            .filter(|o| o.name_any() != self.name)
            .collect();
        let (failures, _) = routing::consecutive_failures(&self.rr, &others_refs);
        let (routing_status, message, requeue) = match block {
            Block::DuplicateInProgress { of } => (
                RoutingStatus {
                    block_reason: Some(block.reason()),
                    blocked_until: None,
                    duplicate_of: Some(of.clone()),
                    consecutive_failure_count: i32::try_from(failures).unwrap_or(i32::MAX),
                },
                format!("blocked: RemediationRequest {of} for the same signal is in progress"),
                // The duplicate watch wakes us when `of` changes.
                Action::await_change(),
            ),
            Block::ConsecutiveFailures { count, until: end } => (
                RoutingStatus {
                    block_reason: Some(block.reason()),
                    blocked_until: Some(Time(*end)),
                    duplicate_of: None,
                    consecutive_failure_count: i32::try_from(*count).unwrap_or(i32::MAX),
                },
                format!(
                    "blocked: the last {count} remediations of {} failed; cooling down until {end}",
                    self.rr.spec.target_resource.to_path()
                ),
                Action::requeue(until(self.now, *end)),
            ),
        };
        let written = self
            .transition(
                RemediationPhase::Pending,
                RemediationPhase::Blocked,
                &message,
                &|s| s.routing_status = Some(routing_status.clone()),
            )
            .await?;
        if written {
            let reason = block.reason().name();
            self.ctx.metrics.blocked(reason);
            self.record("routing.blocked", "blocked", EventOutcome::Pending, |e| {
                let e = e.with_data("block_reason", reason);
                match block {
                    Block::DuplicateInProgress { of } => e.with_data("duplicate_of", of.clone()),
                    Block::ConsecutiveFailures { count, .. } => {
                        e.with_data("consecutive_failure_count", *count)
                    }
                }
            });
        }
        Ok(requeue)
    }

    /// Blocked: back to Pending once the original finished or the cooldown ended.
    async fn blocked(&self) -> Result<Action, Error> {
        let routing_status = self.status().routing_status.unwrap_or_default();
        let wait = match &routing_status.duplicate_of {
            Some(of) => {
                let original: Option<RemediationRequest> =
                    self.api.get_opt(of).await.map_err(|source| Error::Read {
                        name: of.clone(),
                        source,
                    })?;
                routing::duplicate_still_running(original.as_ref()).then(Action::await_change)
            }
            None => routing_status
                .blocked_until
                .as_ref()
                .filter(|end| self.now < end.0)
                .map(|end| Action::requeue(until(self.now, end.0))),
        };
        if let Some(action) = wait {
            return Ok(action);
        }
        let count = routing_status.consecutive_failure_count;
        self.transition(
            RemediationPhase::Blocked,
            RemediationPhase::Pending,
            "unblocked: checking blockers again",
            &|s| {
                s.routing_status = Some(RoutingStatus {
                    consecutive_failure_count: count,
                    ..RoutingStatus::default()
                });
            },
        )
        .await?;
        Ok(Action::requeue(self.config().phase_requeue))
    }

    /// Processing: follow the SignalProcessing; when it completes, create the AIAnalysis.
    async fn processing(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::Processing;
        let status = self.status();
        let name = self.child_name(status.signal_processing_ref.as_ref(), SP_PREFIX);
        let sp = match self.child::<SignalProcessing>(&name).await? {
            Some(sp) => sp,
            // Deleted by someone: recreate it with the phase's remaining time.
            None => {
                let mut desired = children::signal_processing(
                    &self.rr,
                    Time(self.phase_deadline_without_grace(phase)),
                );
                desired.metadata.name = Some(name.clone());
                match self.ensure(desired).await? {
                    Ensured::Ours(sp) => sp,
                    Ensured::Foreign(sp) => {
                        let reason = self.foreign(&sp);
                        return self
                            .fail(phase, RemediationPhase::Failed, phase, &reason)
                            .await;
                    }
                }
            }
        };
        if !children::is_controlled_by(&sp, &self.rr) {
            let reason = self.foreign(&sp);
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        }
        match sp.phase() {
            SignalProcessingPhase::Completed => {
                let aia = children::ai_analysis(
                    &self.rr,
                    &sp,
                    self.child_deadline(RemediationPhase::Analyzing),
                );
                let aia = match self.ensure(aia).await? {
                    Ensured::Ours(aia) => aia,
                    Ensured::Foreign(aia) => {
                        let reason = self.foreign(&aia);
                        return self
                            .fail(phase, RemediationPhase::Failed, phase, &reason)
                            .await;
                    }
                };
                let aia_ref = children::child_ref(&aia);
                self.transition(
                    phase,
                    RemediationPhase::Analyzing,
                    &format!("AIAnalysis {} created", aia.name_any()),
                    &|s| s.ai_analysis_ref = Some(aia_ref.clone()),
                )
                .await?;
                Ok(Action::requeue(self.config().phase_requeue))
            }
            SignalProcessingPhase::Failed => {
                let detail = sp
                    .status
                    .as_ref()
                    .and_then(|s| {
                        s.message
                            .clone()
                            .or_else(|| s.failure_info.as_ref().map(|f| f.error.clone()))
                    })
                    .unwrap_or_else(|| "no reason given".to_owned());
                let reason = format!("SignalProcessing {name} failed: {detail}");
                self.fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await
            }
            _ => self.wait(phase, Some(self.phase_deadline(phase))).await,
        }
    }

    fn phase_deadline_without_grace(&self, phase: RemediationPhase) -> jiff::Timestamp {
        after(self.phase_started(), self.phase_timeout(phase))
    }

    /// Analyzing: follow the AIAnalysis; when it completes, finish (no workflow needed), ask
    /// for approval, or create the WorkflowExecution.
    async fn analyzing(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::Analyzing;
        let status = self.status();
        let name = self.child_name(status.ai_analysis_ref.as_ref(), AI_PREFIX);
        let Some(aia) = self.child::<AIAnalysis>(&name).await? else {
            let reason = format!(
                "AIAnalysis {}/{name} disappeared during the analysis",
                self.namespace
            );
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        };
        if !children::is_controlled_by(&aia, &self.rr) {
            let reason = self.foreign(&aia);
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        }
        let aia_status = aia.status.clone().unwrap_or_default();
        match aia.phase() {
            AIAnalysisPhase::Completed => {
                let Some(rca) = aia_status.rca_result.as_ref() else {
                    let reason =
                        format!("AIAnalysis {name} completed without a root cause analysis");
                    return self
                        .fail(phase, RemediationPhase::Failed, phase, &reason)
                        .await;
                };
                let Some(workflow) = rca.selected_workflow.as_ref() else {
                    return self.complete(phase, OUTCOME_NO_ACTION).await;
                };
                let approval = aia_status.approval.clone().unwrap_or_default();
                if approval.approval_required {
                    return self
                        .request_approval(&aia, workflow, approval.approval_reason.as_deref())
                        .await;
                }
                self.execute(
                    phase,
                    &aia,
                    workflow,
                    "selected workflow approved by policy",
                )
                .await
            }
            AIAnalysisPhase::Failed => {
                let detail = aia_status
                    .message
                    .clone()
                    .or(aia_status.reason.clone())
                    .unwrap_or_else(|| "no reason given".to_owned());
                let reason = format!("AIAnalysis {name} failed: {detail}");
                self.fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await
            }
            _ => self.wait(phase, Some(self.phase_deadline(phase))).await,
        }
    }

    /// Analyzing → AwaitingApproval, after sending the approval notification.
    async fn request_approval(
        &self,
        aia: &AIAnalysis,
        workflow: &crate::api::aianalysis::SelectedWorkflow,
        why: Option<&str>,
    ) -> Result<Action, Error> {
        let why = why.unwrap_or("the approval policy requires a human decision");
        let notification = self
            .notify(
                NotificationKind::Approval,
                format!("Approval required for remediation {}", self.name),
                format!(
                    "{}\nWorkflow {} ({}), confidence {:.2}: {why}\nAnnotate the RemediationRequest with {APPROVAL_ANNOTATION}={APPROVED} or {APPROVAL_ANNOTATION}={REJECTED}.",
                    self.signal_summary(),
                    workflow.workflow_id,
                    workflow.action_type,
                    workflow.confidence
                ),
            )
            .await?;
        let written = self
            .transition(
                RemediationPhase::Analyzing,
                RemediationPhase::AwaitingApproval,
                &format!(
                    "awaiting approval of workflow {}: {why}",
                    workflow.workflow_id
                ),
                &|s| push_ref(&mut s.notification_request_refs, notification.as_ref()),
            )
            .await?;
        if written {
            self.record(
                "approval.requested",
                "requested",
                EventOutcome::Pending,
                |e| {
                    e.with_data("workflow_id", workflow.workflow_id.clone())
                        .with_data("confidence", workflow.confidence)
                        .with_data("approval_reason", why)
                        .with_data("ai_analysis", aia.name_any())
                },
            );
        }
        // Approval arrives as an annotation (a watch event); the timeout needs a timer.
        Ok(Action::requeue(until(
            self.now,
            self.config_deadline_after_transition(),
        )))
    }

    /// The approval deadline counted from now (the phase was just entered).
    fn config_deadline_after_transition(&self) -> jiff::Timestamp {
        after(self.now, self.config().awaiting_approval_timeout)
    }

    /// `from` → Executing: create the WorkflowExecution for `workflow`.
    async fn execute(
        &self,
        from: RemediationPhase,
        aia: &AIAnalysis,
        workflow: &crate::api::aianalysis::SelectedWorkflow,
        why: &str,
    ) -> Result<Action, Error> {
        let we = children::workflow_execution(
            &self.rr,
            workflow,
            self.config(),
            self.child_deadline(RemediationPhase::Executing),
        );
        let we = match self.ensure(we).await? {
            Ensured::Ours(we) => we,
            Ensured::Foreign(we) => {
                let reason = self.foreign(&we);
                return self
                    .fail(from, RemediationPhase::Failed, from, &reason)
                    .await;
            }
        };
        let we_ref = children::child_ref(&we);
        self.transition(
            from,
            RemediationPhase::Executing,
            &format!(
                "WorkflowExecution {} created for workflow {} ({why}; analysis {})",
                we.name_any(),
                workflow.workflow_id,
                aia.name_any()
            ),
            &|s| s.workflow_execution_ref = Some(we_ref.clone()),
        )
        .await?;
        Ok(Action::requeue(self.config().phase_requeue))
    }

    /// AwaitingApproval: act on the approval annotation, or time out.
    async fn awaiting_approval(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::AwaitingApproval;
        let annotations = self.rr.annotations();
        let by = annotations
            .get(APPROVED_BY_ANNOTATION)
            .cloned()
            .unwrap_or_else(|| "an unnamed approver".to_owned());
        match annotations.get(APPROVAL_ANNOTATION).map(|v| v.trim()) {
            Some(APPROVED) => {
                let status = self.status();
                let name = self.child_name(status.ai_analysis_ref.as_ref(), AI_PREFIX);
                let workflow = self
                    .child::<AIAnalysis>(&name)
                    .await?
                    .filter(|aia| children::is_controlled_by(aia, &self.rr))
                    .and_then(|aia| {
                        let w = aia
                            .status
                            .as_ref()?
                            .rca_result
                            .as_ref()?
                            .selected_workflow
                            .clone()?;
                        Some((aia, w))
                    });
                let Some((aia, workflow)) = workflow else {
                    let reason = format!(
                        "approved by {by}, but AIAnalysis {}/{name} with the selected workflow is gone",
                        self.namespace
                    );
                    return self
                        .fail(phase, RemediationPhase::Failed, phase, &reason)
                        .await;
                };
                let action = self
                    .execute(phase, &aia, &workflow, &format!("approved by {by}"))
                    .await?;
                if self.status_now_is(RemediationPhase::Executing).await {
                    self.record("approval.decided", "approved", EventOutcome::Success, |e| {
                        e.with_data("decision", APPROVED)
                            .with_data("decided_by", by.clone())
                            .with_data("workflow_id", workflow.workflow_id.clone())
                    });
                }
                Ok(action)
            }
            Some(REJECTED) => {
                let reason = format!("the selected workflow was rejected by {by}");
                let action = self
                    .fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await?;
                if self.status_now_is(RemediationPhase::Failed).await {
                    self.record("approval.decided", "rejected", EventOutcome::Failure, |e| {
                        e.with_data("decision", REJECTED)
                            .with_data("decided_by", by.clone())
                    });
                }
                Ok(action)
            }
            other => {
                if let Some(value) = other {
                    tracing::warn!(rr = %self.name, value, "ignoring approval annotation {APPROVAL_ANNOTATION}: use {APPROVED} or {REJECTED}");
                }
                self.wait(phase, Some(self.phase_deadline(phase))).await
            }
        }
    }

    /// Whether the request's phase is now `phase` (after a transition of this reconcile).
    async fn status_now_is(&self, phase: RemediationPhase) -> bool {
        matches!(self.api.get_opt(&self.name).await, Ok(Some(rr)) if rr.phase() == phase)
    }

    /// Executing: follow the WorkflowExecution.
    async fn executing(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::Executing;
        let status = self.status();
        let name = self.child_name(status.workflow_execution_ref.as_ref(), WE_PREFIX);
        let Some(we) = self.child::<WorkflowExecution>(&name).await? else {
            let reason = format!(
                "WorkflowExecution {}/{name} disappeared during the execution",
                self.namespace
            );
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        };
        if !children::is_controlled_by(&we, &self.rr) {
            let reason = self.foreign(&we);
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        }
        let we_status = we.status.clone().unwrap_or_default();
        match we.phase() {
            WorkflowExecutionPhase::Completed => {
                self.transition(
                    phase,
                    RemediationPhase::Verifying,
                    &format!("WorkflowExecution {name} completed; verifying"),
                    &|_| {},
                )
                .await?;
                Ok(Action::requeue(self.config().phase_requeue))
            }
            WorkflowExecutionPhase::Failed => {
                let details = we_status.failure_details;
                if let Some(d) = details
                    .as_ref()
                    .filter(|d| d.reason == FailureReason::Deduplicated)
                {
                    // Another execution holds the target: this one is skipped, not failed.
                    let message = format!("skipped: {}", d.message);
                    let outcome = format!("{OUTCOME_TARGET_BUSY}: {}", d.message);
                    let written = self
                        .transition(phase, RemediationPhase::Skipped, &message, &|s| {
                            s.completion_status = Some(CompletionStatus {
                                outcome: Some(outcome.clone()),
                                ..CompletionStatus::default()
                            });
                        })
                        .await?;
                    if written {
                        self.record(
                            "lifecycle.completed",
                            "skipped",
                            EventOutcome::Success,
                            |e| e.with_data("outcome", OUTCOME_TARGET_BUSY),
                        );
                    }
                    return Ok(Action::await_change());
                }
                let detail = details.map_or_else(
                    || {
                        we_status
                            .message
                            .clone()
                            .unwrap_or_else(|| "no reason given".to_owned())
                    },
                    |d| format!("{}: {}", d.reason.name(), d.message),
                );
                let reason = format!("WorkflowExecution {name} failed: {detail}");
                self.fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await
            }
            _ => self.wait(phase, Some(self.phase_deadline(phase))).await,
        }
    }

    /// Verifying: completed once the verification period has passed.
    async fn verifying(&self) -> Result<Action, Error> {
        let done = after(self.phase_started(), self.config().verification_period);
        if self.now < done {
            return Ok(Action::requeue(until(self.now, done)));
        }
        self.complete(RemediationPhase::Verifying, OUTCOME_REMEDIATED)
            .await
    }
}

/// Adds `reference` to `refs` unless one of the same name is there.
fn push_ref(refs: &mut Vec<ObjectReference>, reference: Option<&ObjectReference>) {
    if let Some(r) = reference
        && !refs.iter().any(|x| x.name == r.name)
    {
        refs.push(r.clone());
    }
}
