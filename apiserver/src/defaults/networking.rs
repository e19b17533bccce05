//! Defaults of the networking group (`pkg/apis/networking/v1/defaults.go`).

use serde_json::{Value, json};

use super::rules::{Lit, Obj, Rule, TypeRules};

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::networking::v1::NetworkPolicyPort",
        rules: &[Rule::Set("protocol", Lit::Str("TCP"))],
    },
    TypeRules {
        ty: "api::networking::v1::NetworkPolicySpec",
        rules: &[
            // A Go struct, not a pointer: an omitted selector is encoded as `{}` (all pods).
            Rule::Set("podSelector", Lit::EmptyObject),
            Rule::Fn {
                sets: &[("api::networking::v1::NetworkPolicySpec", "policyTypes")],
                apply: policy_types,
            },
        ],
    },
    TypeRules {
        ty: "api::networking::v1::IngressClassParametersReference",
        rules: &[Rule::Fn {
            sets: &[(
                "api::networking::v1::IngressClassParametersReference",
                "scope",
            )],
            apply: |p| super::rules::set_nil(p, "scope", "Cluster".into()),
        }],
    },
];

/// `SetDefaults_NetworkPolicy`: Ingress always, Egress when egress rules are given.
fn policy_types(spec: &mut Obj) {
    let empty = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty());
    if !empty {
        return;
    }
    let egress = spec
        .get("egress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let types = if egress {
        json!(["Ingress", "Egress"])
    } else {
        json!(["Ingress"])
    };
    spec.insert("policyTypes".into(), types);
}
