//! ValidatingAdmissionPolicy admission over HTTP: Deny, Warn and Audit bindings, params by name
//! and selector, match conditions, selectors, excluded rules, subresources, messages, reasons,
//! failure policies, and policies changed or deleted at runtime, with the exact Status
//! kube-apiserver 1.37 answers.

mod common;

use common::{Raw, send};
use serde_json::{Value, json};

use apiserver::ApiServer;

const POLICIES: &str = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";
const BINDINGS: &str = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings";
const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

async fn server() -> ApiServer {
    ApiServer::builder().start().await.expect("server starts")
}

/// Sends and asserts success (anything below 300).
async fn ok(server: &ApiServer, method: &str, path: &str, body: Value) -> Raw {
    let r = send(server, method, path, &body).await;
    assert!(r.code < 300, "{method} {path}: {} {}", r.code, r.body);
    r
}

/// A policy on configmaps for `operations` with `validations` and the other spec fields of `extra`.
fn policy(name: &str, operations: &[&str], validations: Value, extra: Value) -> Value {
    let mut spec = json!({
        "matchConstraints": {"resourceRules": [{
            "apiGroups": [""], "apiVersions": ["v1"], "operations": operations,
            "resources": ["configmaps"]
        }]},
        "validations": validations,
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
           "metadata": {"name": name}, "spec": spec})
}

fn binding(name: &str, policy: &str, actions: &[&str], extra: Value) -> Value {
    let mut spec = json!({"policyName": policy, "validationActions": actions});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
           "metadata": {"name": name}, "spec": spec})
}

