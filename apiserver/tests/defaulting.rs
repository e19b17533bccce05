//! Defaulting of built-in types over HTTP: what kube-apiserver 1.37 answers for a created Pod,
//! Deployment, Service, Job, CronJob, StatefulSet and DaemonSet (field by field from
//! `pkg/apis/*/v1/defaults.go`), and the same defaults on update, patch and apply.

mod common;

use common::send;
use serde_json::{Value, json};

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

/// The container and pod-spec defaults every pod template gets.
fn assert_template_defaults(spec: &Value, what: &str) {
    for (field, want) in [
        ("dnsPolicy", json!("ClusterFirst")),
        ("restartPolicy", json!("Always")),
        ("schedulerName", json!("default-scheduler")),
        ("securityContext", json!({})),
        ("terminationGracePeriodSeconds", json!(30)),
    ] {
        assert_eq!(spec[field], want, "{what}: spec.{field}");
    }
    let c = &spec["containers"][0];
    assert_eq!(c["imagePullPolicy"], "Always", "{what}: untagged image");
    assert_eq!(
        c["terminationMessagePath"], "/dev/termination-log",
        "{what}"
    );
    assert_eq!(c["terminationMessagePolicy"], "File", "{what}");
}

#[tokio::test]
async fn created_pod_has_kubes_defaults_and_status() {
    let s = server().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "ports": [{"containerPort": 80}],
            "livenessProbe": {"httpGet": {"port": 80}},
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}},
            {"name": "d", "image": "busybox:1.36"}],
          "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "x"}},
                      {"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]}});
    let r = send(&s, "POST", "/api/v1/namespaces/default/pods", &pod).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_template_defaults(spec, "pod");
    assert_eq!(spec["enableServiceLinks"], true);
    let c = &spec["containers"][0];
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
               "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    // Requests default to the limits (SetDefaults_Pod).
    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "100m", "memory": "64Mi"})
    );
    assert_eq!(
        spec["containers"][1]["imagePullPolicy"], "IfNotPresent",
        "tagged image"
    );
    assert_eq!(
        spec["volumes"][0],
        json!({"name": "scratch", "emptyDir": {}})
    );
    assert_eq!(spec["volumes"][1]["configMap"]["defaultMode"], 420);
    let projected = &spec["volumes"][2]["projected"];
    assert_eq!(projected["defaultMode"], 420);
    assert_eq!(
        projected["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3600
    );
    // Status from the pod strategy: Pending, and the QoS class of d (no resources) + c.
    assert_eq!(
        r.body["status"],
        json!({"phase": "Pending", "qosClass": "Burstable"})
    );
    // Pods keep a generation (PodObservedGenerationTracking).
    assert_eq!(r.body["metadata"]["generation"], 1);
}

