//! The Lambda service: runs each function's own binary (the deployed `main.rs`) as child
//! processes, each behind its own [Lambda Runtime API] listener on `127.0.0.1:<port>`.
//!
//! * A function has a pool of instances (default 2). An invocation waits in the function's queue
//!   until an instance's runtime asks for the next one (`GET /invocation/next`), so a slow
//!   invocation does not hold up the others.
//! * The template's `Timeout` is enforced as Lambda does: the process is killed, the invocation
//!   fails with [`InvokeError::Timeout`], and a fresh process starts.
//! * A process that dies is restarted (with a back-off when it dies during init); an invocation
//!   it was working on fails with [`InvokeError::Failed`] (`Runtime.ExitError`).
//! * [`LambdaService::stop`] kills every process; each process is also killed when its handle
//!   is dropped, and a runtime whose Runtime API disappears exits by itself.
//!
//! For benchmarks, [`measure_cold_start`] starts one process and reports the time from spawn to
//! its first `GET /next` and to its first response.
//!
//! [Lambda Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::intrinsics::REGION;
use crate::model::{Invoke, InvokeError};
use crate::template::FunctionSpec;

/// Largest response a function may return (Lambda's synchronous limit).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Default number of processes per function.
pub const DEFAULT_INSTANCES: usize = 2;
/// How long an invocation may wait for a free instance before it fails as unavailable.
const QUEUE_WAIT_LIMIT: Duration = Duration::from_secs(30);
/// Back-off bounds for a process that keeps dying during init.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A process that lived at least this long and polled is restarted without back-off.
const HEALTHY_LIFETIME: Duration = Duration::from_secs(2);

/// Why the Lambda service could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot open a Runtime API listener for {function}")]
    Listen {
        function: String,
        #[source]
        source: std::io::Error,
    },
    #[error("function {function} does not start: {reason}")]
    NotStarted { function: String, reason: String },
}

/// One function as the Lambda service runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    /// The template's logical id (what [`Invoke::invoke`] is called with).
    pub logical_id: String,
    pub function_name: String,
    pub function_arn: String,
    /// The binary to run.
    pub executable: PathBuf,
    /// The process environment, except `AWS_LAMBDA_RUNTIME_API` (set per instance); see
    /// [`lambda_environment`].
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Number of processes (concurrent invocations), at least 1.
    pub instances: usize,
}

impl FunctionConfig {
    /// The configuration of `spec`: binary `<functions_dir>/<Binary>`, `environment` = the
    /// template's resolved variables plus what Lambda sets (see [`lambda_environment`]).
    pub fn from_spec(
        spec: &FunctionSpec,
        functions_dir: &Path,
        template_environment: BTreeMap<String, String>,
        aws_endpoint: &str,
        instances: usize,
    ) -> Self {
        FunctionConfig {
            logical_id: spec.logical_id.clone(),
            function_name: spec.function_name.clone(),
            function_arn: spec.function_arn.clone(),
            executable: functions_dir.join(&spec.binary),
            environment: lambda_environment(
                spec,
                template_environment,
                functions_dir,
                aws_endpoint,
            ),
            timeout: spec.timeout,
            instances: instances.max(1),
        }
    }
}

/// The environment Lambda gives a function process (the template's variables first; the
/// reserved ones win), pointed at the emulator with its dummy credentials. `PATH`, `HOME`,
/// `RUST_LOG` and `RUST_BACKTRACE` are passed through from the gateway.
pub fn lambda_environment(
    spec: &FunctionSpec,
    template_environment: BTreeMap<String, String>,
    functions_dir: &Path,
    aws_endpoint: &str,
) -> BTreeMap<String, String> {
    let mut environment = template_environment;
    for inherited in ["PATH", "HOME", "RUST_LOG", "RUST_BACKTRACE"] {
        if let Ok(value) = std::env::var(inherited) {
            environment.entry(inherited.to_owned()).or_insert(value);
        }
    }
    let reserved = [
        ("AWS_ENDPOINT_URL", aws_endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.function_name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_size.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.function_name),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        (
            "AWS_LAMBDA_LOG_FORMAT",
            spec.log_format.clone().unwrap_or_else(|| "JSON".to_owned()),
        ),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", functions_dir.display().to_string()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
    ];
    for (name, value) in reserved {
        environment.insert(name.to_owned(), value);
    }
    if let Some(level) = &spec.application_log_level {
        environment.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.clone());
    }
    environment
}

