//! Validation over HTTP of the resource.k8s.io (Dynamic Resource Allocation) types: a valid
//! object accepted, an invalid one refused with kube's causes — the hand-written rules first,
//! then the declarative ones kube 1.37 enforces —, and update and status rules.

mod common;

use common::{
    DUPLICATE, FORBIDDEN, INVALID, NOT_SUPPORTED, REQUIRED, TOO_MANY, assert_invalid, create,
    replace, send,
};
use serde_json::{Value, json};

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

const CLAIMS: &str = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";
const TEMPLATES: &str = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaimtemplates";
const CLASSES: &str = "/apis/resource.k8s.io/v1/deviceclasses";
const SLICES: &str = "/apis/resource.k8s.io/v1/resourceslices";
const RULES: &str = "/apis/resource.k8s.io/v1/devicetaintrules";

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const REQUEST_REF: &str = "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'";

fn claim(name: &str, devices: Value) -> Value {
    json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
        "metadata": {"name": name}, "spec": {"devices": devices}})
}

fn gpu_request() -> Value {
    json!({"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com",
        "selectors": [{"cel": {"expression": "device.driver == \"gpu.example.com\""}}]}})
}

#[tokio::test]
async fn resource_claims() {
    let s = server().await;
    let good = create(
        &s,
        CLAIMS,
        &claim(
            "good",
            json!({"requests": [gpu_request()],
                "constraints": [{"requests": ["gpu"], "matchAttribute": "gpu.example.com/numa"}],
                "config": [{"requests": ["gpu"], "opaque": {"driver": "gpu.example.com",
                    "parameters": {"mode": "fast"}}}]}),
        ),
    )
    .await;
    // allocationMode and count are defaulted (ExactCount, one device) before validation.
    assert_eq!(
        good["spec"]["devices"]["requests"][0]["exactly"]["allocationMode"],
        "ExactCount"
    );
    assert_eq!(
        good["spec"]["devices"]["requests"][0]["exactly"]["count"],
        1
    );

    let bad = claim(
        "bad",
        json!({"requests": [
            {"name": "GPU", "exactly": {"deviceClassName": "",
                "selectors": [{"cel": {"expression": "device.model == 'a100'"}}],
                "allocationMode": "All", "count": 2,
                "tolerations": [{"key": "example.com/t", "operator": "Exists", "value": "x",
                    "effect": "PreferNoSchedule"}]}},
            {"name": "nic"},
            {"name": "nic", "firstAvailable": [{"name": "a", "deviceClassName": "Nic"}]}],
            "constraints": [{"requests": ["missing"]}],
            "config": [{"opaque": {"driver": "", "parameters": "x"}}]}),
    );
    let r = send(&s, "POST", CLAIMS, &bad).await;
    assert_invalid(
        &r,
        "ResourceClaim.resource.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "spec.devices.requests[0].name",
                &format!("Invalid value: \"GPU\": {LABEL_MSG}"),
            ),
            (
                REQUIRED,
                "spec.devices.requests[0].exactly.deviceClassName",
                "Required value",
            ),
            (
                INVALID,
                "spec.devices.requests[0].exactly.selectors[0].cel.expression",
                "Invalid value: \"device.model == 'a100'\": compilation failed: ERROR: <input>:1:7: undefined field 'model'\n | device.model == 'a100'\n | ......^",
            ),
            (
                INVALID,
                "spec.devices.requests[0].exactly.count",
                "Invalid value: 2: must not be specified when allocationMode is 'All'",
            ),
            (
                INVALID,
                "spec.devices.requests[0].exactly.tolerations[0].value",
                "Invalid value: \"x\": must be empty for operator `Exists`",
            ),
            (
                REQUIRED,
                "spec.devices.requests[1]",
                "Required value: exactly one of `exactly` or `firstAvailable` is required",
            ),
            (
                INVALID,
                "spec.devices.constraints[0].requests[0]",
                &format!("Invalid value: \"missing\": {REQUEST_REF}"),
            ),
            (
                REQUIRED,
                "spec.devices.constraints[0]",
                "Required value: exactly one of \"matchAttribute\" or \"distinctAttribute\" is required, but multiple fields are set",
            ),
            (
                INVALID,
                "spec.devices.config[0].opaque.parameters",
                "Invalid value: \"<value omitted>\": must be a valid JSON object",
            ),
            // The declarative rules kube 1.37 enforces, after the hand-written ones.
            (
                DUPLICATE,
                "spec.devices.requests[2]",
                "Duplicate value: {\"name\":\"nic\",\"firstAvailable\":[{\"name\":\"a\",\"deviceClassName\":\"Nic\",\"allocationMode\":\"ExactCount\",\"count\":1}]}",
            ),
            (
                NOT_SUPPORTED,
                "spec.devices.requests[0].exactly.tolerations[0].effect",
                "Unsupported value: \"PreferNoSchedule\": supported values: \"NoExecute\", \"NoSchedule\", \"None\"",
            ),
            (
                INVALID,
                "spec.devices.requests[2].firstAvailable[0].deviceClassName",
                &format!("Invalid value: \"Nic\": {SUBDOMAIN_MSG}"),
            ),
            (
                REQUIRED,
                "spec.devices.config[0].opaque.driver",
                "Required value",
            ),
        ],
    );

    // The spec is immutable (declaratively: the error carries no value).
    let path = format!("{CLAIMS}/good");
    let mut changed = good.clone();
    changed["spec"]["devices"]["requests"][0]["exactly"]["count"] = 2.into();
    let r = replace(&s, &path, &good, changed).await;
    assert_invalid(
        &r,
        "ResourceClaim.resource.k8s.io",
        "good",
        &[(INVALID, "spec", "Invalid value: null: field is immutable")],
    );
    let mut labelled = good.clone();
    labelled["metadata"]["labels"] = json!({"a": "b"});
    let r = replace(&s, &path, &good, labelled).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let good = r.body;

    // Status: reservations need an allocation; an allocation names the claim's requests.
    let mut status = good.clone();
    status["status"] = json!({"reservedFor": [{"resource": "pods", "name": "p", "uid": ""}]});
    let r = replace(&s, &format!("{path}/status"), &good, status).await;
    assert_invalid(
        &r,
        "ResourceClaim.resource.k8s.io",
        "good",
        &[
            (REQUIRED, "status.reservedFor[0].uid", "Required value"),
            (
                FORBIDDEN,
                "status.reservedFor",
                "Forbidden: may not be specified when `allocated` is not set",
            ),
        ],
    );
    let mut status = good.clone();
    status["status"] = json!({"allocation": {"devices": {"results": [{"request": "cpu",
        "driver": "gpu.example.com", "pool": "node-1", "device": "gpu-0"}]}}});
    let r = replace(&s, &format!("{path}/status"), &good, status).await;
    assert_invalid(
        &r,
        "ResourceClaim.resource.k8s.io",
        "good",
        &[(
            INVALID,
            "status.allocation.devices.results[0].request",
            &format!("Invalid value: \"cpu\": {REQUEST_REF}"),
        )],
    );
    let mut status = good.clone();
    status["status"] = json!({"allocation": {"devices": {"results": [{"request": "gpu",
        "driver": "gpu.example.com", "pool": "node-1", "device": "gpu-0"}]}},
        "reservedFor": [{"resource": "pods", "name": "p", "uid": "u-1"}]});
    let r = replace(&s, &format!("{path}/status"), &good, status).await;
    assert_eq!(r.code, 200, "{}", r.body);
    // An allocation is set once.
    let allocated = r.body;
    let mut moved = allocated.clone();
    moved["status"]["allocation"]["devices"]["results"][0]["device"] = "gpu-1".into();
    let r = replace(&s, &format!("{path}/status"), &allocated, moved).await;
    assert_invalid(
        &r,
        "ResourceClaim.resource.k8s.io",
        "good",
        &[(
            INVALID,
            "status.allocation",
            "Invalid value: null: field cannot be modified once set",
        )],
    );
}

