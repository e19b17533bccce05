//! Validation over HTTP of the types that gained rules of their own after the first rounds:
//! FlowSchema, PriorityLevelConfiguration, StorageVersionMigration, APIService,
//! MutatingAdmissionPolicy and its binding, Deployment, ReplicaSet and Job status — a 422 whose message and `details.causes` carry
//! kube's field errors, a valid object accepted, and at least one update (or `/status`) rule per
//! type — and kube's finalizer-name rule: refused by the types whose strategies call core's
//! `ValidateObjectMeta`, accepted by the others, a warning for custom resources.

mod common;

use common::{
    DUPLICATE, FORBIDDEN, INVALID, NOT_SUPPORTED, REQUIRED, assert_invalid, create, replace, send,
    warnings,
};
use serde_json::{Value, json};

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .crd(serde_json::from_value(common::widget_crd()).expect("widget CRD"))
        .start()
        .await
        .expect("start")
}

/// A warning header as kube-apiserver writes one.
fn warning(text: &str) -> String {
    format!("299 - \"{}\"", text.replace('"', "\\\""))
}

const FLOW_SCHEMAS: &str = "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas";
const LEVELS: &str = "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations";

fn flow_schema(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
        "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn flow_schemas() {
    let s = server().await;
    let good = flow_schema(
        "mine",
        json!({"priorityLevelConfiguration": {"name": "global-default"},
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [{"subjects": [{"kind": "ServiceAccount",
                    "serviceAccount": {"name": "*", "namespace": "default"}}],
                "resourceRules": [{"verbs": ["get", "list"], "apiGroups": [""],
                    "resources": ["pods"], "namespaces": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["/healthz/*"]}]}]}),
    );
    let stored = create(&s, FLOW_SCHEMAS, &good).await;
    // matchingPrecedence defaults to 1000 before validation.
    assert_eq!(stored["spec"]["matchingPrecedence"], 1000, "{stored}");
    let bad = flow_schema(
        "bad",
        json!({"priorityLevelConfiguration": {"name": "Low"}, "matchingPrecedence": 1,
            "distinguisherMethod": {"type": "ByPod"},
            "rules": [{"subjects": [{"kind": "User", "group": {"name": "g"}}],
                "nonResourceRules": [{"verbs": ["peek"], "nonResourceURLs": ["healthz"]}]}]}),
    );
    assert_invalid(
        &send(&s, "POST", FLOW_SCHEMAS, &bad).await,
        "FlowSchema.flowcontrol.apiserver.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "spec.matchingPrecedence",
                "Invalid value: 1: only the schema named 'exempt' may have matchingPrecedence 1",
            ),
            (
                NOT_SUPPORTED,
                "spec.distinguisherMethod.type",
                "Unsupported value: {\"Type\":\"ByPod\"}: supported values: \"ByNamespace\", \"ByUser\"",
            ),
            (
                INVALID,
                "spec.priorityLevelConfiguration.name",
                "Invalid value: \"Low\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
            (
                REQUIRED,
                "spec.rules[0].subjects[0].user",
                "Required value: user is required when subject kind is 'User'",
            ),
            (
                FORBIDDEN,
                "spec.rules[0].subjects[0].group",
                "Forbidden: group is forbidden when subject kind is not 'Group'",
            ),
            (
                NOT_SUPPORTED,
                "spec.rules[0].nonResourceRules[0].verbs",
                "Unsupported value: [\"peek\"]: supported values: \"create\", \"delete\", \"deletecollection\", \"get\", \"list\", \"patch\", \"proxy\", \"update\", \"watch\"",
            ),
            (
                INVALID,
                "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]",
                "Invalid value: \"healthz\": must start with slash",
            ),
        ],
    );
    // The mandatory schemas have kube's fixed spec.
    let catch_all = flow_schema(
        "catch-all",
        json!({"priorityLevelConfiguration": {"name": "catch-all"}, "matchingPrecedence": 9000}),
    );
    assert_invalid(
        &send(&s, "POST", FLOW_SCHEMAS, &catch_all).await,
        "FlowSchema.flowcontrol.apiserver.k8s.io",
        "catch-all",
        &[(
            INVALID,
            "spec",
            "Invalid value: {\"PriorityLevelConfiguration\":{\"Name\":\"catch-all\"},\"MatchingPrecedence\":9000,\"DistinguisherMethod\":null,\"Rules\":null}: spec of 'catch-all' must equal the fixed value",
        )],
    );
    // Updates are checked as creates.
    let path = format!("{FLOW_SCHEMAS}/mine");
    let mut changed = stored.clone();
    changed["spec"]["matchingPrecedence"] = 10001.into();
    assert_invalid(
        &replace(&s, &path, &stored, changed).await,
        "FlowSchema.flowcontrol.apiserver.k8s.io",
        "mine",
        &[(
            INVALID,
            "spec.matchingPrecedence",
            "Invalid value: 10001: must not be greater than 10000",
        )],
    );
    // `/status`: condition types unique.
    let mut status = stored.clone();
    status["status"] = json!({"conditions": [{"type": "Dangling", "status": "True"},
        {"type": "Dangling", "status": "False"}]});
    assert_invalid(
        &replace(&s, &format!("{path}/status"), &stored, status).await,
        "FlowSchema.flowcontrol.apiserver.k8s.io",
        "mine",
        &[(
            DUPLICATE,
            "status.conditions[1].type",
            "Duplicate value: \"Dangling\"",
        )],
    );
}

