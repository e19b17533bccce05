//! ResourceClaims and ResourceClaimTemplates: kube's `ValidateResourceClaim`,
//! `ValidateResourceClaimUpdate`, `ValidateResourceClaimStatusUpdate`,
//! `ValidateResourceClaimTemplate` and `ValidateResourceClaimTemplateUpdate`, with the declarative
//! rules of `DeviceClaim`, `ResourceClaimStatus` and their parts (see the module doc of
//! `resource` for how the two are combined).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{
    binding_parameters, dns_label, dns_subdomain, driver_name, dv_binding_parameters,
    dv_driver_name, dv_fully_qualified_name, dv_pool_name, dv_toleration, dv_unique, dv_uuid,
    go_ordered, hv_toleration, key_of, node_selector, obj, pool_name, raw_extension, semantic_eq,
    set, string,
};
use crate::status::Cause;
use crate::validation::field::{self, arr_of, child, index, str_of};
use crate::validation::quantity::Quantity;

/// `DeviceRequestsMaxSize` (= `AllocationResultsMaxSize`), `DeviceConstraintsMaxSize`,
/// `DeviceConfigMaxSize`, `DeviceSelectorsMaxSize`: 32 each.
const LIST_MAX: usize = 32;
/// `FirstAvailableDeviceRequestMaxSize`.
const FIRST_AVAILABLE_MAX: usize = 8;
/// `OpaqueParametersMaxLength` and `AllocatedDeviceStatusDataMaxLength`.
const RAW_MAX_LENGTH: usize = 10 * 1024;
/// `ResourceClaimReservedForMaxSize`.
const RESERVED_FOR_MAX: usize = 256;
/// `AllocatedDeviceStatusMaxConditions`.
const DEVICE_STATUS_MAX_CONDITIONS: usize = 8;
/// `NetworkDeviceDataMaxIPs`, `...InterfaceNameMaxLength`, `...HardwareAddressMaxLength`.
const NETWORK_MAX_IPS: usize = 16;
const NETWORK_INTERFACE_NAME_MAX: usize = 256;
const NETWORK_HARDWARE_ADDRESS_MAX: usize = 128;

/// `DeviceAllocationMode` values, sorted.
pub const ALLOCATION_MODES: [&str; 2] = ["All", "ExactCount"];
/// `AllocationConfigSource` values, sorted.
pub const CONFIG_SOURCES: [&str; 2] = ["FromClaim", "FromClass"];

const REQUEST_REF: &str = "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'";
const FIELD_IMMUTABLE: &str = "field is immutable";

/// The claim's request names, each with its subrequest names (`gatherRequestNames`).
struct RequestNames(BTreeMap<String, Option<BTreeSet<String>>>);

impl RequestNames {
    fn of(devices: &Value) -> Self {
        let mut names = BTreeMap::new();
        for r in arr_of(devices, "requests") {
            let subs = arr_of(r, "firstAvailable");
            let entry = (!subs.is_empty())
                .then(|| subs.iter().map(|s| str_of(s, "name").to_owned()).collect());
            names.insert(str_of(r, "name").to_owned(), entry);
        }
        Self(names)
    }

    /// `requestNames.Has`: `req` or `req/sub`.
    fn has(&self, name: &str) -> bool {
        let segments: Vec<&str> = name.split('/').collect();
        match segments.as_slice() {
            [req] => self.0.contains_key(*req),
            [req, sub] => matches!(self.0.get(*req), Some(Some(subs)) if subs.contains(*sub)),
            _ => false,
        }
    }
}

/// `validateRequestNameRef`.
fn request_name_ref(path: &str, name: &str, names: &RequestNames) -> Vec<Cause> {
    let segments: Vec<&str> = name.split('/').collect();
    if segments.len() > 2 {
        return vec![field::invalid_str(path, name, REQUEST_REF)];
    }
    let mut causes = Vec::new();
    for s in segments {
        causes.extend(dns_label(path, s));
    }
    if !names.has(name) {
        causes.push(field::invalid_str(path, name, REQUEST_REF));
    }
    causes
}

