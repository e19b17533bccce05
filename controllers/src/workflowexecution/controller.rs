//! Reconciles WorkflowExecutions: creates the execution Job under the per-target lock, maps
//! the Job's status to the phase, deletes the Job after a cooldown, and cleans up on delete.
//! Every status change is one `/status` write through `manager::status`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use audit::{AuditEvent, AuditStore, EventOutcome};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use manager::{Backoff, ControllerContext, Manager, StatusError};

use super::job::{self, JobOutcome};
use super::metrics::{Metrics, Outcome};
use crate::api::workflowexecution::{
    CONDITION_EXECUTION_COMPLETE, CONDITION_EXECUTION_CREATED, CONDITION_EXECUTION_RUNNING,
    ExecutionEngine, FailureDetails, FailureReason,
};
use crate::api::{
    CONDITION_READY, FINALIZER, ObjectReference, Phase, Time, WorkflowExecution,
    WorkflowExecutionPhase,
};
use crate::clock::Clock;
use crate::conditions::set_condition;
use crate::requeue::{self, ErrorBackoff};

/// Name of the controller in the manager (and in logs).
pub const CONTROLLER_NAME: &str = "workflowexecution";
/// Namespace where execution Jobs run (kubernaut's default).
pub const DEFAULT_EXECUTION_NAMESPACE: &str = "kubernaut-workflows";
/// Time a finished Job is kept (for logs and inspection) before it is deleted and the target
/// lock released (kubernaut's default).
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5 * 60);
/// Requeue after a phase change, so the next phase starts promptly even without a watch event
/// (kubernaut uses 100 ms).
pub const DEFAULT_PHASE_REQUEUE: Duration = Duration::from_millis(100);
/// Actor id of audit events.
pub const DEFAULT_SERVICE_NAME: &str = "workflowexecution-controller";
/// Audit event category.
const AUDIT_CATEGORY: &str = "workflowexecution";
/// HTTP status for AlreadyExists.
const HTTP_CONFLICT: u16 = 409;
/// HTTP status for NotFound.
const HTTP_NOT_FOUND: u16 = 404;
/// Job creation answers that no retry can fix: 400 Bad Request, 403 Forbidden, 422 Invalid.
/// (404, a missing namespace, is retried: the namespace may be created later.)
const PERMANENT_CREATE_ERRORS: [u16; 3] = [400, 403, 422];

/// Everything the controller's behaviour depends on; every duration is here so tests can run
/// in milliseconds.
#[derive(Debug, Clone)]
pub struct Config {
    /// Namespace of the execution Jobs.
    pub execution_namespace: String,
    /// Service account of the execution pods (`None`: the namespace default).
    pub service_account: Option<String>,
    /// How long a finished Job is kept before deletion.
    pub cooldown: Duration,
    /// Requeue delay after a phase change.
    pub phase_requeue: Duration,
    /// Requeue delays after reconcile errors (attempt-indexed).
    pub error_backoff: Backoff,
    /// Status write attempts before giving up on conflicts.
    pub status_write_attempts: u32,
    /// Actor id on audit events.
    pub service_name: String,
    /// What deadlines (`timesOutAt`) and the cooldown are measured against.
    pub clock: Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            execution_namespace: DEFAULT_EXECUTION_NAMESPACE.to_owned(),
            service_account: None,
            cooldown: DEFAULT_COOLDOWN,
            phase_requeue: DEFAULT_PHASE_REQUEUE,
            // 1 s doubling to 5 min with ±10 % jitter: kubernaut's transient-error backoff shape.
            error_backoff: Backoff::new(Duration::from_secs(1), 2.0, Duration::from_secs(300), 0.1),
            status_write_attempts: manager::status::DEFAULT_MAX_ATTEMPTS,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            clock: Clock::system(),
        }
    }
}

