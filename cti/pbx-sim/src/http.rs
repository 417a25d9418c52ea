//! HTTP control API (axum). Bodies are JSON (the `Content-Type` is not checked; an empty body
//! means "all defaults" where a body is optional). `POST /scenario` also takes YAML.
//! Errors: `{"error": "..."}` with 400 (bad body / missing field), 404 (unknown device, call,
//! cross-ref or client) or 409 (wrong state, invalid destination, licence limit).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use csta::types::AgentState;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::pbx::{ClientId, ErrorFault, OpError, Timer};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::traffic::{TrafficError, TrafficProfile};
use crate::Sim;

/// API errors.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The PBX refused the operation.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The request body is not valid.
    #[error("invalid request body: {0}")]
    Body(#[from] serde_json::Error),
    /// Invalid traffic profile.
    #[error(transparent)]
    Traffic(#[from] TrafficError),
    /// Scenario failure.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Op(
                OpError::UnknownDevice(_)
                | OpError::UnknownCall(_)
                | OpError::UnknownConnection { .. }
                | OpError::UnknownCrossRef(_)
                | OpError::UnknownClient(_),
            ) => StatusCode::NOT_FOUND,
            Self::Op(OpError::Missing(_)) | Self::Body(_) | Self::Traffic(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Scenario(ScenarioError::Json(_) | ScenarioError::Yaml(_)) => {
                StatusCode::BAD_REQUEST
            }
            Self::Scenario(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Op(_) => StatusCode::CONFLICT,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    Ok(serde_json::from_slice(bytes)?)
}

fn required<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    Ok(serde_json::from_slice(bytes)?)
}

/// The router.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/state", get(state))
        .route("/devices", get(devices))
        .route("/calls", get(calls).post(inbound_call))
        .route("/calls/{id}", get(call))
        .route("/calls/{id}/answer", post(answer_call))
        .route("/calls/{id}/hangup", post(hangup))
        .route("/calls/{id}/dtmf", post(dtmf))
        .route("/recordings/{id}", get(recording))
        .route("/calls/{id}/hold", post(hold))
        .route("/calls/{id}/retrieve", post(retrieve))
        .route("/calls/{id}/consult", post(consult))
        .route("/calls/{id}/single-step-transfer", post(sst))
        .route("/calls/{id}/deflect", post(deflect))
        .route("/make-call", post(make_call))
        .route("/devices/{id}/answer", post(answer_device))
        .route("/devices/{id}/transfer", post(transfer))
        .route("/devices/{id}/conference", post(conference))
        .route("/devices/{id}/agent-state", post(agent_state))
        .route("/silent-monitor", post(silent_monitor))
        .route("/monitors", get(monitors))
        .route("/sessions", get(sessions))
        .route("/log", get(log))
        .route("/counters", get(counters))
        .route("/scenario", post(run_scenario))
        .route("/traffic", get(traffic_status))
        .route("/traffic/start", post(traffic_start))
        .route("/traffic/stop", post(traffic_stop))
        .route("/auto-answer", post(auto_answer))
        .route("/system-status", post(system_status))
        .route("/faults/drop-link", post(drop_link))
        .route("/faults/expire-session", post(expire_session))
        .route("/faults/error-next", post(error_next))
        .route("/faults/monitor-limit", post(monitor_limit))
        .with_state(sim)
}

async fn state(State(sim): State<Sim>) -> Json<Value> {
    Json(sim.read(|p| p.state()))
}

async fn devices(State(sim): State<Sim>) -> Json<Value> {
    Json(json!(sim.read(|p| p.devices_view())))
}

async fn calls(State(sim): State<Sim>) -> Json<Value> {
    Json(json!(sim.read(|p| json!(p.calls()))))
}

async fn call(State(sim): State<Sim>, Path(id): Path<String>) -> ApiResult {
    sim.read(|p| p.call(&id).map(|c| json!(c)))
        .map(Json)
        .ok_or(ApiError::Op(OpError::UnknownCall(id)))
}

/// A recording made by RecordMessage on an IVR port, as `audio/wav`.
async fn recording(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    match sim.read(|p| p.recording(&id).map(|r| r.wav.clone())) {
        Some(wav) => ([(axum::http::header::CONTENT_TYPE, "audio/wav")], wav).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("unknown recording {id}") })),
        )
            .into_response(),
    }
}

async fn monitors(State(sim): State<Sim>) -> Json<Value> {
    Json(sim.read(|p| json!(p.monitors())))
}

async fn sessions(State(sim): State<Sim>) -> Json<Value> {
    Json(json!(sim.read(|p| p.sessions_view())))
}

async fn counters(State(sim): State<Sim>) -> Json<Value> {
    Json(sim.read(|p| json!(p.counters())))
}

