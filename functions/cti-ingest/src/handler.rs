//! Ingestion of CTI events from the SQS FIFO queue `CtiEventQueue`.
//!
//! Each SQS message is one [`CtiEnvelope`] (JSON). For each record, in order:
//!
//! 1. Parse it. An unreadable body or a schema `version` newer than [`SCHEMA_VERSION`] is a
//!    failure (reported, never dropped): after `maxReceiveCount` SQS moves it to
//!    `CtiEventDeadLetterQueue`, whose alarm calls an operator.
//! 2. Load the call (or agent device) state, fold the event in (`linka_shared::cti_state`) and
//!    write the new state(s) and the contact lifecycle records in one transaction, conditional on
//!    the versions read. When another writer got there first, read again and retry.
//! 3. An event already applied (its id is in the state) changes nothing and is acknowledged.
//!
//! FIFO: once a record of a message group fails, every later record of that group in the batch
//! is reported as failed too, unprocessed — processing it would apply a call's events out of
//! order (AWS requires this for FIFO partial batch responses). A failed record without a
//! `MessageGroupId` fails the rest of the batch.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use cti_events::{AgentEvent, CtiEnvelope, CtiEvent, SCHEMA_VERSION};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    cti_state::{
        call_id_of, call_key, AgentOutcome, AgentPresence, CallOutcome, CallState, Topology,
        WrapUpDecision,
    },
    ports::{CtiStateStore, CtiWrite, CtiWriteError, RoutingTriggers, StoreError, Versioned},
    routing_live::triggers_for,
    stats::increments_for_calls,
    telemetry::ErrorChain,
};
use thiserror::Error;
use tracing::Instrument;

/// How often one event is tried when its state keeps changing under it.
pub const MAX_ATTEMPTS: u32 = 5;

/// What the handler needs, built once in `main`.
pub struct HandlerDeps<S> {
    pub store: S,
    pub topology: Topology,
    /// Where routing triggers go (an agent became ready, a call was answered or ended); `None`
    /// when no routing function is deployed.
    pub triggers: Option<Arc<dyn RoutingTriggers>>,
    /// Real-time pushes to the desks (`crate::push`); `None` when not configured.
    pub pushes: Option<Arc<crate::push::Pushes>>,
}

/// Why a record was not processed.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("the message has no body")]
    MissingBody,
    #[error("the message body is not a CTI envelope")]
    Malformed(#[source] serde_json::Error),
    #[error("the envelope has schema version {found}; this consumer reads up to {SCHEMA_VERSION}")]
    UnsupportedVersion { found: u32 },
    #[error("an earlier message of message group {group} failed in this batch")]
    EarlierFailureInGroup { group: String },
    #[error("the state changed under every one of {MAX_ATTEMPTS} attempts")]
    Contention,
    #[error("failed to read or write CTI state")]
    Store(#[from] StoreError),
}

/// A batch item without a message id cannot be reported individually.
#[derive(Debug, Error)]
#[error("an SQS record without a messageId failed; failing the whole batch so that it is retried")]
pub struct UnreportableFailure;

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Stored, with this many lifecycle records.
    Applied { contact_events: usize },
    /// Applied before: nothing to do.
    Duplicate,
    /// Nothing to store (link state, command results, unmapped PBX messages).
    Ignored,
}

/// Entry point for every SQS batch.
pub async fn function_handler<S>(
    deps: &HandlerDeps<S>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error>
where
    S: CtiStateStore,
{
    let mut response = SqsBatchResponse::default();
    let mut failed_groups: BTreeSet<String> = BTreeSet::new();
    let mut fail_the_rest = false;
    for record in &event.payload.records {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let group = record.attributes.get("MessageGroupId").cloned();
        let span = tracing::info_span!(
            "cti_message",
            message_id,
            group = group.as_deref().unwrap_or_default()
        );
        let blocked = match &group {
            _ if fail_the_rest => Some("(unknown)".to_owned()),
            Some(group) if failed_groups.contains(group) => Some(group.clone()),
            _ => None,
        };
        let result = match blocked {
            Some(group) => Err(IngestError::EarlierFailureInGroup { group }),
            None => process(deps, record).instrument(span.clone()).await,
        };
        let error = match result {
            Ok(ingested) => {
                span.in_scope(|| tracing::debug!(?ingested, "message done"));
                continue;
            }
            Err(error) => error,
        };
        span.in_scope(|| {
            tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "message failed; SQS will retry it");
        });
        match group {
            Some(group) => {
                failed_groups.insert(group);
            }
            None => fail_the_rest = true,
        }
        if message_id.is_empty() {
            return Err(UnreportableFailure.into());
        }
        response.add_failure(message_id);
    }
    Ok(response)
}

