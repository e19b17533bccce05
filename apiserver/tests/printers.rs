//! Built-in printers end to end: for each type kubectl users list, an object created through the
//! API comes back as a Table row with kube's columns and the cells kube prints for it (expected
//! values from kube's printers and printers_test.go), and kubectl itself prints those columns
//! (`kubectl get <type>` and `-o wide`). Also: a protobuf Table is never served (kube's Table is
//! not protobuf-serialisable), the clause is skipped or answered 406.

mod common;

use common::kubectl::Kubectl;
use common::{WAIT, request, send};
use serde_json::{Value, json};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// One printed type: where its objects live, an object, an optional status to patch in, the
/// expected columns (priority-1 columns marked with a leading `*`) and expected cells by column
/// name (`AGE` marks a freshly made age, "Ns").
struct Case {
    path: &'static str,
    object: Value,
    status: Option<Value>,
    columns: &'static [&'static str],
    cells: &'static [(&'static str, &'static str)],
}

/// An age cell of an object made seconds ago.
const AGE: &str = "\u{0}age";

fn cases() -> Vec<Case> {
    let containers = json!([{"name": "c", "image": "busybox"}]);
    let template = |app: &str| json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": containers}});
    vec![
        Case {
            path: "/apis/batch/v1/namespaces/default/jobs",
            object: json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job1"},
                "spec": {"completions": 2, "template": {"spec": {"restartPolicy": "Never", "containers": containers}}}}),
            status: Some(json!({"status": {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z"}})),
            columns: &[
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "*Containers",
                "*Images",
                "*Selector",
            ],
            cells: &[
                ("Name", "job1"),
                ("Status", "Running"),
                ("Completions", "1/2"),
                ("Age", AGE),
                ("Containers", "c"),
                ("Images", "busybox"),
            ],
        },
        Case {
            path: "/apis/batch/v1/namespaces/default/cronjobs",
            object: json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"selector": {"matchLabels": {"app": "cj"}},
                    "template": {"metadata": {"labels": {"app": "cj"}}, "spec": {"restartPolicy": "Never", "containers": containers}}}}}}),
            status: None,
            columns: &[
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age",
                "*Containers",
                "*Images",
                "*Selector",
            ],
            cells: &[
                ("Schedule", "*/5 * * * *"),
                ("Timezone", "<none>"),
                ("Suspend", "False"),
                ("Last Schedule", "<none>"),
                ("Selector", "app=cj"),
            ],
        },
        Case {
            path: "/api/v1/nodes",
            object: json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a",
                "labels": {"node-role.kubernetes.io/control-plane": ""}}}),
            status: Some(
                json!({"status": {"conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}],
                "nodeInfo": {"kubeletVersion": "v1.37.1", "osImage": "Debian GNU/Linux 13", "kernelVersion": "6.12",
                    "containerRuntimeVersion": "containerd://2.1", "machineID": "", "systemUUID": "", "bootID": "",
                    "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}}}),
            ),
            columns: &[
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "*Internal-IP",
                "*External-IP",
                "*OS-Image",
                "*Kernel-Version",
                "*Container-Runtime",
            ],
            cells: &[
                ("Status", "Ready"),
                ("Roles", "control-plane"),
                ("Version", "v1.37.1"),
                ("Internal-IP", "10.0.0.7"),
                ("External-IP", "<none>"),
                ("OS-Image", "Debian GNU/Linux 13"),
                ("Container-Runtime", "containerd://2.1"),
            ],
        },
        Case {
            path: "/api/v1/namespaces/default/events",
            object: json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
                "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{c}"},
                "reason": "Pulled", "type": "Normal", "message": "Image pulled", "count": 2,
                "source": {"component": "kubelet", "host": "node-a"},
                "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}),
            status: None,
            columns: &[
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "*Subobject",
                "*Source",
                "Message",
                "*First Seen",
                "*Count",
                "*Name",
            ],
            cells: &[
                ("Type", "Normal"),
                ("Reason", "Pulled"),
                ("Object", "pod/web"),
                ("Subobject", "spec.containers{c}"),
                ("Source", "kubelet, node-a"),
                ("Message", "Image pulled"),
                ("Count", "2"),
                ("Name", "web.1"),
            ],
        },
        Case {
            path: "/apis/events.k8s.io/v1/namespaces/default/events",
            object: json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.2"},
                "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}, "reason": "Started",
                "action": "Start", "type": "Normal", "note": "started", "eventTime": "2026-01-01T00:00:00.000000Z",
                "reportingController": "example.com/ctl", "reportingInstance": "ctl-0"}),
            status: None,
            columns: &[
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "*Subobject",
                "*Source",
                "Message",
                "*First Seen",
                "*Count",
                "*Name",
            ],
            cells: &[
                ("Object", "pod/web"),
                ("Source", "example.com/ctl, ctl-0"),
                ("Message", "started"),
                ("Count", "1"),
            ],
        },
        Case {
            path: "/apis/apps/v1/namespaces/default/replicasets",
            object: json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "rs"}}, "template": template("rs")}}),
            status: None,
            columns: &[
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Age",
                "*Containers",
                "*Images",
                "*Selector",
            ],
            cells: &[
                ("Desired", "3"),
                ("Current", "0"),
                ("Ready", "0"),
                ("Selector", "app=rs"),
            ],
        },
        Case {
            path: "/apis/apps/v1/namespaces/default/statefulsets",
            object: json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "sts"},
                "spec": {"replicas": 2, "serviceName": "sts", "selector": {"matchLabels": {"app": "sts"}}, "template": template("sts")}}),
            status: None,
            columns: &["Name", "Ready", "Age", "*Containers", "*Images"],
            cells: &[("Ready", "0/2"), ("Images", "busybox")],
        },
        Case {
            path: "/apis/apps/v1/namespaces/default/daemonsets",
            object: json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"},
                "spec": {"selector": {"matchLabels": {"app": "ds"}},
                    "template": {"metadata": {"labels": {"app": "ds"}}, "spec": {"nodeSelector": {"disk": "ssd"}, "containers": containers}}}}),
            status: None,
            columns: &[
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Up-to-date",
                "Available",
                "Node Selector",
                "Age",
                "*Containers",
                "*Images",
                "*Selector",
            ],
            cells: &[
                ("Desired", "0"),
                ("Node Selector", "disk=ssd"),
                ("Selector", "app=ds"),
            ],
        },
        Case {
            path: "/apis/apps/v1/namespaces/default/deployments",
            object: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template("web")}}),
            status: None,
            columns: &[
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "*Containers",
                "*Images",
                "*Selector",
            ],
            cells: &[
                ("Ready", "0/2"),
                ("Up-to-date", "0"),
                ("Available", "0"),
                ("Selector", "app=web"),
            ],
        },
        Case {
            path: "/api/v1/namespaces/default/pods",
            object: json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0"},
                "spec": {"initContainers": [{"name": "init", "image": "busybox"}], "containers": containers}}),
            status: Some(
                json!({"status": {"phase": "Pending", "initContainerStatuses": [{"name": "init", "image": "busybox",
                "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}}),
            ),
            columns: &[
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "*IP",
                "*Node",
                "*Nominated Node",
                "*Readiness Gates",
            ],
            cells: &[
                ("Ready", "0/1"),
                ("Status", "Init:0/1"),
                ("Restarts", "0"),
                ("IP", "<none>"),
                ("Node", "<none>"),
                ("Readiness Gates", "<none>"),
            ],
        },
        Case {
            path: "/api/v1/namespaces/default/services",
            object: json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"clusterIP": "10.96.100.10", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}}),
            status: None,
            columns: &[
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "*Selector",
            ],
            cells: &[
                ("Type", "ClusterIP"),
                ("Cluster-IP", "10.96.100.10"),
                ("External-IP", "<none>"),
                ("Port(s)", "80/TCP,53/UDP"),
                ("Selector", "app=web"),
            ],
        },
        Case {
            path: "/api/v1/namespaces/default/endpoints",
            object: json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
                "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 8080}]}]}),
            status: None,
            columns: &["Name", "Endpoints", "Age"],
            cells: &[("Endpoints", "10.0.0.1:8080,10.0.0.2:8080")],
        },
        Case {
            path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            object: json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "web-abc"},
                "addressType": "IPv4", "ports": [{"port": 8080, "name": "http", "protocol": "TCP"}],
                "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]}),
            status: None,
            columns: &["Name", "AddressType", "Ports", "Endpoints", "Age"],
            cells: &[
                ("AddressType", "IPv4"),
                ("Ports", "8080"),
                ("Endpoints", "10.0.0.1,10.0.0.2"),
            ],
        },
        Case {
            path: "/api/v1/persistentvolumes",
            object: json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
                "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                    "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual", "hostPath": {"path": "/data"},
                    "claimRef": {"namespace": "default", "name": "claim1"}}}),
            status: None,
            columns: &[
                "Name",
                "Capacity",
                "Access Modes",
                "Reclaim Policy",
                "Status",
                "Claim",
                "StorageClass",
                "VolumeAttributesClass",
                "Reason",
                "Age",
                "*VolumeMode",
            ],
            cells: &[
                ("Capacity", "5Gi"),
                ("Access Modes", "RWO,ROX"),
                ("Reclaim Policy", "Retain"),
                ("Claim", "default/claim1"),
                ("StorageClass", "manual"),
                ("VolumeAttributesClass", "<unset>"),
                ("VolumeMode", "Filesystem"),
            ],
        },
        Case {
            path: "/api/v1/namespaces/default/persistentvolumeclaims",
            object: json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "claim1"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}}),
            status: None,
            columns: &[
                "Name",
                "Status",
                "Volume",
                "Capacity",
                "Access Modes",
                "StorageClass",
                "VolumeAttributesClass",
                "Age",
                "*VolumeMode",
            ],
            cells: &[
                ("Volume", ""),
                ("Capacity", ""),
                ("Access Modes", ""),
                ("StorageClass", "fast"),
                ("VolumeMode", "Filesystem"),
            ],
        },
        Case {
            path: "/apis/storage.k8s.io/v1/storageclasses",
            object: json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "example.com/csi",
                "metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}),
            status: None,
            columns: &[
                "Name",
                "Provisioner",
                "ReclaimPolicy",
                "VolumeBindingMode",
                "AllowVolumeExpansion",
                "Age",
            ],
            cells: &[
                ("Name", "fast (default)"),
                ("Provisioner", "example.com/csi"),
                ("ReclaimPolicy", "Delete"),
                ("VolumeBindingMode", "Immediate"),
                ("AllowVolumeExpansion", "false"),
            ],
        },
        Case {
            path: "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
            object: json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing"},
                "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                    "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}]}}),
            status: None,
            columns: &["Name", "Class", "Hosts", "Address", "Ports", "Age"],
            cells: &[
                ("Class", "nginx"),
                ("Hosts", "a.example.com,b.example.com"),
                ("Address", ""),
                ("Ports", "80, 443"),
            ],
        },
        Case {
            path: "/apis/networking.k8s.io/v1/ingressclasses",
            object: json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
                "spec": {"controller": "example.com/ingress", "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p", "scope": "Cluster"}}}),
            status: None,
            columns: &["Name", "Controller", "Parameters", "Age"],
            cells: &[
                ("Controller", "example.com/ingress"),
                ("Parameters", "IngressParameters.k8s.example.com/p"),
            ],
        },
        Case {
            path: "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
            object: json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"},
                "spec": {"podSelector": {"matchLabels": {"app": "db"}}}}),
            status: None,
            columns: &["Name", "Pod-Selector", "Age"],
            cells: &[("Pod-Selector", "app=db")],
        },
        Case {
            path: "/api/v1/namespaces/default/serviceaccounts",
            object: json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}),
            status: None,
            columns: &["Name", "Secrets", "Age"],
            cells: &[("Secrets", "0")],
        },
        Case {
            path: "/api/v1/namespaces/default/secrets",
            object: json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"a": "YQ==", "b": "Yg=="}}),
            status: None,
            columns: &["Name", "Type", "Data", "Age"],
            cells: &[("Type", "Opaque"), ("Data", "2")],
        },
        Case {
            path: "/api/v1/namespaces/default/configmaps",
            object: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
            status: None,
            columns: &["Name", "Data", "Age"],
            cells: &[("Data", "3")],
        },
        Case {
            path: "/api/v1/namespaces",
            object: json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
            status: None,
            columns: &["Name", "Status", "Age"],
            cells: &[("Status", "Active")],
        },
        Case {
            path: "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            object: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}, "rules": []}),
            status: None,
            columns: &["Name", "Created At"],
            cells: &[("Name", "r")],
        },
        Case {
            path: "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            object: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"},
                    {"kind": "ServiceAccount", "name": "robot", "namespace": "default"}]}),
            status: None,
            columns: &[
                "Name",
                "Role",
                "Age",
                "*Users",
                "*Groups",
                "*ServiceAccounts",
            ],
            cells: &[
                ("Role", "Role/r"),
                ("Users", "alice"),
                ("Groups", ""),
                ("ServiceAccounts", "default/robot"),
            ],
        },
        Case {
            path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            object: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "printer-test"}, "rules": []}),
            status: None,
            columns: &["Name", "Created At"],
            cells: &[("Name", "printer-test")],
        },
        Case {
            path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            object: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "crb"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"},
                    {"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"}]}),
            status: None,
            columns: &[
                "Name",
                "Role",
                "Age",
                "*Users",
                "*Groups",
                "*ServiceAccounts",
            ],
            cells: &[("Role", "ClusterRole/view"), ("Groups", "devs, ops")],
        },
        Case {
            path: "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
            object: json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "hpa"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
            status: None,
            columns: &[
                "Name",
                "Reference",
                "Targets",
                "MinPods",
                "MaxPods",
                "Replicas",
                "Age",
            ],
            cells: &[
                ("Reference", "Deployment/web"),
                ("Targets", "cpu: <unknown>/80%"),
                ("MinPods", "1"),
                ("MaxPods", "5"),
                ("Replicas", "0"),
            ],
        },
        Case {
            path: "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            object: json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb"},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}),
            status: None,
            columns: &[
                "Name",
                "Min Available",
                "Max Unavailable",
                "Allowed Disruptions",
                "Age",
            ],
            cells: &[
                ("Min Available", "1"),
                ("Max Unavailable", "N/A"),
                ("Allowed Disruptions", "0"),
            ],
        },
        Case {
            path: "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            object: json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
                "spec": {"holderIdentity": "pod-a"}}),
            status: None,
            columns: &["Name", "Holder", "Age"],
            cells: &[("Holder", "pod-a")],
        },
        Case {
            path: "/apis/scheduling.k8s.io/v1/priorityclasses",
            object: json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000}),
            status: None,
            columns: &["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
            cells: &[
                ("Value", "1000"),
                ("Global-Default", "false"),
                ("PreemptionPolicy", "PreemptLowerPriority"),
            ],
        },
        Case {
            path: "/apis/node.k8s.io/v1/runtimeclasses",
            object: json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"}, "handler": "runsc"}),
            status: None,
            columns: &["Name", "Handler", "Age"],
            cells: &[("Handler", "runsc")],
        },
        Case {
            path: "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            object: json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "csr1"},
                "spec": {"request": common::csr_request("csr1"), "signerName": "example.com/signer", "usages": ["client auth"], "expirationSeconds": 3600}}),
            status: None,
            columns: &[
                "Name",
                "Age",
                "SignerName",
                "Requestor",
                "RequestedDuration",
                "Condition",
            ],
            cells: &[
                ("SignerName", "example.com/signer"),
                ("RequestedDuration", "60m"),
                ("Condition", "Pending"),
            ],
        },
        Case {
            path: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
            object: json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "vwc"},
                "webhooks": [{"name": "v.example.com", "clientConfig": {"url": "https://example.com/v"},
                    "sideEffects": "None", "admissionReviewVersions": ["v1"]}]}),
            status: None,
            columns: &["Name", "Webhooks", "Age"],
            cells: &[("Webhooks", "1")],
        },
        Case {
            path: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            object: json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "mwc"},
                "webhooks": []}),
            status: None,
            columns: &["Name", "Webhooks", "Age"],
            cells: &[("Webhooks", "0")],
        },
        Case {
            path: "/apis/apiregistration.k8s.io/v1/apiservices",
            object: json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1.printers.example.com"},
                "spec": {"group": "printers.example.com", "version": "v1", "groupPriorityMinimum": 1000, "versionPriority": 15,
                    "service": {"namespace": "default", "name": "api"}}}),
            status: None,
            columns: &["Name", "Service", "Available", "Age"],
            cells: &[("Service", "default/api")],
        },
    ]
}

