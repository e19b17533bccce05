//! The Service strategy (`pkg/registry/core/service`): an empty load-balancer status to start
//! with, and the REST storage's address handling: a cluster IP from the service range (or the
//! one asked for, if free and in range), node ports for NodePort and LoadBalancer Services,
//! the IP family fields of a single-stack IPv4 cluster (kube's `initIPFamilyFields`: a
//! dual-stack request is refused, a headless Service without selector gets both families), and on update the addresses the stored Service already holds
//! when the write leaves them out (`patchAllocatedValues`).

use serde_json::{Value, json};

use super::ipalloc::AllocError;
use super::strategy::{AllocFailure, Ctx, Strategy};
use crate::status::Cause;
use crate::store::Sub;
use crate::validation::field;

pub(super) struct Service;

impl Strategy for Service {
    fn initial_status(&self, _obj: &Value) -> Option<Value> {
        Some(json!({"loadBalancer": {}}))
    }

    /// `serviceStrategy.WarningsOnCreate`: [`service_warnings`].
    fn warnings_on_create(&self, obj: &Value) -> Vec<String> {
        service_warnings(obj)
    }

    /// `serviceStrategy.WarningsOnUpdate` (the main resource; the status strategy has none).
    fn warnings_on_update(&self, new: &Value, _old: &Value, sub: Sub) -> Vec<String> {
        if sub == Sub::Main {
            service_warnings(new)
        } else {
            Vec::new()
        }
    }

    /// kube's `allocateCreate`/`allocateUpdate`: the IP family fields, the cluster IP, the node
    /// ports, then the health check node port, each step stopping the write at its first
    /// failure (alloc.go returns the first error, so causes of later steps are never added).
    fn allocate(
        &self,
        new: &mut Value,
        old: Option<&Value>,
        ctx: &Ctx<'_>,
    ) -> Result<(), AllocFailure> {
        let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let ty = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_owned();
        if ty == "ExternalName" {
            return Ok(());
        }
        let old_spec = old.and_then(|o| o.get("spec"));
        keep_allocated(spec, old_spec);
        // Families first, as kube's initIPFamilyFields runs before any address is taken.
        let family_causes = init_ip_families(spec, old_spec);
        if !family_causes.is_empty() {
            return Err(AllocFailure::Invalid(family_causes));
        }
        let who = (ctx.namespace.to_owned(), ctx.name.to_owned());
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
            asked
        } else if asked.is_empty() {
            // alloc.go's allocIPs: an exhausted range is an InternalError, not a field error.
            ctx.allocations.pick_ip(ctx.seed).ok_or_else(|| {
                AllocFailure::Internal(format!("failed to allocate a serviceIP: {RANGE_FULL}"))
            })?
        } else {
            match ctx.allocations.check_ip(&asked, &who) {
                Ok(()) => asked,
                Err(AllocError::Rejected(why)) => {
                    // The bad value is `spec.clusterIPs`, which kube renders as JSON since
                    // 1.34 (apimachinery's "Nicer value rendering in API errors").
                    return Err(AllocFailure::Invalid(vec![Cause::new(
                        "FieldValueInvalid",
                        "spec.clusterIPs",
                        format!("Invalid value: {}: {why}", json!([asked])),
                    )]));
                }
            }
        };
        spec.insert("clusterIP".into(), ip.clone().into());
        spec.insert("clusterIPs".into(), json!([ip]));
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
                    &format!("spec.ports[{i}].nodePort"),
                    ctx,
                    &who,
                    &mut picked,
                )?;
            }
        }
        let local = spec.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local");
        if ty == "LoadBalancer" && local {
            health_check_node_port(spec, ctx, &who, &picked)?;
        }
        Ok(())
    }
}

/// The only IP family of this server's service range (`ServiceRanges` takes IPv4 CIDRs only), so
/// the cluster is single-stack as a kube-apiserver with one `--service-cluster-ip-range`.
const CLUSTER_FAMILY: &str = "IPv4";

/// The other family, which a dual-stack request names and this cluster does not serve.
fn other_family(family: &str) -> &'static str {
    if family == "IPv6" { "IPv4" } else { "IPv6" }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// kube's `initIPFamilyFields` on a single-stack (IPv4) cluster: `ipFamilyPolicy` defaults to the
