//! Pod Security Standards: the policy library behind kube-apiserver 1.37's `PodSecurity`
//! admission plugin, over `serde_json::Value` objects.
//!
//! This module owns the *policy*, not the wiring: parsing and validating a namespace's
//! `pod-security.kubernetes.io/{enforce,audit,warn}[-version]` labels, running every versioned
//! check of a level on a pod's metadata and spec, and rendering the texts kube puts in its
//! errors and warnings. It follows `staging/src/k8s.io/pod-security-admission/` of
//! kubernetes/kubernetes: `api/constants.go` and `api/helpers.go` (levels, versions,
//! `PolicyToEvaluate`), `policy/checks.go`, `policy/registry.go` (which checks run at which
//! level and version, and in which order), `policy/visitor.go`, `policy/helpers.go` and the
//! `policy/check_*.go` files (one function per check below), and `admission/admission.go`
//! (aggregation, pod-update significance, the namespace-update warnings).
//!
//! Objects are the v1 JSON forms *after* defaulting, as kube's plugin sees them. A field of the
//! wrong JSON type is treated as absent: Go's decoding would have refused it long before.
//!
//! # What the integrator must do (kube's `admission/admission.go`, no plugin configuration)
//! With no `PodSecurityConfiguration` every mode defaults to `privileged:latest` and nothing is
//! exempt (no usernames, namespaces or runtime classes). The plugin is a validating one (it sees
//! objects after defaulting and mutating admission) and handles only CREATE and UPDATE of:
//! - **namespaces**, without subresource: 422 (`Namespace "x" is invalid: <field errors>`) for
//!   a create failing [`validate_namespace_labels`] or an update failing
//!   [`validate_namespace_labels_update`]; an allowed update whose enforce level got stricter
//!   or changed version gets the warnings of [`namespace_update_warnings`].
//! - **pods**, except the subresources `exec`, `attach`, `binding`, `eviction`, `log`,
//!   `portforward`, `proxy` and `status` (so `ephemeralcontainers` and `resize` *are*
//!   evaluated, on the whole pod). An UPDATE is evaluated only if [`is_significant_pod_update`]
//!   (an image changed, a container or init container was added or removed, an ephemeral
//!   container was added or changed image); metadata-only and other spec changes pass unchecked.
//!   The policy is [`policy_from_labels`] of the namespace (invalid labels still evaluate, with
//!   kube's fallbacks). The enforce level runs first: on failure, 403 Forbidden with the message
//!   `violates PodSecurity "<enforce>": <aggregate>`; otherwise, if the warn level fails, the
//!   warning `would violate PodSecurity "<warn>": <aggregate>` (a denied request gets no
//!   warning). Audit annotations (`pod-security.kubernetes.io/audit-violations`, ...) are
//!   optional.
//! - **pod templates** of replicationcontrollers, podtemplates, replicasets, deployments,
//!   statefulsets, daemonsets, jobs and cronjobs, without subresource (so `scale` and `status`
//!   are not checked), found with [`template_pointer`]: never enforced, only the warn level's
//!   warning, on every create and update. A missing template passes.

use crd_schema::go_quote;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

/// The newest policy version this library knows (`sysctls` gained values in v1.37):
/// `latest`, and every version after it, are evaluated as v1.37.
pub const MAX_MINOR_VERSION: u32 = 37;

pub const ENFORCE_LEVEL_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
pub const AUDIT_LEVEL_LABEL: &str = "pod-security.kubernetes.io/audit";
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
pub const WARN_LEVEL_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

// ---------------------------------------------------------------------------------------------
// Levels, versions, policies (api/helpers.go)

/// A Pod Security Standard, least to most restrictive (so `Ord` is kube's `CompareLevels`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    /// kube's `ParseLevel`: case-sensitive.
    pub fn parse(s: &str) -> Result<Level, String> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err("must be one of privileged, baseline, restricted".to_string()),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Level::parse(s)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy version: `latest` or `v1.<minor>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    Latest,
    V { major: u32, minor: u32 },
}

impl Version {
    /// kube's `ParseVersion`: `latest`, or `v1.` and a minor without leading zeros.
    pub fn parse(s: &str) -> Result<Version, String> {
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let minor = s.strip_prefix("v1.").filter(|m| {
            !m.is_empty()
                && m.bytes().all(|b| b.is_ascii_digit())
                && (m.len() == 1 || !m.starts_with('0'))
        });
        // Go parses the minor as an int64; one beyond u32 behaves exactly like u32::MAX
        // (both are newer than every check), so saturate rather than refuse it.
        match minor.map(|m| m.parse::<u64>()) {
            Some(Ok(m)) => Ok(Version::V {
                major: 1,
                minor: u32::try_from(m).unwrap_or(u32::MAX),
            }),
            _ => Err(r#"must be "latest" or "v1.x""#.to_string()),
        }
    }

    /// The minor version whose checks apply: newer versions (and `latest`) are clamped to the
    /// newest known one, as kube's registry does; `None` below v1.0, where no check exists.
    fn effective_minor(&self) -> Option<u32> {
        match *self {
            Version::Latest => Some(MAX_MINOR_VERSION),
            Version::V { major: 0, .. } => None,
            Version::V { major: 1, minor } => Some(minor.min(MAX_MINOR_VERSION)),
            Version::V { .. } => Some(MAX_MINOR_VERSION),
        }
    }
}

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::V { major, minor } => write!(f, "v{major}.{minor}"),
        }
    }
}

/// A level at a version; displays as kube's `restricted:latest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl Default for LevelVersion {
    /// kube's default for every mode without a label (and without configuration).
    fn default() -> Self {
        LevelVersion {
            level: Level::Privileged,
            version: Version::Latest,
        }
    }
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.version)
    }
}

/// The three modes of a namespace's policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

/// One label of a namespace, parsed; an invalid value records kube's field error and counts
/// as `fallback`. A value that is not a string could not have been decoded: absent.
fn parse_label<T>(
    labels: Option<&Map<String, Value>>,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
    fallback: T,
    errs: &mut Vec<(String, String, String)>,
) -> Option<T> {
    let value = labels?.get(key)?.as_str()?;
    Some(parse(value).unwrap_or_else(|msg| {
        errs.push((format!("metadata.labels[{key}]"), value.to_string(), msg));
        fallback
    }))
}

/// kube's `PolicyToEvaluate` with the default policy (`privileged:latest` everywhere), plus
/// its field errors as (field path, invalid value, message), in kube's label order.
fn parse_labels(labels: Option<&Map<String, Value>>) -> (Policy, Vec<(String, String, String)>) {
    use Level::{Privileged, Restricted};
    use Version::Latest;
    let mut errs = Vec::new();
    let e = &mut errs;
    // An invalid enforce level fails closed (restricted), invalid audit and warn levels fail
    // open (privileged), invalid versions count as latest.
    let enforce_level = parse_label(labels, ENFORCE_LEVEL_LABEL, Level::parse, Restricted, e);
    let has_enforce_level = enforce_level.is_some() && e.is_empty();
    let enforce_version = parse_label(labels, ENFORCE_VERSION_LABEL, Version::parse, Latest, e);
    let audit_level = parse_label(labels, AUDIT_LEVEL_LABEL, Level::parse, Privileged, e);
    let audit_version = parse_label(labels, AUDIT_VERSION_LABEL, Version::parse, Latest, e);
    let warn_level = parse_label(labels, WARN_LEVEL_LABEL, Level::parse, Privileged, e);
    let warn_version = parse_label(labels, WARN_VERSION_LABEL, Version::parse, Latest, e);
    let lv = |level: Option<Level>, version: Option<Version>| LevelVersion {
        level: level.unwrap_or(Privileged),
        version: version.unwrap_or(Latest),
    };
    let mut p = Policy {
        enforce: lv(enforce_level, enforce_version),
        audit: lv(audit_level, audit_version),
        warn: lv(warn_level, warn_version),
    };
    // Without a warn label, warn at a (valid) enforce level stricter than the warn default, so
    // that clients hear about what enforce would refuse in workload templates too.
    if warn_level.is_none() && has_enforce_level && p.enforce.level > p.warn.level {
        p.warn.level = p.enforce.level;
        if warn_version.is_none() {
            p.warn.version = p.enforce.version;
        }
    }
    (p, errs)
}

