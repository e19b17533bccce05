//! Validation of core/v1 types over HTTP, as kube's `pkg/apis/core/validation` words it: Events
//! (lenient through core/v1, strict through events.k8s.io/v1), Namespaces, PodTemplates,
//! ReplicationControllers, ResourceQuotas, LimitRanges, Endpoints and Nodes — a 422 whose message and
//! `details.causes` carry kube's field errors, a valid object accepted, and the rules of updates;
//! and the security contexts and deprecated seccomp/AppArmor annotations of Pods and templates,
//! their Windows options, the `spec.os` rules, `hostUsers: false`, Windows HostProcess pods and
//! a server started with `allow_privileged(false)`.

mod common;

use common::{
    DUPLICATE, FORBIDDEN, INVALID, NOT_SUPPORTED, REQUIRED, assert_invalid, deployment, send,
};
use serde_json::{Value, json};

const NS: &str = "/api/v1/namespaces/default";
const EVENTS: &str = "/api/v1/namespaces/default/events";
const V1_EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

fn v1_event(name: &str) -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Started", "note": "container started", "type": "Normal", "action": "Start",
        "reportingController": "example.com/ctl", "reportingInstance": "ctl-0",
    })
}

#[tokio::test]
async fn events_k8s_io_writes_are_strict() {
    let s = server().await;
    // What kube-rs' Recorder writes is accepted.
    let ok = send(&s, "POST", V1_EVENTS, &v1_event("web.1")).await;
    assert_eq!(ok.code, 201, "{}", ok.body);

    let mut bad = v1_event("web.2");
    bad["reportingInstance"] = "i".repeat(129).into();
    bad.as_object_mut().map(|m| m.remove("action"));
    bad["type"] = "Info".into();
    bad["deprecatedCount"] = 3.into();
    let r = send(&s, "POST", V1_EVENTS, &bad).await;
    assert_invalid(
        &r,
        "Event",
        "web.2",
        &[
            (
                INVALID,
                "reportingInstance",
                "Invalid value: \"\": can have at most 128 characters",
            ),
            (REQUIRED, "action", "Required value"),
            (
                INVALID,
                "type",
                "Invalid value: \"\": has invalid value: Info",
            ),
            (INVALID, "count", "Invalid value: \"\": needs to be unset"),
        ],
    );

    // events.k8s.io/v1 names are DNS subdomains; core/v1 takes any path segment.
    let r = send(&s, "POST", V1_EVENTS, &v1_event("Web_3")).await;
    assert_invalid(
        &r,
        "Event",
        "Web_3",
        &[(
            INVALID,
            "metadata.name",
            "Invalid value: \"Web_3\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        )],
    );
    let r = send(
        &s,
        "POST",
        EVENTS,
        &json!({"metadata": {"name": "Web_3"}, "involvedObject": {"kind": "Pod", "name": "web"},
                "type": "Whatever", "count": 2, "message": "legacy"}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn core_events_get_the_legacy_rules() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        EVENTS,
        &json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web",
                "namespace": "other"}}),
    )
    .await;
    assert_invalid(
        &r,
        "Event",
        "e",
        &[(
            INVALID,
            "involvedObject.namespace",
            "Invalid value: \"other\": does not match event.namespace",
        )],
    );
    // A new-style Event (with an eventTime) names its reporter, even through core/v1.
    let r = send(
        &s,
        "POST",
        EVENTS,
        &json!({"metadata": {"name": "e"}, "eventTime": "2026-01-01T00:00:00.000000Z",
                "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                "reportingComponent": "example.com/ctl", "reportingInstance": "i", "action": "A"}),
    )
    .await;
    assert_invalid(&r, "Event", "e", &[(REQUIRED, "reason", "Required value")]);
}

#[tokio::test]
async fn events_k8s_io_updates_change_only_the_series() {
    let s = server().await;
    let created = send(&s, "POST", V1_EVENTS, &v1_event("web.1")).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let mut changed = created.body.clone();
    changed["note"] = "restarted".into();
    changed["regarding"]["name"] = "db".into();
    let r = send(&s, "PUT", &format!("{V1_EVENTS}/web.1"), &changed).await;
    assert_invalid(
        &r,
        "Event",
        "web.1",
        &[
            (
                INVALID,
                "involvedObject",
                "Invalid value: {\"Kind\":\"Pod\",\"Namespace\":\"default\",\"Name\":\"db\",\"UID\":\"\",\"APIVersion\":\"\",\"ResourceVersion\":\"\",\"FieldPath\":\"\"}: field is immutable",
            ),
            (
                INVALID,
                "message",
                "Invalid value: \"restarted\": field is immutable",
            ),
        ],
    );
    let r = send(
        &s,
        "PATCH",
        &format!("{V1_EVENTS}/web.1"),
        &json!({"series": {"count": 1}}),
    )
    .await;
    assert_invalid(
        &r,
        "Event",
        "web.1",
        &[
            (
                INVALID,
                "series.count",
                "Invalid value: \"\": should be at least 2",
            ),
            (REQUIRED, "series.lastObservedTime", "Required value"),
        ],
    );
    // Through core/v1 the same change is allowed.
    let mut core = send(&s, "GET", &format!("{EVENTS}/web.1"), &Value::Null)
        .await
        .body;
    core["message"] = "restarted".into();
    let r = send(&s, "PUT", &format!("{EVENTS}/web.1"), &core).await;
    assert_eq!(r.code, 200, "{}", r.body);
}

#[tokio::test]
async fn namespace_finalizers_and_phase() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "fin"}, "spec": {"finalizers": ["mine"]}}),
    )
    .await;
    assert_invalid(
        &r,
        "Namespace",
        "fin",
        &[(
            INVALID,
            "spec.finalizers",
            "Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified",
        )],
    );
    let ok = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "fin"}, "spec": {"finalizers": ["example.com/x"]}}),
    )
    .await;
    assert_eq!(ok.code, 201, "{}", ok.body);
    assert_eq!(
        ok.body["spec"]["finalizers"],
        json!(["example.com/x", "kubernetes"])
    );
    // Update: a namespace not being deleted is Active.
    let mut status = ok.body.clone();
    status["status"]["phase"] = "Terminating".into();
    let r = send(&s, "PUT", "/api/v1/namespaces/fin/status", &status).await;
    assert_invalid(
        &r,
        "Namespace",
        "fin",
        &[(
            INVALID,
            "status.Phase",
            "Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
        )],
    );
}

