//! The Namespace strategy (`pkg/registry/core/namespace`): the `kubernetes` finalizer added to
//! `spec.finalizers` on create (which only writes through `namespaces/finalize`, the namespace
//! controller's, change afterwards: `namespaceFinalizeStrategy`), the `Active` phase, and the
//! `kubernetes.io/metadata.name` label (Canonicalize).

use serde_json::{Value, json};

use super::strategy::Strategy;
use crate::auth::UserInfo;
use crate::meta::{meta_mut, meta_str};
use crate::store::Sub;

/// The label kube-apiserver puts on every namespace.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub(super) struct Namespace;

impl Strategy for Namespace {
    fn initial_status(&self, _obj: &Value) -> Option<Value> {
        Some(json!({"phase": "Active"}))
    }

    fn prepare_for_create(&self, obj: &mut Value, _user: Option<&UserInfo>) -> Vec<String> {
        // The client's finalizers stay (validation checks them); `kubernetes` is added unless
        // listed already.
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        let spec = &mut obj["spec"];
        if !spec.get("finalizers").is_some_and(Value::is_array) {
            spec["finalizers"] = json!([]);
        }
        if let Some(list) = spec["finalizers"].as_array_mut()
            && !list.iter().any(|f| f.as_str() == Some("kubernetes"))
        {
            list.push("kubernetes".into());
        }
        Vec::new()
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value, sub: Sub) {
        // Only a write through the `finalize` subresource (the namespace controller's) changes
        // spec.finalizers; its status stays as stored like any main-resource write's.
        if sub == Sub::Finalize {
            return;
        }
        match old.pointer("/spec/finalizers") {
            Some(f) => {
                if !new.get("spec").is_some_and(Value::is_object) {
                    new["spec"] = json!({});
                }
                new["spec"]["finalizers"] = f.clone();
            }
            None => {
                if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove("finalizers");
                }
            }
        }
    }

    fn canonicalize(&self, obj: &mut Value) {
        let name = meta_str(obj, "name").to_owned();
        let labels = meta_mut(obj).entry("labels").or_insert_with(|| json!({}));
        if labels.is_null() {
            *labels = json!({});
        }
        if labels.is_object() {
            labels[NAMESPACE_NAME_LABEL] = name.into();
        }
    }
}
