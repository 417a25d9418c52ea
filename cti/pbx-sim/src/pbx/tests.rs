use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::*;

struct Harness {
    pbx: Pbx,
    rx: UnboundedReceiver<ClientCmd>,
    next: u16,
    session_timer: Vec<Effect>,
}

fn id(v: u16) -> InvokeId {
    InvokeId::new(v).unwrap()
}

impl Harness {
    fn new() -> Self {
        Self::with(SimConfig::demo())
    }

    fn with(config: SimConfig) -> Self {
        let mut pbx = Pbx::new(config, Edition::Ed4);
        let (tx, rx) = unbounded_channel();
        pbx.client_connected(1, "test".into(), tx);
        let mut h = Self {
            pbx,
            rx,
            next: 1,
            session_timer: Vec::new(),
        };
        let out = h.req(m::StartApplicationSession {
            requested_session_duration: Some(60),
            ..Default::default()
        });
        assert_eq!(out[0].1.name(), "StartApplicationSessionPosResponse");
        h.session_timer = h.pbx.take_effects();
        h
    }

    fn drain(&mut self) -> Vec<(InvokeId, Message)> {
        self.pbx.flush();
        let mut out = Vec::new();
        while let Ok(cmd) = self.rx.try_recv() {
            if let ClientCmd::Send(i, m) = cmd {
                out.push((i, *m));
            }
        }
        out
    }

    /// Sends an unconfirmed service (RouteSelect…): no response expected.
    fn send(&mut self, msg: impl Into<Message>) -> Vec<(InvokeId, Message)> {
        let i = id(self.next);
        self.next += 1;
        self.pbx.on_message(1, i, msg.into());
        self.drain()
    }

    fn req(&mut self, msg: impl Into<Message>) -> Vec<(InvokeId, Message)> {
        let i = id(self.next);
        self.next += 1;
        self.pbx.on_message(1, i, msg.into());
        let out = self.drain();
        if let Some((first, _)) = out.first() {
            assert_eq!(
                *first, i,
                "the response comes first, under the request's id"
            );
        }
        out
    }

