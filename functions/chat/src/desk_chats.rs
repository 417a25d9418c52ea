//! `/api/desk/chats…`: conversations at the agent desk (issue 7, CHAT-2/3). An agent sees the
//! chats waiting in their queues and the ones they hold; takes a waiting one while under their
//! chat limit ([`DEFAULT_CHATS_PER_AGENT`] unless configured); writes, shows they are typing,
//! transfers to a colleague or a queue, invites a supervisor, ends. Calls are independent: an
//! agent holding chats still gets calls (CHAT-3).
//!
//! Supervisors and admins see every queue's waiting chats and may read any transcript. Every
//! change is the pure model's (`linka_shared::chat`) stored with a conditional write: two agents
//! taking one chat at once cannot both win (the loser gets 409 `chat-taken`).

use std::{collections::BTreeSet, sync::Arc};

use chrono::{DateTime, Utc};
use lambda_http::{
    http::{Method, StatusCode},
    Body, Request, Response,
};
use linka_shared::{
    admin_config::{members_collection, ConfigEntity, Queue},
    auth::{JwksSource, Principal, Role, TokenValidator},
    authz::Permission,
    chat::{
        channels::{address_key, MAX_SMS_CHARS, MAX_SUBJECT_CHARS},
        mail_templates::MailTemplate,
        AgentMessage, ChatChannel, ChatCustomer, ChatError, ChatMessage, Conversation,
        ConversationStatus, Sender, SocialAddress, DEFAULT_CHATS_PER_AGENT,
    },
    contact_records::conversation_contact_id,
    identifiers::normalize_czech_phone,
    paging::all_pages,
    ports::{
        AliasClaim, ChatWrite, ChatWriteError, ConfigStore, ConversationStore, MailObjects,
        UserDirectory, Versioned,
    },
    problem::{FieldError, Problem},
    time::format_rfc3339,
    users::{is_valid_username, PageLimit, User},
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use routing::http_common::{
    authenticate, internal, json, problem_response, query_parameter, request_path, required_body,
    segments_under, store_failure, valid_id, Operation,
};

use crate::{
    effects::ChatEffects,
    take::{take_chat, TakeError},
};

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/desk/chats"),
    ("GET", "/api/desk/chats/{conversationId}/messages"),
    ("POST", "/api/desk/chats/{conversationId}/messages"),
    ("POST", "/api/desk/chats/{conversationId}/accept"),
    ("POST", "/api/desk/chats/{conversationId}/transfer"),
    ("POST", "/api/desk/chats/{conversationId}/invite"),
    ("POST", "/api/desk/chats/{conversationId}/typing"),
    ("POST", "/api/desk/chats/{conversationId}/end"),
    ("GET", "/api/desk/mail-templates"),
    ("POST", "/api/desk/chats/sms"),
    ("POST", "/api/desk/chats/email"),
    (
        "GET",
        "/api/desk/chats/{conversationId}/messages/{seq}/attachments/{index}",
    ),
];

/// How long an attachment's download link works.
const ATTACHMENT_LINK: std::time::Duration = std::time::Duration::from_secs(300);

const MAX_TRIES: usize = 24;

/// What the handler needs.
pub struct DeskChatDeps<J> {
    pub validator: TokenValidator<J>,
    pub store: Arc<dyn ConversationStore>,
    pub config: Arc<dyn ConfigStore>,
    pub users: Arc<dyn UserDirectory>,
    pub effects: ChatEffects,
    /// Chats one agent holds at once (CHAT-2).
    pub chats_per_agent: u8,
    /// E-mail attachments (download links); none: attachments cannot be opened.
    pub attachments: Option<Arc<dyn MailObjects>>,
}