/// Why a reconcile failed (it is requeued with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object has no namespace (WorkflowExecution is namespaced; this is a bug upstream).
    #[error("WorkflowExecution {0} has no namespace")]
    MissingNamespace(String),
    /// A Job call failed.
    #[error(
        "failed to {action} execution Job {namespace}/{name}; does namespace {namespace} exist?"
    )]
    Job {
        /// What was attempted (`create`, `read`, `delete`).
        action: &'static str,
        /// Job namespace.
        namespace: String,
        /// Job name.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Listing the Job's pods failed.
    #[error("failed to list pods of execution Job {namespace}/{name}")]
    Pods {
        /// Job namespace.
        namespace: String,
        /// Job name.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Reading the WorkflowExecution failed.
    #[error("failed to read WorkflowExecution {name}")]
    Read {
        /// The object.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The status write failed.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// Adding or removing the finalizer failed.
    #[error("failed to {action} finalizer {FINALIZER} on WorkflowExecution {name}")]
    Finalizer {
        /// `add` or `remove`.
        action: &'static str,
        /// The object.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
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

/// Registers the WorkflowExecution controller on `manager`: watches every WorkflowExecution
/// and, by label, the Jobs in the execution namespace.
pub fn register(manager: &mut Manager, config: Config, metrics: Metrics, audit: AuditStore) {
    manager.add(CONTROLLER_NAME, move |ctx: ControllerContext| {
        let client = ctx.client();
        let controller = ctx.controller(
            Api::<WorkflowExecution>::all(client.clone()),
            watcher::Config::default(),
        );
        let jobs = Api::<Job>::namespaced(client.clone(), &config.execution_namespace);
        let (controller, _jobs) = ctx.watches(
            controller,
            jobs,
            watcher::Config::default().labels(job::LABEL_WFE_NAME),
            |job: Job| {
                job::owner_of(&job)
                    .map(|(namespace, name)| ObjectRef::new(&name).within(&namespace))
            },
        );
        let context = Arc::new(Context::new(client, config, metrics, audit));
        ctx.run(controller, reconcile, error_policy, context)
    });
}

/// Reconciles one WorkflowExecution, recording its outcome and duration.
pub async fn reconcile(wfe: Arc<WorkflowExecution>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(wfe.clone(), &ctx).await;
    let outcome = if result.is_ok() {
        Outcome::success
    } else {
        Outcome::error
    };
    ctx.metrics
        .observe(outcome, started.elapsed().as_secs_f64());
    if result.is_ok() {
        ctx.errors.on_success(&*wfe);
    }
    result
}

/// Requeues a failed reconcile after the configured jittered backoff for its attempt, or at
/// `spec.timesOutAt` if that comes first.
pub fn error_policy(wfe: Arc<WorkflowExecution>, error: &Error, ctx: Arc<Context>) -> Action {
    let action = ctx.errors.on_error_within(&*wfe, time_left(&wfe, &ctx));
    tracing::warn!(wfe = %wfe.name_any(), %error, failures = ctx.errors.failures(&*wfe), "reconcile failed; requeueing");
    action
}

async fn reconcile_inner(cached: Arc<WorkflowExecution>, ctx: &Context) -> Result<Action, Error> {
    let namespace = cached
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(cached.name_any()))?;
    let api: Api<WorkflowExecution> = Api::namespaced(ctx.client.clone(), &namespace);
    // Decide on the latest object, not the reflector's copy: the cache can lag our own status
    // write by a watch event, and acting on a stale `Pending` would re-create a Job that was
    // deleted after the execution started (seen under -j 4: the execution then stayed Running
    // on a Job nobody would finish).
    let Some(wfe) = api
        .get_opt(&cached.name_any())
        .await
        .map_err(|source| Error::Read {
            name: cached.name_any(),
            source,
        })?
    else {
        return Ok(Action::await_change()); // deleted meanwhile
    };
    let has_finalizer = wfe.finalizers().iter().any(|f| f == FINALIZER);
    if wfe.metadata.deletion_timestamp.is_some() {
        if has_finalizer {
            cleanup(&wfe, ctx).await?;
            set_finalizer(&api, &wfe, false).await?;
        }
        return Ok(Action::await_change());
    }
    if !has_finalizer {
        // The patch is a watch event of its own, which brings the next reconcile.
        set_finalizer(&api, &wfe, true).await?;
        return Ok(Action::await_change());
    }
    apply(&wfe, &api, ctx).await
}

/// Adds or removes our finalizer with a merge patch guarded by the resourceVersion (a
/// concurrent change makes it fail with 409 and the reconcile retries). A merge patch rather
/// than kube's JSON-patch `finalizer()` helper: its `test` of an absent list against `null`
/// is not portable across API server implementations.
async fn set_finalizer(
    api: &Api<WorkflowExecution>,
    wfe: &WorkflowExecution,
    present: bool,
) -> Result<(), Error> {
    let mut finalizers: Vec<String> = wfe
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(FINALIZER.to_owned());
    }
    let patch = serde_json::json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": wfe.resource_version()}
    });
    match api
        .patch(
            &wfe.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Already gone: nothing left to finalize.
        Err(kube::Error::Api(s)) if s.code == HTTP_NOT_FOUND && !present => Ok(()),
        Err(source) => Err(Error::Finalizer {
            action: if present { "add" } else { "remove" },
            name: wfe.name_any(),
            source,
        }),
    }
}

