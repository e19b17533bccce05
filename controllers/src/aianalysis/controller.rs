//! Reconciles AIAnalyses: Pending → Investigating (submit the incident to HolmesGPT-API, poll
//! its session, fetch the result) → Analyzing (the Rego approval policy) → Completed, or
//! Failed on a timeout, exhausted retries, a failed session, a malformed answer or a denial.
//! Every status change is one `/status` write through `manager::update_status_with`, which
//! retries transient API failures in place; the session id and the retry count live in status,
//! so a restarted controller resumes instead of starting over.

use std::sync::Arc;
use std::time::Duration;

use audit::{AuditEvent, AuditStore, EventOutcome};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use manager::{Backoff, ControllerContext, Manager, StatusError};

use super::hapi::{AnalysisResult, AnalyzeBody, CallError, HapiClient, SessionState};
use super::metrics::Metrics;
use super::policy::{ApprovalPolicy, PolicyError, PolicyInput};
use crate::api::aianalysis::{
    AIAnalysisStatus, ApprovalDecision, ApprovalStatus, InvestigationSession, PolicyEvaluation,
    RcaResult,
};
use crate::api::{AIAnalysis, AIAnalysisPhase, CONDITION_READY, FINALIZER, Time};
use crate::clock::Clock;
use crate::conditions::set_condition;
use crate::requeue::{self, ErrorBackoff};

/// Name of the controller in the manager (and in logs).
pub const CONTROLLER_NAME: &str = "aianalysis";
/// Actor id of audit events (`("service", "aianalysis")`).
pub const DEFAULT_SERVICE_NAME: &str = "aianalysis";
/// Where HolmesGPT-API listens by default (its service port in kubernaut).
pub const DEFAULT_HAPI_URL: &str = "http://127.0.0.1:8080";
/// A HolmesGPT-API call slower than this counts as a transient error (an LLM-backed analysis
/// is asynchronous: the calls themselves only submit and read state).
pub const DEFAULT_HAPI_TIMEOUT: Duration = Duration::from_secs(10);
/// Time between session polls: an investigation takes tens of seconds in production.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Deadline of an analysis created without `spec.timesOutAt`, from its creation: the
/// orchestrator always sets one, but an analysis created by hand must not poll a stalled
/// session for ever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Transient HolmesGPT-API errors tolerated before the analysis fails (kubernaut's budget).
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// Requeue after a phase change (kubernaut uses 100 ms).
pub const DEFAULT_PHASE_REQUEUE: Duration = Duration::from_millis(100);
/// Audit event category.
const AUDIT_CATEGORY: &str = "aianalysis";
/// HTTP status for NotFound.
const HTTP_NOT_FOUND: u16 = 404;

/// `status.reason` values. The RemediationOrchestrator reads them.
pub mod reason {
    /// Completed with a workflow the policy approved.
    pub const WORKFLOW_SELECTED: &str = "WorkflowSelected";
    /// Completed with a workflow that needs a human's approval.
    pub const APPROVAL_REQUIRED: &str = "ApprovalRequired";
    /// Completed: HolmesGPT-API found no workflow is needed.
    pub const NO_WORKFLOW_NEEDED: &str = "NoWorkflowNeeded";
    /// Failed: transient HolmesGPT-API errors exhausted the retry budget.
    pub const MAX_RETRIES_EXCEEDED: &str = "MaxRetriesExceeded";
    /// Failed: HolmesGPT-API refused the request.
    pub const REQUEST_REJECTED: &str = "RequestRejected";
    /// Failed: the investigation session failed.
    pub const INVESTIGATION_FAILED: &str = "InvestigationFailed";
    /// Failed: HolmesGPT-API's answer did not have the documented shape.
    pub const INVALID_RESPONSE: &str = "InvalidResponse";
    /// Failed: `spec.timesOutAt` passed.
    pub const TIMEOUT: &str = "Timeout";
    /// Failed: the approval policy denied the workflow.
    pub const APPROVAL_DENIED: &str = "ApprovalDenied";
    /// Failed: the approval policy could not be evaluated.
    pub const POLICY_EVALUATION_FAILED: &str = "PolicyEvaluationFailed";
}

