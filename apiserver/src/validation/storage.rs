//! Validates the storage.k8s.io types as kube's `pkg/apis/storage/validation`: StorageClass
//! (provisioner, parameters, reclaim policy and binding mode; parameters, provisioner and policies
//! fixed once created), CSIDriver (the spec's flags, FSGroup policy, token requests, lifecycle
//! modes; attachRequired and the modes immutable), VolumeAttachment (attacher, exactly one
//! source, node name; the spec immutable), CSINode (driver names, node IDs, allocatable counts,
//! topology keys; a driver fixed once listed but for its allocatable count, the
//! `MutableCSINodeAllocatableCount` gate being on), CSIStorageCapacity (node topology
//! selector, storage class name, capacity; topology and class immutable) and
//! VolumeAttributesClass (driver name, parameters required; both fixed once created).

use serde_json::Value;

use super::core::volume;
use super::field::{self, arr_of, child, index, str_of};
use super::selector;
use crate::status::Cause;

/// StorageClass `reclaimPolicy` values, sorted as kube lists them (no Recycle).
pub const STORAGE_CLASS_RECLAIM_POLICIES: [&str; 2] = ["Delete", "Retain"];
/// StorageClass `volumeBindingMode` values, sorted as kube lists them.
pub const VOLUME_BINDING_MODES: [&str; 2] = ["Immediate", "WaitForFirstConsumer"];
/// CSIDriver `spec.fsGroupPolicy` values, sorted as kube lists them.
pub const FS_GROUP_POLICIES: [&str; 3] = ["File", "None", "ReadWriteOnceWithFSType"];
/// CSIDriver `spec.volumeLifecycleModes` values, in kube's order.
pub const VOLUME_LIFECYCLE_MODES: [&str; 2] = ["Persistent", "Ephemeral"];
/// `maxProvisionerParameterLen`: a StorageClass has at most this many parameters.
const MAX_PARAMETERS: usize = 512;
/// `maxProvisionerParameterSize`: keys and values of the parameters total at most 256 KiB.
const MAX_PARAMETERS_SIZE: usize = 256 * 1024;
/// Token requests expire no sooner than 10 minutes (`validateTokenRequests`).
const MIN_TOKEN_EXPIRATION_SECONDS: i64 = 10 * 60;
/// Token requests expire no later than 2^32 seconds.
const MAX_TOKEN_EXPIRATION_SECONDS: i64 = 1 << 32;
/// `nodeAllocatableUpdatePeriodSeconds` is at least 10 seconds.
const MIN_ALLOCATABLE_UPDATE_PERIOD_SECONDS: i64 = 10;

/// A field that is present and not null.
fn set<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|v| !v.is_null())
}

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// A string-valued enumeration field: NotSupported unless one of `allowed`.
fn one_of(v: &Value, path: &str, allowed: &[&str]) -> Option<Cause> {
    (!v.as_str().is_some_and(|s| allowed.contains(&s)))
        .then(|| field::not_supported(path, v, allowed))
}

// ---------------------------------------------------------------------------------------------
// StorageClass

/// `validateProvisioner`: required, and a qualified name once lowercased (kube quotes the
/// lowercased value).
fn provisioner(value: &str, path: &str) -> Vec<Cause> {
    if value.is_empty() {
        return vec![field::required(path, "")];
    }
    let lower = value.to_lowercase();
    field::each(path, &lower, field::qualified_name(&lower))
}

