//! The suites' declarations and the helpers their tests share.
//!
//! Every suite runs the RemediationOrchestrator together with the real child controllers in
//! one per-process manager; tests drive only what has no controller in a test API server (the
//! batch/v1 Job status) and the HolmesGPT-API mock's scenario (the signal name).

use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::{
    AIAnalysis, NotificationRequest, Phase, RemediationPhase, RemediationRequest, SignalProcessing,
    TargetResource, WorkflowExecution, WorkflowExecutionPhase,
};
use controllers::clock::Clock;
use controllers::remediationorchestrator::{self as ro, Config};
use controllers::{aianalysis, notification, signalprocessing, workflowexecution};
use fixtures::builtin::{JobOutcome, finish_job};
use fixtures::{FAST_ERROR_BACKOFF, Suite};
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;
use manager::Backoff;

pub use crate::scenario::Scenario;

/// Where execution Jobs run.
pub const EXEC_NS: &str = "kubernaut-workflows";
/// Requeue after a phase change in every controller of the suites: fast tests.
const PHASE_REQUEUE: Duration = Duration::from_millis(10);

/// The orchestrator's configuration in the suites: production timeouts (tests move a clock
/// past them), fast requeues.
pub fn config() -> Config {
    Config {
        phase_requeue: PHASE_REQUEUE,
        error_backoff: FAST_ERROR_BACKOFF,
        ..Config::default()
    }
}

/// The notification routing of the suites: everything to the console (delivery itself is
/// the Notification suite's subject; here it must simply succeed).
const ROUTING: &str =
    "channels:\n  console: {type: console}\nroutes: []\ndefaultChannels: [console]\n";

/// A suite running the orchestrator with `ro_config` and the real child controllers: all of
/// them, or all but SignalProcessing (`signal_processing: false`), which leaves
/// SignalProcessings Pending (a child whose controller is down): how a Processing timeout is
/// reached.
fn suite(
    name: &str,
    signal_processing: bool,
    ro_config: impl Fn() -> Config + Send + Sync + 'static,
) -> Suite {
    Suite::builder(name)
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        // Each controller under its own ServiceAccount (controllers/rbac/).
        .rbac_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rbac"))
        .namespace(EXEC_NS)
        .per_process_only(
            "the orchestrator runs with its child controllers in the test's own manager",
        )
        .controllers(move |setup| {
            // Per process in the cluster mode.
            let execution_namespace = setup.namespace_name(EXEC_NS);
            let (manager, audit) = (&mut *setup.manager, setup.audit);
            let wfe = workflowexecution::Config {
                execution_namespace,
                phase_requeue: PHASE_REQUEUE,
                error_backoff: FAST_ERROR_BACKOFF,
                // Finished Jobs stay: the lock of a target outlives no test that needs it.
                cooldown: Duration::from_secs(3600),
                ..workflowexecution::Config::default()
            };
            let metrics = workflowexecution::Metrics::register(setup.registry);
            workflowexecution::register(manager, wfe, metrics, audit.clone());
            let nr = notification::Config {
                routing: notification::RoutingConfig::from_yaml(ROUTING)?,
                phase_requeue: PHASE_REQUEUE,
                error_backoff: FAST_ERROR_BACKOFF,
                ..notification::Config::default()
            };
            let metrics = notification::Metrics::register(setup.registry);
            notification::register(manager, nr, metrics, audit.clone())?;
            if signal_processing {
                let sp = signalprocessing::Config {
                    phase_requeue: PHASE_REQUEUE,
                    error_backoff: FAST_ERROR_BACKOFF,
                    ..signalprocessing::Config::with_default_policies()
                };
                let metrics = signalprocessing::Metrics::register(setup.registry);
                signalprocessing::register(manager, sp, metrics, audit.clone());
            }
            // The run's HolmesGPT-API mock (or this process's own under plain `cargo test`),
            // the shipped approval policy, fast polls and retries.
            let aia = aianalysis::Config {
                poll_interval: Duration::from_millis(20),
                retry_backoff: Backoff::new(
                    Duration::from_millis(10),
                    2.0,
                    Duration::from_millis(80),
                    0.1,
                ),
                phase_requeue: PHASE_REQUEUE,
                error_backoff: FAST_ERROR_BACKOFF,
                ..aianalysis::Config::with_default_policy(hapi_mock::url_for_tests()?)
            };
            let metrics = aianalysis::Metrics::register(setup.registry);
            aianalysis::register(manager, aia, metrics, audit.clone());
            ro::register(
                manager,
                ro_config(),
                ro::Metrics::register(setup.registry),
                audit.clone(),
            );
            Ok(())
        })
        .build()
}

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> =
    LazyLock::new(|| suite("remediationorchestrator", true, config));

