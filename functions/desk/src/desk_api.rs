//! `/api/desk…` (issue 6): the signed-in agent's own desk — presence and breaks (DESK-8),
//! queues logged in or out (DESK-3), the calls at the agent's phone with call control (IN-3,
//! IN-19, IN-20, DESK-1), dialling, the transfer panel with live presence and favourites
//! (DESK-9), and the call categories an agent may pick (DESK-10).
//!
//! Nothing here changes call or agent state directly: buttons become CTI commands for the
//! agent's own device on the relay's command queue, and the PBX's events (through
//! cti-ingest) change the state the desk then shows (pushed over the WebSocket). Queue
//! log-in/out is Linka's own state (`AgentDeskTable`), honoured by routing at once.
//!
//! Every change is audited (`desk.update` with the action); reads are not (the desk re-reads
//! itself on every push).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::{
    http::{Method, StatusCode},
    Body, Request, Response,
};
use linka_shared::{
    admin_config::{BreakCode, CallCategory, ConfigEntity, TransferGroup, TransferLine},
    audit::{AuditAction, AuditRecord},
    auth::{JwksSource, Principal, Role, TokenValidator},
    authz::Permission,
    cti_state::{AgentPresence, AgentState},
    desk::{
        command_for, desk_calls_of, dialable, phone_switch, validate_favourites, ActionBody,
        AgentDesk, CallTarget, DeskAction, DeskActionError, DeskCall, PhoneKind, PhoneSwitchError,
    },
    paging::PageCursor,
    ports::{
        AgentDeskStore, AgentPresences, AuditLog, DeskWriteError, RoutingSignals,
        RoutingStateStore, UserDirectory, Versioned,
    },
    presence::{presence_of, PanelPresence},
    problem::{FieldError, Problem},
    routing_live::{agent_runtimes, WrapUp, WrapUpError},
    telemetry::ErrorChain,
    users::{MobilePhone, PageLimit, User},
};
use routing::{
    http_common::{
        audit_context, authenticate, body, internal, json, problem_response, request_path,
        router_failure, store_failure, Operation,
    },
    router::{command_for as timed_command, Router, RouterError, RoutingConfig},
};
use serde::{Deserialize, Serialize};

use cti_events::{CommandAction, RequestedAgentState};

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/desk"),
    ("PUT", "/api/desk/presence"),
    ("PUT", "/api/desk/phone"),
    ("PUT", "/api/desk/queues/{queueId}"),
    ("POST", "/api/desk/calls/{relayId}/{callId}/{action}"),
    ("POST", "/api/desk/dial"),
    ("GET", "/api/desk/directory"),
    ("PUT", "/api/desk/favourites"),
    ("GET", "/api/desk/categories"),
    ("POST", "/api/desk/wrap-up/extend"),
    ("POST", "/api/desk/wrap-up/end"),
];

/// The most one request may extend a wrap-up by (the queue's limit applies on top).
pub const MAX_WRAP_UP_EXTENSION_SECONDS: u32 = 3600;

/// Writes of the agent's desk settings retried after a concurrent change.
const SAVE_ATTEMPTS: usize = 3;

/// What the handler needs.
pub struct DeskDeps<J, S, U, G, A> {
    pub validator: TokenValidator<J>,
    /// Configuration (queues, members, devices, agents' numbers), live routing state (agent
    /// items, reservations, waiting calls) and the command queue.
    pub router: Router<S, U, G>,
    pub desks: Arc<dyn AgentDeskStore>,
    /// Every agent item with its calls (the transfer panel's presence).
    pub presences: Arc<dyn AgentPresences>,
    pub audit: A,
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Desk,
    Presence,
    /// Take calls on the desk phone or the mobile (DESK-2).
    Phone,
    Queue(String),
    Call {
        relay_id: String,
        call_id: String,
        action: DeskAction,
    },
    Dial,
    Directory,
    Favourites,
    Categories,
    /// Extend the wrap-up (IN-18), within the queue's limit.
    WrapUpExtend,
    /// End the wrap-up now.
    WrapUpEnd,
}

impl Route {
    fn name(&self) -> &'static str {
        match self {
            Self::Desk => "read",
            Self::Presence => "presence",
            Self::Phone => "phone",
            Self::Queue(_) => "queue",
            Self::Call { action, .. } => action.as_str(),
            Self::Dial => "dial",
            Self::Directory => "directory",
            Self::Favourites => "favourites",
            Self::Categories => "categories",
            Self::WrapUpExtend => "wrap-up-extend",
            Self::WrapUpEnd => "wrap-up-end",
        }
    }
}