fn level(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
        "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn priority_level_configurations() {
    let s = server().await;
    let stored = create(
        &s,
        LEVELS,
        &level(
            "mine",
            json!({"type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": {}}}}),
        ),
    )
    .await;
    assert_eq!(
        stored["spec"]["limited"]["limitResponse"]["queuing"],
        json!({"queues": 64, "handSize": 8, "queueLengthLimit": 50}),
        "{stored}"
    );
    let bad = level(
        "bad",
        json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 0, "lendablePercent": 150,
            "limitResponse": {"type": "Queue", "queuing": {"queues": 4, "handSize": 5}}}}),
    );
    assert_invalid(
        &send(&s, "POST", LEVELS, &bad).await,
        "PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "spec.limited.nominalConcurrencyShares",
                "Invalid value: 0: must be positive",
            ),
            (
                INVALID,
                "spec.limited.limitResponse.queuing.handSize",
                "Invalid value: 5: should not be greater than queues (4)",
            ),
            (
                INVALID,
                "spec.limited.lendablePercent",
                "Invalid value: 150: must be between 0 and 100, inclusive",
            ),
        ],
    );
    // The mandatory `exempt` level may change its `spec.exempt` only.
    create(
        &s,
        LEVELS,
        &level(
            "exempt",
            json!({"type": "Exempt", "exempt": {"nominalConcurrencyShares": 5}}),
        ),
    )
    .await;
    // Updates are checked as creates.
    let mut changed = stored.clone();
    changed["spec"]["type"] = "Exempt".into();
    assert_invalid(
        &replace(&s, &format!("{LEVELS}/mine"), &stored, changed).await,
        "PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io",
        "mine",
        &[
            (
                INVALID,
                "spec.type",
                "Invalid value: \"Exempt\": type must be 'Exempt' if and only if name is 'exempt'",
            ),
            (
                FORBIDDEN,
                "spec.limited",
                "Forbidden: must be nil if the type is not Limited",
            ),
        ],
    );
}

const MIGRATIONS: &str = "/apis/storagemigration.k8s.io/v1/storageversionmigrations";

fn migration(name: &str, group: &str, resource: &str) -> Value {
    json!({"apiVersion": "storagemigration.k8s.io/v1", "kind": "StorageVersionMigration",
        "metadata": {"name": name}, "spec": {"resource": {"group": group, "resource": resource}}})
}

