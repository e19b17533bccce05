//! Defines the WorkflowExecution CRD (`wfe`): one remediation workflow run as a Job in
//! `kubernaut-workflows`, guarded by a per-target lock.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Condition, ObjectReference, Time, remediation_request_ref};
use super::phase::{Phase, phase_names};

/// Regular expression for `spec.targetResource`: `namespace/kind/name`, or `kind/name` for a
/// cluster-scoped target. Each segment is non-empty and slash-free.
pub const TARGET_RESOURCE_PATTERN: &str = "^([^/]+/)?[^/]+/[^/]+$";

/// Condition: the execution Job was created.
pub const CONDITION_EXECUTION_CREATED: &str = "ExecutionCreated";
/// Condition: the execution Job is running.
pub const CONDITION_EXECUTION_RUNNING: &str = "ExecutionRunning";
/// Condition: the execution finished (status True on success, False on failure).
pub const CONDITION_EXECUTION_COMPLETE: &str = "ExecutionComplete";

/// Desired state of a WorkflowExecution. Immutable once created.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubernaut.ai",
    version = "v1alpha1",
    kind = "WorkflowExecution",
    doc = "A kubernaut WorkflowExecution (see the spec and status types for the fields).",
    plural = "workflowexecutions",
    shortname = "wfe",
    namespaced,
    status = "WorkflowExecutionStatus",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Target", type_ = "string", json_path = ".spec.targetResource"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable: create a new WorkflowExecution instead"))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowExecutionSpec {
    /// The parent RemediationRequest (its name is the audit correlation id).
    pub remediation_request_ref: ObjectReference,
    /// The workflow to run.
    pub workflow_ref: WorkflowRef,
    /// The resource the workflow acts on: `namespace/kind/name` (`kind/name` when cluster-scoped).
    #[schemars(pattern(TARGET_RESOURCE_PATTERN))]
    pub target_resource: String,
    /// Parameters passed to the workflow as environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Confidence of the AI selection, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: Option<f64>,
    /// Deadline after which the execution counts as timed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_out_at: Option<Time>,
}

/// Which workflow to run and how.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRef {
    /// Catalog id of the workflow.
    #[schemars(length(min = 1))]
    pub workflow_id: String,
    /// Human-readable name of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    /// The remediation action (e.g. `RestartPod`).
    #[schemars(length(min = 1))]
    pub action_type: String,
    /// Workflow version.
    #[schemars(length(min = 1))]
    pub version: String,
    /// Container image (bundle) that carries the workflow.
    #[schemars(length(min = 1))]
    pub execution_bundle: String,
    /// Engine that runs the bundle.
    #[serde(default)]
    pub execution_engine: ExecutionEngine,
}

/// Engine that runs a workflow bundle.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionEngine {
    /// A batch/v1 Job.
    #[default]
    Job,
    /// A Tekton PipelineRun.
    Tekton,
}

/// Observed state of a WorkflowExecution.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowExecutionStatus {
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<WorkflowExecutionPhase>,
    /// Human-readable summary of the current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The Job (or PipelineRun) running the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_ref: Option<ObjectReference>,
    /// Why the execution failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<FailureDetails>,
    /// When the execution started running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the execution reached a terminal phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Conditions: Ready, ExecutionCreated, ExecutionRunning, ExecutionComplete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Phase of a WorkflowExecution.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum WorkflowExecutionPhase {
    /// Accepted; the Job is not created yet.
    #[default]
    Pending,
    /// The Job exists and runs.
    Running,
    /// The Job succeeded.
    Completed,
    /// The Job failed, or the lock was held (Deduplicated).
    Failed,
}
phase_names!(WorkflowExecutionPhase {
    Pending,
    Running,
    Completed,
    Failed
});

impl Phase for WorkflowExecutionPhase {
    const KIND: &'static str = "WorkflowExecution";
    const ALL: &'static [Self] = Self::VARIANTS;

    fn initial() -> Self {
        Self::Pending
    }

    fn can_transition_to(self, next: Self) -> bool {
        use WorkflowExecutionPhase::*;
        // Pending → Failed covers a held lock (Deduplicated) and a Job that cannot be created.
        matches!(
            (self, next),
            (Pending, Running | Failed) | (Running, Completed | Failed)
        )
    }

    fn as_str(self) -> &'static str {
        self.name()
    }
}

/// Why a workflow execution failed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureDetails {
    /// Classified reason.
    pub reason: FailureReason,
    /// Details for a human.
    pub message: String,
    /// Exit code of the failed container, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// Classified reason of a failed execution.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum FailureReason {
    /// A container ran out of memory.
    OOMKilled,
    /// The Job exceeded its active deadline.
    DeadlineExceeded,
    /// The workflow task exited non-zero.
    TaskFailed,
    /// Another WorkflowExecution holds the lock for the same target.
    Deduplicated,
    /// The Job could not be created (forbidden, invalid, ...).
    ExecutionCreationFailed,
    /// The Job disappeared while running.
    ExecutionNotFound,
    /// Past `timesOutAt`.
    TimedOut,
    /// Anything else.
    Unknown,
}
phase_names!(FailureReason {
    OOMKilled,
    DeadlineExceeded,
    TaskFailed,
    Deduplicated,
    ExecutionCreationFailed,
    ExecutionNotFound,
    TimedOut,
    Unknown
});