/// `validateParameters` (`allow_empty`: StorageClass parameters may be empty, a
/// VolumeAttributesClass's may not).
fn parameters_of(params: Option<&Value>, allow_empty: bool, path: &str) -> Vec<Cause> {
    static EMPTY: std::sync::LazyLock<serde_json::Map<String, Value>> =
        std::sync::LazyLock::new(serde_json::Map::new);
    let params = params.and_then(Value::as_object).unwrap_or(&EMPTY);
    if params.len() > MAX_PARAMETERS {
        return vec![field::too_long(path, MAX_PARAMETERS)];
    }
    let mut causes = Vec::new();
    let mut total = 0;
    for (k, v) in params {
        if k.is_empty() {
            causes.push(field::invalid_str(path, k, "field can not be empty."));
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > MAX_PARAMETERS_SIZE {
        causes.push(field::too_long(path, MAX_PARAMETERS_SIZE));
    }
    if !allow_empty && params.is_empty() {
        causes.push(field::required(
            path,
            "must contain at least one key/value pair",
        ));
    }
    causes
}

/// `validateParameters` of a StorageClass.
fn parameters(params: Option<&Value>, path: &str) -> Vec<Cause> {
    parameters_of(params, true, path)
}

/// `ValidateStorageClass` (without ObjectMeta). `allowedTopologies` is not checked here.
pub fn validate_storage_class(obj: &Value) -> Vec<Cause> {
    let mut causes = provisioner(str_of(obj, "provisioner"), "provisioner");
    causes.extend(parameters(obj.get("parameters"), "parameters"));
    if let Some(p) = set(obj, "reclaimPolicy")
        && p.as_str() != Some("")
    {
        causes.extend(one_of(p, "reclaimPolicy", &STORAGE_CLASS_RECLAIM_POLICIES));
    }
    match set(obj, "volumeBindingMode") {
        None => causes.push(field::required("volumeBindingMode", "")),
        Some(m) => causes.extend(one_of(m, "volumeBindingMode", &VOLUME_BINDING_MODES)),
    }
    causes
}

/// `ValidateStorageClassUpdate` after the create rules (the strategy runs both): parameters,
/// provisioner, reclaimPolicy and volumeBindingMode are fixed once created.
pub fn validate_storage_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_storage_class(new);
    let empty = Value::Object(Default::default());
    let params = |o: &Value| -> Value {
        o.get("parameters")
            .filter(|p| !p.is_null())
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    if params(new) != params(old) {
        causes.push(field::forbidden(
            "parameters",
            "updates to parameters are forbidden.",
        ));
    }
    if str_of(new, "provisioner") != str_of(old, "provisioner") {
        causes.push(field::forbidden(
            "provisioner",
            "updates to provisioner are forbidden.",
        ));
    }
    if str_of(new, "reclaimPolicy") != str_of(old, "reclaimPolicy") {
        causes.push(field::forbidden(
            "reclaimPolicy",
            "updates to reclaimPolicy are forbidden.",
        ));
    }
    if new.get("volumeBindingMode") != old.get("volumeBindingMode") {
        causes.push(field::invalid(
            "volumeBindingMode",
            new.get("volumeBindingMode").unwrap_or(&Value::Null),
            "field is immutable",
        ));
    }
    causes
}

// ---------------------------------------------------------------------------------------------
// CSIDriver

/// `validateTokenRequests`: distinct audiences, expirations between 10 minutes and 2^32 s.
fn token_requests(requests: &[Value]) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut audiences = std::collections::HashSet::new();
    for (i, r) in requests.iter().enumerate() {
        let at = index("spec.tokenRequests", i);
        let audience = str_of(r, "audience");
        if !audiences.insert(audience) {
            causes.push(field::duplicate(
                &child(&at, "audience"),
                &Value::String(audience.to_owned()),
            ));
            continue;
        }
        let Some(seconds) = set(r, "expirationSeconds") else {
            continue;
        };
        let n = seconds.as_i64().unwrap_or(0);
        let path = child(&at, "expirationSeconds");
        if n < MIN_TOKEN_EXPIRATION_SECONDS {
            causes.push(field::invalid(
                &path,
                seconds,
                "may not specify a duration less than 10 minutes",
            ));
        }
        if n > MAX_TOKEN_EXPIRATION_SECONDS {
            causes.push(field::invalid(
                &path,
                seconds,
                "may not specify a duration larger than 2^32 seconds",
            ));
        }
    }
    causes
}

/// `validateCSIDriverSpec`. kube names the attachRequired field `spec.attachedRequired` in its
/// errors; kept. `seLinuxMount` is neither defaulted nor required here.
fn csi_driver_spec(obj: &Value) -> Vec<Cause> {
    let spec = spec(obj);
    let mut causes = Vec::new();
    for (f, path) in [
        ("attachRequired", "spec.attachedRequired"),
        ("podInfoOnMount", "spec.podInfoOnMount"),
        ("storageCapacity", "spec.storageCapacity"),
    ] {
        if set(spec, f).is_none() {
            causes.push(field::required(path, ""));
        }
    }
    if let Some(p) = set(spec, "fsGroupPolicy") {
        causes.extend(one_of(p, "spec.fsGroupPolicy", &FS_GROUP_POLICIES));
    }
    causes.extend(token_requests(arr_of(spec, "tokenRequests")));
    for mode in arr_of(spec, "volumeLifecycleModes") {
        causes.extend(one_of(
            mode,
            "spec.volumeLifecycleModes",
            &VOLUME_LIFECYCLE_MODES,
        ));
    }
    if let Some(period) = set(spec, "nodeAllocatableUpdatePeriodSeconds")
        && period
            .as_i64()
            .is_some_and(|n| n < MIN_ALLOCATABLE_UPDATE_PERIOD_SECONDS)
    {
        causes.push(field::invalid(
            "spec.nodeAllocatableUpdatePeriodSeconds",
            period,
            "must be greater than or equal to 10 seconds",
        ));
    }
    causes
}

/// `ValidateCSIDriver` (without ObjectMeta).
pub fn validate_csi_driver(obj: &Value) -> Vec<Cause> {
    csi_driver_spec(obj)
}

/// A CSIDriver's `volumeLifecycleModes` as a bad value prints: Go's `json.Marshal` of the slice
/// (`null` when unset).
fn go_modes(modes: Option<&Value>) -> String {
    match modes.filter(|m| m.is_array()) {
        None => "null".into(),
        Some(m) => field::go_json(m),
    }
}

/// `ValidateCSIDriverUpdate`: the spec rules, attachRequired and volumeLifecycleModes immutable.
pub fn validate_csi_driver_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = csi_driver_spec(new);
    let (ns, os) = (spec(new), spec(old));
    if ns.get("attachRequired") != os.get("attachRequired") {
        causes.push(field::invalid(
            "spec.attachedRequired",
            ns.get("attachRequired").unwrap_or(&Value::Null),
            "field is immutable",
        ));
    }
    if ns.get("volumeLifecycleModes") != os.get("volumeLifecycleModes") {
        causes.push(selector::invalid_go(
            "spec.volumeLifecycleModes",
            &go_modes(ns.get("volumeLifecycleModes")),
            "field is immutable",
        ));
    }
    causes
}

