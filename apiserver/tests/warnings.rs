//! The `Warning` headers of built-in types' writes, worded as kube's strategies give them:
//! the pod spec checks of Pods and of every type with a pod template
//! (`pkg/api/pod/warnings.go`), and the type-specific ones of Ingress, PersistentVolume,
//! PersistentVolumeClaim, Node, Endpoints, EndpointSlice, StorageClass and RuntimeClass.

mod common;

use common::send;
use serde_json::{Value, json};

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

/// A `Warning` header as the server sends it.
fn header(w: &str) -> String {
    format!("299 - {}", serde_json::to_string(w).unwrap())
}

fn headers(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| header(w)).collect()
}

/// POSTs `obj` to `path`, asserting the 201 and the warnings; returns the stored object.
async fn create_warns(s: &apiserver::ApiServer, path: &str, obj: &Value, want: &[&str]) -> Value {
    let r = send(s, "POST", path, obj).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(common::warnings(&r), headers(want), "create at {path}");
    r.body
}

/// PUTs `obj` over the stored `stored` at `path`/`name`, asserting the 200 and the warnings;
/// returns the stored object.
async fn update_warns(
    s: &apiserver::ApiServer,
    path: &str,
    stored: &Value,
    obj: Value,
    want: &[&str],
) -> Value {
    let name = stored["metadata"]["name"].as_str().unwrap();
    let r = common::replace(s, &format!("{path}/{name}"), stored, obj).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        common::warnings(&r),
        headers(want),
        "update of {path}/{name}"
    );
    r.body
}

const PODS: &str = "/api/v1/namespaces/default/pods";

#[tokio::test]
async fn pods_warn_on_create_only() {
    let s = server().await;
    let pod = json!({
        "metadata": {"name": "web.1", "annotations": {
            "scheduler.alpha.kubernetes.io/critical-pod": "",
            "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
            "container.seccomp.security.alpha.kubernetes.io/app": "runtime/default"}},
        "spec": {
            "nodeSelector": {"beta.kubernetes.io/arch": "amd64"},
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{
                        "key": "failure-domain.beta.kubernetes.io/zone",
                        "operator": "In", "values": ["a"]}]}]}},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}},
            "topologySpreadConstraints": [{"maxSkew": 1,
                "topologyKey": "failure-domain.beta.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule"}],
            "volumes": [
                {"name": "repo", "gitRepo": {"repository": "https://example.com/r.git"}},
                {"name": "cfg", "configMap": {"name": "c", "items": [
                    {"key": "a", "path": "etc"}, {"key": "b", "path": "etc/b"}]}}],
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]},
                {"ip": "10.0.0.1", "hostnames": ["b"]}],
            "imagePullSecrets": [{"name": "reg"}, {"name": "reg"}],
            "terminationGracePeriodSeconds": -1,
            "containers": [{"name": "app", "image": "nginx",
                "resources": {"requests": {"memory": "1m"}},
                "env": [{"name": "A", "value": "x"}, {"name": "A", "value": "y"}],
                "ports": [{"containerPort": 80},
                    {"containerPort": 80, "hostIP": "127.0.0.1"}]}]}
    });
    let stored = create_warns(
        &s,
        PODS,
        &pod,
        &[
            "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]",
            r#"spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "kubernetes.io/arch" instead"#,
            r#"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
            r#"spec.topologySpreadConstraints[0].topologyKey: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
            "spec.topologySpreadConstraints[0].labelSelector: a null labelSelector results in matching no pod",
            r#"metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; use the "priorityClassName" field instead"#,
            "spec.volumes[0].gitRepo: deprecated in v1.11",
            r#"volume "cfg" (ConfigMap "c"): overlapping paths: "etc/b" with "etc""#,
            r#"spec.hostAliases[1].ip: duplicate ip "10.0.0.1""#,
            r#"spec.imagePullSecrets[1].name: duplicate name "reg""#,
            r#"metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
            r#"metadata.annotations[container.seccomp.security.alpha.kubernetes.io/app]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
            r#"spec.containers[0].resources.requests[memory]: fractional byte value "1m" is invalid, must be an integer"#,
            r#"spec.containers[0].env[1]: hides previous definition of "A", which may be dropped when using apply"#,
            "spec.containers[0].ports[1]: hostIP set without hostPort: {Name: HostPort:0 ContainerPort:80 Protocol:TCP HostIP:127.0.0.1}",
            "spec.containers[0].ports[1]: overlapping port definition with spec.containers[0].ports[0]",
            "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1",
            "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector: a null labelSelector results in matching no pod",
        ],
    )
    .await;
    // kube's podStrategy.WarningsOnUpdate gives none, whatever the pod holds.
    let mut changed = stored.clone();
    changed["metadata"]["labels"] = json!({"tier": "web"});
    update_warns(&s, PODS, &stored, changed, &[]).await;
    // A plain pod: none.
    create_warns(
        &s,
        PODS,
        &json!({"metadata": {"name": "plain"},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                "resources": {"requests": {"memory": "64Mi"}}}]}}),
        &[],
    )
    .await;
}