fn configmap(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

/// Installs `policy` and a binding `<policy>-binding` with `actions`.
async fn install(server: &ApiServer, policy: Value, actions: &[&str], extra: Value) {
    let name = policy["metadata"]["name"]
        .as_str()
        .expect("named")
        .to_owned();
    ok(server, "POST", POLICIES, policy).await;
    ok(
        server,
        "POST",
        BINDINGS,
        binding(&format!("{name}-binding"), &name, actions, extra),
    )
    .await;
}

/// The policy the Deny tests share: data.mode may not be "bad".
fn no_bad_mode() -> Value {
    policy(
        "no-bad",
        &["CREATE", "UPDATE"],
        json!([{"expression": "!has(object.data) || !('mode' in object.data) || object.data.mode != 'bad'",
                "message": "mode must not be bad"}]),
        json!({}),
    )
}

fn denied(policy: &str, binding: &str, message: &str) -> String {
    format!(
        "ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: {message}"
    )
}

#[tokio::test]
async fn deny_refuses_creates_and_updates_with_kubes_status() {
    let s = server().await;
    install(&s, no_bad_mode(), &["Deny"], json!({})).await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("c1", json!({"mode": "bad"})),
    )
    .await;
    let message = denied("no-bad", "no-bad-binding", "mode must not be bad");
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": format!("configmaps \"c1\" is forbidden: {message}"),
               "reason": "Invalid",
               "details": {"name": "c1", "kind": "configmaps", "causes": [{"message": message}]},
               "code": 422})
    );
    // A dry run is admitted exactly like a real write.
    let r = send(
        &s,
        "POST",
        &format!("{CONFIGMAPS}?dryRun=All"),
        &configmap("c1", json!({"mode": "bad"})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("c1", json!({"mode": "good"})),
    )
    .await;
    // Update, merge patch and apply are all UPDATE.
    let r = send(
        &s,
        "PUT",
        &format!("{CONFIGMAPS}/c1"),
        &configmap("c1", json!({"mode": "bad"})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{CONFIGMAPS}/c1"),
        &json!({"data": {"mode": "bad"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!("configmaps \"c1\" is forbidden: {message}")
    );
    let apply = common::raw(
        &s,
        "PATCH",
        &format!("{CONFIGMAPS}/c1?fieldManager=me&force=true"),
        Some("application/apply-patch+yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  mode: bad\n",
    )
    .await;
    assert_eq!(apply.code, 422, "{}", apply.body);
    // Nothing was stored by the refused writes.
    let got = ok(&s, "GET", &format!("{CONFIGMAPS}/c1"), Value::Null).await;
    assert_eq!(got.body["data"]["mode"], "good");
}

#[tokio::test]
async fn deny_on_delete_sees_the_old_object_and_a_null_object() {
    let s = server().await;
    install(
        &s,
        policy(
            "keep-locked",
            &["DELETE"],
            json!([{"expression": "object == null && oldObject.data.mode != 'locked' && request.operation == 'DELETE'",
                    "message": "locked configmaps stay"}]),
            json!({}),
        ),
        &["Deny"],
        json!({}),
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("locked", json!({"mode": "locked"})),
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("free", json!({"mode": "free"})),
    )
    .await;
    let r = send(&s, "DELETE", &format!("{CONFIGMAPS}/locked"), &Value::Null).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "configmaps \"locked\" is forbidden: {}",
            denied(
                "keep-locked",
                "keep-locked-binding",
                "locked configmaps stay"
            )
        )
    );
    ok(&s, "GET", &format!("{CONFIGMAPS}/locked"), Value::Null).await;
    ok(&s, "DELETE", &format!("{CONFIGMAPS}/free"), Value::Null).await;
    // A delete of the collection is admitted object by object.
    let r = send(&s, "DELETE", CONFIGMAPS, &Value::Null).await;
    assert_eq!(r.code, 422, "{}", r.body);
}

#[tokio::test]
async fn warn_sends_a_warning_header_and_audit_enforces_nothing() {
    let s = server().await;
    install(&s, no_bad_mode(), &["Warn", "Audit"], json!({})).await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("c1", json!({"mode": "bad"})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let warnings: Vec<&str> = r
        .headers
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(
        warnings,
        [
            "299 - \"Validation failed for ValidatingAdmissionPolicy 'no-bad' with binding 'no-bad-binding': mode must not be bad\""
        ]
    );
    // Audit alone: admitted without a warning.
    let s = server().await;
    install(&s, no_bad_mode(), &["Audit"], json!({})).await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("c1", json!({"mode": "bad"})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(r.headers.get("warning").is_none(), "{:?}", r.headers);
}

#[tokio::test]
async fn kube_rs_clients_see_the_refusal() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, PostParams};
    let s = server().await;
    install(&s, no_bad_mode(), &["Deny"], json!({})).await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().expect("client"), "default");
    let bad: ConfigMap =
        serde_json::from_value(configmap("c1", json!({"mode": "bad"}))).expect("configmap");
    match api.create(&PostParams::default(), &bad).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert!(
                status
                    .message
                    .ends_with("denied request: mode must not be bad"),
                "{}",
                status.message
            );
        }
        other => panic!("expected the policy's refusal, got {other:?}"),
    }
}

/// A policy reading its limit from ConfigMap params; only configmaps labelled `checked: "yes"`
/// are checked (an object selector), so the params themselves are not.
fn limit_policy() -> Value {
    policy(
        "limit",
        &["CREATE"],
        json!([{"expression": "int(object.data.size) <= int(params.data.max)",
                "messageExpression": "'size ' + object.data.size + ' is over ' + params.data.max"}]),
        json!({
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {
                "objectSelector": {"matchLabels": {"checked": "yes"}},
                "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                   "operations": ["CREATE"], "resources": ["configmaps"]}]
            }
        }),
    )
}

fn checked(name: &str, size: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "labels": {"checked": "yes"}}, "data": {"size": size}})
}

fn limit(name: &str, max: &str, role: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "labels": {"role": role}}, "data": {"max": max}})
}

