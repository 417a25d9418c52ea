//! One example of every message, with every typed field filled, shaped like the OpenScape Voice
//! captures cited in the research (OSV-style 32-hex call ids, `N<…>;noa=nk` device ids). Used by
//! the round-trip tests, the benchmark and the fuzz seeds; also handy for a PBX simulator.

use crate::model::*;
use crate::types::{
    AgentState, ConnectionId, ConnectionList, ConnectionListItem, DeviceId, ErrorCategory,
    LocalConnectionState as Lcs, ParticipationType,
};
use crate::xml::Element;
use crate::Message;

const CALL_A: &str = "FF000100000000002D65C85C1C750000";
const CALL_B: &str = "0300010000000000CFB6706408000000";
const XREF: &str = "1169730059";

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}
fn conn(call: &str, dev: &str) -> Option<ConnectionId> {
    Some(ConnectionId::new(call, dev))
}
fn dev(id: &str) -> Option<DeviceId> {
    Some(DeviceId::plain(id))
}
fn ident(id: &str) -> Option<DeviceId> {
    Some(DeviceId::wrapped("deviceIdentifier", id))
}
fn private() -> Element {
    Element::with_children(
        "privateData",
        vec![Element::with_children(
            "private",
            vec![Element::text("extendedServicesPermitted", "")],
        )],
    )
}
fn services_permitted() -> Element {
    Element::with_children(
        "servicesPermitted",
        vec![Element::with_children(
            "callControlServices",
            vec![Element::text("clearConnection", "true")],
        )],
    )
}
fn list() -> Option<ConnectionList> {
    Some(ConnectionList(vec![
        ConnectionListItem {
            new_connection: conn(CALL_B, "2002"),
            old_connection: conn(CALL_A, "2002"),
            endpoint: Some(DeviceId::wrapped("deviceID", "N<2002>;noa=nk")),
        },
        ConnectionListItem {
            new_connection: conn(CALL_B, "0612345678"),
            old_connection: None,
            endpoint: None,
        },
    ]))
}
fn err_code() -> Option<Element> {
    Some(Element::with_children(
        "errorCode",
        vec![Element::text(
            "definedError",
            "requestedProtocolVersionNotSupported",
        )],
    ))
}