/// kube's `PolicyToEvaluate`: the policy a namespace's labels give, the defaults
/// (`privileged:latest`) for modes without a label, and the errors for invalid label values,
/// formatted as kube's field errors. kube still evaluates with the fallbacks: an invalid
/// enforce level counts as restricted, an invalid audit or warn level as privileged, an invalid
/// version as latest.
pub fn policy_from_labels(labels: Option<&Map<String, Value>>) -> (Policy, Vec<String>) {
    let (p, errs) = parse_labels(labels);
    let errs = errs
        .into_iter()
        .map(|(path, value, msg)| format!("{path}: Invalid value: {}: {msg}", go_quote(&value)))
        .collect();
    (p, errs)
}

/// kube's validation of a namespace's pod-security labels on namespace create: the field
/// errors as (field path, invalid value, message), e.g.
/// `("metadata.labels[pod-security.kubernetes.io/enforce]", "foo", "must be one of privileged, baseline, restricted")`.
pub fn validate_namespace_labels(
    labels: Option<&Map<String, Value>>,
) -> Vec<(String, String, String)> {
    parse_labels(labels).1
}

/// The same on namespace update: kube refuses new label errors only when they differ from the
/// old object's, so a namespace already carrying the same bad labels can still be updated.
pub fn validate_namespace_labels_update(
    old_labels: Option<&Map<String, Value>>,
    new_labels: Option<&Map<String, Value>>,
) -> Vec<(String, String, String)> {
    let new = parse_labels(new_labels).1;
    if new == parse_labels(old_labels).1 {
        Vec::new()
    } else {
        new
    }
}

// ---------------------------------------------------------------------------------------------
// Checks (policy/checks.go, policy/registry.go)

/// A failed check: kube's `ForbiddenReason` and (possibly empty) `ForbiddenDetail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub reason: String,
    pub detail: String,
}

/// Runs one version of a check on (metadata, spec); `None` means allowed.
type CheckFn = fn(&Value, &Value) -> Option<CheckResult>;

struct Versioned {
    /// First v1 minor version this revision applies to, until the next revision's.
    since: u32,
    run: CheckFn,
    /// Baseline checks this restricted revision replaces at restricted level.
    overrides: &'static [&'static str],
}

struct Check {
    id: &'static str,
    level: Level,
    versions: &'static [Versioned],
}

const fn check(id: &'static str, level: Level, versions: &'static [Versioned]) -> Check {
    Check {
        id,
        level,
        versions,
    }
}

/// A revision from v1.`since` on.
const fn at_v(since: u32, run: CheckFn) -> Versioned {
    Versioned {
        since,
        run,
        overrides: &[],
    }
}

/// A restricted revision from v1.`since` on that replaces baseline checks.
const fn overriding(since: u32, run: CheckFn, overrides: &'static [&'static str]) -> Versioned {
    Versioned {
        since,
        run,
        overrides,
    }
}

/// Every default check, in kube's evaluation order: baseline checks sorted by ID (bytewise),
/// then restricted ones sorted by ID (registry.go's `orderedIDs`). From v1.25 several
/// restricted checks exempt `spec.os.name: windows` pods (API validation forbids the fields on
/// them); from v1.35 several exempt pods in a user namespace (`hostUsers: false`, KEP-127).
#[rustfmt::skip]
static CHECKS: &[Check] = &[
    check("appArmorProfile", Level::Baseline, &[at_v(0, app_armor)]),
    check("capabilities_baseline", Level::Baseline, &[at_v(0, |_, s| capabilities_baseline(s))]),
    check("hostNamespaces", Level::Baseline, &[at_v(0, |_, s| host_namespaces(s))]),
    check("hostPathVolumes", Level::Baseline, &[at_v(0, |_, s| host_path_volumes(s))]),
    check("hostPorts", Level::Baseline, &[at_v(0, |_, s| host_ports(s))]),
    check("hostProbesAndHostLifecycle", Level::Baseline, &[at_v(34, |_, s| host_probes(s))]),
    check("privileged", Level::Baseline, &[at_v(0, |_, s| privileged(s))]),
    check("procMount", Level::Baseline, &[
        at_v(0, |_, s| proc_mount(s)),
        at_v(35, |_, s| unless_user_namespace(s, proc_mount)),
    ]),
    check("seLinuxOptions", Level::Baseline, &[
        at_v(0, |_, s| se_linux(s, false)),
        at_v(31, |_, s| se_linux(s, true)), // allows container_engine_t
    ]),
    check("seccompProfile_baseline", Level::Baseline, &[
        at_v(0, seccomp_annotations), // before the seccompProfile field existed
        at_v(19, |_, s| seccomp(s, false)),
    ]),
    check("sysctls", Level::Baseline, &[
        at_v(0, |_, s| sysctls(s, 0)),
        at_v(27, |_, s| sysctls(s, 27)),
        at_v(29, |_, s| sysctls(s, 29)),
        at_v(32, |_, s| sysctls(s, 32)),
        at_v(37, |_, s| sysctls(s, 37)),
    ]),
    check("windowsHostProcess", Level::Baseline, &[at_v(0, |_, s| windows_host_process(s))]),
    check("allowPrivilegeEscalation", Level::Restricted, &[
        at_v(8, |_, s| allow_privilege_escalation(s)), // the field exists since v1.8
        at_v(25, |_, s| unless_windows(s, allow_privilege_escalation)),
    ]),
    check("capabilities_restricted", Level::Restricted, &[
        overriding(22, |_, s| capabilities_restricted(s), &["capabilities_baseline"]),
        overriding(25, |_, s| unless_windows(s, capabilities_restricted), &["capabilities_baseline"]),
    ]),
    // Keeps v1.0's unconditional procMount rule at restricted once baseline relaxed it.
    check("procMount_restricted", Level::Restricted, &[
        overriding(35, |_, s| proc_mount(s), &["procMount"]),
    ]),
    check("restrictedVolumes", Level::Restricted, &[
        overriding(0, |_, s| restricted_volumes(s), &["hostPathVolumes"]),
    ]),
    check("runAsNonRoot", Level::Restricted, &[
        at_v(0, |_, s| run_as_non_root(s)),
        at_v(35, |_, s| unless_user_namespace(s, run_as_non_root)),
    ]),
    check("runAsUser", Level::Restricted, &[
        at_v(23, |_, s| run_as_user(s)),
        at_v(35, |_, s| unless_user_namespace(s, run_as_user)),
    ]),
    check("seccompProfile_restricted", Level::Restricted, &[
        overriding(19, |_, s| seccomp(s, true), &["seccompProfile_baseline"]),
        overriding(25, |_, s| unless_windows(s, |s| seccomp(s, true)), &["seccompProfile_baseline"]),
    ]),
];

/// Every check of `lv` (the revision its version selects), run on a pod's metadata and spec (a
/// Pod's `metadata`/`spec`, or a workload template's `metadata`/`spec`); the failed ones in
/// kube's order. Privileged runs nothing; restricted runs the baseline checks its own checks do
/// not override, then its own.
pub fn check_pod(lv: &LevelVersion, metadata: &Value, spec: &Value) -> Vec<CheckResult> {
    let Some(minor) = lv
        .version
        .effective_minor()
        .filter(|_| lv.level != Level::Privileged)
    else {
        return Vec::new();
    };
    let revision = |c: &Check| c.versions.iter().rev().find(|v| v.since <= minor);
    let overridden: HashSet<&str> = CHECKS
        .iter()
        .filter(|c| c.level == Level::Restricted && lv.level == Level::Restricted)
        .filter_map(revision)
        .flat_map(|v| v.overrides.iter().copied())
        .collect();
    CHECKS
        .iter()
        .filter(|c| c.level <= lv.level && !overridden.contains(c.id))
        .filter_map(revision)
        .filter_map(|v| (v.run)(metadata, spec))
        .collect()
}

impl CheckResult {
    /// kube's placeholder for a check failing without a reason.
    fn reason_or_unknown(&self) -> &str {
        if self.reason.is_empty() {
            "unknown forbidden reason"
        } else {
            &self.reason
        }
    }
}

/// kube's `ForbiddenDetail`: the text after `violates PodSecurity "<lv>": ` (enforce) or
/// `would violate PodSecurity "<lv>": ` (warn, audit): each reason, its detail in parentheses
/// when there is one, joined by `, `.
pub fn aggregate(results: &[CheckResult]) -> String {
    let parts: Vec<String> = results
        .iter()
        .map(|r| match r.detail.as_str() {
            "" => r.reason_or_unknown().to_string(),
            detail => format!("{} ({detail})", r.reason_or_unknown()),
        })
        .collect();
    parts.join(", ")
}

/// kube's `ForbiddenReason`: the reasons alone, as in namespace-update warnings.
pub fn aggregate_reasons(results: &[CheckResult]) -> String {
    let parts: Vec<&str> = results.iter().map(CheckResult::reason_or_unknown).collect();
    parts.join(", ")
}

