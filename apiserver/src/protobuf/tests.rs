//! Round trips over a wide set of built-in objects, a cross-check against k8s-pb's own prost
//! decoder and encoder (an independent reading of the wire format, for the messages k8s-pb 0.9
//! has), Go's presence rules, and malformed bodies.

use prost::Message as _;
use serde_json::{Value, json};

use super::*;

/// Every leaf of `want` is in `got` with the same value; what `got` adds is Go's zero output
/// (null, "", 0, false, {}, or an object of those) — the fields `encoding/json` writes always.
fn contains(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                let gv = g
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} lost in the round trip; got {got}"));
                contains(gv, wv, &format!("{path}.{k}"));
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    assert!(zero_only(gv), "{path}.{k} added with a value: {gv}");
                }
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{path}: list length");
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                contains(gv, wv, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

fn zero_only(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Object(o) => o.values().all(zero_only),
        Value::Array(a) => a.is_empty(),
        Value::Bool(true) => false,
    }
}

fn round_trip(v: &Value) -> Value {
    let bytes = encode_object(v).unwrap_or_else(|e| panic!("encode {}: {e}", v["kind"]));
    assert_eq!(&bytes[..4], MAGIC);
    decode_object(&bytes).unwrap_or_else(|e| panic!("decode {}: {e}", v["kind"]))
}

fn objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1", "labels": {"a": "b"},
            "creationTimestamp": "2026-12-04T22:00:00Z", "uid": "u-1", "resourceVersion": "7"},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d",
            "annotations": {"x/y": "z"}, "generation": 3},
            "data": {"k": "v", "empty": ""}, "binaryData": {"b": "AAEC/w=="}, "immutable": false}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"},
            "type": "Opaque", "data": {"password": "cGFzcw=="}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u",
                "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                "time": "2026-12-04T22:00:01Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}]},
            "spec": {"restartPolicy": "Always", "terminationGracePeriodSeconds": 0,
                "securityContext": {"runAsUser": 0, "supplementalGroups": [1, 2, 3], "fsGroup": -5},
                "containers": [{"name": "c", "image": "nginx", "args": ["-x"],
                    "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom":
                        {"configMapKeyRef": {"name": "c", "key": "k", "optional": true}}}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "1"}},
                    "livenessProbe": {"httpGet": {"path": "/", "port": "http", "scheme": "HTTP"},
                        "periodSeconds": 10},
                    "readinessProbe": {"tcpSocket": {"port": 8080}}}],
                "volumes": [{"name": "v", "configMap": {"name": "c", "defaultMode": 420}},
                    {"name": "e", "emptyDir": {"sizeLimit": "1Gi"}}],
                "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule",
                    "tolerationSeconds": 30}]},
            "status": {"phase": "Pending", "qosClass": "Burstable",
                "conditions": [{"type": "PodScheduled", "status": "False", "lastTransitionTime": "2026-12-04T22:00:02Z"}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "dep", "namespace": "d"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "x"},
                    "matchExpressions": [{"key": "t", "operator": "In", "values": ["a"]}]},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"app": "x"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "d"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"],
                "ports": [{"name": "h", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                    {"name": "g", "port": 81, "targetPort": "grpc", "protocol": "TCP"}],
                "selector": {"app": "x"}, "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
            "status": {"loadBalancer": {}}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "d"},
            "spec": {"backoffLimit": 0, "suspend": false, "completions": 1,
                "podFailurePolicy": {"rules": [{"action": "FailJob",
                    "onExitCodes": {"operator": "In", "values": [1, 2, 42]}}]},
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}},
            "status": {"startTime": "2026-12-04T22:00:03Z", "active": 1}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj", "namespace": "d"},
            "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                    "containers": [{"name": "c", "image": "i"}]}}}}}}),
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l", "namespace": "d"},
            "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15,
                "acquireTime": "2026-12-04T22:00:04.123456Z", "renewTime": "2026-12-04T22:00:05.000001Z"}}),
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e", "namespace": "d"},
            "eventTime": "2026-12-04T22:00:06.500000Z", "reportingController": "x", "reportingInstance": "y",
            "action": "A", "reason": "R", "type": "Normal",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "d"}}),
        json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "cr", "namespace": "d"},
            "revision": 2, "data": {"spec": {"template": {"x": [1, "two", null]}}}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}}),
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas"}},
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {"size": {"type": "integer", "minimum": 1.5, "default": 3},
                                "tags": {"type": "array", "items": {"type": "string"}},
                                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                "any": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                                "free": {"type": "object", "additionalProperties": false},
                                "enumerated": {"type": "string", "enum": ["a", "b"]}},
                            "x-kubernetes-validations": [{"rule": "self.size < 10", "message": "small"}]}}}}}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {"resourceVersion": "9", "continue": "t"},
            "items": [{"metadata": {"name": "a"}, "data": {"x": "y"}}]}),
        json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
            "message": "configmaps \"x\" not found", "reason": "NotFound",
            "details": {"name": "x", "kind": "configmaps"}, "code": 404}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb", "namespace": "d"},
            "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"a": "b"}}}}),
        json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "csr"},
            "spec": {"request": "LS0tLS1CRUdJTg==", "signerName": "example.com/s", "usages": ["digital signature"],
                "extra": {"scopes": ["a", "b"]}}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "spec": {"unschedulable": true, "taints": [{"key": "k", "effect": "NoSchedule"}], "podCIDRs": ["10.0.0.0/24"]},
            "status": {"capacity": {"cpu": "4", "pods": "110"}, "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}),
    ]
}