#[tokio::test]
async fn params_by_name_follow_parameter_not_found_action() {
    let s = server().await;
    install(
        &s,
        limit_policy(),
        &["Deny"],
        json!({"paramRef": {"name": "limits", "parameterNotFoundAction": "Deny"}}),
    )
    .await;
    // No param yet, Deny: refused with kube's configuration message.
    let r = send(&s, "POST", CONFIGMAPS, &checked("a", "1")).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "configmaps \"a\" is forbidden: {}",
            denied(
                "limit",
                "limit-binding",
                "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"
            )
        )
    );
    // Unchecked configmaps (the param itself) are not matched.
    ok(&s, "POST", CONFIGMAPS, limit("limits", "3", "limit")).await;
    ok(&s, "POST", CONFIGMAPS, checked("a", "3")).await;
    let r = send(&s, "POST", CONFIGMAPS, &checked("b", "4")).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        denied("limit", "limit-binding", "size 4 is over 3")
    );

    // Allow: a missing param admits without evaluating.
    let s = server().await;
    install(
        &s,
        limit_policy(),
        &["Deny"],
        json!({"paramRef": {"name": "limits", "parameterNotFoundAction": "Allow"}}),
    )
    .await;
    ok(&s, "POST", CONFIGMAPS, checked("a", "100")).await;
}

#[tokio::test]
async fn params_by_selector_evaluate_once_per_param() {
    let s = server().await;
    install(
        &s,
        limit_policy(),
        &["Deny"],
        json!({"paramRef": {"selector": {"matchLabels": {"role": "limit"}},
                            "parameterNotFoundAction": "Allow"}}),
    )
    .await;
    // Nothing selected, Allow: admitted.
    ok(&s, "POST", CONFIGMAPS, checked("a", "100")).await;
    ok(&s, "POST", CONFIGMAPS, limit("loose", "5", "limit")).await;
    ok(&s, "POST", CONFIGMAPS, limit("tight", "3", "limit")).await;
    ok(&s, "POST", CONFIGMAPS, limit("other", "1", "unrelated")).await;
    ok(&s, "POST", CONFIGMAPS, checked("b", "3")).await;
    // 4 passes the loose param and fails the tight one.
    let r = send(&s, "POST", CONFIGMAPS, &checked("c", "4")).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        denied("limit", "limit-binding", "size 4 is over 3")
    );
}

#[tokio::test]
async fn a_param_kind_that_is_not_served_is_a_configuration_error() {
    let s = server().await;
    let mut p = no_bad_mode();
    p["spec"]["paramKind"] = json!({"apiVersion": "example.com/v1", "kind": "Nope"});
    install(
        &s,
        p,
        &["Deny"],
        json!({"paramRef": {"name": "x", "parameterNotFoundAction": "Allow"}}),
    )
    .await;
    let r = send(&s, "POST", CONFIGMAPS, &configmap("c", json!({}))).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "configmaps \"c\" is forbidden: ValidatingAdmissionPolicy 'no-bad' denied request: failed to configure policy: failed to find resource referenced by paramKind: 'example.com/v1, Kind=Nope'"
    );
}

#[tokio::test]
async fn match_conditions_namespace_selector_and_excluded_rules_choose_what_is_checked() {
    let s = server().await;
    let p = policy(
        "strict",
        &["CREATE"],
        json!([{"expression": "false", "message": "strict configmaps are refused here"}]),
        json!({
            "matchConditions": [{"name": "strict-only", "expression": "object.metadata.name.startsWith('strict-')"}],
            "matchConstraints": {
                "namespaceSelector": {"matchLabels": {"policy": "on"}},
                "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                   "operations": ["CREATE"], "resources": ["configmaps"]}],
                "excludeResourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"],
                                          "resources": ["configmaps"], "resourceNames": ["strict-exempt"]}]
            }
        }),
    );
    install(&s, p, &["Deny"], json!({})).await;
    for (ns, labels) in [("on", json!({"policy": "on"})), ("off", json!({}))] {
        ok(
            &s,
            "POST",
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}),
        )
        .await;
    }
    let path = |ns: &str| format!("/api/v1/namespaces/{ns}/configmaps");
    let r = send(&s, "POST", &path("on"), &configmap("strict-a", json!({}))).await;
    assert_eq!(r.code, 422, "{}", r.body);
    // The match condition is false: not checked.
    ok(&s, "POST", &path("on"), configmap("lax-a", json!({}))).await;
    // The namespace does not match the selector.
    ok(&s, "POST", &path("off"), configmap("strict-a", json!({}))).await;
    // Excluded by name.
    ok(
        &s,
        "POST",
        &path("on"),
        configmap("strict-exempt", json!({})),
    )
    .await;
    // Labelling the namespace brings it under the policy.
    ok(
        &s,
        "PATCH",
        "/api/v1/namespaces/off",
        json!({"metadata": {"labels": {"policy": "on"}}}),
    )
    .await;
    let r = send(&s, "POST", &path("off"), &configmap("strict-b", json!({}))).await;
    assert_eq!(r.code, 422, "{}", r.body);
}

