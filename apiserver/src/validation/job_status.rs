//! Validates a Job's `/status` writes as kube's `ValidateJobUpdateStatus` does
//! (pkg/apis/batch/validation), with the options kube's Job status strategy
//! (`getStatusValidationOptions`, pkg/registry/batch/job/strategy.go) derives from the old and
//! new Job.
//!
//! The strategy's first branch applies: `JobManagedBy` is GA and locked on since 1.35
//! (`JobBackoffLimitPerIndex` GA since 1.33, `JobPodReplacementPolicy` and `JobSuccessPolicy`
//! GA too), so every transition rule is on, most of them only when the fields they guard
//! changed: a status that already breaks a rule does not block an unrelated write, and the Job
//! controller gets a sync to repair a status a spec edit just invalidated.

use jiff::Timestamp;
use serde_json::Value;

use super::field::{self, go_struct, go_time};
use super::selector::invalid_go;
use crate::status::Cause;

/// kube's `JobStatusValidationOptions`, one flag per rule.
#[derive(Debug, Default, Clone, Copy)]
struct Options {
    reject_decreasing_succeeded_counter: bool,
    reject_decreasing_failed_counter: bool,
    reject_disabling_terminal_condition: bool,
    reject_invalid_completed_indexes: bool,
    reject_invalid_failed_indexes: bool,
    reject_failed_indexes_overlapping_completed: bool,
    reject_completed_indexes_for_non_indexed_job: bool,
    reject_failed_indexes_for_no_backoff_limit_per_index: bool,
    reject_failed_job_without_failure_target: bool,
    reject_complete_job_without_success_criteria_met: bool,
    reject_finished_job_with_active_pods: bool,
    reject_finished_job_without_start_time: bool,
    reject_finished_job_with_uncounted_terminated_pods: bool,
    reject_start_time_update_for_unsuspended_job: bool,
    reject_completion_time_before_start_time: bool,
    reject_mutating_completion_time: bool,
    reject_complete_job_without_completion_time: bool,
    reject_not_complete_job_with_completion_time: bool,
    reject_complete_job_with_failed_condition: bool,
    reject_complete_job_with_failure_target_condition: bool,
    allow_for_success_criteria_met_in_extended_scope: bool,
    reject_more_ready_than_active_pods: bool,
    reject_finished_job_with_terminating_pods: bool,
}

/// A read-only view of one Job as the status rules see it (Go's zero values for absent fields).
struct Job<'a> {
    spec: &'a Value,
    status: &'a Value,
}

impl<'a> Job<'a> {
    fn new(obj: &'a Value) -> Self {
        Job {
            spec: obj.get("spec").unwrap_or(&Value::Null),
            status: obj.get("status").unwrap_or(&Value::Null),
        }
    }

    /// A status field, None when absent or null (a nil pointer).
    fn get(&self, f: &str) -> Option<&'a Value> {
        self.status.get(f).filter(|v| !v.is_null())
    }

    /// An `int32` status count, 0 when unset.
    fn count(&self, f: &str) -> i64 {
        self.get(f).and_then(Value::as_i64).unwrap_or(0)
    }

    /// A `*int32` status count.
    fn opt_count(&self, f: &str) -> Option<i64> {
        self.get(f).and_then(Value::as_i64)
    }

    fn str(&self, f: &str) -> Option<&'a str> {
        self.get(f).and_then(Value::as_str)
    }

    fn spec_int(&self, f: &str) -> Option<i64> {
        self.spec.get(f).and_then(Value::as_i64)
    }

    /// `IsConditionTrue`: a condition of this type with status True.
    fn condition_true(&self, kind: &str) -> bool {
        self.get("conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == kind && c["status"] == "True")
    }

    /// `IsConditionFalse`.
    fn condition_false(&self, kind: &str) -> bool {
        self.get("conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == kind && c["status"] == "False")
    }

    fn complete(&self) -> bool {
        self.condition_true("Complete")
    }

    fn failed(&self) -> bool {
        self.condition_true("Failed")
    }

    fn finished(&self) -> bool {
        self.complete() || self.failed()
    }

    fn success_criteria_met(&self) -> bool {
        self.condition_true("SuccessCriteriaMet")
    }

    fn failure_target(&self) -> bool {
        self.condition_true("FailureTarget")
    }

    fn indexed(&self) -> bool {
        self.spec.get("completionMode").and_then(Value::as_str) == Some("Indexed")
    }

    /// A `*metav1.Time` status field: the instant, or its text when it does not parse.
    fn time(&self, f: &str) -> Option<Time> {
        self.str(f).map(Time::new)
    }

    /// `UncountedTerminatedPods` as Semantic.DeepEqual compares it: a nil pointer differs from
    /// an empty struct, nil and empty uid lists are equal.
    fn uncounted(&self) -> Option<(Vec<&'a Value>, Vec<&'a Value>)> {
        let u = self.get("uncountedTerminatedPods")?;
        let list = |f: &str| -> Vec<&'a Value> {
            u.get(f)
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        };
        Some((list("succeeded"), list("failed")))
    }
}

