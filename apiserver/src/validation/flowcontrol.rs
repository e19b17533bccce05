//! Validates flowcontrol.apiserver.k8s.io FlowSchemas and PriorityLevelConfigurations as kube's
//! `pkg/apis/flowcontrol/validation/validation.go` does (`ValidateFlowSchema`,
//! `ValidateFlowSchemaUpdate`, `ValidateFlowSchemaStatusUpdate`,
//! `ValidatePriorityLevelConfiguration`, `...Update`, `...StatusUpdate`), with the options the
//! registry strategies pass (`PriorityLevelValidationOptions{}`: a Limited level's
//! `nominalConcurrencyShares` must be positive):
//!
//! - FlowSchema: the matching precedence in [1, 10000] (1 only for `exempt`), the distinguisher
//!   method, the priority level reference, every rule's subjects (by kind), resource rules
//!   (verbs, API groups, resources, namespaces) and non-resource rules (verbs, URL paths); the
//!   mandatory `exempt` and `catch-all` schemas must have kube's bootstrap spec
//!   (`internalbootstrap.MandatoryFlowSchemas`); the status conditions' types unique and set.
//! - PriorityLevelConfiguration: the type (`Exempt` exactly for the level named `exempt`), the
//!   limited part (shares, limit response and its queuing with kube's shuffle-sharding entropy
//!   bound, lendable and borrowing percentages) or the exempt part; the mandatory `exempt` (but
//!   for `spec.exempt`) and `catch-all` levels must have the bootstrap spec; the status alike.
//!
//! Updates are checked as creates (kube's `Validate...Update` calls `Validate...`).

use serde_json::{Map, Value};

use super::field::{self, arr_of, child, index, str_of};
use super::selector::invalid_go;
use crate::status::Cause;

/// `flowcontrol.FlowSchemaMaxMatchingPrecedence`.
const MAX_MATCHING_PRECEDENCE: i64 = 10_000;
/// `priorityLevelConfigurationQueuingMaxQueues` (10^7).
const MAX_QUEUES: i64 = 10_000_000;
/// `shufflesharding.MaxHashBits`.
const MAX_HASH_BITS: f64 = 60.0;
/// The names of the mandatory objects with a fixed spec (`exempt`, `catch-all`).
const EXEMPT: &str = "exempt";
const CATCH_ALL: &str = "catch-all";

/// Flow distinguisher methods, sorted as kube lists them.
pub const DISTINGUISHER_METHODS: [&str; 2] = ["ByNamespace", "ByUser"];
/// The verbs a rule may name (`supportedVerbs`), sorted.
pub const VERBS: [&str; 9] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "proxy",
    "update",
    "watch",
];
/// Subject kinds, sorted.
pub const SUBJECT_KINDS: [&str; 3] = ["Group", "ServiceAccount", "User"];
/// Priority level types, sorted.
pub const PRIORITY_LEVEL_TYPES: [&str; 2] = ["Exempt", "Limited"];
/// Limit response types, sorted.
pub const LIMIT_RESPONSE_TYPES: [&str; 2] = ["Queue", "Reject"];

/// `nsErrIntro`: before a namespace's DNS-label messages.
const NS_ERR_INTRO: &str = "each member of this list must be '*' or a DNS-1123 label; ";

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A field that is present and not null.
fn set<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|v| !v.is_null())
}

fn int_of(v: &Value, f: &str) -> i64 {
    v.get(f).and_then(Value::as_i64).unwrap_or(0)
}

fn has_wildcard(items: &[Value]) -> bool {
    items.iter().any(|v| v.as_str() == Some("*"))
}