impl<J> DeskChatDeps<J> {
    pub fn chats_per_agent_or_default(value: Option<u8>) -> u8 {
        value.filter(|n| *n > 0).unwrap_or(DEFAULT_CHATS_PER_AGENT)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Accept,
    Transfer,
    Invite,
    Typing,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    List,
    Messages(String),
    Post(String),
    Act(String, Action),
    /// An agent writes first: a new SMS or e-mail conversation.
    Open(ChatChannel),
    Attachment(String, String, String),
    MailTemplates,
}

type Resolution = routing::http_common::Resolution<Route>;

/// Whether this module serves the path.
pub fn handles(_method: &Method, path: &str) -> bool {
    path.contains("/api/desk/chats") || path.ends_with("/api/desk/mail-templates")
}

fn resolve(method: &Method, path: &str) -> Resolution {
    if path.ends_with("/api/desk/mail-templates") {
        return if method == Method::GET {
            Resolution::Found(Route::MailTemplates)
        } else {
            Resolution::MethodNotAllowed("GET")
        };
    }
    let Some(segments) = segments_under(path, "/api/desk/chats") else {
        return Resolution::NotFound;
    };
    let (get, post) = (method == Method::GET, method == Method::POST);
    let action = |name: &str| {
        Some(match name {
            "accept" => Action::Accept,
            "transfer" => Action::Transfer,
            "invite" => Action::Invite,
            "typing" => Action::Typing,
            "end" => Action::End,
            _ => return None,
        })
    };
    match segments.as_slice() {
        [] if get => Resolution::Found(Route::List),
        [] => Resolution::MethodNotAllowed("GET"),
        ["sms"] if post => Resolution::Found(Route::Open(ChatChannel::Sms)),
        ["email"] if post => Resolution::Found(Route::Open(ChatChannel::Email)),
        ["sms" | "email"] => Resolution::MethodNotAllowed("POST"),
        [id, "messages", seq, "attachments", index] if get => Resolution::Found(Route::Attachment(
            (*id).to_owned(),
            (*seq).to_owned(),
            (*index).to_owned(),
        )),
        [_, "messages", _, "attachments", _] => Resolution::MethodNotAllowed("GET"),
        [id, "messages"] if get => Resolution::Found(Route::Messages((*id).to_owned())),
        [id, "messages"] if post => Resolution::Found(Route::Post((*id).to_owned())),
        [_, "messages"] => Resolution::MethodNotAllowed("GET, POST"),
        [id, name] => match action(name) {
            Some(action) if post => Resolution::Found(Route::Act((*id).to_owned(), action)),
            Some(_) => Resolution::MethodNotAllowed("POST"),
            None => Resolution::NotFound,
        },
        _ => Resolution::NotFound,
    }
}

// ---------------------------------------------------------------------------------------------
// Views and bodies
// ---------------------------------------------------------------------------------------------

/// A conversation in the desk's lists.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatSummary<'a> {
    conversation_id: &'a str,
    /// Its contact record (notes, category, client: `/api/desk/contacts/{contactId}…`).
    contact_id: String,
    channel: ChatChannel,
    status: ConversationStatus,
    customer: &'a ChatCustomer,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    invited: &'a BTreeSet<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    /// Social: the network, page and user.
    #[serde(skip_serializing_if = "Option::is_none")]
    social: Option<&'a SocialAddress>,
    /// The `seq` of the newest message (0: none yet).
    last_seq: u64,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Conversation> for ChatSummary<'a> {
    fn from(c: &'a Conversation) -> Self {
        Self {
            conversation_id: &c.conversation_id,
            contact_id: conversation_contact_id(&c.conversation_id),
            channel: c.channel,
            status: c.status,
            customer: &c.customer,
            attributes: &c.attributes,
            queue_id: c.queue_id.as_deref(),
            agent: c.agent.as_deref(),
            invited: &c.invited,
            subject: c.subject.as_deref(),
            social: c.social.as_ref(),
            last_seq: c.next_seq.saturating_sub(1),
            created_at: format_rfc3339(c.created_at),
            updated_at: format_rfc3339(c.updated_at),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatList<'a> {
    /// The chats the caller holds, oldest first.
    held: Vec<ChatSummary<'a>>,
    /// The chats waiting in the caller's queues (every queue for supervisors), oldest first.
    waiting: Vec<ChatSummary<'a>>,
    /// How many chats the caller may hold at once.
    chat_limit: u8,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TransferRequest {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    queue_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InviteRequest {
    username: String,
}

fn not_found(id: &str) -> Problem {
    Problem::not_found(
        "conversation-not-found",
        format!("There is no conversation {id}."),
    )
}

fn refused(error: ChatError) -> Problem {
    match error {
        ChatError::Ended => Problem::conflict("conversation-ended", "The conversation has ended."),
        ChatError::NotQueued => Problem::conflict(
            "chat-taken",
            "The chat is no longer waiting; somebody took it.",
        ),
        ChatError::NotHolder(_) => Problem::forbidden(
            "not-your-chat",
            "Only the agent who holds the chat may do this.",
        ),
        ChatError::AtChatLimit { held, .. } => Problem::conflict(
            "chat-limit",
            format!("{held} chats are held already, the most allowed."),
        ),
        ChatError::OutOfHours { .. } => Problem::conflict("chat-closed", error.to_string()),
    }
}

fn busy() -> Problem {
    Problem::service_unavailable(
        "conversation-busy",
        "The conversation is changing too often right now; try again.",
    )
}

fn oversees(principal: &Principal) -> bool {
    principal.roles.contains(&Role::Supervisor) || principal.roles.contains(&Role::Admin)
}

// ---------------------------------------------------------------------------------------------
// Handler
// ---------------------------------------------------------------------------------------------

/// Serves one request of the desk's chat API.
pub async fn handle<J: JwksSource>(deps: &DeskChatDeps<J>, request: Request) -> Response<Body> {
    let route = match resolve(request.method(), &request_path(&request)).into_route() {
        Ok(route) => route,
        Err(response) => return response,
    };
    let principal = match authenticate(&deps.validator, &request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    if let Err(forbidden) = principal.require(Permission::WorkAtDesk) {
        return problem_response(Problem::forbidden("forbidden", forbidden.to_string()));
    }
    let now = Utc::now();
    let outcome = match route {
        Route::List => list(deps, &principal).await,
        Route::Messages(id) => transcript(deps, &principal, &id, &request).await,
        Route::Post(id) => post(deps, &principal, &id, &request, now).await,
        Route::Act(id, Action::Accept) => accept(deps, &principal, &id, now).await,
        Route::Act(id, Action::Transfer) => transfer(deps, &principal, &id, &request, now).await,
        Route::Act(id, Action::Invite) => invite(deps, &principal, &id, &request, now).await,
        Route::Act(id, Action::Typing) => typing(deps, &principal, &id).await,
        Route::Act(id, Action::End) => end(deps, &principal, &id, now).await,
        Route::Open(channel) => open(deps, &principal, channel, &request, now).await,
        Route::Attachment(id, seq, index) => attachment(deps, &principal, &id, &seq, &index).await,
        Route::MailTemplates => mail_templates(deps).await,
    };
    outcome.unwrap_or_else(problem_response)
}

/// The active user `username` (a malformed name is nobody).
async fn active_user<J>(deps: &DeskChatDeps<J>, username: &str) -> Result<Option<User>, Problem> {
    if !is_valid_username(username) {
        return Ok(None);
    }
    let user = deps
        .users
        .get(username)
        .await
        .map_err(|error| store_failure("read a user", error))?;
    Ok(user.filter(|user| user.active))
}

async fn is_member<J>(
    deps: &DeskChatDeps<J>,
    queue_id: &str,
    username: &str,
) -> Result<bool, Problem> {
    Ok(deps
        .config
        .get(&members_collection(queue_id), username)
        .await
        .map_err(|error| store_failure("read a queue member", error))?
        .is_some())
}

/// The queues whose waiting chats the caller sees.
async fn my_queues<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
) -> Result<Vec<String>, Problem> {
    let queues = all_pages(|cursor| {
        deps.config
            .list(Queue::COLLECTION, PageLimit::DEFAULT, cursor)
    })
    .await
    .map_err(|error| store_failure("list queues", error))?;
    let ids: Vec<String> = queues
        .iter()
        .filter_map(|queue| queue.get("queueId")?.as_str().map(str::to_owned))
        .collect();
    if oversees(principal) {
        return Ok(ids);
    }
    let mut mine = Vec::new();
    for id in ids {
        if is_member(deps, &id, &principal.username).await? {
            mine.push(id);
        }
    }
    Ok(mine)
}

async fn list<J>(deps: &DeskChatDeps<J>, principal: &Principal) -> Operation {
    let held = deps
        .store
        .held_by(&principal.username)
        .await
        .map_err(|error| store_failure("list held chats", error))?;
    let mut waiting = Vec::new();
    for queue_id in my_queues(deps, principal).await? {
        waiting.extend(
            deps.store
                .queued(&queue_id)
                .await
                .map_err(|error| store_failure("list waiting chats", error))?,
        );
    }
    waiting.sort_by_key(|c| c.value.updated_at);
    json(
        StatusCode::OK,
        &ChatList {
            held: held.iter().map(|c| ChatSummary::from(&c.value)).collect(),
            waiting: waiting
                .iter()
                .map(|c| ChatSummary::from(&c.value))
                .collect(),
            chat_limit: chat_limit(deps).await,
        },
    )
}

/// How many conversations one agent may hold: the chat settings', else the deployment's.
async fn chat_limit<J>(deps: &DeskChatDeps<J>) -> u8 {
    deps.effects
        .settings()
        .await
        .chats_per_agent_or(deps.chats_per_agent)
}

async fn load<J>(deps: &DeskChatDeps<J>, id: &str) -> Result<Versioned<Conversation>, Problem> {
    if !valid_id(id) {
        return Err(not_found(id));
    }
    deps.store
        .get(id)
        .await
        .map_err(|error| store_failure("read a conversation", error))?
        .ok_or_else(|| not_found(id))
}

/// Whether the caller may read the conversation: its agents, supervisors, and the members of
/// the queue it waits in.
async fn may_read<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    conversation: &Conversation,
) -> Result<bool, Problem> {
    if conversation.is_participant(&principal.username) || oversees(principal) {
        return Ok(true);
    }
    match (&conversation.status, &conversation.queue_id) {
        (ConversationStatus::Queued, Some(queue_id)) => {
            is_member(deps, queue_id, &principal.username).await
        }
        _ => Ok(false),
    }
}

async fn transcript<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    id: &str,
    request: &Request,
) -> Operation {
    let after = match query_parameter(request, "after") {
        None => 0,
        Some(text) => text.parse::<u64>().map_err(|_| {
            Problem::invalid_parameter("after", "must be a message's seq (0 for the start)")
        })?,
    };
    let conversation = load(deps, id).await?;
    if !may_read(deps, principal, &conversation.value).await? {
        return Err(Problem::forbidden(
            "not-your-chat",
            "The chat is another agent's.",
        ));
    }
    let messages = deps
        .store
        .messages(id, after, crate::conversation_api::MAX_PAGE)
        .await
        .map_err(|error| store_failure("read a transcript", error))?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "conversation": ChatSummary::from(&conversation.value),
            "messages": messages,
        }),
    )
}