async fn apply(
    wfe: &WorkflowExecution,
    api: &Api<WorkflowExecution>,
    ctx: &Context,
) -> Result<Action, Error> {
    match wfe.phase() {
        WorkflowExecutionPhase::Pending => start(wfe, api, ctx).await,
        WorkflowExecutionPhase::Running => track(wfe, api, ctx).await,
        WorkflowExecutionPhase::Completed | WorkflowExecutionPhase::Failed => {
            release_after_cooldown(wfe, ctx).await
        }
    }
}

fn now(ctx: &Context) -> Time {
    Time(ctx.config.clock.now())
}

/// Time left until `spec.timesOutAt` (zero when past), `None` without a deadline.
fn time_left(wfe: &WorkflowExecution, ctx: &Context) -> Option<Duration> {
    requeue::time_left(wfe.spec.times_out_at.as_ref(), &ctx.config.clock)
}

fn jobs_api(ctx: &Context) -> Api<Job> {
    Api::namespaced(ctx.client.clone(), &ctx.config.execution_namespace)
}

fn job_error(ctx: &Context, action: &'static str, name: &str, source: kube::Error) -> Error {
    Error::Job {
        action,
        namespace: ctx.config.execution_namespace.clone(),
        name: name.to_owned(),
        source,
    }
}

