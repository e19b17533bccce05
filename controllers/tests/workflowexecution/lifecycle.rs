//! The happy path, phase by phase: Pending → Running → Completed, the Job the controller
//! creates, its cooldown and deletion, and the finalizer.

use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::{FINALIZER, WorkflowExecution, WorkflowExecutionPhase::*};
use controllers::workflowexecution::job::{
    ANNOTATION_TARGET, LABEL_WFE_NAME, LABEL_WFE_NAMESPACE, lock_name,
};
use fixtures::{ApiExt as _, Suite, condition_status, eventually};
use kube::ResourceExt as _;
use kube::api::DeleteParams;

use crate::env::{FAMILY, QUIET, T};

/// A suite whose cooldown never ends within a test, to observe the Job being kept.
static LONG_COOLDOWN: LazyLock<Suite> = LazyLock::new(|| {
    let why = "its controller has a cooldown of an hour";
    let hour = Duration::from_secs(3600);
    FAMILY.variant("workflowexecution-long-cooldown", why, move |c, _| {
        c.cooldown = hour
    })
});

#[tokio::test]
async fn pending_creates_the_job_under_the_lock_name_and_runs() {
    let Some(t) = T::new("creates").await else {
        return;
    };
    let wfe = t.wfe("creates").with_parameter("REPLICAS", "3");
    let job_name = t.start(&wfe).await;
    assert_eq!(job_name, lock_name(&wfe.spec.target_resource));
    assert!(
        job_name.starts_with("wfe-") && job_name.len() == 20,
        "{job_name}"
    );

    let job = t.jobs().get(&job_name).await.unwrap();
    assert_eq!(job.namespace(), Some(t.exec_ns()));
    assert_eq!(
        job.labels().get(LABEL_WFE_NAME).map(String::as_str),
        Some("creates")
    );
    assert_eq!(job.labels().get(LABEL_WFE_NAMESPACE), Some(&t.ns));
    assert_eq!(
        job.annotations().get(ANNOTATION_TARGET),
        Some(&wfe.spec.target_resource)
    );
    // Cross-namespace: the link is labels, never an ownerReference.
    assert!(job.owner_references().is_empty());
    let container = &job.spec.unwrap().template.spec.unwrap().containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some(wfe.spec.workflow_ref.execution_bundle.as_str())
    );
    let env = container.env.clone().unwrap();
    assert!(
        env.iter()
            .any(|e| e.name == "REPLICAS" && e.value.as_deref() == Some("3"))
    );
    assert!(env.iter().any(
        |e| e.name == "TARGET_RESOURCE" && e.value.as_ref() == Some(&wfe.spec.target_resource)
    ));
}

#[tokio::test]
async fn running_status_records_the_execution_and_its_conditions() {
    let Some(t) = T::new("running").await else {
        return;
    };
    let wfe = t.wfe("running");
    let job = t.start(&wfe).await;
    let running = t.wait_phase("running", Running).await;
    let status = running.status.as_ref().unwrap();
    let exec = status.execution_ref.as_ref().unwrap();
    assert_eq!(
        (
            exec.kind.as_deref(),
            exec.namespace.as_deref(),
            exec.name.as_deref()
        ),
        (Some("Job"), Some(t.exec_ns().as_str()), Some(job.as_str()))
    );
    assert!(exec.uid.is_some());
    assert!(status.start_time.is_some());
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(
        condition_status(&running, "ExecutionCreated").as_deref(),
        Some("True")
    );
    assert_eq!(
        condition_status(&running, "ExecutionRunning").as_deref(),
        Some("True")
    );
    assert_eq!(
        condition_status(&running, "Ready").as_deref(),
        Some("False")
    );
}

#[tokio::test]
async fn a_job_that_has_not_finished_keeps_the_execution_running() {
    // A suite of its own, so the reconcile counter moves only for this test.
    let Some(t) = T::on(&QUIET, "stays").await else {
        return;
    };
    let wfe = t.wfe("stays");
    let job = t.start(&wfe).await;
    let reconciles = || async {
        t.env
            .metric_or_zero("workflowexecution_reconciler_total", &[])
            .await
    };
    // Wait for the reconciles that follow Running to settle (the phase requeue).
    let last = std::cell::Cell::new(reconciles().await);
    eventually("reconciles to settle after Running", || async {
        let now = reconciles().await;
        let settled = now == last.replace(now);
        if settled { Ok(()) } else { Err(now) }
    })
    .await;
    let before = reconciles().await;
    // A Job condition that is not terminal (the Job was suspended) changes nothing...
    t.job_condition(&job, "Suspended", "Suspended", "paused by a test")
        .await;
    // ...once the controller has reconciled the Job change (the Job watch maps it to us).
    eventually("a reconcile after the Job update", || async {
        let now = reconciles().await;
        if now > before { Ok(()) } else { Err(now) }
    })
    .await;
    assert_eq!(t.wfes().get("stays").await.unwrap().phase(), Running);
    assert_eq!(t.status_writes::<WorkflowExecution>("stays").await, 1);
}

