//! Parses and matches label selectors and the field selectors every resource supports.

use serde_json::Value;

use crate::status::ApiError;

/// One label requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed `labelSelector` (all requirements must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits on commas that are not inside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_error(sel: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unable to parse requirement: {why} in label selector {sel:?}"
    ))
}

impl LabelSelector {
    /// Parses the `labelSelector` query syntax: `a=b,c!=d,e in (f,g),h notin (i),j,!k`.
    pub fn parse(sel: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        if sel.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for term in split_terms(sel) {
            let term = term.trim();
            if term.is_empty() {
                return Err(parse_error(
                    sel,
                    "found ',', expected: !, identifier, or 'end of string'",
                ));
            }
            let req = if let Some(key) = term.strip_prefix('!') {
                let key = key.trim();
                if !valid_key(key) {
                    return Err(parse_error(sel, &format!("invalid label key {key:?}")));
                }
                Requirement::NotExists(key.to_owned())
            } else if let Some((k, v)) = term.split_once("!=") {
                Requirement::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = term.split_once("==") {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = term.split_once('=') {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, rest)) = split_set_op(term, " notin ") {
                Requirement::NotIn(k, parse_set(sel, rest)?)
            } else if let Some((k, rest)) = split_set_op(term, " in ") {
                Requirement::In(k, parse_set(sel, rest)?)
            } else {
                Requirement::Exists(term.to_owned())
            };
            let (key, values): (&str, Vec<&str>) = match &req {
                Requirement::Exists(k) | Requirement::NotExists(k) => (k, vec![]),
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, vec![v.as_str()]),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => {
                    (k, vs.iter().map(String::as_str).collect())
                }
            };
            if !valid_key(key) {
                return Err(parse_error(sel, &format!("invalid label key {key:?}")));
            }
            if let Some(bad) = values.iter().find(|v| !valid_value(v)) {
                return Err(parse_error(sel, &format!("invalid label value: {bad:?}")));
            }
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Whether an object's labels satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
        })
    }

    /// No requirements: everything matches.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn split_set_op(term: &str, op: &str) -> Option<(String, String)> {
    let i = term.find(op)?;
    Some((
        term[..i].trim().to_owned(),
        term[i + op.len()..].trim().to_owned(),
    ))
}

fn parse_set(sel: &str, rest: String) -> Result<Vec<String>, ApiError> {
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| parse_error(sel, "expected a parenthesised set of values"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect())
}

/// A parsed `fieldSelector`: terms over `metadata.name`, `metadata.namespace` and the fields the
/// resource declares selectable, each read as kube's field set of the type has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<Term>);

/// One `label=value` or `label!=value` term and how its label's value is read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    label: String,
    equal: bool,
    value: String,
    read: Read,
}

/// How a selectable field's value is computed. Built-in types follow their registry's
/// `ToSelectableFields` (pkg/registry/*/strategy.go), which reads Go structs: an unset bool is
/// "false", an unset integer "0", and a few labels are not the JSON path of their value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// The value at the label's dotted path; a missing field is "" (custom resources too).
    Path,
    /// A bool at this path, "false" when unset (`strconv.FormatBool`).
    Bool(&'static str),
    /// An integer at this path, "0" when unset (`strconv.Itoa`).
    Int(&'static str),
    /// A pod's `status.podIP`: the first of `status.podIPs`.
    FirstPodIp,
    /// A core Event's `source`: `source.component`, else `reportingComponent`.
    EventSource,
}

/// The fields every resource can be selected by (kube-apiserver's DefaultClusterScopedAttr/DefaultNamespaceScopedAttr).
const DEFAULT_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// How a built-in type's selectable `label` is read (labels not listed are plain paths).
fn builtin_read(label: &str) -> Read {
    match label {
        // pods: the internal PodSecurityContext's HostNetwork, a bool.
        "spec.hostNetwork" => Read::Bool("spec.hostNetwork"),
        // nodes
        "spec.unschedulable" => Read::Bool("spec.unschedulable"),
        "status.podIP" => Read::FirstPodIp,
        // events: the reporting component when the deprecated source is empty.
        "source" => Read::EventSource,
        // replicationcontrollers, replicasets
        "status.replicas" => Read::Int("status.replicas"),
        // jobs: the label is `status.successful`, the field `status.succeeded`.
        "status.successful" => Read::Int("status.succeeded"),
        _ => Read::Path,
    }
}

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

/// The value of a dotted field path as a field selector compares it: strings as they are, other
/// scalars in their JSON form, a missing field as "".
fn field_value(obj: &Value, path: &str) -> String {
    match at(obj, path) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn read(obj: &Value, label: &str, how: Read) -> String {
    match how {
        Read::Path => field_value(obj, label),
        Read::Bool(path) => at(obj, path)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string(),
        Read::Int(path) => at(obj, path)
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string(),
        Read::FirstPodIp => obj
            .pointer("/status/podIPs/0/ip")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        Read::EventSource => match field_value(obj, "source.component") {
            c if c.is_empty() => field_value(obj, "reportingComponent"),
            c => c,
        },
    }
}

impl FieldSelector {
    /// Parses `metadata.name=x,metadata.namespace!=y`; `selectable` lists the resource's extra
    /// fields, `builtin` says whether they are read as a built-in type's field set.
    pub fn parse(sel: &str, selectable: &[String], builtin: bool) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        // kube's `parseSelector` skips empty terms: `""`, `"a=b,"` and `"a=b,,c=d"` parse.
        for term in sel.split(',').filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{sel}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            if !DEFAULT_FIELDS.contains(&field) && !selectable.iter().any(|f| f == field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            let read = if builtin && !DEFAULT_FIELDS.contains(&field) {
                builtin_read(field)
            } else {
                Read::Path
            };
            terms.push(Term {
                label: field.to_owned(),
                equal,
                value: value.trim().to_owned(),
                read,
            });
        }
        Ok(Self(terms))
    }

    /// Whether the object satisfies every term.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0
            .iter()
            .all(|t| (read(obj, &t.label, t.read) == t.value) == t.equal)
    }

    /// No terms: everything matches.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same selector reading each field where `stored` says it is kept (a view's field label
    /// conversions, e.g. events.k8s.io's `regarding.name` → `involvedObject.name`).
    pub fn renamed(self, stored: impl Fn(&str) -> &str) -> Self {
        Self(
            self.0
                .into_iter()
                .map(|t| Term {
                    label: stored(&t.label).to_owned(),
                    ..t
                })
                .collect(),
        )
    }
}

