//! Codec round-trip tests for every message and event, in every edition, and decode tests on
//! XML shaped like the real captures cited in docs/research (OpenScape Voice framing and event shape; values are ours).

// Test code: unwrap in helpers is fine (clippy.toml allows it in #[test] fns only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use csta::model::*;
use csta::types::{ConnectionId, DeviceId, ErrorCategory, LocalConnectionState};
use csta::{
    decode, samples, Codec, CodecConfig, Edition, Frame, FrameCodec, InvokeId, Message,
    MessageCodec, APPL_SESSION_NS,
};
use tokio_util::codec::{Decoder, Encoder};

const SIE: &[u8] = include_bytes!("fixtures/osv-service-initiated.xml");
const ORIGINATED: &[u8] = include_bytes!("fixtures/osv-originated.xml");
const DELIVERED: &[u8] = include_bytes!("fixtures/osv-delivered.xml");
const TRANSFERRED: &[u8] = include_bytes!("fixtures/osv-transferred.xml");

#[test]
fn when_samples_are_listed_should_cover_every_known_message() {
    let all = samples::all();
    let names: Vec<&str> = all.iter().map(|m| m.name()).collect();
    assert_eq!(names, Message::NAMES);
}

#[test]
fn when_every_message_is_encoded_and_decoded_in_every_edition_should_be_equal() {
    for edition in Edition::ALL {
        for decl in [false, true] {
            let codec = Codec::new(CodecConfig {
                edition,
                xml_declaration: decl,
            });
            for m in samples::all() {
                let xml = codec.encode(&m);
                let d = decode(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}: {xml}"));
                assert_eq!(d.message, m, "{xml}");
                match m.family() {
                    Family::Csta => assert_eq!(d.edition, Some(edition)),
                    Family::ApplicationSession => {
                        assert_eq!(d.namespace.as_deref(), Some(APPL_SESSION_NS))
                    }
                }
                // Encoding is stable: a second pass gives the same bytes.
                assert_eq!(codec.encode(&d.message), xml);
            }
        }
    }
}

#[test]
fn when_every_message_goes_through_the_stream_codec_should_be_equal() {
    let mut codec = MessageCodec::new(CodecConfig::default());
    let mut buf = BytesMut::new();
    let all = samples::all();
    for (i, m) in all.iter().enumerate() {
        let id = InvokeId::new(i as u16).unwrap();
        codec.encode((id, m.clone()), &mut buf).unwrap();
    }
    for (i, m) in all.iter().enumerate() {
        let (id, d) = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(id.value(), i as u16);
        assert_eq!(&d.message, m);
    }
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
}

#[test]
fn when_decoding_the_osv_service_initiated_capture_should_read_header_and_fields() {
    let mut wire = b"\x00\x00\x03\xeb9999".to_vec();
    wire.extend_from_slice(SIE);
    let mut buf = BytesMut::from(&wire[..]);
    let f = FrameCodec::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(f.frame.invoke_id, InvokeId::EVENT);
    assert_eq!(f.frame.wire_len(), 1003);
    assert!(buf.is_empty());
    // Our encoder produces the same header for the same payload.
    assert_eq!(f.frame.to_bytes().unwrap(), wire);

    let d = decode(&f.frame.xml).unwrap();
    assert_eq!(d.edition, Some(Edition::Ed4));
    let Message::ServiceInitiatedEvent(e) = d.message else {
        panic!("wrong message")
    };
    assert_eq!(e.monitor_cross_ref_id.as_deref(), Some("4207"));
    assert_eq!(
        e.initiated_connection,
        Some(ConnectionId::new(
            "0A1B000200000000004C696E6B61D00D",
            "2001"
        ))
    );
    assert_eq!(
        e.initiating_device,
        Some(DeviceId::wrapped("deviceIdentifier", "N<2001>;noa=nk"))
    );
    assert_eq!(
        e.local_connection_info,
        Some(LocalConnectionState::Initiated)
    );
    assert_eq!(e.cause.as_deref(), Some("makeCall"));
    let extra: Vec<&str> = e.extra.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        extra,
        [
            "servicesPermitted",
            "mediaCallCharacteristics",
            "extensions"
        ]
    );
}

