//! Drift test: the fixed sets of values the validation accepts agree with what kube documents.
//!
//! The documentation is k8s-openapi's field descriptions (kube's own Go doc comments, compiled
//! into the crate through its `schemars` impls, so the test is offline and follows any
//! k8s-openapi upgrade). For every enumerated field validated here, the values named in its
//! description (the sentence that lists them: "One of Always, OnFailure, Never.", quoted or
//! back-quoted values, `* Exact:` bullets) must equal the accepted set. So must `spec.os.name`'s
//! values, and the fields `PodSpec.os` says a Linux or a Windows pod must leave unset must be the
//! ones `core::os` refuses (with the known differences named there).
//!
//! What it catches: an upgrade that adds, renames or drops a value of one of these fields, and
//! a typo in our sets. What it cannot catch: values kube accepts but does not document in the
//! description, rules other than enumerations (ranges, formats, cross-field rules), message
//! wording, or a field whose description stops listing its values (the test then fails, asking
//! for the check to be updated by hand, rather than passing vacuously).

use std::collections::BTreeSet;

use k8s_openapi::schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use super::{
    admission, apps, autoscaling, batch, certificates, core, flowcontrol, networking, others, rbac,
    selector,
};
use crate::builtin::builtin_types;

/// Words of the listing sentences that are not values.
const NOT_VALUES: [&str; 8] = [
    "One", "Must", "Can", "Supports", "Valid", "Values", "Default", "Defaults",
];

fn definitions() -> Map<String, Value> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    for t in builtin_types() {
        (t.schema)(&mut generator);
    }
    generator.take_definitions(true)
}

/// The sentence of `text` that starts at `marker` (to the first ". " or the end).
fn sentence<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    Some(rest.find(". ").map_or(rest, |end| &rest[..end]))
}

/// Values named in `text`: quoted (`'x'`, `"x"`, back-quoted) if any, else capitalised words.
fn values_in(text: &str) -> BTreeSet<String> {
    let mut quoted = BTreeSet::new();
    for q in ['\'', '"', '`'] {
        let parts: Vec<&str> = text.split(q).collect();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 1 && !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()) {
                quoted.insert((*p).to_owned());
            }
        }
    }
    if !quoted.is_empty() {
        return quoted;
    }
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter(|w| !NOT_VALUES.contains(w))
        .map(str::to_owned)
        .collect()
}

/// `* Exact:` bullets (Ingress pathType).
fn bullets(text: &str) -> BTreeSet<String> {
    text.split("* ")
        .skip(1)
        .filter_map(|b| b.split_once(':').map(|(v, _)| v.trim().to_owned()))
        .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect()
}

fn description<'a>(defs: &'a Map<String, Value>, definition: &str, field: &str) -> &'a str {
    defs.get(definition)
        .and_then(|d| d.pointer(&format!("/properties/{field}/description")))
        .or_else(|| {
            // Arrays of enums document the field, not the items.
            defs.get(definition)
                .and_then(|d| d.pointer(&format!("/properties/{field}/items/description")))
        })
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no description for {definition}.{field}: update this check"))
}