// ---------------------------------------------------------------------------------------------
// VolumeAttachment

/// `ValidateCSIDriverName` (a CSI driver named by another object): required, at most 63
/// characters, a DNS subdomain once lowercased.
pub fn csi_driver_name(name: &str, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if name.is_empty() {
        causes.push(field::required(path, ""));
    }
    if name.len() > field::DNS_LABEL_MAX {
        causes.push(field::too_long(path, field::DNS_LABEL_MAX));
    }
    causes.extend(field::each(
        path,
        name,
        field::dns1123_subdomain(&name.to_lowercase()),
    ));
    causes
}

/// `ValidateVolumeAttachment` and, for v1 objects, `ValidateVolumeAttachmentV1` (without
/// ObjectMeta; status is reset on create and not checked).
pub fn validate_volume_attachment(obj: &Value) -> Vec<Cause> {
    let spec = spec(obj);
    let mut causes = Vec::new();
    let attacher = str_of(spec, "attacher");
    if attacher.is_empty() {
        causes.push(field::required("spec.attacher", ""));
    }
    let null = Value::Null;
    let src = spec.get("source").unwrap_or(&null);
    let pv_name = set(src, "persistentVolumeName");
    match (set(src, "inlineVolumeSpec"), pv_name) {
        (None, None) => causes.push(field::required(
            "spec.source",
            "must specify exactly one of inlineVolumeSpec and persistentVolumeName",
        )),
        (Some(_), Some(_)) => causes.push(field::forbidden(
            "spec.source",
            "must specify exactly one of inlineVolumeSpec and persistentVolumeName",
        )),
        (None, Some(name)) => {
            if name.as_str().is_none_or(str::is_empty) {
                causes.push(field::required(
                    "spec.source.persistentVolumeName",
                    "must specify non empty persistentVolumeName",
                ));
            }
        }
        (Some(inline), None) => {
            causes.extend(volume::pv_spec(
                inline,
                "spec.source.inlineVolumeSpec",
                true,
            ));
        }
    }
    let node = str_of(spec, "nodeName");
    causes.extend(field::each(
        "spec.nodeName",
        node,
        field::dns1123_subdomain(node),
    ));
    // ValidateVolumeAttachmentV1: the attacher as a CSI driver name (its Required is the same
    // error as above, which kube's message lists once), the PV name as a PV name.
    causes.extend(
        csi_driver_name(attacher, "spec.attacher")
            .into_iter()
            .filter(|c| !(attacher.is_empty() && c.reason == "FieldValueRequired")),
    );
    if let Some(name) = pv_name.and_then(Value::as_str) {
        causes.extend(field::each(
            "spec.source.persistentVolumeName",
            name,
            field::dns1123_subdomain(name),
        ));
    }
    causes
}

