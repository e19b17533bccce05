//! What the controller tells the outside world: exact metrics on the process's own registry,
//! audit events in DataStorage by correlation id, and one status write per phase transition.

use audit::EventOutcome;
use controllers::api::NotificationPhase::*;
use controllers::api::NotificationRequest;
use controllers::api::notificationrequest::NotificationType;

use crate::env::{METRICS, T};

#[tokio::test]
async fn metrics_count_attempts_retries_durations_and_breaker_state_exactly() {
    // A suite of its own: nothing else writes to this registry, so values are exact.
    let Some(t) = T::on(&METRICS, "metrics").await else {
        return;
    };
    let nr = t
        .nr("metrics", "fail:1")
        .with_type(NotificationType::Escalation)
        .with_severity("critical");
    t.run(&nr, Sent).await;
    let m = |name: &'static str, labels: &'static [(&'static str, &'static str)]| {
        let env = &t.env;
        async move { env.metric_or_zero(name, labels).await }
    };
    const ATTEMPTS: &str = "notification_delivery_attempts_total";
    assert_eq!(
        m(ATTEMPTS, &[("channel", "console"), ("status", "success")]).await,
        1.0
    );
    assert_eq!(
        m(ATTEMPTS, &[("channel", "file"), ("status", "success")]).await,
        1.0
    );
    assert_eq!(
        m(ATTEMPTS, &[("channel", "webhook"), ("status", "failed")]).await,
        1.0
    );
    assert_eq!(
        m(ATTEMPTS, &[("channel", "webhook"), ("status", "success")]).await,
        1.0
    );
    assert_eq!(m(ATTEMPTS, &[("status", "timeout")]).await, 0.0);
    assert_eq!(
        m(
            "notification_delivery_retries_total",
            &[("channel", "webhook")]
        )
        .await,
        1.0
    );
    assert_eq!(
        m(
            "notification_delivery_retries_total",
            &[("channel", "file")]
        )
        .await,
        0.0
    );
    assert_eq!(
        m(
            "notification_delivery_duration_seconds_count",
            &[("channel", "webhook")]
        )
        .await,
        2.0
    );
    assert_eq!(
        m(
            "notification_delivery_duration_seconds_count",
            &[("channel", "console")]
        )
        .await,
        1.0
    );
    // Every configured channel has a gauge from the start; the breaker is disabled here.
    let snapshot = t.env.metrics().await.expect("metrics");
    for channel in ["console", "file", "broken-file", "webhook"] {
        assert_eq!(
            snapshot.value(
                "notification_circuit_breaker_state",
                &[("channel", channel)]
            ),
            Some(0.0),
            "{channel}"
        );
    }
}

#[tokio::test]
async fn every_attempt_and_the_outcome_are_audited_in_datastorage_by_correlation_id() {
    let Some(t) = T::new("audit").await else {
        return;
    };
    let nr = t
        .nr("audit", "fail:1")
        .with_type(NotificationType::Escalation);
    t.run(&nr, Sent).await;
    let events = t.audit(&nr, 3).await;
    let mut types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "notification.message.failed",
            "notification.message.sent",
            "notification.request.completed"
        ]
    );
    let correlation = format!("rr-{}-audit", t.ns);
    for e in &events {
        assert_eq!(e.correlation_id, correlation);
        assert_eq!(e.event_category, "notification");
        assert_eq!(e.actor_id.as_deref(), Some("notification-controller"));
        assert_eq!(e.resource_type.as_deref(), Some("NotificationRequest"));
        assert_eq!(e.resource_id.as_deref(), Some("audit"));
        assert_eq!(e.namespace.as_deref(), Some(t.ns.as_str()));
    }
    let failed = events
        .iter()
        .find(|e| e.event_type == "notification.message.failed")
        .unwrap();
    assert_eq!(failed.event_outcome, EventOutcome::Failure);
    assert_eq!(failed.event_data["channel"], "webhook");
    assert_eq!(failed.event_data["attempt"], 1);
    assert_eq!(failed.error_code.as_deref(), Some("failed"));
    assert!(failed.error_message.as_deref().unwrap().contains("500"));
    let completed = events
        .iter()
        .find(|e| e.event_type == "notification.request.completed")
        .unwrap();
    assert_eq!(completed.event_outcome, EventOutcome::Success);
    assert_eq!(completed.event_data["reason"], "AllDeliveriesSucceeded");
    assert_eq!(completed.event_data["total_attempts"], 2);
}

#[tokio::test]
async fn a_failed_notification_is_audited_as_a_failure_with_its_reason() {
    let Some(t) = T::new("audit-fail").await else {
        return;
    };
    let nr = t.nr("nochan", "").with_type(NotificationType::Completion);
    t.run(&nr, Failed).await;
    let events = t.audit(&nr, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, "notification.request.completed");
    assert_eq!(events[0].event_outcome, EventOutcome::Failure);
    assert_eq!(events[0].event_data["reason"], "NoChannelsResolved");
    assert_eq!(events[0].event_data["phase"], "Failed");
}

#[tokio::test]
async fn each_phase_transition_is_exactly_one_status_write() {
    let Some(t) = T::new("writes").await else {
        return;
    };
    // Pending → Sending → Sent.
    t.run(&t.nr("direct", ""), Sent).await;
    t.status_writes_exactly::<NotificationRequest>("direct", 2)
        .await;
    // Pending → Sending → Retrying → Retrying → Sent: every round is one write.
    let nr = t
        .nr("retried", "fail:2")
        .with_type(NotificationType::Escalation);
    t.run(&nr, Sent).await;
    t.status_writes_exactly::<NotificationRequest>("retried", 4)
        .await;
    // Pending → Sending → Failed (no channel).
    t.run(
        &t.nr("nochan", "").with_type(NotificationType::Completion),
        Failed,
    )
    .await;
    t.status_writes_exactly::<NotificationRequest>("nochan", 2)
        .await;
}
