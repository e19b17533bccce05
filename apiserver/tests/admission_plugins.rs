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

const LIMIT_RANGES: &str = "/api/v1/namespaces/default/limitranges";
const CLAIMS: &str = "/api/v1/namespaces/default/persistentvolumeclaims";
const VOLUMES: &str = "/api/v1/persistentvolumes";
const STORAGE_CLASSES: &str = "/apis/storage.k8s.io/v1/storageclasses";

fn claim(name: &str, storage: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {"accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage}}}})
}

fn assert_refused(r: &common::Raw, message: &str) {
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["message"], message, "{}", r.body);
}

#[tokio::test]
async fn limit_ranges_default_and_bound_pods_and_claims() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        LIMIT_RANGES,
        &json!({"metadata": {"name": "limits"}, "spec": {"limits": [
            {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
             "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "1"}},
            {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}},
        ]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "POST", PODS, &pod("defaulted", json!({}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}})
    );
    assert_eq!(
        r.body["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c",
        "the stored LimitRange's defaultRequest has memory too (kube's LimitRangeItem defaulting)"
    );
    let greedy = pod(
        "greedy",
        json!({"containers": [{"name": "c", "image": "busybox",
            "resources": {"limits": {"cpu": "2"}, "requests": {"cpu": "1500m"}}}]}),
    );
    assert_refused(
        &send(&s, "POST", PODS, &greedy).await,
        "pods \"greedy\" is forbidden: maximum cpu usage per Container is 1, but limit is 2",
    );
    assert_refused(
        &send(&s, "POST", CLAIMS, &claim("big", "20Gi")).await,
        "persistentvolumeclaims \"big\" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi",
    );
    assert_refused(
        &send(&s, "POST", CLAIMS, &claim("small", "100Mi")).await,
        "persistentvolumeclaims \"small\" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 100Mi",
    );
    let ok = send(&s, "POST", CLAIMS, &claim("fits", "5Gi")).await;
    assert_eq!(ok.code, 201, "{}", ok.body);
    // Another namespace's pods are not bounded by this LimitRange.
    let other = send(&s, "POST", "/api/v1/namespaces/kube-public/pods", &greedy).await;
    assert_eq!(other.code, 201, "{}", other.body);
}

#[tokio::test]
async fn a_new_node_is_tainted_not_ready() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/api/v1/nodes",
        &json!({"metadata": {"name": "n1"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["spec"]["taints"],
        json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])
    );
    // A node that already has it keeps one.
    let r = send(
        &s,
        "POST",
        "/api/v1/nodes",
        &json!({"metadata": {"name": "n2"}, "spec": {"taints": [
            {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
            {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["taints"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn claims_and_ingresses_get_the_newest_default_class() {
    let s = server().await;
    let class = |name: &str, default: bool| {
        json!({"metadata": {"name": name, "annotations":
            {"storageclass.kubernetes.io/is-default-class": if default { "true" } else { "false" }}},
            "provisioner": "example.com/disk"})
    };
    // No default class: the claim is stored as sent.
    let r = send(&s, "POST", CLAIMS, &claim("before", "1Gi")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(
        r.body["spec"].get("storageClassName").is_none(),
        "{}",
        r.body
    );
    for (name, default) in [("fast", true), ("slow", false)] {
        let r = send(&s, "POST", STORAGE_CLASSES, &class(name, default)).await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let r = send(&s, "POST", CLAIMS, &claim("defaulted", "1Gi")).await;
    assert_eq!(r.body["spec"]["storageClassName"], "fast", "{}", r.body);
    // "" is a choice (no class), and the beta annotation names a class too.
    let mut none = claim("none", "1Gi");
    none["spec"]["storageClassName"] = "".into();
    let r = send(&s, "POST", CLAIMS, &none).await;
    assert_eq!(r.body["spec"]["storageClassName"], "", "{}", r.body);
    let mut beta = claim("beta", "1Gi");
    beta["metadata"]["annotations"] = json!({"volume.beta.kubernetes.io/storage-class": "slow"});
    let r = send(&s, "POST", CLAIMS, &beta).await;
    assert!(
        r.body["spec"].get("storageClassName").is_none(),
        "{}",
        r.body
    );

    let ingresses = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    let ingress = |name: &str| json!({"metadata": {"name": name}, "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}});
    let r = send(&s, "POST", ingresses, &ingress("plain")).await;
    assert!(
        r.body["spec"].get("ingressClassName").is_none(),
        "{}",
        r.body
    );
    let r = send(
        &s,
        "POST",
        "/apis/networking.k8s.io/v1/ingressclasses",
        &json!({"metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "example.com/ingress"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "POST", ingresses, &ingress("classed")).await;
    assert_eq!(r.body["spec"]["ingressClassName"], "nginx", "{}", r.body);
    let mut legacy = ingress("legacy");
    legacy["metadata"]["annotations"] = json!({"kubernetes.io/ingress.class": "other"});
    let r = send(&s, "POST", ingresses, &legacy).await;
    assert!(
        r.body["spec"].get("ingressClassName").is_none(),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_claim_in_use_by_a_scheduled_pod_stays_until_the_pod_is_gone() {
    let s = server().await;
    let r = send(&s, "POST", CLAIMS, &claim("data", "1Gi")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["metadata"]["finalizers"],
        json!(["kubernetes.io/pvc-protection"])
    );
    let user = pod(
        "user",
        json!({"nodeName": "n1", "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}),
    );
    assert_eq!(send(&s, "POST", PODS, &user).await.code, 201);
    let deleted = send(&s, "DELETE", &format!("{CLAIMS}/data"), &Value::Null).await;
    assert_eq!(deleted.code, 200, "{}", deleted.body);
    let held = send(&s, "GET", &format!("{CLAIMS}/data"), &Value::Null).await;
    assert_eq!(
        held.code, 200,
        "held by its finalizer while the pod uses it"
    );
    assert!(held.body["metadata"]["deletionTimestamp"].is_string());
    // The pod's removal frees it, in the same write.
    let gone = send(
        &s,
        "DELETE",
        &format!("{PODS}/user?gracePeriodSeconds=0"),
        &Value::Null,
    )
    .await;
    assert_eq!(gone.code, 200, "{}", gone.body);
    assert_eq!(
        send(&s, "GET", &format!("{CLAIMS}/data"), &Value::Null)
            .await
            .code,
        404
    );
    // An unused claim goes at once; an unscheduled pod does not use it.
    assert_eq!(
        send(&s, "POST", CLAIMS, &claim("free", "1Gi")).await.code,
        201
    );
    let pending = pod(
        "pending",
        json!({"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "free"}}]}),
    );
    assert_eq!(send(&s, "POST", PODS, &pending).await.code, 201);
    send(&s, "DELETE", &format!("{CLAIMS}/free"), &Value::Null).await;
    assert_eq!(
        send(&s, "GET", &format!("{CLAIMS}/free"), &Value::Null)
            .await
            .code,
        404
    );
}

#[tokio::test]
async fn a_bound_volume_stays_until_it_is_released() {
    let s = server().await;
    let volume = json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"},
        "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}}});
    let r = send(&s, "POST", VOLUMES, &volume).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["metadata"]["finalizers"],
        json!(["kubernetes.io/pv-protection"])
    );
    let status = |phase: &str| json!({"status": {"phase": phase}});
    let r = send(
        &s,
        "PATCH",
        &format!("{VOLUMES}/pv1/status"),
        &status("Bound"),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    send(&s, "DELETE", &format!("{VOLUMES}/pv1"), &Value::Null).await;
    let held = send(&s, "GET", &format!("{VOLUMES}/pv1"), &Value::Null).await;
    assert_eq!(held.code, 200, "a bound volume is in use");
    let r = send(
        &s,
        "PATCH",
        &format!("{VOLUMES}/pv1/status"),
        &status("Released"),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        send(&s, "GET", &format!("{VOLUMES}/pv1"), &Value::Null)
            .await
            .code,
        404
    );

    // Without kube-controller-manager's controllers (envtest's behaviour) the finalizer stays.
    let envtest = apiserver::ApiServer::builder()
        .garbage_collection(false)
        .start()
        .await
        .expect("start");
    assert_eq!(send(&envtest, "POST", VOLUMES, &volume).await.code, 201);
    send(&envtest, "DELETE", &format!("{VOLUMES}/pv1"), &Value::Null).await;
    let kept = send(&envtest, "GET", &format!("{VOLUMES}/pv1"), &Value::Null).await;
    assert_eq!(kept.code, 200);
    assert_eq!(
        kept.body["metadata"]["finalizers"],
        json!(["kubernetes.io/pv-protection"])
    );
}

#[tokio::test]
async fn a_claim_grows_only_when_bound_and_its_class_allows_it() {
    let s = server().await;
    for (name, expand) in [("fixed", false), ("elastic", true)] {
        let r = send(
            &s,
            "POST",
            STORAGE_CLASSES,
            &json!({"metadata": {"name": name}, "provisioner": "example.com/disk", "allowVolumeExpansion": expand}),
        )
        .await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let grow = |name: &str| json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}, "metadata": {"name": name}});
    for class in ["fixed", "elastic"] {
        let mut c = claim(class, "1Gi");
        c["spec"]["storageClassName"] = class.into();
        assert_eq!(send(&s, "POST", CLAIMS, &c).await.code, 201);
    }
    // An unbound claim's request cannot change at all: validation, before the plugin, says so.
    let r = send(&s, "PATCH", &format!("{CLAIMS}/elastic"), &grow("elastic")).await;
    assert_eq!(r.code, 422, "{}", r.body);
    for class in ["fixed", "elastic"] {
        let r = send(
            &s,
            "PATCH",
            &format!("{CLAIMS}/{class}/status"),
            &json!({"status": {"phase": "Bound"}}),
        )
        .await;
        assert_eq!(r.code, 200, "{}", r.body);
    }
    assert_refused(
        &send(&s, "PATCH", &format!("{CLAIMS}/fixed"), &grow("fixed")).await,
        "persistentvolumeclaims \"fixed\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
    );
    let r = send(&s, "PATCH", &format!("{CLAIMS}/elastic"), &grow("elastic")).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["resources"]["requests"]["storage"], "2Gi");
}

#[tokio::test]
async fn a_pods_runtime_class_gives_its_overhead_and_scheduling() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/apis/node.k8s.io/v1/runtimeclasses",
        &json!({"metadata": {"name": "sandbox"}, "handler": "runsc",
            "overhead": {"podFixed": {"cpu": "250m", "memory": "64Mi"}},
            "scheduling": {"nodeSelector": {"runtime": "gvisor"},
                "tolerations": [{"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "sandboxed",
            json!({"runtimeClassName": "sandbox", "nodeSelector": {"disk": "ssd"}}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["spec"]["overhead"],
        json!({"cpu": "250m", "memory": "64Mi"})
    );
    assert_eq!(
        r.body["spec"]["nodeSelector"],
        json!({"disk": "ssd", "runtime": "gvisor"})
    );
    let tolerations = r.body["spec"]["tolerations"]
        .as_array()
        .expect("tolerations");
    assert!(
        tolerations.iter().any(|t| t["key"] == "sandbox"),
        "{tolerations:?}"
    );
    for (name, spec, why) in [
        (
            "ghost",
            json!({"runtimeClassName": "ghost"}),
            "pod rejected: RuntimeClass \"ghost\" not found",
        ),
        (
            "clash",
            json!({"runtimeClassName": "sandbox", "nodeSelector": {"runtime": "kata"}}),
            "conflict: runtimeClass.scheduling.nodeSelector[runtime] = gvisor; pod.spec.nodeSelector[runtime] = kata",
        ),
        (
            "other",
            json!({"runtimeClassName": "sandbox", "overhead": {"cpu": "1"}}),
            "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead",
        ),
        (
            "bare",
            json!({"overhead": {"cpu": "1"}}),
            "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead",
        ),
    ] {
        assert_forbidden(&send(&s, "POST", PODS, &pod(name, spec)).await, name, why);
    }
}

#[tokio::test]
async fn a_bound_pod_gets_its_nodes_topology_labels() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/api/v1/nodes",
        &json!({"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "z1",
            "topology.kubernetes.io/region": "r1", "kubernetes.io/hostname": "n1"}}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        send(&s, "POST", PODS, &pod("later", json!({}))).await.code,
        201
    );
    let r = send(
        &s,
        "POST",
        &format!("{PODS}/later/binding"),
        &json!({"metadata": {"name": "later"}, "target": {"kind": "Node", "name": "n1"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let bound = send(&s, "GET", &format!("{PODS}/later"), &Value::Null).await;
    assert_eq!(
        bound.body["metadata"]["labels"],
        json!({"topology.kubernetes.io/zone": "z1", "topology.kubernetes.io/region": "r1"}),
        "only the topology labels"
    );
    let r = send(&s, "POST", PODS, &pod("direct", json!({"nodeName": "n1"}))).await;
    assert_eq!(
        r.body["metadata"]["labels"]["topology.kubernetes.io/zone"], "z1",
        "{}",
        r.body
    );
    // A node that does not exist gives nothing.
    let r = send(&s, "POST", PODS, &pod("nowhere", json!({"nodeName": "n9"}))).await;
    assert!(r.body["metadata"].get("labels").is_none(), "{}", r.body);
}

#[tokio::test]
async fn a_pod_templates_service_account_alias_is_read() {
    let s = server().await;
    let mut d = common::deployment("web", 1);
    d["spec"]["template"]["spec"]["serviceAccount"] = "builder".into();
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &d,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["spec"]["template"]["spec"]["serviceAccountName"],
        "builder"
    );
    assert_eq!(
        r.body["spec"]["template"]["spec"]["serviceAccount"],
        "builder"
    );
}

/// A CertificateSigningRequest for `signer` whose subject has the Organization `org`.
fn csr(name: &str, signer: &str, org: &str) -> Value {
    use base64::Engine as _;
    let key = rcgen::KeyPair::generate().expect("generate a key");
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, org);
    let pem = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .expect("serialize the request");
    json!({"metadata": {"name": name}, "spec": {
        "request": base64::engine::general_purpose::STANDARD.encode(pem),
        "signerName": signer, "usages": ["client auth"]}})
}

#[tokio::test]
async fn approving_and_signing_a_request_need_the_signers_verbs() {
    const ALICE: &str = "alice-token";
    let s = apiserver::ApiServer::builder()
        .user_token(
            ALICE,
            apiserver::UserInfo::new("alice", &["system:authenticated"]),
        )
        .start()
        .await
        .expect("start");
    let csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    let rbac = "/apis/rbac.authorization.k8s.io/v1";
    let grant = |name: &str, rules: Value| {
        let s = &s;
        let name = name.to_owned();
        async move {
            let r = send(
                s,
                "POST",
                &format!("{rbac}/clusterroles"),
                &json!({"metadata": {"name": name}, "rules": rules}),
            )
            .await;
            assert_eq!(r.code, 201, "{}", r.body);
            let r = send(s, "POST", &format!("{rbac}/clusterrolebindings"), &json!({"metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]})).await;
            assert_eq!(r.code, 201, "{}", r.body);
        }
    };
    grant(
        "csr-writer",
        json!([{"apiGroups": ["certificates.k8s.io"], "verbs": ["get", "update", "patch"],
            "resources": ["certificatesigningrequests/approval", "certificatesigningrequests/status"]}]),
    )
    .await;
    let r = send(&s, "POST", csrs, &csr("c", "example.com/signer", "team")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let as_alice = |path: String, body: Value| {
        let s = &s;
        async move {
            common::raw_with(
                s,
                Some(ALICE),
                "PATCH",
                &path,
                Some("application/merge-patch+json"),
                body.to_string(),
            )
            .await
        }
    };
    let approve = json!({"status": {"conditions": [{"type": "Approved", "status": "True", "reason": "Test"}]}});
    let r = as_alice(format!("{csrs}/c/approval"), approve.clone()).await;
    assert_refused(
        &r,
        "certificatesigningrequests.certificates.k8s.io \"c\" is forbidden: user not permitted to approve requests with signerName \"example.com/signer\"",
    );
    // `approve` on the signer's domain wildcard is enough.
    grant(
        "approver",
        json!([{"apiGroups": ["certificates.k8s.io"], "resources": ["signers"],
            "resourceNames": ["example.com/*"], "verbs": ["approve"]}]),
    )
    .await;
    let r = as_alice(format!("{csrs}/c/approval"), approve).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let issue = json!({"status": {"certificate": common::csr_certificate("c")}});
    let r = as_alice(format!("{csrs}/c/status"), issue.clone()).await;
    assert_refused(
        &r,
        "certificatesigningrequests.certificates.k8s.io \"c\" is forbidden: user not permitted to sign requests with signerName \"example.com/signer\"",
    );
    // system:masters may do everything.
    let r = send(&s, "PATCH", &format!("{csrs}/c/status"), &issue).await;
    assert_eq!(r.code, 200, "{}", r.body);

    // No client certificate for system:masters through the API.
    let r = send(
        &s,
        "POST",
        csrs,
        &csr(
            "root",
            "kubernetes.io/kube-apiserver-client",
            "system:masters",
        ),
    )
    .await;
    assert_refused(
        &r,
        "certificatesigningrequests.certificates.k8s.io \"root\" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed",
    );
    let r = send(
        &s,
        "POST",
        csrs,
        &csr("dev", "kubernetes.io/kube-apiserver-client", "devs"),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}