/// Pending: create the Job (taking the lock) and move to Running, or fail as Deduplicated.
async fn start(
    wfe: &WorkflowExecution,
    api: &Api<WorkflowExecution>,
    ctx: &Context,
) -> Result<Action, Error> {
    if time_left(wfe, ctx) == Some(Duration::ZERO) {
        let details = FailureDetails {
            reason: FailureReason::TimedOut,
            message: "timesOutAt passed before the execution started".to_owned(),
            exit_code: None,
        };
        return fail(wfe, api, ctx, details).await;
    }
    if wfe.spec.workflow_ref.execution_engine != ExecutionEngine::Job {
        let details = FailureDetails {
            reason: FailureReason::ExecutionCreationFailed,
            message: "executionEngine tekton is not supported by this controller; use executionEngine job".to_owned(),
            exit_code: None,
        };
        return fail(wfe, api, ctx, details).await;
    }
    let desired = job::build(
        wfe,
        &ctx.config.execution_namespace,
        ctx.config.service_account.as_deref(),
    );
    let job_name = desired.name_any();
    let jobs = jobs_api(ctx);
    let job = match jobs.create(&PostParams::default(), &desired).await {
        Ok(job) => job,
        Err(kube::Error::Api(status)) if status.code == HTTP_CONFLICT => {
            let Some(existing) = jobs
                .get_opt(&job_name)
                .await
                .map_err(|e| job_error(ctx, "read", &job_name, e))?
            else {
                // Deleted between our create and get: the lock was just released; retry soon.
                return Ok(Action::requeue(ctx.config.phase_requeue));
            };
            let (namespace, name) = (wfe.namespace().unwrap_or_default(), wfe.name_any());
            if !job::is_owned_by(&existing, &namespace, &name) {
                let holder = job::owner_of(&existing).map_or_else(
                    || "an unknown owner".to_owned(),
                    |(ns, n)| format!("WorkflowExecution {ns}/{n}"),
                );
                let details = FailureDetails {
                    reason: FailureReason::Deduplicated,
                    message: format!(
                        "target {} is locked by {holder} (Job {}/{job_name})",
                        wfe.spec.target_resource, ctx.config.execution_namespace
                    ),
                    exit_code: None,
                };
                return fail(wfe, api, ctx, details).await;
            }
            // Ours, from an earlier reconcile whose status write did not land.
            existing
        }
        // The API server refused this Job for good (invalid, forbidden): retrying cannot help.
        Err(kube::Error::Api(status)) if PERMANENT_CREATE_ERRORS.contains(&status.code) => {
            let details = FailureDetails {
                reason: FailureReason::ExecutionCreationFailed,
                message: format!(
                    "execution Job {}/{job_name} was rejected: {}",
                    ctx.config.execution_namespace, status.message
                ),
                exit_code: None,
            };
            return fail(wfe, api, ctx, details).await;
        }
        Err(e) => return Err(job_error(ctx, "create", &job_name, e)),
    };
    let execution_ref = ObjectReference {
        api_version: Some("batch/v1".to_owned()),
        kind: Some("Job".to_owned()),
        name: Some(job.name_any()),
        namespace: Some(ctx.config.execution_namespace.clone()),
        uid: job.uid(),
        ..ObjectReference::default()
    };
    let time = now(ctx);
    let generation = wfe.metadata.generation;
    let written = manager::update_status_with(
        api,
        &wfe.name_any(),
        manager::WritePolicy::recording(ctx.config.status_write_attempts),
        |obj: &mut WorkflowExecution| {
            if !obj
                .phase()
                .can_transition_to(WorkflowExecutionPhase::Running)
            {
                return false;
            }
            let status = obj.status.get_or_insert_with(Default::default);
            status.phase = Some(WorkflowExecutionPhase::Running);
            status.message = Some(format!(
                "execution Job {} running",
                execution_ref.name.as_deref().unwrap_or_default()
            ));
            status.observed_generation = generation;
            status.execution_ref = Some(execution_ref.clone());
            status.start_time = Some(time.clone());
            let c = &mut status.conditions;
            set_condition(
                c,
                CONDITION_EXECUTION_CREATED,
                true,
                "JobCreated",
                "execution Job created",
                generation,
                &time,
            );
            set_condition(
                c,
                CONDITION_EXECUTION_RUNNING,
                true,
                "JobRunning",
                "execution Job running",
                generation,
                &time,
            );
            set_condition(
                c,
                CONDITION_READY,
                false,
                "Running",
                "workflow is running",
                generation,
                &time,
            );
            true
        },
    )
    .await?;
    if written.written() {
        record(
            ctx,
            wfe,
            "selection.completed",
            "selected",
            EventOutcome::Success,
            |e| e,
        );
        record(
            ctx,
            wfe,
            "execution.started",
            "started",
            EventOutcome::Pending,
            |e| e.with_data("job_name", job.name_any()),
        );
    }
    Ok(Action::requeue(ctx.config.phase_requeue))
}

/// Running: map the Job's status to the phase.
async fn track(
    wfe: &WorkflowExecution,
    api: &Api<WorkflowExecution>,
    ctx: &Context,
) -> Result<Action, Error> {
    let job_name = wfe
        .status
        .as_ref()
        .and_then(|s| s.execution_ref.as_ref())
        .and_then(|r| r.name.clone())
        .unwrap_or_else(|| job::lock_name(&wfe.spec.target_resource));
    let jobs = jobs_api(ctx);
    let Some(job) = jobs
        .get_opt(&job_name)
        .await
        .map_err(|e| job_error(ctx, "read", &job_name, e))?
    else {
        let details = FailureDetails {
            reason: FailureReason::ExecutionNotFound,
            message: format!(
                "execution Job {}/{job_name} disappeared while running",
                ctx.config.execution_namespace
            ),
            exit_code: None,
        };
        return fail(wfe, api, ctx, details).await;
    };
    match job::outcome(&job) {
        JobOutcome::Succeeded => complete(wfe, api, ctx).await,
        JobOutcome::Failed { reason, message } => {
            let pods: Api<Pod> = jobs_api_pods(ctx);
            let selector = format!("{}={job_name}", job::POD_JOB_NAME_LABEL);
            let pods = pods
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|source| Error::Pods {
                    namespace: ctx.config.execution_namespace.clone(),
                    name: job_name.clone(),
                    source,
                })?;
            fail(
                wfe,
                api,
                ctx,
                job::failure_details(&reason, &message, &pods.items),
            )
            .await
        }
        JobOutcome::Running => match time_left(wfe, ctx) {
            Some(Duration::ZERO) => {
                let details = FailureDetails {
                    reason: FailureReason::TimedOut,
                    message: format!("timesOutAt passed while Job {job_name} was running"),
                    exit_code: None,
                };
                fail(wfe, api, ctx, details).await
            }
            // Job changes arrive through the Job watch; the deadline needs a timer.
            Some(left) => Ok(Action::requeue(left)),
            None => Ok(Action::await_change()),
        },
    }
}

