//! Validates the admissionregistration.k8s.io webhook configurations as kube's
//! `pkg/apis/admissionregistration/validation` does for v1 objects: webhook names (fully
//! qualified, unique), rules (operations, groups, versions, resources and subresources, scope),
//! policies, side effects, timeouts, selectors, the client config (a URL or a service), match
//! conditions' names and expressions (present, not compiled) and the admission review versions.
//!
//! ValidatingAdmissionPolicy and its binding get kube's structural rules: failure policy,
//! parameter kind, match constraints and resource rules, match conditions', variables' and
//! validations' required parts, audit annotation keys, the binding's policy name, parameter
//! reference and validation actions.
//!
//! MutatingAdmissionPolicy and its binding (`ValidateMutatingAdmissionPolicy`, `...Update`,
//! `ValidateMutatingAdmissionPolicyBinding`) share those pieces (failure policy, parameter kind,
//! match constraints, match conditions, variables, parameter reference) and add theirs: no
//! DELETE in the resource rules, at least one mutation, each with a supported patch type and
//! exactly the patch it names (its expression present), and the reinvocation policy required.
//! An update that keeps the policy's parameter kind and match conditions does not check the
//! match conditions again (`ignoreMutatingAdmissionPolicyMatchConditions`).
//!
//! Not modelled: compiling and type-checking CEL expressions (match conditions, variables,
//! validations, message and audit expressions, mutations' patch expressions).

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use super::selector;
use crate::status::Cause;

/// Rule operations, sorted as kube lists them.
pub const OPERATIONS: [&str; 5] = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
/// Rule scopes, sorted as kube lists them.
pub const SCOPES: [&str; 3] = ["*", "Cluster", "Namespaced"];
/// Webhook failure policies, sorted as kube lists them.
pub const FAILURE_POLICIES: [&str; 2] = ["Fail", "Ignore"];
/// Webhook match policies, sorted as kube lists them.
pub const MATCH_POLICIES: [&str; 2] = ["Equivalent", "Exact"];
/// The side-effect classes a v1 webhook may declare, sorted as kube lists them.
pub const SIDE_EFFECTS: [&str; 2] = ["None", "NoneOnDryRun"];
/// Mutating webhook reinvocation policies, sorted as kube lists them.
pub const REINVOCATION_POLICIES: [&str; 2] = ["IfNeeded", "Never"];
/// The AdmissionReview versions kube-apiserver can send, in kube's order.
const ADMISSION_REVIEW_VERSIONS: [&str; 2] = ["v1", "v1beta1"];
/// A webhook or policy has at most this many match conditions.
const MAX_MATCH_CONDITIONS: usize = 64;
/// A webhook's timeout is between 1 and 30 seconds.
const MAX_TIMEOUT_SECONDS: i64 = 30;
/// `IsFullyQualifiedName`: a webhook name has at least three dot-separated segments.
const MIN_NAME_SEGMENTS: usize = 3;
/// Appended to kube's URL errors.
const URL_FORM: &str = "; desired format: https://host[/path]";

/// A field that is present and not null.
fn set<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|v| !v.is_null())
}

/// A string slice as a bad value prints: Go's `json.Marshal` of it (`["a","b"]`), as
/// `field.Error.ErrorBody` renders every composite value since 1.34.
fn go_list(items: &[Value]) -> String {
    field::go_json(&Value::Array(items.to_vec()))
}

fn has_wildcard(items: &[Value]) -> bool {
    items.iter().any(|v| v.as_str() == Some("*"))
}

/// `utilvalidation.IsFullyQualifiedName`.
fn fully_qualified_name(name: &str, path: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![field::required(path, "")];
    }
    let errs = field::dns1123_subdomain(name);
    if !errs.is_empty() {
        return vec![field::invalid_str(path, name, &errs.join(","))];
    }
    if name.split('.').count() < MIN_NAME_SEGMENTS {
        return vec![field::invalid_str(
            path,
            name,
            "should be a domain with at least three segments separated by dots",
        )];
    }
    Vec::new()
}

/// `validateResources` (subresources allowed).
fn resources(items: &[Value], path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if items.is_empty() {
        causes.push(field::required(path, ""));
    }
    let mut wildcard_sub = std::collections::HashSet::new();
    let mut wildcard_res = std::collections::HashSet::new();
    let (mut double, mut single, mut plain) = (false, false, false);
    for (i, r) in items.iter().enumerate() {
        let r = r.as_str().unwrap_or_default();
        let at = index(path, i);
        if r.is_empty() {
            causes.push(field::required(&at, ""));
            continue;
        }
        double |= r == "*/*";
        single |= r == "*";
        let Some((res, sub)) = r.split_once('/') else {
            // kube remembers only the last resource without a subresource.
            plain = r != "*";
            continue;
        };
        if wildcard_sub.contains(res) {
            causes.push(field::invalid_str(
                &at,
                r,
                &format!("if '{res}/*' is present, must not specify {r}"),
            ));
        }
        if wildcard_res.contains(sub) {
            causes.push(field::invalid_str(
                &at,
                r,
                &format!("if '*/{sub}' is present, must not specify {r}"),
            ));
        }
        if sub == "*" {
            wildcard_sub.insert(res);
        }
        if res == "*" {
            wildcard_res.insert(sub);
        }
    }
    if items.len() > 1 && double {
        causes.push(selector::invalid_go(
            path,
            &go_list(items),
            "if '*/*' is present, must not specify other resources",
        ));
    }
    if single && plain {
        causes.push(selector::invalid_go(
            path,
            &go_list(items),
            "if '*' is present, must not specify other resources without subresources",
        ));
    }
    causes
}

