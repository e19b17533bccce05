//! kube's `LimitRanger` admission plugin (`plugin/pkg/admission/limitranger`): the LimitRanges of
//! a namespace give its new Pods' containers default requests and limits (mutating: the
//! `Container` items' `defaultRequest` and `default`, recorded in the
//! `kubernetes.io/limit-ranger` annotation), and bound what Pods and PersistentVolumeClaims ask
//! for (validating, after every mutating stage: `min`, `max` and `maxLimitRequestRatio` per
//! `Container`, per `Pod` — the containers' sum, sidecars and init containers counted as the
//! scheduler counts them — and per `PersistentVolumeClaim` request). A refusal is a 403 whose
//! message is every violated bound of the first LimitRange with one.
//!
//! kube runs it on Pod creates (an update cannot change containers' resources except through
//! `pods/resize`, which this server does not serve) and on PVC creates and updates, where a
//! request the update leaves as stored is not checked again; writes to an object being deleted
//! are let through. kube iterates a LimitRange's maps in Go's random order; here they go by
//! resource name, so a message listing several bounds is always in the same order.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Inner, Write, aggregate, forbidden, is_core};
use crate::admission::Operation;
use crate::meta::meta_str;
use crate::status::ApiError;
use crate::validation::quantity::Quantity;

/// The store key of the LimitRanges.
const LIMIT_RANGES_KEY: &str = "/limitranges";
/// `limitRangerAnnotation`: what the plugin defaulted, for people reading the Pod.
const ANNOTATION: &str = "kubernetes.io/limit-ranger";
/// The resources a Pod's own `spec.resources` sets for the whole Pod (`PodLevelResources`, beta
/// and on by default since 1.34), overriding the containers' sum.
const POD_LEVEL_RESOURCES: [&str; 2] = ["cpu", "memory"];
/// The decimals of the ratio a `maxLimitRequestRatio` refusal shows (`ratioScale`).
const RATIO_DECIMALS: u32 = 6;

/// A resource list, by resource name.
pub(in crate::store) type Resources = BTreeMap<String, Quantity>;

/// What the plugin checks a write of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Pod,
    Claim,
}

/// `SupportsAttributes`, and the plugin's skip of objects being deleted.
fn target(w: &Write<'_>) -> Option<Target> {
    if w.old_object
        .is_some_and(|o| !meta_str(o, "deletionTimestamp").is_empty())
    {
        return None;
    }
    // A Pod is checked when created and when resized (`pods/resize`); a plain update cannot
    // change its resources.
    let pods = w.info.group.is_empty() && w.info.plural == "pods";
    if (is_core(w, "pods") && w.operation == Operation::Create)
        || (pods && w.subresource == "resize" && w.operation == Operation::Update)
    {
        Some(Target::Pod)
    } else if is_core(w, "persistentvolumeclaims")
        && matches!(w.operation, Operation::Create | Operation::Update)
    {
        Some(Target::Claim)
    } else {
        None
    }
}

impl Inner {
    /// The plugin's `Admit`: every LimitRange's container defaults, in turn.
    pub(super) fn admit_limit_ranges(
        &self,
        w: &Write<'_>,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        if target(w) != Some(Target::Pod) {
            return Ok(());
        }
        for range in self.objects_in(LIMIT_RANGES_KEY, w.namespace) {
            default_containers(&range, obj);
        }
        Ok(())
    }

    /// The plugin's `Validate`: the first LimitRange whose bounds the object breaks refuses it.
    pub(super) fn validate_limit_ranges(&self, w: &Write<'_>) -> Result<(), ApiError> {
        let (Some(target), Some(obj)) = (target(w), w.object) else {
            return Ok(());
        };
        for range in self.objects_in(LIMIT_RANGES_KEY, w.namespace) {
            let errors = match target {
                Target::Pod => validate_pod(&range, obj),
                Target::Claim => validate_claim(&range, obj, w.old_object),
            };
            if !errors.is_empty() {
                return Err(forbidden(w, obj, &aggregate(&errors)));
            }
        }
        Ok(())
    }
}

