//! Text conversations (issue 7: CHAT-1…7, OMNI-1…3): one model for the web chat, the chatbot API
//! and, later, SMS, e-mail and social requests. Pure: what the chat function validates, stores
//! and decides; storage, routing and delivery are the function's.
//!
//! A conversation starts with the customer talking to a bot (the insurer's chatbot through the
//! API, or nobody when the widget asks for an agent at once), is handed off to a queue during its
//! opening hours (CHAT-7), assigned to an agent who may hold several (CHAT-2), transferred to
//! another agent or queue, and ended. Every message gets the next sequence number of its
//! conversation, so the transcript has one order whatever the senders' clocks; a repeated
//! `clientToken` or `clientMessageId` finds what the first request made (retries never duplicate).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{identifiers::normalize_czech_phone, problem::FieldError, queues::QueueSchedule};

/// The longest message, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The longest customer name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// At most this many attributes (the bot's context: campaign, topic…), each key ≤ 40 and value
/// ≤ 200 characters.
pub const MAX_ATTRIBUTES: usize = 20;
/// Chats one agent holds at once unless the queue says otherwise (CHAT-2).
pub const DEFAULT_CHATS_PER_AGENT: u8 = 3;

/// Where a conversation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChatChannel {
    /// The web widget or a bot through the conversation API.
    Web,
    Sms,
    Email,
    Social,
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConversationStatus {
    /// With the bot (or just started): no agent involved yet.
    Bot,
    /// Handed off: waiting in a queue for an agent.
    Queued,
    /// An agent holds it.
    Assigned,
    /// Over; nothing more can be posted.
    Ended,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Sender {
    Customer,
    Bot,
    Agent,
    /// Linka itself (handed off, transferred, ended).
    System,
}

/// What the customer told about themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatCustomer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164 once stored (a Czech number may be given in any usual form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `POST /api/chat/conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartConversation {
    #[serde(default, deserialize_with = "object_or_null")]
    pub customer: ChatCustomer,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub initial_message: Option<String>,
    /// The caller's idempotency key: the same token returns the same conversation.
    pub client_token: String,
    /// A bot's HTTPS endpoint for agent messages (signed).
    #[serde(default)]
    pub webhook_url: Option<String>,
}

/// `POST /api/chat/conversations/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostMessage {
    pub text: String,
    /// The sender's idempotency key: a repeat returns the first message.
    pub client_message_id: String,
    /// `customer` (default) or `bot`; agents post through the desk.
    #[serde(default)]
    pub from: Option<Sender>,
}

/// One conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub conversation_id: String,
    pub channel: ChatChannel,
    pub status: ConversationStatus,
    pub customer: ChatCustomer,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    pub client_token: String,
    /// Who started it: the machine client's name (`chatbot`) or `None` for a widget visitor.
    /// The client token is unique per starter, and a bot reads only what it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The queue it was handed off to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// The agent who holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Supervisors invited into it (CHAT-2).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub invited: BTreeSet<String>,
    /// The sequence number the next message gets (the first is 1).
    pub next_seq: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// E-mail: the subject of the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// E-mail: what a reply must name to stay in the customer's thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_thread: Option<MailThread>,
    /// Social: the page and the customer's page-scoped id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social: Option<SocialAddress>,
}

/// The `Message-ID`s of an e-mail conversation (without angle brackets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailThread {
    /// The customer's latest e-mail: a reply's `In-Reply-To`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound: Option<String>,
    /// The thread, oldest first: a reply's `References`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// Who a social conversation is with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocialAddress {
    pub network: String,
    pub page_id: String,
    pub user_id: String,
}

/// A file that came with a message (an e-mail attachment), stored in S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// The object's key in the attachments bucket.
    pub key: String,
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub conversation_id: String,
    /// The order in the transcript (1, 2, …, no gaps).
    pub seq: u64,
    pub message_id: String,
    pub from: Sender,
    /// The agent or supervisor who wrote it (`from: agent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// E-mail: the subject the agent gave a new e-mail (replies take the thread's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// Why a conversation refused a change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChatError {
    #[error("the conversation has ended")]
    Ended,
    /// CHAT-7: no agent outside the chat queue's hours.
    #[error("the chat is closed now")]
    OutOfHours { next_opening: Option<DateTime<Utc>> },
    #[error("the conversation is not waiting for an agent")]
    NotQueued,
    #[error("{0} does not hold this conversation")]
    NotHolder(String),
    #[error("{agent} already holds {held} chats, the most allowed")]
    AtChatLimit { agent: String, held: usize },
}