/// `validateRuleWithOperations`.
fn rule_with_operations(rule: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let ops = arr_of(rule, "operations");
    let ops_at = child(at, "operations");
    if ops.is_empty() {
        causes.push(field::required(&ops_at, ""));
    }
    if ops.len() > 1 && has_wildcard(ops) {
        causes.push(selector::invalid_go(
            &ops_at,
            &go_list(ops),
            "if '*' is present, must not specify other operations",
        ));
    }
    for (i, op) in ops.iter().enumerate() {
        if !op.as_str().is_some_and(|s| OPERATIONS.contains(&s)) {
            causes.push(field::not_supported(&index(&ops_at, i), op, &OPERATIONS));
        }
    }
    for (f, what) in [("apiGroups", "API groups"), ("apiVersions", "API versions")] {
        let items = arr_of(rule, f);
        let f_at = child(at, f);
        if items.is_empty() {
            causes.push(field::required(&f_at, ""));
        }
        if items.len() > 1 && has_wildcard(items) {
            causes.push(selector::invalid_go(
                &f_at,
                &go_list(items),
                &format!("if '*' is present, must not specify other {what}"),
            ));
        }
        if f == "apiVersions" {
            for (i, v) in items.iter().enumerate() {
                if v.as_str().is_none_or(str::is_empty) {
                    causes.push(field::required(&index(&f_at, i), ""));
                }
            }
        }
    }
    causes.extend(resources(
        arr_of(rule, "resources"),
        &child(at, "resources"),
    ));
    if let Some(scope) = set(rule, "scope")
        && !scope.as_str().is_some_and(|s| SCOPES.contains(&s))
    {
        causes.push(field::not_supported(&child(at, "scope"), scope, &SCOPES));
    }
    causes
}