/// A bare Pod's deprecated AppArmor annotations (kube's `applyAppArmorVersionSkew`, in
/// `podStrategy.PrepareForCreate`): on create, each container without a profile field gets the
/// annotation's profile as its field, with the deprecation warning (before the strategy's
/// `WarningsOnCreate`); one naming an invalid profile only warns; one naming the pod's own
/// profile does neither. Updates copy nothing.
#[tokio::test]
async fn a_pods_apparmor_annotations_become_fields_on_create_with_a_warning() {
    let s = server().await;
    let key = |c: &str| format!("container.apparmor.security.beta.kubernetes.io/{c}");
    let warning = |c: &str| {
        format!(
            r#"metadata.annotations[{}]: deprecated since v1.30; use the "appArmorProfile" field instead"#,
            key(c)
        )
    };
    let pod = json!({
        "metadata": {"name": "web.1", "annotations": {
            key("setup"): "localhost/custom", key("app"): "runtime/default",
            key("bad"): "localhost/ padded"}},
        "spec": {
            "initContainers": [{"name": "setup", "image": "busybox"}],
            "containers": [{"name": "app", "image": "nginx"}, {"name": "bad", "image": "nginx"}]}
    });
    let (setup, app, bad) = (warning("setup"), warning("app"), warning("bad"));
    let stored = create_warns(
        &s,
        PODS,
        &pod,
        &[
            &setup,
            &app,
            &bad,
            "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]",
        ],
    )
    .await;
    let profile = |list: &str, i: usize| {
        stored["spec"][list][i]["securityContext"]["appArmorProfile"].clone()
    };
    assert_eq!(
        profile("initContainers", 0),
        json!({"type": "Localhost", "localhostProfile": "custom"})
    );
    assert_eq!(profile("containers", 0), json!({"type": "RuntimeDefault"}));
    assert_eq!(
        profile("containers", 1),
        Value::Null,
        "a padded profile is not copied"
    );
    assert_eq!(
        stored["metadata"]["annotations"][key("app")],
        "runtime/default",
        "the annotation stays"
    );
    // Updates copy nothing and warn of nothing (kube's PrepareForUpdate has no version skew).
    let mut changed = stored.clone();
    changed["metadata"]["labels"] = json!({"tier": "web"});
    let updated = update_warns(&s, PODS, &stored, changed, &[]).await;
    assert_eq!(
        updated["spec"]["containers"][1]["securityContext"]["appArmorProfile"],
        Value::Null
    );

    // The pod's own profile: nothing to copy, nothing to say; a container's own field wins.
    let pod = json!({
        "metadata": {"name": "pinned", "annotations": {
            key("app"): "runtime/default", key("side"): "unconfined"}},
        "spec": {
            "securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "nginx"},
                {"name": "side", "image": "nginx",
                 "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]}
    });
    let stored = create_warns(&s, PODS, &pod, &[]).await;
    assert_eq!(
        stored["spec"]["containers"][0]["securityContext"]["appArmorProfile"],
        Value::Null
    );
}

/// A pod template with a deprecated node label, a container AppArmor annotation without the
/// field (warned about in templates only) and a fractional memory limit (copied to the request
/// only in a Pod's defaulting, not a template's).
fn bad_template() -> Value {
    json!({
        "metadata": {"labels": {"app": "web"}, "annotations": {
            "container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}},
        "spec": {"nodeSelector": {"beta.kubernetes.io/os": "linux"},
            "restartPolicy": "Never",
            "containers": [{"name": "app", "image": "nginx",
                "resources": {"limits": {"memory": "0.5"}}}]}
    })
}

fn good_template() -> Value {
    json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"restartPolicy": "Never",
            "containers": [{"name": "app", "image": "nginx"}]}
    })
}

/// The warnings of `bad_template` at `path`.
fn template_warnings(path: &str) -> Vec<String> {
    vec![
        format!(
            r#"{path}.spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead"#
        ),
        format!(
            r#"{path}.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: deprecated since v1.30; use the "appArmorProfile" field instead"#
        ),
        format!(
            r#"{path}.spec.containers[0].resources.limits[memory]: fractional byte value "500m" is invalid, must be an integer"#
        ),
    ]
}

const NAME_WARNING: &str = "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]";

/// One template-bearing type: where it lives, how to build one around a template, where the
/// template sits, whether a dotted name is warned about, and a spec change that is no template
/// change.
struct Workload {
    path: &'static str,
    build: fn(&str, Value) -> Value,
    template_path: &'static str,
    name_warning: bool,
    change: fn(&mut Value),
}

fn deployment(name: &str, template: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"replicas": 1,
        "selector": {"matchLabels": {"app": "web"}}, "template": with_always(template)}})
}

