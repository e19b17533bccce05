//! Decides, from the recorded delivery attempts alone, where each channel stands, what phase
//! and reason the notification has, when a channel may be retried, and which attempts a
//! delivery claim covers. Pure functions: the controller feeds them the latest object.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use manager::Backoff;

use crate::api::NotificationPhase;
use crate::api::notificationrequest::{
    DeliveryAttempt, DeliveryStatus, NotificationReason, RetryPolicy,
};

/// Bounds of `retryPolicy.maxAttempts` in the CRD schema, enforced again here so an object
/// written before validation existed cannot make the controller retry forever.
const MAX_ATTEMPTS_RANGE: (i32, i32) = (1, 10);

/// Where one channel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Delivered (once is enough).
    Delivered,
    /// Failed for good: rejected as invalid, or out of attempts (`exhausted`).
    Dead {
        /// Out of attempts (as opposed to rejected).
        exhausted: bool,
    },
    /// Failed so far (or never tried); `attempts` made.
    Pending {
        /// Attempts made on this channel.
        attempts: i32,
    },
}

/// The attempts allowed per channel.
pub fn max_attempts(policy: &RetryPolicy) -> i32 {
    policy
        .max_attempts
        .clamp(MAX_ATTEMPTS_RANGE.0, MAX_ATTEMPTS_RANGE.1)
}

/// The state of `channel` given every recorded attempt.
pub fn channel_state(attempts: &[DeliveryAttempt], channel: &str, max: i32) -> ChannelState {
    let mine: Vec<&DeliveryAttempt> = attempts.iter().filter(|a| a.channel == channel).collect();
    if mine.iter().any(|a| a.status == DeliveryStatus::Success) {
        return ChannelState::Delivered;
    }
    if mine.iter().any(|a| a.status == DeliveryStatus::Invalid) {
        return ChannelState::Dead { exhausted: false };
    }
    let made = mine.iter().map(|a| a.attempt).max().unwrap_or(0);
    if made >= max {
        ChannelState::Dead { exhausted: true }
    } else {
        ChannelState::Pending { attempts: made }
    }
}

/// What the attempts add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The phase they imply (Retrying while any channel is pending).
    pub phase: NotificationPhase,
    /// The reason, for terminal phases.
    pub reason: Option<NotificationReason>,
    /// Channels delivered.
    pub successful: i32,
    /// Channels failed for good.
    pub failed: i32,
    /// A one-line summary.
    pub message: String,
}

/// The verdict for `channels` (the routing's selection) after `attempts`.
pub fn verdict(channels: &[String], attempts: &[DeliveryAttempt], max: i32) -> Verdict {
    if channels.is_empty() {
        return Verdict {
            phase: NotificationPhase::Failed,
            reason: Some(NotificationReason::NoChannelsResolved),
            successful: 0,
            failed: 0,
            message: "the routing configuration selects no channel for this notification"
                .to_owned(),
        };
    }
    let states: Vec<ChannelState> = channels
        .iter()
        .map(|c| channel_state(attempts, c, max))
        .collect();
    let count = |f: fn(&ChannelState) -> bool| {
        i32::try_from(states.iter().filter(|s| f(s)).count()).unwrap_or(i32::MAX)
    };
    let successful = count(|s| *s == ChannelState::Delivered);
    let failed = count(|s| matches!(s, ChannelState::Dead { .. }));
    let pending = count(|s| matches!(s, ChannelState::Pending { .. }));
    let exhausted = count(|s| *s == ChannelState::Dead { exhausted: true });
    let total = successful + failed + pending;
    let (phase, reason, message) = if pending > 0 {
        (
            NotificationPhase::Retrying,
            None,
            format!("{successful}/{total} channel(s) delivered; {pending} waiting to retry"),
        )
    } else if failed == 0 {
        (
            NotificationPhase::Sent,
            Some(NotificationReason::AllDeliveriesSucceeded),
            format!("delivered to all {total} channel(s)"),
        )
    } else if successful > 0 {
        (
            NotificationPhase::PartiallySent,
            Some(NotificationReason::PartialDeliverySuccess),
            format!("delivered to {successful}/{total} channel(s); {failed} failed for good"),
        )
    } else if exhausted > 0 {
        (
            NotificationPhase::Failed,
            Some(NotificationReason::MaxRetriesExhausted),
            format!("no channel delivered after {max} attempt(s) per channel"),
        )
    } else {
        (
            NotificationPhase::Failed,
            Some(NotificationReason::AllDeliveriesFailed),
            format!("all {total} channel(s) rejected the notification"),
        )
    };
    Verdict {
        phase,
        reason,
        successful,
        failed,
        message,
    }
}

