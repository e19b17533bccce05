//! MutatingAdmissionPolicy admission over HTTP: apply configurations merged into the object
//! (labels, a container's env merged by key), JSON patches (add, replace, remove, escaped keys,
//! a failed test), params, match conditions, variables, failure policies with kube-apiserver
//! 1.37's Status, the order before ValidatingAdmissionPolicies, dry runs, updates, patches,
//! server-side apply and status writes, reinvocation, custom resources, and the server's own
//! writes, which no policy mutates.

mod common;

use common::{Raw, raw, send};
use serde_json::{Value, json};

use apiserver::ApiServer;

const POLICIES: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
const BINDINGS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings";
const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

async fn server() -> ApiServer {
    ApiServer::builder().start().await.expect("server starts")
}

/// Sends and asserts success (anything below 300).
async fn ok(server: &ApiServer, method: &str, path: &str, body: Value) -> Raw {
    let r = send(server, method, path, &body).await;
    assert!(r.code < 300, "{method} {path}: {} {}", r.code, r.body);
    r
}

/// A policy on `resource` (`group`, any version) for creates and updates with `mutations`
/// and the other spec fields of `extra`.
fn policy(name: &str, group: &str, resource: &str, mutations: Value, extra: Value) -> Value {
    let mut spec = json!({
        "matchConstraints": {"resourceRules": [{
            "apiGroups": [group], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
            "resources": [resource]
        }]},
        "mutations": mutations,
        "reinvocationPolicy": "Never",
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
           "metadata": {"name": name}, "spec": spec})
}

/// One ApplyConfiguration mutation.
fn apply(expression: &str) -> Value {
    json!([{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": expression}}])
}

/// One JSONPatch mutation.
fn patch(expression: &str) -> Value {
    json!([{"patchType": "JSONPatch", "jsonPatch": {"expression": expression}}])
}

/// Installs `policy` and a binding `<policy>-binding` with the spec fields of `extra`.
async fn install(server: &ApiServer, policy: Value, extra: Value) {
    let name = policy["metadata"]["name"]
        .as_str()
        .expect("named")
        .to_owned();
    ok(server, "POST", POLICIES, policy).await;
    let mut spec = json!({"policyName": name});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    ok(
        server,
        "POST",
        BINDINGS,
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
               "metadata": {"name": format!("{name}-binding")}, "spec": spec}),
    )
    .await;
}

fn configmap(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
            {"name": "app", "image": "nginx", "env": [{"name": "A", "value": "1"}]},
            {"name": "sidecar", "image": "busybox"}
        ]}}}})
}

async fn get(server: &ApiServer, path: &str) -> Value {
    ok(server, "GET", path, Value::Null).await.body
}

/// kube's refusal of a policy error under `failurePolicy: Fail`.
fn refused(name: &str, message: &str, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason,
           "details": {"name": name, "kind": "configmaps", "causes": [{"message": message}]},
           "code": 403})
}

#[tokio::test]
async fn an_apply_configuration_sets_labels_and_merges_a_containers_env_by_key() {
    let s = server().await;
    install(
        &s,
        policy(
            "defaults",
            "apps",
            "deployments",
            apply(
                "Object{metadata: Object.metadata{labels: {'team': 'blue'}}, spec: Object.spec{replicas: 3, \
                 template: Object.spec.template{spec: Object.spec.template.spec{containers: [\
                 Object.spec.template.spec.containers{name: 'app', env: [\
                 Object.spec.template.spec.containers.env{name: 'B', value: '2'}]}]}}}}",
            ),
            json!({}),
        ),
        json!({}),
    )
    .await;
    let created = ok(&s, "POST", DEPLOYMENTS, deployment("web")).await.body;
    let stored = get(&s, &format!("{DEPLOYMENTS}/web")).await;
    for obj in [&created, &stored] {
        assert_eq!(obj["metadata"]["labels"], json!({"team": "blue"}));
        assert_eq!(obj["spec"]["replicas"], 3, "the configuration's value wins");
        let containers = &obj["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
            "items merge by name: {containers}"
        );
        assert_eq!(
            containers[1]["name"], "sidecar",
            "the other container stays"
        );
        // The mutated object was defaulted again.
        assert_eq!(
            containers[0]["terminationMessagePath"],
            "/dev/termination-log"
        );
    }
}