async fn process<S: CtiStateStore>(
    deps: &HandlerDeps<S>,
    record: &SqsMessage,
) -> Result<Ingested, IngestError> {
    let body = record.body.as_deref().ok_or(IngestError::MissingBody)?;
    // Not acknowledged when unreadable: the message goes to the DLQ after maxReceiveCount, where
    // it can be inspected and redriven once the consumer understands it.
    let envelope: CtiEnvelope = serde_json::from_str(body).map_err(IngestError::Malformed)?;
    if envelope.version > SCHEMA_VERSION {
        return Err(IngestError::UnsupportedVersion {
            found: envelope.version,
        });
    }
    ingest(deps, &envelope).await
}

/// Applies one envelope, then tells routing what it implies. A trigger that cannot be sent is
/// logged, not failed: the event is stored, and routing looks at every waiting call at least
/// every 30 s anyway. Triggers go out for a duplicate too (the first delivery may have stopped
/// between the commit and the trigger); the routing worker handles repeats as no-ops.
pub async fn ingest<S: CtiStateStore>(
    deps: &HandlerDeps<S>,
    envelope: &CtiEnvelope,
) -> Result<Ingested, IngestError> {
    let ingested = apply(deps, envelope).await?;
    crate::projection::after_event(&deps.store, envelope).await?;
    if let Some(triggers) = &deps.triggers {
        for trigger in triggers_for(envelope) {
            if let Err(error) = triggers.send(&trigger, 0).await {
                tracing::warn!(?trigger, error.message = %error, error.cause_chain = %ErrorChain(&error), "routing trigger not sent");
            }
        }
    }
    Ok(ingested)
}

/// Applies one envelope (retrying on version conflicts).
async fn apply<S: CtiStateStore>(
    deps: &HandlerDeps<S>,
    envelope: &CtiEnvelope,
) -> Result<Ingested, IngestError> {
    for attempt in 1..=MAX_ATTEMPTS {
        let write = match &envelope.event {
            CtiEvent::Agent(event) => agent_write(deps, envelope, event).await?,
            CtiEvent::Call(_) | CtiEvent::Route(_) | CtiEvent::RouteDecided(_) => {
                call_write(deps, envelope).await?
            }
            CtiEvent::Link(link) => {
                // Link state is for monitoring; reconciling after `down` is a later concern.
                tracing::info!(relay_id = %envelope.relay_id, state = ?link.state, "relay link changed");
                return Ok(Ingested::Ignored);
            }
            // An IVR port's report drives the IVR session (a routing trigger), not call state.
            CtiEvent::Ivr(_) | CtiEvent::CommandResult(_) | CtiEvent::Other(_) => {
                return Ok(Ingested::Ignored)
            }
        };
        let Some(write) = write else {
            return Ok(Ingested::Duplicate);
        };
        match deps.store.commit(&write).await {
            Ok(()) => {
                crate::push::after_commit(deps, envelope, &write).await;
                return Ok(Ingested::Applied {
                    contact_events: write.events.len(),
                });
            }
            Err(CtiWriteError::Conflict) => {
                tracing::debug!(attempt, "state changed since it was read; retrying");
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
            }
            Err(CtiWriteError::Store(error)) => return Err(error.into()),
        }
    }
    Err(IngestError::Contention)
}