/// The items of a LimitRange.
fn items(range: &Value) -> impl Iterator<Item = &Value> {
    range
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// An item's resource list `field` (`min`, `max`, `default`, ...).
fn list(item: &Value, field: &str) -> Resources {
    resources(item.get(field))
}

/// A JSON resource list, its quantities parsed (validation refused any that do not parse).
pub(in crate::store) fn resources(v: Option<&Value>) -> Resources {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, q)| Some((k.clone(), Quantity::parse(q)?)))
        .collect()
}

/// `PodMutateLimitFunc`: the `Container` items' defaults for every container and init container
/// that lacks them; the annotation says what was set, when anything was.
fn default_containers(range: &Value, pod: &mut Value) {
    let mut requests: Map<String, Value> = Map::new();
    let mut limits: Map<String, Value> = Map::new();
    for item in items(range).filter(|i| i.get("type").and_then(Value::as_str) == Some("Container"))
    {
        for (field, to) in [("defaultRequest", &mut requests), ("default", &mut limits)] {
            if let Some(m) = item.get(field).and_then(Value::as_object) {
                to.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return;
    }
    let mut notes: Vec<String> = Vec::new();
    for (list, what) in [
        ("containers", "container"),
        ("initContainers", "init container"),
    ] {
        let Some(containers) = pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let res = c.entry("resources").or_insert_with(|| json!({}));
            if !res.is_object() {
                *res = json!({});
            }
            let mut set = |field: &str, defaults: &Map<String, Value>| -> Vec<String> {
                let Some(res) = res.as_object_mut() else {
                    return Vec::new();
                };
                let to = res.entry(field).or_insert_with(|| json!({}));
                if !to.is_object() {
                    *to = json!({});
                }
                let Some(to) = to.as_object_mut() else {
                    return Vec::new();
                };
                let mut added: Vec<String> = Vec::new();
                for (k, v) in defaults {
                    if !to.contains_key(k) {
                        to.insert(k.clone(), v.clone());
                        added.push(k.clone());
                    }
                }
                if to.is_empty() {
                    res.remove(field);
                }
                added.sort();
                added
            };
            let set_requests = set("requests", &requests);
            let set_limits = set("limits", &limits);
            if res.as_object().is_some_and(Map::is_empty) {
                c.remove("resources");
            }
            if !set_requests.is_empty() {
                notes.push(format!(
                    "{} request for {what} {name}",
                    set_requests.join(", ")
                ));
            }
            if !set_limits.is_empty() {
                notes.push(format!("{} limit for {what} {name}", set_limits.join(", ")));
            }
        }
    }
    if notes.is_empty() {
        return;
    }
    let meta = crate::meta::meta_mut(pod);
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    if let Some(a) = annotations.as_object_mut() {
        a.insert(
            ANNOTATION.into(),
            format!("LimitRanger plugin set: {}", notes.join("; ")).into(),
        );
    }
}

/// One container's requests and limits.
fn container_resources(c: &Value) -> (Resources, Resources) {
    (
        resources(c.pointer("/resources/requests")),
        resources(c.pointer("/resources/limits")),
    )
}

/// The containers of `list` in a Pod.
fn containers<'a>(pod: &'a Value, list: &str) -> impl Iterator<Item = &'a Value> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `PodValidateLimitFunc` on a create: every bound of every item, in the item's order.
fn validate_pod(range: &Value, pod: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for item in items(range) {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "Container" => {
                for list in ["containers", "initContainers"] {
                    for c in containers(pod, list) {
                        let (requests, limits) = container_resources(c);
                        check_bounds(item, kind, &requests, &limits, &mut errors);
                    }
                }
            }
            "Pod" => {
                let (requests, limits) = pod_totals(pod);
                check_bounds(item, kind, &requests, &limits, &mut errors);
            }
            _ => {}
        }
    }
    errors
}