/// `webhook.ValidateWebhookURL` with HTTPS required.
pub(crate) fn webhook_url(url: &str, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    if scheme != "https" {
        causes.push(field::invalid_str(
            path,
            scheme,
            &format!("'https' is the only allowed URL scheme{URL_FORM}"),
        ));
    }
    let (before_fragment, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (before_query, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    let authority = if scheme.is_empty() {
        ""
    } else {
        before_query.split('/').next().unwrap_or_default()
    };
    let (user, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() {
        causes.push(field::invalid_str(
            path,
            host,
            &format!("host must be specified{URL_FORM}"),
        ));
    }
    if let Some(user) = user {
        causes.push(field::invalid_str(
            path,
            user,
            "user information is not permitted in the URL",
        ));
    }
    if !fragment.is_empty() {
        causes.push(field::invalid_str(
            path,
            fragment,
            "fragments are not permitted in the URL",
        ));
    }
    if !query.is_empty() {
        causes.push(field::invalid_str(
            path,
            query,
            "query parameters are not permitted in the URL",
        ));
    }
    causes
}

/// `webhook.ValidateWebhookService`: name, namespace, port and path.
pub(crate) fn webhook_service(svc: &Value, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if str_of(svc, "name").is_empty() {
        causes.push(field::required(
            &child(path, "name"),
            "service name is required",
        ));
    }
    if str_of(svc, "namespace").is_empty() {
        causes.push(field::required(
            &child(path, "namespace"),
            "service namespace is required",
        ));
    }
    if let Some(port) = set(svc, "port")
        && !port.as_i64().is_some_and(|p| (1..=65535).contains(&p))
    {
        causes.push(field::invalid(
            &child(path, "port"),
            port,
            "port is not valid: must be between 1 and 65535, inclusive",
        ));
    }
    let p = str_of(svc, "path");
    if p.is_empty() || p == "/" {
        return causes;
    }
    let path_at = child(path, "path");
    if p == "//" {
        causes.push(field::invalid_str(
            &path_at,
            p,
            "segment[0] may not be empty",
        ));
        return causes;
    }
    if !p.starts_with('/') {
        causes.push(field::invalid_str(&path_at, p, "must start with a '/'"));
    }
    // kube drops the first character (the '/' checked above) and one trailing '/'.
    let rest = p.get(1..).unwrap_or_default();
    let trimmed = rest.strip_suffix('/').unwrap_or(rest);
    for (i, segment) in trimmed.split('/').enumerate() {
        if segment.is_empty() {
            causes.push(field::invalid_str(
                &path_at,
                p,
                &format!("segment[{i}] may not be empty"),
            ));
            continue;
        }
        for m in field::dns1123_subdomain(segment) {
            causes.push(field::invalid_str(
                &path_at,
                p,
                &format!("segment[{i}]: {m}"),
            ));
        }
    }
    causes
}

/// `validateAdmissionReviewVersions` (v1 requires a recognized version).
fn admission_review_versions(versions: &[Value], path: &str) -> Vec<Cause> {
    if versions.is_empty() {
        return vec![field::required(
            path,
            &format!(
                "must specify one of {}",
                ADMISSION_REVIEW_VERSIONS.join(", ")
            ),
        )];
    }
    let mut causes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut recognized = false;
    for (i, v) in versions.iter().enumerate() {
        let v = v.as_str().unwrap_or_default();
        if !seen.insert(v) {
            causes.push(field::invalid_str(&index(path, i), v, "duplicate version"));
            continue;
        }
        causes.extend(field::each(&index(path, i), v, field::dns1035_label(v)));
        recognized |= ADMISSION_REVIEW_VERSIONS.contains(&v);
    }
    if !recognized {
        causes.push(selector::invalid_go(
            path,
            &go_list(versions),
            &format!(
                "must include at least one of {}",
                ADMISSION_REVIEW_VERSIONS.join(", ")
            ),
        ));
    }
    causes
}

/// One enumerated field of a webhook.
fn one_of(hook: &Value, f: &str, at: &str, allowed: &[&str]) -> Option<Cause> {
    let v = set(hook, f)?;
    (!v.as_str().is_some_and(|s| allowed.contains(&s)))
        .then(|| field::not_supported(&child(at, f), v, allowed))
}

/// `validateValidatingWebhook` / `validateMutatingWebhook` plus the admission review versions.
fn webhook(hook: &Value, at: &str, mutating: bool) -> Vec<Cause> {
    let mut causes = fully_qualified_name(str_of(hook, "name"), &child(at, "name"));
    for (i, r) in arr_of(hook, "rules").iter().enumerate() {
        causes.extend(rule_with_operations(r, &index(&child(at, "rules"), i)));
    }
    causes.extend(one_of(hook, "failurePolicy", at, &FAILURE_POLICIES));
    causes.extend(one_of(hook, "matchPolicy", at, &MATCH_POLICIES));
    match set(hook, "sideEffects") {
        None => causes.push(field::required(
            &child(at, "sideEffects"),
            &format!("must specify one of {}", SIDE_EFFECTS.join(", ")),
        )),
        Some(_) => causes.extend(one_of(hook, "sideEffects", at, &SIDE_EFFECTS)),
    }
    if let Some(t) = set(hook, "timeoutSeconds")
        && !t
            .as_i64()
            .is_some_and(|n| (1..=MAX_TIMEOUT_SECONDS).contains(&n))
    {
        causes.push(field::invalid(
            &child(at, "timeoutSeconds"),
            t,
            "the timeout value must be between 1 and 30 seconds",
        ));
    }
    for f in ["namespaceSelector", "objectSelector"] {
        if let Some(s) = set(hook, f) {
            causes.extend(selector::validate(s, &child(at, f)));
        }
    }
    if mutating {
        causes.extend(one_of(
            hook,
            "reinvocationPolicy",
            at,
            &REINVOCATION_POLICIES,
        ));
    }
    let null = Value::Null;
    let cc = hook.get("clientConfig").unwrap_or(&null);
    let cc_at = child(at, "clientConfig");
    match (set(cc, "url"), set(cc, "service")) {
        (Some(url), None) => causes.extend(webhook_url(
            url.as_str().unwrap_or_default(),
            &child(&cc_at, "url"),
        )),
        (None, Some(svc)) => causes.extend(webhook_service(svc, &child(&cc_at, "service"))),
        _ => causes.push(field::required(
            &cc_at,
            "exactly one of url or service is required",
        )),
    }
    causes.extend(match_conditions(
        arr_of(hook, "matchConditions"),
        &child(at, "matchConditions"),
    ));
    causes.extend(admission_review_versions(
        arr_of(hook, "admissionReviewVersions"),
        &child(at, "admissionReviewVersions"),
    ));
    causes
}

/// `ValidateValidatingWebhookConfiguration` / `ValidateMutatingWebhookConfiguration` for v1
/// (without ObjectMeta): every webhook, names unique. Updates are checked the same way.
pub fn validate_webhook_configuration(obj: &Value, mutating: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, hook) in arr_of(obj, "webhooks").iter().enumerate() {
        let at = index("webhooks", i);
        causes.extend(webhook(hook, &at, mutating));
        let name = str_of(hook, "name");
        if !name.is_empty() && !names.insert(name) {
            causes.push(field::duplicate(
                &child(&at, "name"),
                &Value::String(name.to_owned()),
            ));
        }
    }
    causes
}

/// Validation failure reasons a policy may name, sorted as kube lists them.
pub const VALIDATION_REASONS: [&str; 4] = [
    "Forbidden",
    "Invalid",
    "RequestEntityTooLarge",
    "Unauthorized",
];
/// A binding's validation actions, sorted as kube lists them.
pub const VALIDATION_ACTIONS: [&str; 3] = ["Audit", "Deny", "Warn"];
/// A binding's `paramRef.parameterNotFoundAction` values, in kube's order.
pub const PARAMETER_NOT_FOUND_ACTIONS: [&str; 2] = ["Deny", "Allow"];
/// `maxAuditAnnotations`.
const MAX_AUDIT_ANNOTATIONS: usize = 20;
/// `maxAuditAnnotationValueExpressionLength`: 5 KiB.
const MAX_AUDIT_VALUE_EXPRESSION_LEN: usize = 5 * 1024;

/// `validateNamedRuleWithOperations`: resource names, then the rule itself.
fn named_rule(rule: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, n) in arr_of(rule, "resourceNames").iter().enumerate() {
        let n = n.as_str().unwrap_or_default();
        let n_at = index(&child(at, "resourceNames"), i);
        causes.extend(field::each(&n_at, n, field::path_segment_name(n)));
        if !seen.insert(n) {
            causes.push(field::duplicate(&n_at, &Value::String(n.to_owned())));
        }
    }
    causes.extend(rule_with_operations(rule, at));
    causes
}

/// `validateMatchResources`.
fn match_resources(m: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    match set(m, "matchPolicy") {
        None => causes.push(field::required(&child(at, "matchPolicy"), "")),
        Some(_) => causes.extend(one_of(m, "matchPolicy", at, &MATCH_POLICIES)),
    }
    for f in ["namespaceSelector", "objectSelector"] {
        match set(m, f) {
            None => causes.push(field::required(&child(at, f), "")),
            Some(s) => causes.extend(selector::validate(s, &child(at, f))),
        }
    }
    for f in ["resourceRules", "excludeResourceRules"] {
        for (i, r) in arr_of(m, f).iter().enumerate() {
            causes.extend(named_rule(r, &index(&child(at, f), i)));
        }
    }
    causes
}

/// `validateParamKind`.
fn param_kind(kind: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let api_version = str_of(kind, "apiVersion");
    let av_at = child(at, "apiVersion");
    if api_version.is_empty() {
        causes.push(field::required(&av_at, ""));
    } else if api_version.matches('/').count() > 1 {
        causes.push(field::invalid_str(
            &av_at,
            api_version,
            &format!("unexpected GroupVersion string: {api_version}"),
        ));
    } else {
        let (group, version) = match api_version.split_once('/') {
            _ if api_version == "/" => ("", ""),
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        if !group.is_empty() {
            let errs = field::dns1123_subdomain(group);
            if !errs.is_empty() {
                causes.push(field::invalid_str(&av_at, group, &errs.join(",")));
            }
        }
        if version.is_empty() {
            causes.push(field::invalid_str(
                &av_at,
                api_version,
                "version must be specified",
            ));
        } else {
            let errs = field::dns1035_label(version);
            if !errs.is_empty() {
                causes.push(field::invalid_str(&av_at, version, &errs.join(",")));
            }
        }
    }
    let k = str_of(kind, "kind");
    if k.is_empty() {
        causes.push(field::required(&child(at, "kind"), ""));
    } else {
        let errs = field::dns1035_label(&k.to_lowercase());
        if !errs.is_empty() {
            causes.push(field::invalid_str(
                &child(at, "kind"),
                k,
                &format!(
                    "may have mixed case, but should otherwise match: {}",
                    errs.join(",")
                ),
            ));
        }
    }
    causes
}

/// `validateMatchConditions` without compiling the expressions: at most 64, each with an
/// expression and a unique qualified name.
fn match_conditions(conditions: &[Value], at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if conditions.len() > MAX_MATCH_CONDITIONS {
        causes.push(field::too_many(at, conditions.len(), MAX_MATCH_CONDITIONS));
    }
    let mut names = std::collections::HashSet::new();
    for (i, c) in conditions.iter().enumerate() {
        let c_at = index(at, i);
        if str_of(c, "expression").trim().is_empty() {
            causes.push(field::required(&child(&c_at, "expression"), ""));
        }
        let name = str_of(c, "name");
        if name.is_empty() {
            causes.push(field::required(&child(&c_at, "name"), ""));
        } else {
            causes.extend(field::each(
                &child(&c_at, "name"),
                name,
                field::qualified_name(name),
            ));
            if !names.insert(name) {
                causes.push(field::duplicate(
                    &child(&c_at, "name"),
                    &Value::String(name.to_owned()),
                ));
            }
        }
    }
    causes
}

/// `isCELIdentifier`.
fn is_cel_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !crd_schema::CEL_RESERVED.contains(&name)
}

/// `validateVariable` for each variable, without compiling the expressions.
fn variables(list: &[Value], path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let at = index(path, i);
        let name = str_of(v, "name");
        if name.trim().is_empty() {
            causes.push(field::required(
                &child(&at, "name"),
                "name is not specified",
            ));
        } else if !is_cel_identifier(name) {
            causes.push(field::invalid_str(
                &child(&at, "name"),
                name,
                "name is not a valid CEL identifier",
            ));
        }
        if str_of(v, "expression").trim().is_empty() {
            causes.push(field::required(
                &child(&at, "expression"),
                "expression is not specified",
            ));
        }
    }
    causes
}

