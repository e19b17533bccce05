//! Owns fault injection, a test hook on the library handle: rules that make the next N requests
//! matching a verb/resource/namespace/name/subresource/user agent fail with a chosen
//! metav1.Status, or wait before they are served, so a test can drive a controller's retry and
//! error paths.
//!
//! A test can also *hold* the next matching requests until it releases them ([`Faults::hold`]),
//! to force a race at an exact point instead of betting on a delay being long enough.
//!
//! Delays and failures are drawn apart, so a request can wait and then fail. Of each kind, the
//! first matching *counted* rule with requests left fires and counts one down (rules in the order
//! they were added); only when none matches are the probabilistic rules asked. A test's exact
//! rules thus keep their script under a campaign's background faults. A failed request changes
//! nothing in the store and is logged with the injected code in the request log, like any other
//! answer.
//!
//! Besides counted rules there are *probabilistic* ones for fault campaigns, which never run out:
//! a share of matching requests fails ([`Faults::fail_share`]), every matching request waits a
//! random time in a range ([`Faults::delay_between`]), watches end after a random time as when
//! kube-apiserver's watch timeout fires ([`Faults::cut_watches`]), and a share of resumed watches
//! is told its resourceVersion expired, so the client relists ([`Faults::expire_rewatches`]).
//! Only a watch that resumes where a cut one stopped is expired, never the watch that follows a
//! fresh list: kube-apiserver serves a list's resourceVersion from its watch cache, and expiring
//! every resumed watch would make a client relist forever.
//! Their random draws come from one generator seeded by [`Faults::seed`]: the same seed gives the
//! same sequence of draws, so a failure reproduces as far as the requests arrive in the same
//! order (concurrent clients can reorder them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::Error;
use crate::status::{ApiError, Details, GroupResource};

/// Seconds a client is told to wait after an injected 429, as kube-apiserver's max-in-flight
/// filter answers (`Retry-After: 1`); kube-rs and client-go retry after that long.
pub const TOO_MANY_REQUESTS_RETRY_SECONDS: u32 = 1;

/// Which requests a fault rule applies to; every criterion left unset matches anything.
///
/// ```
/// # use apiserver::Match;
/// let m = Match::verb("update").resource("workflowexecutions").subresource("status");
/// let any_pod_write = Match::any().resource("pods").namespace("team-a");
/// # drop((m, any_pod_write));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    verb: Option<String>,
    group: Option<String>,
    resource: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    writes: bool,
    user_agent: Option<String>,
}

/// The verbs that change the store.
const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

impl Match {
    /// Matches every resource request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Matches requests with this Kubernetes verb: get, list, watch, create, update, patch,
    /// delete, deletecollection.
    pub fn verb(verb: impl Into<String>) -> Self {
        Self {
            verb: Some(verb.into()),
            ..Self::default()
        }
    }

    /// Matches every request that changes the store: create, update, patch, delete,
    /// deletecollection.
    pub fn writes() -> Self {
        Self {
            writes: true,
            ..Self::default()
        }
    }

    /// Only requests whose `User-Agent` header starts with `prefix` (e.g. the controllers'
    /// client, so that a campaign's faults hit the code under test and not the test's own calls).
    pub fn user_agent(mut self, prefix: impl Into<String>) -> Self {
        self.user_agent = Some(prefix.into());
        self
    }

    /// Only this API group ("" is the core group).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Only this plural resource, e.g. `pods`, `workflowexecutions`.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Only requests in this namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Only requests naming this object (a create's URL names none, so it never matches a name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only this subresource (`status`); `""` matches only the main resource.
    pub fn subresource(mut self, subresource: impl Into<String>) -> Self {
        self.subresource = Some(subresource.into());
        self
    }

    fn matches(&self, r: &RequestFacts<'_>) -> bool {
        let ok = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        ok(&self.verb, r.verb)
            && ok(&self.group, r.group)
            && ok(&self.resource, r.resource)
            && ok(&self.namespace, r.namespace)
            && ok(&self.name, r.name)
            && ok(&self.subresource, r.subresource)
            && (!self.writes || WRITE_VERBS.contains(&r.verb))
            && self
                .user_agent
                .as_deref()
                .is_none_or(|p| r.user_agent.starts_with(p))
    }
}

/// What the router knows about a request when it consults the rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestFacts<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub subresource: &'a str,
    /// The `User-Agent` header ("" when absent).
    pub user_agent: &'a str,
}

