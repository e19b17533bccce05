//! DeviceClasses: kube's `ValidateDeviceClass` and `ValidateDeviceClassUpdate`, with the
//! declarative rules of `DeviceClass` (its name a DNS subdomain, 32 selectors and
//! configurations at most, the opaque drivers' names, the extended resource name).
//!
//! An expression or configuration unchanged since it was stored is not validated again
//! (kube treats the selectors, and the configurations, as stored when they are deep-equal to
//! the old ones).

use serde_json::Value;

use super::claim::{dv_device_configuration, hv_device_configuration, hv_selector};
use super::{obj, semantic_eq, set};
use crate::status::Cause;
use crate::validation::field::{self, arr_of, child, index, str_of};

/// `DeviceSelectorsMaxSize` and `DeviceConfigMaxSize`.
const LIST_MAX: usize = 32;

/// `ValidateDeviceClass` without ObjectMeta (its name is checked declaratively, after the
/// hand-written rules).
pub fn validate_class(class: &Value) -> Vec<Cause> {
    let mut causes = hv_spec(obj(class, "spec"), None);
    causes.extend(dv_class(class, None));
    causes
}

/// `ValidateDeviceClassUpdate` without ObjectMeta.
pub fn validate_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = hv_spec(obj(new, "spec"), Some(obj(old, "spec")));
    causes.extend(dv_class(new, Some(old)));
    causes
}

/// `validateDeviceClassSpec` (hand-written part).
fn hv_spec(spec: &Value, old: Option<&Value>) -> Vec<Cause> {
    let stored = |f: &str| old.is_some_and(|o| semantic_eq(spec.get(f), o.get(f)));
    let mut causes = Vec::new();
    let selectors = arr_of(spec, "selectors");
    if selectors.len() <= LIST_MAX {
        let stored = stored("selectors");
        for (i, s) in selectors.iter().enumerate() {
            causes.extend(hv_selector(s, &index("spec.selectors", i), stored));
        }
    }
    let config = arr_of(spec, "config");
    if config.len() <= LIST_MAX {
        let stored = stored("config");
        for (i, c) in config.iter().enumerate() {
            causes.extend(hv_device_configuration(c, &index("spec.config", i), stored));
        }
    }
    causes
}

/// `Validate_DeviceClass`: the declarative rules, each skipped on update when its field is
/// unchanged.
fn dv_class(class: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = str_of(obj(class, "metadata"), "name");
    if old.is_none() && !name.is_empty() {
        causes.extend(field::each(
            "metadata.name",
            name,
            field::dns1123_subdomain(name),
        ));
    }
    let spec = obj(class, "spec");
    let old_spec = old.map(|o| obj(o, "spec"));
    let changed = |f: &str| old_spec.is_none_or(|o| !semantic_eq(spec.get(f), o.get(f)));
    let selectors = arr_of(spec, "selectors");
    if changed("selectors") && selectors.len() > LIST_MAX {
        causes.push(field::too_many("spec.selectors", selectors.len(), LIST_MAX));
    }
    let config = arr_of(spec, "config");
    if changed("config") {
        if config.len() > LIST_MAX {
            causes.push(field::too_many("spec.config", config.len(), LIST_MAX));
        } else {
            for (i, c) in config.iter().enumerate() {
                causes.extend(dv_device_configuration(c, &index("spec.config", i)));
            }
        }
    }
    if changed("extendedResourceName")
        && let Some(name) = set(spec, "extendedResourceName")
    {
        causes.extend(extended_resource_name(
            &child("spec", "extendedResourceName"),
            name.as_str().unwrap_or(""),
        ));
    }
    causes
}

/// The declarative `format=k8s-extended-resource-name`: a domain-prefixed name outside
/// `kubernetes.io`, not starting with `requests.`, a label key once prefixed with `requests.`.
fn extended_resource_name(path: &str, name: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if !name.contains('/') {
        causes.push(field::invalid_str(
            path,
            name,
            "a name must be a domain-prefixed path, such as 'example.com/my-prop'",
        ));
    } else if name.contains("kubernetes.io/") {
        causes.push(field::invalid_str(
            path,
            name,
            "must not have \"kubernetes.io/\" domain",
        ));
    }
    if name.starts_with("requests.") {
        causes.push(field::invalid_str(
            path,
            name,
            "must not have \"requests.\" prefix",
        ));
    }
    for m in field::qualified_name(&format!("requests.{name}")) {
        causes.push(field::invalid_str(path, name, &m));
    }
    causes
}