#[test]
fn when_capture_shaped_events_are_decoded_and_reencoded_should_keep_the_model() {
    for xml in [SIE, ORIGINATED, DELIVERED, TRANSFERRED] {
        let d = decode(xml).unwrap();
        assert!(!matches!(d.message, Message::Unknown(_)));
        let again = decode(
            Codec::for_edition(Edition::Ed4)
                .encode(&d.message)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(again, d);
    }
}

#[test]
fn when_decoding_the_osv_originated_capture_should_read_the_called_device() {
    let Message::OriginatedEvent(e) = decode(ORIGINATED).unwrap().message else {
        panic!("wrong message")
    };
    assert_eq!(
        e.called_device.unwrap().id,
        "N<+420602123456>;displayNumber=602123456;noa=nk"
    );
    assert_eq!(
        e.local_connection_info,
        Some(LocalConnectionState::Connected)
    );
}

#[test]
fn when_decoding_a_pretty_printed_delivered_event_should_trim_whitespace() {
    let Message::DeliveredEvent(e) = decode(DELIVERED).unwrap().message else {
        panic!("wrong message")
    };
    assert_eq!(
        e.local_connection_info,
        Some(LocalConnectionState::Alerting)
    );
    assert_eq!(
        e.last_redirection_device,
        Some(DeviceId::wrapped("notRequired", ""))
    );
    assert_eq!(e.network_called_device.unwrap().id, "02911");
    assert_eq!(e.cause.as_deref(), Some("enteringDistribution"));
}

#[test]
fn when_decoding_a_transferred_event_should_expose_the_connection_list() {
    let Message::TransferredEvent(e) = decode(TRANSFERRED).unwrap().message else {
        panic!("wrong message")
    };
    let list = e.transferred_connections.unwrap().0;
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0].new_connection,
        Some(ConnectionId::new(
            "0300010000000000CFB6706408000000",
            "+17867100001"
        ))
    );
    assert_eq!(
        list[0].endpoint.as_ref().unwrap().id,
        "N<+17867100001>Line00001;displayNumber=00001"
    );
}

#[test]
fn when_session_response_declares_only_a_prefix_should_still_decode() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?><StartApplicationSessionPosResponse xmlns:aps="http://www.ecma-international.org/standards/ecma-354/appl_session"><sessionID>009968951</sessionID><actualProtocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed4</actualProtocolVersion><actualSessionDuration>600</actualSessionDuration><extensions><actualHBT>0</actualHBT></extensions></StartApplicationSessionPosResponse>"#;
    let d = decode(xml).unwrap();
    assert_eq!(d.namespace, None);
    let Message::StartApplicationSessionPosResponse(r) = d.message else {
        panic!("wrong message")
    };
    assert_eq!(r.session_id.as_deref(), Some("009968951"));
    assert_eq!(r.actual_session_duration, Some(600));
}

#[test]
fn when_request_is_prefixed_with_attributes_should_decode_the_device() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ns3:MonitorStart xmlns:ns2="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns3="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><ns3:monitorObject><ns3:deviceObject typeOfNumber="dialingNumber">3021033</ns3:deviceObject></ns3:monitorObject></ns3:MonitorStart>"#;
    let d = decode(xml).unwrap();
    assert_eq!(d.edition, Some(Edition::Ed4));
    let Message::MonitorStart(m) = d.message else {
        panic!("wrong message")
    };
    assert_eq!(
        m.monitor_object,
        Some(DeviceId::wrapped("deviceObject", "3021033"))
    );
}

#[test]
fn when_system_status_uses_an_old_namespace_should_report_it_without_edition() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<SystemStatus
  xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed2"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <systemStatus>normal</systemStatus>
</SystemStatus>"#;
    let d = decode(xml).unwrap();
    assert_eq!(d.edition, None);
    assert_eq!(
        d.namespace.as_deref(),
        Some("http://www.ecma.ch/standards/ecma-323/csta/ed2")
    );
    let Message::SystemStatus(s) = d.message else {
        panic!("wrong message")
    };
    assert_eq!(s.system_status.as_deref(), Some("normal"));
}

