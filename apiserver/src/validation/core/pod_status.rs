//! Validates a Pod's `/status` writes as kube's `ValidatePodStatusUpdate` does
//! (pkg/apis/core/validation/validation.go), called by the pod status strategy
//! (`podStatusStrategy.ValidateUpdate`, pkg/registry/core/pod/strategy.go) once its
//! `PrepareForUpdate` (here `crate::registry` and the store's status handling) has put back the
//! stored spec, owner references and, when the write left it out, the QoS class.
//!
//! Not modelled, because a status write here cannot reach them: the spec's `nodeName` check
//! (the strategy restores the stored spec first, so kube's rule never fires either) and
//! `ValidatePodSpecificAnnotationUpdates` (the store keeps the stored metadata on status
//! writes). The status strategy's warnings for non-canonical IPs (`GetWarningsForIP`) are not
//! sent.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::status::Cause;
use crate::validation::field::{self, arr_of, child, index, str_of};

/// Pod conditions the kubelet owns, whose types are not checked (`validatePodConditions`).
const SYSTEM_CONDITIONS: [&str; 3] = ["PodScheduled", "Ready", "Initialized"];

/// `ResourceHealthStatus` values, sorted as kube lists them.
const HEALTH_STATUSES: [&str; 3] = ["Healthy", "Unhealthy", "Unknown"];

/// apimachinery's `maxUserID` and `maxGroupID` (`math.MaxInt32`).
const MAX_ID: i64 = i32::MAX as i64;

/// `ValidatePodStatusUpdate` after ObjectMeta, in kube's order.
pub fn validate_status_update(new: &Value, old: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let status = new.get("status").unwrap_or(&null);
    let old_status = old.get("status").unwrap_or(&null);
    let spec = new.get("spec").unwrap_or(&null);
    let old_spec = old.get("spec").unwrap_or(&null);
    // kube passes the "metadata" path here, so condition types are reported under it.
    let mut causes = conditions(arr_of(status, "conditions"), "metadata.conditions");

    let nominated = str_of(status, "nominatedNodeName");
    if nominated != str_of(old_status, "nominatedNodeName") && !nominated.is_empty() {
        causes.extend(field::each(
            "status.nominatedNodeName",
            nominated,
            field::dns1123_subdomain(nominated),
        ));
    }
    // `ValidateImmutableField` on the QoS class (the strategy backfilled an omitted one).
    let qos = str_of(status, "qosClass");
    if qos != str_of(old_status, "qosClass") {
        causes.push(field::invalid_str(
            "status.qosClass",
            qos,
            "field is immutable",
        ));
    }

    let restart_policy = str_of(old_spec, "restartPolicy");
    causes.extend(state_transitions(
        status,
        old_status,
        "containerStatuses",
        |_| restart_policy,
    ));
    // `ValidateInitContainerStateTransition`: restartable (sidecar) init containers may restart.
    let init_containers = arr_of(old_spec, "initContainers");
    causes.extend(state_transitions(
        status,
        old_status,
        "initContainerStatuses",
        |name| {
            let sidecar = init_containers
                .iter()
                .find(|c| str_of(c, "name") == name)
                .is_some_and(|c| str_of(c, "restartPolicy") == "Always");
            if sidecar { "Always" } else { restart_policy }
        },
    ));
    // The kubelet never restarts ephemeral containers: an implicit `Never`.
    causes.extend(state_transitions(
        status,
        old_status,
        "ephemeralContainerStatuses",
        |_| "Never",
    ));
    causes.extend(resource_claim_statuses(status, spec));

    causes.extend(ip_list(status, "podIPs", None));
    if !arr_of(status, "hostIPs").is_empty() {
        causes.extend(ip_list(status, "hostIPs", Some(str_of(status, "hostIP"))));
    }

    let os = spec
        .pointer("/os/name")
        .and_then(Value::as_str)
        .unwrap_or("linux");
    for list in [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ] {
        causes.extend(container_users(status, list, os));
    }
    causes.extend(allocated_resources_status(
        status,
        "containerStatuses",
        arr_of(spec, "containers"),
    ));
    causes.extend(allocated_resources_status(
        status,
        "initContainerStatuses",
        arr_of(spec, "initContainers"),
    ));
    // `validateContainerStatusNoAllocatedResourcesStatus`: ephemeral containers get none.
    for (i, s) in arr_of(status, "ephemeralContainerStatuses")
        .iter()
        .enumerate()
    {
        if !arr_of(s, "allocatedResourcesStatus").is_empty() {
            causes.push(field::forbidden(
                &format!("status.ephemeralContainerStatuses[{i}].allocatedResourcesStatus"),
                "must not be specified in container status",
            ));
        }
    }
    causes
}

