//! `/api/chat/conversations…`: the conversation API (issue 7, CHAT-1/6/7) — the contract with
//! the insurer's chatbot and the web widget. Keep these paths.
//!
//! Who may call:
//! - the `chatbot` machine client (an identity-provider token with [`Permission::UseConversationApi`]):
//!   starts conversations and runs those it started, posting as `customer` or `bot`;
//! - a widget visitor: starts a conversation without a token, gets a participant token
//!   (`linka_shared::chat::participant`) and uses it for that conversation only, as `customer`.
//!
//! Every write goes through the pure model (`linka_shared::chat`) and is stored with the
//! conversation's new state in one conditional transaction; a lost race is read again and
//! retried, so concurrent posts get distinct, gapless sequence numbers. A repeated `clientToken`
//! or `clientMessageId` answers what the first request made.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::{
    http::{header, HeaderValue, Method, StatusCode},
    Body, Request, Response,
};
use linka_shared::{
    admin_config::{ConfigEntity, Queue},
    auth::{AuthError, JwksSource, TokenValidator},
    authz::Permission,
    chat::{
        participant::{is_participant_token, ParticipantTokens},
        ChatChannel, ChatError, ChatMessage, Conversation, ConversationStatus, PostMessage,
        StartConversation, WebhookSchemes,
    },
    ports::{ChatWrite, ChatWriteError, ConfigStore, ConversationStore, Versioned},
    problem::{FieldError, Problem},
    time::format_rfc3339,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use routing::http_common::{
    auth_failure, bearer_token, body, internal, json, problem_response, query_parameter,
    request_path, required_body, segments_under, store_failure, valid_id, Operation,
};

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/chat/conversations"),
    ("GET", "/api/chat/conversations/{conversationId}"),
    ("GET", "/api/chat/conversations/{conversationId}/messages"),
    ("POST", "/api/chat/conversations/{conversationId}/messages"),
    ("POST", "/api/chat/conversations/{conversationId}/handoff"),
    ("POST", "/api/chat/conversations/{conversationId}/end"),
    ("POST", "/api/chat/conversations/{conversationId}/typing"),
];

/// A transcript page holds at most this many messages (`limit`, default [`DEFAULT_PAGE`]).
pub const MAX_PAGE: usize = 200;
pub const DEFAULT_PAGE: usize = 100;
/// A write that keeps losing races gives up after this many tries (503, retry later).
const MAX_TRIES: usize = 24;

/// What the handler needs.
pub struct ConversationDeps<J> {
    pub validator: TokenValidator<J>,
    pub tokens: ParticipantTokens,
    pub store: Arc<dyn ConversationStore>,
    /// The queues (their opening hours, CHAT-7).
    pub config: Arc<dyn ConfigStore>,
    /// The queue a handoff without `queueId` goes to.
    pub default_queue_id: String,
    /// `http://` webhooks too (the local stack only).
    pub webhooks: WebhookSchemes,
    /// Who hears of changes (the agents' desks).
    pub effects: crate::effects::ChatEffects,
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Start,
    Get(String),
    Messages(String),
    Post(String),
    Handoff(String),
    End(String),
    Typing(String),
}

type Resolution = routing::http_common::Resolution<Route>;

/// Whether this module serves the path.
pub fn handles(_method: &Method, path: &str) -> bool {
    path.contains("/api/chat/conversations")
}

