//! kube-apiserver's built-in admission plugins that are on by default, over HTTP: ServiceAccount
//! (default name, existence, image pull secrets, the projected token volume), Priority (from the
//! class, the global default or 0; refusals; kept on update) and DefaultTolerationSeconds; the
//! ServiceAccount plugin off with the namespace defaults (envtest's behaviour).

mod common;

use common::send;
use serde_json::{Value, json};

const PODS: &str = "/api/v1/namespaces/default/pods";
const CLASSES: &str = "/apis/scheduling.k8s.io/v1/priorityclasses";
const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn pod(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    if spec.get("containers").is_none() {
        spec["containers"] = json!([{"name": "c", "image": "busybox"}]);
    }
    json!({"metadata": {"name": name}, "spec": spec})
}

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

fn assert_forbidden(r: &common::Raw, name: &str, why: &str) {
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!("pods \"{name}\" is forbidden: {why}"),
        "{}",
        r.body
    );
    assert_eq!(r.body["reason"], "Forbidden");
}

#[tokio::test]
async fn a_new_pod_runs_as_its_service_account_with_the_token_mounted() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "p",
            json!({"initContainers": [{"name": "i", "image": "busybox"}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_eq!(spec["serviceAccountName"], "default");
    assert_eq!(spec["serviceAccount"], "default", "kube's v1 alias");
    let volumes = spec["volumes"].as_array().expect("the token volume");
    assert_eq!(volumes.len(), 1);
    let volume = &volumes[0];
    let name = volume["name"].as_str().expect("name");
    assert!(
        name.starts_with("kube-api-access-") && name.len() == 21,
        "{name}"
    );
    assert_eq!(
        volume["projected"],
        json!({
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
            "defaultMode": 420,
        })
    );
    for list in ["initContainers", "containers"] {
        assert_eq!(
            spec[list][0]["volumeMounts"],
            json!([{"name": name, "readOnly": true, "mountPath": TOKEN_PATH}]),
            "{list}"
        );
    }

    // A named ServiceAccount must exist; its image pull secrets are copied; automounting off on
    // the ServiceAccount (or the pod) mounts nothing.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod("ghost", json!({"serviceAccountName": "ghost"})),
    )
    .await;
    assert_forbidden(
        &r,
        "ghost",
        "error looking up service account default/ghost: serviceaccount \"ghost\" not found",
    );
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        &json!({"metadata": {"name": "bot"}, "automountServiceAccountToken": false,
                "imagePullSecrets": [{"name": "registry"}]}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // The deprecated alias names it too.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod("bot", json!({"serviceAccount": "bot"})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["serviceAccountName"], "bot");
    assert_eq!(
        r.body["spec"]["imagePullSecrets"],
        json!([{"name": "registry"}])
    );
    assert!(r.body["spec"].get("volumes").is_none(), "{}", r.body);
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "own",
            json!({"automountServiceAccountToken": false, "imagePullSecrets": [{"name": "mine"}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(r.body["spec"].get("volumes").is_none(), "{}", r.body);
    assert_eq!(
        r.body["spec"]["imagePullSecrets"],
        json!([{"name": "mine"}])
    );
    // A generated name is not known yet: the refusal names the prefix.
    let mut generated = pod("", json!({"serviceAccountName": "ghost"}));
    generated["metadata"] = json!({"generateName": "web-"});
    assert_forbidden(
        &send(&s, "POST", PODS, &generated).await,
        "web-",
        "error looking up service account default/ghost: serviceaccount \"ghost\" not found",
    );
}

#[tokio::test]
async fn without_the_namespace_defaults_the_service_account_plugin_is_off() {
    let s = apiserver::ApiServer::builder()
        .namespace_defaults(false)
        .start()
        .await
        .expect("start");
    let r = send(&s, "POST", PODS, &pod("p", json!({}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(
        r.body["spec"].get("serviceAccountName").is_none(),
        "{}",
        r.body
    );
    assert!(r.body["spec"].get("volumes").is_none(), "{}", r.body);
    // The other plugins still run.
    assert_eq!(r.body["spec"]["priority"], 0);
    assert_eq!(
        r.body["spec"]["tolerations"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_pods_priority_comes_from_its_class() {
    let s = server().await;
    // No class, no global default: 0 and PreemptLowerPriority.
    let r = send(&s, "POST", PODS, &pod("plain", json!({}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        (
            &r.body["spec"]["priority"],
            &r.body["spec"]["preemptionPolicy"]
        ),
        (&json!(0), &json!("PreemptLowerPriority"))
    );
    assert!(r.body["spec"].get("priorityClassName").is_none());
    // The system classes exist from the start.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "critical",
            json!({"priorityClassName": "system-node-critical"}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["priority"], 2_000_001_000);
    // A missing class, or a priority other than the class's, is refused.
    assert_forbidden(
        &send(
            &s,
            "POST",
            PODS,
            &pod("nope", json!({"priorityClassName": "nope"})),
        )
        .await,
        "nope",
        "no PriorityClass with name nope was found",
    );
    assert_forbidden(
        &send(&s, "POST", PODS, &pod("sets", json!({"priority": 5}))).await,
        "sets",
        "the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name",
    );
    // A global default class names every pod without one; only one may exist.
    let r = send(
        &s,
        "POST",
        CLASSES,
        &json!({"metadata": {"name": "batch"}, "value": 100, "globalDefault": true, "preemptionPolicy": "Never"}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "POST",
        CLASSES,
        &json!({"metadata": {"name": "second"}, "value": 5, "globalDefault": true}),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "priorityclasses.scheduling.k8s.io \"second\" is forbidden: PriorityClass batch is already marked as default. Only one default can exist"
    );
    let r = send(&s, "POST", PODS, &pod("defaulted", json!({}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_eq!(
        (
            &spec["priorityClassName"],
            &spec["priority"],
            &spec["preemptionPolicy"]
        ),
        (&json!("batch"), &json!(100), &json!("Never"))
    );
    assert_forbidden(
        &send(
            &s,
            "POST",
            PODS,
            &pod(
                "policy",
                json!({"preemptionPolicy": "PreemptLowerPriority"}),
            ),
        )
        .await,
        "policy",
        "the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name",
    );
    // An update that omits them keeps them.
    let mut put = r.body.clone();
    if let Some(spec) = put["spec"].as_object_mut() {
        spec.remove("priority");
        spec.remove("preemptionPolicy");
    }
    let r = send(&s, "PUT", &format!("{PODS}/defaulted"), &put).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["priority"], 100);
    assert_eq!(r.body["spec"]["preemptionPolicy"], "Never");
}

#[tokio::test]
async fn pods_tolerate_not_ready_and_unreachable_nodes_for_five_minutes() {
    let s = server().await;
    let r = send(&s, "POST", PODS, &pod("p", json!({"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["spec"]["tolerations"],
        json!([
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10},
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ])
    );
    // A dry run is admitted like a write, and stores nothing.
    let r = send(
        &s,
        "POST",
        &format!("{PODS}?dryRun=All"),
        &pod("dry", json!({})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["spec"]["tolerations"].as_array().map(Vec::len),
        Some(2)
    );
    let r = send(&s, "GET", &format!("{PODS}/dry"), &Value::Null).await;
    assert_eq!(r.code, 404);
}