/// A `metav1.Time` compared as Go compares it (the instant) and printed as kube prints it.
#[derive(Debug, Clone, PartialEq)]
enum Time {
    At(Timestamp),
    Text(String),
}

impl Time {
    fn new(text: &str) -> Self {
        text.parse()
            .map_or_else(|_| Time::Text(text.to_owned()), Time::At)
    }
}

/// kube's `getStatusValidationOptions`, JobManagedBy branch.
fn options(new: &Job, old: &Job) -> Options {
    let finished_changed = old.finished() != new.finished();
    let complete_changed = old.complete() != new.complete();
    let failed_changed = old.failed() != new.failed();
    let failure_target_changed = old.failure_target() != new.failure_target();
    let success_criteria_met_changed = old.success_criteria_met() != new.success_criteria_met();
    let completed_indexes_changed =
        old.str("completedIndexes").unwrap_or("") != new.str("completedIndexes").unwrap_or("");
    let failed_indexes_changed = old.str("failedIndexes") != new.str("failedIndexes");
    let active_changed = old.count("active") != new.count("active");
    let ready_changed = old.opt_count("ready") != new.opt_count("ready");
    let terminating_changed = old.opt_count("terminating") != new.opt_count("terminating");
    let start_time_changed = old.time("startTime") != new.time("startTime");
    let completion_time_changed = old.time("completionTime") != new.time("completionTime");
    let uncounted_changed = old.uncounted() != new.uncounted();
    // kubernetes#132144: a suspended Job with completions=0 completes without ever starting.
    let suspended_with_zero_completions = new.spec.get("suspend") == Some(&Value::Bool(true))
        && new.spec_int("completions") == Some(0);
    // kubernetes#134521: the controller resets startTime when a Job resumes.
    let resuming = old.condition_true("Suspended") && new.condition_false("Suspended");
    Options {
        // Indexed Jobs with parallelism = completions may be scaled down.
        reject_decreasing_succeeded_counter: !new.indexed()
            || new.spec_int("completions") != new.spec_int("parallelism"),
        reject_decreasing_failed_counter: true,
        reject_disabling_terminal_condition: true,
        reject_invalid_completed_indexes: completed_indexes_changed,
        reject_invalid_failed_indexes: failed_indexes_changed,
        reject_completed_indexes_for_non_indexed_job: completed_indexes_changed,
        reject_failed_indexes_for_no_backoff_limit_per_index: failed_indexes_changed,
        reject_failed_indexes_overlapping_completed: failed_indexes_changed
            || completed_indexes_changed,
        reject_failed_job_without_failure_target: failed_changed || failed_indexes_changed,
        reject_complete_job_without_success_criteria_met: complete_changed
            || success_criteria_met_changed,
        reject_finished_job_with_active_pods: finished_changed || active_changed,
        reject_finished_job_without_start_time: (finished_changed || start_time_changed)
            && !suspended_with_zero_completions,
        reject_finished_job_with_uncounted_terminated_pods: finished_changed || uncounted_changed,
        reject_start_time_update_for_unsuspended_job: start_time_changed && !resuming,
        reject_completion_time_before_start_time: start_time_changed || completion_time_changed,
        reject_mutating_completion_time: true,
        reject_not_complete_job_with_completion_time: complete_changed || completion_time_changed,
        reject_complete_job_without_completion_time: complete_changed || completion_time_changed,
        reject_complete_job_with_failed_condition: complete_changed || failed_changed,
        reject_complete_job_with_failure_target_condition: complete_changed
            || failure_target_changed,
        allow_for_success_criteria_met_in_extended_scope: true,
        reject_more_ready_than_active_pods: ready_changed || active_changed,
        reject_finished_job_with_terminating_pods: finished_changed || terminating_changed,
    }
}