#[tokio::test]
async fn json_patches_add_replace_and_remove_with_escaped_keys() {
    let s = server().await;
    install(
        &s,
        policy(
            "patcher",
            "",
            "configmaps",
            patch(
                "[JSONPatch{op: 'add', path: '/metadata/labels', value: {}}, \
                  JSONPatch{op: 'add', path: '/metadata/labels/' + jsonpatch.escapeKey('example.com/team'), value: 'red'}, \
                  JSONPatch{op: 'replace', path: '/data/a', value: 'patched'}, \
                  JSONPatch{op: 'remove', path: '/data/b'}]",
            ),
            json!({}),
        ),
        json!({}),
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("c", json!({"a": "1", "b": "2", "c": "3"})),
    )
    .await;
    let stored = get(&s, &format!("{CONFIGMAPS}/c")).await;
    assert_eq!(
        stored["metadata"]["labels"],
        json!({"example.com/team": "red"})
    );
    assert_eq!(stored["data"], json!({"a": "patched", "c": "3"}));
    // A patch that does not apply is the policy's error.
    let r = send(&s, "POST", CONFIGMAPS, &configmap("d", json!({"a": "1"}))).await;
    let message = "policy 'patcher' with binding 'patcher-binding' denied request: JSON Patch: error in remove for path: '/data/b': Unable to remove nonexistent key: b: missing value";
    assert_eq!(r.body, refused("d", message, "Invalid"));
}

#[tokio::test]
async fn a_failed_test_operation_leaves_the_object_unchanged() {
    let s = server().await;
    install(
        &s,
        policy(
            "guarded",
            "",
            "configmaps",
            patch(
                "[JSONPatch{op: 'test', path: '/data/mode', value: 'auto'}, \
                  JSONPatch{op: 'replace', path: '/data/mode', value: 'managed'}]",
            ),
            json!({}),
        ),
        json!({}),
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("a", json!({"mode": "auto"})),
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("b", json!({"mode": "manual"})),
    )
    .await;
    assert_eq!(
        get(&s, &format!("{CONFIGMAPS}/a")).await["data"]["mode"],
        "managed"
    );
    assert_eq!(
        get(&s, &format!("{CONFIGMAPS}/b")).await["data"]["mode"],
        "manual"
    );
}

#[tokio::test]
async fn params_come_from_the_bindings_param_ref() {
    let s = server().await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("team-defaults", json!({"team": "green"})),
    )
    .await;
    let p = policy(
        "from-params",
        "apps",
        "deployments",
        apply("Object{metadata: Object.metadata{labels: {'team': params.data.team}}}"),
        json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}),
    );
    install(
        &s,
        p,
        json!({"paramRef": {"name": "team-defaults", "namespace": "default", "parameterNotFoundAction": "Deny"}}),
    )
    .await;
    ok(&s, "POST", DEPLOYMENTS, deployment("web")).await;
    assert_eq!(
        get(&s, &format!("{DEPLOYMENTS}/web")).await["metadata"]["labels"]["team"],
        "green"
    );
    // Without its param, a `Deny` binding refuses the request (a configuration error: Forbidden).
    ok(
        &s,
        "DELETE",
        &format!("{CONFIGMAPS}/team-defaults"),
        Value::Null,
    )
    .await;
    let r = send(&s, "POST", DEPLOYMENTS, &deployment("api")).await;
    let message = "policy 'from-params' with binding 'from-params-binding' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction";
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": "Forbidden",
               "details": {"name": "api", "group": "apps", "kind": "deployments", "causes": [{"message": message}]},
               "code": 403})
    );
}