/// Applies `change` and stores it with the message it made, re-reading on a lost race. The
/// stored conversation and message.
async fn change<J>(
    deps: &DeskChatDeps<J>,
    id: &str,
    mut change: impl FnMut(&mut Conversation) -> Result<Option<ChatMessage>, Problem>,
) -> Result<(Conversation, Option<ChatMessage>), Problem> {
    let mut conversation = load(deps, id).await?;
    for _ in 0..MAX_TRIES {
        let mut changed = conversation.value.clone();
        let message = change(&mut changed)?;
        if changed == conversation.value {
            return Ok((changed, None));
        }
        let write = ChatWrite {
            conversation: Versioned {
                value: changed.clone(),
                version: conversation.version,
            },
            messages: message.clone().into_iter().collect(),
            alias: None,
            load: None,
        };
        match deps.store.save(&write).await {
            Ok(()) => return Ok((changed, message)),
            Err(ChatWriteError::Conflict) => conversation = load(deps, id).await?,
            Err(ChatWriteError::DuplicateClientMessage(first)) => {
                return Err(Problem::conflict(
                    "duplicate-message",
                    format!("The message was stored already as {first}."),
                ))
            }
            Err(error) => return Err(internal("change a conversation", &error)),
        }
    }
    Err(busy())
}

