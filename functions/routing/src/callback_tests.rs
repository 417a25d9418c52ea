//! The callback queue in routing: due callbacks compete with waiting calls for free agents,
//! lost calls become callbacks (IN-11, IN-22).

use std::sync::Arc;

use cti_events::CommandAction;
use linka_shared::{
    adapters::InMemoryCallbackStore,
    callbacks::{Callback, CallbackSource, CallbackStatus, NewCallback, Slot},
    cti_state::AgentState,
    ports::{CallbackStore, RoutingStateStore, Versioned},
    routing_live::RoutingTrigger,
};

use super::tests::{at, config, fixture, presence, query, Fixture};
use super::*;

fn with_callbacks(f: Fixture) -> (Fixture, InMemoryCallbackStore) {
    let store = InMemoryCallbackStore::new();
    let Fixture {
        router,
        state,
        signals,
    } = f;
    let router = router.with_callbacks(Arc::new(store.clone()));
    (
        Fixture {
            router,
            state,
            signals,
        },
        store,
    )
}

fn new_callback(id: &str, entered: i64, slot: Option<Slot>) -> Callback {
    Callback::create(
        NewCallback {
            id: id.into(),
            queue_id: "kkc".into(),
            number: "+420601999888".into(),
            client_id: None,
            client_name: None,
            source: CallbackSource::Ivr,
            entered_at: Some(at(entered)),
            priority: 5,
            requested_slot: slot,
            created_by: "ivr".into(),
            note: None,
        },
        at(entered),
    )
    .unwrap()
}

async fn store_new(store: &InMemoryCallbackStore, callback: Callback) {
    store
        .save(&Versioned {
            value: callback,
            version: 0,
        })
        .await
        .unwrap();
}

/// A route request from a caller with a Czech mobile number.
fn query_from_mobile(call: &str) -> cti_events::RouteQuery {
    let mut query = query(call, 0);
    query.request.calling_device = Some("601123456".into());
    query
}