    fn monitor(&mut self, device: &str) -> String {
        let out = self.req(m::MonitorStart {
            monitor_object: Some(DeviceId::wrapped("deviceObject", device)),
            ..Default::default()
        });
        match &out[0].1 {
            Message::MonitorStartResponse(r) => r.monitor_cross_ref_id.clone().unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn names(&mut self) -> Vec<String> {
        self.drain()
            .into_iter()
            .map(|(_, m)| m.name().to_owned())
            .collect()
    }
}

fn names(out: &[(InvokeId, Message)]) -> Vec<&str> {
    out.iter().map(|(_, m)| m.name()).collect()
}

fn conn(call: &str, device: &str) -> Option<ConnectionId> {
    Some(ConnectionId::new(call, device))
}

#[test]
fn when_inbound_call_reaches_acd_pilot_with_free_agent_should_ring_that_agent() {
    // GIVEN monitors on agent 2001 and pilot 5000, and all agents ready
    let mut h = Harness::new();
    let x_agent = h.monitor("2001");
    let x_pilot = h.monitor("5000");
    // WHEN a caller dials the pilot
    let call = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    let out = h.drain();
    // THEN both monitors get one Delivered event for the longest-idle agent (2001)
    assert_eq!(out.len(), 2);
    for (i, (invoke, msg)) in out.iter().enumerate() {
        assert_eq!(*invoke, InvokeId::EVENT);
        let Message::DeliveredEvent(e) = msg else {
            panic!("{msg:?}")
        };
        assert_eq!(e.connection, conn(&call, "2001"));
        assert_eq!(e.alerting_device, dev("2001"));
        assert_eq!(e.calling_device, dev("0611111111"));
        assert_eq!(e.called_device, dev("5000"));
        assert_eq!(e.last_redirection_device, dev("5000"));
        assert_eq!(e.cause.as_deref(), Some("distributed"));
        if i == 0 {
            assert_eq!(e.monitor_cross_ref_id.as_ref(), Some(&x_agent));
            assert_eq!(e.local_connection_info, Some(Lcs::Alerting));
        } else {
            assert_eq!(e.monitor_cross_ref_id.as_ref(), Some(&x_pilot));
            assert_eq!(e.local_connection_info, Some(Lcs::Null));
        }
    }
}

#[test]
fn when_agent_logs_on_at_a_mobile_extension_should_ring_it_and_refuse_a_csta_answer() {
    // GIVEN a mobile extension 2901 (the agent's mobile +420601000001), monitored
    let mut config = SimConfig::demo();
    let mut mobile = DeviceConfig::new("2901", DeviceKind::Agent, "Mobil agenta 2001");
    mobile.initial_state = InitialAgentState::LoggedOff;
    mobile.mobile = Some("+420601000001".into());
    config.devices.push(mobile);
    let mut h = Harness::with(config);
    h.monitor("2901");
    // WHEN agent 2001 logs on there (as the desk's phone switch does) and a call is sent to it
    h.pbx
        .set_agent_state("2901", &AgentState::LoggedOn, Some("2001"))
        .unwrap();
    let out = h.drain();
    let Message::AgentLoggedOnEvent(e) = &out[0].1 else {
        panic!("{out:?}")
    };
    assert_eq!(e.agent_id.as_deref(), Some("2001"));
    let call = h.pbx.inbound_call("0611111111", "2901", None).unwrap();
    assert_eq!(h.names(), ["DeliveredEvent"]);
    // THEN CSTA cannot answer it: the mobile is answered by the person
    let out = h.req(m::AnswerCall {
        call_to_be_answered: conn(&call, "2901"),
        ..Default::default()
    });
    assert_eq!(names(&out), ["CSTAErrorCode"]);
    assert_eq!(h.pbx.answer_device("2901").unwrap(), call);
    assert_eq!(h.names(), ["EstablishedEvent"]);
}

#[test]
fn when_agent_answers_and_caller_hangs_up_should_send_established_then_cleared() {
    let mut h = Harness::new();
    h.monitor("2001");
    let call = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    h.drain();
    // WHEN the agent answers through CSTA
    let out = h.req(m::AnswerCall {
        call_to_be_answered: conn(&call, "2001"),
        ..Default::default()
    });
    assert_eq!(names(&out), ["AnswerCallResponse", "EstablishedEvent"]);
    let Message::EstablishedEvent(e) = &out[1].1 else {
        panic!()
    };
    assert_eq!(e.answering_device, dev("2001"));
    assert_eq!(e.established_connection, conn(&call, "2001"));
    assert_eq!(e.local_connection_info, Some(Lcs::Connected));
    // AND the caller hangs up
    h.pbx.clear_connection(&call, "0611111111").unwrap();
    let out = h.drain();
    assert_eq!(names(&out), ["ConnectionClearedEvent", "CallClearedEvent"]);
    let Message::ConnectionClearedEvent(e) = &out[0].1 else {
        panic!()
    };
    assert_eq!(e.releasing_device, dev("0611111111"));
    assert_eq!(e.cause.as_deref(), Some("normalClearing"));
    assert!(h.pbx.calls().is_empty());
}

#[test]
fn when_no_agent_is_ready_should_queue_then_distribute_on_ready() {
    // GIVEN only agent 2001, logged on but not ready
    let mut cfg = SimConfig::demo();
    for d in cfg
        .devices
        .iter_mut()
        .filter(|d| d.kind == DeviceKind::Agent)
    {
        d.initial_state = InitialAgentState::LoggedOff;
    }
    let mut h = Harness::with(cfg);
    let x = h.monitor("5000");
    h.monitor("2001");
    // WHEN a call arrives
    let call = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    let out = h.drain();
    // THEN it is queued at the pilot
    assert_eq!(names(&out), ["QueuedEvent"]);
    let Message::QueuedEvent(e) = &out[0].1 else {
        panic!()
    };
    assert_eq!(e.monitor_cross_ref_id.as_ref(), Some(&x));
    assert_eq!(e.queue, dev("5000"));
    assert_eq!(e.number_queued, Some(1));
    assert_eq!(e.local_connection_info, Some(Lcs::Queued));
    // WHEN agent 2001 logs on and becomes ready
    let out = h.req(m::SetAgentState {
        device: Some(DeviceId::plain("2001")),
        requested_agent_state: Some(AgentState::LoggedOn),
        agent_id: s("2001"),
        ..Default::default()
    });
    assert_eq!(names(&out), ["SetAgentStateResponse", "AgentLoggedOnEvent"]);
    assert!(h.pbx.calls()[0].conn("2001").is_none());
    let out = h.req(m::SetAgentState {
        device: Some(DeviceId::plain("2001")),
        requested_agent_state: Some(AgentState::Ready),
        ..Default::default()
    });
    // THEN the queued call rings the agent (pilot and agent monitors both see it)
    assert_eq!(
        names(&out),
        [
            "SetAgentStateResponse",
            "AgentReadyEvent",
            "DeliveredEvent",
            "DeliveredEvent"
        ]
    );
    assert_eq!(
        h.pbx.call(&call).unwrap().conn("2001").unwrap().state,
        Lcs::Alerting
    );
    assert!(h.pbx.call(&call).unwrap().conn("5000").is_none());
}

#[test]
fn when_agent_holds_and_retrieves_should_emit_held_and_retrieved() {
    let mut h = Harness::new();
    h.monitor("2001");
    let call = h.pbx.inbound_call("0611111111", "2001", None).unwrap();
    h.pbx.answer(&call, "2001").unwrap();
    h.drain();
    let out = h.req(m::HoldCall {
        call_to_be_held: conn(&call, "2001"),
        ..Default::default()
    });
    assert_eq!(names(&out), ["HoldCallResponse", "HeldEvent"]);
    let Message::HeldEvent(e) = &out[1].1 else {
        panic!()
    };
    assert_eq!(e.holding_device, dev("2001"));
    assert_eq!(e.local_connection_info, Some(Lcs::Hold));
    // holding twice is a state error
    let out = h.req(m::HoldCall {
        call_to_be_held: conn(&call, "2001"),
        ..Default::default()
    });
    let Message::CstaErrorCode(err) = &out[0].1 else {
        panic!()
    };
    assert_eq!(err.category, ErrorCategory::StateIncompatibility);
    let out = h.req(m::RetrieveCall {
        call_to_be_retrieved: conn(&call, "2001"),
        ..Default::default()
    });
    assert_eq!(names(&out), ["RetrieveCallResponse", "RetrievedEvent"]);
}

#[test]
fn when_agent_consults_and_transfers_should_move_the_caller_to_the_consulted_agent() {
    let mut h = Harness::new();
    h.monitor("2001");
    h.monitor("2002");
    let call = h.pbx.inbound_call("0611111111", "2001", None).unwrap();
    h.pbx.answer(&call, "2001").unwrap();
    h.drain();
    // WHEN 2001 consults 2002
    let out = h.req(m::ConsultationCall {
        existing_call: conn(&call, "2001"),
        consulted_device: Some(DeviceId::plain("2002")),
        ..Default::default()
    });
    assert_eq!(
        names(&out),
        [
            "ConsultationCallResponse",
            "HeldEvent",
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "DeliveredEvent",
            "DeliveredEvent"
        ]
    );
    let Message::ConsultationCallResponse(r) = &out[0].1 else {
        panic!()
    };
    let consult = r.initiated_call.clone().unwrap().call_id.unwrap();
    assert_ne!(consult, call);
    h.pbx.answer(&consult, "2002").unwrap();
    h.drain();
    // AND transfers
    let out = h.req(m::TransferCall {
        held_call: conn(&call, "2001"),
        active_call: conn(&consult, "2001"),
        ..Default::default()
    });
    assert_eq!(
        names(&out),
        [
            "TransferCallResponse",
            "TransferredEvent",
            "TransferredEvent"
        ]
    );
    let Message::TransferredEvent(e) = &out[1].1 else {
        panic!()
    };
    assert_eq!(e.primary_old_call, conn(&call, "2001"));
    assert_eq!(e.secondary_old_call, conn(&consult, "2001"));
    assert_eq!(e.transferring_device, dev("2001"));
    assert_eq!(e.transferred_to_device, dev("2002"));
    assert_eq!(e.local_connection_info, Some(Lcs::Null));
    let list = &e.transferred_connections.as_ref().unwrap().0;
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].old_connection, conn(&consult, "2002"));
    assert_eq!(list[1].new_connection, conn(&call, "2002"));
    // THEN one call remains: the caller and 2002, both connected
    let calls = h.pbx.calls();
    assert_eq!(calls.len(), 1);
    let parties: Vec<_> = calls[0]
        .connections
        .iter()
        .map(|c| (c.device.as_str(), c.state.clone()))
        .collect();
    assert_eq!(
        parties,
        [("0611111111", Lcs::Connected), ("2002", Lcs::Connected)]
    );
}

