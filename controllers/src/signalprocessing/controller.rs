//! Reconciles SignalProcessings through Pending → Enriching → Classifying → Categorizing →
//! Completed (any active phase → Failed past `spec.timesOutAt`): each phase's work ends in ONE
//! `/status` write through `manager::update_status_with` (DD-PERF-001; transient API failures
//! retried in place, `WritePolicy::recording`) that records its result and moves to the next
//! phase.
//!
//! Policy evaluation errors do not fail a signal: a missing priority must not stop a
//! remediation, and the answer is wrong for every signal alike, so it is an operator's problem
//! to fix, not the signal's. The documented fallback is: environment `Unknown` (source
//! `policy-fallback`), priority from the severity alone (never P0, source `severity-fallback`),
//! criticality from the priority (source `priority-fallback`); the error is recorded in the
//! status message, the Ready condition's message, the audit events (`policy_error`) and the
//! `degraded` result of `processing_total`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use audit::{AuditEvent, AuditStore, EventOutcome};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use manager::{Backoff, ControllerContext, Manager, StatusError};

use super::enrich::{self, LookupError};
use super::metrics::{Metrics, ProcessingResult};
use super::policy::{self, Policies, PolicyError, PolicyInput};
use crate::api::signalprocessing::{
    BusinessClassification, EnvironmentClassification, FailureInfo, PriorityAssignment,
};
use crate::api::{
    CONDITION_READY, Environment, Phase as _, SignalProcessing, SignalProcessingPhase,
    SignalProcessingStatus, Time,
};
use crate::clock::Clock;
use crate::conditions::set_condition;
use crate::requeue::{self, ErrorBackoff};

/// Name of the controller in the manager (and in logs).
pub const CONTROLLER_NAME: &str = "signalprocessing";
/// Requeue after a phase change, so the next phase starts promptly even without a watch event
/// (kubernaut uses 100 ms).
pub const DEFAULT_PHASE_REQUEUE: Duration = Duration::from_millis(100);
/// Actor id of audit events (kubernaut's service name).
pub const DEFAULT_SERVICE_NAME: &str = "signalprocessing";
/// First retry after a transient error: kubernaut's SignalProcessing backoff base.
pub const DEFAULT_ERROR_BACKOFF_BASE: Duration = Duration::from_secs(30);
/// Longest retry delay: kubernaut's SignalProcessing backoff cap.
pub const DEFAULT_ERROR_BACKOFF_CAP: Duration = Duration::from_secs(5 * 60);
/// Each retry waits this much longer than the previous one.
pub const ERROR_BACKOFF_FACTOR: f64 = 2.0;
/// ±10 % so that objects failing together do not retry together.
pub const ERROR_BACKOFF_JITTER: f64 = 0.1;
/// Audit event category.
const AUDIT_CATEGORY: &str = "signalprocessing";
/// `source` of an environment decided by the fallback.
pub const SOURCE_POLICY_FALLBACK: &str = "policy-fallback";
/// `source` of a priority decided by the fallback.
pub const SOURCE_SEVERITY_FALLBACK: &str = "severity-fallback";
/// `source` of a criticality decided by the fallback.
pub const SOURCE_PRIORITY_FALLBACK: &str = "priority-fallback";
/// Ready condition reason (and failureInfo prefix) of a signal failed by its deadline.
pub const REASON_TIMED_OUT: &str = "TimedOut";

/// Everything the controller's behaviour depends on; every duration is here so tests run in
/// milliseconds.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Rego policies (environment, priority, business).
    pub policies: Policies,
    /// Requeue delay after a phase change.
    pub phase_requeue: Duration,
    /// Requeue delays after transient errors (attempt-indexed).
    pub error_backoff: Backoff,
    /// Status write attempts before giving up on conflicts.
    pub status_write_attempts: u32,
    /// Actor id on audit events.
    pub service_name: String,
    /// What `timesOutAt` is measured against.
    pub clock: Clock,
}