/// The JSON pointer to the pod template of a workload kube warns about (warn and audit only,
/// never enforced), from its group and plural; `None` for everything else, pods included.
pub fn template_pointer(group: &str, plural: &str) -> Option<&'static str> {
    match (group, plural) {
        ("", "replicationcontrollers")
        | ("apps", "replicasets" | "deployments" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => Some("/spec/template"),
        ("", "podtemplates") => Some("/template"),
        ("batch", "cronjobs") => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// kube's `isSignificantPodUpdate`, on the new and old pod specs: only these changes are
/// evaluated on a pod UPDATE, since the other fields a pod update may change cannot make it
/// less secure (and blocking them would wedge pods admitted under an older policy).
pub fn is_significant_pod_update(new_spec: &Value, old_spec: &Value) -> bool {
    let image = |c: &Value| string(c, &["image"]).unwrap_or_default().to_string();
    for kind in ["containers", "initContainers"] {
        let (new, old) = (list(new_spec, &[kind]), list(old_spec, &[kind]));
        if new.len() != old.len() || new.iter().zip(old).any(|(n, o)| image(n) != image(o)) {
            return true;
        }
    }
    let old = list(old_spec, &["ephemeralContainers"]);
    list(new_spec, &["ephemeralContainers"]).iter().any(|c| {
        match old.iter().find(|o| name(o) == name(c)) {
            None => true, // added
            Some(o) => image(o) != image(c),
        }
    })
}

/// kube's warnings for a namespace update (`ValidateNamespace` and `EvaluatePodsInNamespace`):
/// when the new enforce level is stricter, or its version changed (and it is not privileged),
/// the namespace's existing `pods` (full Pod objects) are checked against it, at most 3000,
/// one pod per controller first. Each distinct set of failed reasons yields one warning naming
/// the alphabetically first pod that has it (`pod (and N other pods): reasons`).
pub fn namespace_update_warnings(
    namespace: &str,
    old_labels: Option<&Map<String, Value>>,
    new_labels: Option<&Map<String, Value>>,
    pods: &[Value],
) -> Vec<String> {
    const MAX_PODS: usize = 3000;
    let (new, old) = (
        parse_labels(new_labels).0.enforce,
        parse_labels(old_labels).0.enforce,
    );
    if new == old
        || new.level == Level::Privileged
        || (new.version == old.version && new.level <= old.level)
    {
        return Vec::new();
    }
    // One pod per controller first, then the other replicas.
    let mut seen = HashSet::new();
    let (mut first, mut rest): (Vec<&Value>, Vec<&Value>) = (Vec::new(), Vec::new());
    for pod in pods {
        let controller = list(pod, &["metadata", "ownerReferences"])
            .iter()
            .find(|r| boolean(r, &["controller"]) == Some(true))
            .map(|r| string(r, &["uid"]).unwrap_or_default());
        match controller {
            Some(uid) if !seen.insert(uid) => rest.push(pod),
            _ => first.push(pod),
        }
    }
    first.extend(rest);
    let mut warnings = Vec::new();
    if first.len() > MAX_PODS {
        warnings.push(format!(
            "new PodSecurity enforce level only checked against the first {MAX_PODS} of {} existing pods",
            first.len()
        ));
    }
    let mut order: Vec<String> = Vec::new();
    let mut counts: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let empty = Value::Null;
    for pod in first.iter().take(MAX_PODS) {
        let results = check_pod(
            &new,
            at(pod, &["metadata"]).unwrap_or(&empty),
            at(pod, &["spec"]).unwrap_or(&empty),
        );
        if results.is_empty() {
            continue;
        }
        let reasons = aggregate_reasons(&results);
        let pod_name = string(pod, &["metadata", "name"]).unwrap_or_default();
        let entry = counts.entry(reasons.clone()).or_insert_with(|| {
            order.push(reasons);
            (pod_name.to_string(), 0)
        });
        if pod_name < entry.0.as_str() {
            entry.0 = pod_name.to_string();
        }
        entry.1 += 1;
    }
    if !order.is_empty() {
        warnings.push(format!(
            "existing pods in namespace {} violate the new PodSecurity enforce level {}",
            go_quote(namespace),
            go_quote(&new.to_string())
        ));
    }
    let mut pod_warnings: Vec<String> = order
        .iter()
        .map(|w| match &counts[w] {
            (pod, 1) => format!("{pod}: {w}"),
            (pod, 2) => format!("{pod} (and 1 other pod): {w}"),
            (pod, n) => format!("{pod} (and {} other pods): {w}", n - 1),
        })
        .collect();
    pod_warnings.sort();
    warnings.extend(pod_warnings);
    warnings
}

// ---------------------------------------------------------------------------------------------
// JSON access and text helpers (policy/visitor.go, policy/helpers.go)

/// The value at `path` through nested objects; `None` if a step is missing, null, or not an
/// object (a wrong type is treated as absent).
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    (!cur.is_null()).then_some(cur)
}

/// Whether a pointer-to-struct field is set (Go: non-nil), i.e. an object is present.
fn is_set(v: &Value, path: &[&str]) -> bool {
    at(v, path).is_some_and(Value::is_object)
}

fn boolean(v: &Value, path: &[&str]) -> Option<bool> {
    at(v, path)?.as_bool()
}

fn string<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str()
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path)?.as_i64()
}

fn list<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The strings of a string list; non-string items are skipped.
fn strings<'a>(v: &'a Value, path: &[&str]) -> impl Iterator<Item = &'a str> {
    list(v, path).iter().filter_map(Value::as_str)
}

fn name(c: &Value) -> String {
    string(c, &["name"]).unwrap_or_default().to_string()
}

/// kube's `visitContainers`: init containers, containers, then ephemeral containers (whose
/// common fields have the same JSON names).
fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |kind| list(spec, &[kind]))
}

/// Names of the containers matching `bad`, in visit order.
fn bad_containers(spec: &Value, mut bad: impl FnMut(&Value) -> bool) -> Vec<String> {
    containers(spec).filter(|c| bad(c)).map(name).collect()
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// kube's `joinQuote`: `"a", "b"`.
fn join_quote<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect();
    items.join(", ")
}

/// `container "a"` / `containers "a", "b"`.
fn containers_phrase(names: &[String]) -> String {
    format!(
        "{} {}",
        plural(names.len(), "container", "containers"),
        join_quote(names)
    )
}

/// `pod`, `containers "a", "b"` or `pod and container "a"`, for checks blaming both levels.
fn setters(pod: bool, containers: &[String]) -> String {
    let mut s: Vec<String> = Vec::new();
    if pod {
        s.push("pod".into());
    }
    if !containers.is_empty() {
        s.push(containers_phrase(containers));
    }
    s.join(" and ")
}

/// From v1.25 some restricted checks exempt pods declaring `spec.os.name: windows`.
fn unless_windows(spec: &Value, check: fn(&Value) -> Option<CheckResult>) -> Option<CheckResult> {
    if string(spec, &["os", "name"]) == Some("windows") {
        None
    } else {
        check(spec)
    }
}

/// From v1.35 some checks exempt pods in a user namespace (`hostUsers: false`, KEP-127).
fn unless_user_namespace(
    spec: &Value,
    check: fn(&Value) -> Option<CheckResult>,
) -> Option<CheckResult> {
    if boolean(spec, &["hostUsers"]) == Some(false) {
        None
    } else {
        check(spec)
    }
}

// ---------------------------------------------------------------------------------------------
// The checks, one per policy/check_*.go

/// A failed result when `failed`; the detail is formatted only then.
fn verdict(failed: bool, reason: &str, detail: impl FnOnce() -> String) -> Option<CheckResult> {
    failed.then(|| CheckResult {
        reason: reason.to_string(),
        detail: detail(),
    })
}

/// check_allowPrivilegeEscalation.go: every container sets allowPrivilegeEscalation=false.
fn allow_privilege_escalation(spec: &Value) -> Option<CheckResult> {
    let key = ["securityContext", "allowPrivilegeEscalation"];
    let bad = bad_containers(spec, |c| boolean(c, &key) != Some(false));
    verdict(!bad.is_empty(), "allowPrivilegeEscalation != false", || {
        let who = containers_phrase(&bad);
        format!("{who} must set securityContext.allowPrivilegeEscalation=false")
    })
}