fn pod_spec() -> Value {
    json!({"containers": [{"name": "app", "image": "busybox"}]})
}

#[tokio::test]
async fn pod_templates_are_validated_as_pod_templates() {
    let s = server().await;
    let path = format!("{NS}/podtemplates");
    let r = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"a": "b c"}},
                "spec": {"containers": []}}}),
    )
    .await;
    assert_invalid(
        &r,
        "PodTemplate",
        "t",
        &[
            (
                INVALID,
                "template.labels",
                "Invalid value: \"b c\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ),
            (REQUIRED, "template.spec.containers", "Required value"),
        ],
    );
    let ok = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "t"}, "template": {"spec": pod_spec()}}),
    )
    .await;
    assert_eq!(ok.code, 201, "{}", ok.body);
    // Updates are checked the same way.
    let mut changed = ok.body.clone();
    changed["template"]["spec"]["ephemeralContainers"] =
        json!([{"name": "dbg", "image": "busybox"}]);
    let r = send(&s, "PUT", &format!("{path}/t"), &changed).await;
    assert_invalid(
        &r,
        "PodTemplate",
        "t",
        &[(
            "FieldValueForbidden",
            "template.spec.ephemeralContainers",
            "Forbidden: ephemeral containers not allowed in pod template",
        )],
    );
}

#[tokio::test]
async fn replication_controllers() {
    let s = server().await;
    let path = format!("{NS}/replicationcontrollers");
    let rc = |labels: Value| {
        json!({"metadata": {"name": "rc"}, "spec": {"replicas": -1, "selector": {"app": "a"},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec()}}})
    };
    let r = send(&s, "POST", &path, &rc(json!({"app": "b"}))).await;
    assert_invalid(
        &r,
        "ReplicationController",
        "rc",
        &[
            (
                INVALID,
                "spec.replicas",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                INVALID,
                "spec.template.metadata.labels",
                "Invalid value: {\"app\":\"b\"}: `selector` does not match template `labels`",
            ),
        ],
    );
    let mut ok = rc(json!({"app": "a"}));
    ok["spec"]["replicas"] = 1.into();
    let created = send(&s, "POST", &path, &ok).await;
    assert_eq!(created.code, 201, "{}", created.body);
    // Unlike a ReplicaSet's, the selector may change; the template must still match it.
    let mut moved = created.body.clone();
    moved["spec"]["selector"] = json!({"app": "b"});
    moved["spec"]["template"]["metadata"]["labels"] = json!({"app": "b"});
    let r = send(&s, "PUT", &format!("{path}/rc"), &moved).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let mut never = r.body.clone();
    never["spec"]["template"]["spec"]["restartPolicy"] = "Never".into();
    let r = send(&s, "PUT", &format!("{path}/rc"), &never).await;
    assert_invalid(
        &r,
        "ReplicationController",
        "rc",
        &[(
            "FieldValueNotSupported",
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"Never\": supported values: \"Always\"",
        )],
    );
}

#[tokio::test]
async fn resource_quotas() {
    let s = server().await;
    let path = format!("{NS}/resourcequotas");
    let r = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "1500m", "foo": "1"},
                "scopes": ["BestEffort", "NotBestEffort"]}}),
    )
    .await;
    let scopes = "Invalid value: [\"BestEffort\",\"NotBestEffort\"]";
    assert_invalid(
        &r,
        "ResourceQuota",
        "q",
        &[
            (
                INVALID,
                "spec.hard[pods]",
                "Invalid value: \"1500m\": must be an integer",
            ),
            (
                INVALID,
                "spec.hard[foo]",
                "Invalid value: \"foo\": must be a standard resource type or fully qualified",
            ),
            (
                INVALID,
                "spec.hard[foo]",
                "Invalid value: \"foo\": must be a standard resource for quota",
            ),
            (
                INVALID,
                "spec.scopes",
                &format!("{scopes}: conflicting scopes"),
            ),
        ],
    );
    let created = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "10", "cpu": "2"},
                "scopes": ["NotBestEffort"]}}),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    // Scopes are fixed once created. (The resourcequota controller has written the status
    // since the create answered: the update starts from the current object.)
    let mut changed = send(&s, "GET", &format!("{path}/q"), &Value::Null)
        .await
        .body;
    changed["spec"]["scopes"] = json!(["Terminating"]);
    let r = send(&s, "PUT", &format!("{path}/q"), &changed).await;
    assert_invalid(
        &r,
        "ResourceQuota",
        "q",
        &[(
            INVALID,
            "spec.scopes",
            "Invalid value: [\"Terminating\"]: field is immutable",
        )],
    );
}

