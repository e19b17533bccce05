//! Defines the phase state machines shared by every kubernaut CRD status.
//!
//! Each CRD's phase enum implements [`Phase`]; its transition table is code (a `match`), so
//! the controllers and their tests check a transition against one source of truth instead of
//! re-deriving it from prose.

use std::fmt::Debug;

/// A CRD status phase with an explicit transition table.
pub trait Phase: Copy + Eq + Debug + Send + Sync + 'static {
    /// The kind of the CRD whose status carries this phase (for error messages).
    const KIND: &'static str;
    /// Every phase, in declaration order (used by table tests and metrics label sets).
    const ALL: &'static [Self];

    /// The phase a freshly created object is in before its controller touches it.
    fn initial() -> Self;

    /// Whether the transition table allows `self → next`.
    ///
    /// Staying in the same phase is not a transition and returns `false`, except where the
    /// table lists it (e.g. NotificationRequest `Retrying → Retrying`).
    fn can_transition_to(self, next: Self) -> bool;

    /// Whether no transition leaves this phase.
    fn is_terminal(self) -> bool {
        !Self::ALL.iter().any(|next| self.can_transition_to(*next))
    }

    /// The wire name of the phase (as serialized in `status`).
    fn as_str(self) -> &'static str;

    /// Checks `self → next` against the table, naming both phases when it is not allowed.
    fn transition_to(self, next: Self) -> Result<Self, InvalidTransition> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(InvalidTransition {
                kind: Self::KIND,
                from: self.as_str(),
                to: next.as_str(),
            })
        }
    }
}

/// A phase change that the CRD's transition table does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{kind} phase cannot move from {from} to {to}: the transition table does not allow it (see Phase::can_transition_to)"
)]
pub struct InvalidTransition {
    /// The CRD kind.
    pub kind: &'static str,
    /// The current phase.
    pub from: &'static str,
    /// The requested phase.
    pub to: &'static str,
}

/// Implements `as_str` and `Display` for a unit-variant phase enum, keeping the wire names in
/// one place (the serde names are the variant names).
macro_rules! phase_names {
    ($ty:ty { $($variant:ident),+ $(,)? }) => {
        impl $ty {
            /// Every variant in declaration order.
            pub const VARIANTS: &'static [$ty] = &[$(<$ty>::$variant),+];

            /// The wire name of the variant.
            pub fn name(self) -> &'static str {
                match self { $(<$ty>::$variant => stringify!($variant)),+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
pub(crate) use phase_names;

#[cfg(test)]
pub(crate) mod test_support {
    use super::Phase;

    /// Asserts that the allowed transitions of `P` are exactly `expected` (every other pair,
    /// self-transitions included, must be rejected) and that `transition_to` agrees.
    pub(crate) fn assert_table<P: Phase>(expected: &[(P, P)]) {
        for &from in P::ALL {
            for &to in P::ALL {
                let want = expected.contains(&(from, to));
                assert_eq!(
                    from.can_transition_to(to),
                    want,
                    "{} {:?} -> {:?}: expected allowed={want}",
                    P::KIND,
                    from,
                    to
                );
                assert_eq!(from.transition_to(to).is_ok(), want);
            }
        }
    }

    /// Asserts the wire names round-trip through serde as plain strings.
    pub(crate) fn assert_serde_names<P>()
    where
        P: Phase + serde::Serialize + serde::de::DeserializeOwned,
    {
        for &p in P::ALL {
            let json = serde_json::to_value(p).expect("phase serializes");
            assert_eq!(json, serde_json::Value::String(p.as_str().to_owned()));
            let back: P = serde_json::from_value(json).expect("phase deserializes");
            assert_eq!(back, p);
        }
    }
}
