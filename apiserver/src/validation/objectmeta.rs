//! Validates `metadata` of every object as k8s.io/apimachinery's `ValidateObjectMetaAccessor`
//! and `ValidateObjectMetaAccessorUpdate` do: names per type, generateName, labels, annotations
//! (keys and their 256 KiB total), owner references, finalizers, and what an update may not change.

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use crate::status::Cause;

/// `TotalAnnotationSizeLimitB`: keys plus values of all annotations, in bytes.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// The finalizers kube-apiserver itself uses without a domain (`helper.IsStandardFinalizerName`).
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];
const FIELD_IMMUTABLE: &str = "field is immutable";

/// How a type's names are checked (each type's `ValidateXName` in kube).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule<'a> {
    /// `NameIsDNSSubdomain`: most types.
    Subdomain,
    /// `NameIsDNSLabel`: namespaces.
    Label,
    /// `NameIsDNS1035Label`: services.
    Dns1035,
    /// `path.ValidatePathSegmentName`: RBAC types, and the generic store's check of every type
    /// (`rest.BeforeCreate`).
    PathSegment,
    /// Any name (`ValidateCertificateRequestName`): CertificateSigningRequests.
    Any,
    /// `ValidateClusterTrustBundleName(signerName)`: the object's signer name as a prefix.
    ClusterTrustBundle { signer: &'a str },
    /// `ValidateIPAddressName`: an IP address in canonical form; a generateName prefix is
    /// checked the same way (IPAddress names cannot be generated).
    Ip,
    /// kube-aggregator's APIService name function (`ValidateAPIService`): a path segment, and
    /// exactly `<spec.version>.<spec.group>`; a generateName prefix is checked the same way.
    ApiService { version: &'a str, group: &'a str },
}

impl NameRule<'_> {
    fn check(self, name: &str, prefix: bool) -> Vec<String> {
        // A generateName prefix may end in '-': kube masks it before checking (maskTrailingDash).
        let masked;
        let name = if prefix
            && !matches!(
                self,
                NameRule::PathSegment | NameRule::Ip | NameRule::ApiService { .. }
            )
            && name.len() > 1
            && name.ends_with('-')
        {
            masked = format!("{}a", &name[..name.len() - 2]);
            masked.as_str()
        } else {
            name
        };
        match self {
            NameRule::Subdomain => field::dns1123_subdomain(name),
            NameRule::Label => field::dns1123_label(name),
            NameRule::Dns1035 => field::dns1035_label(name),
            NameRule::Ip => field::strict_ip(name),
            NameRule::Any => Vec::new(),
            NameRule::ClusterTrustBundle { signer } => {
                super::trust_bundle::name_errors(signer, name)
            }
            NameRule::ApiService { version, group } => {
                let minimal = field::path_segment_name(name);
                if !minimal.is_empty() {
                    return minimal;
                }
                let required = format!("{version}.{group}");
                if name == required {
                    return Vec::new();
                }
                vec![format!(
                    "must be `spec.version+\".\"+spec.group`: {}",
                    field::quote(&required)
                )]
            }
            NameRule::PathSegment => {
                if prefix {
                    // ValidatePathSegmentName with prefix=true checks only the illegal contents.
                    field::path_segment_name(name)
                        .into_iter()
                        .filter(|m| m.starts_with("may not contain"))
                        .collect()
                } else {
                    field::path_segment_name(name)
                }
            }
        }
    }
}

fn meta(obj: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    obj.get("metadata").unwrap_or(&EMPTY)
}