/// `validatePodConditions`: every condition type but the kubelet's own is a qualified name
/// (at kube's `Type`, capitalised).
fn conditions(list: &[Value], path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let ty = str_of(c, "type");
        if SYSTEM_CONDITIONS.contains(&ty) {
            continue;
        }
        causes.extend(field::each(
            &child(&index(path, i), "Type"),
            ty,
            field::qualified_name(ty),
        ));
    }
    causes
}

/// Whether a container status says the container has terminated.
fn terminated(s: &Value) -> Option<&Value> {
    s.pointer("/state/terminated").filter(|t| !t.is_null())
}

/// `ValidateContainerStateTransition` (and its init-container twin) over `status.<list>`: a
/// container that terminated may not run again unless its restart policy (from `policy`, by
/// container name) lets it: `Always`, or `OnFailure` after a failure. The path indexes the
/// old list, as kube's does.
fn state_transitions<'a>(
    status: &Value,
    old_status: &Value,
    list: &str,
    policy: impl Fn(&str) -> &'a str,
) -> Vec<Cause> {
    let mut causes = Vec::new();
    let new_list = arr_of(status, list);
    for (i, was) in arr_of(old_status, list).iter().enumerate() {
        let name = str_of(was, "name");
        let policy = policy(name);
        if policy == "Always" {
            continue;
        }
        let Some(term) = terminated(was) else {
            continue;
        };
        if term.get("exitCode").and_then(Value::as_i64).unwrap_or(0) != 0 && policy == "OnFailure" {
            continue;
        }
        for now in new_list {
            if str_of(now, "name") == name && terminated(now).is_none() {
                causes.push(field::forbidden(
                    &format!("status.{list}[{i}].state"),
                    "may not be transitioned to non-terminated state",
                ));
            }
        }
    }
    causes
}

/// `validatePodResourceClaimStatuses`: each status names one of the spec's claims, once, and
/// a generated claim name is a DNS subdomain (reported at `name`, as kube does).
fn resource_claim_statuses(status: &Value, spec: &Value) -> Vec<Cause> {
    let claims: Vec<&str> = arr_of(spec, "resourceClaims")
        .iter()
        .map(|c| str_of(c, "name"))
        .collect();
    let mut seen = HashSet::new();
    let mut causes = Vec::new();
    for (i, s) in arr_of(status, "resourceClaimStatuses").iter().enumerate() {
        let at = format!("status.resourceClaimStatuses[{i}].name");
        let name = str_of(s, "name");
        if !claims.contains(&name) {
            causes.push(field::invalid_str(
                &at,
                name,
                "must match the name of an entry in `spec.resourceClaims`",
            ));
        }
        if !seen.insert(name) {
            causes.push(field::duplicate(&at, &Value::String(name.to_owned())));
        }
        if let Some(claim) = s.get("resourceClaimName").and_then(Value::as_str) {
            causes.extend(field::each(&at, claim, field::dns1123_subdomain(claim)));
        }
    }
    causes
}

