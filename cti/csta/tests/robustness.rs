//! Property tests: arbitrary bytes, and arbitrary mutations of valid frames, never panic the
//! frame decoder or the message decoder; they give frames or typed errors.

// Test code: unwrap in helpers is fine (clippy.toml allows it in #[test] fns only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use csta::{decode, samples, Codec, FrameCodec, InvokeId, MessageCodec};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Runs a whole byte stream through both codecs, as a reader would, until error or end.
fn drain(bytes: &[u8]) {
    let mut buf = BytesMut::from(bytes);
    let mut frames = FrameCodec::new();
    while let Ok(Some(f)) = frames.decode_eof(&mut buf) {
        let _ = decode(&f.frame.xml);
    }
    let mut buf = BytesMut::from(bytes);
    let mut messages = MessageCodec::default();
    for _ in 0..bytes.len() + 1 {
        match messages.decode_eof(&mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(csta::StreamError::Payload { .. }) => {}
            Err(_) => break,
        }
    }
}

fn valid_stream() -> Vec<u8> {
    let codec = Codec::default();
    let mut out = Vec::new();
    for (i, m) in samples::all().iter().enumerate() {
        let id = InvokeId::new(i as u16).unwrap_or(InvokeId::EVENT);
        out.extend(codec.encode_frame(id, m).to_bytes().unwrap());
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip(i, b) => {
            let i = i % bytes.len();
            bytes[i] ^= b;
        }
        Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Mutation::Remove(i) => {
            bytes.remove(i % bytes.len());
        }
        Mutation::Truncate(i) => bytes.truncate(i % bytes.len()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn when_bytes_are_arbitrary_should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drain(&bytes);
        let _ = decode(&bytes);
        let _ = csta::decode_lean(&bytes);
    }

    #[test]
    fn when_valid_frames_are_mutated_should_never_panic(muts in proptest::collection::vec(mutation(), 1..8)) {
        let mut bytes = valid_stream();
        for m in &muts {
            apply(&mut bytes, m);
        }
        drain(&bytes);
    }

    #[test]
    fn when_xml_payloads_are_mutated_should_never_panic(
        idx in any::<usize>(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let all = samples::all();
        let m = &all[idx % all.len()];
        let mut xml = Codec::default().encode(m).into_bytes();
        for mu in &muts {
            apply(&mut xml, mu);
        }
        let _ = decode(&xml);
        let _ = csta::decode_lean(&xml);
    }

    #[test]
    fn when_header_has_a_valid_marker_and_digits_should_decode_any_length(len in 8u16.., id in 0u16..=9999) {
        let mut bytes = vec![0, 0];
        bytes.extend(len.to_be_bytes());
        bytes.extend(InvokeId::new(id).unwrap().to_ascii());
        bytes.resize(usize::from(len), b' ');
        let mut buf = BytesMut::from(&bytes[..]);
        let f = FrameCodec::new().decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(f.frame.wire_len(), usize::from(len));
        prop_assert_eq!(f.frame.invoke_id.value(), id);
    }
}

/// Regression: cargo fuzz found that a frame-looking payload with NUL bytes in an element name
/// decoded, then re-encoded to different XML. Names are now validated (typed BadName error).
#[test]
fn when_element_name_holds_control_bytes_should_fail_typed() {
    let mut input = b"<\x00\x00\x00\x00\x00Rp://www.ecma-internatio".to_vec();
    input.extend([b'P'; 25]);
    input.extend(b"\x00\x00\x00\x00\x00\x00\x00i\x01\x00\x00\x00\x00\x00\x00\x08\x00\x05eRout\x1feReuuesue/>");
    assert!(matches!(
        decode(&input),
        Err(csta::DecodeError::Xml(csta::XmlError::BadName { .. }))
            | Err(csta::DecodeError::Xml(csta::XmlError::Syntax { .. }))
    ));
}
