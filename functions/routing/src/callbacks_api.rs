//! `/api/callbacks…`: the callback queue for agents and supervisors (IN-11, IN-22, DESK-13).
//!
//! An agent sees and works the callbacks of the queues they are a member of; supervisors,
//! admins and the `callbacks` role every queue. Every change goes through the pure domain in
//! `linka_shared::callbacks` and is stored with a conditional write on the version read, so two
//! agents racing for one callback cannot both win (the loser gets 409). After each change that
//! makes a callback due later, the routing worker is told to look at it again then
//! ([`RoutingTrigger::CallbackDue`]); a due callback is offered to a free agent by routing.
//!
//! Every authenticated call is audited (the list and the records carry phone numbers).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use cti_events::CommandAction;
use lambda_http::{
    http::{
        header::{self, HeaderValue},
        Method, StatusCode,
    },
    Body, Error, Request, Response,
};
use linka_shared::{
    audit::{AuditAction, AuditRecord},
    auth::{JwksSource, Principal, TokenValidator},
    authz::Permission,
    callbacks::{
        booked_in, offer_slots, sort_for_agent_list, AttemptOutcome, Callback, CallbackError,
        CallbackSource, NewCallback, Slot,
    },
    ports::{
        AuditLog, CallbackStore, CallbackWriteError, RoutingSignals, RoutingStateStore,
        UserDirectory, Versioned,
    },
    problem::{FieldError, Problem},
    routing_live::RoutingTrigger,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::http_common::{
    audit_context, audit_unavailable, authenticate, body, internal, json, problem_response,
    query_parameter, request_path, required_body, router_failure, segments_under, store_failure,
    valid_id, Operation,
};
use crate::router::{callback_delay, command_for, Router};

pub use crate::http_common::MAX_BODY_BYTES;
/// Closed callbacks listed with `view=closed`: those closed in the last day, at most this many.
pub const MAX_CLOSED_LISTED: usize = 200;

/// Namespace of callback ids derived from `(username, requestId)`.
const CREATE_NAMESPACE: Uuid = Uuid::from_u128(0x0c4b_61a3_92d7_4e58_b1f0_3ad2_77e9_c415);

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/callbacks"),
    ("POST", "/api/callbacks"),
    ("GET", "/api/callbacks/slots"),
    ("GET", "/api/callbacks/{callbackId}"),
    ("POST", "/api/callbacks/{callbackId}/claim"),
    ("POST", "/api/callbacks/{callbackId}/release"),
    ("POST", "/api/callbacks/{callbackId}/attempts"),
    ("POST", "/api/callbacks/{callbackId}/reschedule"),
    ("POST", "/api/callbacks/{callbackId}/notes"),
    ("POST", "/api/callbacks/{callbackId}/done"),
    ("POST", "/api/callbacks/{callbackId}/cancel"),
];

/// What the handler needs.
pub struct CallbacksDeps<J, S, U, G, A> {
    pub validator: TokenValidator<J>,
    /// The router, for the configuration (queues, members, agents' numbers), the agents'
    /// devices and the signals (dial commands, routing triggers).
    pub router: Router<S, U, G>,
    pub store: Arc<dyn CallbackStore>,
    pub audit: A,
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    List,
    Create,
    Slots,
    Get(String),
    Act(String, Action),
}

/// A state change of one callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Claim,
    Release,
    Attempt,
    Reschedule,
    Note,
    Done,
    Cancel,
}

impl Action {
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "claim" => Self::Claim,
            "release" => Self::Release,
            "attempts" => Self::Attempt,
            "reschedule" => Self::Reschedule,
            "notes" => Self::Note,
            "done" => Self::Done,
            "cancel" => Self::Cancel,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Claim => "claim",
            Self::Release => "release",
            Self::Attempt => "attempt",
            Self::Reschedule => "reschedule",
            Self::Note => "note",
            Self::Done => "done",
            Self::Cancel => "cancel",
        }
    }
}

type Resolution = crate::http_common::Resolution<Route>;