/// How one of kube's internal flowcontrol types marshals when it is a bad value: the internal
/// types have no JSON tags, so Go's `json.Marshal` writes every field under its Go name, in
/// declaration order (pkg/apis/flowcontrol/types.go), with its zero value when unset.
enum Go {
    Str,
    Int,
    Bool,
    /// A pointer: `null` when unset.
    Ptr(&'static Go),
    /// A struct field of struct type (never `null`).
    Val(&'static Go),
    /// A slice: `null` when unset.
    List(&'static Go),
    /// `(Go name, JSON name, type)` per field.
    Struct(&'static [(&'static str, &'static str, Go)]),
}

static STR: Go = Go::Str;
static INT: Go = Go::Int;
static NAMED: Go = Go::Struct(&[("Name", "name", Go::Str)]);
static SERVICE_ACCOUNT: Go = Go::Struct(&[
    ("Namespace", "namespace", Go::Str),
    ("Name", "name", Go::Str),
]);
static SUBJECT: Go = Go::Struct(&[
    ("Kind", "kind", Go::Str),
    ("User", "user", Go::Ptr(&NAMED)),
    ("Group", "group", Go::Ptr(&NAMED)),
    (
        "ServiceAccount",
        "serviceAccount",
        Go::Ptr(&SERVICE_ACCOUNT),
    ),
]);
static RESOURCE_RULE: Go = Go::Struct(&[
    ("Verbs", "verbs", Go::List(&STR)),
    ("APIGroups", "apiGroups", Go::List(&STR)),
    ("Resources", "resources", Go::List(&STR)),
    ("ClusterScope", "clusterScope", Go::Bool),
    ("Namespaces", "namespaces", Go::List(&STR)),
]);
static NON_RESOURCE_RULE: Go = Go::Struct(&[
    ("Verbs", "verbs", Go::List(&STR)),
    ("NonResourceURLs", "nonResourceURLs", Go::List(&STR)),
]);
static POLICY_RULES: Go = Go::Struct(&[
    ("Subjects", "subjects", Go::List(&SUBJECT)),
    ("ResourceRules", "resourceRules", Go::List(&RESOURCE_RULE)),
    (
        "NonResourceRules",
        "nonResourceRules",
        Go::List(&NON_RESOURCE_RULE),
    ),
]);
static DISTINGUISHER: Go = Go::Struct(&[("Type", "type", Go::Str)]);
static FLOW_SCHEMA_SPEC: Go = Go::Struct(&[
    (
        "PriorityLevelConfiguration",
        "priorityLevelConfiguration",
        Go::Val(&NAMED),
    ),
    ("MatchingPrecedence", "matchingPrecedence", Go::Int),
    (
        "DistinguisherMethod",
        "distinguisherMethod",
        Go::Ptr(&DISTINGUISHER),
    ),
    ("Rules", "rules", Go::List(&POLICY_RULES)),
]);
static QUEUING: Go = Go::Struct(&[
    ("Queues", "queues", Go::Int),
    ("HandSize", "handSize", Go::Int),
    ("QueueLengthLimit", "queueLengthLimit", Go::Int),
]);
static LIMIT_RESPONSE: Go = Go::Struct(&[
    ("Type", "type", Go::Str),
    ("Queuing", "queuing", Go::Ptr(&QUEUING)),
]);
static LIMITED: Go = Go::Struct(&[
    (
        "NominalConcurrencyShares",
        "nominalConcurrencyShares",
        Go::Int,
    ),
    ("LimitResponse", "limitResponse", Go::Val(&LIMIT_RESPONSE)),
    ("LendablePercent", "lendablePercent", Go::Ptr(&INT)),
    (
        "BorrowingLimitPercent",
        "borrowingLimitPercent",
        Go::Ptr(&INT),
    ),
]);
static EXEMPT_CONFIG: Go = Go::Struct(&[
    (
        "NominalConcurrencyShares",
        "nominalConcurrencyShares",
        Go::Ptr(&INT),
    ),
    ("LendablePercent", "lendablePercent", Go::Ptr(&INT)),
]);
static PRIORITY_LEVEL_SPEC: Go = Go::Struct(&[
    ("Type", "type", Go::Str),
    ("Limited", "limited", Go::Ptr(&LIMITED)),
    ("Exempt", "exempt", Go::Ptr(&EXEMPT_CONFIG)),
]);

impl Go {
    /// The internal value of `v` (absent or null: the zero value) as Go marshals it.
    fn render(&self, v: Option<&Value>) -> Value {
        let v = v.filter(|v| !v.is_null());
        match self {
            Go::Str => Value::String(v.and_then(Value::as_str).unwrap_or("").to_owned()),
            Go::Int => v
                .filter(|v| v.is_number())
                .cloned()
                .unwrap_or_else(|| 0.into()),
            Go::Bool => Value::Bool(v.and_then(Value::as_bool).unwrap_or(false)),
            Go::Ptr(t) => v.map_or(Value::Null, |v| t.render(Some(v))),
            Go::Val(t) => t.render(v),
            Go::List(t) => v.and_then(Value::as_array).map_or(Value::Null, |items| {
                Value::Array(items.iter().map(|i| t.render(Some(i))).collect())
            }),
            Go::Struct(fields) => {
                let mut out = Map::new();
                for (go, json, t) in *fields {
                    out.insert((*go).to_owned(), t.render(v.and_then(|v| v.get(*json))));
                }
                Value::Object(out)
            }
        }
    }

    fn marshal(&self, v: &Value) -> String {
        field::go_json(&self.render(Some(v)))
    }
}

/// The value as `apiequality.Semantic.DeepEqual` compares it: unset, null, empty lists and the
/// zero values of the non-pointer strings and booleans are all the same; an empty object stands
/// for an unset non-pointer struct (`priorityLevelConfiguration`, `limitResponse`) only.
fn semantic(v: &Value) -> Option<Value> {
    match v {
        Value::Null | Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|i| semantic(i).unwrap_or(Value::Null))
                .collect(),
        )),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let Some(v) = semantic(v) else { continue };
                let empty = v.as_object().is_some_and(Map::is_empty);
                if empty && matches!(k.as_str(), "priorityLevelConfiguration" | "limitResponse") {
                    continue;
                }
                out.insert(k.clone(), v);
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

fn semantic_eq(a: &Value, b: &Value) -> bool {
    semantic(a) == semantic(b)
}

/// The rules of kube's mandatory FlowSchemas: every verb on every resource and URL.
fn all_rules(groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| serde_json::json!({"kind": "Group", "group": {"name": g}}))
        .collect();
    serde_json::json!([{
        "subjects": subjects,
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
            "clusterScope": true, "namespaces": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
    }])
}

/// The spec of a mandatory FlowSchema (`bootstrap.MandatoryFlowSchemas`, defaulted), by name.
fn mandatory_flow_schema(name: &str) -> Option<Value> {
    match name {
        EXEMPT => Some(serde_json::json!({
            "priorityLevelConfiguration": {"name": EXEMPT},
            "matchingPrecedence": 1,
            "rules": all_rules(&["system:masters"]),
        })),
        CATCH_ALL => Some(serde_json::json!({
            "priorityLevelConfiguration": {"name": CATCH_ALL},
            "matchingPrecedence": MAX_MATCHING_PRECEDENCE,
            "distinguisherMethod": {"type": "ByUser"},
            "rules": all_rules(&["system:unauthenticated", "system:authenticated"]),
        })),
        _ => None,
    }
}

/// The spec of a mandatory PriorityLevelConfiguration
/// (`bootstrap.MandatoryPriorityLevelConfigurations`, defaulted), by name.
fn mandatory_priority_level(name: &str) -> Option<Value> {
    match name {
        EXEMPT => Some(serde_json::json!({
            "type": "Exempt",
            "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0},
        })),
        CATCH_ALL => Some(serde_json::json!({
            "type": "Limited",
            "limited": {"nominalConcurrencyShares": 5, "lendablePercent": 0,
                "limitResponse": {"type": "Reject"}},
        })),
        _ => None,
    }
}

/// `ValidateFlowSchema` without ObjectMeta (and so `ValidateFlowSchemaUpdate`).
pub fn validate_flow_schema(obj: &Value) -> Vec<Cause> {
    let name = name_of(obj);
    let spec = spec(obj);
    let mut causes = flow_schema_spec(name, spec);
    if let Some(fixed) = mandatory_flow_schema(name)
        && !semantic_eq(spec, &fixed)
    {
        causes.push(invalid_go(
            "spec",
            &FLOW_SCHEMA_SPEC.marshal(spec),
            &format!("spec of '{name}' must equal the fixed value"),
        ));
    }
    causes.extend(validate_status(obj));
    causes
}

/// `ValidateFlowSchemaSpec`.
fn flow_schema_spec(name: &str, spec: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let precedence = spec.get("matchingPrecedence").unwrap_or(&Value::Null);
    let p = precedence.as_i64().unwrap_or(0);
    let shown = if precedence.is_number() {
        precedence.clone()
    } else {
        0.into()
    };
    let at = "spec.matchingPrecedence";
    if p <= 0 {
        causes.push(field::invalid(at, &shown, "must be a positive value"));
    }
    if p > MAX_MATCHING_PRECEDENCE {
        causes.push(field::invalid(
            at,
            &shown,
            &format!("must not be greater than {MAX_MATCHING_PRECEDENCE}"),
        ));
    }
    if p == 1 && name != EXEMPT {
        causes.push(field::invalid(
            at,
            &shown,
            "only the schema named 'exempt' may have matchingPrecedence 1",
        ));
    }
    if let Some(method) = set(spec, "distinguisherMethod")
        && !DISTINGUISHER_METHODS.contains(&str_of(method, "type"))
    {
        causes.push(field::not_supported_go(
            "spec.distinguisherMethod.type",
            &DISTINGUISHER.marshal(method),
            &DISTINGUISHER_METHODS,
        ));
    }
    let level = spec
        .pointer("/priorityLevelConfiguration/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let level_at = "spec.priorityLevelConfiguration.name";
    if level.is_empty() {
        causes.push(field::required(level_at, "must reference a priority level"));
    } else {
        causes.extend(field::each(
            level_at,
            level,
            field::dns1123_subdomain(level),
        ));
    }
    for (i, rule) in arr_of(spec, "rules").iter().enumerate() {
        causes.extend(policy_rules(rule, &index("spec.rules", i)));
    }
    causes
}

/// `ValidateFlowSchemaPolicyRulesWithSubjects`.
fn policy_rules(rule: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let subjects = arr_of(rule, "subjects");
    if subjects.is_empty() {
        causes.push(field::required(
            &child(at, "subjects"),
            "subjects must contain at least one value",
        ));
    }
    for (i, s) in subjects.iter().enumerate() {
        causes.extend(subject(s, &index(&child(at, "subjects"), i)));
    }
    let resource_rules = arr_of(rule, "resourceRules");
    let non_resource_rules = arr_of(rule, "nonResourceRules");
    if resource_rules.is_empty() && non_resource_rules.is_empty() {
        causes.push(field::required(
            at,
            "at least one of resourceRules and nonResourceRules has to be non-empty",
        ));
    }
    for (i, r) in resource_rules.iter().enumerate() {
        causes.extend(resource_rule(r, &index(&child(at, "resourceRules"), i)));
    }
    for (i, r) in non_resource_rules.iter().enumerate() {
        causes.extend(non_resource_rule(
            r,
            &index(&child(at, "nonResourceRules"), i),
        ));
    }
    causes
}

const USER_FORBIDDEN: &str = "user is forbidden when subject kind is not 'User'";
const GROUP_FORBIDDEN: &str = "group is forbidden when subject kind is not 'Group'";
const SERVICE_ACCOUNT_FORBIDDEN: &str =
    "serviceAccount is forbidden when subject kind is not 'ServiceAccount'";

/// `ValidateFlowSchemaSubject`: the part the kind names, the others absent.
fn subject(s: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let (user, group, sa) = (set(s, "user"), set(s, "group"), set(s, "serviceAccount"));
    let forbid = |present: Option<&Value>, f: &str, detail: &str| {
        present.map(|_| field::forbidden(&child(at, f), detail))
    };
    let kind = s.get("kind").unwrap_or(&Value::Null);
    match kind.as_str().unwrap_or("") {
        "ServiceAccount" => {
            causes.extend(service_account_subject(sa, &child(at, "serviceAccount")));
            causes.extend(forbid(user, "user", USER_FORBIDDEN));
            causes.extend(forbid(group, "group", GROUP_FORBIDDEN));
        }
        "User" => {
            causes.extend(named_subject(user, &child(at, "user"), "user", "User"));
            causes.extend(forbid(sa, "serviceAccount", SERVICE_ACCOUNT_FORBIDDEN));
            causes.extend(forbid(group, "group", GROUP_FORBIDDEN));
        }
        "Group" => {
            causes.extend(named_subject(group, &child(at, "group"), "group", "Group"));
            causes.extend(forbid(sa, "serviceAccount", SERVICE_ACCOUNT_FORBIDDEN));
            causes.extend(forbid(user, "user", USER_FORBIDDEN));
        }
        other => causes.push(field::not_supported(
            &child(at, "kind"),
            &Value::String(other.to_owned()),
            &SUBJECT_KINDS,
        )),
    }
    causes
}

/// `ValidateServiceAccountSubject`.
fn service_account_subject(sa: Option<&Value>, at: &str) -> Vec<Cause> {
    let Some(sa) = sa else {
        return vec![field::required(
            at,
            "serviceAccount is required when subject kind is 'ServiceAccount'",
        )];
    };
    let mut causes = Vec::new();
    let name = str_of(sa, "name");
    if name.is_empty() {
        causes.push(field::required(&child(at, "name"), ""));
    } else if name != "*" {
        causes.extend(field::each(
            &child(at, "name"),
            name,
            field::dns1123_subdomain(name),
        ));
    }
    let namespace = str_of(sa, "namespace");
    if namespace.is_empty() {
        causes.push(field::required(
            &child(at, "namespace"),
            "must specify namespace for service account",
        ));
    } else {
        causes.extend(field::each(
            &child(at, "namespace"),
            namespace,
            field::dns1123_label(namespace),
        ));
    }
    causes
}

/// `ValidateUserSubject` / `ValidateGroupSubject`.
fn named_subject(s: Option<&Value>, at: &str, what: &str, kind: &str) -> Vec<Cause> {
    match s {
        None => vec![field::required(
            at,
            &format!("{what} is required when subject kind is '{kind}'"),
        )],
        Some(s) if str_of(s, "name").is_empty() => vec![field::required(&child(at, "name"), "")],
        Some(_) => Vec::new(),
    }
}

/// The verbs of a rule: required, `*` alone, or supported ones.
fn verbs(rule: &Value, at: &str) -> Option<Cause> {
    let verbs = arr_of(rule, "verbs");
    let at = child(at, "verbs");
    if verbs.is_empty() {
        return Some(field::required(
            &at,
            "verbs must contain at least one value",
        ));
    }
    if has_wildcard(verbs) {
        return (verbs.len() > 1).then(|| {
            field::invalid(
                &at,
                &Value::Array(verbs.to_vec()),
                "if '*' is present, must not specify other verbs",
            )
        });
    }
    let supported = verbs
        .iter()
        .all(|v| v.as_str().is_some_and(|v| VERBS.contains(&v)));
    (!supported).then(|| field::not_supported(&at, &Value::Array(verbs.to_vec()), &VERBS))
}

/// A list that must not be empty, with `*` only alone (`what` names its members).
fn wildcard_list(rule: &Value, f: &str, at: &str, required: &str, what: &str) -> Option<Cause> {
    let items = arr_of(rule, f);
    let at = child(at, f);
    if items.is_empty() {
        return Some(field::required(&at, required));
    }
    (items.len() > 1 && has_wildcard(items)).then(|| {
        field::invalid(
            &at,
            &Value::Array(items.to_vec()),
            &format!("if '*' is present, must not specify other {what}"),
        )
    })
}

/// `ValidateFlowSchemaNonResourcePolicyRule`.
fn non_resource_rule(rule: &Value, at: &str) -> Vec<Cause> {
    let mut causes: Vec<Cause> = verbs(rule, at).into_iter().collect();
    let urls = arr_of(rule, "nonResourceURLs");
    let urls_at = child(at, "nonResourceURLs");
    if urls.is_empty() || has_wildcard(urls) {
        causes.extend(wildcard_list(
            rule,
            "nonResourceURLs",
            at,
            "nonResourceURLs must contain at least one value",
            "non-resource URLs",
        ));
        return causes;
    }
    for (i, u) in urls.iter().enumerate() {
        let u = u.as_str().unwrap_or("");
        if let Some(detail) = non_resource_url_problem(u) {
            causes.push(field::invalid_str(&index(&urls_at, i), u, detail));
        }
    }
    causes
}

/// `ValidateNonResourceURLPath`: why `path` is not a non-resource URL path, if it is not.
fn non_resource_url_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("must not be empty");
    }
    if path == "/" {
        return None;
    }
    if !path.starts_with('/') {
        return Some("must start with slash");
    }
    if path.contains(' ') {
        return Some("must not contain white-space");
    }
    if path.contains("//") {
        return Some("must not contain double slash");
    }
    let wildcards = path.matches('*').count();
    if wildcards > 1 || (wildcards == 1 && !path.ends_with("/*")) {
        return Some("wildcard can only do suffix matching");
    }
    None
}

/// `ValidateFlowSchemaResourcePolicyRule`.
fn resource_rule(rule: &Value, at: &str) -> Vec<Cause> {
    let mut causes: Vec<Cause> = verbs(rule, at).into_iter().collect();
    causes.extend(wildcard_list(
        rule,
        "apiGroups",
        at,
        "resource rules must supply at least one api group",
        "api groups",
    ));
    causes.extend(wildcard_list(
        rule,
        "resources",
        at,
        "resource rules must supply at least one resource",
        "resources",
    ));
    let namespaces = arr_of(rule, "namespaces");
    let ns_at = child(at, "namespaces");
    let cluster_scope = rule.get("clusterScope") == Some(&Value::Bool(true));
    if namespaces.is_empty() && !cluster_scope {
        causes.push(field::required(
            &ns_at,
            "resource rules that are not cluster scoped must supply at least one namespace",
        ));
    } else if has_wildcard(namespaces) {
        if namespaces.len() > 1 {
            causes.push(field::invalid(
                &ns_at,
                &Value::Array(namespaces.to_vec()),
                "if '*' is present, must not specify other namespaces",
            ));
        }
    } else {
        for (i, ns) in namespaces.iter().enumerate() {
            let ns = ns.as_str().unwrap_or("");
            for m in field::dns1123_label(ns) {
                causes.push(field::invalid_str(
                    &index(&ns_at, i),
                    ns,
                    &format!("{NS_ERR_INTRO}{m}"),
                ));
            }
        }
    }
    causes
}

/// `ValidateFlowSchemaStatus` / `ValidatePriorityLevelConfigurationStatus` (the two are alike):
/// condition types unique and set. Also the whole of their `/status` update rules.
pub fn validate_status(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let conditions = obj
        .get("status")
        .map_or(&[][..], |s| arr_of(s, "conditions"));
    for (i, c) in conditions.iter().enumerate() {
        let at = index("status.conditions", i);
        let ty = str_of(c, "type");
        if seen.contains(&ty) {
            causes.push(field::duplicate(
                &child(&at, "type"),
                &Value::String(ty.to_owned()),
            ));
        }
        seen.push(ty);
        if ty.is_empty() {
            causes.push(field::required(&child(&at, "type"), "must not be empty"));
        }
    }
    causes
}

/// `ValidatePriorityLevelConfiguration` without ObjectMeta (and so its `...Update`).
pub fn validate_priority_level(obj: &Value) -> Vec<Cause> {
    let name = name_of(obj);
    let spec = spec(obj);
    let mut causes = priority_level_spec(name, spec);
    causes.extend(mandatory_priority_level_check(name, spec));
    causes.extend(validate_status(obj));
    causes
}

/// `ValidateIfMandatoryPriorityLevelConfigurationObject`: the mandatory levels' specs are fixed,
/// but for the `exempt` level's `spec.exempt`, which an administrator may change.
fn mandatory_priority_level_check(name: &str, spec: &Value) -> Option<Cause> {
    let fixed = mandatory_priority_level(name)?;
    let without_exempt = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("exempt");
        }
        v
    };
    let (same, detail) = if name == EXEMPT {
        (
            semantic_eq(&without_exempt(spec), &without_exempt(&fixed)),
            format!("spec of '{name}' except the 'spec.exempt' field must equal the fixed value"),
        )
    } else {
        (
            semantic_eq(spec, &fixed),
            format!("spec of '{name}' must equal the fixed value"),
        )
    };
    (!same).then(|| invalid_go("spec", &PRIORITY_LEVEL_SPEC.marshal(spec), &detail))
}

