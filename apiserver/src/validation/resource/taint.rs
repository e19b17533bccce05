//! DeviceTaintRules: kube's `ValidateDeviceTaintRule`, `ValidateDeviceTaintRuleUpdate` and
//! `ValidateDeviceTaintRuleStatusUpdate`. The only enforced declarative rule of the type, the
//! taint's effect (required, one of the effects), words its errors as the hand-written one
//! and comes last like it, so the hand-written rules are the whole answer; the conditions'
//! declarative rules are alpha (never enforced).

use serde_json::Value;

use super::{
    TAINT_EFFECTS, dns_label, driver_name, obj, opt_str, pool_name, set, string, taint_key_value,
};
use crate::status::Cause;
use crate::validation::field::{self, arr_of, str_of};

/// `DeviceTaintRuleStatusMaxConditions`.
const MAX_CONDITIONS: usize = 8;

/// `ValidateDeviceTaintRule` without ObjectMeta.
pub fn validate_rule(rule: &Value) -> Vec<Cause> {
    spec(obj(rule, "spec"), None)
}

/// `ValidateDeviceTaintRuleUpdate` without ObjectMeta: the create rules, the effect only when
/// it changed.
pub fn validate_rule_update(new: &Value, old: &Value) -> Vec<Cause> {
    spec(obj(new, "spec"), Some(obj(old, "spec")))
}

/// `ValidateDeviceTaintRuleStatusUpdate` without ObjectMeta: the conditions, 8 at most.
pub fn validate_rule_status_update(new: &Value) -> Vec<Cause> {
    let conditions = arr_of(obj(new, "status"), "conditions");
    let mut causes =
        crate::validation::pod_certificate::validate_conditions(conditions, "status.conditions");
    if conditions.len() > MAX_CONDITIONS {
        causes.push(field::too_many(
            "status.conditions",
            conditions.len(),
            MAX_CONDITIONS,
        ));
    }
    causes
}

/// `validateDeviceTaintRuleSpec`.
fn spec(spec: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(sel) = set(spec, "deviceSelector") {
        if let Some(driver) = opt_str(sel, "driver") {
            causes.extend(driver_name("spec.deviceSelector.driver", driver));
        }
        if let Some(pool) = opt_str(sel, "pool") {
            causes.extend(pool_name("spec.deviceSelector.pool", pool));
        }
        if let Some(device) = opt_str(sel, "device") {
            causes.extend(dns_label("spec.deviceSelector.device", device));
        }
    }
    let taint = obj(spec, "taint");
    causes.extend(taint_key_value(taint, "spec.taint"));
    let effect = str_of(taint, "effect");
    let old_effect = old.map(|o| str_of(obj(o, "taint"), "effect"));
    if old_effect != Some(effect) {
        if effect.is_empty() {
            causes.push(field::required("spec.taint.effect", ""));
        } else if !TAINT_EFFECTS.contains(&effect) {
            causes.push(field::not_supported(
                "spec.taint.effect",
                &string(effect),
                &TAINT_EFFECTS,
            ));
        }
    }
    causes
}