/// `validatePodIPs` (`host` None) or `validateHostIPs` (`host` the status's `hostIP`, which the
/// first entry must equal): every entry an IP; more than one only as one IPv4 and one IPv6
/// address, without duplicates. Bad lists print as kube's `[]core.PodIP`/`[]core.HostIP`.
fn ip_list(status: &Value, list: &str, host: Option<&str>) -> Vec<Cause> {
    let path = format!("status.{list}");
    let entries = arr_of(status, list);
    let ips: Vec<&str> = entries.iter().map(|e| str_of(e, "ip")).collect();
    let go = |ip: &str| json!({ "IP": ip });
    let mut causes = Vec::new();
    if let (Some(host), Some(first)) = (host, ips.first())
        && host != *first
    {
        causes.push(field::invalid_str(
            &format!("{path}[0].ip"),
            first,
            "must be equal to `hostIP`",
        ));
    }
    for (i, ip) in ips.iter().enumerate() {
        causes.extend(field::legacy_ip(&index(&path, i), ip));
    }
    if ips.len() <= 1 {
        return causes;
    }
    let mut duplicates = Vec::new();
    let mut seen = HashSet::new();
    for (i, ip) in ips.iter().enumerate() {
        if !seen.insert(*ip) {
            duplicates.push(field::duplicate(&index(&path, i), &go(ip)));
        }
    }
    // Host IPs list their duplicates before the family check, pod IPs after it.
    if host.is_some() {
        causes.append(&mut duplicates);
    }
    // netutils.IsDualStackIPStrings: an address it cannot parse is an error of its own.
    if let Some(i) = ips.iter().position(|ip| field::parse_ip(ip).is_none()) {
        causes.push(field::internal(
            &path,
            &format!(
                "failed to check for dual stack with error:invalid IP[{i}]: {}",
                ips[i]
            ),
        ));
    }
    let parsed: Vec<_> = ips.iter().filter_map(|ip| field::parse_ip(ip)).collect();
    let dual_stack = parsed.len() == ips.len()
        && parsed.iter().any(|&ip| field::family_is_ipv4(ip))
        && parsed.iter().any(|&ip| !field::family_is_ipv4(ip));
    if !dual_stack || ips.len() > 2 {
        let listed: Vec<Value> = ips.iter().map(|ip| go(ip)).collect();
        causes.push(field::invalid(
            &path,
            &Value::Array(listed),
            "may specify no more than one IP for each IP family",
        ));
    }
    causes.append(&mut duplicates);
    causes
}

/// `validateContainerStatusUsers` over `status.<list>`: a Windows pod reports no Linux user;
/// a Linux one's IDs are in range. kube's path leaves out `user`.
fn container_users(status: &Value, list: &str, os: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, s) in arr_of(status, list).iter().enumerate() {
        let Some(linux) = s.pointer("/user/linux") else {
            continue;
        };
        let at = format!("status.{list}[{i}].linux");
        match os {
            "windows" if !linux.is_null() => {
                causes.push(field::forbidden(&at, "cannot be set for a windows pod"));
            }
            "linux" if !linux.is_null() => {
                let mut id = |path: String, v: Option<&Value>| {
                    let n = v.and_then(Value::as_i64).unwrap_or(0);
                    if !(0..=MAX_ID).contains(&n) {
                        causes.push(field::invalid(
                            &path,
                            &n.into(),
                            &format!("must be between 0 and {MAX_ID}, inclusive"),
                        ));
                    }
                };
                id(child(&at, "uid"), linux.get("uid"));
                id(child(&at, "gid"), linux.get("gid"));
                for (g, gid) in arr_of(linux, "supplementalGroups").iter().enumerate() {
                    id(index(&child(&at, "supplementalGroups"), g), Some(gid));
                }
            }
            _ => {}
        }
    }
    causes
}