#[tokio::test]
async fn match_conditions_skip_the_policy_and_variables_feed_the_mutation() {
    let s = server().await;
    let p = policy(
        "stamp",
        "",
        "configmaps",
        apply("Object{data: {'stamp': variables.stamp}}"),
        json!({
            "matchConditions": [{"name": "not-opted-out", "expression": "!has(object.metadata.labels) || !('skip' in object.metadata.labels)"}],
            "variables": [{"name": "stamp", "expression": "object.metadata.name + '-' + request.operation"}]
        }),
    );
    install(&s, p, json!({})).await;
    ok(&s, "POST", CONFIGMAPS, configmap("a", json!({"x": "1"}))).await;
    assert_eq!(
        get(&s, &format!("{CONFIGMAPS}/a")).await["data"],
        json!({"x": "1", "stamp": "a-CREATE"})
    );
    let mut skipped = configmap("b", json!({"x": "1"}));
    skipped["metadata"]["labels"] = json!({"skip": "yes"});
    ok(&s, "POST", CONFIGMAPS, skipped).await;
    assert_eq!(
        get(&s, &format!("{CONFIGMAPS}/b")).await["data"],
        json!({"x": "1"})
    );
}

#[tokio::test]
async fn an_evaluation_error_refuses_under_fail_and_is_ignored_under_ignore() {
    let s = server().await;
    let expression = "Object{data: {'copy': object.data.missing}}";
    install(
        &s,
        policy("strict", "", "configmaps", apply(expression), json!({})),
        json!({}),
    )
    .await;
    let r = send(&s, "POST", CONFIGMAPS, &configmap("c", json!({"a": "1"}))).await;
    let message = format!(
        "policy 'strict' with binding 'strict-binding' denied request: expression '{expression}' resulted in error: no such key: missing"
    );
    assert_eq!(r.body, refused("c", &message, "Invalid"));
    assert_eq!(
        send(&s, "GET", &format!("{CONFIGMAPS}/c"), &Value::Null)
            .await
            .code,
        404
    );

    let s = server().await;
    install(
        &s,
        policy(
            "lenient",
            "",
            "configmaps",
            apply(expression),
            json!({"failurePolicy": "Ignore"}),
        ),
        json!({}),
    )
    .await;
    ok(&s, "POST", CONFIGMAPS, configmap("c", json!({"a": "1"}))).await;
    assert_eq!(
        get(&s, &format!("{CONFIGMAPS}/c")).await["data"],
        json!({"a": "1"}),
        "admitted unchanged"
    );
}

#[tokio::test]
async fn atomic_and_undeclared_fields_are_refused_with_kubes_messages() {
    let s = server().await;
    install(
        &s,
        policy(
            "selector",
            "apps",
            "deployments",
            apply("Object{spec: Object.spec{selector: Object.spec.selector{matchLabels: {'x': 'y'}}}}"),
            json!({}),
        ),
        json!({}),
    )
    .await;
    let r = send(&s, "POST", DEPLOYMENTS, &deployment("web")).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "policy 'selector' with binding 'selector-binding' denied request: error applying patch: invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: .spec.selector"
    );
    let s = server().await;
    install(
        &s,
        policy(
            "typo",
            "apps",
            "deployments",
            apply("Object{spec: Object.spec{replica: 3}}"),
            json!({}),
        ),
        json!({}),
    )
    .await;
    let r = send(&s, "POST", DEPLOYMENTS, &deployment("web")).await;
    assert_eq!(
        r.body["message"],
        "policy 'typo' with binding 'typo-binding' denied request: error applying patch: failed to convert patch object to typed object: .spec.replica: field not declared in schema"
    );
    assert_eq!(r.body["reason"], "Invalid");
}

#[tokio::test]
async fn validating_policies_see_the_mutated_object() {
    let s = server().await;
    install(
        &s,
        policy(
            "set-mode",
            "",
            "configmaps",
            apply("Object{data: {'mode': 'bad'}}"),
            json!({"matchConditions": [{"name": "opted-in", "expression": "'optin' in object.data"}]}),
        ),
        json!({}),
    )
    .await;
    ok(
        &s,
        "POST",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
               "metadata": {"name": "no-bad"},
               "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                            "operations": ["CREATE"], "resources": ["configmaps"]}]},
                        "validations": [{"expression": "object.data.mode != 'bad'", "message": "mode must not be bad"}]}}),
    )
    .await;
    ok(
        &s,
        "POST",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
               "metadata": {"name": "no-bad"}, "spec": {"policyName": "no-bad", "validationActions": ["Deny"]}}),
    )
    .await;
    ok(
        &s,
        "POST",
        CONFIGMAPS,
        configmap("fine", json!({"mode": "good"})),
    )
    .await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("mutated", json!({"mode": "good", "optin": "1"})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "configmaps \"mutated\" is forbidden: ValidatingAdmissionPolicy 'no-bad' with binding 'no-bad' denied request: mode must not be bad"
    );
}

