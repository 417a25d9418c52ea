//! Helpers for the crate's tests: a moto server on a free port, and fake function executables.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `moto_server` started for one test on a free port; killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto from the project's venv (or `$MOTO_SERVER`) and waits until it answers.
    pub async fn start() -> Moto {
        let executable = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
            });
        assert!(
            executable.exists(),
            "moto_server not found at {} (install it into /work/main/.venv or set MOTO_SERVER)",
            executable.display()
        );
        let port = free_port();
        let child = Command::new(&executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto { child, port };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let answer = client
                .get(format!("{}/moto-api/", moto.endpoint()))
                .send()
                .await;
            if answer.is_ok_and(|response| response.status().is_success()) {
                return moto;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scratch directory removed when dropped.
pub struct ScratchDir {
    pub path: PathBuf,
}

impl ScratchDir {
    pub fn new() -> ScratchDir {
        let path = std::env::temp_dir().join(format!("dev-gateway-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        ScratchDir { path }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A Lambda function written in shell + curl that speaks the Runtime API. Its answer depends on
/// the payload: `{"sleep": N}` sleeps N seconds first, `{"crash": true}` exits without
/// answering, `{"fail": true}` reports an error; otherwise it echoes
/// `{"echo": <payload>, "pid": <pid>, "env": "<$ECHO_ENV>"}`.
pub const FAKE_FUNCTION: &str = r#"#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
echo "fake function started (pid $$)"
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
while true; do
  body=$(curl -sS -D "$headers" "$api/invocation/next") || exit 1
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d' ' -f2 | tr -d '\r\n')
  case "$body" in
    *'"sleep"'*)
      seconds=$(echo "$body" | sed 's/.*"sleep":\([0-9]*\).*/\1/')
      sleep "$seconds" ;;
  esac
  case "$body" in
    *'"crash"'*) echo "crashing" >&2; exit 3 ;;
    *'"fail"'*)
      curl -sS -X POST -H 'Lambda-Runtime-Function-Error-Type: Unhandled' \
        -d '{"errorType":"FakeError","errorMessage":"asked to fail"}' \
        "$api/invocation/$id/error" > /dev/null ;;
    *)
      curl -sS -X POST -d "{\"echo\":$body,\"pid\":$$,\"env\":\"$ECHO_ENV\"}" \
        "$api/invocation/$id/response" > /dev/null ;;
  esac
done
"#;

/// Writes [`FAKE_FUNCTION`] as an executable named `name` into `dir`.
pub fn write_fake_function(dir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, FAKE_FUNCTION).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
