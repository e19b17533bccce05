//! The Service strategy (`pkg/registry/core/service`): an empty load-balancer status to start
//! with, and the REST storage's address handling: a cluster IP from the service range (or the
//! one asked for, if free and in range), node ports for NodePort and LoadBalancer Services,
//! single-stack IPv4 families, and on update the addresses the stored Service already holds
//! when the write leaves them out (`patchAllocatedValues`).

use serde_json::{Value, json};

use super::ipalloc::AllocError;
use super::strategy::{Ctx, Strategy};
use crate::status::Cause;

pub(super) struct Service;

impl Strategy for Service {
    fn initial_status(&self, _obj: &Value) -> Option<Value> {
        Some(json!({"loadBalancer": {}}))
    }

    fn allocate(&self, new: &mut Value, old: Option<&Value>, ctx: &Ctx<'_>) -> Vec<Cause> {
        let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
            return Vec::new();
        };
        let ty = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_owned();
        if ty == "ExternalName" {
            return Vec::new();
        }
        let old_spec = old.and_then(|o| o.get("spec"));
        keep_allocated(spec, old_spec);
        let who = (ctx.namespace.to_owned(), ctx.name.to_owned());
        let mut causes = Vec::new();
        // The cluster IP: clusterIP and clusterIPs[0] name the same address.
        let asked = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                spec.get("clusterIPs")
                    .and_then(|l| l.get(0))
                    .and_then(Value::as_str)
            })
            .unwrap_or("")
            .to_owned();
        let ip = if asked == "None" {
            Some(asked)
        } else if asked.is_empty() {
            match ctx.allocations.pick_ip() {
                Some(ip) => Some(ip),
                None => {
                    causes.push(Cause::new(
                        "FieldValueInvalid",
                        "spec.clusterIPs",
                        "Invalid value: []string(nil): failed to allocate a serviceIP: range is full",
                    ));
                    None
                }
            }
        } else {
            match ctx.allocations.check_ip(&asked, &who) {
                Ok(()) => Some(asked),
                Err(AllocError::Rejected(why)) => {
                    causes.push(Cause::new(
                        "FieldValueInvalid",
                        "spec.clusterIPs",
                        format!("Invalid value: []string{{{}}}: {why}", json!(asked)),
                    ));
                    None
                }
            }
        };
        if let Some(ip) = ip {
            spec.insert("clusterIP".into(), ip.clone().into());
            spec.insert("clusterIPs".into(), json!([ip]));
        }
        if spec.get("ipFamilies").is_none_or(Value::is_null) {
            spec.insert("ipFamilies".into(), json!(["IPv4"]));
        }
        if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
            spec.insert("ipFamilyPolicy".into(), "SingleStack".into());
        }
        let wants_node_ports = ty == "NodePort"
            || (ty == "LoadBalancer"
                && spec.get("allocateLoadBalancerNodePorts") != Some(&Value::Bool(false)));
        let mut picked: Vec<u16> = Vec::new();
        if wants_node_ports && let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for (i, port) in ports.iter_mut().enumerate() {
                let Some(port) = port.as_object_mut() else {
                    continue;
                };
                node_port(
                    port,
                    "nodePort",
                    &format!("spec.ports[{i}].nodePort"),
                    ctx,
                    &who,
                    &mut picked,
                    &mut causes,
                );
            }
        }
        let local = spec.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local");
        if ty == "LoadBalancer" && local {
            node_port(
                spec,
                "healthCheckNodePort",
                "spec.healthCheckNodePort",
                ctx,
                &who,
                &mut picked,
                &mut causes,
            );
        }
        causes
    }
}

/// Gives `obj[field]` a node port: the one asked for if it may be had, else a free one.
fn node_port(
    obj: &mut serde_json::Map<String, Value>,
    field: &str,
    path: &str,
    ctx: &Ctx<'_>,
    who: &(String, String),
    picked: &mut Vec<u16>,
    causes: &mut Vec<Cause>,
) {
    match obj.get(field).and_then(Value::as_i64).filter(|p| *p != 0) {
        Some(asked) => match ctx.allocations.check_port(asked, who) {
            Ok(()) => picked.extend(u16::try_from(asked).ok()),
            Err(AllocError::Rejected(why)) => {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    path,
                    format!("Invalid value: {asked}: {why}"),
                ));
            }
        },
        None => match ctx.allocations.pick_port(picked) {
            Some(p) => {
                picked.push(p);
                obj.insert(field.into(), p.into());
            }
            None => causes.push(Cause::new(
                "FieldValueInvalid",
                path,
                "Invalid value: 0: failed to allocate a nodePort: range is full",
            )),
        },
    }
}

/// `patchAllocatedValues`: an update that leaves out the cluster IP or a port's node port keeps
/// the stored ones (so a PUT of a manifest without them does not move the Service).
fn keep_allocated(spec: &mut serde_json::Map<String, Value>, old: Option<&Value>) {
    let Some(old) = old else {
        return;
    };
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    };
    if empty(spec.get("clusterIP")) && empty(spec.get("clusterIPs")) {
        for field in ["clusterIP", "clusterIPs"] {
            if let Some(v) = old.get(field) {
                spec.insert(field.into(), v.clone());
            }
        }
    }
    let old_ports: Vec<&Value> = old
        .get("ports")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            if port.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                continue;
            }
            let same = old_ports.iter().find(|o| {
                o.get("port") == port.get("port")
                    && o.get("protocol").unwrap_or(&json!("TCP"))
                        == port.get("protocol").unwrap_or(&json!("TCP"))
            });
            if let Some(np) = same
                .and_then(|o| o.get("nodePort"))
                .filter(|v| !v.is_null())
            {
                port.insert("nodePort".into(), np.clone());
            }
        }
    }
    if spec
        .get("healthCheckNodePort")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        == 0
        && let Some(v) = old.get("healthCheckNodePort").filter(|v| !v.is_null())
    {
        spec.insert("healthCheckNodePort".into(), v.clone());
    }
}