impl Default for Config {
    /// kubernaut's defaults with the policies shipped in `controllers/policies/signalprocessing/`.
    fn default() -> Self {
        Self {
            policies: Policies::builtin(),
            phase_requeue: DEFAULT_PHASE_REQUEUE,
            error_backoff: Backoff::new(
                DEFAULT_ERROR_BACKOFF_BASE,
                ERROR_BACKOFF_FACTOR,
                DEFAULT_ERROR_BACKOFF_CAP,
                ERROR_BACKOFF_JITTER,
            ),
            status_write_attempts: manager::status::DEFAULT_MAX_ATTEMPTS,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            clock: Clock::system(),
        }
    }
}

impl Config {
    /// The defaults with the shipped policies (the same as [`Config::default`]; named for
    /// callers that want to say so).
    pub fn with_default_policies() -> Self {
        Self::default()
    }

    /// The defaults with the policies in `dir` (`environment.rego`, `priority.rego`,
    /// `business.rego`); the error names the file that failed.
    pub fn with_policy_dir(dir: &std::path::Path) -> Result<Self, PolicyError> {
        Ok(Self {
            policies: Policies::from_dir(dir)?,
            ..Self::default()
        })
    }
}

/// Why a reconcile failed (it is requeued with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object has no namespace (SignalProcessing is namespaced; a bug upstream).
    #[error("SignalProcessing {0} has no namespace")]
    MissingNamespace(String),
    /// Reading the SignalProcessing failed.
    #[error("failed to read SignalProcessing {name}")]
    Read {
        /// The object.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// An enrichment lookup failed (transient).
    #[error(transparent)]
    Lookup(#[from] LookupError),
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

/// Registers the SignalProcessing controller on `manager`: watches every SignalProcessing.
///
/// Woken by creation and spec changes only: each failed enrichment writes `failureInfo`, and if
/// that write woke the controller again the error backoff would never apply. Phases advance by
/// the requeue after each transition, not by the watch event of the write.
pub fn register(manager: &mut Manager, config: Config, metrics: Metrics, audit: AuditStore) {
    manager.add(CONTROLLER_NAME, move |ctx: ControllerContext| {
        let client = ctx.client();
        let controller = ctx.controller_on_generation(
            Api::<SignalProcessing>::all(client.clone()),
            watcher::Config::default(),
        );
        let context = Arc::new(Context::new(client, config, metrics, audit));
        ctx.run(controller, reconcile, error_policy, context)
    });
}

/// Reconciles one SignalProcessing.
pub async fn reconcile(sp: Arc<SignalProcessing>, ctx: Arc<Context>) -> Result<Action, Error> {
    let result = reconcile_inner(&sp, &ctx).await;
    if result.is_ok() {
        ctx.errors.on_success(&*sp);
    }
    result
}

/// Requeues a failed reconcile after the configured jittered backoff for its attempt, or at
/// `spec.timesOutAt` if that comes first.
pub fn error_policy(sp: Arc<SignalProcessing>, error: &Error, ctx: Arc<Context>) -> Action {
    // Capped at the deadline: an enrichment that keeps failing still fails on time.
    let left = requeue::time_left(sp.spec.times_out_at.as_ref(), &ctx.config.clock);
    let action = ctx.errors.on_error_within(&*sp, left);
    tracing::warn!(sp = %sp.name_any(), %error, failures = ctx.errors.failures(&*sp), "reconcile failed; requeueing");
    action
}

async fn reconcile_inner(cached: &SignalProcessing, ctx: &Context) -> Result<Action, Error> {
    let namespace = cached
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(cached.name_any()))?;
    let api: Api<SignalProcessing> = Api::namespaced(ctx.client.clone(), &namespace);
    // Decide on the latest object, not the reflector's copy: the cache can lag our own status
    // write, and acting on a stale phase would redo (and re-audit) a phase's work.
    let Some(sp) = api
        .get_opt(&cached.name_any())
        .await
        .map_err(|source| Error::Read {
            name: cached.name_any(),
            source,
        })?
    else {
        return Ok(Action::await_change()); // deleted meanwhile
    };
    let phase = sp.phase();
    if phase.is_terminal() {
        return Ok(Action::await_change());
    }
    let started = Instant::now();
    let step = Step {
        sp: &sp,
        api: &api,
        ctx,
        from: phase,
    };
    let outcome = if step.deadline_passed() {
        step.time_out().await
    } else {
        match phase {
            SignalProcessingPhase::Pending => step.start().await,
            SignalProcessingPhase::Enriching => step.enrich().await,
            SignalProcessingPhase::Classifying => step.classify().await,
            SignalProcessingPhase::Categorizing => step.categorize().await,
            SignalProcessingPhase::Completed | SignalProcessingPhase::Failed => {
                return Ok(Action::await_change());
            }
        }
    };
    let result = match &outcome {
        Ok(result) => *result,
        Err(_) => ProcessingResult::error,
    };
    ctx.metrics
        .observe(phase, result, started.elapsed().as_secs_f64());
    outcome.map(|_| Action::requeue(ctx.config.phase_requeue))
}

/// One phase's work on one object.
struct Step<'a> {
    sp: &'a SignalProcessing,
    api: &'a Api<SignalProcessing>,
    ctx: &'a Context,
    /// The phase the work starts from; the status write applies only if it still holds.
    from: SignalProcessingPhase,
}