fn jobs_api_pods(ctx: &Context) -> Api<Pod> {
    Api::namespaced(ctx.client.clone(), &ctx.config.execution_namespace)
}

/// Running → Completed.
async fn complete(
    wfe: &WorkflowExecution,
    api: &Api<WorkflowExecution>,
    ctx: &Context,
) -> Result<Action, Error> {
    let time = now(ctx);
    let generation = wfe.metadata.generation;
    let written = manager::update_status_with(
        api,
        &wfe.name_any(),
        manager::WritePolicy::recording(ctx.config.status_write_attempts),
        |obj: &mut WorkflowExecution| {
            if !obj
                .phase()
                .can_transition_to(WorkflowExecutionPhase::Completed)
            {
                return false;
            }
            let status = obj.status.get_or_insert_with(Default::default);
            status.phase = Some(WorkflowExecutionPhase::Completed);
            status.message = Some("workflow completed".to_owned());
            status.observed_generation = generation;
            status.completion_time = Some(time.clone());
            let c = &mut status.conditions;
            set_condition(
                c,
                CONDITION_EXECUTION_RUNNING,
                false,
                "JobSucceeded",
                "execution Job finished",
                generation,
                &time,
            );
            set_condition(
                c,
                CONDITION_EXECUTION_COMPLETE,
                true,
                "JobSucceeded",
                "execution Job succeeded",
                generation,
                &time,
            );
            set_condition(
                c,
                CONDITION_READY,
                true,
                "Completed",
                "workflow completed",
                generation,
                &time,
            );
            true
        },
    )
    .await?;
    if written.written() {
        let duration = duration_ms(wfe, &time);
        record(
            ctx,
            wfe,
            "workflow.completed",
            "completed",
            EventOutcome::Success,
            |e| match duration {
                Some(ms) => e.with_duration_ms(ms),
                None => e,
            },
        );
    }
    Ok(Action::requeue(ctx.config.phase_requeue))
}

/// Pending|Running → Failed with `details`.
async fn fail(
    wfe: &WorkflowExecution,
    api: &Api<WorkflowExecution>,
    ctx: &Context,
    details: FailureDetails,
) -> Result<Action, Error> {
    let time = now(ctx);
    let generation = wfe.metadata.generation;
    let reason = details.reason.name();
    let written = manager::update_status_with(
        api,
        &wfe.name_any(),
        manager::WritePolicy::recording(ctx.config.status_write_attempts),
        |obj: &mut WorkflowExecution| {
            if !obj
                .phase()
                .can_transition_to(WorkflowExecutionPhase::Failed)
            {
                return false;
            }
            let status = obj.status.get_or_insert_with(Default::default);
            status.phase = Some(WorkflowExecutionPhase::Failed);
            status.message = Some(details.message.clone());
            status.observed_generation = generation;
            status.failure_details = Some(details.clone());
            status.completion_time = Some(time.clone());
            let c = &mut status.conditions;
            if status.execution_ref.is_some() {
                set_condition(
                    c,
                    CONDITION_EXECUTION_RUNNING,
                    false,
                    reason,
                    &details.message,
                    generation,
                    &time,
                );
            }
            set_condition(
                c,
                CONDITION_EXECUTION_COMPLETE,
                false,
                reason,
                &details.message,
                generation,
                &time,
            );
            set_condition(
                c,
                CONDITION_READY,
                false,
                reason,
                &details.message,
                generation,
                &time,
            );
            true
        },
    )
    .await?;
    if written.written() {
        let duration = duration_ms(wfe, &time);
        record(
            ctx,
            wfe,
            "workflow.failed",
            "failed",
            EventOutcome::Failure,
            |e| {
                let e = e
                    .with_error(reason, &details.message)
                    .with_data("failure_reason", reason);
                let e = match details.exit_code {
                    Some(code) => e.with_data("exit_code", code),
                    None => e,
                };
                match duration {
                    Some(ms) => e.with_duration_ms(ms),
                    None => e,
                }
            },
        );
    }
    Ok(Action::requeue(ctx.config.phase_requeue))
}