#[test]
fn enumerated_values_match_kubes_documentation() {
    let defs = definitions();
    let set = |values: &[&str]| {
        values
            .iter()
            .map(|v| (*v).to_owned())
            .collect::<BTreeSet<_>>()
    };
    // (definition, field, the sentence's marker ("" = the whole description), our accepted set)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "io.k8s.api.core.v1.PodSpec",
            "restartPolicy",
            "One of ",
            &core::pod::RESTART_POLICIES,
        ),
        (
            "io.k8s.api.core.v1.PodSpec",
            "dnsPolicy",
            "Valid values are ",
            &core::pod::DNS_POLICIES,
        ),
        (
            "io.k8s.api.core.v1.Container",
            "imagePullPolicy",
            "One of ",
            &core::pod::PULL_POLICIES,
        ),
        (
            "io.k8s.api.core.v1.ContainerPort",
            "protocol",
            "Must be ",
            &core::pod::PROTOCOLS,
        ),
        (
            "io.k8s.api.core.v1.ServicePort",
            "protocol",
            "Supports ",
            &core::pod::PROTOCOLS,
        ),
        (
            "io.k8s.api.core.v1.ServiceSpec",
            "type",
            "Valid options are ",
            &core::service::SERVICE_TYPES,
        ),
        (
            "io.k8s.api.apps.v1.DeploymentStrategy",
            "type",
            "Can be ",
            &apps::DEPLOYMENT_STRATEGIES,
        ),
        (
            "io.k8s.api.apps.v1.DaemonSetUpdateStrategy",
            "type",
            "Can be ",
            &apps::UPDATE_STRATEGIES,
        ),
        (
            "io.k8s.api.apps.v1.StatefulSetSpec",
            "podManagementPolicy",
            "",
            &apps::POD_MANAGEMENT_POLICIES,
        ),
        (
            "io.k8s.api.batch.v1.CronJobSpec",
            "concurrencyPolicy",
            "",
            &batch::CONCURRENCY_POLICIES,
        ),
        (
            "io.k8s.api.networking.v1.NetworkPolicySpec",
            "policyTypes",
            "Valid options are ",
            &networking::POLICY_TYPES,
        ),
        (
            "io.k8s.api.networking.v1.IngressClassParametersReference",
            "scope",
            "This may be set to ",
            &networking::PARAMETER_SCOPES,
        ),
        (
            "io.k8s.api.policy.v1.PodDisruptionBudgetSpec",
            "unhealthyPodEvictionPolicy",
            "Valid policies are ",
            &others::UNHEALTHY_POD_EVICTION_POLICIES,
        ),
        (
            "io.k8s.api.scheduling.v1.PriorityClass",
            "preemptionPolicy",
            "One of ",
            &others::PREEMPTION_POLICIES,
        ),
        (
            "io.k8s.api.autoscaling.v2.MetricSpec",
            "type",
            "It should be one of ",
            &autoscaling::METRIC_SOURCE_TYPES,
        ),
        (
            "io.k8s.api.autoscaling.v2.MetricTarget",
            "type",
            "whether the metric type is ",
            &autoscaling::METRIC_TARGET_TYPES,
        ),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
            "operator",
            "Valid operators are ",
            &selector::OPERATORS,
        ),
        (
            "io.k8s.api.rbac.v1.Subject",
            "kind",
            "Values defined by this API group are ",
            &rbac::SUBJECT_KINDS,
        ),
        (
            "io.k8s.api.flowcontrol.v1.FlowDistinguisherMethod",
            "type",
            "The supported types are ",
            &flowcontrol::DISTINGUISHER_METHODS,
        ),
        (
            "io.k8s.api.flowcontrol.v1.LimitResponse",
            "type",
            "`type` is ",
            &flowcontrol::LIMIT_RESPONSE_TYPES,
        ),
        (
            "io.k8s.api.admissionregistration.v1.Mutation",
            "patchType",
            "Allowed values are ",
            &admission::PATCH_TYPES,
        ),
        (
            "io.k8s.api.admissionregistration.v1.MutatingAdmissionPolicySpec",
            "reinvocationPolicy",
            "Allowed values are ",
            &admission::REINVOCATION_POLICIES,
        ),
    ];
    let mut drift = Vec::new();
    for (definition, field, marker, ours) in cases {
        let text = description(&defs, definition, field);
        let listed = if marker.is_empty() {
            values_in(text)
        } else {
            values_in(sentence(text, marker).unwrap_or_else(|| {
                panic!("{definition}.{field} no longer says {marker:?}: update this check\n{text}")
            }))
        };
        if listed != set(ours) {
            drift.push(format!(
                "{definition}.{field}: documented {listed:?}, accepted {:?}",
                set(ours)
            ));
        }
    }
    let text = description(
        &defs,
        "io.k8s.api.networking.v1.HTTPIngressPath",
        "pathType",
    );
    if bullets(text) != set(&networking::PATH_TYPES) {
        drift.push(format!(
            "HTTPIngressPath.pathType: documented {:?}",
            bullets(text)
        ));
    }
    assert!(
        drift.is_empty(),
        "validation drifted from kube's documentation:\n{}",
        drift.join("\n")
    );
}

/// `PodSpec.os`'s list of what a Windows pod must leave unset against `validateWindows`'s
/// (`core::os`). kube's description also names `spec.resources`, which kube refuses for Windows
/// pods in `validatePodResources` (pod-level resources, not validated here at all); kube's code
/// also refuses `securityContext.seLinuxChangePolicy`, which the description does not list.
const WINDOWS_DOCUMENTED_ONLY: [&str; 1] = ["spec.resources"];
const WINDOWS_VALIDATED_ONLY: [&str; 1] = ["spec.securityContext.seLinuxChangePolicy"];