/// `ValidatePriorityLevelConfigurationSpec`.
fn priority_level_spec(name: &str, spec: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let ty = str_of(spec, "type");
    let ty_value = Value::String(ty.to_owned());
    if (name == EXEMPT) != (ty == "Exempt") {
        causes.push(field::invalid(
            "spec.type",
            &ty_value,
            "type must be 'Exempt' if and only if name is 'exempt'",
        ));
    }
    let (limited, exempt) = (set(spec, "limited"), set(spec, "exempt"));
    match ty {
        "Exempt" => {
            if limited.is_some() {
                causes.push(field::forbidden(
                    "spec.limited",
                    "must be nil if the type is not Limited",
                ));
            }
            if let Some(e) = exempt {
                causes.extend(exempt_config(e));
            }
        }
        "Limited" => {
            if exempt.is_some() {
                causes.push(field::forbidden(
                    "spec.exempt",
                    "must be nil if the type is Limited",
                ));
            }
            match limited {
                None => causes.push(field::required(
                    "spec.limited",
                    "must not be empty when type is Limited",
                )),
                Some(l) => causes.extend(limited_config(l)),
            }
        }
        _ => causes.push(field::not_supported(
            "spec.type",
            &ty_value,
            &PRIORITY_LEVEL_TYPES,
        )),
    }
    causes
}

