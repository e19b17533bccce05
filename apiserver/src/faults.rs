//! Owns fault injection, a test hook on the library handle: rules that make the next N requests
//! matching a verb/resource/namespace/name/subresource fail with a chosen metav1.Status, or wait
//! before they are served, so a test can drive a controller's retry and error paths.
//!
//! Rules are checked in the order they were added; the first matching rule with requests left fires
//! and counts one down. A failed request changes nothing in the store and is logged with the
//! injected code in the request log, like any other answer.

use std::sync::Mutex;
use std::time::Duration;

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
}

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
}

/// What a fired rule does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answer with this HTTP status code and its metav1.Status, without touching the store.
    Fail(u16),
    /// Wait this long, then serve the request normally.
    Delay(Duration),
}

#[derive(Debug)]
struct Rule {
    matcher: Match,
    action: Action,
    left: usize,
}

/// The fault rules of one server (`ApiServer::faults()`).
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
}

impl Faults {
    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        // Rules are plain data; a panic elsewhere cannot leave them inconsistent.
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fails the next `times` requests matching `matcher` with HTTP status `code` (400–599) and a
    /// metav1.Status worded like kube-apiserver's for that code (409 is the stale-resourceVersion
    /// Conflict, 500 InternalError, 429 TooManyRequests with `Retry-After: 1`, ...).
    pub fn fail(&self, matcher: Match, code: u16, times: usize) -> Result<(), Error> {
        if !(400..=599).contains(&code) {
            return Err(Error::FaultCode { code });
        }
        self.rules().push(Rule {
            matcher,
            action: Action::Fail(code),
            left: times,
        });
        Ok(())
    }

    /// Delays the next `times` requests matching `matcher` by `by`, then serves them normally.
    pub fn delay(&self, matcher: Match, by: Duration, times: usize) {
        self.rules().push(Rule {
            matcher,
            action: Action::Delay(by),
            left: times,
        });
    }

    /// Requests the rules will still fail or delay, summed over every rule.
    pub fn pending(&self) -> usize {
        self.rules().iter().map(|r| r.left).sum()
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules().clear();
    }

    /// Fires the first matching rule with requests left, if any.
    pub(crate) fn take(&self, facts: &RequestFacts<'_>) -> Option<Action> {
        let mut rules = self.rules();
        let rule = rules
            .iter_mut()
            .find(|r| r.left > 0 && r.matcher.matches(facts))?;
        rule.left -= 1;
        let action = rule.action;
        rules.retain(|r| r.left > 0);
        Some(action)
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

fn generic(code: u16, reason: &'static str, message: String) -> ApiError {
    ApiError {
        code,
        reason,
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
        }
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
            Some(Action::Delay(Duration::from_millis(1)))
        );
        assert_eq!(
            f.take(&facts("update", "pods", "status")),
            Some(Action::Fail(409))
        );
        assert_eq!(
            f.take(&facts("update", "pods", "status")),
            Some(Action::Fail(409))
        );
        assert_eq!(f.take(&facts("update", "pods", "status")), None);
        assert_eq!(f.pending(), 0);
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
            assert_eq!((e.code, e.reason), (code, reason));
            assert_eq!(e.to_status()["code"], code);
        }
        assert_eq!(
            injected_error(429, gr, "d").to_status()["details"]["retryAfterSeconds"],
            1
        );
    }
}
