//! Validates the security settings of pod specs, as kube's `pkg/apis/core/validation` does: the
//! pod's `securityContext` (`validatePodSpecSecurityContext`), each container's
//! (`ValidateSecurityContext`, with `--allow-privileged`'s refusal of privileged containers), the
//! host namespaces of a pod in a user namespace (`validateHostUsers`), and the deprecated seccomp
//! and AppArmor annotations (`ValidateSeccompPodAnnotations`, `ValidateAppArmorPodAnnotations`)
//! with their agreement with the fields on create. The `windowsOptions` of both security
//! contexts are checked by `os`, which owns the OS-specific rules.
//!
//! kube validates its internal types, where `hostNetwork`, `hostPID`, `hostIPC` and
//! `shareProcessNamespace` live in the pod's security context: their errors carry
//! `securityContext` paths although the versioned fields sit on the spec.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::status::Cause;
use crate::validation::Policy;
use crate::validation::core::os;
use crate::validation::field::{self, arr_of, child, index, str_of};

/// `validation.InclusiveRangeError(0, math.MaxInt32)`, the message of `IsValidUserID` and
/// `IsValidGroupID`.
const ID_RANGE: &str = "must be between 0 and 2147483647, inclusive";
/// The largest user or group ID kube takes (`math.MaxInt32`).
const MAX_ID: i64 = i32::MAX as i64;
/// `SysctlMaxLength`.
const SYSCTL_MAX_LEN: usize = 253;
/// `sysctlContainSlashRegexp` as kube prints it.
const SYSCTL_REGEX: &str =
    r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$";
/// The longest AppArmor `localhostProfile` (PATH_MAX - 1).
pub(crate) const MAX_LOCALHOST_PROFILE: usize = 4095;
/// Profile types shared by `seccompProfile` and `appArmorProfile`, in kube's order.
const PROFILE_TYPES: [&str; 3] = ["Localhost", "RuntimeDefault", "Unconfined"];
/// `fsGroupChangePolicy` values (`sets.List`, sorted).
const FS_GROUP_CHANGE_POLICIES: [&str; 2] = ["Always", "OnRootMismatch"];
/// `supplementalGroupsPolicy` values (`sets.List`, sorted).
const SUPPLEMENTAL_GROUPS_POLICIES: [&str; 2] = ["Merge", "Strict"];
/// `seLinuxChangePolicy` values (`sets.List`, sorted). `MountOption` is refused only while the
/// SELinuxChangePolicy and SELinuxMount gates are both off; the first is on by default since 1.33.
const SELINUX_CHANGE_POLICIES: [&str; 2] = ["MountOption", "Recursive"];
/// `procMount` values, in kube's order.
const PROC_MOUNTS: [&str; 2] = ["Default", "Unmasked"];

/// `api.SeccompPodAnnotationKey` (also read by the strategies' warnings).
pub(crate) const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// `api.SeccompContainerAnnotationKeyPrefix`.
pub(crate) const SECCOMP_CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
/// `api.DeprecatedAppArmorAnnotationKeyPrefix` (also read by the Pod strategy's version skew).
pub(crate) const APPARMOR_CONTAINER_PREFIX: &str =
    "container.apparmor.security.beta.kubernetes.io/";
const LOCALHOST_PREFIX: &str = "localhost/";

/// `field.Invalid` of a value kube prints as Go's JSON of one of its internal structs.
fn invalid_go(path: &str, go_value: &str, detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {go_value}: {detail}"),
    )
}

fn present<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|x| !x.is_null())
}

/// `IsValidUserID` / `IsValidGroupID` of `v[f]`, at `path.f`.
fn id_range(v: &Value, f: &str, path: &str, causes: &mut Vec<Cause>) {
    if let Some(id) = present(v, f)
        && id.as_i64().is_some_and(|n| !(0..=MAX_ID).contains(&n))
    {
        causes.push(field::invalid(&child(path, f), id, ID_RANGE));
    }
}

/// A policy field kube checks against a set: any other value, the empty one too, is unsupported.
fn one_of(v: &Value, f: &str, path: &str, allowed: &[&str], causes: &mut Vec<Cause>) {
    if let Some(value) = present(v, f)
        && !value.as_str().is_some_and(|s| allowed.contains(&s))
    {
        causes.push(field::not_supported(&child(path, f), value, allowed));
    }
}