/// The value of an int field for a bad value (its zero when unset).
fn shown(v: &Value, f: &str) -> Value {
    v.get(f)
        .filter(|v| v.is_number())
        .cloned()
        .unwrap_or_else(|| 0.into())
}

/// `lendablePercent` in [0, 100] when set.
fn lendable_percent(v: &Value, at: &str) -> Option<Cause> {
    let p = set(v, "lendablePercent")?;
    (!p.as_i64().is_some_and(|p| (0..=100).contains(&p))).then(|| {
        field::invalid(
            &child(at, "lendablePercent"),
            p,
            "must be between 0 and 100, inclusive",
        )
    })
}

/// `ValidateLimitedPriorityLevelConfiguration` (zero shares not allowed).
fn limited_config(l: &Value) -> Vec<Cause> {
    let at = "spec.limited";
    let mut causes = Vec::new();
    if int_of(l, "nominalConcurrencyShares") <= 0 {
        causes.push(field::invalid(
            &child(at, "nominalConcurrencyShares"),
            &shown(l, "nominalConcurrencyShares"),
            "must be positive",
        ));
    }
    let null = Value::Null;
    causes.extend(limit_response(
        l.get("limitResponse").unwrap_or(&null),
        &child(at, "limitResponse"),
    ));
    causes.extend(lendable_percent(l, at));
    if let Some(b) = set(l, "borrowingLimitPercent")
        && b.as_i64().is_some_and(|b| b < 0)
    {
        causes.push(field::invalid(
            &child(at, "borrowingLimitPercent"),
            b,
            "if specified, must be a non-negative integer",
        ));
    }
    causes
}

