//! Validates PersistentVolumes and PersistentVolumeClaims as kube's `ValidatePersistentVolume*`
//! and `ValidatePersistentVolumeClaim*` (`pkg/apis/core/validation`): access modes, capacity and
//! requests, exactly one volume source, class names, data sources; on update a PV's source and
//! volume mode are fixed, and a claim's spec is fixed but for its `volumeName` (set once), a
//! class name given to a claim without one, and the storage request of a bound claim.
//!
//! Not modelled: the per-plugin checks of the in-tree volume sources other than hostPath, NFS,
//! local and CSI; node affinity terms beyond their presence; the `cmp.Diff` kube appends to the
//! "immutable after creation" messages.

use serde_json::{Map, Value};

use super::pod::quantity_value;
use crate::status::Cause;
use crate::validation::field::{self, arr_of, child, str_of};
use crate::validation::quantity::Quantity;
use crate::validation::selector;

/// Access modes, sorted as kube lists them.
pub const ACCESS_MODES: [&str; 4] = [
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
/// PersistentVolume `persistentVolumeReclaimPolicy` values, sorted as kube lists them.
pub const RECLAIM_POLICIES: [&str; 3] = ["Delete", "Recycle", "Retain"];
/// `volumeMode` values, sorted as kube lists them.
pub const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];
/// The claim's beta storage-class annotation (predates `spec.storageClassName`).
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";
/// kube's message for a quantity that is not above zero (`isNotPositiveErrorMsg`).
const NOT_POSITIVE: &str = "must be greater than zero";

