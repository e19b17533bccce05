//! The suite's declaration and the helpers its tests share.

use std::ops::Deref;
use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::{WorkflowExecution, WorkflowExecutionPhase};
use controllers::clock::Clock;
use controllers::workflowexecution::{self, Config, Metrics};
use fixtures::{Suite, TestNamespace, eventually};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use manager::Backoff;
use serde_json::json;

/// Where execution Jobs run.
pub const EXEC_NS: &str = "kubernaut-workflows";
/// The cooldown of the main suite: long enough to observe the Job kept after completion,
/// short enough that waiting for its deletion costs a test a fraction of a second.
pub const COOLDOWN: Duration = Duration::from_millis(300);

fn config(cooldown: Duration, exec_ns: &str) -> Config {
    Config {
        execution_namespace: exec_ns.into(),
        cooldown,
        phase_requeue: Duration::from_millis(10),
        // Errors retried within milliseconds, so recovery tests stay fast.
        error_backoff: Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(200),
            0.1,
        ),
        ..Config::default()
    }
}

fn suite(name: &str, cooldown: Duration) -> Suite {
    suite_with(name, cooldown, EXEC_NS, true)
}

fn suite_with(
    name: &str,
    cooldown: Duration,
    exec_ns: &'static str,
    create_exec_ns: bool,
) -> Suite {
    let mut builder = Suite::builder(name).crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"));
    // The shared manager of the single-controller baseline runs the main suite's configuration
    // only (scripts/single-bootstrap passes the same values): one controller cannot also have a
    // one-hour cooldown or watch a namespace that does not exist yet.
    if cooldown != COOLDOWN || exec_ns != EXEC_NS {
        builder = builder.per_process_only(format!("its controller has its own configuration (cooldown {cooldown:?}, execution namespace {exec_ns})"));
    }
    if create_exec_ns {
        builder = builder.namespace(exec_ns);
    }
    builder
        .controllers(move |setup| {
            let metrics = Metrics::register(setup.registry);
            // In the cluster mode every process has its own copy of the namespace.
            let exec_ns = setup.namespace_name(exec_ns);
            workflowexecution::register(
                setup.manager,
                config(cooldown, &exec_ns),
                metrics,
                setup.audit.clone(),
            );
            Ok(())
        })
        .build()
}

/// The execution namespace of [`LATE_NAMESPACE`], which its test creates late.
pub const LATE_EXEC_NS: &str = "kubernaut-workflows-late";

/// A suite whose execution namespace does not exist at start.
pub static LATE_NAMESPACE: LazyLock<Suite> = LazyLock::new(|| {
    suite_with(
        "workflowexecution-late-namespace",
        COOLDOWN,
        LATE_EXEC_NS,
        false,
    )
});

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| suite("workflowexecution", COOLDOWN));

/// A suite whose cooldown never ends within a test, to observe the Job being kept.
pub static LONG_COOLDOWN: LazyLock<Suite> =
    LazyLock::new(|| suite("workflowexecution-long-cooldown", Duration::from_secs(3600)));

/// A suite with a registry used by one test only, so its metric values are exact even when
/// tests share a process.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite("workflowexecution-metrics", COOLDOWN));

/// Another single-test suite, for a test that counts reconciles.
pub static QUIET: LazyLock<Suite> = LazyLock::new(|| suite("workflowexecution-quiet", COOLDOWN));

/// The clock of [`MOVABLE_CLOCK`]'s controller, which its single test moves forward.
pub static CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite whose controller measures deadlines against [`CLOCK`], so a test moves
/// time past a deadline instead of waiting for it.
pub static MOVABLE_CLOCK: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("workflowexecution-movable-clock")
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        .namespace(EXEC_NS)
        .per_process_only("its controller reads a clock the test moves")
        .controllers(|setup| {
            let metrics = Metrics::register(setup.registry);
            let config = Config {
                clock: CLOCK.clone(),
                ..config(COOLDOWN, &setup.namespace_name(EXEC_NS))
            };
            workflowexecution::register(setup.manager, config, metrics, setup.audit.clone());
            Ok(())
        })
        .build()
});