/// Whether the pod shares the host's user namespace: `spec.hostUsers`, true unless set (kube
/// keeps it in the internal pod security context; the versioned field is the spec's).
pub(super) fn host_users(spec: &Value) -> bool {
    spec.get("hostUsers")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// `validateHostUsers` of the spec at `path`: a pod in a user namespace of its own
/// (`hostUsers: false`) may not share the host's network, PID or IPC namespace. kube names the
/// last two `HostPID` and `HostIPC` in the paths (its `Child` calls say so).
pub(super) fn host_users_rules(spec: &Value, path: &str, causes: &mut Vec<Cause>) {
    if host_users(spec) {
        return;
    }
    const MESSAGE: &str = "when `pod.Spec.HostUsers` is false";
    for (f, at) in [
        ("hostNetwork", "hostNetwork"),
        ("hostPID", "HostPID"),
        ("hostIPC", "HostIPC"),
    ] {
        if spec.get(f).and_then(Value::as_bool) == Some(true) {
            causes.push(field::forbidden(&child(path, at), MESSAGE));
        }
    }
}

/// `validatePodSpecSecurityContext` at `path` (`spec`, or a template's `spec.template.spec`).
pub(super) fn pod(spec: &Value, path: &str, causes: &mut Vec<Cause>) {
    let null = Value::Null;
    let sc = spec.get("securityContext").unwrap_or(&null);
    let at = child(path, "securityContext");
    id_range(sc, "fsGroup", &at, causes);
    id_range(sc, "runAsUser", &at, causes);
    id_range(sc, "runAsGroup", &at, causes);
    for (i, gid) in arr_of(sc, "supplementalGroups").iter().enumerate() {
        if gid.as_i64().is_some_and(|n| !(0..=MAX_ID).contains(&n)) {
            causes.push(field::invalid(
                &index(&child(&at, "supplementalGroups"), i),
                gid,
                ID_RANGE,
            ));
        }
    }
    let flag = |f: &str| spec.get(f).and_then(Value::as_bool).unwrap_or(false);
    if flag("shareProcessNamespace") && flag("hostPID") {
        causes.push(field::invalid(
            &child(&at, "shareProcessNamespace"),
            &Value::Bool(true),
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    sysctls(
        arr_of(sc, "sysctls"),
        &child(&at, "sysctls"),
        flag("hostNetwork"),
        flag("hostIPC"),
        causes,
    );
    one_of(
        sc,
        "fsGroupChangePolicy",
        &at,
        &FS_GROUP_CHANGE_POLICIES,
        causes,
    );
    seccomp_profile(sc, &at, causes);
    os::windows_options(sc, &at, causes);
    apparmor_profile(sc, &at, causes);
    one_of(
        sc,
        "supplementalGroupsPolicy",
        &at,
        &SUPPLEMENTAL_GROUPS_POLICIES,
        causes,
    );
    one_of(
        sc,
        "seLinuxChangePolicy",
        &at,
        &SELINUX_CHANGE_POLICIES,
        causes,
    );
}

/// `IsValidSysctlName`: dot- or slash-separated segments of `[a-z0-9]([-_a-z0-9]*[a-z0-9])?`.
fn valid_sysctl_name(name: &str) -> bool {
    name.len() <= SYSCTL_MAX_LEN
        && name.split(['.', '/']).all(|seg| {
            let b = seg.as_bytes();
            let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && alnum(&b[0])
                && alnum(&b[b.len() - 1])
                && b.iter().all(|c| alnum(c) || *c == b'-' || *c == b'_')
        })
}

/// The kernel namespace a sysctl belongs to (component-helpers' `GetNamespace`): `net` or `ipc`.
fn sysctl_namespace(name: &str) -> Option<&'static str> {
    // `NormalizeName`: a name whose first separator is a slash uses slashes for dots.
    let normalized: String = match name.find(['.', '/']) {
        Some(i) if name.as_bytes()[i] == b'/' => name
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => name.to_owned(),
    };
    let prefix = normalized.split('*').next().unwrap_or_default();
    const IPC_NAMES: [&str; 10] = [
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
        "kernel.shm",
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.msg",
    ];
    if IPC_NAMES.contains(&prefix) || prefix.starts_with("fs.mqueue.") {
        Some("ipc")
    } else if prefix.starts_with("net.") {
        Some("net")
    } else {
        None
    }
}

/// `validateSysctls` with `AllowNamespacedSysctlsForHostNetAndHostIPC` off, as on create (kube's
/// strategy relaxes it on update only for a pod that already had such a sysctl).
fn sysctls(list: &[Value], path: &str, host_net: bool, host_ipc: bool, causes: &mut Vec<Cause>) {
    let mut names = HashSet::new();
    for (i, s) in list.iter().enumerate() {
        let at = child(&index(path, i), "name");
        let name = str_of(s, "name");
        if name.is_empty() {
            causes.push(field::required(&at, ""));
        } else if !valid_sysctl_name(name) {
            causes.push(field::invalid_str(
                &at,
                name,
                &format!(
                    "must have at most {SYSCTL_MAX_LEN} characters and match regex {SYSCTL_REGEX}"
                ),
            ));
        } else if names.contains(name) {
            causes.push(field::duplicate(&at, &Value::String(name.into())));
        }
        match sysctl_namespace(name) {
            Some("net") if host_net => causes.push(field::invalid_str(
                &at,
                name,
                "may not be specified when 'hostNetwork' is true",
            )),
            Some("ipc") if host_ipc => causes.push(field::invalid_str(
                &at,
                name,
                "may not be specified when 'hostIPC' is true",
            )),
            _ => {}
        }
        names.insert(name.to_owned());
    }
}

/// Go's JSON of the internal `core.SeccompProfile` / `core.AppArmorProfile`.
fn go_profile(p: &Value) -> Value {
    let mut m = Map::new();
    m.insert("Type".into(), Value::String(str_of(p, "type").to_owned()));
    m.insert(
        "LocalhostProfile".into(),
        present(p, "localhostProfile")
            .cloned()
            .unwrap_or(Value::Null),
    );
    Value::Object(m)
}

/// `validateLocalDescendingPath`: relative, without `..`.
fn local_descending_path(p: &str, path: &str, causes: &mut Vec<Cause>) {
    if p.starts_with('/') {
        causes.push(field::invalid_str(path, p, "must be a relative path"));
    }
    causes.extend(super::volume::no_backsteps(p, path));
}

/// `validateSeccompProfileField` of `sc.seccompProfile`.
fn seccomp_profile(sc: &Value, path: &str, causes: &mut Vec<Cause>) {
    let Some(sp) = present(sc, "seccompProfile") else {
        return;
    };
    let at = child(path, "seccompProfile");
    let kind = str_of(sp, "type");
    match kind {
        "" => causes.push(field::required(
            &child(&at, "type"),
            "type is required when seccompProfile is set",
        )),
        k if PROFILE_TYPES.contains(&k) => {}
        _ => causes.push(field::not_supported(
            &child(&at, "type"),
            sp.get("type").unwrap_or(&Value::Null),
            &PROFILE_TYPES,
        )),
    }
    let localhost = present(sp, "localhostProfile");
    let lp_path = child(&at, "localhostProfile");
    match (kind, localhost) {
        ("Localhost", None) => causes.push(field::required(
            &lp_path,
            "must be set when seccomp type is Localhost",
        )),
        ("Localhost", Some(p)) => {
            local_descending_path(p.as_str().unwrap_or_default(), &lp_path, causes)
        }
        (_, Some(_)) => causes.push(invalid_go(
            &lp_path,
            &field::go_json(&go_profile(sp)),
            "can only be set when seccomp type is Localhost",
        )),
        (_, None) => {}
    }
}

/// Whether `profile`, an `appArmorProfile` value, passes `ValidateAppArmorProfileField`: the Pod
/// strategy copies a deprecated annotation into the field only then (`registry::pod`).
pub(crate) fn apparmor_profile_is_valid(profile: &Value) -> bool {
    let mut causes = Vec::new();
    apparmor_profile(
        &serde_json::json!({"appArmorProfile": profile}),
        "",
        &mut causes,
    );
    causes.is_empty()
}

/// `ValidateAppArmorProfileField` of `sc.appArmorProfile`.
fn apparmor_profile(sc: &Value, path: &str, causes: &mut Vec<Cause>) {
    let Some(p) = present(sc, "appArmorProfile") else {
        return;
    };
    let at = child(path, "appArmorProfile");
    let lp_path = child(&at, "localhostProfile");
    let localhost = present(p, "localhostProfile");
    const REQUIRED: &str = "must be set when AppArmor type is Localhost";
    match str_of(p, "type") {
        "Localhost" => match localhost.map(|v| v.as_str().unwrap_or_default()) {
            None => causes.push(field::required(&lp_path, REQUIRED)),
            Some(lp) => {
                if lp.trim() != lp {
                    causes.push(field::invalid_str(
                        &lp_path,
                        lp,
                        "must not be padded with whitespace",
                    ));
                } else if lp.is_empty() {
                    causes.push(field::required(&lp_path, REQUIRED));
                }
                if lp.len() > MAX_LOCALHOST_PROFILE {
                    causes.push(field::too_long(&lp_path, MAX_LOCALHOST_PROFILE));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(lp) = localhost {
                causes.push(field::invalid(
                    &lp_path,
                    lp,
                    "can only be set when AppArmor type is Localhost",
                ));
            }
        }
        "" => causes.push(field::required(
            &child(&at, "type"),
            "type is required when appArmorProfile is set",
        )),
        _ => causes.push(field::not_supported(
            &child(&at, "type"),
            p.get("type").unwrap_or(&Value::Null),
            &PROFILE_TYPES,
        )),
    }
}

/// Go's JSON of the internal `core.SecurityContext` (every field, in declaration order).
fn go_security_context(sc: &Value) -> String {
    let empty = field::GO_EMPTY_STRING;
    let nested = |f: &str, fields: &[(&str, &str, Value)]| {
        present(sc, f).map_or(Value::Null, |v| {
            serde_json::from_str(&field::go_struct(v, fields)).unwrap_or(Value::Null)
        })
    };
    let mut m = Map::new();
    m.insert(
        "Capabilities".into(),
        nested(
            "capabilities",
            &[("Add", "add", Value::Null), ("Drop", "drop", Value::Null)],
        ),
    );
    let plain = |f: &str| present(sc, f).cloned().unwrap_or(Value::Null);
    m.insert("Privileged".into(), plain("privileged"));
    m.insert(
        "SELinuxOptions".into(),
        nested(
            "seLinuxOptions",
            &[
                ("User", "user", empty.clone()),
                ("Role", "role", empty.clone()),
                ("Type", "type", empty.clone()),
                ("Level", "level", empty),
            ],
        ),
    );
    m.insert(
        "WindowsOptions".into(),
        nested(
            "windowsOptions",
            &[
                (
                    "GMSACredentialSpecName",
                    "gmsaCredentialSpecName",
                    Value::Null,
                ),
                ("GMSACredentialSpec", "gmsaCredentialSpec", Value::Null),
                ("RunAsUserName", "runAsUserName", Value::Null),
                ("HostProcess", "hostProcess", Value::Null),
            ],
        ),
    );
    for (go, json) in [
        ("RunAsUser", "runAsUser"),
        ("RunAsGroup", "runAsGroup"),
        ("RunAsNonRoot", "runAsNonRoot"),
        ("ReadOnlyRootFilesystem", "readOnlyRootFilesystem"),
        ("AllowPrivilegeEscalation", "allowPrivilegeEscalation"),
        ("ProcMount", "procMount"),
    ] {
        m.insert(go.into(), plain(json));
    }
    for (go, json) in [
        ("SeccompProfile", "seccompProfile"),
        ("AppArmorProfile", "appArmorProfile"),
    ] {
        m.insert(go.into(), present(sc, json).map_or(Value::Null, go_profile));
    }
    field::go_json(&Value::Object(m))
}

/// `ValidateSecurityContext` of container `c` at `path` (its `securityContext`): first, as kube,
/// `privileged: true` is refused when the server runs without `--allow-privileged`
/// ([`Policy::allow_privileged`], on by default, as clusters built by kubeadm or kind run).
pub(super) fn container(
    c: &Value,
    path: &str,
    host_users: bool,
    policy: Policy,
    causes: &mut Vec<Cause>,
) {
    let Some(sc) = present(c, "securityContext") else {
        return;
    };
    let at = child(path, "securityContext");
    if !policy.allow_privileged && present(sc, "privileged").and_then(Value::as_bool) == Some(true)
    {
        causes.push(field::forbidden(
            &child(&at, "privileged"),
            "disallowed by cluster policy",
        ));
    }
    id_range(sc, "runAsUser", &at, causes);
    id_range(sc, "runAsGroup", &at, causes);
    if let Some(pm) = present(sc, "procMount") {
        let pm_path = child(&at, "procMount");
        if !pm.as_str().is_some_and(|s| PROC_MOUNTS.contains(&s)) {
            causes.push(field::not_supported(&pm_path, pm, &PROC_MOUNTS));
        }
        if host_users && pm.as_str() == Some("Unmasked") {
            causes.push(field::invalid(
                &pm_path,
                pm,
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    seccomp_profile(sc, &at, causes);
    if present(sc, "allowPrivilegeEscalation").and_then(Value::as_bool) == Some(false) {
        if present(sc, "privileged").and_then(Value::as_bool) == Some(true) {
            causes.push(invalid_go(
                &at,
                &go_security_context(sc),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let caps = sc.get("capabilities").unwrap_or(&Value::Null);
        for cap in arr_of(caps, "add") {
            if cap.as_str() == Some("CAP_SYS_ADMIN") {
                causes.push(invalid_go(
                    &at,
                    &go_security_context(sc),
                    "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
                ));
            }
        }
    }
    os::windows_options(sc, &at, causes);
    apparmor_profile(sc, &at, causes);
}

/// The containers of a pod spec with their paths, in kube's `VisitContainersWithPath` order:
/// init, regular, then ephemeral containers.
pub(super) fn visit_containers<'a>(spec: &'a Value, path: &str) -> Vec<(&'a Value, String)> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| {
            arr_of(spec, list)
                .iter()
                .enumerate()
                .map(move |(i, c)| (c, index(&child(path, list), i)))
        })
        .collect()
}

/// The pod's annotations, sorted by key (kube ranges over a Go map; sorting makes the order of
/// several causes stable).
fn sorted_annotations(pod: &Value) -> Vec<(&String, &str)> {
    let mut list: Vec<(&String, &str)> = pod
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
        .collect();
    list.sort();
    list
}

/// `ValidateSeccompProfile` of a deprecated seccomp annotation's value.
fn seccomp_annotation(p: &str, path: &str, causes: &mut Vec<Cause>) {
    match p {
        "runtime/default" | "docker/default" | "unconfined" => {}
        _ => match p.strip_prefix(LOCALHOST_PREFIX) {
            Some(rest) => local_descending_path(rest, path, causes),
            None => causes.push(field::invalid_str(
                path,
                p,
                "must be a valid seccomp profile",
            )),
        },
    }
}

/// `ValidateSeccompPodAnnotations` then `ValidateAppArmorPodAnnotations`, part of kube's
/// `ValidatePodSpecificAnnotations`. The seccomp causes are at `metadata.annotations.<key>`
/// (kube's `Child`), the AppArmor ones at `metadata.annotations[<key>]`.
pub(super) fn annotations(pod: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let path = "metadata.annotations";
    let list = sorted_annotations(pod);
    if let Some((k, p)) = list.iter().find(|(k, _)| *k == SECCOMP_POD_ANNOTATION) {
        seccomp_annotation(p, &child(path, k), &mut causes);
    }
    for (k, p) in &list {
        if k.starts_with(SECCOMP_CONTAINER_PREFIX) {
            seccomp_annotation(p, &child(path, k), &mut causes);
        }
    }
    let null = Value::Null;
    let spec = pod.get("spec").unwrap_or(&null);
    for (k, p) in &list {
        let Some(name) = k.strip_prefix(APPARMOR_CONTAINER_PREFIX) else {
            continue;
        };
        let at = field::key(path, k);
        if !visit_containers(spec, "spec")
            .iter()
            .any(|(c, _)| str_of(c, "name") == name)
        {
            causes.push(field::invalid_str(&at, name, "container not found"));
        }
        let known = matches!(*p, "" | "runtime/default" | "unconfined");
        if !known && !p.starts_with(LOCALHOST_PREFIX) {
            causes.push(field::invalid_str(
                &at,
                p,
                &format!("invalid AppArmor profile name: {}", field::quote(p)),
            ));
        }
    }
    causes
}

/// `validateSeccompAnnotationsAndFieldsMatch` / the AppArmor equivalent: `kind` names the
/// mechanism in the messages (`seccomp`, `apparmor`), `runtime_default` the annotation values
/// that stand for `RuntimeDefault`.
fn annotation_matches_field(
    annotation: &str,
    profile: &Value,
    path: &str,
    kind: &str,
    runtime_default: &[&str],
    causes: &mut Vec<Cause>,
) {
    let type_mismatch = || {
        field::forbidden(
            &child(path, "type"),
            &format!("{kind} type in annotation and field must match"),
        )
    };
    match str_of(profile, "type") {
        "Unconfined" if annotation != "unconfined" => causes.push(type_mismatch()),
        "RuntimeDefault" if !runtime_default.contains(&annotation) => causes.push(type_mismatch()),
        "Localhost" => match annotation.strip_prefix(LOCALHOST_PREFIX) {
            None => causes.push(type_mismatch()),
            Some(rest)
                if present(profile, "localhostProfile").and_then(Value::as_str) != Some(rest) =>
            {
                causes.push(field::forbidden(
                    &child(path, "localhostProfile"),
                    &format!("{kind} profile in annotation and field must match"),
                ));
            }
            Some(_) => {}
        },
        _ => {}
    }
}

/// kube's create-only `validateSeccompAnnotationsAndFields` then
/// `validateAppArmorAnnotationsAndFieldsMatchOnCreate`: a deprecated annotation and the field of
/// the same pod or container, when both are set, name the same profile.
pub(super) fn annotations_match_fields(pod: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let null = Value::Null;
    let spec = pod.get("spec").unwrap_or(&null);
    let annotations = pod
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .unwrap_or(&null);
    let annotation = |k: &str| annotations.get(k).and_then(Value::as_str);
    let pod_sc = spec.get("securityContext").unwrap_or(&null);
    const SECCOMP_DEFAULTS: [&str; 2] = ["runtime/default", "docker/default"];
    if let Some(sp) = present(pod_sc, "seccompProfile")
        && let Some(a) = annotation(SECCOMP_POD_ANNOTATION)
    {
        let at = "spec.securityContext.seccompProfile";
        annotation_matches_field(a, sp, at, "seccomp", &SECCOMP_DEFAULTS, &mut causes);
    }
    let containers = visit_containers(spec, "spec");
    for (c, path) in &containers {
        let sc = c.get("securityContext").unwrap_or(&null);
        if let Some(sp) = present(sc, "seccompProfile")
            && let Some(a) = annotation(&format!("{SECCOMP_CONTAINER_PREFIX}{}", str_of(c, "name")))
        {
            let at = child(path, "securityContext.seccompProfile");
            annotation_matches_field(a, sp, &at, "seccomp", &SECCOMP_DEFAULTS, &mut causes);
        }
    }
    let windows = spec
        .get("os")
        .and_then(|os| os.get("name"))
        .and_then(Value::as_str)
        == Some("windows");
    if windows {
        return causes;
    }
    let pod_profile = present(pod_sc, "appArmorProfile");
    for (c, path) in &containers {
        let sc = c.get("securityContext").unwrap_or(&null);
        let Some(profile) = present(sc, "appArmorProfile").or(pod_profile) else {
            continue;
        };
        if let Some(a) = annotation(&format!("{APPARMOR_CONTAINER_PREFIX}{}", str_of(c, "name"))) {
            let at = child(path, "securityContext.appArmorProfile");
            annotation_matches_field(
                a,
                profile,
                &at,
                "apparmor",
                &["runtime/default"],
                &mut causes,
            );
        }
    }
    causes
}

/// The AppArmor part of kube's `ValidatePodSpecificAnnotationUpdates`: a pod's deprecated
/// AppArmor annotations are fixed at create (old keys first, then added ones, each sorted), then
/// [`annotations`] again, as kube repeats `ValidatePodSpecificAnnotations` there.
pub(super) fn annotation_updates(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let (new_list, old_list) = (sorted_annotations(new), sorted_annotations(old));
    let path = "metadata.annotations";
    for (k, v) in &old_list {
        let unchanged = new_list.iter().any(|(nk, nv)| nk == k && nv == v);
        if !unchanged && k.starts_with(APPARMOR_CONTAINER_PREFIX) {
            causes.push(field::forbidden(
                &field::key(path, k),
                "may not remove or update AppArmor annotations",
            ));
        }
    }
    for (k, _) in &new_list {
        let added = !old_list.iter().any(|(ok, _)| ok == k);
        if added && k.starts_with(APPARMOR_CONTAINER_PREFIX) {
            causes.push(field::forbidden(
                &field::key(path, k),
                "may not add AppArmor annotations",
            ));
        }
    }
    causes.extend(annotations(new));
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn sysctl_names_and_namespaces() {
        assert!(valid_sysctl_name("net.ipv4.conf.eno2/100.rp_filter"));
        assert!(valid_sysctl_name("kernel.shm_rmid_forced"));
        for bad in [
            "net..ipv4",
            "-net",
            "net.ipv4_",
            "Net.ipv4",
            &"a".repeat(254),
        ] {
            assert!(!valid_sysctl_name(bad), "{bad}");
        }
        // A slash-first name swaps its separators before the namespace is looked up.
        assert_eq!(
            sysctl_namespace("net/ipv4/conf/eno2.100/rp_filter"),
            Some("net")
        );
        assert_eq!(sysctl_namespace("kernel.shm_rmid_forced"), Some("ipc"));
        assert_eq!(sysctl_namespace("fs.mqueue.msg_max"), Some("ipc"));
        assert_eq!(sysctl_namespace("kernel.msgmax"), Some("ipc"));
        assert_eq!(sysctl_namespace("kernel.pid_max"), None);
        assert_eq!(sysctl_namespace("network.x"), None);
    }

    #[test]
    fn host_ipc_and_ephemeral_containers() {
        let spec = json!({"hostIPC": true,
            "securityContext": {"sysctls": [{"name": "kernel.sem"}, {"name": "net.core.somaxconn"}]}});
        let mut causes = Vec::new();
        pod(&spec, "spec", &mut causes);
        assert_eq!(
            messages(&causes),
            vec![
                "spec.securityContext.sysctls[0].name: Invalid value: \"kernel.sem\": may not be specified when 'hostIPC' is true"
            ]
        );
        let spec = json!({"hostUsers": false,
            "containers": [{"name": "a", "image": "x", "securityContext": {"procMount": "Unmasked"}}],
            "ephemeralContainers": [{"name": "d", "image": "x",
                "securityContext": {"appArmorProfile": {"type": "Unconfined", "localhostProfile": "p"}}}]});
        assert_eq!(
            messages(&super::super::pod::validate_spec(
                &spec,
                "spec",
                Policy::default()
            )),
            vec![
                "spec.ephemeralContainers[0].securityContext.appArmorProfile.localhostProfile: Invalid value: \"p\": can only be set when AppArmor type is Localhost"
            ]
        );
    }

    #[test]
    fn apparmor_annotations_are_fixed_on_update() {
        let key = "container.apparmor.security.beta.kubernetes.io/a";
        let pod = |v: Value| json!({"metadata": {"annotations": v}, "spec": {"containers": [{"name": "a"}]}});
        let old = pod(json!({key: "runtime/default"}));
        assert!(annotation_updates(&old, &old).is_empty());
        assert_eq!(
            messages(&annotation_updates(&pod(json!({key: "unconfined"})), &old)),
            vec![format!(
                "metadata.annotations[{key}]: Forbidden: may not remove or update AppArmor annotations"
            )]
        );
        assert_eq!(
            messages(&annotation_updates(&pod(json!({})), &old)).len(),
            1
        );
    }
}