type Responder = oneshot::Sender<Result<Value, InvokeError>>;

struct Invocation {
    request_id: String,
    payload: Bytes,
    responder: Responder,
}

struct InFlight {
    request_id: String,
    deadline: Instant,
    responder: Responder,
}

/// What every instance of one function shares.
struct Shared {
    config: FunctionConfig,
    queue_tx: mpsc::UnboundedSender<Invocation>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    shutdown: CancellationToken,
    invocations: AtomicU64,
    errors: AtomicU64,
}

#[derive(Default)]
struct InstanceState {
    /// Cancelled when the current process is gone.
    generation: CancellationToken,
    in_flight: Option<InFlight>,
    /// When the first process was spawned, and when it first asked for an invocation.
    first_spawn: Option<Instant>,
    first_poll: Option<Instant>,
    /// The current process has asked for an invocation.
    polled: bool,
    restarts: u64,
    /// The binary cannot be started at all.
    broken: bool,
    last_error: Option<String>,
}

struct Instance {
    shared: Arc<Shared>,
    label: String,
    runtime_api: String,
    state: Mutex<InstanceState>,
    /// Wakes the supervisor when an invocation starts or ends (its deadline changes).
    changed: Notify,
}

impl Instance {
    fn lock(&self) -> MutexGuard<'_, InstanceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How one function is doing, for `/api/health`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionStatus {
    pub ready: bool,
    pub instances: usize,
    /// Instances whose current process is waiting for or working on an invocation.
    pub polling: usize,
    pub restarts: u64,
    pub invocations: u64,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub runtime_apis: Vec<String>,
}

struct Function {
    shared: Arc<Shared>,
    instances: Vec<Arc<Instance>>,
}

impl Function {
    fn ready(&self) -> bool {
        self.instances
            .iter()
            .any(|instance| instance.lock().first_poll.is_some())
    }
}

