//! Validates what a pod spec says about the operating system its containers run on, as kube's
//! `pkg/apis/core/validation` does: `spec.os` and the fields it rules out (`validateOS`, then
//! `validateLinux` or `validateWindows`), the Windows options of security contexts
//! (`validateWindowsSecurityContextOptions`) and Windows HostProcess pods
//! (`validateWindowsHostProcessPod`). Pods and pod templates alike, on create and on update: kube
//! passes none of these rules a `PodValidationOptions` switch and ratchets none of them.
//!
//! As in `security`, kube checks its internal types, where the spec's `hostNetwork`, `hostPID`,
//! `hostIPC`, `hostUsers` and `shareProcessNamespace` sit in the pod's security context (always
//! present after conversion): a Windows pod's are refused at their spec paths whether or not a
//! `securityContext` is written.

use serde_json::Value;

use crate::status::Cause;
use crate::validation::Policy;
use crate::validation::core::security::visit_containers;
use crate::validation::field::{self, child, str_of};

/// `validOS`, sorted as `sets.List` prints it.
pub const OS_NAMES: [&str; 2] = ["linux", "windows"];

/// The pod-level fields `validateWindows` refuses, as paths under the spec (kube's error paths,
/// in kube's order): the `securityContext` ones under it, the host namespace fields of the
/// internal security context at the spec's own paths. `hostPID` and `hostIPC` count as set when
/// true (Go bools), `sysctls` when not empty, the others when present.
pub const WINDOWS_POD_FIELDS: [&str; 15] = [
    "securityContext.appArmorProfile",
    "securityContext.seLinuxOptions",
    "hostUsers",
    "hostPID",
    "hostIPC",
    "securityContext.seccompProfile",
    "securityContext.fsGroup",
    "securityContext.fsGroupChangePolicy",
    "securityContext.sysctls",
    "shareProcessNamespace",
    "securityContext.runAsUser",
    "securityContext.runAsGroup",
    "securityContext.supplementalGroups",
    "securityContext.supplementalGroupsPolicy",
    "securityContext.seLinuxChangePolicy",
];

/// The fields of a container's `securityContext` `validateWindows` refuses, in kube's order.
pub const WINDOWS_CONTAINER_FIELDS: [&str; 10] = [
    "appArmorProfile",
    "seLinuxOptions",
    "seccompProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
    "procMount",
    "runAsUser",
    "runAsGroup",
];

const NOT_FOR_WINDOWS: &str = "cannot be set for a windows pod";
const NOT_FOR_LINUX: &str = "windows options cannot be set for a linux pod";

/// `maxGMSACredentialSpecLengthInKiB`: the credential spec's JSON is at most 64 KiB.
const MAX_GMSA_CREDENTIAL_SPEC_KIB: usize = 64;
/// `maxRunAsUserNameDomainLength`: a `runAsUserName` domain is shorter than this (bytes).
const MAX_USER_NAME_DOMAIN: usize = 256;
/// `maxRunAsUserNameUserLength`: a `runAsUserName` user is at most this long (bytes).
const MAX_USER_NAME_USER: usize = 104;
/// `invalidUserNameCharsRegex`'s characters, as kube's message lists them.
const USER_NAME_FORBIDDEN_CHARS: &str = "\"/\\:;|=,+*?<>@[]";

fn present<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|x| !x.is_null())
}

/// `validNetBiosRegex`: 1 to 15 characters, none of `\ / : * ? " < > |`, not starting with a dot.
fn netbios_domain(domain: &str) -> bool {
    let forbidden = |c: char| "\\/:*?\"<>|".contains(c);
    let mut chars = domain.chars();
    chars
        .next()
        .is_some_and(|first| !forbidden(first) && first != '.')
        && domain.chars().count() <= 15
        && chars.all(|c| !forbidden(c))
}

/// `validWindowsUserDomainDNSRegex`: dot-separated labels of 1 to 63 letters, digits and dashes,
/// starting and ending with a letter or digit (any case).
fn dns_domain(domain: &str) -> bool {
    domain.split('.').all(|label| {
        let b = label.as_bytes();
        let alnum = |c: &u8| c.is_ascii_alphanumeric();
        (1..=63).contains(&b.len())
            && alnum(&b[0])
            && alnum(&b[b.len() - 1])
            && b.iter().all(|c| alnum(c) || *c == b'-')
    })
}