#[tokio::test]
async fn storage_version_migrations() {
    let s = server().await;
    assert_invalid(
        &send(&s, "POST", MIGRATIONS, &migration("bad", "Apps", "")).await,
        "StorageVersionMigration.storagemigration.k8s.io",
        "bad",
        &[
            (
                REQUIRED,
                "spec.resource.resource",
                "Required value: resource is required to be set",
            ),
            (
                INVALID,
                "spec.resource.group",
                "Invalid value: \"Apps\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
        ],
    );
    let stored = create(&s, MIGRATIONS, &migration("m", "apps", "deployments")).await;
    let path = format!("{MIGRATIONS}/m");
    let changed = migration("m", "apps", "replicasets");
    assert_invalid(
        &replace(&s, &path, &stored, changed).await,
        "StorageVersionMigration.storagemigration.k8s.io",
        "m",
        &[(
            INVALID,
            "spec",
            "Invalid value: {\"Resource\":{\"group\":\"apps\",\"resource\":\"replicasets\"}}: field is immutable",
        )],
    );
    // `/status`: the resource version must be a well-formed one (so it cannot stay empty).
    let running = json!({"type": "Running", "status": "True", "reason": "Started", "message": "",
        "lastTransitionTime": "2026-01-01T00:00:00Z"});
    let mut status = stored.clone();
    status["status"] = json!({"conditions": [running]});
    assert_invalid(
        &replace(&s, &format!("{path}/status"), &stored, status.clone()).await,
        "StorageVersionMigration.storagemigration.k8s.io",
        "m",
        &[(
            INVALID,
            "status.resourceVersion",
            "Invalid value: \"\": resource version is not well formed: ",
        )],
    );
    status["status"]["resourceVersion"] = "42".into();
    let r = replace(&s, &format!("{path}/status"), &stored, status).await;
    assert_eq!(r.code, 200, "{}", r.body);
}

const API_SERVICES: &str = "/apis/apiregistration.k8s.io/v1/apiservices";

fn api_service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn api_services() {
    let s = server().await;
    let stored = create(
        &s,
        API_SERVICES,
        &api_service(
            "v1.example.com",
            json!({"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000,
                "versionPriority": 15}),
        ),
    )
    .await;
    let bad = api_service(
        "v2.example.com",
        json!({"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000,
            "service": {"name": "api", "namespace": ""}}),
    );
    assert_invalid(
        &send(&s, "POST", API_SERVICES, &bad).await,
        "APIService.apiregistration.k8s.io",
        "v2.example.com",
        &[
            (
                INVALID,
                "metadata.name",
                "Invalid value: \"v2.example.com\": must be `spec.version+\".\"+spec.group`: \"v1.example.com\"",
            ),
            (
                INVALID,
                "spec.versionPriority",
                "Invalid value: 0: must be positive and less than 1000",
            ),
            (REQUIRED, "spec.service.namespace", "Required value"),
        ],
    );
    // The name follows the version and group on update too.
    let mut changed = stored.clone();
    changed["spec"]["version"] = "v2".into();
    assert_invalid(
        &replace(
            &s,
            &format!("{API_SERVICES}/v1.example.com"),
            &stored,
            changed,
        )
        .await,
        "APIService.apiregistration.k8s.io",
        "v1.example.com",
        &[(
            INVALID,
            "metadata.name",
            "Invalid value: \"v1.example.com\": must be `spec.version+\".\"+spec.group`: \"v2.example.com\"",
        )],
    );
}

const POLICIES: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
const BINDINGS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings";

fn rules(operations: Value) -> Value {
    json!({"resourceRules": [{"operations": operations, "apiGroups": [""], "apiVersions": ["v1"],
        "resources": ["configmaps"]}]})
}

#[tokio::test]
async fn mutating_admission_policies() {
    let s = server().await;
    let good = json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicy", "metadata": {"name": "label"},
        "spec": {"matchConstraints": rules(json!(["CREATE"])), "reinvocationPolicy": "Never",
            "mutations": [{"patchType": "ApplyConfiguration",
                "applyConfiguration": {"expression": "Object{metadata: Object.metadata{labels: {\"a\": \"b\"}}}"}}]}});
    let stored = create(&s, POLICIES, &good).await;
    let bad = json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicy", "metadata": {"name": "bad"},
        "spec": {"matchConstraints": rules(json!(["DELETE"])),
            "mutations": [{"patchType": "JSONPatch"}]}});
    assert_invalid(
        &send(&s, "POST", POLICIES, &bad).await,
        "MutatingAdmissionPolicy.admissionregistration.k8s.io",
        "bad",
        &[
            (
                NOT_SUPPORTED,
                "spec.matchConstraints.resourceRules.operations",
                "Unsupported value: \"DELETE\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"UPDATE\"",
            ),
            (
                REQUIRED,
                "spec.mutations[0].jsonPatch",
                "Required value: must be specified when patchType is JSONPatch",
            ),
            (REQUIRED, "spec.reinvocationPolicy", "Required value"),
        ],
    );
    let mut changed = stored.clone();
    changed["spec"]["reinvocationPolicy"] = "Always".into();
    assert_invalid(
        &replace(&s, &format!("{POLICIES}/label"), &stored, changed).await,
        "MutatingAdmissionPolicy.admissionregistration.k8s.io",
        "label",
        &[(
            NOT_SUPPORTED,
            "spec.reinvocationPolicy",
            "Unsupported value: \"Always\": supported values: \"IfNeeded\", \"Never\"",
        )],
    );
    // The binding.
    let binding = |name: &str, spec: Value| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicyBinding", "metadata": {"name": name}, "spec": spec})
    };
    let stored = create(&s, BINDINGS, &binding("b", json!({"policyName": "label"}))).await;
    assert_invalid(
        &send(
            &s,
            "POST",
            BINDINGS,
            &binding("bad", json!({"matchResources": rules(json!(["DELETE"]))})),
        )
        .await,
        "MutatingAdmissionPolicyBinding.admissionregistration.k8s.io",
        "bad",
        &[
            (REQUIRED, "spec.policyName", "Required value"),
            (
                NOT_SUPPORTED,
                "spec.matchResources.resourceRules.operations",
                "Unsupported value: \"DELETE\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"UPDATE\"",
            ),
        ],
    );
    let mut changed = stored.clone();
    changed["spec"]["policyName"] = "Label".into();
    let r = replace(&s, &format!("{BINDINGS}/b"), &stored, changed).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["field"], "spec.policyName",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn finalizer_names_follow_the_strategy() {
    let s = server().await;
    // Core types refuse a finalizer without a domain that is not kube's (core's
    // `ValidateObjectMeta` wrapper), on create and on update.
    let sas = "/api/v1/namespaces/default/serviceaccounts";
    assert_invalid(
        &send(
            &s,
            "POST",
            sas,
            &json!({"metadata": {"name": "sa", "finalizers": ["kubernetes", "mine"]}}),
        )
        .await,
        "ServiceAccount",
        "sa",
        &[(
            INVALID,
            "metadata.finalizers[1]",
            "Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified",
        )],
    );
    let stored = create(&s, sas, &json!({"metadata": {"name": "sa"}})).await;
    let mut changed = stored.clone();
    changed["metadata"]["finalizers"] = json!(["example.com/x", "mine"]);
    assert_invalid(
        &replace(&s, &format!("{sas}/sa"), &stored, changed).await,
        "ServiceAccount",
        "sa",
        &[(
            INVALID,
            "metadata.finalizers[1]",
            "Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified",
        )],
    );
    // So do the other groups whose strategies use it (flowcontrol here).
    let mut fs = flow_schema(
        "fin",
        json!({"priorityLevelConfiguration": {"name": "global-default"}}),
    );
    fs["metadata"]["finalizers"] = json!(["mine"]);
    assert_invalid(
        &send(&s, "POST", FLOW_SCHEMAS, &fs).await,
        "FlowSchema.flowcontrol.apiserver.k8s.io",
        "fin",
        &[(
            INVALID,
            "metadata.finalizers[0]",
            "Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified",
        )],
    );
    // Leases are checked by apimachinery's ObjectMeta only: accepted, without a warning.
    let r = send(
        &s,
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        &json!({"metadata": {"name": "l", "finalizers": ["mine"]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
    // Custom resources: a warning per finalizer the write adds.
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    let r = send(
        &s,
        "POST",
        widgets,
        &json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "finalizers": ["mine", "a.example.com"]},
            "spec": {"size": 1}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec![
            warning(
                "metadata.finalizers: \"a.example.com\": prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers"
            ),
            warning(
                "metadata.finalizers: \"mine\": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers"
            ),
        ]
    );
    let stored = r.body;
    let mut changed = stored.clone();
    changed["metadata"]["finalizers"] = json!(["mine", "a.example.com", "other"]);
    let r = replace(&s, &format!("{widgets}/w"), &stored, changed).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec![warning(
            "metadata.finalizers: \"other\": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers"
        )]
    );
}

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// A CRD `things.example.com` with `versions` (schemas as given).
fn thing_crd(names: Value, versions: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": names, "versions": versions}})
}

fn open_schema() -> Value {
    json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

#[tokio::test]
async fn custom_resource_definitions() {
    let s = server().await;
    let names = json!({"plural": "things", "kind": "Thing"});
    // Names: DNS-1035 labels (kinds in any case), kind and listKind differ.
    let bad_names = thing_crd(
        json!({"plural": "things", "singular": "A_thing", "kind": "Thing", "listKind": "Thing",
               "shortNames": ["th", "Th"], "categories": ["all", "my cat"]}),
        json!([{"name": "v1", "served": true, "storage": true, "schema": open_schema()}]),
    );
    let dns = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    let r = send(&s, "POST", CRDS, &bad_names).await;
    assert_invalid(
        &r,
        "CustomResourceDefinition.apiextensions.k8s.io",
        "things.example.com",
        &[
            (
                INVALID,
                "spec.names.singular",
                &format!("Invalid value: \"A_thing\": {dns}"),
            ),
            (
                INVALID,
                "spec.names.shortNames[1]",
                &format!("Invalid value: \"Th\": {dns}"),
            ),
            (
                INVALID,
                "spec.names.categories[1]",
                &format!("Invalid value: \"my cat\": {dns}"),
            ),
            (
                INVALID,
                "spec.names.listKind",
                "Invalid value: \"Thing\": kind and listKind may not be the same",
            ),
        ],
    );
    // Version names, unique; printer columns, reported once when every version has the same.
    let column = json!([{"name": "", "type": "text", "format": "money", "jsonPath": "spec.size"},
                        {"name": "Age"}]);
    let versions = json!([
        {"name": "V1", "served": true, "storage": true, "schema": open_schema(), "additionalPrinterColumns": column},
        {"name": "V1", "served": true, "storage": false, "schema": open_schema(), "additionalPrinterColumns": column}
    ]);
    let r = send(
        &s,
        "POST",
        CRDS,
        &thing_crd(names.clone(), versions.clone()),
    )
    .await;
    let body = &r.body["details"]["causes"];
    let fields: Vec<&str> = body
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| c["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        [
            "spec.versions[0].name",
            "spec.versions[1].name",
            "spec.versions",
            "spec.additionalPrinterColumns[0].name",
            "spec.additionalPrinterColumns[0].type",
            "spec.additionalPrinterColumns[0].format",
            "spec.additionalPrinterColumns[0].JSONPath",
            "spec.additionalPrinterColumns[1].type",
            "spec.additionalPrinterColumns[1].JSONPath",
        ],
        "{}",
        r.body
    );
    let messages: Vec<&str> = body
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| c["message"].as_str().unwrap_or(""))
        .collect();
    assert!(
        messages[2].ends_with("must contain unique version names"),
        "{}",
        messages[2]
    );
    assert_eq!(
        &messages[4..],
        [
            "Invalid value: \"text\": must be one of boolean,date,integer,number,string",
            "Invalid value: \"money\": must be one of byte,date,date-time,double,float,int32,int64,password",
            "Invalid value: \"spec.size\": must be a simple json path starting with .",
            "Required value: must be one of boolean,date,integer,number,string",
            "Required value",
        ]
    );
    // A schema error: under `spec.validation` when every version has that schema (kube moves it
    // there), under the version when they differ.
    let broken =
        json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "wat"}}}});
    let one = json!([{"name": "v1", "served": true, "storage": true, "schema": broken}]);
    let r = send(&s, "POST", CRDS, &thing_crd(names.clone(), one)).await;
    assert_eq!(r.code, 422, "{}", r.body);
    let field = r.body["details"]["causes"][0]["field"]
        .as_str()
        .unwrap_or("");
    assert!(
        field.starts_with("spec.validation.openAPIV3Schema.properties[spec]"),
        "{}",
        r.body
    );
    let two = json!([
        {"name": "v1", "served": true, "storage": true, "schema": broken},
        {"name": "v2", "served": true, "storage": false, "schema": open_schema()}
    ]);
    let r = send(&s, "POST", CRDS, &thing_crd(names.clone(), two)).await;
    assert_eq!(r.code, 422, "{}", r.body);
    let field = r.body["details"]["causes"][0]["field"]
        .as_str()
        .unwrap_or("");
    assert!(
        field.starts_with("spec.versions[0].schema.openAPIV3Schema.properties[spec]"),
        "{}",
        r.body
    );
    // Scale paths, under `spec.subresources` when every version has the same.
    let scaled = json!([{"name": "v1", "served": true, "storage": true, "schema": open_schema(),
        "subresources": {"scale": {"specReplicasPath": ".status.replicas", "statusReplicasPath": "status.replicas",
                                   "labelSelectorPath": ".metadata.labels"}}}]);
    assert_invalid(
        &send(&s, "POST", CRDS, &thing_crd(names.clone(), scaled)).await,
        "CustomResourceDefinition.apiextensions.k8s.io",
        "things.example.com",
        &[
            (
                INVALID,
                "spec.subresources.scale.specReplicasPath",
                "Invalid value: \".status.replicas\": should be a json path under .spec",
            ),
            (
                INVALID,
                "spec.subresources.scale.statusReplicasPath",
                "Invalid value: \"status.replicas\": must be a simple json path starting with .",
            ),
            (
                INVALID,
                "spec.subresources.scale.labelSelectorPath",
                "Invalid value: \".metadata.labels\": should be a json path under either .spec or .status",
            ),
        ],
    );
    // A valid one with columns on one version only.
    let fine = json!([
        {"name": "v1", "served": true, "storage": true, "schema": open_schema(),
         "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]},
        {"name": "v2", "served": true, "storage": false, "schema": open_schema()}
    ]);
    create(&s, CRDS, &thing_crd(names, fine)).await;
}