#[test]
fn when_deflect_call_has_no_namespace_and_reversed_children_should_decode() {
    let xml = br#"<?xml version="1.0" encoding="utf-8"?><DeflectCall><callToBeDiverted><deviceID>SUB_C</deviceID><callID>FF000100000000006BB1234C31000000</callID></callToBeDiverted><newDestination>SUB_D</newDestination></DeflectCall>"#;
    let Message::DeflectCall(d) = decode(xml).unwrap().message else {
        panic!("wrong message")
    };
    assert_eq!(
        d.call_to_be_diverted,
        Some(ConnectionId::new(
            "FF000100000000006BB1234C31000000",
            "SUB_C"
        ))
    );
    assert_eq!(d.new_destination, Some(DeviceId::plain("SUB_D")));
}

#[test]
fn when_estos_style_prefixed_ed5_request_arrives_should_report_ed5() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?><csta:MonitorStart xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><csta:monitorObject><csta:deviceObject>2001</csta:deviceObject></csta:monitorObject></csta:MonitorStart>"#;
    let d = decode(xml).unwrap();
    assert_eq!(d.edition, Some(Edition::Ed5));
}

#[test]
fn when_licences_are_exhausted_should_flag_the_error() {
    let xml = br#"<CSTAErrorCode xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><systemResourceAvailibility>overallMonitorLimitExceeded</systemResourceAvailibility></CSTAErrorCode>"#;
    let Message::CstaErrorCode(e) = decode(xml).unwrap().message else {
        panic!("wrong message")
    };
    assert!(e.is_licence_exhausted());
    let xml = br#"<CSTAErrorCode><operation>invalidCallID</operation></CSTAErrorCode>"#;
    let Message::CstaErrorCode(e) = decode(xml).unwrap().message else {
        panic!("wrong message")
    };
    assert_eq!(e.category, ErrorCategory::Operation);
    assert!(!e.is_licence_exhausted());
}

#[test]
fn when_silent_conference_is_requested_should_write_participation_type() {
    let m: Message = SingleStepConferenceCall {
        active_call: Some(ConnectionId::new("C1", "2001")),
        device_to_join: Some(DeviceId::plain("2099")),
        participation_type: Some(csta::types::ParticipationType::Silent),
        extra: vec![],
    }
    .into();
    let xml = Codec::default().encode(&m);
    assert_eq!(
        xml,
        "<SingleStepConferenceCall xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed4\"><activeCall><callID>C1</callID><deviceID>2001</deviceID></activeCall><deviceToJoin>2099</deviceToJoin><participationType>silent</participationType></SingleStepConferenceCall>"
    );
    let frame: Frame = Codec::default().encode_frame(InvokeId::new(12).unwrap(), &m);
    assert_eq!(&frame.to_bytes().unwrap()[4..8], b"0012");
}

#[test]
fn when_decoding_lean_should_give_the_typed_fields_without_extras() {
    for xml in [SIE, ORIGINATED, DELIVERED, TRANSFERRED] {
        let full = decode(xml).unwrap();
        let lean = csta::decode_lean(xml).unwrap();
        assert_eq!(lean.namespace, full.namespace);
        let lean_xml = Codec::default().encode(&lean.message);
        assert!(!lean_xml.contains("servicesPermitted"), "{lean_xml}");
        // Dropping the extras from the full decode gives the lean one.
        let mut root = csta::xml::parse(Codec::default().encode(&full.message).as_bytes())
            .unwrap()
            .root;
        let root_name = root.name.clone();
        root.children
            .retain(|c| Message::is_known_child(&root_name, &c.name));
        assert_eq!(Message::from_element(root).unwrap(), lean.message);
    }
    for m in samples::all() {
        let xml = Codec::default().encode(&m);
        let lean = csta::decode_lean(xml.as_bytes()).unwrap();
        assert_eq!(lean.message.name(), m.name());
    }
}