/// A list of request references (`requests` of a constraint or a configuration) whose size and
/// uniqueness are declarative.
fn request_refs(v: &Value, at: &str, names: &RequestNames) -> Vec<Cause> {
    let refs = arr_of(v, "requests");
    if refs.len() > LIST_MAX {
        return Vec::new();
    }
    let path = child(at, "requests");
    refs.iter()
        .enumerate()
        .flat_map(|(i, r)| request_name_ref(&index(&path, i), r.as_str().unwrap_or(""), names))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Hand-written rules of a DeviceClaim.

/// `validateDeviceClaim` (hand-written part) of `spec.devices` at `path`.
fn hv_device_claim(devices: &Value, path: &str, stored: bool) -> Vec<Cause> {
    let names = RequestNames::of(devices);
    let mut causes = Vec::new();
    let requests = arr_of(devices, "requests");
    if requests.len() <= LIST_MAX {
        for (i, r) in requests.iter().enumerate() {
            causes.extend(hv_request(r, &index(&child(path, "requests"), i), stored));
        }
    }
    let constraints = arr_of(devices, "constraints");
    if constraints.len() <= LIST_MAX {
        for (i, c) in constraints.iter().enumerate() {
            let at = index(&child(path, "constraints"), i);
            causes.extend(request_refs(c, &at, &names));
            if set(c, "matchAttribute").is_none() && set(c, "distinctAttribute").is_none() {
                causes.push(field::required(
                    &at,
                    "exactly one of \"matchAttribute\" or \"distinctAttribute\" is required, but multiple fields are set",
                ));
            }
        }
    }
    let config = arr_of(devices, "config");
    if config.len() <= LIST_MAX {
        for (i, c) in config.iter().enumerate() {
            let at = index(&child(path, "config"), i);
            causes.extend(request_refs(c, &at, &names));
            causes.extend(hv_device_configuration(c, &at, stored));
        }
    }
    causes
}

/// `validateDeviceConfiguration` (hand-written part): an opaque configuration with parameters.
pub(super) fn hv_device_configuration(c: &Value, at: &str, stored: bool) -> Vec<Cause> {
    let Some(opaque) = set(c, "opaque") else {
        return vec![field::required(&child(at, "opaque"), "")];
    };
    raw_extension(
        &child(&child(at, "opaque"), "parameters"),
        opaque.get("parameters"),
        stored,
        RAW_MAX_LENGTH,
    )
}

/// `validateDeviceRequest` (hand-written part).
fn hv_request(r: &Value, at: &str, stored: bool) -> Vec<Cause> {
    let mut causes = dns_label(&child(at, "name"), str_of(r, "name"));
    let first = arr_of(r, "firstAvailable");
    let exactly = set(r, "exactly");
    match (first.is_empty(), exactly) {
        (true, None) => causes.push(field::required(
            at,
            "exactly one of `exactly` or `firstAvailable` is required",
        )),
        (false, Some(_)) => causes.push(field::invalid(
            at,
            &Value::Null,
            "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set",
        )),
        (false, None) => {
            if first.len() <= FIRST_AVAILABLE_MAX {
                for (j, s) in first.iter().enumerate() {
                    let sub = index(&child(at, "firstAvailable"), j);
                    causes.extend(dns_label(&child(&sub, "name"), str_of(s, "name")));
                    causes.extend(hv_request_details(s, &sub, stored));
                }
            }
        }
        (true, Some(e)) => {
            let at = child(at, "exactly");
            let class = str_of(e, "deviceClassName");
            let class_path = child(&at, "deviceClassName");
            if class.is_empty() {
                causes.push(field::required(&class_path, ""));
            } else {
                causes.extend(dns_subdomain(&class_path, class));
            }
            causes.extend(hv_request_details(e, &at, stored));
        }
    }
    causes
}

/// What an exact request and a subrequest share (hand-written): selectors, allocation mode and
/// count, tolerations. A subrequest's class name is declarative.
fn hv_request_details(r: &Value, at: &str, stored: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    let selectors = arr_of(r, "selectors");
    if selectors.len() <= LIST_MAX {
        for (i, s) in selectors.iter().enumerate() {
            causes.extend(hv_selector(s, &index(&child(at, "selectors"), i), stored));
        }
    }
    let count = r.get("count").cloned().unwrap_or(json!(0));
    let count_path = child(at, "count");
    match str_of(r, "allocationMode") {
        "All" if count.as_i64() != Some(0) => causes.push(field::invalid(
            &count_path,
            &count,
            "must not be specified when allocationMode is 'All'",
        )),
        "ExactCount" if count.as_i64().is_none_or(|n| n <= 0) => causes.push(field::invalid(
            &count_path,
            &count,
            "must be greater than zero",
        )),
        // Never after defaulting; the declarative enumeration skips an empty mode.
        "" => causes.push(field::not_supported(
            &child(at, "allocationMode"),
            &string(""),
            &ALLOCATION_MODES,
        )),
        _ => {}
    }
    for (i, t) in arr_of(r, "tolerations").iter().enumerate() {
        causes.extend(hv_toleration(t, &index(&child(at, "tolerations"), i)));
    }
    causes
}

/// `validateSelector`: a CEL selector whose expression compiles.
pub(super) fn hv_selector(s: &Value, at: &str, stored: bool) -> Vec<Cause> {
    let Some(cel) = set(s, "cel") else {
        return vec![field::required(&child(at, "cel"), "")];
    };
    super::cel_expression(
        &child(&child(at, "cel"), "expression"),
        str_of(cel, "expression"),
        stored,
    )
}

// ---------------------------------------------------------------------------------------------
// Declarative rules of a DeviceClaim.

/// The declarative rules of `spec.devices` (`Validate_DeviceClaim`), on a Go-ordered copy.
fn dv_device_claim(devices: &Value, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let requests = arr_of(devices, "requests");
    let requests_path = child(path, "requests");
    if requests.len() > LIST_MAX {
        causes.push(field::too_many(&requests_path, requests.len(), LIST_MAX));
    } else {
        causes.extend(dv_unique(requests, &requests_path, key_of(&["name"])));
        for (i, r) in requests.iter().enumerate() {
            causes.extend(dv_request(r, &index(&requests_path, i)));
        }
    }
    let constraints = arr_of(devices, "constraints");
    let constraints_path = child(path, "constraints");
    if constraints.len() > LIST_MAX {
        causes.push(field::too_many(
            &constraints_path,
            constraints.len(),
            LIST_MAX,
        ));
    } else {
        for (i, c) in constraints.iter().enumerate() {
            let at = index(&constraints_path, i);
            causes.extend(dv_request_refs(c, &at));
            for f in ["matchAttribute", "distinctAttribute"] {
                if let Some(name) = set(c, f) {
                    causes.extend(dv_fully_qualified_name(
                        &child(&at, f),
                        name.as_str().unwrap_or(""),
                    ));
                }
            }
        }
    }
    let config = arr_of(devices, "config");
    let config_path = child(path, "config");
    if config.len() > LIST_MAX {
        causes.push(field::too_many(&config_path, config.len(), LIST_MAX));
    } else {
        for (i, c) in config.iter().enumerate() {
            let at = index(&config_path, i);
            causes.extend(dv_request_refs(c, &at));
            causes.extend(dv_device_configuration(c, &at));
        }
    }
    causes
}

/// The declarative `requests` of a constraint or configuration: 32 at most, each once.
fn dv_request_refs(v: &Value, at: &str) -> Vec<Cause> {
    let refs = arr_of(v, "requests");
    let path = child(at, "requests");
    if refs.len() > LIST_MAX {
        return vec![field::too_many(&path, refs.len(), LIST_MAX)];
    }
    dv_unique(refs, &path, Value::clone)
}

/// The declarative rules of an (embedded) `DeviceConfiguration`: the opaque driver's name.
pub(super) fn dv_device_configuration(c: &Value, at: &str) -> Vec<Cause> {
    match set(c, "opaque") {
        Some(opaque) => dv_driver_name(
            &child(&child(at, "opaque"), "driver"),
            str_of(opaque, "driver"),
        ),
        None => Vec::new(),
    }
}

/// `Validate_DeviceRequest`.
fn dv_request(r: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(e) = set(r, "exactly") {
        causes.extend(dv_request_details(e, &child(at, "exactly")));
    }
    let first = arr_of(r, "firstAvailable");
    let first_path = child(at, "firstAvailable");
    if first.len() > FIRST_AVAILABLE_MAX {
        causes.push(field::too_many(
            &first_path,
            first.len(),
            FIRST_AVAILABLE_MAX,
        ));
    } else {
        causes.extend(dv_unique(first, &first_path, key_of(&["name"])));
        for (j, s) in first.iter().enumerate() {
            let sub = index(&first_path, j);
            let class = str_of(s, "deviceClassName");
            let class_path = child(&sub, "deviceClassName");
            if class.is_empty() {
                causes.push(field::required(&class_path, ""));
            } else {
                causes.extend(dns_subdomain(&class_path, class));
            }
            causes.extend(dv_request_details(s, &sub));
        }
    }
    causes
}

/// The declarative rules an exact request and a subrequest share: 32 selectors at most, the
/// allocation mode, the tolerations.
fn dv_request_details(r: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let selectors = arr_of(r, "selectors");
    if selectors.len() > LIST_MAX {
        causes.push(field::too_many(
            &child(at, "selectors"),
            selectors.len(),
            LIST_MAX,
        ));
    }
    let mode = str_of(r, "allocationMode");
    if !mode.is_empty() && !ALLOCATION_MODES.contains(&mode) {
        causes.push(field::not_supported(
            &child(at, "allocationMode"),
            &string(mode),
            &ALLOCATION_MODES,
        ));
    }
    for (i, t) in arr_of(r, "tolerations").iter().enumerate() {
        causes.extend(dv_toleration(t, &index(&child(at, "tolerations"), i)));
    }
    causes
}

/// A claim spec's rules at `path` (`spec`, or `spec.spec` in a template): hand-written first,
/// then declarative on the Go-ordered `ordered_spec`.
fn claim_spec(spec: &Value, ordered_spec: &Value, path: &str) -> Vec<Cause> {
    let devices_path = child(path, "devices");
    let mut causes = hv_device_claim(obj(spec, "devices"), &devices_path, false);
    causes.extend(dv_device_claim(obj(ordered_spec, "devices"), &devices_path));
    causes
}

// ---------------------------------------------------------------------------------------------
// ResourceClaim

/// `ValidateResourceClaim` without ObjectMeta.
pub fn validate_claim(claim: &Value) -> Vec<Cause> {
    let ordered = go_ordered(claim);
    claim_spec(obj(claim, "spec"), obj(&ordered, "spec"), "spec")
}

/// `ValidateResourceClaimUpdate` without ObjectMeta: the spec is immutable (declaratively:
/// `+k8s:immutable`, whose error carries no value); nothing else is checked again.
pub fn validate_claim_update(new: &Value, old: &Value) -> Vec<Cause> {
    if semantic_eq(new.get("spec"), old.get("spec")) {
        return Vec::new();
    }
    vec![field::invalid("spec", &Value::Null, FIELD_IMMUTABLE)]
}

/// The allocated devices of a claim's status, keyed as `SharedDeviceID`s.
fn allocated_devices(status: &Value) -> BTreeSet<[String; 4]> {
    obj(obj(status, "allocation"), "devices")
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            [
                str_of(r, "driver").to_owned(),
                str_of(r, "pool").to_owned(),
                str_of(r, "device").to_owned(),
                str_of(r, "shareID").to_owned(),
            ]
        })
        .collect()
}

