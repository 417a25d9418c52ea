//! The gateway application: configuration, start-up order and the one HTTP server.
//!
//! The port is bound first and answers at once: `/api/health` says `503 {"status":"starting",
//! "phase": …}` while the stack comes up, then `200 {"status":"ok","functions":{…}}` once every
//! function has asked for its first invocation. Everything else answers 503 until the stack is
//! up. Then, on one port: `/api/*` (HTTP API), `/ws` (WebSocket API and `@connections`),
//! `/auth/*` (issuer), `/_local/*` (local-only helpers) and `web/dist` for everything else.
//!
//! Start-up order: template → resources in the emulator → seeded users → issuer → function
//! processes → SQS pollers (each once its function is ready) and schedules → routes.
//! Ctrl-C / SIGTERM stops the server, the pollers and the schedules and kills every function
//! process.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::http_api;
use crate::intrinsics::{IntrinsicError, Resolver, ResolverSettings};
use crate::issuer::{Issuer, IssuerConfig, IssuerError};
use crate::model::Invoke;
use crate::resources::{provision, AwsClients, ResourceError};
use crate::runtime::{FunctionConfig, LambdaService, RuntimeError, DEFAULT_INSTANCES};
use crate::schedules::{ScheduleError, Scheduler};
use crate::seed::{read_demo_config, read_identities, seed_config, seed_users, SeedError};
use crate::sqs_mapping::SqsMapping;
use crate::template::{Document, Template, TemplateError};
use crate::websocket::WebSocketGateway;

/// How long the emulator may take to answer at start-up.
const EMULATOR_WAIT: Duration = Duration::from_secs(30);
/// How long open connections (WebSockets) may delay shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Lifetime of the local issuer's tokens.
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Command line and environment of `dev-gateway`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "dev-gateway",
    version,
    about = "Runs Linka locally: API Gateway (HTTP + WebSocket), Lambda, SQS mappings, schedules and an OpenID issuer, wired from the SAM template, against an AWS emulator (moto)"
)]
pub struct Config {
    /// The SAM template.
    #[arg(long, env = "LINKA_TEMPLATE", default_value = "infra/template.yaml")]
    pub template: PathBuf,
    /// Port of the gateway (0 = any free port).
    #[arg(long, env = "LINKA_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "LINKA_BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// The AWS emulator (moto); also given to every function as AWS_ENDPOINT_URL.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    pub aws_endpoint: String,
    /// Where the function binaries are, named by Metadata.BuildProperties.Binary.
    #[arg(long, env = "LINKA_FUNCTIONS_DIR", default_value = "target/debug")]
    pub functions_dir: PathBuf,
    /// The built web app, served at /.
    #[arg(long, env = "LINKA_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// Local state (the issuer's signing key).
    #[arg(long, env = "LINKA_STATE_DIR", default_value = ".local")]
    pub state_dir: PathBuf,
    /// Demo users and clients.
    #[arg(
        long,
        env = "LINKA_IDENTITIES",
        default_value = "localstack/identities.json"
    )]
    pub identities: PathBuf,
    /// Demo configuration (queues, members, breaks, categories, transfer panel, ICIS link),
    /// written when absent; `none` to start with an empty configuration.
    #[arg(
        long,
        env = "LINKA_DEMO_CONFIG",
        default_value = "localstack/demo-config.json"
    )]
    pub demo_config: PathBuf,
    /// Make a failed SQS message visible again after this many seconds (default: the queue's
    /// own VisibilityTimeout).
    #[arg(long, env = "LINKA_SQS_RETRY_DELAY")]
    pub sqs_retry_delay: Option<u64>,
    /// Template parameter values, `Name=Value` (several separated by spaces in the env var).
    #[arg(long, env = "LINKA_PARAMETER_OVERRIDES", value_delimiter = ' ', num_args = 1.., value_parser = parse_override)]
    pub parameter_overrides: Vec<(String, String)>,
    /// Processes per function (concurrent invocations).
    #[arg(long, env = "LINKA_FUNCTION_INSTANCES", default_value_t = DEFAULT_INSTANCES)]
    pub function_instances: usize,
    /// Log format (filter with RUST_LOG).
    #[arg(long, env = "LINKA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