/// The Lambda service (see the module docs). Implements [`Invoke`].
pub struct LambdaService {
    functions: BTreeMap<String, Function>,
    shutdown: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl LambdaService {
    /// Opens a Runtime API listener per instance and spawns every function's processes. Returns
    /// at once; see [`LambdaService::is_ready`]. Cancelling `shutdown` (or calling
    /// [`LambdaService::stop`]) ends everything.
    pub async fn start(
        configs: Vec<FunctionConfig>,
        shutdown: CancellationToken,
    ) -> Result<Self, RuntimeError> {
        let shutdown = shutdown.child_token();
        let mut functions = BTreeMap::new();
        let mut tasks = Vec::new();
        for config in configs {
            let (queue_tx, queue_rx) = mpsc::unbounded_channel();
            let instances_count = config.instances.max(1);
            let shared = Arc::new(Shared {
                config,
                queue_tx,
                queue_rx: tokio::sync::Mutex::new(queue_rx),
                shutdown: shutdown.clone(),
                invocations: AtomicU64::new(0),
                errors: AtomicU64::new(0),
            });
            let mut instances = Vec::with_capacity(instances_count);
            for index in 0..instances_count {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .map_err(|source| RuntimeError::Listen {
                        function: shared.config.logical_id.clone(),
                        source,
                    })?;
                let port = listener
                    .local_addr()
                    .map_err(|source| RuntimeError::Listen {
                        function: shared.config.logical_id.clone(),
                        source,
                    })?
                    .port();
                let label = if instances_count == 1 {
                    shared.config.logical_id.clone()
                } else {
                    format!("{}#{}", shared.config.logical_id, index + 1)
                };
                let instance = Arc::new(Instance {
                    shared: shared.clone(),
                    label,
                    runtime_api: format!("127.0.0.1:{port}"),
                    state: Mutex::new(InstanceState {
                        generation: shutdown.child_token(),
                        ..InstanceState::default()
                    }),
                    changed: Notify::new(),
                });
                let router = runtime_api_router(instance.clone());
                let server_shutdown = shutdown.clone();
                let label = instance.label.clone();
                tasks.push(tokio::spawn(async move {
                    let served = axum::serve(listener, router)
                        .with_graceful_shutdown(server_shutdown.cancelled_owned())
                        .await;
                    if let Err(error) = served {
                        tracing::error!(instance = %label, %error, "Runtime API listener failed");
                    }
                }));
                tasks.push(tokio::spawn(supervise(instance.clone())));
                instances.push(instance);
            }
            functions.insert(
                shared.config.logical_id.clone(),
                Function { shared, instances },
            );
        }
        Ok(LambdaService {
            functions,
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    /// Whether every function has a process that has asked for an invocation at least once.
    pub fn is_ready(&self) -> bool {
        self.functions.values().all(Function::ready)
    }

    /// Waits until [`LambdaService::is_ready`] or `timeout`; returns whether ready.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let started = Instant::now();
        while !self.is_ready() {
            if started.elapsed() >= timeout || self.shutdown.is_cancelled() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        true
    }

    /// Waits (without limit) until `function` has a process that asked for an invocation.
    pub async fn wait_function_ready(&self, function: &str) {
        while !self.functions.get(function).is_none_or(Function::ready) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (without limit) until [`LambdaService::is_ready`].
    pub async fn wait_all_ready(&self) {
        while !self.is_ready() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Status of every function by logical id.
    pub fn status(&self) -> BTreeMap<String, FunctionStatus> {
        self.functions
            .iter()
            .map(|(id, function)| {
                let mut status = FunctionStatus {
                    ready: function.ready(),
                    instances: function.instances.len(),
                    polling: 0,
                    restarts: 0,
                    invocations: function.shared.invocations.load(Ordering::Relaxed),
                    errors: function.shared.errors.load(Ordering::Relaxed),
                    last_error: None,
                    runtime_apis: Vec::new(),
                };
                for instance in &function.instances {
                    let state = instance.lock();
                    status.polling += usize::from(state.polled);
                    status.restarts += state.restarts;
                    if state.last_error.is_some() {
                        status.last_error.clone_from(&state.last_error);
                    }
                    status.runtime_apis.push(instance.runtime_api.clone());
                }
                (id.clone(), status)
            })
            .collect()
    }

    /// Logical ids of the functions.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// Kills every process and closes the listeners; returns when they are gone.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for LambdaService {
    fn drop(&mut self) {
        // Supervisors kill their processes when cancelled; kill_on_drop covers an aborted runtime.
        self.shutdown.cancel();
    }
}

#[async_trait]
impl Invoke for LambdaService {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        let target = self
            .functions
            .get(function)
            .ok_or_else(|| InvokeError::UnknownFunction(function.to_owned()))?;
        let unavailable = |reason: String| InvokeError::Unavailable {
            function: function.to_owned(),
            reason,
        };
        if self.shutdown.is_cancelled() {
            return Err(unavailable("the gateway is shutting down".into()));
        }
        let broken = target
            .instances
            .iter()
            .map(|instance| {
                let state = instance.lock();
                state
                    .broken
                    .then(|| state.last_error.clone().unwrap_or_default())
            })
            .collect::<Option<Vec<String>>>();
        if let Some(reasons) = broken {
            return Err(unavailable(reasons.into_iter().next().unwrap_or_default()));
        }
        target.shared.invocations.fetch_add(1, Ordering::Relaxed);
        let (responder, answer) = oneshot::channel();
        let invocation = Invocation {
            request_id: uuid::Uuid::new_v4().to_string(),
            payload: Bytes::from(payload.to_string()),
            responder,
        };
        target
            .shared
            .queue_tx
            .send(invocation)
            .map_err(|_| unavailable("the function's queue is closed".into()))?;
        let limit = QUEUE_WAIT_LIMIT + target.shared.config.timeout;
        let result = match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(unavailable(
                "the invocation was dropped (shutting down)".into(),
            )),
            Err(_) => Err(unavailable(format!(
                "no instance took the invocation within {} s",
                limit.as_secs()
            ))),
        };
        if result.is_err() {
            target.shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

// ---------------------------------------------------------------- Runtime API

fn runtime_api_router(instance: Arc<Instance>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .layer(DefaultBodyLimit::disable())
        .with_state(instance)
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({"status": "OK"}))).into_response()
}

fn trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &parent[..16]
    )
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

async fn next_invocation(State(instance): State<Arc<Instance>>) -> Response {
    let generation = {
        let mut state = instance.lock();
        if let Some(stale) = state.in_flight.take() {
            // Asking for the next event means the runtime is done with the previous one.
            let _ = stale.responder.send(Err(InvokeError::Failed {
                function: instance.shared.config.logical_id.clone(),
                error_type: "Runtime.NoResponse".into(),
                error_message:
                    "the runtime asked for the next invocation without answering this one".into(),
            }));
        }
        state.polled = true;
        if state.first_poll.is_none() {
            state.first_poll = Some(Instant::now());
            tracing::debug!(instance = %instance.label, "runtime is polling");
        }
        state.generation.clone()
    };
    instance.changed.notify_one();
    let gone = || {
        runtime_error(
            StatusCode::GONE,
            "Runtime.Gone",
            "the execution environment is shutting down",
        )
    };
    loop {
        let invocation = {
            let mut queue = tokio::select! {
                queue = instance.shared.queue_rx.lock() => queue,
                () = generation.cancelled() => return gone(),
            };
            tokio::select! {
                invocation = queue.recv() => match invocation {
                    Some(invocation) => invocation,
                    None => return gone(),
                },
                () = generation.cancelled() => return gone(),
            }
        };
        if invocation.responder.is_closed() {
            continue; // the caller gave up waiting
        }
        let timeout = instance.shared.config.timeout;
        let deadline_ms = SystemTime::now()
            .checked_add(timeout)
            .and_then(|deadline| deadline.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |deadline| deadline.as_millis());
        {
            let mut state = instance.lock();
            if generation.is_cancelled() {
                // The process is gone: hand the invocation to another instance.
                drop(state);
                let _ = instance.shared.queue_tx.send(invocation);
                return gone();
            }
            state.in_flight = Some(InFlight {
                request_id: invocation.request_id.clone(),
                deadline: Instant::now() + timeout,
                responder: invocation.responder,
            });
        }
        instance.changed.notify_one();
        let mut headers = HeaderMap::new();
        headers.insert(
            "lambda-runtime-aws-request-id",
            header(&invocation.request_id),
        );
        headers.insert(
            "lambda-runtime-deadline-ms",
            header(&deadline_ms.to_string()),
        );
        headers.insert(
            "lambda-runtime-invoked-function-arn",
            header(&instance.shared.config.function_arn),
        );
        headers.insert("lambda-runtime-trace-id", header(&trace_id()));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        return (StatusCode::OK, headers, invocation.payload).into_response();
    }
}

fn take_in_flight(instance: &Instance, request_id: &str) -> Option<InFlight> {
    let mut state = instance.lock();
    if state
        .in_flight
        .as_ref()
        .is_some_and(|in_flight| in_flight.request_id == request_id)
    {
        state.in_flight.take()
    } else {
        None
    }
}

async fn invocation_response(
    State(instance): State<Arc<Instance>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let Some(in_flight) = take_in_flight(&instance, &request_id) else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation in flight with this request id",
        );
    };
    instance.changed.notify_one();
    let function = instance.shared.config.logical_id.clone();
    if body.len() > MAX_RESPONSE_BYTES {
        let _ = in_flight.responder.send(Err(InvokeError::Failed {
            function,
            error_type: "Function.ResponseSizeTooLarge".into(),
            error_message: format!(
                "response of {} bytes exceeds the {MAX_RESPONSE_BYTES} byte limit",
                body.len()
            ),
        }));
        return runtime_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the response exceeds 6 MB",
        );
    }
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let _ = in_flight.responder.send(Ok(value));
    accepted()
}

async fn invocation_error(
    State(instance): State<Arc<Instance>>,
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(in_flight) = take_in_flight(&instance, &request_id) else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation in flight with this request id",
        );
    };
    instance.changed.notify_one();
    let (error_type, error_message) = describe_error(&headers, &body);
    tracing::debug!(instance = %instance.label, %error_type, %error_message, "invocation failed");
    let _ = in_flight.responder.send(Err(InvokeError::Failed {
        function: instance.shared.config.logical_id.clone(),
        error_type,
        error_message,
    }));
    accepted()
}