/// The wait before attempt `attempts + 1` on `channel` (after `attempts` failures): the spec's
/// initial backoff × multiplier^(attempts-1), capped, each spec second lasting `unit`, ± jitter.
/// The jitter sample is derived from (uid, channel, attempts), so every reconcile computes the
/// same due time for the same retry.
pub fn retry_delay(
    policy: &RetryPolicy,
    unit: Duration,
    jitter: f64,
    uid: &str,
    channel: &str,
    attempts: i32,
) -> Duration {
    let secs = |s: i32| unit.saturating_mul(u32::try_from(s.max(1)).unwrap_or(1));
    let backoff = Backoff::new(
        secs(policy.initial_backoff_seconds),
        f64::from(policy.backoff_multiplier),
        secs(policy.max_backoff_seconds),
        jitter,
    );
    let mut hasher = DefaultHasher::new();
    (uid, channel, attempts).hash(&mut hasher);
    // Map the hash to [-1, 1].
    #[allow(clippy::cast_precision_loss)] // 53 bits of a hash are plenty for a jitter sample
    let sample = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    backoff.delay_with_sample(
        u32::try_from(attempts.saturating_sub(1)).unwrap_or(0),
        sample,
    )
}

/// Adds the attempts of `new` not already recorded (same channel and attempt number) to
/// `existing`; returns whether anything was added. This is what makes a repeated write of one
/// round harmless.
pub fn merge(existing: &mut Vec<DeliveryAttempt>, new: &[DeliveryAttempt]) -> bool {
    let mut added = false;
    for a in new {
        if !existing
            .iter()
            .any(|e| e.channel == a.channel && e.attempt == a.attempt)
        {
            existing.push(a.clone());
            added = true;
        }
    }
    added
}

