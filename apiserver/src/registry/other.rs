//! Strategies of the built-in types without a file of their own: which keep a generation
//! (their `PrepareForCreate` sets `Generation = 1`), what status they start with, and which
//! warnings they give (`super::warnings`).

use serde_json::json;

use super::strategy::{Generic, Strategy, empty_status};
use super::warnings::{self, Warned};

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

/// `ingressStrategy`: warns only on create.
static INGRESS: Warned = Warned {
    base: Generic {
        generation: true,
        status: || Some(json!({"loadBalancer": {}})),
    },
    create: warnings::ingress_create,
    update: warnings::none,
    pod_spec: None,
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
static PVC: Warned = Warned {
    base: Generic {
        generation: false,
        status: || Some(json!({"phase": "Pending"})),
    },
    create: warnings::pvc,
    update: warnings::pvc_update,
    pod_spec: None,
};

/// `persistentvolumeStrategy.PrepareForCreate`: `Pending`, with the time of that phase
/// (PersistentVolumeLastPhaseTransitionTime, GA since 1.31).
static PV: Warned = Warned {
    base: Generic {
        generation: false,
        status: || Some(json!({"phase": "Pending", "lastPhaseTransitionTime": crate::meta::now()})),
    },
    create: warnings::pv,
    update: warnings::pv_update,
    pod_spec: None,
};

/// PodTemplates: no generation here (as before), the pod template warnings.
static POD_TEMPLATE: Warned = Warned {
    base: Generic {
        generation: false,
        status: empty_status,
    },
    create: warnings::pod_template_create,
    update: warnings::pod_template_update,
    pod_spec: Some("/template/spec"),
};

static NODE: Warned = Warned {
    base: Generic {
        generation: false,
        status: empty_status,
    },
    create: warnings::node_create,
    update: warnings::node_update,
    pod_spec: None,
};

static RUNTIME_CLASS: Warned = Warned {
    base: Generic {
        generation: false,
        status: empty_status,
    },
    create: warnings::runtime_class,
    update: warnings::runtime_class_update,
    pod_spec: None,
};

static ENDPOINT_SLICE: Warned = Warned {
    base: Generic {
        generation: true,
        status: empty_status,
    },
    create: warnings::endpoint_slice_create,
    update: warnings::endpoint_slice_update,
    pod_spec: None,
};

static ENDPOINTS: Warned = Warned {
    base: Generic {
        generation: false,
        status: empty_status,
    },
    create: warnings::endpoints,
    update: warnings::endpoints_update,
    pod_spec: None,
};

static STORAGE_CLASS: Warned = Warned {
    base: Generic {
        generation: false,
        status: empty_status,
    },
    create: warnings::storage_class,
    update: warnings::storage_class_update,
    pod_spec: None,
};

static CSI_STORAGE_CAPACITY: Warned = Warned {
    base: Generic {
        generation: false,
        status: empty_status,
    },
    create: warnings::csi_storage_capacity,
    update: warnings::csi_storage_capacity_update,
    pod_spec: None,
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
        ("discovery.k8s.io", "endpointslices") => &ENDPOINT_SLICE,
        ("networking.k8s.io", "networkpolicies")
        | ("admissionregistration.k8s.io", _)
        | ("apiextensions.k8s.io", "customresourcedefinitions")
        | ("resource.k8s.io", "deviceclasses" | "resourceslices") => &GENERATION,
        ("policy", "poddisruptionbudgets") => &PDB,
        ("", "persistentvolumeclaims") => &PVC,
        ("", "persistentvolumes") => &PV,
        ("", "podtemplates") => &POD_TEMPLATE,
        ("", "nodes") => &NODE,
        ("node.k8s.io", "runtimeclasses") => &RUNTIME_CLASS,
        ("", "endpoints") => &ENDPOINTS,
        ("storage.k8s.io", "storageclasses") => &STORAGE_CLASS,
        ("storage.k8s.io", "csistoragecapacities") => &CSI_STORAGE_CAPACITY,
        _ => &PLAIN,
    }
}

/// The HPA strategy depends on the served version (their zero statuses differ).
pub(super) fn hpa(version: &str) -> &'static dyn Strategy {
    if version == "v1" { &HPA_V1 } else { &HPA_V2 }
}