/// An item's min, max and ratio bounds against one set of requests and limits.
fn check_bounds(
    item: &Value,
    kind: &str,
    requests: &Resources,
    limits: &Resources,
    errors: &mut Vec<String>,
) {
    for (field, end) in [("min", End::Min), ("max", End::Max)] {
        for (name, enforced) in list(item, field) {
            errors.extend(bound_constraint(
                end, kind, &name, &enforced, requests, limits,
            ));
        }
    }
    for (name, enforced) in list(item, "maxLimitRequestRatio") {
        if let Some(e) = ratio_constraint(kind, &name, &enforced, requests, limits) {
            errors.push(e);
        }
    }
}

/// `podRequests` / `podLimits`: the regular containers and the sidecars (init containers with
/// `restartPolicy: Always`) add up; a plain init container counts with the sidecars started
/// before it, and the pod needs the most of that and the sum; pod-level resources override.
pub(in crate::store) fn pod_totals(pod: &Value) -> (Resources, Resources) {
    let mut totals = [Resources::new(), Resources::new()];
    for c in containers(pod, "containers") {
        let (r, l) = container_resources(c);
        add(&mut totals[0], &r);
        add(&mut totals[1], &l);
    }
    let mut sidecars = [Resources::new(), Resources::new()];
    let mut init_max = [Resources::new(), Resources::new()];
    for c in containers(pod, "initContainers") {
        let (r, l) = container_resources(c);
        let sidecar = c.get("restartPolicy").and_then(Value::as_str) == Some("Always");
        for (i, own) in [r, l].into_iter().enumerate() {
            let needed = if sidecar {
                add(&mut totals[i], &own);
                add(&mut sidecars[i], &own);
                sidecars[i].clone()
            } else {
                let mut with = own;
                add(&mut with, &sidecars[i]);
                with
            };
            max(&mut init_max[i], &needed);
        }
    }
    for (i, field) in ["requests", "limits"].into_iter().enumerate() {
        max(&mut totals[i], &init_max[i].clone());
        for (name, q) in resources(pod.pointer(&format!("/spec/resources/{field}"))) {
            if POD_LEVEL_RESOURCES.contains(&name.as_str()) {
                totals[i].insert(name, q);
            }
        }
    }
    let [requests, limits] = totals;
    (requests, limits)
}

/// `addResourceList`: the sum keeps the first quantity's format.
pub(in crate::store) fn add(list: &mut Resources, more: &Resources) {
    for (name, q) in more {
        list.entry(name.clone())
            .and_modify(|v| *v = v.add(q))
            .or_insert(*q);
    }
}

/// `maxResourceList`.
fn max(list: &mut Resources, other: &Resources) {
    for (name, q) in other {
        match list.get(name) {
            Some(v) if q.cmp(v) != Ordering::Greater => {}
            _ => {
                list.insert(name.clone(), *q);
            }
        }
    }
}

/// `PersistentVolumeClaimValidateLimitFunc`: a claim's storage requests against the
/// `PersistentVolumeClaim` items; a request an update leaves as stored is not checked.
fn validate_claim(range: &Value, pvc: &Value, old: Option<&Value>) -> Vec<String> {
    let requests = resources(pvc.pointer("/spec/resources/requests"));
    let old_requests = resources(old.and_then(|o| o.pointer("/spec/resources/requests")));
    let unchanged = |name: &str| match (requests.get(name), old_requests.get(name)) {
        (Some(a), Some(b)) => a.cmp(b) == Ordering::Equal,
        _ => false,
    };
    let mut errors = Vec::new();
    let kind = "PersistentVolumeClaim";
    for item in items(range).filter(|i| i.get("type").and_then(Value::as_str) == Some(kind)) {
        for (name, enforced) in list(item, "min") {
            if unchanged(&name) {
                continue;
            }
            let no_limits = Resources::new();
            errors.extend(bound_constraint(
                End::Min,
                kind,
                &name,
                &enforced,
                &requests,
                &no_limits,
            ));
        }
        for (name, enforced) in list(item, "max") {
            if unchanged(&name) {
                continue;
            }
            // `maxRequestConstraint`: a claim's limits are not user input.
            let e = match requests.get(&name) {
                None => Some(format!(
                    "maximum {name} usage per {kind} is {}.  No request is specified",
                    enforced.canonical()
                )),
                Some(req) if req.cmp(&enforced) == Ordering::Greater => Some(format!(
                    "maximum {name} usage per {kind} is {}, but request is {}",
                    enforced.canonical(),
                    req.canonical()
                )),
                Some(_) => None,
            };
            errors.extend(e);
        }
    }
    errors
}