#[test]
fn json_to_protobuf_to_json_keeps_every_field() {
    for obj in objects() {
        let back = round_trip(&obj);
        contains(&back, &obj, obj["kind"].as_str().unwrap_or("?"));
        // And the Go-normalized form is a fixed point.
        assert_eq!(round_trip(&back), back, "{}", obj["kind"]);
    }
}

#[test]
fn list_items_carry_no_type_meta() {
    // As in kube: an item's apiVersion and kind are the list's, not in the protobuf message.
    let back = round_trip(
        &json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {},
        "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]}),
    );
    assert_eq!(back["items"][0], json!({"metadata": {"name": "a"}}));
}

#[test]
fn every_served_built_in_kind_and_its_list_have_a_message() {
    // Kinds newer than k8s-pb 0.9 (MutatingAdmissionPolicy, ClusterTrustBundle, PodCertificateRequest,
    // StorageVersionMigration, ...) included: the table is generated from the release's .proto.
    for t in crate::builtin::builtin_types() {
        let api_version = if t.group.is_empty() {
            t.version.to_owned()
        } else {
            format!("{}/{}", t.group, t.version)
        };
        assert!(
            has_message(&api_version, t.kind),
            "{api_version} {}",
            t.kind
        );
        if t.verbs.contains(&"list") {
            assert!(
                has_message(&api_version, t.list_kind),
                "{api_version} {}",
                t.list_kind
            );
        }
    }
}

#[test]
fn kinds_and_fields_newer_than_k8s_pb_round_trip() {
    let objects = [
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": "p"}, "spec": {"failurePolicy": "Fail", "reinvocationPolicy": "Never",
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["configmaps"]}]},
                "mutations": [{"patchType": "ApplyConfiguration",
                    "applyConfiguration": {"expression": "Object{metadata: Object.metadata{labels: {'a': 'b'}}}"}}]}}),
        json!({"apiVersion": "certificates.k8s.io/v1", "kind": "ClusterTrustBundle",
            "metadata": {"name": "example.com:signer:a"},
            "spec": {"signerName": "example.com/signer", "trustBundle": "-----BEGIN CERTIFICATE-----"}}),
        json!({"apiVersion": "storagemigration.k8s.io/v1", "kind": "StorageVersionMigration",
            "metadata": {"name": "m"}, "spec": {"resource": {"group": "apps", "resource": "deployments"}}}),
        // Fields added after k8s-pb 0.9 to messages it has.
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "c", "image": "i",
                "volumeMounts": [{"name": "v", "mountPath": "/v", "bindMountOptions": ["nosuid"]}]}],
            "volumes": [{"name": "v", "configMap": {"name": "cm", "defaultUser": 1000}}]}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "spec": {"podPreemptionPolicy": {"disableResizePreemption": ["x"]}}}),
    ];
    for v in objects {
        let back = round_trip(&v);
        contains(&back, &v, v["kind"].as_str().unwrap());
        assert_eq!(round_trip(&back), back, "{}", v["kind"]);
    }
}