const CRD_KIND: &str = "CustomResourceDefinition.apiextensions.k8s.io";

/// Causes come in the order of kube's `ValidateCustomResourceDefinition` across the whole object:
/// metadata, group, scope, then each version (name, deprecation warning), then names.
#[tokio::test]
async fn custom_resource_definition_causes_follow_kubes_order() {
    let s = server().await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "wrong"},
        "spec": {"group": "example", "names": {"plural": "things", "kind": "Thing", "shortNames": ["Th"]},
            "versions": [{"name": "V1", "served": true, "storage": true, "schema": open_schema(),
                          "deprecationWarning": "use v2"}]}});
    let dns = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    assert_invalid(
        &send(&s, "POST", CRDS, &crd).await,
        CRD_KIND,
        "wrong",
        &[
            (
                INVALID,
                "metadata.name",
                "Invalid value: \"wrong\": must be spec.names.plural+\".\"+spec.group",
            ),
            (
                INVALID,
                "spec.group",
                "Invalid value: \"example\": should be a domain with at least one dot",
            ),
            (REQUIRED, "spec.scope", "Required value"),
            (
                INVALID,
                "spec.versions[0].name",
                &format!("Invalid value: \"V1\": {dns}"),
            ),
            (
                INVALID,
                "spec.versions[0].deprecationWarning",
                "Invalid value: \"use v2\": can only be set for deprecated versions",
            ),
            (
                INVALID,
                "spec.names.shortNames[0]",
                &format!("Invalid value: \"Th\": {dns}"),
            ),
        ],
    );
}

