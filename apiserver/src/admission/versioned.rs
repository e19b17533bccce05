//! Shows the objects of a write in the version a rule matched and takes a changed one back (kube's
//! `VersionedAttributes`: admission holds the object in its internal form, and every webhook or
//! policy sees it converted to the kind it matched, its changes converted back).
//!
//! Admission here holds objects in their stored form. Every version of one resource has the same
//! fields, so converting rewrites `apiVersion`; the one exception is the Event, whose
//! `events.k8s.io` form names fields differently from the stored core form (`events`), and which
//! a rule for either API sees under `matchPolicy: Equivalent`.

use serde_json::Value;

/// `obj` as the apiVersion `api_version` shows it.
pub fn to_version(obj: &Value, api_version: &str) -> Value {
    let current = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if current == api_version {
        return obj.clone();
    }
    if obj.get("kind").and_then(Value::as_str) == Some("Event") {
        let is_view = |v: &str| v.split_once('/').map(|(g, _)| g) == Some(crate::events::GROUP);
        match (current, api_version) {
            ("v1", to) if is_view(to) => return crate::events::to_view(obj, to),
            (from, "v1") if is_view(from) => return crate::events::to_core(obj),
            _ => {}
        }
    }
    let mut o = obj.clone();
    o["apiVersion"] = api_version.into();
    o
}

/// What a webhook or policy made of an object shown in `shown` (an apiVersion), back in `stored`
/// (the apiVersion admission holds it in). A change that set another apiVersion itself is left
/// as it made it, for decoding to judge.
pub fn from_version(changed: Value, shown: &str, stored: &str) -> Value {
    if changed.get("apiVersion").and_then(Value::as_str) == Some(shown) {
        to_version(&changed, stored)
    } else {
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_shown_in_the_view_and_taken_back_in_the_stored_form() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "message": "m", "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "R",
            "eventTime": null});
        let view = to_version(&core, "events.k8s.io/v1");
        assert_eq!(view["apiVersion"], "events.k8s.io/v1");
        assert_eq!(view["note"], "m");
        assert_eq!(view["regarding"]["name"], "p");
        assert!(view.get("message").is_none());
        let mut changed = view.clone();
        changed["note"] = "changed".into();
        let back = from_version(changed, "events.k8s.io/v1", "v1");
        assert_eq!(back["apiVersion"], "v1");
        assert_eq!(back["message"], "changed");
        assert_eq!(back["involvedObject"]["name"], "p");
        assert_eq!(
            to_version(&core, "v1"),
            core,
            "the stored form is shown as is"
        );
    }

    #[test]
    fn other_kinds_only_change_their_api_version() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 1}});
        let shown = to_version(&obj, "apps/v1beta2");
        assert_eq!(shown["apiVersion"], "apps/v1beta2");
        assert_eq!(shown["spec"], obj["spec"]);
        assert_eq!(from_version(shown, "apps/v1beta2", "apps/v1"), obj);
    }
}
