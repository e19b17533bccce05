//! Validation over HTTP of the types that gained rules of their own after ObjectMeta:
//! PodCertificateRequest, ControllerRevision, RuntimeClass, IPAddress, ServiceCIDR, CSINode,
//! CSIStorageCapacity and VolumeAttributesClass — a 422 whose message and `details.causes` carry
//! kube's field errors, a valid object accepted, and at least one update rule per type.

mod common;

use common::{DUPLICATE, FORBIDDEN, INVALID, REQUIRED, assert_invalid, create, replace, send};
use serde_json::{Value, json};

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

const PCRS: &str = "/apis/certificates.k8s.io/v1/namespaces/default/podcertificaterequests";

fn pcr(name: &str) -> Value {
    json!({"apiVersion": "certificates.k8s.io/v1", "kind": "PodCertificateRequest",
        "metadata": {"name": name},
        "spec": {"signerName": "example.com/signer", "podName": "web", "podUID": "uid-1",
            "serviceAccountName": "default", "serviceAccountUID": "uid-2", "nodeName": "node-1",
            "nodeUID": "uid-3", "maxExpirationSeconds": 86400}})
}

#[tokio::test]
async fn pod_certificate_requests() {
    let s = server().await;
    let mut bad = pcr("bad");
    bad["spec"]["podName"] = "Web".into();
    bad["spec"]["serviceAccountUID"] = "".into();
    bad["spec"]["signerName"] = "kubernetes.io/kube-apiserver-client-pod".into();
    bad["spec"]["maxExpirationSeconds"] = 86401.into();
    let r = send(&s, "POST", PCRS, &bad).await;
    assert_invalid(
        &r,
        "PodCertificateRequest.certificates.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "spec.podName",
                "Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
            (
                INVALID,
                "spec.serviceAccountUID",
                "Invalid value: \"\": must not be empty",
            ),
            (
                INVALID,
                "spec.maxExpirationSeconds",
                "Invalid value: 86401: must be in the range [3600, 86400]",
            ),
        ],
    );
    // maxExpirationSeconds defaults to 86400 (`+default=86400`) before validation.
    let mut unset = pcr("unset");
    unset["spec"]
        .as_object_mut()
        .map(|spec| spec.remove("maxExpirationSeconds"));
    let defaulted = create(&s, PCRS, &unset).await;
    assert_eq!(
        defaulted["spec"]["maxExpirationSeconds"], 86400,
        "{defaulted}"
    );
    let path = format!("{PCRS}/ok");
    let stored = create(&s, PCRS, &pcr("ok")).await;
    // The spec is immutable.
    let mut changed = stored.clone();
    changed["spec"]["nodeName"] = "node-2".into();
    let r = replace(&s, &path, &stored, changed).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["field"], "spec",
        "{}",
        r.body
    );
    let message = r.body["details"]["causes"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(
        message.starts_with(
            "Invalid value: {\"SignerName\":\"example.com/signer\",\"PodName\":\"web\""
        ) && message.ends_with(": field is immutable"),
        "{message}"
    );
    // /status accepts only the terminal conditions.
    let mut status = stored.clone();
    status["status"] = json!({"conditions": [{"type": "Ready", "status": "True",
        "reason": "Fine", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
    let r = replace(&s, &format!("{path}/status"), &stored, status).await;
    assert_invalid(
        &r,
        "PodCertificateRequest.certificates.k8s.io",
        "ok",
        &[(
            "FieldValueNotSupported",
            "status.conditions[0].type",
            "Unsupported value: \"Ready\": supported values: \"Issued\", \"Denied\", \"Failed\"",
        )],
    );
}

const REVISIONS: &str = "/apis/apps/v1/namespaces/default/controllerrevisions";

#[tokio::test]
async fn controller_revisions() {
    let s = server().await;
    let bad = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "bad"}, "revision": -1});
    assert_invalid(
        &send(&s, "POST", REVISIONS, &bad).await,
        "ControllerRevision.apps",
        "bad",
        &[
            (REQUIRED, "data", "Required value: data is mandatory"),
            (
                INVALID,
                "revision",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
        ],
    );
    let good = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "web-1"}, "revision": 1, "data": {"spec": {"a": 1}}});
    let stored = create(&s, REVISIONS, &good).await;
    let mut changed = stored.clone();
    changed["data"] = json!({"spec": {"a": 2}});
    assert_invalid(
        &replace(&s, &format!("{REVISIONS}/web-1"), &stored, changed).await,
        "ControllerRevision.apps",
        "web-1",
        &[(
            INVALID,
            "data",
            "Invalid value: {\"spec\":{\"a\":2}}: field is immutable",
        )],
    );
}

const RUNTIME_CLASSES: &str = "/apis/node.k8s.io/v1/runtimeclasses";

