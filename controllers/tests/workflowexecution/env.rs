//! The suite's declaration and the helpers its tests share.

use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::WorkflowExecutionPhase::Running;
use controllers::api::{WorkflowExecution, WorkflowExecutionPhase};
use controllers::workflowexecution::{self, Config, Metrics};
use fixtures::builtin::{JobOutcome, end_job, terminated_job_pod};
use fixtures::{ApiExt as _, FAST_ERROR_BACKOFF, Suite, SuiteFamily};
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;

/// Where execution Jobs run.
pub const EXEC_NS: &str = "kubernaut-workflows";
/// The cooldown of the main suite: long enough to observe the Job kept after completion,
/// short enough that waiting for its deletion costs a test a fraction of a second.
pub const COOLDOWN: Duration = Duration::from_millis(300);

/// The CRDs the controllers reconcile.
const CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds");
/// The controllers' RBAC manifests: each controller runs under its own ServiceAccount.
const RBAC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rbac");

/// The suites: the controller with the main configuration or a variation of it. The shared
/// manager of the single-controller baseline runs the main configuration (scripts/single-
/// bootstrap passes the same values): one controller cannot also have a one-hour cooldown or
/// watch a namespace that does not exist yet.
pub static FAMILY: SuiteFamily<Config> = SuiteFamily {
    declare: |name| {
        Suite::builder(name)
            .crd_dir(CRDS)
            .rbac_dir(RBAC)
            .namespace(EXEC_NS)
    },
    base: |setup| {
        Ok(Config {
            // In the cluster mode every process has its own copy of the namespace.
            execution_namespace: setup.namespace_name(EXEC_NS),
            cooldown: COOLDOWN,
            phase_requeue: Duration::from_millis(10),
            error_backoff: FAST_ERROR_BACKOFF,
            ..Config::default()
        })
    },
    register: |setup, config| {
        let metrics = Metrics::register(setup.registry);
        workflowexecution::register(setup.manager, config, metrics, setup.audit.clone());
        Ok(())
    },
};

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| FAMILY.suite("workflowexecution"));

/// The execution namespace of [`LATE_NAMESPACE`], which its test creates late.
pub const LATE_EXEC_NS: &str = "kubernaut-workflows-late";

/// A suite with a registry used by one test only, so its metric values are exact even when
/// tests share a process.
pub static METRICS: LazyLock<Suite> = LazyLock::new(|| FAMILY.suite("workflowexecution-metrics"));

/// Another single-test suite, for a test that counts reconciles.
pub static QUIET: LazyLock<Suite> = LazyLock::new(|| FAMILY.suite("workflowexecution-quiet"));

fixtures::test_view! {
    /// One test's view: its environment and its own namespace, with the shared helpers of
    /// [`fixtures::TestNamespace`]; these add the WorkflowExecution ones and play the Job
    /// controller.
    pub struct T for SUITE;
}

impl T {
    /// A valid WorkflowExecution in the test's namespace, on a target of its own, whose
    /// parent RemediationRequest (the audit correlation id) is unique across runs.
    pub fn wfe(&self, name: &str) -> WorkflowExecution {
        WorkflowExecution::test(name)
            .with_namespace(&self.ns)
            .with_target(&format!("{}/Deployment/{name}", self.ns))
            .with_remediation_request(&format!("rr-{}-{name}", self.ns))
    }

    pub fn wfes(&self) -> Api<WorkflowExecution> {
        self.api()
    }

    /// The execution namespace in this process (per process in the cluster mode).
    pub fn exec_ns(&self) -> String {
        self.env.namespace_name(EXEC_NS)
    }

    pub fn jobs(&self) -> Api<Job> {
        self.api_in(&self.exec_ns())
    }

    pub async fn wait_phase(&self, name: &str, phase: WorkflowExecutionPhase) -> WorkflowExecution {
        self.wait_until(name, "phase", WorkflowExecution::phase, phase)
            .await
    }

    /// Creates `wfe` and waits until its Job exists and it runs; returns the Job's name.
    pub async fn start(&self, wfe: &WorkflowExecution) -> String {
        let running = self
            .create_and_wait_until(wfe, "phase", WorkflowExecution::phase, Running)
            .await;
        running.status.unwrap().execution_ref.unwrap().name.unwrap()
    }

    /// Plays the Job controller: sets condition `type_` of `job` to True; a terminal one
    /// (`Complete`, `Failed`) with the rest of a finished Job's status (`builtin::end_job`).
    pub async fn job_condition(&self, job: &str, type_: &str, reason: &str, message: &str) {
        // A terminal condition comes with the rest of a finished Job's status, as the Job
        // controller writes it (kube-apiserver refuses a bare `Complete` or `Failed`).
        match JobOutcome::of_condition(type_) {
            Some(outcome) => end_job(&self.jobs(), job, outcome, reason, message).await,
            None => {
                (self
                    .jobs()
                    .set_condition(job, type_, "True", reason, message))
                .await
            }
        }
    }

    /// Plays the kubelet: a Pod of `job` whose container terminated with `reason`/`exit_code`.
    pub async fn terminated_pod(&self, job: &str, reason: &str, exit_code: i32, message: &str) {
        let pods = self.api_in(&self.exec_ns());
        terminated_job_pod(&pods, job, reason, exit_code, message).await;
    }

    /// Audit events of `wfe`'s parent RemediationRequest, once at least `min` arrived.
    pub async fn audit(&self, wfe: &WorkflowExecution, min: usize) -> Vec<audit::AuditEvent> {
        let correlation = wfe.spec.remediation_request_ref.name.clone().unwrap();
        self.0.audit(&correlation, min).await
    }
}