/// Which end of a range a LimitRange item bounds.
#[derive(Clone, Copy)]
enum End {
    Min,
    Max,
}

/// `minConstraint` and `maxConstraint`: a minimum needs a request and bounds it, then the limit
/// if there is one; a maximum needs a limit and bounds it, then the request if there is one.
fn bound_constraint(
    end: End,
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &Resources,
    limits: &Resources,
) -> Option<String> {
    let (word, needed, other) = match end {
        End::Min => ("minimum", ("request", requests), ("limit", limits)),
        End::Max => ("maximum", ("limit", limits), ("request", requests)),
    };
    let breaks = |q: &Quantity| match end {
        End::Min => enforced.cmp(q) == Ordering::Greater,
        End::Max => q.cmp(enforced) == Ordering::Greater,
    };
    let head = format!("{word} {name} usage per {kind} is {}", enforced.canonical());
    let Some(first) = needed.1.get(name) else {
        return Some(format!("{head}.  No {} is specified", needed.0));
    };
    [(needed.0, Some(first)), (other.0, other.1.get(name))]
        .into_iter()
        .find_map(|(what, q)| {
            q.filter(|q| breaks(q))
                .map(|q| format!("{head}, but {what} is {}", q.canonical()))
        })
}

/// `limitRequestRatioConstraint`.
fn ratio_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &Resources,
    limits: &Resources,
) -> Option<String> {
    let bound = enforced.canonical();
    let req = match requests.get(name) {
        Some(r) if r.nanos() != 0 => r,
        _ => {
            return Some(format!(
                "{name} max limit to request ratio per {kind} is {bound}, but no request is specified or request is 0"
            ));
        }
    };
    let lim = match limits.get(name) {
        Some(l) if l.nanos() != 0 => l,
        _ => {
            return Some(format!(
                "{name} max limit to request ratio per {kind} is {bound}, but no limit is specified or limit is 0"
            ));
        }
    };
    let (l, r, ratio) = (lim.nanos().abs(), req.nanos().abs(), enforced.nanos());
    // limit > request × ratio, exactly: all three are in nanounits.
    let exceeds = match (l.checked_mul(1_000_000_000), r.checked_mul(ratio)) {
        (Some(a), Some(b)) => a > b,
        _ => (l as f64) > (r as f64) * (ratio as f64) / 1e9,
    };
    exceeds.then(|| {
        format!(
            "{name} max limit to request ratio per {kind} is {bound}, but provided ratio is {}",
            ratio_string(l, r)
        )
    })
}