/// `ValidateResourceClaimStatusUpdate` without ObjectMeta.
pub fn validate_claim_status_update(new: &Value, old: &Value) -> Vec<Cause> {
    let names = RequestNames::of(obj(obj(new, "spec"), "devices"));
    let (status, old_status) = (obj(new, "status"), obj(old, "status"));
    let mut causes = Vec::new();
    let reserved = arr_of(status, "reservedFor");
    if reserved.len() <= RESERVED_FOR_MAX {
        for (i, r) in reserved.iter().enumerate() {
            let at = index("status.reservedFor", i);
            for f in ["resource", "name", "uid"] {
                if str_of(r, f).is_empty() {
                    causes.push(field::required(&child(&at, f), ""));
                }
            }
        }
    }
    let allocated = allocated_devices(status);
    for (i, d) in arr_of(status, "devices").iter().enumerate() {
        causes.extend(hv_device_status(d, &index("status.devices", i), &allocated));
    }
    let allocation = set(status, "allocation");
    if !reserved.is_empty() {
        if allocation.is_none() {
            causes.push(field::forbidden(
                "status.reservedFor",
                "may not be specified when `allocated` is not set",
            ));
        } else if set(obj(new, "metadata"), "deletionTimestamp").is_some() {
            let old_reserved = arr_of(old_status, "reservedFor");
            if reserved.iter().any(|r| !old_reserved.contains(r)) {
                causes.push(field::forbidden(
                    "status.reservedFor",
                    "new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set",
                ));
            }
        }
    }
    if let (Some(alloc), None) = (allocation, set(old_status, "allocation")) {
        causes.extend(hv_allocation_result(alloc, "status.allocation", &names));
    }
    causes.extend(dv_claim_status(obj(&go_ordered(new), "status"), old_status));
    causes
}

