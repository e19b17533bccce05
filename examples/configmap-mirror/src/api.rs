//! Defines the `ConfigMapMirror` custom resource and renders its CRD.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of the example.
pub const GROUP: &str = "example.dev";

/// Keeps copies of a ConfigMap: every name in `targets` becomes a ConfigMap in the mirror's
/// namespace with the source's `data` and `binaryData`, owned by the mirror (deleting the mirror
/// deletes its copies).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "example.dev",
    version = "v1alpha1",
    kind = "ConfigMapMirror",
    namespaced,
    status = "ConfigMapMirrorStatus",
    shortname = "cmm",
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.source"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapMirrorSpec {
    /// The ConfigMap to copy, in the mirror's namespace.
    #[schemars(length(min = 1))]
    pub source: String,
    /// Names of the copies, in the mirror's namespace; none may be the source itself.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// What the controller last did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapMirrorStatus {
    /// `Synced`, `SourceMissing` or `Invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// How many copies match the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_targets: Option<u32>,
    /// Why the phase is not `Synced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The phases of [`ConfigMapMirrorStatus::phase`].
pub mod phase {
    /// Every target is a copy of the source.
    pub const SYNCED: &str = "Synced";
    /// The source ConfigMap does not exist (yet); copies are made when it appears.
    pub const SOURCE_MISSING: &str = "SourceMissing";
    /// The spec cannot be honoured (a target is the source itself).
    pub const INVALID: &str = "Invalid";
}

/// The CRD manifest as YAML (what `crd/configmapmirrors.example.dev.yaml` holds).
pub fn crd_yaml() -> Result<String, serde_saphyr::SerializeError> {
    use kube::CustomResourceExt as _;
    serde_saphyr::to_string(&ConfigMapMirror::crd())
}

#[cfg(test)]
mod tests {
    /// The checked-in CRD is generated from the type: fails when they drift.
    #[test]
    fn the_checked_in_crd_matches_the_type() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/crd/configmapmirrors.example.dev.yaml"
        );
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == super::crd_yaml().unwrap(),
            "{path} differs from ConfigMapMirror::crd(): run `cargo run -p example-configmap-mirror --bin configmap-mirror-crdgen`"
        );
    }
}