/// check_appArmorProfile.go: profile types other than RuntimeDefault/Localhost, and the
/// deprecated per-container annotations with values other than runtime/default, localhost/*.
fn app_armor(metadata: &Value, spec: &Value) -> Option<CheckResult> {
    let mut bad_values = BTreeSet::new();
    let mut bad_profile = |v: &Value| {
        let set = is_set(v, &["securityContext", "appArmorProfile"]);
        let t = string(v, &["securityContext", "appArmorProfile", "type"]).unwrap_or_default();
        let bad = set && !matches!(t, "RuntimeDefault" | "Localhost");
        if bad {
            bad_values.insert(t.to_string());
        }
        bad
    };
    let pod = bad_profile(spec);
    let bad = bad_containers(spec, bad_profile);
    let mut annotations: Vec<String> = at(metadata, &["annotations"])
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, v.as_str()?)))
        .filter(|(k, v)| {
            k.starts_with("container.apparmor.security.beta.kubernetes.io/")
                && !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/"))
        })
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    annotations.sort();
    let mut who = setters(pod, &bad);
    if !annotations.is_empty() {
        let a = plural(annotations.len(), "annotation", "annotations");
        who = if who.is_empty() {
            a.to_string()
        } else {
            format!("{who} and {a}")
        };
    }
    let values: Vec<String> = bad_values.into_iter().chain(annotations).collect();
    let reason = plural(
        values.len(),
        "forbidden AppArmor profile",
        "forbidden AppArmor profiles",
    );
    verdict(!who.is_empty(), reason, || {
        format!(
            "{who} must not set AppArmor profile type to {}",
            join_quote(&values)
        )
    })
}

/// check_capabilities_baseline.go: only the default capability set may be added.
fn capabilities_baseline(spec: &Value) -> Option<CheckResult> {
    #[rustfmt::skip]
    const ALLOWED: &[&str] = &[
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
        "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    ];
    let mut caps = BTreeSet::new();
    let bad = bad_containers(spec, |c| {
        let added = strings(c, &["securityContext", "capabilities", "add"]);
        let forbidden: Vec<&str> = added.filter(|a| !ALLOWED.contains(a)).collect();
        caps.extend(forbidden.iter().map(|a| a.to_string()));
        !forbidden.is_empty()
    });
    verdict(!bad.is_empty(), "non-default capabilities", || {
        let (who, caps) = (containers_phrase(&bad), join_quote(&caps));
        format!("{who} must not include {caps} in securityContext.capabilities.add")
    })
}

/// check_capabilities_restricted.go: every container drops ALL and adds at most
/// NET_BIND_SERVICE.
fn capabilities_restricted(spec: &Value) -> Option<CheckResult> {
    let missing_drop = bad_containers(spec, |c| {
        !is_set(c, &["securityContext", "capabilities"])
            || !strings(c, &["securityContext", "capabilities", "drop"]).any(|d| d == "ALL")
    });
    let mut caps = BTreeSet::new();
    let adding = bad_containers(spec, |c| {
        let added = strings(c, &["securityContext", "capabilities", "add"]);
        let forbidden: Vec<&str> = added.filter(|a| *a != "NET_BIND_SERVICE").collect();
        caps.extend(forbidden.iter().map(|a| a.to_string()));
        !forbidden.is_empty()
    });
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        let who = containers_phrase(&missing_drop);
        details.push(format!(
            r#"{who} must set securityContext.capabilities.drop=["ALL"]"#
        ));
    }
    if !adding.is_empty() {
        let (who, caps) = (containers_phrase(&adding), join_quote(&caps));
        details.push(format!(
            "{who} must not include {caps} in securityContext.capabilities.add"
        ));
    }
    verdict(!details.is_empty(), "unrestricted capabilities", || {
        details.join("; ")
    })
}

/// check_hostNamespaces.go: no host network, PID or IPC namespace.
fn host_namespaces(spec: &Value) -> Option<CheckResult> {
    let used: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|f| boolean(spec, &[f]) == Some(true))
        .map(|f| format!("{f}=true"))
        .collect();
    verdict(!used.is_empty(), "host namespaces", || used.join(", "))
}

/// check_hostPathVolumes.go: no hostPath volume (at restricted, restrictedVolumes covers it).
fn host_path_volumes(spec: &Value) -> Option<CheckResult> {
    let volumes = list(spec, &["volumes"]).iter();
    let bad: Vec<String> = volumes
        .filter(|v| is_set(v, &["hostPath"]))
        .map(name)
        .collect();
    verdict(!bad.is_empty(), "hostPath volumes", || {
        format!(
            "{} {}",
            plural(bad.len(), "volume", "volumes"),
            join_quote(&bad)
        )
    })
}

/// check_hostPorts.go: no container port with a hostPort.
fn host_ports(spec: &Value) -> Option<CheckResult> {
    // kube sorts the ports as strings (a sets.String).
    let mut ports = BTreeSet::new();
    let bad = bad_containers(spec, |c| {
        let mut any = false;
        for port in list(c, &["ports"]) {
            // An int32 in Go: anything else could not have been decoded.
            if let Some(h) =
                int(port, &["hostPort"]).filter(|h| *h != 0 && i32::try_from(*h).is_ok())
            {
                ports.insert(h.to_string());
                any = true;
            }
        }
        any
    });
    verdict(!bad.is_empty(), "hostPort", || {
        let list: Vec<String> = ports.iter().cloned().collect();
        format!(
            "{} {} {} {}",
            containers_phrase(&bad),
            plural(bad.len(), "uses", "use"),
            plural(ports.len(), "hostPort", "hostPorts"),
            list.join(", ")
        )
    })
}

/// check_hostProbesAndhostLifecycle.go (v1.34+): probes and lifecycle handlers may not name a
/// `host` (which would let the kubelet reach other hosts on the pod's behalf).
fn host_probes(spec: &Value) -> Option<CheckResult> {
    const HANDLERS: &[&[&str]] = &[
        &["livenessProbe"],
        &["readinessProbe"],
        &["startupProbe"],
        &["lifecycle", "postStart"],
        &["lifecycle", "preStop"],
    ];
    // Both sorted and deduplicated, as kube's sets.
    let (mut bad, mut hosts) = (BTreeSet::new(), BTreeSet::new());
    for c in containers(spec) {
        for handler in HANDLERS {
            for action in ["httpGet", "tcpSocket"] {
                let path: Vec<&str> = handler.iter().copied().chain([action, "host"]).collect();
                if let Some(host) = string(c, &path).filter(|h| !h.is_empty()) {
                    bad.insert(name(c));
                    hosts.insert(host.to_string());
                }
            }
        }
    }
    verdict(!bad.is_empty(), "probe or lifecycle host", || {
        format!(
            "{} {} {} {} {}",
            plural(bad.len(), "container", "containers"),
            join_quote(&bad),
            plural(bad.len(), "uses", "use"),
            plural(
                hosts.len(),
                "probe or lifecycle host",
                "probe or lifecycle hosts"
            ),
            join_quote(&hosts)
        )
    })
}

/// check_privileged.go: no privileged container.
fn privileged(spec: &Value) -> Option<CheckResult> {
    let key = ["securityContext", "privileged"];
    let bad = bad_containers(spec, |c| boolean(c, &key) == Some(true));
    verdict(!bad.is_empty(), "privileged", || {
        format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&bad)
        )
    })
}

/// check_procMount_baseline.go / _restricted.go: procMount, when set, must be Default.
fn proc_mount(spec: &Value) -> Option<CheckResult> {
    let mut types = BTreeSet::new();
    let bad = bad_containers(spec, |c| {
        let bad = string(c, &["securityContext", "procMount"]).filter(|t| *t != "Default");
        types.extend(bad.map(str::to_string));
        bad.is_some()
    });
    verdict(!bad.is_empty(), "procMount", || {
        let (who, types) = (containers_phrase(&bad), join_quote(&types));
        format!("{who} must not set securityContext.procMount to {types}")
    })
}

/// check_restrictedVolumes.go: only the volume types safe in any pod.
fn restricted_volumes(spec: &Value) -> Option<CheckResult> {
    #[rustfmt::skip]
    const ALLOWED: &[&str] = &[
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
        "persistentVolumeClaim", "projected", "secret",
    ];
    // In kube's order of precedence; the JSON name is also the name reported.
    #[rustfmt::skip]
    const RESTRICTED: &[&str] = &[
        "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
        "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
        "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
        "scaleIO", "storageos",
    ];
    let (mut bad, mut types) = (Vec::new(), BTreeSet::new());
    for v in list(spec, &["volumes"]) {
        if ALLOWED.iter().any(|t| is_set(v, &[t])) {
            continue;
        }
        // A volume without any known source is an emptyDir once defaulted (kube's
        // SetDefaults_Volume), so kube never sees one: it passes here too.
        if let Some(t) = RESTRICTED.iter().find(|t| is_set(v, &[t])) {
            bad.push(name(v));
            types.insert(*t);
        }
    }
    verdict(!bad.is_empty(), "restricted volume types", || {
        format!(
            "{} {} {} {} {}",
            plural(bad.len(), "volume", "volumes"),
            join_quote(&bad),
            plural(bad.len(), "uses", "use"),
            plural(
                types.len(),
                "restricted volume type",
                "restricted volume types"
            ),
            join_quote(&types)
        )
    })
}

