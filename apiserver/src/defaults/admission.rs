//! Defaults of the admissionregistration group (`pkg/apis/admissionregistration/v1/defaults.go`).

use super::rules::{Lit, Rule, TypeRules};

/// Seconds kube-apiserver waits for a webhook.
const WEBHOOK_TIMEOUT_SECONDS: i64 = 10;
/// The HTTPS port a webhook service listens on unless told otherwise.
const WEBHOOK_SERVICE_PORT: i64 = 443;

const WEBHOOK: &[Rule] = &[
    Rule::Set("failurePolicy", Lit::Str("Fail")),
    Rule::Set("matchPolicy", Lit::Str("Equivalent")),
    Rule::Set("namespaceSelector", Lit::EmptyObject),
    Rule::Set("objectSelector", Lit::EmptyObject),
    Rule::Set("timeoutSeconds", Lit::Int(WEBHOOK_TIMEOUT_SECONDS)),
];

const SCOPE: &[Rule] = &[Rule::Set("scope", Lit::Str("*"))];

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::admissionregistration::v1::ValidatingWebhook",
        rules: WEBHOOK,
    },
    TypeRules {
        ty: "api::admissionregistration::v1::MutatingWebhook",
        rules: &[
            Rule::Set("failurePolicy", Lit::Str("Fail")),
            Rule::Set("matchPolicy", Lit::Str("Equivalent")),
            Rule::Set("namespaceSelector", Lit::EmptyObject),
            Rule::Set("objectSelector", Lit::EmptyObject),
            Rule::Set("timeoutSeconds", Lit::Int(WEBHOOK_TIMEOUT_SECONDS)),
            Rule::Set("reinvocationPolicy", Lit::Str("Never")),
        ],
    },
    TypeRules {
        ty: "api::admissionregistration::v1::RuleWithOperations",
        rules: SCOPE,
    },
    TypeRules {
        ty: "api::admissionregistration::v1::NamedRuleWithOperations",
        rules: SCOPE,
    },
    TypeRules {
        ty: "api::admissionregistration::v1::ServiceReference",
        rules: &[Rule::Set("port", Lit::Int(WEBHOOK_SERVICE_PORT))],
    },
    TypeRules {
        ty: "api::admissionregistration::v1::ValidatingAdmissionPolicySpec",
        rules: &[Rule::Set("failurePolicy", Lit::Str("Fail"))],
    },
    TypeRules {
        ty: "api::admissionregistration::v1::MutatingAdmissionPolicySpec",
        rules: &[Rule::Set("failurePolicy", Lit::Str("Fail"))],
    },
    TypeRules {
        ty: "api::admissionregistration::v1::MatchResources",
        rules: &[
            Rule::Set("matchPolicy", Lit::Str("Equivalent")),
            Rule::Set("namespaceSelector", Lit::EmptyObject),
            Rule::Set("objectSelector", Lit::EmptyObject),
        ],
    },
];