type Resolution = routing::http_common::Resolution<Route>;

fn resolve(method: &Method, path: &str) -> Resolution {
    let Some(segments) = routing::http_common::segments_under(path, "/api/desk") else {
        return Resolution::NotFound;
    };
    let only = |allowed: &'static str, wanted: Method, route: Route| {
        if method == wanted {
            Resolution::Found(route)
        } else {
            Resolution::MethodNotAllowed(allowed)
        }
    };
    match segments.as_slice() {
        [] => only("GET", Method::GET, Route::Desk),
        ["presence"] => only("PUT", Method::PUT, Route::Presence),
        ["phone"] => only("PUT", Method::PUT, Route::Phone),
        ["queues", queue_id] => only("PUT", Method::PUT, Route::Queue((*queue_id).to_owned())),
        ["calls", relay_id, call_id, action] => match DeskAction::parse(action) {
            Some(action) => only(
                "POST",
                Method::POST,
                Route::Call {
                    relay_id: (*relay_id).to_owned(),
                    call_id: (*call_id).to_owned(),
                    action,
                },
            ),
            None => Resolution::NotFound,
        },
        ["dial"] => only("POST", Method::POST, Route::Dial),
        ["directory"] => only("GET", Method::GET, Route::Directory),
        ["favourites"] => only("PUT", Method::PUT, Route::Favourites),
        ["categories"] => only("GET", Method::GET, Route::Categories),
        ["wrap-up", "extend"] => only("POST", Method::POST, Route::WrapUpExtend),
        ["wrap-up", "end"] => only("POST", Method::POST, Route::WrapUpEnd),
        _ => Resolution::NotFound,
    }
}

