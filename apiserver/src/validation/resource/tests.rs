use serde_json::{Value, json};

use super::{claim, class, slice, taint};
use crate::validation::test_support::messages;

/// JSON no decoder would let through: no rule may panic on it.
fn arbitrary() -> Vec<Value> {
    vec![
        Value::Null,
        json!(1),
        json!("x"),
        json!([null]),
        json!({"spec": null, "status": null, "metadata": null}),
        json!({"spec": {"devices": {"requests": [null, 1, {"exactly": 1, "firstAvailable": [null]}],
            "constraints": [null, {"requests": [1, null]}], "config": [{"opaque": 1}]},
            "spec": {"devices": null}, "metadata": 1, "selectors": [{"cel": 2}],
            "config": [null], "extendedResourceName": 3, "pool": null, "nodeName": 4,
            "nodeSelector": {"nodeSelectorTerms": [null, {"matchExpressions": [1]}]},
            "devices": [null, {"attributes": {"a": null}, "capacity": {"b": {"requestPolicy":
                {"validValues": [1, "x"], "validRange": {"min": 2}}}}, "taints": [null],
                "consumesCounters": [{"counters": 1}]}],
            "sharedCounters": [{"counters": {"x": null}}], "deviceSelector": 5, "taint": [1]},
            "status": {"reservedFor": [null], "devices": [1, {"networkData": {"ips": [1]}}],
                "allocation": {"devices": {"results": [null], "config": [{"source": 1}]},
                    "nodeSelector": 1}, "conditions": [null]}}),
        json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "spec": {"devices": {"requests": [{"name": "a", "firstAvailable": [{}, {}]}]}},
            "status": {"allocation": {"devices": {"results": [{}]}}}}),
    ]
}

#[test]
fn rules_tolerate_arbitrary_json() {
    for a in arbitrary() {
        claim::validate_claim(&a);
        claim::validate_template(&a);
        class::validate_class(&a);
        slice::validate_slice(&a);
        taint::validate_rule(&a);
        taint::validate_rule_status_update(&a);
        for b in arbitrary() {
            claim::validate_claim_update(&a, &b);
            claim::validate_claim_status_update(&a, &b);
            claim::validate_template_update(&a, &b);
            class::validate_class_update(&a, &b);
            slice::validate_slice_update(&a, &b);
            taint::validate_rule_update(&a, &b);
        }
    }
}

fn claim_with(devices: Value) -> Value {
    json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
        "metadata": {"name": "c", "namespace": "default"}, "spec": {"devices": devices}})
}

#[test]
fn a_valid_claim_passes() {
    let c = claim_with(json!({"requests": [
        {"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com",
            "selectors": [{"cel": {"expression": "device.driver == 'gpu.example.com'"}}],
            "allocationMode": "ExactCount", "count": 1,
            "tolerations": [{"key": "a", "operator": "Exists", "effect": "NoSchedule"}]}},
        {"name": "nic", "firstAvailable": [
            {"name": "fast", "deviceClassName": "nic", "allocationMode": "All"}]}],
        "constraints": [{"requests": ["gpu", "nic/fast"], "matchAttribute": "example.com/numa"}],
        "config": [{"requests": ["gpu"], "opaque": {"driver": "gpu.example.com",
            "parameters": {"a": 1}}}]}));
    assert_eq!(messages(&claim::validate_claim(&c)), Vec::<String>::new());
}

