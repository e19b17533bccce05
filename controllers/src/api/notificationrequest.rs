//! Defines the NotificationRequest CRD (`notif`): one notification delivered to the channels
//! the routing configuration selects, with retries and a record of every attempt.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Condition, ObjectReference, Time, remediation_request_ref};
use super::phase::{Phase, phase_names};

/// Default `retryPolicy.maxAttempts` (kubernaut's default).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;
/// Default `retryPolicy.initialBackoffSeconds`.
pub const DEFAULT_INITIAL_BACKOFF_SECONDS: i32 = 30;
/// Default `retryPolicy.backoffMultiplier`.
pub const DEFAULT_BACKOFF_MULTIPLIER: i32 = 2;
/// Default `retryPolicy.maxBackoffSeconds` (8 minutes).
pub const DEFAULT_MAX_BACKOFF_SECONDS: i32 = 480;

/// Desired state of a NotificationRequest. Immutable.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubernaut.ai",
    version = "v1alpha1",
    kind = "NotificationRequest",
    doc = "A kubernaut NotificationRequest (see the spec and status types for the fields).",
    plural = "notificationrequests",
    shortname = "notif",
    namespaced,
    status = "NotificationRequestStatus",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Priority", type_ = "string", json_path = ".spec.priority"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable: create a new NotificationRequest instead"))]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequestSpec {
    /// The RemediationRequest this notification is about (its name is the audit correlation id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_request_ref: Option<ObjectReference>,
    /// What kind of notification this is (routing matches on it).
    #[serde(rename = "type")]
    pub type_: NotificationType,
    /// Urgency.
    pub priority: NotificationPriority,
    /// One-line subject.
    #[schemars(length(min = 1, max = 500))]
    pub subject: String,
    /// Body text.
    #[schemars(length(min = 1))]
    pub body: String,
    /// Severity of the underlying signal (routing matches on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// How failed deliveries are retried.
    #[serde(default)]
    pub retry_policy: RetryPolicy,
}

/// Kind of notification.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum NotificationType {
    /// A remediation failed and needs a human.
    Escalation,
    /// A plain message.
    Simple,
    /// Progress of a remediation.
    StatusUpdate,
    /// A remediation waits for approval.
    Approval,
    /// A human must review.
    ManualReview,
    /// A remediation completed.
    Completion,
}
phase_names!(NotificationType {
    Escalation,
    Simple,
    StatusUpdate,
    Approval,
    ManualReview,
    Completion
});

/// Urgency of a notification.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum NotificationPriority {
    /// Page someone.
    Critical,
    /// Soon.
    High,
    /// Normal.
    Medium,
    /// Whenever.
    Low,
}
phase_names!(NotificationPriority {
    Critical,
    High,
    Medium,
    Low
});

/// Retry policy for failed deliveries.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Attempts per channel, including the first.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: i32,
    /// Delay before the first retry.
    #[serde(default = "default_initial_backoff_seconds")]
    #[schemars(range(min = 1, max = 300))]
    pub initial_backoff_seconds: i32,
    /// Factor applied to the delay after each retry.
    #[serde(default = "default_backoff_multiplier")]
    #[schemars(range(min = 1, max = 10))]
    pub backoff_multiplier: i32,
    /// Upper bound of the delay.
    #[serde(default = "default_max_backoff_seconds")]
    #[schemars(range(min = 1, max = 3600))]
    pub max_backoff_seconds: i32,
}

fn default_max_attempts() -> i32 {
    DEFAULT_MAX_ATTEMPTS
}
fn default_initial_backoff_seconds() -> i32 {
    DEFAULT_INITIAL_BACKOFF_SECONDS
}
fn default_backoff_multiplier() -> i32 {
    DEFAULT_BACKOFF_MULTIPLIER
}
fn default_max_backoff_seconds() -> i32 {
    DEFAULT_MAX_BACKOFF_SECONDS
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff_seconds: DEFAULT_INITIAL_BACKOFF_SECONDS,
            backoff_multiplier: DEFAULT_BACKOFF_MULTIPLIER,
            max_backoff_seconds: DEFAULT_MAX_BACKOFF_SECONDS,
        }
    }
}

/// Observed state of a NotificationRequest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequestStatus {
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<NotificationPhase>,
    /// Human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotificationReason>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Every delivery attempt, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivery_attempts: Vec<DeliveryAttempt>,
    /// Number of attempts over all channels.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub total_attempts: i32,
    /// Channels delivered successfully.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub successful_deliveries: i32,
    /// Channels that failed for good.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub failed_deliveries: i32,
    /// When a terminal phase was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Conditions (Ready, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One delivery attempt on one channel.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    /// Channel name (`console`, `file`, `webhook`, ...).
    pub channel: String,
    /// Attempt number on this channel, from 1.
    #[schemars(range(min = 1))]
    pub attempt: i32,
    /// When the attempt was made.
    pub timestamp: Time,
    /// Result.
    pub status: DeliveryStatus,
    /// Error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the attempt took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
}

/// Result of a delivery attempt.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Delivered.
    Success,
    /// Failed (retryable).
    Failed,
    /// Timed out (retryable).
    Timeout,
    /// Rejected as invalid (not retried).
    Invalid,
}