/// The claim annotation's value for `attempts` (channel, attempt number): `webhook#2,file#1`.
pub fn format_claim(attempts: &[(String, i32)]) -> String {
    attempts
        .iter()
        .map(|(c, n)| format!("{c}#{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a claim; malformed entries are ignored (a hand-edited annotation must not stop the
/// controller).
pub fn parse_claim(value: &str) -> Vec<(String, i32)> {
    value
        .split(',')
        .filter_map(|entry| {
            let (channel, n) = entry.trim().rsplit_once('#')?;
            let n: i32 = n.parse().ok()?;
            (!channel.is_empty() && n >= 1).then(|| (channel.to_owned(), n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Time;

    fn a(channel: &str, attempt: i32, status: DeliveryStatus) -> DeliveryAttempt {
        DeliveryAttempt {
            channel: channel.into(),
            attempt,
            timestamp: Time(jiff::Timestamp::UNIX_EPOCH),
            status,
            error: None,
            duration_seconds: None,
        }
    }

    fn chans(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn channel_states() {
        use DeliveryStatus::*;
        let attempts = [
            a("w", 1, Failed),
            a("w", 2, Timeout),
            a("f", 1, Success),
            a("x", 1, Invalid),
        ];
        assert_eq!(
            channel_state(&attempts, "w", 3),
            ChannelState::Pending { attempts: 2 }
        );
        assert_eq!(
            channel_state(&attempts, "w", 2),
            ChannelState::Dead { exhausted: true }
        );
        assert_eq!(channel_state(&attempts, "f", 3), ChannelState::Delivered);
        assert_eq!(
            channel_state(&attempts, "x", 3),
            ChannelState::Dead { exhausted: false }
        );
        assert_eq!(
            channel_state(&attempts, "new", 3),
            ChannelState::Pending { attempts: 0 }
        );
    }

    #[test]
    fn verdicts_cover_every_reason() {
        use DeliveryStatus::*;
        use NotificationPhase as P;
        use NotificationReason as R;
        let v = verdict(&[], &[], 3);
        assert_eq!(
            (v.phase, v.reason),
            (P::Failed, Some(R::NoChannelsResolved))
        );
        let v = verdict(
            &chans(&["w", "f"]),
            &[a("w", 1, Success), a("f", 1, Success)],
            3,
        );
        assert_eq!(
            (v.phase, v.reason, v.successful, v.failed),
            (P::Sent, Some(R::AllDeliveriesSucceeded), 2, 0)
        );
        let v = verdict(
            &chans(&["w", "f"]),
            &[a("w", 1, Failed), a("f", 1, Success)],
            3,
        );
        assert_eq!((v.phase, v.reason, v.successful), (P::Retrying, None, 1));
        let v = verdict(
            &chans(&["w", "f"]),
            &[a("w", 1, Failed), a("w", 2, Failed), a("f", 1, Success)],
            2,
        );
        assert_eq!(
            (v.phase, v.reason, v.failed),
            (P::PartiallySent, Some(R::PartialDeliverySuccess), 1)
        );
        let v = verdict(&chans(&["w"]), &[a("w", 1, Timeout), a("w", 2, Failed)], 2);
        assert_eq!(
            (v.phase, v.reason),
            (P::Failed, Some(R::MaxRetriesExhausted))
        );
        let v = verdict(&chans(&["w"]), &[a("w", 1, Invalid)], 5);
        assert_eq!(
            (v.phase, v.reason),
            (P::Failed, Some(R::AllDeliveriesFailed))
        );
    }

    #[test]
    fn retry_delays_grow_cap_and_are_stable_with_bounded_jitter() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff_seconds: 30,
            backoff_multiplier: 2,
            max_backoff_seconds: 100,
        };
        let ms = Duration::from_millis(1);
        let exact: Vec<u128> = (1..=4)
            .map(|n| retry_delay(&policy, ms, 0.0, "uid", "w", n).as_millis())
            .collect();
        assert_eq!(exact, [30, 60, 100, 100]);
        let d = retry_delay(&policy, Duration::from_secs(1), 0.1, "uid", "w", 1);
        assert_eq!(
            d,
            retry_delay(&policy, Duration::from_secs(1), 0.1, "uid", "w", 1),
            "same inputs, same jitter"
        );
        assert!(
            d >= Duration::from_secs(27) && d <= Duration::from_secs(33),
            "{d:?}"
        );
        let spread: std::collections::BTreeSet<u128> = (0..20)
            .map(|i| {
                retry_delay(
                    &policy,
                    Duration::from_secs(1),
                    0.1,
                    &format!("u{i}"),
                    "w",
                    1,
                )
                .as_millis()
            })
            .collect();
        assert!(
            spread.len() > 1,
            "different notifications retry at different times"
        );
    }

    #[test]
    fn merge_never_records_an_attempt_twice() {
        use DeliveryStatus::*;
        let mut existing = vec![a("w", 1, Failed)];
        assert!(!merge(&mut existing, &[a("w", 1, Success)]));
        assert!(merge(
            &mut existing,
            &[a("w", 1, Success), a("w", 2, Success)]
        ));
        assert_eq!(existing.len(), 2);
        assert_eq!(existing[0].status, Failed, "the first record stands");
    }

    #[test]
    fn claims_round_trip_and_tolerate_garbage() {
        let claim = vec![("webhook".to_owned(), 2), ("a#b".to_owned(), 1)];
        assert_eq!(parse_claim(&format_claim(&claim)), claim);
        assert_eq!(
            parse_claim("x, #3, y#0, z#-1, w#two, ok#1"),
            vec![("ok".to_owned(), 1)]
        );
        assert!(parse_claim("").is_empty());
    }
}
