//! The typed message model: ECMA-354 session messages, SystemStatus/SystemRegister, and the
//! ECMA-269/323 subset a contact centre needs (research §2, §4, §5).
//!
//! Every message is a struct named exactly like its XML root element. Each known child element is
//! an `Option` field (CSTA makes most of them optional, and the MiVoice 5000 subset is unknown);
//! children the model does not know are kept in `extra` and written back after the known ones, so
//! nothing is lost on a decode → encode pass.

use quick_xml::events::BytesStart;
use serde::Serialize;

use crate::stream::{self, Bail, Item, Mode, Stream, StreamField, R};

use crate::types::{
    AgentState, ConnectionId, ConnectionList, DeviceId, ErrorCategory, Field, LocalConnectionState,
    ParticipationType,
};
use crate::xml::{write_text, Element};
use crate::DecodeError;

/// Which namespace family a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// ECMA-354 application session (`…/ecma-354/appl_session`).
    ApplicationSession,
    /// ECMA-323 CSTA (`…/ecma-323/csta/edN`).
    Csta,
}

macro_rules! records {
    ($(
        $(#[$doc:meta])*
        $name:ident { $( $field:ident : $ty:ty = $xml:literal ),* $(,)? }
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize)]
        pub struct $name {
            $(
                #[doc = concat!("`<", $xml, ">`")]
                #[serde(rename = $xml, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Child elements the model does not know, kept verbatim.
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub extra: Vec<Element>,
        }

        impl $name {
            fn from_children(el: Element) -> Result<Self, DecodeError> {
                #[allow(unused_mut)]
                let mut m = Self::default();
                for child in el.children {
                    match child.name.as_str() {
                        $( $xml if m.$field.is_none() => {
                            m.$field = Some(<$ty as Field>::decode_owned(child)?);
                        } )*
                        _ => m.extra.push(child),
                    }
                }
                Ok(m)
            }

            /// The child element names this record types.
            const KNOWN: &'static [&'static str] = &[ $( $xml ),* ];

            /// Streaming counterpart of `from_children`: reads the children of the element
            /// just opened (the root when `root`) up to its end tag. In lean mode, unknown
            /// children of the root are skipped; everywhere else they go to `extra`.
            fn from_stream(s: &mut Stream<'_>, empty: bool, root: bool) -> R<Self> {
                #[allow(unused_mut)]
                let mut m = Self::default();
                if empty {
                    return Ok(m);
                }
                loop {
                    match s.item()? {
                        Item::Child(child, child_empty) => {
                            let name = stream::local_name(&child);
                            $( if name == $xml.as_bytes() && m.$field.is_none() {
                                m.$field = Some(
                                    <$ty as StreamField>::read(s, &child, child_empty)?,
                                );
                                continue;
                            } )*
                            if root
                                && s.mode() == Mode::Lean
                                && !Self::KNOWN.iter().any(|k| k.as_bytes() == name)
                            {
                                // The tree decoder skips only UTF-8 names (and rejects others).
                                std::str::from_utf8(name).map_err(|_| Bail)?;
                                s.skip(&child, child_empty)?;
                            } else {
                                m.extra.push(s.element(&child, child_empty)?);
                            }
                        }
                        Item::Text(_) | Item::Char(_) => {}
                        Item::End => return Ok(m),
                    }
                }
            }

            fn write_children(&self, out: &mut String) {
                $( if let Some(v) = &self.$field { Field::encode(v, $xml, out); } )*
                for e in &self.extra { e.write(out); }
            }
        }

        impl StreamField for $name {
            fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
                s.check_attrs(start)?;
                Self::from_stream(s, empty, false)
            }
        }

        impl Field for $name {
            fn decode(el: &Element) -> Result<Self, DecodeError> {
                Self::from_children(el.clone())
            }
            fn decode_owned(el: Element) -> Result<Self, DecodeError> {
                Self::from_children(el)
            }
            fn encode(&self, name: &str, out: &mut String) {
                out.push('<');
                out.push_str(name);
                out.push('>');
                self.write_children(out);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    )*};
}

