//! What a fresh server holds besides namespaces: kube-apiserver's bootstrap RBAC policy (names
//! checked against the list recorded from `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`, labels,
//! annotations, aggregation) and the computed, read-only ComponentStatuses; with kubectl.

mod common;

use std::collections::BTreeSet;

use common::kubectl::Kubectl;
use common::send;
use serde_json::{Value, json};

/// The cluster roles of kube 1.37's bootstrap policy with default feature gates, recorded from
/// policy.go (`clusterRoles()`) and controller_policy.go (`buildControllerRoles()`).
const CLUSTER_ROLES: &[&str] = &[
    "admin",
    "cluster-admin",
    "edit",
    "view",
    "system:aggregate-to-admin",
    "system:aggregate-to-edit",
    "system:aggregate-to-view",
    "system:auth-delegator",
    "system:basic-user",
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
    "system:certificates.k8s.io:kube-apiserver-client-approver",
    "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
    "system:certificates.k8s.io:kubelet-serving-approver",
    "system:certificates.k8s.io:legacy-unknown-approver",
    "system:discovery",
    "system:heapster",
    "system:kube-aggregator",
    "system:kube-controller-manager",
    "system:kube-dns",
    "system:kube-scheduler",
    "system:kubelet-api-admin",
    "system:monitoring",
    "system:node",
    "system:node-bootstrapper",
    "system:node-problem-detector",
    "system:node-proxier",
    "system:persistent-volume-provisioner",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
    "system:volume-scheduler",
    "system:controller:attachdetach-controller",
    "system:controller:certificate-controller",
    "system:controller:clusterrole-aggregation-controller",
    "system:controller:cronjob-controller",
    "system:controller:daemon-set-controller",
    "system:controller:deployment-controller",
    "system:controller:disruption-controller",
    "system:controller:endpoint-controller",
    "system:controller:endpointslice-controller",
    "system:controller:endpointslicemirroring-controller",
    "system:controller:ephemeral-volume-controller",
    "system:controller:expand-controller",
    "system:controller:generic-garbage-collector",
    "system:controller:horizontal-pod-autoscaler",
    "system:controller:job-controller",
    "system:controller:legacy-service-account-token-cleaner",
    "system:controller:namespace-controller",
    "system:controller:node-controller",
    "system:controller:persistent-volume-binder",
    "system:controller:pod-garbage-collector",
    "system:controller:pv-protection-controller",
    "system:controller:pvc-protection-controller",
    "system:controller:replicaset-controller",
    "system:controller:replication-controller",
    "system:controller:resource-claim-controller",
    "system:controller:resourcequota-controller",
    "system:controller:root-ca-cert-publisher",
    "system:controller:route-controller",
    "system:controller:service-account-controller",
    "system:controller:service-cidrs-controller",
    "system:controller:service-controller",
    "system:controller:statefulset-controller",
    "system:controller:storage-version-migrator-controller",
    "system:controller:ttl-after-finished-controller",
    "system:controller:ttl-controller",
    "system:controller:validatingadmissionpolicy-status-controller",
    "system:controller:volumeattributesclass-protection-controller",
];

/// The cluster role bindings of policy.go's `clusterRoleBindings()`; every controller role also
/// has a binding of its own name.
const CLUSTER_ROLE_BINDINGS: &[&str] = &[
    "cluster-admin",
    "system:basic-user",
    "system:discovery",
    "system:kube-controller-manager",
    "system:kube-dns",
    "system:kube-scheduler",
    "system:monitoring",
    "system:node",
    "system:node-proxier",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
    "system:volume-scheduler",
];

/// namespace_policy.go: Roles and RoleBindings by namespace.
const ROLES: &[(&str, &str)] = &[
    ("kube-public", "system:controller:bootstrap-signer"),
    ("kube-system", "extension-apiserver-authentication-reader"),
    (
        "kube-system",
        "system::leader-locking-kube-controller-manager",
    ),
    ("kube-system", "system::leader-locking-kube-scheduler"),
    ("kube-system", "system:controller:bootstrap-signer"),
    ("kube-system", "system:controller:cloud-provider"),
    ("kube-system", "system:controller:token-cleaner"),
];
const ROLE_BINDINGS: &[(&str, &str)] = &[
    ("kube-public", "system:controller:bootstrap-signer"),
    (
        "kube-system",
        "system::extension-apiserver-authentication-reader",
    ),
    (
        "kube-system",
        "system::leader-locking-kube-controller-manager",
    ),
    ("kube-system", "system::leader-locking-kube-scheduler"),
    ("kube-system", "system:controller:bootstrap-signer"),
    ("kube-system", "system:controller:cloud-provider"),
    ("kube-system", "system:controller:token-cleaner"),
];