impl WorkflowExecution {
    /// A valid WorkflowExecution named `name` in namespace `default`, for tests and examples:
    /// parent RR `rr-<name>`, target `default/Deployment/<name>`. Chain the `with_*` methods to
    /// change it.
    pub fn test(name: &str) -> Self {
        let mut wfe = WorkflowExecution::new(
            name,
            WorkflowExecutionSpec {
                remediation_request_ref: remediation_request_ref(&format!("rr-{name}"), "default"),
                workflow_ref: WorkflowRef {
                    workflow_id: "restart-pod-v1".to_owned(),
                    workflow_name: Some("restart-pod".to_owned()),
                    action_type: "RestartPod".to_owned(),
                    version: "1.0.0".to_owned(),
                    execution_bundle: "quay.io/kubernaut/workflows/restart-pod:1.0.0".to_owned(),
                    execution_engine: ExecutionEngine::Job,
                },
                target_resource: format!("default/Deployment/{name}"),
                parameters: BTreeMap::new(),
                confidence: Some(0.9),
                times_out_at: None,
            },
        );
        wfe.metadata.namespace = Some("default".to_owned());
        wfe
    }

    /// Moves the object (and its parent reference) to `namespace`.
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_owned());
        self.spec.remediation_request_ref.namespace = Some(namespace.to_owned());
        self
    }

    /// Sets `spec.targetResource`.
    pub fn with_target(mut self, target: &str) -> Self {
        self.spec.target_resource = target.to_owned();
        self
    }

    /// Sets the parent RemediationRequest name (the audit correlation id).
    pub fn with_remediation_request(mut self, rr_name: &str) -> Self {
        self.spec.remediation_request_ref.name = Some(rr_name.to_owned());
        self
    }

    /// Adds a workflow parameter.
    pub fn with_parameter(mut self, key: &str, value: &str) -> Self {
        self.spec
            .parameters
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Sets `status.phase`.
    pub fn with_phase(mut self, phase: WorkflowExecutionPhase) -> Self {
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

    /// The current phase (`Pending` when the controller has not written a status yet).
    pub fn phase(&self) -> WorkflowExecutionPhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase)
            .unwrap_or_else(WorkflowExecutionPhase::initial)
    }
}

#[cfg(test)]
mod tests {
    use super::WorkflowExecutionPhase::*;
    use super::*;
    use crate::api::phase::test_support::{assert_serde_names, assert_table};

    #[test]
    fn transition_table_matches_domain() {
        assert_table(&[
            (Pending, Running),
            (Pending, Failed),
            (Running, Completed),
            (Running, Failed),
        ]);
    }

    #[test]
    fn terminal_phases() {
        assert!(Completed.is_terminal() && Failed.is_terminal());
        assert!(!Pending.is_terminal() && !Running.is_terminal());
    }

    #[test]
    fn invalid_transition_names_both_phases() {
        let err = Completed.transition_to(Running).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("WorkflowExecution")
                && msg.contains("Completed")
                && msg.contains("Running"),
            "{msg}"
        );
    }

    #[test]
    fn phases_serialize_as_names() {
        assert_serde_names::<WorkflowExecutionPhase>();
    }

    #[test]
    fn test_constructor_chains() {
        let wfe = WorkflowExecution::test("a")
            .with_namespace("ns1")
            .with_target("ns1/Deployment/web")
            .with_remediation_request("rr-x")
            .with_parameter("K", "v")
            .with_phase(Running)
            .with_finalizer("kubernaut.ai/finalizer");
        assert_eq!(wfe.metadata.namespace.as_deref(), Some("ns1"));
        assert_eq!(
            wfe.spec.remediation_request_ref.namespace.as_deref(),
            Some("ns1")
        );
        assert_eq!(
            wfe.spec.remediation_request_ref.name.as_deref(),
            Some("rr-x")
        );
        assert_eq!(wfe.spec.target_resource, "ns1/Deployment/web");
        assert_eq!(wfe.phase(), Running);
        assert_eq!(wfe.spec.parameters["K"], "v");
        assert_eq!(
            wfe.metadata.finalizers.as_deref(),
            Some(&["kubernaut.ai/finalizer".to_owned()][..])
        );
        assert_eq!(WorkflowExecution::test("b").phase(), Pending);
    }

    #[test]
    fn json_is_camel_case() {
        let json = serde_json::to_value(WorkflowExecution::test("a")).unwrap();
        assert!(
            json["spec"]["workflowRef"]["executionEngine"] == "job",
            "{json}"
        );
        assert!(
            json["spec"]["remediationRequestRef"]["name"] == "rr-a",
            "{json}"
        );
        assert_eq!(json["spec"]["targetResource"], "default/Deployment/a");
    }

    #[test]
    fn target_pattern_constant_matches_schema() {
        let crd =
            serde_json::to_string(&<WorkflowExecution as kube::CustomResourceExt>::crd()).unwrap();
        assert!(
            crd.contains(&TARGET_RESOURCE_PATTERN.replace('\\', "\\\\")),
            "{crd}"
        );
    }
}
