//! Defines the RemediationRequest CRD (`rr`): one signal's remediation, orchestrated by the
//! RemediationOrchestrator through SignalProcessing, AIAnalysis, WorkflowExecution and
//! NotificationRequest children.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, FINGERPRINT_PATTERN, ObjectReference, TargetResource, TargetType, Time,
};
use super::phase::{Phase, phase_names};

/// Desired state of a RemediationRequest: the signal as the gateway received it. Immutable.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubernaut.ai",
    version = "v1alpha1",
    kind = "RemediationRequest",
    doc = "A kubernaut RemediationRequest (see the spec and status types for the fields).",
    plural = "remediationrequests",
    shortname = "rr",
    namespaced,
    status = "RemediationRequestStatus",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.overallPhase"),
    printcolumn(name = "Signal", type_ = "string", json_path = ".spec.signalName"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable: create a new RemediationRequest instead"))]
#[serde(rename_all = "camelCase")]
pub struct RemediationRequestSpec {
    /// SHA-256 of the signal's identity, lowercase hex (deduplication key).
    #[schemars(pattern(FINGERPRINT_PATTERN))]
    pub signal_fingerprint: String,
    /// Name of the alert or event.
    #[schemars(length(min = 1, max = 253))]
    pub signal_name: String,
    /// Severity as the source reported it (e.g. `critical`).
    #[schemars(length(min = 1))]
    pub severity: String,
    /// Kind of signal (e.g. `prometheus-alert`, `kubernetes-event`).
    #[schemars(length(min = 1))]
    pub signal_type: String,
    /// The adapter that received the signal.
    #[schemars(length(min = 1))]
    pub signal_source: String,
    /// Where the target lives.
    #[serde(default)]
    pub target_type: TargetType,
    /// The resource the signal is about.
    pub target_resource: TargetResource,
    /// Cluster the signal came from.
    #[serde(rename = "clusterID", default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// When the signal started firing.
    pub firing_time: Time,
    /// When the gateway received it.
    pub received_time: Time,
    /// Labels of the signal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signal_labels: BTreeMap<String, String>,
    /// Annotations of the signal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signal_annotations: BTreeMap<String, String>,
}

/// Observed state of a RemediationRequest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationRequestStatus {
    /// Current phase of the whole remediation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_phase: Option<RemediationPhase>,
    /// Human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When orchestration started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When a terminal phase was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// When the current `overallPhase` was entered (per-phase timeouts count from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_started_at: Option<Time>,
    /// The SignalProcessing child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_processing_ref: Option<ObjectReference>,
    /// The AIAnalysis child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_analysis_ref: Option<ObjectReference>,
    /// The WorkflowExecution child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_execution_ref: Option<ObjectReference>,
    /// NotificationRequest children (escalation, completion, approval).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_request_refs: Vec<ObjectReference>,
    /// Why the request is blocked, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_status: Option<RoutingStatus>,
    /// How the remediation ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_status: Option<CompletionStatus>,
    /// Conditions (Ready, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Routing decision: blocked or not, and why.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingStatus {
    /// Why the request is blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<BlockReason>,
    /// When the block expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<Time>,
    /// The in-progress RemediationRequest this one duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// Consecutive failed remediations of the same target.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub consecutive_failure_count: i32,
}

/// Why a RemediationRequest is blocked.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum BlockReason {
    /// Too many consecutive failures on the same target: cooling down.
    ConsecutiveFailures,
    /// Another RemediationRequest for the same signal is in progress.
    DuplicateInProgress,
    /// Another remediation is acting on the same target.
    ResourceBusy,
    /// The target was remediated very recently.
    RecentlyRemediated,
}
phase_names!(BlockReason {
    ConsecutiveFailures,
    DuplicateInProgress,
    ResourceBusy,
    RecentlyRemediated
});