/// Everything the controller's behaviour depends on; every duration is here so tests can run
/// in milliseconds.
#[derive(Debug, Clone)]
pub struct Config {
    /// HolmesGPT-API's base URL.
    pub hapi_url: String,
    /// Bound on each HolmesGPT-API call.
    pub hapi_timeout: Duration,
    /// Time between session polls.
    pub poll_interval: Duration,
    /// Transient errors tolerated (then Failed/MaxRetriesExceeded).
    pub max_retries: u32,
    /// Delay before retry n (0-based) after a transient error.
    pub retry_backoff: Backoff,
    /// Requeue delay after a phase change.
    pub phase_requeue: Duration,
    /// Requeue delays after reconcile errors (API server trouble).
    pub error_backoff: Backoff,
    /// Status write attempts before giving up on conflicts.
    pub status_write_attempts: u32,
    /// How long a status write retries transient API failures (429, 5xx, no connection) in
    /// place: most writes record what HolmesGPT-API just did (a session submitted, a failed
    /// call counted), and a write lost to a requeue would submit or count it again.
    pub record_retry_for: Duration,
    /// Actor id on audit events.
    pub service_name: String,
    /// The approval policy.
    pub policy: ApprovalPolicy,
    /// What `timesOutAt` is measured against.
    pub clock: Clock,
    /// Deadline of an analysis without `spec.timesOutAt`, from `metadata.creationTimestamp`.
    pub default_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hapi_url: DEFAULT_HAPI_URL.to_owned(),
            hapi_timeout: DEFAULT_HAPI_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_retries: DEFAULT_MAX_RETRIES,
            // 1 s doubling to 30 s with ±10 % jitter: five retries span about 30 s, long enough
            // to ride out a HolmesGPT-API restart.
            retry_backoff: Backoff::new(Duration::from_secs(1), 2.0, Duration::from_secs(30), 0.1),
            phase_requeue: DEFAULT_PHASE_REQUEUE,
            // 1 s doubling to 5 min with ±10 % jitter: kubernaut's transient-error backoff shape.
            error_backoff: Backoff::new(Duration::from_secs(1), 2.0, Duration::from_secs(300), 0.1),
            status_write_attempts: manager::status::DEFAULT_MAX_ATTEMPTS,
            record_retry_for: manager::status::DEFAULT_RECORD_RETRY_FOR,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            policy: ApprovalPolicy::default_policy(),
            clock: Clock::system(),
            default_timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The analysis's deadline: `spec.timesOutAt`, else its creation plus the configured default
/// (`None` only for an object without a creation timestamp, which the API server always sets).
fn deadline(aia: &AIAnalysis, config: &Config) -> Option<Time> {
    if let Some(at) = &aia.spec.times_out_at {
        return Some(at.clone());
    }
    let created = aia.metadata.creation_timestamp.as_ref()?.0;
    let by = jiff::SignedDuration::try_from(config.default_timeout).ok()?;
    created.checked_add(by).ok().map(Time)
}

/// Names the deadline in a failure message.
fn deadline_text(aia: &AIAnalysis, config: &Config) -> String {
    if aia.spec.times_out_at.is_some() {
        "timesOutAt".to_owned()
    } else {
        format!(
            "the default deadline ({:?} after creation; spec.timesOutAt is not set)",
            config.default_timeout
        )
    }
}

impl Config {
    /// The defaults with HolmesGPT-API at `hapi_url` and the shipped approval policy
    /// (`policies/aianalysis/approval.rego`).
    pub fn with_default_policy(hapi_url: impl Into<String>) -> Config {
        Config {
            hapi_url: hapi_url.into(),
            ..Config::default()
        }
    }