/// A registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite("remediationorchestrator-metrics", true, config));

/// A registry used by one blocking test only, so its blocked counter is exact.
pub static BLOCKED_METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite("remediationorchestrator-blocked-metrics", true, config));

/// SignalProcessing gets no time at all (`timesOutAt` = its creation) and fails at its own
/// deadline, while the orchestrator's grace keeps it from timing the phase out itself: a
/// failing SignalProcessing, with the real controller's own reason.
pub static SP_DEADLINE: LazyLock<Suite> = LazyLock::new(|| {
    suite("remediationorchestrator-sp-deadline", true, || Config {
        processing_timeout: Duration::ZERO,
        child_timeout_grace: Duration::from_secs(3600),
        ..config()
    })
});

/// A suite whose orchestrator measures deadlines against a clock of its own, which its one
/// test moves (a clock per suite: under `cargo test` tests of one suite run concurrently, and
/// moving a shared clock would time out the others).
pub struct ClockSuite {
    pub clock: Clock,
    pub suite: Suite,
}

impl ClockSuite {
    fn new(name: &str, signal_processing: bool) -> ClockSuite {
        let clock = Clock::adjustable();
        let ro_clock = clock.clone();
        let suite = suite(name, signal_processing, move || Config {
            clock: ro_clock.clone(),
            // The orchestrator alone decides the timeouts under test: the children run on
            // the system clock and never reach their own deadlines.
            child_timeout_grace: Duration::ZERO,
            ..config()
        });
        ClockSuite { clock, suite }
    }
}

/// Processing timeout: no SignalProcessing controller, so processing never finishes.
pub static CLOCK_PROCESSING: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-processing", false));
/// Analyzing timeout.
pub static CLOCK_ANALYZING: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-analyzing", true));
/// AwaitingApproval timeout.
pub static CLOCK_APPROVAL: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-approval", true));
/// Executing timeout.
pub static CLOCK_EXECUTING: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-executing", true));
/// Global timeout.
pub static CLOCK_GLOBAL: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-global", true));
/// Blocking cooldown.
pub static CLOCK_COOLDOWN: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-cooldown", true));

fixtures::test_view! {
    /// One test's view: its environment and its own namespace, with the shared helpers of
    /// [`fixtures::TestNamespace`]; these add the orchestrator's requests, its children and
    /// the Job controller's part.
    pub struct T for SUITE;
}

impl T {
    /// The name of the test's request `name`: made unique across processes and runs (audit
    /// correlation ids live in a DataStorage shared by the run), and short enough that child
    /// names (`nr-escalation-<rr>`) and WorkflowExecution label values (≤ 63) fit.
    pub fn name(&self, name: &str) -> String {
        format!("{name}-{}", self.unique_suffix())
    }

    /// A valid RemediationRequest `name` (made unique) in the test's namespace, on a target of
    /// its own (`Deployment <name>` in the namespace), with the `scenario`'s signal name and
    /// environment (the signal's `environment` label, which SignalProcessing's policy reads).
    pub fn rr(&self, name: &str, scenario: Scenario) -> RemediationRequest {
        let mut rr = RemediationRequest::test(&self.name(name))
            .with_namespace(&self.ns)
            .with_signal_name(scenario.signal_name())
            .with_target(TargetResource::new("Deployment", name, &self.ns));
        let environment = scenario.environment().to_owned();
        rr.spec
            .signal_labels
            .insert("environment".to_owned(), environment);
        rr
    }