async fn post<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    id: &str,
    request: &Request,
    now: DateTime<Utc>,
) -> Operation {
    let message: AgentMessage = required_body(request)?;
    let errors = message.validate();
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let first = deps
        .store
        .by_client_message_id(id, &message.client_message_id)
        .await
        .map_err(|error| store_failure("find a message by client id", error))?;
    let stored = match first {
        Some(first) => first,
        None => {
            let result = change(deps, id, |conversation| {
                if conversation.channel == ChatChannel::Sms
                    && message.text.chars().count() > MAX_SMS_CHARS
                {
                    return Err(Problem::unprocessable(vec![FieldError::new(
                        "text",
                        format!("an SMS must be at most {MAX_SMS_CHARS} characters"),
                    )]));
                }
                conversation
                    .post_as_agent(
                        &uuid::Uuid::new_v4().to_string(),
                        &principal.username,
                        &message.text,
                        Some(&message.client_message_id),
                        now,
                    )
                    .map(Some)
                    .map_err(refused)
            })
            .await;
            match result {
                Ok((conversation, Some(stored))) => {
                    deps.effects
                        .messages(&conversation, std::slice::from_ref(&stored))
                        .await;
                    stored
                }
                Ok((_, None)) => return Err(Problem::internal()),
                Err(problem) if problem.code == "duplicate-message" => deps
                    .store
                    .by_client_message_id(id, &message.client_message_id)
                    .await
                    .map_err(|error| store_failure("find a message by client id", error))?
                    .ok_or_else(Problem::internal)?,
                Err(problem) => return Err(problem),
            }
        }
    };
    json(StatusCode::CREATED, &stored)
}