/// True when this module serves `method path`.
pub fn handles(method: &Method, path: &str) -> bool {
    !matches!(resolve(method, path), Resolution::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PresenceView {
    state: AgentState,
    break_code: Option<String>,
    since: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueView {
    queue_id: String,
    name: String,
    logged_in: bool,
    locked: bool,
    waiting: usize,
    open_now: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BreakView {
    code: String,
    name: String,
    kind: linka_shared::admin_config::BreakKind,
    max_minutes: Option<u16>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeskView {
    username: String,
    display_name: String,
    device: Option<String>,
    presence: PresenceView,
    wrap_up: Option<WrapUp>,
    queues: Vec<QueueView>,
    break_codes: Vec<BreakView>,
    calls: Vec<DeskCall>,
    phone: PhoneView,
}

/// The phones the agent can take calls on and the one in use (DESK-2).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhoneView {
    using: PhoneKind,
    /// The desk phone's extension (the agent number).
    desk: Option<String>,
    mobile: Option<MobilePhone>,
}

impl PhoneView {
    fn of(seat: &Seat) -> Self {
        Self {
            using: seat.phone_kind(),
            desk: seat.user.agent_number.clone(),
            mobile: seat.user.mobile.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CommandAccepted {
    command_id: String,
    requested: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryAgent {
    username: String,
    display_name: String,
    device: Option<String>,
    roles: Vec<String>,
    groups: Vec<String>,
    presence: PanelPresence,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryView {
    groups: Vec<TransferGroup>,
    favourites: Vec<String>,
    agents: Vec<DirectoryAgent>,
    lines: Vec<TransferLine>,
}

#[derive(Debug, Serialize)]
struct ItemsView<T> {
    items: Vec<T>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FavouritesView {
    favourites: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum WantedState {
    Ready,
    NotReady,
    LoggedOn,
    LoggedOff,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PresenceBody {
    state: WantedState,
    #[serde(default)]
    break_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PhoneBody {
    phone: PhoneKind,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueueBody {
    logged_in: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DialBody {
    number: String,
    #[serde(default)]
    client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FavouritesBody {
    favourites: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

/// Serves a request of this module. Never fails: failures are problem responses.
pub async fn handle<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: Request,
) -> Response<Body>
where
    J: JwksSource,
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
    A: AuditLog,
{
    let route = match resolve(request.method(), &request_path(&request)).into_route() {
        Ok(route) => route,
        Err(response) => return response,
    };
    let principal = match authenticate(&deps.validator, &request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let context = audit_context(&principal, &request);
    let response = serve(deps, &request, &route, &principal)
        .await
        .unwrap_or_else(problem_response);
    if request.method() == Method::GET {
        return response;
    }
    let mut record = AuditRecord::new(
        &context,
        AuditAction::DeskUpdate,
        None,
        response.status().as_u16(),
        Utc::now(),
    );
    record
        .details
        .insert("action".to_owned(), route.name().to_owned());
    if let Route::Queue(queue_id) = &route {
        record
            .details
            .insert("queueId".to_owned(), queue_id.clone());
    }
    if let Route::Call {
        relay_id, call_id, ..
    } = &route
    {
        record
            .details
            .insert("callId".to_owned(), format!("{relay_id}/{call_id}"));
    }
    match deps.audit.record(&record).await {
        Ok(()) => response,
        Err(error) => {
            // The command may already be on its way: the audit failure must not hide that.
            tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to write an audit record of a desk action");
            response
        }
    }
}

/// The agent's user record and where they sit (also read by `crate::stats_api`).
pub(crate) struct Seat {
    pub(crate) user: User,
    /// The extension the agent is at (logged on there, else their agent number).
    pub(crate) device: Option<String>,
    /// The agent item of that device (with its calls).
    pub(crate) presence: Option<AgentPresence>,
}

impl Seat {
    /// Whether the agent takes calls on their mobile extension now (DESK-2).
    fn phone_kind(&self) -> PhoneKind {
        let mobile = self
            .user
            .mobile
            .as_ref()
            .map(|mobile| mobile.device.as_str());
        if mobile.is_some() && self.device.as_deref() == mobile {
            PhoneKind::Mobile
        } else {
            PhoneKind::Desk
        }
    }
}

async fn serve<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    route: &Route,
    principal: &Principal,
) -> Operation
where
    J: JwksSource,
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
    A: AuditLog,
{
    principal
        .require(Permission::WorkAtDesk)
        .map_err(|forbidden| Problem::forbidden("forbidden", forbidden.to_string()))?;
    let now = Utc::now();
    let config = deps
        .router
        .routing_config()
        .await
        .map_err(|error| router_failure("read the configuration", error))?;
    match route {
        Route::Categories => return categories(deps).await,
        Route::Directory => return directory(deps, &config, &principal.username, now).await,
        Route::Favourites => return favourites(deps, request, &principal.username).await,
        _ => {}
    }
    let seat = seat(deps, &config, &principal.username, now).await?;
    match route {
        Route::Desk => desk(deps, &config, &seat, now).await,
        Route::Presence => presence(deps, request, &seat, now).await,
        Route::Phone => phone(deps, request, &seat, now).await,
        Route::Queue(queue_id) => {
            // A lock or a removal must hold the moment the administrator saves it, whichever
            // instance (with whatever cache age) serves this request: read the members afresh.
            let fresh = deps
                .router
                .load_config()
                .await
                .map_err(|error| router_failure("read the queue memberships", error))?;
            queue(deps, request, &fresh, &seat, queue_id, now).await
        }
        Route::Call {
            relay_id,
            call_id,
            action,
        } => {
            call_action(
                deps, request, &config, &seat, relay_id, call_id, *action, now,
            )
            .await
        }
        Route::Dial => dial(deps, request, &seat, now).await,
        Route::WrapUpExtend | Route::WrapUpEnd => {
            wrap_up(deps, request, &seat.user.username, route, now).await
        }
        Route::Categories | Route::Directory | Route::Favourites => Err(Problem::not_found(
            "route-not-found",
            "There is no such route.",
        )),
    }
}

/// Where `username` sits: the device routing would use (logged on there), else the agent number.
pub(crate) async fn seat<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    config: &RoutingConfig,
    username: &str,
    now: DateTime<Utc>,
) -> Result<Seat, Problem>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let user = deps
        .router
        .users
        .get(username)
        .await
        .map_err(|error| store_failure("read the user", error))?
        .filter(|user| user.active)
        .ok_or_else(|| {
            Problem::forbidden(
                "no-user-account",
                "Your account is not in the user directory (or is inactive).",
            )
        })?;
    let Some(number) = user.agent_number.clone() else {
        return Ok(Seat {
            user,
            device: None,
            presence: None,
        });
    };
    // Usually the agent is logged on at the extension of their own number: one read.
    let own = deps
        .router
        .state
        .agent_presence(&number)
        .await
        .map_err(|error| store_failure("read the agent's state", error))?;
    if let Some(presence) = own.filter(|presence| {
        presence.state != AgentState::LoggedOff
            && presence.agent_id.as_deref().is_none_or(|id| id == number)
    }) {
        return Ok(Seat {
            user,
            device: Some(number),
            presence: Some(presence),
        });
    }
    let presences = deps
        .router
        .state
        .agent_presences()
        .await
        .map_err(|error| store_failure("read agent states", error))?;
    let runtimes = agent_runtimes(&presences, &config.identities, &[], &[], now);
    let device = runtimes
        .iter()
        .find(|agent| agent.username == username)
        .map_or(number, |agent| agent.device.clone());
    let presence = deps
        .router
        .state
        .agent_presence(&device)
        .await
        .map_err(|error| store_failure("read the agent's state", error))?;
    Ok(Seat {
        user,
        device: Some(device),
        presence,
    })
}

fn no_phone() -> Problem {
    Problem::conflict(
        "no-phone",
        "You have no phone extension (agent number) assigned; ask an administrator.",
    )
}

async fn agent_desk(
    desks: &dyn AgentDeskStore,
    username: &str,
) -> Result<Versioned<AgentDesk>, Problem> {
    Ok(desks
        .get(username)
        .await
        .map_err(|error| store_failure("read the agent's desk", error))?
        .unwrap_or_else(|| Versioned {
            value: AgentDesk::new(username),
            version: 0,
        }))
}

/// Reads, changes and stores the agent's desk settings, again after a concurrent change.
async fn update_desk(
    desks: &dyn AgentDeskStore,
    username: &str,
    change: impl Fn(&mut AgentDesk),
) -> Result<AgentDesk, Problem> {
    for _ in 0..SAVE_ATTEMPTS {
        let mut desk = agent_desk(desks, username).await?;
        change(&mut desk.value);
        desk.value.updated_at = Some(Utc::now());
        match desks.save(&desk).await {
            Ok(()) => return Ok(desk.value),
            Err(DeskWriteError::Conflict) => continue,
            Err(DeskWriteError::Store(error)) => {
                return Err(store_failure("store the agent's desk", error))
            }
        }
    }
    Err(Problem::conflict(
        "desk-changed",
        "Your desk settings changed at the same moment elsewhere; try again.",
    ))
}

async fn list_config<T: ConfigEntity + serde::de::DeserializeOwned, S, U, G>(
    router: &Router<S, U, G>,
) -> Result<Vec<T>, Problem>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let documents = router
        .list_all(T::COLLECTION)
        .await
        .map_err(|error| router_failure("read the configuration", error))?;
    Ok(documents
        .into_iter()
        .filter_map(|document| serde_json::from_value::<T>(document).ok())
        .collect())
}

async fn desk<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    config: &RoutingConfig,
    seat: &Seat,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let username = seat.user.username.as_str();
    let (settings, waiting, reservation, break_codes) = tokio::try_join!(
        agent_desk(deps.desks.as_ref(), username),
        async {
            deps.router
                .state
                .waiting_calls()
                .await
                .map_err(|error| store_failure("read the waiting calls", error))
        },
        async {
            deps.router
                .state
                .reservation(username)
                .await
                .map_err(|error| store_failure("read the agent's reservation", error))
        },
        list_config::<BreakCode, S, U, G>(&deps.router),
    )?;
    let mut waiting_by_queue: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &waiting {
        if call.offered_to.is_none() {
            *waiting_by_queue.entry(call.queue_id.as_str()).or_default() += 1;
        }
    }
    let queues = config
        .queues
        .iter()
        .filter_map(|queue| {
            let member = queue.members.iter().find(|m| m.username == username)?;
            Some(QueueView {
                queue_id: queue.config.queue_id.clone(),
                name: queue.config.name.clone(),
                logged_in: settings.value.is_logged_in(&queue.config.queue_id),
                locked: member.locked,
                waiting: waiting_by_queue
                    .get(queue.config.queue_id.as_str())
                    .copied()
                    .unwrap_or_default(),
                open_now: queue.config.schedule.is_open(now),
            })
        })
        .collect();
    let calls = seat
        .presence
        .as_ref()
        .map(|presence| desk_calls_of(presence, now))
        .unwrap_or_default();
    let presence = seat.presence.as_ref().map_or(
        PresenceView {
            state: AgentState::LoggedOff,
            break_code: None,
            since: None,
        },
        |presence| PresenceView {
            state: presence.state,
            break_code: presence.reason_code.clone(),
            since: presence.since,
        },
    );
    // After an answered call routing keeps the agent reserved until the queue's wrap-up ends.
    let wrap_up = reservation.filter(|_| calls.is_empty()).and_then(|r| {
        let limit = config
            .queues
            .iter()
            .find(|queue| queue.id() == r.queue_id)
            .and_then(|queue| queue.routing.max_wrap_up_seconds);
        let device_since = seat
            .presence
            .as_ref()
            .filter(|presence| presence.device == r.device)
            .and_then(|presence| presence.since);
        r.wrap_up(device_since, limit, now)
    });
    let view = DeskView {
        username: username.to_owned(),
        display_name: seat.user.display_name.clone(),
        device: seat.device.clone(),
        presence,
        wrap_up,
        queues,
        phone: PhoneView::of(seat),
        break_codes: break_codes
            .into_iter()
            .filter(|code| code.active)
            .map(|code| BreakView {
                code: code.code,
                name: code.name,
                kind: code.kind,
                max_minutes: code.max_minutes,
            })
            .collect(),
        calls,
    };
    json(StatusCode::OK, &view)
}

/// `PUT /api/desk/phone`: take calls on the desk phone or on the mobile (DESK-2). The ACD agent
/// moves between the two devices in the state they are in ([`phone_switch`]).
async fn phone<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    seat: &Seat,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let wanted: PhoneBody = required(request)?;
    let agent_id = seat.user.agent_number.clone().ok_or_else(no_phone)?;
    let target = match wanted.phone {
        PhoneKind::Desk => agent_id.clone(),
        PhoneKind::Mobile => seat
            .user
            .mobile
            .as_ref()
            .map(|mobile| mobile.device.clone())
            .ok_or_else(|| phone_problem(&PhoneSwitchError::NoMobile))?,
    };
    let current = seat.device.clone().unwrap_or_else(|| agent_id.clone());
    let commands = phone_switch(&agent_id, seat.presence.as_ref(), &current, &target, now)
        .map_err(|error| phone_problem(&error))?;
    let mut answer = None;
    for command in commands {
        answer = Some(send(&deps.router, command, "phone", now).await?);
    }
    // `phone_switch` always ends with the log-on at the target.
    answer.ok_or_else(Problem::internal)
}

fn phone_problem(error: &PhoneSwitchError) -> Problem {
    match error {
        PhoneSwitchError::NoMobile => Problem::conflict("no-mobile", error.to_string()),
        PhoneSwitchError::Busy => Problem::conflict("phone-busy", error.to_string()),
    }
}

async fn send<S, U, G>(
    router: &Router<S, U, G>,
    action: CommandAction,
    requested: &str,
    now: DateTime<Utc>,
) -> Operation
where
    G: RoutingSignals,
{
    let command = timed_command(action, now);
    router
        .signals
        .command(&command)
        .await
        .map_err(|error| internal("queue a command for the PBX", &error))?;
    json(
        StatusCode::ACCEPTED,
        &CommandAccepted {
            command_id: command.command_id.clone(),
            requested: requested.to_owned(),
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExtendBody {
    /// Whole seconds; `30.0` is accepted as 30 (JSON does not tell the two apart).
    seconds: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WrapUpAnswer {
    wrap_up: Option<WrapUp>,
}

/// Extends or ends the agent's wrap-up (IN-18); routing offers the next call at its new end.
async fn wrap_up<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    username: &str,
    route: &Route,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let changed = if matches!(route, Route::WrapUpExtend) {
        let wanted: ExtendBody = required(request)?;
        let seconds = wanted.seconds;
        if seconds.fract() != 0.0
            || !(1.0..=f64::from(MAX_WRAP_UP_EXTENSION_SECONDS)).contains(&seconds)
        {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "seconds",
                format!("must be a whole number between 1 and {MAX_WRAP_UP_EXTENSION_SECONDS}"),
            )]));
        }
        // Whole and within 1..=3600: the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let seconds = seconds as u32;
        deps.router
            .extend_wrap_up(username, seconds, now)
            .await
            .map(Some)
    } else {
        deps.router.end_wrap_up(username, now).await.map(|()| None)
    };
    match changed {
        Ok(wrap_up) => json(StatusCode::OK, &WrapUpAnswer { wrap_up }),
        Err(RouterError::WrapUp(error)) => {
            let code = match error {
                WrapUpError::NotInWrapUp => "not-in-wrap-up",
                WrapUpError::NotExtendable => "wrap-up-not-extendable",
                WrapUpError::AtLimit => "wrap-up-at-limit",
            };
            Err(Problem::conflict(code, error.to_string()))
        }
        Err(error) => Err(router_failure("change the wrap-up", error)),
    }
}

fn required<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    body(request, false)?
        .ok_or_else(|| Problem::bad_request("invalid-body", "The body must not be empty."))
}

async fn presence<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    seat: &Seat,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let wanted: PresenceBody = required(request)?;
    let device = seat.device.clone().ok_or_else(no_phone)?;
    let agent_id = seat.user.agent_number.clone().ok_or_else(no_phone)?;
    let reason_code = match (&wanted.state, &wanted.break_code) {
        (WantedState::NotReady, Some(code)) => {
            let codes = list_config::<BreakCode, S, U, G>(&deps.router).await?;
            if !codes
                .iter()
                .any(|known| &known.code == code && known.active)
            {
                return Err(Problem::unprocessable(vec![FieldError::new(
                    "breakCode",
                    "is not an active break code",
                )]));
            }
            Some(code.clone())
        }
        (_, Some(_)) => {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "breakCode",
                "only goes with state notReady",
            )]))
        }
        (_, None) => None,
    };
    let (state, requested) = match wanted.state {
        WantedState::Ready => (RequestedAgentState::Ready, "ready"),
        WantedState::NotReady => (RequestedAgentState::NotReady, "notReady"),
        WantedState::LoggedOn => (RequestedAgentState::LoggedOn, "loggedOn"),
        WantedState::LoggedOff => (RequestedAgentState::LoggedOff, "loggedOff"),
    };
    let logged_off = seat
        .presence
        .as_ref()
        .is_none_or(|presence| presence.state == AgentState::LoggedOff);
    if logged_off && matches!(wanted.state, WantedState::Ready | WantedState::NotReady) {
        // A phone logged off at the PBX takes no ready / not ready: log the agent on first
        // (the commands of one device run in order).
        send(
            &deps.router,
            CommandAction::AgentState {
                device: device.clone(),
                agent_id: agent_id.clone(),
                state: RequestedAgentState::LoggedOn,
                reason_code: None,
            },
            "loggedOn",
            now,
        )
        .await?;
    }
    send(
        &deps.router,
        CommandAction::AgentState {
            device,
            agent_id,
            state,
            reason_code,
        },
        requested,
        now,
    )
    .await
}

async fn queue<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    config: &RoutingConfig,
    seat: &Seat,
    queue_id: &str,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let wanted: QueueBody = required(request)?;
    let username = seat.user.username.as_str();
    let queue = config
        .queues
        .iter()
        .find(|queue| queue.config.queue_id == queue_id);
    let member = queue.and_then(|queue| queue.members.iter().find(|m| m.username == username));
    let (Some(queue), Some(member)) = (queue, member) else {
        return Err(Problem::not_found(
            "not-a-member",
            format!("You are not a member of the queue {queue_id}."),
        ));
    };
    let settings = agent_desk(deps.desks.as_ref(), username).await?;
    if settings.value.is_logged_in(queue_id) != wanted.logged_in {
        if member.locked {
            return Err(Problem::forbidden(
                "queue-locked",
                "An administrator locked your membership of this queue; you cannot log in or out of it.",
            ));
        }
        update_desk(deps.desks.as_ref(), username, |desk| {
            desk.set_logged_in(queue_id, wanted.logged_in);
        })
        .await?;
        if wanted.logged_in {
            if let Some(device) = &seat.device {
                // A call may be waiting in the queue just joined.
                let trigger = linka_shared::routing_live::RoutingTrigger::AgentAvailable {
                    device: device.clone(),
                };
                if let Err(error) = deps.router.signals.trigger(&trigger, 0).await {
                    tracing::warn!(error.message = %error, "routing not told about a queue log-in; it looks again within 30 s");
                }
            }
        }
    }
    let waiting = deps
        .router
        .state
        .waiting_calls()
        .await
        .map_err(|error| store_failure("read the waiting calls", error))?
        .iter()
        .filter(|call| call.queue_id == queue_id && call.offered_to.is_none())
        .count();
    json(
        StatusCode::OK,
        &QueueView {
            queue_id: queue_id.to_owned(),
            name: queue.config.name.clone(),
            logged_in: wanted.logged_in,
            locked: member.locked,
            waiting,
            open_now: queue.config.schedule.is_open(now),
        },
    )
}

/// The device or number a consultation or transfer target reaches.
async fn resolve_target<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    config: &RoutingConfig,
    target: &CallTarget,
    now: DateTime<Utc>,
) -> Result<String, Problem>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let unknown = |message: &str| Problem::unprocessable(vec![FieldError::new("target", message)]);
    match target {
        CallTarget::Number { number } => {
            dialable(number).ok_or_else(|| unknown("is not a dialable number"))
        }
        CallTarget::Queue { queue_id } => config
            .devices
            .queues
            .get(queue_id)
            .cloned()
            .ok_or_else(|| unknown("the queue has no PBX device to transfer to")),
        CallTarget::Agent { username } => agent_device(deps, config, username, now)
            .await?
            .ok_or_else(|| unknown("the agent has no phone extension")),
        CallTarget::Line { line_id } => {
            let lines = list_config::<TransferLine, S, U, G>(&deps.router).await?;
            let line = lines
                .iter()
                .find(|line| &line.line_id == line_id)
                .ok_or_else(|| unknown("there is no such line in the transfer panel"))?;
            let mut agents = BTreeMap::new();
            if let linka_shared::queues::OverflowTarget::Agent { username } = &line.target {
                if let Some(device) = agent_device(deps, config, username, now).await? {
                    agents.insert(username.clone(), device);
                }
            }
            config
                .devices
                .target(&line.target, &|username| agents.get(username).cloned())
                .map_err(|error| unknown(&error.to_string()))
        }
    }
}

/// Where a colleague is: the device they are logged on at, else their agent number.
async fn agent_device<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    config: &RoutingConfig,
    username: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, Problem>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let Some(identity) = config
        .identities
        .iter()
        .find(|identity| identity.username == username)
    else {
        return Ok(None);
    };
    let presences = deps
        .router
        .state
        .agent_presences()
        .await
        .map_err(|error| store_failure("read agent states", error))?;
    let runtimes = agent_runtimes(&presences, &config.identities, &[], &[], now);
    Ok(Some(
        runtimes
            .iter()
            .find(|agent| agent.username == username)
            .map_or_else(
                || identity.agent_number.clone(),
                |agent| agent.device.clone(),
            ),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn call_action<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    config: &RoutingConfig,
    seat: &Seat,
    relay_id: &str,
    call_id: &str,
    action: DeskAction,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let body: ActionBody = body(request, true)?.unwrap_or_default();
    let device = seat.device.clone().ok_or_else(no_phone)?;
    if action == DeskAction::Answer && seat.phone_kind() == PhoneKind::Mobile {
        return Err(Problem::conflict(
            "answer-on-mobile",
            "You take calls on your mobile phone: answer the call there.",
        ));
    }
    let calls = seat
        .presence
        .as_ref()
        .map(|presence| desk_calls_of(presence, now))
        .unwrap_or_default();
    let call = calls
        .iter()
        .find(|call| call.relay_id == relay_id && call.call_id == call_id)
        .ok_or_else(|| {
            Problem::not_found(
                "call-not-at-desk",
                "This call is not at your phone (any more).",
            )
        })?;
    let target = match (&body.target, action.needs_target()) {
        (Some(target), true) => Some(resolve_target(deps, config, target, now).await?),
        (None, true) => {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "target",
                "a target is required",
            )]))
        }
        (Some(_), false) => {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "target",
                "this action takes no target",
            )]))
        }
        (None, false) => None,
    };
    let command =
        command_for(action, &device, call, &body, target.as_deref(), &calls).map_err(|error| {
            match error {
                DeskActionError::Invalid(field) => Problem::unprocessable(vec![field]),
                DeskActionError::WrongState { .. } => {
                    Problem::conflict("call-state", error.to_string())
                }
                DeskActionError::NoConsultation => {
                    Problem::conflict("no-consultation", error.to_string())
                }
            }
        })?;
    send(&deps.router, command, action.as_str(), now).await
}

