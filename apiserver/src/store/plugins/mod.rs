//! Owns kube-apiserver 1.37's built-in admission plugins that are on by default and read or
//! change what a client writes, in kube's plugin order (`pkg/kubeapiserver/options/plugins.go`,
//! `AllOrderedPlugins`), ahead of the admission policies and webhooks. One file per plugin, named
//! after kube's package:
//!
//! | plugin | stage | file |
//! |---|---|---|
//! | `LimitRanger` | mutating and validating | `limit_ranger.rs` |
//! | `ServiceAccount` | mutating | `service_account.rs` |
//! | `TaintNodesByCondition` | mutating | `node_taint.rs` |
//! | `PodSecurity` | validating | `pod_security.rs` |
//! | `Priority` | mutating and validating | `priority.rs` |
//! | `DefaultTolerationSeconds` | mutating | `default_tolerations.rs` |
//! | `DefaultStorageClass` | mutating | `default_classes.rs` |
//! | `StorageObjectInUseProtection` | mutating | `storage_protection.rs` |
//! | `PersistentVolumeClaimResize` | validating | `pvc_resize.rs` |
//! | `RuntimeClass` | mutating and validating | `runtime_class.rs` |
//! | `CertificateApproval`, `CertificateSigning`, `ClusterTrustBundleAttest`, `CertificateSubjectRestriction` | validating | `certificates.rs` |
//! | `DefaultIngressClass` | mutating | `default_classes.rs` |
//! | `PodTopologyLabels` | mutating | `pod_topology_labels.rs` |
//! | `PodResizeValidator` | validating | `pod_resize.rs` |
//! | `ResourceQuota` | validating, after the webhooks (called by the create and update paths) | `resource_quota.rs` |
//!
//! `NamespaceLifecycle` is the store's namespace check; the plugins kube leaves off by default,
//! or runs only behind alpha gates, are not run.
//!
//! Like the admission policies, they see clients' writes only: the server's own writes (its
//! controllers, bootstrap objects) are not admitted here (see the crate README).

mod certificates;
pub(super) mod default_classes;
mod default_tolerations;
pub(super) mod limit_ranger;
mod node_taint;
mod pod_resize;
mod pod_security;
mod pod_topology_labels;
mod priority;
mod pvc_resize;
mod resource_quota;
mod runtime_class;
mod service_account;
mod storage_protection;

pub(super) use storage_protection::{PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER};

use std::collections::BTreeMap;

use serde_json::Value;

use super::Inner;
use super::admit::Write;
use crate::admission::Operation;
use crate::admission::webhook::Pass;
use crate::meta::meta_str;
use crate::status::ApiError;

impl Inner {
    /// The mutating half of the built-in plugins (their `Admit`), for a client's write of `obj`
    /// (`w.user` set), in kube's order.
    pub(super) fn admit_with_plugins(
        &self,
        w: &Write<'_>,
        obj: &mut Value,
        pass: Option<&Pass>,
    ) -> Result<(), ApiError> {
        if w.user.is_none() {
            return Ok(());
        }
        self.admit_limit_ranges(w, obj)?;
        if self.namespace_defaults {
            self.admit_service_account(w, obj, pass)?;
        }
        node_taint::admit(w, obj);
        self.admit_priority(w, obj)?;
        default_tolerations::admit(w, obj);
        self.admit_default_storage_class(w, obj);
        storage_protection::admit(w, obj);
        self.admit_runtime_class(w, obj)?;
        self.admit_default_ingress_class(w, obj);
        self.admit_pod_topology_labels(w, obj);
        Ok(())
    }

    /// The validating half (their `Validate`), after every mutating stage, in kube's order.
    /// Answers the warnings to send with the response (PodSecurity's `warn` mode).
    pub(super) fn validate_with_plugins(&self, w: &Write<'_>) -> Result<Vec<String>, ApiError> {
        if w.user.is_none() {
            return Ok(Vec::new());
        }
        self.validate_limit_ranges(w)?;
        let warnings = self.validate_pod_security(w)?;
        self.validate_priority_class(w)?;
        self.validate_pvc_resize(w)?;
        self.validate_runtime_class(w)?;
        certificates::validate(w)?;
        self.validate_pod_resize(w)?;
        Ok(warnings)
    }

    /// The stored objects of the store key `resource` in `namespace`, as values.
    fn objects_in<'a>(
        &'a self,
        resource: &str,
        namespace: &'a str,
    ) -> impl Iterator<Item = Value> + 'a {
        self.objects_of(resource, namespace)
            .map(|(_, s)| s.value().clone())
    }
}

/// Whether the write is of the core resource `plural` itself (no subresource).
fn is_core(w: &Write<'_>, plural: &str) -> bool {
    w.info.group.is_empty() && w.info.plural == plural && w.subresource.is_empty()
}

/// Whether the write creates the core resource `plural` (no subresource).
fn creates_core(w: &Write<'_>, plural: &str) -> bool {
    w.operation == Operation::Create && is_core(w, plural)
}

/// `admission.NewForbidden`: the object is named by its name, else its generateName, else
/// "Unknown" (names are generated after admission).
fn forbidden(w: &Write<'_>, obj: &Value, why: &str) -> ApiError {
    let name = [w.name, meta_str(obj, "name"), meta_str(obj, "generateName")]
        .into_iter()
        .find(|n| !n.is_empty())
        .unwrap_or("Unknown");
    ApiError::forbidden(w.info.group_resource(), name, why)
}

/// `utilerrors.NewAggregate(errs).Error()`: one message alone, several in brackets, each once.
fn aggregate(messages: &[String]) -> String {
    let mut seen = Vec::new();
    for m in messages {
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    match seen.as_slice() {
        [one] => (*one).clone(),
        many => format!(
            "[{}]",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The class a `DefaultStorageClass` or `DefaultIngressClass` plugin picks among the objects of
/// `resource` marked default by one of `annotations` = "true": the newest, then the first by
/// name (`GetDefaultClass` / `getDefaultClass`, which sort the same way).
fn newest_default(inner: &Inner, resource: &str, annotations: &[&str]) -> Option<String> {
    let mut defaults: BTreeMap<(std::cmp::Reverse<String>, String), ()> = BTreeMap::new();
    for class in inner.objects_in(resource, "") {
        let marked = annotations.iter().any(|a| {
            class
                .pointer("/metadata/annotations")
                .and_then(|m| m.get(*a))
                .and_then(Value::as_str)
                == Some("true")
        });
        if marked {
            let created = meta_str(&class, "creationTimestamp").to_owned();
            defaults.insert(
                (
                    std::cmp::Reverse(created),
                    meta_str(&class, "name").to_owned(),
                ),
                (),
            );
        }
    }
    defaults.into_keys().next().map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_messages_are_bracketed_only_when_several() {
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into(), "a".into()]), "[a, b]");
    }
}