fn dials(f: &Fixture) -> Vec<(String, String)> {
    f.signals
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            CommandAction::Dial { device, to } => Some((device, to)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn when_a_callback_entered_before_the_waiting_call_should_dial_the_callback_first() {
    let (f, store) = with_callbacks(fixture(config()));
    f.state
        .set_agent(presence("2001", AgentState::NotReady, -100));
    // A call waits (entered at 0); the callback's original call entered earlier (-60).
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    store_new(&store, new_callback("cb1", -60, None)).await;
    f.state.set_agent(presence("2001", AgentState::Ready, 5));
    let handled = f.router.agent_available("2001", at(6)).await.unwrap();
    assert_eq!(
        handled,
        Handled::CallbackDialled {
            callback_id: "cb1".into(),
            username: "jana".into()
        }
    );
    assert_eq!(dials(&f), vec![("2001".into(), "+420601999888".into())]);
    let stored = store.get("cb1").await.unwrap().unwrap().value;
    assert!(
        matches!(stored.status, CallbackStatus::InProgress { ref agent, .. } if agent == "jana")
    );
    let reservation = f.state.reservation("jana").await.unwrap().unwrap();
    assert_eq!(reservation.call_id, callback_reservation_id("cb1"));
    // The waiting call was not offered to her.
    let waiting = f.state.waiting_call("r1/c1").await.unwrap().unwrap();
    assert_eq!(waiting.offered_to, None);
}

#[tokio::test]
async fn when_the_waiting_call_entered_first_should_offer_the_call_not_the_callback() {
    let (f, store) = with_callbacks(fixture(config()));
    f.state
        .set_agent(presence("2001", AgentState::NotReady, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    store_new(&store, new_callback("cb1", 3, None)).await;
    f.state.set_agent(presence("2001", AgentState::Ready, 5));
    let handled = f.router.agent_available("2001", at(6)).await.unwrap();
    assert!(matches!(handled, Handled::Offered { ref call_id, .. } if call_id == "r1/c1"));
    assert!(dials(&f).is_empty());
    assert!(store
        .get("cb1")
        .await
        .unwrap()
        .unwrap()
        .value
        .status
        .is_open());
}

#[tokio::test]
async fn when_a_scheduled_callback_is_not_due_should_look_again_when_its_slot_starts() {
    let (f, store) = with_callbacks(fixture(config()));
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    let slot = Slot::new(at(600), at(2400)).unwrap();
    store_new(&store, new_callback("cb1", 0, Some(slot))).await;
    // Before the slot: nothing is dialled, the worker looks again at the slot's start.
    let handled = f.router.callback_due("cb1", at(10)).await.unwrap();
    assert_eq!(
        handled,
        Handled::CallbackLater {
            callback_id: "cb1".into()
        }
    );
    assert!(dials(&f).is_empty());
    assert_eq!(
        f.signals.triggers().last().cloned(),
        Some((
            RoutingTrigger::CallbackDue {
                callback_id: "cb1".into()
            },
            591
        ))
    );
    // An agent who becomes free before the slot does not take it either.
    assert_eq!(
        f.router.agent_available("2001", at(20)).await.unwrap(),
        Handled::Nothing
    );
    // In the slot, the free agent dials it.
    let handled = f.router.callback_due("cb1", at(601)).await.unwrap();
    assert!(matches!(handled, Handled::CallbackDialled { .. }));
    assert_eq!(dials(&f), vec![("2001".into(), "+420601999888".into())]);
}

#[tokio::test]
async fn when_two_workers_race_for_one_callback_should_dial_it_once() {
    let (f, store) = with_callbacks(fixture(config()));
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.state.set_agent(presence("2002", AgentState::Ready, -100));
    store_new(&store, new_callback("cb1", 0, None)).await;
    let (a, b) = tokio::join!(
        f.router.callback_due("cb1", at(1)),
        f.router.agent_available("2002", at(1))
    );
    let dialled = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|h| matches!(h, Handled::CallbackDialled { .. }))
        .count();
    assert_eq!(dialled, 1);
    assert_eq!(dials(&f).len(), 1);
}

#[tokio::test]
async fn when_a_caller_hangs_up_in_the_queue_should_create_one_callback_keeping_the_place() {
    let (f, store) = with_callbacks(fixture(config()));
    let routed = f
        .router
        .route(&query_from_mobile("c1"), at(0))
        .await
        .unwrap();
    assert_eq!(routed.destination, "5100");
    // The caller hangs up; the trigger is delivered twice.
    f.router.call_settled("r1/c1", None, at(30)).await.unwrap();
    f.router.call_settled("r1/c1", None, at(31)).await.unwrap();
    let all = store.all();
    assert_eq!(all.len(), 1);
    let callback = &all[0];
    assert_eq!(callback.number, "+420601123456");
    assert_eq!(callback.queue_id, "kkc");
    assert_eq!(callback.entered_at, at(0));
    assert_eq!(
        callback.source,
        CallbackSource::MissedCall {
            contact_id: "r1/c1".into()
        }
    );
    assert!(f.signals.triggers().contains(&(
        RoutingTrigger::CallbackDue {
            callback_id: callback.id.clone()
        },
        1
    )));
    // A second lost call from the same number merges into it.
    f.router
        .route(&query_from_mobile("c2"), at(100))
        .await
        .unwrap();
    f.router.call_settled("r1/c2", None, at(130)).await.unwrap();
    let all = store.all();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].merged_calls.len(), 1);
    assert_eq!(all[0].merged_calls[0].contact_id, "r1/c2");
}

#[tokio::test]
async fn when_an_answered_call_ends_should_create_no_callback() {
    let (f, store) = with_callbacks(fixture(config()));
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    let routed = f
        .router
        .route(&query_from_mobile("c1"), at(0))
        .await
        .unwrap();
    assert_eq!(routed.destination, "2001");
    f.router
        .call_settled("r1/c1", Some("2001"), at(5))
        .await
        .unwrap();
    f.router.call_settled("r1/c1", None, at(60)).await.unwrap();
    assert!(store.all().is_empty());
}

#[tokio::test]
async fn when_callbacks_are_off_should_serve_calls_as_before() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    f.router.call_settled("r1/c1", None, at(30)).await.unwrap();
    assert_eq!(
        f.router.callback_due("cb1", at(31)).await.unwrap(),
        Handled::Nothing
    );
}