/// `ValidateVolumeAttachmentUpdate`: the create rules and an immutable spec.
pub fn validate_volume_attachment_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_volume_attachment(new);
    if spec(new) != spec(old) {
        causes.push(selector::invalid_go(
            "spec",
            &go_volume_attachment_spec(spec(new)),
            "field is immutable",
        ));
    }
    causes
}

/// The internal `storage.VolumeAttachmentSpec` as a bad value prints: Go's `json.Marshal` of a
/// struct without JSON tags, so Go's field names with zero values when unset. An inline volume
/// spec prints here in its versioned JSON form (kube's internal PersistentVolumeSpec would print
/// under Go names).
fn go_volume_attachment_spec(spec: &Value) -> String {
    let source = spec.get("source").unwrap_or(&Value::Null);
    let set = |v: &Value, f: &str| v.get(f).filter(|x| !x.is_null()).cloned();
    let mut src = serde_json::Map::new();
    src.insert(
        "PersistentVolumeName".into(),
        set(source, "persistentVolumeName").unwrap_or(Value::Null),
    );
    src.insert(
        "InlineVolumeSpec".into(),
        set(source, "inlineVolumeSpec").unwrap_or(Value::Null),
    );
    let mut out = serde_json::Map::new();
    out.insert(
        "Attacher".into(),
        set(spec, "attacher").unwrap_or(field::GO_EMPTY_STRING),
    );
    out.insert("Source".into(), Value::Object(src));
    out.insert(
        "NodeName".into(),
        set(spec, "nodeName").unwrap_or(field::GO_EMPTY_STRING),
    );
    field::go_json(&Value::Object(out))
}

// ---------------------------------------------------------------------------------------------
// CSINode

/// `csiNodeIDLongerMaxLength`: the strategy always allows the longer node IDs.
const CSI_NODE_ID_MAX: usize = 256;