/// `ValidateExemptPriorityLevelConfiguration`.
fn exempt_config(e: &Value) -> Vec<Cause> {
    let at = "spec.exempt";
    let mut causes = Vec::new();
    if let Some(n) = set(e, "nominalConcurrencyShares")
        && n.as_i64().is_some_and(|n| n < 0)
    {
        causes.push(field::invalid(
            &child(at, "nominalConcurrencyShares"),
            n,
            "must be a non-negative integer",
        ));
    }
    causes.extend(lendable_percent(e, at));
    causes
}

/// `ValidateLimitResponse`.
fn limit_response(lr: &Value, at: &str) -> Vec<Cause> {
    let queuing = set(lr, "queuing");
    let ty = str_of(lr, "type");
    match ty {
        "Reject" => queuing
            .map(|_| {
                field::forbidden(
                    &child(at, "queuing"),
                    "must be nil if limited.limitResponse.type is not Limited",
                )
            })
            .into_iter()
            .collect(),
        "Queue" => match queuing {
            None => vec![field::required(
                &child(at, "queuing"),
                "must not be empty if limited.limitResponse.type is Limited",
            )],
            Some(q) => queuing_config(q, &child(at, "queuing")),
        },
        _ => vec![field::not_supported(
            &child(at, "type"),
            &Value::String(ty.to_owned()),
            &LIMIT_RESPONSE_TYPES,
        )],
    }
}