    pub fn rrs(&self) -> Api<RemediationRequest> {
        self.api()
    }

    /// Waits until request `rr` (its full name) is in `phase`.
    pub async fn wait_phase(&self, rr: &str, phase: RemediationPhase) -> RemediationRequest {
        self.wait_until(rr, "phase", RemediationRequest::phase, phase)
            .await
    }

    pub async fn sp(&self, rr: &str) -> SignalProcessing {
        self.wait_exists(&format!("sp-{rr}")).await
    }

    pub async fn aia(&self, rr: &str) -> AIAnalysis {
        self.wait_exists(&format!("ai-{rr}")).await
    }

    pub async fn we(&self, rr: &str) -> WorkflowExecution {
        self.wait_exists(&format!("we-{rr}")).await
    }

    pub async fn nr(&self, rr: &str, kind: &str) -> NotificationRequest {
        self.wait_exists(&format!("nr-{kind}-{rr}")).await
    }

    /// Plays the Job controller for request `rr`'s execution: waits until its Job runs, then
    /// writes the condition the Job controller writes when it ends with `outcome`.
    pub async fn finish_job(&self, rr: &str, outcome: JobOutcome) {
        let (we, running) = (format!("we-{rr}"), WorkflowExecutionPhase::Running);
        let we = self
            .wait_until(&we, "phase", WorkflowExecution::phase, running)
            .await;
        let job = we.status.and_then(|s| s.execution_ref).and_then(|r| r.name);
        let jobs: Api<Job> = self.api_in(&self.env.namespace_name(EXEC_NS));
        finish_job(
            &jobs,
            &job.expect("a running execution names its Job"),
            outcome,
        )
        .await;
    }

    /// Reconciles of the test namespace's requests that began in `phase` (the orchestrator's
    /// reconcile histogram count).
    pub async fn reconciles(&self, phase: RemediationPhase) -> f64 {
        let labels = [("namespace", self.ns.as_str()), ("phase", phase.name())];
        (self.env)
            .metric_or_zero(
                "remediationorchestrator_reconcile_duration_seconds_count",
                &labels,
            )
            .await
    }

    /// Waits until notification `nr-<kind>-<rr>` reached a terminal phase (delivered).
    pub async fn settled_notification(&self, rr: &str, kind: &str) -> NotificationRequest {
        let name = format!("nr-{kind}-{rr}");
        self.wait_for(
            &name,
            "delivered",
            |nr: &NotificationRequest| match Phase::is_terminal(nr.phase()) {
                true => Ok(nr.clone()),
                false => Err(format!("phase {}", nr.phase())),
            },
        )
        .await
    }

    /// The orchestrator's audit events of request `rr`, once every type in `types` arrived
    /// (the children's events share the correlation id and are left out).
    pub async fn ro_events(&self, rr: &str, types: &[&str]) -> Vec<audit::AuditEvent> {
        let events = self.audit_with(rr, types).await.into_iter();
        events
            .filter(|e| e.event_type.starts_with("orchestrator."))
            .collect()
    }
}

/// The request's failure phase and reason.
pub fn failure(rr: &RemediationRequest) -> (Option<RemediationPhase>, String) {
    let c = rr
        .status
        .as_ref()
        .and_then(|s| s.completion_status.clone())
        .unwrap_or_default();
    (c.failure_phase, c.failure_reason.unwrap_or_default())
}

/// The request's outcome.
pub fn outcome(rr: &RemediationRequest) -> Option<String> {
    let completion = rr.status.as_ref()?.completion_status.as_ref()?;
    completion.outcome.clone()
}
