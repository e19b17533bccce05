//! The Service strategy (`pkg/registry/core/service`): an empty load-balancer status to start
//! with, and the REST storage's address handling (`storage/alloc.go`): the IP family fields
//! with the server's configured families (`initIPFamilyFields`, single-stack of either family
//! or dual-stack), a cluster IP per family from the service ranges (or the one asked for, if
//! free and in range), the secondary address an upgrade to dual-stack adds, node ports for
//! NodePort and LoadBalancer Services, and on update the addresses the stored Service already
//! holds when the write leaves them out (`patchAllocatedValues`).

use serde_json::{Value, json};

use super::ipalloc::{AllocError, Family, ServiceRanges};
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
        let who = (ctx.namespace.to_owned(), ctx.name.to_owned());
        // A PreferDualStack Service that keeps its addresses and families is left as it is,
        // whatever the cluster's families are now: kube never upgrades or downgrades one on
        // its own.
        if !unchanged_prefer_dual_stack(spec, old_spec, &ty) {
            // Families first, as kube's initIPFamilyFields runs before any address is taken.
            let family_causes = init_ip_families(spec, old_spec, ctx.allocations.ranges());
            if !family_causes.is_empty() {
                return Err(AllocFailure::Invalid(family_causes));
            }
            cluster_ips(spec, old_spec, ctx, &who)?;
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

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(spec: &'a serde_json::Map<String, Value>, key: &str) -> &'a str {
    spec.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The cluster IPs a spec asks for: `clusterIPs`, else a lone `clusterIP` (kube's v1 conversion
/// fills one from the other before allocation).
fn asked_ips(spec: &serde_json::Map<String, Value>) -> Vec<String> {
    let ips = strings(spec.get("clusterIPs"));
    if ips.is_empty() && !text(spec, "clusterIP").is_empty() {
        return vec![text(spec, "clusterIP").to_owned()];
    }
    ips
}

/// kube's `isMatchingPreferDualStackClusterIPFields`: an update of a PreferDualStack Service
/// (before and after) of the same address-holding type with the same cluster IPs and families.
fn unchanged_prefer_dual_stack(
    spec: &serde_json::Map<String, Value>,
    old: Option<&Value>,
    ty: &str,
) -> bool {
    let Some(old) = old else {
        return false;
    };
    let old_ty = old
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    let prefer = |p: Option<&str>| p == Some("PreferDualStack");
    ty == old_ty
        && matches!(ty, "ClusterIP" | "NodePort" | "LoadBalancer")
        && prefer(spec.get("ipFamilyPolicy").and_then(Value::as_str))
        && old
            .get("ipFamilyPolicy")
            .and_then(Value::as_str)
            .is_none_or(|p| prefer(Some(p)))
        && strings(spec.get("clusterIPs")) == strings(old.get("clusterIPs"))
        && strings(spec.get("ipFamilies")) == strings(old.get("ipFamilies"))
}

/// The `ipFamilyPolicy` values (sorted, as kube lists them).
const IP_FAMILY_POLICIES: [&str; 3] = ["PreferDualStack", "RequireDualStack", "SingleStack"];
/// The `ipFamilies` values.
const IP_FAMILIES: [&str; 2] = ["IPv4", "IPv6"];

/// The loose pre-validation kube's `initIPFamilyFields` runs first
/// (`ValidateServiceClusterIPsRelatedFields`): `clusterIP` and `clusterIPs[0]` agree, families
/// and policy are known values without repeats, at most two valid addresses of different
/// families, each of the family `ipFamilies` names at its index.
fn cluster_ip_fields(spec: &serde_json::Map<String, Value>, ips: &[String]) -> Vec<Cause> {
    let mut causes = Vec::new();
    let listed = strings(spec.get("clusterIPs"));
    let cluster_ip = text(spec, "clusterIP");
    if !cluster_ip.is_empty() && listed.first().is_some_and(|first| first != cluster_ip) {
        causes.push(field::invalid(
            "spec.clusterIPs",
            &json!(listed),
            "first value must match `clusterIP`",
        ));
    }
    let families = strings(spec.get("ipFamilies"));
    for (i, family) in families.iter().enumerate() {
        let at = format!("spec.ipFamilies[{i}]");
        if !IP_FAMILIES.contains(&family.as_str()) {
            causes.push(field::not_supported(&at, &json!(family), &IP_FAMILIES));
        }
        if families[..i].contains(family) {
            causes.push(field::duplicate(&at, &json!(family)));
        }
    }
    if let Some(policy) = spec.get("ipFamilyPolicy").and_then(Value::as_str)
        && !IP_FAMILY_POLICIES.contains(&policy)
    {
        causes.push(field::not_supported(
            "spec.ipFamilyPolicy",
            &json!(policy),
            &IP_FAMILY_POLICIES,
        ));
    }
    let mut bad_ips = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                bad_ips = true;
                causes.push(field::invalid(
                    "spec.clusterIPs",
                    &json!(ips),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        if ip.parse::<std::net::IpAddr>().is_err() {
            bad_ips = true;
            causes.push(field::invalid_str(
                &format!("spec.clusterIPs[{i}]"),
                ip,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
    }
    if ips.len() > 2 {
        causes.push(field::invalid(
            "spec.clusterIPs",
            &json!(ips),
            "may only hold up to 2 values",
        ));
    }
    if bad_ips {
        return causes;
    }
    if ips.len() == 2 && Family::of_ip(&ips[0]) == Family::of_ip(&ips[1]) {
        causes.push(field::invalid(
            "spec.clusterIPs",
            &json!(ips),
            "may specify no more than one IP for each IP family",
        ));
    }
    let headless = ips.len() == 1 && ips[0] == "None";
    if !headless {
        for (i, (ip, family)) in ips.iter().zip(&families).enumerate() {
            if let Some(family) = Family::parse(family)
                && Family::of_ip(ip) != family
            {
                causes.push(field::invalid_str(
                    &format!("spec.clusterIPs[{i}]"),
                    ip,
                    &format!("expected an {family} value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    causes
}

/// kube's `initIPFamilyFields` with this server's ranges: `ipFamilyPolicy` defaults to the
/// stored one, else `RequireDualStack` for a headless Service without selector, else
/// `SingleStack`; `ipFamilies` are inferred from `clusterIPs`, default to the primary range's
/// family and, under a dual-stack policy on a dual-stack cluster, get the other family too; a
/// headless Service without selector may name families the cluster lacks. `RequireDualStack`
/// on a single-stack cluster, a family or address of a family without a range, and changes
/// that drop a secondary address without `SingleStack` are refused with kube's 422 causes.
/// Writes the policy and families (and a trimmed `clusterIPs`) into `spec`.
fn init_ip_families(
    spec: &mut serde_json::Map<String, Value>,
    old: Option<&Value>,
    ranges: &ServiceRanges,
) -> Vec<Cause> {
    let headless = text(spec, "clusterIP") == "None";
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
    let mut ips = asked_ips(spec);
    let pre = cluster_ip_fields(spec, &ips);
    if !pre.is_empty() {
        return pre;
    }
    let mut families = strings(spec.get("ipFamilies"));
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
        let family = Family::of_ip(ip);
        if i >= families.len() {
            if ranges.has(family) {
                families.push(family.as_str().to_owned());
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
    let primary = ranges.primary_family().as_str();
    if headless && selectorless {
        if families.is_empty() {
            families.push(primary.to_owned());
        }
        if families.len() < 2
            && policy != "SingleStack"
            && let Some(first) = Family::parse(&families[0])
        {
            families.push(first.other().as_str().to_owned());
        }
        spec.insert("ipFamilies".into(), json!(families));
        return Vec::new();
    }
    if policy == "RequireDualStack" && !ranges.dual_stack() {
        causes.push(invalid_policy(
            "this cluster is not configured for dual-stack services",
        ));
    }
    for (i, family) in families.iter().enumerate() {
        if !Family::parse(family).is_some_and(|f| ranges.has(f)) {
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
        families.push(primary.to_owned());
    }
    if policy != "SingleStack"
        && families.len() == 1
        && ranges.dual_stack()
        && let Some(first) = Family::parse(&families[0])
    {
        families.push(first.other().as_str().to_owned());
    }
    spec.insert("ipFamilies".into(), json!(families));
    Vec::new()
}

/// kube's `allocClusterIPs` / `updateClusterIPs` after the families are set: a new Service (or
/// one that stops being an ExternalName) gets an address per family, the one asked for at that
/// index if it may be had, else a free one; an update that adds a second family gets the
/// secondary address the same way; a headless Service and any other update keep what they
/// have (a dropped secondary address is released when the write commits). A refused address is
/// a 422 on `spec.clusterIPs` (the list as it stood, with an empty string where an address was
/// still to be picked), an exhausted range kube's 500.
fn cluster_ips(
    spec: &mut serde_json::Map<String, Value>,
    old: Option<&Value>,
    ctx: &Ctx<'_>,
    who: &(String, String),
) -> Result<(), AllocFailure> {
    let mut ips = asked_ips(spec);
    if ips.first().is_some_and(|ip| ip == "None") {
        spec.insert("clusterIP".into(), "None".into());
        spec.insert("clusterIPs".into(), json!(["None"]));
        return Ok(());
    }
    let families: Vec<Family> = strings(spec.get("ipFamilies"))
        .iter()
        .filter_map(|f| Family::parse(f))
        .collect();
    let todo: Vec<usize> = match old {
        Some(old) if old.get("type").and_then(Value::as_str) != Some("ExternalName") => {
            let old_ips = strings(old.get("clusterIPs"));
            let old_families = strings(old.get("ipFamilies"));
            if old_ips.first().is_some_and(|ip| ip == "None") {
                Vec::new()
            } else if old_families.len() == 1 && families.len() == 2 {
                vec![1]
            } else {
                Vec::new()
            }
        }
        _ => (0..families.len()).collect(),
    };
    for &i in &todo {
        while ips.len() <= i {
            ips.push(String::new());
        }
    }
    let shown = json!(ips);
    for &i in &todo {
        let family = families[i];
        if ips[i].is_empty() {
            // alloc.go's allocIPs: an exhausted range is an InternalError, not a field error.
            ips[i] = ctx.allocations.pick_ip(family, ctx.seed).ok_or_else(|| {
                AllocFailure::Internal(format!("failed to allocate a serviceIP: {RANGE_FULL}"))
            })?;
        } else if let Err(AllocError::Rejected(why)) = ctx.allocations.check_ip(&ips[i], who) {
            // The bad value is `spec.clusterIPs`, which kube renders as JSON since 1.34
            // (apimachinery's "Nicer value rendering in API errors").
            return Err(AllocFailure::Invalid(vec![Cause::new(
                "FieldValueInvalid",
                "spec.clusterIPs",
                format!("Invalid value: {shown}: {why}"),
            )]));
        }
    }
    if let Some(first) = ips.first() {
        spec.insert("clusterIP".into(), first.clone().into());
        spec.insert("clusterIPs".into(), json!(ips));
    }
    Ok(())
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