#[tokio::test]
async fn resource_claim_templates() {
    let s = server().await;
    let template = |name: &str, request: Value| {
        json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": name},
            "spec": {"metadata": {"labels": {"app": "web"}},
                "spec": {"devices": {"requests": [request]}}}})
    };
    let good = create(&s, TEMPLATES, &template("good", gpu_request())).await;
    let mut bad = template(
        "bad",
        json!({"name": "gpu", "firstAvailable": [{"name": "a", "deviceClassName": "c",
            "selectors": [{"cel": {"expression": "device.driver"}}]}]}),
    );
    bad["spec"]["metadata"]["namespace"] = "other".into();
    let r = send(&s, "POST", TEMPLATES, &bad).await;
    assert_invalid(
        &r,
        "ResourceClaimTemplate.resource.k8s.io",
        "bad",
        &[
            (
                FORBIDDEN,
                "spec.metadata.namespace",
                "Forbidden: cannot be set for a resource claim template",
            ),
            (
                INVALID,
                "spec.spec.devices.requests[0].firstAvailable[0].selectors[0].cel.expression",
                "Invalid value: \"device.driver\": must evaluate to bool or the unknown type, not string",
            ),
        ],
    );
    // The spec is immutable; kube prints the internal spec (Go field names) as the value.
    let mut changed = good.clone();
    changed["spec"]["spec"]["devices"]["requests"][0]["name"] = "gpus".into();
    let r = replace(&s, &format!("{TEMPLATES}/good"), &good, changed).await;
    assert_invalid(
        &r,
        "ResourceClaimTemplate.resource.k8s.io",
        "good",
        &[(
            INVALID,
            "spec",
            "Invalid value: {\"ObjectMeta\":{\"labels\":{\"app\":\"web\"}},\"Spec\":{\"Devices\":{\"Requests\":[{\"Name\":\"gpus\",\"Exactly\":{\"DeviceClassName\":\"gpu.example.com\",\"Selectors\":[{\"CEL\":{\"Expression\":\"device.driver == \\\"gpu.example.com\\\"\"}}],\"AllocationMode\":\"ExactCount\",\"Count\":1,\"AdminAccess\":null,\"Tolerations\":null,\"Capacity\":null,\"DerivedAttributes\":null},\"FirstAvailable\":null}],\"Constraints\":null,\"Config\":null}}}: field is immutable",
        )],
    );
}

