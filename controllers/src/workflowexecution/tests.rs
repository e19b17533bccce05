//! Drives the WorkflowExecution controller against the embedded API server and a fake
//! DataStorage (capturing audit batches). Tests play the Job controller: there is none in a
//! test API server, so they write Job (and Pod) status themselves.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit::{AuditStore, StoreConfig};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, CustomResourceExt, ResourceExt};
use manager::{Backoff, Manager, RunningManager};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::job::lock_name;
use super::metrics::Outcome;
use super::{Config, Metrics, register};
use crate::api::workflowexecution::FailureReason;
use crate::api::{FINALIZER, WorkflowExecution, WorkflowExecutionPhase};

/// Bound for anything that takes milliseconds when healthy; only reached when broken (the
/// machine is shared, so it is generous).
const DEADLINE: Duration = Duration::from_secs(20);
/// Poll interval of `wait_for`.
const POLL: Duration = Duration::from_millis(10);
/// Namespace of the test's WorkflowExecutions.
const NS: &str = "default";
/// Execution namespace used by the tests.
const EXEC_NS: &str = "kubernaut-workflows";

struct Env {
    server: apiserver::ApiServer,
    client: Client,
    running: Option<RunningManager>,
    metrics: Metrics,
    audit: AuditStore,
    batches: Arc<Mutex<Vec<Value>>>,
}

impl Env {
    async fn start(cooldown: Duration) -> Self {
        // RUST_LOG=controllers=debug,manager=debug shows the controller's decisions.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let server = apiserver::ApiServer::builder()
            .crd(WorkflowExecution::crd())
            .start()
            .await
            .expect("API server");
        let client = server.client().expect("client");
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(EXEC_NS.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("execution namespace");

        let (ds_url, batches) = fake_datastorage().await;
        let mut registry = Registry::default();
        let ds = audit::Client::new(&ds_url, "test-token", DEADLINE).expect("audit client");
        // Flush fast so tests see events within milliseconds.
        let store_config = StoreConfig {
            flush_interval: Duration::from_millis(10),
            ..StoreConfig::default()
        };
        let audit = AuditStore::start(ds, store_config, &mut registry);
        let metrics = Metrics::register(&mut registry);
        let config = Config {
            execution_namespace: EXEC_NS.into(),
            cooldown,
            phase_requeue: Duration::from_millis(10),
            error_backoff: Backoff::new(
                Duration::from_millis(10),
                2.0,
                Duration::from_millis(200),
                0.1,
            ),
            service_name: "workflowexecution-test".into(),
            ..Config::default()
        };
        let mut mgr = Manager::new(client.clone(), CancellationToken::new());
        register(&mut mgr, config, metrics.clone(), audit.clone());
        let running = mgr.start();
        running.ready(DEADLINE).await.expect("controller ready");
        Self {
            server,
            client,
            running: Some(running),
            metrics,
            audit,
            batches,
        }
    }

    fn wfes(&self) -> Api<WorkflowExecution> {
        Api::namespaced(self.client.clone(), NS)
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), EXEC_NS)
    }

    async fn create(&self, wfe: WorkflowExecution) -> WorkflowExecution {
        self.wfes()
            .create(&PostParams::default(), &wfe)
            .await
            .expect("create WorkflowExecution")
    }

    async fn wait_phase(&self, name: &str, phase: WorkflowExecutionPhase) -> WorkflowExecution {
        let api = self.wfes();
        wait_for(&format!("{name} to reach {phase}"), || async {
            api.get_opt(name)
                .await
                .ok()
                .flatten()
                .filter(|w| w.phase() == phase)
        })
        .await
    }

    /// Plays the Job controller: a terminal condition (`Complete`, `Failed`) comes with the rest
    /// of a finished Job's status, which the API server requires as kube-apiserver does
    /// (`fixtures::builtin::end_job`); any other condition is set alone.
    async fn set_job_condition(&self, job: &str, type_: &str, reason: &str, message: &str) {
        if let Some(outcome) = fixtures::builtin::JobOutcome::of_condition(type_) {
            fixtures::builtin::end_job(&self.jobs(), job, outcome, reason, message).await;
            return;
        }
        let patch = json!({"status": {"conditions": [{"type": type_, "status": "True", "reason": reason, "message": message}]}});
        self.jobs()
            .patch_status(job, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch Job status");
    }

    /// Audit events received by the fake DataStorage for `correlation_id`, after a flush.
    async fn audit_events(&self, correlation_id: &str) -> Vec<Value> {
        self.audit.flush().await;
        self.batches
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["correlation_id"] == correlation_id)
            .cloned()
            .collect()
    }

    async fn wait_audit(&self, correlation_id: &str, event_type: &str) -> Value {
        wait_for(&format!("audit event {event_type}"), || async {
            self.audit_events(correlation_id)
                .await
                .into_iter()
                .find(|e| e["event_type"] == event_type)
        })
        .await
    }

    /// `PUT/PATCH .../workflowexecutions/<name>/status` requests answered 2xx.
    fn status_writes(&self, name: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| {
                r.resource == "workflowexecutions" && r.subresource == "status" && r.name == name
            })
            .filter(|r| {
                matches!(r.method.as_str(), "PUT" | "PATCH") && (200..300).contains(&r.code)
            })
            .count()
    }

    async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running
                .shutdown(DEADLINE)
                .await
                .expect("controller stops cleanly");
        }
    }
}

