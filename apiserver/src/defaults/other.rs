//! Defaults of the smaller groups: flowcontrol (`pkg/apis/flowcontrol/v1/defaults.go`),
//! certificates, scheduling, discovery and resource.

use serde_json::Value;

use super::rules::{Lit, Obj, Rule, TypeRules, set_nil, str_of};

/// Concurrency shares of a Limited priority level that names none.
const NOMINAL_CONCURRENCY_SHARES: i64 = 30;
/// Queuing defaults of a Limited priority level (`DefaultQueues`, `DefaultHandSize`, `DefaultQueueLengthLimit`).
const QUEUES: i64 = 64;
const HAND_SIZE: i64 = 8;
const QUEUE_LENGTH_LIMIT: i64 = 50;
/// The HTTPS port of a service behind a webhook or an aggregated API unless told otherwise.
const WEBHOOK_SERVICE_PORT: i64 = 443;
/// A PodCertificateRequest's `maxExpirationSeconds` when none is asked for (24 hours).
const POD_CERTIFICATE_MAX_EXPIRATION: i64 = 86400;
/// Precedence of a FlowSchema that names none.
const MATCHING_PRECEDENCE: i64 = 1000;

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::flowcontrol::v1::LimitedPriorityLevelConfiguration",
        rules: &[
            Rule::Set(
                "nominalConcurrencyShares",
                Lit::Int(NOMINAL_CONCURRENCY_SHARES),
            ),
            Rule::Set("lendablePercent", Lit::Int(0)),
        ],
    },
    TypeRules {
        ty: "api::flowcontrol::v1::ExemptPriorityLevelConfiguration",
        rules: &[
            Rule::Set("nominalConcurrencyShares", Lit::Int(0)),
            Rule::Set("lendablePercent", Lit::Int(0)),
        ],
    },
    TypeRules {
        ty: "api::flowcontrol::v1::QueuingConfiguration",
        rules: &[
            Rule::SetNonZero("queues", Lit::Int(QUEUES)),
            Rule::SetNonZero("handSize", Lit::Int(HAND_SIZE)),
            Rule::SetNonZero("queueLengthLimit", Lit::Int(QUEUE_LENGTH_LIMIT)),
        ],
    },
    TypeRules {
        ty: "api::flowcontrol::v1::FlowSchemaSpec",
        rules: &[Rule::SetNonZero(
            "matchingPrecedence",
            Lit::Int(MATCHING_PRECEDENCE),
        )],
    },
    TypeRules {
        // `+default=86400` on `MaxExpirationSeconds` (k8s.io/api certificates/v1 types.go; the
        // OpenAPI description does not say it): defaulted before validation checks its range.
        ty: "api::certificates::v1::PodCertificateRequestSpec",
        rules: &[Rule::Set(
            "maxExpirationSeconds",
            Lit::Int(POD_CERTIFICATE_MAX_EXPIRATION),
        )],
    },
    TypeRules {
        ty: "api::scheduling::v1::PriorityClass",
        rules: &[Rule::Set(
            "preemptionPolicy",
            Lit::Str("PreemptLowerPriority"),
        )],
    },
    TypeRules {
        ty: "api::discovery::v1::EndpointPort",
        rules: &[
            Rule::Set("name", Lit::Str("")),
            Rule::Set("protocol", Lit::Str("TCP")),
        ],
    },
    TypeRules {
        ty: "api::resource::v1::DeviceToleration",
        rules: &[Rule::SetNonZero("operator", Lit::Str("Equal"))],
    },
    TypeRules {
        // apiextensions/v1 `SetDefaults_ServiceReference`: a conversion webhook's port.
        ty: "apiextensions_apiserver::pkg::apis::apiextensions::v1::ServiceReference",
        rules: &[Rule::Set("port", Lit::Int(WEBHOOK_SERVICE_PORT))],
    },
    TypeRules {
        // apiregistration/v1 `SetDefaults_ServiceReference`: an aggregated API's port.
        ty: "kube_aggregator::pkg::apis::apiregistration::v1::ServiceReference",
        rules: &[Rule::Set("port", Lit::Int(WEBHOOK_SERVICE_PORT))],
    },
    TypeRules {
        ty: "api::resource::v1::ExactDeviceRequest",
        rules: DEVICE_REQUEST,
    },
    TypeRules {
        ty: "api::resource::v1::DeviceSubRequest",
        rules: DEVICE_REQUEST,
    },
];

const DEVICE_REQUEST: &[Rule] = &[Rule::Fn {
    sets: &[
        ("api::resource::v1::ExactDeviceRequest", "allocationMode"),
        ("api::resource::v1::ExactDeviceRequest", "count"),
        ("api::resource::v1::DeviceSubRequest", "allocationMode"),
        ("api::resource::v1::DeviceSubRequest", "count"),
    ],
    apply: device_request,
}];

/// `SetDefaults_ExactDeviceRequest` / `SetDefaults_DeviceSubRequest`: one device unless told otherwise.
fn device_request(r: &mut Obj) {
    if str_of(r, "allocationMode").is_empty() {
        r.insert("allocationMode".into(), "ExactCount".into());
    }
    if r.get("allocationMode").and_then(Value::as_str) == Some("ExactCount") {
        set_nil(r, "count", 1.into());
    }
}
