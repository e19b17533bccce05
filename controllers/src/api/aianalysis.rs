//! Defines the AIAnalysis CRD (`aia`): root-cause analysis through HolmesGPT-API and the
//! approval decision for the selected workflow.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, Environment, FINGERPRINT_PATTERN, KubernetesContext, ObjectReference, Priority,
    TargetResource, Time, remediation_request_ref,
};
use super::phase::{Phase, phase_names};

/// Desired state of an AIAnalysis: the enriched signal to analyse. Immutable.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubernaut.ai",
    version = "v1alpha1",
    kind = "AIAnalysis",
    doc = "A kubernaut AIAnalysis (see the spec and status types for the fields).",
    plural = "aianalyses",
    shortname = "aia",
    namespaced,
    status = "AIAnalysisStatus",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Workflow",
        type_ = "string",
        json_path = ".status.rcaResult.selectedWorkflow.workflowId"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable: create a new AIAnalysis instead"))]
#[serde(rename_all = "camelCase")]
pub struct AIAnalysisSpec {
    /// The parent RemediationRequest.
    pub remediation_request_ref: ObjectReference,
    /// Remediation id (the parent RR's name; the audit correlation id).
    #[schemars(length(min = 1))]
    pub remediation_id: String,
    /// What to analyse.
    pub analysis_request: AnalysisRequest,
    /// Deadline after which the analysis fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_out_at: Option<Time>,
}

/// The analysis input.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRequest {
    /// The enriched signal.
    pub signal_context: SignalContext,
}

/// The enriched signal AIAnalysis sends to HolmesGPT-API.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalContext {
    /// Signal fingerprint (64 lowercase hex).
    #[schemars(pattern(FINGERPRINT_PATTERN))]
    pub fingerprint: String,
    /// Severity.
    #[schemars(length(min = 1))]
    pub severity: String,
    /// Signal name (mock HolmesGPT-API scenarios key on it).
    #[schemars(length(min = 1))]
    pub signal_name: String,
    /// Environment from SignalProcessing.
    pub environment: Environment,
    /// Priority from SignalProcessing.
    pub business_priority: Priority,
    /// The resource the signal is about.
    pub target_resource: TargetResource,
    /// What SignalProcessing found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment_results: Option<EnrichmentResults>,
}

/// Enrichment carried from SignalProcessing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrichmentResults {
    /// Kubernetes context of the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_context: Option<KubernetesContext>,
    /// Operator-defined labels (e.g. from namespace annotations).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_labels: BTreeMap<String, String>,
}

/// Observed state of an AIAnalysis.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AIAnalysisStatus {
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AIAnalysisPhase>,
    /// Human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason for the current phase (e.g. `WorkflowResolutionFailed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the analysis started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When a terminal phase was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// The HolmesGPT-API session being polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigation: Option<InvestigationSession>,
    /// Root cause and selected workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rca_result: Option<RcaResult>,
    /// Approval decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalStatus>,
    /// Conditions (Ready, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A HolmesGPT-API investigation session.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvestigationSession {
    /// Session id returned by `POST /api/v1/incident/analyze`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Transient errors so far (at most 5 retries).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub retry_count: i32,
}

/// Root cause analysis result.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RcaResult {
    /// The root cause, in words.
    pub root_cause: String,
    /// The workflow chosen to fix it; absent when no workflow is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_workflow: Option<SelectedWorkflow>,
}

/// The workflow HolmesGPT-API selected.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelectedWorkflow {
    /// Catalog id.
    pub workflow_id: String,
    /// The remediation action.
    pub action_type: String,
    /// Confidence, 0 to 1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
    /// Workflow parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// The approval decision.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStatus {
    /// Whether a human must approve.
    pub approval_required: bool,
    /// Why approval is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<String>,
    /// What the policy decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_evaluation: Option<PolicyEvaluation>,
}

/// Result of the Rego approval policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEvaluation {
    /// The decision.
    pub decision: ApprovalDecision,
    /// Name of the policy evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// Rules that matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_rules: Vec<String>,
}

/// Approval policy decision.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ApprovalDecision {
    /// Proceed automatically.
    Approved,
    /// A human must review.
    ManualReviewRequired,
    /// Do not proceed.
    Denied,
}
phase_names!(ApprovalDecision {
    Approved,
    ManualReviewRequired,
    Denied
});

/// Phase of an AIAnalysis.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum AIAnalysisPhase {
    /// Accepted.
    #[default]
    Pending,
    /// Waiting for HolmesGPT-API.
    Investigating,
    /// Evaluating the approval policy.
    Analyzing,
    /// Done.
    Completed,
    /// Failed.
    Failed,
}
phase_names!(AIAnalysisPhase {
    Pending,
    Investigating,
    Analyzing,
    Completed,
    Failed
});