/// Controllers other than Jobs want `restartPolicy: Always`.
fn with_always(mut template: Value) -> Value {
    template["spec"]["restartPolicy"] = json!("Always");
    template
}

fn replication_controller(name: &str, template: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"replicas": 1,
        "selector": {"app": "web"}, "template": with_always(template)}})
}

fn stateful_set(name: &str, template: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"replicas": 1, "serviceName": "web",
        "selector": {"matchLabels": {"app": "web"}}, "template": with_always(template)}})
}

fn daemon_set(name: &str, template: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {
        "selector": {"matchLabels": {"app": "web"}}, "template": with_always(template)}})
}

fn job(name: &str, template: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"parallelism": 1, "template": template}})
}

fn cron_job(name: &str, template: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"schedule": "*/5 * * * *",
        "jobTemplate": {"spec": {"template": template}}}})
}

fn pod_template(name: &str, template: Value) -> Value {
    json!({"metadata": {"name": name}, "template": template})
}

fn set_replicas(obj: &mut Value) {
    obj["spec"]["replicas"] = json!(2);
}

#[tokio::test]
async fn pod_templates_warn_on_create_and_on_spec_changes() {
    let s = server().await;
    let workloads = [
        Workload {
            path: "/apis/apps/v1/namespaces/default/deployments",
            build: deployment,
            template_path: "spec.template",
            name_warning: true,
            change: set_replicas,
        },
        Workload {
            path: "/apis/apps/v1/namespaces/default/replicasets",
            build: deployment,
            template_path: "spec.template",
            name_warning: true,
            change: set_replicas,
        },
        Workload {
            path: "/apis/apps/v1/namespaces/default/statefulsets",
            build: stateful_set,
            template_path: "spec.template",
            name_warning: false,
            change: set_replicas,
        },
        Workload {
            path: "/apis/apps/v1/namespaces/default/daemonsets",
            build: daemon_set,
            template_path: "spec.template",
            name_warning: false,
            change: |o| o["spec"]["template"]["metadata"]["annotations"]["note"] = json!("x"),
        },
        Workload {
            path: "/apis/batch/v1/namespaces/default/jobs",
            build: job,
            template_path: "spec.template",
            name_warning: true,
            change: |o| o["spec"]["parallelism"] = json!(2),
        },
        Workload {
            path: "/apis/batch/v1/namespaces/default/cronjobs",
            build: cron_job,
            template_path: "spec.jobTemplate.spec.template",
            name_warning: true,
            change: |o| o["spec"]["schedule"] = json!("*/10 * * * *"),
        },
        Workload {
            path: "/api/v1/namespaces/default/podtemplates",
            build: pod_template,
            template_path: "template",
            name_warning: false,
            change: |o| o["template"]["metadata"]["annotations"]["note"] = json!("x"),
        },
    ];
    for w in &workloads {
        let name = if w.name_warning { "web.v1" } else { "web" };
        let mut want: Vec<String> = Vec::new();
        if w.name_warning {
            want.push(header(NAME_WARNING));
        }
        let expected = template_warnings(w.template_path);
        want.extend(expected.iter().map(|t| header(t)));
        let r = send(&s, "POST", w.path, &(w.build)(name, bad_template())).await;
        assert_eq!(r.code, 201, "{}: {}", w.path, r.body);
        assert_eq!(common::warnings(&r), want, "create at {}", w.path);
        let stored = r.body;
        // A spec change: the template's warnings again (not the name's).
        let mut changed = stored.clone();
        (w.change)(&mut changed);
        let refs: Vec<&str> = expected.iter().map(String::as_str).collect();
        let stored = update_warns(&s, w.path, &stored, changed, &refs).await;
        // A metadata-only change: none (no generation change).
        let mut labelled = stored.clone();
        labelled["metadata"]["labels"] = json!({"tier": "web"});
        update_warns(&s, w.path, &stored, labelled, &[]).await;
        // A clean one: none.
        let r = send(&s, "POST", w.path, &(w.build)("clean", good_template())).await;
        assert_eq!(r.code, 201, "{}: {}", w.path, r.body);
        assert_eq!(common::warnings(&r), Vec::<String>::new(), "{}", w.path);
    }
}