/// `ratioString`: limit ÷ request to six decimals, rounded half to even.
fn ratio_string(limit: i128, request: i128) -> String {
    let scale = 10i128.pow(RATIO_DECIMALS);
    let Some(num) = limit.checked_mul(scale) else {
        return format!("{:.6}", limit as f64 / request as f64);
    };
    let (q, rem) = (num / request, num % request);
    let scaled = match (rem * 2).cmp(&request) {
        Ordering::Greater => q + 1,
        Ordering::Equal if q % 2 == 1 => q + 1,
        _ => q,
    };
    format!(
        "{}.{:0width$}",
        scaled / scale,
        scaled % scale,
        width = RATIO_DECIMALS as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(items: Value) -> Value {
        json!({"spec": {"limits": items}})
    }

    #[test]
    fn container_defaults_fill_what_is_missing_and_are_recorded() {
        let lr = range(json!([{
            "type": "Container",
            "default": {"cpu": "500m", "memory": "128Mi"},
            "defaultRequest": {"cpu": "100m"},
        }]));
        let mut pod = json!({"spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "app", "resources": {"limits": {"memory": "1Gi"}}}],
        }});
        default_containers(&lr, &mut pod);
        let app = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(app["limits"], json!({"memory": "1Gi", "cpu": "500m"}));
        assert_eq!(app["requests"], json!({"cpu": "100m"}));
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: cpu request for container app; cpu limit for container app; \
             cpu request for init container init; cpu, memory limit for init container init"
        );
        // Nothing to default: no annotation, no empty maps.
        let mut bare = json!({"spec": {"containers": [{"name": "a"}]}});
        default_containers(
            &range(json!([{"type": "Pod", "max": {"cpu": "1"}}])),
            &mut bare,
        );
        assert_eq!(bare, json!({"spec": {"containers": [{"name": "a"}]}}));
    }

    #[test]
    fn container_and_pod_bounds_give_kubes_messages() {
        let lr = range(json!([
            {"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "1"}},
            {"type": "Pod", "max": {"memory": "1Gi"}},
        ]));
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "50m", "memory": "600Mi"}, "limits": {"cpu": "2", "memory": "600Mi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "200m"}, "limits": {"cpu": "500m", "memory": "600Mi"}}},
        ]}});
        assert_eq!(
            validate_pod(&lr, &pod),
            [
                "minimum cpu usage per Container is 100m, but request is 50m",
                "maximum cpu usage per Container is 1, but limit is 2",
                "maximum memory usage per Pod is 1Gi, but limit is 1200Mi",
            ]
        );
        let fine = json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "0.1"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
        ]}});
        assert!(validate_pod(&lr, &fine).is_empty());
        // A missing limit under a max, a missing request under a min.
        let none = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(
            validate_pod(&lr, &none),
            [
                "minimum cpu usage per Container is 100m.  No request is specified",
                "maximum cpu usage per Container is 1.  No limit is specified",
                "maximum memory usage per Pod is 1Gi.  No limit is specified",
            ]
        );
    }

    #[test]
    fn the_ratio_is_exact_and_printed_to_six_decimals() {
        let lr = range(json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]));
        let pod = |req: &str, lim: &str| json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": req}, "limits": {"cpu": lim}}}]}});
        assert!(validate_pod(&lr, &pod("100m", "200m")).is_empty());
        assert_eq!(
            validate_pod(&lr, &pod("300m", "1")),
            ["cpu max limit to request ratio per Container is 2, but provided ratio is 3.333333"]
        );
        assert_eq!(
            validate_pod(&lr, &pod("0", "1")),
            [
                "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"
            ]
        );
        assert_eq!(ratio_string(2, 3), "0.666667");
        assert_eq!(ratio_string(5, 2), "2.500000");
    }

    #[test]
    fn sidecars_add_up_and_plain_init_containers_count_at_their_peak() {
        let pod = json!({"spec": {
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}},
                {"name": "big", "resources": {"requests": {"cpu": "2"}}},
            ],
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "500m"}}}],
        }});
        let (requests, _) = pod_totals(&pod);
        // max(500m + 100m, 2 + 100m) = 2100m
        assert_eq!(requests["cpu"].canonical(), "2100m");
        // Pod-level resources override the sum.
        let mut with_pod_level = pod.clone();
        with_pod_level["spec"]["resources"] = json!({"requests": {"cpu": "3"}});
        assert_eq!(pod_totals(&with_pod_level).0["cpu"].canonical(), "3");
    }

    #[test]
    fn a_claims_unchanged_request_is_not_checked_again() {
        let lr = range(
            json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]),
        );
        let pvc = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        assert_eq!(
            validate_claim(&lr, &pvc("20Gi"), None),
            ["maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"]
        );
        assert_eq!(
            validate_claim(&lr, &pvc("500Mi"), None),
            ["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]
        );
        assert!(validate_claim(&lr, &pvc("20Gi"), Some(&pvc("20Gi"))).is_empty());
        assert_eq!(
            validate_claim(&lr, &pvc("30Gi"), Some(&pvc("20Gi"))).len(),
            1
        );
    }
}