fn resolve(method: &Method, path: &str) -> Resolution {
    let Some(segments) = segments_under(path, "/api/chat/conversations") else {
        return Resolution::NotFound;
    };
    let (get, post) = (method == Method::GET, method == Method::POST);
    let id = |s: &&str| (*s).to_owned();
    match segments.as_slice() {
        [] if post => Resolution::Found(Route::Start),
        [] => Resolution::MethodNotAllowed("POST"),
        [conversation] if get => Resolution::Found(Route::Get(id(conversation))),
        [_] => Resolution::MethodNotAllowed("GET"),
        [conversation, "messages"] if get => Resolution::Found(Route::Messages(id(conversation))),
        [conversation, "messages"] if post => Resolution::Found(Route::Post(id(conversation))),
        [_, "messages"] => Resolution::MethodNotAllowed("GET, POST"),
        [conversation, "handoff"] if post => Resolution::Found(Route::Handoff(id(conversation))),
        [conversation, "end"] if post => Resolution::Found(Route::End(id(conversation))),
        [conversation, "typing"] if post => Resolution::Found(Route::Typing(id(conversation))),
        [_, "handoff" | "end" | "typing"] => Resolution::MethodNotAllowed("POST"),
        _ => Resolution::NotFound,
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Caller {
    /// No token: a widget visitor starting a conversation.
    Anonymous,
    /// A widget visitor with the participant token of one conversation.
    Visitor { conversation_id: String },
    /// A machine client with the conversation API permission (`chatbot`).
    Bot { name: String },
}

impl Caller {
    fn started_by(&self) -> Option<&str> {
        match self {
            Caller::Bot { name } => Some(name),
            Caller::Anonymous | Caller::Visitor { .. } => None,
        }
    }

    /// Whether the caller may read and write the conversation.
    fn may_use(&self, conversation: &Conversation) -> bool {
        match self {
            Caller::Anonymous => false,
            Caller::Visitor { conversation_id } => *conversation_id == conversation.conversation_id,
            Caller::Bot { name } => conversation.started_by.as_deref() == Some(name.as_str()),
        }
    }
}

#[allow(clippy::result_large_err)]
async fn caller<J: JwksSource>(
    deps: &ConversationDeps<J>,
    request: &Request,
) -> Result<Caller, Response<Body>> {
    let token = match bearer_token(request.headers()) {
        Ok(token) => token,
        Err(AuthError::MissingToken) if request.headers().get(header::AUTHORIZATION).is_none() => {
            return Ok(Caller::Anonymous)
        }
        Err(error) => return Err(auth_failure(&error)),
    };
    if is_participant_token(token) {
        return match deps.tokens.verify(token) {
            Ok(conversation_id) => Ok(Caller::Visitor { conversation_id }),
            Err(_) => Err(auth_failure(&AuthError::Malformed(
                "the participant token is not valid or has expired",
            ))),
        };
    }
    let principal = deps
        .validator
        .validate(token)
        .await
        .map_err(|error| auth_failure(&error))?;
    principal
        .require(Permission::UseConversationApi)
        .map_err(|forbidden| {
            problem_response(Problem::forbidden(
                "forbidden",
                format!("This API is for the chatbot and the web widget ({forbidden})."),
            ))
        })?;
    Ok(Caller::Bot {
        name: principal.username,
    })
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn not_found(id: &str) -> Problem {
    Problem::not_found(
        "conversation-not-found",
        format!("There is no conversation {id}."),
    )
}

fn not_yours() -> Problem {
    Problem::forbidden(
        "conversation-not-yours",
        "This token is not for this conversation.",
    )
}

fn ended() -> Problem {
    Problem::conflict("conversation-ended", "The conversation has ended.")
}

fn busy() -> Problem {
    Problem::service_unavailable(
        "conversation-busy",
        "The conversation is changing too often right now; try again.",
    )
}

fn refused(error: ChatError) -> Problem {
    match error {
        ChatError::Ended => ended(),
        ChatError::OutOfHours { next_opening } => {
            let detail = match next_opening {
                Some(at) => format!(
                    "Nobody answers chats now; the chat opens at {}.",
                    format_rfc3339(at)
                ),
                None => "Nobody answers chats now.".to_owned(),
            };
            Problem::conflict("chat-closed", detail).with_extension(
                "nextOpening",
                next_opening.map_or(serde_json::Value::Null, |at| json!(format_rfc3339(at))),
            )
        }
        other => Problem::conflict("conversation-state", other.to_string()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Started<'a> {
    conversation_id: &'a str,
    participant_token: String,
    status: ConversationStatus,
    created_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Posted<'a> {
    message_id: &'a str,
    seq: u64,
    at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConversationView<'a> {
    conversation_id: &'a str,
    channel: ChatChannel,
    status: ConversationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_id: Option<&'a str>,
    /// Whether an agent holds it (never who: the customer sees the agent's messages only).
    agent_joined: bool,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<String>,
}

impl<'a> From<&'a Conversation> for ConversationView<'a> {
    fn from(c: &'a Conversation) -> Self {
        Self {
            conversation_id: &c.conversation_id,
            channel: c.channel,
            status: c.status,
            queue_id: c.queue_id.as_deref(),
            agent_joined: c.agent.is_some(),
            created_at: format_rfc3339(c.created_at),
            updated_at: format_rfc3339(c.updated_at),
            ended_at: c.ended_at.map(format_rfc3339),
        }
    }
}

/// One message as the customer's side sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageView<'a> {
    message_id: &'a str,
    seq: u64,
    from: linka_shared::chat::Sender,
    text: &'a str,
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_message_id: Option<&'a str>,
}

impl<'a> From<&'a ChatMessage> for MessageView<'a> {
    fn from(m: &'a ChatMessage) -> Self {
        Self {
            message_id: &m.message_id,
            seq: m.seq,
            from: m.from,
            text: &m.text,
            at: format_rfc3339(m.at),
            client_message_id: m.client_message_id.as_deref(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TranscriptView<'a> {
    messages: Vec<MessageView<'a>>,
    /// The `after` of the next page; `null` when this page reaches the end (then poll with the
    /// last message's `seq`).
    next: Option<String>,
    status: ConversationStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HandoffRequest {
    #[serde(default)]
    queue_id: Option<String>,
    /// Outside the queue's hours, leave the conversation as a message for when it opens
    /// (instead of 409 `chat-closed`).
    #[serde(default)]
    leave_message: Option<bool>,
}

fn with_location(mut response: Response<Body>, location: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

// ---------------------------------------------------------------------------------------------
// Handler
// ---------------------------------------------------------------------------------------------

/// Serves one request of the conversation API.
pub async fn handle<J: JwksSource>(deps: &ConversationDeps<J>, request: Request) -> Response<Body> {
    let route = match resolve(request.method(), &request_path(&request)).into_route() {
        Ok(route) => route,
        Err(response) => return response,
    };
    let caller = match caller(deps, &request).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let now = Utc::now();
    let outcome = match route {
        Route::Start => start(deps, &caller, &request, now).await,
        Route::Get(id) => {
            with_conversation(deps, &caller, &id, |c| {
                json(StatusCode::OK, &ConversationView::from(&c.value))
            })
            .await
        }
        Route::Messages(id) => transcript(deps, &caller, &id, &request).await,
        Route::Post(id) => post(deps, &caller, &id, &request, now).await,
        Route::Handoff(id) => handoff(deps, &caller, &id, &request, now).await,
        Route::End(id) => end(deps, &caller, &id, now).await,
        Route::Typing(id) => typing(deps, &caller, &id).await,
    };
    outcome.unwrap_or_else(problem_response)
}

/// The conversation the caller may use, or the problem.
async fn load<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    id: &str,
) -> Result<Versioned<Conversation>, Problem> {
    if caller == &Caller::Anonymous {
        return Err(Problem::unauthorized(
            "missing-token",
            "Use the participant token of the conversation (or the chatbot's token).",
        ));
    }
    if !valid_id(id) {
        return Err(not_found(id));
    }
    let conversation = deps
        .store
        .get(id)
        .await
        .map_err(|error| store_failure("read a conversation", error))?
        .ok_or_else(|| not_found(id))?;
    if !caller.may_use(&conversation.value) {
        return Err(not_yours());
    }
    Ok(conversation)
}

async fn with_conversation<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    id: &str,
    then: impl FnOnce(Versioned<Conversation>) -> Operation,
) -> Operation {
    then(load(deps, caller, id).await?)
}

async fn start<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    request: &Request,
    now: DateTime<Utc>,
) -> Operation {
    let mut start: StartConversation = required_body(request)?;
    let mut errors = start.validate_with(deps.webhooks);
    if start.webhook_url.is_some() && !matches!(caller, Caller::Bot { .. }) {
        errors.push(FieldError::new(
            "webhookUrl",
            "only a bot signed in as a machine client may receive webhooks",
        ));
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let started_by = caller.started_by();
    let existing = deps
        .store
        .by_client_token(started_by, &start.client_token)
        .await
        .map_err(|error| store_failure("find a conversation by client token", error))?;
    let conversation = match existing {
        Some(existing) => existing.value,
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            let message_id = uuid::Uuid::new_v4().to_string();
            let (mut conversation, first) =
                Conversation::start(&id, &start, ChatChannel::Web, &message_id, now);
            conversation.started_by = started_by.map(str::to_owned);
            let write = ChatWrite {
                conversation: Versioned {
                    value: conversation.clone(),
                    version: 0,
                },
                messages: first.into_iter().collect(),
                alias: None,
                load: None,
            };
            match deps.store.save(&write).await {
                Ok(()) => conversation,
                // The same token raced in at the same moment: its conversation.
                Err(ChatWriteError::DuplicateClientToken(existing)) => {
                    deps.store
                        .get(&existing)
                        .await
                        .map_err(|error| store_failure("read a conversation", error))?
                        .ok_or_else(|| not_found(&existing))?
                        .value
                }
                Err(error) => return Err(internal("start a conversation", &error)),
            }
        }
    };
    let token = deps
        .tokens
        .issue(&conversation.conversation_id, now)
        .map_err(|error| internal("sign a participant token", &error))?;
    let response = json(
        StatusCode::CREATED,
        &Started {
            conversation_id: &conversation.conversation_id,
            participant_token: token,
            status: conversation.status,
            created_at: format_rfc3339(conversation.created_at),
        },
    )?;
    Ok(with_location(
        response,
        &format!("/api/chat/conversations/{}", conversation.conversation_id),
    ))
}

fn posted(message: &ChatMessage) -> Operation {
    json(
        StatusCode::CREATED,
        &Posted {
            message_id: &message.message_id,
            seq: message.seq,
            at: format_rfc3339(message.at),
        },
    )
}

async fn post<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    id: &str,
    request: &Request,
    now: DateTime<Utc>,
) -> Operation {
    let message: PostMessage = required_body(request)?;
    let errors = message.validate();
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    if message.from == Some(linka_shared::chat::Sender::Bot)
        && !matches!(caller, Caller::Bot { .. })
    {
        return Err(Problem::forbidden(
            "bot-only",
            "Only the chatbot may post as the bot.",
        ));
    }
    let mut conversation = load(deps, caller, id).await?;
    if let Some(first) = deps
        .store
        .by_client_message_id(id, &message.client_message_id)
        .await
        .map_err(|error| store_failure("find a message by client id", error))?
    {
        return posted(&first);
    }
    for _ in 0..MAX_TRIES {
        let mut changed = conversation.value.clone();
        let stored = changed
            .post(&uuid::Uuid::new_v4().to_string(), &message, now)
            .map_err(refused)?;
        let write = ChatWrite {
            conversation: Versioned {
                value: changed,
                version: conversation.version,
            },
            messages: vec![stored.clone()],
            alias: None,
            load: None,
        };
        match deps.store.save(&write).await {
            Ok(()) => {
                deps.effects
                    .messages(&write.conversation.value, std::slice::from_ref(&stored))
                    .await;
                return posted(&stored);
            }
            Err(ChatWriteError::DuplicateClientMessage(_)) => {
                let first = deps
                    .store
                    .by_client_message_id(id, &message.client_message_id)
                    .await
                    .map_err(|error| store_failure("find a message by client id", error))?
                    .ok_or_else(Problem::internal)?;
                return posted(&first);
            }
            Err(ChatWriteError::Conflict) => {
                conversation = load(deps, caller, id).await?;
            }
            Err(error) => return Err(internal("post a message", &error)),
        }
    }
    Err(busy())
}

async fn transcript<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    id: &str,
    request: &Request,
) -> Operation {
    let after = match query_parameter(request, "after") {
        None => 0,
        Some(text) => text.parse::<u64>().map_err(|_| {
            Problem::invalid_parameter("after", "must be a message's seq (0 for the start)")
        })?,
    };
    let limit = match query_parameter(request, "limit") {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_PAGE).contains(limit))
            .ok_or_else(|| Problem::invalid_parameter("limit", "must be 1 to 200"))?,
    };
    let conversation = load(deps, caller, id).await?;
    let mut messages = deps
        .store
        .messages(id, after, limit + 1)
        .await
        .map_err(|error| store_failure("read a transcript", error))?;
    let more = messages.len() > limit;
    messages.truncate(limit);
    let next = more
        .then(|| messages.last().map(|m| m.seq.to_string()))
        .flatten();
    json(
        StatusCode::OK,
        &TranscriptView {
            messages: messages.iter().map(MessageView::from).collect(),
            next,
            status: conversation.value.status,
        },
    )
}

