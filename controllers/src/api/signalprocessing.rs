//! Defines the SignalProcessing CRD (`sp`): enrichment of a signal with Kubernetes context,
//! environment classification and priority assignment.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, Environment, FINGERPRINT_PATTERN, KubernetesContext, ObjectReference, Priority,
    TargetResource, TargetType, Time, remediation_request_ref,
};
use super::phase::{Phase, phase_names};

/// Desired state of a SignalProcessing: the signal to enrich. Immutable.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubernaut.ai",
    version = "v1alpha1",
    kind = "SignalProcessing",
    doc = "A kubernaut SignalProcessing (see the spec and status types for the fields).",
    plural = "signalprocessings",
    shortname = "sp",
    namespaced,
    status = "SignalProcessingStatus",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Environment",
        type_ = "string",
        json_path = ".status.environmentClassification.environment"
    ),
    printcolumn(
        name = "Priority",
        type_ = "string",
        json_path = ".status.priorityAssignment.priority"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable: create a new SignalProcessing instead"))]
#[serde(rename_all = "camelCase")]
pub struct SignalProcessingSpec {
    /// The parent RemediationRequest.
    pub remediation_request_ref: ObjectReference,
    /// The signal to process.
    pub signal: SignalData,
    /// Deadline after which processing fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_out_at: Option<Time>,
}

/// The signal as SignalProcessing receives it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalData {
    /// Signal fingerprint (64 lowercase hex).
    #[schemars(pattern(FINGERPRINT_PATTERN))]
    pub fingerprint: String,
    /// Signal name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Severity.
    #[schemars(length(min = 1))]
    pub severity: String,
    /// Signal type.
    #[serde(rename = "type")]
    #[schemars(length(min = 1))]
    pub type_: String,
    /// Source adapter.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Where the target lives.
    #[serde(default)]
    pub target_type: TargetType,
    /// The resource the signal is about.
    pub target_resource: TargetResource,
    /// Signal labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Signal annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Observed state of a SignalProcessing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalProcessingStatus {
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<SignalProcessingPhase>,
    /// Human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When processing started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When a terminal phase was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// What enrichment found in the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_context: Option<KubernetesContext>,
    /// Environment classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_classification: Option<EnvironmentClassification>,
    /// Priority assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_assignment: Option<PriorityAssignment>,
    /// How complete enrichment was (whether the namespace and the target were found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<EnrichmentSummary>,
    /// Business categorization (business unit and criticality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_classification: Option<BusinessClassification>,
    /// The last error and how many times in a row it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_info: Option<FailureInfo>,
    /// Conditions (Ready, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Result of the environment classification policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentClassification {
    /// The environment.
    pub environment: Environment,
    /// What decided it (e.g. `namespace-labels`, `rego-policy`, `default`).
    pub source: String,
}

/// Result of the priority policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriorityAssignment {
    /// The priority.
    pub priority: Priority,
    /// What decided it (e.g. `rego-policy`, `severity-fallback`).
    pub source: String,
    /// The policy that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
}

/// How complete enrichment was: a signal whose target or namespace is gone is still processed
/// (degraded), and this records what was missing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrichmentSummary {
    /// Whether the target's namespace exists.
    pub namespace_found: bool,
    /// Whether the target resource exists.
    pub target_found: bool,
    /// Whether something was missing (the context is partial).
    pub degraded: bool,
    /// What was missing or not looked up, when degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Result of the business categorization policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessClassification {
    /// Business unit owning the target (from a `kubernaut.ai/business-unit` label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit: Option<String>,
    /// Criticality: `critical`, `high`, `medium` or `low`.
    pub criticality: String,
    /// What decided it (e.g. `workload-label`, `priority-derived`).
    pub source: String,
}

/// The last processing error.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureInfo {
    /// The error.
    pub error: String,
    /// How many reconciles in a row failed.
    #[schemars(range(min = 0))]
    pub consecutive_failures: i32,
}

/// Phase of a SignalProcessing.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum SignalProcessingPhase {
    /// Accepted.
    #[default]
    Pending,
    /// Looking up Kubernetes context.
    Enriching,
    /// Classifying the environment.
    Classifying,
    /// Assigning priority.
    Categorizing,
    /// Done.
    Completed,
    /// Failed (error or timeout).
    Failed,
}
phase_names!(SignalProcessingPhase {
    Pending,
    Enriching,
    Classifying,
    Categorizing,
    Completed,
    Failed
});