/// `validateDeviceStatus` (hand-written part).
fn hv_device_status(d: &Value, at: &str, allocated: &BTreeSet<[String; 4]>) -> Vec<Cause> {
    let (driver, pool, device) = (str_of(d, "driver"), str_of(d, "pool"), str_of(d, "device"));
    let share = str_of(d, "shareID");
    let mut causes = driver_name(&child(at, "driver"), driver);
    causes.extend(pool_name(&child(at, "pool"), pool));
    causes.extend(dns_label(&child(at, "device"), device));
    let id = [driver, pool, device, share].map(str::to_owned);
    if !allocated.contains(&id) {
        causes.push(field::invalid(
            at,
            &json!({"Driver": driver, "Pool": pool, "Device": device, "ShareID": share}),
            "must be an allocated device in the claim",
        ));
    }
    let conditions = arr_of(d, "conditions");
    let conditions_path = child(at, "conditions");
    if conditions.len() > DEVICE_STATUS_MAX_CONDITIONS {
        causes.push(field::too_many(
            &conditions_path,
            conditions.len(),
            DEVICE_STATUS_MAX_CONDITIONS,
        ));
    }
    causes.extend(crate::validation::pod_certificate::validate_conditions(
        conditions,
        &conditions_path,
    ));
    if let Some(data) = set(d, "data") {
        causes.extend(raw_extension(
            &child(at, "data"),
            Some(data),
            false,
            RAW_MAX_LENGTH,
        ));
    }
    if let Some(network) = set(d, "networkData") {
        let ips = arr_of(network, "ips");
        if ips.len() <= NETWORK_MAX_IPS {
            let path = child(&child(at, "networkData"), "ips");
            for (i, ip) in ips.iter().enumerate() {
                causes.extend(interface_address(
                    &index(&path, i),
                    ip.as_str().unwrap_or(""),
                ));
            }
        }
    }
    causes
}