/// The queue's configuration, or a 422 naming `queueId`.
async fn queue<J>(deps: &ConversationDeps<J>, queue_id: &str) -> Result<Queue, Problem> {
    let unknown = || {
        Problem::unprocessable(vec![FieldError::new(
            "queueId",
            format!("there is no queue {queue_id}"),
        )])
    };
    if !valid_id(queue_id) {
        return Err(unknown());
    }
    let document = deps
        .config
        .get(Queue::COLLECTION, queue_id)
        .await
        .map_err(|error| store_failure("read a queue", error))?
        .ok_or_else(unknown)?;
    serde_json::from_value(document).map_err(|error| internal("read a queue", &error))
}

/// Applies `change` to the conversation and stores it with the message it made, re-reading
/// and retrying when another writer got there first. The agents hear of a stored change.
async fn change<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    id: &str,
    mut change: impl FnMut(&mut Conversation) -> Result<Option<ChatMessage>, Problem>,
) -> Result<Conversation, Problem> {
    let mut conversation = load(deps, caller, id).await?;
    for _ in 0..MAX_TRIES {
        let mut changed = conversation.value.clone();
        let Some(message) = change(&mut changed)? else {
            return Ok(changed);
        };
        let queue = changed.queue_id.clone();
        let write = ChatWrite {
            conversation: Versioned {
                value: changed.clone(),
                version: conversation.version,
            },
            messages: vec![message.clone()],
            alias: None,
            load: None,
        };
        match deps.store.save(&write).await {
            Ok(()) => {
                let queues: Vec<&str> = match changed.status {
                    ConversationStatus::Queued => queue.iter().map(String::as_str).collect(),
                    _ => Vec::new(),
                };
                deps.effects.status(&changed, &queues, &[], false).await;
                deps.effects
                    .messages(&changed, std::slice::from_ref(&message))
                    .await;
                return Ok(changed);
            }
            Err(ChatWriteError::Conflict) => conversation = load(deps, caller, id).await?,
            Err(error) => return Err(internal("change a conversation", &error)),
        }
    }
    Err(busy())
}