#[test]
fn when_agent_conferences_should_make_a_three_party_call() {
    let mut h = Harness::new();
    h.monitor("2001");
    let call = h.pbx.inbound_call("0611111111", "2001", None).unwrap();
    h.pbx.answer(&call, "2001").unwrap();
    let consult = h.pbx.consult(&call, "2001", "2002").unwrap();
    h.pbx.answer(&consult, "2002").unwrap();
    h.drain();
    let out = h.req(m::ConferenceCall {
        held_call: conn(&call, "2001"),
        active_call: conn(&consult, "2001"),
        ..Default::default()
    });
    assert_eq!(names(&out), ["ConferenceCallResponse", "ConferencedEvent"]);
    let Message::ConferencedEvent(e) = &out[1].1 else {
        panic!()
    };
    assert_eq!(e.added_party, dev("2002"));
    assert_eq!(e.conference_connections.as_ref().unwrap().0.len(), 3);
    assert_eq!(e.local_connection_info, Some(Lcs::Connected));
    // one party leaving a conference keeps the call
    h.pbx.clear_connection(&call, "2002").unwrap();
    assert_eq!(h.names(), ["ConnectionClearedEvent"]);
    assert_eq!(h.pbx.call(&call).unwrap().connections.len(), 2);
}

#[test]
fn when_supervisor_joins_silently_should_send_conferenced_with_silent_cause() {
    let mut h = Harness::new();
    h.monitor("2010");
    let call = h.pbx.inbound_call("0611111111", "2001", None).unwrap();
    h.pbx.answer(&call, "2001").unwrap();
    h.drain();
    let out = h.req(m::SingleStepConferenceCall {
        active_call: conn(&call, "2001"),
        device_to_join: Some(DeviceId::plain("2010")),
        participation_type: Some(ParticipationType::Silent),
        ..Default::default()
    });
    assert_eq!(
        names(&out),
        ["SingleStepConferenceCallResponse", "ConferencedEvent"]
    );
    let Message::ConferencedEvent(e) = &out[1].1 else {
        panic!()
    };
    assert_eq!(e.cause.as_deref(), Some("silentParticipation"));
    // the silent party does not keep the call alive
    h.pbx.clear_connection(&call, "0611111111").unwrap();
    assert!(h.pbx.calls().is_empty());
}

