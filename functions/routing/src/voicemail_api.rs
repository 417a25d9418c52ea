//! `/api/voicemails…`: the messages callers left in the IVR, for the agents of the queue whose
//! mailbox got them (issue 5 item 5).
//!
//! Voicemail is the same work as callbacks, so the same permissions apply: an agent sees and
//! works the messages of the queues they are a member of ([`Permission::HandleCallbacks`]);
//! supervisors, admins and the `callbacks` role every queue, and they may assign a message to
//! someone else, take over, release or settle another agent's message
//! ([`Permission::HandleAllCallbacks`]). Every change goes through the pure domain in
//! `linka_shared::voicemail` and is stored with a conditional write on the version read, so two
//! agents racing for one message cannot both win (the loser gets 409). The recording is played
//! from a presigned GET (valid [`PLAYBACK_SECONDS`]), never through this function.
//!
//! Every authenticated call is audited (the records carry callers' numbers and what they said).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use lambda_http::{
    http::{Method, StatusCode},
    Body, Error, Request, Response,
};
use linka_shared::{
    audit::{AuditAction, AuditRecord},
    auth::{JwksSource, Principal, TokenValidator},
    authz::Permission,
    ports::{
        AuditLog, RoutingSignals, RoutingStateStore, UserDirectory, Versioned, VoicemailAudio,
        VoicemailStore, VoicemailWriteError,
    },
    problem::{FieldError, Problem},
    time::format_rfc3339,
    voicemail::{sort_for_agent_list, Voicemail, VoicemailError},
};
use serde::{Deserialize, Serialize};

use crate::http_common::{
    audit_context, audit_unavailable, authenticate, body, internal, json, problem_response,
    query_parameter, request_path, required_body, router_failure, segments_under, store_failure,
    valid_id, Operation,
};
use crate::router::{Router, RoutingConfig};

pub use crate::http_common::MAX_BODY_BYTES;
/// Done voicemails listed with `view=closed`: those done in the last week, at most this many.
pub const MAX_CLOSED_LISTED: usize = 200;
/// How long the presigned playback URL of `GET /api/voicemails/{id}` stays valid.
pub const PLAYBACK_SECONDS: u64 = 15 * 60;
/// The longest username an agent may be assigned by.
const MAX_USERNAME_CHARS: usize = 64;

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/voicemails"),
    ("GET", "/api/voicemails/{voicemailId}"),
    ("POST", "/api/voicemails/{voicemailId}/assign"),
    ("POST", "/api/voicemails/{voicemailId}/release"),
    ("POST", "/api/voicemails/{voicemailId}/done"),
    ("POST", "/api/voicemails/{voicemailId}/notes"),
];

/// What the handler needs.
pub struct VoicemailDeps<J, S, U, G, A> {
    pub validator: TokenValidator<J>,
    /// The router, for the configuration (queues and their members).
    pub router: Router<S, U, G>,
    pub store: Arc<dyn VoicemailStore>,
    pub audio: Arc<dyn VoicemailAudio>,
    pub audit: A,
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    List,
    Get(String),
    Act(String, Action),
}

/// A state change of one voicemail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Assign,
    Release,
    Done,
    Note,
}

impl Action {
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "assign" => Self::Assign,
            "release" => Self::Release,
            "done" => Self::Done,
            "notes" => Self::Note,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Release => "release",
            Self::Done => "done",
            Self::Note => "note",
        }
    }
}

type Resolution = crate::http_common::Resolution<Route>;

