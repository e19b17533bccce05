//! Admission webhooks: kube-apiserver's MutatingAdmissionWebhook and ValidatingAdmissionWebhook
//! plugins, calling the webhooks of the stored Mutating/ValidatingWebhookConfigurations over HTTPS
//! with AdmissionReview v1 (or v1beta1).
//!
//! The store writes under one lock that is never held across an `.await`, and a webhook is a
//! network call that may itself call this server, so a write that webhooks must see runs in
//! passes (optimistic, as kube's own `GuaranteedUpdate` retries against etcd):
//! 1. the write runs under the lock up to its mutating stage (after decoding and defaulting,
//!    before the registry strategy). If mutating webhooks match, it stops there, recording the
//!    object they must see (an `Interrupt`), and the lock is released;
//! 2. `run` calls those webhooks and runs the write again: when the object reaching the stage is
//!    the same (same request, same stored object), the webhooks' output replaces it, and the write
//!    goes on through the strategy, validation and validating admission policies to its validating
//!    stage, where it stops again if validating webhooks match;
//! 3. `run` calls them with the final object and runs the write a last time: the same input gives
//!    the same final object (the server-generated uid, timestamps, name suffix and address choices
//!    are pinned in the `Pass`), which is then committed.
//!
//! If the stored object changed between passes, the webhooks are called again with the new one,
//! as kube's `GuaranteedUpdate` calls admission again when it retries; a write that keeps losing
//! that race for a minute gets kube's 504 request timeout. The server's own
//! writes (garbage collector, namespace controller) and writes made while no configuration exists
//! take one pass and never stop.
//!
//! `config` compiles the configurations, `select` picks the webhooks of a write under the lock and
//! resolves where they are served, `client` makes the HTTPS call (its server certificate checked
//! by `verify` as Go's client checks it), `call` runs the dispatchers.

mod call;
mod client;
mod config;
mod select;
mod verify;

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::status::ApiError;

pub use config::{Cache, MUTATING_KEY, Phase, VALIDATING_KEY};
pub use select::{Invocation, select};
// CRD conversion webhooks (`crate::conversion`) are called with the same client.
pub(crate) use client::post_bytes;
pub(crate) use config::{Target, target, tls_client};
pub(crate) use select::{Endpoint, resolve};

/// How long a write may keep running passes (each stop calls webhooks) while other writes keep
/// changing what it writes: kube-apiserver's default request timeout (`--request-timeout`),
/// after which kube answers 504 as below. kube's `GuaranteedUpdate` retries an unconditional
/// update for as long, so a count would refuse writes kube lets through under contention.
const PASS_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// Why a pass stopped: the webhooks to call, and the objects they must see.
pub enum Interrupt {
    /// Mutating webhooks of a create or update, on the object at the mutating stage.
    Mutate {
        invocations: Vec<Invocation>,
        info: Arc<ResourceInfo>,
        input: Value,
        old_object: Option<Value>,
        dry_run: bool,
    },
    /// Validating webhooks, on the final object.
    Validate {
        invocations: Vec<Invocation>,
        object: Value,
        old_object: Option<Value>,
        dry_run: bool,
    },
    /// A CRD conversion webhook: `object` into the apiVersion `desired` (a write converts the
    /// stored object it starts from, and the object it commits).
    Convert {
        call: crate::conversion::Call,
        object: Value,
        desired: String,
    },
    /// A delete: mutating webhooks (without an object) then validating ones, with the stored
    /// object as `oldObject` (kube's `AdmissionToValidateObjectDeleteFunc`).
    Delete {
        mutating: Vec<Invocation>,
        validating: Vec<Invocation>,
        old_object: Value,
        dry_run: bool,
    },
}

/// What the mutating webhooks made of one input.
struct Mutation {
    input: Value,
    old_rv: String,
    output: Value,
    warnings: Vec<String>,
}

#[derive(Default)]
struct State {
    uid: Option<String>,
    now: Option<String>,
    names: Vec<(String, String)>,
    seed: Option<u64>,
    mutation: Option<Mutation>,
    /// The final object the validating webhooks admitted, and their warnings.
    validated: Option<(Value, Vec<String>)>,
    /// The stored resourceVersion a delete's webhooks admitted, and their warnings.
    delete_admitted: Option<(String, Vec<String>)>,
    /// Conversion webhook answers: (desired apiVersion, object sent, object answered).
    conversions: Vec<(String, Value, Value)>,
    interrupt: Option<Interrupt>,
}

/// One write's passes: what the webhooks answered so far and the server-generated values pinned
/// across passes. Shared by the HTTP handler (`run`) and the store (its two stages).
#[derive(Default)]
pub struct Pass {
    state: Mutex<State>,
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pass").finish_non_exhaustive()
    }
}

impl Pass {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the state half-written (every update is one assignment).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The uid a create gives its object, the same in every pass.
    pub fn uid(&self) -> String {
        self.state()
            .uid
            .get_or_insert_with(crate::meta::new_uid)
            .clone()
    }

    /// The write's instant (creationTimestamp, managedFields, condition times), the same in
    /// every pass.
    pub fn now(&self) -> String {
        self.state()
            .now
            .get_or_insert_with(crate::meta::now)
            .clone()
    }