#[tokio::test]
async fn device_classes() {
    let s = server().await;
    let class = |name: &str, expression: &str| {
        json!({"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
            "metadata": {"name": name},
            "spec": {"selectors": [{"cel": {"expression": expression}}],
                "extendedResourceName": "example.com/gpu"}})
    };
    let good = create(
        &s,
        CLASSES,
        &class("gpu.example.com", "device.driver == 'gpu'"),
    )
    .await;
    let mut bad = class("GPU", "device.driver == ");
    bad["spec"]["extendedResourceName"] = "gpu".into();
    let r = send(&s, "POST", CLASSES, &bad).await;
    assert_invalid(
        &r,
        "DeviceClass.resource.k8s.io",
        "GPU",
        &[
            (
                INVALID,
                "spec.selectors[0].cel.expression",
                "Invalid value: \"device.driver == \": compilation failed: ERROR: <input>:1:18: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | device.driver == \n | .................^",
            ),
            // The name's format is declarative in 1.37, so it comes after the spec's errors.
            (
                INVALID,
                "metadata.name",
                &format!("Invalid value: \"GPU\": {SUBDOMAIN_MSG}"),
            ),
            (
                INVALID,
                "spec.extendedResourceName",
                "Invalid value: \"gpu\": a name must be a domain-prefixed path, such as 'example.com/my-prop'",
            ),
        ],
    );
    // A changed selector is compiled again; an unchanged one is not.
    let path = format!("{CLASSES}/gpu.example.com");
    let r = replace(
        &s,
        &path,
        &good,
        class("gpu.example.com", "device.size > 1"),
    )
    .await;
    assert_invalid(
        &r,
        "DeviceClass.resource.k8s.io",
        "gpu.example.com",
        &[(
            INVALID,
            "spec.selectors[0].cel.expression",
            "Invalid value: \"device.size > 1\": compilation failed: ERROR: <input>:1:7: undefined field 'size'\n | device.size > 1\n | ......^",
        )],
    );
    let mut too_many = good.clone();
    too_many["spec"]["config"] = (0..33)
        .map(|_| json!({"opaque": {"driver": "gpu.example.com", "parameters": {}}}))
        .collect();
    let r = replace(&s, &path, &good, too_many).await;
    assert_invalid(
        &r,
        "DeviceClass.resource.k8s.io",
        "gpu.example.com",
        &[(
            TOO_MANY,
            "spec.config",
            "Too many: 33: must have at most 32 items",
        )],
    );
}

