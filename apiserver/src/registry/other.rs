//! Strategies of the built-in types without a file of their own: which keep a generation
//! (their `PrepareForCreate` sets `Generation = 1`) and what status they start with.

use serde_json::json;

use super::strategy::{Generic, Strategy, empty_status};

/// Types without rules: no generation, an empty status when they have a status subresource.
static PLAIN: Generic = Generic {
    generation: false,
    status: empty_status,
};

/// Types whose strategy keeps `metadata.generation` and start with an empty status.
static GENERATION: Generic = Generic {
    generation: true,
    status: empty_status,
};

static INGRESS: Generic = Generic {
    generation: true,
    status: || Some(json!({"loadBalancer": {}})),
};

static PDB: Generic = Generic {
    generation: true,
    status: || {
        Some(
            json!({"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}),
        )
    },
};

/// `persistentvolumeclaimStrategy.PrepareForCreate` resets the status; kube's defaulting of the
/// stored object then reads it back as `phase: Pending` (`SetDefaults_PersistentVolumeClaim`).
static PVC: Generic = Generic {
    generation: false,
    status: || Some(json!({"phase": "Pending"})),
};

/// `persistentvolumeStrategy.PrepareForCreate`: `Pending`, with the time of that phase
/// (PersistentVolumeLastPhaseTransitionTime, GA since 1.31).
static PV: Generic = Generic {
    generation: false,
    status: || Some(json!({"phase": "Pending", "lastPhaseTransitionTime": crate::meta::now()})),
};

static HPA_V1: Generic = Generic {
    generation: true,
    status: || Some(json!({"currentReplicas": 0, "desiredReplicas": 0})),
};

static HPA_V2: Generic = Generic {
    generation: true,
    status: || Some(json!({"desiredReplicas": 0})),
};

/// The strategy of `group`/`plural`.
pub(super) fn strategy(group: &str, plural: &str) -> &'static dyn Strategy {
    match (group, plural) {
        ("networking.k8s.io", "ingresses") => &INGRESS,
        ("networking.k8s.io", "networkpolicies")
        | ("discovery.k8s.io", "endpointslices")
        | ("admissionregistration.k8s.io", _)
        | ("apiextensions.k8s.io", "customresourcedefinitions")
        | ("resource.k8s.io", "deviceclasses" | "resourceslices") => &GENERATION,
        ("policy", "poddisruptionbudgets") => &PDB,
        ("", "persistentvolumeclaims") => &PVC,
        ("", "persistentvolumes") => &PV,
        _ => &PLAIN,
    }
}

/// The HPA strategy depends on the served version (their zero statuses differ).
pub(super) fn hpa(version: &str) -> &'static dyn Strategy {
    if version == "v1" { &HPA_V1 } else { &HPA_V2 }
}