/// `field.Invalid(path, field.OmitValueType{}, detail)`: no value printed.
fn omitted(path: &str, detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {detail}"),
    )
}

/// `field.Invalid` of a `*metav1.Time` (a json.Marshaler: its quoted RFC 3339 form).
fn invalid_time(path: &str, t: Option<&str>, detail: &str) -> Cause {
    invalid_go(path, &go_time(t, false), detail)
}

const CONDITIONS: &str = "status.conditions";

/// kube's `validateJobStatus`.
fn validate_status(job: &Job, opts: &Options) -> Vec<Cause> {
    let mut causes = Vec::new();
    for f in ["active", "succeeded", "failed"] {
        causes.extend(field::non_negative(
            &format!("status.{f}"),
            &job.count(f).into(),
        ));
    }
    for f in ["ready", "terminating"] {
        if let Some(n) = job.opt_count(f) {
            causes.extend(field::non_negative(&format!("status.{f}"), &n.into()));
        }
    }
    if let Some(u) = job.get("uncountedTerminatedPods") {
        let mut seen = std::collections::HashSet::new();
        for list in ["succeeded", "failed"] {
            for (i, uid) in u
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let path = format!("status.uncountedTerminatedPods.{list}[{i}]");
                let text = uid.as_str().unwrap_or("");
                if text.is_empty() {
                    causes.push(field::invalid(&path, uid, "must not be empty"));
                } else if !seen.insert(text) {
                    causes.push(field::duplicate(&path, uid));
                }
            }
        }
    }
    let complete = job.complete();
    let failed = job.failed();
    if opts.reject_complete_job_with_failed_condition && complete && failed {
        causes.push(omitted(
            CONDITIONS,
            "cannot set Complete=True and Failed=true conditions",
        ));
    }
    if opts.reject_complete_job_with_failure_target_condition && complete && job.failure_target() {
        causes.push(omitted(
            CONDITIONS,
            "cannot set Complete=True and FailureTarget=true conditions",
        ));
    }
    let completion = job.str("completionTime");
    if opts.reject_not_complete_job_with_completion_time && completion.is_some() && !complete {
        causes.push(invalid_time(
            "status.completionTime",
            completion,
            "cannot set completionTime when there is no Complete=True condition",
        ));
    }
    if opts.reject_complete_job_without_completion_time && completion.is_none() && complete {
        causes.push(field::required(
            "status.completionTime",
            "completionTime is required for Complete jobs",
        ));
    }
    if opts.reject_completion_time_before_start_time
        && let (Some(Time::At(start)), Some(Time::At(end))) =
            (job.time("startTime"), job.time("completionTime"))
        && end < start
    {
        causes.push(invalid_time(
            "status.completionTime",
            completion,
            "completionTime cannot be set before startTime",
        ));
    }
    if opts.reject_failed_job_without_failure_target && failed && !job.failure_target() {
        causes.push(omitted(
            CONDITIONS,
            "cannot set Failed=True condition without the FailureTarget=true condition",
        ));
    }
    if opts.reject_complete_job_without_success_criteria_met
        && complete
        && !job.success_criteria_met()
    {
        causes.push(omitted(
            CONDITIONS,
            "cannot set Complete=True condition without the SuccessCriteriaMet=true condition",
        ));
    }
    let finished = job.finished();
    if opts.reject_finished_job_with_active_pods && job.count("active") > 0 && finished {
        causes.push(field::invalid(
            "status.active",
            &job.count("active").into(),
            "active>0 is invalid for finished job",
        ));
    }
    if opts.reject_finished_job_without_start_time && job.get("startTime").is_none() && finished {
        causes.push(field::required(
            "status.startTime",
            "startTime is required for finished job",
        ));
    }
    if opts.reject_finished_job_with_uncounted_terminated_pods
        && finished
        && let Some(u) = job.get("uncountedTerminatedPods")
        && job
            .uncounted()
            .is_some_and(|(s, f)| !s.is_empty() || !f.is_empty())
    {
        // The internal batch.UncountedTerminatedPods has no JSON tags: Go's field names.
        causes.push(invalid_go(
            "status.uncountedTerminatedPods",
            &go_struct(
                u,
                &[
                    ("Succeeded", "succeeded", Value::Null),
                    ("Failed", "failed", Value::Null),
                ],
            ),
            "uncountedTerminatedPods needs to be empty for finished job",
        ));
    }
    let completions = job.spec_int("completions");
    let completed_indexes = job.str("completedIndexes").unwrap_or("");
    let failed_indexes = job.str("failedIndexes");
    let backoff_limit_per_index = job
        .spec
        .get("backoffLimitPerIndex")
        .filter(|v| !v.is_null());
    if opts.reject_invalid_completed_indexes
        && let Some(c) = completions
        && let Err(e) = indexes_format(completed_indexes, c)
    {
        causes.push(field::invalid_str(
            "status.completedIndexes",
            completed_indexes,
            &format!("error parsing completedIndexes: {e}"),
        ));
    }
    if opts.reject_invalid_failed_indexes
        && let (Some(c), Some(_), Some(f)) = (completions, backoff_limit_per_index, failed_indexes)
        && let Err(e) = indexes_format(f, c)
    {
        causes.push(field::invalid_str(
            "status.failedIndexes",
            f,
            &format!("error parsing failedIndexes: {e}"),
        ));
    }
    if opts.reject_completed_indexes_for_non_indexed_job
        && !completed_indexes.is_empty()
        && !job.indexed()
    {
        causes.push(field::invalid_str(
            "status.completedIndexes",
            completed_indexes,
            "cannot set non-empty completedIndexes when non-indexed completion mode",
        ));
    }
    if opts.reject_failed_indexes_for_no_backoff_limit_per_index
        && backoff_limit_per_index.is_none()
        && let Some(f) = failed_indexes
    {
        causes.push(field::invalid_str(
            "status.failedIndexes",
            f,
            "cannot set non-null failedIndexes when backoffLimitPerIndex is null",
        ));
    }
    if opts.reject_failed_indexes_overlapping_completed
        && let (Some(c), Some(f)) = (completions, failed_indexes)
        && let Err(e) = failed_not_overlapping_completed(completed_indexes, f, c)
    {
        causes.push(field::invalid_str("status.failedIndexes", f, &e));
    }
    if opts.reject_finished_job_with_terminating_pods
        && let Some(t) = job.opt_count("terminating")
        && t > 0
        && finished
    {
        causes.push(field::invalid(
            "status.terminating",
            &t.into(),
            "terminating>0 is invalid for finished job",
        ));
    }
    if opts.reject_more_ready_than_active_pods
        && let Some(r) = job.opt_count("ready")
        && r > job.count("active")
    {
        causes.push(field::invalid(
            "status.ready",
            &r.into(),
            "cannot set more ready pods than active",
        ));
    }
    let success_criteria_met = job.success_criteria_met();
    if !opts.allow_for_success_criteria_met_in_extended_scope
        && !job.indexed()
        && success_criteria_met
    {
        causes.push(omitted(
            CONDITIONS,
            "cannot set SuccessCriteriaMet to NonIndexed Job",
        ));
    }
    if success_criteria_met && failed {
        causes.push(omitted(
            CONDITIONS,
            "cannot set SuccessCriteriaMet=True and Failed=true conditions",
        ));
    }
    if success_criteria_met && job.failure_target() {
        causes.push(omitted(
            CONDITIONS,
            "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions",
        ));
    }
    let success_policy = job.spec.get("successPolicy").filter(|v| !v.is_null());
    if !opts.allow_for_success_criteria_met_in_extended_scope
        && success_policy.is_none()
        && success_criteria_met
    {
        causes.push(omitted(
            CONDITIONS,
            "cannot set SuccessCriteriaMet=True for Job without SuccessPolicy",
        ));
    }
    if success_policy.is_some() && !success_criteria_met && complete {
        causes.push(omitted(
            CONDITIONS,
            "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True",
        ));
    }
    causes
}