#[tokio::test]
async fn limit_ranges() {
    let s = server().await;
    let path = format!("{NS}/limitranges");
    let r = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "l"}, "spec": {"limits": [
            {"type": "Pod", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
            {"type": "Pod", "max": {"cpu": "1"}},
            {"type": "PersistentVolumeClaim", "max": {"cpu": "1"}},
        ]}}),
    )
    .await;
    assert_invalid(
        &r,
        "LimitRange",
        "l",
        &[
            (
                INVALID,
                "spec.limits[0].min[cpu]",
                "Invalid value: \"2\": min value 2 is greater than max value 1",
            ),
            (
                "FieldValueDuplicate",
                "spec.limits[1].type",
                "Duplicate value: \"Pod\"",
            ),
            (
                REQUIRED,
                "spec.limits[2].limits",
                "Required value: either minimum or maximum storage value is required, but neither was provided",
            ),
        ],
    );
    let created = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "l"}, "spec": {"limits": [
            {"type": "Container", "min": {"memory": "64Mi"}, "max": {"memory": "1Gi"}}]}}),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    // Updates are checked the same way: a default above the max.
    let mut changed = created.body.clone();
    changed["spec"]["limits"][0]["default"] = json!({"memory": "2Gi"});
    let r = send(&s, "PUT", &format!("{path}/l"), &changed).await;
    assert_invalid(
        &r,
        "LimitRange",
        "l",
        &[(
            INVALID,
            "spec.limits[0].default[memory]",
            "Invalid value: \"1Gi\": default value 2Gi is greater than max value 1Gi",
        )],
    );
}