/// Maps a path (with or without a stage prefix) and method to a route.
fn resolve(method: &Method, path: &str) -> Resolution {
    let Some(segments) = segments_under(path, "/api/voicemails") else {
        return Resolution::NotFound;
    };
    let get = method == Method::GET;
    let post = method == Method::POST;
    match segments.as_slice() {
        [] if get => Resolution::Found(Route::List),
        [] => Resolution::MethodNotAllowed("GET"),
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
    Problem::not_found(
        "voicemail-not-found",
        format!("There is no voicemail {id}."),
    )
}

/// The problem for a refused transition.
fn refused(error: VoicemailError) -> Problem {
    let code = match &error {
        VoicemailError::Done => "voicemail-done",
        VoicemailError::AssignedTo { .. } => "voicemail-assigned",
        VoicemailError::NotAssigned => "voicemail-not-assigned",
        VoicemailError::NotAllowed => {
            return Problem::forbidden("assign-not-allowed", error.to_string())
        }
        VoicemailError::Note => {
            return Problem::unprocessable(vec![FieldError::new("text", error.to_string())])
        }
        VoicemailError::Agent => {
            return Problem::unprocessable(vec![FieldError::new("agent", error.to_string())])
        }
        // Made by the IVR runtime, never by this API.
        VoicemailError::CallKey
        | VoicemailError::QueueId
        | VoicemailError::AudioKey
        | VoicemailError::Attribute { .. } => return internal("change a voicemail", &error),
    };
    Problem::conflict(code, error.to_string())
}

fn changed_meanwhile() -> Problem {
    Problem::conflict(
        "voicemail-changed",
        "Someone changed the voicemail at the same moment; load it again and retry.",
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListView<'a> {
    items: &'a [Voicemail],
}

/// One voicemail with where to play it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailView<'a> {
    #[serde(flatten)]
    voicemail: &'a Voicemail,
    playback_url: String,
    playback_expires_at: String,
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AssignBody {
    /// The agent to assign; the caller when absent.
    #[serde(default)]
    agent: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NoteBody {
    text: String,
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

/// Who is asking and which queues they may work.
struct Caller {
    principal: Principal,
    /// `None`: every queue (and they may act for other agents).
    queues: Option<BTreeSet<String>>,
}

impl Caller {
    fn may_work(&self, queue_id: &str) -> bool {
        self.queues.as_ref().is_none_or(|q| q.contains(queue_id))
    }

    /// A supervisor: may assign others, take over, release or settle another's message.
    fn may_override(&self) -> bool {
        self.queues.is_none()
    }

    fn username(&self) -> &str {
        &self.principal.username
    }
}

/// Entry point for every request. Never returns `Err`: failures are problem responses.
pub async fn function_handler<J, S, U, G, A>(
    deps: &VoicemailDeps<J, S, U, G, A>,
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
        Route::List => (AuditAction::VoicemailsList, None),
        Route::Get(id) => (AuditAction::VoicemailRead, Some(id.clone())),
        Route::Act(id, _) => (AuditAction::VoicemailUpdate, Some(id.clone())),
    };
    let response = serve(deps, &request, &route, principal)
        .await
        .unwrap_or_else(problem_response);
    let mut record = AuditRecord::new(
        &context,
        action,
        target.filter(|id| valid_id(id)),
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

async fn serve<J, S, U, G, A>(
    deps: &VoicemailDeps<J, S, U, G, A>,
    request: &Request,
    route: &Route,
    principal: Principal,
) -> Operation
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
        Route::List => list(deps, request, &caller, &config, now).await,
        Route::Get(id) => get(deps, &caller, id, now).await,
        Route::Act(id, action) => act(deps, request, &caller, &config, id, *action, now).await,
    }
}

/// The queue named by `queueId`, which the caller must be allowed to work.
fn queue_parameter(request: &Request, caller: &Caller) -> Result<Option<String>, Problem> {
    match query_parameter(request, "queueId") {
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

/// `GET /api/voicemails?queueId&view=open|closed`.
async fn list<J, S, U, G, A>(
    deps: &VoicemailDeps<J, S, U, G, A>,
    request: &Request,
    caller: &Caller,
    config: &RoutingConfig,
    now: DateTime<Utc>,
) -> Operation {
    let closed = match query_parameter(request, "view").as_deref() {
        None | Some("open") => false,
        Some("closed") => true,
        Some(_) => return Err(Problem::invalid_parameter("view", "must be open or closed")),
    };
    let queues: Vec<String> = match queue_parameter(request, caller)? {
        Some(queue) => vec![queue],
        None => match &caller.queues {
            Some(own) => own.iter().cloned().collect(),
            None => config.queues.iter().map(|q| q.id().to_owned()).collect(),
        },
    };
    let mut voicemails = Vec::new();
    for queue in &queues {
        if closed {
            voicemails.extend(
                deps.store
                    .closed_in_queue(queue, now - TimeDelta::days(7), MAX_CLOSED_LISTED)
                    .await
                    .map_err(|error| store_failure("list done voicemails", error))?,
            );
        } else {
            voicemails.extend(
                deps.store
                    .active_in_queue(queue)
                    .await
                    .map_err(|error| store_failure("list voicemails", error))?
                    .into_iter()
                    .map(|v| v.value),
            );
        }
    }
    sort_for_agent_list(&mut voicemails);
    if closed {
        voicemails.truncate(MAX_CLOSED_LISTED);
    }
    json(StatusCode::OK, &ListView { items: &voicemails })
}

async fn load<J, S, U, G, A>(
    deps: &VoicemailDeps<J, S, U, G, A>,
    caller: &Caller,
    id: &str,
) -> Result<Versioned<Voicemail>, Problem> {
    if !valid_id(id) {
        return Err(not_found(id));
    }
    let stored = deps
        .store
        .get(id)
        .await
        .map_err(|error| store_failure("read a voicemail", error))?
        .ok_or_else(|| not_found(id))?;
    if !caller.may_work(&stored.value.queue_id) {
        // Not a member of its queue: as if it did not exist.
        return Err(not_found(id));
    }
    Ok(stored)
}

/// `GET /api/voicemails/{id}`: the record and a presigned URL to play the recording.
async fn get<J, S, U, G, A>(
    deps: &VoicemailDeps<J, S, U, G, A>,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Operation {
    let stored = load(deps, caller, id).await?;
    let lifetime = Duration::from_secs(PLAYBACK_SECONDS);
    let playback_url = deps
        .audio
        .playback_url(&stored.value.audio_key, lifetime)
        .await
        .map_err(|error| store_failure("presign a voicemail playback", error))?;
    let expires_at = now + TimeDelta::seconds(i64::try_from(PLAYBACK_SECONDS).unwrap_or(900));
    json(
        StatusCode::OK,
        &DetailView {
            voicemail: &stored.value,
            playback_url,
            playback_expires_at: format_rfc3339(expires_at),
        },
    )
}

/// `POST /api/voicemails/{id}/{action}`.
async fn act<J, S, U, G, A>(
    deps: &VoicemailDeps<J, S, U, G, A>,
    request: &Request,
    caller: &Caller,
    config: &RoutingConfig,
    id: &str,
    action: Action,
    now: DateTime<Utc>,
) -> Operation {
    // Read and check the body before anything else.
    let mut agent = None;
    let mut note = None;
    match action {
        Action::Assign => {
            agent = body::<AssignBody>(request, true)?.and_then(|b| b.agent);
            if let Some(name) = &agent {
                if name.trim().is_empty() || name.chars().count() > MAX_USERNAME_CHARS {
                    return Err(Problem::unprocessable(vec![FieldError::new(
                        "agent",
                        format!("must be a username of 1 to {MAX_USERNAME_CHARS} characters"),
                    )]));
                }
            }
        }
        Action::Note => note = Some(required_body::<NoteBody>(request)?.text),
        Action::Release | Action::Done => {
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
    let may_override = caller.may_override();
    let voicemail = &mut stored.value;
    let result = match action {
        Action::Assign => {
            let agent = agent.unwrap_or_else(|| username.clone());
            if agent != username && may_override {
                // Only to a member of the message's queue.
                let member = config
                    .queues
                    .iter()
                    .find(|q| q.id() == voicemail.queue_id)
                    .is_some_and(|q| q.members.iter().any(|m| m.username == agent));
                if !member {
                    return Err(Problem::unprocessable(vec![FieldError::new(
                        "agent",
                        format!(
                            "{agent} is not a member of the queue {}",
                            voicemail.queue_id
                        ),
                    )]));
                }
            }
            voicemail.assign(&agent, &username, may_override, now)
        }
        Action::Release => voicemail.release(&username, may_override, now),
        Action::Done => voicemail.mark_done(&username, may_override, now),
        Action::Note => match &note {
            Some(text) => voicemail.add_note(&username, text, now),
            None => Ok(()),
        },
    };
    result.map_err(refused)?;
    match deps.store.save(&stored).await {
        Ok(()) => {}
        Err(VoicemailWriteError::Conflict) => return Err(changed_meanwhile()),
        Err(VoicemailWriteError::Store(error)) => {
            return Err(store_failure("store a voicemail", error))
        }
    }
    json(StatusCode::OK, &stored.value)
}

#[cfg(test)]
#[path = "voicemail_api_tests.rs"]
mod tests;