/// The volume sources of a PersistentVolumeSpec, in the order kube counts them, with the path
/// segment kube names in its "more than 1 volume type" error (its spelling, e.g. `cephFS`).
const PV_SOURCES: [(&str, &str); 22] = [
    ("hostPath", "hostPath"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("nfs", "nfs"),
    ("rbd", "rbd"),
    ("quobyte", "quobyte"),
    ("cephfs", "cephFS"),
    ("iscsi", "iscsi"),
    ("cinder", "cinder"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO"),
    ("local", "local"),
    ("storageos", "storageos"),
    ("csi", "csi"),
];

/// A field that is present and not null.
fn set<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|v| !v.is_null())
}

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// Access modes: known, and ReadWriteOncePod alone.
fn access_modes(modes: &[Value], path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let (mut rwop, mut other) = (false, false);
    for m in modes {
        match m.as_str() {
            Some("ReadWriteOncePod") => rwop = true,
            Some(s) if ACCESS_MODES.contains(&s) => other = true,
            _ => causes.push(field::not_supported(path, m, &ACCESS_MODES)),
        }
    }
    if rwop && other {
        causes.push(field::forbidden(
            path,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    causes
}

/// `ValidatePositiveQuantityValue` of a quantity at `path`.
fn positive_quantity(q: &Value, path: &str) -> Option<Cause> {
    let value = q.as_str().and_then(quantity_value).or_else(|| q.as_f64());
    (value.unwrap_or(0.0) <= 0.0).then(|| field::invalid_quantity(path, q, NOT_POSITIVE))
}

/// A `core.ResourceList` as a bad value prints: Go's `json.Marshal` of the map (keys sorted,
/// each Quantity in its canonical form), `null` when unset.
fn go_resource_list(list: Option<&Map<String, Value>>) -> String {
    let Some(m) = list else {
        return "null".into();
    };
    let mut sorted: Vec<(&String, &Value)> = m.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    let canonical: Map<String, Value> = sorted
        .into_iter()
        .map(|(k, v)| {
            let q = crate::validation::quantity::Quantity::parse(v)
                .map_or_else(|| v.clone(), |q| Value::String(q.canonical()));
            (k.clone(), q)
        })
        .collect();
    field::go_json(&Value::Object(canonical))
}

/// `validatePathNoBacksteps`: no `..` element.
pub(super) fn no_backsteps(p: &str, path: &str) -> Option<Cause> {
    p.split('/')
        .any(|part| part == "..")
        .then(|| field::invalid_str(path, p, "must not contain '..'"))
}

/// The checks of the volume sources modelled here (hostPath, nfs, local, csi).
fn pv_source(name: &str, src: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let required = |f: &str, causes: &mut Vec<Cause>| {
        if str_of(src, f).is_empty() {
            causes.push(field::required(&child(at, f), ""));
        }
    };
    match name {
        "hostPath" | "local" => {
            required("path", &mut causes);
            causes.extend(no_backsteps(str_of(src, "path"), &child(at, "path")));
        }
        "nfs" => {
            required("server", &mut causes);
            required("path", &mut causes);
            let p = str_of(src, "path");
            if !p.starts_with('/') {
                causes.push(field::invalid_str(
                    &child(at, "path"),
                    p,
                    "must be an absolute path",
                ));
            }
        }
        "csi" => {
            causes.extend(crate::validation::storage::csi_driver_name(
                str_of(src, "driver"),
                &child(at, "driver"),
            ));
            required("volumeHandle", &mut causes);
        }
        _ => {}
    }
    causes
}

/// `ValidatePersistentVolumeSpec` at `path`; `inline` for a VolumeAttachment's inline spec.
pub fn pv_spec(spec: &Value, path: &str, inline: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    let capacity = spec.get("capacity").and_then(Value::as_object);
    if inline {
        if set(spec, "claimRef").is_some() {
            causes.push(field::forbidden(
                &child(path, "claimRef"),
                "may not be specified in the context of inline volumes",
            ));
        }
        if capacity.is_some_and(|c| !c.is_empty()) {
            causes.push(field::forbidden(
                &child(path, "capacity"),
                "may not be specified in the context of inline volumes",
            ));
        }
        if set(spec, "csi").is_none() {
            causes.push(field::required(
                &child(path, "csi"),
                "has to be specified in the context of inline volumes",
            ));
        }
    }
    let modes = arr_of(spec, "accessModes");
    if modes.is_empty() {
        causes.push(field::required(&child(path, "accessModes"), ""));
    }
    causes.extend(access_modes(modes, &child(path, "accessModes")));
    if !inline {
        let cap_at = child(path, "capacity");
        if capacity.is_none_or(Map::is_empty) {
            causes.push(field::required(&cap_at, ""));
        }
        if capacity.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
            causes.push(Cause::new(
                "FieldValueNotSupported",
                cap_at.clone(),
                format!(
                    "Unsupported value: {}: supported values: \"storage\"",
                    go_resource_list(capacity)
                ),
            ));
        }
        for (r, q) in capacity.into_iter().flatten() {
            causes.extend(positive_quantity(q, &field::key(&cap_at, r)));
        }
    }
    let policy = str_of(spec, "persistentVolumeReclaimPolicy");
    if !policy.is_empty() {
        let policy_at = child(path, "persistentVolumeReclaimPolicy");
        if inline {
            if policy != "Retain" {
                causes.push(field::forbidden(
                    &policy_at,
                    "may only be Retain in the context of inline volumes",
                ));
            }
        } else if !RECLAIM_POLICIES.contains(&policy) {
            causes.push(field::not_supported(
                &policy_at,
                &Value::String(policy.to_owned()),
                &RECLAIM_POLICIES,
            ));
        }
    }
    let affinity = set(spec, "nodeAffinity");
    if let Some(a) = affinity {
        if inline {
            causes.push(field::forbidden(
                &child(path, "nodeAffinity"),
                "may not be specified in the context of inline volumes",
            ));
        } else if set(a, "required").is_none() {
            causes.push(field::required(
                &child(path, "nodeAffinity.required"),
                "must specify required node constraints",
            ));
        }
    }
    let mut sources = 0;
    for (f, named) in PV_SOURCES {
        let Some(src) = set(spec, f) else { continue };
        // kube counts a flexVolume without checking for an earlier source.
        if sources > 0 && f != "flexVolume" {
            causes.push(field::forbidden(
                &child(path, named),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        sources += 1;
        causes.extend(pv_source(f, src, &child(path, f)));
        if f == "local" && affinity.is_none() {
            causes.push(field::required(
                &child(path, "nodeAffinity"),
                "Local volume requires node affinity",
            ));
        }
    }
    if sources == 0 {
        causes.push(field::required(path, "must specify a volume type"));
    }
    if let Some(hp) = set(spec, "hostPath")
        && str_of(hp, "path").trim_end_matches('/').is_empty()
        && str_of(hp, "path").starts_with('/')
        && policy == "Recycle"
    {
        causes.push(field::forbidden(
            &child(path, "persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        ));
    }
    let class = str_of(spec, "storageClassName");
    if !class.is_empty() {
        if inline {
            causes.push(field::forbidden(
                &child(path, "storageClassName"),
                "may not be specified in the context of inline volumes",
            ));
        } else {
            causes.extend(field::each(
                &child(path, "storageClassName"),
                class,
                field::dns1123_subdomain(class),
            ));
        }
    }
    if let Some(mode) = set(spec, "volumeMode") {
        if inline {
            if mode.as_str() != Some("Filesystem") {
                causes.push(field::forbidden(
                    &child(path, "volumeMode"),
                    "may not specify volumeMode other than Filesystem in the context of inline volumes",
                ));
            }
        } else if !mode.as_str().is_some_and(|m| VOLUME_MODES.contains(&m)) {
            causes.push(field::not_supported(
                &child(path, "volumeMode"),
                mode,
                &VOLUME_MODES,
            ));
        }
    }
    if let Some(vac) = set(spec, "volumeAttributesClassName").and_then(Value::as_str) {
        let vac_at = child(path, "volumeAttributesClassName");
        if vac.is_empty() {
            causes.push(field::required(&vac_at, "an empty string is disallowed"));
        } else {
            causes.extend(field::each(&vac_at, vac, field::dns1123_subdomain(vac)));
        }
        if set(spec, "csi").is_none() {
            causes.push(field::required(
                &child(path, "csi"),
                "has to be specified when using volumeAttributesClassName",
            ));
        }
    }
    causes
}

/// `ValidatePersistentVolume` (without ObjectMeta).
pub fn validate_pv(obj: &Value) -> Vec<Cause> {
    pv_spec(spec(obj), "spec", false)
}

/// `ValidatePersistentVolumeUpdate`: the create rules, an immutable volume source (a CSI
/// source may gain a `controllerExpandSecretRef`), volume mode and node affinity once set, and
/// no removing of a volume attributes class.
pub fn validate_pv_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_pv(new);
    let (ns, os) = (spec(new), spec(old));
    let sources = |s: &Value, old_csi: Option<&Value>| -> Map<String, Value> {
        let mut out: Map<String, Value> = PV_SOURCES
            .iter()
            .filter_map(|(f, _)| set(s, f).map(|v| ((*f).to_owned(), v.clone())))
            .collect();
        // A secret added to a CSI source that had none is allowed.
        if old_csi.is_some_and(|c| set(c, "controllerExpandSecretRef").is_none())
            && let Some(csi) = out.get_mut("csi").and_then(Value::as_object_mut)
        {
            csi.remove("controllerExpandSecretRef");
        }
        out
    };
    if sources(ns, set(os, "csi")) != sources(os, None) {
        causes.push(field::forbidden(
            "spec.persistentvolumesource",
            "spec.persistentvolumesource is immutable after creation",
        ));
    }
    if ns.get("volumeMode") != os.get("volumeMode") {
        causes.push(field::invalid(
            "volumeMode",
            ns.get("volumeMode").unwrap_or(&Value::Null),
            "field is immutable",
        ));
    }
    if set(os, "nodeAffinity").is_some() && ns.get("nodeAffinity") != os.get("nodeAffinity") {
        causes.push(selector::invalid_go(
            "nodeAffinity",
            &ns.get("nodeAffinity").unwrap_or(&Value::Null).to_string(),
            "field is immutable",
        ));
    }
    if set(os, "volumeAttributesClassName").is_some()
        && set(ns, "volumeAttributesClassName").is_none()
    {
        causes.push(field::forbidden(
            "spec.volumeAttributesClassName",
            "update from non-nil value to nil is forbidden",
        ));
    }
    causes
}

/// `validateDataSource` / `validateDataSourceRef`.
fn data_source(src: &Value, at: &str, with_namespace: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    for f in ["name", "kind"] {
        if str_of(src, f).is_empty() {
            causes.push(field::required(&child(at, f), ""));
        }
    }
    let group = str_of(src, "apiGroup");
    let kind = str_of(src, "kind");
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        causes.push(field::invalid_str(
            at,
            kind,
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        ));
    }
    if !group.is_empty() {
        causes.extend(field::each(
            &child(at, "apiGroup"),
            group,
            field::dns1123_subdomain(group),
        ));
    }
    let ns = str_of(src, "namespace");
    if with_namespace && !ns.is_empty() {
        causes.extend(field::each(
            &child(at, "namespace"),
            ns,
            field::dns1123_label(ns),
        ));
    }
    causes
}

/// `ValidatePersistentVolumeClaimSpec` at `spec`. The cross checks of `dataSource` against
/// `dataSourceRef` (whose messages quote a Go field path) are not modelled.
fn pvc_spec(spec: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let modes = arr_of(spec, "accessModes");
    if modes.is_empty() {
        causes.push(field::required(
            "spec.accessModes",
            "at least 1 access mode is required",
        ));
    }
    if let Some(s) = set(spec, "selector") {
        causes.extend(selector::validate(s, "spec.selector"));
    }
    causes.extend(access_modes(modes, "spec.accessModes"));
    let storage_at = field::key("spec.resources", "storage");
    match spec.pointer("/resources/requests/storage") {
        None | Some(Value::Null) => causes.push(field::required(&storage_at, "")),
        Some(q) => causes.extend(positive_quantity(q, &storage_at)),
    }
    let class = str_of(spec, "storageClassName");
    if !class.is_empty() {
        causes.extend(field::each(
            "spec.storageClassName",
            class,
            field::dns1123_subdomain(class),
        ));
    }
    if let Some(mode) = set(spec, "volumeMode")
        && !mode.as_str().is_some_and(|m| VOLUME_MODES.contains(&m))
    {
        causes.push(field::not_supported("spec.volumeMode", mode, &VOLUME_MODES));
    }
    if let Some(src) = set(spec, "dataSource") {
        causes.extend(data_source(src, "spec.dataSource", false));
    }
    if let Some(src) = set(spec, "dataSourceRef") {
        causes.extend(data_source(src, "spec.dataSourceRef", true));
    }
    let vac = str_of(spec, "volumeAttributesClassName");
    if !vac.is_empty() {
        causes.extend(field::each(
            "spec.volumeAttributesClassName",
            vac,
            field::dns1123_subdomain(vac),
        ));
    }
    causes
}

/// `ValidatePersistentVolumeClaim` (without ObjectMeta).
pub fn validate_pvc(obj: &Value) -> Vec<Cause> {
    pvc_spec(spec(obj))
}

/// PersistentVolumeClaim `status.allocatedResourceStatuses` values, sorted as kube lists them.
pub const RESIZE_STATUSES: [&str; 5] = [
    "ControllerResizeInProgress",
    "ControllerResizeInfeasible",
    "NodeResizeInProgress",
    "NodeResizeInfeasible",
    "NodeResizePending",
];

/// `validateBasicResource`: a quantity whose `Value()` is not negative.
fn basic_resource(q: &Value, path: &str) -> Option<Cause> {
    let value = Quantity::parse(q)?.value();
    (value < 0).then(|| {
        field::invalid(
            path,
            &Value::from(value as i64),
            "must be a valid resource quantity",
        )
    })
}

/// `validatePersistentVolumeClaimResourceKey`: a qualified name, and `storage` if it is a
/// native resource (unprefixed, or prefixed with `kubernetes.io/`).
fn claim_resource_key(key: &str, path: &str) -> Vec<Cause> {
    let causes = field::each(path, key, field::qualified_name(key));
    if !causes.is_empty() {
        return causes;
    }
    let native = !key.contains('/') || key.contains("kubernetes.io/");
    if native && key != "storage" {
        return vec![field::not_supported(
            path,
            &Value::String(key.to_owned()),
            &["storage"],
        )];
    }
    Vec::new()
}

/// `ValidatePersistentVolumeClaimStatusUpdate` after ObjectMeta (a status write always carries
/// the stored resourceVersion here): access modes still set, capacities valid quantities and,
/// with RecoverVolumeExpansionFailure (GA), the allocated resources and their resize statuses
/// keyed by `storage` or a prefixed name. kube reports the resize statuses at
/// `status.allocatedResourceStatus` and names the key, not the bad value, in the message.
pub fn validate_pvc_status_update(new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if arr_of(spec(new), "accessModes").is_empty() {
        causes.push(field::required("Spec.accessModes", ""));
    }
    let status = new.get("status").unwrap_or(&Value::Null);
    let map = |f: &str| {
        status
            .get(f)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
    };
    for (r, q) in map("capacity") {
        causes.extend(basic_resource(q, &field::key("status.capacity", r)));
    }
    let statuses_at = "status.allocatedResourceStatus";
    for (k, v) in map("allocatedResourceStatuses") {
        causes.extend(claim_resource_key(k, statuses_at));
        if !v.as_str().is_some_and(|v| RESIZE_STATUSES.contains(&v)) {
            causes.push(field::not_supported(
                statuses_at,
                &Value::String(k.clone()),
                &RESIZE_STATUSES,
            ));
        }
    }
    let allocated_at = "status.allocatedResources";
    for (r, q) in map("allocatedResources") {
        let key_causes = claim_resource_key(r, allocated_at);
        if !key_causes.is_empty() {
            causes.extend(key_causes);
            continue;
        }
        let at = field::key(allocated_at, r);
        match basic_resource(q, &at) {
            Some(c) => causes.push(c),
            None => causes.extend(crate::validation::core::quota::quantity_value(
                "storage", q, &at,
            )),
        }
    }
    causes
}

/// The storage request of a claim's spec, as a number of bytes (0 when absent).
fn storage(obj: &Value, pointer: &str) -> f64 {
    obj.pointer(pointer)
        .and_then(|q| q.as_str().and_then(quantity_value).or_else(|| q.as_f64()))
        .unwrap_or(0.0)
}

/// `ValidatePersistentVolumeClaimUpdate` (the create rules run too). RecoverVolumeExpansionFailure
/// is GA in kube 1.37: a bound claim's request may shrink, but not to its status capacity or below.
pub fn validate_pvc_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_pvc(new);
    let (mut ns, mut os) = (spec(new).clone(), spec(old).clone());
    let (ns_map, os_map) = match (ns.as_object_mut(), os.as_object_mut()) {
        (Some(n), Some(o)) => (n, o),
        _ => return causes,
    };
    // volumeName may be set once, by the PV controller.
    if os_map
        .get("volumeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        match ns_map.get("volumeName") {
            Some(v) => os_map.insert("volumeName".into(), v.clone()),
            None => os_map.remove("volumeName"),
        };
    }
    let annotation = |o: &Value| {
        o.pointer("/metadata/annotations")
            .and_then(|a| a.get(BETA_STORAGE_CLASS_ANNOTATION))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (old_annotation, new_annotation) = (annotation(old), annotation(new));
    let old_class = os_map.get("storageClassName").and_then(Value::as_str);
    let new_class = ns_map
        .get("storageClassName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    // validateStorageClassUpgradeFromAnnotation: the class moves from the annotation to the field.
    let from_annotation = old_annotation.is_some()
        && old_class.is_none()
        && new_class.is_some()
        && new_class == old_annotation
        && new_annotation
            .as_ref()
            .is_none_or(|a| Some(a) == old_annotation.as_ref());
    if from_annotation {
        ns_map.remove("storageClassName");
    } else {
        // Go reads a missing annotation as "".
        if new_annotation.as_deref().unwrap_or_default()
            != old_annotation.as_deref().unwrap_or_default()
        {
            causes.push(field::invalid_str(
                &child("metadata.annotations", BETA_STORAGE_CLASS_ANNOTATION),
                new_annotation.as_deref().unwrap_or_default(),
                "field is immutable",
            ));
        }
        // validateStorageClassUpgradeFromNil: a claim without a class may be given one.
        if old_annotation.is_none()
            && old_class.is_none()
            && new_class.as_deref().is_some_and(|c| !c.is_empty())
        {
            ns_map.remove("storageClassName");
        }
    }
    let bound = new.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    if bound {
        match os_map
            .get("resources")
            .and_then(|r| r.get("requests"))
            .and_then(|r| r.get("storage"))
        {
            Some(s) => {
                if let Some(req) = ns_map
                    .get_mut("resources")
                    .and_then(|r| r.get_mut("requests"))
                    .and_then(Value::as_object_mut)
                {
                    req.insert("storage".into(), s.clone());
                }
            }
            None => {
                if let Some(req) = ns_map
                    .get_mut("resources")
                    .and_then(|r| r.get_mut("requests"))
                    .and_then(Value::as_object_mut)
                {
                    req.remove("storage");
                }
            }
        }
    }
    // volumeAttributesClassName may change (its own rule is below).
    match os_map.get("volumeAttributesClassName") {
        Some(v) => ns_map.insert("volumeAttributesClassName".into(), v.clone()),
        None => ns_map.remove("volumeAttributesClassName"),
    };
    if ns != os {
        causes.push(field::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let new_size = storage(new, "/spec/resources/requests/storage");
    let old_size = storage(old, "/spec/resources/requests/storage");
    let status_size = storage(old, "/status/capacity/storage");
    if new_size < old_size && new_size <= status_size {
        causes.push(field::forbidden(
            "spec.resources.requests.storage",
            "field can not be less than status.capacity",
        ));
    }
    let (nsp, osp) = (spec(new), spec(old));
    if nsp.get("volumeMode") != osp.get("volumeMode") {
        causes.push(field::invalid(
            "volumeMode",
            nsp.get("volumeMode").unwrap_or(&Value::Null),
            "field is immutable",
        ));
    }
    if set(osp, "volumeAttributesClassName").is_some() {
        match set(nsp, "volumeAttributesClassName").and_then(Value::as_str) {
            None => causes.push(field::forbidden(
                "spec.volumeAttributesClassName",
                "update from non-nil value to nil is forbidden",
            )),
            Some("") => causes.push(field::forbidden(
                "spec.volumeAttributesClassName",
                "update from non-nil value to an empty string is forbidden",
            )),
            Some(_) => {}
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use crate::validation::test_support::messages;

    #[test]
    fn one_volume_source_and_storage_capacity() {
        let pv = json!({"spec": {"accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
            "capacity": {"storage": "0"}, "hostPath": {"path": "/a"}, "nfs": {"server": "s", "path": "/x"}}});
        assert_eq!(
            messages(&validate_pv(&pv)),
            vec![
                "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
                "spec.capacity[storage]: Invalid value: \"0\": must be greater than zero",
                "spec.nfs: Forbidden: may not specify more than 1 volume type",
            ]
        );
        let pv = json!({"spec": {"accessModes": ["ReadWriteOnce"]}});
        assert_eq!(
            messages(&validate_pv(&pv)),
            vec![
                "spec.capacity: Required value",
                "spec.capacity: Unsupported value: null: supported values: \"storage\"",
                "spec: Required value: must specify a volume type",
            ]
        );
    }

    #[test]
    fn claims_keep_their_spec_but_may_get_a_volume_and_a_class() {
        let old = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        let mut new = old.clone();
        new["spec"]["volumeName"] = json!("pv-1");
        new["spec"]["storageClassName"] = json!("fast");
        assert!(validate_pvc_update(&new, &old).is_empty());
        new["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert_eq!(
            messages(&validate_pvc_update(&new, &old)),
            vec![
                "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
            ]
        );
        new["status"] = json!({"phase": "Bound"});
        assert!(validate_pvc_update(&new, &old).is_empty());
    }

    #[test]
    fn a_class_comes_from_the_beta_annotation_or_from_nothing_once() {
        let spec = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
        let old = json!({"metadata": {"annotations": {BETA_STORAGE_CLASS_ANNOTATION: "slow"}}, "spec": spec});
        let mut new = old.clone();
        new["spec"]["storageClassName"] = json!("slow");
        assert!(validate_pvc_update(&new, &old).is_empty());
        new["spec"]["storageClassName"] = json!("fast");
        assert_eq!(validate_pvc_update(&new, &old).len(), 1);
        let mut new = old.clone();
        new["metadata"]["annotations"][BETA_STORAGE_CLASS_ANNOTATION] = json!("fast");
        assert_eq!(
            messages(&validate_pvc_update(&new, &old)),
            vec![
                "metadata.annotations.volume.beta.kubernetes.io/storage-class: Invalid value: \"fast\": field is immutable"
            ]
        );
        // An empty class is not "a class": the spec stays as it was.
        let old = json!({"spec": spec});
        let mut new = old.clone();
        new["spec"]["storageClassName"] = json!("");
        assert_eq!(validate_pvc_update(&new, &old).len(), 1);
    }
}