/// One example of each known message (including `CSTAErrorCode`), in [`Message::NAMES`] order.
pub fn all() -> Vec<Message> {
    let lcs = |v: Lcs| Some(v);
    vec![
        StartApplicationSession {
            application_info: Some(ApplicationInfo {
                application_id: s("CloudCC"),
                application_specific_info: Some(Element::with_children(
                    "applicationSpecificInfo",
                    vec![
                        Element::text("user", "cti"),
                        Element::text("password", "secret"),
                    ],
                )),
                extra: vec![],
            }),
            requested_protocol_versions: Some(ProtocolVersions {
                protocol_version: s(crate::Edition::Ed4.namespace()),
                extra: vec![Element::text(
                    "protocolVersion",
                    crate::Edition::Ed5.namespace(),
                )],
            }),
            requested_session_duration: Some(180),
            extra: vec![],
        }
        .into(),
        StartApplicationSessionPosResponse {
            session_id: s("009968951"),
            actual_protocol_version: s(crate::Edition::Ed4.namespace()),
            actual_session_duration: Some(600),
            extra: vec![Element::with_children(
                "extensions",
                vec![Element::text("actualHBT", "0")],
            )],
        }
        .into(),
        StartApplicationSessionNegResponse {
            error_code: err_code(),
            extra: vec![],
        }
        .into(),
        ResetApplicationSessionTimer {
            session_id: s("009968951"),
            requested_session_duration: Some(180),
            extra: vec![],
        }
        .into(),
        ResetApplicationSessionTimerPosResponse {
            actual_session_duration: Some(180),
            extra: vec![],
        }
        .into(),
        ResetApplicationSessionTimerNegResponse {
            error_code: err_code(),
            extra: vec![],
        }
        .into(),
        StopApplicationSession {
            session_id: s("009968951"),
            session_end_reason: Some(SessionEndReason {
                defined_end_reason: s("normal"),
                application_end_reason: None,
                extra: vec![],
            }),
            extra: vec![],
        }
        .into(),
        StopApplicationSessionPosResponse::default().into(),
        StopApplicationSessionNegResponse {
            error_code: err_code(),
            extra: vec![],
        }
        .into(),
        SystemStatus {
            system_status: s("normal"),
            private_data: Some(private()),
            extra: vec![],
        }
        .into(),
        SystemStatusResponse::default().into(),
        SystemRegister {
            request_types: Some(Element::with_children(
                "requestTypes",
                vec![Element::text("systemStatus", "true")],
            )),
            extra: vec![],
        }
        .into(),
        SystemRegisterResponse {
            sys_stat_register_id: s("27ss"),
            extra: vec![],
        }
        .into(),
        MonitorStart {
            monitor_object: Some(DeviceId::wrapped("deviceObject", "2001")),
            requested_monitor_filter: Some(Element::with_children(
                "requestedMonitorFilter",
                vec![Element::with_children(
                    "callcontrol",
                    vec![
                        Element::text("callCleared", "false"),
                        Element::text("networkReached", "true"),
                    ],
                )],
            )),
            monitor_type: s("device"),
            extra: vec![],
        }
        .into(),
        MonitorStartResponse {
            monitor_cross_ref_id: s(XREF),
            actual_monitor_filter: None,
            extra: vec![],
        }
        .into(),
        MonitorStop {
            monitor_cross_ref_id: s(XREF),
            extra: vec![],
        }
        .into(),
        MonitorStopResponse::default().into(),
        SnapshotDevice {
            snapshot_object: dev("2001"),
            extra: vec![],
        }
        .into(),
        SnapshotDeviceResponse {
            cross_ref_id_or_snapshot_data: Some(Element::with_children(
                "crossRefIDorSnapshotData",
                vec![Element::with_children(
                    "snapshotData",
                    vec![Element::with_children(
                        "snapshotDeviceResponseInfo",
                        vec![
                            Element::with_children(
                                "connectionIdentifier",
                                vec![
                                    Element::text("callID", CALL_A),
                                    Element::text("deviceID", "2001"),
                                ],
                            ),
                            Element::with_children(
                                "localCallState",
                                vec![Element::text("compoundCallState", "connected")],
                            ),
                        ],
                    )],
                )],
            )),
            extra: vec![],
        }
        .into(),
        MakeCall {
            calling_device: dev("2001"),
            called_directory_number: dev("0612345678"),
            auto_originate: s("doNotPrompt"),
            extra: vec![],
        }
        .into(),
        MakeCallResponse {
            calling_device: conn(CALL_A, "2001"),
            extra: vec![],
        }
        .into(),
        AnswerCall {
            call_to_be_answered: conn(CALL_A, "2001"),
            extra: vec![],
        }
        .into(),
        AnswerCallResponse::default().into(),
        ClearConnection {
            connection_to_be_cleared: conn(CALL_A, "2001"),
            extra: vec![],
        }
        .into(),
        ClearConnectionResponse::default().into(),
        HoldCall {
            call_to_be_held: conn(CALL_A, "2001"),
            extra: vec![],
        }
        .into(),
        HoldCallResponse::default().into(),
        RetrieveCall {
            call_to_be_retrieved: conn(CALL_A, "2001"),
            extra: vec![],
        }
        .into(),
        RetrieveCallResponse::default().into(),
        ConsultationCall {
            existing_call: conn(CALL_A, "2001"),
            consulted_device: dev("2002"),
            extra: vec![],
        }
        .into(),
        ConsultationCallResponse {
            initiated_call: conn(CALL_B, "2001"),
            extra: vec![],
        }
        .into(),
        TransferCall {
            held_call: conn(CALL_A, "2001"),
            active_call: conn(CALL_B, "2001"),
            extra: vec![],
        }
        .into(),
        TransferCallResponse {
            transferred_call: conn(CALL_B, "2002"),
            connection_list: list(),
            extra: vec![],
        }
        .into(),
        ConferenceCall {
            held_call: conn(CALL_A, "2001"),
            active_call: conn(CALL_B, "2001"),
            extra: vec![],
        }
        .into(),
        ConferenceCallResponse {
            conferenced_call: conn(CALL_B, "2001"),
            connection_list: list(),
            extra: vec![],
        }
        .into(),
        SingleStepTransferCall {
            active_call: conn(CALL_A, "2001"),
            transferred_to: dev("2002"),
            extra: vec![],
        }
        .into(),
        SingleStepTransferCallResponse {
            transferred_call: conn(CALL_B, "2002"),
            extra: vec![],
        }
        .into(),
        DeflectCall {
            call_to_be_diverted: conn(CALL_A, "2001"),
            new_destination: dev("2003"),
            extra: vec![],
        }
        .into(),
        DeflectCallResponse::default().into(),
        GenerateDigits {
            connection_to_send_digits: conn(CALL_A, "2001"),
            characters_to_send: s("1234#"),
            extra: vec![],
        }
        .into(),
        GenerateDigitsResponse::default().into(),
        SingleStepConferenceCall {
            active_call: conn(CALL_A, "2001"),
            device_to_join: dev("2099"),
            participation_type: Some(ParticipationType::Silent),
            extra: vec![],
        }
        .into(),
        SingleStepConferenceCallResponse {
            conferenced_call: conn(CALL_A, "2099"),
            connection_list: list(),
            extra: vec![],
        }
        .into(),
        SetAgentState {
            device: dev("2001"),
            requested_agent_state: Some(AgentState::LoggedOn),
            agent_id: s("42"),
            password: s("1234"),
            group: s("ACD1"),
            private_data: Some(private()),
            extra: vec![],
        }
        .into(),
        SetAgentStateResponse::default().into(),
        GetAgentState {
            device: dev("2001"),
            extra: vec![],
        }
        .into(),
        GetAgentStateResponse {
            agent_state_list: Some(Element::with_children(
                "agentStateList",
                vec![Element::with_children(
                    "agentStateEntry",
                    vec![
                        Element::text("agentID", "42"),
                        Element::text("loggedOnState", "true"),
                        Element::with_children(
                            "agentInfo",
                            vec![Element::with_children(
                                "agentInfoItem",
                                vec![
                                    Element::text("acdGroup", "ACD1"),
                                    Element::text("agentState", "agentReady"),
                                ],
                            )],
                        ),
                    ],
                )],
            )),
            extra: vec![],
        }
        .into(),
        RouteRegister {
            routeing_device: dev("3000"),
            extra: vec![],
        }
        .into(),
        RouteRegisterResponse {
            route_register_req_id: s("17"),
            extra: vec![],
        }
        .into(),
        RouteRegisterCancel {
            route_register_req_id: s("17"),
            extra: vec![],
        }
        .into(),
        RouteRegisterCancelResponse::default().into(),
        RouteRequest {
            cross_ref_identifier: s("r-0001"),
            route_register_req_id: s("17"),
            current_route: dev("3000"),
            calling_device: ident("N<0612345678>;noa=nk"),
            routeing_device: dev("3000"),
            routed_call: conn(CALL_A, "3000"),
            route_sel_algorithm: s("acd"),
            associated_calling_device: None,
            associated_called_device: None,
            priority: Some(false),
            reply_timeout: Some(4000),
            correlator_data: Some(Element::with_children(
                "correlatorData",
                vec![Element::text("string", "75726E3A6E656E61")],
            )),
            extra: vec![],
        }
        .into(),
        RouteSelect {
            cross_ref_identifier: s("r-0001"),
            route_register_req_id: s("17"),
            route_selected: dev("2001"),
            alternate_routes: None,
            remain_retries: s("noListAvailable"),
            route_used_req: Some(true),
            correlator_data: None,
            extra: vec![],
        }
        .into(),
        RouteUsed {
            cross_ref_identifier: s("r-0001"),
            route_register_req_id: s("17"),
            route_used: dev("2001"),
            calling_device: ident("N<0612345678>;noa=nk"),
            extra: vec![],
        }
        .into(),
        ReRouteRequest {
            cross_ref_identifier: s("r-0001"),
            route_register_req_id: s("17"),
            routed_call: conn(CALL_A, "3000"),
            extra: vec![],
        }
        .into(),
        RouteEnd {
            cross_ref_identifier: s("r-0001"),
            route_register_req_id: s("17"),
            error_value: Some(Element::with_children(
                "errorValue",
                vec![Element::text("operation", "invalidDestination")],
            )),
            extra: vec![],
        }
        .into(),
        ServiceInitiatedEvent {
            monitor_cross_ref_id: s(XREF),
            initiated_connection: conn(CALL_A, "302118840100"),
            initiating_device: ident("N<302118840100>;noa=nk"),
            local_connection_info: lcs(Lcs::Initiated),
            cause: s("makeCall"),
            extra: vec![services_permitted()],
        }
        .into(),
        OriginatedEvent {
            monitor_cross_ref_id: s(XREF),
            originated_connection: conn(CALL_A, "302118840100"),
            calling_device: ident("302118840100"),
            called_device: ident("N<302118840101>;displayNumber=302118840101;noa=nk"),
            local_connection_info: lcs(Lcs::Connected),
            cause: s("newCall"),
            extra: vec![services_permitted()],
        }
        .into(),
        DeliveredEvent {
            monitor_cross_ref_id: s(XREF),
            connection: conn(CALL_A, "2001"),
            alerting_device: ident("N<2001>;noa=nk"),
            calling_device: ident("N<0612345678>;noa=nk"),
            called_device: ident("N<2001>;noa=nk"),
            last_redirection_device: Some(DeviceId::wrapped("notRequired", "")),
            network_calling_device: ident("0612345678"),
            network_called_device: ident("02911"),
            local_connection_info: lcs(Lcs::Alerting),
            cause: s("newCall"),
            extra: vec![],
        }
        .into(),
        EstablishedEvent {
            monitor_cross_ref_id: s(XREF),
            established_connection: conn(CALL_A, "2001"),
            answering_device: ident("N<2001>;noa=nk"),
            calling_device: ident("N<0612345678>;noa=nk"),
            called_device: ident("N<2001>;noa=nk"),
            last_redirection_device: Some(DeviceId::wrapped("notRequired", "")),
            local_connection_info: lcs(Lcs::Connected),
            cause: s("newCall"),
            extra: vec![],
        }
        .into(),
        ConnectionClearedEvent {
            monitor_cross_ref_id: s(XREF),
            dropped_connection: conn(CALL_A, "0612345678"),
            releasing_device: ident("N<0612345678>;noa=nk"),
            local_connection_info: lcs(Lcs::Null),
            cause: s("normalClearing"),
            extra: vec![],
        }
        .into(),
        CallClearedEvent {
            monitor_cross_ref_id: s(XREF),
            cleared_call: Some(ConnectionId {
                call_id: s(CALL_A),
                device_id: None,
            }),
            local_connection_info: lcs(Lcs::Null),
            cause: s("normalClearing"),
            extra: vec![],
        }
        .into(),
        HeldEvent {
            monitor_cross_ref_id: s(XREF),
            held_connection: conn(CALL_A, "2001"),
            holding_device: ident("2001"),
            local_connection_info: lcs(Lcs::Hold),
            cause: s("normal"),
            extra: vec![],
        }
        .into(),
        RetrievedEvent {
            monitor_cross_ref_id: s(XREF),
            retrieved_connection: conn(CALL_A, "2001"),
            retrieving_device: ident("2001"),
            local_connection_info: lcs(Lcs::Connected),
            cause: s("normal"),
            extra: vec![],
        }
        .into(),
        QueuedEvent {
            monitor_cross_ref_id: s(XREF),
            queued_connection: conn(CALL_A, "3000"),
            queue: ident("3000"),
            calling_device: ident("N<0612345678>;noa=nk"),
            called_device: ident("3000"),
            last_redirection_device: None,
            number_queued: Some(3),
            local_connection_info: lcs(Lcs::Queued),
            cause: s("enteringDistribution"),
            extra: vec![],
        }
        .into(),
        DivertedEvent {
            monitor_cross_ref_id: s(XREF),
            connection: conn(CALL_A, "2001"),
            diverting_device: ident("2001"),
            new_destination: ident("2003"),
            calling_device: ident("N<0612345678>;noa=nk"),
            called_device: ident("2001"),
            last_redirection_device: ident("2001"),
            local_connection_info: lcs(Lcs::Null),
            cause: s("redirected"),
            extra: vec![],
        }
        .into(),
        FailedEvent {
            monitor_cross_ref_id: s(XREF),
            failed_connection: conn(CALL_A, "2001"),
            failing_device: ident("0612345678"),
            calling_device: ident("2001"),
            called_device: ident("0612345678"),
            local_connection_info: lcs(Lcs::Fail),
            cause: s("busy"),
            extra: vec![],
        }
        .into(),
        TransferredEvent {
            monitor_cross_ref_id: s(XREF),
            primary_old_call: conn(CALL_A, "2001"),
            secondary_old_call: conn("FF000100000000002D65C85C1C750001", "2001"),
            transferring_device: ident("2001"),
            transferred_to_device: ident("N<2002>;noa=nk"),
            transferred_connections: list(),
            local_connection_info: lcs(Lcs::Null),
            cause: s("transfer"),
            extra: vec![],
        }
        .into(),
        ConferencedEvent {
            monitor_cross_ref_id: s(XREF),
            primary_old_call: conn(CALL_A, "2001"),
            secondary_old_call: conn("FF000100000000002D65C85C1C750001", "2001"),
            conferencing_device: ident("2001"),
            added_party: ident("2099"),
            conference_connections: list(),
            local_connection_info: lcs(Lcs::Connected),
            cause: s("conference"),
            extra: vec![],
        }
        .into(),
        NetworkReachedEvent {
            monitor_cross_ref_id: s(XREF),
            outbound_connection: conn(CALL_A, "T1"),
            network_interface_used: ident("T1"),
            calling_device: ident("2001"),
            called_device: ident("0612345678"),
            local_connection_info: lcs(Lcs::Connected),
            cause: s("networkReached"),
            extra: vec![],
        }
        .into(),
        DigitsGeneratedEvent {
            monitor_cross_ref_id: s(XREF),
            connection: conn(CALL_A, "2001"),
            digit_generated_list: s("1234#"),
            extra: vec![],
        }
        .into(),
        AgentLoggedOnEvent {
            monitor_cross_ref_id: s(XREF),
            agent_device: ident("2001"),
            agent_id: s("42"),
            acd_group: ident("ACD1"),
            pending_agent_state: None,
            extra: vec![],
        }
        .into(),
        AgentLoggedOffEvent {
            monitor_cross_ref_id: s(XREF),
            agent_device: ident("2001"),
            agent_id: s("42"),
            acd_group: ident("ACD1"),
            pending_agent_state: None,
            extra: vec![],
        }
        .into(),
        AgentReadyEvent {
            monitor_cross_ref_id: s(XREF),
            agent_device: ident("2001"),
            agent_id: s("42"),
            acd_group: ident("ACD1"),
            extra: vec![],
        }
        .into(),
        AgentNotReadyEvent {
            monitor_cross_ref_id: s(XREF),
            agent_device: ident("2001"),
            agent_id: s("42"),
            acd_group: ident("ACD1"),
            private_data: Some(Element::with_children(
                "privateData",
                vec![Element::text("AgentNotReadyReasonValue", "3")],
            )),
            extra: vec![],
        }
        .into(),
        AgentWorkingAfterCallEvent {
            monitor_cross_ref_id: s(XREF),
            agent_device: ident("2001"),
            agent_id: s("42"),
            acd_group: ident("ACD1"),
            pending_agent_state: s("agentReady"),
            extra: vec![],
        }
        .into(),
        AgentBusyEvent {
            monitor_cross_ref_id: s(XREF),
            agent_device: ident("2001"),
            agent_id: s("42"),
            acd_group: ident("ACD1"),
            pending_agent_state: None,
            extra: vec![],
        }
        .into(),
        PlayMessage {
            message_to_be_played: s("9f86d081884c7d65"),
            over_connection: conn(CALL_A, "6003"),
            duration: Some(30_000),
            termination: Some(Element::with_children(
                "termination",
                vec![Element::text("DTMFDigitDetected", "true")],
            )),
            extra: vec![],
        }
        .into(),
        PlayMessageResponse::default().into(),
        RecordMessage {
            call_to_be_recorded: conn(CALL_A, "6003"),
            sampling_rate: Some(8000),
            encoding_algorithm: s("mulaw"),
            max_duration: Some(120_000),
            termination: None,
            extra: vec![],
        }
        .into(),
        RecordMessageResponse {
            resulting_message: s("rec-17"),
            extra: vec![],
        }
        .into(),
        Stop {
            connection: conn(CALL_A, "6003"),
            message_to_be_stopped: s("9f86d081884c7d65"),
            extra: vec![],
        }
        .into(),
        StopResponse::default().into(),
        PlayEvent {
            monitor_cross_ref_id: s(XREF),
            connection: conn(CALL_A, "6003"),
            message: s("9f86d081884c7d65"),
            length: Some(2_400),
            current_position: Some(0),
            cause: s("newCall"),
            extra: vec![],
        }
        .into(),
        RecordEvent {
            monitor_cross_ref_id: s(XREF),
            connection: conn(CALL_A, "6003"),
            message: s("rec-17"),
            length: None,
            current_position: Some(0),
            cause: None,
            extra: vec![],
        }
        .into(),
        StopEvent {
            monitor_cross_ref_id: s(XREF),
            connection: conn(CALL_A, "6003"),
            message: s("rec-17"),
            length: Some(1_000),
            current_position: Some(1_000),
            cause: s("messageDurationExceeded"),
            extra: vec![],
        }
        .into(),
        Message::CstaErrorCode(CstaErrorCode {
            category: ErrorCategory::SystemResourceAvailability,
            value: "overallMonitorLimitExceeded".to_owned(),
        }),
    ]
}

/// A realistic event mix for one inbound ACD call (queued → delivered → established → hold →
/// retrieve → cleared), in the order a monitored agent device sees it.
pub fn event_mix() -> Vec<Message> {
    const MIX: &[&str] = &[
        "QueuedEvent",
        "DeliveredEvent",
        "EstablishedEvent",
        "HeldEvent",
        "RetrievedEvent",
        "ConnectionClearedEvent",
        "CallClearedEvent",
        "AgentWorkingAfterCallEvent",
        "ServiceInitiatedEvent",
        "OriginatedEvent",
    ];
    all()
        .into_iter()
        .filter(|m| MIX.contains(&m.name()))
        .collect()
}
