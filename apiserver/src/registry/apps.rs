//! Strategies of the workload controllers' types (`pkg/registry/apps/*/strategy.go` and
//! `pkg/registry/core/replicationcontroller`): each keeps a generation (the controllers report
//! `status.observedGeneration`), starts with the status of Go's zero struct, and warns about its
//! pod template (`super::warnings`).

use serde_json::json;

use super::strategy::{Generic, empty_status};
use super::warnings::{self, Warned};

pub(super) static DEPLOYMENT: Warned = Warned {
    base: Generic {
        generation: true,
        status: empty_status,
    },
    create: warnings::deployment_create,
    update: warnings::deployment_update,
    pod_spec: Some("/spec/template/spec"),
};

/// `rsStrategy`: the same create warnings as a Deployment's.
pub(super) static REPLICA_SET: Warned = Warned {
    base: Generic {
        generation: true,
        status: || Some(json!({"replicas": 0})),
    },
    create: warnings::deployment_create,
    update: warnings::replica_set_update,
    pod_spec: Some("/spec/template/spec"),
};

/// `rcStrategy`: the same create warnings as a Deployment's.
pub(super) static REPLICATION_CONTROLLER: Warned = Warned {
    base: Generic {
        generation: true,
        status: || Some(json!({"replicas": 0})),
    },
    create: warnings::deployment_create,
    update: warnings::replication_controller_update,
    pod_spec: Some("/spec/template/spec"),
};

pub(super) static STATEFUL_SET: Warned = Warned {
    base: Generic {
        generation: true,
        status: || Some(json!({"availableReplicas": 0, "replicas": 0})),
    },
    create: warnings::stateful_set_create,
    update: warnings::stateful_set_update,
    pod_spec: Some("/spec/template/spec"),
};

pub(super) static DAEMON_SET: Warned = Warned {
    base: Generic {
        generation: true,
        status: || {
            Some(
                json!({"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                        "numberMisscheduled": 0, "numberReady": 0}),
            )
        },
    },
    create: warnings::daemon_set_create,
    update: warnings::daemon_set_update,
    pod_spec: Some("/spec/template/spec"),
};
