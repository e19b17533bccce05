//! Validation over HTTP of `/status` writes of the built-in types whose status strategies have
//! rules of their own: Pod, StatefulSet, DaemonSet, Service, PersistentVolumeClaim,
//! HorizontalPodAutoscaler, PodDisruptionBudget, Ingress and ReplicationController. For each,
//! a bad status gets kube's 422 with its field errors and a good one is written.

mod common;

use common::{DUPLICATE, FORBIDDEN, INVALID, NOT_SUPPORTED, assert_invalid, create, replace};
use serde_json::{Value, json};

const NS: &str = "/api/v1/namespaces/default";
const IP_MESSAGE: &str =
    "Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/// Writes `status` to `path` (a `/status` subresource) over the stored object `stored`.
async fn write_status(
    s: &apiserver::ApiServer,
    path: &str,
    stored: &Value,
    status: Value,
) -> common::Raw {
    let mut obj = stored.clone();
    obj["status"] = status;
    replace(s, path, stored, obj).await
}

/// Writes `status`, asserting it is accepted, and returns the stored object.
async fn accepted(s: &apiserver::ApiServer, path: &str, stored: &Value, status: Value) -> Value {
    let r = write_status(s, path, stored, status).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn pod_status_follows_kubes_pod_status_strategy() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let pods = format!("{NS}/pods");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}});
    let stored = create(&s, &pods, &pod).await;
    assert_eq!(stored["status"]["qosClass"], "BestEffort");
    let path = format!("{pods}/p/status");
    // What a kubelet writes, without the QoS class (older kubelets dropped it): kept.
    let done = accepted(
        &s,
        &path,
        &stored,
        json!({"phase": "Succeeded", "hostIP": "10.0.0.9",
            "hostIPs": [{"ip": "10.0.0.9"}], "podIP": "10.1.0.4",
            "podIPs": [{"ip": "10.1.0.4"}, {"ip": "fd00::4"}],
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}]}),
    )
    .await;
    assert_eq!(done["status"]["qosClass"], "BestEffort", "{done}");
    // A terminated container of a Never pod may not run again; the QoS class is fixed; IPs and
    // names are checked.
    let r = write_status(
        &s,
        &path,
        &done,
        json!({"phase": "Running", "qosClass": "Guaranteed", "nominatedNodeName": "Node_1",
            "hostIP": "10.0.0.9", "hostIPs": [{"ip": "10.0.0.8"}],
            "podIPs": [{"ip": "10.1.0.4"}, {"ip": "10.1.0.4"}],
            "conditions": [{"type": "example.com/ok", "status": "True"},
                {"type": "not ok", "status": "True"}],
            "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "", "ready": true,
                "restartCount": 1, "state": {"running": {}}}]}),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "p",
        &[
            (
                INVALID,
                "metadata.conditions[1].Type",
                "Invalid value: \"not ok\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ),
            (
                INVALID,
                "status.nominatedNodeName",
                "Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
            (
                INVALID,
                "status.qosClass",
                "Invalid value: \"Guaranteed\": field is immutable",
            ),
            (
                FORBIDDEN,
                "status.containerStatuses[0].state",
                "Forbidden: may not be transitioned to non-terminated state",
            ),
            (
                INVALID,
                "status.podIPs",
                "Invalid value: [{\"IP\":\"10.1.0.4\"},{\"IP\":\"10.1.0.4\"}]: may specify no more than one IP for each IP family",
            ),
            (
                DUPLICATE,
                "status.podIPs[1]",
                "Duplicate value: {\"IP\":\"10.1.0.4\"}",
            ),
            (
                INVALID,
                "status.hostIPs[0].ip",
                "Invalid value: \"10.0.0.8\": must be equal to `hostIP`",
            ),
        ],
    );
}