#[test]
fn fields_the_messages_lack_are_refused_not_dropped() {
    // JSON_ONLY: k8s-openapi knows these, the facts' generated.proto does not; encoding an object
    // with one is an error (the response falls back to JSON), never a silent loss.
    assert!(schema::JSON_ONLY.contains(&"api/core/v1.NodeSystemInfo.runningInUserNamespace"));
    for entry in schema::JSON_ONLY {
        let (message_name, field) = entry.rsplit_once('.').unwrap();
        let msg = super::codec::index_of(message_name)
            .map(message)
            .unwrap_or_else(|| panic!("{message_name} is not in the table"));
        assert!(
            json_field(msg, field).is_none(),
            "{entry} has a protobuf field"
        );
    }
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
        "status": {"nodeInfo": {"machineID": "m", "runningInUserNamespace": true}}});
    match encode_object(&node) {
        Err(ProtoError::UnknownField(path, message)) => {
            assert_eq!(path, "status.nodeInfo.runningInUserNamespace");
            assert_eq!(message, "api/core/v1.NodeSystemInfo");
        }
        other => panic!("expected UnknownField, got {other:?}"),
    }
}

#[test]
fn go_presence_rules_on_decode() {
    // Deployment: replicas (a pointer) 0 stays; minReadySeconds (omitempty) 0 goes; status'
    // non-omitempty counters... DeploymentStatus has only omitempty ones, so `status: {}`.
    let back = round_trip(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d"}, "spec": {"replicas": 0, "minReadySeconds": 0,
            "selector": {}, "template": {"spec": {"containers": []}}}}));
    assert_eq!(back["spec"]["replicas"], 0);
    assert!(back["spec"].get("minReadySeconds").is_none(), "{back}");
    assert_eq!(back["status"], json!({}));
    // A zero creationTimestamp is left out: ObjectMeta tags it `omitzero` since Kubernetes 1.34
    // ("Omit null metadata.creationTimestamp"); other zero metav1.Times are written as null.
    assert!(
        back["metadata"].get("creationTimestamp").is_none(),
        "{back}"
    );
    // Required lists without omitempty are null when empty (`containers: null`).
    assert_eq!(back["spec"]["template"]["spec"]["containers"], Value::Null);
}