#[test]
fn claim_requests_hand_written_then_declarative() {
    let c = claim_with(json!({"requests": [
        {"name": "Bad", "exactly": {"deviceClassName": "", "allocationMode": "Sometimes",
            "selectors": [{}, {"cel": {"expression": "dev.driver == 'x'"}}],
            "tolerations": [{"key": "a b", "operator": "Exists", "value": "v", "effect": "Never"}]}},
        {"name": "both", "exactly": {"deviceClassName": "c", "allocationMode": "ExactCount",
            "count": 1}, "firstAvailable": [{"name": "x", "deviceClassName": "c",
            "allocationMode": "ExactCount", "count": 1}]},
        {"name": "none"},
        {"name": "both", "firstAvailable": [{"name": "s", "deviceClassName": "", "count": 1,
            "allocationMode": "ExactCount"}]}],
        "constraints": [{"requests": ["nope", "a/b/c"]}, {"matchAttribute": "numa"}],
        "config": [{"requests": ["none"]}]}));
    let got = messages(&claim::validate_claim(&c));
    let want = [
        "spec.devices.requests[0].name: Invalid value: \"Bad\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        "spec.devices.requests[0].exactly.deviceClassName: Required value",
        "spec.devices.requests[0].exactly.selectors[0].cel: Required value",
        "spec.devices.requests[0].exactly.selectors[1].cel.expression: Invalid value: \"dev.driver == 'x'\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'dev' (in container '')\n | dev.driver == 'x'\n | ^",
        "spec.devices.requests[0].exactly.tolerations[0].value: Invalid value: \"v\": must be empty for operator `Exists`",
        "spec.devices.requests[1]: Invalid value: null: exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set",
        "spec.devices.requests[2]: Required value: exactly one of `exactly` or `firstAvailable` is required",
        "spec.devices.constraints[0].requests[0]: Invalid value: \"nope\": must be the name of a request in the claim or the name of a request and a subrequest separated by '/'",
        "spec.devices.constraints[0].requests[1]: Invalid value: \"a/b/c\": must be the name of a request in the claim or the name of a request and a subrequest separated by '/'",
        "spec.devices.constraints[0]: Required value: exactly one of \"matchAttribute\" or \"distinctAttribute\" is required, but multiple fields are set",
        "spec.devices.config[0].opaque: Required value",
        // Declarative, in struct order.
        "spec.devices.requests[3]: Duplicate value: {\"name\":\"both\",\"firstAvailable\":[{\"name\":\"s\",\"deviceClassName\":\"\",\"allocationMode\":\"ExactCount\",\"count\":1}]}",
        "spec.devices.requests[0].exactly.allocationMode: Unsupported value: \"Sometimes\": supported values: \"All\", \"ExactCount\"",
        "spec.devices.requests[0].exactly.tolerations[0].key: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "spec.devices.requests[0].exactly.tolerations[0].effect: Unsupported value: \"Never\": supported values: \"NoExecute\", \"NoSchedule\", \"None\"",
        "spec.devices.requests[3].firstAvailable[0].deviceClassName: Required value",
        "spec.devices.constraints[1].matchAttribute: Invalid value: \"numa\": a fully qualified name must be a domain and a name separated by a slash",
    ];
    assert_eq!(got, want);
}

#[test]
fn claim_spec_is_immutable_and_template_spec_prints_as_go() {
    let old = claim_with(json!({"requests": [{"name": "a", "exactly": {"deviceClassName": "c"}}]}));
    let mut new = old.clone();
    new["spec"]["devices"]["requests"][0]["name"] = "b".into();
    assert_eq!(
        messages(&claim::validate_claim_update(&new, &old)),
        ["spec: Invalid value: null: field is immutable"]
    );
    assert!(claim::validate_claim_update(&old, &old).is_empty());
    let template = |name: &str| {
        json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "spec": {"metadata": {"labels": {"a": "b"}}, "spec": {"devices": {"requests": [
                {"name": name, "exactly": {"deviceClassName": "c", "allocationMode": "ExactCount",
                    "count": 1}}]}}}})
    };
    assert_eq!(
        messages(&claim::validate_template_update(
            &template("b"),
            &template("a")
        )),
        [
            "spec: Invalid value: {\"ObjectMeta\":{\"labels\":{\"a\":\"b\"}},\"Spec\":{\"Devices\":{\"Requests\":[{\"Name\":\"b\",\"Exactly\":{\"DeviceClassName\":\"c\",\"Selectors\":null,\"AllocationMode\":\"ExactCount\",\"Count\":1,\"AdminAccess\":null,\"Tolerations\":null,\"Capacity\":null,\"DerivedAttributes\":null},\"FirstAvailable\":null}],\"Constraints\":null,\"Config\":null}}}: field is immutable"
        ]
    );
}