/// The write for a call event; `None` when it was applied before.
async fn call_write<S: CtiStateStore>(
    deps: &HandlerDeps<S>,
    envelope: &CtiEnvelope,
) -> Result<Option<CtiWrite>, IngestError> {
    let Some(call_id) = call_id_of(&envelope.event) else {
        return Ok(None);
    };
    let current = deps
        .store
        .call(&call_key(&envelope.relay_id, call_id))
        .await?;
    let version = current.as_ref().map_or(0, |call| call.version);
    let before = current.as_ref().map(|call| call.value.clone());
    let Some((mut call, outcome)) =
        CallState::fold(current.map(|call| call.value), envelope, &deps.topology)
    else {
        return Ok(None);
    };
    let CallOutcome::Applied {
        mut events,
        wrap_up,
    } = outcome
    else {
        return Ok(None);
    };
    let mut agents = Vec::new();
    let mut calls = Vec::new();
    if let Some(started) = wrap_up {
        let ended_at = match deps.store.agent(&started.agent_device).await? {
            Some(Versioned {
                value: mut presence,
                version,
            }) => match presence.start_wrap_up(&started) {
                WrapUpDecision::Pending { replaced } => {
                    agents.push(Versioned {
                        value: presence,
                        version,
                    });
                    // The agent's previous contact never saw its wrap-up end: it ends now.
                    if let Some(ended) = replaced {
                        if let Some(mut previous) = deps.store.call(&ended.call_key).await? {
                            if let Some(done) = previous.value.end_wrap_up(ended.at) {
                                events.push(done);
                                calls.push(previous);
                            }
                        }
                    }
                    None
                }
                WrapUpDecision::EndedAt(at) => Some(at),
            },
            // No agent state known for the device: nothing to wait for.
            None => Some(started.at),
        };
        if let Some(at) = ended_at {
            events.extend(call.end_wrap_up(at));
        }
    }
    // Consultation calls a transfer or conference merged into this one end with it: the PBX
    // reports nothing more of them (unless the PBX carries on under that call's id).
    let continues_as = call
        .continued_as
        .as_ref()
        .map(|id| call_key(&call.relay_id, id));
    for secondary in newly_merged(&call, before.as_ref()) {
        if continues_as.as_deref() == Some(secondary.as_str()) {
            continue;
        }
        if let Some(mut merged) = deps.store.call(&secondary).await? {
            if let Some(done) = merged.value.merged_into(envelope.observed_at) {
                events.push(done);
                calls.push(merged);
            }
        }
    }
    track_device_calls(deps, &call, before.as_ref(), envelope, &mut agents).await?;
    calls.insert(
        0,
        Versioned {
            value: call,
            version,
        },
    );
    // The desk statistics' counters, in the same transaction (DESK-6).
    let counters = increments_for_calls(calls.iter().map(|call| &call.value), &events);
    Ok(Some(CtiWrite {
        calls,
        agents,
        events,
        counters,
    }))
}

/// The keys of the calls a transfer or conference merged into `call` with this event.
fn newly_merged(call: &CallState, before: Option<&CallState>) -> Vec<String> {
    call.secondary_calls
        .iter()
        .filter(|id| before.is_none_or(|before| !before.secondary_calls.contains(*id)))
        .map(|id| call_key(&call.relay_id, id))
        .collect()
}

/// Updates the calls kept on the agent items of the devices on the call (what their desks
/// show), in the same transaction as the call. Devices without an agent item (customers,
/// external numbers) are skipped; an agent item already in the write (wrap-up) is updated there.
async fn track_device_calls<S: CtiStateStore>(
    deps: &HandlerDeps<S>,
    call: &CallState,
    before: Option<&CallState>,
    envelope: &CtiEnvelope,
    agents: &mut Vec<Versioned<AgentPresence>>,
) -> Result<(), IngestError> {
    // Consultation calls a transfer or conference merged into this one are gone at the PBX
    // (it reports no more of them): they leave the desks too.
    let merged = newly_merged(call, before);
    for device in call.desk_devices(before, &deps.topology) {
        let (index, fetched) = match agents.iter().position(|agent| agent.value.device == device) {
            Some(index) => (index, false),
            None => match deps.store.agent(&device).await? {
                Some(stored) => {
                    agents.push(stored);
                    (agents.len() - 1, true)
                }
                None => continue,
            },
        };
        let Some(agent) = agents.get_mut(index) else {
            continue;
        };
        let earlier = agent.value.calls.get(&call.call_key);
        let view = call.device_view(&device, &deps.topology, earlier, envelope.observed_at);
        let mut changed = agent.value.track_call(&call.call_key, view);
        for key in &merged {
            changed |= agent.value.calls.remove(key).is_some();
        }
        if !changed && fetched {
            // Read only to look: not part of the write (keeps the transaction small).
            agents.pop();
        }
    }
    Ok(())
}

/// The write for an agent event; `None` when it was applied before.
async fn agent_write<S: CtiStateStore>(
    deps: &HandlerDeps<S>,
    envelope: &CtiEnvelope,
    event: &AgentEvent,
) -> Result<Option<CtiWrite>, IngestError> {
    let (mut presence, version) = match deps.store.agent(&event.device).await? {
        Some(stored) => (stored.value, stored.version),
        None => (AgentPresence::new(event.device.clone()), 0),
    };
    let AgentOutcome::Applied { wrap_up_ended } = presence.apply(envelope, event) else {
        return Ok(None);
    };
    let mut write = CtiWrite {
        agents: vec![Versioned {
            value: presence,
            version,
        }],
        ..CtiWrite::default()
    };
    if let Some(ended) = wrap_up_ended {
        if let Some(Versioned {
            value: mut call,
            version,
        }) = deps.store.call(&ended.call_key).await?
        {
            if let Some(done) = call.end_wrap_up(ended.at) {
                write.events.push(done);
                write.calls.push(Versioned {
                    value: call,
                    version,
                });
            }
        }
    }
    // `done` after `wrapUp` repeats a counted outcome: nothing, but derived the same way.
    write.counters =
        increments_for_calls(write.calls.iter().map(|call| &call.value), &write.events);
    Ok(Some(write))
}