/// What the rules do to one request: at most one delay, served first, and at most one failure.
/// Delays and failures are drawn apart, so a latency campaign and a test's (or a campaign's)
/// failures compose instead of the first rule added hiding the other kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Planned {
    /// Wait this long before the request is served (or failed).
    pub delay: Option<Duration>,
    /// Answer with this HTTP status code and its metav1.Status, without touching the store.
    pub fail: Option<u16>,
}

impl Planned {
    #[cfg(test)]
    fn fail(code: u16) -> Self {
        Self {
            delay: None,
            fail: Some(code),
        }
    }

    #[cfg(test)]
    fn delay(by: Duration) -> Self {
        Self {
            delay: Some(by),
            fail: None,
        }
    }
}

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy)]
enum Effect {
    Fail(u16),
    /// A delay drawn uniformly from `min..=max`.
    Delay {
        min: Duration,
        max: Duration,
    },
    /// A watch ends after a time drawn from `min..=max`.
    CutWatch {
        min: Duration,
        max: Duration,
    },
    /// A resumed watch is answered with 410 Expired.
    ExpireRewatch,
    /// The request waits until the test releases gate `gate` ([`Hold`]), at most `at_most`.
    Hold {
        gate: u64,
        at_most: Duration,
    },
}

/// How often a rule fires.
#[derive(Debug, Clone, Copy)]
enum Budget {
    /// The next N matching requests.
    Count(usize),
    /// Each matching request with this probability, for ever.
    Share(f64),
}

#[derive(Debug)]
struct Rule {
    matcher: Match,
    effect: Effect,
    budget: Budget,
}

/// What a watch request gets from the watch rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WatchFaults {
    /// End the stream after this long (the shorter of this and the client's `timeoutSeconds`).
    pub cut_after: Option<Duration>,
    /// Answer a resumed watch with a 410 Expired ERROR event.
    pub expire: bool,
}

impl WatchFaults {
    /// The stream's timeout: the client's, or the injected cut when that comes first.
    pub(crate) fn timeout(&self, client: Option<Duration>) -> Option<Duration> {
        match (client, self.cut_after) {
            (Some(c), Some(cut)) => Some(c.min(cut)),
            (c, cut) => c.or(cut),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    rules: Vec<Rule>,
    /// splitmix64 state: tiny, fast, and fully determined by the seed.
    rng: u64,
    /// The seed given to [`Faults::seed`], for reports.
    seed: u64,
    injected: Injected,
    /// Where injected cuts ended watches, one mark per cut, each spent by the one resumed watch
    /// it expires (bounded: see [`MAX_CUT_MARKS`]).
    cut_marks: std::collections::VecDeque<CutMark>,
    /// The gates of [`Faults::hold`] rules, by id: `true` once released (or its [`Hold`] dropped).
    gates: HashMap<u64, watch::Receiver<bool>>,
    next_gate: u64,
}

/// Cut marks kept at most; the oldest go first. A campaign's watches resume within seconds of a
/// cut, so older marks only matter to watchers that never came back.
const MAX_CUT_MARKS: usize = 1024;

/// A watch the injected cut ended: its resource and the last resourceVersion it had passed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CutMark {
    resource: String,
    rv: u64,
}

/// Handed to a watch stream whose injected cut comes before the client's own timeout: when the
/// cut ends the stream, [`CutMarker::mark`] records where, so the client's resumed watch (from
/// that resourceVersion or before it) can be told it expired.
#[derive(Debug, Clone)]
pub struct CutMarker {
    inner: Arc<Mutex<Inner>>,
    resource: String,
}

impl CutMarker {
    /// The cut ended the stream after it had passed `rv`.
    pub fn mark(&self, rv: u64) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.cut_marks.len() == MAX_CUT_MARKS {
            inner.cut_marks.pop_front();
        }
        inner.cut_marks.push_back(CutMark {
            resource: self.resource.clone(),
            rv,
        });
    }
}

/// What the rules of one server have injected so far (counted when a rule fires), for a fault
/// campaign's figures: how many faults the code under test actually met.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Injected {
    /// Requests answered 500 Internal Server Error.
    pub errors_500: u64,
    /// Requests answered 429 Too Many Requests (with `Retry-After`).
    pub throttled_429: u64,
    /// Requests answered another injected error code.
    pub other_errors: u64,
    /// Requests held back by a delay rule.
    pub delays: u64,
    /// Watches given a cut lifetime (each ends when it is up, unless the client or the
    /// server ends it first).
    pub watch_lifetimes: u64,
    /// Resumed watches answered 410 Expired.
    pub expiries: u64,
}