    /// Replaces the approval policy with the one in `path`; a policy that does not load or
    /// compile is an error naming the file.
    pub fn with_policy_file(
        mut self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Config, PolicyError> {
        self.policy = ApprovalPolicy::from_file(path)?;
        Ok(self)
    }
}

/// Why a reconcile failed (it is requeued with backoff). HolmesGPT-API trouble is not an
/// error here: it is part of the analysis and shows in status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object has no namespace (AIAnalysis is namespaced; a bug upstream).
    #[error("AIAnalysis {0} has no namespace")]
    MissingNamespace(String),
    /// Reading the AIAnalysis failed.
    #[error("failed to read AIAnalysis {name}")]
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
    #[error("failed to {action} finalizer {FINALIZER} on AIAnalysis {name}")]
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
    hapi: HapiClient,
    errors: ErrorBackoff,
}

impl Context {
    /// A context for reconciles.
    pub fn new(client: Client, config: Config, metrics: Metrics, audit: AuditStore) -> Self {
        let errors = ErrorBackoff::new(config.error_backoff);
        let hapi = HapiClient::new(&config.hapi_url, config.hapi_timeout);
        Self {
            client,
            config,
            metrics,
            audit,
            hapi,
            errors,
        }
    }
}

/// Registers the AIAnalysis controller on `manager`: watches every AIAnalysis.
///
/// Woken by creation, spec changes and deletion (which bumps the generation) only: a transient
/// HolmesGPT-API error records its retry count in the status, and if that write woke the
/// controller again the retry backoff would never apply. Every step that writes and expects
/// to go on asks for a requeue instead.
pub fn register(manager: &mut Manager, config: Config, metrics: Metrics, audit: AuditStore) {
    manager.add(CONTROLLER_NAME, move |ctx: ControllerContext| {
        let client = ctx.client();
        let controller = ctx.controller_on_generation(
            Api::<AIAnalysis>::all(client.clone()),
            watcher::Config::default(),
        );
        let context = Arc::new(Context::new(client, config, metrics, audit));
        ctx.run(controller, reconcile, error_policy, context)
    });
}

/// Reconciles one AIAnalysis.
pub async fn reconcile(aia: Arc<AIAnalysis>, ctx: Arc<Context>) -> Result<Action, Error> {
    let result = reconcile_inner(&aia, &ctx).await;
    if result.is_ok() {
        ctx.errors.on_success(&*aia);
    }
    result
}

/// Requeues a failed reconcile after the configured jittered backoff for its attempt, or at
/// `spec.timesOutAt` if that comes first.
pub fn error_policy(aia: Arc<AIAnalysis>, error: &Error, ctx: Arc<Context>) -> Action {
    let left = requeue::time_left(deadline(&aia, &ctx.config).as_ref(), &ctx.config.clock);
    let action = ctx.errors.on_error_within(&*aia, left);
    tracing::warn!(aia = %aia.name_any(), %error, failures = ctx.errors.failures(&*aia), "reconcile failed; requeueing");
    action
}

async fn reconcile_inner(cached: &AIAnalysis, ctx: &Context) -> Result<Action, Error> {
    let namespace = cached
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(cached.name_any()))?;
    let api: Api<AIAnalysis> = Api::namespaced(ctx.client.clone(), &namespace);
    // Decide on the latest object: the reflector's copy can lag our own status write, and a
    // stale "no session yet" would submit the incident a second time.
    let Some(aia) = api
        .get_opt(&cached.name_any())
        .await
        .map_err(|source| Error::Read {
            name: cached.name_any(),
            source,
        })?
    else {
        return Ok(Action::await_change());
    };
    let has_finalizer = aia.finalizers().iter().any(|f| f == FINALIZER);
    if aia.metadata.deletion_timestamp.is_some() {
        if has_finalizer {
            // Nothing outlives an AIAnalysis outside the API server: HolmesGPT-API sessions
            // expire on their own. Removing the finalizer is the whole cleanup.
            set_finalizer(&api, &aia, false).await?;
        }
        return Ok(Action::await_change());
    }
    if !has_finalizer {
        set_finalizer(&api, &aia, true).await?;
        // The finalizer write does not wake us (metadata, not generation): go on by requeue.
        return Ok(Action::requeue(ctx.config.phase_requeue));
    }
    let mut step = Step {
        aia: &aia,
        api: &api,
        ctx,
    };
    match aia.phase() {
        AIAnalysisPhase::Pending => step.start().await,
        AIAnalysisPhase::Investigating => step.investigate().await,
        AIAnalysisPhase::Analyzing => step.analyze().await,
        AIAnalysisPhase::Completed | AIAnalysisPhase::Failed => Ok(Action::await_change()),
    }
}