#[tokio::test]
async fn dry_runs_answer_the_mutated_object_and_store_nothing() {
    let s = server().await;
    install(
        &s,
        policy(
            "label",
            "",
            "configmaps",
            apply("Object{metadata: Object.metadata{labels: {'dry': string(request.dryRun)}}}"),
            json!({}),
        ),
        json!({}),
    )
    .await;
    let r = ok(
        &s,
        "POST",
        &format!("{CONFIGMAPS}?dryRun=All"),
        configmap("c", json!({})),
    )
    .await;
    assert_eq!(r.body["metadata"]["labels"], json!({"dry": "true"}));
    assert_eq!(
        send(&s, "GET", &format!("{CONFIGMAPS}/c"), &Value::Null)
            .await
            .code,
        404
    );
}

#[tokio::test]
async fn updates_patches_applies_and_status_writes_are_mutated() {
    let s = server().await;
    install(
        &s,
        policy(
            "op",
            "",
            "configmaps",
            apply("Object{metadata: Object.metadata{labels: {'last-op': request.operation}}}"),
            json!({}),
        ),
        json!({}),
    )
    .await;
    let created = ok(&s, "POST", CONFIGMAPS, configmap("c", json!({"a": "1"})))
        .await
        .body;
    assert_eq!(created["metadata"]["labels"]["last-op"], "CREATE");
    // A client's update that drops the label gets it back.
    let mut replaced = created.clone();
    replaced["metadata"]["labels"] = json!({});
    let r = ok(&s, "PUT", &format!("{CONFIGMAPS}/c"), replaced).await;
    assert_eq!(r.body["metadata"]["labels"]["last-op"], "UPDATE");
    let r = ok(
        &s,
        "PATCH",
        &format!("{CONFIGMAPS}/c"),
        json!({"metadata": {"labels": {"last-op": null}}}),
    )
    .await;
    assert_eq!(r.body["metadata"]["labels"]["last-op"], "UPDATE");
    let r = raw(
        &s,
        "PATCH",
        &format!("{CONFIGMAPS}/c?fieldManager=me"),
        Some("application/apply-patch+yaml"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "2"}})
            .to_string(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["metadata"]["labels"]["last-op"], "UPDATE");
    assert_eq!(r.body["data"]["b"], "2");

    // A status write: the policy's change outside `.status` is dropped by the status strategy.
    ok(
        &s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        common::widget_crd(),
    )
    .await;
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    let status_policy = policy(
        "phase",
        "example.com",
        "widgets/status",
        apply("Object{status: Object.status{phase: 'Checked'}, spec: Object.spec{note: 'no'}}"),
        json!({}),
    );
    install(&s, status_policy, json!({})).await;
    crate::common::eventually("widgets are served", || async {
        (send(&s, "GET", widgets, &Value::Null).await.code == 200).then_some(())
    })
    .await;
    ok(
        &s,
        "POST",
        widgets,
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}),
    )
    .await;
    let r = ok(
        &s,
        "PATCH",
        &format!("{widgets}/w/status"),
        json!({"status": {"phase": "Fresh"}}),
    )
    .await;
    assert_eq!(r.body["status"]["phase"], "Checked");
    assert!(r.body["spec"].get("note").is_none(), "{}", r.body);
}