async fn accept<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    id: &str,
    now: DateTime<Utc>,
) -> Operation {
    let current = load(deps, id).await?;
    if let (ConversationStatus::Queued, Some(queue_id)) =
        (&current.value.status, &current.value.queue_id)
    {
        if !oversees(principal) && !is_member(deps, queue_id, &principal.username).await? {
            return Err(Problem::forbidden(
                "not-a-member",
                "The chat waits in a queue you do not work.",
            ));
        }
    }
    let conversation = take(deps, &principal.username, id, now).await?;
    let queue = conversation.queue_id.clone();
    deps.effects
        .status(
            &conversation,
            &queue.iter().map(String::as_str).collect::<Vec<_>>(),
            &[],
            true,
        )
        .await;
    json(StatusCode::OK, &ChatSummary::from(&conversation))
}

/// The agent takes the chat under their limit (CHAT-2, [`take_chat`]).
async fn take<J>(
    deps: &DeskChatDeps<J>,
    username: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Conversation, Problem> {
    let limit = chat_limit(deps).await;
    take_chat(deps.store.as_ref(), username, id, limit, now)
        .await
        .map_err(|error| match error {
            TakeError::NotFound(id) => not_found(&id),
            TakeError::Refused(error) => refused(error),
            TakeError::Busy => busy(),
            TakeError::Read(error) => store_failure("read a chat to take", error),
            TakeError::Write(error) => internal("take a chat", &error),
        })
}

async fn transfer<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    id: &str,
    request: &Request,
    now: DateTime<Utc>,
) -> Operation {
    let wanted: TransferRequest = required_body(request)?;
    match (&wanted.username, &wanted.queue_id) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "username",
                "give either username or queueId",
            )]))
        }
        (Some(username), None) => {
            let works = active_user(deps, username).await?.is_some_and(|user| {
                user.roles
                    .iter()
                    .any(|role| role.grants(Permission::WorkAtDesk))
            });
            if !works || username == &principal.username {
                return Err(Problem::unprocessable(vec![FieldError::new(
                    "username",
                    "must be another active agent",
                )]));
            }
            let held = deps
                .store
                .held_by(username)
                .await
                .map_err(|error| store_failure("list held chats", error))?
                .len();
            if held >= usize::from(chat_limit(deps).await) {
                return Err(refused(ChatError::AtChatLimit {
                    agent: username.clone(),
                    held,
                }));
            }
        }
        (None, Some(queue_id)) => {
            let exists = valid_id(queue_id)
                && deps
                    .config
                    .get(Queue::COLLECTION, queue_id)
                    .await
                    .map_err(|error| store_failure("read a queue", error))?
                    .is_some();
            if !exists {
                return Err(Problem::unprocessable(vec![FieldError::new(
                    "queueId",
                    format!("there is no queue {queue_id}"),
                )]));
            }
        }
    }
    let (conversation, message) = change(deps, id, |conversation| {
        conversation
            .transfer(
                &principal.username,
                wanted.username.as_deref(),
                wanted.queue_id.as_deref(),
                &uuid::Uuid::new_v4().to_string(),
                now,
            )
            .map(Some)
            .map_err(refused)
    })
    .await?;
    let queue = conversation.queue_id.clone();
    let queues: Vec<&str> = match conversation.status {
        ConversationStatus::Queued => queue.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    deps.effects
        .status(&conversation, &queues, &[principal.username.as_str()], true)
        .await;
    deps.effects
        .messages(&conversation, &message.into_iter().collect::<Vec<_>>())
        .await;
    json(StatusCode::OK, &ChatSummary::from(&conversation))
}