/// A label and a field selector together.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    /// Whether the object matches both selectors.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    /// Neither selector restricts anything.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "n", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn label_selector_table() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("app in (web,db)", true),
            ("app notin (web,db)", false),
            ("missing notin (a)", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app=web,tier in (front, back)", true),
            ("app=web,tier=back", false),
        ];
        for (sel, want) in cases {
            assert_eq!(
                LabelSelector::parse(sel).expect(sel).matches(&o),
                want,
                "{sel}"
            );
        }
    }

    #[test]
    fn bad_selectors_are_400() {
        for sel in ["app in web", "a=b,,c", "a=b c", "!"] {
            assert_eq!(LabelSelector::parse(sel).expect_err(sel).code, 400, "{sel}");
        }
        assert_eq!(
            FieldSelector::parse("spec.nodeName=x", &[], true)
                .expect_err("unsupported")
                .code,
            400
        );
        assert_eq!(
            FieldSelector::parse("nonsense", &[], true)
                .expect_err("no operator")
                .code,
            400
        );
    }

    #[test]
    fn declared_fields_are_selectable() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "hostNetwork": true}, "status": {"phase": "Running"}});
        let fields: Vec<String> = ["spec.nodeName", "status.phase", "spec.hostNetwork"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert!(
            FieldSelector::parse("spec.nodeName=n1,status.phase!=Pending", &fields, true)
                .expect("ok")
                .matches(&pod)
        );
        assert!(
            FieldSelector::parse("spec.hostNetwork=true", &fields, true)
                .expect("ok")
                .matches(&pod)
        );
        assert!(
            !FieldSelector::parse("status.phase=Pending", &fields, true)
                .expect("ok")
                .matches(&pod)
        );
    }

    #[test]
    fn field_selector_table() {
        let o = obj(json!({}));
        assert!(
            FieldSelector::parse("metadata.name=n", &[], true)
                .expect("ok")
                .matches(&o)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=n", &[], true)
                .expect("ok")
                .matches(&o)
        );
        assert!(
            FieldSelector::parse("metadata.namespace==ns,metadata.name=n", &[], true)
                .expect("ok")
                .matches(&o)
        );
    }

    #[test]
    fn builtin_fields_read_as_kubes_field_sets() {
        let sel = |s: &str, fields: &[&str], builtin: bool| {
            let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
            FieldSelector::parse(s, &fields, builtin).expect("parses")
        };
        let node = json!({"metadata": {"name": "n"}, "spec": {}});
        // An unset bool is "false" in the field set of a Node...
        assert!(sel("spec.unschedulable=false", &["spec.unschedulable"], true).matches(&node));
        assert!(!sel("spec.unschedulable=true", &["spec.unschedulable"], true).matches(&node));
        // ...but a custom resource's missing field is "".
        assert!(!sel("spec.unschedulable=false", &["spec.unschedulable"], false).matches(&node));
        let pod =
            json!({"spec": {}, "status": {"podIPs": [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}]}});
        assert!(sel("spec.hostNetwork=false", &["spec.hostNetwork"], true).matches(&pod));
        assert!(sel("status.podIP=10.0.0.7", &["status.podIP"], true).matches(&pod));
        let job = json!({"status": {"succeeded": 2}});
        assert!(sel("status.successful=2", &["status.successful"], true).matches(&job));
        assert!(sel("status.replicas=0", &["status.replicas"], true).matches(&json!({})));
        let event = json!({"source": {"component": "kubelet"}});
        assert!(sel("source=kubelet", &["source"], true).matches(&event));
        let reported = json!({"reportingComponent": "ctrl"});
        assert!(sel("source=ctrl", &["source"], true).matches(&reported));
    }
}