#[tokio::test]
async fn reinvocation_runs_if_needed_policies_again_after_a_later_change() {
    for (reinvocation, seen) in [("IfNeeded", "yes"), ("Never", "none")] {
        let s = server().await;
        // Policies run in name order: `a-seen` before `b-label`.
        install(
            &s,
            policy(
                "a-seen",
                "",
                "configmaps",
                apply(
                    "Object{metadata: Object.metadata{annotations: {'seen': \
                     has(object.metadata.labels) && 'b' in object.metadata.labels ? object.metadata.labels['b'] : 'none'}}}",
                ),
                json!({"reinvocationPolicy": reinvocation}),
            ),
            json!({}),
        )
        .await;
        install(
            &s,
            policy(
                "b-label",
                "",
                "configmaps",
                apply("Object{metadata: Object.metadata{labels: {'b': 'yes'}}}"),
                json!({}),
            ),
            json!({}),
        )
        .await;
        let r = ok(&s, "POST", CONFIGMAPS, configmap("c", json!({}))).await;
        assert_eq!(
            r.body["metadata"]["annotations"]["seen"], seen,
            "{reinvocation}: {}",
            r.body
        );
        assert_eq!(r.body["metadata"]["labels"]["b"], "yes");
    }
}

#[tokio::test]
async fn custom_resources_are_mutated_against_their_schema() {
    let s = server().await;
    ok(
        &s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        common::widget_crd(),
    )
    .await;
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    install(
        &s,
        policy(
            "widgets",
            "example.com",
            "widgets",
            json!([
                {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{spec: Object.spec{note: 'hi'}}"}},
                {"patchType": "JSONPatch", "jsonPatch": {"expression": "[JSONPatch{op: 'replace', path: '/spec/size', value: object.spec.size * 2}]"}}
            ]),
            json!({}),
        ),
        json!({}),
    )
    .await;
    crate::common::eventually("widgets are served", || async {
        (send(&s, "GET", widgets, &Value::Null).await.code == 200).then_some(())
    })
    .await;
    ok(
        &s,
        "POST",
        widgets,
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}}),
    )
    .await;
    let stored = get(&s, &format!("{widgets}/w")).await;
    assert_eq!(
        stored["spec"],
        json!({"size": 6, "note": "hi", "color": "red"})
    );
    // The schema's validation still runs on the mutated object.
    let r = send(
        &s,
        "POST",
        widgets,
        &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "big"}, "spec": {"size": 6}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);

    let s = server().await;
    ok(
        &s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        common::widget_crd(),
    )
    .await;
    install(
        &s,
        policy(
            "typo",
            "example.com",
            "widgets",
            apply("Object{spec: Object.spec{colour: 'blue'}}"),
            json!({}),
        ),
        json!({}),
    )
    .await;
    crate::common::eventually("widgets are served", || async {
        (send(&s, "GET", widgets, &Value::Null).await.code == 200).then_some(())
    })
    .await;
    let r = send(
        &s,
        "POST",
        widgets,
        &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}),
    )
    .await;
    assert_eq!(
        r.body["message"],
        "policy 'typo' with binding 'typo-binding' denied request: error applying patch: failed to convert patch object to typed object: .spec.colour: field not declared in schema"
    );
}

#[tokio::test]
async fn the_servers_own_writes_are_not_mutated() {
    let s = server().await;
    install(
        &s,
        policy(
            "label",
            "",
            "configmaps",
            apply("Object{metadata: Object.metadata{labels: {'mutated': 'yes'}}}"),
            json!({}),
        ),
        json!({}),
    )
    .await;
    ok(
        &s,
        "POST",
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}}),
    )
    .await;
    // The root CA ConfigMap the server publishes in a new namespace is its own write.
    let ca = crate::common::eventually("the root CA ConfigMap is published", || async {
        let r = send(
            &s,
            "GET",
            "/api/v1/namespaces/fresh/configmaps/kube-root-ca.crt",
            &Value::Null,
        )
        .await;
        (r.code == 200).then_some(r.body)
    })
    .await;
    assert!(
        ca["metadata"]
            .get("labels")
            .is_none_or(|l| l.get("mutated").is_none()),
        "{ca}"
    );
    let mine = ok(
        &s,
        "POST",
        "/api/v1/namespaces/fresh/configmaps",
        configmap("mine", json!({})),
    )
    .await;
    assert_eq!(mine.body["metadata"]["labels"]["mutated"], "yes");
}