async fn invite<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    id: &str,
    request: &Request,
    now: DateTime<Utc>,
) -> Operation {
    let wanted: InviteRequest = required_body(request)?;
    let supervises = active_user(deps, &wanted.username)
        .await?
        .is_some_and(|user| {
            user.roles.contains(&Role::Supervisor) || user.roles.contains(&Role::Admin)
        });
    if !supervises {
        return Err(Problem::unprocessable(vec![FieldError::new(
            "username",
            "must be an active supervisor",
        )]));
    }
    let (conversation, _) = change(deps, id, |conversation| {
        conversation
            .invite(&principal.username, &wanted.username, now)
            .map(|()| None)
            .map_err(refused)
    })
    .await?;
    deps.effects.status(&conversation, &[], &[], false).await;
    json(StatusCode::OK, &ChatSummary::from(&conversation))
}

async fn typing<J>(deps: &DeskChatDeps<J>, principal: &Principal, id: &str) -> Operation {
    let conversation = load(deps, id).await?;
    if !conversation.value.is_participant(&principal.username) {
        return Err(refused(ChatError::NotHolder(principal.username.clone())));
    }
    deps.effects
        .typing(
            &conversation.value,
            Sender::Agent,
            Some(&principal.username),
        )
        .await;
    Ok(routing::http_common::respond(
        StatusCode::NO_CONTENT,
        "application/json",
        String::new(),
    ))
}

async fn end<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    id: &str,
    now: DateTime<Utc>,
) -> Operation {
    let current = load(deps, id).await?;
    if current.value.status != ConversationStatus::Ended
        && current.value.agent.as_deref() != Some(principal.username.as_str())
        && !oversees(principal)
    {
        return Err(refused(ChatError::NotHolder(principal.username.clone())));
    }
    let (conversation, message) = change(deps, id, |conversation| {
        Ok(conversation.end(&uuid::Uuid::new_v4().to_string(), now))
    })
    .await?;
    if let Some(message) = message {
        deps.effects.status(&conversation, &[], &[], true).await;
        deps.effects.messages(&conversation, &[message]).await;
    }
    json(StatusCode::OK, &ChatSummary::from(&conversation))
}

#[cfg(test)]
#[path = "desk_chats_tests.rs"]
mod tests;

// ---------------------------------------------------------------------------------------------
// SMS and e-mail an agent starts (OMNI-1/2, DESK-15)
// ---------------------------------------------------------------------------------------------

