//! CSTA message → [`cti_events::CtiEvent`].
//!
//! The contract is PBX-neutral (see `cti-events`): device ids become plain text (`N<2001>;noa=nk`
//! → `2001`), connection ids become `callId` + `device`, enumerations become their text.
//! Responses and session messages are not events (the link handles them): they map to `None`.

use csta::model::*;
use csta::types::{ConnectionId, ConnectionList, DeviceId, LocalConnectionState};
use csta::{Element, Message};
use cti_events::{
    AgentEvent, AgentStateKind, CallEvent, CallEventKind, CtiEvent, OtherEvent, RouteRequested,
};

/// Reduces a CSTA device id to plain text: the part inside `N<…>` when present, else the text
/// before any `;parameter`. `None` for empty ids (`notKnown`, `notRequired`).
pub fn device_text(device: &DeviceId) -> Option<String> {
    plain_device(&device.id)
}

/// [`device_text`] on a raw string.
pub fn plain_device(raw: &str) -> Option<String> {
    let inner = match (raw.find('<'), raw.rfind('>')) {
        (Some(start), Some(end)) if start < end => &raw[start + 1..end],
        _ => raw.split(';').next().unwrap_or(raw),
    };
    let inner = inner.trim();
    (!inner.is_empty()).then(|| inner.to_owned())
}

fn dev(device: &Option<DeviceId>) -> Option<String> {
    device.as_ref().and_then(device_text)
}

fn state(s: &Option<LocalConnectionState>) -> Option<String> {
    s.as_ref().map(|s| s.as_str().to_owned())
}