#[test]
fn template_metadata_allows_labels_and_annotations_only() {
    let t = json!({"spec": {"metadata": {"name": "x", "uid": "u", "labels": {"a": "b"}},
        "spec": {"devices": {}}}});
    assert_eq!(
        messages(&claim::validate_template(&t)),
        [
            "spec.metadata.name: Forbidden: cannot be set for a resource claim template",
            "spec.metadata.uID: Forbidden: cannot be set for a resource claim template",
        ]
    );
}

#[test]
fn claim_status_reservations_and_allocation() {
    let old =
        claim_with(json!({"requests": [{"name": "gpu", "exactly": {"deviceClassName": "c"}}]}));
    let mut new = old.clone();
    new["status"] = json!({"reservedFor": [{"resource": "pods", "name": "p", "uid": ""}],
        "devices": [{"driver": "d.example.com", "pool": "p", "device": "x"}]});
    assert_eq!(
        messages(&claim::validate_claim_status_update(&new, &old)),
        [
            "status.reservedFor[0].uid: Required value",
            "status.devices[0]: Invalid value: {\"Driver\":\"d.example.com\",\"Pool\":\"p\",\"Device\":\"x\",\"ShareID\":\"\"}: must be an allocated device in the claim",
            "status.reservedFor: Forbidden: may not be specified when `allocated` is not set",
        ]
    );
    new["status"] = json!({"allocation": {"devices": {"results": [{"request": "cpu",
        "driver": "D_", "pool": "a//b", "device": "x", "shareID": "nope"}],
        "config": [{"source": "FromNowhere", "opaque": {"driver": "d", "parameters": {}}}]}}});
    assert_eq!(
        messages(&claim::validate_claim_status_update(&new, &old)),
        [
            "status.allocation.devices.results[0].request: Invalid value: \"cpu\": must be the name of a request in the claim or the name of a request and a subrequest separated by '/'",
            "status.allocation.devices.results[0].driver: Invalid value: \"D_\": an RFC 1123 subdomain must consist of alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'Example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "status.allocation.devices.results[0].pool: Invalid value: \"a//b\": segment 1: must not be empty",
            "status.allocation.devices.results[0].shareID: Invalid value: \"nope\": must be a lowercase UUID in 8-4-4-4-12 format",
            "status.allocation.devices.config[0].source: Unsupported value: \"FromNowhere\": supported values: \"FromClaim\", \"FromClass\"",
        ]
    );
    let mut allocated = old.clone();
    allocated["status"] = json!({"allocation": {"devices": {"results": [{"request": "gpu",
        "driver": "d", "pool": "p", "device": "x"}]}}});
    let mut changed = allocated.clone();
    changed["status"]["allocation"]["devices"]["results"][0]["device"] = "y".into();
    assert_eq!(
        messages(&claim::validate_claim_status_update(&changed, &allocated)),
        ["status.allocation: Invalid value: null: field cannot be modified once set"]
    );
}

#[test]
fn device_class_rules() {
    let c = json!({"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
        "metadata": {"name": "Bad"}, "spec": {"selectors": [{"cel": {"expression": "1"}}],
        "config": [{"opaque": {"driver": "", "parameters": [1]}}],
        "extendedResourceName": "kubernetes.io/gpu"}});
    assert_eq!(
        messages(&class::validate_class(&c)),
        [
            "spec.selectors[0].cel.expression: Invalid value: \"1\": must evaluate to bool or the unknown type, not int",
            "spec.config[0].opaque.parameters: Invalid value: \"<value omitted>\": must be a valid JSON object",
            "metadata.name: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.config[0].opaque.driver: Required value",
            "spec.extendedResourceName: Invalid value: \"kubernetes.io/gpu\": must not have \"kubernetes.io/\" domain",
        ]
    );
    // Stored selectors are not compiled again.
    assert_eq!(
        messages(&class::validate_class_update(&c, &c)),
        [
            "spec.config[0].opaque.parameters: Invalid value: \"<value omitted>\": must be a valid JSON object"
        ]
    );
}