/// A DataStorage stand-in: accepts batches, keeps the events, answers 201 with fresh ids.
async fn fake_datastorage() -> (String, Arc<Mutex<Vec<Value>>>) {
    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let store = events.clone();
    let app = axum::Router::new().route(
        audit::api::BATCH_PATH,
        axum::routing::post(move |axum::Json(batch): axum::Json<Vec<Value>>| {
            let store = store.clone();
            async move {
                let ids: Vec<String> = batch.iter().map(|_| uuid_like()).collect();
                store.lock().unwrap().extend(batch);
                (
                    axum::http::StatusCode::CREATED,
                    axum::Json(json!({"event_ids": ids})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake DataStorage");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, events)
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `f` until it yields `Some`, failing after `DEADLINE`.
async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A cooldown no test waits out.
const LONG: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn pending_creates_the_locked_job_and_runs() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w1").with_parameter("REPLICAS", "2"))
        .await;
    let wfe = env.wait_phase("w1", WorkflowExecutionPhase::Running).await;
    let job_name = lock_name("default/Deployment/w1");
    let status = wfe.status.clone().unwrap();
    assert_eq!(
        status.execution_ref.unwrap().name.as_deref(),
        Some(job_name.as_str())
    );
    assert!(status.start_time.is_some());
    assert!(crate::conditions::is_true(
        &status.conditions,
        "ExecutionCreated"
    ));
    assert!(crate::conditions::is_true(
        &status.conditions,
        "ExecutionRunning"
    ));
    assert!(
        wfe.finalizers().contains(&FINALIZER.to_owned()),
        "finalizer added"
    );
    let job = env
        .jobs()
        .get(&job_name)
        .await
        .expect("Job in the execution namespace");
    assert_eq!(job.labels()["kubernaut.ai/workflow-execution"], "w1");
    assert_eq!(
        job.labels()["kubernaut.ai/workflow-execution-namespace"],
        NS
    );

    let started = env
        .wait_audit("rr-w1", "workflowexecution.execution.started")
        .await;
    assert_eq!(started["actor_type"], "service");
    assert_eq!(started["actor_id"], "workflowexecution-test");
    assert_eq!(started["event_data"]["job_name"], job_name.as_str());
    env.wait_audit("rr-w1", "workflowexecution.selection.completed")
        .await;
    env.stop().await;
}

#[tokio::test]
async fn job_success_completes_with_one_status_write_per_transition() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w2")).await;
    env.wait_phase("w2", WorkflowExecutionPhase::Running).await;
    env.set_job_condition(&lock_name("default/Deployment/w2"), "Complete", "", "")
        .await;
    let wfe = env
        .wait_phase("w2", WorkflowExecutionPhase::Completed)
        .await;
    let status = wfe.status.unwrap();
    assert!(status.completion_time.is_some());
    assert!(crate::conditions::is_true(
        &status.conditions,
        "ExecutionComplete"
    ));
    assert!(crate::conditions::is_true(&status.conditions, "Ready"));
    let completed = env
        .wait_audit("rr-w2", "workflowexecution.workflow.completed")
        .await;
    assert_eq!(completed["event_outcome"], "success");
    // Pending→Running and Running→Completed: exactly two status writes, even though the
    // controller reconciled more often than that (requeues, Job events).
    assert_eq!(env.status_writes("w2"), 2);
    assert!(env.metrics.reconciles(Outcome::success) >= 2);
    env.stop().await;
}

#[tokio::test]
async fn deadline_exceeded_job_fails_the_execution() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w3")).await;
    env.wait_phase("w3", WorkflowExecutionPhase::Running).await;
    env.set_job_condition(
        &lock_name("default/Deployment/w3"),
        "Failed",
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
    )
    .await;
    let wfe = env.wait_phase("w3", WorkflowExecutionPhase::Failed).await;
    let details = wfe.status.unwrap().failure_details.unwrap();
    assert_eq!(details.reason, FailureReason::DeadlineExceeded);
    assert_eq!(
        details.message,
        "Job was active longer than specified deadline"
    );
    let failed = env
        .wait_audit("rr-w3", "workflowexecution.workflow.failed")
        .await;
    assert_eq!(failed["event_outcome"], "failure");
    assert_eq!(failed["error_code"], "DeadlineExceeded");
    env.stop().await;
}

#[tokio::test]
async fn oom_killed_pod_is_reported_with_its_exit_code() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w4")).await;
    env.wait_phase("w4", WorkflowExecutionPhase::Running).await;
    let job_name = lock_name("default/Deployment/w4");
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), EXEC_NS);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": format!("{job_name}-abcde"), "labels": {"job-name": job_name}},
        "spec": {"containers": [{"name": "workflow", "image": "x"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
    let status = json!({"status": {"containerStatuses": [{
        "name": "workflow", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    }]}});
    pods.patch_status(
        &format!("{job_name}-abcde"),
        &PatchParams::default(),
        &Patch::Merge(&status),
    )
    .await
    .expect("pod status");
    env.set_job_condition(
        &job_name,
        "Failed",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    .await;
    let details = env
        .wait_phase("w4", WorkflowExecutionPhase::Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::OOMKilled);
    assert_eq!(details.exit_code, Some(137));
    env.stop().await;
}

#[tokio::test]
async fn a_held_lock_deduplicates_and_leaves_the_holder_alone() {
    let env = Env::start(Duration::from_millis(20)).await;
    env.create(WorkflowExecution::test("holder").with_target("default/Deployment/shared"))
        .await;
    env.wait_phase("holder", WorkflowExecutionPhase::Running)
        .await;
    let before = env.metrics.reconciles(Outcome::success);
    env.create(WorkflowExecution::test("second").with_target("default/Deployment/shared"))
        .await;
    let second = env
        .wait_phase("second", WorkflowExecutionPhase::Failed)
        .await;
    let status = second.status.unwrap();
    let details = status.failure_details.unwrap();
    assert_eq!(details.reason, FailureReason::Deduplicated);
    assert!(
        details.message.contains("default/holder"),
        "{}",
        details.message
    );
    assert!(
        status.execution_ref.is_none(),
        "the lock is not the duplicate's"
    );
    // The duplicate's reconciles (finalizer, Deduplicated, then the terminal one after the
    // phase requeue) have all run; none may delete the holder's Job.
    wait_for("the duplicate's terminal reconcile", || async {
        (env.metrics.reconciles(Outcome::success) >= before + 3).then_some(())
    })
    .await;
    let job = env
        .jobs()
        .get(&lock_name("default/Deployment/shared"))
        .await
        .expect("holder's Job survives");
    assert_eq!(job.labels()["kubernaut.ai/workflow-execution"], "holder");
    assert_eq!(
        env.wait_phase("holder", WorkflowExecutionPhase::Running)
            .await
            .name_any(),
        "holder"
    );
    env.stop().await;
}

#[tokio::test]
async fn the_job_is_deleted_after_the_cooldown() {
    let env = Env::start(Duration::from_millis(50)).await;
    env.create(WorkflowExecution::test("w5")).await;
    env.wait_phase("w5", WorkflowExecutionPhase::Running).await;
    let job_name = lock_name("default/Deployment/w5");
    env.set_job_condition(&job_name, "Complete", "", "").await;
    env.wait_phase("w5", WorkflowExecutionPhase::Completed)
        .await;
    let jobs = env.jobs();
    wait_for("the Job to be deleted after the cooldown", || async {
        matches!(jobs.get_opt(&job_name).await, Ok(None)).then_some(())
    })
    .await;
    // The lock is free again: a new execution on the same target runs.
    env.create(WorkflowExecution::test("w5b").with_target("default/Deployment/w5"))
        .await;
    env.wait_phase("w5b", WorkflowExecutionPhase::Running).await;
    env.stop().await;
}

#[tokio::test]
async fn the_job_is_kept_during_the_cooldown() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w6")).await;
    env.wait_phase("w6", WorkflowExecutionPhase::Running).await;
    let job_name = lock_name("default/Deployment/w6");
    let before = env.metrics.reconciles(Outcome::success);
    env.set_job_condition(&job_name, "Complete", "", "").await;
    env.wait_phase("w6", WorkflowExecutionPhase::Completed)
        .await;
    // Two more successful reconciles: the one that completed, then (after the phase requeue)
    // the terminal one that checks the cooldown.
    wait_for("the terminal reconcile", || async {
        (env.metrics.reconciles(Outcome::success) >= before + 2).then_some(())
    })
    .await;
    assert!(
        env.jobs().get_opt(&job_name).await.unwrap().is_some(),
        "Job deleted before the cooldown"
    );
    env.stop().await;
}

#[tokio::test]
async fn deleting_the_execution_removes_its_job() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w7")).await;
    env.wait_phase("w7", WorkflowExecutionPhase::Running).await;
    let job_name = lock_name("default/Deployment/w7");
    env.wfes()
        .delete("w7", &DeleteParams::default())
        .await
        .expect("delete");
    let (wfes, jobs) = (env.wfes(), env.jobs());
    wait_for("the WorkflowExecution to be gone", || async {
        matches!(wfes.get_opt("w7").await, Ok(None)).then_some(())
    })
    .await;
    assert!(
        jobs.get_opt(&job_name).await.unwrap().is_none(),
        "finalizer cleaned up the Job"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_vanished_job_fails_the_execution() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w8")).await;
    env.wait_phase("w8", WorkflowExecutionPhase::Running).await;
    env.jobs()
        .delete(
            &lock_name("default/Deployment/w8"),
            &DeleteParams::default(),
        )
        .await
        .expect("delete Job");
    let details = env
        .wait_phase("w8", WorkflowExecutionPhase::Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::ExecutionNotFound);
    env.stop().await;
}

#[tokio::test]
async fn a_passed_deadline_fails_before_creating_a_job() {
    let env = Env::start(LONG).await;
    let mut wfe = WorkflowExecution::test("w9");
    wfe.spec.times_out_at = Some(crate::api::Time(jiff::Timestamp::UNIX_EPOCH));
    env.create(wfe).await;
    let details = env
        .wait_phase("w9", WorkflowExecutionPhase::Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::TimedOut);
    assert!(
        env.jobs()
            .get_opt(&lock_name("default/Deployment/w9"))
            .await
            .unwrap()
            .is_none()
    );
    env.stop().await;
}

#[tokio::test]
async fn a_missing_execution_namespace_is_retried_then_recovers() {
    let server = apiserver::ApiServer::builder()
        .crd(WorkflowExecution::crd())
        .start()
        .await
        .unwrap();
    let client = server.client().unwrap();
    let (ds_url, _batches) = fake_datastorage().await;
    let mut registry = Registry::default();
    let audit = AuditStore::start(
        audit::Client::new(&ds_url, "t", DEADLINE).unwrap(),
        StoreConfig::default(),
        &mut registry,
    );
    let metrics = Metrics::register(&mut registry);
    let config = Config {
        execution_namespace: "late".into(),
        phase_requeue: Duration::from_millis(10),
        error_backoff: Backoff::new(
            Duration::from_millis(5),
            2.0,
            Duration::from_millis(50),
            0.0,
        ),
        ..Config::default()
    };
    let mut mgr = Manager::new(client.clone(), CancellationToken::new());
    register(&mut mgr, config, metrics.clone(), audit);
    let running = mgr.start();
    running.ready(DEADLINE).await.unwrap();
    let wfes: Api<WorkflowExecution> = Api::namespaced(client.clone(), NS);
    wfes.create(&PostParams::default(), &WorkflowExecution::test("w10"))
        .await
        .unwrap();
    wait_for("a failed reconcile", || async {
        (metrics.reconciles(Outcome::error) > 0).then_some(())
    })
    .await;
    assert_eq!(
        wfes.get("w10").await.unwrap().phase(),
        WorkflowExecutionPhase::Pending
    );
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("late".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    wait_for("recovery after the namespace appears", || async {
        wfes.get_opt("w10")
            .await
            .ok()
            .flatten()
            .filter(|w| w.phase() == WorkflowExecutionPhase::Running)
    })
    .await;
    running.shutdown(DEADLINE).await.unwrap();
}

#[tokio::test]
async fn an_unsupported_engine_fails_without_a_job() {
    let env = Env::start(LONG).await;
    let mut wfe = WorkflowExecution::test("w11");
    wfe.spec.workflow_ref.execution_engine = crate::api::workflowexecution::ExecutionEngine::Tekton;
    env.create(wfe).await;
    let details = env
        .wait_phase("w11", WorkflowExecutionPhase::Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::ExecutionCreationFailed);
    assert!(details.message.contains("tekton"), "{}", details.message);
    assert!(
        env.jobs()
            .get_opt(&lock_name("default/Deployment/w11"))
            .await
            .unwrap()
            .is_none()
    );
    env.stop().await;
}

#[tokio::test]
async fn status_writes_count_phase_transitions_only_for_failures_too() {
    let env = Env::start(LONG).await;
    env.create(WorkflowExecution::test("w12")).await;
    env.wait_phase("w12", WorkflowExecutionPhase::Running).await;
    let before = env.metrics.reconciles(Outcome::success);
    env.set_job_condition(
        &lock_name("default/Deployment/w12"),
        "Failed",
        "BackoffLimitExceeded",
        "boom",
    )
    .await;
    env.wait_phase("w12", WorkflowExecutionPhase::Failed).await;
    wait_for("the terminal reconcile", || async {
        (env.metrics.reconciles(Outcome::success) >= before + 2).then_some(())
    })
    .await;
    assert_eq!(
        env.status_writes("w12"),
        2,
        "Pending→Running and Running→Failed"
    );
    env.stop().await;
}
