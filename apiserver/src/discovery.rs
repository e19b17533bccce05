//! Answers discovery: `/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`, in the
//! legacy form and in the aggregated `apidiscovery.k8s.io/v2` form kubectl and kube 5 ask for.

use serde_json::{Value, json};

use crate::catalog::{Catalog, Group, GroupVersion, ResourceInfo, STATUS_VERBS};

/// The media type of aggregated discovery v2 (the `Accept` a client sends and the `Content-Type` answered).
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery v2.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
            && params.contains(&"as=APIGroupDiscoveryList")
    })
}

fn gv_string(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// `/api`: the core group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(g: &Group) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|v| json!({"groupVersion": gv_string(&g.name, &v.version), "version": v.version}))
        .collect();
    json!({
        "name": g.name,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis`: every named group.
pub fn api_group_list(catalog: &Catalog) -> Value {
    let groups: Vec<Value> = catalog
        .groups()
        .iter()
        .filter(|g| !g.name.is_empty())
        .map(group_json)
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`.
pub fn api_group(g: &Group) -> Value {
    let mut v = group_json(g);
    v["kind"] = "APIGroup".into();
    v["apiVersion"] = "v1".into();
    v
}

/// `/api/v1`, `/apis/{group}/{version}`: the resources of one group version.
pub fn resource_list(group: &str, gv: &GroupVersion) -> Value {
    let mut resources = Vec::new();
    for r in &gv.resources {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        resources.push(entry);
        if r.status {
            resources.push(json!({
                "name": format!("{}/status", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": STATUS_VERBS,
            }));
        }
        for sub in crate::subresources::listed(r) {
            let mut entry = json!({
                "name": format!("{}/{}", r.plural, sub.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": sub.kind,
                "verbs": sub.verbs,
            });
            // A subresource of another group's kind names it (kubectl scale finds autoscaling/v1 here).
            if sub.group != r.group || sub.version != r.version {
                entry["group"] = sub.group.into();
                entry["version"] = sub.version.into();
            }
            resources.push(entry);
        }
    }
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv_string(group, &gv.version),
        "resources": resources,
    })
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": kind,
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    let mut subresources = Vec::new();
    if r.status {
        subresources
            .push(json!({"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}));
    }
    for sub in crate::subresources::listed(r) {
        subresources.push(json!({
            "subresource": sub.name,
            "responseKind": {"group": sub.group, "version": sub.version, "kind": sub.kind},
            "verbs": sub.verbs,
        }));
    }
    if !subresources.is_empty() {
        entry["subresources"] = subresources.into();
    }
    entry
}

fn aggregated_group(g: &Group) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> =
                v.resources.iter().map(|r| aggregated_resource(r)).collect();
            json!({"version": v.version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": g.name, "creationTimestamp": null}, "versions": versions})
}

/// Aggregated discovery for `/api` (`core = true`, the core group only) or `/apis` (every named group).
pub fn aggregated(catalog: &Catalog, core: bool) -> Value {
    let items: Vec<Value> = catalog
        .groups()
        .iter()
        .filter(|g| g.name.is_empty() == core)
        .map(aggregated_group)
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_kubectl_accept_header() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(kubectl));
        assert!(!wants_aggregated("application/json, */*"));
    }

    #[test]
    fn core_resources_list_status_subresources() {
        let c = Catalog::builtin();
        let core = &c.group("").expect("core").versions[0];
        let list = resource_list("", core);
        let names: Vec<&str> = list["resources"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(
            names.contains(&"pods")
                && names.contains(&"pods/status")
                && !names.contains(&"configmaps/status")
        );
        let agg = aggregated(&c, true);
        assert_eq!(agg["items"].as_array().map(Vec::len), Some(1));
    }
}