impl Injected {
    /// Every fault counted.
    pub fn total(&self) -> u64 {
        self.errors_500
            + self.throttled_429
            + self.other_errors
            + self.delays
            + self.watch_lifetimes
            + self.expiries
    }
}

impl Inner {
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, min: Duration, max: Duration) -> Duration {
        let span = max.saturating_sub(min);
        min + span.mul_f64(self.unit())
    }

    /// Fires the first rule accepted by `kind` that matches `facts` and has budget left.
    /// Counted rules come first, in the order they were added: they are a test's exact
    /// script, and a campaign's background shares must not take their turn. Then the shares,
    /// each firing only when its draw says so (else the next share is asked).
    fn fire(&mut self, facts: &RequestFacts<'_>, kind: fn(&Effect) -> bool) -> Option<Effect> {
        let eligible =
            |rule: &Rule| kind(&rule.effect) && rule.has_budget() && rule.matcher.matches(facts);
        let counted = self
            .rules
            .iter()
            .position(|r| matches!(r.budget, Budget::Count(_)) && eligible(r));
        if let Some(i) = counted {
            let effect = self.rules[i].effect;
            match self.rules[i].budget {
                Budget::Count(n) if n > 1 => self.rules[i].budget = Budget::Count(n - 1),
                _ => {
                    self.rules.remove(i);
                }
            }
            return Some(effect);
        }
        for i in 0..self.rules.len() {
            let Budget::Share(p) = self.rules[i].budget else {
                continue;
            };
            // Draw only for a rule that applies: the draws a seed gives depend on the requests
            // the rules match, not on every request.
            if eligible(&self.rules[i]) && self.unit() < p {
                return Some(self.rules[i].effect);
            }
        }
        None
    }
}

impl Rule {
    fn has_budget(&self) -> bool {
        !matches!(self.budget, Budget::Count(0))
    }
}

/// The fault rules of one server (`ApiServer::faults()`).
#[derive(Debug, Default)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
}

/// The test's side of a [`Faults::hold`] rule: the held requests go on when it is released or
/// dropped.
#[derive(Debug)]
pub struct Hold {
    tx: watch::Sender<bool>,
}

impl Hold {
    /// Lets the held requests (and any the rule still holds later) be served.
    pub fn release(&self) {
        self.tx.send_replace(true);
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.release();
    }
}

/// A request held by a [`Faults::hold`] rule.
#[derive(Debug)]
pub(crate) struct Held {
    gate: watch::Receiver<bool>,
    at_most: Duration,
}

impl Held {
    /// Waits for the release, at most the rule's bound.
    pub(crate) async fn released(mut self) {
        let _ = tokio::time::timeout(self.at_most, self.gate.wait_for(|open| *open)).await;
    }
}

/// The resource a cut mark names: group and resource, whatever the namespace, as a watch cache
/// is per resource.
fn cut_resource(facts: &RequestFacts<'_>) -> String {
    format!("{}/{}", facts.group, facts.resource)
}

/// Refuses shares outside (0, 1].
fn check_share(share: f64) -> Result<(), Error> {
    if share.is_finite() && share > 0.0 && share <= 1.0 {
        Ok(())
    } else {
        Err(Error::FaultShare { share })
    }
}

