//! The per-target lock: one Job per target resource, a second execution for the same target
//! fails as Deduplicated, and the lock is released by the cooldown or by deletion.

use controllers::api::WorkflowExecutionPhase::*;
use controllers::api::workflowexecution::FailureReason;
use fixtures::ApiExt as _;
use kube::api::DeleteParams;

use crate::env::T;

#[tokio::test]
async fn a_held_lock_deduplicates_the_second_execution() {
    let Some(t) = T::new("dedup").await else {
        return;
    };
    let first = t.wfe("holder");
    let job = t.start(&first).await;
    let second = t.wfe("second").with_target(&first.spec.target_resource);
    t.create(&second).await;
    let failed = t.wait_phase("second", Failed).await;
    let status = failed.status.unwrap();
    let details = status.failure_details.unwrap();
    assert_eq!(details.reason, FailureReason::Deduplicated);
    // The message names the holder and the Job, so an operator can find them.
    assert!(
        details
            .message
            .contains(&format!("WorkflowExecution {}/holder", t.ns)),
        "{}",
        details.message
    );
    assert!(
        details.message.contains(&format!("{}/{job}", t.exec_ns())),
        "{}",
        details.message
    );
    // The loser never took the lock.
    assert!(status.execution_ref.is_none());
}

#[tokio::test]
async fn deduplication_leaves_the_holder_and_its_job_alone() {
    let Some(t) = T::new("holder").await else {
        return;
    };
    let first = t.wfe("keeps");
    let job = t.start(&first).await;
    let uid = t.jobs().get(&job).await.unwrap().metadata.uid;
    t.create(&t.wfe("loser").with_target(&first.spec.target_resource))
        .await;
    t.wait_phase("loser", Failed).await;
    // Deleting the loser must not release the holder's lock either.
    t.wfes()
        .delete("loser", &DeleteParams::default())
        .await
        .unwrap();
    t.job_condition(&job, "Complete", "Completed", "done").await;
    t.wait_phase("keeps", Completed).await;
    // Still the same Job: nobody deleted and recreated it.
    if let Some(j) = t.jobs().get_opt(&job).await.unwrap() {
        assert_eq!(j.metadata.uid, uid);
    }
}

#[tokio::test]
async fn the_lock_is_free_again_after_the_cooldown() {
    let Some(t) = T::new("relock").await else {
        return;
    };
    let first = t.wfe("first-run");
    let job = t.start(&first).await;
    t.job_condition(&job, "Complete", "Completed", "done").await;
    t.wait_phase("first-run", Completed).await;
    t.jobs().wait_gone(&job).await;
    let again = t.wfe("second-run").with_target(&first.spec.target_resource);
    let job2 = t.start(&again).await;
    assert_eq!(job2, job, "same target, same lock name");
    let labels = t.jobs().get(&job2).await.unwrap().metadata.labels.unwrap();
    assert_eq!(
        labels
            .get("kubernaut.ai/workflow-execution")
            .map(String::as_str),
        Some("second-run")
    );
}

#[tokio::test]
async fn deleting_the_holder_releases_the_lock() {
    let Some(t) = T::new("release").await else {
        return;
    };
    let first = t.wfe("gone-holder");
    let job = t.start(&first).await;
    t.wfes()
        .delete("gone-holder", &DeleteParams::default())
        .await
        .unwrap();
    t.jobs().wait_gone(&job).await;
    let next = t.wfe("next").with_target(&first.spec.target_resource);
    t.start(&next).await;
}

#[tokio::test]
async fn same_name_in_two_namespaces_with_different_targets_do_not_collide() {
    let Some(a) = T::new("ns-a").await else {
        return;
    };
    let Some(b) = T::new("ns-b").await else {
        return;
    };
    let (wa, wb) = (a.wfe("same"), b.wfe("same"));
    let (ja, jb) = tokio::join!(a.start(&wa), b.start(&wb));
    assert_ne!(ja, jb);
}

#[tokio::test]
async fn a_lock_held_by_a_foreign_job_deduplicates() {
    // A Job with the lock's name but no owner labels: someone else holds the target.
    let Some(t) = T::new("foreign").await else {
        return;
    };
    let wfe = t.wfe("foreign");
    let lock = controllers::workflowexecution::job::lock_name(&wfe.spec.target_resource);
    let job: k8s_openapi::api::batch::v1::Job = serde_json::from_value(serde_json::json!({
        "metadata": {"name": lock},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "x", "image": "x"}]}}},
    }))
    .unwrap();
    t.jobs().create(&Default::default(), &job).await.unwrap();
    t.create(&wfe).await;
    let details = t
        .wait_phase("foreign", Failed)
        .await
        .status
        .unwrap()
        .failure_details
        .unwrap();
    assert_eq!(details.reason, FailureReason::Deduplicated);
    assert!(
        details.message.contains("an unknown owner"),
        "{}",
        details.message
    );
    // And the foreign Job survives: it was never ours to delete.
    t.wfes()
        .delete("foreign", &DeleteParams::default())
        .await
        .unwrap();
    assert!(t.jobs().get_opt(&lock).await.unwrap().is_some());
}
