//! Owns kube-apiserver's built-in admission plugins that are on by default and change or refuse
//! what a client writes, in kube's plugin order (`pkg/kubeapiserver/options/plugins.go`
//! `AllOrderedPlugins`), ahead of the admission policies and webhooks:
//!
//! - `ServiceAccount` (`plugin/pkg/admission/serviceaccount`): a new Pod runs as `default` unless
//!   it names a ServiceAccount, which must exist (403 otherwise), gets the ServiceAccount's image
//!   pull secrets when it has none, and mounts the `kube-api-access-<random>` projected token
//!   volume in every container unless automounting is off on the Pod or the ServiceAccount.
//!   It is on when the server keeps the namespaces' default objects (the `default`
//!   ServiceAccount, as kube-controller-manager does); with them off (envtest's behaviour, which
//!   runs kube-apiserver alone) it is off too, as envtest turns it off
//!   (`--disable-admission-plugins=ServiceAccount`), since no Pod could be created otherwise.
//! - `Priority` (`plugin/pkg/admission/priority`): a new Pod's `priority` and
//!   `preemptionPolicy` come from its PriorityClass, or from the global default class, or are 0
//!   and `PreemptLowerPriority`; a Pod that names a missing class, or sets a priority or policy
//!   other than its class's, is refused (403); an update keeps them. Its validating half refuses
//!   a second `globalDefault` PriorityClass.
//! - `DefaultTolerationSeconds` (`plugin/pkg/admission/defaulttolerationseconds`): every Pod
//!   written (create and update) tolerates the `not-ready` and `unreachable` NoExecute taints for
//!   300 s unless it already tolerates them.
//!
//! Like the admission policies, they see clients' writes only: the server's own writes (its
//! controllers, bootstrap objects) are not admitted here (see the crate README).
//!
//! Not here: the plugins whose work needs a controller this server does not run
//! (`StorageObjectInUseProtection`'s finalizers would never be removed without the
//! pvc-protection controller), or objects tests rarely have (`LimitRanger`, `DefaultStorageClass`,
//! `DefaultIngressClass`, `RuntimeClass`, `PodSecurity`, `ResourceQuota`); the README's
//! differences table lists them.

use serde_json::{Map, Value, json};

use super::Inner;
use super::admit::Write;
use crate::admission::Operation;
use crate::admission::webhook::Pass;
use crate::meta::meta_str;
use crate::status::ApiError;

/// `ServiceAccountVolumeName`: the projected token volume's name prefix (`kube-api-access-`).
const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";
/// `DefaultAPITokenMountPath`: where every container finds the token, CA and namespace.
const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// `serviceaccount.WarnOnlyBoundTokenExpirationSeconds`: the projected token's lifetime.
const TOKEN_EXPIRATION_SECONDS: i64 = 3607;
/// `ProjectedVolumeSourceDefaultMode` (0644), set explicitly by the plugin (kube #104464).
const PROJECTED_DEFAULT_MODE: i64 = 0o644;
/// The annotation that marks a mirror pod, whose spec the plugin leaves alone.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";
/// `--default-not-ready-toleration-seconds` and `--default-unreachable-toleration-seconds`.
const DEFAULT_TOLERATION_SECONDS: i64 = 300;
/// The taints `DefaultTolerationSeconds` tolerates.
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// The store keys of the objects the plugins read.
const SERVICEACCOUNTS_KEY: &str = "/serviceaccounts";
const PRIORITYCLASSES_KEY: &str = "scheduling.k8s.io/priorityclasses";
/// `scheduling.DefaultPriorityWhenNoDefaultClassExists` and the policy that goes with it.
const NO_CLASS_PRIORITY: i64 = 0;
const DEFAULT_PREEMPTION_POLICY: &str = "PreemptLowerPriority";

