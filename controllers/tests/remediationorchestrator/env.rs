//! The suites' declarations and the helpers their tests share.
//!
//! Every suite runs the RemediationOrchestrator together with the real child controllers in
//! one per-process manager; tests drive only what has no controller in a test API server (the
//! batch/v1 Job status) and the HolmesGPT-API mock's scenario (the signal name).

use std::ops::Deref;
use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::{
    AIAnalysis, NotificationRequest, RemediationPhase, RemediationRequest, SignalProcessing,
    TargetResource, WorkflowExecution, WorkflowExecutionPhase,
};
use controllers::clock::Clock;
use controllers::remediationorchestrator::{self as ro, Config};
use controllers::{aianalysis, notification, signalprocessing, workflowexecution};
use fixtures::{Namespaced, Suite, TestNamespace, eventually};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt as _};
use manager::Backoff;
use serde_json::json;

/// Where execution Jobs run.
pub const EXEC_NS: &str = "kubernaut-workflows";
/// Requeue after a phase change in every controller of the suites: fast tests.
const PHASE_REQUEUE: Duration = Duration::from_millis(10);

/// Errors retried within milliseconds, so recovery tests stay fast.
fn fast_backoff() -> Backoff {
    Backoff::new(
        Duration::from_millis(10),
        2.0,
        Duration::from_millis(200),
        0.1,
    )
}

/// The orchestrator's configuration in the suites: production timeouts (tests move a clock
/// past them), fast requeues.
pub fn config() -> Config {
    Config {
        phase_requeue: PHASE_REQUEUE,
        error_backoff: fast_backoff(),
        ..Config::default()
    }
}

/// The AIAnalysis controller's configuration: the run's HolmesGPT-API mock (or this
/// process's own under plain `cargo test`), the shipped approval policy, fast polls and
/// retries.
fn aianalysis_config() -> Result<aianalysis::Config, fixtures::BoxError> {
    Ok(aianalysis::Config {
        poll_interval: Duration::from_millis(20),
        retry_backoff: Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(80),
            0.1,
        ),
        phase_requeue: PHASE_REQUEUE,
        error_backoff: fast_backoff(),
        ..aianalysis::Config::with_default_policy(hapi_mock::url_for_tests()?)
    })
}

/// Which child controllers a suite runs besides the orchestrator.
#[derive(Clone, Copy)]
pub struct Children {
    /// SignalProcessing; a suite without it leaves SignalProcessings Pending (a child whose
    /// controller is down), which is how a Processing timeout is reached.
    pub signal_processing: bool,
}

/// Every child controller.
pub const ALL: Children = Children {
    signal_processing: true,
};

/// The notification routing of the suites: everything to the console (delivery itself is
/// the Notification suite's subject; here it must simply succeed).
const ROUTING: &str =
    "channels:\n  console: {type: console}\nroutes: []\ndefaultChannels: [console]\n";

fn suite(
    name: &str,
    children: Children,
    ro_config: impl Fn() -> Config + Send + Sync + 'static,
) -> Suite {
    Suite::builder(name)
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        .namespace(EXEC_NS)
        .per_process_only(
            "the orchestrator runs with its child controllers in the test's own manager",
        )
        .controllers(move |setup| {
            let audit = setup.audit.clone();
            workflowexecution::register(
                setup.manager,
                workflowexecution::Config {
                    // Per process in the cluster mode.
                    execution_namespace: setup.namespace_name(EXEC_NS),
                    phase_requeue: PHASE_REQUEUE,
                    error_backoff: fast_backoff(),
                    // Finished Jobs stay: the lock of a target outlives no test that needs it.
                    cooldown: Duration::from_secs(3600),
                    ..workflowexecution::Config::default()
                },
                workflowexecution::Metrics::register(setup.registry),
                audit.clone(),
            );
            notification::register(
                setup.manager,
                notification::Config {
                    routing: notification::RoutingConfig::from_yaml(ROUTING)?,
                    phase_requeue: PHASE_REQUEUE,
                    error_backoff: fast_backoff(),
                    ..notification::Config::default()
                },
                notification::Metrics::register(setup.registry),
                audit.clone(),
            )?;
            if children.signal_processing {
                signalprocessing::register(
                    setup.manager,
                    signalprocessing::Config {
                        phase_requeue: PHASE_REQUEUE,
                        error_backoff: fast_backoff(),
                        ..signalprocessing::Config::with_default_policies()
                    },
                    signalprocessing::Metrics::register(setup.registry),
                    audit.clone(),
                );
            }
            aianalysis::register(
                setup.manager,
                aianalysis_config()?,
                aianalysis::Metrics::register(setup.registry),
                audit.clone(),
            );
            ro::register(
                setup.manager,
                ro_config(),
                ro::Metrics::register(setup.registry),
                audit,
            );
            Ok(())
        })
        .build()
}

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| suite("remediationorchestrator", ALL, config));