async fn dial<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    seat: &Seat,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let wanted: DialBody = required(request)?;
    if let Some(client_id) = &wanted.client_id {
        if client_id.is_empty() || client_id.len() > 64 {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "clientId",
                "must be 1 to 64 characters",
            )]));
        }
    }
    let to = dialable(&wanted.number).ok_or_else(|| {
        Problem::unprocessable(vec![FieldError::new("number", "is not a dialable number")])
    })?;
    let device = seat.device.clone().ok_or_else(no_phone)?;
    if seat.device.as_deref() == Some(to.as_str()) {
        return Err(Problem::unprocessable(vec![FieldError::new(
            "number",
            "is your own phone",
        )]));
    }
    send(
        &deps.router,
        CommandAction::Dial { device, to },
        "dial",
        now,
    )
    .await
}

async fn categories<J, S, U, G, A>(deps: &DeskDeps<J, S, U, G, A>) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let mut items: Vec<CallCategory> = list_config::<CallCategory, S, U, G>(&deps.router)
        .await?
        .into_iter()
        .filter(|category| category.active)
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    json(StatusCode::OK, &ItemsView { items })
}

async fn all_users<U: UserDirectory>(users: &U) -> Result<Vec<User>, Problem> {
    let mut found = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    loop {
        let page = users
            .list(
                PageLimit::new(100).unwrap_or(PageLimit::DEFAULT),
                cursor.take(),
            )
            .await
            .map_err(|error| store_failure("list users", error))?;
        found.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

async fn directory<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    config: &RoutingConfig,
    username: &str,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let (users, presences, groups, lines, settings) = tokio::try_join!(
        all_users(&deps.router.users),
        async {
            deps.presences
                .agent_presences()
                .await
                .map_err(|error| store_failure("read agent states", error))
        },
        list_config::<TransferGroup, S, U, G>(&deps.router),
        list_config::<TransferLine, S, U, G>(&deps.router),
        agent_desk(deps.desks.as_ref(), username),
    )?;
    let runtimes = agent_runtimes(&presences, &config.identities, &[], &[], now);
    let by_device: BTreeMap<&str, &AgentPresence> = presences
        .iter()
        .map(|presence| (presence.device.as_str(), presence))
        .collect();
    let desk_roles: BTreeSet<Role> = [Role::Agent, Role::Supervisor].into_iter().collect();
    let mut agents: Vec<DirectoryAgent> = users
        .into_iter()
        .filter(|user| user.active && user.username != username)
        .filter(|user| user.roles.iter().any(|role| desk_roles.contains(role)))
        .map(|user| {
            let device = runtimes
                .iter()
                .find(|agent| agent.username == user.username)
                .map(|agent| agent.device.clone())
                .or_else(|| user.agent_number.clone());
            let presence = device
                .as_deref()
                .and_then(|device| by_device.get(device))
                .map_or(PanelPresence::LoggedOut, |presence| presence_of(presence));
            DirectoryAgent {
                username: user.username,
                display_name: user.display_name,
                device,
                roles: user
                    .roles
                    .iter()
                    .map(|role| role.as_str().to_owned())
                    .collect(),
                groups: user.groups,
                presence,
            }
        })
        .collect();
    agents.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    let mut groups = groups;
    groups.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
    let mut lines = lines;
    lines.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.label.cmp(&b.label)));
    json(
        StatusCode::OK,
        &DirectoryView {
            groups,
            favourites: settings.value.favourites,
            agents,
            lines,
        },
    )
}

async fn favourites<J, S, U, G, A>(
    deps: &DeskDeps<J, S, U, G, A>,
    request: &Request,
    username: &str,
) -> Operation {
    let wanted: FavouritesBody = required(request)?;
    let errors = validate_favourites(&wanted.favourites);
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let list = wanted.favourites.clone();
    let desk = update_desk(deps.desks.as_ref(), username, move |desk| {
        desk.favourites.clone_from(&list);
    })
    .await?;
    json(
        StatusCode::OK,
        &FavouritesView {
            favourites: desk.favourites,
        },
    )
}

#[cfg(test)]
#[path = "desk_api_tests.rs"]
mod tests;
