//! A touch (an annotation change, generation unchanged) always brings a reconcile: the clock
//! tests move the orchestrator's clock and rely on [`T::sync`] to see a reconcile that began
//! after the move. Many touches in a row, so that a touch whose reconcile goes unseen (a lost
//! watch event, a trigger filtered out, or a helper that misreads the request log) fails here
//! rather than once in a few dozen loaded runs; the server cuts every watch now and then, so
//! touches also land while the controllers' watches resume (and the fixture's watch check at
//! the end of the test covers the resumed watches too).

use controllers::api::RemediationPhase::*;
use controllers::api::RemediationRequest;
use kube::ResourceExt as _;

use crate::env::{Scenario, T};

/// Touches in a row: each is a chance for the race between a touch's log entry and its
/// reconcile's, which a loaded machine loses now and then.
const TOUCHES: usize = 50;
/// Every this many touches the server cuts every watch (the controllers resume from their last
/// resourceVersion), so touches also land while watches reconnect.
const CUT_EVERY: usize = 10;

#[tokio::test]
async fn every_touch_of_a_waiting_request_brings_a_reconcile() {
    if fixtures::skip_in_cluster_mode("it cuts the embedded API server's watches") {
        return;
    }
    let Some(t) = T::new("touches").await else {
        return;
    };
    let rr = t.create(&t.rr("touches", Scenario::LowConfidence)).await;
    let name = rr.name_any();
    // Waits for a human: nothing but a touch wakes it.
    t.wait_phase(&name, AwaitingApproval).await;
    t.settled_notification(&name, "approval").await;
    let before = t.reconciles(AwaitingApproval).await;
    for i in 0..TOUCHES {
        if i % CUT_EVERY == CUT_EVERY - 1 {
            t.own_server().cut_watches();
        }
        t.reconcile_now::<RemediationRequest>(&name).await;
    }
    // Each sync saw a reconcile that began within it; all but the last have finished.
    let after = t.reconciles(AwaitingApproval).await;
    assert!(
        after - before >= (TOUCHES - 1) as f64,
        "{} reconciles finished for {TOUCHES} syncs",
        after - before
    );
    assert_eq!(t.rrs().get(&name).await.unwrap().phase(), AwaitingApproval);
}
