//! `csta-bench`: single-core decode and encode rate of the CSTA codec on a realistic event mix
//! (one inbound ACD call as seen by a monitored agent device, OSV-shaped XML, with the
//! servicesPermitted / mediaCallCharacteristics / privateData blocks real switches add).
//!
//! Decode = framing + XML parse + typed model; encode = typed model + XML + framing.
//! Goal (issue 4): ≥ 200 000 events/s per core. Run with `--release`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use clap::Parser;
use csta::{samples, Codec, CodecConfig, Edition, FrameCodec, InvokeId, Message};
use tokio_util::codec::{Decoder, Encoder};

/// Measure CSTA codec decode and encode rates on one core.
#[derive(Debug, Parser)]
#[command(name = "csta-bench")]
struct Args {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Measure decode only (for profiling).
    #[arg(long)]
    decode_only: bool,
}

/// Adds the blocks OSV puts in every event, so payload sizes match the captures (~1 KB).
fn realistic(mut m: Message) -> Message {
    let xml = r#"<x><servicesPermitted><callControlServices><clearConnection>true</clearConnection></callControlServices><callAssociatedServices/><mediaAttachementServices/><routeingServices/><voiceServices/></servicesPermitted><mediaCallCharacteristics><mediaClass><voice>true</voice><image>false</image><im>false</im></mediaClass></mediaCallCharacteristics><extensions><privateData><private xmlns:scx="http://www.siemens.com/schema/csta"><scx:extendedServicesPermitted/></private></privateData></extensions></x>"#;
    let extra = csta::xml::parse(xml.as_bytes())
        .map(|d| d.root.children)
        .unwrap_or_default();
    let wrapped = Codec::default().encode(&m);
    if let Ok(mut d) = csta::decode(wrapped.as_bytes()) {
        if let Message::Unknown(_) = d.message {
            return m;
        }
        let mut root = csta::xml::parse(wrapped.as_bytes())
            .map(|d| d.root)
            .unwrap_or_default();
        root.children.extend(extra);
        if let Ok(msg) = Message::from_element(root) {
            d.message = msg;
            m = d.message;
        }
    }
    m
}

fn main() {
    let args = Args::parse();
    let budget = Duration::from_secs_f64(args.seconds);
    let codec = Codec::new(CodecConfig {
        edition: Edition::Ed4,
        xml_declaration: true,
    });
    let mix: Vec<Message> = samples::event_mix().into_iter().map(realistic).collect();

    // One stream holding the whole mix, as it would come off the socket.
    let mut stream = BytesMut::new();
    let mut frames = FrameCodec::new();
    for m in &mix {
        if let Err(e) = frames.encode(codec.encode_frame(InvokeId::EVENT, m), &mut stream) {
            eprintln!("csta-bench: {e}");
            return;
        }
    }
    let stream = stream.freeze();
    let avg_bytes = stream.len() / mix.len().max(1);

    // Decode.
    let start = Instant::now();
    let mut decoded = 0u64;
    let mut errors = 0u64;
    while start.elapsed() < budget {
        let mut buf = BytesMut::from(&stream[..]);
        let mut frames = FrameCodec::new();
        while let Ok(Some(f)) = frames.decode(&mut buf) {
            match csta::decode(&f.frame.xml) {
                Ok(d) => {
                    black_box(d);
                    decoded += 1;
                }
                Err(_) => errors += 1,
            }
        }
    }
    let decode_rate = decoded as f64 / start.elapsed().as_secs_f64();

    // Lean decode (typed fields only).
    let start = Instant::now();
    let mut lean = 0u64;
    while start.elapsed() < budget {
        let mut buf = BytesMut::from(&stream[..]);
        let mut frames = FrameCodec::new();
        while let Ok(Some(f)) = frames.decode(&mut buf) {
            match csta::decode_lean(&f.frame.xml) {
                Ok(d) => {
                    black_box(d);
                    lean += 1;
                }
                Err(_) => errors += 1,
            }
        }
    }
    let lean_rate = lean as f64 / start.elapsed().as_secs_f64();

    let decode_line = format!(
        "decode (full, unknown children kept): {decode_rate:.0} events/s on one core ({decoded} events, {errors} errors)\n\
         decode (lean, typed fields only):      {lean_rate:.0} events/s on one core ({lean} events)"
    );
    if args.decode_only {
        println!("{decode_line}");
        return;
    }

    // Encode.
    let start = Instant::now();
    let mut encoded = 0u64;
    let mut out = BytesMut::with_capacity(stream.len() * 2);
    let mut frames = FrameCodec::new();
    while start.elapsed() < budget {
        out.clear();
        for m in &mix {
            if frames
                .encode(codec.encode_frame(InvokeId::EVENT, black_box(m)), &mut out)
                .is_ok()
            {
                encoded += 1;
            }
        }
        black_box(&out);
    }
    let encode_rate = encoded as f64 / start.elapsed().as_secs_f64();

    println!(
        "events in mix: {} ({}), average frame {} bytes",
        mix.len(),
        mix.iter().map(Message::name).collect::<Vec<_>>().join(", "),
        avg_bytes
    );
    println!("{decode_line}");
    println!("encode: {encode_rate:.0} events/s on one core ({encoded} events)");
}