/// Adds or removes our finalizer with a merge patch guarded by the resourceVersion.
async fn set_finalizer(
    api: &Api<AIAnalysis>,
    aia: &AIAnalysis,
    present: bool,
) -> Result<(), Error> {
    let mut finalizers: Vec<String> = aia
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(FINALIZER.to_owned());
    }
    let patch = serde_json::json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": aia.resource_version()}
    });
    match api
        .patch(
            &aia.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == HTTP_NOT_FOUND && !present => Ok(()),
        Err(source) => Err(Error::Finalizer {
            action: if present { "add" } else { "remove" },
            name: aia.name_any(),
            source,
        }),
    }
}

/// One reconcile of one AIAnalysis.
struct Step<'a> {
    aia: &'a AIAnalysis,
    api: &'a Api<AIAnalysis>,
    ctx: &'a Context,
}

/// What a failure records.
struct Failure {
    reason: &'static str,
    message: String,
    approval: Option<ApprovalStatus>,
}

impl Step<'_> {
    fn now(&self) -> Time {
        Time(self.ctx.config.clock.now())
    }

    /// Time left until `spec.timesOutAt` (zero when past), `None` without a deadline.
    fn time_left(&self) -> Option<Duration> {
        requeue::time_left(
            deadline(self.aia, &self.ctx.config).as_ref(),
            &self.ctx.config.clock,
        )
    }

    /// A requeue after `delay`, but no later than the deadline.
    fn requeue(&self, delay: Duration) -> Action {
        requeue::requeue_within(delay, self.time_left())
    }

    fn status(&self) -> AIAnalysisStatus {
        self.aia.status.clone().unwrap_or_default()
    }

    fn session(&self) -> InvestigationSession {
        self.status().investigation.unwrap_or_default()
    }

    /// Writes the status once, if the object is still in `from` with the session we read
    /// (a concurrent writer that moved it on wins); returns whether it was written.
    async fn write(
        &self,
        from: AIAnalysisPhase,
        mutate: impl Fn(&mut AIAnalysisStatus),
    ) -> Result<bool, Error> {
        let seen_session = self.session();
        let policy = manager::WritePolicy::conflicts(self.ctx.config.status_write_attempts)
            .retrying_transient(self.ctx.config.record_retry_for);
        let written = manager::update_status_with(
            self.api,
            &self.aia.name_any(),
            policy,
            |obj: &mut AIAnalysis| {
                if obj.phase() != from {
                    return false;
                }
                let status = obj.status.get_or_insert_with(Default::default);
                if status.investigation.clone().unwrap_or_default() != seen_session {
                    return false;
                }
                mutate(status);
                true
            },
        )
        .await?;
        Ok(written.written())
    }

    /// Pending → Investigating.
    async fn start(&mut self) -> Result<Action, Error> {
        let time = self.now();
        let generation = self.aia.metadata.generation;
        let written = self
            .write(AIAnalysisPhase::Pending, |status| {
                status.phase = Some(AIAnalysisPhase::Investigating);
                status.reason = Some("Investigating".to_owned());
                status.message = Some("submitting the incident to HolmesGPT-API".to_owned());
                status.observed_generation = generation;
                status.start_time = Some(time.clone());
                status.investigation = Some(InvestigationSession::default());
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    false,
                    "Investigating",
                    "waiting for HolmesGPT-API",
                    generation,
                    &time,
                );
            })
            .await?;
        if written {
            self.record("analysis.started", "started", EventOutcome::Pending, |e| e);
        }
        Ok(Action::requeue(self.ctx.config.phase_requeue))
    }

    /// Investigating: submit, poll, fetch the result.
    async fn investigate(&mut self) -> Result<Action, Error> {
        if self.time_left() == Some(Duration::ZERO) {
            return self
                .fail(
                    AIAnalysisPhase::Investigating,
                    Failure {
                        reason: reason::TIMEOUT,
                        message: format!(
                            "{} passed while HolmesGPT-API was investigating",
                            deadline_text(self.aia, &self.ctx.config)
                        ),
                        approval: None,
                    },
                )
                .await;
        }
        let Some(session) = self.session().session_id else {
            return self.submit().await;
        };
        match self.ctx.hapi.status(&session).await {
            Ok(SessionState::Pending | SessionState::Investigating) => {
                Ok(self.requeue(self.ctx.config.poll_interval))
            }
            Ok(SessionState::Completed) => match self.ctx.hapi.result(&session).await {
                Ok(result) => {
                    self.call_event("result", Some(&session), None);
                    self.investigated(result).await
                }
                Err(CallError::NotCompleted(_)) => Ok(self.requeue(self.ctx.config.poll_interval)),
                Err(e) => self.call_failed("result", Some(&session), e).await,
            },
            Ok(SessionState::Failed(error)) => {
                self.fail(
                    AIAnalysisPhase::Investigating,
                    Failure {
                        reason: reason::INVESTIGATION_FAILED,
                        message: format!("HolmesGPT-API session {session} failed: {error}"),
                        approval: None,
                    },
                )
                .await
            }
            Err(e) => self.call_failed("status", Some(&session), e).await,
        }
    }

    async fn submit(&mut self) -> Result<Action, Error> {
        let body = AnalyzeBody::for_analysis(self.aia);
        match self.ctx.hapi.submit(&body).await {
            Ok(session) => {
                let generation = self.aia.metadata.generation;
                let id = session.clone();
                let written = self
                    .write(AIAnalysisPhase::Investigating, |status| {
                        let inv = status.investigation.get_or_insert_with(Default::default);
                        inv.session_id = Some(id.clone());
                        status.message = Some(format!("HolmesGPT-API session {id} investigating"));
                        status.observed_generation = generation;
                    })
                    .await?;
                self.call_event("analyze", Some(&session), None);
                if !written {
                    tracing::info!(aia = %self.aia.name_any(), %session, "status moved on meanwhile; the new session is abandoned");
                }
                Ok(self.requeue(self.ctx.config.poll_interval))
            }
            Err(e) => self.call_failed("analyze", None, e).await,
        }
    }

    /// A call failed: retry (transient or lost session, within the budget) or fail.
    async fn call_failed(
        &mut self,
        endpoint: &str,
        session: Option<&str>,
        error: CallError,
    ) -> Result<Action, Error> {
        self.call_event(endpoint, session, Some(&error));
        let (retryable, lost, failure_reason) = match &error {
            CallError::Transient(_) => (true, false, reason::MAX_RETRIES_EXCEEDED),
            CallError::SessionLost(_) => (true, true, reason::MAX_RETRIES_EXCEEDED),
            CallError::NotCompleted(_) => (true, false, reason::MAX_RETRIES_EXCEEDED),
            CallError::Rejected(_) => (false, false, reason::REQUEST_REJECTED),
            CallError::Invalid { .. } => (false, false, reason::INVALID_RESPONSE),
        };
        let retries = self.session().retry_count;
        let budget = i32::try_from(self.ctx.config.max_retries).unwrap_or(i32::MAX);
        if !retryable || retries >= budget {
            let message = if retryable {
                format!("HolmesGPT-API still failing after {retries} retries: {error}")
            } else {
                error.to_string()
            };
            return self
                .fail(
                    AIAnalysisPhase::Investigating,
                    Failure {
                        reason: failure_reason,
                        message,
                        approval: None,
                    },
                )
                .await;
        }
        let generation = self.aia.metadata.generation;
        let message = if lost {
            format!(
                "{error}; submitting the incident again (retry {} of {budget})",
                retries + 1
            )
        } else {
            format!("{error}; retry {} of {budget}", retries + 1)
        };
        self.write(AIAnalysisPhase::Investigating, |status| {
            let inv = status.investigation.get_or_insert_with(Default::default);
            inv.retry_count = retries + 1;
            if lost {
                // A lost session is recreated by the next reconcile's submit.
                inv.session_id = None;
            }
            status.message = Some(message.clone());
            status.observed_generation = generation;
        })
        .await?;
        let attempt = u32::try_from(retries).unwrap_or(0);
        let delay = if lost {
            self.ctx.config.phase_requeue
        } else {
            self.ctx.config.retry_backoff.delay(attempt)
        };
        Ok(self.requeue(delay))
    }

    /// The session completed: Analyzing with a workflow, Completed without one.
    async fn investigated(&mut self, result: AnalysisResult) -> Result<Action, Error> {
        let time = self.now();
        let generation = self.aia.metadata.generation;
        let rca = RcaResult {
            root_cause: result.root_cause.clone(),
            selected_workflow: result.selected_workflow.clone(),
        };
        let Some(workflow) = result.selected_workflow else {
            let written = self
                .write(AIAnalysisPhase::Investigating, |status| {
                    status.phase = Some(AIAnalysisPhase::Completed);
                    status.reason = Some(reason::NO_WORKFLOW_NEEDED.to_owned());
                    status.message =
                        Some("HolmesGPT-API found that no workflow is needed".to_owned());
                    status.observed_generation = generation;
                    status.rca_result = Some(rca.clone());
                    status.approval = Some(ApprovalStatus {
                        approval_required: false,
                        approval_reason: None,
                        policy_evaluation: None,
                    });
                    status.completed_at = Some(time.clone());
                    set_condition(
                        &mut status.conditions,
                        CONDITION_READY,
                        true,
                        reason::NO_WORKFLOW_NEEDED,
                        "analysis completed: no workflow needed",
                        generation,
                        &time,
                    );
                })
                .await?;
            if written {
                let ms = self.duration_ms(&time);
                self.record(
                    "analysis.completed",
                    "completed",
                    EventOutcome::Success,
                    |e| {
                        let e = e
                            .with_data("root_cause", rca.root_cause.clone())
                            .with_data("workflow_needed", false);
                        with_duration(e, ms)
                    },
                );
            }
            return Ok(Action::requeue(self.ctx.config.phase_requeue));
        };
        let written = self
            .write(AIAnalysisPhase::Investigating, |status| {
                status.phase = Some(AIAnalysisPhase::Analyzing);
                status.reason = Some("Analyzing".to_owned());
                status.message = Some(format!(
                    "evaluating the approval policy for workflow {} (confidence {})",
                    workflow.workflow_id, workflow.confidence
                ));
                status.observed_generation = generation;
                status.rca_result = Some(rca.clone());
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    false,
                    "Analyzing",
                    "evaluating the approval policy",
                    generation,
                    &time,
                );
            })
            .await?;
        if written {
            self.ctx
                .metrics
                .confidence_score_distribution
                .observe(workflow.confidence);
        }
        Ok(Action::requeue(self.ctx.config.phase_requeue))
    }

    /// Analyzing: the approval policy decides, then Completed (or Failed when denied).
    async fn analyze(&mut self) -> Result<Action, Error> {
        if self.time_left() == Some(Duration::ZERO) {
            return self
                .fail(
                    AIAnalysisPhase::Analyzing,
                    Failure {
                        reason: reason::TIMEOUT,
                        message: format!(
                            "{} passed before the approval decision",
                            deadline_text(self.aia, &self.ctx.config)
                        ),
                        approval: None,
                    },
                )
                .await;
        }
        let status = self.status();
        let Some(workflow) = status.rca_result.and_then(|r| r.selected_workflow) else {
            return self
                .fail(
                    AIAnalysisPhase::Analyzing,
                    Failure {
                        reason: reason::INVALID_RESPONSE,
                        message: "Analyzing without a selected workflow in status.rcaResult"
                            .to_owned(),
                        approval: None,
                    },
                )
                .await;
        };
        let signal = &self.aia.spec.analysis_request.signal_context;
        let environment = signal.environment.name();
        let input = PolicyInput {
            environment: environment.to_owned(),
            confidence: workflow.confidence,
            action_type: workflow.action_type.clone(),
            workflow_id: workflow.workflow_id.clone(),
            severity: signal.severity.clone(),
            business_priority: signal.business_priority.name().to_owned(),
        };
        let policy = &self.ctx.config.policy;
        let outcome = match policy.evaluate(&input) {
            Ok(outcome) => {
                self.ctx.metrics.rego_evaluation(true);
                outcome
            }
            Err(e) => {
                self.ctx.metrics.rego_evaluation(false);
                return self
                    .fail(
                        AIAnalysisPhase::Analyzing,
                        Failure {
                            reason: reason::POLICY_EVALUATION_FAILED,
                            message: e.to_string(),
                            approval: None,
                        },
                    )
                    .await;
            }
        };
        let rules = outcome.matched_rules.join(", ");
        let evaluation = PolicyEvaluation {
            decision: outcome.decision,
            policy_name: Some(policy.name().to_owned()),
            matched_rules: outcome.matched_rules.clone(),
        };
        let approval_required = outcome.decision == ApprovalDecision::ManualReviewRequired;
        let approval = ApprovalStatus {
            approval_required,
            approval_reason: (!rules.is_empty()).then(|| rules.clone()),
            policy_evaluation: Some(evaluation),
        };
        let decision = outcome.decision.name();
        if outcome.decision == ApprovalDecision::Denied {
            let written = self
                .fail(
                    AIAnalysisPhase::Analyzing,
                    Failure {
                        reason: reason::APPROVAL_DENIED,
                        message: format!(
                            "the approval policy denied workflow {} ({rules})",
                            workflow.workflow_id
                        ),
                        approval: Some(approval.clone()),
                    },
                )
                .await;
            return written;
        }
        let time = self.now();
        let generation = self.aia.metadata.generation;
        let (why, message) = if approval_required {
            (
                reason::APPROVAL_REQUIRED,
                format!("workflow {} needs approval ({rules})", workflow.workflow_id),
            )
        } else {
            (
                reason::WORKFLOW_SELECTED,
                format!("workflow {} approved by policy", workflow.workflow_id),
            )
        };
        let written = self
            .write(AIAnalysisPhase::Analyzing, |status| {
                status.phase = Some(AIAnalysisPhase::Completed);
                status.reason = Some(why.to_owned());
                status.message = Some(message.clone());
                status.observed_generation = generation;
                status.approval = Some(approval.clone());
                status.completed_at = Some(time.clone());
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    true,
                    why,
                    &message,
                    generation,
                    &time,
                );
            })
            .await?;
        if written {
            self.ctx.metrics.decision(decision, environment);
            self.decision_event(decision, &approval, &workflow.workflow_id);
            let ms = self.duration_ms(&time);
            self.record(
                "analysis.completed",
                "completed",
                EventOutcome::Success,
                |e| {
                    let e = e
                        .with_data("workflow_id", workflow.workflow_id.clone())
                        .with_data("action_type", workflow.action_type.clone())
                        .with_data("confidence", workflow.confidence)
                        .with_data("approval_required", approval_required)
                        .with_data("workflow_needed", true);
                    with_duration(e, ms)
                },
            );
        }
        Ok(Action::requeue(self.ctx.config.phase_requeue))
    }

    /// `from` → Failed.
    async fn fail(&mut self, from: AIAnalysisPhase, failure: Failure) -> Result<Action, Error> {
        let time = self.now();
        let generation = self.aia.metadata.generation;
        let Failure {
            reason,
            message,
            approval,
        } = failure;
        let written = self
            .write(from, |status| {
                status.phase = Some(AIAnalysisPhase::Failed);
                status.reason = Some(reason.to_owned());
                status.message = Some(message.clone());
                status.observed_generation = generation;
                if approval.is_some() {
                    status.approval = approval.clone();
                }
                status.completed_at = Some(time.clone());
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    false,
                    reason,
                    &message,
                    generation,
                    &time,
                );
            })
            .await?;
        if written {
            self.ctx.metrics.failure(reason);
            if let Some(approval) = &approval {
                let environment = self
                    .aia
                    .spec
                    .analysis_request
                    .signal_context
                    .environment
                    .name();
                self.ctx
                    .metrics
                    .decision(ApprovalDecision::Denied.name(), environment);
                let workflow = self
                    .status()
                    .rca_result
                    .and_then(|r| r.selected_workflow)
                    .map(|w| w.workflow_id)
                    .unwrap_or_default();
                self.decision_event(ApprovalDecision::Denied.name(), approval, &workflow);
            }
            let ms = self.duration_ms(&time);
            self.record("analysis.failed", "failed", EventOutcome::Failure, |e| {
                let e = e
                    .with_error(reason, &message)
                    .with_data("failure_reason", reason)
                    .with_data("phase", from.name());
                with_duration(e, ms)
            });
        }
        Ok(Action::requeue(self.ctx.config.phase_requeue))
    }

    fn duration_ms(&self, end: &Time) -> Option<i64> {
        let start = self.aia.status.as_ref()?.start_time.as_ref()?;
        let span = end.0.duration_since(start.0);
        i64::try_from(Duration::try_from(span).ok()?.as_millis()).ok()
    }

    fn decision_event(&self, decision: &str, approval: &ApprovalStatus, workflow_id: &str) {
        let matched = approval
            .policy_evaluation
            .as_ref()
            .map(|p| p.matched_rules.clone())
            .unwrap_or_default();
        let environment = self
            .aia
            .spec
            .analysis_request
            .signal_context
            .environment
            .name();
        self.record("approval.decision", "decided", EventOutcome::Success, |e| {
            e.with_data("decision", decision)
                .with_data("approval_required", approval.approval_required)
                .with_data("matched_rules", matched)
                .with_data("environment", environment)
                .with_data("workflow_id", workflow_id)
        });
    }

    /// `aianalysis.holmesgpt.call`: one per submit and result call, and one per failed call.
    fn call_event(&self, endpoint: &str, session: Option<&str>, error: Option<&CallError>) {
        let outcome = if error.is_some() {
            EventOutcome::Failure
        } else {
            EventOutcome::Success
        };
        let session = session.map(str::to_owned);
        let error = error.map(|e| e.to_string());
        self.record("holmesgpt.call", "called", outcome, |e| {
            let e = e.with_data("endpoint", endpoint);
            let e = match session {
                Some(s) => e.with_data("session_id", s),
                None => e,
            };
            match error {
                Some(message) => e.with_error("HolmesGPTCallFailed", message),
                None => e,
            }
        });
    }

    /// Records an audit event about the AIAnalysis; the store never blocks and counts drops.
    fn record(
        &self,
        suffix: &str,
        action: &str,
        outcome: EventOutcome,
        extra: impl FnOnce(AuditEvent) -> AuditEvent,
    ) {
        let aia = self.aia;
        let correlation_id = aia
            .spec
            .remediation_request_ref
            .name
            .clone()
            .unwrap_or_else(|| aia.spec.remediation_id.clone());
        let event = AuditEvent::new(
            format!("aianalysis.{suffix}"),
            AUDIT_CATEGORY,
            action,
            outcome,
            correlation_id,
        )
        .with_actor("service", &self.ctx.config.service_name)
        .with_resource("AIAnalysis", aia.name_any())
        .with_namespace(aia.namespace().unwrap_or_default())
        .with_data("remediation_id", aia.spec.remediation_id.clone())
        .with_data(
            "signal_name",
            aia.spec.analysis_request.signal_context.signal_name.clone(),
        );
        if let Err(error) = self.ctx.audit.record(extra(event)) {
            tracing::warn!(aia = %aia.name_any(), %error, "audit event dropped");
        }
    }
}

fn with_duration(e: AuditEvent, ms: Option<i64>) -> AuditEvent {
    match ms {
        Some(ms) => e.with_duration_ms(ms),
        None => e,
    }
}