#[test]
fn k8s_pb_reads_what_we_write() {
    let pod = objects().into_iter().find(|o| o["kind"] == "Pod").unwrap();
    let bytes = encode_object(&pod).unwrap();
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown::decode(&bytes[4..]).unwrap();
    let tm = unknown.type_meta.clone().unwrap();
    assert_eq!((tm.api_version(), tm.kind()), ("v1", "Pod"));
    let p = k8s_pb::api::core::v1::Pod::decode(unknown.raw()).unwrap();
    let spec = p.spec.unwrap();
    let c = &spec.containers[0];
    assert_eq!(c.name(), "c");
    assert_eq!(c.ports[0].container_port(), 80);
    let limits = &c.resources.as_ref().unwrap().limits;
    assert_eq!(limits["memory"].string(), "128Mi");
    let port = c
        .liveness_probe
        .as_ref()
        .unwrap()
        .handler
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap()
        .port
        .as_ref()
        .unwrap();
    assert_eq!((port.r#type(), port.str_val()), (1, "http"));
    assert_eq!(
        spec.security_context.unwrap().supplemental_groups,
        vec![1, 2, 3]
    );
    assert_eq!(spec.termination_grace_period_seconds, Some(0));
    let mf = &p.metadata.unwrap().managed_fields[0];
    assert_eq!(mf.time.as_ref().unwrap().seconds(), 1_796_421_601);
    assert_eq!(
        serde_json::from_slice::<Value>(mf.fields_v1.as_ref().unwrap().raw()).unwrap(),
        pod["metadata"]["managedFields"][0]["fieldsV1"]
    );
}

#[test]
fn we_read_what_k8s_pb_writes() {
    use k8s_pb::api::apps::v1 as apps;
    use k8s_pb::api::core::v1 as core;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    // What Go's marshaller sends for `kubectl create deployment x --image=nginx --replicas=0`:
    // non-pointer fields written even when empty.
    let d = apps::Deployment {
        metadata: Some(meta::ObjectMeta {
            name: Some("x".into()),
            namespace: Some(String::new()),
            generate_name: Some(String::new()),
            labels: [("app".to_owned(), "x".to_owned())].into(),
            ..Default::default()
        }),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            min_ready_seconds: Some(0),
            paused: Some(false),
            selector: Some(meta::LabelSelector {
                match_labels: [("app".to_owned(), "x".to_owned())].into(),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta::default()),
                spec: Some(core::PodSpec {
                    containers: vec![core::Container {
                        name: Some("nginx".into()),
                        image: Some("nginx".into()),
                        image_pull_policy: Some(String::new()),
                        termination_message_path: Some(String::new()),
                        ..Default::default()
                    }],
                    restart_policy: Some(String::new()),
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy::default()),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    };
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown {
        type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
            api_version: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
        }),
        raw: Some(d.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    let v = decode_object(&body).unwrap();
    assert_eq!(
        v,
        json!({"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "x", "labels": {"app": "x"}},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "x"}},
                "template": {"metadata": {},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}},
                "strategy": {}},
            "status": {}})
    );
}

#[test]
fn watch_frames_round_trip() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
    let mut stream = watch_frame("ADDED", &cm).unwrap();
    stream.extend(watch_frame("DELETED", &cm).unwrap());
    let (t, obj, used) = read_watch_frame(&stream).unwrap().unwrap();
    assert_eq!(t, "ADDED");
    assert_eq!(obj["data"], json!({"k": "v"}));
    let (t, _, rest) = read_watch_frame(&stream[used..]).unwrap().unwrap();
    assert_eq!((t.as_str(), used + rest), ("DELETED", stream.len()));
    assert!(read_watch_frame(&stream[..used - 1]).unwrap().is_none());
    // The frame is kube's: the WatchEvent message itself, its object the full envelope.
    let event =
        k8s_pb::apimachinery::pkg::apis::meta::v1::WatchEvent::decode(&stream[4..used]).unwrap();
    assert_eq!(&event.object.unwrap().raw()[..4], MAGIC);
}

#[test]
fn malformed_bodies_are_named() {
    let err = |b: &[u8]| decode_object(b).unwrap_err().to_string();
    assert_eq!(err(b""), "empty data");
    assert_eq!(
        err(b"{\"kind\":\"ConfigMap\"}"),
        "provided data does not appear to be a protobuf message, expected prefix [107, 56, 115, 0]"
    );
    assert_eq!(err(b"k8s\0"), "empty body");
    // A length running past the end.
    assert!(
        err(b"k8s\0\x0a\x50abc").contains("runs past the end"),
        "{}",
        err(b"k8s\0\x0a\x50abc")
    );
    // No kind in the envelope.
    assert!(err(b"k8s\0\x0a\x04\x0a\x02v1").contains("Object 'Kind' is missing"));
    // An unknown kind.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let mut body = encode_object(&cm).unwrap();
    let pos = body.windows(9).position(|w| w == b"ConfigMap").unwrap();
    body[pos] = b'X';
    assert_eq!(err(&body), "no protobuf message for v1, Kind=XonfigMap");
    // A field of the wrong wire type: ConfigMap.data (tag 2) as a varint.
    let envelope = |raw: &[u8]| {
        let mut b = MAGIC.to_vec();
        Unknown {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            raw,
            content_encoding: String::new(),
            content_type: String::new(),
        }
        .encode(&mut b);
        b
    };
    let e = err(&envelope(&[0x10, 0x01]));
    assert!(
        e.contains("api/core/v1.ConfigMap: field 2 (data) has the wrong wire type varint"),
        "{e}"
    );
    // Not UTF-8 where a string belongs: metadata { name: 0xff }.
    let e = err(&envelope(&[0x0a, 0x03, 0x0a, 0x01, 0xff]));
    assert!(e.contains("not UTF-8"), "{e}");
    // Nesting past the limit does not overflow the stack.
    let mut deep = Vec::new();
    for _ in 0..200 {
        let mut outer = vec![0x0a];
        encode_varint(deep.len() as u64, &mut outer);
        outer.extend(deep);
        deep = outer;
    }
    let e = err(&envelope(&deep));
    assert!(!e.is_empty());
}

#[test]
fn json_without_a_protobuf_place_is_refused() {
    let e = encode_object(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
        "futureField": 1}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "futureField: field not in the protobuf message api/core/v1.ConfigMap"
    );
    let e = encode_object(&json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": 5}}))
        .unwrap_err();
    assert_eq!(e.to_string(), "data.a: expected a string, got a number");
    let e = encode_object(&json!({"apiVersion": "example.com/v1", "kind": "Widget"})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no protobuf message for example.com/v1, Kind=Widget"
    );
}
