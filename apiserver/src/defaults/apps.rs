//! Defaults of the apps group (`pkg/apis/apps/v1/defaults.go`); their pod templates get the core
//! group's template defaults through the walk.

use serde_json::{Value, json};

use super::rules::{Lit, Obj, Rule, TypeRules, child, set_nil, str_of};

/// Old ReplicaSets/ControllerRevisions a controller keeps for rollbacks.
const REVISION_HISTORY_LIMIT: i64 = 10;
/// Seconds a Deployment may make no progress before it is reported as failed.
const PROGRESS_DEADLINE_SECONDS: i64 = 600;

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::apps::v1::DeploymentSpec",
        rules: &[
            Rule::Set("replicas", Lit::Int(1)),
            Rule::Set("strategy", Lit::EmptyObject),
            Rule::Set("revisionHistoryLimit", Lit::Int(REVISION_HISTORY_LIMIT)),
            Rule::Set(
                "progressDeadlineSeconds",
                Lit::Int(PROGRESS_DEADLINE_SECONDS),
            ),
        ],
    },
    TypeRules {
        ty: "api::apps::v1::DeploymentStrategy",
        rules: &[Rule::Fn {
            sets: &[
                ("api::apps::v1::DeploymentStrategy", "type"),
                ("api::apps::v1::DeploymentStrategy", "rollingUpdate"),
                ("api::apps::v1::RollingUpdateDeployment", "maxUnavailable"),
                ("api::apps::v1::RollingUpdateDeployment", "maxSurge"),
            ],
            apply: |s| rolling_update(s, json!("25%"), json!("25%")),
        }],
    },
    TypeRules {
        ty: "api::apps::v1::DaemonSetSpec",
        rules: &[
            Rule::Set("updateStrategy", Lit::EmptyObject),
            Rule::Set("revisionHistoryLimit", Lit::Int(REVISION_HISTORY_LIMIT)),
        ],
    },
    TypeRules {
        ty: "api::apps::v1::DaemonSetUpdateStrategy",
        rules: &[Rule::Fn {
            sets: &[
                ("api::apps::v1::DaemonSetUpdateStrategy", "type"),
                ("api::apps::v1::DaemonSetUpdateStrategy", "rollingUpdate"),
                ("api::apps::v1::RollingUpdateDaemonSet", "maxUnavailable"),
                ("api::apps::v1::RollingUpdateDaemonSet", "maxSurge"),
            ],
            apply: |s| rolling_update(s, json!(1), json!(0)),
        }],
    },
    TypeRules {
        ty: "api::apps::v1::StatefulSetSpec",
        rules: &[
            Rule::SetNonZero("podManagementPolicy", Lit::Str("OrderedReady")),
            Rule::Set("updateStrategy", Lit::EmptyObject),
            Rule::Set("persistentVolumeClaimRetentionPolicy", Lit::EmptyObject),
            Rule::Set("replicas", Lit::Int(1)),
            Rule::Set("revisionHistoryLimit", Lit::Int(REVISION_HISTORY_LIMIT)),
        ],
    },
    TypeRules {
        ty: "api::apps::v1::StatefulSetUpdateStrategy",
        rules: &[Rule::Fn {
            sets: &[
                ("api::apps::v1::StatefulSetUpdateStrategy", "type"),
                ("api::apps::v1::StatefulSetUpdateStrategy", "rollingUpdate"),
                (
                    "api::apps::v1::RollingUpdateStatefulSetStrategy",
                    "partition",
                ),
            ],
            apply: stateful_set_update,
        }],
    },
    TypeRules {
        // Feature StatefulSetAutoDeletePVC, GA (always on) since 1.32.
        ty: "api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy",
        rules: &[
            Rule::SetNonZero("whenDeleted", Lit::Str("Retain")),
            Rule::SetNonZero("whenScaled", Lit::Str("Retain")),
        ],
    },
    TypeRules {
        ty: "api::apps::v1::ReplicaSetSpec",
        rules: &[Rule::Set("replicas", Lit::Int(1))],
    },
];

/// A Deployment's or DaemonSet's strategy: RollingUpdate unless told otherwise, with its bounds.
fn rolling_update(strategy: &mut Obj, max_unavailable: Value, max_surge: Value) {
    if str_of(strategy, "type").is_empty() {
        strategy.insert("type".into(), "RollingUpdate".into());
    }
    if str_of(strategy, "type") != "RollingUpdate" {
        return;
    }
    if let Some(ru) = child(strategy, "rollingUpdate") {
        set_nil(ru, "maxUnavailable", max_unavailable);
        set_nil(ru, "maxSurge", max_surge);
    }
}

/// A StatefulSet's update strategy: RollingUpdate from partition 0 unless told otherwise.
fn stateful_set_update(strategy: &mut Obj) {
    if str_of(strategy, "type").is_empty() {
        strategy.insert("type".into(), "RollingUpdate".into());
        child(strategy, "rollingUpdate");
    }
    if str_of(strategy, "type") == "RollingUpdate"
        && let Some(ru) = strategy
            .get_mut("rollingUpdate")
            .and_then(Value::as_object_mut)
    {
        set_nil(ru, "partition", 0.into());
    }
}