fn slice(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
        "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn resource_slices() {
    let s = server().await;
    let good = create(
        &s,
        SLICES,
        &slice(
            "node-1-gpu",
            json!({"driver": "gpu.example.com", "nodeName": "node-1",
                "pool": {"name": "node-1", "generation": 1, "resourceSliceCount": 1},
                "devices": [{"name": "gpu-0", "attributes": {"model": {"string": "a100"},
                    "gpu.example.com/driverVersion": {"version": "1.2.3"}},
                    "capacity": {"memory": {"value": "40Gi"}}}]}),
        ),
    )
    .await;
    let bad = slice(
        "bad",
        json!({"driver": "gpu.example.com",
            "pool": {"name": "node/", "generation": 1, "resourceSliceCount": 0},
            "devices": [{"name": "gpu-0", "attributes": {"model": {}}},
                {"name": "gpu-0", "capacity": {"memory": {"value": "1Gi",
                    "requestPolicy": {"default": "1Gi"}}},
                    "taints": [{"key": "example.com/broken", "effect": "Maybe"}]}]}),
    );
    let r = send(&s, "POST", SLICES, &bad).await;
    assert_invalid(
        &r,
        "ResourceSlice.resource.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "spec.pool.name",
                &format!("Invalid value: \"\": {SUBDOMAIN_MSG}"),
            ),
            (
                INVALID,
                "spec.pool.resourceSliceCount",
                "Invalid value: 0: must be greater than zero",
            ),
            (
                REQUIRED,
                "spec",
                "Required value: exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required",
            ),
            (
                FORBIDDEN,
                "spec.devices[1].capacity[memory].requestPolicy",
                "Forbidden: allowMultipleAllocations must be true",
            ),
            (DUPLICATE, "spec.devices[1]", "Duplicate value: \"gpu-0\""),
            (
                INVALID,
                "spec.devices[0].attributes[model]",
                "Invalid value: \"\": must specify one of: `int`, `bool`, `string`, `version`, `ints`, `bools`, `strings`, `versions`",
            ),
            (
                NOT_SUPPORTED,
                "spec.devices[1].taints[0].effect",
                "Unsupported value: \"Maybe\": supported values: \"NoExecute\", \"NoSchedule\", \"None\"",
            ),
        ],
    );
    // The driver, the pool's name and the node are immutable.
    let mut moved = good.clone();
    moved["spec"]["driver"] = "other.example.com".into();
    moved["spec"]["nodeName"] = "node-2".into();
    let r = replace(&s, &format!("{SLICES}/node-1-gpu"), &good, moved).await;
    assert_invalid(
        &r,
        "ResourceSlice.resource.k8s.io",
        "node-1-gpu",
        &[
            (
                INVALID,
                "spec.driver",
                "Invalid value: \"other.example.com\": field is immutable",
            ),
            (
                INVALID,
                "spec.nodeName",
                "Invalid value: \"node-2\": field is immutable",
            ),
        ],
    );
}

#[tokio::test]
async fn device_taint_rules() {
    let s = server().await;
    let rule = |name: &str, effect: &str| {
        json!({"apiVersion": "resource.k8s.io/v1", "kind": "DeviceTaintRule",
            "metadata": {"name": name},
            "spec": {"deviceSelector": {"driver": "gpu.example.com", "pool": "node-1"},
                "taint": {"key": "example.com/unhealthy", "value": "true", "effect": effect}}})
    };
    let good = create(&s, RULES, &rule("unhealthy", "NoSchedule")).await;
    let mut bad = rule("bad", "PreferNoSchedule");
    bad["spec"]["deviceSelector"]["device"] = "GPU-0".into();
    bad["spec"]["taint"]["key"] = "".into();
    let r = send(&s, "POST", RULES, &bad).await;
    assert_invalid(
        &r,
        "DeviceTaintRule.resource.k8s.io",
        "bad",
        &[
            (
                INVALID,
                "spec.deviceSelector.device",
                &format!("Invalid value: \"GPU-0\": {LABEL_MSG}"),
            ),
            (
                INVALID,
                "spec.taint.key",
                "Invalid value: \"\": name part must be non-empty",
            ),
            (
                INVALID,
                "spec.taint.key",
                "Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ),
            (
                NOT_SUPPORTED,
                "spec.taint.effect",
                "Unsupported value: \"PreferNoSchedule\": supported values: \"NoExecute\", \"NoSchedule\", \"None\"",
            ),
        ],
    );
    let path = format!("{RULES}/unhealthy");
    let r = replace(&s, &path, &good, rule("unhealthy", "Evict")).await;
    assert_invalid(
        &r,
        "DeviceTaintRule.resource.k8s.io",
        "unhealthy",
        &[(
            NOT_SUPPORTED,
            "spec.taint.effect",
            "Unsupported value: \"Evict\": supported values: \"NoExecute\", \"NoSchedule\", \"None\"",
        )],
    );
    // Status: the conditions as metav1 validates them.
    let mut status = good.clone();
    status["status"] = json!({"conditions": [{"type": "EvictionInProgress", "status": "Maybe",
        "lastTransitionTime": "2025-01-01T00:00:00Z", "reason": "Done", "message": ""}]});
    let r = replace(&s, &format!("{path}/status"), &good, status).await;
    assert_invalid(
        &r,
        "DeviceTaintRule.resource.k8s.io",
        "unhealthy",
        &[(
            NOT_SUPPORTED,
            "status.conditions[0].status",
            "Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\"",
        )],
    );
}