/// check_runAsNonRoot.go: runAsNonRoot=true on the pod or on every container, and false nowhere.
fn run_as_non_root(spec: &Value) -> Option<CheckResult> {
    let key = ["securityContext", "runAsNonRoot"];
    let pod = boolean(spec, &key);
    let explicit = bad_containers(spec, |c| boolean(c, &key) == Some(false));
    let implicit = bad_containers(spec, |c| pod != Some(true) && boolean(c, &key).is_none());
    if pod == Some(false) || !explicit.is_empty() {
        let who = setters(pod == Some(false), &explicit);
        return verdict(true, "runAsNonRoot != true", || {
            format!("{who} must not set securityContext.runAsNonRoot=false")
        });
    }
    verdict(!implicit.is_empty(), "runAsNonRoot != true", || {
        let who = containers_phrase(&implicit);
        format!("pod or {who} must set securityContext.runAsNonRoot=true")
    })
}

/// check_runAsUser.go: runAsUser is never 0.
fn run_as_user(spec: &Value) -> Option<CheckResult> {
    let key = ["securityContext", "runAsUser"];
    let pod = int(spec, &key) == Some(0);
    let bad = bad_containers(spec, |c| int(c, &key) == Some(0));
    verdict(pod || !bad.is_empty(), "runAsUser=0", || {
        format!("{} must not set runAsUser=0", setters(pod, &bad))
    })
}

/// check_seLinuxOptions.go: only container SELinux types, and no user or role.
fn se_linux(spec: &Value, engine_type_allowed: bool) -> Option<CheckResult> {
    let (mut types, mut user, mut role) = (BTreeSet::new(), false, false);
    let mut invalid = |v: &Value| {
        if !is_set(v, &["securityContext", "seLinuxOptions"]) {
            return false;
        }
        let field = |f| string(v, &["securityContext", "seLinuxOptions", f]).unwrap_or_default();
        let t = field("type");
        let type_ok = matches!(
            t,
            "" | "container_t" | "container_init_t" | "container_kvm_t"
        ) || (engine_type_allowed && t == "container_engine_t");
        if !type_ok {
            types.insert(t.to_string());
        }
        let (has_user, has_role) = (!field("user").is_empty(), !field("role").is_empty());
        user |= has_user;
        role |= has_role;
        !type_ok || has_user || has_role
    };
    let pod = invalid(spec);
    let bad = bad_containers(spec, invalid);
    verdict(pod || !bad.is_empty(), "seLinuxOptions", || {
        let mut data = Vec::new();
        if !types.is_empty() {
            data.push(format!(
                "{} {}",
                plural(types.len(), "type", "types"),
                join_quote(&types)
            ));
        }
        if user {
            data.push("user may not be set".to_string());
        }
        if role {
            data.push("role may not be set".to_string());
        }
        let who = setters(pod, &bad);
        format!(
            "{who} set forbidden securityContext.seLinuxOptions: {}",
            data.join("; ")
        )
    })
}

/// check_seccompProfile_baseline.go before v1.19: the deprecated seccomp annotations may only
/// name runtime/default, docker/default or localhost/*.
fn seccomp_annotations(metadata: &Value, spec: &Value) -> Option<CheckResult> {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let pod_key = "seccomp.security.alpha.kubernetes.io/pod".to_string();
    let container_keys = containers(spec)
        .map(|c| format!("container.seccomp.security.alpha.kubernetes.io/{}", name(c)));
    let bad: BTreeSet<String> = std::iter::once(pod_key)
        .chain(container_keys)
        .filter_map(|k| {
            let v = string(metadata, &["annotations", k.as_str()])?;
            (!valid(v)).then(|| format!("{k}={}", go_quote(v)))
        })
        .collect();
    verdict(!bad.is_empty(), "seccompProfile", || {
        let list: Vec<String> = bad.iter().cloned().collect();
        format!(
            "forbidden {} {}",
            plural(bad.len(), "annotation", "annotations"),
            list.join(", ")
        )
    })
}

/// check_seccompProfile_baseline.go (v1.19+) and check_seccompProfile_restricted.go: a set
/// seccompProfile type must be RuntimeDefault or Localhost; at restricted every container must
/// also be covered by its own or the pod's valid profile.
fn seccomp(spec: &Value, restricted: bool) -> Option<CheckResult> {
    let mut bad_values = BTreeSet::new();
    // Some(valid) when the object sets a profile.
    let mut profile = |v: &Value| {
        if !is_set(v, &["securityContext", "seccompProfile"]) {
            return None;
        }
        let t = string(v, &["securityContext", "seccompProfile", "type"]).unwrap_or_default();
        let valid = matches!(t, "RuntimeDefault" | "Localhost");
        if !valid {
            bad_values.insert(t.to_string());
        }
        Some(valid)
    };
    let pod = profile(spec);
    let (mut explicit, mut implicit) = (Vec::new(), Vec::new());
    for c in containers(spec) {
        match profile(c) {
            Some(false) => explicit.push(name(c)),
            None if pod != Some(true) => implicit.push(name(c)),
            _ => {}
        }
    }
    if pod == Some(false) || !explicit.is_empty() {
        let (who, values) = (
            setters(pod == Some(false), &explicit),
            join_quote(&bad_values),
        );
        return verdict(true, "seccompProfile", || {
            format!("{who} must not set securityContext.seccompProfile.type to {values}")
        });
    }
    verdict(restricted && !implicit.is_empty(), "seccompProfile", || {
        let who = containers_phrase(&implicit);
        format!(
            r#"pod or {who} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#
        )
    })
}

/// check_sysctls.go: only the namespaced, isolated sysctls allowed at `minor`.
fn sysctls(spec: &Value, minor: u32) -> Option<CheckResult> {
    // (first minor version allowing it, name)
    const SAFE: &[(u32, &str)] = &[
        (0, "kernel.shm_rmid_forced"),
        (0, "net.ipv4.ip_local_port_range"),
        (0, "net.ipv4.tcp_syncookies"),
        (0, "net.ipv4.ping_group_range"),
        (0, "net.ipv4.ip_unprivileged_port_start"),
        (27, "net.ipv4.ip_local_reserved_ports"),
        (29, "net.ipv4.tcp_keepalive_time"),
        (29, "net.ipv4.tcp_fin_timeout"),
        (29, "net.ipv4.tcp_keepalive_intvl"),
        (29, "net.ipv4.tcp_keepalive_probes"),
        (32, "net.ipv4.tcp_rmem"),
        (32, "net.ipv4.tcp_wmem"),
        (37, "net.ipv4.tcp_slow_start_after_idle"),
        (37, "net.ipv4.tcp_notsent_lowat"),
    ];
    let safe = |n: &str| SAFE.iter().any(|(since, s)| *since <= minor && *s == n);
    let bad: Vec<&str> = list(spec, &["securityContext", "sysctls"])
        .iter()
        .map(|s| string(s, &["name"]).unwrap_or_default())
        .filter(|n| !safe(n))
        .collect();
    verdict(!bad.is_empty(), "forbidden sysctls", || bad.join(", "))
}