#[tokio::test]
async fn a_match_condition_error_follows_the_failure_policy() {
    for (failure_policy, code) in [("Fail", 422), ("Ignore", 201)] {
        let s = server().await;
        let p = policy(
            "cond",
            &["CREATE"],
            json!([{"expression": "false"}]),
            json!({"failurePolicy": failure_policy,
                   "matchConditions": [{"name": "c", "expression": "object.data.flag == 'on'"}]}),
        );
        install(&s, p, &["Deny"], json!({})).await;
        let r = send(&s, "POST", CONFIGMAPS, &configmap("c", json!({}))).await;
        assert_eq!(r.code, code, "{failure_policy}: {}", r.body);
        if code == 422 {
            assert_eq!(
                r.body["details"]["causes"][0]["message"],
                denied(
                    "cond",
                    "cond-binding",
                    // An empty `data` map is omitempty: the object CEL sees has no `data`.
                    "expression 'object.data.flag == 'on'' resulted in error: no such key: data"
                )
            );
        }
    }
}

#[tokio::test]
async fn subresource_rules_match_status_writes_of_custom_resources() {
    let s = server().await;
    ok(
        &s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        common::widget_crd(),
    )
    .await;
    let p = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "no-broken"},
    "spec": {
        "matchConstraints": {"resourceRules": [{"apiGroups": ["example.com"], "apiVersions": ["*"],
            "operations": ["UPDATE"], "resources": ["widgets/status"]}]},
        "validations": [{"expression": "object.status.phase != 'Broken' && request.subResource == 'status' && request.kind.kind == 'Widget'",
                         "message": "widgets may not break"}]
    }});
    install(&s, p, &["Deny"], json!({})).await;
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    ok(
        &s,
        "POST",
        widgets,
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}),
    )
    .await;
    // The main resource is not matched by `widgets/status`.
    ok(
        &s,
        "PATCH",
        &format!("{widgets}/w"),
        json!({"spec": {"size": 2}}),
    )
    .await;
    let r = send(
        &s,
        "PATCH",
        &format!("{widgets}/w/status"),
        &json!({"status": {"phase": "Broken"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "widgets.example.com \"w\" is forbidden: {}",
            denied("no-broken", "no-broken-binding", "widgets may not break")
        )
    );
    assert_eq!(r.body["details"]["group"], "example.com");
    ok(
        &s,
        "PATCH",
        &format!("{widgets}/w/status"),
        json!({"status": {"phase": "Fine"}}),
    )
    .await;
}

/// A `deployments/scale` write is admitted as kube's `ScaleREST` admits it: an `autoscaling/v1`
/// Scale (new and old), with the subresource `scale`, not as an update of the Deployment.
#[tokio::test]
async fn scale_writes_are_checked_as_scales() {
    let s = server().await;
    let deploys = "/apis/apps/v1/namespaces/default/deployments";
    ok(
        &s,
        "POST",
        deploys,
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
    )
    .await;
    let p = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "max-scale"},
    "spec": {
        "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
            "operations": ["UPDATE"], "resources": ["deployments/scale"]}]},
        "validations": [{"expression": "object.kind == 'Scale' && oldObject.kind == 'Scale' && request.kind.group == 'autoscaling' && request.resource.resource == 'deployments' && request.subResource == 'scale' && object.spec.replicas <= 4",
                         "message": "at most 4 replicas"}]
    }});
    install(&s, p, &["Deny"], json!({})).await;
    let r = send(
        &s,
        "PATCH",
        &format!("{deploys}/web/scale"),
        &json!({"spec": {"replicas": 9}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "deployments.apps \"web\" is forbidden: {}",
            denied("max-scale", "max-scale-binding", "at most 4 replicas")
        )
    );
    let d = send(&s, "GET", &format!("{deploys}/web"), &Value::Null).await;
    assert_eq!(d.body["spec"]["replicas"], 1);
    ok(
        &s,
        "PATCH",
        &format!("{deploys}/web/scale"),
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    // The Deployment's own updates do not match `deployments/scale`.
    ok(
        &s,
        "PATCH",
        &format!("{deploys}/web"),
        json!({"spec": {"replicas": 9}}),
    )
    .await;
}

#[tokio::test]
async fn reasons_map_to_kubes_codes() {
    for (reason, code) in [
        ("Forbidden", 403),
        ("Unauthorized", 401),
        ("RequestEntityTooLarge", 413),
        ("Invalid", 422),
    ] {
        let s = server().await;
        let p = policy(
            "r",
            &["CREATE"],
            json!([{"expression": "false", "reason": reason,
                    "messageExpression": "'refused ' + object.metadata.name"}]),
            json!({}),
        );
        install(&s, p, &["Deny"], json!({})).await;
        let r = send(&s, "POST", CONFIGMAPS, &configmap("c", json!({}))).await;
        assert_eq!(r.code, code, "{reason}: {}", r.body);
        assert_eq!(r.body["reason"], reason);
        assert_eq!(r.body["code"], code);
        assert!(
            r.body["message"]
                .as_str()
                .is_some_and(|m| m.ends_with("denied request: refused c")),
            "{}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_runtime_error_follows_the_failure_policy() {
    let expression = "object.data.missing == 'x'";
    for (failure_policy, code) in [("Fail", 422), ("Ignore", 201)] {
        let s = server().await;
        let p = policy(
            "err",
            &["CREATE"],
            json!([{"expression": expression}]),
            json!({"failurePolicy": failure_policy}),
        );
        install(&s, p, &["Deny"], json!({})).await;
        let r = send(&s, "POST", CONFIGMAPS, &configmap("c", json!({"a": "b"}))).await;
        assert_eq!(r.code, code, "{failure_policy}: {}", r.body);
        if code == 422 {
            assert_eq!(
                r.body["details"]["causes"][0]["message"],
                denied(
                    "err",
                    "err-binding",
                    &format!("expression '{expression}' resulted in error: no such key: missing")
                )
            );
        }
    }
}

#[tokio::test]
async fn updated_policies_are_enforced_and_deleted_ones_are_not() {
    let s = server().await;
    install(&s, no_bad_mode(), &["Deny"], json!({})).await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("a", json!({"mode": "bad"})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    // A new rule replaces the old one (the compiled policy is not reused).
    ok(
        &s,
        "PATCH",
        &format!("{POLICIES}/no-bad"),
        json!({"spec": {"validations": [{"expression": "object.data.mode != 'worse'", "message": "mode must not be worse"}]}}),
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("a", json!({"mode": "bad"})),
    )
    .await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("b", json!({"mode": "worse"})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        denied("no-bad", "no-bad-binding", "mode must not be worse")
    );
    // Deleted: no longer enforced.
    ok(&s, "DELETE", &format!("{POLICIES}/no-bad"), Value::Null).await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("b", json!({"mode": "worse"})),
    )
    .await;
    // A binding alone (its policy gone) enforces nothing; the policy recreated is enforced again.
    ok(&s, "POST", POLICIES, no_bad_mode()).await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("c", json!({"mode": "bad"})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    ok(
        &s,
        "DELETE",
        &format!("{BINDINGS}/no-bad-binding"),
        Value::Null,
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("c", json!({"mode": "bad"})),
    )
    .await;
}

#[tokio::test]
async fn variables_and_the_request_are_visible_to_expressions() {
    let s = server().await;
    let p = policy(
        "vars",
        &["CREATE"],
        json!([{"expression": "variables.owner == request.userInfo.username",
                "messageExpression": "'owner ' + variables.owner + ' is not ' + request.userInfo.username"}]),
        json!({"variables": [
            {"name": "labels", "expression": "has(object.metadata.labels) ? object.metadata.labels : {}"},
            {"name": "owner", "expression": "'owner' in variables.labels ? variables.labels.owner : ''"}
        ]}),
    );
    install(&s, p, &["Deny"], json!({})).await;
    let mut cm = configmap("mine", json!({}));
    cm["metadata"]["labels"] = json!({"owner": "admin"});
    ok(&s, "POST", CONFIGMAPS, cm).await;
    let mut cm = configmap("theirs", json!({}));
    cm["metadata"]["labels"] = json!({"owner": "bob"});
    let r = send(&s, "POST", CONFIGMAPS, &cm).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        denied("vars", "vars-binding", "owner bob is not admin")
    );
}

#[tokio::test]
async fn policies_and_bindings_themselves_are_not_admitted() {
    let s = server().await;
    // A policy refusing every update of everything still lets itself be changed.
    let p = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "all"},
        "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"],
                    "operations": ["*"], "resources": ["*"]}]},
                 "validations": [{"expression": "false"}]}});
    install(&s, p, &["Deny"], json!({})).await;
    let r = send(&s, "POST", CONFIGMAPS, &configmap("c", json!({}))).await;
    assert_eq!(r.code, 422, "{}", r.body);
    ok(
        &s,
        "DELETE",
        &format!("{BINDINGS}/all-binding"),
        Value::Null,
    )
    .await;
    ok(&s, "POST", CONFIGMAPS, configmap("c", json!({}))).await;
}