fn register(h: &mut Harness, pilot: &str) -> String {
    let out = h.req(m::RouteRegister {
        routeing_device: Some(DeviceId::plain(pilot)),
        ..Default::default()
    });
    match &out[0].1 {
        Message::RouteRegisterResponse(r) => r.route_register_req_id.clone().unwrap(),
        other => panic!("{other:?}"),
    }
}

fn route_request(out: &[(InvokeId, Message)]) -> m::RouteRequest {
    out.iter()
        .find_map(|(_, m)| match m {
            Message::RouteRequest(r) => Some(r.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn when_route_point_gets_a_call_should_request_route_and_honour_select() {
    let mut h = Harness::new();
    let reg = register(&mut h, "5001");
    h.monitor("2003");
    let call = h.pbx.inbound_call("0611111111", "5001", None).unwrap();
    let effects = h.pbx.take_effects();
    assert_eq!(effects[0].after, Duration::from_millis(4000));
    let out = h.drain();
    let (rid, _) = &out[0];
    assert_ne!(*rid, InvokeId::EVENT, "RouteRequest is a switch request");
    let r = route_request(&out);
    assert_eq!(r.route_register_req_id.as_ref(), Some(&reg));
    assert_eq!(r.routed_call, conn(&call, "5001"));
    assert_eq!(r.calling_device, Some(DeviceId::plain("0611111111")));
    assert_eq!(r.reply_timeout, Some(4));
    // WHEN the application selects 2003 and asks for RouteUsed
    let out = h.send(m::RouteSelect {
        cross_ref_identifier: r.cross_ref_identifier.clone(),
        route_register_req_id: Some(reg),
        route_selected: Some(DeviceId::plain("2003")),
        route_used_req: Some(true),
        ..Default::default()
    });
    // THEN RouteUsed, Delivered at 2003, RouteEnd (no response to RouteSelect itself)
    assert_eq!(names(&out), ["RouteUsed", "DeliveredEvent", "RouteEnd"]);
    let Message::RouteEnd(end) = &out[2].1 else {
        panic!()
    };
    assert_eq!(end.error_value, None);
    assert_eq!(
        h.pbx.call(&call).unwrap().conn("2003").unwrap().state,
        Lcs::Alerting
    );
    // the old timer fires harmlessly
    h.pbx.fire(effects[0].timer.clone());
    assert!(h.drain().is_empty());
}

#[test]
fn when_route_request_times_out_should_deliver_to_default_destination_and_end() {
    let mut h = Harness::new();
    register(&mut h, "5000");
    h.monitor("6900");
    let call = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    let effects = h.pbx.take_effects();
    let r = route_request(&h.drain());
    h.pbx.fire(effects[0].timer.clone());
    let out = h.drain();
    assert_eq!(
        names(&out),
        ["RouteEnd", "DeliveredEvent", "EstablishedEvent"]
    );
    let Message::RouteEnd(end) = &out[0].1 else {
        panic!()
    };
    assert_eq!(end.cross_ref_identifier, r.cross_ref_identifier);
    assert!(end.error_value.is_some());
    let c = h.pbx.call(&call).unwrap();
    assert_eq!(c.conn("6900").unwrap().state, Lcs::Connected);
    assert_eq!(c.last_redirection.as_deref(), Some("5000"));
    // a late RouteSelect is refused
    let out = h.req(m::RouteSelect {
        cross_ref_identifier: r.cross_ref_identifier,
        route_selected: Some(DeviceId::plain("2001")),
        ..Default::default()
    });
    let Message::CstaErrorCode(e) = &out[0].1 else {
        panic!()
    };
    assert_eq!(e.value, "invalidCrossRefID");
}

#[test]
fn when_route_select_names_an_unknown_destination_should_send_reroute_request() {
    let mut h = Harness::new();
    register(&mut h, "5002");
    h.pbx.inbound_call("0611111111", "5002", None).unwrap();
    h.pbx.take_effects();
    let r = route_request(&h.drain());
    let out = h.send(m::RouteSelect {
        cross_ref_identifier: r.cross_ref_identifier.clone(),
        route_selected: Some(DeviceId::plain("nowhere")),
        ..Default::default()
    });
    assert_eq!(names(&out), ["ReRouteRequest"]);
    // a second bad answer falls back to the default destination
    let out = h.send(m::RouteSelect {
        cross_ref_identifier: r.cross_ref_identifier,
        route_selected: Some(DeviceId::plain("nowhere")),
        ..Default::default()
    });
    assert_eq!(names(&out), ["RouteEnd"]);
    assert_eq!(h.pbx.calls()[0].conn("6900").unwrap().state, Lcs::Connected);
}

#[test]
fn when_monitor_licence_is_exhausted_should_answer_overall_monitor_limit_exceeded() {
    let mut cfg = SimConfig::demo();
    cfg.monitor_limit = Some(1);
    let mut h = Harness::with(cfg);
    h.monitor("2001");
    let out = h.req(m::MonitorStart {
        monitor_object: Some(DeviceId::plain("2002")),
        ..Default::default()
    });
    let Message::CstaErrorCode(e) = &out[0].1 else {
        panic!()
    };
    assert!(e.is_licence_exhausted());
}

#[test]
fn when_error_is_injected_should_fail_only_the_next_request_of_that_kind() {
    let mut h = Harness::new();
    h.pbx.inject_error(ErrorFault {
        request: "MonitorStart".into(),
        category: "operation".into(),
        value: "invalidDeviceID".into(),
        count: 1,
    });
    let out = h.req(m::MonitorStart {
        monitor_object: Some(DeviceId::plain("2001")),
        ..Default::default()
    });
    assert_eq!(
        out[0].1,
        Message::CstaErrorCode(CstaErrorCode {
            category: ErrorCategory::Operation,
            value: "invalidDeviceID".into()
        })
    );
    h.monitor("2001");
}

#[test]
fn when_request_arrives_before_session_should_be_refused() {
    let mut pbx = Pbx::new(SimConfig::demo(), Edition::Ed4);
    let (tx, mut rx) = unbounded_channel();
    pbx.client_connected(7, "t".into(), tx);
    pbx.on_message(
        7,
        id(5),
        m::MonitorStart {
            monitor_object: Some(DeviceId::plain("2001")),
            ..Default::default()
        }
        .into(),
    );
    pbx.flush();
    let Ok(ClientCmd::Send(i, msg)) = rx.try_recv() else {
        panic!()
    };
    assert_eq!(i, id(5));
    assert!(matches!(*msg, Message::CstaErrorCode(_)));
}

#[test]
fn when_request_lacks_its_connection_should_answer_an_error_not_panic() {
    let mut h = Harness::new();
    let out = h.req(m::AnswerCall::default());
    assert!(matches!(out[0].1, Message::CstaErrorCode(_)));
    let out = h.req(m::ClearConnection {
        connection_to_be_cleared: conn("nope", "2001"),
        ..Default::default()
    });
    let Message::CstaErrorCode(e) = &out[0].1 else {
        panic!()
    };
    assert_eq!(e.value, "invalidCallID");
}

#[test]
fn when_caller_keys_a_menu_digit_at_the_ivr_should_transfer_to_the_pilot() {
    let mut h = Harness::new();
    h.monitor("6001");
    let call = h.pbx.inbound_call("0611111111", "6001", None).unwrap();
    assert_eq!(h.names(), ["DeliveredEvent", "EstablishedEvent"]);
    h.pbx.generate_digits(&call, "0611111111", "2").unwrap();
    assert_eq!(h.names(), ["DigitsGeneratedEvent", "TransferredEvent"]);
    let c = h.pbx.call(&call).unwrap();
    assert!(c.conn("6001").is_none());
    assert_eq!(c.digits, "2");
    // 5001 has no route registration: ACD rang an agent
    assert!(c.connections.iter().any(|x| x.state == Lcs::Alerting));
}

#[test]
fn when_make_call_is_requested_should_initiate_originate_and_deliver() {
    let mut h = Harness::new();
    h.monitor("2001");
    let out = h.req(m::MakeCall {
        calling_device: Some(DeviceId::plain("2001")),
        called_directory_number: Some(DeviceId::plain("0698765432")),
        ..Default::default()
    });
    assert_eq!(
        names(&out),
        [
            "MakeCallResponse",
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "NetworkReachedEvent",
            "DeliveredEvent"
        ]
    );
    let Message::NetworkReachedEvent(e) = &out[3].1 else {
        panic!()
    };
    assert_eq!(e.network_interface_used, dev("9000"));
    let Message::ServiceInitiatedEvent(e) = &out[1].1 else {
        panic!()
    };
    assert_eq!(e.local_connection_info, Some(Lcs::Initiated));
    let Message::OriginatedEvent(e) = &out[2].1 else {
        panic!()
    };
    assert_eq!(e.local_connection_info, Some(Lcs::Connected));
    assert_eq!(e.called_device, dev("0698765432"));
}

#[test]
fn when_session_timer_fires_after_expiry_should_stop_session_and_close_link() {
    let mut h = Harness::new();
    h.monitor("2001");
    let effects = h.session_timer.clone();
    let Timer::SessionExpiry { client, generation } = effects[0].timer.clone() else {
        panic!()
    };
    // the timer fired before the deadline re-arms itself
    h.pbx.fire(Timer::SessionExpiry { client, generation });
    assert!(h.drain().is_empty());
    assert_eq!(h.pbx.take_effects().len(), 1);
    // expiry (forced) sends StopApplicationSession, drops monitors and closes the link
    h.pbx.expire_sessions(None);
    let mut saw_stop = false;
    let mut saw_close = false;
    while let Ok(cmd) = h.rx.try_recv() {
        match cmd {
            ClientCmd::Send(_, m) => saw_stop |= m.name() == "StopApplicationSession",
            ClientCmd::Close => saw_close = true,
        }
    }
    assert!(saw_stop && saw_close);
    assert!(h.pbx.monitors().is_empty());
}

#[test]
fn when_device_id_is_in_osv_form_should_normalise_it() {
    assert_eq!(normalise_device("N<2001>;noa=nk"), "2001");
    assert_eq!(normalise_device(" 2001 "), "2001");
}

#[test]
fn when_alerting_call_is_deflected_should_divert_and_ring_the_new_destination() {
    let mut h = Harness::new();
    h.monitor("2001");
    h.monitor("2002");
    let call = h.pbx.inbound_call("0611111111", "2001", None).unwrap();
    h.drain();
    let out = h.req(m::DeflectCall {
        call_to_be_diverted: conn(&call, "2001"),
        new_destination: Some(DeviceId::plain("2002")),
        ..Default::default()
    });
    assert_eq!(
        names(&out),
        [
            "DeflectCallResponse",
            "DivertedEvent",
            "DeliveredEvent",
            "DeliveredEvent"
        ]
    );
    let Message::DivertedEvent(e) = &out[1].1 else {
        panic!()
    };
    assert_eq!(e.diverting_device, dev("2001"));
    assert_eq!(e.new_destination, dev("2002"));
    assert_eq!(e.local_connection_info, Some(Lcs::Null));
    let Message::DeliveredEvent(e) = &out[3].1 else {
        panic!()
    };
    assert_eq!(e.last_redirection_device, dev("2001"));
}

#[test]
fn when_monitor_is_stopped_should_send_no_more_events_and_refuse_a_second_stop() {
    let mut h = Harness::new();
    let x = h.monitor("2001");
    let out = h.req(m::MonitorStop {
        monitor_cross_ref_id: Some(x.clone()),
        ..Default::default()
    });
    assert_eq!(names(&out), ["MonitorStopResponse"]);
    h.pbx.inbound_call("0611111111", "2001", None).unwrap();
    assert!(h.drain().is_empty());
    let out = h.req(m::MonitorStop {
        monitor_cross_ref_id: Some(x),
        ..Default::default()
    });
    let Message::CstaErrorCode(e) = &out[0].1 else {
        panic!()
    };
    assert_eq!(e.value, "invalidCrossRefID");
}

#[test]
fn when_route_registration_is_cancelled_should_hunt_agents_instead() {
    let mut h = Harness::new();
    let reg = register(&mut h, "5000");
    let out = h.req(m::RouteRegisterCancel {
        route_register_req_id: Some(reg),
        ..Default::default()
    });
    assert_eq!(names(&out), ["RouteRegisterCancelResponse"]);
    let call = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    assert!(h.drain().iter().all(|(_, m)| m.name() != "RouteRequest"));
    assert_eq!(
        h.pbx.call(&call).unwrap().conn("2001").unwrap().state,
        Lcs::Alerting
    );
}

#[test]
fn when_edition_is_ed3_should_announce_the_ed3_protocol_version() {
    let mut pbx = Pbx::new(SimConfig::demo(), Edition::Ed3);
    let (tx, mut rx) = unbounded_channel();
    pbx.client_connected(1, "t".into(), tx);
    pbx.on_message(1, id(1), m::StartApplicationSession::default().into());
    pbx.flush();
    let Ok(ClientCmd::Send(_, msg)) = rx.try_recv() else {
        panic!()
    };
    let Message::StartApplicationSessionPosResponse(r) = *msg else {
        panic!()
    };
    assert_eq!(
        r.actual_protocol_version.as_deref(),
        Some(Edition::Ed3.namespace())
    );
    assert_eq!(r.actual_session_duration, Some(180));
}

#[test]
fn when_agent_is_busy_should_not_be_offered_a_second_acd_call() {
    let mut cfg = SimConfig::demo();
    cfg.devices
        .retain(|d| d.kind != DeviceKind::Agent || d.id == "2001");
    let mut h = Harness::with(cfg);
    let first = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    h.pbx.answer(&first, "2001").unwrap();
    let second = h.pbx.inbound_call("0622222222", "5000", None).unwrap();
    assert_eq!(
        h.pbx.call(&second).unwrap().conn("5000").unwrap().state,
        Lcs::Queued
    );
    // when the first call ends, the queued one rings the agent
    h.pbx.clear_connection(&first, "2001").unwrap();
    assert_eq!(
        h.pbx.call(&second).unwrap().conn("2001").unwrap().state,
        Lcs::Alerting
    );
}

#[test]
fn when_wrap_up_is_configured_should_work_after_call_then_become_ready() {
    let mut cfg = SimConfig::demo();
    cfg.wrap_up_ms = Some(5000);
    let mut h = Harness::with(cfg);
    h.monitor("2001");
    let call = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    h.pbx.answer(&call, "2001").unwrap();
    h.drain();
    h.pbx.clear_connection(&call, "0611111111").unwrap();
    assert_eq!(
        h.names(),
        [
            "ConnectionClearedEvent",
            "CallClearedEvent",
            "AgentWorkingAfterCallEvent"
        ]
    );
    assert_eq!(
        h.pbx.agent_status("2001"),
        Some(AgentStatus::WorkingAfterCall)
    );
    // a new ACD call does not go to the agent in wrap-up
    let next = h.pbx.inbound_call("0622222222", "5000", None).unwrap();
    assert!(h.pbx.call(&next).unwrap().conn("2001").is_none());
    let effects = h.pbx.take_effects();
    let wrap = effects
        .iter()
        .find(|e| matches!(e.timer, Timer::WrapUpEnd { .. }))
        .unwrap();
    assert_eq!(wrap.after, Duration::from_millis(5000));
    h.pbx.fire(wrap.timer.clone());
    assert_eq!(h.pbx.agent_status("2001"), Some(AgentStatus::Ready));
}

#[test]
fn when_queued_call_waits_past_queue_timeout_should_overflow_to_default_destination() {
    let mut cfg = SimConfig::demo();
    for d in cfg.devices.iter_mut() {
        if d.kind == DeviceKind::Agent {
            d.initial_state = InitialAgentState::NotReady;
        }
        if d.id == "5000" {
            d.queue_timeout_ms = Some(30_000);
        }
    }
    let mut h = Harness::with(cfg);
    h.monitor("5000");
    let call = h.pbx.inbound_call("0611111111", "5000", None).unwrap();
    assert_eq!(h.names(), ["QueuedEvent"]);
    let effects = h.pbx.take_effects();
    assert_eq!(effects[0].after, Duration::from_millis(30_000));
    h.pbx.fire(effects[0].timer.clone());
    // the pilot hears the call leave: Diverted, then the Delivered it redirected
    assert_eq!(h.names(), ["DivertedEvent", "DeliveredEvent"]);
    let c = h.pbx.call(&call).unwrap();
    assert_eq!(c.conn("6900").unwrap().state, Lcs::Connected);
    assert!(c.conn("5000").is_none());
}

#[test]
fn when_log_is_read_since_a_mark_should_return_only_newer_entries_of_that_direction() {
    let mut h = Harness::new();
    let mark = h.pbx.log_seq();
    h.monitor("2001");
    let out = h.pbx.log_since(mark, Some("out"), 10);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message, "MonitorStartResponse");
    assert_eq!(out[0].seq, mark + 2);
    assert_eq!(h.pbx.log_since(mark, None, 10).len(), 2);
}

#[test]
fn when_osv_device_format_is_configured_should_write_ids_in_n_form() {
    let mut cfg = SimConfig::demo();
    cfg.device_id_format = crate::config::DeviceIdFormat::Osv;
    let mut h = Harness::with(cfg);
    h.monitor("N<2001>;noa=nk");
    h.pbx.inbound_call("0611111111", "2001", None).unwrap();
    let out = h.drain();
    let Message::DeliveredEvent(e) = &out[0].1 else {
        panic!()
    };
    assert_eq!(
        e.calling_device,
        Some(DeviceId::wrapped(
            "deviceIdentifier",
            "N<0611111111>;noa=nk"
        ))
    );
    // connection ids keep the bare device id
    assert_eq!(
        e.connection.as_ref().unwrap().device_id.as_deref(),
        Some("2001")
    );
}