    /// The name generated from `prefix`, the same in every pass.
    pub fn generated_name(&self, prefix: &str) -> String {
        let mut s = self.state();
        if let Some((_, name)) = s.names.iter().find(|(p, _)| p == prefix) {
            return name.clone();
        }
        let name = crate::meta::generate_name(prefix);
        s.names.push((prefix.to_owned(), name.clone()));
        name
    }

    /// The seed of the write's random address choices, the same in every pass.
    pub fn seed(&self) -> u64 {
        *self.state().seed.get_or_insert_with(rand::random)
    }

    /// The mutating webhooks' output for `input` (with the stored object at `old_rv`), if they
    /// have seen exactly that.
    pub fn mutated(&self, input: &Value, old_rv: &str) -> Option<Value> {
        let s = self.state();
        let m = s.mutation.as_ref()?;
        (m.old_rv == old_rv && m.input == *input).then(|| m.output.clone())
    }

    /// Whether the validating webhooks admitted exactly `object`.
    pub fn validated(&self, object: &Value) -> bool {
        self.state()
            .validated
            .as_ref()
            .is_some_and(|(v, _)| v == object)
    }

    /// The conversion webhook's answer for exactly `object` into `desired`, if it was asked.
    pub fn converted(&self, object: &Value, desired: &str) -> Option<Value> {
        self.state()
            .conversions
            .iter()
            .find(|(d, input, _)| d == desired && input == object)
            .map(|(_, _, output)| output.clone())
    }

    /// Whether a delete's webhooks admitted the stored object at `rv`.
    pub fn delete_admitted(&self, rv: &str) -> bool {
        self.state()
            .delete_admitted
            .as_ref()
            .is_some_and(|(admitted, _)| admitted == rv)
    }

    /// Stops the pass: records what `run` must call, and returns the error the write returns
    /// (never sent: `run` takes the interrupt first).
    pub fn interrupt(&self, i: Interrupt) -> ApiError {
        self.state().interrupt = Some(i);
        ApiError::internal("the write stopped for webhooks outside of a webhook pass")
    }

    fn take_interrupt(&self) -> Option<Interrupt> {
        self.state().interrupt.take()
    }

    /// The webhooks' warnings of the pass that committed: mutating ones first.
    fn warnings(&self) -> Vec<String> {
        let s = self.state();
        let mut w = Vec::new();
        if let Some(m) = &s.mutation {
            w.extend(m.warnings.iter().cloned());
        }
        if let Some((_, v)) = &s.validated {
            w.extend(v.iter().cloned());
        }
        if let Some((_, v)) = &s.delete_admitted {
            w.extend(v.iter().cloned());
        }
        w
    }
}

/// Runs a write (`op`, which takes the store's lock itself) in passes until it completes, calling
/// the webhooks each pass stopped for; returns its answer and the webhooks' warnings.
pub async fn run<T>(
    pass: &Pass,
    mut op: impl FnMut() -> Result<T, ApiError>,
) -> Result<(T, Vec<String>), ApiError> {
    // Every pass sets the same timestamps (the instant is pinned on the thread running it).
    let now = pass.now();
    let deadline = tokio::time::Instant::now() + PASS_DEADLINE;
    while tokio::time::Instant::now() < deadline {
        let err = match crate::meta::with_now(&now, &mut op) {
            Ok(v) => return Ok((v, pass.warnings())),
            Err(e) => e,
        };
        let Some(interrupt) = pass.take_interrupt() else {
            return Err(err);
        };
        match interrupt {
            Interrupt::Mutate {
                invocations,
                info,
                input,
                old_object,
                dry_run,
            } => {
                let normalize = |o: &mut Value| crate::store::normalize_mutated(&info, o);
                let mutated = call::mutate(
                    &invocations,
                    Some(input.clone()),
                    old_object.as_ref(),
                    dry_run,
                    &normalize,
                )
                .await?;
                let old_rv = old_object
                    .as_ref()
                    .map(|o| crate::meta::meta_str(o, "resourceVersion").to_owned())
                    .unwrap_or_default();
                pass.state().mutation = Some(Mutation {
                    output: mutated.object.unwrap_or_else(|| input.clone()),
                    input,
                    old_rv,
                    warnings: mutated.warnings,
                });
            }
            Interrupt::Validate {
                invocations,
                object,
                old_object,
                dry_run,
            } => {
                let warnings =
                    call::validate(&invocations, Some(&object), old_object.as_ref(), dry_run)
                        .await?;
                pass.state().validated = Some((object, warnings));
            }
            Interrupt::Convert {
                call,
                object,
                desired,
            } => {
                let output = call
                    .convert_one(object.clone(), &desired)
                    .await
                    .map_err(crate::conversion::failure)?;
                pass.state().conversions.push((desired, object, output));
            }
            Interrupt::Delete {
                mutating,
                validating,
                old_object,
                dry_run,
            } => {
                let none = |_: &mut Value| Ok(());
                let mut warnings = call::mutate(&mutating, None, Some(&old_object), dry_run, &none)
                    .await?
                    .warnings;
                warnings
                    .extend(call::validate(&validating, None, Some(&old_object), dry_run).await?);
                let rv = crate::meta::meta_str(&old_object, "resourceVersion").to_owned();
                pass.state().delete_admitted = Some((rv, warnings));
            }
        }
    }
    Err(ApiError::timeout(
        "Timeout: request did not complete within requested timeout - context deadline exceeded",
    ))
}
