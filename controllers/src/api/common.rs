//! Defines the field types that more than one kubernaut CRD shares (target references,
//! environment and priority enums, the Kubernetes context found during enrichment).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::phase::phase_names;

/// Reference from a child CRD to its parent RemediationRequest (a core/v1 ObjectReference,
/// as in kubernaut: name, namespace and uid are what the controllers use).
pub use k8s_openapi::api::core::v1::ObjectReference;
/// A status condition (metav1.Condition).
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
/// A timestamp (metav1.Time, RFC 3339 on the wire).
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Regular expression for a signal fingerprint: a SHA-256 in lowercase hex.
pub const FINGERPRINT_PATTERN: &str = "^[a-f0-9]{64}$";

/// The resource a signal is about.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    /// Kind of the target (e.g. `Deployment`).
    #[schemars(length(min = 1))]
    pub kind: String,
    /// Name of the target.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Namespace of the target; absent for cluster-scoped targets (e.g. `Node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// API version of the target (e.g. `apps/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

impl TargetResource {
    /// A namespaced target without an API version.
    pub fn new(
        kind: impl Into<String>,
        name: impl Into<String>,
        namespace: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            namespace: Some(namespace.into()),
            api_version: None,
        }
    }

    /// The `namespace/kind/name` form WorkflowExecution uses (`kind/name` when cluster-scoped).
    pub fn to_path(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// Where a signal's target lives.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// A Kubernetes resource.
    #[default]
    Kubernetes,
    /// An AWS resource.
    Aws,
    /// An Azure resource.
    Azure,
    /// A GCP resource.
    Gcp,
    /// A Datadog monitor.
    Datadog,
}

/// The environment SignalProcessing classifies a target into.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum Environment {
    /// Production.
    Production,
    /// Staging.
    Staging,
    /// Development.
    Development,
    /// Test.
    Test,
    /// No policy matched.
    #[default]
    Unknown,
}
phase_names!(Environment {
    Production,
    Staging,
    Development,
    Test,
    Unknown
});

/// Business priority SignalProcessing assigns (P0 most urgent).
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    JsonSchema,
)]
pub enum Priority {
    /// Critical business impact.
    P0,
    /// High.
    P1,
    /// Medium.
    P2,
    /// Low.
    #[default]
    P3,
}
phase_names!(Priority { P0, P1, P2, P3 });

/// The Kubernetes facts SignalProcessing found about a target (and AIAnalysis receives).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesContext {
    /// The target's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels of the target's namespace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespace_labels: BTreeMap<String, String>,
    /// The target workload, when it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadInfo>,
    /// Controller owners of the target, nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_chain: Vec<OwnerChainEntry>,
}

/// A workload found in the API server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadInfo {
    /// Kind of the workload.
    pub kind: String,
    /// Name of the workload.
    pub name: String,
    /// Labels of the workload.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One link of an owner chain.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnerChainEntry {
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// Namespace of the owner (absent when cluster-scoped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Condition type every kubernaut CRD carries.
pub const CONDITION_READY: &str = "Ready";

/// Builds an `ObjectReference` to a RemediationRequest.
pub fn remediation_request_ref(name: &str, namespace: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some(format!("{}/{}", super::GROUP, super::VERSION)),
        kind: Some("RemediationRequest".to_owned()),
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        ..ObjectReference::default()
    }
}