#[tokio::test]
async fn stateful_set_and_daemon_set_status_counts() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let sets = "/apis/apps/v1/namespaces/default/statefulsets";
    let mut sts = common::deployment("db", 2);
    sts["kind"] = "StatefulSet".into();
    sts["spec"]["serviceName"] = "db".into();
    let stored = create(&s, sets, &sts).await;
    let path = format!("{sets}/db/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"replicas": 2, "readyReplicas": 1, "currentReplicas": 3,
            "availableReplicas": 2, "observedGeneration": -1}),
    )
    .await;
    assert_invalid(
        &r,
        "StatefulSet.apps",
        "db",
        &[
            (
                INVALID,
                "status.observedGeneration",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                INVALID,
                "status.currentReplicas",
                "Invalid value: 3: cannot be greater than status.replicas",
            ),
            (
                INVALID,
                "status.availableReplicas",
                "Invalid value: 2: cannot be greater than status.readyReplicas",
            ),
        ],
    );
    let written = accepted(
        &s,
        &path,
        &stored,
        json!({"replicas": 2, "readyReplicas": 2, "availableReplicas": 1, "collisionCount": 1}),
    )
    .await;
    let r = write_status(&s, &path, &written, json!({"replicas": 2})).await;
    assert_invalid(
        &r,
        "StatefulSet.apps",
        "db",
        &[(
            INVALID,
            "status.collisionCount",
            "Invalid value: 0: cannot be decremented",
        )],
    );

    let daemons = "/apis/apps/v1/namespaces/default/daemonsets";
    let mut ds = common::deployment("agent", 0);
    ds["kind"] = "DaemonSet".into();
    for f in ["replicas", "strategy"] {
        ds["spec"].as_object_mut().expect("spec").remove(f);
    }
    let stored = create(&s, daemons, &ds).await;
    let path = format!("{daemons}/agent/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"currentNumberScheduled": 1, "numberMisscheduled": -1,
            "desiredNumberScheduled": 1, "numberReady": 0, "numberUnavailable": -2}),
    )
    .await;
    assert_invalid(
        &r,
        "DaemonSet.apps",
        "agent",
        &[
            (
                INVALID,
                "status.numberMisscheduled",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                INVALID,
                "status.numberUnavailable",
                "Invalid value: -2: must be greater than or equal to 0",
            ),
        ],
    );
    accepted(
        &s,
        &path,
        &stored,
        json!({"currentNumberScheduled": 1, "numberMisscheduled": 0,
            "desiredNumberScheduled": 1, "numberReady": 1, "numberAvailable": 1}),
    )
    .await;
}

#[tokio::test]
async fn service_and_ingress_load_balancer_status() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let services = format!("{NS}/services");
    let service = |name: &str, ty: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": ty, "selector": {"app": "a"}, "ports": [{"port": 80}]}})
    };
    let plain = create(&s, &services, &service("plain", "ClusterIP")).await;
    let r = write_status(
        &s,
        &format!("{services}/plain/status"),
        &plain,
        json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}),
    )
    .await;
    assert_invalid(
        &r,
        "Service",
        "plain",
        &[(
            FORBIDDEN,
            "status.loadBalancer.ingress",
            "Forbidden: may only be used when `spec.type` is 'LoadBalancer'",
        )],
    );
    let lb = create(&s, &services, &service("lb", "LoadBalancer")).await;
    let path = format!("{services}/lb/status");
    let r = write_status(
        &s,
        &path,
        &lb,
        json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.300"},
            {"hostname": "10.0.0.2", "ipMode": "VIP"}, {"ip": "10.0.0.3", "ipMode": "Direct"}]}}),
    )
    .await;
    assert_invalid(
        &r,
        "Service",
        "lb",
        &[
            (INVALID, "status.loadBalancer.ingress[0].ip", IP_MESSAGE),
            (
                FORBIDDEN,
                "status.loadBalancer.ingress[1].ipMode",
                "Forbidden: may not be specified when `ip` is not set",
            ),
            (
                INVALID,
                "status.loadBalancer.ingress[1].hostname",
                "Invalid value: \"10.0.0.2\": must be a DNS name, not an IP address",
            ),
            (
                NOT_SUPPORTED,
                "status.loadBalancer.ingress[2].ipMode",
                "Unsupported value: \"Direct\": supported values: \"Proxy\", \"VIP\"",
            ),
        ],
    );
    // Defaulting makes an IP's mode VIP before validation.
    let written = accepted(
        &s,
        &path,
        &lb,
        json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"hostname": "lb.example.com"}]}}),
    )
    .await;
    assert_eq!(
        written["status"]["loadBalancer"]["ingress"][0]["ipMode"], "VIP",
        "{written}"
    );

    let ingresses = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    let ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {"defaultBackend": {"service": {"name": "lb", "port": {"number": 80}}}}});
    let stored = create(&s, ingresses, &ingress).await;
    let path = format!("{ingresses}/web/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.300", "hostname": "Web"}]}}),
    )
    .await;
    assert_invalid(
        &r,
        "Ingress.networking.k8s.io",
        "web",
        &[
            (INVALID, "status.loadBalancer.ingress[0].ip", IP_MESSAGE),
            (
                INVALID,
                "status.loadBalancer.ingress[0].hostname",
                "Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
        ],
    );
    accepted(
        &s,
        &path,
        &stored,
        json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1", "hostname": "web.example.com"}]}}),
    )
    .await;
}