/// The messages `validateWindowsSecurityContextOptions` gives a `runAsUserName`: `DOMAIN\USER`
/// or `USER`, lengths in bytes as Go's `len`.
fn run_as_user_name(name: &str) -> Vec<String> {
    if name.is_empty() {
        return vec!["runAsUserName cannot be an empty string".into()];
    }
    // `[[:cntrl:]]` is ASCII's control characters in Go's regexp.
    if name.chars().any(|c| c.is_ascii_control()) {
        return vec!["runAsUserName cannot contain control characters".into()];
    }
    let parts: Vec<&str> = name.split('\\').collect();
    let (domain, user) = match parts.as_slice() {
        [user] => (None, *user),
        [domain, user] => (Some(*domain), *user),
        _ => return vec!["runAsUserName cannot contain more than one backslash".into()],
    };
    let mut errs = Vec::new();
    if domain.unwrap_or_default().len() >= MAX_USER_NAME_DOMAIN {
        errs.push(format!(
            "runAsUserName's Domain length must be under {MAX_USER_NAME_DOMAIN} characters"
        ));
    }
    if let Some(d) = domain
        && !(netbios_domain(d) || dns_domain(d))
    {
        errs.push("runAsUserName's Domain doesn't match the NetBios nor the DNS format".into());
    }
    if user.is_empty() {
        errs.push("runAsUserName's User cannot be empty".into());
    } else if user.len() > MAX_USER_NAME_USER {
        errs.push(format!(
            "runAsUserName's User length must not be longer than {MAX_USER_NAME_USER} characters"
        ));
    }
    if !user.is_empty() && user.chars().all(|c| c == '.' || c == ' ') {
        errs.push("runAsUserName's User cannot contain only periods or spaces".into());
    }
    if user.contains(|c| USER_NAME_FORBIDDEN_CHARS.contains(c)) {
        errs.push(format!(
            "runAsUserName's User cannot contain the following characters: {USER_NAME_FORBIDDEN_CHARS}"
        ));
    }
    errs
}

/// `validateWindowsSecurityContextOptions` of `sc.windowsOptions` (a pod's or a container's
/// security context at `path`). `hostProcess` is checked across the pod by [`host_process`].
pub(super) fn windows_options(sc: &Value, path: &str, causes: &mut Vec<Cause>) {
    let Some(wo) = present(sc, "windowsOptions") else {
        return;
    };
    let at = child(path, "windowsOptions");
    if let Some(name) = present(wo, "gmsaCredentialSpecName") {
        // The name of a GMSACredentialSpec custom resource.
        let text = name.as_str().unwrap_or_default();
        let p = child(&at, "gmsaCredentialSpecName");
        for msg in field::dns1123_subdomain(text) {
            causes.push(field::invalid(&p, name, &msg));
        }
    }
    if let Some(spec) = present(wo, "gmsaCredentialSpec") {
        let len = spec.as_str().unwrap_or_default().len();
        let p = child(&at, "gmsaCredentialSpec");
        if len == 0 {
            causes.push(field::invalid(
                &p,
                spec,
                "gmsaCredentialSpec cannot be an empty string",
            ));
        } else if len > MAX_GMSA_CREDENTIAL_SPEC_KIB * 1024 {
            causes.push(field::invalid(
                &p,
                spec,
                &format!(
                    "gmsaCredentialSpec size must be under {MAX_GMSA_CREDENTIAL_SPEC_KIB} KiB"
                ),
            ));
        }
    }
    if let Some(name) = present(wo, "runAsUserName") {
        let p = child(&at, "runAsUserName");
        for msg in run_as_user_name(name.as_str().unwrap_or_default()) {
            causes.push(field::invalid(&p, name, &msg));
        }
    }
}

/// `windowsOptions.hostProcess` of a security context, if set.
fn host_process_of(v: &Value) -> Option<bool> {
    v.get("securityContext")
        .and_then(|sc| sc.get("windowsOptions"))
        .and_then(|wo| wo.get("hostProcess"))
        .and_then(Value::as_bool)
}