/// `validateCSINodeDriver`; `seen` collects the driver names so far.
fn csi_node_driver<'a>(d: &'a Value, seen: &mut Vec<&'a str>, path: &str) -> Vec<Cause> {
    let name = str_of(d, "name");
    let mut causes = csi_driver_name(name, &child(path, "name"));
    let node_id = str_of(d, "nodeID");
    let id_path = child(path, "nodeID");
    if node_id.is_empty() {
        causes.push(field::required(&id_path, ""));
    }
    if node_id.len() > CSI_NODE_ID_MAX {
        causes.push(field::invalid_str(
            &id_path,
            node_id,
            &format!("must be {CSI_NODE_ID_MAX} characters or less"),
        ));
    }
    if let Some(count) = d.pointer("/allocatable/count") {
        causes.extend(field::non_negative(
            &child(path, "allocatable.count"),
            count,
        ));
    }
    if seen.contains(&name) {
        causes.push(field::duplicate(
            &child(path, "name"),
            &Value::String(name.to_owned()),
        ));
    }
    seen.push(name);
    // kube reports the topology keys' errors on the driver itself.
    let mut keys: Vec<&str> = Vec::new();
    for key in arr_of(d, "topologyKeys") {
        let key = key.as_str().unwrap_or("");
        if key.is_empty() {
            causes.push(field::required(path, ""));
        }
        if keys.contains(&key) {
            causes.push(field::duplicate(path, &Value::String(key.to_owned())));
        }
        keys.push(key);
        causes.extend(field::each(path, key, field::qualified_name(key)));
    }
    causes
}

/// `ValidateCSINode` without ObjectMeta (whose name rule, `ValidateNodeName`, is a subdomain).
pub fn validate_csi_node(obj: &Value) -> Vec<Cause> {
    let mut seen = Vec::new();
    arr_of(spec(obj), "drivers")
        .iter()
        .enumerate()
        .flat_map(|(i, d)| csi_node_driver(d, &mut seen, &index("spec.drivers", i)))
        .collect()
}

/// A CSINode driver without its allocatable count, as kube compares them.
fn driver_without_allocatable(d: &Value) -> Value {
    let mut d = d.clone();
    if let Some(m) = d.as_object_mut() {
        m.remove("allocatable");
        // nil and empty topology keys are the same to Semantic.DeepEqual.
        if m.get("topologyKeys")
            .is_some_and(|k| k.is_null() || k.as_array().is_some_and(Vec::is_empty))
        {
            m.remove("topologyKeys");
        }
    }
    d
}

/// `ValidateCSINodeUpdate` without ObjectMeta: the create rules, then every driver also in the
/// old object is unchanged but for `allocatable` (reported on `spec.drivers` with the driver as
/// Go's internal struct).
pub fn validate_csi_node_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_csi_node(new);
    for o in arr_of(spec(old), "drivers") {
        for n in arr_of(spec(new), "drivers") {
            if str_of(o, "name") == str_of(n, "name")
                && driver_without_allocatable(n) != driver_without_allocatable(o)
            {
                let go = field::go_struct(
                    n,
                    &[
                        ("Name", "name", field::GO_EMPTY_STRING),
                        ("NodeID", "nodeID", field::GO_EMPTY_STRING),
                        ("TopologyKeys", "topologyKeys", Value::Null),
                        ("Allocatable", "-", Value::Null),
                    ],
                );
                causes.push(selector::invalid_go(
                    "spec.drivers",
                    &go,
                    "field is immutable",
                ));
            }
        }
    }
    causes
}

// ---------------------------------------------------------------------------------------------
// CSIStorageCapacity

/// `ValidateCSIStorageCapacity` without ObjectMeta.
pub fn validate_csi_storage_capacity(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(sel) = set(obj, "nodeTopology") {
        causes.extend(selector::validate(sel, "nodeTopology"));
    }
    let class = str_of(obj, "storageClassName");
    causes.extend(field::each(
        "storageClassName",
        class,
        field::dns1123_subdomain(class),
    ));
    if let Some(q) = set(obj, "capacity").and_then(super::quantity::Quantity::parse)
        && q.is_negative()
    {
        causes.push(field::invalid_str(
            "capacity",
            &q.canonical(),
            field::IS_NEGATIVE,
        ));
    }
    causes
}