/// `validation.IsValidInterfaceAddress`: an address in CIDR form, canonical.
fn interface_address(path: &str, value: &str) -> Vec<Cause> {
    let Some((ip, bits)) = field::parse_cidr(value) else {
        return vec![field::invalid_str(
            path,
            value,
            "must be a valid address in CIDR form, (e.g. 10.9.8.7/24 or 2001:db8::1/64)",
        )];
    };
    let (text, bits) = match ip {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => (
            v6.to_ipv4_mapped()
                .map(|v4| v4.to_string())
                .unwrap_or_default(),
            if bits > 32 { bits - 96 } else { bits },
        ),
        other => (other.to_string(), bits),
    };
    let canonical = format!("{text}/{bits}");
    if canonical == value {
        return Vec::new();
    }
    vec![field::invalid_str(
        path,
        value,
        &format!("must be in canonical form ({})", field::quote(&canonical)),
    )]
}

/// `validateAllocationResult` (hand-written part) of a new allocation.
fn hv_allocation_result(alloc: &Value, at: &str, names: &RequestNames) -> Vec<Cause> {
    let devices = obj(alloc, "devices");
    let devices_path = child(at, "devices");
    let mut causes = Vec::new();
    let results = arr_of(devices, "results");
    if results.len() <= LIST_MAX {
        for (i, r) in results.iter().enumerate() {
            let at = index(&child(&devices_path, "results"), i);
            causes.extend(request_name_ref(
                &child(&at, "request"),
                str_of(r, "request"),
                names,
            ));
            causes.extend(dns_label(&child(&at, "device"), str_of(r, "device")));
            causes.extend(binding_parameters(r, &at));
            for (j, t) in arr_of(r, "tolerations").iter().enumerate() {
                causes.extend(hv_toleration(t, &index(&child(&at, "tolerations"), j)));
            }
        }
    }
    let config = arr_of(devices, "config");
    if config.len() <= 2 * LIST_MAX {
        for (i, c) in config.iter().enumerate() {
            let at = index(&child(&devices_path, "config"), i);
            causes.extend(request_refs(c, &at, names));
            causes.extend(hv_device_configuration(c, &at, false));
        }
    }
    if let Some(sel) = set(alloc, "nodeSelector") {
        causes.extend(node_selector(sel, &child(at, "nodeSelector")));
    }
    causes
}