#[tokio::test]
async fn custom_resource_definition_deprecation_warnings() {
    let s = server().await;
    let version = |name: &str, storage: bool, warning: &str| {
        json!({"name": name, "served": true, "storage": storage, "deprecated": true,
               "deprecationWarning": warning, "schema": open_schema()})
    };
    let long = "a".repeat(257);
    let versions = json!([
        version("v1", true, "fine: use v4"),
        version("v2", false, &long),
        version("v3", false, ""),
        version("v4", false, "bell\u{7}ringing"),
    ]);
    let names = json!({"plural": "things", "kind": "Thing"});
    assert_invalid(
        &send(&s, "POST", CRDS, &thing_crd(names, versions)).await,
        CRD_KIND,
        "things.example.com",
        &[
            (
                INVALID,
                "spec.versions[1].deprecationWarning",
                &format!("Invalid value: \"{long}\": must be <= 256 characters long"),
            ),
            (
                INVALID,
                "spec.versions[2].deprecationWarning",
                "Invalid value: \"\": must not be an empty string",
            ),
            (
                INVALID,
                "spec.versions[3].deprecationWarning",
                "Invalid value: \"bell\\aringing\": must only contain printable UTF-8 characters; non-printable character found at index 4",
            ),
        ],
    );
}

fn typed_schema() -> Value {
    json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "color": {"type": "string"}, "size": {"type": "integer"}, "on": {"type": "boolean"},
        "ratio": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}}}})
}