async fn init_error(
    State(instance): State<Arc<Instance>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = describe_error(&headers, &body);
    tracing::error!(instance = %instance.label, %error_type, %error_message, "function init failed");
    instance.lock().last_error = Some(format!("init error: {error_type}: {error_message}"));
    accepted()
}

/// `(errorType, errorMessage)` of an error a runtime posted.
fn describe_error(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error_type = parsed
        .get("errorType")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "Unhandled".to_owned());
    let error_message = parsed
        .get("errorMessage")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    (error_type, error_message)
}

// ---------------------------------------------------------------- processes

fn spawn_process(instance: &Instance) -> std::io::Result<Child> {
    let config = &instance.shared.config;
    let log_stream = format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        uuid::Uuid::new_v4().simple()
    );
    let mut command = Command::new(&config.executable);
    // Its own process group: a Ctrl-C in the terminal reaches the gateway, which stops the
    // functions itself, rather than every function at once.
    #[cfg(unix)]
    command.process_group(0);
    command
        .env_clear()
        .envs(&config.environment)
        .env("AWS_LAMBDA_RUNTIME_API", &instance.runtime_api)
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
}

fn forward_output<R>(reader: Option<R>, label: String, to_stderr: bool)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let Some(reader) = reader else { return };
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']);
                    if to_stderr {
                        eprintln!("{label} | {text}");
                    } else {
                        println!("{label} | {text}");
                    }
                }
            }
        }
    });
}