/// `validateContainerStatusAllocatedResourcesStatus` over `status.<list>`: each entry names
/// one of its container's resource requests or claims (statuses of unknown containers are
/// not checked), with known health values and unique resource IDs.
fn allocated_resources_status(status: &Value, list: &str, containers: &[Value]) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, s) in arr_of(status, list).iter().enumerate() {
        let container = containers
            .iter()
            .find(|c| str_of(c, "name") == str_of(s, "name"));
        for (j, allocated) in arr_of(s, "allocatedResourcesStatus").iter().enumerate() {
            let at = format!("status.{list}[{i}].allocatedResourcesStatus[{j}]");
            let name = str_of(allocated, "name");
            if let Some(c) = container {
                let resources = c.get("resources").unwrap_or(&Value::Null);
                let (found, detail) = if name.starts_with("claim:") {
                    let found = arr_of(resources, "claims").iter().any(|claim| {
                        let request = str_of(claim, "request");
                        let mut listed = format!("claim:{}", str_of(claim, "name"));
                        if !request.is_empty() {
                            listed = format!("{listed}/{request}");
                        }
                        listed == name
                    });
                    (
                        found,
                        "must match one of the container's resource claims in a format 'claim:<claimName>/<request>' or 'claim:<claimName>' if request is empty",
                    )
                } else {
                    let found = resources
                        .get("requests")
                        .and_then(Value::as_object)
                        .is_some_and(|r| r.contains_key(name));
                    (found, "must match one of the container's resource requests")
                };
                if !found {
                    causes.push(field::invalid_str(&child(&at, "name"), name, detail));
                }
            }
            let mut ids = HashSet::new();
            for (k, r) in arr_of(allocated, "resources").iter().enumerate() {
                let rat = format!("{at}.resources[{k}]");
                let health = str_of(r, "health");
                if !HEALTH_STATUSES.contains(&health) {
                    causes.push(field::not_supported(
                        &child(&rat, "health"),
                        &Value::String(health.to_owned()),
                        &HEALTH_STATUSES,
                    ));
                }
                let id = str_of(r, "resourceID");
                if !ids.insert(id) {
                    causes.push(field::duplicate(
                        &child(&rat, "resourceID"),
                        &Value::String(id.to_owned()),
                    ));
                }
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validation::test_support::messages;

    fn pod(spec: Value, status: Value) -> Value {
        json!({"spec": spec, "status": status})
    }

    #[test]
    fn terminated_containers_stay_terminated_unless_their_policy_restarts_them() {
        let spec = json!({"restartPolicy": "OnFailure",
            "initContainers": [{"name": "side", "restartPolicy": "Always"}, {"name": "init"}],
            "containers": [{"name": "ok"}, {"name": "bad"}]});
        let done = |code: i64| json!({"terminated": {"exitCode": code}});
        let running = json!({"running": {}});
        let old = pod(
            spec.clone(),
            json!({"qosClass": "BestEffort",
                "containerStatuses": [{"name": "ok", "state": done(0)},
                    {"name": "bad", "state": done(1)}],
                "initContainerStatuses": [{"name": "side", "state": done(0)},
                    {"name": "init", "state": done(0)}],
                "ephemeralContainerStatuses": [{"name": "debug", "state": done(1)}]}),
        );
        let new = pod(
            spec,
            json!({"qosClass": "BestEffort",
                "containerStatuses": [{"name": "ok", "state": running},
                    {"name": "bad", "state": running}],
                "initContainerStatuses": [{"name": "side", "state": running},
                    {"name": "init", "state": {"waiting": {}}}],
                "ephemeralContainerStatuses": [{"name": "debug", "state": running}]}),
        );
        // `bad` failed under OnFailure and may restart; `side` is a sidecar.
        assert_eq!(
            messages(&validate_status_update(&new, &old)),
            [
                "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state",
                "status.initContainerStatuses[1].state: Forbidden: may not be transitioned to non-terminated state",
                "status.ephemeralContainerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state",
            ]
        );
    }

    #[test]
    fn pod_and_host_ips_follow_kubes_checks() {
        let old = pod(json!({}), json!({}));
        let status = json!({"podIPs": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.1"}, {"ip": "nope"}],
            "hostIP": "10.0.0.9", "hostIPs": [{"ip": "10.1.0.1"}, {"ip": "10.1.0.1"}]});
        assert_eq!(
            messages(&validate_status_update(&pod(json!({}), status), &old)),
            [
                "status.podIPs[2]: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "status.podIPs: Internal error: failed to check for dual stack with error:invalid IP[2]: nope",
                "status.podIPs: Invalid value: [{\"IP\":\"10.0.0.1\"},{\"IP\":\"10.0.0.1\"},{\"IP\":\"nope\"}]: may specify no more than one IP for each IP family",
                "status.podIPs[1]: Duplicate value: {\"IP\":\"10.0.0.1\"}",
                "status.hostIPs[0].ip: Invalid value: \"10.1.0.1\": must be equal to `hostIP`",
                "status.hostIPs[1]: Duplicate value: {\"IP\":\"10.1.0.1\"}",
                "status.hostIPs: Invalid value: [{\"IP\":\"10.1.0.1\"},{\"IP\":\"10.1.0.1\"}]: may specify no more than one IP for each IP family",
            ]
        );
        let dual = json!({"podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
            "hostIP": "10.0.0.9", "hostIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}]});
        assert!(validate_status_update(&pod(json!({}), dual), &old).is_empty());
    }

    #[test]
    fn conditions_qos_users_claims_and_allocated_resources() {
        let spec = json!({"resourceClaims": [{"name": "gpu"}],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"},
                "claims": [{"name": "gpu", "request": "r"}]}}]});
        let old = pod(
            spec.clone(),
            json!({"qosClass": "Burstable", "nominatedNodeName": "a"}),
        );
        let new = pod(
            spec,
            json!({"qosClass": "BestEffort", "nominatedNodeName": "Node_1",
                "conditions": [{"type": "Ready"}, {"type": "bad type"}],
                "resourceClaimStatuses": [{"name": "gpu"}, {"name": "gpu",
                    "resourceClaimName": "X"}, {"name": "other"}],
                "containerStatuses": [{"name": "c", "user": {"linux": {"uid": -1, "gid": 0,
                        "supplementalGroups": [2147483648i64]}},
                    "allocatedResourcesStatus": [{"name": "claim:gpu/r"},
                        {"name": "memory", "resources": [{"resourceID": "a", "health": "Healthy"},
                            {"resourceID": "a", "health": "Fine"}]}]}],
                "ephemeralContainerStatuses": [{"name": "e",
                    "allocatedResourcesStatus": [{"name": "cpu"}]}]}),
        );
        assert_eq!(
            messages(&validate_status_update(&new, &old)),
            [
                "metadata.conditions[1].Type: Invalid value: \"bad type\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "status.nominatedNodeName: Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "status.qosClass: Invalid value: \"BestEffort\": field is immutable",
                "status.resourceClaimStatuses[1].name: Duplicate value: \"gpu\"",
                "status.resourceClaimStatuses[1].name: Invalid value: \"X\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "status.resourceClaimStatuses[2].name: Invalid value: \"other\": must match the name of an entry in `spec.resourceClaims`",
                "status.containerStatuses[0].linux.uid: Invalid value: -1: must be between 0 and 2147483647, inclusive",
                "status.containerStatuses[0].linux.supplementalGroups[0]: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive",
                "status.containerStatuses[0].allocatedResourcesStatus[1].name: Invalid value: \"memory\": must match one of the container's resource requests",
                "status.containerStatuses[0].allocatedResourcesStatus[1].resources[1].health: Unsupported value: \"Fine\": supported values: \"Healthy\", \"Unhealthy\", \"Unknown\"",
                "status.containerStatuses[0].allocatedResourcesStatus[1].resources[1].resourceID: Duplicate value: \"a\"",
                "status.ephemeralContainerStatuses[0].allocatedResourcesStatus: Forbidden: must not be specified in container status",
            ]
        );
    }
}