impl Faults {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Rules are plain data; a panic elsewhere cannot leave them inconsistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, matcher: Match, effect: Effect, budget: Budget) {
        self.inner().rules.push(Rule {
            matcher,
            effect,
            budget,
        });
    }

    /// Seeds the generator of the probabilistic rules' draws (default seed 0).
    pub fn seed(&self, seed: u64) {
        let mut inner = self.inner();
        inner.rng = seed;
        inner.seed = seed;
    }

    /// The seed last given to [`Faults::seed`] (0 if none).
    pub fn seed_used(&self) -> u64 {
        self.inner().seed
    }

    /// Fails the next `times` requests matching `matcher` with HTTP status `code` (400–599) and a
    /// metav1.Status worded like kube-apiserver's for that code (409 is the stale-resourceVersion
    /// Conflict, 500 InternalError, 429 TooManyRequests with `Retry-After: 1`, ...).
    pub fn fail(&self, matcher: Match, code: u16, times: usize) -> Result<(), Error> {
        if !(400..=599).contains(&code) {
            return Err(Error::FaultCode { code });
        }
        if times > 0 {
            self.push(matcher, Effect::Fail(code), Budget::Count(times));
        }
        Ok(())
    }

    /// Fails each request matching `matcher` with probability `share` (0 < share ≤ 1) with HTTP
    /// status `code`, for as long as the rule stays (until [`Faults::clear`]).
    pub fn fail_share(&self, matcher: Match, code: u16, share: f64) -> Result<(), Error> {
        if !(400..=599).contains(&code) {
            return Err(Error::FaultCode { code });
        }
        check_share(share)?;
        self.push(matcher, Effect::Fail(code), Budget::Share(share));
        Ok(())
    }

    /// Delays the next `times` requests matching `matcher` by `by`, then serves them normally.
    pub fn delay(&self, matcher: Match, by: Duration, times: usize) {
        if times > 0 {
            self.push(
                matcher,
                Effect::Delay { min: by, max: by },
                Budget::Count(times),
            );
        }
    }

    /// Delays every request matching `matcher` by a time drawn from `min..=max` (network or
    /// etcd latency), for as long as the rule stays.
    pub fn delay_between(&self, matcher: Match, min: Duration, max: Duration) {
        let (min, max) = (min.min(max), min.max(max));
        self.push(matcher, Effect::Delay { min, max }, Budget::Share(1.0));
    }

    /// Holds the next `times` requests matching `matcher` before they are served, until the
    /// returned [`Hold`] is released or dropped, and for at most `at_most` (a test that fails
    /// before releasing never leaves a request hanging). A test forces a race with it at an exact
    /// point: hold a write, make the other writer's write land, release.
    /// [`Faults::pending_matching`] falls to zero once the held requests have arrived.
    pub fn hold(&self, matcher: Match, times: usize, at_most: Duration) -> Hold {
        let (tx, rx) = watch::channel(false);
        let mut inner = self.inner();
        let gate = inner.next_gate;
        inner.next_gate += 1;
        // A gate no rule can reach any more is dropped with the next one added.
        let live: Vec<u64> = inner
            .rules
            .iter()
            .filter_map(|r| match r.effect {
                Effect::Hold { gate, .. } => Some(gate),
                _ => None,
            })
            .collect();
        inner
            .gates
            .retain(|id, rx| live.contains(id) && !*rx.borrow());
        inner.gates.insert(gate, rx);
        if times > 0 {
            inner.rules.push(Rule {
                matcher,
                effect: Effect::Hold { gate, at_most },
                budget: Budget::Count(times),
            });
        }
        Hold { tx }
    }

    /// Ends every watch matching `matcher` after a time drawn from `min..=max`, as
    /// kube-apiserver does when a watch's timeout fires; the client re-watches from the last
    /// resourceVersion it saw.
    pub fn cut_watches(&self, matcher: Match, min: Duration, max: Duration) {
        let (min, max) = (min.min(max), min.max(max));
        self.push(matcher, Effect::CutWatch { min, max }, Budget::Share(1.0));
    }

    /// Answers each *resumed* watch (one with a resourceVersion other than "" or "0") matching
    /// `matcher`, with probability `share`, with a 410 Expired ERROR event, as kube-apiserver
    /// does when the resourceVersion has left its watch cache: the client must relist.
    pub fn expire_rewatches(&self, matcher: Match, share: f64) -> Result<(), Error> {
        check_share(share)?;
        self.push(matcher, Effect::ExpireRewatch, Budget::Share(share));
        Ok(())
    }

    /// Requests the counted rules will still fail or delay, summed over every rule
    /// (probabilistic rules never run out and are not counted).
    pub fn pending(&self) -> usize {
        self.inner()
            .rules
            .iter()
            .map(|r| match r.budget {
                Budget::Count(n) => n,
                Budget::Share(_) => 0,
            })
            .sum()
    }

    /// Requests the counted rules added with exactly `matcher` will still fail or delay. Unlike
    /// [`Faults::pending`] it ignores other tests' rules on a server shared by several tests
    /// (plain `cargo test`), when each test's matcher names its own namespace.
    pub fn pending_matching(&self, matcher: &Match) -> usize {
        self.inner()
            .rules
            .iter()
            .filter(|r| r.matcher == *matcher)
            .map(|r| match r.budget {
                Budget::Count(n) => n,
                Budget::Share(_) => 0,
            })
            .sum()
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.inner().rules.clear();
    }

    /// Fires the first matching delay rule and the first matching fail rule with requests left,
    /// each kind on its own.
    pub(crate) fn take(&self, facts: &RequestFacts<'_>) -> Planned {
        let mut inner = self.inner();
        let delay = match inner.fire(facts, |e| matches!(e, Effect::Delay { .. })) {
            Some(Effect::Delay { min, max }) => {
                inner.injected.delays += 1;
                Some(inner.between(min, max))
            }
            _ => None,
        };
        let fail = match inner.fire(facts, |e| matches!(e, Effect::Fail(_))) {
            Some(Effect::Fail(code)) => {
                let counter = match code {
                    500 => &mut inner.injected.errors_500,
                    429 => &mut inner.injected.throttled_429,
                    _ => &mut inner.injected.other_errors,
                };
                *counter += 1;
                Some(code)
            }
            _ => None,
        };
        Planned { delay, fail }
    }

    /// The wait of the first matching hold rule with requests left, if any: its gate and how
    /// long it may hold the request at most. Counted among the delays.
    pub(crate) fn take_hold(&self, facts: &RequestFacts<'_>) -> Option<Held> {
        let mut inner = self.inner();
        let Some(Effect::Hold { gate, at_most }) =
            inner.fire(facts, |e| matches!(e, Effect::Hold { .. }))
        else {
            return None;
        };
        // A gate released before this request came (and dropped since) holds nothing: the
        // request passes and is not counted as delayed.
        let gate = inner.gates.get(&gate)?.clone();
        inner.injected.delays += 1;
        Some(Held { gate, at_most })
    }

    /// What the watch rules do to a watch request; `resumed` is the resourceVersion it continues
    /// from, if it names one. Only a watch resuming at or before where an injected cut ended a
    /// watch of the same resource can expire, and it spends that cut's mark.
    pub(crate) fn watch(&self, facts: &RequestFacts<'_>, resumed: Option<u64>) -> WatchFaults {
        let mut inner = self.inner();
        let cut_after = match inner.fire(facts, |e| matches!(e, Effect::CutWatch { .. })) {
            Some(Effect::CutWatch { min, max }) => {
                inner.injected.watch_lifetimes += 1;
                Some(inner.between(min, max))
            }
            _ => None,
        };
        let resource = cut_resource(facts);
        let mark = resumed.and_then(|from| {
            inner
                .cut_marks
                .iter()
                .position(|m| m.resource == resource && from <= m.rv)
        });
        let expire = match mark {
            Some(i)
                if inner
                    .fire(facts, |e| matches!(e, Effect::ExpireRewatch))
                    .is_some() =>
            {
                inner.cut_marks.remove(i);
                true
            }
            _ => false,
        };
        WatchFaults { cut_after, expire }
    }

    /// The marker for a watch whose injected cut ends it before the client's own timeout, when
    /// an expiry rule may act on where it stopped; `None` otherwise (no marks to keep).
    pub(crate) fn cut_marker(&self, facts: &RequestFacts<'_>) -> Option<CutMarker> {
        let expiring = self
            .inner()
            .rules
            .iter()
            .any(|r| matches!(r.effect, Effect::ExpireRewatch));
        expiring.then(|| CutMarker {
            inner: Arc::clone(&self.inner),
            resource: cut_resource(facts),
        })
    }

    /// A resumed watch was answered 410 Expired by an injected expiry.
    pub(crate) fn count_expiry(&self) {
        self.inner().injected.expiries += 1;
    }

    /// What the rules have injected so far.
    pub fn injected(&self) -> Injected {
        self.inner().injected
    }
}