fn parse_override(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected Name=Value, got {text:?}"))
}

/// Why the gateway stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot listen on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
    #[error("invalid template {path}")]
    Template {
        path: PathBuf,
        #[source]
        source: TemplateError,
    },
    #[error("template parameters")]
    Parameters(#[source] IntrinsicError),
    #[error("creating the resources in the emulator")]
    Resources(#[from] ResourceError),
    #[error("seeding the demo users")]
    Seed(#[from] SeedError),
    #[error("starting the issuer")]
    Issuer(#[from] IssuerError),
    #[error("starting the functions")]
    Runtime(#[from] RuntimeError),
    #[error("the environment of function {function}")]
    Environment {
        function: String,
        #[source]
        source: TemplateError,
    },
    #[error("SQS event source {source_name}: queue {queue} was not created")]
    MissingQueue { source_name: String, queue: String },
    #[error("schedules")]
    Schedule(#[from] ScheduleError),
    #[error("the gateway task failed")]
    Join(#[source] tokio::task::JoinError),
}

/// Where start-up is, for `/api/health`.
struct AppState {
    phase: Mutex<String>,
    lambda: OnceLock<Arc<LambdaService>>,
    router: OnceLock<Router>,
}

impl AppState {
    fn set_phase(&self, phase: &str) {
        tracing::info!("{phase}");
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = phase.to_owned();
    }

    fn phase(&self) -> String {
        self.phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running gateway (see [`start`]).
pub struct Gateway {
    address: SocketAddr,
    base_url: String,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), AppError>>,
}

impl Gateway {
    /// The address the gateway listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// e.g. `http://127.0.0.1:8080`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Cancelling this token shuts the gateway down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the gateway stops (after shutdown, or because start-up failed).
    pub async fn wait(self) -> Result<(), AppError> {
        self.task.await.map_err(AppError::Join)?
    }

    /// Shuts the gateway down and waits until every function process is gone.
    pub async fn stop(self) -> Result<(), AppError> {
        self.shutdown.cancel();
        self.wait().await
    }
}

/// Runs the gateway until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), AppError> {
    let gateway = start(config).await?;
    let shutdown = gateway.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    gateway.wait().await
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Binds the port and starts the stack in the background; returns once the port answers.
pub async fn start(config: Config) -> Result<Gateway, AppError> {
    let listener = tokio::net::TcpListener::bind((config.bind, config.port))
        .await
        .map_err(|source| AppError::Bind {
            address: format!("{}:{}", config.bind, config.port),
            source,
        })?;
    let address = listener.local_addr().map_err(|source| AppError::Bind {
        address: format!("{}:{}", config.bind, config.port),
        source,
    })?;
    let host = match address.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    let base_url = format!("http://{host}:{}", address.port());
    let shutdown = CancellationToken::new();
    let state = Arc::new(AppState {
        phase: Mutex::new("starting".into()),
        lambda: OnceLock::new(),
        router: OnceLock::new(),
    });
    let outer = Router::new()
        .route("/api/health", get(health))
        .fallback(dispatch)
        .with_state(state.clone());
    let server_shutdown = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            outer.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(server_shutdown.cancelled_owned())
        .await
    });
    tracing::info!(url = %base_url, "dev-gateway listening; starting the stack");
    let task = tokio::spawn(supervise_stack(
        config,
        base_url.clone(),
        state,
        shutdown.clone(),
        server,
    ));
    Ok(Gateway {
        address,
        base_url,
        shutdown,
        task,
    })
}

/// Runs the stack until shutdown; tears everything down on the way out.
async fn supervise_stack(
    config: Config,
    base_url: String,
    state: Arc<AppState>,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
) -> Result<(), AppError> {
    let mut tasks = Vec::new();
    let started = tokio::select! {
        started = start_stack(&config, &base_url, &state, &shutdown, &mut tasks) => started,
        () = shutdown.cancelled() => Ok(()),
    };
    if let Err(error) = &started {
        state.set_phase(&format!("failed: {error}"));
        shutdown.cancel();
    } else {
        shutdown.cancelled().await;
    }
    // Stop taking requests (open WebSockets get a grace period), then the pollers and
    // schedules, then the function processes.
    let served = match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(served)) => served.map_err(AppError::Serve),
        Ok(Err(join)) => Err(AppError::Join(join)),
        Err(_) => Ok(()),
    };
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
            abort.abort();
        }
    }
    if let Some(lambda) = state.lambda.get() {
        lambda.stop().await;
    }
    tracing::info!("stopped");
    started.and(served)
}

async fn start_stack(
    config: &Config,
    base_url: &str,
    state: &Arc<AppState>,
    shutdown: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(), AppError> {
    state.set_phase("loading the template");
    let template_error = |source| AppError::Template {
        path: config.template.clone(),
        source,
    };
    let document = Document::from_file(&config.template).map_err(template_error)?;
    let mut overrides: BTreeMap<String, String> = [
        ("AuthIssuer", format!("{base_url}/auth")),
        ("AuthJwksUrl", format!("{base_url}/auth/jwks.json")),
        // The dev gateway does no IAM authorisation (docs/adr/0013-routing-function.md).
        ("RoutingRequireIam", "false".to_owned()),
        // IVR prompts are read by espeak-ng locally (Amazon Polly in AWS; scripts/bootstrap.sh).
        ("TtsEngine", "espeak".to_owned()),
        // The IVR ports of localstack/pbx-sim.yaml (6001/6002 run their own menus, 6101 is
        // driven by the cloud's IVR trees): a call there is in the IVR (REP-11).
        ("CtiIvrDevices", "6001,6002,6101".to_owned()),
        // Participant tokens of the local chat (a fixed, public value: nothing local is secret).
        (
            "ChatTokenSecret",
            "linka-local-chat-participant-secret-0123456789".to_owned(),
        ),
        (
            "ChatWebhookSecret",
            "linka-local-chat-webhook-secret-0123456789abcdef".to_owned(),
        ),
        // The test bots of tests/tests/chat.rs listen on plain HTTP.
        ("ChatAllowHttpWebhooks", "true".to_owned()),
        // Messenger (OMNI-3): fixed local secrets, and the Send API played by this gateway
        // (`/_local/messenger`, src/outbox.rs); scripts/channels.py signs with the same secret.
        (
            "MessengerAppSecret",
            "linka-local-messenger-app-secret".to_owned(),
        ),
        (
            "MessengerVerifyToken",
            "linka-local-verify-token".to_owned(),
        ),
        ("MessengerPageToken", "linka-local-page-token".to_owned()),
        ("MessengerApiUrl", format!("{base_url}/_local/messenger")),
        // The widget may be tried from any local page (nothing local is secret).
        ("WidgetOrigin", "*".to_owned()),
    ]
    .into_iter()
    .filter(|(name, _)| document.parameters.contains_key(*name))
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    overrides.extend(config.parameter_overrides.iter().cloned());
    let mut resolver = Resolver::new(
        &document,
        &ResolverSettings {
            parameter_overrides: overrides,
            local_base_url: base_url.to_owned(),
        },
    )
    .map_err(AppError::Parameters)?;
    let template = Template::from_document(&document, &resolver).map_err(template_error)?;

    state.set_phase("creating resources in the AWS emulator");
    let clients = AwsClients::for_endpoint(&config.aws_endpoint).await;
    clients.wait_until_reachable(EMULATOR_WAIT).await?;
    let provisioned = provision(&template, &clients, &mut resolver).await?;

    state.set_phase("seeding demo users");
    let identities = read_identities(&config.identities)?;
    seed_users(&identities, &clients.dynamodb, &resolver).await?;
    if config.demo_config != Path::new("none") {
        state.set_phase("seeding the demo configuration");
        let demo = read_demo_config(&config.demo_config)?;
        seed_config(&demo, &clients.dynamodb, &resolver).await?;
    }

    state.set_phase("starting the issuer");
    let audience = resolver
        .parameter("AuthAudience")
        .and_then(Value::as_str)
        .unwrap_or("linka-api")
        .to_owned();
    let issuer = Arc::new(Issuer::load_or_create(IssuerConfig {
        state_dir: config.state_dir.clone(),
        identities_path: config.identities.clone(),
        issuer_url: format!("{base_url}/auth"),
        audience,
        allow_password_grant: true,
        token_lifetime: TOKEN_LIFETIME,
    })?);

    state.set_phase("starting functions");
    let functions_dir = absolute(&config.functions_dir);
    let configs = template
        .functions
        .iter()
        .map(|function| {
            let environment = function.resolve_environment(&resolver).map_err(|source| {
                AppError::Environment {
                    function: function.logical_id.clone(),
                    source,
                }
            })?;
            Ok(FunctionConfig::from_spec(
                function,
                &functions_dir,
                environment,
                &config.aws_endpoint,
                config.function_instances,
            ))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let lambda = Arc::new(LambdaService::start(configs, shutdown.clone()).await?);
    let _ = state.lambda.set(lambda.clone());
    let invoker: Arc<dyn Invoke> = lambda.clone();

    state.set_phase("starting event sources and schedules");
    let retry_delay = config.sqs_retry_delay.map(Duration::from_secs);
    for source in template
        .sqs_event_sources
        .iter()
        .filter(|source| source.enabled)
    {
        let queue =
            provisioned
                .queues
                .get(&source.queue)
                .ok_or_else(|| AppError::MissingQueue {
                    source_name: format!("{}/{}", source.function, source.name),
                    queue: source.queue.clone(),
                })?;
        let mapping = SqsMapping::new(source, queue, retry_delay);
        let (sqs, invoker, shutdown, lambda) = (
            clients.sqs.clone(),
            invoker.clone(),
            shutdown.clone(),
            lambda.clone(),
        );
        // Like Lambda, poll only for a function that runs: a missing binary must not push the
        // queue's messages into the dead-letter queue.
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                () = lambda.wait_function_ready(&mapping.function) => {}
                () = shutdown.cancelled() => return,
            }
            let _ = mapping.spawn(sqs, invoker, shutdown).await;
        }));
    }
    let scheduler = Arc::new(Scheduler::new(
        &template.schedules,
        &resolver,
        invoker.clone(),
    )?);
    tasks.extend(scheduler.spawn(shutdown));

    let mut router = http_api::router(
        template.http_routes.clone(),
        invoker.clone(),
        "$default".to_owned(),
        template.http_cors.as_ref(),
    )
    .merge(issuer.router())
    .merge(scheduler.router())
    .merge(local_router(lambda.clone()))
    .merge(Arc::new(crate::outbox::Outbox::new(&config.aws_endpoint)).router());
    if let Some(spec) = template.websocket.clone() {
        router = router.merge(Arc::new(WebSocketGateway::new(spec, invoker.clone())).router());
    }
    let router = router.fallback_service(web_service(&config.web_dir));
    let _ = state.router.set(router);

    state.set_phase("waiting for the functions to start");
    let urls = urls(base_url, config);
    let (announce_state, announce_shutdown) = (state.clone(), shutdown.clone());
    tasks.push(tokio::spawn(async move {
        tokio::select! {
            () = lambda.wait_all_ready() => {
                announce_state.set_phase("ready");
                println!("{urls}");
            }
            () = announce_shutdown.cancelled() => {}
        }
    }));
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

fn urls(base_url: &str, config: &Config) -> String {
    let websocket = base_url.replacen("http://", "ws://", 1);
    format!(
        "\nLinka běží lokálně / Linka is running locally:\n  \
         web app        {base_url}/\n  \
         HTTP API       {base_url}/api\n  \
         WebSocket API  {websocket}/ws?token=<access token>\n  \
         issuer         {base_url}/auth/.well-known/openid-configuration\n  \
         health         {base_url}/api/health\n  \
         AWS emulator   {}\n",
        config.aws_endpoint
    )
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let functions = state
        .lambda
        .get()
        .map(|lambda| lambda.status())
        .unwrap_or_default();
    let ready =
        state.router.get().is_some() && state.lambda.get().is_some_and(|lambda| lambda.is_ready());
    if ready {
        (
            StatusCode::OK,
            Json(json!({"status": "ok", "functions": functions})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "starting", "phase": state.phase(), "functions": functions})),
        )
            .into_response()
    }
}