/// Fails the invocations waiting in the queue when no process of this instance can run them
/// (unless another instance is waiting for work: it holds the queue).
fn fail_queued(instance: &Instance) {
    let Ok(mut queue) = instance.shared.queue_rx.try_lock() else {
        return;
    };
    let reason = instance.lock().last_error.clone().unwrap_or_default();
    while let Ok(invocation) = queue.try_recv() {
        let _ = invocation.responder.send(Err(InvokeError::Unavailable {
            function: instance.shared.config.logical_id.clone(),
            reason: reason.clone(),
        }));
    }
}

enum Ended {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Shutdown,
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Keeps one instance's process running until shutdown.
async fn supervise(instance: Arc<Instance>) {
    let shutdown = instance.shared.shutdown.clone();
    let function = instance.shared.config.logical_id.clone();
    let mut backoff = MIN_BACKOFF;
    while !shutdown.is_cancelled() {
        let generation = shutdown.child_token();
        let spawned_at = Instant::now();
        let spawned = spawn_process(&instance);
        {
            let mut state = instance.lock();
            state.generation = generation.clone();
            state.polled = false;
            match &spawned {
                Ok(_) => {
                    state.broken = false;
                    state.first_spawn.get_or_insert(spawned_at);
                }
                Err(error) => {
                    let message = format!(
                        "cannot start {}: {error}",
                        instance.shared.config.executable.display()
                    );
                    if !state.broken {
                        tracing::error!(instance = %instance.label, "{message} (build the functions first; retrying)");
                    }
                    state.broken = true;
                    state.last_error = Some(message);
                }
            }
        }
        let mut child = match spawned {
            Ok(child) => child,
            Err(_) => {
                generation.cancel();
                fail_queued(&instance);
                tokio::select! {
                    () = tokio::time::sleep(MAX_BACKOFF.min(backoff * 4)) => {}
                    () = shutdown.cancelled() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        tracing::debug!(instance = %instance.label, pid = ?child.id(), "started");
        forward_output(child.stdout.take(), instance.label.clone(), false);
        forward_output(child.stderr.take(), instance.label.clone(), true);

        let ended = loop {
            let deadline = instance.lock().in_flight.as_ref().map(|f| f.deadline);
            tokio::select! {
                status = child.wait() => break Ended::Exited(status),
                () = sleep_until(deadline) => {
                    let expired = {
                        let mut state = instance.lock();
                        if state.in_flight.as_ref().is_some_and(|f| f.deadline <= Instant::now()) {
                            state.in_flight.take()
                        } else {
                            None
                        }
                    };
                    if let Some(expired) = expired {
                        let seconds = instance.shared.config.timeout.as_secs();
                        tracing::warn!(instance = %instance.label, seconds, "invocation timed out; restarting the process");
                        let _ = expired.responder.send(Err(InvokeError::Timeout {
                            function: function.clone(),
                            seconds,
                        }));
                        break Ended::TimedOut;
                    }
                }
                () = instance.changed.notified() => {}
                () = shutdown.cancelled() => break Ended::Shutdown,
            }
        };
        generation.cancel();
        if !matches!(ended, Ended::Exited(_)) {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let (left_over, polled) = {
            let mut state = instance.lock();
            (state.in_flight.take(), state.polled)
        };
        let exit_description = match &ended {
            Ended::Exited(Ok(status)) => format!("the process exited ({status})"),
            Ended::Exited(Err(error)) => format!("the process could not be awaited: {error}"),
            Ended::TimedOut => "the process was killed after a timeout".to_owned(),
            Ended::Shutdown => "the gateway is shutting down".to_owned(),
        };
        if let Some(left_over) = left_over {
            let error = match ended {
                Ended::Shutdown => InvokeError::Unavailable {
                    function: function.clone(),
                    reason: exit_description.clone(),
                },
                _ => InvokeError::Failed {
                    function: function.clone(),
                    error_type: "Runtime.ExitError".into(),
                    error_message: exit_description.clone(),
                },
            };
            let _ = left_over.responder.send(Err(error));
        }
        if matches!(ended, Ended::Shutdown) || shutdown.is_cancelled() {
            break;
        }
        {
            let mut state = instance.lock();
            state.restarts += 1;
            if matches!(ended, Ended::Exited(_)) {
                state.last_error = Some(exit_description.clone());
            }
        }
        let healthy = polled && spawned_at.elapsed() >= HEALTHY_LIFETIME;
        if matches!(ended, Ended::TimedOut) || healthy {
            backoff = MIN_BACKOFF;
            tracing::info!(instance = %instance.label, "{exit_description}; restarting");
        } else {
            tracing::warn!(instance = %instance.label, "{exit_description}; restarting in {} ms", backoff.as_millis());
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = shutdown.cancelled() => break,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
    tracing::debug!(instance = %instance.label, "stopped");
}

// ---------------------------------------------------------------- benchmarks

/// Timing of one cold start (see [`measure_cold_start`]).
#[derive(Debug)]
pub struct ColdStart {
    /// From spawning the process to its first `GET /invocation/next` (the function's init).
    pub spawn_to_first_poll: Duration,
    /// From spawning the process to its response to the first invocation (init + first invoke).
    pub spawn_to_first_response: Duration,
    /// What the first invocation returned.
    pub result: Result<Value, InvokeError>,
}

/// Starts one process of `config` (instances forced to 1) against its own Runtime API, invokes
/// it once with `payload` — queued before the process starts, as a cold invocation is — and
/// stops it. Fails with [`RuntimeError::NotStarted`] if the binary cannot be started.
///
/// ```no_run
/// # async fn bench(config: dev_gateway::runtime::FunctionConfig) -> Result<(), dev_gateway::runtime::RuntimeError> {
/// let cold = dev_gateway::runtime::measure_cold_start(config, serde_json::json!({})).await?;
/// println!("init {:?}, first response {:?}", cold.spawn_to_first_poll, cold.spawn_to_first_response);
/// # Ok(()) }
/// ```
pub async fn measure_cold_start(
    config: FunctionConfig,
    payload: Value,
) -> Result<ColdStart, RuntimeError> {
    let function = config.logical_id.clone();
    let config = FunctionConfig {
        instances: 1,
        ..config
    };
    let shutdown = CancellationToken::new();
    let service = LambdaService::start(vec![config], shutdown).await?;
    let result = service.invoke(&function, payload).await;
    let responded = Instant::now();
    let timing = service.functions.get(&function).and_then(|target| {
        let state = target.instances.first()?.lock();
        Some((
            state.first_spawn?,
            state.first_poll,
            state.last_error.clone(),
        ))
    });
    service.stop().await;
    match timing {
        Some((spawned, Some(first_poll), _)) => Ok(ColdStart {
            spawn_to_first_poll: first_poll.saturating_duration_since(spawned),
            spawn_to_first_response: responded.saturating_duration_since(spawned),
            result,
        }),
        Some((_, None, last_error)) => Err(RuntimeError::NotStarted {
            function,
            reason: last_error
                .unwrap_or_else(|| "the runtime never asked for an invocation".into()),
        }),
        None => Err(RuntimeError::NotStarted {
            function,
            reason: match result {
                Err(error) => error.to_string(),
                Ok(_) => "the process was never spawned".into(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{write_fake_function, ScratchDir};

    fn config(executable: PathBuf, timeout: Duration, instances: usize) -> FunctionConfig {
        let mut environment = BTreeMap::new();
        environment.insert("PATH".to_owned(), std::env::var("PATH").unwrap_or_default());
        environment.insert("ECHO_ENV".to_owned(), "from-template".to_owned());
        FunctionConfig {
            logical_id: "EchoFunction".into(),
            function_name: "linka-EchoFunction".into(),
            function_arn: "arn:aws:lambda:eu-central-1:123456789012:function:linka-EchoFunction"
                .into(),
            executable,
            environment,
            timeout,
            instances,
        }
    }

    async fn started(timeout: Duration, instances: usize) -> (ScratchDir, LambdaService) {
        let dir = ScratchDir::new();
        let executable = write_fake_function(&dir.path, "echo-fn");
        let service = LambdaService::start(
            vec![config(executable, timeout, instances)],
            CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(
            service.wait_ready(Duration::from_secs(10)).await,
            "not ready"
        );
        (dir, service)
    }

    #[tokio::test]
    async fn when_invoked_should_pass_the_payload_and_environment_and_return_the_response() {
        let (_dir, service) = started(Duration::from_secs(5), 1).await;
        let answer = service
            .invoke("EchoFunction", json!({"hello": "světe"}))
            .await
            .unwrap();
        assert_eq!(answer["echo"], json!({"hello": "světe"}));
        assert_eq!(answer["env"], "from-template");
        service.stop().await;
    }

    #[tokio::test]
    async fn when_the_function_reports_an_error_should_fail_with_its_type_and_message() {
        let (_dir, service) = started(Duration::from_secs(5), 1).await;
        let error = service
            .invoke("EchoFunction", json!({"fail": true}))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, InvokeError::Failed { error_type, error_message, .. } if error_type == "FakeError" && error_message == "asked to fail"),
            "{error:?}"
        );
        service.stop().await;
    }

    #[tokio::test]
    async fn when_the_function_runs_past_its_timeout_should_fail_and_restart_the_process() {
        let (_dir, service) = started(Duration::from_secs(1), 1).await;
        let first_pid = service.invoke("EchoFunction", json!({})).await.unwrap()["pid"].clone();
        let started = Instant::now();
        let error = service
            .invoke("EchoFunction", json!({"sleep": 5}))
            .await
            .unwrap_err();
        assert!(
            matches!(error, InvokeError::Timeout { seconds: 1, .. }),
            "{error:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        let after = service.invoke("EchoFunction", json!({})).await.unwrap();
        assert_ne!(
            after["pid"], first_pid,
            "the process should have been replaced"
        );
        assert_eq!(service.status()["EchoFunction"].restarts, 1);
        service.stop().await;
    }

    #[tokio::test]
    async fn when_the_process_dies_during_an_invocation_should_fail_it_and_restart() {
        let (_dir, service) = started(Duration::from_secs(5), 1).await;
        let error = service
            .invoke("EchoFunction", json!({"crash": true}))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, InvokeError::Failed { error_type, .. } if error_type == "Runtime.ExitError"),
            "{error:?}"
        );
        let answer = service
            .invoke("EchoFunction", json!({"again": 1}))
            .await
            .unwrap();
        assert_eq!(answer["echo"], json!({"again": 1}));
        service.stop().await;
    }

    #[tokio::test]
    async fn when_one_invocation_is_slow_should_serve_others_on_another_instance() {
        let (_dir, service) = started(Duration::from_secs(10), 2).await;
        let service = Arc::new(service);
        let slow = {
            let service = service.clone();
            tokio::spawn(async move { service.invoke("EchoFunction", json!({"sleep": 2})).await })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        service
            .invoke("EchoFunction", json!({"quick": true}))
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        slow.await.unwrap().unwrap();
        service.stop().await;
    }

    #[tokio::test]
    async fn when_the_function_is_unknown_or_its_binary_missing_should_fail_at_once() {
        let dir = ScratchDir::new();
        let service = LambdaService::start(
            vec![config(dir.path.join("missing"), Duration::from_secs(1), 1)],
            CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(matches!(
            service.invoke("Nope", json!({})).await,
            Err(InvokeError::UnknownFunction(_))
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(matches!(
            service.invoke("EchoFunction", json!({})).await,
            Err(InvokeError::Unavailable { .. })
        ));
        assert!(!service.is_ready());
        assert!(service.status()["EchoFunction"].last_error.is_some());
        service.stop().await;
    }

    #[tokio::test]
    async fn when_stopped_should_leave_no_process_behind() {
        let (_dir, service) = started(Duration::from_secs(5), 2).await;
        let pid = service.invoke("EchoFunction", json!({})).await.unwrap()["pid"]
            .as_u64()
            .unwrap();
        service.stop().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let alive = Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "process {pid} is still running");
    }

    #[tokio::test]
    async fn when_measuring_a_cold_start_should_report_init_and_first_response_times() {
        let dir = ScratchDir::new();
        let executable = write_fake_function(&dir.path, "echo-fn");
        let cold = measure_cold_start(
            config(executable, Duration::from_secs(5), 3),
            json!({"x": 1}),
        )
        .await
        .unwrap();
        assert_eq!(cold.result.unwrap()["echo"], json!({"x": 1}));
        assert!(cold.spawn_to_first_poll <= cold.spawn_to_first_response);
        assert!(cold.spawn_to_first_response < Duration::from_secs(5));
    }

    #[test]
    fn when_building_the_environment_should_point_at_the_emulator_and_keep_template_variables() {
        let spec = FunctionSpec {
            logical_id: "HttpApiFunction".into(),
            function_name: "linka-HttpApiFunction".into(),
            function_arn: String::new(),
            binary: "http-api".into(),
            timeout: Duration::from_secs(10),
            memory_size: 256,
            environment: BTreeMap::new(),
            log_format: Some("JSON".into()),
            application_log_level: None,
        };
        let template = [
            ("USERS_TABLE".to_owned(), "linka-UsersTable".to_owned()),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ]
        .into();
        let environment = lambda_environment(
            &spec,
            template,
            Path::new("target/debug"),
            "http://127.0.0.1:4566",
        );
        assert_eq!(environment["USERS_TABLE"], "linka-UsersTable");
        assert_eq!(environment["AWS_REGION"], "eu-central-1");
        assert_eq!(environment["AWS_ENDPOINT_URL"], "http://127.0.0.1:4566");
        assert_eq!(
            environment["AWS_LAMBDA_FUNCTION_NAME"],
            "linka-HttpApiFunction"
        );
        assert_eq!(environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(environment["AWS_LAMBDA_LOG_FORMAT"], "JSON");
        assert_eq!(environment["AWS_ACCESS_KEY_ID"], "test");
    }
}
