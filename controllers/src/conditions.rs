//! Sets status conditions the Kubernetes way: one entry per type, `lastTransitionTime` moves
//! only when the status flips.

use crate::api::{Condition, Time};

/// Condition status `True`.
pub const TRUE: &str = "True";
/// Condition status `False`.
pub const FALSE: &str = "False";

/// Sets the condition `type_` in `conditions`; returns whether anything changed (so the caller
/// can skip a status write when nothing did).
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: &Time,
) -> bool {
    let status = if status { TRUE } else { FALSE };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status == status
                && c.reason == reason
                && c.message == message
                && c.observed_generation == observed_generation
            {
                return false;
            }
            if c.status != status {
                c.last_transition_time = now.clone();
            }
            c.status = status.to_owned();
            c.reason = reason.to_owned();
            c.message = message.to_owned();
            c.observed_generation = observed_generation;
            true
        }
        None => {
            conditions.push(Condition {
                type_: type_.to_owned(),
                status: status.to_owned(),
                reason: reason.to_owned(),
                message: message.to_owned(),
                observed_generation,
                last_transition_time: now.clone(),
            });
            true
        }
    }
}

/// The condition `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == TRUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Time {
        Time(jiff::Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn transition_time_moves_only_on_status_flip() {
        let mut conds = Vec::new();
        assert!(set_condition(
            &mut conds,
            "Ready",
            false,
            "Starting",
            "m",
            Some(1),
            &at(10)
        ));
        assert!(
            !set_condition(
                &mut conds,
                "Ready",
                false,
                "Starting",
                "m",
                Some(1),
                &at(20)
            ),
            "identical: no change"
        );
        assert!(set_condition(
            &mut conds,
            "Ready",
            false,
            "Other",
            "m2",
            Some(1),
            &at(30)
        ));
        assert_eq!(
            conds[0].last_transition_time,
            at(10),
            "same status keeps the time"
        );
        assert!(set_condition(
            &mut conds,
            "Ready",
            true,
            "Done",
            "ok",
            Some(2),
            &at(40)
        ));
        assert_eq!(conds[0].last_transition_time, at(40));
        assert!(is_true(&conds, "Ready"));
        assert!(!is_true(&conds, "Missing"));
        assert_eq!(conds.len(), 1);
        set_condition(&mut conds, "Other", true, "R", "", None, &at(50));
        assert_eq!(conds.len(), 2);
        assert_eq!(find(&conds, "Other").unwrap().reason, "R");
    }
}