async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    match state.router.get() {
        Some(router) => match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            Json(json!({"status": "starting", "phase": state.phase()})),
        )
            .into_response(),
    }
}

/// `/_local/functions` (status) and `POST /_local/functions/{id}/invoke` (invoke with the body).
fn local_router(lambda: Arc<LambdaService>) -> Router {
    Router::new()
        .route("/_local/functions", get(functions_status))
        .route("/_local/functions/{function}/invoke", post(invoke_function))
        .with_state(lambda)
}

async fn functions_status(State(lambda): State<Arc<LambdaService>>) -> Json<Value> {
    Json(json!(lambda.status()))
}

async fn invoke_function(
    State(lambda): State<Arc<LambdaService>>,
    UrlPath(function): UrlPath<String>,
    payload: Option<Json<Value>>,
) -> Response {
    let payload = payload.map_or(json!({}), |Json(payload)| payload);
    match lambda.invoke(&function, payload).await {
        Ok(result) => (StatusCode::OK, Json(result)).into_response(),
        Err(error) => {
            let status = match &error {
                crate::model::InvokeError::UnknownFunction(_) => StatusCode::NOT_FOUND,
                crate::model::InvokeError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                crate::model::InvokeError::Failed { .. } => StatusCode::BAD_GATEWAY,
                crate::model::InvokeError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            };
            (status, Json(json!({"errorMessage": error.to_string()}))).into_response()
        }
    }
}

