//! kube's `ServiceAccount` admission plugin (`plugin/pkg/admission/serviceaccount`), on a Pod's
//! create: the Pod runs as `default` unless it names a ServiceAccount, which must exist (403
//! otherwise), gets the ServiceAccount's image pull secrets when it has none, and mounts the
//! `kube-api-access-<random>` projected token volume in every container unless automounting is
//! off on the Pod or the ServiceAccount. A mirror pod (a kubelet's copy of a static pod) is left
//! unchanged and refused if it names a ServiceAccount, a Secret or a projected token.
//!
//! It is on when the server keeps the namespaces' default objects (the `default`
//! ServiceAccount, as kube-controller-manager does); with them off (envtest's behaviour, which
//! runs kube-apiserver alone) it is off too, as envtest turns it off
//! (`--disable-admission-plugins=ServiceAccount`), since no Pod could be created otherwise.

use serde_json::{Map, Value, json};

use super::{Inner, Write, creates_core, forbidden};
use crate::admission::webhook::Pass;
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
/// The store key of the objects the plugin reads.
const SERVICEACCOUNTS_KEY: &str = "/serviceaccounts";

impl Inner {
    /// `ServiceAccount`'s `Admit` on a Pod's create.
    pub(super) fn admit_service_account(
        &self,
        w: &Write<'_>,
        pod: &mut Value,
        pass: Option<&Pass>,
    ) -> Result<(), ApiError> {
        if !creates_core(w, "pods") {
            return Ok(());
        }
        let mirror = pod
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION));
        if mirror {
            // The kubelet's mirror of a static pod is left as it is (it would delete a mirror
            // whose spec changed), but may use no ServiceAccount and no Secret (`Validate`).
            return match mirror_pod_refusal(pod) {
                Some(why) => Err(forbidden(w, pod, why)),
                None => Ok(()),
            };
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
}

/// What the plugin's `Validate` refuses in a mirror pod, in its order: a ServiceAccount, any
/// Secret (`podutil.VisitPodSecretNames` over every container), a projected token.
fn mirror_pod_refusal(pod: &Value) -> Option<&'static str> {
    let null = Value::Null;
    let spec = pod.get("spec").unwrap_or(&null);
    if spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty())
    {
        return Some("a mirror pod may not reference service accounts");
    }
    if references_secrets(spec) {
        return Some("a mirror pod may not reference secrets");
    }
    let projects_token = volumes(spec).any(|v| {
        v.pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|s| s.get("serviceAccountToken").is_some_and(|t| !t.is_null()))
    });
    projects_token.then_some("a mirror pod may not use ServiceAccountToken volume projections")
}

fn volumes(spec: &Value) -> impl Iterator<Item = &Value> {
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `VisitPodSecretNames` finds a name: image pull secrets, containers' `envFrom` and
/// `secretKeyRef`s (init, regular and ephemeral), and the volume sources that name a Secret.
fn references_secrets(spec: &Value) -> bool {
    let set = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
    let pull = spec
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let containers = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|l| spec.get(*l).and_then(Value::as_array))
        .flatten();
    let env = containers.clone().any(|c| {
        let from = c
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let vars = c.get("env").and_then(Value::as_array).into_iter().flatten();
        from.clone().any(|f| set(f.get("secretRef")))
            || vars
                .clone()
                .any(|e| set(e.pointer("/valueFrom/secretKeyRef")))
    });
    const SECRET_REFS: [&str; 9] = [
        "/cephfs/secretRef",
        "/cinder/secretRef",
        "/flexVolume/secretRef",
        "/iscsi/secretRef",
        "/rbd/secretRef",
        "/scaleIO/secretRef",
        "/storageos/secretRef",
        "/csi/nodePublishSecretRef",
        "/secret",
    ];
    let volume = volumes(spec).any(|v| {
        SECRET_REFS.iter().any(|p| set(v.pointer(p)))
            || v.pointer("/azureFile/secretName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty())
            || v.pointer("/projected/sources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|s| set(s.get("secret")))
    });
    pull || env || volume
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_pod_may_use_no_service_account_secret_or_token() {
        let mirror = |spec: Value| json!({"spec": spec});
        let c = json!({"name": "c", "image": "i"});
        assert_eq!(
            mirror_pod_refusal(&mirror(json!({"containers": [c]}))),
            None
        );
        assert_eq!(
            mirror_pod_refusal(&mirror(
                json!({"serviceAccountName": "sa", "containers": [c]})
            )),
            Some("a mirror pod may not reference service accounts")
        );
        let secret_env = json!({"name": "c", "image": "i", "env": [
            {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]});
        for spec in [
            json!({"containers": [secret_env]}),
            json!({"containers": [c], "imagePullSecrets": [{"name": "pull"}]}),
            json!({"containers": [c], "volumes": [{"name": "v", "secret": {"secretName": "s"}}]}),
            json!({"containers": [c], "volumes": [{"name": "v", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "s"}}}]}),
            json!({"containers": [c], "volumes": [{"name": "v", "projected": {"sources": [{"secret": {"name": "s"}}]}}]}),
        ] {
            assert_eq!(
                mirror_pod_refusal(&mirror(spec.clone())),
                Some("a mirror pod may not reference secrets"),
                "{spec}"
            );
        }
        let token = json!({"containers": [c], "volumes": [{"name": "v", "projected": {"sources": [
            {"serviceAccountToken": {"path": "t"}}]}}]});
        assert_eq!(
            mirror_pod_refusal(&mirror(token)),
            Some("a mirror pod may not use ServiceAccountToken volume projections")
        );
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
}