#[tokio::test]
async fn runtime_classes() {
    let s = server().await;
    let bad = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": "bad"}, "handler": "run.c",
        "overhead": {"podFixed": {"cpu": "-1", "hugepages-2Mi": "1Mi"}},
        "scheduling": {"nodeSelector": {"a b": "x"}}});
    let r = send(&s, "POST", RUNTIME_CLASSES, &bad).await;
    assert_eq!(r.code, 422, "{}", r.body);
    let fields: Vec<&str> = r.body["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        ["handler", "overhead.limits[cpu]", "scheduling.nodeSelector"],
        "{}",
        r.body
    );
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        "Invalid value: \"run.c\": must not contain dots"
    );
    assert_eq!(
        r.body["details"]["causes"][1]["message"],
        "Invalid value: \"-1\": must be greater than or equal to 0"
    );
    let good = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": "gvisor"}, "handler": "runsc",
        "overhead": {"podFixed": {"cpu": "250m", "memory": "64Mi"}}});
    let stored = create(&s, RUNTIME_CLASSES, &good).await;
    let mut changed = stored.clone();
    changed["handler"] = "kata".into();
    assert_invalid(
        &replace(&s, &format!("{RUNTIME_CLASSES}/gvisor"), &stored, changed).await,
        "RuntimeClass.node.k8s.io",
        "gvisor",
        &[(
            INVALID,
            "handler",
            "Invalid value: \"kata\": field is immutable",
        )],
    );
}

const IP_ADDRESSES: &str = "/apis/networking.k8s.io/v1/ipaddresses";
const SERVICE_CIDRS: &str = "/apis/networking.k8s.io/v1/servicecidrs";

fn ip_address(name: &str) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress", "metadata": {"name": name},
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "default",
            "name": "web"}}})
}

#[tokio::test]
async fn ip_addresses() {
    let s = server().await;
    let mut bad = ip_address("2001:DB8::1");
    bad["spec"]["parentRef"] = json!({"resource": "a/b"});
    assert_invalid(
        &send(&s, "POST", IP_ADDRESSES, &bad).await,
        "IPAddress.networking.k8s.io",
        "2001:DB8::1",
        // kube's `ValidateIPAddress` checks ObjectMeta first, then the parent reference.
        &[
            (
                INVALID,
                "metadata.name",
                "Invalid value: \"2001:DB8::1\": must be in canonical form (\"2001:db8::1\")",
            ),
            (
                INVALID,
                "spec.parentRef.resource",
                "Invalid value: \"a/b\": may not contain '/'",
            ),
            (REQUIRED, "spec.parentRef.name", "Required value"),
        ],
    );
    // An IPv6 name in canonical form is a valid name (not a DNS subdomain).
    let stored = create(&s, IP_ADDRESSES, &ip_address("2001:db8::1")).await;
    let mut changed = stored.clone();
    changed["spec"]["parentRef"]["name"] = "other".into();
    assert_invalid(
        &replace(&s, &format!("{IP_ADDRESSES}/2001:db8::1"), &stored, changed).await,
        "IPAddress.networking.k8s.io",
        "2001:db8::1",
        &[(
            INVALID,
            "spec.parentRef",
            "Invalid value: {\"Group\":\"\",\"Resource\":\"services\",\"Namespace\":\"default\",\"Name\":\"other\"}: field is immutable",
        )],
    );
}

#[tokio::test]
async fn service_cidrs() {
    let s = server().await;
    let cidr = |name: &str, cidrs: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
            "metadata": {"name": name}, "spec": {"cidrs": cidrs}})
    };
    assert_invalid(
        &send(
            &s,
            "POST",
            SERVICE_CIDRS,
            &cidr("two", json!(["10.0.0.0/16", "10.1.0.0/16"])),
        )
        .await,
        "ServiceCIDR.networking.k8s.io",
        "two",
        &[(
            INVALID,
            "spec.cidrs",
            "Invalid value: {\"CIDRs\":[\"10.0.0.0/16\",\"10.1.0.0/16\"]}: may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64",
        )],
    );
    assert_invalid(
        &send(
            &s,
            "POST",
            SERVICE_CIDRS,
            &cidr("odd", json!(["10.0.0.1/16", "2001:DB8::/64"])),
        )
        .await,
        "ServiceCIDR.networking.k8s.io",
        "odd",
        &[
            (
                INVALID,
                "spec.cidrs[0]",
                "Invalid value: \"10.0.0.1/16\": must not have bits set beyond the prefix length",
            ),
            (
                INVALID,
                "spec.cidrs[1]",
                "Invalid value: \"2001:DB8::/64\": must be in canonical form (\"2001:db8::/64\")",
            ),
        ],
    );
    let stored = create(&s, SERVICE_CIDRS, &cidr("extra", json!(["10.96.0.0/16"]))).await;
    let mut changed = stored.clone();
    changed["spec"]["cidrs"] = json!(["10.96.0.0/16", "fd00::/108"]);
    assert_invalid(
        &replace(&s, &format!("{SERVICE_CIDRS}/extra"), &stored, changed).await,
        "ServiceCIDR.networking.k8s.io",
        "extra",
        &[(
            INVALID,
            "spec.cidrs",
            "Invalid value: [\"10.96.0.0/16\",\"fd00::/108\"]: field is immutable",
        )],
    );
}