impl Phase for SignalProcessingPhase {
    const KIND: &'static str = "SignalProcessing";
    const ALL: &'static [Self] = Self::VARIANTS;

    fn initial() -> Self {
        Self::Pending
    }

    fn can_transition_to(self, next: Self) -> bool {
        use SignalProcessingPhase::*;
        matches!(
            (self, next),
            (Pending, Enriching)
                | (Enriching, Classifying)
                | (Classifying, Categorizing)
                | (Categorizing, Completed)
                | (Pending | Enriching | Classifying | Categorizing, Failed)
        )
    }

    fn as_str(self) -> &'static str {
        self.name()
    }
}

impl SignalProcessing {
    /// A valid SignalProcessing `name` in namespace `default` for RR `rr-<name>`, for tests and
    /// examples; the target is `default/Deployment/<name>`.
    pub fn test(name: &str) -> Self {
        use sha2::Digest as _;
        let mut sp = SignalProcessing::new(
            name,
            SignalProcessingSpec {
                remediation_request_ref: remediation_request_ref(&format!("rr-{name}"), "default"),
                signal: SignalData {
                    fingerprint: hex::encode(sha2::Sha256::digest(name.as_bytes())),
                    name: "HighMemoryUsage".to_owned(),
                    severity: "critical".to_owned(),
                    type_: "prometheus-alert".to_owned(),
                    source: "prometheus-adapter".to_owned(),
                    target_type: TargetType::Kubernetes,
                    target_resource: TargetResource::new("Deployment", name, "default"),
                    labels: BTreeMap::new(),
                    annotations: BTreeMap::new(),
                },
                times_out_at: None,
            },
        );
        sp.metadata.namespace = Some("default".to_owned());
        sp
    }

    /// Moves the object, its parent reference and its target to `namespace`.
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_owned());
        self.spec.remediation_request_ref.namespace = Some(namespace.to_owned());
        self.spec.signal.target_resource.namespace = Some(namespace.to_owned());
        self
    }

    /// Sets the target resource.
    pub fn with_target(mut self, target: TargetResource) -> Self {
        self.spec.signal.target_resource = target;
        self
    }

    /// Sets the signal severity.
    pub fn with_severity(mut self, severity: &str) -> Self {
        self.spec.signal.severity = severity.to_owned();
        self
    }

    /// Sets `spec.timesOutAt`.
    pub fn with_times_out_at(mut self, at: jiff::Timestamp) -> Self {
        self.spec.times_out_at = Some(Time(at));
        self
    }

    /// Sets `status.phase`.
    pub fn with_phase(mut self, phase: SignalProcessingPhase) -> Self {
        self.status.get_or_insert_with(Default::default).phase = Some(phase);
        self
    }

    /// The current phase (`Pending` before the controller writes a status).
    pub fn phase(&self) -> SignalProcessingPhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase)
            .unwrap_or_else(SignalProcessingPhase::initial)
    }
}

#[cfg(test)]
mod tests {
    use super::SignalProcessingPhase::*;
    use super::*;
    use crate::api::phase::test_support::{assert_serde_names, assert_table};

    #[test]
    fn transition_table_matches_domain() {
        assert_table(&[
            (Pending, Enriching),
            (Enriching, Classifying),
            (Classifying, Categorizing),
            (Categorizing, Completed),
            (Pending, Failed),
            (Enriching, Failed),
            (Classifying, Failed),
            (Categorizing, Failed),
        ]);
        assert!(Completed.is_terminal() && Failed.is_terminal() && !Categorizing.is_terminal());
    }

    #[test]
    fn phases_serialize_as_names() {
        assert_serde_names::<SignalProcessingPhase>();
    }

    #[test]
    fn signal_type_field_is_named_type() {
        let sp = SignalProcessing::test("a")
            .with_namespace("n")
            .with_severity("warning")
            .with_phase(Enriching);
        let json = serde_json::to_value(&sp).unwrap();
        assert_eq!(json["spec"]["signal"]["type"], "prometheus-alert");
        assert_eq!(json["spec"]["signal"]["severity"], "warning");
        assert_eq!(json["spec"]["signal"]["targetResource"]["namespace"], "n");
        assert_eq!(sp.phase(), Enriching);
    }
}