/// stored one, else `RequireDualStack` for a headless Service without selector, else
/// `SingleStack`; `ipFamilies` are inferred from `clusterIPs`; a headless Service without
/// selector may name both families (kube appends the other one under a dual-stack policy);
/// any other Service asking for `RequireDualStack` or a family the cluster lacks is refused with
/// kube's 422 causes. Writes the policy and families into `spec`.
fn init_ip_families(spec: &mut serde_json::Map<String, Value>, old: Option<&Value>) -> Vec<Cause> {
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let selectorless = spec
        .get("selector")
        .and_then(Value::as_object)
        .is_none_or(serde_json::Map::is_empty);
    let policy = match spec.get("ipFamilyPolicy").and_then(Value::as_str) {
        Some(p) => p.to_owned(),
        None => match old
            .and_then(|o| o.get("ipFamilyPolicy"))
            .and_then(Value::as_str)
        {
            Some(p) => p.to_owned(),
            None if headless && selectorless => "RequireDualStack".to_owned(),
            None => "SingleStack".to_owned(),
        },
    };
    spec.insert("ipFamilyPolicy".into(), policy.clone().into());
    let mut families = strings(spec.get("ipFamilies"));
    let mut ips = strings(spec.get("clusterIPs"));
    // kube's v1 conversion fills `clusterIPs` from a lone `clusterIP` before allocation.
    if ips.is_empty()
        && let Some(ip) = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .filter(|ip| !ip.is_empty())
    {
        ips.push(ip.to_owned());
    }
    let invalid_policy = |why: &str| field::invalid_str("spec.ipFamilyPolicy", &policy, why);
    let mut causes = Vec::new();
    if let Some(old) = old {
        let old_families = strings(old.get("ipFamilies"));
        let old_ips = strings(old.get("clusterIPs"));
        if policy == "SingleStack" {
            // Unchanged lists under a new SingleStack policy drop their secondary entry.
            if ips == old_ips && ips.len() > 1 {
                ips.truncate(1);
                spec.insert("clusterIPs".into(), json!(ips));
            }
            if families == old_families && families.len() > 1 {
                families.truncate(1);
            }
        } else {
            if !ips.is_empty() && ips.len() < old_ips.len() {
                causes.push(invalid_policy(
                    "must be 'SingleStack' to release the secondary cluster IP",
                ));
            }
            if !families.is_empty() && families.len() < old_families.len() {
                causes.push(invalid_policy(
                    "must be 'SingleStack' to release the secondary IP family",
                ));
            }
        }
    }
    if policy == "SingleStack" {
        if ips.len() == 2 {
            causes.push(invalid_policy(
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
            ));
        }
        if families.len() == 2 {
            causes.push(invalid_policy(
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
            ));
        }
    }
    for (i, ip) in ips.iter().enumerate() {
        if ip == "None" {
            break;
        }
        let family = if ip.contains(':') { "IPv6" } else { "IPv4" };
        if i >= families.len() {
            if family == CLUSTER_FAMILY {
                families.push(family.to_owned());
            } else {
                causes.push(field::invalid(
                    &format!("spec.clusterIPs[{i}]"),
                    &json!(ips),
                    &format!("{family} is not configured on this cluster"),
                ));
            }
        }
    }
    if !causes.is_empty() {
        return causes;
    }
    if headless && selectorless {
        if families.is_empty() {
            families.push(CLUSTER_FAMILY.to_owned());
        }
        if families.len() < 2 && policy != "SingleStack" {
            let other = other_family(&families[0]);
            families.push(other.to_owned());
        }
        spec.insert("ipFamilies".into(), json!(families));
        return Vec::new();
    }
    if policy == "RequireDualStack" {
        causes.push(invalid_policy(
            "this cluster is not configured for dual-stack services",
        ));
    }
    for (i, family) in families.iter().enumerate() {
        if family != CLUSTER_FAMILY {
            causes.push(field::invalid_str(
                &format!("spec.ipFamilies[{i}]"),
                family,
                "not configured on this cluster",
            ));
        }
    }
    if !causes.is_empty() {
        return causes;
    }
    if families.is_empty() {
        families.push(CLUSTER_FAMILY.to_owned());
    }
    spec.insert("ipFamilies".into(), json!(families));
    Vec::new()
}

/// kube's allocators' `ErrFull` ("range is full"), for an IP or a node port.
const RANGE_FULL: &str = "range is full";

/// Gives a Service port its `nodePort`: the one asked for if it may be had (422 on the port
/// otherwise, as kube's `initNodePorts`), else a free one (500 when none is left).
fn node_port(
    port: &mut serde_json::Map<String, Value>,
    path: &str,
    ctx: &Ctx<'_>,
    who: &(String, String),
    picked: &mut Vec<u16>,
) -> Result<(), AllocFailure> {
    match port
        .get("nodePort")
        .and_then(Value::as_i64)
        .filter(|p| *p != 0)
    {
        Some(asked) => match ctx.allocations.check_port(asked, who) {
            Ok(()) => picked.extend(u16::try_from(asked).ok()),
            Err(AllocError::Rejected(why)) => {
                return Err(AllocFailure::Invalid(vec![Cause::new(
                    "FieldValueInvalid",
                    path,
                    format!("Invalid value: {asked}: {why}"),
                )]));
            }
        },
        None => {
            let p = ctx.allocations.pick_port(picked, ctx.seed).ok_or_else(|| {
                AllocFailure::Internal(format!("failed to allocate a nodePort: {RANGE_FULL}"))
            })?;
            picked.push(p);
            port.insert("nodePort".into(), p.into());
        }
    }
    Ok(())
}