#[test]
fn resource_slice_rules() {
    let s = json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
        "spec": {"driver": "d.example.com", "pool": {"name": "p", "generation": -1,
            "resourceSliceCount": 0}, "nodeName": "n", "allNodes": true,
        "devices": [
            {"name": "a", "attributes": {"model": {"string": "x", "int": 1},
                "v": {"version": "1.0"}, "empty": {}},
             "taints": [{"key": "k", "effect": "Sometimes"}]},
            {"name": "a", "nodeName": "n"}]}});
    assert_eq!(
        messages(&slice::validate_slice(&s)),
        [
            "spec.pool.resourceSliceCount: Invalid value: 0: must be greater than zero",
            "spec.pool.generation: Invalid value: -1: must be greater than or equal to zero",
            "spec: Invalid value: \"{`nodeName`, `allNodes`}\": exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required, but multiple fields are set",
            "spec.devices[0].attributes[v].version: Invalid value: \"1.0\": must be a string compatible with semver.org spec 2.0.0",
            "spec.devices[1]: Invalid value: null: `nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec",
            "spec.devices[1]: Duplicate value: \"a\"",
            "spec.devices[0].attributes[empty]: Invalid value: \"\": must specify one of: `int`, `bool`, `string`, `version`, `ints`, `bools`, `strings`, `versions`",
            "spec.devices[0].attributes[model]: Invalid value: \"{int, string}\": must specify exactly one of: `int`, `bool`, `string`, `version`, `ints`, `bools`, `strings`, `versions`",
            "spec.devices[0].taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoExecute\", \"NoSchedule\", \"None\"",
        ]
    );
    let mut moved = s.clone();
    moved["spec"]["driver"] = "e.example.com".into();
    assert!(
        messages(&slice::validate_slice_update(&moved, &s)).contains(
            &"spec.driver: Invalid value: \"e.example.com\": field is immutable".to_owned()
        )
    );
}

#[test]
fn consumable_capacity_request_policies() {
    let device = |policy: Value| {
        json!({"spec": {"driver": "d", "pool": {"name": "p", "resourceSliceCount": 1},
            "allNodes": true, "devices": [{"name": "a", "allowMultipleAllocations": true,
                "capacity": {"mem": {"value": "10Gi", "requestPolicy": policy}}}]}})
    };
    let at = "spec.devices[0].capacity[mem].requestPolicy";
    let m = |policy: Value| messages(&slice::validate_slice(&device(policy)));
    assert_eq!(
        m(json!({"default": "1Gi", "validValues": ["2Gi", "1Gi", "20Gi", "2Gi"]})),
        [
            format!(
                "{at}.validValues[1]: Invalid value: \"1Gi\": values must be sorted in ascending order"
            ),
            format!(
                "{at}.validValues[3]: Invalid value: \"2Gi\": values must be sorted in ascending order"
            ),
            format!(
                "{at}.validValues[2]: Invalid value: \"20Gi\": option is larger than capacity value: 10Gi"
            ),
            format!("{at}.validValues[3]: Duplicate value: \"2147483648\""),
        ]
    );
    assert_eq!(
        m(json!({"validRange": {"min": "1Gi"}})),
        [format!(
            "{at}.default: Required value: required when validRange is defined"
        )]
    );
    assert_eq!(
        m(json!({"default": "3Gi", "validRange": {"min": "1Gi", "max": "8Gi", "step": "2Gi"}})),
        [format!(
            "{at}.validRange.step: Invalid value: \"8Gi\": value is not a multiple of a given step (2Gi) from (1Gi)"
        )]
    );
    assert_eq!(
        m(json!({"default": "1500m", "validRange": {"min": "1", "step": "1n"}})),
        [format!(
            "{at}.validRange.step: Invalid value: \"1n\": value cannot be represented as a milli value"
        )]
    );
    assert_eq!(
        m(json!({"default": "1Gi", "validRange": {"min": "8Gi", "step": "4Gi"}})),
        [
            format!(
                "{at}.validRange.default: Invalid value: \"1Gi\": default is less than min: 8Gi"
            ),
            format!(
                "{at}.validRange.step: Invalid value: \"4Gi\": one step 12Gi is larger than capacity value: 10Gi"
            ),
            format!(
                "{at}.validRange.step: Invalid value: \"1Gi\": value is not a multiple of a given step (4Gi) from (8Gi)"
            ),
        ]
    );
    assert!(
        m(json!({"default": "2Gi", "validRange": {"min": "0", "max": "8Gi", "step": "2Gi"}}))
            .is_empty()
    );
}