/// A registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite("remediationorchestrator-metrics", ALL, config));

/// A registry used by one blocking test only, so its blocked counter is exact.
pub static BLOCKED_METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite("remediationorchestrator-blocked-metrics", ALL, config));

/// SignalProcessing gets no time at all (`timesOutAt` = its creation) and fails at its own
/// deadline, while the orchestrator's grace keeps it from timing the phase out itself: a
/// failing SignalProcessing, with the real controller's own reason.
pub static SP_DEADLINE: LazyLock<Suite> = LazyLock::new(|| {
    suite("remediationorchestrator-sp-deadline", ALL, || Config {
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
    fn new(name: &str, children: Children) -> ClockSuite {
        let clock = Clock::adjustable();
        let ro_clock = clock.clone();
        let suite = suite(name, children, move || Config {
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
pub static CLOCK_PROCESSING: LazyLock<ClockSuite> = LazyLock::new(|| {
    ClockSuite::new(
        "remediationorchestrator-clock-processing",
        Children {
            signal_processing: false,
        },
    )
});
/// Analyzing timeout.
pub static CLOCK_ANALYZING: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-analyzing", ALL));
/// AwaitingApproval timeout.
pub static CLOCK_APPROVAL: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-approval", ALL));
/// Executing timeout.
pub static CLOCK_EXECUTING: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-executing", ALL));
/// Global timeout.
pub static CLOCK_GLOBAL: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-global", ALL));
/// Blocking cooldown.
pub static CLOCK_COOLDOWN: LazyLock<ClockSuite> =
    LazyLock::new(|| ClockSuite::new("remediationorchestrator-clock-cooldown", ALL));

/// The HolmesGPT-API mock's scenarios the suite uses, by the signal name that selects them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// A workflow with confidence 0.9: approved by policy.
    Workflow,
    /// A workflow with confidence 0.6: in Production, the policy asks for a human.
    LowConfidence,
    /// No workflow needed.
    NoWorkflow,
    /// HolmesGPT-API refuses the request (400): the analysis fails.
    Rejected,
    /// The investigation never finishes.
    NeverFinishes,
}

impl Scenario {
    /// The environment the signal is labelled with: Production where the approval policy
    /// must ask a human (a critical Production signal is P0, and P0 in Production is always
    /// reviewed), Staging everywhere else, so policy-approved workflows run on their own.
    pub fn environment(self) -> &'static str {
        match self {
            Scenario::LowConfidence => "production",
            _ => "staging",
        }
    }

    pub fn signal_name(self) -> &'static str {
        match self {
            Scenario::Workflow => "HighMemoryUsage",
            Scenario::LowConfidence => "mock-low-confidence",
            Scenario::NoWorkflow => "mock-no-workflow",
            Scenario::Rejected => "mock-rejected",
            Scenario::NeverFinishes => "mock-never-finishes",
        }
    }
}

/// One test's view: its environment and its own namespace, with the shared helpers of
/// [`TestNamespace`] (create, wait_for, status writes, metrics, audit); these add the
/// orchestrator's requests, its children and the Job controller's part.
pub struct T {
    base: TestNamespace,
    /// Makes the test's object names unique across processes and runs (audit correlation ids
    /// live in a DataStorage shared by the run).
    suffix: String,
}

impl Deref for T {
    type Target = TestNamespace;
    fn deref(&self) -> &TestNamespace {
        &self.base
    }
}

impl T {
    /// On the main suite; `None` (skipped) in the shared mode.
    pub async fn new(prefix: &str) -> Option<T> {
        T::on(&SUITE, prefix).await
    }

    pub async fn on(suite: &Suite, prefix: &str) -> Option<T> {
        let base = TestNamespace::new_or_skip(suite, prefix).await?;
        // The namespace ends in `-<pid>-<n>-<random>`: unique, and short enough that child
        // names (`nr-escalation-<rr>`) and WorkflowExecution label values (≤ 63) fit.
        let suffix = base
            .ns
            .rsplitn(4, '-')
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("-");
        Some(T { base, suffix })
    }

    /// The name of the test's request `name`.
    pub fn name(&self, name: &str) -> String {
        format!("{name}-{}", self.suffix)
    }

    /// A valid RemediationRequest `name` (made unique) in the test's namespace, on a target of
    /// its own (`Deployment <name>` in the namespace), with the `scenario`'s signal name and
    /// environment (the signal's `environment` label, which SignalProcessing's policy reads).
    pub fn rr(&self, name: &str, scenario: Scenario) -> RemediationRequest {
        let mut rr = RemediationRequest::test(&self.name(name))
            .with_namespace(&self.ns)
            .with_signal_name(scenario.signal_name())
            .with_target(TargetResource::new("Deployment", name, &self.ns));
        rr.spec
            .signal_labels
            .insert("environment".to_owned(), scenario.environment().to_owned());
        rr
    }

    pub fn rrs(&self) -> Api<RemediationRequest> {
        self.api()
    }

    /// Waits until request `rr` (its full name) is in `phase`.
    pub async fn wait_phase(&self, rr: &str, phase: RemediationPhase) -> RemediationRequest {
        self.wait_for(
            rr,
            &format!("in phase {phase}"),
            |got: &RemediationRequest| {
                if got.phase() == phase {
                    Ok(got.clone())
                } else {
                    Err(format!("phase {}, status {:?}", got.phase(), got.status))
                }
            },
        )
        .await
    }

    /// Waits until child `name` of kind `K` exists.
    pub async fn child<K: Namespaced>(&self, name: &str) -> K {
        self.wait_for(name, "to exist", |child: &K| Ok(child.clone()))
            .await
    }

    /// Whether child `name` of kind `K` exists now.
    pub async fn exists<K: Namespaced>(&self, name: &str) -> bool {
        self.api::<K>()
            .get_opt(name)
            .await
            .expect("read child")
            .is_some()
    }

    pub async fn sp(&self, rr: &str) -> SignalProcessing {
        self.child(&format!("sp-{rr}")).await
    }

    pub async fn aia(&self, rr: &str) -> AIAnalysis {
        self.child(&format!("ai-{rr}")).await
    }

    pub async fn we(&self, rr: &str) -> WorkflowExecution {
        self.child(&format!("we-{rr}")).await
    }

    pub async fn nr(&self, rr: &str, kind: &str) -> NotificationRequest {
        self.child(&format!("nr-{kind}-{rr}")).await
    }

    /// Plays the Job controller for request `rr`'s execution: waits until its Job runs, then
    /// sets the Job's `Complete` (success) or `Failed` condition.
    pub async fn finish_job(&self, rr: &str, success: bool) {
        let we_api: Api<WorkflowExecution> = self.api();
        let name = format!("we-{rr}");
        let job = eventually(
            &format!("WorkflowExecution {}/{name} running", self.ns),
            || async {
                let we = we_api
                    .get_opt(&name)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| "not created yet".to_owned())?;
                if we.phase() != WorkflowExecutionPhase::Running {
                    return Err(format!("phase {}", we.phase()));
                }
                we.status
                    .and_then(|s| s.execution_ref)
                    .and_then(|r| r.name)
                    .ok_or_else(|| "no executionRef".to_owned())
            },
        )
        .await;
        let (type_, reason, message) = if success {
            ("Complete", "Completed", "workflow done")
        } else {
            (
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
        };
        let patch = json!({"status": {"conditions": [{"type": type_, "status": "True", "reason": reason, "message": message}]}});
        Api::<Job>::namespaced(self.env.client(), &self.env.namespace_name(EXEC_NS))
            .patch_status(&job, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch Job status");
    }

    /// Sets annotation `key=value` on request `rr` (an approval decision, or a touch that
    /// makes the controller reconcile it now).
    pub async fn annotate(&self, rr: &str, key: &str, value: &str) {
        let patch = json!({"metadata": {"annotations": {key: value}}});
        self.rrs()
            .patch(rr, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("annotate RemediationRequest");
    }

    /// Makes the controller reconcile `rr` (after a test moved its clock).
    pub async fn touch(&self, rr: &str) {
        let stamp = format!("{}", rand::random::<u32>());
        self.annotate(rr, "test.kubernaut.ai/touch", &stamp).await;
    }

    /// Reconciles of the test namespace's requests that began in `phase` (the orchestrator's
    /// reconcile histogram count).
    pub async fn reconciles(&self, phase: RemediationPhase) -> f64 {
        self.env
            .metric_or_zero(
                "remediationorchestrator_reconcile_duration_seconds_count",
                &[("namespace", self.ns.as_str()), ("phase", phase.name())],
            )
            .await
    }

    /// Waits until notification `nr-<kind>-<rr>` reached a terminal phase (delivered).
    pub async fn settled_notification(&self, rr: &str, kind: &str) -> NotificationRequest {
        let api: Api<NotificationRequest> = self.api();
        let name = format!("nr-{kind}-{rr}");
        eventually(
            &format!("NotificationRequest {}/{name} delivered", self.ns),
            || async {
                let nr = api
                    .get_opt(&name)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| "not created yet".to_owned())?;
                if controllers::api::Phase::is_terminal(nr.phase()) {
                    Ok(nr)
                } else {
                    Err(format!("phase {}", nr.phase()))
                }
            },
        )
        .await
    }

    /// Makes the controller reconcile `rr` and returns once a reconcile that began after this
    /// call has finished. A reconcile starts by reading the request: a read that arrived after
    /// this call began after it; and reconciles of one object never overlap, so a read that
    /// follows a second touch means the first one's reconcile is over.
    pub async fn sync(&self, rr: &str) {
        let log = || async {
            self.env
                .requests(Some(&self.ns))
                .await
                .map_err(|e| e.to_string())
        };
        for _ in 0..2 {
            // Settled: every request that arrived before this point is in it, so any read
            // found beyond it arrived later.
            let before = reads_of(&log().await.expect("the request log"), rr);
            self.touch(rr).await;
            eventually(&format!("a reconcile of {rr} after a touch"), || async {
                let now = reads_of(&log().await?, rr);
                if now > before {
                    Ok(())
                } else {
                    Err(format!("{now} reads of {rr}, as many as before the touch"))
                }
            })
            .await;
        }
    }

    /// Successful `/status` writes the API server received for request `rr`.
    pub async fn status_writes(&self, rr: &str) -> usize {
        self.base.status_writes::<RemediationRequest>(rr).await
    }

    /// The orchestrator's audit events of request `rr`, once every type in `types` arrived
    /// (the children's events share the correlation id and are left out).
    pub async fn ro_events(&self, rr: &str, types: &[&str]) -> Vec<audit::AuditEvent> {
        eventually(&format!("audit events {types:?} of {rr}"), || async {
            let events: Vec<audit::AuditEvent> = self
                .audit(rr, 1)
                .await
                .into_iter()
                .filter(|e| e.event_type.starts_with("orchestrator."))
                .collect();
            let missing: Vec<&&str> = types
                .iter()
                .filter(|t| !events.iter().any(|e| e.event_type == **t))
                .collect();
            if missing.is_empty() {
                Ok(events)
            } else {
                Err(format!("missing {missing:?}"))
            }
        })
        .await
    }

    /// This process's API server (the suites are per-process only).
    pub fn server(&self) -> &apiserver::ApiServer {
        self.env.server().expect("a per-process API server")
    }
}

/// The reads (GETs) of request `rr` in a request log. Counted rather than located: the log is
/// in the order requests *finished*, and a reconcile's read can finish, and be logged, before
/// the touch that caused it is (the touch's handler logs it after committing the write, and the
/// watch event, the reconcile and its read can all run in between on another thread). Looking
/// for a read *after the touch's entry* then waits for a reconcile that has already happened.
fn reads_of(log: &[apiserver::RequestRecord], rr: &str) -> usize {
    log.iter()
        .filter(|r| {
            r.verb == "get"
                && r.resource == "remediationrequests"
                && r.name == rr
                && r.subresource.is_empty()
        })
        .count()
}

/// Whether `child` has a controller ownerReference to `rr`.
pub fn owned_by<K: Resource>(child: &K, rr: &RemediationRequest) -> bool {
    child.owner_references().iter().any(|o| {
        o.controller == Some(true)
            && Some(&o.uid) == rr.metadata.uid.as_ref()
            && o.kind == "RemediationRequest"
    })
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
    rr.status
        .as_ref()?
        .completion_status
        .as_ref()?
        .outcome
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(verb: &str, name: &str) -> apiserver::RequestRecord {
        apiserver::RequestRecord {
            method: if verb == "get" { "GET" } else { "PATCH" }.to_owned(),
            path: format!("/apis/kubernaut.ai/v1alpha1/namespaces/ns/remediationrequests/{name}"),
            verb: verb.to_owned(),
            group: "kubernaut.ai".to_owned(),
            version: "v1alpha1".to_owned(),
            resource: "remediationrequests".to_owned(),
            subresource: String::new(),
            namespace: "ns".to_owned(),
            name: name.to_owned(),
            code: 200,
        }
    }

    /// The log order that made `T::sync` wait for a reconcile that had already run: the
    /// reconcile's read finished before the touch that caused it was logged.
    #[test]
    fn a_read_logged_before_the_touch_that_caused_it_counts() {
        let before = vec![record("get", "rr")];
        let now = vec![
            record("get", "rr"),
            record("get", "rr"),
            record("patch", "rr"),
        ];
        assert!(reads_of(&now, "rr") > reads_of(&before, "rr"));
    }

    #[test]
    fn reads_of_other_requests_and_writes_do_not_count() {
        let log = vec![
            record("get", "other"),
            record("patch", "rr"),
            record("list", ""),
            apiserver::RequestRecord {
                subresource: "status".to_owned(),
                ..record("get", "rr")
            },
        ];
        assert_eq!(reads_of(&log, "rr"), 0);
    }
}
