//! `csta-decode`: field diagnostics for CSTA XML over TCP.
//!
//! Reads a raw captured TCP byte stream (the 8-byte-header frames) from a file or stdin and
//! prints one JSON object per frame on stdout: byte offset, length, invoke id, namespace,
//! edition, message name and its fields. A malformed frame gives a message naming the byte
//! offset on stderr and exit code 2 (framing errors stop the run, since the stream cannot be
//! resynchronised; a frame with a bad XML payload is reported and the run goes on).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bytes::BytesMut;
use clap::Parser;
use csta::{decode, FrameCodec, FrameError, HEADER_LEN};
use serde::Serialize;
use tokio_util::codec::Decoder;

/// Decode a captured CSTA XML over TCP byte stream into JSON lines.
#[derive(Debug, Parser)]
#[command(name = "csta-decode", version)]
struct Args {
    /// Capture file (raw TCP payload bytes); stdin when absent or "-".
    input: Option<PathBuf>,
    /// Also print the raw XML payload of each frame.
    #[arg(long)]
    xml: bool,
}

#[derive(Serialize)]
struct Line<'a> {
    offset: u64,
    length: usize,
    invoke_id: csta::InvokeId,
    #[serde(flatten)]
    decoded: &'a csta::Decoded,
    #[serde(skip_serializing_if = "Option::is_none")]
    xml: Option<String>,
}

fn read_input(input: Option<&PathBuf>) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    match input {
        Some(p) if p.as_os_str() != "-" => data = std::fs::read(p)?,
        _ => {
            std::io::stdin().read_to_end(&mut data)?;
        }
    }
    Ok(data)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let data = match read_input(args.input.as_ref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("csta-decode: cannot read input: {e}");
            return ExitCode::from(1);
        }
    };
    let mut buf = BytesMut::from(&data[..]);
    let mut codec = FrameCodec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    loop {
        let frame = match codec.decode_eof(&mut buf) {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let at = e.offset().unwrap_or(codec.consumed());
                eprintln!("csta-decode: malformed frame at byte offset {at}: {e}");
                if matches!(e, FrameError::Io(_)) {
                    return ExitCode::from(1);
                }
                return ExitCode::from(2);
            }
        };
        match decode(&frame.frame.xml) {
            Ok(decoded) => {
                let line = Line {
                    offset: frame.offset,
                    length: frame.frame.wire_len(),
                    invoke_id: frame.frame.invoke_id,
                    decoded: &decoded,
                    xml: args
                        .xml
                        .then(|| String::from_utf8_lossy(&frame.frame.xml).into_owned()),
                };
                let written = serde_json::to_writer(&mut out, &line)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"));
                if let Err(e) = written {
                    eprintln!("csta-decode: cannot write output: {e}");
                    return ExitCode::from(1);
                }
            }
            Err(e) => {
                failed = true;
                let at = match e.payload_offset() {
                    Some(p) => frame.offset + HEADER_LEN as u64 + p,
                    None => frame.offset,
                };
                eprintln!(
                    "csta-decode: malformed frame at byte offset {} (invoke id {}): {e} (stream byte offset {at})",
                    frame.offset, frame.frame.invoke_id
                );
            }
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("csta-decode: cannot write output: {e}");
        return ExitCode::from(1);
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