/// Outcome of a notification.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum NotificationReason {
    /// Every channel delivered.
    AllDeliveriesSucceeded,
    /// Some channels delivered.
    PartialDeliverySuccess,
    /// No channel delivered.
    AllDeliveriesFailed,
    /// Routing selected no channel.
    NoChannelsResolved,
    /// Retries ran out.
    MaxRetriesExhausted,
}
phase_names!(NotificationReason {
    AllDeliveriesSucceeded,
    PartialDeliverySuccess,
    AllDeliveriesFailed,
    NoChannelsResolved,
    MaxRetriesExhausted
});

/// Phase of a NotificationRequest.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum NotificationPhase {
    /// Accepted.
    #[default]
    Pending,
    /// Delivering.
    Sending,
    /// Every channel delivered.
    Sent,
    /// Waiting to retry failed channels.
    Retrying,
    /// Some channels delivered, the rest failed for good.
    PartiallySent,
    /// No channel delivered.
    Failed,
}
phase_names!(NotificationPhase {
    Pending,
    Sending,
    Sent,
    Retrying,
    PartiallySent,
    Failed
});

impl Phase for NotificationPhase {
    const KIND: &'static str = "NotificationRequest";
    const ALL: &'static [Self] = Self::VARIANTS;

    fn initial() -> Self {
        Self::Pending
    }

    fn can_transition_to(self, next: Self) -> bool {
        use NotificationPhase::*;
        matches!(
            (self, next),
            (Pending, Sending)
                // Retrying → Retrying: another round of retries failed but attempts remain.
                | (Sending | Retrying, Sent | Retrying | PartiallySent | Failed)
        )
    }

    fn as_str(self) -> &'static str {
        self.name()
    }
}

impl NotificationRequest {
    /// A valid Simple/Medium NotificationRequest `name` in namespace `default` about RR
    /// `rr-<name>`, for tests and examples.
    pub fn test(name: &str) -> Self {
        let mut nr = NotificationRequest::new(
            name,
            NotificationRequestSpec {
                remediation_request_ref: Some(remediation_request_ref(
                    &format!("rr-{name}"),
                    "default",
                )),
                type_: NotificationType::Simple,
                priority: NotificationPriority::Medium,
                subject: format!("Test notification {name}"),
                body: "Test body".to_owned(),
                severity: Some("warning".to_owned()),
                retry_policy: RetryPolicy::default(),
            },
        );
        nr.metadata.namespace = Some("default".to_owned());
        nr
    }

    /// Moves the object and its parent reference to `namespace`.
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_owned());
        if let Some(r) = self.spec.remediation_request_ref.as_mut() {
            r.namespace = Some(namespace.to_owned());
        }
        self
    }

    /// Sets the type.
    pub fn with_type(mut self, type_: NotificationType) -> Self {
        self.spec.type_ = type_;
        self
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: NotificationPriority) -> Self {
        self.spec.priority = priority;
        self
    }

    /// Sets the severity.
    pub fn with_severity(mut self, severity: &str) -> Self {
        self.spec.severity = Some(severity.to_owned());
        self
    }

    /// Sets the retry policy.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.spec.retry_policy = policy;
        self
    }

    /// Sets `status.phase`.
    pub fn with_phase(mut self, phase: NotificationPhase) -> Self {
        self.status.get_or_insert_with(Default::default).phase = Some(phase);
        self
    }

    /// The current phase (`Pending` before the controller writes a status).
    pub fn phase(&self) -> NotificationPhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase)
            .unwrap_or_else(NotificationPhase::initial)
    }
}

#[cfg(test)]
mod tests {
    use super::NotificationPhase::*;
    use super::*;
    use crate::api::phase::test_support::{assert_serde_names, assert_table};

    #[test]
    fn transition_table_matches_domain() {
        let mut expected = vec![(Pending, Sending)];
        for from in [Sending, Retrying] {
            for to in [Sent, Retrying, PartiallySent, Failed] {
                expected.push((from, to));
            }
        }
        assert_table(&expected);
        assert!(Sent.is_terminal() && PartiallySent.is_terminal() && Failed.is_terminal());
        assert!(!Retrying.is_terminal());
    }

    #[test]
    fn phases_serialize_as_names() {
        assert_serde_names::<NotificationPhase>();
    }

    #[test]
    fn retry_policy_defaults_apply_when_absent() {
        let spec: NotificationRequestSpec =
            serde_json::from_value(serde_json::json!({"type": "Escalation", "priority": "High", "subject": "s", "body": "b"}))
                .unwrap();
        assert_eq!(spec.retry_policy, RetryPolicy::default());
        let partial: RetryPolicy =
            serde_json::from_value(serde_json::json!({"maxAttempts": 3})).unwrap();
        assert_eq!(partial.max_attempts, 3);
        assert_eq!(partial.max_backoff_seconds, DEFAULT_MAX_BACKOFF_SECONDS);
    }

    #[test]
    fn test_constructor_chains() {
        let nr = NotificationRequest::test("n")
            .with_namespace("x")
            .with_type(NotificationType::Escalation)
            .with_priority(NotificationPriority::Critical)
            .with_severity("critical")
            .with_phase(Retrying);
        let json = serde_json::to_value(&nr).unwrap();
        assert_eq!(json["spec"]["type"], "Escalation");
        assert_eq!(json["spec"]["priority"], "Critical");
        assert_eq!(json["spec"]["retryPolicy"]["maxAttempts"], 5);
        assert_eq!(nr.phase(), Retrying);
        let status = DeliveryStatus::Timeout;
        assert_eq!(serde_json::to_value(status).unwrap(), "timeout");
    }
}