#[tokio::test]
async fn the_authorizer_answers_with_the_requesting_users_rbac_rights() {
    const ALICE: &str = "alice-token";
    let s = ApiServer::builder()
        .user_token(
            ALICE,
            apiserver::UserInfo::new("alice", &["system:authenticated"]),
        )
        .start()
        .await
        .expect("server starts");
    let p = policy(
        "protected",
        &["CREATE"],
        json!([{"expression": "!has(object.metadata.labels) || !('protected' in object.metadata.labels) || authorizer.group('').resource('configmaps').namespace(object.metadata.namespace).check('delete').allowed()",
                "message": "only users who may delete configmaps create protected ones"},
               {"expression": "authorizer.requestResource.check('create').allowed()"}]),
        json!({}),
    );
    install(&s, p, &["Deny"], json!({})).await;
    let role = |verbs: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "cm", "namespace": "default"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}]})
    };
    ok(
        &s,
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        role(json!(["create"])),
    )
    .await;
    ok(&s, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "cm", "namespace": "default"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm"},
               "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]})).await;
    let protected = |name: &str| {
        let mut cm = configmap(name, json!({}));
        cm["metadata"]["labels"] = json!({"protected": "yes"});
        cm.to_string()
    };
    let as_alice = |name: &'static str| {
        let body = protected(name);
        let s = &s;
        async move {
            common::raw_with(
                s,
                Some(ALICE),
                "POST",
                CONFIGMAPS,
                Some("application/json"),
                body,
            )
            .await
        }
    };
    // The admin (system:masters) may do everything.
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        serde_json::from_str(&protected("by-admin")).expect("json"),
    )
    .await;
    let r = as_alice("by-alice").await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        denied(
            "protected",
            "protected-binding",
            "only users who may delete configmaps create protected ones"
        )
    );
    ok(
        &s,
        "PUT",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/cm",
        role(json!(["create", "delete"])),
    )
    .await;
    let r = as_alice("by-alice").await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn namespaces_are_matched_by_their_own_labels() {
    let s = server().await;
    let p = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "team-ns"},
    "spec": {
        "matchConstraints": {
            "namespaceSelector": {"matchLabels": {"team": "payments"}},
            "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                               "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["namespaces"]}]
        },
        "validations": [{"expression": "request.operation != 'DELETE' && object.metadata.name.startsWith('pay-')",
                         "message": "payments namespaces are named pay-*"}]
    }});
    install(&s, p, &["Deny"], json!({})).await;
    let ns = |name: &str, labels: Value| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}});
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &ns("money", json!({"team": "payments"})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "namespaces \"money\" is forbidden: {}",
            denied(
                "team-ns",
                "team-ns-binding",
                "payments namespaces are named pay-*"
            )
        )
    );
    ok(
        &s,
        "POST",
        "/api/v1/namespaces",
        ns("pay-a", json!({"team": "payments"})),
    )
    .await;
    ok(
        &s,
        "POST",
        "/api/v1/namespaces",
        ns("money", json!({"team": "other"})),
    )
    .await;
    // An update is matched by the new labels: joining the team brings the name rule.
    let r = send(
        &s,
        "PATCH",
        "/api/v1/namespaces/money",
        &json!({"metadata": {"labels": {"team": "payments"}}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    // A delete is matched by the stored labels.
    let r = send(&s, "DELETE", "/api/v1/namespaces/pay-a", &Value::Null).await;
    assert_eq!(r.code, 422, "{}", r.body);
    ok(&s, "DELETE", "/api/v1/namespaces/money", Value::Null).await;
}

/// Core Events and `events.k8s.io/v1` Events share one storage, so kube counts each as the
/// other's equivalent resource: a policy matching either API's `events` checks writes through
/// both under `matchPolicy: Equivalent`, seeing the object in the API it matched and
/// `request.requestKind` of the API the write came through; under `Exact` only its own.
#[tokio::test]
async fn event_policies_match_writes_through_either_events_api() {
    let s = server().await;
    let events_policy = |name: &str, group: &str, exact: bool, expression: &str, message: &str| {
        let mut constraints = json!({"resourceRules": [{
            "apiGroups": [group], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
            "resources": ["events"]}]});
        if exact {
            constraints["matchPolicy"] = "Exact".into();
        }
        policy(
            name,
            &[],
            json!([{"expression": expression, "message": message}]),
            json!({"matchConstraints": constraints}),
        )
    };
    install(
        &s,
        events_policy(
            "view-notes",
            "events.k8s.io",
            false,
            "object.note != 'bad'",
            "note must not be bad",
        ),
        &["Deny"],
        json!({}),
    )
    .await;
    install(
        &s,
        events_policy(
            "core-messages",
            "",
            false,
            "request.requestKind.group != 'events.k8s.io' || object.message != 'worse'",
            "through the view: message must not be worse",
        ),
        &["Deny"],
        json!({}),
    )
    .await;
    install(
        &s,
        events_policy(
            "core-exact",
            "",
            true,
            "object.message != 'exact'",
            "message must not be exact",
        ),
        &["Deny"],
        json!({}),
    )
    .await;
    let core = "/api/v1/namespaces/default/events";
    let view = "/apis/events.k8s.io/v1/namespaces/default/events";
    let core_event = |name: &str, message: &str| {
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Because", "message": message, "type": "Normal",
            "source": {"component": "example.com/c"}})
    };
    let view_event = |name: &str, note: &str| {
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
            "eventTime": "2026-12-07T00:00:00.000000Z", "reportingController": "example.com/c",
            "reportingInstance": "i", "action": "Act", "reason": "Because", "type": "Normal",
            "note": note, "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}})
    };
    // `resource` is the one the request named: kube's `admission.NewForbidden` names it.
    let refused = |r: &Raw, resource: &str, policy: &str, message: &str| {
        assert_eq!(r.code, 422, "{}", r.body);
        let name = r.body["details"]["name"].as_str().unwrap_or_default();
        let denial = denied(policy, &format!("{policy}-binding"), message);
        assert_eq!(
            r.body["message"],
            format!("{resource} \"{name}\" is forbidden: {denial}")
        );
    };

    // A core write, checked in the view's form by the events.k8s.io policy.
    let r = send(&s, "POST", core, &core_event("a", "bad")).await;
    refused(&r, "events", "view-notes", "note must not be bad");
    // A write through the view, checked in the core form with the view's requestKind.
    let r = send(&s, "POST", view, &view_event("b", "worse")).await;
    refused(
        &r,
        "events.events.k8s.io",
        "core-messages",
        "through the view: message must not be worse",
    );
    ok(&s, "POST", core, core_event("c", "worse")).await;
    // Exact: the core policy does not see writes through the view.
    ok(&s, "POST", view, view_event("d", "exact")).await;
    let r = send(&s, "POST", core, &core_event("e", "exact")).await;
    refused(&r, "events", "core-exact", "message must not be exact");
}