async fn items(s: &apiserver::ApiServer, path: &str) -> Vec<Value> {
    let r = send(s, "GET", path, &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

fn names(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

fn ns_names(items: &[Value]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|i| {
            (
                i["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
                i["metadata"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bootstrap_rbac_objects_match_the_recorded_sources() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let roles = items(&s, "/apis/rbac.authorization.k8s.io/v1/clusterroles").await;
    let want: BTreeSet<String> = CLUSTER_ROLES.iter().map(|n| (*n).to_owned()).collect();
    assert_eq!(
        names(&roles),
        want,
        "cluster roles drifted from the recorded list"
    );
    let bindings = items(&s, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings").await;
    let want: BTreeSet<String> = CLUSTER_ROLE_BINDINGS
        .iter()
        .map(|n| (*n).to_owned())
        .chain(
            CLUSTER_ROLES
                .iter()
                .filter(|n| n.starts_with("system:controller:"))
                .map(|n| (*n).to_owned()),
        )
        .collect();
    assert_eq!(names(&bindings), want, "cluster role bindings drifted");
    let ns_roles = items(&s, "/apis/rbac.authorization.k8s.io/v1/roles").await;
    let want: BTreeSet<(String, String)> = ROLES
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    assert_eq!(ns_names(&ns_roles), want);
    let ns_bindings = items(&s, "/apis/rbac.authorization.k8s.io/v1/rolebindings").await;
    let want: BTreeSet<(String, String)> = ROLE_BINDINGS
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    assert_eq!(ns_names(&ns_bindings), want);

    for obj in roles
        .iter()
        .chain(&bindings)
        .chain(&ns_roles)
        .chain(&ns_bindings)
    {
        assert_eq!(
            obj["metadata"]["labels"]["kubernetes.io/bootstrapping"], "rbac-defaults",
            "{obj}"
        );
        assert_eq!(
            obj["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
            "true"
        );
    }
    let get = |name: &str| {
        roles
            .iter()
            .find(|r| r["metadata"]["name"] == name)
            .cloned()
            .expect("role")
    };
    assert_eq!(
        get("cluster-admin")["rules"],
        json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}])
    );
    let view = get("view");
    assert_eq!(
        view["aggregationRule"],
        json!({"clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]})
    );
    assert_eq!(
        view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"],
        "true"
    );
    assert!(
        view["rules"].as_array().is_some_and(|r| !r.is_empty()),
        "view carries the aggregated rules"
    );
    let admin = get("admin");
    let grants = |role: &Value, group: &str, resource: &str, verb: &str| {
        role["rules"].as_array().into_iter().flatten().any(|r| {
            r["apiGroups"]
                .as_array()
                .is_some_and(|g| g.iter().any(|x| x == group))
                && r["resources"]
                    .as_array()
                    .is_some_and(|x| x.iter().any(|x| x == resource))
                && r["verbs"]
                    .as_array()
                    .is_some_and(|x| x.iter().any(|x| x == verb))
        })
    };
    assert!(grants(
        &admin,
        "rbac.authorization.k8s.io",
        "rolebindings",
        "create"
    ));
    assert!(
        grants(&admin, "apps", "deployments", "create"),
        "admin aggregates edit"
    );
    assert!(
        grants(&admin, "", "pods", "list"),
        "admin aggregates view through edit"
    );
    assert!(
        !grants(&view, "", "secrets", "get"),
        "view never reads secrets"
    );
    let ca = bindings
        .iter()
        .find(|b| b["metadata"]["name"] == "cluster-admin")
        .expect("binding");
    assert_eq!(
        ca["subjects"],
        json!([{"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}])
    );
    let gc = bindings
        .iter()
        .find(|b| b["metadata"]["name"] == "system:controller:generic-garbage-collector")
        .expect("binding");
    assert_eq!(
        gc["subjects"],
        json!([{"kind": "ServiceAccount", "name": "generic-garbage-collector", "namespace": "kube-system"}])
    );
}

#[tokio::test]
async fn component_statuses_are_computed_and_read_only() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let list = send(&s, "GET", "/api/v1/componentstatuses", &Value::Null).await;
    assert_eq!(list.code, 200);
    assert_eq!(list.body["kind"], "ComponentStatusList");
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["scheduler", "controller-manager", "etcd-0"]);
    let warning = list
        .headers
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        warning.contains("v1 ComponentStatus is deprecated in v1.19+"),
        "{warning}"
    );
    let etcd = send(&s, "GET", "/api/v1/componentstatuses/etcd-0", &Value::Null).await;
    assert_eq!(etcd.body["conditions"][0]["status"], "True");
    let sched = send(
        &s,
        "GET",
        "/api/v1/componentstatuses/scheduler",
        &Value::Null,
    )
    .await;
    assert_eq!(sched.body["conditions"][0]["status"], "False");
    assert!(
        sched.body["conditions"][0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("no scheduler")
    );
    assert_eq!(
        send(&s, "GET", "/api/v1/componentstatuses/nope", &Value::Null)
            .await
            .code,
        404
    );
    assert_eq!(
        send(
            &s,
            "POST",
            "/api/v1/componentstatuses",
            &json!({"metadata": {"name": "x"}})
        )
        .await
        .code,
        405
    );
    assert_eq!(
        send(
            &s,
            "DELETE",
            "/api/v1/componentstatuses/etcd-0",
            &Value::Null
        )
        .await
        .code,
        405
    );
    // With garbage collection off, no controller runs here: the controller-manager reports so.
    let off = apiserver::ApiServer::builder()
        .garbage_collection(false)
        .start()
        .await
        .expect("start");
    let cm = send(
        &off,
        "GET",
        "/api/v1/componentstatuses/controller-manager",
        &Value::Null,
    )
    .await;
    assert_eq!(cm.body["conditions"][0]["status"], "False");
    // Discovery lists only get and list.
    let core = send(&s, "GET", "/api/v1", &Value::Null).await;
    let cs = core.body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "componentstatuses")
        .cloned()
        .expect("listed");
    assert_eq!(cs["verbs"], json!(["get", "list"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_clusterroles_and_cs() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&s, "kubectl_get_clusterroles_and_cs") else {
        return;
    };
    let out = k.ok(&["get", "clusterroles", "-o", "name"]).await;
    for want in [
        "clusterrole.rbac.authorization.k8s.io/cluster-admin",
        "clusterrole.rbac.authorization.k8s.io/view",
    ] {
        assert!(out.lines().any(|l| l == want), "{want} missing: {out}");
    }
    let out = k.run(&["get", "cs"]).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("etcd-0") && out.stdout.contains("scheduler"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("deprecated"),
        "kubectl shows the deprecation warning: {}",
        out.stderr
    );
}
