//! Defaults of the storage group (`pkg/apis/storage/v1/defaults.go`); the feature gates named
//! there (CSIVolumeFSGroupPolicy, CSIInlineVolume) are GA and always on in 1.37.

use serde_json::{Value, json};

use super::rules::{Lit, Rule, TypeRules};

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::storage::v1::StorageClass",
        rules: &[
            Rule::Set("reclaimPolicy", Lit::Str("Delete")),
            Rule::Set("volumeBindingMode", Lit::Str("Immediate")),
        ],
    },
    TypeRules {
        ty: "api::storage::v1::CSIDriverSpec",
        rules: &[
            Rule::Set("attachRequired", Lit::Bool(true)),
            Rule::Set("podInfoOnMount", Lit::Bool(false)),
            Rule::Set("storageCapacity", Lit::Bool(false)),
            Rule::Set("fsGroupPolicy", Lit::Str("ReadWriteOnceWithFSType")),
            Rule::Set("requiresRepublish", Lit::Bool(false)),
            Rule::Fn {
                sets: &[("api::storage::v1::CSIDriverSpec", "volumeLifecycleModes")],
                apply: |spec| {
                    if spec
                        .get("volumeLifecycleModes")
                        .and_then(Value::as_array)
                        .is_none_or(|m| m.is_empty())
                    {
                        spec.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
                    }
                },
            },
        ],
    },
];