#[tokio::test]
async fn custom_resource_definition_selectable_fields() {
    let s = server().await;
    let names = json!({"plural": "things", "kind": "Thing"});
    let with_fields = |fields: Value| {
        json!([{"name": "v1", "served": true, "storage": true, "schema": typed_schema(),
                "selectableFields": fields}])
    };
    let paths = [
        ".spec.color",
        ".spec.color",
        ".spec.tags",
        ".metadata.name",
        "spec.color",
        ".spec.labels.team",
        ".spec['size']",
        ".spec.nope",
        "",
    ];
    let fields: Vec<Value> = paths.iter().map(|p| json!({"jsonPath": p})).collect();
    let at = |i: usize| format!("spec.selectableFields[{i}].jsonPath");
    let r = send(
        &s,
        "POST",
        CRDS,
        &thing_crd(names.clone(), with_fields(json!(fields))),
    )
    .await;
    assert_invalid(
        &r,
        CRD_KIND,
        "things.example.com",
        &[
            (DUPLICATE, &at(1), "Duplicate value: \".spec.color\""),
            (
                INVALID,
                &at(2),
                "Invalid value: \".spec.tags\": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ),
            (
                INVALID,
                &at(3),
                "Invalid value: \".metadata.name\": is an invalid path: does not refer to a valid field",
            ),
            (
                INVALID,
                &at(4),
                "Invalid value: \"spec.color\": is an invalid path: expected [ or . but got: spec",
            ),
            (
                INVALID,
                &at(7),
                "Invalid value: \".spec.nope\": is an invalid path: does not refer to a valid field",
            ),
            (REQUIRED, &at(8), "Required value"),
        ],
    );
    // At most eight distinct fields.
    let many: Vec<Value> = (0..9)
        .map(|i| json!({"jsonPath": format!(".spec.labels.k{i}")}))
        .collect();
    assert_invalid(
        &send(
            &s,
            "POST",
            CRDS,
            &thing_crd(names.clone(), with_fields(json!(many))),
        )
        .await,
        CRD_KIND,
        "things.example.com",
        &[(
            "FieldValueTooMany",
            "spec.selectableFields",
            "Too many: 9: must have at most 8 items",
        )],
    );
    // Versions sharing one schema but listing different fields: kube's internal form has no
    // per-version schema to check them against.
    let versions = json!([
        {"name": "v1", "served": true, "storage": true, "schema": typed_schema(),
         "selectableFields": [{"jsonPath": ".spec.color"}]},
        {"name": "v2", "served": true, "storage": false, "schema": typed_schema()}
    ]);
    assert_invalid(
        &send(&s, "POST", CRDS, &thing_crd(names.clone(), versions)).await,
        CRD_KIND,
        "things.example.com",
        &[(
            INVALID,
            "spec.versions[0].selectableFields",
            "Invalid value: \"\": selectableFields may only be set when version.schema.openAPIV3Schema is not included",
        )],
    );
    let ok = with_fields(
        json!([{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.size"},
        {"jsonPath": ".spec.on"}, {"jsonPath": ".spec.labels.team"}]),
    );
    let r = send(&s, "POST", CRDS, &thing_crd(names, ok)).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn custom_resource_definition_stored_versions_and_immutable_scope() {
    let s = server().await;
    let names = json!({"plural": "things", "kind": "Thing"});
    let version = |name: &str, storage: bool| json!({"name": name, "served": true, "storage": storage, "schema": open_schema()});
    // No storage version: nothing can be recorded as stored either.
    let r = send(
        &s,
        "POST",
        CRDS,
        &thing_crd(names.clone(), json!([version("v1", false)])),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let last = r.body["details"]["causes"]
        .as_array()
        .and_then(|c| c.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (last["field"].as_str(), last["message"].as_str()),
        (
            Some("status.storedVersions"),
            Some("Invalid value: null: must have at least one stored version")
        ),
        "{}",
        r.body
    );
    let created = create(
        &s,
        CRDS,
        &thing_crd(names.clone(), json!([version("v1", true)])),
    )
    .await;
    assert_eq!(created["status"]["storedVersions"], json!(["v1"]));
    // Dropping v1, still stored, is refused until a migration removes it from storedVersions.
    let mut moved = created.clone();
    moved["spec"]["versions"] = json!([version("v2", true)]);
    assert_invalid(
        &replace(
            &s,
            &format!("{CRDS}/things.example.com"),
            &created,
            moved.clone(),
        )
        .await,
        CRD_KIND,
        "things.example.com",
        &[(
            INVALID,
            "status.storedVersions[0]",
            "Invalid value: \"v1\": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions",
        )],
    );
    // Keeping v1 served next to the new storage version records v2 as stored too.
    moved["spec"]["versions"] = json!([version("v1", false), version("v2", true)]);
    let r = replace(&s, &format!("{CRDS}/things.example.com"), &created, moved).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["status"]["storedVersions"], json!(["v1", "v2"]));
    // An established CRD keeps its scope.
    let mut scoped = r.body.clone();
    scoped["spec"]["scope"] = "Cluster".into();
    assert_invalid(
        &replace(&s, &format!("{CRDS}/things.example.com"), &r.body, scoped).await,
        CRD_KIND,
        "things.example.com",
        &[(
            INVALID,
            "spec.scope",
            "Invalid value: \"Cluster\": field is immutable",
        )],
    );
}

#[tokio::test]
async fn deployment_and_replica_set_status_counts() {
    let s = server().await;
    let deploys = "/apis/apps/v1/namespaces/default/deployments";
    let stored = create(&s, deploys, &common::deployment("web", 2)).await;
    let path = format!("{deploys}/web/status");
    let mut bad = stored.clone();
    bad["status"] = json!({"observedGeneration": -1, "replicas": 2, "updatedReplicas": 3,
        "readyReplicas": 1, "availableReplicas": 2, "unavailableReplicas": -1});
    assert_invalid(
        &replace(&s, &path, &stored, bad).await,
        "Deployment.apps",
        "web",
        &[
            (
                INVALID,
                "status.observedGeneration",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                INVALID,
                "status.unavailableReplicas",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                INVALID,
                "status.updatedReplicas",
                "Invalid value: 3: cannot be greater than status.replicas",
            ),
            (
                INVALID,
                "status.availableReplicas",
                "Invalid value: 2: cannot be greater than readyReplicas",
            ),
        ],
    );
    // A valid status is written; collisionCount may not go down afterwards.
    let mut good = stored.clone();
    good["status"] =
        json!({"replicas": 2, "readyReplicas": 2, "availableReplicas": 1, "collisionCount": 2});
    let r = replace(&s, &path, &stored, good).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let written = r.body;
    let mut lower = written.clone();
    lower["status"]["collisionCount"] = 1.into();
    assert_invalid(
        &replace(&s, &path, &written, lower).await,
        "Deployment.apps",
        "web",
        &[(
            INVALID,
            "status.collisionCount",
            "Invalid value: 1: cannot be decremented",
        )],
    );

    let sets = "/apis/apps/v1/namespaces/default/replicasets";
    let mut rs = common::deployment("rs", 1);
    rs["kind"] = "ReplicaSet".into();
    rs["spec"].as_object_mut().expect("spec").remove("strategy");
    let stored = create(&s, sets, &rs).await;
    let mut bad = stored.clone();
    bad["status"] = json!({"replicas": 1, "fullyLabeledReplicas": 2, "readyReplicas": -1});
    assert_invalid(
        &replace(&s, &format!("{sets}/rs/status"), &stored, bad).await,
        "ReplicaSet.apps",
        "rs",
        &[
            (
                INVALID,
                "status.readyReplicas",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                INVALID,
                "status.fullyLabeledReplicas",
                "Invalid value: 2: cannot be greater than status.replicas",
            ),
            // Go's zero availableReplicas is above a negative readyReplicas.
            (
                INVALID,
                "status.availableReplicas",
                "Invalid value: 0: cannot be greater than readyReplicas",
            ),
        ],
    );
}

const JOB_STATUS_TIME: &str = "2026-01-01T00:00:00Z";
const JOB_END_TIME: &str = "2026-01-01T00:01:00Z";

/// A Job's `/status` write through kube::Api: the stored Job, or the 422's causes as
/// (reason, field, message).
async fn job_status(
    api: &kube::Api<k8s_openapi::api::batch::v1::Job>,
    status: Value,
) -> Result<Value, Vec<(String, String, String)>> {
    use kube::api::{Patch, PatchParams};
    let patch = Patch::Merge(json!({ "status": status }));
    match api.patch_status("j", &PatchParams::default(), &patch).await {
        Ok(job) => Ok(serde_json::to_value(job).expect("job json")),
        Err(kube::Error::Api(s)) => {
            let s = serde_json::to_value(&*s).expect("status json");
            assert_eq!(s["code"], 422, "{s}");
            Err(s["details"]["causes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let f = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
                    (f("reason"), f("field"), f("message"))
                })
                .collect())
        }
        Err(e) => panic!("status patch: {e}"),
    }
}

fn causes(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(r, f, m)| ((*r).to_owned(), (*f).to_owned(), (*m).to_owned()))
        .collect()
}

fn conditions(list: &[(&str, &str)]) -> Value {
    list.iter()
        .map(|(t, s)| json!({"type": t, "status": s}))
        .collect()
}

/// A fresh Job `j` in the default namespace with `spec` (and a pod template), through
/// kube::Api.
async fn job_api(
    s: &apiserver::ApiServer,
    mut spec: Value,
) -> kube::Api<k8s_openapi::api::batch::v1::Job> {
    let api = kube::Api::namespaced(s.client().expect("client"), "default");
    spec["template"] = json!({"spec": {"restartPolicy": "Never",
        "containers": [{"name": "c", "image": "busybox"}]}});
    let job: k8s_openapi::api::batch::v1::Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": spec,
    }))
    .expect("job");
    api.create(&Default::default(), &job)
        .await
        .expect("create job");
    api
}

