//! Decides whether a RemediationRequest may start or must wait (kubernaut's routing checks):
//! a duplicate of a request already in progress waits for it, and a target whose last
//! remediations failed several times in a row cools down. Pure functions over the requests of
//! the namespace, so the rules are unit-tested without an API server.

use std::time::Duration;

use kube::ResourceExt as _;

use crate::api::remediationrequest::BlockReason;
use crate::api::{Phase as _, RemediationPhase, RemediationRequest};

/// Why a request may not start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Another request for the same signal (fingerprint) is in progress, or waits to start
    /// and arrived first.
    DuplicateInProgress {
        /// Name of that request.
        of: String,
    },
    /// The target's last `count` remediations failed; it cools down until `until`.
    ConsecutiveFailures {
        /// Failures in a row, most recent first, up to the last success.
        count: u32,
        /// End of the cooldown.
        until: jiff::Timestamp,
    },
}

impl Block {
    /// The status' block reason.
    pub fn reason(&self) -> BlockReason {
        match self {
            Self::DuplicateInProgress { .. } => BlockReason::DuplicateInProgress,
            Self::ConsecutiveFailures { .. } => BlockReason::ConsecutiveFailures,
        }
    }
}

/// Phases in which a request is working on its target.
pub fn in_progress(phase: RemediationPhase) -> bool {
    use RemediationPhase::*;
    matches!(
        phase,
        Processing | Analyzing | AwaitingApproval | Executing | Verifying
    )
}

/// Arrival order: creation time, then name (creation times have second precision).
fn arrived_before(a: &RemediationRequest, b: &RemediationRequest) -> bool {
    let key = |rr: &RemediationRequest| {
        (
            rr.metadata.creation_timestamp.as_ref().map(|t| t.0),
            rr.name_any(),
        )
    };
    key(a) < key(b)
}

/// The first blocker of `rr` among `others` (the requests of its namespace; `rr` itself is
/// skipped), checked at `now`: a duplicate first, since it ends sooner, then the target's
/// failure history. `threshold` 0 disables the failure rule.
pub fn check(
    rr: &RemediationRequest,
    others: &[RemediationRequest],
    threshold: u32,
    cooldown: Duration,
    now: jiff::Timestamp,
) -> Option<Block> {
    let name = rr.name_any();
    let others: Vec<&RemediationRequest> = others.iter().filter(|o| o.name_any() != name).collect();
    let duplicate = others.iter().find(|o| {
        o.spec.signal_fingerprint == rr.spec.signal_fingerprint
            && (in_progress(o.phase())
                || (o.phase() == RemediationPhase::Pending && arrived_before(o, rr)))
    });
    if let Some(of) = duplicate {
        return Some(Block::DuplicateInProgress { of: of.name_any() });
    }
    if threshold == 0 {
        return None;
    }
    let (count, last) = consecutive_failures(rr, &others);
    if count < threshold {
        return None;
    }
    let until = last?
        .checked_add(jiff::SignedDuration::try_from(cooldown).ok()?)
        .ok()?;
    (now < until).then_some(Block::ConsecutiveFailures { count, until })
}

/// Failed (or timed-out) remediations of `rr`'s target in a row, most recent first, up to the
/// last completed one; and when the most recent of them ended.
pub fn consecutive_failures(
    rr: &RemediationRequest,
    others: &[&RemediationRequest],
) -> (u32, Option<jiff::Timestamp>) {
    let mut ended: Vec<(jiff::Timestamp, RemediationPhase)> = others
        .iter()
        .filter(|o| o.spec.target_resource == rr.spec.target_resource)
        .filter(|o| {
            matches!(
                o.phase(),
                RemediationPhase::Completed | RemediationPhase::Failed | RemediationPhase::TimedOut
            )
        })
        .filter_map(|o| {
            let at = o.status.as_ref()?.completed_at.as_ref()?.0;
            Some((at, o.phase()))
        })
        .collect();
    ended.sort_by_key(|e| std::cmp::Reverse(e.0));
    let failures: Vec<jiff::Timestamp> = ended
        .iter()
        .take_while(|(_, phase)| *phase != RemediationPhase::Completed)
        .map(|(at, _)| *at)
        .collect();
    (
        u32::try_from(failures.len()).unwrap_or(u32::MAX),
        failures.first().copied(),
    )
}