const RCS: &str = "/api/v1/namespaces/default/replicationcontrollers";

/// kube's `rcStrategy.WarningsOnUpdate` passes the stored template where the new one belongs:
/// an update warns about what the controller held, not what it now holds.
#[tokio::test]
async fn replication_controllers_warn_about_the_stored_template_on_update() {
    let s = server().await;
    let mut want = vec![NAME_WARNING.to_owned()];
    want.extend(template_warnings("spec.template"));
    let refs: Vec<&str> = want.iter().map(String::as_str).collect();
    let stored = create_warns(
        &s,
        RCS,
        &replication_controller("web.v1", bad_template()),
        &refs,
    )
    .await;
    // Cleaning the template up: the old template's warnings.
    let mut cleaned = stored.clone();
    cleaned["spec"]["template"] = with_always(good_template());
    let expected = template_warnings("spec.template");
    let refs: Vec<&str> = expected.iter().map(String::as_str).collect();
    let stored = update_warns(&s, RCS, &stored, cleaned, &refs).await;
    // Now that the stored template is clean: none, even though the new one is not.
    let mut dirty = stored.clone();
    dirty["spec"]["template"] = with_always(bad_template());
    update_warns(&s, RCS, &stored, dirty, &[]).await;
    create_warns(
        &s,
        RCS,
        &replication_controller("clean", good_template()),
        &[],
    )
    .await;
}

const STATEFUL_SETS: &str = "/apis/apps/v1/namespaces/default/statefulsets";

/// StatefulSet claim templates, on create and on every update (kube spells the claim
/// template's path with `Spec` on update). (Its negative `revisionHistoryLimit` warning is
/// covered by the unit tests: this server's validation refuses a negative limit.)
#[tokio::test]
async fn stateful_sets_warn_about_claim_templates() {
    let s = server().await;
    let mut set = stateful_set("db", good_template());
    set["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1.5"}}}}]);
    let stored = create_warns(
        &s,
        STATEFUL_SETS,
        &set,
        &[
            r#"spec.volumeClaimTemplates[0].resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer"#,
        ],
    )
    .await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "db"});
    update_warns(
        &s,
        STATEFUL_SETS,
        &stored,
        labelled,
        &[
            r#"spec.volumeClaimTemplates[0].Spec.resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer"#,
        ],
    )
    .await;
    create_warns(
        &s,
        STATEFUL_SETS,
        &stateful_set("plain", good_template()),
        &[],
    )
    .await;
}

const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";