macro_rules! messages {
    ($(
        $(#[$doc:meta])*
        $family:ident $name:ident { $( $field:ident : $ty:ty = $xml:literal ),* $(,)? }
    )*) => {
        records! { $( $(#[$doc])* $name { $( $field : $ty = $xml ),* } )* }

        /// A decoded CSTA / ECMA-354 message.
        ///
        /// Serialises (for `csta-decode`) as `{"message": "<XML name>", "fields": {…}}`.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "message", content = "fields")]
        pub enum Message {
            $( $(#[$doc])* $name($name), )*
            /// `<CSTAErrorCode>`: a negative result, sent under the request's invoke id.
            #[serde(rename = "CSTAErrorCode")]
            CstaErrorCode(CstaErrorCode),
            /// A root element the model does not know. Not an error: the caller can log it, or
            /// answer a switch request with a CSTAErrorCode.
            Unknown(UnknownMessage),
        }

        impl Message {
            /// The XML root element name.
            pub fn name(&self) -> &str {
                match self {
                    $( Self::$name(_) => stringify!($name), )*
                    Self::CstaErrorCode(_) => "CSTAErrorCode",
                    Self::Unknown(u) => &u.raw.name,
                }
            }

            /// The namespace family (unknown messages are taken as CSTA).
            pub fn family(&self) -> Family {
                match self {
                    $( Self::$name(_) => Family::$family, )*
                    Self::CstaErrorCode(_) | Self::Unknown(_) => Family::Csta,
                }
            }

            /// Maps a parsed root element onto the model.
            pub fn from_element(root: Element) -> Result<Self, DecodeError> {
                Ok(match root.name.as_str() {
                    $( stringify!($name) => Self::$name($name::from_children(root)?), )*
                    "CSTAErrorCode" => Self::CstaErrorCode(CstaErrorCode::from_element(&root)?),
                    _ => Self::Unknown(UnknownMessage { raw: root }),
                })
            }

            /// Streaming decoding of a root element called `name` whose start tag was just
            /// read. Unknown roots and `CSTAErrorCode` give up (the tree decoder handles them).
            pub(crate) fn from_stream(name: &str, s: &mut Stream<'_>, empty: bool) -> R<Self> {
                match name {
                    $( stringify!($name) => Ok(Self::$name($name::from_stream(s, empty, true)?)), )*
                    _ => Err(Bail),
                }
            }

            pub(crate) fn write_children(&self, out: &mut String) {
                match self {
                    $( Self::$name(m) => m.write_children(out), )*
                    Self::CstaErrorCode(e) => e.write_children(out),
                    Self::Unknown(u) => {
                        crate::xml::escape_into(out, &u.raw.text);
                        for c in &u.raw.children { c.write(out); }
                    }
                }
            }

            /// True when `child` is a typed field of message `root` (unknown roots and
            /// CSTAErrorCode keep everything).
            pub fn is_known_child(root: &str, child: &str) -> bool {
                match root {
                    $( stringify!($name) => {
                        let known: &[&str] = &[ $( $xml ),* ];
                        known.contains(&child)
                    } )*
                    _ => true,
                }
            }

            /// All the known message names (for tests and diagnostics).
            pub const NAMES: &'static [&'static str] = &[ $( stringify!($name), )* "CSTAErrorCode" ];
        }

        $(
            impl From<$name> for Message {
                fn from(m: $name) -> Self { Self::$name(m) }
            }
        )*
    };
}

/// A message with an unknown root element, kept whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownMessage {
    /// The root element, as parsed.
    pub raw: Element,
}

/// `<CSTAErrorCode><category>value</category></CSTAErrorCode>` (research §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CstaErrorCode {
    /// The error category (child element name).
    pub category: ErrorCategory,
    /// The error value (its text), e.g. `invalidCallID`.
    pub value: String,
}

impl CstaErrorCode {
    /// True for `systemResourceAvailibility/overallMonitorLimitExceeded`: the CSTA licences are
    /// used up (research §4.4); surface it as a distinct alarm.
    pub fn is_licence_exhausted(&self) -> bool {
        self.category == ErrorCategory::SystemResourceAvailability
            && self.value == "overallMonitorLimitExceeded"
    }

    fn from_element(el: &Element) -> Result<Self, DecodeError> {
        match el.children.as_slice() {
            [inner] => {
                let category = match inner.name.as_str() {
                    "systemResourceAvailability" => ErrorCategory::SystemResourceAvailability,
                    other => ErrorCategory::from_text(other),
                };
                Ok(Self {
                    category,
                    value: crate::types::leaf_text(inner)?.to_owned(),
                })
            }
            _ => Err(DecodeError::BadShape {
                element: el.name.clone(),
                reason: "CSTAErrorCode holds exactly one category element",
            }),
        }
    }

    fn write_children(&self, out: &mut String) {
        write_text(out, self.category.as_str(), &self.value);
    }
}

records! {
    /// `applicationInfo` of StartApplicationSession.
    ApplicationInfo {
        application_id: String = "applicationID",
        application_specific_info: Element = "applicationSpecificInfo",
    }
    /// `requestedProtocolVersions` (further versions land in `extra`).
    ProtocolVersions {
        protocol_version: String = "protocolVersion",
    }
    /// `sessionEndReason` of StopApplicationSession.
    SessionEndReason {
        defined_end_reason: String = "definedEndReason",
        application_end_reason: String = "applicationEndReason",
    }
}

messages! {
    // ---- ECMA-354 application session (research §2) ----
    /// Opens the application session (login blob in applicationSpecificInfo).
    ApplicationSession StartApplicationSession {
        application_info: ApplicationInfo = "applicationInfo",
        requested_protocol_versions: ProtocolVersions = "requestedProtocolVersions",
        requested_session_duration: u32 = "requestedSessionDuration",
    }
    /// Session accepted.
    ApplicationSession StartApplicationSessionPosResponse {
        session_id: String = "sessionID",
        actual_protocol_version: String = "actualProtocolVersion",
        actual_session_duration: u32 = "actualSessionDuration",
    }
    /// Session refused.
    ApplicationSession StartApplicationSessionNegResponse {
        error_code: Element = "errorCode",
    }
    /// Keep-alive: send well inside actualSessionDuration.
    ApplicationSession ResetApplicationSessionTimer {
        session_id: String = "sessionID",
        requested_session_duration: u32 = "requestedSessionDuration",
    }
    /// Keep-alive accepted.
    ApplicationSession ResetApplicationSessionTimerPosResponse {
        actual_session_duration: u32 = "actualSessionDuration",
    }
    /// Keep-alive refused.
    ApplicationSession ResetApplicationSessionTimerNegResponse {
        error_code: Element = "errorCode",
    }
    /// Closes the session.
    ApplicationSession StopApplicationSession {
        session_id: String = "sessionID",
        session_end_reason: SessionEndReason = "sessionEndReason",
    }
    /// Close accepted.
    ApplicationSession StopApplicationSessionPosResponse {}
    /// Close refused.
    ApplicationSession StopApplicationSessionNegResponse {
        error_code: Element = "errorCode",
    }

    // ---- System services ----
    /// Switch → application; must be answered with SystemStatusResponse under the same id.
    Csta SystemStatus {
        system_status: String = "systemStatus",
        private_data: Element = "privateData",
    }
    /// Answer to SystemStatus.
    Csta SystemStatusResponse {}
    /// Subscribes to system status.
    Csta SystemRegister {
        request_types: Element = "requestTypes",
    }
    /// SystemRegister accepted.
    Csta SystemRegisterResponse {
        sys_stat_register_id: String = "sysStatRegisterID",
    }

    // ---- Monitoring and snapshot (research §4.1) ----
    /// Starts monitoring a device.
    Csta MonitorStart {
        monitor_object: DeviceId = "monitorObject",
        requested_monitor_filter: Element = "requestedMonitorFilter",
        monitor_type: String = "monitorType",
    }
    /// Monitor started.
    Csta MonitorStartResponse {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        actual_monitor_filter: Element = "actualMonitorFilter",
    }
    /// Stops a monitor.
    Csta MonitorStop {
        monitor_cross_ref_id: String = "monitorCrossRefID",
    }
    /// Monitor stopped.
    Csta MonitorStopResponse {}
    /// Snapshot of a device's calls.
    Csta SnapshotDevice {
        snapshot_object: DeviceId = "snapshotObject",
    }
    /// Snapshot data (kept as a subtree).
    Csta SnapshotDeviceResponse {
        cross_ref_id_or_snapshot_data: Element = "crossRefIDorSnapshotData",
    }

    // ---- Call control (research §4.2) ----
    /// Places a call from callingDevice.
    Csta MakeCall {
        calling_device: DeviceId = "callingDevice",
        called_directory_number: DeviceId = "calledDirectoryNumber",
        auto_originate: String = "autoOriginate",
    }
    /// The new call's connection.
    Csta MakeCallResponse {
        calling_device: ConnectionId = "callingDevice",
    }
    /// Answers an alerting call.
    Csta AnswerCall {
        call_to_be_answered: ConnectionId = "callToBeAnswered",
    }
    /// Answered.
    Csta AnswerCallResponse {}
    /// Drops a connection.
    Csta ClearConnection {
        connection_to_be_cleared: ConnectionId = "connectionToBeCleared",
    }
    /// Dropped.
    Csta ClearConnectionResponse {}
    /// Puts a call on hold.
    Csta HoldCall {
        call_to_be_held: ConnectionId = "callToBeHeld",
    }
    /// Held.
    Csta HoldCallResponse {}
    /// Retrieves a held call.
    Csta RetrieveCall {
        call_to_be_retrieved: ConnectionId = "callToBeRetrieved",
    }
    /// Retrieved.
    Csta RetrieveCallResponse {}
    /// Holds the existing call and calls consultedDevice.
    Csta ConsultationCall {
        existing_call: ConnectionId = "existingCall",
        consulted_device: DeviceId = "consultedDevice",
    }
    /// The consultation call's connection.
    Csta ConsultationCallResponse {
        initiated_call: ConnectionId = "initiatedCall",
    }
    /// Transfers the held call to the active call's party.
    Csta TransferCall {
        held_call: ConnectionId = "heldCall",
        active_call: ConnectionId = "activeCall",
    }
    /// Transferred.
    Csta TransferCallResponse {
        transferred_call: ConnectionId = "transferredCall",
        connection_list: ConnectionList = "connectionList",
    }
    /// Joins held and active calls.
    Csta ConferenceCall {
        held_call: ConnectionId = "heldCall",
        active_call: ConnectionId = "activeCall",
    }
    /// Conferenced.
    Csta ConferenceCallResponse {
        conferenced_call: ConnectionId = "conferencedCall",
        connection_list: ConnectionList = "connectionList",
    }
    /// Blind transfer.
    Csta SingleStepTransferCall {
        active_call: ConnectionId = "activeCall",
        transferred_to: DeviceId = "transferredTo",
    }
    /// The transferred call.
    Csta SingleStepTransferCallResponse {
        transferred_call: ConnectionId = "transferredCall",
    }
    /// Diverts an alerting call.
    Csta DeflectCall {
        call_to_be_diverted: ConnectionId = "callToBeDiverted",
        new_destination: DeviceId = "newDestination",
    }
    /// Deflected.
    Csta DeflectCallResponse {}
    /// Sends DTMF.
    Csta GenerateDigits {
        connection_to_send_digits: ConnectionId = "connectionToSendDigits",
        characters_to_send: String = "charactersToSend",
    }
    /// Digits sent.
    Csta GenerateDigitsResponse {}
    /// Adds deviceToJoin to a call: silent = supervisor monitoring, active = coaching/barge-in.
    Csta SingleStepConferenceCall {
        active_call: ConnectionId = "activeCall",
        device_to_join: DeviceId = "deviceToJoin",
        participation_type: ParticipationType = "participationType",
    }
    /// Joined.
    Csta SingleStepConferenceCallResponse {
        conferenced_call: ConnectionId = "conferencedCall",
        connection_list: ConnectionList = "connectionList",
    }

    // ---- Agent services (research §4.1) ----
    /// Changes an agent's state (log on/off, ready, not ready, wrap-up).
    Csta SetAgentState {
        device: DeviceId = "device",
        requested_agent_state: AgentState = "requestedAgentState",
        agent_id: String = "agentID",
        password: String = "password",
        group: String = "group",
        private_data: Element = "privateData",
    }
    /// State change accepted.
    Csta SetAgentStateResponse {}
    /// Asks an agent device's state.
    Csta GetAgentState {
        device: DeviceId = "device",
    }
    /// The agent state list (kept as a subtree).
    Csta GetAgentStateResponse {
        agent_state_list: Element = "agentStateList",
    }

    // ---- Routing (research §5) ----
    /// Registers as routing server for a routing device.
    Csta RouteRegister {
        routeing_device: DeviceId = "routeingDevice",
    }
    /// Registration id.
    Csta RouteRegisterResponse {
        route_register_req_id: String = "routeRegisterReqID",
    }
    /// Cancels a registration.
    Csta RouteRegisterCancel {
        route_register_req_id: String = "routeRegisterReqID",
    }
    /// Cancelled.
    Csta RouteRegisterCancelResponse {}
    /// Switch asks where to route a call; answer within replyTimeout.
    Csta RouteRequest {
        cross_ref_identifier: String = "crossRefIdentifier",
        route_register_req_id: String = "routeRegisterReqID",
        current_route: DeviceId = "currentRoute",
        calling_device: DeviceId = "callingDevice",
        routeing_device: DeviceId = "routeingDevice",
        routed_call: ConnectionId = "routedCall",
        route_sel_algorithm: String = "routeSelAlgorithm",
        associated_calling_device: DeviceId = "associatedCallingDevice",
        associated_called_device: DeviceId = "associatedCalledDevice",
        priority: bool = "priority",
        reply_timeout: u32 = "replyTimeout",
        correlator_data: Element = "correlatorData",
    }
    /// The application's routing answer.
    Csta RouteSelect {
        cross_ref_identifier: String = "crossRefIdentifier",
        route_register_req_id: String = "routeRegisterReqID",
        route_selected: DeviceId = "routeSelected",
        alternate_routes: Element = "alternateRoutes",
        remain_retries: String = "remainRetries",
        route_used_req: bool = "routeUsedReq",
        correlator_data: Element = "correlatorData",
    }
    /// The route the switch actually used.
    Csta RouteUsed {
        cross_ref_identifier: String = "crossRefIdentifier",
        route_register_req_id: String = "routeRegisterReqID",
        route_used: DeviceId = "routeUsed",
        calling_device: DeviceId = "callingDevice",
    }
    /// The selected route failed; answer with another RouteSelect.
    Csta ReRouteRequest {
        cross_ref_identifier: String = "crossRefIdentifier",
        route_register_req_id: String = "routeRegisterReqID",
        routed_call: ConnectionId = "routedCall",
    }
    /// Ends the routing dialogue (either side).
    Csta RouteEnd {
        cross_ref_identifier: String = "crossRefIdentifier",
        route_register_req_id: String = "routeRegisterReqID",
        error_value: Element = "errorValue",
    }

    // ---- Call control events (research §4.3) ----
    /// Off-hook / MakeCall begins.
    Csta ServiceInitiatedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        initiated_connection: ConnectionId = "initiatedConnection",
        initiating_device: DeviceId = "initiatingDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Outgoing call dialled.
    Csta OriginatedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        originated_connection: ConnectionId = "originatedConnection",
        calling_device: DeviceId = "callingDevice",
        called_device: DeviceId = "calledDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Ringing.
    Csta DeliveredEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        connection: ConnectionId = "connection",
        alerting_device: DeviceId = "alertingDevice",
        calling_device: DeviceId = "callingDevice",
        called_device: DeviceId = "calledDevice",
        last_redirection_device: DeviceId = "lastRedirectionDevice",
        network_calling_device: DeviceId = "networkCallingDevice",
        network_called_device: DeviceId = "networkCalledDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Answered.
    Csta EstablishedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        established_connection: ConnectionId = "establishedConnection",
        answering_device: DeviceId = "answeringDevice",
        calling_device: DeviceId = "callingDevice",
        called_device: DeviceId = "calledDevice",
        last_redirection_device: DeviceId = "lastRedirectionDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// A party left.
    Csta ConnectionClearedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        dropped_connection: ConnectionId = "droppedConnection",
        releasing_device: DeviceId = "releasingDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// The whole call is gone.
    Csta CallClearedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        cleared_call: ConnectionId = "clearedCall",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Put on hold.
    Csta HeldEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        held_connection: ConnectionId = "heldConnection",
        holding_device: DeviceId = "holdingDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Taken off hold.
    Csta RetrievedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        retrieved_connection: ConnectionId = "retrievedConnection",
        retrieving_device: DeviceId = "retrievingDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Queued at an ACD / hunt group.
    Csta QueuedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        queued_connection: ConnectionId = "queuedConnection",
        queue: DeviceId = "queue",
        calling_device: DeviceId = "callingDevice",
        called_device: DeviceId = "calledDevice",
        last_redirection_device: DeviceId = "lastRedirectionDevice",
        number_queued: u32 = "numberQueued",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Diverted (forward, deflect, pickup).
    Csta DivertedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        connection: ConnectionId = "connection",
        diverting_device: DeviceId = "divertingDevice",
        new_destination: DeviceId = "newDestination",
        calling_device: DeviceId = "callingDevice",
        called_device: DeviceId = "calledDevice",
        last_redirection_device: DeviceId = "lastRedirectionDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Call failed (busy, unreachable).
    Csta FailedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        failed_connection: ConnectionId = "failedConnection",
        failing_device: DeviceId = "failingDevice",
        calling_device: DeviceId = "callingDevice",
        called_device: DeviceId = "calledDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Transferred: apply transferredConnections old → new.
    Csta TransferredEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        primary_old_call: ConnectionId = "primaryOldCall",
        secondary_old_call: ConnectionId = "secondaryOldCall",
        transferring_device: DeviceId = "transferringDevice",
        transferred_to_device: DeviceId = "transferredToDevice",
        transferred_connections: ConnectionList = "transferredConnections",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Conferenced: apply conferenceConnections old → new.
    Csta ConferencedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        primary_old_call: ConnectionId = "primaryOldCall",
        secondary_old_call: ConnectionId = "secondaryOldCall",
        conferencing_device: DeviceId = "conferencingDevice",
        added_party: DeviceId = "addedParty",
        conference_connections: ConnectionList = "conferenceConnections",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Call left the switch on a trunk.
    Csta NetworkReachedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        outbound_connection: ConnectionId = "outboundConnection",
        network_interface_used: DeviceId = "networkInterfaceUsed",
        calling_device: DeviceId = "callingDevice",
        called_device: DeviceId = "calledDevice",
        local_connection_info: LocalConnectionState = "localConnectionInfo",
        cause: String = "cause",
    }
    /// Digits were generated on a connection.
    Csta DigitsGeneratedEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        connection: ConnectionId = "connection",
        digit_generated_list: String = "digitGeneratedList",
    }

    // ---- Agent events (logical device feature) ----
    /// Agent logged on.
    Csta AgentLoggedOnEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        agent_device: DeviceId = "agentDevice",
        agent_id: String = "agentID",
        acd_group: DeviceId = "acdGroup",
        pending_agent_state: String = "pendingAgentState",
    }
    /// Agent logged off.
    Csta AgentLoggedOffEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        agent_device: DeviceId = "agentDevice",
        agent_id: String = "agentID",
        acd_group: DeviceId = "acdGroup",
        pending_agent_state: String = "pendingAgentState",
    }
    /// Agent ready.
    Csta AgentReadyEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        agent_device: DeviceId = "agentDevice",
        agent_id: String = "agentID",
        acd_group: DeviceId = "acdGroup",
    }
    /// Agent not ready (reason code in privateData, vendor specific).
    Csta AgentNotReadyEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        agent_device: DeviceId = "agentDevice",
        agent_id: String = "agentID",
        acd_group: DeviceId = "acdGroup",
        private_data: Element = "privateData",
    }
    /// Agent in wrap-up.
    Csta AgentWorkingAfterCallEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        agent_device: DeviceId = "agentDevice",
        agent_id: String = "agentID",
        acd_group: DeviceId = "acdGroup",
        pending_agent_state: String = "pendingAgentState",
    }
    /// Agent busy.
    Csta AgentBusyEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        agent_device: DeviceId = "agentDevice",
        agent_id: String = "agentID",
        acd_group: DeviceId = "acdGroup",
        pending_agent_state: String = "pendingAgentState",
    }

    // ---- Voice unit services and events (ECMA-269 §26; cloud-driven IVR ports) ----
    /// Plays a message (a prompt file the PBX knows by id) on a connection.
    Csta PlayMessage {
        message_to_be_played: String = "messageToBePlayed",
        over_connection: ConnectionId = "overConnection",
        duration: u32 = "duration",
        termination: Element = "termination",
    }
    /// Playing started.
    Csta PlayMessageResponse {}
    /// Records the party of a connection; `maxDuration` in milliseconds.
    Csta RecordMessage {
        call_to_be_recorded: ConnectionId = "callToBeRecorded",
        sampling_rate: u32 = "samplingRate",
        encoding_algorithm: String = "encodingAlgorithm",
        max_duration: u32 = "maxDuration",
        termination: Element = "termination",
    }
    /// Recording started: the id of the message being recorded.
    Csta RecordMessageResponse {
        resulting_message: String = "resultingMessage",
    }
    /// Stops what is played or recorded on a connection.
    Csta Stop {
        connection: ConnectionId = "connection",
        message_to_be_stopped: String = "messageToBeStopped",
    }
    /// Stopped.
    Csta StopResponse {}
    /// A message started playing.
    Csta PlayEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        connection: ConnectionId = "connection",
        message: String = "message",
        length: u32 = "length",
        current_position: u32 = "currentPosition",
        cause: String = "cause",
    }
    /// A recording started.
    Csta RecordEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        connection: ConnectionId = "connection",
        message: String = "message",
        length: u32 = "length",
        current_position: u32 = "currentPosition",
        cause: String = "cause",
    }
    /// Playing or recording stopped (end of message, maximum duration, Stop request, clearing);
    /// `length` in milliseconds.
    Csta StopEvent {
        monitor_cross_ref_id: String = "monitorCrossRefID",
        connection: ConnectionId = "connection",
        message: String = "message",
        length: u32 = "length",
        current_position: u32 = "currentPosition",
        cause: String = "cause",
    }
}