/// The declarative rules of a claim's status (`Validate_ResourceClaimStatus`), on the Go-ordered
/// new status; unchanged fields are not validated again (declarative ratcheting).
fn dv_claim_status(status: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(alloc) = set(status, "allocation") {
        if set(old, "allocation").is_some() {
            if !semantic_eq(Some(alloc), old.get("allocation")) {
                causes.push(field::invalid(
                    "status.allocation",
                    &Value::Null,
                    "field cannot be modified once set",
                ));
            }
        } else {
            causes.extend(dv_allocation_result(alloc, "status.allocation"));
        }
    }
    let reserved = arr_of(status, "reservedFor");
    if !semantic_eq(status.get("reservedFor"), old.get("reservedFor")) {
        if reserved.len() > RESERVED_FOR_MAX {
            causes.push(field::too_many(
                "status.reservedFor",
                reserved.len(),
                RESERVED_FOR_MAX,
            ));
        } else {
            causes.extend(dv_unique(reserved, "status.reservedFor", key_of(&["uid"])));
        }
    }
    let devices = arr_of(status, "devices");
    if !semantic_eq(status.get("devices"), old.get("devices")) {
        let key = |d: &Value| {
            json!([
                str_of(d, "driver"),
                str_of(d, "device"),
                str_of(d, "pool"),
                d.get("shareID").cloned().unwrap_or(Value::Null)
            ])
        };
        causes.extend(dv_unique(devices, "status.devices", key));
        let old_devices = arr_of(old, "devices");
        for (i, d) in devices.iter().enumerate() {
            let unchanged = old_devices
                .iter()
                .find(|o| key(o) == key(d))
                .is_some_and(|o| semantic_eq(Some(o), Some(d)));
            if !unchanged {
                causes.extend(dv_device_status(d, &index("status.devices", i)));
            }
        }
    }
    causes
}

/// `Validate_AllocatedDeviceStatus`: the share ID and the network data's sizes.
fn dv_device_status(d: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(share) = set(d, "shareID") {
        causes.extend(dv_uuid(&child(at, "shareID"), share.as_str().unwrap_or("")));
    }
    if let Some(network) = set(d, "networkData") {
        let at = child(at, "networkData");
        if str_of(network, "interfaceName").len() > NETWORK_INTERFACE_NAME_MAX {
            causes.push(field::too_long(
                &child(&at, "interfaceName"),
                NETWORK_INTERFACE_NAME_MAX,
            ));
        }
        let ips = arr_of(network, "ips");
        let ips_path = child(&at, "ips");
        if ips.len() > NETWORK_MAX_IPS {
            causes.push(field::too_many(&ips_path, ips.len(), NETWORK_MAX_IPS));
        } else {
            causes.extend(dv_unique(ips, &ips_path, Value::clone));
        }
        if str_of(network, "hardwareAddress").len() > NETWORK_HARDWARE_ADDRESS_MAX {
            causes.push(field::too_long(
                &child(&at, "hardwareAddress"),
                NETWORK_HARDWARE_ADDRESS_MAX,
            ));
        }
    }
    causes
}

/// `Validate_AllocationResult` of a new allocation.
fn dv_allocation_result(alloc: &Value, at: &str) -> Vec<Cause> {
    let devices = obj(alloc, "devices");
    let devices_path = child(at, "devices");
    let mut causes = Vec::new();
    let results = arr_of(devices, "results");
    let results_path = child(&devices_path, "results");
    if results.len() > LIST_MAX {
        causes.push(field::too_many(&results_path, results.len(), LIST_MAX));
    } else {
        for (i, r) in results.iter().enumerate() {
            let at = index(&results_path, i);
            causes.extend(dv_driver_name(&child(&at, "driver"), str_of(r, "driver")));
            causes.extend(dv_pool_name(&child(&at, "pool"), str_of(r, "pool")));
            for (j, t) in arr_of(r, "tolerations").iter().enumerate() {
                causes.extend(dv_toleration(t, &index(&child(&at, "tolerations"), j)));
            }
            causes.extend(dv_binding_parameters(r, &at));
            if let Some(share) = set(r, "shareID") {
                causes.extend(dv_uuid(
                    &child(&at, "shareID"),
                    share.as_str().unwrap_or(""),
                ));
            }
        }
    }
    let config = arr_of(devices, "config");
    let config_path = child(&devices_path, "config");
    if config.len() > 2 * LIST_MAX {
        causes.push(field::too_many(&config_path, config.len(), 2 * LIST_MAX));
    } else {
        for (i, c) in config.iter().enumerate() {
            let at = index(&config_path, i);
            let source_path = child(&at, "source");
            match str_of(c, "source") {
                "" => causes.push(field::required(&source_path, "")),
                s if CONFIG_SOURCES.contains(&s) => {}
                s => causes.push(field::not_supported(
                    &source_path,
                    &string(s),
                    &CONFIG_SOURCES,
                )),
            }
            causes.extend(dv_request_refs(c, &at));
            causes.extend(dv_device_configuration(c, &at));
        }
    }
    causes
}