const CSI_NODES: &str = "/apis/storage.k8s.io/v1/csinodes";
const CAPACITIES: &str = "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities";
const VACS: &str = "/apis/storage.k8s.io/v1/volumeattributesclasses";

#[tokio::test]
async fn csi_nodes() {
    let s = server().await;
    let bad = json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
        "metadata": {"name": "bad"}, "spec": {"drivers": [
            {"name": "csi.example.com", "nodeID": "n1", "allocatable": {"count": -1}},
            {"name": "csi.example.com", "nodeID": "", "topologyKeys": ["zone", "zone"]}]}});
    assert_invalid(
        &send(&s, "POST", CSI_NODES, &bad).await,
        "CSINode.storage.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "spec.drivers[0].allocatable.count",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (REQUIRED, "spec.drivers[1].nodeID", "Required value"),
            (
                DUPLICATE,
                "spec.drivers[1].name",
                "Duplicate value: \"csi.example.com\"",
            ),
            (DUPLICATE, "spec.drivers[1]", "Duplicate value: \"zone\""),
        ],
    );
    let good = json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
        "metadata": {"name": "node-1"}, "spec": {"drivers": [
            {"name": "csi.example.com", "nodeID": "n1", "allocatable": {"count": 10}}]}});
    let stored = create(&s, CSI_NODES, &good).await;
    // The allocatable count may change; the node ID may not.
    let mut recount = stored.clone();
    recount["spec"]["drivers"][0]["allocatable"]["count"] = 20.into();
    let r = replace(&s, &format!("{CSI_NODES}/node-1"), &stored, recount).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let mut changed = r.body.clone();
    changed["spec"]["drivers"][0]["nodeID"] = "n2".into();
    assert_invalid(
        &replace(&s, &format!("{CSI_NODES}/node-1"), &r.body, changed).await,
        "CSINode.storage.k8s.io",
        "node-1",
        &[(
            INVALID,
            "spec.drivers",
            "Invalid value: {\"Name\":\"csi.example.com\",\"NodeID\":\"n2\",\"TopologyKeys\":null,\"Allocatable\":null}: field is immutable",
        )],
    );
}

#[tokio::test]
async fn csi_storage_capacities() {
    let s = server().await;
    let bad = json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity",
        "metadata": {"name": "bad"}, "storageClassName": "Fast", "capacity": "-1Gi"});
    assert_invalid(
        &send(&s, "POST", CAPACITIES, &bad).await,
        "CSIStorageCapacity.storage.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "storageClassName",
                "Invalid value: \"Fast\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
            (
                INVALID,
                "capacity",
                "Invalid value: \"-1Gi\": must be greater than or equal to 0",
            ),
        ],
    );
    let good = json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity",
        "metadata": {"name": "cap"}, "storageClassName": "fast", "capacity": "10Gi",
        "nodeTopology": {"matchLabels": {"zone": "a"}}});
    let stored = create(&s, CAPACITIES, &good).await;
    let mut changed = stored.clone();
    changed["storageClassName"] = "slow".into();
    changed["capacity"] = "20Gi".into();
    assert_invalid(
        &replace(&s, &format!("{CAPACITIES}/cap"), &stored, changed).await,
        "CSIStorageCapacity.storage.k8s.io",
        "cap",
        &[(
            INVALID,
            "storageClassName",
            "Invalid value: \"slow\": field is immutable",
        )],
    );
}

#[tokio::test]
async fn volume_attributes_classes() {
    let s = server().await;
    let bad = json!({"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttributesClass",
        "metadata": {"name": "bad"}, "driverName": ""});
    assert_invalid(
        &send(&s, "POST", VACS, &bad).await,
        "VolumeAttributesClass.storage.k8s.io",
        "bad",
        &[
            (REQUIRED, "driverName", "Required value"),
            (
                REQUIRED,
                "parameters",
                "Required value: must contain at least one key/value pair",
            ),
        ],
    );
    let good = json!({"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttributesClass",
        "metadata": {"name": "gold"}, "driverName": "csi.example.com",
        "parameters": {"iops": "1000"}});
    let stored = create(&s, VACS, &good).await;
    let mut changed = stored.clone();
    changed["driverName"] = "other.example.com".into();
    changed["parameters"] = json!({"iops": "2000"});
    assert_invalid(
        &replace(&s, &format!("{VACS}/gold"), &stored, changed).await,
        "VolumeAttributesClass.storage.k8s.io",
        "gold",
        &[
            (
                FORBIDDEN,
                "driverName",
                "Forbidden: updates to driverName are forbidden.",
            ),
            (
                FORBIDDEN,
                "parameters",
                "Forbidden: updates to parameters are forbidden.",
            ),
        ],
    );
}