#[tokio::test]
async fn job_success_completes_the_execution() {
    let Some(t) = T::new("completes").await else {
        return;
    };
    let wfe = t.wfe("completes");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Complete", "Completed", "done").await;
    let done = t.wait_phase("completes", Completed).await;
    let status = done.status.as_ref().unwrap();
    assert!(status.completion_time.is_some());
    assert!(status.failure_details.is_none());
    assert_eq!(
        condition_status(&done, "ExecutionComplete").as_deref(),
        Some("True")
    );
    assert_eq!(
        condition_status(&done, "ExecutionRunning").as_deref(),
        Some("False")
    );
    assert_eq!(condition_status(&done, "Ready").as_deref(), Some("True"));
}

#[tokio::test]
async fn exactly_one_status_write_per_phase_transition() {
    let Some(t) = T::new("writes").await else {
        return;
    };
    let wfe = t.wfe("writes");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Complete", "Completed", "done").await;
    t.wait_phase("writes", Completed).await;
    // Let the post-completion reconciles (cooldown, Job deletion) run: they must not write status.
    t.jobs().wait_gone(&job).await;
    // Pending → Running, Running → Completed: two transitions, two writes, no retries.
    assert_eq!(t.status_writes::<WorkflowExecution>("writes").await, 2);
}

#[tokio::test]
async fn the_job_is_deleted_after_the_cooldown() {
    let Some(t) = T::new("cooldown").await else {
        return;
    };
    let wfe = t.wfe("cooldown");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Complete", "Completed", "done").await;
    t.wait_phase("cooldown", Completed).await;
    t.jobs().wait_gone(&job).await;
    // The execution itself stays, Completed.
    assert_eq!(t.wfes().get("cooldown").await.unwrap().phase(), Completed);
}

#[tokio::test]
async fn the_job_is_kept_while_the_cooldown_runs() {
    let Some(t) = T::on(&LONG_COOLDOWN, "kept").await else {
        return;
    };
    let wfe = t.wfe("kept");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Complete", "Completed", "done").await;
    let done = t.wait_phase("kept", Completed).await;
    // The reconcile that saw Completed has run (it wrote the status); the Job is still there.
    assert!(done.status.unwrap().completion_time.is_some());
    let job = t
        .jobs()
        .get(&job)
        .await
        .expect("the Job is kept during the cooldown");
    assert!(job.metadata.deletion_timestamp.is_none());
}

#[tokio::test]
async fn the_finalizer_is_added_before_anything_else() {
    let Some(t) = T::new("finalizer").await else {
        return;
    };
    let wfe = t.wfe("finalizer");
    t.start(&wfe).await;
    let got = t.wfes().get("finalizer").await.unwrap();
    assert!(
        got.finalizers().iter().any(|f| f == FINALIZER),
        "{:?}",
        got.finalizers()
    );
}

#[tokio::test]
async fn deleting_a_running_execution_removes_its_job_then_the_execution() {
    let Some(t) = T::new("delete").await else {
        return;
    };
    let wfe = t.wfe("delete");
    let job = t.start(&wfe).await;
    t.wfes()
        .delete("delete", &DeleteParams::default())
        .await
        .unwrap();
    t.jobs().wait_gone(&job).await;
    let wfes = t.wfes();
    eventually(
        "the WorkflowExecution to be gone once its finalizer is removed",
        || async {
            match wfes.get_opt("delete").await {
                Ok(None) => Ok(()),
                Ok(Some(w)) => Err(format!("finalizers {:?}", w.finalizers())),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await;
}

#[tokio::test]
async fn independent_targets_run_side_by_side() {
    let Some(t) = T::new("parallel").await else {
        return;
    };
    let (a, b) = (t.wfe("par-a"), t.wfe("par-b"));
    let (ja, jb) = tokio::join!(t.start(&a), t.start(&b));
    assert_ne!(ja, jb);
    t.job_condition(&ja, "Complete", "Completed", "done").await;
    t.wait_phase("par-a", Completed).await;
    assert_eq!(t.wfes().get("par-b").await.unwrap().phase(), Running);
}
