//! Runs the `csta-decode` binary on a captured-stream fixture and on corrupted streams.

// Test code: unwrap in helpers is fine (clippy.toml allows it in #[test] fns only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_csta-decode");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn run_stdin(bytes: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn when_given_a_captured_stream_file_should_print_one_json_object_per_frame() {
    let out = Command::new(BIN)
        .arg(format!("{FIXTURES}/osv-stream.bin"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = lines(&out);
    let names: Vec<&str> = v.iter().map(|l| l["message"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "StartApplicationSessionPosResponse",
            "MonitorStartResponse",
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "CSTAErrorCode"
        ]
    );
    assert_eq!(v[2]["invoke_id"], "9999");
    assert_eq!(v[2]["offset"], 646);
    assert_eq!(v[2]["length"], 1003);
    assert_eq!(v[2]["edition"], "ed4");
    assert_eq!(
        v[2]["fields"]["initiatedConnection"]["callID"],
        "0A1B000200000000004C696E6B61D00D"
    );
    assert_eq!(v[4]["edition"], "ed5");
    assert_eq!(v[4]["fields"]["value"], "overallMonitorLimitExceeded");
}

#[test]
fn when_reading_stdin_should_decode_the_same_stream() {
    let bytes = std::fs::read(format!("{FIXTURES}/osv-stream.bin")).unwrap();
    let out = run_stdin(&bytes);
    assert!(out.status.success());
    assert_eq!(lines(&out).len(), 5);
}

#[test]
fn when_a_frame_header_is_corrupted_should_name_the_offset_and_exit_2() {
    let out = Command::new(BIN)
        .arg(format!("{FIXTURES}/osv-stream-corrupt.bin"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(lines(&out).len(), 3, "frames before the damage are printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("byte offset 1649"), "{err}");
    assert!(err.contains("bad header marker"), "{err}");
}

#[test]
fn when_the_stream_is_truncated_should_report_truncation_and_exit_2() {
    let bytes = std::fs::read(format!("{FIXTURES}/osv-stream.bin")).unwrap();
    let out = run_stdin(&bytes[..700]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated frame at byte offset 646"), "{err}");
}

#[test]
fn when_a_payload_is_malformed_xml_should_report_it_and_continue() {
    let xml = b"<a><b></a>";
    let mut bytes = vec![0, 0, 0, (xml.len() + 8) as u8];
    bytes.extend_from_slice(b"9999");
    bytes.extend_from_slice(xml);
    bytes.extend_from_slice(&std::fs::read(format!("{FIXTURES}/osv-stream.bin")).unwrap());
    let out = run_stdin(&bytes);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(lines(&out).len(), 5);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("malformed frame at byte offset 0 (invoke id 9999)"),
        "{err}"
    );
}

#[test]
fn when_the_file_is_missing_should_exit_1() {
    let out = Command::new(BIN)
        .arg("/nonexistent/capture.bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