#[derive(Deserialize)]
struct LogQuery {
    #[serde(default)]
    since: u64,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    direction: Option<String>,
}

async fn log(State(sim): State<Sim>, Query(q): Query<LogQuery>) -> Json<Value> {
    let limit = q.limit.unwrap_or(10_000);
    let (entries, last) = sim.read(|p| {
        (
            p.log_since(q.since, q.direction.as_deref(), limit),
            p.log_seq(),
        )
    });
    Json(json!({ "last_seq": last, "count": entries.len(), "entries": entries }))
}

#[derive(Deserialize)]
struct NewCall {
    from: String,
    to: String,
}

async fn inbound_call(
    State(sim): State<Sim>,
    b: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let r: NewCall = required(&b)?;
    let id = sim.with(|p| p.inbound_call(&r.from, &r.to, None))?;
    Ok((StatusCode::CREATED, Json(json!({ "call_id": id }))))
}

async fn make_call(
    State(sim): State<Sim>,
    b: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let r: NewCall = required(&b)?;
    let id = sim.with(|p| p.make_call(&r.from, &r.to))?;
    Ok((StatusCode::CREATED, Json(json!({ "call_id": id }))))
}

#[derive(Deserialize, Default)]
struct PartyBody {
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    after_ms: Option<u64>,
}

async fn answer_call(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: PartyBody = body(&b)?;
    sim.with(|p| {
        let device = match r.device {
            Some(d) => d,
            None => p
                .call(&id)
                .ok_or_else(|| OpError::UnknownCall(id.clone()))?
                .connections
                .iter()
                .find(|c| c.state == csta::types::LocalConnectionState::Alerting)
                .map(|c| c.device.clone())
                .ok_or_else(|| OpError::InvalidState(format!("nothing alerting in {id}")))?,
        };
        match r.after_ms {
            Some(ms) => {
                p.require_call(&id)?;
                p.schedule(ms, Timer::Answer { device });
                Ok(())
            }
            None => p.answer(&id, &device),
        }
    })?;
    Ok(Json(json!({ "call_id": id })))
}

async fn answer_device(State(sim): State<Sim>, Path(device): Path<String>, b: Bytes) -> ApiResult {
    let r: PartyBody = body(&b)?;
    match r.after_ms {
        Some(ms) => {
            sim.with(|p| {
                p.schedule(
                    ms,
                    Timer::Answer {
                        device: device.clone(),
                    },
                )
            });
            Ok(Json(json!({ "scheduled_ms": ms })))
        }
        None => {
            let id = sim.with(|p| p.answer_device(&device))?;
            Ok(Json(json!({ "call_id": id })))
        }
    }
}

async fn hangup(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: PartyBody = body(&b)?;
    match r.after_ms {
        Some(ms) => sim.with(|p| {
            p.schedule(
                ms,
                Timer::Hangup {
                    call: id.clone(),
                    device: r.device.filter(|d| d != "caller"),
                },
            )
        }),
        None => sim.with(|p| {
            let d = scenario::party(p, &id, r.device.as_deref())?;
            p.clear_connection(&id, &d)
        })?,
    }
    Ok(Json(json!({ "call_id": id })))
}

#[derive(Deserialize)]
struct Dtmf {
    digits: String,
    #[serde(default)]
    device: Option<String>,
}

async fn dtmf(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: Dtmf = required(&b)?;
    sim.with(|p| {
        let d = scenario::party(p, &id, r.device.as_deref())?;
        p.generate_digits(&id, &d, &r.digits)
    })?;
    Ok(Json(json!({ "call_id": id })))
}

#[derive(Deserialize)]
struct DeviceBody {
    device: String,
}

async fn hold(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: DeviceBody = required(&b)?;
    sim.with(|p| p.hold(&id, &r.device))?;
    Ok(Json(json!({ "call_id": id })))
}

async fn retrieve(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: DeviceBody = required(&b)?;
    sim.with(|p| p.retrieve(&id, &r.device))?;
    Ok(Json(json!({ "call_id": id })))
}

#[derive(Deserialize)]
struct DeviceTo {
    device: String,
    to: String,
}

async fn consult(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: DeviceTo = required(&b)?;
    let new = sim.with(|p| p.consult(&id, &r.device, &r.to))?;
    Ok(Json(json!({ "call_id": new, "held_call_id": id })))
}

async fn sst(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: DeviceTo = required(&b)?;
    sim.with(|p| p.single_step_transfer(&id, &r.device, &r.to))?;
    Ok(Json(json!({ "call_id": id })))
}

async fn deflect(State(sim): State<Sim>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let r: DeviceTo = required(&b)?;
    sim.with(|p| p.deflect(&id, &r.device, &r.to))?;
    Ok(Json(json!({ "call_id": id })))
}