/// A column's name without the wide marker, and whether it is wide.
fn column(spec: &str) -> (&str, i64) {
    spec.strip_prefix('*').map_or((spec, 0), |n| (n, 1))
}

/// Whether `cell` is the age of an object made within the test ("Ns").
fn fresh_age(cell: &Value) -> bool {
    cell.as_str()
        .and_then(|a| a.strip_suffix('s'))
        .is_some_and(|n| n.parse::<u32>().is_ok())
}

async fn create_all(s: &apiserver::ApiServer, cases: &[Case]) {
    for c in cases {
        let r = send(s, "POST", c.path, &c.object).await;
        assert_eq!(r.code, 201, "create in {}: {}", c.path, r.body);
        if let Some(status) = &c.status {
            let name = c.object["metadata"]["name"].as_str().unwrap();
            let r = send(s, "PATCH", &format!("{}/{name}/status", c.path), status).await;
            assert_eq!(r.code, 200, "status of {}/{name}: {}", c.path, r.body);
        }
    }
}

/// The cell as kubectl prints it.
fn printed(cell: &Value) -> String {
    match cell {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn each_built_in_row_has_kubes_columns_and_cells() {
    let s = apiserver::ApiServer::builder().start().await.unwrap();
    let cases = cases();
    create_all(&s, &cases).await;
    for c in &cases {
        let name = c.object["metadata"]["name"].as_str().unwrap();
        let r = request(
            &s,
            "GET",
            &format!("{}/{name}", c.path),
            &[("accept", TABLE)],
            "",
        )
        .await;
        assert_eq!(r.code, 200, "{}: {}", c.path, r.text());
        let t = r.json();
        let defs = t["columnDefinitions"]
            .as_array()
            .expect("column definitions");
        let got: Vec<(&str, i64)> = defs
            .iter()
            .map(|d| (d["name"].as_str().unwrap(), d["priority"].as_i64().unwrap()))
            .collect();
        let want: Vec<(&str, i64)> = c.columns.iter().map(|c| column(c)).collect();
        assert_eq!(got, want, "columns of {}", c.path);
        for d in defs {
            assert!(d["description"].is_string(), "{}: {d}", c.path);
        }
        let cells = t["rows"][0]["cells"].as_array().expect("one row");
        assert_eq!(cells.len(), defs.len(), "{}: {cells:?}", c.path);
        let cell = |col: &str| {
            let at = want
                .iter()
                .position(|(n, _)| *n == col)
                .unwrap_or_else(|| panic!("{}: no column {col}", c.path));
            &cells[at]
        };
        for (col, expected) in c.cells {
            let v = cell(col);
            if *expected == AGE {
                assert!(fresh_age(v), "{} {col}: {v}", c.path);
            } else {
                assert_eq!(printed(v), *expected, "{} column {col}: {cells:?}", c.path);
            }
        }
        if let Some(at) = want.iter().position(|(n, _)| *n == "Age") {
            assert!(fresh_age(&cells[at]), "{} Age: {}", c.path, cells[at]);
        }
    }
}

/// Splits a kubectl table line into cells: two or more spaces separate them.
fn split(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn kubectl_get_prints_each_types_columns_plain_and_wide() {
    let s = apiserver::ApiServer::builder().start().await.unwrap();
    let Some(k) = Kubectl::for_server(&s, "kubectl_get_prints_each_types_columns_plain_and_wide")
    else {
        return;
    };
    let cases = cases();
    create_all(&s, &cases).await;
    for c in &cases {
        let name = c.object["metadata"]["name"].as_str().unwrap();
        // The resource as kubectl names it: plural.group, from the path.
        let mut parts = c.path.rsplit('/');
        let plural = parts.next().unwrap();
        let group = if c.path.starts_with("/apis/") {
            c.path.split('/').nth(2).unwrap()
        } else {
            ""
        };
        let resource = if group.is_empty() {
            plural.to_owned()
        } else {
            format!("{plural}.{group}")
        };
        let namespaced = c.path.contains("/namespaces/default/");
        let mut args = vec!["get", resource.as_str(), name];
        if namespaced {
            args.extend(["-n", "default"]);
        }
        for wide in [false, true] {
            let mut a = args.clone();
            if wide {
                a.extend(["-o", "wide"]);
            }
            let out = k.ok(&a).await;
            let mut lines = out.lines();
            let header = split(lines.next().unwrap_or_default());
            let want: Vec<String> = c
                .columns
                .iter()
                .map(|c| column(c))
                .filter(|(_, p)| wide || *p == 0)
                .map(|(n, _)| n.to_uppercase())
                .collect();
            assert_eq!(header, want, "kubectl {a:?}:\n{out}");
            let row = lines.next().unwrap_or_default();
            for (col, expected) in c.cells {
                let shown = want.contains(&col.to_uppercase());
                if shown && *expected != AGE && !expected.is_empty() {
                    assert!(
                        row.contains(expected),
                        "kubectl {a:?}: {col} {expected:?} missing in\n{out}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_protobuf_table_is_never_served() {
    let s = apiserver::ApiServer::builder().start().await.unwrap();
    let path = "/api/v1/namespaces/default/configmaps";
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
    assert_eq!(send(&s, "POST", path, &cm).await.code, 201);
    let pb_table = "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io";
    // Alone: nothing acceptable is left (kube: 406 NotAcceptable).
    let r = request(&s, "GET", path, &[("accept", pb_table)], "").await;
    assert_eq!(r.code, 406, "{}", r.text());
    assert_eq!(r.json()["reason"], "NotAcceptable");
    // Before JSON Table: the JSON Table answers.
    let r = request(
        &s,
        "GET",
        path,
        &[("accept", &format!("{pb_table},{TABLE}"))],
        "",
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(r.json()["kind"], "Table");
    // Before plain protobuf: the list in protobuf.
    let r = request(
        &s,
        "GET",
        path,
        &[(
            "accept",
            &format!("{pb_table},application/vnd.kubernetes.protobuf"),
        )],
        "",
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/vnd.kubernetes.protobuf")
    );
    // A watch asking for a protobuf Table stream is refused as well.
    let r = tokio::time::timeout(
        WAIT,
        request(
            &s,
            "GET",
            &format!("{path}?watch=1"),
            &[("accept", pb_table)],
            "",
        ),
    )
    .await
    .expect("answered");
    assert_eq!(r.code, 406, "{}", r.text());
}