/// The Status an injected failure answers with, worded like kube-apiserver's errors of that code.
pub(crate) fn injected_error(code: u16, gr: GroupResource<'_>, name: &str) -> ApiError {
    const WHY: &str = "injected fault (ApiServer::faults)";
    match code {
        401 => ApiError::unauthorized(),
        403 => ApiError::forbidden(gr, name, WHY),
        404 => ApiError::not_found(gr, name),
        405 => ApiError::method_not_allowed(),
        // The exact stale-resourceVersion message, so controllers' conflict handling sees a real one.
        409 => ApiError::conflict(gr, name),
        410 => ApiError::expired(format!("too old resource version: {WHY}")),
        422 => ApiError::unprocessable(WHY),
        429 => {
            let mut e = generic(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.".into(),
            );
            e.details = Some(Box::new(Details {
                retry_after_seconds: Some(TOO_MANY_REQUESTS_RETRY_SECONDS),
                ..Details::default()
            }));
            e
        }
        500 => ApiError::internal(WHY),
        503 => generic(
            503,
            "ServiceUnavailable",
            format!("the server is currently unable to handle the request: {WHY}"),
        ),
        504 => ApiError::timeout(format!(
            "the server was unable to return a response in the time allotted: {WHY}"
        )),
        400 => ApiError::bad_request(WHY),
        other => generic(
            other,
            // metav1.StatusReasonUnknown for codes without a reason of their own.
            if other >= 500 { "InternalError" } else { "" },
            format!("the server responded with the status code {other}: {WHY}"),
        ),
    }
}