#[tokio::test]
async fn job_status_transitions_follow_kubes_job_status_strategy() {
    let s = server().await;
    let api = job_api(&s, json!({})).await;
    let c = "status.conditions";
    // Complete=True alone: kube's causes in validateJobStatus's order.
    assert_eq!(
        job_status(
            &api,
            json!({"conditions": conditions(&[("Complete", "True")])})
        )
        .await,
        Err(causes(&[
            (
                REQUIRED,
                "status.completionTime",
                "Required value: completionTime is required for Complete jobs"
            ),
            (
                INVALID,
                c,
                "Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition"
            ),
            (
                REQUIRED,
                "status.startTime",
                "Required value: startTime is required for finished job"
            ),
        ]))
    );
    // Failed=True needs FailureTarget=True first.
    assert_eq!(
        job_status(
            &api,
            json!({"startTime": JOB_STATUS_TIME,
            "conditions": conditions(&[("Failed", "True")])})
        )
        .await,
        Err(causes(&[(
            INVALID,
            c,
            "Invalid value: cannot set Failed=True condition without the FailureTarget=true condition",
        )]))
    );
    // What the Job controller writes: startTime with the first pod, then SuccessCriteriaMet,
    // then Complete with completionTime once no pod is left.
    let started = job_status(
        &api,
        json!({"startTime": JOB_STATUS_TIME, "active": 1, "ready": 0,
        "terminating": 0, "failed": 2, "uncountedTerminatedPods": {}}),
    )
    .await
    .expect("startTime accepted");
    assert_eq!(started["status"]["startTime"], JOB_STATUS_TIME);
    // The failed counter never goes down.
    assert_eq!(
        job_status(&api, json!({"failed": 1})).await,
        Err(causes(&[(
            INVALID,
            "status.failed",
            "Invalid value: 1: cannot decrease the failed counter"
        )]))
    );
    job_status(
        &api,
        json!({"active": 0, "succeeded": 1,
        "conditions": conditions(&[("SuccessCriteriaMet", "True")])}),
    )
    .await
    .expect("SuccessCriteriaMet accepted");
    // completionTime before startTime is refused, with the time as kube prints it.
    assert_eq!(
        job_status(
            &api,
            json!({"completionTime": "2025-12-31T23:59:59Z",
            "conditions": conditions(&[("SuccessCriteriaMet", "True"), ("Complete", "True")])})
        )
        .await,
        Err(causes(&[(
            INVALID,
            "status.completionTime",
            "Invalid value: \"2025-12-31T23:59:59Z\": completionTime cannot be set before startTime",
        )]))
    );
    let done = job_status(
        &api,
        json!({"completionTime": JOB_END_TIME,
        "conditions": conditions(&[("SuccessCriteriaMet", "True"), ("Complete", "True")])}),
    )
    .await
    .expect("Complete accepted");
    assert_eq!(done["status"]["completionTime"], JOB_END_TIME);
    // A terminal condition stays.
    assert_eq!(
        job_status(&api, json!({"conditions": conditions(&[("SuccessCriteriaMet", "True"), ("Complete", "False")])})).await,
        Err(causes(&[
            (INVALID, "status.completionTime", &format!("Invalid value: \"{JOB_END_TIME}\": cannot set completionTime when there is no Complete=True condition")),
            (INVALID, c, "Invalid value: cannot disable the terminal Complete=True condition"),
        ]))
    );
}