impl Phase for AIAnalysisPhase {
    const KIND: &'static str = "AIAnalysis";
    const ALL: &'static [Self] = Self::VARIANTS;

    fn initial() -> Self {
        Self::Pending
    }

    fn can_transition_to(self, next: Self) -> bool {
        use AIAnalysisPhase::*;
        matches!(
            (self, next),
            (Pending, Investigating)
                // Investigating → Completed: HolmesGPT-API found no workflow is needed.
                | (Investigating, Analyzing | Failed | Completed)
                | (Analyzing, Completed | Failed)
        )
    }

    fn as_str(self) -> &'static str {
        self.name()
    }
}

impl AIAnalysis {
    /// A valid AIAnalysis `name` in namespace `default` for RR `rr-<name>`, for tests and
    /// examples: a Production/P1 critical signal on `default/Deployment/<name>`.
    pub fn test(name: &str) -> Self {
        use sha2::Digest as _;
        let rr_name = format!("rr-{name}");
        let mut aia = AIAnalysis::new(
            name,
            AIAnalysisSpec {
                remediation_request_ref: remediation_request_ref(&rr_name, "default"),
                remediation_id: rr_name,
                analysis_request: AnalysisRequest {
                    signal_context: SignalContext {
                        fingerprint: hex::encode(sha2::Sha256::digest(name.as_bytes())),
                        severity: "critical".to_owned(),
                        signal_name: "HighMemoryUsage".to_owned(),
                        environment: Environment::Production,
                        business_priority: Priority::P1,
                        target_resource: TargetResource::new("Deployment", name, "default"),
                        enrichment_results: None,
                    },
                },
                times_out_at: None,
            },
        );
        aia.metadata.namespace = Some("default".to_owned());
        aia
    }

    /// Moves the object, its parent reference and its target to `namespace`.
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_owned());
        self.spec.remediation_request_ref.namespace = Some(namespace.to_owned());
        self.spec
            .analysis_request
            .signal_context
            .target_resource
            .namespace = Some(namespace.to_owned());
        self
    }

    /// Sets the signal name (mock HolmesGPT-API scenarios key on it).
    pub fn with_signal_name(mut self, signal_name: &str) -> Self {
        self.spec.analysis_request.signal_context.signal_name = signal_name.to_owned();
        self
    }

    /// Sets the environment.
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.spec.analysis_request.signal_context.environment = environment;
        self
    }

    /// Sets `status.phase`.
    pub fn with_phase(mut self, phase: AIAnalysisPhase) -> Self {
        self.status.get_or_insert_with(Default::default).phase = Some(phase);
        self
    }

    /// Adds a finalizer.
    pub fn with_finalizer(mut self, finalizer: &str) -> Self {
        self.metadata
            .finalizers
            .get_or_insert_with(Vec::new)
            .push(finalizer.to_owned());
        self
    }

    /// The current phase (`Pending` before the controller writes a status).
    pub fn phase(&self) -> AIAnalysisPhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase)
            .unwrap_or_else(AIAnalysisPhase::initial)
    }
}

#[cfg(test)]
mod tests {
    use super::AIAnalysisPhase::*;
    use super::*;
    use crate::api::phase::test_support::{assert_serde_names, assert_table};

    #[test]
    fn transition_table_matches_domain() {
        assert_table(&[
            (Pending, Investigating),
            (Investigating, Analyzing),
            (Investigating, Failed),
            (Investigating, Completed),
            (Analyzing, Completed),
            (Analyzing, Failed),
        ]);
        assert!(Completed.is_terminal() && Failed.is_terminal() && !Investigating.is_terminal());
    }

    #[test]
    fn phases_serialize_as_names() {
        assert_serde_names::<AIAnalysisPhase>();
    }

    #[test]
    fn test_constructor_chains() {
        let aia = AIAnalysis::test("x")
            .with_namespace("n")
            .with_signal_name("MockFail")
            .with_environment(Environment::Staging)
            .with_phase(Investigating)
            .with_finalizer(crate::api::FINALIZER);
        let json = serde_json::to_value(&aia).unwrap();
        let ctx = &json["spec"]["analysisRequest"]["signalContext"];
        assert_eq!(ctx["signalName"], "MockFail");
        assert_eq!(ctx["environment"], "Staging");
        assert_eq!(ctx["businessPriority"], "P1");
        assert_eq!(json["spec"]["remediationId"], "rr-x");
        assert_eq!(aia.phase(), Investigating);
    }
}