#[tokio::test]
async fn endpoints() {
    let s = server().await;
    let path = format!("{NS}/endpoints");
    let r = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "e"}, "subsets": [
            {"ports": [{"port": 80, "protocol": "TCP"}]},
            {"addresses": [{"ip": "127.0.0.1"}], "notReadyAddresses": [{"ip": "10.0.0.1", "hostname": "A"}],
             "ports": [{"name": "a", "port": 80, "protocol": "TCP"}, {"port": 70000, "protocol": "TCP"}]},
        ]}),
    )
    .await;
    assert_invalid(
        &r,
        "Endpoints",
        "e",
        &[
            (
                REQUIRED,
                "subsets[0]",
                "Required value: must specify `addresses` or `notReadyAddresses`",
            ),
            (
                INVALID,
                "subsets[1].addresses[0].ip",
                "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
            ),
            (
                INVALID,
                "subsets[1].notReadyAddresses[0].hostname",
                "Invalid value: \"A\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ),
            (REQUIRED, "subsets[1].ports[1].name", "Required value"),
            (
                INVALID,
                "subsets[1].ports[1].port",
                "Invalid value: 70000: must be between 1 and 65535, inclusive",
            ),
        ],
    );
    let created = send(
        &s,
        "POST",
        &path,
        &json!({"metadata": {"name": "e"}, "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80, "protocol": "TCP"}]}]}),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    let mut changed = created.body.clone();
    changed["subsets"][0]["addresses"][0]["ip"] = "169.254.1.1".into();
    let r = send(&s, "PUT", &format!("{path}/e"), &changed).await;
    assert_invalid(
        &r,
        "Endpoints",
        "e",
        &[(
            INVALID,
            "subsets[0].addresses[0].ip",
            "Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        )],
    );
}

#[tokio::test]
async fn nodes() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/api/v1/nodes",
        &json!({"metadata": {"name": "n1"}, "spec": {"taints": [
            {"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoSchedule"},
            {"key": "j", "effect": "Sometimes"}], "podCIDRs": ["x"]}}),
    )
    .await;
    assert_invalid(
        &r,
        "Node",
        "n1",
        &[
            (
                "FieldValueDuplicate",
                "metadata.taints[1]",
                "Duplicate value: {\"Key\":\"k\",\"Value\":\"\",\"Effect\":\"NoSchedule\",\"TimeAdded\":null}: taints must be unique by key and effect pair",
            ),
            (
                "FieldValueNotSupported",
                "metadata.taints[2].effect",
                "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            ),
            (
                INVALID,
                "spec.podCIDRs[0]",
                "Invalid value: \"x\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ),
        ],
    );
    let created = send(
        &s,
        "POST",
        "/api/v1/nodes",
        &json!({"metadata": {"name": "n1"}, "spec": {"providerID": "kind://n1",
            "podCIDRs": ["10.0.0.0/24", "fd00::/64"], "taints": [{"key": "k", "effect": "NoSchedule"}]}}),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    // The provider ID and pod CIDRs are fixed once set.
    let mut changed = created.body.clone();
    changed["spec"]["providerID"] = "kind://n2".into();
    changed["spec"]["podCIDRs"] = json!(["10.0.1.0/24", "fd00::/64"]);
    let r = send(&s, "PUT", "/api/v1/nodes/n1", &changed).await;
    assert_invalid(
        &r,
        "Node",
        "n1",
        &[
            (
                "FieldValueForbidden",
                "spec.podCIDRs",
                "Forbidden: node updates may not change podCIDR except from \"\" to valid",
            ),
            (
                "FieldValueForbidden",
                "spec.providerID",
                "Forbidden: node updates may not change providerID except from \"\" to valid",
            ),
        ],
    );
}

const PODS: &str = "/api/v1/namespaces/default/pods";
const ID_RANGE: &str = "must be between 0 and 2147483647, inclusive";

fn pod(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn pod_security_context_rules() {
    let s = server().await;
    let spec = json!({
        "containers": [{"name": "app", "image": "busybox"}],
        "hostNetwork": true, "hostPID": true, "shareProcessNamespace": true,
        "securityContext": {
            "runAsUser": -1, "runAsGroup": 2147483648i64, "fsGroup": -5,
            "supplementalGroups": [1, -1],
            "sysctls": [{"name": "Bad_Name", "value": "1"},
                        {"name": "net.ipv4.ip_forward", "value": "1"},
                        {"name": "net.ipv4.ip_forward", "value": "1"},
                        {"name": "", "value": "1"}],
            "fsGroupChangePolicy": "Sometimes",
            "seccompProfile": {"type": "RuntimeDefault", "localhostProfile": "x"},
            "appArmorProfile": {"type": "Localhost"},
            "supplementalGroupsPolicy": "Loose",
            "seLinuxChangePolicy": "Never",
        },
    });
    let r = send(&s, "POST", PODS, &pod("sc", spec)).await;
    let sc = "spec.securityContext";
    let host_net =
        "Invalid value: \"net.ipv4.ip_forward\": may not be specified when 'hostNetwork' is true";
    assert_invalid(
        &r,
        "Pod",
        "sc",
        &[
            (
                INVALID,
                &format!("{sc}.fsGroup"),
                &format!("Invalid value: -5: {ID_RANGE}"),
            ),
            (
                INVALID,
                &format!("{sc}.runAsUser"),
                &format!("Invalid value: -1: {ID_RANGE}"),
            ),
            (
                INVALID,
                &format!("{sc}.runAsGroup"),
                &format!("Invalid value: 2147483648: {ID_RANGE}"),
            ),
            (
                INVALID,
                &format!("{sc}.supplementalGroups[1]"),
                &format!("Invalid value: -1: {ID_RANGE}"),
            ),
            (
                INVALID,
                &format!("{sc}.shareProcessNamespace"),
                "Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled",
            ),
            (
                INVALID,
                &format!("{sc}.sysctls[0].name"),
                r#"Invalid value: "Bad_Name": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"#,
            ),
            (INVALID, &format!("{sc}.sysctls[1].name"), host_net),
            (
                DUPLICATE,
                &format!("{sc}.sysctls[2].name"),
                "Duplicate value: \"net.ipv4.ip_forward\"",
            ),
            (INVALID, &format!("{sc}.sysctls[2].name"), host_net),
            (REQUIRED, &format!("{sc}.sysctls[3].name"), "Required value"),
            (
                NOT_SUPPORTED,
                &format!("{sc}.fsGroupChangePolicy"),
                "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnRootMismatch\"",
            ),
            (
                INVALID,
                &format!("{sc}.seccompProfile.localhostProfile"),
                "Invalid value: {\"Type\":\"RuntimeDefault\",\"LocalhostProfile\":\"x\"}: can only be set when seccomp type is Localhost",
            ),
            (
                REQUIRED,
                &format!("{sc}.appArmorProfile.localhostProfile"),
                "Required value: must be set when AppArmor type is Localhost",
            ),
            (
                NOT_SUPPORTED,
                &format!("{sc}.supplementalGroupsPolicy"),
                "Unsupported value: \"Loose\": supported values: \"Merge\", \"Strict\"",
            ),
            (
                NOT_SUPPORTED,
                &format!("{sc}.seLinuxChangePolicy"),
                "Unsupported value: \"Never\": supported values: \"MountOption\", \"Recursive\"",
            ),
        ],
    );
}

#[tokio::test]
async fn container_security_context_rules() {
    let s = server().await;
    let spec = json!({
        "containers": [{"name": "app", "image": "busybox", "securityContext": {
            "runAsUser": -1, "runAsGroup": -2, "procMount": "Unmasked",
            "privileged": true, "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["CAP_SYS_ADMIN"]},
            "seccompProfile": {"type": "Localhost", "localhostProfile": "/abs/../x"},
            "appArmorProfile": {"type": "Bogus"},
        }}],
        "initContainers": [{"name": "init", "image": "busybox", "securityContext": {
            "procMount": "Weird", "seccompProfile": {},
        }}],
    });
    let r = send(&s, "POST", PODS, &pod("csc", spec)).await;
    let sc = "spec.containers[0].securityContext";
    let go_sc = r#"{"Capabilities":{"Add":["CAP_SYS_ADMIN"],"Drop":null},"Privileged":true,"SELinuxOptions":null,"WindowsOptions":null,"RunAsUser":-1,"RunAsGroup":-2,"RunAsNonRoot":null,"ReadOnlyRootFilesystem":null,"AllowPrivilegeEscalation":false,"ProcMount":"Unmasked","SeccompProfile":{"Type":"Localhost","LocalhostProfile":"/abs/../x"},"AppArmorProfile":{"Type":"Bogus","LocalhostProfile":null}}"#;
    let init = "spec.initContainers[0].securityContext";
    assert_invalid(
        &r,
        "Pod",
        "csc",
        &[
            (
                INVALID,
                &format!("{sc}.runAsUser"),
                &format!("Invalid value: -1: {ID_RANGE}"),
            ),
            (
                INVALID,
                &format!("{sc}.runAsGroup"),
                &format!("Invalid value: -2: {ID_RANGE}"),
            ),
            (
                INVALID,
                &format!("{sc}.procMount"),
                "Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`",
            ),
            (
                INVALID,
                &format!("{sc}.seccompProfile.localhostProfile"),
                "Invalid value: \"/abs/../x\": must be a relative path",
            ),
            (
                INVALID,
                &format!("{sc}.seccompProfile.localhostProfile"),
                "Invalid value: \"/abs/../x\": must not contain '..'",
            ),
            (
                INVALID,
                sc,
                &format!(
                    "Invalid value: {go_sc}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true"
                ),
            ),
            (
                INVALID,
                sc,
                &format!(
                    "Invalid value: {go_sc}: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"
                ),
            ),
            (
                NOT_SUPPORTED,
                &format!("{sc}.appArmorProfile.type"),
                "Unsupported value: \"Bogus\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\"",
            ),
            (
                NOT_SUPPORTED,
                &format!("{init}.procMount"),
                "Unsupported value: \"Weird\": supported values: \"Default\", \"Unmasked\"",
            ),
            (
                REQUIRED,
                &format!("{init}.seccompProfile.type"),
                "Required value: type is required when seccompProfile is set",
            ),
        ],
    );
}

#[tokio::test]
async fn a_full_security_context_is_accepted() {
    let s = server().await;
    let spec = json!({
        "containers": [{"name": "app", "image": "busybox", "securityContext": {
            "runAsUser": 1000, "runAsGroup": 3000, "runAsNonRoot": true,
            "privileged": false, "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true, "procMount": "Default",
            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
            "appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-apparmor-example"},
        }}],
        "securityContext": {
            "runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "runAsNonRoot": true,
            "supplementalGroups": [4000], "supplementalGroupsPolicy": "Merge",
            "fsGroupChangePolicy": "OnRootMismatch", "seLinuxChangePolicy": "MountOption",
            "sysctls": [{"name": "kernel.shm_rmid_forced", "value": "0"},
                        {"name": "net/ipv4/ip_local_port_range", "value": "1024 65535"}],
            "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/audit.json"},
            "appArmorProfile": {"type": "RuntimeDefault"},
        },
    });
    let r = send(&s, "POST", PODS, &pod("full", spec)).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn workload_templates_get_the_security_context_rules() {
    let s = server().await;
    let mut d = deployment("web", 1);
    d["spec"]["template"]["spec"]["securityContext"] = json!({"runAsUser": -1});
    d["spec"]["template"]["spec"]["containers"][0]["securityContext"] =
        json!({"seccompProfile": {"type": "Custom"}});
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &d,
    )
    .await;
    let spec = "spec.template.spec";
    assert_invalid(
        &r,
        "Deployment.apps",
        "web",
        &[
            (
                NOT_SUPPORTED,
                &format!("{spec}.containers[0].securityContext.seccompProfile.type"),
                "Unsupported value: \"Custom\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\"",
            ),
            (
                INVALID,
                &format!("{spec}.securityContext.runAsUser"),
                &format!("Invalid value: -1: {ID_RANGE}"),
            ),
        ],
    );
}

#[tokio::test]
async fn deprecated_seccomp_and_apparmor_annotations() {
    let s = server().await;
    let mut p = pod(
        "ann",
        json!({"containers": [
            {"name": "app", "image": "busybox", "securityContext": {
                "seccompProfile": {"type": "RuntimeDefault"},
                "appArmorProfile": {"type": "Localhost", "localhostProfile": "a"}}},
            {"name": "side", "image": "busybox"},
        ]}),
    );
    p["metadata"]["annotations"] = json!({
        "seccomp.security.alpha.kubernetes.io/pod": "bogus",
        "container.seccomp.security.alpha.kubernetes.io/app": "unconfined",
        "container.seccomp.security.alpha.kubernetes.io/side": "localhost/../x",
        "container.apparmor.security.beta.kubernetes.io/app": "localhost/b",
        "container.apparmor.security.beta.kubernetes.io/ghost": "bogus",
    });
    let r = send(&s, "POST", PODS, &p).await;
    let ann = "metadata.annotations";
    let ghost = format!("{ann}[container.apparmor.security.beta.kubernetes.io/ghost]");
    assert_invalid(
        &r,
        "Pod",
        "ann",
        &[
            (
                INVALID,
                &format!("{ann}.seccomp.security.alpha.kubernetes.io/pod"),
                "Invalid value: \"bogus\": must be a valid seccomp profile",
            ),
            (
                INVALID,
                &format!("{ann}.container.seccomp.security.alpha.kubernetes.io/side"),
                "Invalid value: \"../x\": must not contain '..'",
            ),
            (
                INVALID,
                &ghost,
                "Invalid value: \"ghost\": container not found",
            ),
            (
                INVALID,
                &ghost,
                "Invalid value: \"bogus\": invalid AppArmor profile name: \"bogus\"",
            ),
            (
                FORBIDDEN,
                "spec.containers[0].securityContext.seccompProfile.type",
                "Forbidden: seccomp type in annotation and field must match",
            ),
            (
                FORBIDDEN,
                "spec.containers[0].securityContext.appArmorProfile.localhostProfile",
                "Forbidden: apparmor profile in annotation and field must match",
            ),
        ],
    );

    // AppArmor annotations are fixed once the pod exists.
    let created = send(&s, "POST", PODS, &pod("fixed", pod_spec())).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let mut changed = created.body.clone();
    changed["metadata"]["annotations"] =
        json!({"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"});
    let r = send(&s, "PUT", &format!("{PODS}/fixed"), &changed).await;
    assert_invalid(
        &r,
        "Pod",
        "fixed",
        &[(
            FORBIDDEN,
            &format!("{ann}[container.apparmor.security.beta.kubernetes.io/app]"),
            "Forbidden: may not add AppArmor annotations",
        )],
    );
}

/// kube's message for a DNS-1123 subdomain.
const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

#[tokio::test]
async fn windows_security_context_options() {
    let s = server().await;
    let too_big = "x".repeat(64 * 1024 + 1);
    let spec = json!({
        "containers": [{"name": "app", "image": "busybox", "securityContext": {"windowsOptions": {
            "gmsaCredentialSpecName": "Bad_Name", "gmsaCredentialSpec": "",
            "runAsUserName": "a\\b\\c"}}}],
        "initContainers": [{"name": "init", "image": "busybox", "securityContext": {
            "windowsOptions": {"gmsaCredentialSpec": too_big, "runAsUserName": "dom:x\\us@r"}}}],
        "securityContext": {"windowsOptions": {
            "gmsaCredentialSpecName": "webapp-gmsa", "runAsUserName": "", "hostProcess": false}},
    });
    let r = send(&s, "POST", PODS, &pod("wo", spec)).await;
    let wo = "spec.containers[0].securityContext.windowsOptions";
    let init = "spec.initContainers[0].securityContext.windowsOptions";
    assert_invalid(
        &r,
        "Pod",
        "wo",
        &[
            (
                INVALID,
                &format!("{wo}.gmsaCredentialSpecName"),
                &format!("Invalid value: \"Bad_Name\": {SUBDOMAIN}"),
            ),
            (
                INVALID,
                &format!("{wo}.gmsaCredentialSpec"),
                "Invalid value: \"\": gmsaCredentialSpec cannot be an empty string",
            ),
            (
                INVALID,
                &format!("{wo}.runAsUserName"),
                "Invalid value: \"a\\\\b\\\\c\": runAsUserName cannot contain more than one backslash",
            ),
            (
                INVALID,
                &format!("{init}.gmsaCredentialSpec"),
                &format!(
                    "Invalid value: \"{too_big}\": gmsaCredentialSpec size must be under 64 KiB"
                ),
            ),
            (
                INVALID,
                &format!("{init}.runAsUserName"),
                "Invalid value: \"dom:x\\\\us@r\": runAsUserName's Domain doesn't match the NetBios nor the DNS format",
            ),
            (
                INVALID,
                &format!("{init}.runAsUserName"),
                "Invalid value: \"dom:x\\\\us@r\": runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]",
            ),
            (
                INVALID,
                "spec.securityContext.windowsOptions.runAsUserName",
                "Invalid value: \"\": runAsUserName cannot be an empty string",
            ),
        ],
    );

    // What a Windows workload sets is accepted, with or without `spec.os`.
    let spec = json!({
        "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022",
            "securityContext": {"windowsOptions": {"runAsUserName": "NT AUTHORITY\\NETWORK SERVICE"}}}],
        "securityContext": {"windowsOptions": {
            "gmsaCredentialSpecName": "webapp-gmsa", "gmsaCredentialSpec": "{\"CmsPlugins\":[\"ActiveDirectory\"]}",
            "runAsUserName": "corp.example.com\\svc-web"}},
    });
    let r = send(&s, "POST", PODS, &pod("win-ok", spec.clone())).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let mut with_os = spec;
    with_os["os"] = json!({"name": "windows"});
    let r = send(&s, "POST", PODS, &pod("win-os", with_os)).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn pod_os_rules() {
    let s = server().await;
    let app = json!({"name": "app", "image": "busybox"});
    // An unknown OS is reported at `spec.os`; the OS-specific rules then do not run.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "mac",
            json!({"os": {"name": "darwin"}, "containers": [app],
                "securityContext": {"windowsOptions": {"runAsUserName": "u"}}}),
        ),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "mac",
        &[(
            NOT_SUPPORTED,
            "spec.os",
            "Unsupported value: \"darwin\": supported values: \"linux\", \"windows\"",
        )],
    );
    let r = send(
        &s,
        "POST",
        PODS,
        &pod("noname", json!({"os": {}, "containers": [app]})),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "noname",
        &[(REQUIRED, "spec.os.name", "Required value: cannot be empty")],
    );

    // A Linux pod has no Windows options, in the pod's or any container's security context.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "lin",
            json!({"os": {"name": "linux"},
                "securityContext": {"windowsOptions": {"runAsUserName": "u"}},
                "initContainers": [{"name": "init", "image": "busybox",
                    "securityContext": {"windowsOptions": {"hostProcess": false}}}],
                "containers": [app]}),
        ),
    )
    .await;
    let linux = "Forbidden: windows options cannot be set for a linux pod";
    assert_invalid(
        &r,
        "Pod",
        "lin",
        &[
            (FORBIDDEN, "spec.securityContext.windowsOptions", linux),
            (
                FORBIDDEN,
                "spec.initContainers[0].securityContext.windowsOptions",
                linux,
            ),
        ],
    );

    // A Windows pod leaves every Linux-only field unset.
    let spec = json!({
        "os": {"name": "windows"},
        "hostUsers": true, "hostPID": true, "hostIPC": true, "shareProcessNamespace": false,
        "securityContext": {
            "appArmorProfile": {"type": "RuntimeDefault"}, "seLinuxOptions": {"level": "s0"},
            "seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 1,
            "fsGroupChangePolicy": "Always", "sysctls": [{"name": "kernel.pid_max", "value": "1"}],
            "runAsUser": 1, "runAsGroup": 1, "supplementalGroups": [1],
            "supplementalGroupsPolicy": "Merge", "seLinuxChangePolicy": "Recursive",
        },
        "containers": [{"name": "app", "image": "busybox", "securityContext": {
            "appArmorProfile": {"type": "RuntimeDefault"}, "seLinuxOptions": {"level": "s0"},
            "seccompProfile": {"type": "RuntimeDefault"}, "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true, "privileged": false, "allowPrivilegeEscalation": false,
            "procMount": "Default", "runAsUser": 1, "runAsGroup": 1,
        }}],
    });
    let r = send(&s, "POST", PODS, &pod("win", spec)).await;
    let windows = "Forbidden: cannot be set for a windows pod";
    let sc = "spec.securityContext";
    let csc = "spec.containers[0].securityContext";
    let mut want: Vec<(&str, String, &str)> = Vec::new();
    for f in [
        "securityContext.appArmorProfile",
        "securityContext.seLinuxOptions",
        "hostUsers",
        "hostPID",
        "hostIPC",
        "securityContext.seccompProfile",
        "securityContext.fsGroup",
        "securityContext.fsGroupChangePolicy",
        "securityContext.sysctls",
        "shareProcessNamespace",
        "securityContext.runAsUser",
        "securityContext.runAsGroup",
        "securityContext.supplementalGroups",
        "securityContext.supplementalGroupsPolicy",
        "securityContext.seLinuxChangePolicy",
    ] {
        want.push((FORBIDDEN, format!("spec.{f}"), windows));
    }
    for f in [
        "appArmorProfile",
        "seLinuxOptions",
        "seccompProfile",
        "capabilities",
        "readOnlyRootFilesystem",
        "privileged",
        "allowPrivilegeEscalation",
        "procMount",
        "runAsUser",
        "runAsGroup",
    ] {
        want.push((FORBIDDEN, format!("{csc}.{f}"), windows));
    }
    let want: Vec<(&str, &str, &str)> = want.iter().map(|(r, f, m)| (*r, f.as_str(), *m)).collect();
    assert_invalid(&r, "Pod", "win", &want);
    assert!(want.iter().any(|(_, f, _)| f.starts_with(sc)));

    // hostPID and hostIPC are Go bools: false is unset. A Linux pod keeps its Linux fields.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "win-false",
            json!({"os": {"name": "windows"}, "hostPID": false, "hostIPC": false,
                "securityContext": {"sysctls": []}, "containers": [app]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "lin-ok",
            json!({"os": {"name": "linux"}, "hostPID": true,
                "securityContext": {"runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "app", "image": "busybox",
                    "securityContext": {"capabilities": {"drop": ["ALL"]}}}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);

    // Templates get the same rules, at their own paths.
    let mut d = deployment("win-web", 1);
    d["spec"]["template"]["spec"]["os"] = json!({"name": "windows"});
    d["spec"]["template"]["spec"]["containers"][0]["securityContext"] = json!({"runAsUser": 1000});
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &d,
    )
    .await;
    assert_invalid(
        &r,
        "Deployment.apps",
        "win-web",
        &[(
            FORBIDDEN,
            "spec.template.spec.containers[0].securityContext.runAsUser",
            windows,
        )],
    );
}

#[tokio::test]
async fn host_users_false_keeps_the_host_namespaces_out() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "userns",
            json!({"hostUsers": false, "hostNetwork": true, "hostPID": true, "hostIPC": true,
                "containers": [{"name": "app", "image": "busybox"}]}),
        ),
    )
    .await;
    // kube's paths capitalise the last two (`Child("HostPID")`).
    let msg = "Forbidden: when `pod.Spec.HostUsers` is false";
    assert_invalid(
        &r,
        "Pod",
        "userns",
        &[
            (FORBIDDEN, "spec.hostNetwork", msg),
            (FORBIDDEN, "spec.HostPID", msg),
            (FORBIDDEN, "spec.HostIPC", msg),
        ],
    );
    // `hostUsers: false` is the spec's field, and lets a container use an unmasked /proc.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "userns-ok",
            json!({"hostUsers": false, "containers": [{"name": "app", "image": "busybox",
                "securityContext": {"procMount": "Unmasked"}}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "hostns",
            json!({"hostNetwork": true, "hostPID": true, "hostIPC": true,
                "containers": [{"name": "app", "image": "busybox"}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn windows_host_process_pods() {
    let s = server().await;
    let hp = |v: bool| json!({"windowsOptions": {"hostProcess": v}});
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "hpc",
            json!({"os": {"name": "windows"},
                "securityContext": hp(true),
                "initContainers": [{"name": "init", "image": "busybox", "securityContext": hp(false)}],
                "containers": [{"name": "app", "image": "busybox"},
                               {"name": "side", "image": "busybox", "securityContext": hp(true)}]}),
        ),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "hpc",
        &[
            (
                INVALID,
                "spec.initContainers[0].securityContext.windowsOptions.hostProcess",
                "Invalid value: false: pod hostProcess value must be identical if both are specified, was true",
            ),
            (
                INVALID,
                "spec",
                "Invalid value: \"\": If pod contains any hostProcess containers then all containers must be HostProcess containers",
            ),
            (
                INVALID,
                "spec.hostNetwork",
                "Invalid value: false: hostNetwork must be true if pod contains any hostProcess containers",
            ),
        ],
    );
    // One container asking for it is enough to require it of all.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "hpc-one",
            json!({"hostNetwork": true,
                "containers": [{"name": "app", "image": "busybox", "securityContext": hp(true)},
                               {"name": "side", "image": "busybox"}]}),
        ),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "hpc-one",
        &[(
            INVALID,
            "spec",
            "Invalid value: \"\": If pod contains any hostProcess containers then all containers must be HostProcess containers",
        )],
    );
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "hpc-ok",
            json!({"os": {"name": "windows"}, "hostNetwork": true,
                "securityContext": {"windowsOptions": {"hostProcess": true,
                    "runAsUserName": "NT AUTHORITY\\SYSTEM"}},
                "containers": [{"name": "app", "image": "busybox", "securityContext": hp(true)}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

async fn strict_server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .allow_privileged(false)
        .start()
        .await
        .expect("start")
}

#[tokio::test]
async fn allow_privileged_off_refuses_privileged_containers() {
    let s = strict_server().await;
    let privileged = json!({"privileged": true});
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "priv",
            json!({"containers": [{"name": "app", "image": "busybox",
                    "securityContext": {"privileged": true, "runAsUser": -1}}],
                "initContainers": [{"name": "init", "image": "busybox", "securityContext": privileged}]}),
        ),
    )
    .await;
    let policy = "Forbidden: disallowed by cluster policy";
    assert_invalid(
        &r,
        "Pod",
        "priv",
        &[
            (
                FORBIDDEN,
                "spec.containers[0].securityContext.privileged",
                policy,
            ),
            (
                INVALID,
                "spec.containers[0].securityContext.runAsUser",
                &format!("Invalid value: -1: {ID_RANGE}"),
            ),
            (
                FORBIDDEN,
                "spec.initContainers[0].securityContext.privileged",
                policy,
            ),
        ],
    );
    // So are HostProcess pods; host namespaces are not part of the flag.
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "hpc",
            json!({"os": {"name": "windows"}, "hostNetwork": true,
                "securityContext": {"windowsOptions": {"hostProcess": true}},
                "containers": [{"name": "app", "image": "busybox"}]}),
        ),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "hpc",
        &[(
            FORBIDDEN,
            "spec",
            "Forbidden: hostProcess containers are disallowed by cluster policy",
        )],
    );
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "plain",
            json!({"hostNetwork": true, "hostPID": true, "hostIPC": true,
                "containers": [{"name": "app", "image": "busybox",
                    "securityContext": {"privileged": false}}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);

    // Workload templates too.
    let mut d = deployment("priv", 1);
    d["spec"]["template"]["spec"]["containers"][0]["securityContext"] = privileged.clone();
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &d,
    )
    .await;
    assert_invalid(
        &r,
        "Deployment.apps",
        "priv",
        &[(
            FORBIDDEN,
            "spec.template.spec.containers[0].securityContext.privileged",
            policy,
        )],
    );

    // And updates: a privileged ephemeral container is refused like any other.
    let sub = format!("{PODS}/plain/ephemeralcontainers");
    let r = send(
        &s,
        "PATCH",
        &sub,
        &json!({"spec": {"ephemeralContainers": [
            {"name": "debugger", "image": "busybox", "securityContext": privileged}]}}),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "plain",
        &[(
            FORBIDDEN,
            "spec.ephemeralContainers[0].securityContext.privileged",
            policy,
        )],
    );

    // The default (kubeadm's `--allow-privileged=true`) takes them.
    let s = server().await;
    let r = send(
        &s,
        "POST",
        PODS,
        &pod(
            "priv",
            json!({"containers": [{"name": "app", "image": "busybox",
                "securityContext": {"privileged": true}}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}