/// The strategy's `ValidateUpdate`: the create rules (tolerating a node topology selector the
/// stored object already had wrong, as `AllowInvalidLabelValueInSelector` does), then
/// `ValidateCSIStorageCapacityUpdate`: node topology and storage class are immutable.
pub fn validate_csi_storage_capacity_update(new: &Value, old: &Value) -> Vec<Cause> {
    let old_selector_bad =
        set(old, "nodeTopology").is_some_and(|s| !selector::validate(s, "nodeTopology").is_empty());
    let mut causes: Vec<Cause> = validate_csi_storage_capacity(new)
        .into_iter()
        .filter(|c| !(old_selector_bad && c.field.starts_with("nodeTopology")))
        .collect();
    let topology = |o: &Value| set(o, "nodeTopology").cloned();
    if topology(new) != topology(old) {
        causes.push(selector::invalid_go(
            "nodeTopology",
            &set(new, "nodeTopology").map_or("null".into(), selector::go_selector),
            "field is immutable",
        ));
    }
    let class = str_of(new, "storageClassName");
    if class != str_of(old, "storageClassName") {
        causes.push(field::invalid_str(
            "storageClassName",
            class,
            "field is immutable",
        ));
    }
    causes
}

// ---------------------------------------------------------------------------------------------
// VolumeAttributesClass

/// `ValidateVolumeAttributesClass` without ObjectMeta.
pub fn validate_volume_attributes_class(obj: &Value) -> Vec<Cause> {
    let mut causes = provisioner(str_of(obj, "driverName"), "driverName");
    causes.extend(parameters_of(obj.get("parameters"), false, "parameters"));
    causes
}

/// `ValidateVolumeAttributesClassUpdate` without ObjectMeta: driver name and parameters fixed,
/// then the create rules.
pub fn validate_volume_attributes_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if str_of(new, "driverName") != str_of(old, "driverName") {
        causes.push(field::forbidden(
            "driverName",
            "updates to driverName are forbidden.",
        ));
    }
    // reflect.DeepEqual: a nil map and an empty one differ, but the decoder writes neither
    // apart (omitempty), so absent and empty compare equal here.
    let params = |o: &Value| {
        o.get("parameters")
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
            .cloned()
    };
    if params(new) != params(old) {
        causes.push(field::forbidden(
            "parameters",
            "updates to parameters are forbidden.",
        ));
    }
    causes.extend(validate_volume_attributes_class(new));
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use crate::validation::test_support::messages;

    #[test]
    fn token_requests_need_distinct_audiences_and_sane_expirations() {
        let reqs = [
            json!({"audience": "a", "expirationSeconds": 599}),
            json!({"audience": "a"}),
            json!({"audience": "b", "expirationSeconds": 4294967297i64}),
        ];
        assert_eq!(
            messages(&token_requests(&reqs)),
            vec![
                "spec.tokenRequests[0].expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes",
                "spec.tokenRequests[1].audience: Duplicate value: \"a\"",
                "spec.tokenRequests[2].expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds",
            ]
        );
    }

    #[test]
    fn a_changed_volume_attachment_spec_prints_as_the_internal_struct() {
        let old = json!({"spec": {"attacher": "csi.example.com", "nodeName": "n1",
            "source": {"persistentVolumeName": "pv"}}});
        let mut new = old.clone();
        new["spec"]["nodeName"] = json!("n2");
        assert_eq!(
            messages(&validate_volume_attachment_update(&new, &old)),
            [
                r#"spec: Invalid value: {"Attacher":"csi.example.com","Source":{"PersistentVolumeName":"pv","InlineVolumeSpec":null},"NodeName":"n2"}: field is immutable"#
            ]
        );
    }

    #[test]
    fn volume_attachments_need_one_source_and_a_driver_name() {
        let va = json!({"spec": {"attacher": "", "nodeName": "n", "source": {}}});
        let got = messages(&validate_volume_attachment(&va));
        assert_eq!(got[0], "spec.attacher: Required value");
        assert_eq!(
            got[1],
            "spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName"
        );
        assert!(
            got[2]
                .starts_with("spec.attacher: Invalid value: \"\": a lowercase RFC 1123 subdomain"),
            "{got:?}"
        );
        assert_eq!(got.len(), 3, "{got:?}");
    }
}