/// A JSON object (or `null`: the default) as `T`. Serde would also take an array for a struct
/// (its fields in order), which the API's schema does not allow.
fn object_or_null<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(T::default()),
        value @ serde_json::Value::Object(_) => {
            serde_json::from_value(value).map_err(serde::de::Error::custom)
        }
        _ => Err(serde::de::Error::custom("expected an object")),
    }
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, text: &str, max_chars: usize) {
    if text.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if text.chars().count() > max_chars {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errors.push(FieldError::new(field, "must not hold control characters"));
    }
}

/// An idempotency key: 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
pub fn is_valid_client_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Which webhook URLs a start request may give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookSchemes {
    /// `https://` only (production).
    HttpsOnly,
    /// Also `http://` (the local stack, whose test bots listen on plain HTTP).
    AlsoHttp,
}

impl StartConversation {
    /// Every problem with the request; on success the customer's phone is in E.164.
    pub fn validate(&mut self) -> Vec<FieldError> {
        self.validate_with(WebhookSchemes::HttpsOnly)
    }

    /// [`Self::validate`], with the webhook schemes allowed.
    pub fn validate_with(&mut self, webhooks: WebhookSchemes) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_valid_client_key(&self.client_token) {
            errors.push(FieldError::new(
                "clientToken",
                "must be 1 to 64 letters, digits, '-', '_', '.' or ':'",
            ));
        }
        if let Some(name) = &self.customer.name {
            check_text(&mut errors, "customer.name", name, MAX_NAME_CHARS);
        }
        if let Some(email) = &self.customer.email {
            if !crate::users::is_valid_email(email) {
                errors.push(FieldError::new(
                    "customer.email",
                    "must be an e-mail address",
                ));
            }
        }
        if let Some(phone) = &self.customer.phone {
            match normalize_czech_phone(phone) {
                Ok(normalized) => self.customer.phone = Some(normalized),
                Err(_) => errors.push(FieldError::new("customer.phone", "must be a phone number")),
            }
        }
        if self.attributes.len() > MAX_ATTRIBUTES {
            errors.push(FieldError::new(
                "attributes",
                format!("must hold at most {MAX_ATTRIBUTES} attributes"),
            ));
        }
        for (key, value) in &self.attributes {
            if !is_valid_client_key(key) || key.len() > 40 {
                errors.push(FieldError::new(
                    format!("attributes.{key}"),
                    "the name must be 1 to 40 letters, digits, '-', '_', '.' or ':'",
                ));
            }
            if value.chars().count() > 200 || value.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    format!("attributes.{key}"),
                    "must be at most 200 characters, without control characters",
                ));
            }
        }
        if let Some(text) = &self.initial_message {
            check_text(&mut errors, "initialMessage", text, MAX_TEXT_CHARS);
        }
        if let Some(url) = &self.webhook_url {
            let parsed = url::Url::parse(url).ok().filter(|parsed| {
                let scheme_ok = parsed.scheme() == "https"
                    || (webhooks == WebhookSchemes::AlsoHttp && parsed.scheme() == "http");
                scheme_ok && parsed.host_str().is_some_and(|host| !host.is_empty())
            });
            if parsed.is_none()
                || url.len() > 2000
                || url
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
            {
                errors.push(FieldError::new("webhookUrl", "must be an https:// URL"));
            }
        }
        errors
    }
}

/// An agent's message from the desk (`POST /api/desk/chats/{id}/messages`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentMessage {
    pub text: String,
    /// The desk's idempotency key: a repeat returns the first message.
    pub client_message_id: String,
}

impl AgentMessage {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_text(&mut errors, "text", &self.text, MAX_TEXT_CHARS);
        if !is_valid_client_key(&self.client_message_id) {
            errors.push(FieldError::new(
                "clientMessageId",
                "must be 1 to 64 letters, digits, '-', '_', '.' or ':'",
            ));
        }
        errors
    }
}