#[test]
fn pod_os_rules_match_kubes_documentation() {
    let defs = definitions();
    let text = description(&defs, "io.k8s.api.core.v1.PodOS", "name");
    let listed = sentence(text, "The currently supported values are ").unwrap_or_else(|| {
        panic!("PodOS.name no longer lists its values the same way: update this check\n{text}")
    });
    let documented: BTreeSet<&str> = listed
        .split(" and ")
        .flat_map(|p| p.split(", "))
        .map(str::trim)
        .collect();
    let accepted: BTreeSet<&str> = core::os::OS_NAMES.iter().copied().collect();
    assert_eq!(documented, accepted, "spec.os.name values drifted");

    let text = description(&defs, "io.k8s.api.core.v1.PodSpec", "os");
    let unset = |marker: &str| -> BTreeSet<String> {
        let (_, rest) = text.split_once(marker).unwrap_or_else(|| {
            panic!("PodSpec.os no longer says {marker:?}: update this check\n{text}")
        });
        rest.split("\n\n")
            .next()
            .unwrap_or_default()
            .split(" - ")
            .map(|f| f.trim().trim_start_matches('-').trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect()
    };
    let linux = unset("If the OS field is set to linux, the following fields must be unset:");
    assert_eq!(
        linux,
        BTreeSet::from(["securityContext.windowsOptions".to_owned()]),
        "the fields a Linux pod must leave unset drifted from `validateLinux`'s"
    );
    let mut documented =
        unset("If the OS field is set to windows, following fields must be unset:");
    for f in WINDOWS_DOCUMENTED_ONLY {
        assert!(
            documented.remove(f),
            "{f} is no longer documented: update this check"
        );
    }
    let validated: BTreeSet<String> = core::os::WINDOWS_POD_FIELDS
        .iter()
        .map(|f| format!("spec.{f}"))
        .chain(
            core::os::WINDOWS_CONTAINER_FIELDS
                .iter()
                .map(|f| format!("spec.containers[*].securityContext.{f}")),
        )
        .filter(|f| !WINDOWS_VALIDATED_ONLY.contains(&f.as_str()))
        .collect();
    assert_eq!(
        documented, validated,
        "the fields a Windows pod must leave unset drifted from kube's documentation"
    );
}

#[test]
fn key_usages_match_kubes_documentation() {
    // The usages are quoted and contain spaces and '/' ("s/mime"), which `values_in` skips.
    let defs = definitions();
    let text = description(
        &defs,
        "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
        "usages",
    );
    let listed = text
        .split_once("Valid values are:")
        .unwrap_or_else(|| {
            panic!("CSR usages no longer say \"Valid values are:\": update this check\n{text}")
        })
        .1;
    let documented: BTreeSet<&str> = listed.split('"').skip(1).step_by(2).collect();
    let accepted: BTreeSet<&str> = certificates::KEY_USAGES.iter().copied().collect();
    assert_eq!(
        documented, accepted,
        "CSR key usages drifted from kube's documentation"
    );
}

/// The built-in types validated by ObjectMeta only (in `builtin_types()` order), as the README
/// lists them.
const OBJECT_META_ONLY: [&str; 10] = [
    "core/ComponentStatus",
    // As in kube: `ValidateServiceAccount` (pkg/apis/core/validation/validation.go) is core's
    // `ValidateObjectMeta` with `ValidateServiceAccountName` and nothing else, and
    // `ValidateServiceAccountUpdate` its `ValidateObjectMetaUpdate` plus that.
    "core/ServiceAccount",
    "apiextensions.k8s.io/CustomResourceDefinition",
    "authentication.k8s.io/TokenReview",
    // The reviews' own checks (the namespace rules, a user or group required) are made by their
    // REST handlers in auth/reviews.rs when they answer, as kube's review REST storage does.
    "authentication.k8s.io/SelfSubjectReview",
    "authorization.k8s.io/LocalSubjectAccessReview",
    "authorization.k8s.io/SelfSubjectAccessReview",
    "authorization.k8s.io/SelfSubjectRulesReview",
    "authorization.k8s.io/SubjectAccessReview",
    // `ValidatePodBinding` is called by the binding's REST handler (subresources/binding.rs), as
    // kube's BindingREST.Create calls it, not by a strategy.
    "core/Binding",
];

#[test]
fn types_without_rules_of_their_own_get_object_meta_only() {
    // The list the README states; a type gaining rules must move out of it.
    let uncovered: Vec<String> = builtin_types()
        .iter()
        .filter(|t| !super::depth(t.group, t.kind))
        .map(|t| {
            format!(
                "{}/{}",
                if t.group.is_empty() { "core" } else { t.group },
                t.kind
            )
        })
        .collect();
    // A type gaining rules leaves this list (and the README's): the list is the answer to "which
    // built-in types are validated beyond ObjectMeta", so it must not drift silently.
    let expected: Vec<String> = OBJECT_META_ONLY.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(
        uncovered, expected,
        "update OBJECT_META_ONLY and the README's list"
    );
    eprintln!("ObjectMeta validation only: {}", uncovered.join(", "));
}