/// check_windowsHostProcess.go: no Windows HostProcess pod or container.
fn windows_host_process(spec: &Value) -> Option<CheckResult> {
    let key = ["securityContext", "windowsOptions", "hostProcess"];
    let pod = boolean(spec, &key) == Some(true);
    let bad = bad_containers(spec, |c| boolean(c, &key) == Some(true));
    verdict(pod || !bad.is_empty(), "hostProcess", || {
        let who = setters(pod, &bad);
        format!("{who} must not set securityContext.windowsOptions.hostProcess=true")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lv(level: Level, version: Version) -> LevelVersion {
        LevelVersion { level, version }
    }
    const RESTRICTED: LevelVersion = LevelVersion {
        level: Level::Restricted,
        version: Version::Latest,
    };
    const BASELINE: LevelVersion = LevelVersion {
        level: Level::Baseline,
        version: Version::Latest,
    };
    fn v1(minor: u32) -> Version {
        Version::V { major: 1, minor }
    }

    /// A pod passing restricted:latest, to be broken one field at a time.
    fn good() -> Value {
        json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "i", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "v", "emptyDir": {}}]
        })
    }

    /// Applies a JSON merge patch (RFC 7386) to `good()`; arrays are replaced whole.
    fn tweak(patch: Value) -> Value {
        fn merge(target: &mut Value, patch: &Value) {
            match (target.as_object_mut(), patch.as_object()) {
                (Some(t), Some(p)) => {
                    for (k, v) in p {
                        if v.is_null() {
                            t.remove(k);
                        } else {
                            merge(t.entry(k.clone()).or_insert(Value::Null), v);
                        }
                    }
                }
                _ => *target = patch.clone(),
            }
        }
        let mut pod = good();
        merge(&mut pod, &patch);
        pod
    }

    fn run(lv: LevelVersion, spec: &Value) -> String {
        aggregate(&check_pod(&lv, &json!({}), spec))
    }

    fn container(extra: Value) -> Value {
        let mut c = good()["containers"][0].clone();
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        c
    }

    #[test]
    fn table_is_in_kube_order() {
        let ids = |level| {
            CHECKS
                .iter()
                .filter(|c| c.level == level)
                .map(|c| c.id)
                .collect::<Vec<_>>()
        };
        for level in [Level::Baseline, Level::Restricted] {
            let mut sorted = ids(level);
            sorted.sort();
            assert_eq!(ids(level), sorted);
        }
        let first_restricted = CHECKS
            .iter()
            .position(|c| c.level == Level::Restricted)
            .unwrap();
        assert!(
            CHECKS[first_restricted..]
                .iter()
                .all(|c| c.level == Level::Restricted)
        );
        assert_eq!(CHECKS.len(), 19);
        for c in CHECKS {
            assert!(
                c.versions.windows(2).all(|w| w[0].since < w[1].since),
                "{}",
                c.id
            );
        }
    }

    #[test]
    fn good_pod_passes_everything() {
        for minor in 0..=40 {
            for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
                assert_eq!(run(lv(level, v1(minor)), &good()), "", "{level} v1.{minor}");
            }
        }
        assert!(check_pod(&RESTRICTED, &Value::Null, &Value::Null).is_empty());
        assert_eq!(
            run(
                lv(Level::Privileged, Version::Latest),
                &tweak(json!({"hostPID": true}))
            ),
            ""
        );
    }

    #[test]
    fn every_check_fails_at_latest() {
        let cases: Vec<(LevelVersion, Value, &str)> = vec![
            (
                BASELINE,
                tweak(json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}})),
                r#"forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")"#,
            ),
            (
                BASELINE,
                tweak(
                    json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": ["NET_RAW", "CHOWN", "SYS_ADMIN"]}}}))]}),
                ),
                r#"non-default capabilities (container "c" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)"#,
            ),
            (
                BASELINE,
                tweak(json!({"hostNetwork": true, "hostIPC": true})),
                "host namespaces (hostNetwork=true, hostIPC=true)",
            ),
            (
                BASELINE,
                tweak(
                    json!({"volumes": [{"name": "a", "hostPath": {"path": "/"}}, {"name": "b", "hostPath": {}}]}),
                ),
                r#"hostPath volumes (volumes "a", "b")"#,
            ),
            (
                BASELINE,
                tweak(
                    json!({"containers": [container(json!({"ports": [{"hostPort": 9}, {"hostPort": 80}, {"containerPort": 1}]}))]}),
                ),
                r#"hostPort (container "c" uses hostPorts 80, 9)"#,
            ),
            (
                BASELINE,
                tweak(
                    json!({"containers": [container(json!({"livenessProbe": {"httpGet": {"host": "h", "port": 1}}, "lifecycle": {"preStop": {"tcpSocket": {"host": "a", "port": 1}}}}))]}),
                ),
                r#"probe or lifecycle host (container "c" uses probe or lifecycle hosts "a", "h")"#,
            ),
            (
                BASELINE,
                tweak(
                    json!({"initContainers": [container(json!({"name": "i", "securityContext": {"privileged": true}}))]}),
                ),
                r#"privileged (container "i" must not set securityContext.privileged=true)"#,
            ),
            (
                BASELINE,
                tweak(
                    json!({"containers": [container(json!({"securityContext": {"procMount": "Unmasked"}}))]}),
                ),
                r#"procMount (container "c" must not set securityContext.procMount to "Unmasked")"#,
            ),
            (
                BASELINE,
                tweak(
                    json!({"securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "u"}}}),
                ),
                r#"seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)"#,
            ),
            (
                BASELINE,
                tweak(json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})),
                r#"seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")"#,
            ),
            (
                BASELINE,
                tweak(
                    json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax"}, {"name": "net.ipv4.tcp_rmem"}]}}),
                ),
                "forbidden sysctls (kernel.msgmax)",
            ),
            (
                BASELINE,
                tweak(json!({"securityContext": {"windowsOptions": {"hostProcess": true}}})),
                "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
            ),
            (
                RESTRICTED,
                tweak(
                    json!({"containers": [container(json!({"securityContext": {"allowPrivilegeEscalation": true, "capabilities": {"drop": ["ALL"]}}}))]}),
                ),
                r#"allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)"#,
            ),
            (
                RESTRICTED,
                tweak(
                    json!({"containers": [container(json!({"securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"]}}}))]}),
                ),
                r#"unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]; container "c" must not include "CHOWN" in securityContext.capabilities.add)"#,
            ),
            (
                RESTRICTED,
                tweak(
                    json!({"volumes": [{"name": "n", "nfs": {}}, {"name": "h", "hostPath": {}}, {"name": "s", "secret": {}}]}),
                ),
                r#"restricted volume types (volumes "n", "h" use restricted volume types "hostPath", "nfs")"#,
            ),
            (
                RESTRICTED,
                tweak(json!({"securityContext": {"runAsNonRoot": null}})),
                r#"runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)"#,
            ),
            (
                RESTRICTED,
                tweak(json!({"securityContext": {"runAsUser": 0}})),
                "runAsUser=0 (pod must not set runAsUser=0)",
            ),
            (
                RESTRICTED,
                tweak(json!({"securityContext": {"seccompProfile": null}})),
                r#"seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#,
            ),
        ];
        for (lv, spec, want) in cases {
            assert_eq!(run(lv, &spec), want);
        }
        // procMount_restricted replaces baseline's procMount at restricted, with the same text.
        let unmasked = tweak(
            json!({"hostUsers": false, "containers": [container(json!({"securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "procMount": "Unmasked"}}))]}),
        );
        assert_eq!(run(BASELINE, &unmasked), "");
        assert_eq!(
            run(RESTRICTED, &unmasked),
            r#"procMount (container "c" must not set securityContext.procMount to "Unmasked")"#
        );
    }

    #[test]
    fn every_check_passes_allowed_values_at_latest() {
        // One pod using, for every check, values the check allows other than "unset".
        let sc = json!({
            "allowPrivilegeEscalation": false, "privileged": false, "runAsNonRoot": true,
            "runAsUser": 1000, "procMount": "Default", "appArmorProfile": {"type": "Localhost"},
            "seccompProfile": {"type": "Localhost", "localhostProfile": "p"},
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            "seLinuxOptions": {"type": "container_engine_t", "level": "s0"},
            "windowsOptions": {"hostProcess": false}});
        let c = json!({"name": "c", "securityContext": sc, "ports": [{"containerPort": 80, "hostPort": 0}],
            "livenessProbe": {"httpGet": {"port": 80, "host": ""}}, "lifecycle": {"preStop": {"tcpSocket": {"port": 1}}}});
        let spec = json!({
            "hostNetwork": false, "hostPID": false, "hostIPC": false, "hostUsers": true,
            "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_slow_start_after_idle", "value": "0"}],
                "appArmorProfile": {"type": "RuntimeDefault"}, "seLinuxOptions": {"type": "container_t"}},
            "initContainers": [c.clone()], "containers": [c.clone()],
            "ephemeralContainers": [c],
            "volumes": [{"name": "a", "configMap": {}}, {"name": "b", "csi": {}}, {"name": "c", "downwardAPI": {}},
                {"name": "d", "ephemeral": {}}, {"name": "e", "image": {}}, {"name": "f", "persistentVolumeClaim": {}},
                {"name": "g", "projected": {}}, {"name": "h", "secret": {}}, {"name": "i"}]});
        let meta = json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/c": "runtime/default"}});
        assert_eq!(aggregate(&check_pod(&RESTRICTED, &meta, &spec)), "");
        let mut baseline = spec.clone();
        baseline["containers"][0]["securityContext"]["capabilities"] =
            json!({"add": ["CHOWN", "KILL"]});
        assert_eq!(aggregate(&check_pod(&BASELINE, &meta, &baseline)), "");
        assert_ne!(aggregate(&check_pod(&RESTRICTED, &meta, &baseline)), "");
    }

    #[test]
    fn apparmor_annotations() {
        let meta = json!({"annotations": {
            "container.apparmor.security.beta.kubernetes.io/e": "unconfined",
            "container.apparmor.security.beta.kubernetes.io/a": "",
            "container.apparmor.security.beta.kubernetes.io/b": "localhost/x",
            "container.apparmor.security.beta.kubernetes.io/c": "runtime/default",
            "container.apparmor.security.beta.kubernetes.io/": "bogus",
            "other": "unconfined"}});
        let spec = tweak(
            json!({"containers": [container(json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}))]}),
        );
        assert_eq!(
            aggregate(&check_pod(&BASELINE, &meta, &spec)),
            concat!(
                r#"forbidden AppArmor profiles (container "c" and annotations must not set AppArmor profile type to "#,
                r#""Unconfined", "container.apparmor.security.beta.kubernetes.io/="bogus"", "#,
                r#""container.apparmor.security.beta.kubernetes.io/e="unconfined"")"#
            )
        );
    }

    #[test]
    fn versioned_verdicts() {
        let sysctl = tweak(
            json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat"}]}}),
        );
        assert_eq!(
            run(lv(Level::Baseline, v1(36)), &sysctl),
            "forbidden sysctls (net.ipv4.tcp_notsent_lowat)"
        );
        assert_eq!(run(lv(Level::Baseline, v1(37)), &sysctl), "");
        assert_eq!(run(lv(Level::Baseline, v1(99)), &sysctl), "");
        let engine =
            tweak(json!({"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}));
        assert_ne!(run(lv(Level::Baseline, v1(30)), &engine), "");
        assert_eq!(run(lv(Level::Baseline, v1(31)), &engine), "");
        // hostProbesAndHostLifecycle appears at v1.34.
        let probe = tweak(
            json!({"containers": [container(json!({"readinessProbe": {"tcpSocket": {"host": "x"}}}))]}),
        );
        assert_eq!(run(lv(Level::Baseline, v1(33)), &probe), "");
        assert_ne!(run(lv(Level::Baseline, v1(34)), &probe), "");
        // User namespaces relax runAsNonRoot/runAsUser/procMount from v1.35.
        let userns = tweak(
            json!({"hostUsers": false, "securityContext": {"runAsNonRoot": false, "runAsUser": 0}}),
        );
        assert_eq!(
            run(lv(Level::Restricted, v1(34)), &userns),
            "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false), runAsUser=0 (pod must not set runAsUser=0)"
        );
        assert_eq!(run(lv(Level::Restricted, v1(35)), &userns), "");
        // Windows pods skip the Linux-only restricted checks from v1.25.
        let windows = json!({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true}, "containers": [{"name": "w"}]});
        assert_eq!(run(lv(Level::Restricted, v1(25)), &windows), "");
        assert_eq!(
            run(lv(Level::Restricted, v1(24)), &windows),
            concat!(
                r#"allowPrivilegeEscalation != false (container "w" must set securityContext.allowPrivilegeEscalation=false), "#,
                r#"unrestricted capabilities (container "w" must set securityContext.capabilities.drop=["ALL"]), "#,
                r#"seccompProfile (pod or container "w" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
            )
        );
        // Before v1.22 restricted only had baseline's capability rule; before v1.8 no
        // allowPrivilegeEscalation; before v1.19 seccomp came from annotations.
        let bare =
            json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "c"}]});
        assert_eq!(run(lv(Level::Restricted, v1(7)), &bare), "");
        let meta = json!({"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/c": "docker/default"}});
        assert_eq!(
            aggregate(&check_pod(&lv(Level::Restricted, v1(7)), &meta, &bare)),
            r#"seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")"#
        );
        assert_eq!(aggregate(&check_pod(&RESTRICTED, &meta, &good())), "");
        assert_eq!(
            run(
                lv(Level::Restricted, Version::V { major: 0, minor: 9 }),
                &bare
            ),
            ""
        );
    }

    #[test]
    fn aggregated_restricted_messages() {
        // The texts `kubectl run` users see for a bare nginx pod in a restricted namespace.
        let nginx = json!({"containers": [{"name": "nginx", "image": "nginx"}]});
        assert_eq!(
            format!(
                "violates PodSecurity \"{RESTRICTED}\": {}",
                run(RESTRICTED, &nginx)
            ),
            concat!(
                r#"violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false), "#,
                r#"unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"]), "#,
                r#"runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), "#,
                r#"seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
            )
        );
        let two = tweak(json!({"containers": [
            container(json!({"name": "a", "securityContext": {"privileged": true}})),
            container(json!({"name": "b", "securityContext": {"privileged": true}}))],
            "volumes": [{"name": "h", "hostPath": {}}]}));
        assert_eq!(
            run(RESTRICTED, &two),
            concat!(
                r#"privileged (containers "a", "b" must not set securityContext.privileged=true), "#,
                r#"allowPrivilegeEscalation != false (containers "a", "b" must set securityContext.allowPrivilegeEscalation=false), "#,
                r#"unrestricted capabilities (containers "a", "b" must set securityContext.capabilities.drop=["ALL"]), "#,
                r#"restricted volume types (volume "h" uses restricted volume type "hostPath")"#
            )
        );
        assert_eq!(
            aggregate(&[
                CheckResult {
                    reason: String::new(),
                    detail: "d".into()
                },
                CheckResult {
                    reason: "r".into(),
                    detail: String::new()
                }
            ]),
            "unknown forbidden reason (d), r"
        );
    }

    #[test]
    fn texts_of_kube_unit_tests() {
        // Cases of policy/check_capabilities_restricted_test.go and check_hostPorts_test.go.
        let caps = json!({"containers": [
            {"name": "a", "securityContext": {"capabilities": {"add": ["FOO", "BAR"]}}},
            {"name": "b", "securityContext": {"capabilities": {"add": ["BAR", "BAZ"]}}},
            {"name": "c", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}}}]});
        assert_eq!(
            capabilities_restricted(&caps).unwrap().detail,
            concat!(
                r#"containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; "#,
                r#"containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add"#
            )
        );
        let ports = json!({"containers": [
            {"name": "a", "ports": [{"hostPort": 0}]},
            {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 20}]},
            {"name": "c", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 30}]}]});
        assert_eq!(
            host_ports(&ports).unwrap().detail,
            r#"containers "b", "c" use hostPorts 10, 20, 30"#
        );
        let se = json!({"securityContext": {"seLinuxOptions": {"type": "foo", "role": "r"}}, "containers": [
            {"name": "e", "securityContext": {"seLinuxOptions": {"type": "bar"}}},
            {"name": "f", "securityContext": {"seLinuxOptions": {"user": "u"}}},
            {"name": "ok", "securityContext": {"seLinuxOptions": {"type": "container_t"}}}]});
        assert_eq!(
            se_linux(&se, true).unwrap().detail,
            r#"pod and containers "e", "f" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; user may not be set; role may not be set"#
        );
    }

    #[test]
    fn explicit_and_pod_level_setters() {
        let spec = json!({
            "securityContext": {"runAsNonRoot": false, "seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "a", "securityContext": {"runAsNonRoot": false, "seccompProfile": {}}}, {"name": "b"}]
        });
        let r = check_pod(&RESTRICTED, &json!({}), &spec);
        let details: Vec<&str> = r.iter().map(|r| r.detail.as_str()).collect();
        assert!(
            details.contains(
                &r#"pod and container "a" must not set securityContext.runAsNonRoot=false"#
            )
        );
        assert!(details.contains(&r#"pod and container "a" must not set securityContext.seccompProfile.type to "", "Unconfined""#));
    }

    #[test]
    fn wrong_types_are_absent() {
        let odd = json!({"containers": "x", "hostPID": "true", "volumes": [null, 3, {"name": "v", "hostPath": "x"}],
            "securityContext": {"sysctls": 1, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{"name": 5, "ports": [{"hostPort": 1.5}], "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL", 7], "add": [null]}}}]});
        assert_eq!(run(RESTRICTED, &odd), "");
        for v in [
            json!(null),
            json!(1),
            json!("s"),
            json!([]),
            json!({"containers": [null]}),
        ] {
            let _ = check_pod(&RESTRICTED, &v, &v);
        }
        assert_eq!(
            run(
                RESTRICTED,
                &json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "Localhost"}}, "containers": [null]})
            ),
            concat!(
                r#"allowPrivilegeEscalation != false (container "" must set securityContext.allowPrivilegeEscalation=false), "#,
                r#"unrestricted capabilities (container "" must set securityContext.capabilities.drop=["ALL"])"#
            )
        );
    }

    #[test]
    fn versions_and_levels_parse() {
        assert_eq!(Version::parse("latest"), Ok(Version::Latest));
        assert_eq!(Version::parse("v1.0"), Ok(v1(0)));
        assert_eq!("v1.25".parse::<Version>(), Ok(v1(25)));
        for bad in [
            "v1.05", "v1.", "1.25", "v2.1", "v1.2a", "Latest", "", "v1.-1",
        ] {
            assert_eq!(
                Version::parse(bad),
                Err(r#"must be "latest" or "v1.x""#.to_string()),
                "{bad}"
            );
        }
        assert_eq!(
            Version::parse("v1.99999999999").unwrap().effective_minor(),
            Some(MAX_MINOR_VERSION)
        );
        assert_eq!(v1(25).to_string(), "v1.25");
        assert_eq!("baseline".parse::<Level>(), Ok(Level::Baseline));
        assert!(Level::parse("Baseline").is_err());
        assert_eq!(lv(Level::Restricted, v1(3)).to_string(), "restricted:v1.3");
        assert_eq!(Level::Baseline.as_str(), "baseline");
    }

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn policy_from_namespace_labels() {
        let priv_latest = LevelVersion::default();
        assert_eq!(policy_from_labels(None), (Policy::default(), vec![]));
        assert_eq!(Policy::default().warn, priv_latest);
        // Warn follows a stricter enforce, with its version, unless warn is labelled.
        let l = labels(
            json!({ENFORCE_LEVEL_LABEL: "baseline", ENFORCE_VERSION_LABEL: "v1.30", AUDIT_LEVEL_LABEL: "restricted"}),
        );
        let (p, errs) = policy_from_labels(Some(&l));
        assert!(errs.is_empty());
        assert_eq!(p.enforce, lv(Level::Baseline, v1(30)));
        assert_eq!(p.audit, lv(Level::Restricted, Version::Latest));
        assert_eq!(p.warn, lv(Level::Baseline, v1(30)));
        let l = labels(json!({ENFORCE_LEVEL_LABEL: "restricted", WARN_VERSION_LABEL: "v1.2"}));
        assert_eq!(
            policy_from_labels(Some(&l)).0.warn,
            lv(Level::Restricted, v1(2))
        );
        let l = labels(json!({ENFORCE_LEVEL_LABEL: "restricted", WARN_LEVEL_LABEL: "privileged"}));
        assert_eq!(policy_from_labels(Some(&l)).0.warn, priv_latest);
        // Invalid values: enforce fails closed, audit/warn open, versions to latest.
        let l = labels(
            json!({ENFORCE_LEVEL_LABEL: "foo", ENFORCE_VERSION_LABEL: "v1.x", AUDIT_LEVEL_LABEL: "bar",
            WARN_LEVEL_LABEL: "Restricted", WARN_VERSION_LABEL: "1.2", "other": "x", AUDIT_VERSION_LABEL: 3}),
        );
        let (p, errs) = policy_from_labels(Some(&l));
        assert_eq!(p.enforce, lv(Level::Restricted, Version::Latest));
        assert_eq!(p.audit, priv_latest);
        assert_eq!(p.warn, priv_latest);
        assert_eq!(errs.len(), 5);
        assert_eq!(
            errs[0],
            r#"metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "foo": must be one of privileged, baseline, restricted"#
        );
        assert_eq!(
            validate_namespace_labels(Some(&l))[1],
            (
                "metadata.labels[pod-security.kubernetes.io/enforce-version]".to_string(),
                "v1.x".to_string(),
                r#"must be "latest" or "v1.x""#.to_string()
            )
        );
        let paths: Vec<String> = validate_namespace_labels(Some(&l))
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(
            paths[2..],
            [
                "metadata.labels[pod-security.kubernetes.io/audit]",
                "metadata.labels[pod-security.kubernetes.io/warn]",
                "metadata.labels[pod-security.kubernetes.io/warn-version]"
            ]
        );
        // An invalid enforce level does not make warn follow it.
        let l2 = labels(json!({ENFORCE_LEVEL_LABEL: "foo"}));
        assert_eq!(policy_from_labels(Some(&l2)).0.warn, priv_latest);
        // Updates may keep the same errors, not add new ones.
        assert!(validate_namespace_labels_update(Some(&l2), Some(&l2)).is_empty());
        assert_eq!(validate_namespace_labels_update(None, Some(&l2)).len(), 1);
        assert_eq!(
            validate_namespace_labels_update(Some(&l), Some(&l2)).len(),
            1
        );
        assert_eq!(go_quote("a\"b\\\n\u{1}\u{a0}é"), r#""a\"b\\\n\x01\u00a0é""#);
    }

    #[test]
    fn templates() {
        assert_eq!(
            template_pointer("apps", "deployments"),
            Some("/spec/template")
        );
        assert_eq!(
            template_pointer("", "replicationcontrollers"),
            Some("/spec/template")
        );
        assert_eq!(template_pointer("", "podtemplates"), Some("/template"));
        assert_eq!(template_pointer("batch", "jobs"), Some("/spec/template"));
        assert_eq!(
            template_pointer("batch", "cronjobs"),
            Some("/spec/jobTemplate/spec/template")
        );
        assert_eq!(template_pointer("", "pods"), None);
        assert_eq!(template_pointer("extensions", "deployments"), None);
        let cj = json!({"spec": {"jobTemplate": {"spec": {"template": {"metadata": {}, "spec": {"hostPID": true}}}}}});
        let t = cj
            .pointer(template_pointer("batch", "cronjobs").unwrap())
            .unwrap();
        assert_eq!(run(BASELINE, &t["spec"]), "host namespaces (hostPID=true)");
    }

    #[test]
    fn significant_updates() {
        let old = json!({"containers": [{"name": "a", "image": "x"}], "ephemeralContainers": [{"name": "e", "image": "y"}]});
        let mut new = old.clone();
        new["activeDeadlineSeconds"] = json!(5);
        new["containers"][0]["securityContext"] = json!({"privileged": true});
        assert!(!is_significant_pod_update(&new, &old));
        new["containers"][0]["image"] = json!("z");
        assert!(is_significant_pod_update(&new, &old));
        let mut new = old.clone();
        new["ephemeralContainers"] =
            json!([{"name": "e", "image": "y"}, {"name": "f", "image": "y"}]);
        assert!(is_significant_pod_update(&new, &old));
        let mut new = old.clone();
        new["initContainers"] = json!([{"name": "i"}]);
        assert!(is_significant_pod_update(&new, &old));
        assert!(!is_significant_pod_update(&json!(null), &json!({})));
    }

    #[test]
    fn namespace_update_pod_warnings() {
        let pod = |name: &str, owner: Option<&str>, spec: Value| {
            let refs: Vec<Value> = owner
                .map(|u| json!({"uid": u, "controller": true}))
                .into_iter()
                .collect();
            json!({"metadata": {"name": name, "ownerReferences": refs}, "spec": spec})
        };
        let pods = vec![
            pod("z", None, json!({"hostPID": true})),
            pod("b", Some("rs"), json!({"hostPID": true})),
            pod("a", Some("rs"), json!({"hostPID": true})),
            pod(
                "c",
                None,
                json!({"hostNetwork": true, "containers": [{"name": "p", "securityContext": {"privileged": true}}]}),
            ),
            pod("ok", None, json!({})),
        ];
        let new = labels(json!({ENFORCE_LEVEL_LABEL: "baseline"}));
        assert_eq!(
            namespace_update_warnings("ns", None, Some(&new), &pods),
            vec![
                r#"existing pods in namespace "ns" violate the new PodSecurity enforce level "baseline:latest""#,
                "a (and 2 other pods): host namespaces",
                "c: host namespaces, privileged",
            ]
        );
        // Loosening, or no change, checks nothing.
        assert!(namespace_update_warnings("ns", Some(&new), Some(&new), &pods).is_empty());
        let old = labels(json!({ENFORCE_LEVEL_LABEL: "restricted"}));
        assert!(namespace_update_warnings("ns", Some(&old), Some(&new), &pods).is_empty());
        // A version change is re-checked even at the same level.
        let v = labels(json!({ENFORCE_LEVEL_LABEL: "baseline", ENFORCE_VERSION_LABEL: "v1.20"}));
        assert_eq!(
            namespace_update_warnings("ns", Some(&new), Some(&v), &pods[..2]).len(),
            2
        );
    }
}