async fn transfer(State(sim): State<Sim>, Path(device): Path<String>) -> ApiResult {
    let (call, list) = sim.with(|p| {
        let (h, a) = p.held_and_active(&device)?;
        p.transfer(&device, &h, &a)
    })?;
    Ok(Json(json!({ "call_id": call, "connections": list })))
}

async fn conference(State(sim): State<Sim>, Path(device): Path<String>) -> ApiResult {
    let (call, list) = sim.with(|p| {
        let (h, a) = p.held_and_active(&device)?;
        p.conference(&device, &h, &a)
    })?;
    Ok(Json(json!({ "call_id": call, "connections": list })))
}

#[derive(Deserialize)]
struct AgentStateBody {
    state: String,
    #[serde(default)]
    agent_id: Option<String>,
}

async fn agent_state(State(sim): State<Sim>, Path(device): Path<String>, b: Bytes) -> ApiResult {
    let r: AgentStateBody = required(&b)?;
    let st = AgentState::from_text(&r.state);
    sim.with(|p| p.set_agent_state(&device, &st, r.agent_id.as_deref()))?;
    Ok(Json(json!({ "device": device, "state": r.state })))
}

#[derive(Deserialize)]
struct SilentMonitor {
    supervisor: String,
    agent: String,
}

async fn silent_monitor(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let r: SilentMonitor = required(&b)?;
    let call = sim.with(|p| p.silent_monitor(&r.supervisor, &r.agent))?;
    Ok(Json(json!({ "call_id": call })))
}

#[derive(Deserialize)]
struct ScenarioQuery {
    #[serde(default)]
    wait: Option<bool>,
}

async fn run_scenario(
    State(sim): State<Sim>,
    Query(q): Query<ScenarioQuery>,
    b: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let text = String::from_utf8_lossy(&b);
    let s = Scenario::parse(&text)?;
    if q.wait == Some(false) {
        tokio::spawn(async move {
            if let Err(e) = scenario::run(&sim, &s).await {
                tracing::warn!(error = %e, "scenario failed");
            }
        });
        return Ok((StatusCode::ACCEPTED, Json(json!({ "accepted": true }))));
    }
    let report = scenario::run(&sim, &s).await?;
    Ok((StatusCode::OK, Json(json!(report))))
}

async fn traffic_status(State(sim): State<Sim>) -> Json<Value> {
    Json(json!(sim.traffic_status()))
}

async fn traffic_start(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let profile: Option<TrafficProfile> = if b.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&b)?)
    };
    sim.start_traffic(profile)?;
    Ok(Json(json!(sim.traffic_status())))
}

async fn traffic_stop(State(sim): State<Sim>) -> Json<Value> {
    let stopped = sim.stop_traffic();
    Json(json!({ "stopped": stopped, "status": sim.traffic_status() }))
}

#[derive(Deserialize, Default)]
struct AutoAnswer {
    #[serde(default)]
    ms: Option<u64>,
}

async fn auto_answer(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let r: AutoAnswer = body(&b)?;
    sim.with(|p| p.set_auto_answer(r.ms));
    Ok(Json(json!({ "auto_answer_ms": r.ms })))
}

#[derive(Deserialize, Default)]
struct SystemStatusBody {
    #[serde(default)]
    status: Option<String>,
}

async fn system_status(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let r: SystemStatusBody = body(&b)?;
    let status = r.status.unwrap_or_else(|| "normal".into());
    sim.with(|p| p.broadcast_system_status(&status));
    Ok(Json(json!({ "status": status })))
}

#[derive(Deserialize, Default)]
struct ClientBody {
    #[serde(default)]
    client: Option<ClientId>,
}

async fn drop_link(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let r: ClientBody = body(&b)?;
    let dropped = sim.with(|p| p.drop_links(r.client));
    if let (Some(c), true) = (r.client, dropped.is_empty()) {
        return Err(OpError::UnknownClient(c).into());
    }
    Ok(Json(json!({ "dropped": dropped })))
}

async fn expire_session(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let r: ClientBody = body(&b)?;
    let expired = sim.with(|p| p.expire_sessions(r.client));
    if let (Some(c), true) = (r.client, expired.is_empty()) {
        return Err(OpError::UnknownClient(c).into());
    }
    Ok(Json(json!({ "expired": expired })))
}

async fn error_next(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let f: ErrorFault = required(&b)?;
    sim.with(|p| p.inject_error(f.clone()));
    Ok(Json(json!(f)))
}

#[derive(Deserialize, Default)]
struct Limit {
    #[serde(default)]
    limit: Option<usize>,
}

async fn monitor_limit(State(sim): State<Sim>, b: Bytes) -> ApiResult {
    let r: Limit = body(&b)?;
    sim.with(|p| p.set_monitor_limit(r.limit));
    Ok(Json(json!({ "monitor_limit": r.limit })))
}