/// Maps a path (with or without a stage prefix) and method to a route.
fn resolve(method: &Method, path: &str) -> Resolution {
    let Some(segments) = segments_under(path, "/api/callbacks") else {
        return Resolution::NotFound;
    };
    let get = method == Method::GET;
    let post = method == Method::POST;
    match segments.as_slice() {
        [] if get => Resolution::Found(Route::List),
        [] if post => Resolution::Found(Route::Create),
        [] => Resolution::MethodNotAllowed("GET, POST"),
        ["slots"] if get => Resolution::Found(Route::Slots),
        ["slots"] => Resolution::MethodNotAllowed("GET"),
        [id] if get => Resolution::Found(Route::Get((*id).to_owned())),
        [_] => Resolution::MethodNotAllowed("GET"),
        [id, action] => match Action::parse(action) {
            Some(action) if post => Resolution::Found(Route::Act((*id).to_owned(), action)),
            Some(_) => Resolution::MethodNotAllowed("POST"),
            None => Resolution::NotFound,
        },
        _ => Resolution::NotFound,
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn not_found(id: &str) -> Problem {
    Problem::not_found("callback-not-found", format!("There is no callback {id}."))
}

/// The problem for a refused transition.
fn refused(error: CallbackError) -> Problem {
    let code = match &error {
        CallbackError::Closed { .. } => "callback-closed",
        CallbackError::NotDue { .. } => "callback-not-due",
        CallbackError::AlreadyClaimed { .. } => "callback-claimed",
        CallbackError::AgentHasClaim { .. } => "agent-has-claim",
        CallbackError::NotClaimedBy { .. } => "callback-not-claimed",
        CallbackError::NotFound { id } => return not_found(id),
        CallbackError::Number(_) => {
            return Problem::unprocessable(vec![FieldError::new("number", error.to_string())])
        }
        CallbackError::Note => {
            return Problem::unprocessable(vec![FieldError::new("text", error.to_string())])
        }
        CallbackError::Slot => {
            return Problem::unprocessable(vec![FieldError::new("slot", error.to_string())])
        }
        CallbackError::QueueId => {
            return Problem::unprocessable(vec![FieldError::new("queueId", error.to_string())])
        }
        CallbackError::Id | CallbackError::Agent => {
            return Problem::unprocessable(vec![FieldError::new("id", error.to_string())])
        }
    };
    Problem::conflict(code, error.to_string())
}

fn changed_meanwhile() -> Problem {
    Problem::conflict(
        "callback-changed",
        "Someone changed the callback at the same moment; load it again and retry.",
    )
}

/// One callback as the API shows it: the stored record and whether it is due now.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CallbackView<'a> {
    #[serde(flatten)]
    callback: &'a Callback,
    due: bool,
}

fn view(callback: &Callback, now: DateTime<Utc>) -> CallbackView<'_> {
    CallbackView {
        callback,
        due: callback.is_due(now),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListView<'a> {
    items: Vec<CallbackView<'a>>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    request_id: Uuid,
    queue_id: String,
    number: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    slot: Option<Slot>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClaimBody {
    /// Dial the number from the agent's device at once.
    #[serde(default)]
    dial: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttemptBody {
    outcome: AttemptOutcome,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RescheduleBody {
    slot: Slot,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NoteBody {
    text: String,
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize) {
    if let Some(value) = value {
        let chars = value.chars().count();
        if value.trim().is_empty() || chars > max {
            errors.push(FieldError::new(
                field,
                format!("must be 1 to {max} characters"),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

/// Who is asking, which queues they may work, and the audit context.
struct Caller {
    principal: Principal,
    /// `None`: every queue.
    queues: Option<BTreeSet<String>>,
}

impl Caller {
    fn may_work(&self, queue_id: &str) -> bool {
        self.queues.as_ref().is_none_or(|q| q.contains(queue_id))
    }

    fn username(&self) -> &str {
        &self.principal.username
    }
}

/// Entry point for every request. Never returns `Err`: failures are problem responses.
pub async fn function_handler<J, S, U, G, A>(
    deps: &CallbacksDeps<J, S, U, G, A>,
    request: Request,
) -> Result<Response<Body>, Error>
where
    J: JwksSource,
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
    A: AuditLog,
{
    let route = match resolve(request.method(), &request_path(&request)).into_route() {
        Ok(route) => route,
        Err(response) => return Ok(response),
    };
    let principal = match authenticate(&deps.validator, &request).await {
        Ok(principal) => principal,
        Err(response) => return Ok(response),
    };
    let context = audit_context(&principal, &request);
    let (action, target) = match &route {
        Route::List | Route::Slots => (AuditAction::CallbacksList, None),
        Route::Create => (AuditAction::CallbackCreate, None),
        Route::Get(id) => (AuditAction::CallbackRead, Some(id.clone())),
        Route::Act(id, _) => (AuditAction::CallbackUpdate, Some(id.clone())),
    };
    let result = serve(deps, &request, &route, principal).await;
    let (response, created) = match result {
        Ok((response, created)) => (response, created),
        Err(problem) => (problem_response(problem), None),
    };
    let mut record = AuditRecord::new(
        &context,
        action,
        created.or(target).filter(|id| valid_id(id)),
        response.status().as_u16(),
        Utc::now(),
    );
    if let Route::Act(_, act) = &route {
        record
            .details
            .insert("action".to_owned(), act.name().to_owned());
    }
    match deps.audit.record(&record).await {
        Ok(()) => Ok(response),
        Err(error) => Ok(audit_unavailable(&error)),
    }
}

/// The response, and the id of a created callback (for the audit record).
async fn serve<J, S, U, G, A>(
    deps: &CallbacksDeps<J, S, U, G, A>,
    request: &Request,
    route: &Route,
    principal: Principal,
) -> Result<(Response<Body>, Option<String>), Problem>
where
    J: JwksSource,
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
    A: AuditLog,
{
    principal
        .require(Permission::HandleCallbacks)
        .map_err(|e| {
            Problem::forbidden(
                "forbidden",
                format!(
                    "Your roles do not include the permission {}.",
                    e.permission.as_str()
                ),
            )
        })?;
    let config = deps
        .router
        .routing_config()
        .await
        .map_err(|error| router_failure("read the configuration", error))?;
    let queues = if principal.require(Permission::HandleAllCallbacks).is_ok() {
        None
    } else {
        Some(
            config
                .queues
                .iter()
                .filter(|q| q.members.iter().any(|m| m.username == principal.username))
                .map(|q| q.id().to_owned())
                .collect(),
        )
    };
    let caller = Caller { principal, queues };
    let now = Utc::now();
    match route {
        Route::List => list(deps, request, &caller, &config, now)
            .await
            .map(|r| (r, None)),
        Route::Slots => slots(deps, request, &caller, &config, now)
            .await
            .map(|r| (r, None)),
        Route::Create => create(deps, request, &caller, now).await,
        Route::Get(id) => {
            let stored = load(deps, &caller, id).await?;
            json(StatusCode::OK, &view(&stored.value, now)).map(|r| (r, None))
        }
        Route::Act(id, action) => act(deps, request, &caller, &config, id, *action, now)
            .await
            .map(|r| (r, None)),
    }
}

/// The queue named by `queueId`, which the caller must be allowed to work.
fn queue_parameter(
    request: &Request,
    caller: &Caller,
    required: bool,
) -> Result<Option<String>, Problem> {
    match query_parameter(request, "queueId") {
        None if required => Err(Problem::invalid_parameter("queueId", "is required")),
        None => Ok(None),
        Some(queue) if !linka_shared::admin_config::is_valid_config_id(&queue) => {
            Err(Problem::invalid_parameter("queueId", "is not a queue id"))
        }
        Some(queue) if !caller.may_work(&queue) => Err(Problem::forbidden(
            "queue-not-allowed",
            format!("You are not a member of the queue {queue}."),
        )),
        Some(queue) => Ok(Some(queue)),
    }
}

/// `GET /api/callbacks?queueId&view=open|closed`.
async fn list<J, S, U, G, A>(
    deps: &CallbacksDeps<J, S, U, G, A>,
    request: &Request,
    caller: &Caller,
    config: &crate::router::RoutingConfig,
    now: DateTime<Utc>,
) -> Operation {
    let closed = match query_parameter(request, "view").as_deref() {
        None | Some("open") => false,
        Some("closed") => true,
        Some(_) => return Err(Problem::invalid_parameter("view", "must be open or closed")),
    };
    let queues: Vec<String> = match queue_parameter(request, caller, false)? {
        Some(queue) => vec![queue],
        None => match &caller.queues {
            Some(own) => own.iter().cloned().collect(),
            None => config.queues.iter().map(|q| q.id().to_owned()).collect(),
        },
    };
    let mut callbacks = Vec::new();
    for queue in &queues {
        if closed {
            callbacks.extend(
                deps.store
                    .closed_in_queue(queue, now - TimeDelta::days(1), MAX_CLOSED_LISTED)
                    .await
                    .map_err(|error| store_failure("list closed callbacks", error))?,
            );
        } else {
            callbacks.extend(
                deps.store
                    .active_in_queue(queue)
                    .await
                    .map_err(|error| store_failure("list callbacks", error))?
                    .into_iter()
                    .map(|v| v.value),
            );
        }
    }
    sort_for_agent_list(&mut callbacks, now);
    callbacks.truncate(if closed {
        MAX_CLOSED_LISTED
    } else {
        usize::MAX
    });
    json(
        StatusCode::OK,
        &ListView {
            items: callbacks.iter().map(|c| view(c, now)).collect(),
        },
    )
}

/// `GET /api/callbacks/slots?queueId`: the slots a callback may be booked in now.
async fn slots<J, S, U, G, A>(
    deps: &CallbacksDeps<J, S, U, G, A>,
    request: &Request,
    caller: &Caller,
    config: &crate::router::RoutingConfig,
    now: DateTime<Utc>,
) -> Operation {
    let Some(queue_id) = queue_parameter(request, caller, true)? else {
        return Err(Problem::bad_request(
            "invalid-parameter",
            "The query parameter queueId is required.",
        ));
    };
    let Some(queue) = config.queues.iter().find(|q| q.id() == queue_id) else {
        return Err(Problem::not_found(
            "queue-not-found",
            format!("There is no queue {queue_id}."),
        ));
    };
    let settings = queue.routing.callback_settings();
    let active: Vec<Callback> = deps
        .store
        .active_in_queue(&queue_id)
        .await
        .map_err(|error| store_failure("list callbacks", error))?
        .into_iter()
        .map(|v| v.value)
        .collect();
    let members = u32::try_from(queue.members.len()).unwrap_or(u32::MAX);
    let capacity = members.saturating_mul(settings.per_agent_per_slot);
    let offered = offer_slots(
        &queue.config.schedule,
        now,
        &settings.slots,
        |_| capacity,
        |slot| booked_in(&active, slot),
    );
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SlotsView {
        queue_id: String,
        slots: Vec<Slot>,
    }
    json(
        StatusCode::OK,
        &SlotsView {
            queue_id,
            slots: offered,
        },
    )
}

async fn load<J, S, U, G, A>(
    deps: &CallbacksDeps<J, S, U, G, A>,
    caller: &Caller,
    id: &str,
) -> Result<Versioned<Callback>, Problem> {
    if !valid_id(id) {
        return Err(not_found(id));
    }
    let stored = deps
        .store
        .get(id)
        .await
        .map_err(|error| store_failure("read a callback", error))?
        .ok_or_else(|| not_found(id))?;
    if !caller.may_work(&stored.value.queue_id) {
        // Not a member of its queue: as if it did not exist.
        return Err(not_found(id));
    }
    Ok(stored)
}

/// Tells the routing worker to look at the callback when it may be due.
async fn schedule<S, U, G>(router: &Router<S, U, G>, callback: &Callback, now: DateTime<Utc>)
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    if !callback.is_active() {
        return;
    }
    let trigger = RoutingTrigger::CallbackDue {
        callback_id: callback.id.clone(),
    };
    // The change is stored; a lost trigger only delays the callback until an agent becomes
    // free (routing then finds it), so it does not fail the request.
    if let Err(error) = router
        .signals
        .trigger(&trigger, callback_delay(callback, now))
        .await
    {
        tracing::warn!(callback_id = callback.id, error.message = %error, "failed to schedule a callback");
    }
}

/// `POST /api/callbacks`: an agent's callback (DESK-13), idempotent by `requestId`.
async fn create<J, S, U, G, A>(
    deps: &CallbacksDeps<J, S, U, G, A>,
    request: &Request,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(Response<Body>, Option<String>), Problem>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let draft: CreateBody = required_body(request)?;
    let mut errors = Vec::new();
    if !linka_shared::admin_config::is_valid_config_id(&draft.queue_id) {
        errors.push(FieldError::new("queueId", "is not a queue id"));
    }
    check_text(&mut errors, "clientId", draft.client_id.as_deref(), 64);
    check_text(&mut errors, "clientName", draft.client_name.as_deref(), 200);
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    if !caller.may_work(&draft.queue_id) {
        return Err(Problem::forbidden(
            "queue-not-allowed",
            format!("You are not a member of the queue {}.", draft.queue_id),
        ));
    }
    // The queue's own priority, as for a call entering it.
    let Some(priority) = deps
        .router
        .routing_config()
        .await
        .map_err(|error| router_failure("read the configuration", error))?
        .queues
        .iter()
        .find(|q| q.id() == draft.queue_id)
        .map(|q| q.config.priority)
    else {
        return Err(Problem::unprocessable(vec![FieldError::new(
            "queueId",
            "there is no such queue",
        )]));
    };
    let id = Uuid::new_v5(
        &CREATE_NAMESPACE,
        format!("{}\n{}", caller.username(), draft.request_id).as_bytes(),
    )
    .to_string();
    let callback = Callback::create(
        NewCallback {
            id: id.clone(),
            queue_id: draft.queue_id,
            number: draft.number,
            client_id: draft.client_id,
            client_name: draft.client_name,
            source: CallbackSource::Agent,
            entered_at: None,
            priority,
            requested_slot: draft.slot,
            created_by: caller.username().to_owned(),
            note: draft.note,
        },
        now,
    )
    .map_err(|error| match error {
        CallbackError::Note => {
            Problem::unprocessable(vec![FieldError::new("note", error.to_string())])
        }
        other => refused(other),
    })?;
    match deps
        .store
        .save(&Versioned {
            value: callback.clone(),
            version: 0,
        })
        .await
    {
        Ok(()) => {
            schedule(&deps.router, &callback, now).await;
            let mut response = json(StatusCode::CREATED, &view(&callback, now))?;
            if let Ok(location) = HeaderValue::from_str(&format!("/api/callbacks/{id}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok((response, Some(id)))
        }
        // The same request again: the callback it created.
        Err(CallbackWriteError::Conflict) => {
            let stored = load(deps, caller, &id).await?;
            Ok((json(StatusCode::OK, &view(&stored.value, now))?, Some(id)))
        }
        Err(CallbackWriteError::Store(error)) => Err(store_failure("create a callback", error)),
    }
}

/// The agent's current device: where their agent number (or extension) is logged on.
async fn agent_device<S, U, G>(
    router: &Router<S, U, G>,
    config: &crate::router::RoutingConfig,
    username: &str,
) -> Result<Option<String>, Problem>
where
    S: RoutingStateStore,
{
    let Some(number) = config
        .identities
        .iter()
        .find(|identity| identity.username == username)
        .map(|identity| identity.agent_number.clone())
    else {
        return Ok(None);
    };
    let presences = router
        .state
        .agent_presences()
        .await
        .map_err(|error| store_failure("read the agents' devices", error))?;
    Ok(presences
        .into_iter()
        .filter(|p| p.agent_id.as_deref() == Some(number.as_str()) || p.device == number)
        .max_by_key(|p| p.since)
        .map(|p| p.device))
}

/// `POST /api/callbacks/{id}/{action}`.
async fn act<J, S, U, G, A>(
    deps: &CallbacksDeps<J, S, U, G, A>,
    request: &Request,
    caller: &Caller,
    config: &crate::router::RoutingConfig,
    id: &str,
    action: Action,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    // Read and check the body before anything else.
    let mut dial = false;
    let mut attempt = None;
    let mut slot = None;
    let mut note = None;
    match action {
        Action::Claim => {
            dial = body::<ClaimBody>(request, true)?.unwrap_or_default().dial;
        }
        Action::Attempt => attempt = Some(required_body::<AttemptBody>(request)?.outcome),
        Action::Reschedule => slot = Some(required_body::<RescheduleBody>(request)?.slot),
        Action::Note => note = Some(required_body::<NoteBody>(request)?.text),
        Action::Release | Action::Done | Action::Cancel => {
            let bytes: &[u8] = request.body().as_ref();
            if bytes.len() > MAX_BODY_BYTES {
                return Err(Problem::payload_too_large(format!(
                    "The body must be at most {MAX_BODY_BYTES} bytes."
                )));
            }
        }
    }
    let mut stored = load(deps, caller, id).await?;
    let username = caller.username().to_owned();
    let policy = config
        .queues
        .iter()
        .find(|q| q.id() == stored.value.queue_id)
        .map(|q| q.routing.callback_settings().policy)
        .unwrap_or_default();
    if action == Action::Claim {
        // One claim per agent at a time (across the agent's queues).
        let mut others = Vec::new();
        for queue in config
            .queues
            .iter()
            .filter(|q| caller.may_work(q.id()))
            .map(|q| q.id().to_owned())
        {
            others.extend(
                deps.store
                    .active_in_queue(&queue)
                    .await
                    .map_err(|error| store_failure("list callbacks", error))?
                    .into_iter()
                    .map(|v| v.value)
                    .filter(|c| c.id != stored.value.id),
            );
        }
        if let Some(held) = others
            .iter()
            .find(|c| c.active_claim(now) == Some(username.as_str()))
        {
            return Err(refused(CallbackError::AgentHasClaim {
                callback_id: held.id.clone(),
            }));
        }
    }
    let callback = &mut stored.value;
    // A supervisor may settle a callback an agent holds (the client was reached another way).
    if matches!(action, Action::Done | Action::Cancel) && caller.queues.is_none() {
        if let Some(holder) = callback
            .active_claim(now)
            .filter(|holder| *holder != username)
            .map(str::to_owned)
        {
            callback.release(&holder, now).map_err(refused)?;
        }
    }
    let result = match action {
        Action::Claim => callback.claim(&username, now, &policy),
        Action::Release => callback.release(&username, now),
        Action::Attempt => match attempt {
            Some(outcome) => callback
                .record_attempt(&username, outcome, now, &policy)
                .map(|_| ()),
            None => Ok(()),
        },
        Action::Reschedule => match slot {
            Some(slot) => callback.reschedule(slot, &username, now),
            None => Ok(()),
        },
        Action::Note => match &note {
            Some(text) => callback.add_note(&username, text, now),
            None => Ok(()),
        },
        Action::Done => callback.mark_done(&username, now),
        Action::Cancel => callback.cancel(&username, now),
    };
    result.map_err(refused)?;
    match deps.store.save(&stored).await {
        Ok(()) => {}
        Err(CallbackWriteError::Conflict) => return Err(changed_meanwhile()),
        Err(CallbackWriteError::Store(error)) => {
            return Err(store_failure("store a callback", error))
        }
    }
    stored.version += 1;
    let callback = &stored.value;
    if matches!(
        action,
        Action::Claim | Action::Release | Action::Attempt | Action::Reschedule
    ) {
        schedule(&deps.router, callback, now).await;
    }
    if action == Action::Claim && dial {
        match agent_device(&deps.router, config, &username).await? {
            Some(device) => {
                let command = command_for(
                    CommandAction::Dial {
                        device,
                        to: callback.number.clone(),
                    },
                    now,
                );
                deps.router
                    .signals
                    .command(&command)
                    .await
                    .map_err(|error| internal("send the dial command", &error))?;
            }
            None => return Err(Problem::conflict(
                "no-device",
                "The callback is yours, but you are not logged on at any phone to dial it from.",
            )),
        }
    }
    json(StatusCode::OK, &view(callback, now))
}

#[cfg(test)]
#[path = "callbacks_api_tests.rs"]
mod tests;