#[tokio::test]
async fn pod_qos_class_is_guaranteed_or_best_effort() {
    let s = server().await;
    let guaranteed = json!({"metadata": {"name": "g"}, "spec": {"containers": [{"name": "c", "image": "x:1",
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
    let r = send(&s, "POST", "/api/v1/namespaces/default/pods", &guaranteed).await;
    assert_eq!(r.body["status"]["qosClass"], "Guaranteed", "{}", r.body);
    let none =
        json!({"metadata": {"name": "b"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}});
    let r = send(&s, "POST", "/api/v1/namespaces/default/pods", &none).await;
    assert_eq!(r.body["status"]["qosClass"], "BestEffort", "{}", r.body);
    // A status written with the pod is replaced by the strategy's.
    let with_status = json!({"metadata": {"name": "s"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]},
        "status": {"phase": "Running"}});
    let r = send(&s, "POST", "/api/v1/namespaces/default/pods", &with_status).await;
    assert_eq!(r.body["status"]["phase"], "Pending", "{}", r.body);
}

#[tokio::test]
async fn created_deployment_has_kubes_defaults() {
    let s = server().await;
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}});
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &d,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_template_defaults(&spec["template"]["spec"], "deployment template");
    // SetDefaults_Pod is for pods only: no enableServiceLinks in a template.
    assert!(spec["template"]["spec"].get("enableServiceLinks").is_none());
    assert_eq!(r.body["status"], json!({}));
    assert_eq!(r.body["metadata"]["generation"], 1);
    // A Recreate strategy gets no rollingUpdate.
    let mut recreate = d.clone();
    recreate["metadata"]["name"] = "r".into();
    recreate["spec"]["strategy"] = json!({"type": "Recreate"});
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &recreate,
    )
    .await;
    assert_eq!(
        r.body["spec"]["strategy"],
        json!({"type": "Recreate"}),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn created_statefulset_and_daemonset_have_kubes_defaults() {
    let s = server().await;
    let template = json!({"metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}});
    let sts = json!({"metadata": {"name": "s"}, "spec": {"selector": {"matchLabels": {"app": "x"}},
        "serviceName": "s", "template": template,
        "volumeClaimTemplates": [{"metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}});
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/statefulsets",
        &sts,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(
        spec["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(
        spec["volumeClaimTemplates"][0]["spec"]["volumeMode"],
        "Filesystem"
    );
    assert_eq!(
        spec["volumeClaimTemplates"][0]["status"],
        json!({"phase": "Pending"})
    );
    assert_eq!(
        spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(
        r.body["status"],
        json!({"availableReplicas": 0, "replicas": 0})
    );

    let ds = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "x"}},
        "template": template}});
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/daemonsets",
        &ds,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(
        r.body["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_template_defaults_tagged(&r.body["spec"]["template"]["spec"]);
    assert_eq!(
        r.body["status"],
        json!({"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0})
    );
}

fn assert_template_defaults_tagged(spec: &Value) {
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
}

#[tokio::test]
async fn created_job_and_cronjob_have_kubes_defaults() {
    let s = server().await;
    let pod = json!({"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}});
    let job = json!({"metadata": {"name": "j"}, "spec": {"template": pod}});
    let r = send(&s, "POST", "/apis/batch/v1/namespaces/default/jobs", &job).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    for (field, want) in [
        ("completions", json!(1)),
        ("parallelism", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
    ] {
        assert_eq!(spec[field], want, "job spec.{field}");
    }
    assert_eq!(
        spec["template"]["spec"]["restartPolicy"], "Never",
        "kept as written"
    );
    assert_eq!(spec["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    assert_eq!(r.body["status"], json!({}));

    // Parallelism alone: completions stay unset (a work queue).
    let queue = json!({"metadata": {"name": "q"}, "spec": {"parallelism": 3, "template": pod}});
    let r = send(&s, "POST", "/apis/batch/v1/namespaces/default/jobs", &queue).await;
    assert!(r.body["spec"].get("completions").is_none(), "{}", r.body);
    assert_eq!(r.body["spec"]["parallelism"], 3);

    let cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "*/5 * * * *",
        "jobTemplate": {"spec": {"template": pod}}}});
    let r = send(
        &s,
        "POST",
        "/apis/batch/v1/namespaces/default/cronjobs",
        &cj,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Allow");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    // Job defaults belong to Job objects, not to a CronJob's job template; its pod template is defaulted.
    let job_spec = &spec["jobTemplate"]["spec"];
    assert!(job_spec.get("backoffLimit").is_none(), "{job_spec}");
    assert_eq!(
        job_spec["template"]["spec"]["terminationGracePeriodSeconds"],
        30
    );
}

#[tokio::test]
async fn created_service_has_kubes_defaults_and_addresses() {
    let s = server().await;
    let svc = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
        "ports": [{"name": "web", "port": 80}, {"name": "named", "port": 8080, "targetPort": "http"}]}});
    let r = send(&s, "POST", "/api/v1/namespaces/default/services", &svc).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert!(
        spec.get("externalTrafficPolicy").is_none(),
        "ClusterIP: {spec}"
    );
    assert_eq!(
        spec["ports"][0],
        json!({"name": "web", "port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(spec["ports"][1]["targetPort"], "http");
    let ip = spec["clusterIP"].as_str().expect("a cluster IP");
    assert!(
        ip.starts_with("10.9") || ip.starts_with("10.10") || ip.starts_with("10.11"),
        "{ip}"
    );
    assert_eq!(spec["clusterIPs"], json!([ip]));
    assert_eq!(r.body["status"], json!({"loadBalancer": {}}));
    assert!(
        r.body["metadata"].get("generation").is_none(),
        "Services keep no generation"
    );

    let lb = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP",
        "ports": [{"port": 443}]}});
    let r = send(&s, "POST", "/api/v1/namespaces/default/services", &lb).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let spec = &r.body["spec"];
    assert_eq!(spec["externalTrafficPolicy"], "Cluster");
    assert_eq!(spec["allocateLoadBalancerNodePorts"], true);
    assert_eq!(
        spec["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );
    let port = spec["ports"][0]["nodePort"].as_i64().expect("a node port");
    assert!((30000..=32767).contains(&port), "{port}");

    let external = json!({"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "example.com"}});
    let r = send(&s, "POST", "/api/v1/namespaces/default/services", &external).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(r.body["spec"].get("clusterIP").is_none(), "{}", r.body);
    assert!(
        r.body["spec"].get("internalTrafficPolicy").is_none(),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn other_built_ins_are_defaulted() {
    let s = server().await;
    let cases = [
        (
            "/api/v1/namespaces/default/secrets",
            json!({"metadata": {"name": "s"}}),
            "/type",
            json!("Opaque"),
        ),
        (
            "/api/v1/namespaces/default/persistentvolumeclaims",
            json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
            "/spec/volumeMode",
            json!("Filesystem"),
        ),
        (
            "/api/v1/namespaces/default/replicationcontrollers",
            json!({"metadata": {"name": "rc"}, "spec": {"template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
            "/spec/selector",
            json!({"a": "b"}),
        ),
        (
            "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
            json!({"metadata": {"name": "np"}, "spec": {"egress": [{}], "ingress": [{"ports": [{"port": 80}]}]}}),
            "/spec",
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}],
                         "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}),
        ),
        (
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
            json!({"metadata": {"name": "h"}, "spec": {"maxReplicas": 3,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}}}),
            "/spec/metrics",
            json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "Role", "name": "r"},
                "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "default"}]}),
            "/subjects",
            json!([{"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"},
                            {"kind": "ServiceAccount", "name": "sa", "namespace": "default"}]),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            json!({"metadata": {"name": "sc"}, "provisioner": "x"}),
            "/volumeBindingMode",
            json!("Immediate"),
        ),
        (
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            json!({"metadata": {"name": "pc"}, "value": 10}),
            "/preemptionPolicy",
            json!("PreemptLowerPriority"),
        ),
    ];
    for (path, body, pointer, want) in cases {
        let r = send(&s, "POST", path, &body).await;
        assert_eq!(r.code, 201, "{path}: {}", r.body);
        assert_eq!(
            r.body.pointer(pointer),
            Some(&want),
            "{path} {pointer}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn defaults_apply_on_update_patch_and_apply() {
    let s = server().await;
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}});
    let created = send(&s, "POST", path, &d).await.body;
    // PUT with a new container and without the defaulted fields: defaulted again.
    let mut put = d.clone();
    put["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"].clone();
    put["spec"]["template"]["spec"]["containers"] = json!([{"name": "a", "image": "nginx"}, {"name": "b", "image": "redis:7", "ports": [{"containerPort": 6379}]}]);
    let r = send(&s, "PUT", &format!("{path}/d"), &put).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let b = &r.body["spec"]["template"]["spec"]["containers"][1];
    assert_eq!(b["imagePullPolicy"], "IfNotPresent");
    assert_eq!(b["ports"][0]["protocol"], "TCP");
    assert_eq!(r.body["spec"]["replicas"], 1);
    assert_eq!(r.body["metadata"]["generation"], 2, "the template changed");
    // A merge patch that removes replicas: defaulted back to 1, no spec change, no new generation.
    let r = send(
        &s,
        "PATCH",
        &format!("{path}/d"),
        &json!({"spec": {"replicas": null}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["replicas"], 1);
    assert_eq!(r.body["metadata"]["generation"], 2);
    // Server-side apply creating an object: defaulted too, and the defaults belong to no applier.
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "applied"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
    let r = common::raw(
        &s,
        "PATCH",
        &format!("{path}/applied?fieldManager=me"),
        Some("application/apply-patch+yaml"),
        cfg.to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        r.body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    let owned = r.body["metadata"]["managedFields"][0]["fieldsV1"].to_string();
    assert!(!owned.contains("revisionHistoryLimit"), "{owned}");
    // An Update manager owns what defaulting added to its write (kube defaults before tracking).
    let r = send(&s, "GET", &format!("{path}/d"), &Value::Null).await;
    let update = r.body["metadata"]["managedFields"].to_string();
    assert!(update.contains("f:revisionHistoryLimit"), "{update}");
}