/// `validateValidation` without compiling the expressions.
fn validation(v: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if str_of(v, "expression").trim().is_empty() {
        causes.push(field::required(
            &child(at, "expression"),
            "expression is not specified",
        ));
    }
    let message_expression = str_of(v, "messageExpression");
    if !message_expression.is_empty() && message_expression.trim().is_empty() {
        causes.push(field::invalid_str(
            &child(at, "messageExpression"),
            message_expression,
            "must be non-empty if specified",
        ));
    }
    let message = str_of(v, "message");
    if !message.is_empty() && message.trim().is_empty() {
        causes.push(field::invalid_str(
            &child(at, "message"),
            message,
            "message must be non-empty if specified",
        ));
    } else if message.trim().contains(['\n', '\r']) {
        causes.push(field::invalid_str(
            &child(at, "message"),
            message,
            "message must not contain line breaks",
        ));
    }
    if let Some(reason) = set(v, "reason")
        && !reason
            .as_str()
            .is_some_and(|r| VALIDATION_REASONS.contains(&r))
    {
        causes.push(field::not_supported(
            &child(at, "reason"),
            reason,
            &VALIDATION_REASONS,
        ));
    }
    causes
}

/// `validateAuditAnnotation` without compiling the value expression.
fn audit_annotation(policy_name: &str, a: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let key = str_of(a, "key");
    if policy_name.is_empty() {
        causes.push(field::invalid_str(
            &child(at, "key"),
            key,
            "requires metadata.name be non-empty",
        ));
    } else {
        let qualified = format!("{policy_name}/{key}");
        causes.extend(field::each(
            &child(at, "key"),
            &qualified,
            field::qualified_name(&qualified),
        ));
    }
    let expression = str_of(a, "valueExpression").trim();
    if expression.is_empty() {
        causes.push(field::required(
            &child(at, "valueExpression"),
            "valueExpression is not specified",
        ));
    } else if expression.len() > MAX_AUDIT_VALUE_EXPRESSION_LEN {
        causes.push(field::required(
            &child(at, "valueExpression"),
            &format!("must not exceed {MAX_AUDIT_VALUE_EXPRESSION_LEN} bytes in length"),
        ));
    }
    causes
}