/// Completed|Failed: after the cooldown, delete our Job (releasing the target lock).
async fn release_after_cooldown(wfe: &WorkflowExecution, ctx: &Context) -> Result<Action, Error> {
    let Some(status) = wfe.status.as_ref() else {
        return Ok(Action::await_change());
    };
    // No executionRef: the Job was never ours (Deduplicated, or failed before creation).
    let Some(job_name) = status.execution_ref.as_ref().and_then(|r| r.name.clone()) else {
        return Ok(Action::await_change());
    };
    if let Some(done) = status.completion_time.as_ref() {
        let since = ctx.config.clock.now().duration_since(done.0);
        let since = Duration::try_from(since).unwrap_or(Duration::ZERO);
        if since < ctx.config.cooldown {
            return Ok(Action::requeue(ctx.config.cooldown - since));
        }
    }
    delete_owned_job(wfe, &job_name, ctx).await?;
    Ok(Action::await_change())
}

/// Deletion: remove our Job so the lock does not outlive the WorkflowExecution.
async fn cleanup(wfe: &WorkflowExecution, ctx: &Context) -> Result<Action, Error> {
    let job_name = wfe
        .status
        .as_ref()
        .and_then(|s| s.execution_ref.as_ref())
        .and_then(|r| r.name.clone())
        .unwrap_or_else(|| job::lock_name(&wfe.spec.target_resource));
    delete_owned_job(wfe, &job_name, ctx).await?;
    Ok(Action::await_change())
}

async fn delete_owned_job(
    wfe: &WorkflowExecution,
    job_name: &str,
    ctx: &Context,
) -> Result<(), Error> {
    let jobs = jobs_api(ctx);
    let Some(job) = jobs
        .get_opt(job_name)
        .await
        .map_err(|e| job_error(ctx, "read", job_name, e))?
    else {
        return Ok(());
    };
    if !job::is_owned_by(&job, &wfe.namespace().unwrap_or_default(), &wfe.name_any()) {
        return Ok(()); // another execution's lock: never ours to release
    }
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    match jobs.delete(job_name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == HTTP_NOT_FOUND => Ok(()),
        Err(e) => Err(job_error(ctx, "delete", job_name, e)),
    }
}

fn duration_ms(wfe: &WorkflowExecution, end: &Time) -> Option<i64> {
    let start = wfe.status.as_ref()?.start_time.as_ref()?;
    let span = end.0.duration_since(start.0);
    i64::try_from(Duration::try_from(span).ok()?.as_millis()).ok()
}

/// Records an audit event about `wfe`; the store never blocks and counts what it drops.
fn record(
    ctx: &Context,
    wfe: &WorkflowExecution,
    suffix: &str,
    action: &str,
    outcome: EventOutcome,
    extra: impl FnOnce(AuditEvent) -> AuditEvent,
) {
    let correlation_id = wfe
        .spec
        .remediation_request_ref
        .name
        .clone()
        .unwrap_or_else(|| wfe.name_any());
    let event = AuditEvent::new(
        format!("workflowexecution.{suffix}"),
        AUDIT_CATEGORY,
        action,
        outcome,
        correlation_id,
    )
    .with_actor("service", &ctx.config.service_name)
    .with_resource("WorkflowExecution", wfe.name_any())
    .with_namespace(wfe.namespace().unwrap_or_default())
    .with_data("workflow_id", wfe.spec.workflow_ref.workflow_id.clone())
    .with_data("action_type", wfe.spec.workflow_ref.action_type.clone())
    .with_data("target_resource", wfe.spec.target_resource.clone());
    if let Err(error) = ctx.audit.record(extra(event)) {
        tracing::warn!(wfe = %wfe.name_any(), %error, "audit event dropped");
    }
}
