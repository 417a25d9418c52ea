//! Feeds arbitrary bytes to the frame decoder, then every frame's payload to the message
//! decoders, full and lean (and the payload itself directly): it must return frames or typed errors, never
//! panic, and the same result as the element-tree reference decoders. Decoded messages are
//! re-encoded, and must decode again to the same model.
#![no_main]

use bytes::BytesMut;
use csta::{decode, Codec, FrameCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn check_payload(xml: &[u8]) {
    // The streaming decoders give exactly what the element-tree reference decoders give.
    let lean = csta::decode_lean(xml);
    assert_eq!(lean, csta::decode_lean_tree(xml), "lean decoders differ");
    let full = decode(xml);
    assert_eq!(full, csta::decode_tree(xml), "full decoders differ");
    if let Ok(d) = full {
        let again = Codec::default().encode(&d.message);
        let redecoded = decode(again.as_bytes());
        assert!(
            matches!(&redecoded, Ok(r) if r.message == d.message),
            "re-encoding changed the model: {again}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check_payload(data);
    let mut buf = BytesMut::from(data);
    let mut frames = FrameCodec::new();
    while let Ok(Some(f)) = frames.decode_eof(&mut buf) {
        check_payload(&f.frame.xml);
    }
});