#[test]
fn when_play_message_is_encoded_should_write_the_ecma_323_voice_unit_elements() {
    let m: Message = PlayMessage {
        message_to_be_played: Some("9f86d081".into()),
        over_connection: Some(ConnectionId::new("C1", "6003")),
        ..Default::default()
    }
    .into();
    let xml = Codec::default().encode(&m);
    assert_eq!(
        xml,
        "<PlayMessage xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed4\"><messageToBePlayed>9f86d081</messageToBePlayed><overConnection><callID>C1</callID><deviceID>6003</deviceID></overConnection></PlayMessage>"
    );
    assert_eq!(decode(xml.as_bytes()).unwrap().message, m);
    let stop: Message = Stop {
        connection: Some(ConnectionId::new("C1", "6003")),
        ..Default::default()
    }
    .into();
    let xml = Codec::default().encode(&stop);
    assert!(xml.starts_with("<Stop xmlns="), "{xml}");
    assert!(xml
        .ends_with("<connection><callID>C1</callID><deviceID>6003</deviceID></connection></Stop>"));
    assert_eq!(decode(xml.as_bytes()).unwrap().message, stop);
}

#[test]
fn when_record_message_and_its_response_are_decoded_should_give_the_typed_fields() {
    let xml =
        br#"<RecordMessage xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5">
        <callToBeRecorded><callID>C1</callID><deviceID>6003</deviceID></callToBeRecorded>
        <maxDuration>120000</maxDuration></RecordMessage>"#;
    for d in [decode(xml).unwrap(), csta::decode_lean(xml).unwrap()] {
        let Message::RecordMessage(r) = d.message else {
            panic!("not a RecordMessage")
        };
        assert_eq!(r.call_to_be_recorded, Some(ConnectionId::new("C1", "6003")));
        assert_eq!(r.max_duration, Some(120_000));
    }
    let xml = br#"<RecordMessageResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><resultingMessage>rec-17</resultingMessage></RecordMessageResponse>"#;
    let Message::RecordMessageResponse(r) = csta::decode_lean(xml).unwrap().message else {
        panic!("not a RecordMessageResponse")
    };
    assert_eq!(r.resulting_message.as_deref(), Some("rec-17"));
}

#[test]
fn when_voice_unit_events_are_decoded_lean_should_give_message_length_and_cause() {
    let xml = br#"<StopEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
        <monitorCrossRefID>77</monitorCrossRefID>
        <connection><callID>C1</callID><deviceID>6003</deviceID></connection>
        <message>rec-17</message><length>1000</length>
        <servicesPermitted><x/></servicesPermitted>
        <cause>messageDurationExceeded</cause></StopEvent>"#;
    let Message::StopEvent(e) = csta::decode_lean(xml).unwrap().message else {
        panic!("not a StopEvent")
    };
    assert_eq!(e.monitor_cross_ref_id.as_deref(), Some("77"));
    assert_eq!(e.connection, Some(ConnectionId::new("C1", "6003")));
    assert_eq!(e.message.as_deref(), Some("rec-17"));
    assert_eq!(e.length, Some(1000));
    assert_eq!(e.cause.as_deref(), Some("messageDurationExceeded"));
    assert!(e.extra.is_empty());
    for name in ["PlayEvent", "RecordEvent"] {
        let xml = format!(
            "<{name} xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed4\"><connection><callID>C1</callID><deviceID>6003</deviceID></connection><message>m1</message></{name}>"
        );
        let d = csta::decode_lean(xml.as_bytes()).unwrap();
        assert_eq!(d.message.name(), name);
        assert_eq!(Codec::default().encode(&d.message), xml);
    }
}

#[test]
fn when_digits_generated_event_carries_digits_should_type_them_in_lean_decoding() {
    let xml = br#"<DigitsGeneratedEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><monitorCrossRefID>5</monitorCrossRefID><connection><callID>C1</callID><deviceID>0612345678</deviceID></connection><digitGeneratedList>12#</digitGeneratedList></DigitsGeneratedEvent>"#;
    let Message::DigitsGeneratedEvent(e) = csta::decode_lean(xml).unwrap().message else {
        panic!("not a DigitsGeneratedEvent")
    };
    assert_eq!(e.digit_generated_list.as_deref(), Some("12#"));
}