/// The monitored device of an event, from its monitor cross-reference id.
pub trait MonitorLookup {
    /// The device monitored under `cross_ref_id`.
    fn device_of(&self, cross_ref_id: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> MonitorLookup for F {
    fn device_of(&self, cross_ref_id: &str) -> Option<String> {
        self(cross_ref_id)
    }
}

/// The parts every call event shares.
struct Common<'a> {
    kind: CallEventKind,
    cross_ref: &'a Option<String>,
    connection: &'a Option<ConnectionId>,
    local: &'a Option<LocalConnectionState>,
    cause: &'a Option<String>,
}

fn call_event(
    name: &str,
    c: Common<'_>,
    monitors: &dyn MonitorLookup,
    fill: impl FnOnce(&mut CallEvent),
) -> CtiEvent {
    let call_id = c
        .connection
        .as_ref()
        .and_then(|conn| conn.call_id.clone())
        .filter(|id| !id.is_empty());
    let Some(call_id) = call_id else {
        // A call event without a call id cannot be grouped per call: keep it for diagnostics.
        return CtiEvent::Other(OtherEvent {
            message: name.to_owned(),
            call_id: None,
        });
    };
    let mut event = CallEvent {
        kind: c.kind,
        call_id,
        device: c
            .connection
            .as_ref()
            .and_then(|conn| conn.device_id.as_deref())
            .and_then(plain_device),
        monitored_device: c.cross_ref.as_deref().and_then(|x| monitors.device_of(x)),
        cause: c.cause.clone(),
        local_state: state(c.local),
        ..CallEvent::default()
    };
    fill(&mut event);
    CtiEvent::Call(event)
}

/// The call id the PBX renamed the call to, from a transfer/conference connection list.
fn resulting_call(list: &Option<ConnectionList>, old: Option<&str>) -> Option<String> {
    list.as_ref()?
        .0
        .iter()
        .filter_map(|item| item.new_connection.as_ref()?.call_id.clone())
        .find(|new| Some(new.as_str()) != old)
}

fn first_text(el: &Element) -> Option<String> {
    if !el.text.trim().is_empty() {
        return Some(el.text.trim().to_owned());
    }
    el.children.iter().find_map(first_text)
}

fn agent(
    state: AgentStateKind,
    agent_device: &Option<DeviceId>,
    cross_ref: &Option<String>,
    agent_id: &Option<String>,
    acd_group: &Option<DeviceId>,
    monitors: &dyn MonitorLookup,
) -> Option<CtiEvent> {
    let device =
        dev(agent_device).or_else(|| cross_ref.as_deref().and_then(|x| monitors.device_of(x)))?;
    Some(CtiEvent::Agent(AgentEvent {
        state,
        device,
        agent_id: agent_id.clone(),
        acd_group: dev(acd_group),
        reason_code: None,
        snapshot: false,
    }))
}

/// Maps a message received from the PBX to an event, or `None` when it is not an event
/// (responses, session messages — the link handles those).
pub fn map_message(message: &Message, monitors: &dyn MonitorLookup) -> Option<CtiEvent> {
    use CallEventKind as K;
    let name = message.name();
    let event = match message {
        Message::ServiceInitiatedEvent(e) => call_event(
            name,
            Common {
                kind: K::ServiceInitiated,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.initiated_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| ev.subject_device = dev(&e.initiating_device),
        ),
        Message::OriginatedEvent(e) => call_event(
            name,
            Common {
                kind: K::Originated,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.originated_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.calling_device = dev(&e.calling_device);
                ev.called_device = dev(&e.called_device);
            },
        ),
        Message::DeliveredEvent(e) => call_event(
            name,
            Common {
                kind: K::Delivered,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.subject_device = dev(&e.alerting_device);
                ev.calling_device = dev(&e.calling_device);
                ev.called_device = dev(&e.called_device);
            },
        ),
        Message::EstablishedEvent(e) => call_event(
            name,
            Common {
                kind: K::Established,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.established_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.subject_device = dev(&e.answering_device);
                ev.calling_device = dev(&e.calling_device);
                ev.called_device = dev(&e.called_device);
            },
        ),
        Message::ConnectionClearedEvent(e) => call_event(
            name,
            Common {
                kind: K::ConnectionCleared,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.dropped_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| ev.subject_device = dev(&e.releasing_device),
        ),
        Message::CallClearedEvent(e) => call_event(
            name,
            Common {
                kind: K::CallCleared,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.cleared_call,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |_| {},
        ),
        Message::HeldEvent(e) => call_event(
            name,
            Common {
                kind: K::Held,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.held_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| ev.subject_device = dev(&e.holding_device),
        ),
        Message::RetrievedEvent(e) => call_event(
            name,
            Common {
                kind: K::Retrieved,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.retrieved_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| ev.subject_device = dev(&e.retrieving_device),
        ),
        Message::QueuedEvent(e) => call_event(
            name,
            Common {
                kind: K::Queued,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.queued_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.target_device = dev(&e.queue);
                ev.calling_device = dev(&e.calling_device);
                ev.called_device = dev(&e.called_device);
            },
        ),
        Message::DivertedEvent(e) => call_event(
            name,
            Common {
                kind: K::Diverted,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.subject_device = dev(&e.diverting_device);
                ev.target_device = dev(&e.new_destination);
                ev.calling_device = dev(&e.calling_device);
                ev.called_device = dev(&e.called_device);
            },
        ),
        Message::FailedEvent(e) => call_event(
            name,
            Common {
                kind: K::Failed,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.failed_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.subject_device = dev(&e.failing_device);
                ev.calling_device = dev(&e.calling_device);
                ev.called_device = dev(&e.called_device);
            },
        ),
        Message::TransferredEvent(e) => call_event(
            name,
            Common {
                kind: K::Transferred,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.primary_old_call,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.subject_device = dev(&e.transferring_device);
                ev.target_device = dev(&e.transferred_to_device);
                ev.secondary_call_id = e
                    .secondary_old_call
                    .as_ref()
                    .and_then(|c| c.call_id.clone());
                ev.resulting_call_id =
                    resulting_call(&e.transferred_connections, Some(ev.call_id.as_str()));
            },
        ),
        Message::ConferencedEvent(e) => call_event(
            name,
            Common {
                kind: K::Conferenced,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.primary_old_call,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.subject_device = dev(&e.conferencing_device);
                ev.target_device = dev(&e.added_party);
                ev.secondary_call_id = e
                    .secondary_old_call
                    .as_ref()
                    .and_then(|c| c.call_id.clone());
                ev.resulting_call_id =
                    resulting_call(&e.conference_connections, Some(ev.call_id.as_str()));
            },
        ),
        Message::NetworkReachedEvent(e) => call_event(
            name,
            Common {
                kind: K::NetworkReached,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.outbound_connection,
                local: &e.local_connection_info,
                cause: &e.cause,
            },
            monitors,
            |ev| {
                ev.target_device = dev(&e.network_interface_used);
                ev.calling_device = dev(&e.calling_device);
                ev.called_device = dev(&e.called_device);
            },
        ),
        Message::DigitsGeneratedEvent(e) => call_event(
            name,
            Common {
                kind: K::DigitsGenerated,
                cross_ref: &e.monitor_cross_ref_id,
                connection: &e.connection,
                local: &None,
                cause: &None,
            },
            monitors,
            |ev| ev.digits = e.digit_generated_list.clone(),
        ),
        Message::AgentLoggedOnEvent(e) => agent(
            AgentStateKind::LoggedOn,
            &e.agent_device,
            &e.monitor_cross_ref_id,
            &e.agent_id,
            &e.acd_group,
            monitors,
        )?,
        Message::AgentLoggedOffEvent(e) => agent(
            AgentStateKind::LoggedOff,
            &e.agent_device,
            &e.monitor_cross_ref_id,
            &e.agent_id,
            &e.acd_group,
            monitors,
        )?,
        Message::AgentReadyEvent(e) => agent(
            AgentStateKind::Ready,
            &e.agent_device,
            &e.monitor_cross_ref_id,
            &e.agent_id,
            &e.acd_group,
            monitors,
        )?,
        Message::AgentNotReadyEvent(e) => {
            let mut ev = agent(
                AgentStateKind::NotReady,
                &e.agent_device,
                &e.monitor_cross_ref_id,
                &e.agent_id,
                &e.acd_group,
                monitors,
            )?;
            if let CtiEvent::Agent(a) = &mut ev {
                a.reason_code = e.private_data.as_ref().and_then(first_text);
            }
            ev
        }
        Message::AgentWorkingAfterCallEvent(e) => agent(
            AgentStateKind::WorkingAfterCall,
            &e.agent_device,
            &e.monitor_cross_ref_id,
            &e.agent_id,
            &e.acd_group,
            monitors,
        )?,
        Message::AgentBusyEvent(e) => agent(
            AgentStateKind::Busy,
            &e.agent_device,
            &e.monitor_cross_ref_id,
            &e.agent_id,
            &e.acd_group,
            monitors,
        )?,
        Message::RouteRequest(r) => CtiEvent::Route(route_requested(r, 0)?),
        Message::RouteUsed(_)
        | Message::RouteEnd(_)
        | Message::ReRouteRequest(_)
        | Message::SystemStatus(_)
        | Message::Unknown(_) => CtiEvent::Other(OtherEvent {
            message: name.to_owned(),
            call_id: None,
        }),
        _ => return None,
    };
    Some(event)
}

/// A RouteRequest as the contract's [`RouteRequested`]; `None` without a cross-reference id
/// (the relay could not answer it anyway).
pub fn route_requested(r: &RouteRequest, attempt: u32) -> Option<RouteRequested> {
    let cross_ref_id = r.cross_ref_identifier.clone().filter(|x| !x.is_empty())?;
    let routing_device = dev(&r.routeing_device)
        .or_else(|| dev(&r.current_route))
        .unwrap_or_default();
    Some(RouteRequested {
        cross_ref_id,
        call_id: r
            .routed_call
            .as_ref()
            .and_then(|c| c.call_id.clone())
            .unwrap_or_default(),
        routing_device,
        calling_device: dev(&r.calling_device),
        called_device: dev(&r.current_route),
        attempt,
    })
}

/// The agent event a `GetAgentStateResponse` describes for `device` (the relay asks every agent
/// device when the link comes up, so that the cloud knows agents whose state has not changed
/// since). `None` when the list has no entry or an unknown state.
pub fn agent_state_snapshot(device: &str, list: &Element) -> Option<CtiEvent> {
    let entry = list.child("agentStateEntry")?;
    let agent_id = entry
        .child("agentID")
        .map(|e| e.text.clone())
        .filter(|id| !id.is_empty());
    let logged_on = entry.child("loggedOnState").map(|e| e.text.as_str()) != Some("false");
    let item = entry
        .child("agentInfo")
        .and_then(|info| info.child("agentInfoItem"));
    let acd_group = item
        .and_then(|item| item.child("acdGroup"))
        .map(|e| e.text.clone())
        .filter(|group| !group.is_empty());
    let state = match item
        .and_then(|item| item.child("agentState"))
        .map(|e| e.text.as_str())
    {
        _ if !logged_on => AgentStateKind::LoggedOff,
        Some("agentReady") => AgentStateKind::Ready,
        Some("agentNotReady") => AgentStateKind::NotReady,
        Some("agentWorkingAfterCall") => AgentStateKind::WorkingAfterCall,
        Some("agentBusy") => AgentStateKind::Busy,
        Some("agentNull") => AgentStateKind::LoggedOff,
        None => AgentStateKind::LoggedOn,
        Some(_) => return None,
    };
    Some(CtiEvent::Agent(AgentEvent {
        state,
        device: device.to_owned(),
        agent_id,
        acd_group,
        reason_code: None,
        snapshot: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use csta::types::{ConnectionListItem, DeviceId};

    fn monitors(x: &str) -> Option<String> {
        (x == "m1").then(|| "2001".to_owned())
    }

    fn map(m: Message) -> CtiEvent {
        map_message(&m, &monitors).unwrap()
    }

    fn call(m: Message) -> CallEvent {
        match map(m) {
            CtiEvent::Call(c) => c,
            other => panic!("not a call event: {other:?}"),
        }
    }

    fn wrapped(id: &str) -> Option<DeviceId> {
        Some(DeviceId::wrapped("deviceIdentifier", id))
    }

    #[test]
    fn when_device_is_in_n_form_should_reduce_to_digits() {
        assert_eq!(
            plain_device("N<302118840100>;noa=nk").as_deref(),
            Some("302118840100")
        );
        assert_eq!(plain_device("2001;noa=nk").as_deref(), Some("2001"));
        assert_eq!(
            plain_device("+420601123456").as_deref(),
            Some("+420601123456")
        );
        assert_eq!(plain_device(""), None);
        assert_eq!(device_text(&DeviceId::wrapped("notKnown", "")), None);
    }

    #[test]
    fn when_delivered_should_map_call_device_alerting_and_state() {
        let c = call(Message::DeliveredEvent(DeliveredEvent {
            monitor_cross_ref_id: Some("m1".into()),
            connection: Some(ConnectionId::new("C1", "N<2001>")),
            alerting_device: wrapped("N<2001>;noa=nk"),
            calling_device: wrapped("+420601123456"),
            called_device: wrapped("5000"),
            local_connection_info: Some(LocalConnectionState::Alerting),
            cause: Some("newCall".into()),
            ..Default::default()
        }));
        assert_eq!(c.kind, CallEventKind::Delivered);
        assert_eq!(c.call_id, "C1");
        assert_eq!(c.device.as_deref(), Some("2001"));
        assert_eq!(c.monitored_device.as_deref(), Some("2001"));
        assert_eq!(c.subject_device.as_deref(), Some("2001"));
        assert_eq!(c.calling_device.as_deref(), Some("+420601123456"));
        assert_eq!(c.called_device.as_deref(), Some("5000"));
        assert_eq!(c.local_state.as_deref(), Some("alerting"));
        assert_eq!(c.cause.as_deref(), Some("newCall"));
    }

    #[test]
    fn when_established_should_map_answering_device_as_subject() {
        let c = call(Message::EstablishedEvent(EstablishedEvent {
            established_connection: Some(ConnectionId::new("C1", "2001")),
            answering_device: wrapped("2001"),
            local_connection_info: Some(LocalConnectionState::Connected),
            ..Default::default()
        }));
        assert_eq!(c.kind, CallEventKind::Established);
        assert_eq!(c.subject_device.as_deref(), Some("2001"));
        assert_eq!(c.monitored_device, None);
    }

    #[test]
    fn when_simple_call_events_should_map_kind_and_subject() {
        let cases: Vec<(Message, CallEventKind, Option<&str>, Option<&str>)> = vec![
            (
                Message::ServiceInitiatedEvent(ServiceInitiatedEvent {
                    initiated_connection: Some(ConnectionId::new("C", "2001")),
                    initiating_device: wrapped("2001"),
                    ..Default::default()
                }),
                CallEventKind::ServiceInitiated,
                Some("2001"),
                None,
            ),
            (
                Message::ConnectionClearedEvent(ConnectionClearedEvent {
                    dropped_connection: Some(ConnectionId::new("C", "2001")),
                    releasing_device: wrapped("2002"),
                    ..Default::default()
                }),
                CallEventKind::ConnectionCleared,
                Some("2002"),
                None,
            ),
            (
                Message::HeldEvent(HeldEvent {
                    held_connection: Some(ConnectionId::new("C", "2001")),
                    holding_device: wrapped("2001"),
                    ..Default::default()
                }),
                CallEventKind::Held,
                Some("2001"),
                None,
            ),
            (
                Message::RetrievedEvent(RetrievedEvent {
                    retrieved_connection: Some(ConnectionId::new("C", "2001")),
                    retrieving_device: wrapped("2001"),
                    ..Default::default()
                }),
                CallEventKind::Retrieved,
                Some("2001"),
                None,
            ),
            (
                Message::QueuedEvent(QueuedEvent {
                    queued_connection: Some(ConnectionId::new("C", "5100")),
                    queue: wrapped("5100"),
                    ..Default::default()
                }),
                CallEventKind::Queued,
                None,
                Some("5100"),
            ),
            (
                Message::DivertedEvent(DivertedEvent {
                    connection: Some(ConnectionId::new("C", "5000")),
                    diverting_device: wrapped("5000"),
                    new_destination: wrapped("2001"),
                    ..Default::default()
                }),
                CallEventKind::Diverted,
                Some("5000"),
                Some("2001"),
            ),
            (
                Message::FailedEvent(FailedEvent {
                    failed_connection: Some(ConnectionId::new("C", "2001")),
                    failing_device: wrapped("2002"),
                    ..Default::default()
                }),
                CallEventKind::Failed,
                Some("2002"),
                None,
            ),
            (
                Message::NetworkReachedEvent(NetworkReachedEvent {
                    outbound_connection: Some(ConnectionId::new("C", "T1")),
                    network_interface_used: wrapped("T1"),
                    ..Default::default()
                }),
                CallEventKind::NetworkReached,
                None,
                Some("T1"),
            ),
            (
                Message::CallClearedEvent(CallClearedEvent {
                    cleared_call: Some(ConnectionId {
                        call_id: Some("C".into()),
                        device_id: None,
                    }),
                    ..Default::default()
                }),
                CallEventKind::CallCleared,
                None,
                None,
            ),
            (
                Message::DigitsGeneratedEvent(DigitsGeneratedEvent {
                    connection: Some(ConnectionId::new("C", "2001")),
                    ..Default::default()
                }),
                CallEventKind::DigitsGenerated,
                None,
                None,
            ),
            (
                Message::OriginatedEvent(OriginatedEvent {
                    originated_connection: Some(ConnectionId::new("C", "2001")),
                    calling_device: wrapped("2001"),
                    called_device: wrapped("0612345678"),
                    ..Default::default()
                }),
                CallEventKind::Originated,
                None,
                None,
            ),
        ];
        for (message, kind, subject, target) in cases {
            let name = message.name().to_owned();
            let c = call(message);
            assert_eq!(c.kind, kind, "{name}");
            assert_eq!(c.call_id, "C", "{name}");
            assert_eq!(c.subject_device.as_deref(), subject, "{name}");
            assert_eq!(c.target_device.as_deref(), target, "{name}");
        }
        let digits = call(Message::DigitsGeneratedEvent(DigitsGeneratedEvent {
            connection: Some(ConnectionId::new("C", "0612345678")),
            digit_generated_list: Some("12#".into()),
            ..Default::default()
        }));
        assert_eq!(digits.digits.as_deref(), Some("12#"));
        let silent = [
            Message::PlayEvent(Default::default()),
            Message::RecordEvent(Default::default()),
            Message::StopEvent(Default::default()),
        ];
        for m in silent {
            // The IVR controller reports these as Ivr events; they are not published as such.
            assert_eq!(map_message(&m, &|_: &str| None), None, "{}", m.name());
        }
    }

    #[test]
    fn when_transferred_should_map_secondary_and_resulting_call() {
        let c = call(Message::TransferredEvent(TransferredEvent {
            primary_old_call: Some(ConnectionId::new("A", "2001")),
            secondary_old_call: Some(ConnectionId::new("B", "2001")),
            transferring_device: wrapped("2001"),
            transferred_to_device: wrapped("2002"),
            transferred_connections: Some(ConnectionList(vec![ConnectionListItem {
                new_connection: Some(ConnectionId::new("D", "2002")),
                old_connection: Some(ConnectionId::new("B", "2002")),
                endpoint: None,
            }])),
            cause: Some("transfer".into()),
            ..Default::default()
        }));
        assert_eq!(c.kind, CallEventKind::Transferred);
        assert_eq!(c.call_id, "A");
        assert_eq!(c.secondary_call_id.as_deref(), Some("B"));
        assert_eq!(c.resulting_call_id.as_deref(), Some("D"));
        assert_eq!(c.target_device.as_deref(), Some("2002"));
    }

    #[test]
    fn when_conferenced_should_map_added_party() {
        let c = call(Message::ConferencedEvent(ConferencedEvent {
            primary_old_call: Some(ConnectionId::new("A", "2001")),
            secondary_old_call: Some(ConnectionId::new("B", "2001")),
            conferencing_device: wrapped("2001"),
            added_party: wrapped("2003"),
            ..Default::default()
        }));
        assert_eq!(c.kind, CallEventKind::Conferenced);
        assert_eq!(c.target_device.as_deref(), Some("2003"));
        assert_eq!(c.resulting_call_id, None);
    }

    #[test]
    fn when_call_event_has_no_call_id_should_map_to_other() {
        let ev = map(Message::DeliveredEvent(DeliveredEvent::default()));
        assert!(matches!(ev, CtiEvent::Other(o) if o.message == "DeliveredEvent"));
    }

    #[test]
    fn when_agent_events_should_map_state_and_device() {
        let ev = map(Message::AgentReadyEvent(AgentReadyEvent {
            agent_device: wrapped("N<2001>"),
            agent_id: Some("42".into()),
            acd_group: wrapped("5100"),
            ..Default::default()
        }));
        assert_eq!(
            ev,
            CtiEvent::Agent(AgentEvent {
                state: AgentStateKind::Ready,
                device: "2001".into(),
                agent_id: Some("42".into()),
                acd_group: Some("5100".into()),
                reason_code: None,
                snapshot: false,
            })
        );
        let ev = map(Message::AgentNotReadyEvent(AgentNotReadyEvent {
            monitor_cross_ref_id: Some("m1".into()),
            private_data: Some(Element::with_children(
                "privateData",
                vec![Element::text("reasonCode", "7")],
            )),
            ..Default::default()
        }));
        let CtiEvent::Agent(a) = ev else {
            panic!("agent expected")
        };
        assert_eq!(
            (a.state, a.device.as_str()),
            (AgentStateKind::NotReady, "2001")
        );
        assert_eq!(a.reason_code.as_deref(), Some("7"));
        for (m, s) in [
            (
                Message::AgentLoggedOnEvent(AgentLoggedOnEvent {
                    agent_device: wrapped("1"),
                    ..Default::default()
                }),
                AgentStateKind::LoggedOn,
            ),
            (
                Message::AgentLoggedOffEvent(AgentLoggedOffEvent {
                    agent_device: wrapped("1"),
                    ..Default::default()
                }),
                AgentStateKind::LoggedOff,
            ),
            (
                Message::AgentWorkingAfterCallEvent(AgentWorkingAfterCallEvent {
                    agent_device: wrapped("1"),
                    ..Default::default()
                }),
                AgentStateKind::WorkingAfterCall,
            ),
            (
                Message::AgentBusyEvent(AgentBusyEvent {
                    agent_device: wrapped("1"),
                    ..Default::default()
                }),
                AgentStateKind::Busy,
            ),
        ] {
            assert!(matches!(map(m), CtiEvent::Agent(a) if a.state == s));
        }
    }

    #[test]
    fn when_route_request_should_map_to_route_requested() {
        let ev = map(Message::RouteRequest(RouteRequest {
            cross_ref_identifier: Some("R1".into()),
            current_route: Some(DeviceId::plain("5000")),
            calling_device: wrapped("+420601123456"),
            routed_call: Some(ConnectionId::new("C9", "5000")),
            ..Default::default()
        }));
        assert_eq!(
            ev,
            CtiEvent::Route(RouteRequested {
                cross_ref_id: "R1".into(),
                call_id: "C9".into(),
                routing_device: "5000".into(),
                calling_device: Some("+420601123456".into()),
                called_device: Some("5000".into()),
                attempt: 0,
            })
        );
    }

    #[test]
    fn when_message_is_unknown_should_map_to_other_and_responses_to_none() {
        let unknown = csta::decode(b"<FooEvent xmlns=\"x\"/>").unwrap().message;
        assert!(matches!(map(unknown), CtiEvent::Other(o) if o.message == "FooEvent"));
        assert_eq!(
            map_message(
                &Message::MonitorStartResponse(Default::default()),
                &monitors
            ),
            None
        );
    }
    fn state_list(logged_on: &str, state: Option<&str>) -> Element {
        let mut item = vec![Element::text("acdGroup", "5900")];
        if let Some(state) = state {
            item.push(Element::text("agentState", state));
        }
        Element::with_children(
            "agentStateList",
            vec![Element::with_children(
                "agentStateEntry",
                vec![
                    Element::text("agentID", "2001"),
                    Element::text("loggedOnState", logged_on),
                    Element::with_children(
                        "agentInfo",
                        vec![Element::with_children("agentInfoItem", item)],
                    ),
                ],
            )],
        )
    }

    #[test]
    fn when_the_pbx_lists_an_agent_state_should_map_it_to_an_agent_event() {
        for (logged_on, state, expected) in [
            ("true", Some("agentReady"), Some(AgentStateKind::Ready)),
            (
                "true",
                Some("agentNotReady"),
                Some(AgentStateKind::NotReady),
            ),
            (
                "true",
                Some("agentWorkingAfterCall"),
                Some(AgentStateKind::WorkingAfterCall),
            ),
            ("true", Some("agentBusy"), Some(AgentStateKind::Busy)),
            ("true", None, Some(AgentStateKind::LoggedOn)),
            ("false", Some("agentReady"), Some(AgentStateKind::LoggedOff)),
            ("true", Some("agentNull"), Some(AgentStateKind::LoggedOff)),
            ("true", Some("somethingElse"), None),
        ] {
            let event = agent_state_snapshot("2001", &state_list(logged_on, state));
            match (event, expected) {
                (Some(CtiEvent::Agent(agent)), Some(kind)) => {
                    assert_eq!(agent.state, kind, "{logged_on} {state:?}");
                    assert_eq!(agent.device, "2001");
                    assert_eq!(agent.agent_id.as_deref(), Some("2001"));
                    assert_eq!(agent.acd_group.as_deref(), Some("5900"));
                    assert!(agent.snapshot, "marked as the PBX's answer, not a change");
                }
                (None, None) => {}
                (other, expected) => panic!("{state:?}: {other:?} vs {expected:?}"),
            }
        }
        assert!(
            agent_state_snapshot("2001", &Element::with_children("agentStateList", vec![]))
                .is_none()
        );
    }
}
