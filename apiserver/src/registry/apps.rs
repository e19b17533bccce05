//! Strategies of the workload controllers' types (`pkg/registry/apps/*/strategy.go` and
//! `pkg/registry/core/replicationcontroller`): each keeps a generation (the controllers report
//! `status.observedGeneration`) and starts with the status of Go's zero struct.

use serde_json::json;

use super::strategy::{Generic, empty_status};

pub(super) static DEPLOYMENT: Generic = Generic {
    generation: true,
    status: empty_status,
};

pub(super) static REPLICA_SET: Generic = Generic {
    generation: true,
    status: || Some(json!({"replicas": 0})),
};

pub(super) static REPLICATION_CONTROLLER: Generic = Generic {
    generation: true,
    status: || Some(json!({"replicas": 0})),
};

pub(super) static STATEFUL_SET: Generic = Generic {
    generation: true,
    status: || Some(json!({"availableReplicas": 0, "replicas": 0})),
};

pub(super) static DAEMON_SET: Generic = Generic {
    generation: true,
    status: || {
        Some(
            json!({"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                    "numberMisscheduled": 0, "numberReady": 0}),
        )
    },
};