/// `ValidateObjectMetaAccessor` for a created object.
pub fn validate(obj: &Value, namespaced: bool, rule: NameRule<'_>) -> Vec<Cause> {
    let m = meta(obj);
    let mut causes = Vec::new();
    let generate = str_of(m, "generateName");
    if !generate.is_empty() {
        causes.extend(field::each(
            "metadata.generateName",
            generate,
            rule.check(generate, true),
        ));
    }
    let name = str_of(m, "name");
    if name.is_empty() {
        causes.push(field::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        causes.extend(field::each("metadata.name", name, rule.check(name, false)));
    }
    let namespace = str_of(m, "namespace");
    if namespaced {
        if namespace.is_empty() {
            causes.push(field::required("metadata.namespace", ""));
        } else {
            causes.extend(field::each(
                "metadata.namespace",
                namespace,
                field::dns1123_label(namespace),
            ));
        }
    } else if !namespace.is_empty() {
        causes.push(field::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    causes.extend(common(m));
    causes.extend(finalizers(m));
    causes
}

/// Checks shared by create and update: generation, labels, annotations, owner references.
fn common(m: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(g) = m.get("generation") {
        causes.extend(field::non_negative("metadata.generation", g));
    }
    causes.extend(labels(m.get("labels"), "metadata.labels"));
    causes.extend(annotations(m.get("annotations"), "metadata.annotations"));
    causes.extend(owner_references(arr_of(m, "ownerReferences")));
    causes
}

/// `ValidateLabels`: qualified-name keys, label values.
pub fn labels(labels: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(Value::Object(map)) = labels else {
        return causes;
    };
    for (k, v) in map {
        causes.extend(field::each(path, k, field::qualified_name(k)));
        let v = v.as_str().unwrap_or("");
        causes.extend(field::each(path, v, field::label_value(v)));
    }
    causes
}

/// `ValidateAnnotations`: keys are qualified names (checked lower-cased), 256 KiB in total.
pub fn annotations(annotations: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(Value::Object(map)) = annotations else {
        return causes;
    };
    let mut total = 0;
    for (k, v) in map {
        causes.extend(field::each(
            path,
            k,
            field::qualified_name(&k.to_lowercase()),
        ));
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        causes.push(field::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    causes
}

/// `ValidateOwnerReferences`: required fields, a parsable apiVersion, one controller at most.
fn owner_references(refs: &[Value]) -> Vec<Cause> {
    let path = "metadata.ownerReferences";
    let mut causes = Vec::new();
    let mut first_controller: Option<String> = None;
    for (i, r) in refs.iter().enumerate() {
        let at = index(path, i);
        let api_version = str_of(r, "apiVersion");
        if api_version.is_empty() {
            causes.push(field::required(
                &child(&at, "apiVersion"),
                "must not be empty",
            ));
        } else {
            let parts: Vec<&str> = api_version.split('/').collect();
            let version_ok = match parts.as_slice() {
                [v] => !v.is_empty(),
                [_, v] => !v.is_empty(),
                _ => false,
            };
            if !version_ok {
                causes.push(field::invalid_str(
                    &child(&at, "apiVersion"),
                    api_version,
                    "must be <group>/<version> or <version>",
                ));
            }
        }
        let kind = str_of(r, "kind");
        for f in ["kind", "name", "uid"] {
            if str_of(r, f).is_empty() {
                causes.push(field::required(&child(&at, f), "must not be empty"));
            }
        }
        if api_version == "v1" && kind == "Event" {
            causes.push(field::invalid(
                &at,
                r,
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.get("controller") == Some(&Value::Bool(true)) {
            let current = format!("{kind}/{}", str_of(r, "name"));
            match &first_controller {
                Some(first) => causes.push(field::invalid(
                    path,
                    &Value::Array(refs.to_vec()),
                    &format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    causes
}

/// `ValidateFinalizers`: qualified names; `orphan` and `foregroundDeletion` not both.
fn finalizers(m: &Value) -> Vec<Cause> {
    let path = "metadata.finalizers";
    let list = arr_of(m, "finalizers");
    let mut causes = Vec::new();
    for f in list {
        let f = f.as_str().unwrap_or("");
        causes.extend(field::each(path, f, field::qualified_name(f)));
    }
    let has = |name: &str| list.iter().any(|f| f.as_str() == Some(name));
    if has("orphan") && has("foregroundDeletion") {
        causes.push(field::invalid(
            path,
            &Value::Array(list.to_vec()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    causes
}

/// The check kube's core `ValidateObjectMeta` and `ValidateObjectMetaUpdate` wrappers
/// (pkg/apis/core/validation/validation.go) add to apimachinery's: `validateKubeFinalizerName`
/// for each finalizer, at its index. A name without a '/' must be one of kube's own
/// (`kubernetes`, `orphan`, `foregroundDeletion`). Only the types whose strategies call the core
/// wrappers get it (`super::core_object_meta` lists them); apimachinery's own
/// `ValidateObjectMeta`, which the others call, checks finalizers as qualified names only.
pub fn kube_finalizer_names(obj: &Value) -> Vec<Cause> {
    arr_of(meta(obj), "finalizers")
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let f = f.as_str().unwrap_or("");
            (!f.contains('/') && !STANDARD_FINALIZERS.contains(&f)).then(|| {
                field::invalid_str(
                    &index("metadata.finalizers", i),
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            })
        })
        .collect()
}

/// The warnings kube-apiserver returns for a custom resource's finalizers
/// (apiextensions-apiserver's `generateWarningsFromObj` with its `validateKubeFinalizerName`):
/// for each finalizer the write adds (all of them on create; those not in `old` on update),
/// sorted and once each, its qualified-name problems, and, without a '/' and not one of kube's
/// own, a preference for a domain-qualified name ("including a path (/)" when the name has a
/// '.' already). Built-in types get no such warning: the core types refuse these names
/// (`kube_finalizer_names`), the others accept them silently.
pub fn custom_resource_warnings(obj: &Value, old: Option<&Value>) -> Vec<String> {
    let old_finalizers = old.map(|o| arr_of(meta(o), "finalizers")).unwrap_or(&[]);
    let mut added: Vec<&str> = arr_of(meta(obj), "finalizers")
        .iter()
        .filter(|f| !old_finalizers.contains(f))
        .filter_map(Value::as_str)
        .collect();
    added.sort_unstable();
    added.dedup();
    let mut warnings = Vec::new();
    for f in added {
        let q = field::quote(f);
        for m in field::qualified_name(f) {
            warnings.push(format!("metadata.finalizers: {q}: {m}"));
        }
        if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
            let path = if f.contains('.') {
                " including a path (/)"
            } else {
                ""
            };
            warnings.push(format!(
                "metadata.finalizers: {q}: prefer a domain-qualified finalizer name{path} to avoid accidental conflicts with other finalizer writers"
            ));
        }
    }
    warnings
}

/// `ValidateObjectMetaAccessorUpdate`.
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let (n, o) = (meta(new), meta(old));
    let mut causes = Vec::new();
    if o.get("deletionTimestamp").is_some_and(|v| !v.is_null()) {
        let old_f = arr_of(o, "finalizers");
        let mut extra: Vec<&str> = arr_of(n, "finalizers")
            .iter()
            .filter(|f| !old_f.contains(f))
            .filter_map(Value::as_str)
            .collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| field::quote(f)).collect();
            causes.push(field::forbidden(
                "metadata.finalizers",
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    let generation = |m: &Value| m.get("generation").and_then(Value::as_i64).unwrap_or(0);
    if generation(n) < generation(o) {
        causes.push(field::invalid(
            "metadata.generation",
            n.get("generation").unwrap_or(&Value::Null),
            "must not be decremented",
        ));
    }
    for f in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        let nv = n.get(f).filter(|v| !v.is_null());
        if nv != o.get(f).filter(|v| !v.is_null()) {
            causes.push(field::invalid(
                &child("metadata", f),
                nv.unwrap_or(&Value::String(String::new())),
                FIELD_IMMUTABLE,
            ));
        }
    }
    causes.extend(common(n));
    causes.extend(finalizers(n));
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn names_generate_names_and_namespaces() {
        let obj =
            json!({"metadata": {"generateName": "web-", "name": "web-abcde", "namespace": "ns"}});
        assert!(validate(&obj, true, NameRule::Subdomain).is_empty());
        let obj = json!({"metadata": {"name": "a.b", "namespace": "ns"}});
        assert_eq!(
            messages(&validate(&obj, true, NameRule::Dns1035)),
            vec![
                "metadata.name: Invalid value: \"a.b\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        let obj = json!({"metadata": {"name": "x", "namespace": "ns"}});
        assert_eq!(
            messages(&validate(&obj, false, NameRule::Subdomain)),
            vec!["metadata.namespace: Forbidden: not allowed on this type"]
        );
        let obj = json!({"metadata": {"name": "a/b"}});
        assert_eq!(
            messages(&validate(&obj, false, NameRule::PathSegment)),
            vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'"]
        );
    }

    #[test]
    fn annotations_over_256_kib_are_too_long() {
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let obj = json!({"metadata": {"name": "x", "annotations": {"a": big}}});
        assert_eq!(
            messages(&validate(&obj, false, NameRule::Subdomain)),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
    }

    #[test]
    fn owner_references_and_finalizers() {
        let obj = json!({"metadata": {"name": "x", "ownerReferences": [
            {"apiVersion": "a/b/c", "kind": "K", "name": "n", "uid": "1", "controller": true},
            {"apiVersion": "v1", "kind": "K", "name": "m", "uid": "", "controller": true}
        ], "finalizers": ["orphan", "foregroundDeletion", "a b"]}});
        let m = messages(&validate(&obj, false, NameRule::Subdomain));
        assert_eq!(
            m[0],
            "metadata.ownerReferences[0].apiVersion: Invalid value: \"a/b/c\": must be <group>/<version> or <version>"
        );
        assert_eq!(
            m[1],
            "metadata.ownerReferences[1].uid: Required value: must not be empty"
        );
        assert!(m[2].starts_with("metadata.ownerReferences: Invalid value: [") && m[2].ends_with("Only one reference can have Controller set to true. Found \"true\" in references for K/n and K/m"));
        assert!(
            m[3].starts_with("metadata.finalizers: Invalid value: \"a b\": name part must consist")
        );
        assert!(m[4].ends_with("finalizer orphan and foregroundDeletion cannot be both set"));
        let warned = custom_resource_warnings(
            &json!({"metadata": {"finalizers": ["mine", "example.com/ok", "kubernetes", "a.b.io", "mine"]}}),
            None,
        );
        assert_eq!(
            warned,
            vec![
                "metadata.finalizers: \"a.b.io\": prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers",
                "metadata.finalizers: \"mine\": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers",
            ]
        );
        // An update warns about the finalizers it adds only.
        let old = json!({"metadata": {"finalizers": ["mine"]}});
        let new = json!({"metadata": {"finalizers": ["mine", "other"]}});
        assert_eq!(
            custom_resource_warnings(&new, Some(&old)),
            vec![
                "metadata.finalizers: \"other\": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers"
            ]
        );
        assert!(custom_resource_warnings(&Value::Null, Some(&json!(1))).is_empty());
        assert_eq!(
            messages(&kube_finalizer_names(&json!({"metadata": {"finalizers": [
                "kubernetes", "mine", "example.com/x", "orphan", 3]}}))),
            vec![
                "metadata.finalizers[1]: Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified",
                "metadata.finalizers[4]: Invalid value: \"\": name is neither a standard finalizer name nor is it fully qualified",
            ]
        );
        assert!(kube_finalizer_names(&Value::Null).is_empty());
    }

    #[test]
    fn update_keeps_identity_and_blocks_new_finalizers_while_deleting() {
        let old = json!({"metadata": {"name": "x", "uid": "1", "deletionTimestamp": "2020-01-01T00:00:00Z", "finalizers": ["a.io/x"]}});
        let new = json!({"metadata": {"name": "x", "uid": "2", "deletionTimestamp": "2020-01-01T00:00:00Z", "finalizers": ["a.io/x", "b.io/y"]}});
        assert_eq!(
            messages(&validate_update(&new, &old)),
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b.io/y\"}",
                "metadata.uid: Invalid value: \"2\": field is immutable",
            ]
        );
    }
}
