//! kube's `Priority` admission plugin (`plugin/pkg/admission/priority`): a new Pod's `priority`
//! and `preemptionPolicy` come from its PriorityClass, or from the global default class, or are
//! 0 and `PreemptLowerPriority`; a Pod that names a missing class, or sets a priority or policy
//! other than its class's, is refused (403); an update keeps them. Its validating half refuses
//! a second `globalDefault` PriorityClass.

use serde_json::Value;

use super::{Inner, Write, forbidden, is_core};
use crate::admission::Operation;
use crate::meta::meta_str;
use crate::status::ApiError;

/// The store key of the PriorityClasses.
const PRIORITYCLASSES_KEY: &str = "scheduling.k8s.io/priorityclasses";
/// `scheduling.DefaultPriorityWhenNoDefaultClassExists` and the policy that goes with it.
const NO_CLASS_PRIORITY: i64 = 0;
const DEFAULT_PREEMPTION_POLICY: &str = "PreemptLowerPriority";

impl Inner {
    /// `Priority`'s `Admit`: on a Pod's create the class's values, on an update the kept ones.
    pub(super) fn admit_priority(&self, w: &Write<'_>, pod: &mut Value) -> Result<(), ApiError> {
        if !is_core(w, "pods") {
            return Ok(());
        }
        match w.operation {
            Operation::Create => self.admit_new_pod_priority(w, pod),
            Operation::Update => {
                keep_priority(pod, w.old_object);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The validating half: `Priority`'s one global default PriorityClass.
    pub(super) fn validate_priority_class(&self, w: &Write<'_>) -> Result<(), ApiError> {
        if !w.subresource.is_empty()
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

    /// `Priority`'s `admitPod` on create.
    fn admit_new_pod_priority(&self, w: &Write<'_>, pod: &mut Value) -> Result<(), ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