impl Inner {
    /// The mutating half of the built-in plugins, for a client's write of `obj` (`w.user` set).
    pub(super) fn admit_with_plugins(
        &self,
        w: &Write<'_>,
        obj: &mut Value,
        pass: Option<&Pass>,
    ) -> Result<(), ApiError> {
        if w.user.is_none() || !w.subresource.is_empty() || !is_core(w, "pods") {
            return Ok(());
        }
        match w.operation {
            Operation::Create => {
                if self.namespace_defaults {
                    self.admit_service_account(w, obj, pass)?;
                }
                self.admit_priority(w, obj)?;
            }
            Operation::Update => keep_priority(obj, w.old_object),
            _ => return Ok(()),
        }
        add_default_tolerations(obj);
        Ok(())
    }

    /// The validating half: `Priority`'s one global default PriorityClass.
    pub(super) fn validate_with_plugins(&self, w: &Write<'_>) -> Result<(), ApiError> {
        if w.user.is_none()
            || !w.subresource.is_empty()
            || w.info.group != "scheduling.k8s.io"
            || w.info.plural != "priorityclasses"
            || !matches!(w.operation, Operation::Create | Operation::Update)
        {
            return Ok(());
        }
        let Some(class) = w.object else {
            return Ok(());
        };
        if class.get("globalDefault").and_then(Value::as_bool) != Some(true) {
            return Ok(());
        }
        let name = meta_str(class, "name");
        match self.default_priority_class() {
            Some(existing)
                if w.operation == Operation::Create || meta_str(&existing, "name") != name =>
            {
                Err(forbidden(
                    w,
                    class,
                    &format!(
                        "PriorityClass {} is already marked as default. Only one default can exist",
                        meta_str(&existing, "name")
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// `ServiceAccount`'s `Admit` on a Pod's create.
    fn admit_service_account(
        &self,
        w: &Write<'_>,
        pod: &mut Value,
        pass: Option<&Pass>,
    ) -> Result<(), ApiError> {
        let mirror = pod
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION));
        if mirror {
            return Ok(());
        }
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let sa_name = match spec.get("serviceAccountName").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                spec.insert("serviceAccountName".into(), "default".into());
                // The v1 alias kube's conversion writes back (`DeprecatedServiceAccount`).
                spec.insert("serviceAccount".into(), "default".into());
                "default".to_owned()
            }
        };
        let key = (w.namespace.to_owned(), sa_name.clone());
        let Some(sa) = self.get_by_key(SERVICEACCOUNTS_KEY, &key) else {
            return Err(forbidden(
                w,
                pod,
                &format!(
                    "error looking up service account {}/{sa_name}: serviceaccount \"{sa_name}\" not found",
                    w.namespace
                ),
            ));
        };
        let sa = sa.value();
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let automount = spec
            .get("automountServiceAccountToken")
            .and_then(Value::as_bool)
            .or_else(|| {
                sa.get("automountServiceAccountToken")
                    .and_then(Value::as_bool)
            })
            .unwrap_or(true);
        if automount {
            mount_token(spec, pass);
        }
        let has_pull_secrets = spec
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
        if !has_pull_secrets {
            let from_sa: Vec<Value> = sa
                .get("imagePullSecrets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| json!({"name": s.get("name").cloned().unwrap_or(Value::from(""))}))
                .collect();
            if !from_sa.is_empty() {
                spec.insert("imagePullSecrets".into(), Value::Array(from_sa));
            }
        }
        Ok(())
    }

    /// `Priority`'s `admitPod` on create.
    fn admit_priority(&self, w: &Write<'_>, pod: &mut Value) -> Result<(), ApiError> {
        let class_name = pod
            .pointer("/spec/priorityClassName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let (name, priority, policy) = if class_name.is_empty() {
            match self.default_priority_class() {
                Some(class) => (
                    meta_str(&class, "name").to_owned(),
                    class.get("value").and_then(Value::as_i64).unwrap_or(0),
                    class
                        .get("preemptionPolicy")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                ),
                None => (
                    String::new(),
                    NO_CLASS_PRIORITY,
                    Some(DEFAULT_PREEMPTION_POLICY.to_owned()),
                ),
            }
        } else {
            let key = (String::new(), class_name.clone());
            let Some(class) = self.get_by_key(PRIORITYCLASSES_KEY, &key) else {
                return Err(forbidden(
                    w,
                    pod,
                    &format!("no PriorityClass with name {class_name} was found"),
                ));
            };
            let class = class.value();
            (
                class_name,
                class.get("value").and_then(Value::as_i64).unwrap_or(0),
                class
                    .get("preemptionPolicy")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        };
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        if name.is_empty() {
            spec.remove("priorityClassName");
        } else {
            spec.insert("priorityClassName".into(), name.into());
        }
        if let Some(sent) = spec.get("priority").and_then(Value::as_i64)
            && sent != priority
        {
            let why = format!(
                "the integer value of priority ({sent}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"
            );
            return Err(forbidden(w, pod, &why));
        }
        spec.insert("priority".into(), priority.into());
        if let Some(policy) = policy {
            if let Some(sent) = spec.get("preemptionPolicy").and_then(Value::as_str)
                && sent != policy
            {
                let why = format!(
                    "the string value of PreemptionPolicy ({sent}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
                );
                return Err(forbidden(w, pod, &why));
            }
            spec.insert("preemptionPolicy".into(), policy.into());
        }
        Ok(())
    }

    /// `getDefaultPriorityClass`: the `globalDefault` class, the lowest value if (by a race)
    /// there are several.
    fn default_priority_class(&self) -> Option<Value> {
        self.objects
            .get(PRIORITYCLASSES_KEY)?
            .values()
            .map(|s| s.value())
            .filter(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
            .min_by_key(|c| c.get("value").and_then(Value::as_i64).unwrap_or(0))
            .cloned()
    }
}

/// Whether the write is of the core resource `plural`.
fn is_core(w: &Write<'_>, plural: &str) -> bool {
    w.info.group.is_empty() && w.info.plural == plural
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

/// `mountServiceAccountToken`: every init and regular container without a mount at the token
/// path mounts the token volume, which is added when one did and the pod has none yet.
fn mount_token(spec: &mut Map<String, Value>, pass: Option<&Pass>) {
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|n| n.starts_with(TOKEN_VOLUME_PREFIX))
        .map(str::to_owned);
    let volume_name = existing.clone().unwrap_or_else(|| match pass {
        // Pinned across webhook passes, as the pod's generated name is.
        Some(p) => p.generated_name(TOKEN_VOLUME_PREFIX),
        None => crate::meta::generate_name(TOKEN_VOLUME_PREFIX),
    });
    let mount = json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
    let mut needs_volume = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in containers {
            let Some(c) = c.as_object_mut() else {
                continue;
            };
            let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
            let Some(mounts) = mounts.as_array_mut() else {
                continue;
            };
            let mounted = mounts
                .iter()
                .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH));
            if !mounted {
                mounts.push(mount.clone());
                needs_volume = true;
            }
        }
    }
    if existing.is_none() && needs_volume {
        let volume = json!({
            "name": volume_name,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ],
                "defaultMode": PROJECTED_DEFAULT_MODE,
            },
        });
        match spec.get_mut("volumes").and_then(Value::as_array_mut) {
            Some(volumes) => volumes.push(volume),
            None => {
                spec.insert("volumes".into(), json!([volume]));
            }
        }
    }
}