#[tokio::test]
async fn ingresses_warn_about_the_class_annotation_on_create() {
    let s = server().await;
    let ingress = |name: &str, spec: Value| {
        json!({"metadata": {"name": name,
            "annotations": {"kubernetes.io/ingress.class": "nginx"}},
            "spec": spec})
    };
    let backend = json!({"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}});
    let stored = create_warns(
        &s,
        INGRESSES,
        &ingress("web", backend.clone()),
        &[r#"annotation "kubernetes.io/ingress.class" is deprecated, please use 'spec.ingressClassName' instead"#],
    )
    .await;
    // ingressStrategy.WarningsOnUpdate gives none.
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "web"});
    update_warns(&s, INGRESSES, &stored, labelled, &[]).await;
    let mut with_class = backend;
    with_class["ingressClassName"] = json!("nginx");
    create_warns(&s, INGRESSES, &ingress("classed", with_class), &[]).await;
}

const PVS: &str = "/api/v1/persistentvolumes";
const PVCS: &str = "/api/v1/namespaces/default/persistentvolumeclaims";

#[tokio::test]
async fn volumes_and_claims_warn_on_create_and_update() {
    let s = server().await;
    let pv = json!({
        "metadata": {"name": "old", "annotations": {
            "volume.beta.kubernetes.io/storage-class": "slow"}},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Recycle",
            "hostPath": {"path": "/tmp/old"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{
                "key": "beta.kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]}}}
    });
    let pv_warnings = [
        r#"metadata.annotations[volume.beta.kubernetes.io/storage-class]: deprecated since v1.8; use "storageClassName" attribute instead"#,
        "spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.",
        r#"spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].key: beta.kubernetes.io/arch is deprecated since v1.14; use "kubernetes.io/arch" instead"#,
    ];
    let stored = create_warns(&s, PVS, &pv, &pv_warnings).await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "old"});
    update_warns(&s, PVS, &stored, labelled, &pv_warnings).await;
    create_warns(
        &s,
        PVS,
        &json!({"metadata": {"name": "new"}, "spec": {"capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/new"}}}),
        &[],
    )
    .await;

    let pvc = json!({
        "metadata": {"name": "data", "annotations": {
            "volume.beta.kubernetes.io/storage-class": "slow"}},
        "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1.5"}}}
    });
    let pvc_warnings = [
        r#"metadata.annotations[volume.beta.kubernetes.io/storage-class]: deprecated since v1.8; use "storageClassName" attribute instead"#,
        r#"spec.resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer"#,
    ];
    let stored = create_warns(&s, PVCS, &pvc, &pvc_warnings).await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "data"});
    update_warns(&s, PVCS, &stored, labelled, &pvc_warnings).await;
    create_warns(
        &s,
        PVCS,
        &json!({"metadata": {"name": "plain"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}),
        &[],
    )
    .await;
}