/// `validateValidatingAdmissionPolicySpec`'s structural rules (without ObjectMeta); updates
/// are checked the same way.
pub fn validate_admission_policy(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    match set(spec, "failurePolicy") {
        None => causes.push(field::required("spec.failurePolicy", "")),
        Some(_) => causes.extend(one_of(spec, "failurePolicy", "spec", &FAILURE_POLICIES)),
    }
    if let Some(kind) = set(spec, "paramKind") {
        causes.extend(param_kind(kind, "spec.paramKind"));
    }
    match set(spec, "matchConstraints") {
        None => causes.push(field::required("spec.matchConstraints", "")),
        Some(m) => {
            causes.extend(match_resources(m, "spec.matchConstraints"));
            if arr_of(m, "resourceRules").is_empty() {
                causes.push(field::required("spec.matchConstraints.resourceRules", ""));
            }
        }
    }
    causes.extend(match_conditions(
        arr_of(spec, "matchConditions"),
        "spec.matchConditions",
    ));
    causes.extend(variables(arr_of(spec, "variables"), "spec.variables"));
    let validations = arr_of(spec, "validations");
    let annotations = arr_of(spec, "auditAnnotations");
    if validations.is_empty() && annotations.is_empty() {
        for f in ["spec.validations", "spec.auditAnnotations"] {
            causes.push(field::required(
                f,
                "validations or auditAnnotations must contain at least one item",
            ));
        }
        return causes;
    }
    for (i, v) in validations.iter().enumerate() {
        causes.extend(validation(v, &index("spec.validations", i)));
    }
    if annotations.len() > MAX_AUDIT_ANNOTATIONS {
        causes.push(selector::invalid_go(
            "spec.auditAnnotations",
            &Value::Array(annotations.to_vec()).to_string(),
            &format!("must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations"),
        ));
    }
    let policy_name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut keys = std::collections::HashSet::new();
    for (i, a) in annotations.iter().enumerate() {
        let at = index("spec.auditAnnotations", i);
        causes.extend(audit_annotation(policy_name, a, &at));
        let key = str_of(a, "key");
        if !keys.insert(key) {
            causes.push(field::duplicate(
                &child(&at, "key"),
                &Value::String(key.to_owned()),
            ));
        }
    }
    causes
}

