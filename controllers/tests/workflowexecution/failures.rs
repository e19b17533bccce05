//! Job failures and how each maps to the execution's phase and failureDetails.

use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::Time;
use controllers::api::WorkflowExecution;
use controllers::api::WorkflowExecutionPhase::*;
use controllers::api::workflowexecution::FailureReason;
use controllers::clock::Clock;
use fixtures::{ApiExt as _, Suite, condition_status};
use kube::api::{DeleteParams, Patch, PatchParams};

use crate::env::{FAMILY, T};

/// The clock of [`MOVABLE_CLOCK`]'s controller, which its single test moves forward.
static CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite whose controller measures deadlines against [`CLOCK`], so a test moves
/// time past a deadline instead of waiting for it.
static MOVABLE_CLOCK: LazyLock<Suite> = LazyLock::new(|| {
    let why = "its controller reads a clock the test moves";
    FAMILY.variant("workflowexecution-movable-clock", why, |c, _| {
        c.clock = CLOCK.clone()
    })
});

#[tokio::test]
async fn deadline_exceeded_job_fails_with_deadline_exceeded() {
    let Some(t) = T::new("deadline").await else {
        return;
    };
    let wfe = t.wfe("deadline");
    let job = t.start(&wfe).await;
    t.job_condition(
        &job,
        "Failed",
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
    )
    .await;
    let failed = t.wait_phase("deadline", Failed).await;
    let details = failed
        .status
        .as_ref()
        .unwrap()
        .failure_details
        .clone()
        .unwrap();
    assert_eq!(details.reason, FailureReason::DeadlineExceeded);
    assert_eq!(
        details.message,
        "Job was active longer than specified deadline"
    );
    assert_eq!(details.exit_code, None);
    assert_eq!(
        condition_status(&failed, "ExecutionComplete").as_deref(),
        Some("False")
    );
    assert_eq!(condition_status(&failed, "Ready").as_deref(), Some("False"));
}

#[tokio::test]
async fn oom_killed_pod_fails_with_oom_killed_and_its_exit_code() {
    let Some(t) = T::new("oom").await else {
        return;
    };
    let wfe = t.wfe("oom");
    let job = t.start(&wfe).await;
    t.terminated_pod(&job, "OOMKilled", 137, "").await;
    t.job_condition(
        &job,
        "Failed",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    .await;
    let details = t
        .wait_phase("oom", Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(
        (details.reason, details.exit_code),
        (FailureReason::OOMKilled, Some(137))
    );
}

#[tokio::test]
async fn non_zero_exit_fails_with_task_failed_and_the_pod_message() {
    let Some(t) = T::new("taskfail").await else {
        return;
    };
    let wfe = t.wfe("taskfail");
    let job = t.start(&wfe).await;
    t.terminated_pod(&job, "Error", 3, "kubectl rollout restart failed")
        .await;
    t.job_condition(
        &job,
        "Failed",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    .await;
    let details = t
        .wait_phase("taskfail", Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::TaskFailed);
    assert_eq!(details.exit_code, Some(3));
    assert_eq!(details.message, "kubectl rollout restart failed");
}

#[tokio::test]
async fn failure_without_pods_is_task_failed_with_the_job_reason() {
    let Some(t) = T::new("nopods").await else {
        return;
    };
    let wfe = t.wfe("nopods");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Failed", "BackoffLimitExceeded", "")
        .await;
    let details = t
        .wait_phase("nopods", Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::TaskFailed);
    assert_eq!(details.message, "job failed (BackoffLimitExceeded)");
}

#[tokio::test]
async fn a_job_deleted_while_running_fails_with_execution_not_found() {
    let Some(t) = T::new("vanished").await else {
        return;
    };
    let wfe = t.wfe("vanished");
    let job = t.start(&wfe).await;
    t.jobs()
        .delete(&job, &DeleteParams::default())
        .await
        .unwrap();
    let details = t
        .wait_phase("vanished", Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::ExecutionNotFound);
    assert!(details.message.contains(&job), "{}", details.message);
}

#[tokio::test]
async fn a_deadline_already_passed_fails_before_any_job_is_created() {
    let Some(t) = T::new("late").await else {
        return;
    };
    let mut wfe = t.wfe("late");
    wfe.spec.times_out_at = Some(Time(
        jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60),
    ));
    t.create(&wfe).await;
    let failed = t.wait_phase("late", Failed).await;
    let status = failed.status.unwrap();
    assert_eq!(
        status.failure_details.unwrap().reason,
        FailureReason::TimedOut
    );
    assert!(status.execution_ref.is_none());
    let lock = controllers::workflowexecution::job::lock_name(&wfe.spec.target_resource);
    assert!(
        t.jobs().get_opt(&lock).await.unwrap().is_none(),
        "no Job may be created past the deadline"
    );
}

#[tokio::test]
async fn a_deadline_passing_while_running_times_out() {
    // The controller of this suite reads a clock the test moves: no waiting for the deadline.
    let Some(t) = T::on(&MOVABLE_CLOCK, "timeout").await else {
        return;
    };
    let mut wfe = t.wfe("timeout");
    wfe.spec.times_out_at = Some(Time(
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600),
    ));
    let job = t.start(&wfe).await;
    // An hour later by the controller's clock, the Job is still running.
    assert!(CLOCK.advance(Duration::from_secs(2 * 3600)));
    // The controller waits for the deadline with a timer set by the old clock; any change to
    // the object brings the reconcile that sees the new time (as a real deadline timer would).
    let poke = serde_json::json!({"metadata": {"annotations": {"test/poke": "1"}}});
    t.wfes()
        .patch("timeout", &PatchParams::default(), &Patch::Merge(&poke))
        .await
        .unwrap();
    let failed = t.wait_phase("timeout", Failed).await;
    let status = failed.status.unwrap();
    let details = status.failure_details.unwrap();
    assert_eq!(details.reason, FailureReason::TimedOut);
    assert!(details.message.contains(&job), "{}", details.message);
    assert!(
        status.execution_ref.is_some(),
        "it timed out while running, after creating its Job"
    );
}

#[tokio::test]
async fn a_failed_execution_stays_failed_when_the_job_later_reports_success() {
    let Some(t) = T::new("terminal").await else {
        return;
    };
    let wfe = t.wfe("terminal");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Failed", "DeadlineExceeded", "too slow")
        .await;
    t.wait_phase("terminal", Failed).await;
    // The Job may already be gone after the cooldown, and a Job status flipping from Failed to
    // Complete is refused by the API server (kube's Job status validation); either way nothing
    // moves a terminal phase.
    let _ = t
        .jobs()
        .patch_status(
            &job,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})),
        )
        .await;
    t.jobs().wait_gone(&job).await;
    assert_eq!(t.wfes().get("terminal").await.unwrap().phase(), Failed);
    assert_eq!(t.status_writes::<WorkflowExecution>("terminal").await, 2);
}
