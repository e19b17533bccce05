//! Owns the catalogue of servable resources: built-in types plus the versions of every established CRD.

use std::collections::HashMap;
use std::sync::Arc;

use crate::builtin;
use crate::crd::VersionSchema;

/// The verbs every resource supports here (no `proxy`/`connect`).
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// The verbs of a `/status` subresource.
pub const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// One servable resource in one served version.
#[derive(Debug)]
pub struct ResourceInfo {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    /// Has a `/status` subresource: main writes ignore `.status`, status writes change `.status`
    /// and the metadata the type's status strategy allows (`registry::status_reset`).
    pub status: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Fields a field selector may use besides metadata.name and metadata.namespace.
    pub selectable_fields: Vec<String>,
    /// The structural schema of this version (custom resources only).
    pub schema: Option<Arc<VersionSchema>>,
    /// The `openAPIV3Schema` as written in the CRD (served in the OpenAPI documents).
    pub openapi: Option<Arc<serde_json::Value>>,
    /// Served from a CustomResourceDefinition (its kind is qualified with the group in messages).
    pub custom: bool,
    /// The verbs served (discovery lists them; others answer 405).
    pub verbs: &'static [&'static str],
    /// Where a `/scale` subresource reads and writes the replica counts (None: no `/scale`).
    pub scale: Option<crate::subresources::ScalePaths>,
    /// The CRD version's `additionalPrinterColumns` as written (custom resources only).
    pub printer_columns: Vec<serde_json::Value>,
    /// The CRD's conversion webhook (`strategy: Webhook`); None: versions differ only in
    /// `apiVersion` (the `None` strategy, and every built-in type).
    pub conversion: Option<Arc<crate::conversion::Webhook>>,
}

impl ResourceInfo {
    /// The type of an object a subresource carries that no resource of its own stores (an
    /// `autoscaling/v1` Scale, a `policy/v1` Eviction): its group, version and kind, for the
    /// decoding and admission of that object; nothing is served under it.
    pub fn subresource_kind(group: &str, version: &str, kind: &str) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            list_kind: String::new(),
            plural: String::new(),
            singular: kind.to_lowercase(),
            namespaced: true,
            status: false,
            short_names: Vec::new(),
            categories: Vec::new(),
            selectable_fields: Vec::new(),
            schema: None,
            openapi: None,
            custom: false,
            verbs: &[],
            scale: None,
            printer_columns: Vec::new(),
            conversion: None,
        }
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The store key shared by every version of this resource: `group/plural`, or the key of
    /// the resource whose storage it shares (events.k8s.io Events are core Events).
    pub fn store_key(&self) -> String {
        match crate::events::shared_storage(&self.group, &self.plural) {
            Some(key) => key.to_owned(),
            None => format!("{}/{}", self.group, self.plural),
        }
    }

    /// The resource as Status details name it.
    pub fn group_resource(&self) -> crate::status::GroupResource<'_> {
        crate::status::GroupResource {
            group: &self.group,
            resource: &self.plural,
        }
    }

    /// The kind as kube-apiserver prints it in Invalid messages: `Pod`, `Widget.example.com`.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

/// A served version of a group with its resources.
#[derive(Debug, Clone)]
pub struct GroupVersion {
    pub version: String,
    pub resources: Vec<Arc<ResourceInfo>>,
}

/// An API group with its versions, the preferred one first.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub versions: Vec<GroupVersion>,
}

/// Every servable resource, immutable; a CRD change builds a new catalogue.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    groups: Vec<Group>,
    by_path: HashMap<String, Arc<ResourceInfo>>,
    /// The OpenAPI documents of exactly this catalogue, built on first request (a clone starts
    /// empty, so a catalogue changed by a CRD never serves the documents of its predecessor).
    openapi: crate::openapi::Cache,
}

impl Catalog {
    /// The built-in resources of a Kubernetes 1.37 server.
    pub fn builtin() -> Self {
        let infos = builtin::builtin_types()
            .into_iter()
            .map(|t| {
                Arc::new(ResourceInfo {
                    group: t.group.to_owned(),
                    version: t.version.to_owned(),
                    kind: t.kind.to_owned(),
                    list_kind: t.list_kind.to_owned(),
                    plural: t.plural.to_owned(),
                    singular: t.kind.to_lowercase(),
                    namespaced: t.namespaced,
                    status: t.status,
                    short_names: builtin::short_names(t.group, t.plural)
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                    categories: builtin::categories(t.group, t.plural)
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                    selectable_fields: builtin::selectable_fields(t.group, t.plural)
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                    schema: None,
                    openapi: None,
                    custom: false,
                    verbs: t.verbs,
                    scale: crate::subresources::builtin_scale(t.group, t.plural),
                    printer_columns: Vec::new(),
                    conversion: None,
                })
            })
            .collect();
        let mut catalog = Self::default();
        catalog.extend(infos);
        catalog
    }