/// How a remediation ended.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompletionStatus {
    /// The phase that failed (e.g. `Executing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_phase: Option<RemediationPhase>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Outcome (e.g. `Remediated`, `NoActionRequired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// Phase of a RemediationRequest.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum RemediationPhase {
    /// Received; blockers not checked yet.
    #[default]
    Pending,
    /// SignalProcessing runs.
    Processing,
    /// AIAnalysis runs.
    Analyzing,
    /// Waiting for a human approval.
    AwaitingApproval,
    /// WorkflowExecution runs.
    Executing,
    /// Checking the effect.
    Verifying,
    /// Held back (cooldown, duplicate).
    Blocked,
    /// Remediated.
    Completed,
    /// Failed.
    Failed,
    /// A phase or the global timeout expired.
    TimedOut,
    /// Execution was skipped (e.g. the target was already healthy).
    Skipped,
    /// Cancelled by a user.
    Cancelled,
}
phase_names!(RemediationPhase {
    Pending,
    Processing,
    Analyzing,
    AwaitingApproval,
    Executing,
    Verifying,
    Blocked,
    Completed,
    Failed,
    TimedOut,
    Skipped,
    Cancelled
});

impl Phase for RemediationPhase {
    const KIND: &'static str = "RemediationRequest";
    const ALL: &'static [Self] = Self::VARIANTS;

    fn initial() -> Self {
        Self::Pending
    }

    fn can_transition_to(self, next: Self) -> bool {
        use RemediationPhase::*;
        matches!(
            (self, next),
            // The domain table. Pending → Blocked is not in the table but the flow requires it
            // ("Pending checks blockers"), and Blocked → Pending is its way back. Pending →
            // Failed is not in it either: a request whose first child cannot be created (its
            // name is taken by an object of another owner) fails before processing starts.
            (Pending, Processing | Blocked | Failed)
                | (Processing, Analyzing | Failed | TimedOut)
                | (
                    Analyzing,
                    AwaitingApproval | Executing | Completed | Failed | TimedOut
                )
                | (AwaitingApproval, Executing | Failed | TimedOut)
                | (Executing, Verifying | Failed | TimedOut | Skipped)
                | (Verifying, Completed)
                | (Blocked, Failed | Analyzing | Pending)
        )
    }

    fn is_terminal(self) -> bool {
        // Cancelled has no outgoing edge either way; listing terminals explicitly keeps
        // Blocked/Pending style phases from being misread if an edge is ever removed.
        matches!(
            self,
            Self::Completed | Self::Failed | Self::TimedOut | Self::Skipped | Self::Cancelled
        )
    }

    fn as_str(self) -> &'static str {
        self.name()
    }
}

impl RemediationRequest {
    /// A valid RemediationRequest named `name` in namespace `default`, for tests and examples.
    /// The fingerprint is derived from the name, so distinct names never deduplicate.
    pub fn test(name: &str) -> Self {
        use sha2::Digest as _;
        let fingerprint = hex::encode(sha2::Sha256::digest(name.as_bytes()));
        // A fixed instant keeps test objects (and their YAML) reproducible.
        let time = Time(
            jiff::Timestamp::from_second(1_767_225_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        );
        let mut rr = RemediationRequest::new(
            name,
            RemediationRequestSpec {
                signal_fingerprint: fingerprint,
                signal_name: "HighMemoryUsage".to_owned(),
                severity: "critical".to_owned(),
                signal_type: "prometheus-alert".to_owned(),
                signal_source: "prometheus-adapter".to_owned(),
                target_type: TargetType::Kubernetes,
                target_resource: TargetResource::new("Deployment", name, "default"),
                cluster_id: None,
                firing_time: time.clone(),
                received_time: time,
                signal_labels: BTreeMap::new(),
                signal_annotations: BTreeMap::new(),
            },
        );
        rr.metadata.namespace = Some("default".to_owned());
        rr
    }

    /// Moves the object and its target to `namespace`.
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_owned());
        self.spec.target_resource.namespace = Some(namespace.to_owned());
        self
    }

    /// Sets the signal fingerprint.
    pub fn with_fingerprint(mut self, fingerprint: &str) -> Self {
        self.spec.signal_fingerprint = fingerprint.to_owned();
        self
    }

    /// Sets the signal name.
    pub fn with_signal_name(mut self, signal_name: &str) -> Self {
        self.spec.signal_name = signal_name.to_owned();
        self
    }

    /// Sets the target resource.
    pub fn with_target(mut self, target: TargetResource) -> Self {
        self.spec.target_resource = target;
        self
    }

    /// Sets `status.overallPhase`.
    pub fn with_phase(mut self, phase: RemediationPhase) -> Self {
        self.status
            .get_or_insert_with(Default::default)
            .overall_phase = Some(phase);
        self
    }

    /// The current phase (`Pending` before the controller writes a status).
    pub fn phase(&self) -> RemediationPhase {
        self.status
            .as_ref()
            .and_then(|s| s.overall_phase)
            .unwrap_or_else(RemediationPhase::initial)
    }
}