#[test]
fn resource_slice_node_selectors() {
    let s = json!({"spec": {"driver": "d", "pool": {"name": "p", "resourceSliceCount": 1},
        "nodeSelector": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a b"]}]},
            {"matchFields": [{"key": "metadata.uid", "operator": "Exists"}]}]}}});
    assert_eq!(
        messages(&slice::validate_slice(&s)),
        [
            "spec.nodeSelector.nodeSelectorTerms[0].matchExpressions[0].values[0]: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            "spec.nodeSelector.nodeSelectorTerms[1].matchFields[0].operator: Invalid value: \"Exists\": not a valid selector operator",
            "spec.nodeSelector.nodeSelectorTerms[1].matchFields[0].key: Invalid value: \"metadata.uid\": not a valid field selector key",
            "spec.nodeSelector.nodeSelectorTerms: Invalid value: [{\"MatchExpressions\":[{\"Key\":\"zone\",\"Operator\":\"In\",\"Values\":[\"a b\"]}],\"MatchFields\":null},{\"MatchExpressions\":null,\"MatchFields\":[{\"Key\":\"metadata.uid\",\"Operator\":\"Exists\",\"Values\":null}]}]: must have exactly one node selector term",
        ]
    );
}

#[test]
fn semver_as_kube_reads_it() {
    for ok in ["1.0.0", "0.1.2-alpha.1+build.5", "10.20.30-rc.1"] {
        assert!(slice::is_semver(ok), "{ok}");
    }
    for bad in ["1.0", "01.0.0", "1.0.0-01", "1.0.0+"] {
        assert!(!slice::is_semver(bad), "{bad}");
    }
}

#[test]
fn device_taint_rules() {
    let r = json!({"spec": {"deviceSelector": {"driver": "", "pool": "a/", "device": "X"},
        "taint": {"key": "", "value": "v v", "effect": "Sometimes"}}});
    assert_eq!(
        messages(&taint::validate_rule(&r)),
        [
            "spec.deviceSelector.driver: Required value",
            "spec.deviceSelector.driver: Invalid value: \"\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.deviceSelector.pool: Invalid value: \"\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.deviceSelector.device: Invalid value: \"X\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            "spec.taint.key: Invalid value: \"\": name part must be non-empty",
            "spec.taint.key: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "spec.taint.value: Invalid value: \"v v\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            "spec.taint.effect: Unsupported value: \"Sometimes\": supported values: \"NoExecute\", \"NoSchedule\", \"None\"",
        ]
    );
    // An unchanged effect is not checked again.
    assert_eq!(taint::validate_rule_update(&r, &r).len(), 7);
    let status = json!({"status": {"conditions": (0..9).map(|i| json!({"type": format!("T{i}"),
        "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z", "reason": "R"}))
        .collect::<Vec<_>>()}});
    assert_eq!(
        messages(&taint::validate_rule_status_update(&status)),
        ["status.conditions: Too many: 9: must have at most 8 items"]
    );
}