/// kube's `ValidateJobUpdateStatus` after ObjectMeta (the caller checks that first):
/// `ValidateJobStatusUpdate` with the strategy's options.
pub fn validate_job_status_update(new_obj: &Value, old_obj: &Value) -> Vec<Cause> {
    let (new, old) = (Job::new(new_obj), Job::new(old_obj));
    let opts = options(&new, &old);
    let mut causes = validate_status(&new, &opts);
    if opts.reject_disabling_terminal_condition {
        for kind in ["Failed", "Complete", "FailureTarget"] {
            if old.condition_true(kind) && !new.condition_true(kind) {
                causes.push(omitted(
                    CONDITIONS,
                    &format!("cannot disable the terminal {kind}=True condition"),
                ));
            }
        }
    }
    if opts.reject_decreasing_failed_counter && new.count("failed") < old.count("failed") {
        causes.push(field::invalid(
            "status.failed",
            &new.count("failed").into(),
            "cannot decrease the failed counter",
        ));
    }
    if opts.reject_decreasing_succeeded_counter && new.count("succeeded") < old.count("succeeded") {
        causes.push(field::invalid(
            "status.succeeded",
            &new.count("succeeded").into(),
            "cannot decrease the succeeded counter",
        ));
    }
    if opts.reject_mutating_completion_time
        && let (Some(now), Some(was)) = (new.time("completionTime"), old.time("completionTime"))
        && now != was
    {
        causes.push(invalid_time(
            "status.completionTime",
            new.str("completionTime"),
            "completionTime cannot be mutated",
        ));
    }
    // A nil startTime may be set; a set one may change only while the Job is suspended.
    if opts.reject_start_time_update_for_unsuspended_job
        && old.get("startTime").is_some()
        && old.time("startTime") != new.time("startTime")
        && new.spec.get("suspend") != Some(&Value::Bool(true))
    {
        causes.push(field::required(
            "status.startTime",
            "startTime cannot be removed for unsuspended job",
        ));
    }
    if old.success_criteria_met() && !new.success_criteria_met() {
        causes.push(omitted(
            CONDITIONS,
            "cannot disable the SuccessCriteriaMet=True condition",
        ));
    }
    if old.complete() && !old.success_criteria_met() && new.success_criteria_met() {
        causes.push(omitted(
            CONDITIONS,
            "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions",
        ));
    }
    causes
}