async fn handoff<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    id: &str,
    request: &Request,
    now: DateTime<Utc>,
) -> Operation {
    let wanted: HandoffRequest = body(request, true)?.unwrap_or_default();
    let queue_id = match wanted.queue_id {
        Some(queue_id) => queue_id,
        None => deps
            .effects
            .settings()
            .await
            .queue_for(ChatChannel::Web, &deps.default_queue_id),
    };
    // Checked first: the caller learns about its own conversation before the queue.
    load(deps, caller, id).await?;
    let queue = queue(deps, &queue_id).await?;
    let offline = wanted.leave_message == Some(true) && !queue.schedule.is_open(now);
    let changed = change(deps, caller, id, |conversation| {
        let message_id = uuid::Uuid::new_v4().to_string();
        if offline {
            conversation.leave_message(&queue_id, &message_id, now)
        } else {
            conversation.hand_off(&queue_id, &queue.schedule, &message_id, now)
        }
        .map_err(refused)
    })
    .await?;
    json(
        StatusCode::ACCEPTED,
        &json!({"status": changed.status, "queueId": changed.queue_id, "leftMessage": offline}),
    )
}

async fn end<J>(
    deps: &ConversationDeps<J>,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Operation {
    let changed = change(deps, caller, id, |conversation| {
        Ok(conversation.end(&uuid::Uuid::new_v4().to_string(), now))
    })
    .await?;
    json(StatusCode::OK, &ConversationView::from(&changed))
}

/// `POST …/typing`: the customer (or the bot for them) is typing; the agents holding the chat see
/// it for a few seconds. 204 also when no agent holds it yet; 409 once it has ended.
async fn typing<J>(deps: &ConversationDeps<J>, caller: &Caller, id: &str) -> Operation {
    let conversation = load(deps, caller, id).await?;
    if conversation.value.status == ConversationStatus::Ended {
        return Err(refused(ChatError::Ended));
    }
    deps.effects
        .typing(
            &conversation.value,
            linka_shared::chat::Sender::Customer,
            None,
        )
        .await;
    Ok(routing::http_common::respond(
        StatusCode::NO_CONTENT,
        "application/json",
        String::new(),
    ))
}

#[cfg(test)]
#[path = "conversation_api_tests.rs"]
mod tests;