/// `validateWindowsHostProcessPod` of the spec at `path`: a container's `hostProcess` agrees
/// with the pod's where both are set; once any container (init, regular or ephemeral) is a
/// HostProcess container, set or inherited, all must be, the pod must use the host network, and
/// the cluster must allow privileged pods (kube's `capabilities.Get().AllowPrivileged`, the one
/// other place kube consults it besides a container's `privileged`).
pub(super) fn host_process(spec: &Value, path: &str, policy: Policy, causes: &mut Vec<Cause>) {
    let pod = host_process_of(spec);
    let host_network = spec
        .get("hostNetwork")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let containers = visit_containers(spec, path);
    let mut host_process_containers = 0;
    for (c, c_path) in &containers {
        let own = host_process_of(c);
        if let (Some(p), Some(o)) = (pod, own)
            && p != o
        {
            causes.push(field::invalid(
                &child(c_path, "securityContext.windowsOptions.hostProcess"),
                &Value::Bool(o),
                &format!("pod hostProcess value must be identical if both are specified, was {p}"),
            ));
        }
        if own.or(pod) == Some(true) {
            host_process_containers += 1;
        }
    }
    if host_process_containers == 0 {
        return;
    }
    if host_process_containers != containers.len() {
        causes.push(field::invalid_str(
            path,
            "",
            "If pod contains any hostProcess containers then all containers must be HostProcess containers",
        ));
    }
    if !host_network {
        causes.push(field::invalid(
            &child(path, "hostNetwork"),
            &Value::Bool(false),
            "hostNetwork must be true if pod contains any hostProcess containers",
        ));
    }
    if !policy.allow_privileged {
        causes.push(field::forbidden(
            path,
            "hostProcess containers are disallowed by cluster policy",
        ));
    }
}

/// Whether the pod-level field `f` (one of [`WINDOWS_POD_FIELDS`]) is set, as Go sees the
/// internal field.
fn pod_field_set(spec: &Value, f: &str) -> bool {
    let v = match f.strip_prefix("securityContext.") {
        Some(sc_field) => spec
            .get("securityContext")
            .and_then(|sc| present(sc, sc_field)),
        None => present(spec, f),
    };
    match f {
        "hostPID" | "hostIPC" => v.and_then(Value::as_bool) == Some(true),
        "securityContext.sysctls" => v
            .and_then(Value::as_array)
            .is_some_and(|list| !list.is_empty()),
        _ => v.is_some(),
    }
}