/// kube's `validateIndexesFormat`: the number of indexes, or why the list does not parse.
fn indexes_format(indexes: &str, completions: i64) -> Result<i64, String> {
    if indexes.is_empty() {
        return Ok(0);
    }
    let mut last: Option<i64> = None;
    let mut total = 0;
    for interval in indexes.split(',') {
        let (x, y) = index_interval(interval, completions)?;
        if let Some(l) = last
            && l >= x
        {
            return Err(format!("non-increasing order, previous: {l}, current: {x}"));
        }
        total += y - x + 1;
        last = Some(y);
    }
    Ok(total)
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits.
fn atoi(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// kube's `parseIndexInterval`: `x` or `x-y` with `x < y < completions`.
fn index_interval(interval: &str, completions: i64) -> Result<(i64, i64), String> {
    let limits: Vec<&str> = interval.split('-').collect();
    if limits.len() > 2 {
        return Err(format!(
            "the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'",
            field::quote(interval)
        ));
    }
    let bound = |s: &str| -> Result<i64, String> {
        let n = atoi(s).ok_or_else(|| {
            format!(
                "cannot convert string to integer for index: {}",
                field::quote(s)
            )
        })?;
        if n >= completions {
            return Err(format!("too large index: {}", field::quote(s)));
        }
        Ok(n)
    };
    let x = bound(limits[0])?;
    let Some(second) = limits.get(1) else {
        return Ok((x, x));
    };
    let y = bound(second)?;
    if x >= y {
        return Err(format!("non-increasing order, previous: {x}, current: {y}"));
    }
    Ok((x, y))
}

/// kube's `validateFailedIndexesNotOverlapCompleted`: intervals that do not parse are skipped
/// (the format checks report them).
fn failed_not_overlapping_completed(
    completed: &str,
    failed: &str,
    completions: i64,
) -> Result<(), String> {
    if completed.is_empty() || failed.is_empty() {
        return Ok(());
    }
    let c: Vec<&str> = completed.split(',').collect();
    let f: Vec<&str> = failed.split(',').collect();
    let (mut ci, mut fi) = (0, 0);
    let mut cv = index_interval(c[0], completions);
    let mut fv = index_interval(f[0], completions);
    while ci < c.len() && fi < f.len() {
        match (&cv, &fv) {
            (Err(_), _) => {
                ci += 1;
                if ci < c.len() {
                    cv = index_interval(c[ci], completions);
                }
            }
            (_, Err(_)) => {
                fi += 1;
                if fi < f.len() {
                    fv = index_interval(f[fi], completions);
                }
            }
            (Ok((cx, cy)), Ok((fx, fy))) => {
                if cx <= fy && fx <= cy {
                    return Err(format!(
                        "failedIndexes and completedIndexes overlap at index: {}",
                        cx.max(fx)
                    ));
                }
                if cx <= fx {
                    ci += 1;
                    if ci < c.len() {
                        cv = index_interval(c[ci], completions);
                    }
                } else {
                    fi += 1;
                    if fi < f.len() {
                        fv = index_interval(f[fi], completions);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(status: Value) -> Value {
        json!({"spec": {"completions": 5, "completionMode": "Indexed", "backoffLimitPerIndex": 1},
            "status": status})
    }

    fn messages(new: Value, old: Value) -> Vec<(String, String)> {
        validate_job_status_update(&job(new), &job(old))
            .into_iter()
            .map(|c| (c.field, c.message))
            .collect()
    }

    #[test]
    fn indexes_parse_as_kube_parses_them() {
        assert_eq!(indexes_format("0,2-4", 5), Ok(4));
        assert_eq!(
            indexes_format("0-1-2", 5),
            Err("the fragment \"0-1-2\" violates the requirement that an index interval can have at most two parts separated by '-'".into())
        );
        assert_eq!(indexes_format("5", 5), Err("too large index: \"5\"".into()));
        assert_eq!(
            indexes_format("a", 5),
            Err("cannot convert string to integer for index: \"a\"".into())
        );
        assert_eq!(
            indexes_format("2,1", 5),
            Err("non-increasing order, previous: 2, current: 1".into())
        );
        assert_eq!(
            failed_not_overlapping_completed("0-2", "2", 5),
            Err("failedIndexes and completedIndexes overlap at index: 2".into())
        );
        assert_eq!(failed_not_overlapping_completed("0-1,4", "2-3", 5), Ok(()));
    }

    #[test]
    fn index_rules_apply_when_the_lists_change() {
        assert_eq!(
            messages(
                json!({"completedIndexes": "0-2", "failedIndexes": "2,9"}),
                json!({})
            ),
            [
                (
                    "status.failedIndexes".into(),
                    "Invalid value: \"2,9\": error parsing failedIndexes: too large index: \"9\""
                        .into()
                ),
                (
                    "status.failedIndexes".into(),
                    "Invalid value: \"2,9\": failedIndexes and completedIndexes overlap at index: 2"
                        .into()
                ),
            ]
        );
        // Unchanged (already bad) lists do not block another write.
        let bad = json!({"completedIndexes": "9", "active": 1});
        let mut now = bad.clone();
        now["active"] = 2.into();
        assert!(messages(now, bad).is_empty());
    }
}