// ---------------------------------------------------------------------------------------------
// ResourceClaimTemplate

/// ObjectMeta's Go fields other than labels and annotations, with their JSON names, in
/// declaration order: a template's metadata may set none of them (`validateFieldAllowList`,
/// which names them by their Go name with a lower-case first letter, hence `uID`).
const TEMPLATE_META_FORBIDDEN: [(&str, &str); 13] = [
    ("name", "name"),
    ("generateName", "generateName"),
    ("namespace", "namespace"),
    ("selfLink", "selfLink"),
    ("uID", "uid"),
    ("resourceVersion", "resourceVersion"),
    ("generation", "generation"),
    ("creationTimestamp", "creationTimestamp"),
    ("deletionTimestamp", "deletionTimestamp"),
    ("deletionGracePeriodSeconds", "deletionGracePeriodSeconds"),
    ("ownerReferences", "ownerReferences"),
    ("finalizers", "finalizers"),
    ("managedFields", "managedFields"),
];

/// `ValidateTemplateObjectMeta`: annotations and labels, nothing else.
fn template_object_meta(m: &Value, path: &str) -> Vec<Cause> {
    use crate::validation::objectmeta;
    let mut causes = objectmeta::annotations(m.get("annotations"), &child(path, "annotations"));
    causes.extend(objectmeta::labels(m.get("labels"), &child(path, "labels")));
    for (go, json) in TEMPLATE_META_FORBIDDEN {
        let is_set = match m.get(json) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(_) => true,
        };
        if is_set {
            causes.push(field::forbidden(
                &child(path, go),
                "cannot be set for a resource claim template",
            ));
        }
    }
    causes
}

/// `ValidateResourceClaimTemplate` without ObjectMeta.
pub fn validate_template(template: &Value) -> Vec<Cause> {
    let spec = obj(template, "spec");
    let mut causes = template_object_meta(obj(spec, "metadata"), "spec.metadata");
    let ordered = go_ordered(template);
    causes.extend(claim_spec(
        obj(spec, "spec"),
        obj(obj(&ordered, "spec"), "spec"),
        "spec.spec",
    ));
    causes
}

/// `ValidateResourceClaimTemplateUpdate` without ObjectMeta: the spec is immutable, and kube
/// prints the new internal spec (Go field names) as the bad value.
pub fn validate_template_update(new: &Value, old: &Value) -> Vec<Cause> {
    if semantic_eq(new.get("spec"), old.get("spec")) {
        return Vec::new();
    }
    let spec = go_ordered(new);
    vec![field::invalid(
        "spec",
        &go_template_spec(obj(&spec, "spec")),
        FIELD_IMMUTABLE,
    )]
}