/// The result of a phase's status write: whether it was written (audit only then).
type Written = bool;

impl Step<'_> {
    fn now(&self) -> Time {
        Time(self.ctx.config.clock.now())
    }

    fn deadline_passed(&self) -> bool {
        self.sp
            .spec
            .times_out_at
            .as_ref()
            .is_some_and(|at| self.ctx.config.clock.now() >= at.0)
    }

    /// Writes the transition `from → to`, applying `mutate` to the status; nothing is written
    /// if the object left `from` meanwhile.
    async fn transition(
        &self,
        to: SignalProcessingPhase,
        mutate: impl Fn(&mut SignalProcessingStatus, &Time, Option<i64>),
    ) -> Result<Written, Error> {
        let time = self.now();
        let generation = self.sp.metadata.generation;
        let from = self.from;
        let written = manager::update_status_with(
            self.api,
            &self.sp.name_any(),
            manager::WritePolicy::recording(self.ctx.config.status_write_attempts),
            |obj: &mut SignalProcessing| {
                if obj.phase() != from || !from.can_transition_to(to) {
                    return false;
                }
                let status = obj.status.get_or_insert_with(Default::default);
                status.phase = Some(to);
                status.observed_generation = generation;
                // A transition is a success: the failures in a row end (the last error stays
                // for inspection).
                if let Some(info) = status.failure_info.as_mut()
                    && to != SignalProcessingPhase::Failed
                {
                    info.consecutive_failures = 0;
                }
                mutate(status, &time, generation);
                true
            },
        )
        .await?;
        Ok(written.written())
    }

    /// Pending → Enriching.
    async fn start(&self) -> Result<ProcessingResult, Error> {
        let written = self
            .transition(
                SignalProcessingPhase::Enriching,
                |status, time, generation| {
                    status.start_time = Some(time.clone());
                    status.message = Some("enriching the signal".to_owned());
                    set_condition(
                        &mut status.conditions,
                        CONDITION_READY,
                        false,
                        "Processing",
                        "signal is being processed",
                        generation,
                        time,
                    );
                },
            )
            .await?;
        if written {
            tracing::debug!(sp = %self.sp.name_any(), "processing started");
        }
        Ok(ProcessingResult::success)
    }

    /// Enriching → Classifying, with the Kubernetes context.
    async fn enrich(&self) -> Result<ProcessingResult, Error> {
        let own_ns = self.sp.namespace().unwrap_or_default();
        let found = match enrich::enrich(&self.ctx.client, &self.sp.spec.signal, &own_ns).await {
            Ok(found) => found,
            Err(error) => {
                self.ctx.metrics.enrichment_error(error.error_type);
                self.record_failure(&error).await;
                return Err(error.into());
            }
        };
        let degraded = found.summary.degraded;
        let written = self
            .transition(SignalProcessingPhase::Classifying, |status, _, _| {
                status.kubernetes_context = Some(found.context.clone());
                status.enrichment = Some(found.summary.clone());
                status.message = Some(match &found.summary.detail {
                    Some(detail) => format!("enriched (degraded: {detail}); classifying"),
                    None => "enriched; classifying".to_owned(),
                });
            })
            .await?;
        if written {
            let s = &found.summary;
            self.record(
                "enrichment.completed",
                "enriched",
                EventOutcome::Success,
                |e| {
                    let e = e
                        .with_data("namespace_found", s.namespace_found)
                        .with_data("target_found", s.target_found)
                        .with_data("degraded", s.degraded)
                        .with_data("owner_chain_length", found.context.owner_chain.len());
                    match &s.detail {
                        Some(detail) => e.with_data("detail", detail.clone()),
                        None => e,
                    }
                },
            );
        }
        Ok(if degraded {
            ProcessingResult::degraded
        } else {
            ProcessingResult::success
        })
    }

    /// Records a transient error in `status.failureInfo` (best effort: the reconcile fails
    /// either way, and a status write that fails too must not hide the first error).
    async fn record_failure(&self, error: &LookupError) {
        let message = format!("{error}: {}", error.source);
        let from = self.from;
        let result = manager::update_status_with(
            self.api,
            &self.sp.name_any(),
            manager::WritePolicy::recording(self.ctx.config.status_write_attempts),
            |obj: &mut SignalProcessing| {
                if obj.phase() != from {
                    return false;
                }
                let status = obj.status.get_or_insert_with(Default::default);
                let previous = status
                    .failure_info
                    .as_ref()
                    .map_or(0, |f| f.consecutive_failures);
                status.failure_info = Some(FailureInfo {
                    error: message.clone(),
                    consecutive_failures: previous.saturating_add(1),
                });
                true
            },
        )
        .await;
        if let Err(write_error) = result {
            tracing::warn!(sp = %self.sp.name_any(), %write_error, "could not record the failure in status");
        }
    }

    /// What the policies decide on: the spec's signal and the context enrichment stored.
    fn policy_input(&self) -> PolicyInput {
        let signal = &self.sp.spec.signal;
        let context = self
            .sp
            .status
            .as_ref()
            .and_then(|s| s.kubernetes_context.clone())
            .unwrap_or_default();
        PolicyInput {
            namespace: context.namespace.clone().unwrap_or_default(),
            namespace_labels: context.namespace_labels.clone(),
            signal_name: signal.name.clone(),
            severity: signal.severity.clone(),
            signal_type: signal.type_.clone(),
            signal_labels: signal.labels.clone(),
            target_kind: signal.target_resource.kind.clone(),
            target_name: signal.target_resource.name.clone(),
            workload: context.workload.map(|w| (w.kind, w.name, w.labels)),
        }
    }

    /// Classifying → Categorizing, with the environment.
    async fn classify(&self) -> Result<ProcessingResult, Error> {
        let (classification, policy_error) = match self
            .ctx
            .config
            .policies
            .environment(&self.policy_input())
        {
            Ok((environment, source)) => (
                EnvironmentClassification {
                    environment,
                    source,
                },
                None,
            ),
            Err(error) => {
                tracing::warn!(sp = %self.sp.name_any(), %error, "environment policy failed; using the fallback");
                (
                    EnvironmentClassification {
                        environment: Environment::Unknown,
                        source: SOURCE_POLICY_FALLBACK.to_owned(),
                    },
                    Some(error.to_string()),
                )
            }
        };
        let written = self
            .transition(SignalProcessingPhase::Categorizing, |status, _, _| {
                status.environment_classification = Some(classification.clone());
                status.message = Some(match &policy_error {
                    Some(e) => format!("environment Unknown by fallback ({e}); categorizing"),
                    None => format!(
                        "environment {} ({}); categorizing",
                        classification.environment, classification.source
                    ),
                });
            })
            .await?;
        if written {
            self.record(
                "classification.decision",
                "classified",
                EventOutcome::Success,
                |e| {
                    let e = e
                        .with_data("environment", classification.environment.name())
                        .with_data("environment_source", classification.source.clone());
                    match &policy_error {
                        Some(error) => e.with_data("policy_error", error.clone()),
                        None => e,
                    }
                },
            );
        }
        Ok(if policy_error.is_some() {
            ProcessingResult::degraded
        } else {
            ProcessingResult::success
        })
    }

    /// Categorizing → Completed, with the priority and the business categorization.
    async fn categorize(&self) -> Result<ProcessingResult, Error> {
        let input = self.policy_input();
        let policies = &self.ctx.config.policies;
        let environment = self
            .sp
            .status
            .as_ref()
            .and_then(|s| s.environment_classification.as_ref())
            .map_or(Environment::Unknown, |c| c.environment);
        let mut policy_errors = Vec::new();
        let priority = policies
            .priority(&input, environment)
            .unwrap_or_else(|error| {
                policy_errors.push(error.to_string());
                PriorityAssignment {
                    priority: policy::severity_fallback(&input.severity),
                    source: SOURCE_SEVERITY_FALLBACK.to_owned(),
                    policy_name: None,
                }
            });
        let business = policies
            .business(&input, environment, priority.priority)
            .unwrap_or_else(|error| {
                policy_errors.push(error.to_string());
                BusinessClassification {
                    business_unit: None,
                    criticality: policy::criticality_of(priority.priority).to_owned(),
                    source: SOURCE_PRIORITY_FALLBACK.to_owned(),
                }
            });
        for error in &policy_errors {
            tracing::warn!(sp = %self.sp.name_any(), %error, "policy failed; using the fallback");
        }
        let fallback = (!policy_errors.is_empty()).then(|| policy_errors.join("; "));
        let degraded = fallback.is_some()
            || self
                .sp
                .status
                .as_ref()
                .and_then(|s| s.environment_classification.as_ref())
                .is_some_and(|c| c.source == SOURCE_POLICY_FALLBACK);
        let summary = format!(
            "processed: environment {environment}, priority {}, criticality {}",
            priority.priority, business.criticality
        );
        let message = match &fallback {
            Some(e) => format!("{summary} (policy fallback: {e})"),
            None => summary,
        };
        let written = self
            .transition(
                SignalProcessingPhase::Completed,
                |status, time, generation| {
                    status.priority_assignment = Some(priority.clone());
                    status.business_classification = Some(business.clone());
                    status.completion_time = Some(time.clone());
                    status.message = Some(message.clone());
                    set_condition(
                        &mut status.conditions,
                        CONDITION_READY,
                        true,
                        "Completed",
                        &message,
                        generation,
                        time,
                    );
                },
            )
            .await?;
        if written {
            let with_errors = |e: AuditEvent| match &fallback {
                Some(error) => e.with_data("policy_error", error.clone()),
                None => e,
            };
            self.record(
                "categorization.completed",
                "categorized",
                EventOutcome::Success,
                |e| {
                    let e = e
                        .with_data("priority", priority.priority.name())
                        .with_data("priority_source", priority.source.clone())
                        .with_data("criticality", business.criticality.clone());
                    let e = match &priority.policy_name {
                        Some(name) => e.with_data("policy_name", name.clone()),
                        None => e,
                    };
                    let e = match &business.business_unit {
                        Some(unit) => e.with_data("business_unit", unit.clone()),
                        None => e,
                    };
                    with_errors(e)
                },
            );
            let duration = self.duration_ms();
            self.record(
                "signal.processed",
                "processed",
                EventOutcome::Success,
                |e| {
                    let e = e
                        .with_data("environment", environment.name())
                        .with_data("priority", priority.priority.name())
                        .with_data("degraded", degraded);
                    match duration {
                        Some(ms) => e.with_duration_ms(ms),
                        None => e,
                    }
                },
            );
        }
        Ok(if degraded {
            ProcessingResult::degraded
        } else {
            ProcessingResult::success
        })
    }

    /// Any active phase → Failed, past `spec.timesOutAt`.
    async fn time_out(&self) -> Result<ProcessingResult, Error> {
        let deadline = self
            .sp
            .spec
            .times_out_at
            .as_ref()
            .map(|t| t.0.to_string())
            .unwrap_or_default();
        // Keep the cause: a signal that timed out retrying an error says which error.
        let last_error = self
            .sp
            .status
            .as_ref()
            .and_then(|s| s.failure_info.as_ref())
            .filter(|f| f.consecutive_failures > 0)
            .map(|f| format!("; last error: {}", f.error))
            .unwrap_or_default();
        let message = format!(
            "{REASON_TIMED_OUT}: timesOutAt {deadline} passed during phase {}{last_error}",
            self.from
        );
        let written = self
            .transition(SignalProcessingPhase::Failed, |status, time, generation| {
                let previous = status
                    .failure_info
                    .as_ref()
                    .map_or(0, |f| f.consecutive_failures);
                status.failure_info = Some(FailureInfo {
                    error: message.clone(),
                    consecutive_failures: previous,
                });
                status.completion_time = Some(time.clone());
                status.message = Some(message.clone());
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    false,
                    REASON_TIMED_OUT,
                    &message,
                    generation,
                    time,
                );
            })
            .await?;
        if written {
            let duration = self.duration_ms();
            let from = self.from;
            self.record("signal.failed", "failed", EventOutcome::Failure, |e| {
                let e = e
                    .with_error(REASON_TIMED_OUT, message.clone())
                    .with_data("failed_phase", from.name());
                match duration {
                    Some(ms) => e.with_duration_ms(ms),
                    None => e,
                }
            });
        }
        Ok(ProcessingResult::failure)
    }

    fn duration_ms(&self) -> Option<i64> {
        let start = self.sp.status.as_ref()?.start_time.as_ref()?;
        let span = self.ctx.config.clock.now().duration_since(start.0);
        i64::try_from(Duration::try_from(span).ok()?.as_millis()).ok()
    }

    /// Records an audit event about the object; the store never blocks and counts drops.
    fn record(
        &self,
        suffix: &str,
        action: &str,
        outcome: EventOutcome,
        extra: impl FnOnce(AuditEvent) -> AuditEvent,
    ) {
        let sp = self.sp;
        let correlation_id = sp
            .spec
            .remediation_request_ref
            .name
            .clone()
            .unwrap_or_else(|| sp.name_any());
        let event = AuditEvent::new(
            format!("signalprocessing.{suffix}"),
            AUDIT_CATEGORY,
            action,
            outcome,
            correlation_id,
        )
        .with_actor("service", &self.ctx.config.service_name)
        .with_resource("SignalProcessing", sp.name_any())
        .with_namespace(sp.namespace().unwrap_or_default())
        .with_data("signal_name", sp.spec.signal.name.clone())
        .with_data("severity", sp.spec.signal.severity.clone())
        .with_data("fingerprint", sp.spec.signal.fingerprint.clone())
        .with_data("target_resource", sp.spec.signal.target_resource.to_path());
        if let Err(error) = self.ctx.audit.record(extra(event)) {
            tracing::warn!(sp = %sp.name_any(), %error, "audit event dropped");
        }
    }
}