/// `validateParamRef`.
fn param_ref(r: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = str_of(r, "name");
    let sel = set(r, "selector");
    const EXCLUSIVE: &str = "name and selector are mutually exclusive";
    if !name.is_empty() {
        causes.extend(field::each(
            &child(at, "name"),
            name,
            field::path_segment_name(name),
        ));
        if sel.is_some() {
            causes.push(field::forbidden(&child(at, "name"), EXCLUSIVE));
        }
    }
    if let Some(s) = sel {
        causes.extend(selector::validate(s, &child(at, "selector")));
        if !name.is_empty() {
            causes.push(field::forbidden(&child(at, "selector"), EXCLUSIVE));
        }
    }
    if name.is_empty() && sel.is_none() {
        causes.push(field::required(
            at,
            "one of name or selector must be specified",
        ));
    }
    match set(r, "parameterNotFoundAction").filter(|a| a.as_str() != Some("")) {
        None => causes.push(field::required(&child(at, "parameterNotFoundAction"), "")),
        Some(_) => causes.extend(one_of(
            r,
            "parameterNotFoundAction",
            at,
            &PARAMETER_NOT_FOUND_ACTIONS,
        )),
    }
    causes
}

/// `validateValidationActions`.
fn validation_actions(actions: &[Value], at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, a) in actions.iter().enumerate() {
        let s = a.as_str().unwrap_or_default();
        if !VALIDATION_ACTIONS.contains(&s) {
            causes.push(field::not_supported(&index(at, i), a, &VALIDATION_ACTIONS));
        }
        if !seen.insert(s) {
            causes.push(field::duplicate(&index(at, i), a));
        }
    }
    if seen.contains("Deny") && seen.contains("Warn") {
        causes.push(selector::invalid_go(
            at,
            &go_list(actions),
            "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
        ));
    }
    if seen.is_empty() {
        causes.push(field::required(
            at,
            "at least one validation action is required",
        ));
    }
    causes
}

/// What the two kinds of policy binding share: `policyName` (a DNS subdomain), `paramRef` and
/// `matchResources`, whose kind-specific checks `more_match` adds.
fn binding_spec(spec: &Value, more_match: impl Fn(&Value) -> Vec<Cause>) -> Vec<Cause> {
    let mut causes = Vec::new();
    let policy = str_of(spec, "policyName");
    if policy.is_empty() {
        causes.push(field::required("spec.policyName", ""));
    } else {
        causes.extend(field::each(
            "spec.policyName",
            policy,
            field::dns1123_subdomain(policy),
        ));
    }
    if let Some(r) = set(spec, "paramRef") {
        causes.extend(param_ref(r, "spec.paramRef"));
    }
    if let Some(m) = set(spec, "matchResources") {
        causes.extend(match_resources(m, "spec.matchResources"));
        causes.extend(more_match(m));
    }
    causes
}

/// `validateValidatingAdmissionPolicyBindingSpec` (without ObjectMeta); updates alike.
pub fn validate_admission_policy_binding(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = binding_spec(spec, |_| Vec::new());
    causes.extend(validation_actions(
        arr_of(spec, "validationActions"),
        "spec.validationActions",
    ));
    causes
}

/// The operations a mutating admission policy or binding may match (`supportedMutatingOperations`:
/// no DELETE), sorted as kube lists them.
pub const MUTATING_OPERATIONS: [&str; 4] = ["*", "CONNECT", "CREATE", "UPDATE"];
/// A mutation's patch types (`supportedPatchType`), sorted.
pub const PATCH_TYPES: [&str; 2] = ["ApplyConfiguration", "JSONPatch"];

/// kube's check that a mutating policy's or binding's resource rules match no DELETE: every
/// operation not supported is reported at the list of rules (`<at>.resourceRules.operations`,
/// no index), as kube does.
fn mutating_operations(m: &Value, at: &str) -> Vec<Cause> {
    let at = child(&child(at, "resourceRules"), "operations");
    arr_of(m, "resourceRules")
        .iter()
        .flat_map(|r| arr_of(r, "operations"))
        .filter(|op| {
            !op.as_str()
                .is_some_and(|o| MUTATING_OPERATIONS.contains(&o))
        })
        .map(|op| field::not_supported(&at, op, &MUTATING_OPERATIONS))
        .collect()
}

/// A patch's CEL expression required (not compiled).
fn patch_expression(patch: &Value, at: &str) -> Option<Cause> {
    str_of(patch, "expression")
        .trim()
        .is_empty()
        .then(|| field::required(&child(at, "expression"), ""))
}

/// `validateMutation`: the patch type, and the one patch it names (the other absent).
fn mutation(m: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let patch_type = str_of(m, "patchType");
    let (apply, json_patch) = (set(m, "applyConfiguration"), set(m, "jsonPatch"));
    // (field, type that uses it, the other field's placeholder value).
    let (used, other, other_field) = match patch_type {
        "" => {
            causes.push(field::required(&child(at, "patchType"), ""));
            return causes;
        }
        "JSONPatch" => (("jsonPatch", json_patch), apply, "applyConfiguration"),
        "ApplyConfiguration" => (("applyConfiguration", apply), json_patch, "jsonPatch"),
        _ => {
            causes.push(field::not_supported(
                &child(at, "patchType"),
                &Value::String(patch_type.to_owned()),
                &PATCH_TYPES,
            ));
            return causes;
        }
    };
    let (used_field, used_value) = used;
    match used_value {
        None => causes.push(field::required(
            &child(at, used_field),
            &format!("must be specified when patchType is {patch_type}"),
        )),
        Some(p) => causes.extend(patch_expression(p, &child(at, used_field))),
    }
    if other.is_some() {
        causes.push(field::invalid_str(
            &child(at, other_field),
            &format!("{{{other_field}}}"),
            &format!("must not be specified when patchType is {patch_type}"),
        ));
    }
    causes
}