/// One test's view: its environment and its own namespace, with the shared helpers of
/// [`TestNamespace`] (create, wait_for, status writes, audit); these add the WorkflowExecution
/// ones and play the Job controller.
pub struct T(TestNamespace);

impl Deref for T {
    type Target = TestNamespace;
    fn deref(&self) -> &TestNamespace {
        &self.0
    }
}

impl T {
    pub async fn new(prefix: &str) -> T {
        T::on(&SUITE, prefix).await
    }

    pub async fn on(suite: &Suite, prefix: &str) -> T {
        T(TestNamespace::new(suite, prefix).await)
    }

    /// [`T::on`] for a per-process-only suite: `None` (the test is skipped, with a message) in
    /// the single-controller baseline's shared mode.
    pub async fn on_or_skip(suite: &Suite, prefix: &str) -> Option<T> {
        TestNamespace::new_or_skip(suite, prefix).await.map(T)
    }

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
        Api::namespaced(self.env.client(), &self.exec_ns())
    }

    pub async fn wait_phase(&self, name: &str, phase: WorkflowExecutionPhase) -> WorkflowExecution {
        self.wait_for(
            name,
            &format!("in phase {phase}"),
            |wfe: &WorkflowExecution| {
                if wfe.phase() == phase {
                    Ok(wfe.clone())
                } else {
                    Err(format!("phase {}, status {:?}", wfe.phase(), wfe.status))
                }
            },
        )
        .await
    }

    /// Creates `wfe` and waits until its Job exists and it runs; returns the Job's name.
    pub async fn start(&self, wfe: &WorkflowExecution) -> String {
        self.create(wfe).await;
        let running = self
            .wait_phase(
                &wfe.metadata.name.clone().unwrap(),
                WorkflowExecutionPhase::Running,
            )
            .await;
        running.status.unwrap().execution_ref.unwrap().name.unwrap()
    }

    /// Plays the Job controller: sets a Job condition to True.
    pub async fn job_condition(&self, job: &str, type_: &str, reason: &str, message: &str) {
        let patch = json!({"status": {"conditions": [{"type": type_, "status": "True", "reason": reason, "message": message}]}});
        self.jobs()
            .patch_status(job, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch Job status");
    }

    /// Plays the Job controller: a Pod of `job` whose container terminated with `reason`/`exit_code`.
    pub async fn terminated_pod(&self, job: &str, reason: &str, exit_code: i32, message: &str) {
        let pods: Api<Pod> = Api::namespaced(self.env.client(), &self.exec_ns());
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("{job}-pod"), "labels": {"job-name": job}},
            "spec": {"containers": [{"name": "workflow", "image": "x"}]},
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
        let status = json!({"status": {"containerStatuses": [{
            "name": "workflow", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"reason": reason, "exitCode": exit_code, "message": message}},
        }]}});
        pods.patch_status(
            &format!("{job}-pod"),
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await
        .expect("pod status");
    }

    /// Successful `/status` writes the API server received for WorkflowExecution `name`.
    pub async fn status_writes(&self, name: &str) -> usize {
        self.0.status_writes::<WorkflowExecution>(name).await
    }

    /// Waits until `job` no longer exists.
    pub async fn job_gone(&self, job: &str) {
        let jobs = self.jobs();
        eventually(
            &format!("Job {}/{job} to be deleted", self.exec_ns()),
            || async {
                match jobs.get_opt(job).await {
                    Ok(None) => Ok(()),
                    Ok(Some(j)) => Err(format!(
                        "still there, deletionTimestamp {:?}",
                        j.metadata.deletion_timestamp
                    )),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await
    }

    /// Audit events of `wfe`'s parent RemediationRequest, once at least `min` arrived.
    pub async fn audit(&self, wfe: &WorkflowExecution, min: usize) -> Vec<audit::AuditEvent> {
        let correlation = wfe.spec.remediation_request_ref.name.clone().unwrap();
        self.0.audit(&correlation, min).await
    }
}

/// A condition's status by type.
pub fn condition(wfe: &WorkflowExecution, type_: &str) -> Option<String> {
    wfe.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}
