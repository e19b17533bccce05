//! Owns the RemediationOrchestrator's configuration: every duration its behaviour depends on
//! (so tests run in milliseconds), the clock deadlines are measured against, and the approval
//! annotation contract.

use std::time::Duration;

use manager::Backoff;

use crate::clock::Clock;

/// Name of the controller in the manager (and in logs).
pub const CONTROLLER_NAME: &str = "remediationorchestrator";

/// Annotation a human (or an approval tool) sets on a RemediationRequest in `AwaitingApproval`
/// to decide it: [`APPROVED`] runs the selected workflow, [`REJECTED`] fails the request. Any
/// other value is ignored (and logged): the request keeps waiting until its approval timeout.
pub const APPROVAL_ANNOTATION: &str = "kubernaut.ai/approval";
/// Approval annotation value that runs the workflow.
pub const APPROVED: &str = "approved";
/// Approval annotation value that fails the request.
pub const REJECTED: &str = "rejected";
/// Optional annotation naming who decided (recorded in the audit event and the status message).
pub const APPROVED_BY_ANNOTATION: &str = "kubernaut.ai/approved-by";

/// Whole-remediation timeout (kubernaut's default).
pub const DEFAULT_GLOBAL_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Processing (SignalProcessing) timeout (kubernaut's default).
pub const DEFAULT_PROCESSING_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Analyzing (AIAnalysis) timeout (kubernaut's default).
pub const DEFAULT_ANALYZING_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Executing (WorkflowExecution) timeout (kubernaut's default).
pub const DEFAULT_EXECUTING_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long a human has to decide an approval: kubernaut's RemediationApprovalRequest
/// expires after 15 minutes.
pub const DEFAULT_AWAITING_APPROVAL_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The margin RO gives a child past the child's own deadline (`spec.timesOutAt`) before it
/// declares the phase timed out itself: a child that fails at its deadline reports why, which
/// beats a bare TimedOut. Long enough for a child's next reconcile, short against the phases.
pub const DEFAULT_CHILD_TIMEOUT_GRACE: Duration = Duration::from_secs(10);
/// Failed remediations in a row on one target that block further ones (kubernaut's default).
pub const DEFAULT_CONSECUTIVE_FAILURE_THRESHOLD: u32 = 3;
/// How long a target stays blocked after its last consecutive failure (kubernaut's default).
pub const DEFAULT_BLOCKING_COOLDOWN: Duration = Duration::from_secs(60 * 60);
/// How long a remediated target is watched before the request counts as completed: no
/// effectiveness check runs in this implementation, so by default verification is immediate.
pub const DEFAULT_VERIFICATION_PERIOD: Duration = Duration::ZERO;
/// Requeue after a phase change, so the next phase starts promptly even without a watch event
/// (kubernaut uses 100 ms).
pub const DEFAULT_PHASE_REQUEUE: Duration = Duration::from_millis(100);
/// Actor id of audit events (the domain's service name).
pub const DEFAULT_SERVICE_NAME: &str = "remediationorchestrator";
/// Registry and repository under which a selected workflow's bundle is found
/// (`<prefix>/<workflowId>:<version>`), kubernaut's workflow catalog layout.
pub const DEFAULT_WORKFLOW_BUNDLE_PREFIX: &str = "quay.io/kubernaut/workflows";
/// Version of the workflow bundle when the analysis names none.
pub const DEFAULT_WORKFLOW_VERSION: &str = "latest";

/// Everything the controller's behaviour depends on; every duration is here so tests can run
/// in milliseconds, and the clock is movable so deadlines are tested by moving time.
#[derive(Debug, Clone)]
pub struct Config {
    /// From the start of orchestration to a terminal phase.
    pub global_timeout: Duration,
    /// Time in `Processing`.
    pub processing_timeout: Duration,
    /// Time in `Analyzing`.
    pub analyzing_timeout: Duration,
    /// Time in `AwaitingApproval`.
    pub awaiting_approval_timeout: Duration,
    /// Time in `Executing`.
    pub executing_timeout: Duration,
    /// Extra time past a child's own deadline before RO times the phase out itself.
    pub child_timeout_grace: Duration,
    /// Consecutive failures on one target that block the next request for it (0 disables).
    pub consecutive_failure_threshold: u32,
    /// How long the target stays blocked after the last of those failures.
    pub blocking_cooldown: Duration,
    /// Time spent in `Verifying` before `Completed`.
    pub verification_period: Duration,
    /// Requeue delay after a phase change.
    pub phase_requeue: Duration,
    /// Requeue delays after reconcile errors (attempt-indexed).
    pub error_backoff: Backoff,
    /// Status write attempts before giving up on conflicts.
    pub status_write_attempts: u32,
    /// Actor id on audit events.
    pub service_name: String,
    /// Prefix of the workflow bundle image (`<prefix>/<workflowId>:<version>`).
    pub workflow_bundle_prefix: String,
    /// Workflow version used in the bundle reference.
    pub workflow_version: String,
    /// What deadlines, cooldowns and timestamps are measured against.
    pub clock: Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            global_timeout: DEFAULT_GLOBAL_TIMEOUT,
            processing_timeout: DEFAULT_PROCESSING_TIMEOUT,
            analyzing_timeout: DEFAULT_ANALYZING_TIMEOUT,
            awaiting_approval_timeout: DEFAULT_AWAITING_APPROVAL_TIMEOUT,
            executing_timeout: DEFAULT_EXECUTING_TIMEOUT,
            child_timeout_grace: DEFAULT_CHILD_TIMEOUT_GRACE,
            consecutive_failure_threshold: DEFAULT_CONSECUTIVE_FAILURE_THRESHOLD,
            blocking_cooldown: DEFAULT_BLOCKING_COOLDOWN,
            verification_period: DEFAULT_VERIFICATION_PERIOD,
            phase_requeue: DEFAULT_PHASE_REQUEUE,
            // 1 s doubling to 5 min with ±10 % jitter: kubernaut's transient-error backoff shape.
            error_backoff: Backoff::new(Duration::from_secs(1), 2.0, Duration::from_secs(300), 0.1),
            status_write_attempts: manager::status::DEFAULT_MAX_ATTEMPTS,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            workflow_bundle_prefix: DEFAULT_WORKFLOW_BUNDLE_PREFIX.to_owned(),
            workflow_version: DEFAULT_WORKFLOW_VERSION.to_owned(),
            clock: Clock::system(),
        }
    }
}