#[cfg(test)]
mod tests {
    use linka_shared::{
        adapters::InMemoryCtiStateStore,
        contacts::{ContactResult, ContactState},
        cti_state::AgentState,
        ports::MockCtiStateStore,
    };
    use serde_json::{json, Value};

    use super::*;

    const ANSWERED: &str = include_str!("../../../events/sqs/cti-ingest-answered-call.json");
    const ABANDONED: &str =
        include_str!("../../../events/sqs/cti-ingest-abandoned-with-duplicate.json");
    const POISON: &str = include_str!("../../../events/sqs/cti-ingest-poison.json");
    const LOST_IN_QUEUE: &str = include_str!("../../../events/sqs/cti-ingest-lost-in-queue.json");
    const LOST_RINGING: &str = include_str!("../../../events/sqs/cti-ingest-lost-ringing.json");

    fn event(json: &str) -> LambdaEvent<SqsEvent> {
        LambdaEvent::new(
            serde_json::from_str(json).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    fn deps() -> HandlerDeps<InMemoryCtiStateStore> {
        HandlerDeps {
            store: InMemoryCtiStateStore::new(),
            topology: Topology::default(),
            triggers: None,
            pushes: None,
        }
    }

    fn failures(response: &SqsBatchResponse) -> Vec<String> {
        response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.clone())
            .collect()
    }

    fn message_ids(json: &str) -> Vec<String> {
        let value: Value = serde_json::from_str(json).unwrap();
        value["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| record["messageId"].as_str().unwrap().to_owned())
            .collect()
    }

    fn lifecycle(store: &InMemoryCtiStateStore, call_key: &str) -> Vec<ContactState> {
        let contact = store.calls()[call_key].value.contact_id.clone();
        store
            .events()
            .into_iter()
            .filter(|event| event.contact_id == contact)
            .map(|event| event.to)
            .collect()
    }

    /// Records the routing triggers sent.
    #[derive(Default)]
    struct RecordingTriggers(std::sync::Mutex<Vec<linka_shared::routing_live::RoutingTrigger>>);

    #[async_trait::async_trait]
    impl RoutingTriggers for RecordingTriggers {
        async fn send(
            &self,
            trigger: &linka_shared::routing_live::RoutingTrigger,
            _delay_seconds: u32,
        ) -> Result<(), linka_shared::ports::SignalError> {
            self.0.lock().unwrap().push(trigger.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn when_events_are_stored_should_tell_routing_about_ready_agents_and_settled_calls() {
        use linka_shared::routing_live::RoutingTrigger;
        // GIVEN a routing queue
        let triggers = Arc::new(RecordingTriggers::default());
        let deps = HandlerDeps {
            triggers: Some(triggers.clone() as Arc<dyn RoutingTriggers>),
            ..deps()
        };
        // WHEN the answered-call batch arrives, and then again (a redelivery)
        function_handler(&deps, event(ANSWERED)).await.unwrap();
        let first = triggers.0.lock().unwrap().clone();
        function_handler(&deps, event(ANSWERED)).await.unwrap();
        // THEN routing heard that the call was answered at 2001 and ended, and that 2001 is ready
        assert!(first.contains(&RoutingTrigger::CallSettled {
            call_id: "prg-1/c1".into(),
            answered_by: Some("2001".into()),
        }));
        assert!(first.contains(&RoutingTrigger::CallSettled {
            call_id: "prg-1/c1".into(),
            answered_by: None,
        }));
        assert!(first.contains(&RoutingTrigger::AgentAvailable {
            device: "2001".into()
        }));
        // AND a redelivery repeats them (the worker treats repeats as no-ops)
        assert_eq!(triggers.0.lock().unwrap().len(), 2 * first.len());
    }

    /// The answered-call batch cut after its first `records` messages.
    fn first_records(json: &str, records: usize) -> LambdaEvent<SqsEvent> {
        let mut batch: SqsEvent = serde_json::from_str(json).unwrap();
        batch.records.truncate(records);
        LambdaEvent::new(batch, lambda_runtime::Context::default())
    }

    #[tokio::test]
    async fn when_a_call_rings_is_answered_and_ends_at_an_agent_should_keep_the_desk_view_on_the_agent(
    ) {
        use linka_shared::cti_state::{CallDirection, LocalState};
        // GIVEN agent 2001 logged on and ready, and a customer's call delivered to 2001
        let deps = deps();
        function_handler(&deps, first_records(ANSWERED, 5))
            .await
            .unwrap();
        // THEN the agent item shows the call ringing, from the customer, in its queue
        let ringing = deps.store.agents()["2001"].value.calls["prg-1/c1"].clone();
        assert_eq!(ringing.state, LocalState::Alerting);
        assert_eq!(ringing.remote.as_deref(), Some("+420601123456"));
        assert_eq!(ringing.direction, CallDirection::Inbound);
        assert_eq!(ringing.queue.as_deref(), Some("5000"));
        // WHEN the agent answers
        function_handler(&deps, first_records(ANSWERED, 7))
            .await
            .unwrap();
        let connected = deps.store.agents()["2001"].value.calls["prg-1/c1"].clone();
        assert_eq!(connected.state, LocalState::Connected);
        assert!(connected.since >= ringing.since);
        // AND the customer hangs up: the call leaves the desk
        function_handler(&deps, event(ANSWERED)).await.unwrap();
        assert!(deps.store.agents()["2001"].value.calls.is_empty());
        // AND the customer's number has no agent item created for it
        assert!(!deps.store.agents().contains_key("+420601123456"));
    }

    /// A batch of CTI envelopes of relay `prg-1` (one message group per event, in order).
    fn batch(events: &[Value]) -> LambdaEvent<SqsEvent> {
        let records: Vec<Value> = events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                let seq = index + 1;
                let body = json!({"version": 1, "eventId": format!("prg-1:9:{seq}"),
                                  "relayId": "prg-1", "seq": seq,
                                  "observedAt": format!("2026-11-27T09:00:{seq:02}.000Z"),
                                  "event": event});
                json!({"messageId": format!("m{seq}"), "receiptHandle": "r",
                       "body": body.to_string(),
                       "attributes": {"MessageGroupId": "g", "ApproximateReceiveCount": "1"},
                       "messageAttributes": {}, "eventSource": "aws:sqs"})
            })
            .collect();
        LambdaEvent::new(
            serde_json::from_value(json!({"Records": records})).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    #[tokio::test]
    async fn when_an_attended_transfer_merges_the_consultation_should_end_it_and_keep_the_customer_call(
    ) {
        use linka_shared::cti_state::LocalState;
        // GIVEN agents 2001 and 2002 ready; 2001 talks to a customer, holds and consults 2002
        let deps = deps();
        let agent = |device: &str, number: &str, state: &str| json!({"type": "agent", "state": state, "device": device, "agentId": number});
        let call = |kind: &str, call: &str, device: &str, extra: Value| {
            let mut event = json!({"type": "call", "kind": kind, "callId": call,
                                   "device": device, "subjectDevice": device});
            if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
                event.extend(extra);
            }
            event
        };
        let customer = json!({"callingDevice": "+420601123456", "calledDevice": "2001"});
        let internal = json!({"callingDevice": "2001", "calledDevice": "2002"});
        let events = vec![
            agent("2001", "agent01", "loggedOn"),
            agent("2001", "agent01", "ready"),
            agent("2002", "agent02", "loggedOn"),
            agent("2002", "agent02", "ready"),
            call("delivered", "c1", "2001", customer.clone()),
            call("established", "c1", "2001", customer.clone()),
            call("held", "c1", "2001", customer.clone()),
            call("delivered", "c2", "2002", internal.clone()),
            call("established", "c2", "2002", internal.clone()),
            // WHEN 2001 completes the transfer: the PBX merges c2 into c1
            call(
                "transferred",
                "c1",
                "2001",
                json!({"callingDevice": "+420601123456", "calledDevice": "2001",
                       "secondaryCallId": "c2", "targetDevice": "2002"}),
            ),
        ];
        let response = function_handler(&deps, batch(&events)).await.unwrap();
        assert!(failures(&response).is_empty());
        // THEN the consultation's contact is over, handled, ended by the merge
        let consultation = deps.store.calls()["prg-1/c2"].value.clone();
        assert_eq!(consultation.state, ContactState::Done);
        assert!(consultation.ended_at.is_some());
        assert!(consultation.connections.is_empty());
        assert_eq!(
            lifecycle(&deps.store, "prg-1/c2").last(),
            Some(&ContactState::Done)
        );
        // AND the customer's call goes on at 2002; 2001's desk is empty
        let customer_call = deps.store.calls()["prg-1/c1"].value.clone();
        assert_eq!(customer_call.state, ContactState::Connected);
        assert!(deps.store.agents()["2001"].value.calls.is_empty());
        let at_second = &deps.store.agents()["2002"].value.calls;
        assert!(!at_second.contains_key("prg-1/c2"));
        assert_eq!(at_second["prg-1/c1"].state, LocalState::Connected);
        // AND a redelivery changes nothing
        let before = deps.store.events().len();
        function_handler(&deps, batch(&events)).await.unwrap();
        assert_eq!(deps.store.events().len(), before);
    }

    #[tokio::test]
    async fn when_an_answered_call_and_its_agent_events_arrive_should_store_call_agent_and_lifecycle(
    ) {
        // GIVEN an empty store
        let deps = deps();
        // WHEN a batch with agent 2001 and call c1 (queued, answered, hung up, wrapped up) arrives
        let response = function_handler(&deps, event(ANSWERED)).await.unwrap();
        // THEN nothing failed, the call is done and the agent ready
        assert!(response.batch_item_failures.is_empty());
        let call = &deps.store.calls()["prg-1/c1"];
        assert_eq!(call.value.state, ContactState::Done);
        assert_eq!(call.value.answered_by.as_deref(), Some("2001"));
        assert_eq!(call.value.pilot.as_deref(), Some("5000"));
        use ContactState::*;
        assert_eq!(
            lifecycle(&deps.store, "prg-1/c1"),
            [Arrived, Queued, Offered, Connected, WrapUp, Done]
        );
        let agent = &deps.store.agents()["2001"];
        assert_eq!(agent.value.state, AgentState::Ready);
        assert_eq!(agent.value.agent_id.as_deref(), Some("agent01"));
        // AND the done record tells who answered and how long the customer waited for it
        let contact = call.value.contact_id.clone();
        let done = deps
            .store
            .events()
            .into_iter()
            .find(|event| event.contact_id == contact && event.to == Done)
            .unwrap();
        let outcome = done.outcome.unwrap();
        assert_eq!(outcome.result, ContactResult::Answered);
        assert_eq!(outcome.answered_by.as_deref(), Some("2001"));
        assert_eq!(outcome.lost_phase, None);
        assert!(outcome.from_ring_ms.is_some() && outcome.from_queue_ms.is_some());
        assert_eq!(agent.value.pending_wrap_up, None);
    }

    #[tokio::test]
    async fn when_the_agent_moves_on_before_the_call_end_is_processed_should_end_the_wrap_up_then()
    {
        // GIVEN the answered-call batch with the customer's hang-up processed last (other group)
        let mut value: Value = serde_json::from_str(ANSWERED).unwrap();
        let records = value["Records"].as_array_mut().unwrap();
        let hang_up = records.remove(7);
        records.push(hang_up);
        let deps = deps();
        // WHEN handled
        let response = function_handler(&deps, event(&value.to_string()))
            .await
            .unwrap();
        // THEN the contact is done when the agent became ready (after-call work already over)
        assert!(response.batch_item_failures.is_empty());
        let call = &deps.store.calls()["prg-1/c1"].value;
        assert_eq!(call.state, ContactState::Done);
        let ready_at = deps.store.agents()["2001"].value.since.unwrap();
        assert_eq!(call.done_at, Some(ready_at));
        assert!(call.ended_at.unwrap() < ready_at);
        assert_eq!(deps.store.agents()["2001"].value.pending_wrap_up, None);
    }

    #[tokio::test]
    async fn when_the_same_batch_is_delivered_again_should_change_nothing() {
        // GIVEN both sample batches applied
        let deps = deps();
        function_handler(&deps, event(ANSWERED)).await.unwrap();
        function_handler(&deps, event(ABANDONED)).await.unwrap();
        let (calls, agents, events, commits) = (
            deps.store.calls(),
            deps.store.agents(),
            deps.store.events(),
            deps.store.commits(),
        );
        // WHEN they are delivered again (a relay resend after the dedup window)
        let again_one = function_handler(&deps, event(ANSWERED)).await.unwrap();
        let again_two = function_handler(&deps, event(ABANDONED)).await.unwrap();
        // THEN no failure and not one write
        assert!(again_one.batch_item_failures.is_empty());
        assert!(again_two.batch_item_failures.is_empty());
        assert_eq!(deps.store.commits(), commits);
        assert_eq!(deps.store.calls(), calls);
        assert_eq!(deps.store.agents(), agents);
        assert_eq!(deps.store.events(), events);
    }

    #[tokio::test]
    async fn when_a_caller_abandons_in_queue_with_a_duplicate_should_record_it_once() {
        let deps = deps();
        let response = function_handler(&deps, event(ABANDONED)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        use ContactState::*;
        assert_eq!(
            lifecycle(&deps.store, "prg-1/c2"),
            [Arrived, Queued, AbandonedInQueue]
        );
        // queued, cleared, cleared again (duplicate: no write), call cleared, link (ignored)
        assert_eq!(deps.store.commits(), 3);
    }

    /// The record that ends the contact of `call_key`, as stored (JSON).
    fn ending_record(store: &InMemoryCtiStateStore, call_key: &str) -> Value {
        let contact = store.calls()[call_key].value.contact_id.clone();
        let ends: Vec<Value> = store
            .events()
            .into_iter()
            .filter(|event| event.contact_id == contact && event.to.ends_contact())
            .map(|event| serde_json::to_value(event).unwrap())
            .collect();
        assert_eq!(ends.len(), 1, "{ends:?}");
        ends[0].clone()
    }

    #[tokio::test]
    async fn when_callers_hang_up_in_the_queue_or_while_ringing_should_store_where_and_how_long_they_waited(
    ) {
        // GIVEN IVR port 7000 and two batches: c21 routed to the IVR, queued, ringing 2001
        // without answer, back in the queue, abandoned; c22 queued, abandoned while 2001 rings
        let deps = HandlerDeps {
            store: InMemoryCtiStateStore::new(),
            topology: Topology {
                ivr_devices: ["7000".to_owned()].into(),
                ..Topology::default()
            },
            triggers: None,
            pushes: None,
        };
        // WHEN both are handled
        for batch in [LOST_IN_QUEUE, LOST_RINGING] {
            let response = function_handler(&deps, event(batch)).await.unwrap();
            assert!(response.batch_item_failures.is_empty());
        }
        // THEN c21 is lost in the queue, with its waits from the IVR and the queue entry and
        // 2001's missed offer
        use ContactState::*;
        assert_eq!(
            lifecycle(&deps.store, "prg-1/c21"),
            [Arrived, Ivr, Queued, Offered, Queued, AbandonedInQueue]
        );
        let record = ending_record(&deps.store, "prg-1/c21");
        assert_eq!(record["at"], "2026-11-27T09:00:58.700Z");
        assert_eq!(record["from"], "queued");
        assert_eq!(
            (&record["pilot"], &record["queue"], &record["cause"]),
            (&json!("5000"), &json!("5000"), &json!("normalClearing"))
        );
        assert!(record.get("agentDevice").is_none());
        assert_eq!(
            record["outcome"],
            json!({
                "result": "abandoned", "lostPhase": "inQueue", "totalMs": 57_700,
                "fromIvrMs": 55_700, "fromQueueMs": 38_500, "missedBy": ["2001"]
            })
        );
        // AND c22 is lost while 2001 rang, 7.5 s after the ring started
        assert_eq!(
            lifecycle(&deps.store, "prg-1/c22"),
            [Arrived, Queued, Offered, AbandonedRinging]
        );
        let record = ending_record(&deps.store, "prg-1/c22");
        assert_eq!(record["agentDevice"], "2001");
        assert_eq!(
            record["outcome"],
            json!({
                "result": "abandoned", "lostPhase": "ringingAgent", "totalMs": 11_500,
                "fromQueueMs": 11_500, "fromRingMs": 7_500
            })
        );
        // AND a redelivery of both batches writes nothing
        let (commits, events) = (deps.store.commits(), deps.store.events());
        for batch in [LOST_IN_QUEUE, LOST_RINGING] {
            function_handler(&deps, event(batch)).await.unwrap();
        }
        assert_eq!(deps.store.commits(), commits);
        assert_eq!(deps.store.events(), events);
    }

    #[tokio::test]
    async fn when_a_record_fails_should_fail_the_later_records_of_its_group_only() {
        // GIVEN a batch: c3 queued, c3 malformed, c3 cleared, c4 queued, c5 of schema version 2
        let ids = message_ids(POISON);
        let deps = deps();
        // WHEN handled
        let response = function_handler(&deps, event(POISON)).await.unwrap();
        // THEN the malformed record, the later c3 record and the v2 record fail
        assert_eq!(
            failures(&response),
            [ids[1].clone(), ids[2].clone(), ids[4].clone()]
        );
        // AND c3 stays queued (its clear was not applied out of order), c4 is stored
        let calls = deps.store.calls();
        assert_eq!(calls["prg-1/c3"].value.state, ContactState::Queued);
        assert_eq!(calls["prg-1/c4"].value.state, ContactState::Queued);
        assert!(!calls.contains_key("prg-1/c5"));
    }

    #[tokio::test]
    async fn when_the_state_changed_under_the_write_should_retry_and_succeed() {
        let deps = deps();
        deps.store.inject_conflicts(2);
        let response = function_handler(&deps, event(ABANDONED)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            deps.store.calls()["prg-1/c2"].value.state,
            ContactState::AbandonedInQueue
        );
    }

    #[tokio::test]
    async fn when_conflicts_never_end_should_fail_the_record() {
        let deps = deps();
        deps.store.inject_conflicts(usize::MAX);
        let response = function_handler(&deps, event(ABANDONED)).await.unwrap();
        // Every record of group call:c2 fails (the first by contention, the rest behind it);
        // the link event of group relay:prg-1 is ignored successfully.
        let ids = message_ids(ABANDONED);
        assert_eq!(failures(&response), ids[..4].to_vec());
    }

    #[tokio::test]
    async fn when_the_store_fails_should_fail_the_record() {
        let mut store = MockCtiStateStore::new();
        store.expect_call().returning(|_| {
            Err(StoreError::Backend {
                operation: "read a CTI state",
                source: "throttled".into(),
            })
        });
        let deps = HandlerDeps {
            store,
            topology: Topology::default(),
            triggers: None,
            pushes: None,
        };
        let mut value: Value = serde_json::from_str(ABANDONED).unwrap();
        value["Records"].as_array_mut().unwrap().truncate(1);
        let response = function_handler(&deps, event(&value.to_string()))
            .await
            .unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
    }

    #[tokio::test]
    async fn when_a_failed_record_has_no_group_should_fail_every_later_record() {
        let mut value: Value = serde_json::from_str(POISON).unwrap();
        value["Records"][1]["attributes"]
            .as_object_mut()
            .unwrap()
            .remove("MessageGroupId");
        let ids = message_ids(POISON);
        let deps = deps();
        let response = function_handler(&deps, event(&value.to_string()))
            .await
            .unwrap();
        assert_eq!(failures(&response), ids[1..].to_vec());
    }

    #[tokio::test]
    async fn when_a_failed_record_has_no_message_id_should_fail_the_whole_batch() {
        let mut value: Value = serde_json::from_str(POISON).unwrap();
        value["Records"][1]
            .as_object_mut()
            .unwrap()
            .remove("messageId");
        let result = function_handler(&deps(), event(&value.to_string())).await;
        assert!(result.is_err());
    }

    #[tokio::test]
    async fn when_sample_calls_are_ingested_twice_should_count_each_contact_once() {
        use linka_shared::stats::Counter::{self, *};
        // GIVEN the sample batches: c1 answered by 2001 after 4 s and talked 1 s (08h), c2
        // abandoned in the queue (08h, with a duplicate), c21 lost in the queue (09h), c22 lost
        // while 2001 rang (10h)
        let deps = HandlerDeps {
            topology: Topology {
                ivr_devices: ["7000".to_owned()].into(),
                ..Topology::default()
            },
            ..deps()
        };
        let batches = [ANSWERED, ABANDONED, LOST_IN_QUEUE, LOST_RINGING];
        // WHEN they are ingested
        for batch in batches {
            let response = function_handler(&deps, event(batch)).await.unwrap();
            assert!(response.batch_item_failures.is_empty());
        }
        // THEN each contact is counted once, in its hour, overall, in queue 5000 and (answered)
        // for agent 2001 — the `done` after wrap-up adds nothing
        let stats = deps.store.stats();
        let get = |scope: &str, hour: &str, field: Counter| {
            stats.get(scope, &format!("2026-11-27T{hour}"), field)
        };
        for scope in ["all", "queue#5000"] {
            assert_eq!(get(scope, "08", Offered), 2, "{scope}");
            assert_eq!(get(scope, "08", Answered), 1);
            assert_eq!(get(scope, "08", AnsweredInSl), 1);
            assert_eq!(get(scope, "08", TalkMs), 1_000);
            assert_eq!(get(scope, "08", Abandoned), 1);
            assert_eq!(get(scope, "08", AbandonedInQueue), 1);
            assert_eq!(get(scope, "09", Offered), 1);
            assert_eq!(get(scope, "09", AbandonedInQueue), 1);
            assert_eq!(get(scope, "10", Offered), 1);
            assert_eq!(get(scope, "10", AbandonedRingingAgent), 1);
            assert_eq!(get(scope, "10", Answered), 0);
        }
        assert_eq!(get("agent#2001", "08", Answered), 1);
        assert_eq!(get("agent#2001", "08", AnsweredInSl), 1);
        assert_eq!(get("agent#2001", "08", Offered), 0);
        // AND a redelivery of every batch changes no counter
        let counted = stats.all();
        for batch in batches {
            function_handler(&deps, event(batch)).await.unwrap();
        }
        assert_eq!(stats.all(), counted);
    }

    #[test]
    fn when_response_is_serialized_should_have_the_lambda_shape() {
        let mut response = SqsBatchResponse::default();
        response.add_failure("m1");
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
        );
    }
}