/// kube's `allocHealthCheckNodePort` for a LoadBalancer Service with the Local traffic policy:
/// the requested port or a free one. Every failure is a 500 InternalError there, a requested
/// port that is taken or out of range included (alloc.go wraps them with `NewInternalError`).
fn health_check_node_port(
    spec: &mut serde_json::Map<String, Value>,
    ctx: &Ctx<'_>,
    who: &(String, String),
    picked: &[u16],
) -> Result<(), AllocFailure> {
    match spec
        .get("healthCheckNodePort")
        .and_then(Value::as_i64)
        .filter(|p| *p != 0)
    {
        Some(asked) => {
            // The same allocation operation holds the ports this write just took.
            let own = u16::try_from(asked).is_ok_and(|p| picked.contains(&p));
            let checked = if own {
                Err(AllocError::Rejected(
                    "provided port is already allocated".into(),
                ))
            } else {
                ctx.allocations.check_port(asked, who)
            };
            checked.map_err(|AllocError::Rejected(why)| {
                AllocFailure::Internal(format!(
                    "failed to allocate requested HealthCheck NodePort {asked}: {why}"
                ))
            })
        }
        None => {
            // Go prints the port AllocateNext returned with its error: 0.
            let p = ctx.allocations.pick_port(picked, ctx.seed).ok_or_else(|| {
                AllocFailure::Internal(format!(
                    "failed to allocate a HealthCheck NodePort 0: {RANGE_FULL}"
                ))
            })?;
            spec.insert("healthCheckNodePort".into(), p.into());
            Ok(())
        }
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

/// kube's `GetWarningsForService` (pkg/api/service/warnings.go), in its order: the deprecated
/// topology-aware-hints annotation, non-standard cluster IPs (unless headless), what a headless
/// Service ignores, non-standard and deprecated external IPs, a non-standard load balancer IP
/// and source ranges, the fields the type makes meaningless, and the deprecated
/// `PreferClose` traffic distribution.
pub(crate) fn service_warnings(obj: &Value) -> Vec<String> {
    let Some(spec) = obj.get("spec") else {
        return Vec::new();
    };
    let text = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or("");
    let list = |k: &str| -> Vec<&str> {
        spec.get(k)
            .and_then(Value::as_array)
            .map(|l| l.iter().map(|v| v.as_str().unwrap_or("")).collect())
            .unwrap_or_default()
    };
    let ty = match text("type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = text("clusterIP");
    let headless = ty == "ClusterIP" && cluster_ip == "None";
    let mut warnings = Vec::new();
    if obj
        .pointer("/metadata/annotations/service.kubernetes.io~1topology-aware-hints")
        .is_some()
    {
        warnings.push(
            "annotation service.kubernetes.io/topology-aware-hints is deprecated, please use service.kubernetes.io/topology-mode instead"
                .to_owned(),
        );
    }
    // helper.IsServiceIPSet: a cluster IP that is neither empty nor None.
    if !cluster_ip.is_empty() && cluster_ip != "None" {
        for (i, ip) in list("clusterIPs").iter().enumerate() {
            warnings.extend(field::ip_warnings(&format!("spec.clusterIPs[{i}]"), ip));
        }
    }
    let external_ips = list("externalIPs");
    if headless {
        if !text("loadBalancerIP").is_empty() {
            warnings.push("spec.loadBalancerIP is ignored for headless services".to_owned());
        }
        if !external_ips.is_empty() {
            warnings.push("spec.externalIPs is ignored for headless services".to_owned());
        }
        if text("sessionAffinity") != "None" {
            warnings.push("spec.SessionAffinity is ignored for headless services".to_owned());
        }
    }
    for (i, ip) in external_ips.iter().enumerate() {
        warnings.extend(field::ip_warnings(&format!("spec.externalIPs[{i}]"), ip));
    }
    if !external_ips.is_empty() && !headless && ty != "ExternalName" {
        warnings.push(
            "spec.externalIPs is deprecated and may no longer be implemented in some clusters"
                .to_owned(),
        );
    }
    let lb_ip = text("loadBalancerIP");
    if !lb_ip.is_empty() {
        warnings.extend(field::ip_warnings("spec.loadBalancerIP", lb_ip));
    }
    for (i, cidr) in list("loadBalancerSourceRanges").iter().enumerate() {
        warnings.extend(field::cidr_warnings(
            &format!("spec.loadBalancerSourceRanges[{i}]"),
            cidr,
        ));
    }
    if ty == "ExternalName" && !external_ips.is_empty() {
        warnings.push("spec.externalIPs is ignored when spec.type is \"ExternalName\"".to_owned());
    }
    if ty != "ExternalName" && !text("externalName").is_empty() {
        warnings
            .push("spec.externalName is ignored when spec.type is not \"ExternalName\"".to_owned());
    }
    if text("trafficDistribution") == "PreferClose" {
        warnings.push(
            "spec.trafficDistribution: \"PreferClose\" is deprecated; use \"PreferSameZone\""
                .to_owned(),
        );
    }
    warnings
}