#[tokio::test]
async fn claim_autoscaler_budget_and_controller_status() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let claims = format!("{NS}/persistentvolumeclaims");
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let stored = create(&s, &claims, &claim).await;
    let path = format!("{claims}/data/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"phase": "Bound", "capacity": {"storage": "-1Gi"},
            "allocatedResources": {"cpu": "1", "storage": "-2"},
            "allocatedResourceStatuses": {"storage": "Resizing"}}),
    )
    .await;
    assert_invalid(
        &r,
        "PersistentVolumeClaim",
        "data",
        &[
            (
                INVALID,
                "status.capacity[storage]",
                "Invalid value: -1073741824: must be a valid resource quantity",
            ),
            (
                NOT_SUPPORTED,
                "status.allocatedResourceStatus",
                "Unsupported value: \"storage\": supported values: \"ControllerResizeInProgress\", \"ControllerResizeInfeasible\", \"NodeResizeInProgress\", \"NodeResizeInfeasible\", \"NodeResizePending\"",
            ),
            (
                NOT_SUPPORTED,
                "status.allocatedResources",
                "Unsupported value: \"cpu\": supported values: \"storage\"",
            ),
            (
                INVALID,
                "status.allocatedResources[storage]",
                "Invalid value: -2: must be a valid resource quantity",
            ),
        ],
    );
    accepted(
        &s,
        &path,
        &stored,
        json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "1Gi"}, "allocatedResources": {"storage": "1Gi"},
            "allocatedResourceStatuses": {"storage": "ControllerResizeInProgress"}}),
    )
    .await;

    let hpas = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 3}});
    let stored = create(&s, hpas, &hpa).await;
    let path = format!("{hpas}/web/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"currentReplicas": -1, "desiredReplicas": -2}),
    )
    .await;
    assert_invalid(
        &r,
        "HorizontalPodAutoscaler.autoscaling",
        "web",
        &[
            (
                INVALID,
                "status.currentReplicas",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                INVALID,
                "status.desiredReplicas",
                "Invalid value: -2: must be greater than or equal to 0",
            ),
        ],
    );
    accepted(
        &s,
        &path,
        &stored,
        json!({"currentReplicas": 1, "desiredReplicas": 2}),
    )
    .await;

    let budgets = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}});
    let stored = create(&s, budgets, &pdb).await;
    let path = format!("{budgets}/web/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"disruptionsAllowed": -1, "currentHealthy": 0, "desiredHealthy": 1,
            "expectedPods": 1,
            "conditions": [{"type": "DisruptionAllowed", "status": "Maybe",
                "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "SufficientPods"}]}),
    )
    .await;
    assert_invalid(
        &r,
        "PodDisruptionBudget.policy",
        "web",
        &[
            (
                NOT_SUPPORTED,
                "status.conditions[0].status",
                "Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\"",
            ),
            (
                INVALID,
                "status.disruptionsAllowed",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
        ],
    );
    accepted(
        &s,
        &path,
        &stored,
        json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 1,
            "expectedPods": 1,
            "conditions": [{"type": "DisruptionAllowed", "status": "False",
                "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "InsufficientPods"}]}),
    )
    .await;

    let controllers = format!("{NS}/replicationcontrollers");
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "rc"},
        "spec": {"replicas": 1, "selector": {"app": "rc"},
            "template": {"metadata": {"labels": {"app": "rc"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}});
    let stored = create(&s, &controllers, &rc).await;
    let path = format!("{controllers}/rc/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": 1}),
    )
    .await;
    assert_invalid(
        &r,
        "ReplicationController",
        "rc",
        &[(
            INVALID,
            "status.readyReplicas",
            "Invalid value: 2: cannot be greater than status.replicas",
        )],
    );
    accepted(
        &s,
        &path,
        &stored,
        json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
    )
    .await;
}

#[tokio::test]
async fn deployment_and_replica_set_terminating_replicas() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let deploys = "/apis/apps/v1/namespaces/default/deployments";
    let stored = create(&s, deploys, &common::deployment("web", 1)).await;
    let path = format!("{deploys}/web/status");
    let r = write_status(
        &s,
        &path,
        &stored,
        json!({"replicas": 1, "terminatingReplicas": -1}),
    )
    .await;
    assert_invalid(
        &r,
        "Deployment.apps",
        "web",
        &[(
            INVALID,
            "status.terminatingReplicas",
            "Invalid value: -1: must be greater than or equal to 0",
        )],
    );
    let written = accepted(
        &s,
        &path,
        &stored,
        json!({"replicas": 1, "terminatingReplicas": 2}),
    )
    .await;
    assert_eq!(written["status"]["terminatingReplicas"], 2, "{written}");

    let sets = "/apis/apps/v1/namespaces/default/replicasets";
    let mut rs = common::deployment("rs", 1);
    rs["kind"] = "ReplicaSet".into();
    rs["spec"].as_object_mut().expect("spec").remove("strategy");
    let stored = create(&s, sets, &rs).await;
    let r = write_status(
        &s,
        &format!("{sets}/rs/status"),
        &stored,
        json!({"replicas": 1, "terminatingReplicas": -3}),
    )
    .await;
    assert_invalid(
        &r,
        "ReplicaSet.apps",
        "rs",
        &[(
            INVALID,
            "status.terminatingReplicas",
            "Invalid value: -3: must be greater than or equal to 0",
        )],
    );
}