const WEB_NOT_BUILT: &str = r#"<!doctype html>
<html lang="cs">
<head><meta charset="utf-8"><title>Linka – webová aplikace není sestavena</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}code{background:#f2f2f2;padding:.1rem .3rem}</style>
</head>
<body>
<h1>Webová aplikace není sestavena</h1>
<p>Lokální brána Linky běží, ale ve složce <code>web/dist</code> zatím nic není.
Sestavte webovou aplikaci příkazem <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code>
a obnovte stránku.</p>
<p>Mezitím fungují: HTTP API na <code>/api</code>, WebSocket na <code>/ws</code>,
přihlašování na <code>/auth</code> a stav na <code>/api/health</code>.</p>
</body>
</html>
"#;

/// `web_dir` with `index.html` for unknown paths (a single-page app), or a page saying the web
/// app is not built.
fn web_service(web_dir: &Path) -> Router {
    let index = web_dir.join("index.html");
    if index.is_file() {
        Router::new().fallback_service(ServeDir::new(web_dir).fallback(ServeFile::new(index)))
    } else {
        tracing::warn!(dir = %web_dir.display(), "the web app is not built; serving a notice at /");
        Router::new().fallback(|| async { Html(WEB_NOT_BUILT) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{write_fake_function, Moto, ScratchDir};
    use clap::Parser;
    use std::time::Instant;

    #[tokio::test]
    async fn when_the_stack_runs_on_the_project_template_should_serve_and_stop_without_orphans() {
        let moto = Moto::start().await;
        let functions = ScratchDir::new();
        for binary in [
            "http-api",
            "ws-api",
            "broadcast",
            "ws-sweeper",
            "cti-ingest",
            "routing-api",
            "routing-worker",
            "callbacks-api",
            "voicemail-api",
            "desk-api",
            "chat-api",
            "chat-webhook",
            "chat-inbound",
            "chat-outbound",
            "chat-distributor",
        ] {
            write_fake_function(&functions.path, binary);
        }
        let state = ScratchDir::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let arg = |path: &Path| path.display().to_string();
        let config = Config::try_parse_from([
            "dev-gateway".to_owned(),
            "--port=0".to_owned(),
            format!("--template={}", arg(&root.join("infra/template.yaml"))),
            format!("--aws-endpoint={}", moto.endpoint()),
            format!("--functions-dir={}", arg(&functions.path)),
            format!("--web-dir={}", arg(&state.path.join("no-web"))),
            format!("--state-dir={}", arg(&state.path)),
            format!(
                "--identities={}",
                arg(&root.join("localstack/identities.json"))
            ),
            format!(
                "--demo-config={}",
                arg(&root.join("localstack/demo-config.json"))
            ),
            "--sqs-retry-delay=1".to_owned(),
            "--function-instances=1".to_owned(),
        ])
        .unwrap();
        let gateway = start(config).await.unwrap();
        let base = gateway.base_url().to_owned();
        let client = reqwest::Client::new();

        let started = Instant::now();
        let health = loop {
            let response = client
                .get(format!("{base}/api/health"))
                .send()
                .await
                .unwrap();
            if response.status() == StatusCode::OK {
                break response.json::<Value>().await.unwrap();
            }
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never became healthy"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(health["status"], "ok");
        assert_eq!(health["functions"].as_object().unwrap().len(), 15);

        let fired: Value = client
            .post(format!("{base}/_local/schedules/WsSweeperFunction/fire"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(fired["echo"], json!({}));
        assert_eq!(fired["env"], "");
        let sweeper_pid = fired["pid"].as_u64().unwrap();

        let page = client
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Webová aplikace není sestavena"));
        let discovery = client
            .get(format!("{base}/auth/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(discovery.status(), StatusCode::OK);

        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        let queue_url = clients
            .sqs
            .get_queue_url()
            .queue_name("linka-BroadcastQueue")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        clients
            .sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(r#"{"text":"Dobrý den"}"#)
            .send()
            .await
            .unwrap();
        let started = Instant::now();
        loop {
            let status: Value = client
                .get(format!("{base}/_local/functions"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if status["BroadcastFunction"]["invocations"].as_u64() >= Some(1) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the broadcast was never consumed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        gateway.stop().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stat = std::fs::read_to_string(format!("/proc/{sweeper_pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "function process {sweeper_pid} survived"
        );
    }

    #[tokio::test]
    async fn when_the_web_app_is_built_should_serve_its_files_and_index_for_app_routes() {
        use axum::body::Body;
        let web = ScratchDir::new();
        std::fs::write(
            web.path.join("index.html"),
            "<!doctype html><title>Linka</title>",
        )
        .unwrap();
        std::fs::create_dir_all(web.path.join("assets")).unwrap();
        std::fs::write(web.path.join("assets/app.js"), "console.log(1)").unwrap();
        let service = web_service(&web.path);
        let get = |path: &str| {
            let service = service.clone();
            let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
            async move {
                let response = service.oneshot(request).await.unwrap();
                let status = response.status();
                let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                    .await
                    .unwrap();
                (status, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        assert_eq!(
            get("/assets/app.js").await,
            (StatusCode::OK, "console.log(1)".to_owned())
        );
        let (status, body) = get("/supervisor/queues").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<title>Linka</title>"));

        let missing = ScratchDir::new();
        let (status, body) = {
            let response = web_service(&missing.path.join("dist"))
                .oneshot(axum::http::Request::get("/").body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        };
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("lang=\"cs\""));
    }

    #[test]
    fn when_parsing_flags_should_default_like_the_brief_and_read_overrides() {
        let config = Config::try_parse_from([
            "dev-gateway",
            "--parameter-overrides",
            "Stage=test",
            "DomainName=",
            "--sqs-retry-delay",
            "1",
        ])
        .unwrap();
        // Flags also come from the environment (scripts/test.sh sets LINKA_PORT).
        let expected_port = std::env::var("LINKA_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(8080);
        assert_eq!(config.port, expected_port);
        assert_eq!(config.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(config.template, PathBuf::from("infra/template.yaml"));
        assert_eq!(config.function_instances, 2);
        assert_eq!(config.sqs_retry_delay, Some(1));
        assert_eq!(
            config.parameter_overrides,
            vec![
                ("Stage".to_owned(), "test".to_owned()),
                ("DomainName".to_owned(), String::new())
            ]
        );
        assert!(
            Config::try_parse_from(["dev-gateway", "--parameter-overrides", "NoEquals"]).is_err()
        );
    }
}