#[tokio::test]
async fn a_mutation_may_not_rename_the_object_it_updates() {
    let s = server().await;
    install(
        &s,
        policy(
            "rename",
            "",
            "configmaps",
            patch("[JSONPatch{op: 'replace', path: '/metadata/name', value: 'other'}]"),
            json!({"matchConditions": [{"name": "updates", "expression": "request.operation == 'UPDATE'"}]}),
        ),
        json!({}),
    )
    .await;
    let created = ok(&s, "POST", CONFIGMAPS, configmap("c", json!({"a": "1"})))
        .await
        .body;
    let r = send(&s, "PUT", &format!("{CONFIGMAPS}/c"), &created).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "ConfigMap \"other\" is invalid: metadata.name: Invalid value: \"other\": field is immutable"
    );
}

#[tokio::test]
async fn a_mutation_may_not_move_the_object_nor_change_its_kind() {
    let s = server().await;
    install(
        &s,
        policy(
            "move",
            "",
            "configmaps",
            patch("[JSONPatch{op: 'replace', path: '/metadata/namespace', value: 'kube-system'}]"),
            json!({"matchConditions": [{"name": "asked", "expression": "'move' in object.data"}]}),
        ),
        json!({}),
    )
    .await;
    install(
        &s,
        policy(
            "retype",
            "",
            "configmaps",
            patch("[JSONPatch{op: 'replace', path: '/kind', value: 'Secret'}]"),
            json!({"matchConditions": [{"name": "asked", "expression": "'retype' in object.data"}]}),
        ),
        json!({}),
    )
    .await;
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("m", json!({"move": "1"})),
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    let r = send(
        &s,
        "POST",
        CONFIGMAPS,
        &configmap("k", json!({"retype": "1"})),
    )
    .await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(r.body["reason"], "InternalError");
    for name in ["m", "k"] {
        let r = send(&s, "GET", &format!("{CONFIGMAPS}/{name}"), &Value::Null).await;
        assert_eq!(r.code, 404);
    }
}

/// A policy for `events.k8s.io` Events mutates core Event writes too (the two APIs share one
/// storage, kube's equivalent resources), in the view's field names, and its change lands in
/// the stored core Event; a policy for core Events mutates writes through the view in the core
/// names.
#[tokio::test]
async fn event_policies_mutate_writes_through_either_events_api_in_their_own_form() {
    let s = server().await;
    install(
        &s,
        policy(
            "view-notes",
            "events.k8s.io",
            "events",
            patch(
                "object.note == 'rewrite me' \
                 ? [JSONPatch{op: 'replace', path: '/note', value: 'rewritten as ' + request.requestKind.group}] \
                 : []",
            ),
            json!({}),
        ),
        json!({}),
    )
    .await;
    install(
        &s,
        policy(
            "core-labels",
            "",
            "events",
            apply("Object{metadata: Object.metadata{labels: {'seen-as': object.apiVersion}}}"),
            json!({}),
        ),
        json!({}),
    )
    .await;
    let core = ok(
        &s,
        "POST",
        "/api/v1/namespaces/default/events",
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "a"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Because", "message": "rewrite me", "type": "Normal",
            "source": {"component": "example.com/c"}}),
    )
    .await;
    assert_eq!(core.body["message"], "rewritten as ", "{}", core.body);
    assert_eq!(core.body["metadata"]["labels"]["seen-as"], "v1");
    let view = ok(
        &s,
        "POST",
        "/apis/events.k8s.io/v1/namespaces/default/events",
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "b"},
            "eventTime": "2026-12-07T00:00:00.000000Z", "reportingController": "example.com/c",
            "reportingInstance": "i", "action": "Act", "reason": "Because", "type": "Normal",
            "note": "rewrite me", "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}}),
    )
    .await;
    assert_eq!(
        view.body["note"], "rewritten as events.k8s.io",
        "{}",
        view.body
    );
    assert_eq!(
        view.body["metadata"]["labels"]["seen-as"], "v1",
        "the core policy sees the core form"
    );
}