/// Whether a request blocked as a duplicate of `of` must keep waiting: `of` still exists and
/// has not finished.
pub fn duplicate_still_running(of: Option<&RemediationRequest>) -> bool {
    of.is_some_and(|o| !o.phase().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::remediationrequest::RemediationPhase::*;
    use crate::api::{TargetResource, Time};

    const HOUR: Duration = Duration::from_secs(3600);

    fn ts(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn rr(name: &str, created: i64) -> RemediationRequest {
        let mut rr = RemediationRequest::test(name).with_target(TargetResource::new(
            "Deployment",
            "web",
            "ns",
        ));
        rr.metadata.creation_timestamp = Some(Time(ts(created)));
        rr
    }

    fn ended(name: &str, phase: RemediationPhase, at: i64) -> RemediationRequest {
        let mut rr = rr(name, at - 10).with_phase(phase);
        rr.status.as_mut().unwrap().completed_at = Some(Time(ts(at)));
        rr
    }

    #[test]
    fn a_duplicate_in_progress_blocks_and_an_earlier_pending_one_too() {
        let me = rr("me", 100).with_fingerprint(&"a".repeat(64));
        let running = rr("running", 50)
            .with_fingerprint(&"a".repeat(64))
            .with_phase(Executing);
        let block = check(&me, &[me.clone(), running], 3, HOUR, ts(200));
        assert_eq!(
            block,
            Some(Block::DuplicateInProgress {
                of: "running".to_owned()
            })
        );
        assert_eq!(block.unwrap().reason(), BlockReason::DuplicateInProgress);

        let earlier = rr("earlier", 90).with_fingerprint(&"a".repeat(64));
        let later = rr("later", 110).with_fingerprint(&"a".repeat(64));
        assert_eq!(
            check(&me, &[earlier.clone(), later.clone()], 3, HOUR, ts(200)),
            Some(Block::DuplicateInProgress {
                of: "earlier".to_owned()
            })
        );
        // The later one never blocks the earlier one: exactly one of two simultaneous
        // duplicates starts.
        assert_eq!(
            check(&earlier, &[me.clone(), later], 3, HOUR, ts(200)),
            None
        );
    }

    #[test]
    fn finished_blocked_or_different_signals_do_not_block() {
        let fp = "b".repeat(64);
        let me = rr("me", 100).with_fingerprint(&fp);
        let others = [
            rr("done", 10).with_fingerprint(&fp).with_phase(Completed),
            rr("blocked", 10).with_fingerprint(&fp).with_phase(Blocked),
            rr("other-signal", 10).with_phase(Executing),
        ];
        assert_eq!(check(&me, &others, 3, HOUR, ts(200)), None);
    }

    #[test]
    fn three_failures_in_a_row_block_until_the_cooldown_ends() {
        let me = rr("me", 1000);
        let history = [
            ended("f1", Failed, 100),
            ended("f2", TimedOut, 200),
            ended("f3", Failed, 300),
        ];
        let until = ts(300 + 3600);
        assert_eq!(
            check(&me, &history, 3, HOUR, ts(400)),
            Some(Block::ConsecutiveFailures { count: 3, until })
        );
        assert_eq!(
            check(&me, &history, 3, HOUR, until),
            None,
            "the cooldown ended"
        );
        assert_eq!(
            check(&me, &history, 4, HOUR, ts(400)),
            None,
            "below the threshold"
        );
        assert_eq!(
            check(&me, &history, 0, HOUR, ts(400)),
            None,
            "rule disabled"
        );
    }

    #[test]
    fn a_success_resets_the_count_and_other_targets_do_not_count() {
        let me = rr("me", 1000);
        let mut elsewhere = ended("x", Failed, 350);
        elsewhere.spec.target_resource.name = "other".to_owned();
        let history = [
            ended("f1", Failed, 100),
            ended("f2", Failed, 200),
            ended("ok", Completed, 250),
            ended("f3", Failed, 300),
            ended("f4", Failed, 320),
            elsewhere,
        ];
        let refs: Vec<&RemediationRequest> = history.iter().collect();
        assert_eq!(consecutive_failures(&me, &refs), (2, Some(ts(320))));
        assert_eq!(check(&me, &history, 3, HOUR, ts(400)), None);
    }

    #[test]
    fn a_duplicate_waits_while_its_original_runs() {
        assert!(duplicate_still_running(Some(
            &rr("o", 1).with_phase(Analyzing)
        )));
        assert!(duplicate_still_running(Some(
            &rr("o", 1).with_phase(Blocked)
        )));
        assert!(!duplicate_still_running(Some(
            &rr("o", 1).with_phase(Failed)
        )));
        assert!(!duplicate_still_running(None));
    }
}