/// Server-side apply to a Job's `/status` goes through the same status validation as a patch
/// or an update (kube runs the status strategy's ValidateUpdate after the apply's merge), and
/// its field manager owns the status fields under the `status` subresource.
#[tokio::test]
async fn job_status_applied_server_side_is_validated_as_kube_does() {
    let s = server().await;
    job_api(&s, json!({})).await;
    let path = "/apis/batch/v1/namespaces/default/jobs/j/status";
    let config = |status: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "status": status});
    // A bare Complete condition, as the suites used to write: kube's 422.
    let bare = common::apply(
        &s,
        path,
        "job-controller",
        "&force=true",
        &config(json!({"conditions": conditions(&[("Complete", "True")])})),
    )
    .await;
    assert_eq!(bare.code, 422, "{}", bare.body);
    let fields: Vec<&str> = bare.body["details"]["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| c["field"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        fields,
        [
            "status.completionTime",
            "status.conditions",
            "status.startTime"
        ],
        "{}",
        bare.body
    );
    // What the Job controller writes is accepted, and owned under the status subresource.
    let done = common::apply(
        &s,
        path,
        "job-controller",
        "&force=true",
        &config(json!({
            "startTime": JOB_STATUS_TIME, "completionTime": JOB_END_TIME,
            "active": 0, "succeeded": 1, "failed": 0, "terminating": 0, "ready": 0,
            "uncountedTerminatedPods": {},
            "conditions": conditions(&[("SuccessCriteriaMet", "True"), ("Complete", "True")]),
        })),
    )
    .await;
    assert_eq!(done.code, 200, "{}", done.body);
    assert_eq!(done.body["status"]["completionTime"], JOB_END_TIME);
    let managed = done.body["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields");
    assert!(
        managed.iter().any(|m| m["manager"] == "job-controller"
            && m["operation"] == "Apply"
            && m["subresource"] == "status"
            && m["fieldsV1"]["f:status"]["f:completionTime"].is_object()),
        "{managed:?}"
    );
    // A later apply that drops Complete is refused: a terminal condition stays.
    let undone = common::apply(
        &s,
        path,
        "job-controller",
        "&force=true",
        &config(json!({
            "startTime": JOB_STATUS_TIME, "active": 0, "succeeded": 1,
            "conditions": conditions(&[("SuccessCriteriaMet", "True")]),
        })),
    )
    .await;
    assert_eq!(undone.code, 422, "{}", undone.body);
    assert!(
        undone.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot disable the terminal Complete=True condition")),
        "{}",
        undone.body
    );
}

#[tokio::test]
async fn job_status_rules_guard_only_the_fields_that_change() {
    let s = server().await;
    let api = job_api(&s, json!({"suspend": true, "completions": 0})).await;
    // kubernetes#132144: a suspended Job with completions=0 completes without a startTime.
    let complete = conditions(&[("SuccessCriteriaMet", "True"), ("Complete", "True")]);
    job_status(
        &api,
        json!({"completionTime": JOB_END_TIME, "conditions": complete}),
    )
    .await
    .expect("completes without startTime while suspended");
    // Resumed, the stored status now breaks "startTime is required for finished job"...
    let resume = kube::api::Patch::Merge(json!({"spec": {"suspend": false}}));
    api.patch("j", &Default::default(), &resume)
        .await
        .expect("resume");
    // ...which does not block a write that leaves startTime and the terminal state alone.
    let mut more = complete.as_array().expect("conditions").clone();
    more.push(json!({"type": "Custom", "status": "True"}));
    job_status(&api, json!({"conditions": more}))
        .await
        .expect("unrelated write accepted");
    // A write that changes a guarded field is checked by that field's rule only.
    assert_eq!(
        job_status(&api, json!({"active": 1, "ready": 2})).await,
        Err(causes(&[
            (
                INVALID,
                "status.active",
                "Invalid value: 1: active>0 is invalid for finished job"
            ),
            (
                INVALID,
                "status.ready",
                "Invalid value: 2: cannot set more ready pods than active"
            ),
        ]))
    );
    // A finished Job's uncountedTerminatedPods stay empty.
    assert_eq!(
        job_status(&api, json!({"uncountedTerminatedPods": {"failed": ["a"]}})).await,
        Err(causes(&[(
            INVALID,
            "status.uncountedTerminatedPods",
            "Invalid value: {\"Succeeded\":null,\"Failed\":[\"a\"]}: uncountedTerminatedPods needs to be empty for finished job",
        )]))
    );
}