/// The 410 a resumed watch gets when an expiry is injected, worded like kube-apiserver's watch
/// cache ("too old resource version: 12 (40)").
pub(crate) fn injected_expiry(requested: u64, current: u64) -> ApiError {
    ApiError::expired(format!(
        "too old resource version: {requested} ({current}): injected fault (ApiServer::faults)"
    ))
}

fn generic(code: u16, reason: &'static str, message: String) -> ApiError {
    ApiError {
        code,
        reason: reason.into(),
        message,
        details: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(verb: &'a str, resource: &'a str, sub: &'a str) -> RequestFacts<'a> {
        RequestFacts {
            verb,
            group: "",
            resource,
            namespace: "default",
            name: "x",
            subresource: sub,
            user_agent: "kube-rs",
        }
    }

    /// A held request waits for the release; the rule's count is spent as it arrives, later
    /// requests pass; dropping the handle releases too; and `at_most` bounds a forgotten hold.
    #[tokio::test]
    async fn held_requests_wait_for_the_release() {
        let f = Faults::default();
        let write = Match::verb("update").resource("pods");
        let hold = f.hold(write.clone(), 1, Duration::from_secs(60));
        assert_eq!(f.pending_matching(&write), 1);
        assert!(f.take_hold(&facts("get", "pods", "")).is_none(), "a read");
        let held = f
            .take_hold(&facts("update", "pods", ""))
            .expect("the write is held");
        assert_eq!(
            f.pending_matching(&write),
            0,
            "spent as the request arrived"
        );
        assert!(f.take_hold(&facts("update", "pods", "")).is_none(), "once");
        let mut waiting = tokio::spawn(held.released());
        // Not released: the waiter is still pending after the scheduler ran it.
        tokio::task::yield_now().await;
        assert!(
            futures::poll!(&mut waiting).is_pending(),
            "held until released"
        );
        hold.release();
        tokio::time::timeout(Duration::from_secs(30), waiting)
            .await
            .expect("released")
            .unwrap();
        assert_eq!(f.injected().delays, 1);

        let dropped = f.hold(write.clone(), 1, Duration::from_secs(60));
        let held = f.take_hold(&facts("update", "pods", "")).expect("held");
        drop(dropped);
        tokio::time::timeout(Duration::from_secs(30), held.released())
            .await
            .expect("a dropped handle releases");

        let _forgotten = f.hold(write, 1, Duration::from_millis(1));
        let held = f.take_hold(&facts("update", "pods", "")).expect("held");
        tokio::time::timeout(Duration::from_secs(30), held.released())
            .await
            .expect("at_most ends the hold");
    }

    #[test]
    fn rules_fire_in_order_and_count_down() {
        let f = Faults::default();
        f.fail(Match::verb("update").subresource("status"), 409, 2)
            .unwrap();
        f.delay(Match::any(), Duration::from_millis(1), 1);
        assert_eq!(f.pending(), 3);
        // The main resource does not match a status-only rule; the catch-all delay fires.
        assert_eq!(
            f.take(&facts("update", "pods", "")),
            Planned::delay(Duration::from_millis(1))
        );
        assert_eq!(
            f.take(&facts("update", "pods", "status")),
            Planned::fail(409)
        );
        assert_eq!(
            f.take(&facts("update", "pods", "status")),
            Planned::fail(409)
        );
        assert_eq!(
            f.take(&facts("update", "pods", "status")),
            Planned::default()
        );
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn a_latency_rule_does_not_hide_a_later_failure_rule() {
        let f = Faults::default();
        // A latency campaign's rule first, then a test's own failure: both apply.
        f.delay_between(
            Match::any(),
            Duration::from_millis(5),
            Duration::from_millis(5),
        );
        f.fail(Match::verb("update"), 500, 1).unwrap();
        assert_eq!(
            f.take(&facts("update", "pods", "")),
            Planned {
                delay: Some(Duration::from_millis(5)),
                fail: Some(500)
            }
        );
        assert_eq!(f.pending(), 0);
        assert_eq!(
            f.take(&facts("update", "pods", "")),
            Planned::delay(Duration::from_millis(5))
        );
        let injected = f.injected();
        assert_eq!((injected.delays, injected.errors_500), (2, 1));
    }

    #[test]
    fn pending_matching_counts_only_the_rules_of_that_matcher() {
        let f = Faults::default();
        let mine = Match::verb("update").namespace("mine");
        let theirs = Match::verb("update").namespace("theirs");
        f.fail(mine.clone(), 500, 1).unwrap();
        f.fail(theirs.clone(), 500, 2).unwrap();
        f.fail_share(mine.clone(), 500, 0.5).unwrap();
        assert_eq!(f.pending_matching(&mine), 1);
        assert_eq!(f.pending_matching(&theirs), 2);
        assert_eq!(f.pending(), 3);
        let in_mine = RequestFacts {
            namespace: "mine",
            ..facts("update", "pods", "")
        };
        assert_eq!(f.take(&in_mine), Planned::fail(500));
        assert_eq!(f.pending_matching(&mine), 0);
        assert_eq!(
            f.pending_matching(&theirs),
            2,
            "another test's rule is left alone"
        );
    }

    #[test]
    fn codes_outside_4xx_5xx_are_refused() {
        let f = Faults::default();
        assert!(matches!(
            f.fail(Match::any(), 200, 1),
            Err(Error::FaultCode { code: 200 })
        ));
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn injected_statuses_carry_kube_reasons() {
        let gr = GroupResource {
            group: "apps",
            resource: "deployments",
        };
        for (code, reason) in [
            (400, "BadRequest"),
            (404, "NotFound"),
            (409, "Conflict"),
            (429, "TooManyRequests"),
            (500, "InternalError"),
            (503, "ServiceUnavailable"),
            (504, "Timeout"),
        ] {
            let e = injected_error(code, gr, "d");
            assert_eq!((e.code, e.reason.as_ref()), (code, reason));
            assert_eq!(e.to_status()["code"], code);
        }
        assert_eq!(
            injected_error(429, gr, "d").to_status()["details"]["retryAfterSeconds"],
            1
        );
    }

    #[test]
    fn shares_fire_at_their_rate_and_the_seed_reproduces_the_draws() {
        let draws = |seed: u64| {
            let f = Faults::default();
            f.seed(seed);
            f.fail_share(Match::writes(), 500, 0.25).unwrap();
            (0..2000)
                .map(|_| f.take(&facts("update", "pods", "")).fail.is_some())
                .collect::<Vec<_>>()
        };
        let a = draws(7);
        let fired = a.iter().filter(|x| **x).count();
        // 25% of 2000 = 500; the binomial's standard deviation is about 19.
        assert!((400..600).contains(&fired), "{fired}");
        assert_eq!(a, draws(7), "the same seed, the same draws");
        assert_ne!(a, draws(8));
    }

    #[test]
    fn a_share_that_does_not_fire_leaves_the_request_to_the_next_share() {
        let f = Faults::default();
        f.seed(3);
        f.fail_share(Match::any(), 500, 0.5).unwrap();
        f.fail_share(Match::any(), 429, 0.5).unwrap();
        let codes: Vec<_> = (0..400)
            .map(|_| f.take(&facts("update", "pods", "")).fail)
            .collect();
        for (code, name) in [(Some(500), "500"), (Some(429), "429"), (None, "none")] {
            let n = codes.iter().filter(|c| **c == code).count();
            // About 200, 100 and 100 of 400.
            assert!(n > 50, "{name}: {n} of 400");
        }
    }

    #[test]
    fn counted_rules_fire_before_shares_whatever_the_order() {
        let f = Faults::default();
        // A campaign's background share first, a test's exact script second.
        f.fail_share(Match::any(), 500, 1.0).unwrap();
        f.fail(Match::verb("update"), 409, 2).unwrap();
        f.delay_between(
            Match::any(),
            Duration::from_millis(1),
            Duration::from_millis(1),
        );
        f.delay(Match::verb("update"), Duration::from_secs(3), 1);
        let update = facts("update", "pods", "");
        assert_eq!(
            f.take(&update),
            Planned {
                delay: Some(Duration::from_secs(3)),
                fail: Some(409)
            }
        );
        assert_eq!(
            f.take(&update),
            Planned {
                delay: Some(Duration::from_millis(1)),
                fail: Some(409)
            }
        );
        assert_eq!(f.pending(), 0);
        assert_eq!(
            f.take(&update),
            Planned {
                delay: Some(Duration::from_millis(1)),
                fail: Some(500)
            }
        );
    }

    #[test]
    fn writes_and_user_agents_select_requests() {
        let f = Faults::default();
        f.fail_share(Match::writes().user_agent("controllers"), 500, 1.0)
            .unwrap();
        let mut w = facts("patch", "pods", "status");
        assert_eq!(f.take(&w), Planned::default(), "another client's write");
        w.user_agent = "controllers/fixtures";
        assert_eq!(f.take(&w), Planned::fail(500));
        let mut r = facts("get", "pods", "");
        r.user_agent = "controllers/fixtures";
        assert_eq!(f.take(&r), Planned::default(), "a read is not a write");
        assert_eq!(f.pending(), 0, "shares are never counted as pending");
    }

    #[test]
    fn delays_are_drawn_from_their_range() {
        let f = Faults::default();
        f.delay_between(
            Match::any(),
            Duration::from_millis(200),
            Duration::from_millis(50),
        );
        for _ in 0..200 {
            match f.take(&facts("get", "pods", "")) {
                Planned {
                    delay: Some(d),
                    fail: None,
                } => assert!(
                    (Duration::from_millis(50)..=Duration::from_millis(200)).contains(&d),
                    "{d:?}"
                ),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn watch_rules_cut_streams_and_expire_only_resumed_watches() {
        let f = Faults::default();
        let w = facts("watch", "pods", "");
        assert_eq!(f.watch(&w, Some(7)), WatchFaults::default());
        f.cut_watches(
            Match::verb("watch"),
            Duration::from_secs(2),
            Duration::from_secs(5),
        );
        f.expire_rewatches(Match::verb("watch"), 1.0).unwrap();
        let fresh = f.watch(&w, None);
        assert!(
            !fresh.expire,
            "a watch from the current state has nothing to expire"
        );
        let cut = fresh.cut_after.unwrap();
        assert!((Duration::from_secs(2)..=Duration::from_secs(5)).contains(&cut));
        assert!(
            !f.watch(&w, Some(7)).expire,
            "a watch after a fresh list resumes where no cut stopped: kube never expires it"
        );
        let marker = f.cut_marker(&w).expect("an expiry rule keeps cut marks");
        marker.mark(9);
        assert!(
            !f.watch(&facts("watch", "secrets", ""), Some(9)).expire,
            "a cut of another resource's watch leaves this one alone"
        );
        assert!(
            !f.watch(&w, Some(10)).expire,
            "a watch from past the cut did not resume after it"
        );
        assert!(f.watch(&w, Some(9)).expire, "the watch resuming at the cut");
        assert!(
            !f.watch(&w, Some(9)).expire,
            "one cut, one expiry: the relist's watch goes on"
        );
        // The client's own timeout wins when shorter.
        assert_eq!(
            fresh.timeout(Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(fresh.timeout(None), Some(cut));
        // Watch rules never fail or delay ordinary requests.
        assert_eq!(f.take(&facts("get", "pods", "")), Planned::default());
    }

    #[test]
    fn shares_outside_zero_to_one_are_refused() {
        let f = Faults::default();
        for share in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                f.fail_share(Match::any(), 500, share),
                Err(Error::FaultShare { .. })
            ));
            assert!(f.expire_rewatches(Match::any(), share).is_err());
        }
        assert!(f.fail_share(Match::any(), 302, 0.5).is_err());
    }
}