/// `validateMutatingAdmissionPolicySpec`'s structural rules (without ObjectMeta and without
/// compiling the CEL expressions). `check_match_conditions` is false on an update that changes
/// neither the parameter kind nor the match conditions (kube's
/// `ignoreMutatingAdmissionPolicyMatchConditions`).
fn mutating_policy_spec(obj: &Value, check_match_conditions: bool) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    match set(spec, "failurePolicy") {
        None => causes.push(field::required("spec.failurePolicy", "")),
        Some(_) => causes.extend(one_of(spec, "failurePolicy", "spec", &FAILURE_POLICIES)),
    }
    if let Some(kind) = set(spec, "paramKind") {
        causes.extend(param_kind(kind, "spec.paramKind"));
    }
    match set(spec, "matchConstraints") {
        None => causes.push(field::required("spec.matchConstraints", "")),
        Some(m) => {
            causes.extend(match_resources(m, "spec.matchConstraints"));
            if arr_of(m, "resourceRules").is_empty() {
                causes.push(field::required("spec.matchConstraints.resourceRules", ""));
            }
            causes.extend(mutating_operations(m, "spec.matchConstraints"));
        }
    }
    if check_match_conditions {
        causes.extend(match_conditions(
            arr_of(spec, "matchConditions"),
            "spec.matchConditions",
        ));
    }
    causes.extend(variables(arr_of(spec, "variables"), "spec.variables"));
    let mutations = arr_of(spec, "mutations");
    if mutations.is_empty() {
        causes.push(field::required(
            "spec.mutations",
            "mutations must contain at least one item",
        ));
    }
    for (i, m) in mutations.iter().enumerate() {
        causes.extend(mutation(m, &index("spec.mutations", i)));
    }
    let reinvocation = spec.get("reinvocationPolicy").unwrap_or(&null);
    match reinvocation.as_str().unwrap_or("") {
        "" => causes.push(field::required("spec.reinvocationPolicy", "")),
        p if REINVOCATION_POLICIES.contains(&p) => {}
        _ => causes.push(field::not_supported(
            "spec.reinvocationPolicy",
            reinvocation,
            &REINVOCATION_POLICIES,
        )),
    }
    causes
}

/// `ValidateMutatingAdmissionPolicy` without ObjectMeta.
pub fn validate_mutating_policy(obj: &Value) -> Vec<Cause> {
    mutating_policy_spec(obj, true)
}

/// `ValidateMutatingAdmissionPolicyUpdate` without ObjectMeta: the create rules, but the match
/// conditions are not checked again while they and the parameter kind stay as they were.
pub fn validate_mutating_policy_update(new: &Value, old: &Value) -> Vec<Cause> {
    let same = |f: &str| {
        let get = |v: &Value| {
            v.pointer(&format!("/spec/{f}"))
                .filter(|x| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()))
                .cloned()
        };
        get(new) == get(old)
    };
    mutating_policy_spec(new, !(same("paramKind") && same("matchConditions")))
}