/// `shufflesharding.RequiredEntropyBits`.
fn required_entropy_bits(deck: i64, hand: i64) -> f64 {
    (hand as f64 * (deck as f64).log2()).ceil()
}

/// `ValidatePriorityLevelQueuingConfiguration`.
fn queuing_config(q: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if int_of(q, "queueLengthLimit") <= 0 {
        causes.push(field::invalid(
            &child(at, "queueLengthLimit"),
            &shown(q, "queueLengthLimit"),
            "must be positive",
        ));
    }
    let queues = int_of(q, "queues");
    let queues_at = child(at, "queues");
    if queues <= 0 {
        causes.push(field::invalid(
            &queues_at,
            &shown(q, "queues"),
            "must be positive",
        ));
    } else if queues > MAX_QUEUES {
        causes.push(field::invalid(
            &queues_at,
            &shown(q, "queues"),
            &format!("must not be greater than {MAX_QUEUES}"),
        ));
    }
    let hand = int_of(q, "handSize");
    let hand_at = child(at, "handSize");
    let hand_shown = shown(q, "handSize");
    if hand <= 0 {
        causes.push(field::invalid(&hand_at, &hand_shown, "must be positive"));
    } else if hand > queues {
        causes.push(field::invalid(
            &hand_at,
            &hand_shown,
            &format!("should not be greater than queues ({queues})"),
        ));
    } else if required_entropy_bits(queues, hand) > MAX_HASH_BITS {
        causes.push(field::invalid(
            &hand_at,
            &hand_shown,
            &format!(
                "required entropy bits of deckSize {queues} and handSize {hand} should not be greater than {MAX_HASH_BITS}"
            ),
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validation::test_support::messages;

    fn fs(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": spec})
    }

    fn good_rules() -> Value {
        json!([{"subjects": [{"kind": "User", "user": {"name": "alice"}}],
            "resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                "namespaces": ["default"]}]}])
    }

    #[test]
    fn a_valid_flow_schema_passes() {
        let obj = fs(
            "mine",
            json!({"priorityLevelConfiguration": {"name": "global-default"},
                "matchingPrecedence": 500, "distinguisherMethod": {"type": "ByUser"},
                "rules": good_rules()}),
        );
        assert!(
            validate_flow_schema(&obj).is_empty(),
            "{:?}",
            validate_flow_schema(&obj)
        );
    }

    #[test]
    fn flow_schema_spec_rules_in_kubes_order() {
        let obj = fs(
            "mine",
            json!({"matchingPrecedence": 1, "distinguisherMethod": {"type": "ByPod"},
            "rules": [
                {"subjects": [
                    {"kind": "ServiceAccount", "user": {"name": "u"}},
                    {"kind": "Robot"},
                    {"kind": "Group", "group": {"name": ""}, "serviceAccount": {"name": "x", "namespace": "y"}},
                    {"kind": "ServiceAccount", "serviceAccount": {"name": "Bad_", "namespace": ""}}],
                 "resourceRules": [{"verbs": ["get", "fly"], "apiGroups": ["*", "apps"],
                    "resources": [], "namespaces": ["Ns"]}],
                 "nonResourceRules": [{"verbs": ["*", "get"], "nonResourceURLs": ["healthz", "/a b", "/x//y", "/a*", "/ok/*"]}]},
                {"subjects": []}
            ]}),
        );
        let m = messages(&validate_flow_schema(&obj));
        let expected = vec![
            "spec.matchingPrecedence: Invalid value: 1: only the schema named 'exempt' may have matchingPrecedence 1",
            "spec.distinguisherMethod.type: Unsupported value: {\"Type\":\"ByPod\"}: supported values: \"ByNamespace\", \"ByUser\"",
            "spec.priorityLevelConfiguration.name: Required value: must reference a priority level",
            "spec.rules[0].subjects[0].serviceAccount: Required value: serviceAccount is required when subject kind is 'ServiceAccount'",
            "spec.rules[0].subjects[0].user: Forbidden: user is forbidden when subject kind is not 'User'",
            "spec.rules[0].subjects[1].kind: Unsupported value: \"Robot\": supported values: \"Group\", \"ServiceAccount\", \"User\"",
            "spec.rules[0].subjects[2].group.name: Required value",
            "spec.rules[0].subjects[2].serviceAccount: Forbidden: serviceAccount is forbidden when subject kind is not 'ServiceAccount'",
            "spec.rules[0].subjects[3].serviceAccount.name: Invalid value: \"Bad_\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.rules[0].subjects[3].serviceAccount.namespace: Required value: must specify namespace for service account",
            "spec.rules[0].resourceRules[0].verbs: Unsupported value: [\"get\",\"fly\"]: supported values: \"create\", \"delete\", \"deletecollection\", \"get\", \"list\", \"patch\", \"proxy\", \"update\", \"watch\"",
            "spec.rules[0].resourceRules[0].apiGroups: Invalid value: [\"*\",\"apps\"]: if '*' is present, must not specify other api groups",
            "spec.rules[0].resourceRules[0].resources: Required value: resource rules must supply at least one resource",
            "spec.rules[0].resourceRules[0].namespaces[0]: Invalid value: \"Ns\": each member of this list must be '*' or a DNS-1123 label; a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            "spec.rules[0].nonResourceRules[0].verbs: Invalid value: [\"*\",\"get\"]: if '*' is present, must not specify other verbs",
            "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value: \"healthz\": must start with slash",
            "spec.rules[0].nonResourceRules[0].nonResourceURLs[1]: Invalid value: \"/a b\": must not contain white-space",
            "spec.rules[0].nonResourceRules[0].nonResourceURLs[2]: Invalid value: \"/x//y\": must not contain double slash",
            "spec.rules[0].nonResourceRules[0].nonResourceURLs[3]: Invalid value: \"/a*\": wildcard can only do suffix matching",
            "spec.rules[1].subjects: Required value: subjects must contain at least one value",
            "spec.rules[1]: Required value: at least one of resourceRules and nonResourceRules has to be non-empty",
        ];
        assert_eq!(m, expected);
        let obj = fs(
            "x",
            json!({"matchingPrecedence": 10001, "priorityLevelConfiguration": {"name": "a_b"}}),
        );
        assert_eq!(
            messages(&validate_flow_schema(&obj))[..1],
            ["spec.matchingPrecedence: Invalid value: 10001: must not be greater than 10000"]
        );
    }

    #[test]
    fn mandatory_flow_schemas_have_the_bootstrap_spec() {
        let exempt = fs(
            "exempt",
            json!({"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 1,
                "rules": [{"subjects": [{"kind": "Group", "group": {"name": "system:masters"}}],
                    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                        "clusterScope": true, "namespaces": ["*"]}],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}),
        );
        assert!(validate_flow_schema(&exempt).is_empty());
        let mut changed = exempt.clone();
        changed["spec"]["rules"][0]["subjects"][0]["group"]["name"] = "admins".into();
        assert_eq!(
            messages(&validate_flow_schema(&changed)),
            vec![
                "spec: Invalid value: {\"PriorityLevelConfiguration\":{\"Name\":\"exempt\"},\"MatchingPrecedence\":1,\"DistinguisherMethod\":null,\"Rules\":[{\"Subjects\":[{\"Kind\":\"Group\",\"User\":null,\"Group\":{\"Name\":\"admins\"},\"ServiceAccount\":null}],\"ResourceRules\":[{\"Verbs\":[\"*\"],\"APIGroups\":[\"*\"],\"Resources\":[\"*\"],\"ClusterScope\":true,\"Namespaces\":[\"*\"]}],\"NonResourceRules\":[{\"Verbs\":[\"*\"],\"NonResourceURLs\":[\"*\"]}]}]}: spec of 'exempt' must equal the fixed value"
            ]
        );
        let catch_all = fs(
            "catch-all",
            json!({"priorityLevelConfiguration": {"name": "catch-all"}, "matchingPrecedence": 10000,
                "distinguisherMethod": {"type": "ByUser"},
                "rules": [{"subjects": [{"kind": "Group", "group": {"name": "system:unauthenticated"}},
                        {"kind": "Group", "group": {"name": "system:authenticated"}}],
                    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                        "clusterScope": true, "namespaces": ["*"]}],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}),
        );
        assert!(validate_flow_schema(&catch_all).is_empty());
    }

    fn plc(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": spec})
    }

    #[test]
    fn priority_levels() {
        let good = plc(
            "mine",
            json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 30, "lendablePercent": 0,
                "limitResponse": {"type": "Queue", "queuing": {"queues": 64, "handSize": 8, "queueLengthLimit": 50}}}}),
        );
        assert!(validate_priority_level(&good).is_empty());
        let bad = plc(
            "mine",
            json!({"type": "Exempt", "limited": {}, "exempt": {"nominalConcurrencyShares": -1, "lendablePercent": 101}}),
        );
        assert_eq!(
            messages(&validate_priority_level(&bad)),
            vec![
                "spec.type: Invalid value: \"Exempt\": type must be 'Exempt' if and only if name is 'exempt'",
                "spec.limited: Forbidden: must be nil if the type is not Limited",
                "spec.exempt.nominalConcurrencyShares: Invalid value: -1: must be a non-negative integer",
                "spec.exempt.lendablePercent: Invalid value: 101: must be between 0 and 100, inclusive",
            ]
        );
        let bad = plc(
            "mine",
            json!({"type": "Limited", "exempt": {}, "limited": {"nominalConcurrencyShares": 0,
                "lendablePercent": -1, "borrowingLimitPercent": -2,
                "limitResponse": {"type": "Queue", "queuing": {"queues": 10000001, "handSize": 20, "queueLengthLimit": 0}}}}),
        );
        assert_eq!(
            messages(&validate_priority_level(&bad)),
            vec![
                "spec.exempt: Forbidden: must be nil if the type is Limited",
                "spec.limited.nominalConcurrencyShares: Invalid value: 0: must be positive",
                "spec.limited.limitResponse.queuing.queueLengthLimit: Invalid value: 0: must be positive",
                "spec.limited.limitResponse.queuing.queues: Invalid value: 10000001: must not be greater than 10000000",
                "spec.limited.limitResponse.queuing.handSize: Invalid value: 20: required entropy bits of deckSize 10000001 and handSize 20 should not be greater than 60",
                "spec.limited.lendablePercent: Invalid value: -1: must be between 0 and 100, inclusive",
                "spec.limited.borrowingLimitPercent: Invalid value: -2: if specified, must be a non-negative integer",
            ]
        );
        let bad = plc(
            "mine",
            json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 1,
            "limitResponse": {"type": "Reject", "queuing": {}}}}),
        );
        assert_eq!(
            messages(&validate_priority_level(&bad)),
            vec![
                "spec.limited.limitResponse.queuing: Forbidden: must be nil if limited.limitResponse.type is not Limited"
            ]
        );
        let bad = plc(
            "mine",
            json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 1,
            "limitResponse": {"type": "Queue", "queuing": {"queues": 4, "handSize": 5, "queueLengthLimit": 1}}}}),
        );
        assert_eq!(
            messages(&validate_priority_level(&bad)),
            vec![
                "spec.limited.limitResponse.queuing.handSize: Invalid value: 5: should not be greater than queues (4)"
            ]
        );
        assert_eq!(
            messages(&validate_priority_level(&plc(
                "mine",
                json!({"type": "Other"})
            ))),
            vec![
                "spec.type: Unsupported value: \"Other\": supported values: \"Exempt\", \"Limited\""
            ]
        );
        assert_eq!(
            messages(&validate_priority_level(&plc(
                "mine",
                json!({"type": "Limited"})
            ))),
            vec!["spec.limited: Required value: must not be empty when type is Limited"]
        );
    }

    #[test]
    fn mandatory_priority_levels() {
        // The exempt level's `spec.exempt` may change; nothing else may.
        let exempt = plc(
            "exempt",
            json!({"type": "Exempt", "exempt": {"nominalConcurrencyShares": 10, "lendablePercent": 0}}),
        );
        assert!(validate_priority_level(&exempt).is_empty());
        let catch_all = plc(
            "catch-all",
            json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 5, "lendablePercent": 0,
                "limitResponse": {"type": "Reject"}}}),
        );
        assert!(validate_priority_level(&catch_all).is_empty());
        let mut changed = catch_all.clone();
        changed["spec"]["limited"]["nominalConcurrencyShares"] = 6.into();
        assert_eq!(
            messages(&validate_priority_level(&changed)),
            vec![
                "spec: Invalid value: {\"Type\":\"Limited\",\"Limited\":{\"NominalConcurrencyShares\":6,\"LimitResponse\":{\"Type\":\"Reject\",\"Queuing\":null},\"LendablePercent\":0,\"BorrowingLimitPercent\":null},\"Exempt\":null}: spec of 'catch-all' must equal the fixed value"
            ]
        );
        let mut limited_exempt = plc(
            "exempt",
            json!({"type": "Exempt", "limited": {"nominalConcurrencyShares": 1}}),
        );
        limited_exempt["spec"]["exempt"] = json!({});
        let m = messages(&validate_priority_level(&limited_exempt));
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[1].ends_with(
            "spec of 'exempt' except the 'spec.exempt' field must equal the fixed value"
        ));
    }

    #[test]
    fn status_conditions() {
        let obj = json!({"status": {"conditions": [{"type": "Dangling"}, {"type": ""}, {"type": "Dangling"}]}});
        assert_eq!(
            messages(&validate_status(&obj)),
            vec![
                "status.conditions[1].type: Required value: must not be empty",
                "status.conditions[2].type: Duplicate value: \"Dangling\"",
            ]
        );
    }

    #[test]
    fn odd_json_is_tolerated() {
        for v in [
            Value::Null,
            json!(1),
            json!({"spec": 1, "status": []}),
            json!({"metadata": {"name": "exempt"}, "spec": {"rules": [1, {"subjects": [null, 2]}],
                "distinguisherMethod": 3, "priorityLevelConfiguration": 4, "matchingPrecedence": "x"}}),
            json!({"metadata": {"name": "catch-all"}, "spec": {"type": "Limited", "limited": {"limitResponse": 5,
                "nominalConcurrencyShares": "x", "lendablePercent": "y"}}, "status": {"conditions": [null]}}),
            json!({"spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": []}}}}),
        ] {
            validate_flow_schema(&v);
            validate_priority_level(&v);
            validate_status(&v);
        }
    }
}