/// `POST /api/desk/chats/sms` and `…/email`: the first message of a new conversation.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenRequest {
    /// The phone number (SMS) or e-mail address.
    to: String,
    text: String,
    /// The desk's idempotency key: a repeat returns what the first request made.
    client_message_id: String,
    /// E-mail: required.
    #[serde(default)]
    subject: Option<String>,
    /// The customer's name, when known (from the client card).
    #[serde(default)]
    name: Option<String>,
}

fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
}

/// The request's customer and subject, or every problem with it.
fn opening(
    channel: ChatChannel,
    request: &OpenRequest,
) -> Result<(ChatCustomer, Option<String>), Vec<FieldError>> {
    let mut errors = AgentMessage {
        text: request.text.clone(),
        client_message_id: request.client_message_id.clone(),
    }
    .validate();
    let mut customer = ChatCustomer::default();
    if let Some(name) = &request.name {
        if name.trim().is_empty()
            || name.chars().count() > linka_shared::chat::MAX_NAME_CHARS
            || has_control(name)
        {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
        } else {
            customer.name = Some(name.trim().to_owned());
        }
    }
    let mut subject = None;
    match channel {
        ChatChannel::Sms => {
            match normalize_czech_phone(&request.to) {
                Ok(number) => customer.phone = Some(number),
                Err(_) => errors.push(FieldError::new("to", "must be a phone number")),
            }
            if request.text.chars().count() > MAX_SMS_CHARS {
                errors.push(FieldError::new(
                    "text",
                    format!("an SMS must be at most {MAX_SMS_CHARS} characters"),
                ));
            }
            if request.subject.is_some() {
                errors.push(FieldError::new("subject", "an SMS has no subject"));
            }
        }
        _ => {
            let to = request.to.trim().to_lowercase();
            if linka_shared::users::is_valid_email(&to) {
                customer.email = Some(to);
            } else {
                errors.push(FieldError::new("to", "must be an e-mail address"));
            }
            match request.subject.as_deref().map(str::trim) {
                Some(text)
                    if !text.is_empty()
                        && text.chars().count() <= MAX_SUBJECT_CHARS
                        && !text.chars().any(char::is_control) =>
                {
                    subject = Some(text.to_owned());
                }
                _ => errors.push(FieldError::new(
                    "subject",
                    format!("must be 1 to {MAX_SUBJECT_CHARS} characters on one line"),
                )),
            }
        }
    }
    if errors.is_empty() {
        Ok((customer, subject))
    } else {
        Err(errors)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Opened<'a> {
    conversation: ChatSummary<'a>,
    message: &'a ChatMessage,
}

async fn opened<J>(
    deps: &DeskChatDeps<J>,
    conversation: &Conversation,
    status: StatusCode,
) -> Operation {
    let messages = deps
        .store
        .messages(&conversation.conversation_id, 0, 1)
        .await
        .map_err(|error| store_failure("read a transcript", error))?;
    let message = messages.first().ok_or_else(Problem::internal)?;
    json(
        status,
        &Opened {
            conversation: ChatSummary::from(conversation),
            message,
        },
    )
}

async fn open<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    channel: ChatChannel,
    request: &Request,
    now: DateTime<Utc>,
) -> Operation {
    let body: OpenRequest = required_body(request)?;
    let (customer, subject) = opening(channel, &body).map_err(Problem::unprocessable)?;
    let username = principal.username.as_str();
    let address = match channel {
        ChatChannel::Sms => customer.phone.clone(),
        _ => customer.email.clone(),
    }
    .unwrap_or_default();
    let alias = address_key(channel, &address);
    for _ in 0..MAX_TRIES {
        if let Some(first) = deps
            .store
            .by_client_token(Some(username), &body.client_message_id)
            .await
            .map_err(|error| store_failure("find a conversation by client token", error))?
        {
            return opened(deps, &first.value, StatusCode::OK).await;
        }
        // Replies go to the newest conversation with the address: this one.
        let previous = deps
            .store
            .by_alias(&alias)
            .await
            .map_err(|error| store_failure("read a channel address", error))?
            .map(|c| c.value.conversation_id);
        let id = uuid::Uuid::new_v4().to_string();
        let mut conversation = Conversation::open_channel(
            &id,
            channel,
            customer.clone(),
            username,
            &body.client_message_id,
            Some(username),
            now,
        );
        conversation.subject.clone_from(&subject);
        let mut message = conversation
            .post_as_agent(
                &uuid::Uuid::new_v4().to_string(),
                username,
                &body.text,
                Some(&body.client_message_id),
                now,
            )
            .map_err(refused)?;
        message.subject.clone_from(&subject);
        let write = ChatWrite {
            conversation: Versioned {
                value: conversation.clone(),
                version: 0,
            },
            messages: vec![message.clone()],
            alias: Some(AliasClaim {
                key: alias.clone(),
                previous,
            }),
            load: None,
        };
        match deps.store.save(&write).await {
            Ok(()) => {
                deps.effects.status(&conversation, &[], &[], false).await;
                deps.effects
                    .messages(&conversation, std::slice::from_ref(&message))
                    .await;
                return json(
                    StatusCode::CREATED,
                    &Opened {
                        conversation: ChatSummary::from(&conversation),
                        message: &message,
                    },
                );
            }
            Err(ChatWriteError::Conflict | ChatWriteError::DuplicateClientToken(_)) => continue,
            Err(error) => return Err(internal("open a conversation", &error)),
        }
    }
    Err(busy())
}

