//! Analyzing: the Rego approval policy (the shipped one, and one loaded from a file) decides
//! between Approved, ManualReviewRequired and Denied.

use std::path::PathBuf;
use std::sync::LazyLock;

use controllers::api::AIAnalysisPhase::*;
use controllers::api::aianalysis::ApprovalDecision;
use controllers::api::{AIAnalysis, Environment, Priority};
use fixtures::Suite;

use crate::env::{FAMILY, T, reason};

/// The approval policy of [`POLICY_FILE`]: Staging always needs review; low confidence in
/// Staging makes two complete rules disagree, which Rego reports as an evaluation error.
const FILE_POLICY: &str = r#"package aianalysis.approval
import rego.v1
default decision := "Approved"
decision := "ManualReviewRequired" if input.environment == "Staging"
decision := "Denied" if input.confidence < 0.7
matched_rules := ["StagingAlwaysReviewed"] if input.environment == "Staging"
"#;

/// Where [`POLICY_FILE`]'s policy is written (per process).
fn policy_path() -> PathBuf {
    fixtures::target_dir()
        .join("aianalysis-policies")
        .join(format!("approval-{}.rego", std::process::id()))
}

/// A suite whose approval policy comes from a file.
static POLICY_FILE: LazyLock<Suite> = LazyLock::new(|| {
    FAMILY.try_variant(
        "aianalysis-policy-file",
        "its approval policy is a file",
        |c, _| {
            let path = policy_path();
            std::fs::create_dir_all(path.parent().expect("a parent"))?;
            std::fs::write(&path, FILE_POLICY)?;
            *c = std::mem::take(c).with_policy_file(&path)?;
            Ok(())
        },
    )
});

fn decision(aia: &AIAnalysis) -> (bool, ApprovalDecision, Vec<String>) {
    let approval = aia.status.clone().unwrap().approval.unwrap();
    let evaluation = approval.policy_evaluation.unwrap();
    (
        approval.approval_required,
        evaluation.decision,
        evaluation.matched_rules,
    )
}

#[tokio::test]
async fn low_confidence_in_production_requires_approval() {
    let Some(t) = T::new("low-prod").await else {
        return;
    };
    let done = t.run(&t.aia("low", "mock-low-confidence"), Completed).await;
    assert_eq!(
        decision(&done),
        (
            true,
            ApprovalDecision::ManualReviewRequired,
            vec!["ProductionLowConfidence".to_owned()]
        )
    );
    assert_eq!(reason(&done), "ApprovalRequired");
    let approval = done.status.unwrap().approval.unwrap();
    assert_eq!(
        approval.approval_reason.as_deref(),
        Some("ProductionLowConfidence")
    );
}

#[tokio::test]
async fn low_confidence_in_staging_is_approved() {
    let Some(t) = T::new("low-staging").await else {
        return;
    };
    let aia = t
        .aia("low", "mock-low-confidence")
        .with_environment(Environment::Staging);
    let done = t.run(&aia, Completed).await;
    assert_eq!(decision(&done), (false, ApprovalDecision::Approved, vec![]));
    assert_eq!(reason(&done), "WorkflowSelected");
}

#[tokio::test]
async fn very_low_confidence_is_denied_and_the_analysis_fails() {
    let Some(t) = T::new("very-low").await else {
        return;
    };
    let failed = t
        .run(&t.aia("vlow", "mock-very-low-confidence"), Failed)
        .await;
    assert_eq!(reason(&failed), "ApprovalDenied");
    let (required, decided, rules) = decision(&failed);
    assert!(!required);
    assert_eq!(decided, ApprovalDecision::Denied);
    assert_eq!(rules, ["ConfidenceTooLow", "ProductionLowConfidence"]);
    // The root cause stays for whoever reviews the denial.
    assert!(
        failed
            .status
            .unwrap()
            .rca_result
            .unwrap()
            .selected_workflow
            .is_some()
    );
}

#[tokio::test]
async fn a_destructive_action_is_denied_even_when_confident() {
    let Some(t) = T::new("destructive").await else {
        return;
    };
    let aia = t
        .aia("del", "mock-destructive-action")
        .with_environment(Environment::Development);
    let failed = t.run(&aia, Failed).await;
    assert_eq!(reason(&failed), "ApprovalDenied");
    assert_eq!(
        decision(&failed),
        (
            false,
            ApprovalDecision::Denied,
            vec!["DestructiveAction".to_owned()]
        )
    );
}

#[tokio::test]
async fn a_p0_production_signal_requires_approval_even_when_confident() {
    let Some(t) = T::new("p0").await else { return };
    let mut aia = t.aia("p0", "HighMemoryUsage");
    aia.spec.analysis_request.signal_context.business_priority = Priority::P0;
    let done = t.run(&aia, Completed).await;
    assert_eq!(
        decision(&done),
        (
            true,
            ApprovalDecision::ManualReviewRequired,
            vec!["ProductionCriticalP0".to_owned()]
        )
    );
}

#[tokio::test]
async fn a_policy_file_replaces_the_shipped_policy() {
    let Some(t) = T::on(&POLICY_FILE, "policy-file").await else {
        return;
    };
    // The shipped policy approves a confident Staging workflow; the file's requires review.
    let aia = t
        .aia("staging", "HighMemoryUsage")
        .with_environment(Environment::Staging);
    let done = t.run(&aia, Completed).await;
    assert_eq!(
        decision(&done),
        (
            true,
            ApprovalDecision::ManualReviewRequired,
            vec!["StagingAlwaysReviewed".to_owned()]
        )
    );
    let evaluation = done
        .status
        .unwrap()
        .approval
        .unwrap()
        .policy_evaluation
        .unwrap();
    assert_eq!(
        evaluation.policy_name.as_deref(),
        Some(policy_path().display().to_string().as_str())
    );
}

#[tokio::test]
async fn a_policy_that_cannot_decide_fails_the_analysis_and_counts_the_error() {
    let Some(t) = T::on(&POLICY_FILE, "policy-error").await else {
        return;
    };
    // Staging and confidence 0.6: two complete rules give two decisions, a Rego error.
    let aia = t
        .aia("conflict", "mock-low-confidence")
        .with_environment(Environment::Staging);
    let failed = t.run(&aia, Failed).await;
    assert_eq!(reason(&failed), "PolicyEvaluationFailed");
    let message = failed.status.unwrap().message.unwrap();
    assert!(message.contains("failed on this input"), "{message}");
    // The controller counts a failure right after its status write and before its last audit
    // event (started, analyze, result, failed): once that event is in DataStorage, the
    // counters are final.
    t.audit("conflict", 4).await;
    // Only this test makes the policy fail, so the count is exact even in a shared process.
    assert_eq!(
        t.env
            .metric_or_zero("aianalysis_rego_evaluations_total", &[("outcome", "error")])
            .await,
        1.0
    );
    assert_eq!(
        t.env
            .metric_or_zero(
                "aianalysis_failures_total",
                &[("reason", "PolicyEvaluationFailed")]
            )
            .await,
        1.0
    );
}