/// `Priority` on update: the priority and policy set at creation stay when the update omits
/// them (validation refuses changing them).
fn keep_priority(pod: &mut Value, old: Option<&Value>) {
    let Some(old_spec) = old.and_then(|o| o.get("spec")) else {
        return;
    };
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for field in ["priority", "preemptionPolicy"] {
        if spec.get(field).is_none_or(Value::is_null)
            && let Some(kept) = old_spec.get(field).filter(|v| !v.is_null())
        {
            spec.insert(field.into(), kept.clone());
        }
    }
}

/// `DefaultTolerationSeconds`: a toleration with an empty key tolerates every taint, one with
/// an empty effect every effect.
fn add_default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let tolerates = |taint: &str, tolerations: &[Value]| {
        tolerations.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if tolerations.is_null() {
        *tolerations = json!([]);
    }
    let Some(tolerations) = tolerations.as_array_mut() else {
        return;
    };
    for taint in [NOT_READY_TAINT, UNREACHABLE_TAINT] {
        if !tolerates(taint, tolerations) {
            tolerations.push(json!({
                "key": taint, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tolerations_are_added_unless_already_tolerated() {
        let mut pod = json!({"spec": {}});
        add_default_tolerations(&mut pod);
        let t = pod["spec"]["tolerations"].as_array().expect("added");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["key"], NOT_READY_TAINT);
        assert_eq!(t[1]["tolerationSeconds"], 300);
        // An empty key tolerates every taint; an empty effect every effect.
        for existing in [
            json!({"operator": "Exists"}),
            json!({"key": NOT_READY_TAINT, "operator": "Exists"}),
        ] {
            let mut pod = json!({"spec": {"tolerations": [existing.clone()]}});
            add_default_tolerations(&mut pod);
            let keys: Vec<&str> = pod["spec"]["tolerations"]
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|t| t["key"].as_str())
                .collect();
            if existing.get("key").is_none() {
                assert!(keys.is_empty(), "{keys:?}");
            } else {
                assert_eq!(keys, [NOT_READY_TAINT, UNREACHABLE_TAINT]);
            }
        }
        // NoSchedule does not tolerate NoExecute.
        let mut pod =
            json!({"spec": {"tolerations": [{"key": UNREACHABLE_TAINT, "effect": "NoSchedule"}]}});
        add_default_tolerations(&mut pod);
        assert_eq!(pod["spec"]["tolerations"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn the_token_is_mounted_once_in_every_container_without_one() {
        let mut spec = json!({
            "initContainers": [{"name": "i"}],
            "containers": [
                {"name": "a"},
                {"name": "b", "volumeMounts": [{"name": "own", "mountPath": TOKEN_MOUNT_PATH}]},
            ],
        });
        let spec = spec.as_object_mut().expect("object");
        mount_token(spec, None);
        let volumes = spec["volumes"].as_array().expect("volume added");
        assert_eq!(volumes.len(), 1);
        let name = volumes[0]["name"].as_str().expect("name");
        assert!(
            name.starts_with(TOKEN_VOLUME_PREFIX) && name.len() == TOKEN_VOLUME_PREFIX.len() + 5
        );
        assert_eq!(spec["initContainers"][0]["volumeMounts"][0]["name"], name);
        assert_eq!(
            spec["containers"][0]["volumeMounts"][0]["mountPath"],
            TOKEN_MOUNT_PATH
        );
        // A container with its own mount at the path keeps it, alone.
        assert_eq!(
            spec["containers"][1]["volumeMounts"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        // Every container has one: nothing is added.
        let mut spec = json!({"containers": [{"name": "b", "volumeMounts": [{"name": "own", "mountPath": TOKEN_MOUNT_PATH}]}]});
        let spec = spec.as_object_mut().expect("object");
        mount_token(spec, None);
        assert!(spec.get("volumes").is_none());
    }

    #[test]
    fn an_update_keeps_the_priority_set_at_creation() {
        let old = json!({"spec": {"priority": 7, "preemptionPolicy": "Never"}});
        let mut new = json!({"spec": {}});
        keep_priority(&mut new, Some(&old));
        assert_eq!(new["spec"], old["spec"]);
        let mut sent = json!({"spec": {"priority": 9}});
        keep_priority(&mut sent, Some(&old));
        assert_eq!(
            sent["spec"]["priority"], 9,
            "validation, not this, refuses a change"
        );
    }
}
