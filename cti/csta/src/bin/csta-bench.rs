//! `csta-bench`: single-core decode and encode rate of the CSTA codec on a realistic event mix
//! (one inbound ACD call as seen by a monitored agent device, OSV-shaped XML, with the
//! servicesPermitted / mediaCallCharacteristics / privateData blocks real switches add).
//!
//! Decode = framing + XML parse + typed model; encode = typed model + XML + framing.
//! Goal (issue 4): ≥ 200 000 events/s per core. Run with `--release`.
//! `--decoders full,lean,full-tree,lean-tree` also measures the element-tree reference decoders
//! (what `decode` / `decode_lean` were before the streaming decoder), in the same run.

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
    /// Decoders to measure, in order: `full` (`csta::decode`), `lean` (`csta::decode_lean`),
    /// and the element-tree reference decoders they replaced, `full-tree` and `lean-tree`.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [DecoderKind::Full, DecoderKind::Lean])]
    decoders: Vec<DecoderKind>,
}

/// A decoder under measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DecoderKind {
    /// `csta::decode` (streaming, unknown children kept in `extra`).
    Full,
    /// `csta::decode_lean` (streaming, typed fields only).
    Lean,
    /// `csta::decode_tree` (element tree, then model).
    FullTree,
    /// `csta::decode_lean_tree` (filtered element tree, then model).
    LeanTree,
}

type DecodeFn = fn(&[u8]) -> Result<csta::Decoded, csta::DecodeError>;

/// Time this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`, in ns), so rates
/// can also be given per on-CPU second: on a shared machine, wall-clock rates include the time
/// other processes take the core away.
fn on_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Formats a rate per wall-clock second, plus per on-CPU second when known.
fn rates(count: u64, wall: Duration, cpu: Option<Duration>) -> String {
    let per_wall = count as f64 / wall.as_secs_f64();
    match cpu.filter(|c| !c.is_zero()) {
        Some(cpu) => format!(
            "{per_wall:.0} events/s on one core ({:.0}/s per on-CPU second, {:.0} % on CPU; {count} events)",
            count as f64 / cpu.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
        ),
        None => format!("{per_wall:.0} events/s on one core ({count} events)"),
    }
}

/// Deframes and decodes the whole stream repeatedly for `budget`: (rates, events, errors).
fn measure_decode(stream: &[u8], budget: Duration, decode: DecodeFn) -> (String, u64, u64) {
    let cpu0 = on_cpu();
    let start = Instant::now();
    let mut decoded = 0u64;
    let mut errors = 0u64;
    while start.elapsed() < budget {
        let mut buf = BytesMut::from(stream);
        let mut frames = FrameCodec::new();
        while let Ok(Some(f)) = frames.decode(&mut buf) {
            match decode(&f.frame.xml) {
                Ok(d) => {
                    black_box(d);
                    decoded += 1;
                }
                Err(_) => errors += 1,
            }
        }
    }
    let wall = start.elapsed();
    let cpu = on_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    (rates(decoded, wall, cpu), decoded, errors)
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

    // Decode, with each decoder over the same stream.
    let mut errors = 0u64;
    let mut lines = Vec::new();
    for decoder in &args.decoders {
        let (label, f): (&str, DecodeFn) = match decoder {
            DecoderKind::Full => ("decode (full, unknown children kept):   ", csta::decode),
            DecoderKind::Lean => (
                "decode (lean, typed fields only):       ",
                csta::decode_lean,
            ),
            DecoderKind::FullTree => (
                "decode_tree (full, via element tree):   ",
                csta::decode_tree,
            ),
            DecoderKind::LeanTree => (
                "decode_lean_tree (lean, via tree):      ",
                csta::decode_lean_tree,
            ),
        };
        let (rate, _, errs) = measure_decode(&stream, budget, f);
        errors += errs;
        lines.push(format!("{label}{rate}"));
    }
    let decode_line = format!("{}\ndecode errors: {errors}", lines.join("\n"));
    if args.decode_only {
        println!("{decode_line}");
        return;
    }

    // Encode.
    let cpu0 = on_cpu();
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
    let wall = start.elapsed();
    let cpu = on_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));

    println!(
        "events in mix: {} ({}), average frame {} bytes",
        mix.len(),
        mix.iter().map(Message::name).collect::<Vec<_>>().join(", "),
        avg_bytes
    );
    println!("{decode_line}");
    println!("encode: {}", rates(encoded, wall, cpu));
}