/// `validateMutatingAdmissionPolicyBindingSpec` (without ObjectMeta); updates alike
/// (`ValidateMutatingAdmissionPolicyBindingUpdate`).
pub fn validate_mutating_policy_binding(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    binding_spec(spec, |m| mutating_operations(m, "spec.matchResources"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use crate::validation::test_support::messages;

    #[test]
    fn resources_with_wildcards() {
        let items = [json!("pods/*"), json!("pods/log")];
        assert_eq!(
            messages(&resources(&items, "r")),
            vec![
                "r[1]: Invalid value: \"pods/log\": if 'pods/*' is present, must not specify pods/log"
            ]
        );
        let items = [json!("*"), json!("pods")];
        assert_eq!(
            messages(&resources(&items, "r")),
            vec![
                "r: Invalid value: [\"*\",\"pods\"]: if '*' is present, must not specify other resources without subresources"
            ]
        );
    }

    #[test]
    fn urls_and_service_paths() {
        assert_eq!(
            messages(&webhook_url("http://x.example.com/a?b=c#d", "u")),
            vec![
                "u: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
                "u: Invalid value: \"d\": fragments are not permitted in the URL",
                "u: Invalid value: \"b=c\": query parameters are not permitted in the URL",
            ]
        );
        let svc = json!({"name": "s", "namespace": "n", "port": 443, "path": "/a//b"});
        assert_eq!(
            messages(&webhook_service(&svc, "s")),
            vec!["s.path: Invalid value: \"/a//b\": segment[1] may not be empty"]
        );
    }

    fn map_spec(spec: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": spec})
    }

    fn constraints() -> Value {
        json!({"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
            "resourceRules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                "resources": ["configmaps"], "scope": "*"}]})
    }

    #[test]
    fn mutating_policies() {
        let good = map_spec(
            json!({"failurePolicy": "Fail", "matchConstraints": constraints(),
            "reinvocationPolicy": "Never",
            "mutations": [{"patchType": "ApplyConfiguration",
                "applyConfiguration": {"expression": "Object{}"}}]}),
        );
        assert!(
            validate_mutating_policy(&good).is_empty(),
            "{:?}",
            validate_mutating_policy(&good)
        );
        let mut ops = constraints();
        ops["resourceRules"][0]["operations"] = json!(["DELETE", "CREATE"]);
        let bad = map_spec(
            json!({"failurePolicy": "Sometimes", "matchConstraints": ops,
            "matchConditions": [{"name": "a", "expression": ""}],
            "variables": [{"name": "1x", "expression": "1"}],
            "reinvocationPolicy": "Always",
            "mutations": [
                {"patchType": "JSONPatch", "applyConfiguration": {"expression": "x"}},
                {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": " "},
                    "jsonPatch": {"expression": "y"}},
                {"patchType": "Merge"},
                {}
            ]}),
        );
        assert_eq!(
            messages(&validate_mutating_policy(&bad)),
            vec![
                "spec.failurePolicy: Unsupported value: \"Sometimes\": supported values: \"Fail\", \"Ignore\"",
                "spec.matchConstraints.resourceRules.operations: Unsupported value: \"DELETE\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"UPDATE\"",
                "spec.matchConditions[0].expression: Required value",
                "spec.variables[0].name: Invalid value: \"1x\": name is not a valid CEL identifier",
                "spec.mutations[0].jsonPatch: Required value: must be specified when patchType is JSONPatch",
                "spec.mutations[0].applyConfiguration: Invalid value: \"{applyConfiguration}\": must not be specified when patchType is JSONPatch",
                "spec.mutations[1].applyConfiguration.expression: Required value",
                "spec.mutations[1].jsonPatch: Invalid value: \"{jsonPatch}\": must not be specified when patchType is ApplyConfiguration",
                "spec.mutations[2].patchType: Unsupported value: \"Merge\": supported values: \"ApplyConfiguration\", \"JSONPatch\"",
                "spec.mutations[3].patchType: Required value",
                "spec.reinvocationPolicy: Unsupported value: \"Always\": supported values: \"IfNeeded\", \"Never\"",
            ]
        );
        assert_eq!(
            messages(&validate_mutating_policy(&map_spec(json!({})))),
            vec![
                "spec.failurePolicy: Required value",
                "spec.matchConstraints: Required value",
                "spec.mutations: Required value: mutations must contain at least one item",
                "spec.reinvocationPolicy: Required value",
            ]
        );
        // An update leaves unchanged match conditions alone.
        let mut stale = good.clone();
        stale["spec"]["matchConditions"] = json!([{"name": "", "expression": "true"}]);
        assert!(validate_mutating_policy_update(&stale, &stale).is_empty());
        assert_eq!(
            messages(&validate_mutating_policy_update(&stale, &good)),
            vec!["spec.matchConditions[0].name: Required value"]
        );
        let many: Vec<Value> = (0..65)
            .map(|i| json!({"name": format!("c{i}"), "expression": "true"}))
            .collect();
        assert_eq!(
            messages(&match_conditions(&many, "m")),
            vec!["m: Too many: 65: must have at most 64 items"]
        );
    }

    #[test]
    fn mutating_policy_bindings() {
        let mut rules = constraints();
        rules["resourceRules"][0]["operations"] = json!(["DELETE"]);
        let bad = json!({"spec": {"policyName": "", "paramRef": {"name": "a/b"},
            "matchResources": rules}});
        assert_eq!(
            messages(&validate_mutating_policy_binding(&bad)),
            vec![
                "spec.policyName: Required value",
                "spec.paramRef.name: Invalid value: \"a/b\": may not contain '/'",
                "spec.paramRef.parameterNotFoundAction: Required value",
                "spec.matchResources.resourceRules.operations: Unsupported value: \"DELETE\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"UPDATE\"",
            ]
        );
        let good = json!({"spec": {"policyName": "p"}});
        assert!(validate_mutating_policy_binding(&good).is_empty());
        for a in [
            Value::Null,
            json!(1),
            json!({"spec": {"mutations": [1, null], "matchConstraints": 2,
            "reinvocationPolicy": 3, "variables": {}, "matchConditions": "x"}}),
            json!({"spec": {"matchResources": {"resourceRules": [{"operations": [1]}]}, "paramRef": 5}}),
        ] {
            validate_mutating_policy(&a);
            validate_mutating_policy_binding(&a);
            for b in [Value::Null, json!({"spec": []})] {
                validate_mutating_policy_update(&a, &b);
            }
        }
    }
}