#[cfg(test)]
mod tests {
    use super::RemediationPhase::*;
    use super::*;
    use crate::api::phase::test_support::{assert_serde_names, assert_table};

    #[test]
    fn transition_table_matches_domain() {
        assert_table(&[
            (Pending, Processing),
            (Pending, Blocked),
            (Pending, Failed),
            (Processing, Analyzing),
            (Processing, Failed),
            (Processing, TimedOut),
            (Analyzing, AwaitingApproval),
            (Analyzing, Executing),
            (Analyzing, Completed),
            (Analyzing, Failed),
            (Analyzing, TimedOut),
            (AwaitingApproval, Executing),
            (AwaitingApproval, Failed),
            (AwaitingApproval, TimedOut),
            (Executing, Verifying),
            (Executing, Failed),
            (Executing, TimedOut),
            (Executing, Skipped),
            (Verifying, Completed),
            (Blocked, Failed),
            (Blocked, Analyzing),
            (Blocked, Pending),
        ]);
    }

    #[test]
    fn exactly_five_terminal_phases_without_exits() {
        let terminal: Vec<_> = RemediationPhase::ALL
            .iter()
            .copied()
            .filter(|p| p.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            vec![Completed, Failed, TimedOut, Skipped, Cancelled]
        );
        for p in terminal {
            assert!(
                RemediationPhase::ALL
                    .iter()
                    .all(|n| !p.can_transition_to(*n)),
                "{p} has an exit"
            );
        }
    }

    #[test]
    fn phases_serialize_as_names() {
        assert_serde_names::<RemediationPhase>();
    }

    #[test]
    fn test_constructor_is_valid_and_chains() {
        let rr = RemediationRequest::test("web")
            .with_namespace("ns")
            .with_signal_name("X")
            .with_phase(Analyzing);
        assert!(regex_lite_match_fingerprint(&rr.spec.signal_fingerprint));
        assert_eq!(rr.spec.target_resource.namespace.as_deref(), Some("ns"));
        assert_eq!(rr.phase(), Analyzing);
        assert_eq!(RemediationRequest::test("web").phase(), Pending);
        assert_ne!(
            RemediationRequest::test("a").spec.signal_fingerprint,
            RemediationRequest::test("b").spec.signal_fingerprint
        );
        let json = serde_json::to_value(&rr).unwrap();
        assert_eq!(json["spec"]["targetType"], "kubernetes");
        assert!(json["spec"].get("clusterID").is_none());
    }

    #[test]
    fn cluster_id_uses_upper_case_id() {
        let mut rr = RemediationRequest::test("a");
        rr.spec.cluster_id = Some("c1".to_owned());
        assert_eq!(
            serde_json::to_value(&rr).unwrap()["spec"]["clusterID"],
            "c1"
        );
    }

    fn regex_lite_match_fingerprint(s: &str) -> bool {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}