/// `GET …/{id}/messages/{seq}/attachments/{index}` (index from 1): a short-lived download link.
async fn attachment<J>(
    deps: &DeskChatDeps<J>,
    principal: &Principal,
    id: &str,
    seq: &str,
    index: &str,
) -> Operation {
    let no_such = || {
        Problem::not_found(
            "attachment-not-found",
            "The message has no such attachment.",
        )
    };
    let (Ok(seq), Ok(index)) = (seq.parse::<u64>(), index.parse::<usize>()) else {
        return Err(no_such());
    };
    let conversation = load(deps, id).await?;
    if !may_read(deps, principal, &conversation.value).await? {
        return Err(Problem::forbidden(
            "not-your-chat",
            "The chat is another agent's.",
        ));
    }
    let messages = deps
        .store
        .messages(id, seq.saturating_sub(1), 1)
        .await
        .map_err(|error| store_failure("read a message", error))?;
    let attachment = messages
        .iter()
        .find(|m| m.seq == seq)
        .and_then(|m| index.checked_sub(1).and_then(|i| m.attachments.get(i)))
        .ok_or_else(no_such)?;
    let objects = deps.attachments.as_ref().ok_or_else(|| {
        Problem::service_unavailable(
            "attachments-unavailable",
            "Attachments cannot be opened here.",
        )
    })?;
    let url = objects
        .attachment_url(&attachment.key, &attachment.name, ATTACHMENT_LINK)
        .await
        .map_err(|error| store_failure("link an attachment", error))?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "url": url,
            "name": attachment.name,
            "contentType": attachment.content_type,
            "size": attachment.size,
        }),
    )
}

/// `GET /api/desk/mail-templates`: the active templates, by name.
async fn mail_templates<J>(deps: &DeskChatDeps<J>) -> Operation {
    let documents = all_pages(|cursor| {
        deps.config
            .list(MailTemplate::COLLECTION, PageLimit::DEFAULT, cursor)
    })
    .await
    .map_err(|error| store_failure("list e-mail templates", error))?;
    let mut templates: Vec<MailTemplate> = documents
        .into_iter()
        .filter_map(|document| match serde_json::from_value::<MailTemplate>(document) {
            Ok(template) => Some(template),
            Err(error) => {
                tracing::warn!(error.message = %error, "a stored e-mail template cannot be read; skipped");
                None
            }
        })
        .filter(|template| template.active)
        .collect();
    templates.sort_by_key(|template| template.name.to_lowercase());
    json(StatusCode::OK, &serde_json::json!({ "items": templates }))
}