#[tokio::test]
async fn nodes_endpoints_and_cluster_types_warn_as_kube_does() {
    let s = server().await;
    // Node: the deprecated external ID, on create and update.
    const NODES: &str = "/api/v1/nodes";
    let external = ["spec.externalID: this field is deprecated, and is unused by Kubernetes"];
    let stored = create_warns(
        &s,
        NODES,
        &json!({"metadata": {"name": "n1"}, "spec": {"externalID": "i-123"}}),
        &external,
    )
    .await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "a"});
    update_warns(&s, NODES, &stored, labelled, &external).await;
    create_warns(&s, NODES, &json!({"metadata": {"name": "n2"}}), &[]).await;

    // Endpoints: addresses not in canonical form, on create and update.
    const ENDPOINTS: &str = "/api/v1/namespaces/default/endpoints";
    let endpoints = |name: &str, ip: &str| {
        json!({"metadata": {"name": name}, "subsets": [{"addresses": [{"ip": ip}],
            "ports": [{"port": 80}]}]})
    };
    let ip = [
        r#"subsets[0].addresses[0].ip: IPv6 address "2001:db8:0:0::7" should be in RFC 5952 canonical format ("2001:db8::7")"#,
    ];
    let stored = create_warns(&s, ENDPOINTS, &endpoints("web", "2001:db8:0:0::7"), &ip).await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "a"});
    update_warns(&s, ENDPOINTS, &stored, labelled, &ip).await;
    create_warns(&s, ENDPOINTS, &endpoints("plain", "2001:db8::7"), &[]).await;

    // EndpointSlice: the FQDN address type on create only; addresses on create and update.
    const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
    create_warns(
        &s,
        SLICES,
        &json!({"metadata": {"name": "fqdn"}, "addressType": "FQDN",
            "endpoints": [{"addresses": ["example.com"]}]}),
        &["spec.addressType: FQDN endpoints are deprecated"],
    )
    .await;
    let slice_ip = [
        r#"endpoints[0].addresses[0]: IPv6 address "2001:db8:0:0::7" should be in RFC 5952 canonical format ("2001:db8::7")"#,
    ];
    let stored = create_warns(
        &s,
        SLICES,
        &json!({"metadata": {"name": "v6"}, "addressType": "IPv6",
            "endpoints": [{"addresses": ["2001:db8:0:0::7"]}]}),
        &slice_ip,
    )
    .await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "a"});
    update_warns(&s, SLICES, &stored, labelled, &slice_ip).await;
    create_warns(
        &s,
        SLICES,
        &json!({"metadata": {"name": "plain"}, "addressType": "IPv6",
            "endpoints": [{"addresses": ["2001:db8::7"]}]}),
        &[],
    )
    .await;

    // StorageClass: deprecated node labels in the allowed topologies.
    const CLASSES: &str = "/apis/storage.k8s.io/v1/storageclasses";
    let zone = [
        r#"allowedTopologies[0].matchLabelExpressions[0].key: deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
    ];
    let stored = create_warns(
        &s,
        CLASSES,
        &json!({"metadata": {"name": "zonal"}, "provisioner": "example.com/p",
            "allowedTopologies": [{"matchLabelExpressions": [{
                "key": "failure-domain.beta.kubernetes.io/zone", "values": ["a"]}]}]}),
        &zone,
    )
    .await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "a"});
    update_warns(&s, CLASSES, &stored, labelled, &zone).await;
    create_warns(
        &s,
        CLASSES,
        &json!({"metadata": {"name": "plain"}, "provisioner": "example.com/p"}),
        &[],
    )
    .await;

    // RuntimeClass: deprecated node labels in the scheduling node selector.
    const RUNTIME_CLASSES: &str = "/apis/node.k8s.io/v1/runtimeclasses";
    let os = [r#"scheduling.nodeSelector: deprecated since v1.14; use "kubernetes.io/os" instead"#];
    let stored = create_warns(
        &s,
        RUNTIME_CLASSES,
        &json!({"metadata": {"name": "gvisor"}, "handler": "runsc",
            "scheduling": {"nodeSelector": {"beta.kubernetes.io/os": "linux"}}}),
        &os,
    )
    .await;
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"tier": "a"});
    update_warns(&s, RUNTIME_CLASSES, &stored, labelled, &os).await;
    create_warns(
        &s,
        RUNTIME_CLASSES,
        &json!({"metadata": {"name": "runc"}, "handler": "runc"}),
        &[],
    )
    .await;
}

const SECRETS: &str = "/api/v1/namespaces/default/secrets";

/// A TLS Secret whose certificate and key are no pair warns with Go's `tls.X509KeyPair`
/// error, on create and update.
#[tokio::test]
async fn tls_secrets_warn_when_certificate_and_key_are_no_pair() {
    let s = server().await;
    let pair = || {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["web".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (cert, key) = pair();
    let (_, other_key) = pair();
    let secret = |name: &str, cert: &str, key: &str| {
        json!({"metadata": {"name": name}, "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": cert, "tls.key": key}})
    };
    let stored = create_warns(
        &s,
        SECRETS,
        &secret("junk", "junk", &key),
        &["tls: failed to find any PEM data in certificate input"],
    )
    .await;
    let mut mismatched = stored.clone();
    mismatched["stringData"] = json!({"tls.crt": cert, "tls.key": other_key});
    update_warns(
        &s,
        SECRETS,
        &stored,
        mismatched,
        &["tls: private key does not match public key"],
    )
    .await;
    create_warns(&s, SECRETS, &secret("web", &cert, &key), &[]).await;
}
