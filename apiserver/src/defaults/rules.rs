//! The rule vocabulary of the defaulting tables and the small JSON helpers the rules share.

use serde_json::{Map, Value, json};

/// A JSON object of a built-in type.
pub type Obj = Map<String, Value>;

/// A literal default value.
#[derive(Debug, Clone, Copy)]
pub enum Lit {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    /// `{}`: a Go pointer to an empty struct (e.g. `securityContext`, a label selector matching all).
    EmptyObject,
}

impl Lit {
    fn value(self) -> Value {
        match self {
            Lit::Str(s) => s.into(),
            Lit::Int(i) => i.into(),
            Lit::Bool(b) => b.into(),
            Lit::EmptyObject => json!({}),
        }
    }
}

/// One defaulting rule of a type.
#[derive(Debug)]
pub enum Rule {
    /// The field takes the value when absent or null (a Go pointer left nil, or a Go string left "").
    Set(&'static str, Lit),
    /// The field takes the value when absent, null, `0` or `""`: a Go value field, whose zero
    /// value means "unset" (e.g. `Probe.timeoutSeconds`).
    SetNonZero(&'static str, Lit),
    /// A conditional default. `sets` names every (type, field) it may set, for the drift test.
    Fn {
        sets: &'static [(&'static str, &'static str)],
        apply: fn(&mut Obj),
    },
}

impl Rule {
    pub(super) fn run(&self, obj: &mut Obj) {
        match self {
            Rule::Set(field, lit) => {
                let unset = match obj.get(*field) {
                    None | Some(Value::Null) => true,
                    Some(Value::String(s)) => s.is_empty() && matches!(lit, Lit::Str(_)),
                    Some(_) => false,
                };
                if unset {
                    obj.insert((*field).into(), lit.value());
                }
            }
            Rule::SetNonZero(field, lit) => {
                if is_zero(obj.get(*field)) {
                    obj.insert((*field).into(), lit.value());
                }
            }
            Rule::Fn { apply, .. } => apply(obj),
        }
    }
}

/// The defaulting rules of one Go type (named as in `smp::schema`, e.g. `api::core::v1::Container`).
#[derive(Debug)]
pub struct TypeRules {
    pub ty: &'static str,
    pub rules: &'static [Rule],
}

/// Absent, null, `""`, `0` or `false`: Go's zero value, which kube treats as "not set".
pub fn is_zero(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::Bool(b)) => !b,
        Some(_) => false,
    }
}

/// Absent or null: a Go pointer left nil.
pub fn is_nil(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// The string value of `field`, "" when absent or not a string.
pub fn str_of<'a>(obj: &'a Obj, field: &str) -> &'a str {
    obj.get(field).and_then(Value::as_str).unwrap_or("")
}

/// `obj[field]` as an object, created (replacing a null or absent value) when needed; None when
/// the field holds something else (a malformed body: validation answers it, defaulting leaves it).
pub fn child<'a>(obj: &'a mut Obj, field: &str) -> Option<&'a mut Obj> {
    if is_nil(obj.get(field)) {
        obj.insert(field.into(), json!({}));
    }
    obj.get_mut(field).and_then(Value::as_object_mut)
}

/// Sets `field` to `value` when it is absent or null.
pub fn set_nil(obj: &mut Obj, field: &str, value: Value) {
    if is_nil(obj.get(field)) {
        obj.insert(field.into(), value);
    }
}

/// Sets `field` to `value` when it holds Go's zero value.
pub fn set_zero(obj: &mut Obj, field: &str, value: Value) {
    if is_zero(obj.get(field)) {
        obj.insert(field.into(), value);
    }
}

/// kube's image pull policy default (`parsers.ParseImageName`): `Always` for the tag `latest`,
/// which is also what an image with neither tag nor digest means; `IfNotPresent` otherwise.
pub fn pull_policy_for(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, !digest.is_empty()),
        None => (image, false),
    };
    if name.is_empty() {
        // Not a parsable reference: kube's parser fails and the tag stays "".
        return "IfNotPresent";
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, t)| t).unwrap_or("");
    let tag = if tag.is_empty() && !digest {
        "latest"
    } else {
        tag
    };
    if tag == "latest" {
        "Always"
    } else {
        "IfNotPresent"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        for (image, want) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.27", "IfNotPresent"),
            ("registry:5000/team/app", "Always"),
            ("registry:5000/team/app:v2", "IfNotPresent"),
            ("nginx@sha256:0123", "IfNotPresent"),
            ("nginx:latest@sha256:0123", "Always"),
            ("", "IfNotPresent"),
        ] {
            assert_eq!(pull_policy_for(image), want, "{image}");
        }
    }

    #[test]
    fn set_keeps_explicit_values_and_set_non_zero_replaces_zero() {
        let mut obj: Obj = serde_json::from_value(json!({"a": 0, "b": 0, "c": ""})).unwrap();
        Rule::Set("a", Lit::Int(1)).run(&mut obj);
        Rule::SetNonZero("b", Lit::Int(1)).run(&mut obj);
        Rule::Set("c", Lit::Str("x")).run(&mut obj);
        Rule::Set("d", Lit::Bool(true)).run(&mut obj);
        assert_eq!(
            Value::Object(obj),
            json!({"a": 0, "b": 1, "c": "x", "d": true})
        );
    }
}