/// `validateOS` at `path.os`; when `os.name` is valid, `validateLinux` or `validateWindows`:
/// a Linux pod has no `windowsOptions`, a Windows pod none of the Linux-only fields.
pub(super) fn validate(spec: &Value, path: &str, causes: &mut Vec<Cause>) {
    let Some(os) = present(spec, "os") else {
        return;
    };
    let os_path = child(path, "os");
    let name = str_of(os, "name");
    if name.is_empty() {
        causes.push(field::required(&child(&os_path, "name"), "cannot be empty"));
        return;
    }
    if !OS_NAMES.contains(&name) {
        // kube reports it at `os`, not `os.name`.
        causes.push(field::not_supported(
            &os_path,
            os.get("name").unwrap_or(&Value::Null),
            &OS_NAMES,
        ));
        return;
    }
    let null = Value::Null;
    let pod_sc = spec.get("securityContext").unwrap_or(&null);
    if name == "linux" {
        if present(pod_sc, "windowsOptions").is_some() {
            causes.push(field::forbidden(
                &child(path, "securityContext.windowsOptions"),
                NOT_FOR_LINUX,
            ));
        }
        for (c, c_path) in visit_containers(spec, path) {
            let sc = c.get("securityContext").unwrap_or(&null);
            if present(sc, "windowsOptions").is_some() {
                causes.push(field::forbidden(
                    &child(&c_path, "securityContext.windowsOptions"),
                    NOT_FOR_LINUX,
                ));
            }
        }
        return;
    }
    for f in WINDOWS_POD_FIELDS {
        if pod_field_set(spec, f) {
            causes.push(field::forbidden(&child(path, f), NOT_FOR_WINDOWS));
        }
    }
    for (c, c_path) in visit_containers(spec, path) {
        let Some(sc) = present(c, "securityContext") else {
            continue;
        };
        let sc_path = child(&c_path, "securityContext");
        for f in WINDOWS_CONTAINER_FIELDS {
            if present(sc, f).is_some() {
                causes.push(field::forbidden(&child(&sc_path, f), NOT_FOR_WINDOWS));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn run_as_user_names() {
        for ok in [
            "ContainerUser",
            "NT AUTHORITY\\NETWORK SERVICE",
            "CORP\\svc-app",
            "corp.example.com\\svc",
            "a.b-c\\user name",
        ] {
            assert!(run_as_user_name(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            run_as_user_name("a\\b\\c"),
            vec!["runAsUserName cannot contain more than one backslash"]
        );
        assert_eq!(
            run_as_user_name("\\"),
            vec![
                "runAsUserName's Domain doesn't match the NetBios nor the DNS format",
                "runAsUserName's User cannot be empty",
            ]
        );
        // NetBios names are at most 15 characters; a longer name must be a DNS name.
        assert!(run_as_user_name(&format!("{}\\u", "A".repeat(16))).is_empty());
        assert_eq!(
            run_as_user_name(&format!("{}_\\u", "A".repeat(15))),
            vec!["runAsUserName's Domain doesn't match the NetBios nor the DNS format"]
        );
        assert_eq!(run_as_user_name(".dom\\u").len(), 1);
        assert_eq!(
            run_as_user_name(&format!("{}\\u", "a".repeat(256))),
            vec![
                "runAsUserName's Domain length must be under 256 characters",
                "runAsUserName's Domain doesn't match the NetBios nor the DNS format",
            ]
        );
        assert_eq!(
            run_as_user_name(" . "),
            vec!["runAsUserName's User cannot contain only periods or spaces"]
        );
        assert_eq!(
            run_as_user_name(&"u".repeat(105)),
            vec!["runAsUserName's User length must not be longer than 104 characters"]
        );
        assert_eq!(
            run_as_user_name("a@b"),
            vec![
                "runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]"
            ]
        );
        assert_eq!(
            run_as_user_name("a\u{7f}b"),
            vec!["runAsUserName cannot contain control characters"]
        );
    }

    #[test]
    fn host_process_needs_every_container_and_the_host_network() {
        let spec = json!({
            "securityContext": {"windowsOptions": {"hostProcess": true}},
            "initContainers": [{"name": "i", "securityContext": {"windowsOptions": {"hostProcess": false}}}],
            "containers": [{"name": "a"}],
        });
        let mut causes = Vec::new();
        host_process(
            &spec,
            "spec",
            Policy {
                allow_privileged: false,
            },
            &mut causes,
        );
        assert_eq!(
            messages(&causes),
            vec![
                "spec.initContainers[0].securityContext.windowsOptions.hostProcess: Invalid value: false: pod hostProcess value must be identical if both are specified, was true",
                "spec: Invalid value: \"\": If pod contains any hostProcess containers then all containers must be HostProcess containers",
                "spec.hostNetwork: Invalid value: false: hostNetwork must be true if pod contains any hostProcess containers",
                "spec: Forbidden: hostProcess containers are disallowed by cluster policy",
            ]
        );
        let ok = json!({"hostNetwork": true, "containers": [
            {"name": "a", "securityContext": {"windowsOptions": {"hostProcess": true}}}]});
        let mut causes = Vec::new();
        host_process(&ok, "spec", Policy::default(), &mut causes);
        assert!(causes.is_empty(), "{:?}", messages(&causes));
    }

    #[test]
    fn os_names() {
        let check = |os: Value| {
            let mut causes = Vec::new();
            validate(&json!({"os": os}), "spec", &mut causes);
            messages(&causes)
        };
        assert_eq!(
            check(json!({})),
            vec!["spec.os.name: Required value: cannot be empty"]
        );
        assert_eq!(
            check(json!({"name": "Windows"})),
            vec![
                "spec.os: Unsupported value: \"Windows\": supported values: \"linux\", \"windows\""
            ]
        );
        assert!(check(json!({"name": "linux"})).is_empty());
        assert!(check(json!({"name": "windows"})).is_empty());
    }
}