/// How one field of kube's internal resource types marshals (they have no JSON tags).
#[derive(Clone, Copy)]
enum Go {
    /// A string (`""` when unset).
    Str,
    /// An integer (`0` when unset).
    Int,
    /// A pointer to a scalar, or a RawExtension: the JSON value, or null.
    Ptr,
    /// A `map[QualifiedName]resource.Quantity`: canonical quantities, or null.
    Quantities,
    /// A field dropped with its feature gate: always null.
    Dropped,
    /// A slice of structs, or null.
    List(&'static [GoField]),
    /// A pointer to a struct, or null.
    Struct(&'static [GoField]),
    /// A slice of strings, or null.
    Strings,
}

/// (Go name, JSON name, how it marshals).
type GoField = (&'static str, &'static str, Go);

const GO_CEL: &[GoField] = &[("Expression", "expression", Go::Str)];
const GO_SELECTOR: &[GoField] = &[("CEL", "cel", Go::Struct(GO_CEL))];
const GO_TOLERATION: &[GoField] = &[
    ("Key", "key", Go::Str),
    ("Operator", "operator", Go::Str),
    ("Value", "value", Go::Str),
    ("Effect", "effect", Go::Str),
    ("TolerationSeconds", "tolerationSeconds", Go::Ptr),
];
const GO_CAPACITY: &[GoField] = &[("Requests", "requests", Go::Quantities)];
const GO_EXACT: &[GoField] = &[
    ("DeviceClassName", "deviceClassName", Go::Str),
    ("Selectors", "selectors", Go::List(GO_SELECTOR)),
    ("AllocationMode", "allocationMode", Go::Str),
    ("Count", "count", Go::Int),
    ("AdminAccess", "adminAccess", Go::Ptr),
    ("Tolerations", "tolerations", Go::List(GO_TOLERATION)),
    ("Capacity", "capacity", Go::Struct(GO_CAPACITY)),
    ("DerivedAttributes", "derivedAttributes", Go::Dropped),
];
const GO_SUB: &[GoField] = &[
    ("Name", "name", Go::Str),
    ("DeviceClassName", "deviceClassName", Go::Str),
    ("Selectors", "selectors", Go::List(GO_SELECTOR)),
    ("AllocationMode", "allocationMode", Go::Str),
    ("Count", "count", Go::Int),
    ("Tolerations", "tolerations", Go::List(GO_TOLERATION)),
    ("Capacity", "capacity", Go::Struct(GO_CAPACITY)),
    ("DerivedAttributes", "derivedAttributes", Go::Dropped),
];
const GO_REQUEST: &[GoField] = &[
    ("Name", "name", Go::Str),
    ("Exactly", "exactly", Go::Struct(GO_EXACT)),
    ("FirstAvailable", "firstAvailable", Go::List(GO_SUB)),
];
const GO_CONSTRAINT: &[GoField] = &[
    ("Requests", "requests", Go::Strings),
    ("MatchAttribute", "matchAttribute", Go::Ptr),
    ("DistinctAttribute", "distinctAttribute", Go::Ptr),
];
const GO_OPAQUE: &[GoField] = &[
    ("Driver", "driver", Go::Str),
    ("Parameters", "parameters", Go::Ptr),
];
/// `DeviceClaimConfiguration` with its embedded `DeviceConfiguration` promoted.
const GO_CLAIM_CONFIG: &[GoField] = &[
    ("Requests", "requests", Go::Strings),
    ("Opaque", "opaque", Go::Struct(GO_OPAQUE)),
];
const GO_DEVICE_CLAIM: &[GoField] = &[
    ("Requests", "requests", Go::List(GO_REQUEST)),
    ("Constraints", "constraints", Go::List(GO_CONSTRAINT)),
    ("Config", "config", Go::List(GO_CLAIM_CONFIG)),
];

fn go_struct(v: &Value, fields: &[GoField]) -> Value {
    let mut out = serde_json::Map::new();
    for (go, json, kind) in fields {
        out.insert((*go).to_owned(), go_value(v.get(*json), *kind));
    }
    Value::Object(out)
}

fn go_value(v: Option<&Value>, kind: Go) -> Value {
    let v = v.filter(|v| !v.is_null());
    match kind {
        Go::Str => string(v.and_then(Value::as_str).unwrap_or("")),
        Go::Int => v.cloned().unwrap_or(json!(0)),
        Go::Ptr | Go::Strings => v.cloned().unwrap_or(Value::Null),
        Go::Dropped => Value::Null,
        Go::Quantities => match v {
            Some(Value::Object(map)) => {
                let sorted: BTreeMap<&String, Value> = map
                    .iter()
                    .map(|(k, q)| {
                        let text = Quantity::parse(q)
                            .map_or_else(|| q.clone(), |q| string(&q.canonical()));
                        (k, text)
                    })
                    .collect();
                json!(sorted)
            }
            _ => Value::Null,
        },
        Go::List(fields) => match v {
            Some(Value::Array(items)) => {
                Value::Array(items.iter().map(|i| go_struct(i, fields)).collect())
            }
            _ => Value::Null,
        },
        Go::Struct(fields) => match v {
            Some(inner @ Value::Object(_)) => go_struct(inner, fields),
            _ => Value::Null,
        },
    }
}

/// Go's `json.Marshal` of kube's internal `ResourceClaimTemplateSpec`: the template metadata
/// (`metav1.ObjectMeta` has JSON tags) and the claim spec under Go field names.
fn go_template_spec(spec: &Value) -> Value {
    let meta = match spec.get("metadata") {
        Some(Value::Object(m)) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => json!({}),
    };
    json!({
        "ObjectMeta": meta,
        "Spec": {"Devices": go_struct(obj(obj(spec, "spec"), "devices"), GO_DEVICE_CLAIM)},
    })
}