impl PostMessage {
    /// Every problem with the message (`from`: only `customer` or `bot` through the API).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_text(&mut errors, "text", &self.text, MAX_TEXT_CHARS);
        if !is_valid_client_key(&self.client_message_id) {
            errors.push(FieldError::new(
                "clientMessageId",
                "must be 1 to 64 letters, digits, '-', '_', '.' or ':'",
            ));
        }
        if matches!(self.from, Some(Sender::Agent | Sender::System)) {
            errors.push(FieldError::new("from", "must be customer or bot"));
        }
        errors
    }
}

impl Conversation {
    /// A new conversation `id` from a validated request; its first message (`message_id`) when
    /// the request carries one.
    pub fn start(
        id: &str,
        request: &StartConversation,
        channel: ChatChannel,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> (Conversation, Option<ChatMessage>) {
        let mut conversation = Conversation {
            conversation_id: id.to_owned(),
            channel,
            status: ConversationStatus::Bot,
            customer: request.customer.clone(),
            attributes: request.attributes.clone(),
            client_token: request.client_token.clone(),
            started_by: None,
            webhook_url: request.webhook_url.clone(),
            queue_id: None,
            agent: None,
            invited: BTreeSet::new(),
            next_seq: 1,
            created_at: now,
            updated_at: now,
            ended_at: None,
            subject: None,
            mail_thread: None,
            social: None,
        };
        let first = request
            .initial_message
            .as_ref()
            .map(|text| conversation.append(message_id, Sender::Customer, None, text, None, now));
        (conversation, first)
    }

    fn append(
        &mut self,
        message_id: &str,
        from: Sender,
        author: Option<&str>,
        text: &str,
        client_message_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> ChatMessage {
        let message = ChatMessage {
            conversation_id: self.conversation_id.clone(),
            seq: self.next_seq,
            message_id: message_id.to_owned(),
            from,
            author: author.map(str::to_owned),
            text: text.trim().to_owned(),
            at: now,
            client_message_id: client_message_id.map(str::to_owned),
            subject: None,
            attachments: Vec::new(),
        };
        self.next_seq += 1;
        self.updated_at = now;
        message
    }

    /// A message from the customer or the bot (validated). The caller stores the message and
    /// the conversation (with its new `next_seq`) together, conditional on the version read, so
    /// concurrent posts get distinct, gapless sequence numbers.
    pub fn post(
        &mut self,
        message_id: &str,
        request: &PostMessage,
        now: DateTime<Utc>,
    ) -> Result<ChatMessage, ChatError> {
        if self.status == ConversationStatus::Ended {
            return Err(ChatError::Ended);
        }
        let from = request.from.unwrap_or(Sender::Customer);
        Ok(self.append(
            message_id,
            from,
            None,
            &request.text,
            Some(&request.client_message_id),
            now,
        ))
    }

    /// A message from the agent who holds the conversation, or an invited supervisor
    /// (`client_message_id`: the desk's idempotency key).
    pub fn post_as_agent(
        &mut self,
        message_id: &str,
        username: &str,
        text: &str,
        client_message_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChatMessage, ChatError> {
        if self.status == ConversationStatus::Ended {
            return Err(ChatError::Ended);
        }
        if self.agent.as_deref() != Some(username) && !self.invited.contains(username) {
            return Err(ChatError::NotHolder(username.to_owned()));
        }
        Ok(self.append(
            message_id,
            Sender::Agent,
            Some(username),
            text,
            client_message_id,
            now,
        ))
    }

    /// Hands the conversation to `queue_id` if the queue is open now (CHAT-7); otherwise the
    /// next opening. Repeating it while queued or assigned changes nothing.
    pub fn hand_off(
        &mut self,
        queue_id: &str,
        schedule: &QueueSchedule,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ChatMessage>, ChatError> {
        match self.status {
            ConversationStatus::Ended => return Err(ChatError::Ended),
            ConversationStatus::Queued | ConversationStatus::Assigned => return Ok(None),
            ConversationStatus::Bot => {}
        }
        if !schedule.is_open(now) {
            return Err(ChatError::OutOfHours {
                next_opening: schedule.next_change(now),
            });
        }
        self.status = ConversationStatus::Queued;
        self.queue_id = Some(queue_id.to_owned());
        Ok(Some(self.append(
            message_id,
            Sender::System,
            None,
            "Předáváme vás operátorovi.",
            None,
            now,
        )))
    }

    /// Outside the queue's hours the customer may leave a message (CHAT-7): the conversation
    /// waits in the queue all the same, marked by a system message, for the agents to answer when
    /// it opens. Repeating it while queued or assigned changes nothing.
    pub fn leave_message(
        &mut self,
        queue_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ChatMessage>, ChatError> {
        match self.status {
            ConversationStatus::Ended => return Err(ChatError::Ended),
            ConversationStatus::Queued | ConversationStatus::Assigned => return Ok(None),
            ConversationStatus::Bot => {}
        }
        self.status = ConversationStatus::Queued;
        self.queue_id = Some(queue_id.to_owned());
        Ok(Some(self.append(
            message_id,
            Sender::System,
            None,
            "Vzkaz mimo provozní dobu: odpovíme, jakmile začneme pracovat.",
            None,
            now,
        )))
    }

    /// An agent takes the queued conversation, if they hold fewer than `limit` chats (CHAT-2).
    pub fn assign(
        &mut self,
        agent: &str,
        chats_held: usize,
        limit: u8,
        now: DateTime<Utc>,
    ) -> Result<(), ChatError> {
        match self.status {
            ConversationStatus::Ended => return Err(ChatError::Ended),
            ConversationStatus::Queued => {}
            _ => return Err(ChatError::NotQueued),
        }
        if chats_held >= usize::from(limit) {
            return Err(ChatError::AtChatLimit {
                agent: agent.to_owned(),
                held: chats_held,
            });
        }
        self.status = ConversationStatus::Assigned;
        self.agent = Some(agent.to_owned());
        self.updated_at = now;
        Ok(())
    }

    /// The holder hands it to another agent directly (`to_agent`) or back to a queue.
    pub fn transfer(
        &mut self,
        by: &str,
        to_agent: Option<&str>,
        to_queue: Option<&str>,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<ChatMessage, ChatError> {
        if self.status == ConversationStatus::Ended {
            return Err(ChatError::Ended);
        }
        if self.agent.as_deref() != Some(by) {
            return Err(ChatError::NotHolder(by.to_owned()));
        }
        match to_agent {
            Some(agent) => self.agent = Some(agent.to_owned()),
            None => {
                self.agent = None;
                self.status = ConversationStatus::Queued;
            }
        }
        if let Some(queue) = to_queue {
            self.queue_id = Some(queue.to_owned());
        }
        Ok(self.append(
            message_id,
            Sender::System,
            None,
            "Předáváme vás kolegovi.",
            None,
            now,
        ))
    }

    /// The holder invites a supervisor, who may then read and write (CHAT-2).
    pub fn invite(
        &mut self,
        by: &str,
        supervisor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ChatError> {
        if self.status == ConversationStatus::Ended {
            return Err(ChatError::Ended);
        }
        if self.agent.as_deref() != Some(by) {
            return Err(ChatError::NotHolder(by.to_owned()));
        }
        self.invited.insert(supervisor.to_owned());
        self.updated_at = now;
        Ok(())
    }

    /// A conversation on another channel than the web: a customer's SMS, e-mail or social
    /// message starts it (`agent: None`: nobody handles it yet), or an agent does by writing
    /// first from the desk or a client card (then it is theirs). `started_by` is the channel's
    /// starter name (`channel:sms`…) or the agent; `client_token` its idempotency key.
    pub fn open_channel(
        id: &str,
        channel: ChatChannel,
        customer: ChatCustomer,
        started_by: &str,
        client_token: &str,
        agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Conversation {
        let request = StartConversation {
            customer,
            attributes: BTreeMap::new(),
            initial_message: None,
            client_token: client_token.to_owned(),
            webhook_url: None,
        };
        let (mut conversation, _) = Conversation::start(id, &request, channel, "", now);
        conversation.started_by = Some(started_by.to_owned());
        if let Some(agent) = agent {
            conversation.status = ConversationStatus::Assigned;
            conversation.agent = Some(agent.to_owned());
        }
        conversation
    }

    /// A customer's message that came on the conversation's channel; `external_id` (the SMS's,
    /// e-mail's or social message's own id) is its idempotency key; `attachments` are stored.
    pub fn receive(
        &mut self,
        message_id: &str,
        text: &str,
        external_id: &str,
        attachments: Vec<Attachment>,
        now: DateTime<Utc>,
    ) -> Result<ChatMessage, ChatError> {
        if self.status == ConversationStatus::Ended {
            return Err(ChatError::Ended);
        }
        let mut message = self.append(
            message_id,
            Sender::Customer,
            None,
            text,
            Some(external_id),
            now,
        );
        message.attachments = attachments;
        Ok(message)
    }

    /// Puts a conversation nobody handles yet into `queue_id`. An SMS or e-mail waits for the
    /// agents whatever the hour (nobody is there live to be told the queue is closed). Queued or
    /// held already: unchanged (`false`).
    pub fn enqueue(&mut self, queue_id: &str, now: DateTime<Utc>) -> Result<bool, ChatError> {
        match self.status {
            ConversationStatus::Ended => Err(ChatError::Ended),
            ConversationStatus::Queued | ConversationStatus::Assigned => Ok(false),
            ConversationStatus::Bot => {
                self.status = ConversationStatus::Queued;
                self.queue_id = Some(queue_id.to_owned());
                self.updated_at = now;
                Ok(true)
            }
        }
    }

    /// Remembers an inbound e-mail's place in the customer's thread: its `Message-ID` is what
    /// a reply answers, and the chain it named (oldest first) plus itself what a reply refers to.
    pub fn note_mail(&mut self, message_id: Option<&str>, replies_to: &[String]) {
        let thread = self.mail_thread.get_or_insert_with(MailThread::default);
        for id in replies_to
            .iter()
            .rev()
            .chain(message_id.map(str::to_owned).iter())
        {
            if !thread.references.contains(id) {
                thread.references.push(id.clone());
            }
        }
        let overflow = thread
            .references
            .len()
            .saturating_sub(channels::MAX_REFERENCES);
        thread.references.drain(..overflow);
        if let Some(id) = message_id {
            thread.last_inbound = Some(id.to_owned());
        }
    }

    /// A note of Linka's own in the transcript (a message that could not be sent…).
    pub fn note(&mut self, message_id: &str, text: &str, now: DateTime<Utc>) -> ChatMessage {
        self.append(message_id, Sender::System, None, text, None, now)
    }

    /// Ends the conversation; ending an ended one changes nothing (`None`).
    pub fn end(&mut self, message_id: &str, now: DateTime<Utc>) -> Option<ChatMessage> {
        if self.status == ConversationStatus::Ended {
            return None;
        }
        let message = self.append(
            message_id,
            Sender::System,
            None,
            "Konverzace byla ukončena.",
            None,
            now,
        );
        self.status = ConversationStatus::Ended;
        self.ended_at = Some(now);
        Some(message)
    }

    /// Whether `username` may read the conversation in the desk: its holder, an invited
    /// supervisor, or anyone with supervision rights (the caller checks those).
    pub fn is_participant(&self, username: &str) -> bool {
        self.agent.as_deref() == Some(username) || self.invited.contains(username)
    }
}

/// The transcript after `after` (a sequence number; 0 for the start), at most `limit` messages,
/// in order, and the cursor for the next page when more follow.
pub fn transcript_page(
    messages: &[ChatMessage],
    after: u64,
    limit: usize,
) -> (Vec<ChatMessage>, Option<u64>) {
    let mut ordered: Vec<&ChatMessage> = messages.iter().filter(|m| m.seq > after).collect();
    ordered.sort_by_key(|m| m.seq);
    let more = ordered.len() > limit;
    let page: Vec<ChatMessage> = ordered.into_iter().take(limit).cloned().collect();
    let next = if more {
        page.last().map(|m| m.seq)
    } else {
        None
    };
    (page, next)
}

pub mod channels;
pub mod distribution;
pub mod lifecycle;
pub mod mail_events;
pub mod mail_templates;
pub mod participant;
pub mod settings;
pub mod webhook;

#[cfg(test)]
mod tests;
