//! Environment classification and priority assignment by the shipped Rego policies, and the
//! business categorization, end to end through the controller.

use controllers::api::signalprocessing::SignalProcessingStatus;
use controllers::api::{Environment, Priority};

use fixtures::builtin::deployment;

use crate::env::T;

const ENV_LABEL: &str = "kubernaut.ai/environment";

/// Processes a signal of `severity` in a namespace of its own labelled `ns_labels`, whose name
/// starts with `prefix`; returns the final status (`None` when the suite is skipped).
async fn classify(
    prefix: &str,
    ns_labels: &[(&str, &str)],
    severity: &str,
) -> Option<SignalProcessingStatus> {
    let t = T::new(prefix).await?;
    if !ns_labels.is_empty() {
        t.label_namespace(&t.ns, ns_labels).await;
    }
    Some(
        t.process(&t.sp("sig").with_severity(severity))
            .await
            .status
            .unwrap(),
    )
}

fn decided(status: &SignalProcessingStatus) -> (Environment, String, Priority, String) {
    let env = status.environment_classification.clone().unwrap();
    let priority = status.priority_assignment.clone().unwrap();
    (
        env.environment,
        env.source,
        priority.priority,
        priority.policy_name.unwrap_or_default(),
    )
}

#[tokio::test]
async fn production_critical_is_p0() {
    let Some(status) = classify("cls-a", &[(ENV_LABEL, "production")], "critical").await else {
        return;
    };
    assert_eq!(
        decided(&status),
        (
            Environment::Production,
            "namespace-label".into(),
            Priority::P0,
            "production-critical".into()
        )
    );
}

#[tokio::test]
async fn production_warning_is_p1() {
    let Some(status) = classify("cls-b", &[(ENV_LABEL, "prod")], "warning").await else {
        return;
    };
    assert_eq!(
        decided(&status),
        (
            Environment::Production,
            "namespace-label".into(),
            Priority::P1,
            "production-warning".into()
        )
    );
}

#[tokio::test]
async fn staging_critical_is_p1() {
    let Some(status) = classify("cls-c", &[(ENV_LABEL, "Staging")], "critical").await else {
        return;
    };
    assert_eq!(
        decided(&status),
        (
            Environment::Staging,
            "namespace-label".into(),
            Priority::P1,
            "staging-critical".into()
        )
    );
}

#[tokio::test]
async fn a_dev_namespace_name_is_development_and_critical_is_p2() {
    // No label: the word `dev` in the namespace name decides.
    let Some(status) = classify("dev-cls", &[], "critical").await else {
        return;
    };
    assert_eq!(
        decided(&status),
        (
            Environment::Development,
            "namespace-name".into(),
            Priority::P2,
            "development-critical".into()
        )
    );
}

#[tokio::test]
async fn a_signal_label_classifies_test_and_info_is_p3() {
    let Some(t) = T::new("cls-e").await else {
        return;
    };
    let mut sp = t.sp("sig").with_severity("info");
    sp.spec
        .signal
        .labels
        .insert("environment".into(), "testing".into());
    let status = t.process(&sp).await.status.unwrap();
    assert_eq!(
        decided(&status),
        (
            Environment::Test,
            "signal-label".into(),
            Priority::P3,
            "test-info".into()
        )
    );
}

#[tokio::test]
async fn nothing_to_go_by_is_unknown_and_critical_is_p1() {
    let Some(status) = classify("cls-f", &[], "critical").await else {
        return;
    };
    assert_eq!(
        decided(&status),
        (
            Environment::Unknown,
            "default".into(),
            Priority::P1,
            "unknown-critical".into()
        )
    );
    // Criticality follows the priority when no label gives one.
    let business = status.business_classification.unwrap();
    assert_eq!(
        (business.criticality.as_str(), business.source.as_str()),
        ("high", "priority-derived")
    );
    assert_eq!(business.business_unit, None);
}

#[tokio::test]
async fn an_unrecognised_environment_label_falls_through_to_the_name() {
    let Some(status) = classify("stg-cls", &[(ENV_LABEL, "on-the-moon")], "warning").await else {
        return;
    };
    assert_eq!(
        decided(&status),
        (
            Environment::Staging,
            "namespace-name".into(),
            Priority::P2,
            "staging-warning".into()
        )
    );
}

#[tokio::test]
async fn a_namespace_priority_label_overrides_the_matrix() {
    let Some(status) = classify(
        "cls-h",
        &[(ENV_LABEL, "development"), ("kubernaut.ai/priority", "P0")],
        "info",
    )
    .await
    else {
        return;
    };
    let priority = status.priority_assignment.unwrap();
    assert_eq!(priority.priority, Priority::P0);
    assert_eq!(priority.source, "namespace-label");
    assert_eq!(priority.policy_name.as_deref(), Some("namespace-override"));
}

#[tokio::test]
async fn business_unit_and_criticality_come_from_the_workload_before_the_namespace() {
    let Some(t) = T::new("cls-biz").await else {
        return;
    };
    t.label_namespace(
        &t.ns,
        &[
            ("kubernaut.ai/business-unit", "platform"),
            ("kubernaut.ai/criticality", "low"),
        ],
    )
    .await;
    t.create(&deployment(
        "checkout",
        &[
            ("kubernaut.ai/business-unit", "payments"),
            ("kubernaut.ai/criticality", "critical"),
        ],
    ))
    .await;
    let status = t.process(&t.sp("checkout")).await.status.unwrap();
    let business = status.business_classification.unwrap();
    assert_eq!(business.business_unit.as_deref(), Some("payments"));
    assert_eq!(
        (business.criticality.as_str(), business.source.as_str()),
        ("critical", "workload-label")
    );

    // Without the workload (not found), the namespace's labels decide.
    let status = t.process(&t.sp("absent")).await.status.unwrap();
    let business = status.business_classification.unwrap();
    assert_eq!(business.business_unit.as_deref(), Some("platform"));
    assert_eq!(
        (business.criticality.as_str(), business.source.as_str()),
        ("low", "namespace-label")
    );
}
