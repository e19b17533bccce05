//! Validates a pod's `Binding` as kube's `ValidatePodBinding` (pkg/apis/core/validation), which
//! `BindingREST.Create` calls itself rather than through a strategy: its errors are not an
//! Invalid Status but a plain error, which kube's handler answers as a 500 with no reason and
//! the aggregate's text (`target.name: Required value`).

use serde_json::Value;

use super::super::field;
use crate::status::{ApiError, Cause};

/// The target kinds a binding may name (kube's list; `<empty>` stands for no kind).
const TARGET_KINDS: &[&str] = &["Node", "<empty>"];

/// `ValidatePodBinding`: the target is a Node (or names no kind) and has a name.
pub fn validate(binding: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let target = |f: &str| {
        binding
            .pointer(&format!("/target/{f}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let kind = target("kind");
    if !kind.is_empty() && kind != "Node" {
        causes.push(field::not_supported(
            "target.kind",
            &Value::String(kind.to_owned()),
            TARGET_KINDS,
        ));
    }
    if target("name").is_empty() {
        causes.push(field::required("target.name", ""));
    }
    causes
}

/// [`validate`] as `BindingREST.Create` returns it: `errs.ToAggregate()`, which is no
/// `APIStatus`, so kube's `ErrorToAPIStatus` makes it a 500 without a reason.
pub fn check(binding: &Value) -> Result<(), ApiError> {
    let mut lines: Vec<String> = Vec::new();
    for c in validate(binding) {
        let line = format!("{}: {}", c.field, c.message);
        // The aggregate prints a repeated message once.
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    match lines.len() {
        0 => Ok(()),
        1 => Err(ApiError::internal_unknown(lines.remove(0))),
        _ => Err(ApiError::internal_unknown(format!(
            "[{}]",
            lines.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_node_target_with_a_name_is_valid() {
        assert!(check(&json!({"target": {"name": "n1"}})).is_ok());
        assert!(check(&json!({"target": {"kind": "Node", "name": "n1"}})).is_ok());
    }

    #[test]
    fn errors_are_kubes_aggregate_as_a_500() {
        let e = check(&json!({"target": {}})).unwrap_err();
        assert_eq!((e.code, e.reason.as_ref()), (500, ""));
        assert_eq!(e.message, "target.name: Required value");
        let e = check(&json!({"target": {"kind": "Pod"}})).unwrap_err();
        assert_eq!(
            e.message,
            r#"[target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>", target.name: Required value]"#
        );
    }
}