    /// A copy of this catalogue with `infos` added (replacing resources with the same group/version/plural).
    pub fn with(&self, infos: Vec<Arc<ResourceInfo>>) -> Self {
        let mut next = self.clone();
        next.extend(infos);
        next
    }

    /// A copy of this catalogue without the resource `group/plural` in any version.
    pub fn without(&self, group: &str, plural: &str) -> Self {
        let keep: Vec<Arc<ResourceInfo>> = self
            .groups
            .iter()
            .flat_map(|g| g.versions.iter().flat_map(|v| v.resources.iter().cloned()))
            .filter(|r| !(r.group == group && r.plural == plural))
            .collect();
        let mut next = Self::default();
        next.extend(keep);
        next
    }

    fn extend(&mut self, infos: Vec<Arc<ResourceInfo>>) {
        for info in infos {
            let path = format!("{}/{}/{}", info.group, info.version, info.plural);
            let group = match self.groups.iter_mut().position(|g| g.name == info.group) {
                Some(i) => &mut self.groups[i],
                None => {
                    self.groups.push(Group {
                        name: info.group.clone(),
                        versions: Vec::new(),
                    });
                    self.groups.last_mut().expect("just pushed")
                }
            };
            let version = match group
                .versions
                .iter_mut()
                .position(|v| v.version == info.version)
            {
                Some(i) => &mut group.versions[i],
                None => {
                    group.versions.push(GroupVersion {
                        version: info.version.clone(),
                        resources: Vec::new(),
                    });
                    group
                        .versions
                        .sort_by(|a, b| version_priority(&a.version, &b.version));
                    let i = group
                        .versions
                        .iter()
                        .position(|v| v.version == info.version)
                        .expect("just pushed");
                    &mut group.versions[i]
                }
            };
            version.resources.retain(|r| r.plural != info.plural);
            version.resources.push(info.clone());
            self.by_path.insert(path, info);
        }
        // The core group first, then the others in the order they were added (kube-apiserver lists
        // built-in groups first and CRD groups after them).
        self.groups
            .retain(|g| g.versions.iter().any(|v| !v.resources.is_empty()));
        self.groups.sort_by_key(|g| !g.name.is_empty());
    }

    /// The resource `plural` in `group`/`version`, if served.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceInfo>> {
        self.by_path.get(&format!("{group}/{version}/{plural}"))
    }

    /// The resource of kind `kind` served in `group`/`version` (what an object's `apiVersion`
    /// and `kind` name).
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<&Arc<ResourceInfo>> {
        self.group(group)?
            .versions
            .iter()
            .find(|gv| gv.version == version)?
            .resources
            .iter()
            .find(|r| r.kind == kind)
    }

    /// The preferred served version of the resource whose store key is `group/plural`.
    pub fn by_store_key(&self, key: &str) -> Option<&Arc<ResourceInfo>> {
        let (group, plural) = key.split_once('/')?;
        self.group(group)?
            .versions
            .iter()
            .find_map(|v| v.resources.iter().find(|r| r.plural == plural))
    }

    /// Every group, the core group (named "") first.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// One group by name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The OpenAPI documents of this catalogue (built once, on first use).
    pub fn openapi(&self) -> &crate::openapi::Cache {
        &self.openapi
    }
}

/// Orders Kubernetes versions as kube-apiserver does: GA before beta before alpha, higher numbers
/// first, anything not of the form `v<N>[(alpha|beta)<M>]` last in lexical order.
pub fn version_priority(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(v: &str) -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((2, major, 0));
        }
        for (prefix, rank) in [("beta", 1u8), ("alpha", 0u8)] {
            if let Some(n) = tail.strip_prefix(prefix) {
                return Some((rank, major, n.parse().ok()?));
            }
        }
        None
    }
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kube_apiserver() {
        let mut v = vec!["v1alpha1", "foo", "v1", "v2beta1", "v2", "v1beta2", "v10"];
        v.sort_by(|a, b| version_priority(a, b));
        assert_eq!(
            v,
            ["v10", "v2", "v1", "v2beta1", "v1beta2", "v1alpha1", "foo"]
        );
    }

    #[test]
    fn builtin_catalogue_prefers_autoscaling_v2_and_starts_with_core() {
        let c = Catalog::builtin();
        assert_eq!(c.groups()[0].name, "");
        assert_eq!(
            c.group("autoscaling").expect("autoscaling").versions[0].version,
            "v2"
        );
        assert!(c.get("apps", "v1", "deployments").is_some());
        assert!(c.get("", "v1", "deployments").is_none());
    }
}
