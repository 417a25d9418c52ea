//! Ports: the small capability traits the handlers depend on. SDK types never cross them.
//!
//! Each has an AWS adapter in [`crate::adapters`], an in-memory adapter in
//! [`crate::adapters::memory`] for behaviour tests, and a mockall mock (`MockUserDirectory`, …)
//! with `cfg(test)` or the `mocks` feature.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::{
    audit::{AuditQuery, AuditRecord},
    paging::{InvalidCursor, Page, PageCursor},
    realtime::{BroadcastNotice, Connection, PushMessage},
    users::{PageLimit, User},
    BoxError,
};

/// A storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The client sent a cursor that is not one of ours (a 400, not a 500).
    #[error(transparent)]
    InvalidCursor(#[from] InvalidCursor),
    /// A stored item does not have the expected shape.
    #[error("a stored {entity} item is corrupt")]
    Corrupt {
        entity: &'static str,
        #[source]
        source: BoxError,
    },
    /// The storage service failed.
    #[error("failed to {operation}")]
    Backend {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
}

/// Pushing a message to a connection failed (other than the connection being gone).
#[derive(Debug, Error)]
#[error("failed to post to a WebSocket connection")]
pub struct NotifyError(#[source] pub BoxError);

/// Publishing a notice failed.
#[derive(Debug, Error)]
#[error("failed to publish a broadcast notice")]
pub struct PublishError(#[source] pub BoxError);

/// What became of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    Delivered,
    /// The connection no longer exists (API Gateway `GoneException`, HTTP 410): forget it.
    Gone,
}

/// Reads user accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user, or `None`.
    async fn get(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// One page of users in username order.
    async fn list(
        &self,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<User>, StoreError>;
}

/// Stores live WebSocket connections.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put(&self, connection: &Connection) -> Result<(), StoreError>;
    /// The connection, or `None`.
    async fn get(&self, connection_id: &str) -> Result<Option<Connection>, StoreError>;
    /// Deleting a connection that is not there is not an error.
    async fn delete(&self, connection_id: &str) -> Result<(), StoreError>;
    /// One page of all connections.
    async fn list(&self, cursor: Option<PageCursor>) -> Result<Page<Connection>, StoreError>;
    /// One page of the connections opened before `cutoff`.
    async fn list_older_than(
        &self,
        cutoff: DateTime<Utc>,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Connection>, StoreError>;
    /// Every open connection of `username` (GSI `byUsername`).
    async fn list_for_user(&self, username: &str) -> Result<Vec<Connection>, StoreError>;
    /// Records a heartbeat of a stored connection at `at`, unless one was recorded within
    /// [`crate::realtime::HEARTBEAT_WRITE_INTERVAL_SECONDS`]; never creates a connection.
    /// `true` when written.
    async fn record_heartbeat(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Forgets a connection closed at `at` and remembers that its user left then (one
    /// [`crate::realtime::Departure`] per user, the newest). The connection, if it was stored.
    async fn depart(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Connection>, StoreError>;
    /// The departures at or after `since`.
    async fn departures_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::realtime::Departure>, StoreError>;
}

/// Reads every agent device's presence (`AgentStateTable`), for the presence heartbeat.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AgentPresences: Send + Sync {
    async fn agent_presences(&self) -> Result<Vec<crate::cti_state::AgentPresence>, StoreError>;
}

/// Queues commands for the CTI relay (`CtiCommandQueue`, FIFO per device).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CtiCommands: Send + Sync {
    async fn send(&self, command: &cti_events::CtiCommand) -> Result<(), SignalError>;
}

/// Pushes messages to WebSocket connections.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConnectionNotifier: Send + Sync {
    async fn post(
        &self,
        connection_id: &str,
        message: &PushMessage,
    ) -> Result<PostOutcome, NotifyError>;
}

/// Hands broadcast notices to the fan-out (the `BroadcastQueue`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NoticePublisher: Send + Sync {
    async fn publish(&self, notice: &BroadcastNotice) -> Result<(), PublishError>;
}

/// Appends to and reads the audit log (SEC-3). There is no update and no delete.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one record (never overwrites one).
    async fn record(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// One page of records, newest first.
    async fn query(&self, query: &AuditQuery) -> Result<Page<AuditRecord>, StoreError>;
}

/// A user write was refused or failed. Nothing was written in any case.
#[derive(Debug, Error)]
pub enum AdminError {
    /// Create: a record with this key (username, id) exists.
    #[error("the record already exists")]
    Conflict,
    /// Replace, delete: there is no such record.
    #[error("the record does not exist")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes user accounts. Each write and its audit record are one atomic transaction: both are
/// stored or neither.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserAdministration: Send + Sync {
    /// Creates `user` unless its username is taken.
    async fn create(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError>;
    /// Replaces an existing user.
    async fn replace(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError>;
    /// Deletes an existing user.
    async fn delete(&self, username: &str, audit: &AuditRecord) -> Result<(), AdminError>;
}

/// One write to the configuration store (`ConfigTable`, pk `collection`, sk `id`). `document`
/// is the entity's JSON object (it must not contain `collection` or `id` keys of its own).
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigWrite {
    /// Fails with [`AdminError::Conflict`] when the id exists.
    Create {
        collection: String,
        id: String,
        document: serde_json::Value,
    },
    /// Fails with [`AdminError::NotFound`] when the id does not exist.
    Replace {
        collection: String,
        id: String,
        document: serde_json::Value,
    },
    /// Creates or replaces (queue members, settings).
    Upsert {
        collection: String,
        id: String,
        document: serde_json::Value,
    },
    /// Fails with [`AdminError::NotFound`] when the id does not exist.
    Delete { collection: String, id: String },
}

/// Reads and writes configuration documents. Each write and its audit record are one atomic
/// transaction: both are stored or neither.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// The document, or `None`.
    async fn get(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
    /// One page of a collection in id order.
    async fn list(
        &self,
        collection: &str,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<serde_json::Value>, StoreError>;
    /// Applies `write` together with `audit`.
    async fn write(&self, write: &ConfigWrite, audit: &AuditRecord) -> Result<(), AdminError>;
    /// A mark of the last configuration or user write, changed by every such write: a cached
    /// copy read when the mark was the same is still current (the empty mark: no write yet).
    /// `Ok(None)`: a store that keeps no such mark; a reader then goes by its copy's age alone.
    async fn last_change(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// A stored aggregate and the optimistic-concurrency version it was read at (`0`: not stored
/// yet). A write succeeds only if the stored version is still `version`; it stores `version + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// Everything one CTI event changes, written atomically (one DynamoDB `TransactWriteItems`):
/// the call and/or agent states (each carrying the applied event id) and the contact lifecycle
/// records the event produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CtiWrite {
    pub calls: Vec<Versioned<crate::cti_state::CallState>>,
    pub agents: Vec<Versioned<crate::cti_state::AgentPresence>>,
    pub events: Vec<crate::contacts::ContactEvent>,
    /// The desk statistics' hourly counters the records add (`crate::stats`): in the same
    /// transaction, so an event applied before (nothing written) never counts twice.
    pub counters: Vec<crate::stats::CounterIncrement>,
}

/// A [`CtiWrite`] was not stored (nothing of it was).
#[derive(Debug, Error)]
pub enum CtiWriteError {
    /// Another writer changed one of the states since it was read: read again and retry.
    #[error("a call or agent state changed since it was read")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Lifecycle records of contacts without a CTI state: text conversations (issue 7,
/// `chat::lifecycle`). Appending a record that exists (same contact, time and state) changes
/// nothing, so a change derived again is stored once.
#[async_trait]
pub trait ContactEventLog: Send + Sync {
    /// Stores the records together or not at all.
    async fn append(&self, events: &[crate::contacts::ContactEvent]) -> Result<(), StoreError>;
}

/// Call and agent state fed by the CTI event queue, and the contact lifecycle records.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CtiStateStore: Send + Sync {
    /// The call with key `<relayId>/<callId>`, or `None`.
    async fn call(
        &self,
        call_key: &str,
    ) -> Result<Option<Versioned<crate::cti_state::CallState>>, StoreError>;
    /// The agent device, or `None`.
    async fn agent(
        &self,
        device: &str,
    ) -> Result<Option<Versioned<crate::cti_state::AgentPresence>>, StoreError>;
    /// Writes all of `write` or nothing.
    async fn commit(&self, write: &CtiWrite) -> Result<(), CtiWriteError>;
}

/// What the routing state store requires of a call's waiting record when it writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitingGuard {
    /// The call has no waiting record yet (a new call from a route request).
    New,
    /// The call waits and is not being offered to anyone.
    NotOffered,
    /// The call is being offered to this agent (username).
    OfferedTo(String),
    /// Whatever is stored.
    Any,
}

/// What became of an offer ([`RoutingStateStore::offer`]). Nothing was written unless `Offered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferOutcome {
    Offered,
    /// Another reservation of the agent still holds: another invocation was first.
    AgentTaken,
    /// The call's waiting record is not as required (offered elsewhere, gone, or already there).
    CallTaken,
}

/// The live state of routing (docs/adr/0013-routing-function.md): the agent devices (read
/// only), the agents' reservations and the waiting calls.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RoutingStateStore: Send + Sync {
    /// Every agent device.
    async fn agent_presences(&self) -> Result<Vec<crate::cti_state::AgentPresence>, StoreError>;
    /// One agent device, or `None`.
    async fn agent_presence(
        &self,
        device: &str,
    ) -> Result<Option<crate::cti_state::AgentPresence>, StoreError>;
    /// Every reservation (expired ones included).
    async fn reservations(&self) -> Result<Vec<crate::routing_live::Reservation>, StoreError>;
    /// The agent's reservation, or `None`.
    async fn reservation(
        &self,
        username: &str,
    ) -> Result<Option<crate::routing_live::Reservation>, StoreError>;
    /// Every waiting call.
    async fn waiting_calls(&self) -> Result<Vec<crate::routing::WaitingCall>, StoreError>;
    /// One waiting call, or `None`.
    async fn waiting_call(
        &self,
        call_id: &str,
    ) -> Result<Option<crate::routing::WaitingCall>, StoreError>;
    /// Offers `call` (its `offeredTo` set) to the agent of `reservation` in one transaction:
    /// the reservation is stored unless another reservation of the agent still holds — not
    /// expired at `now` and made after `device_since` (when the agent's device entered the state
    /// it was read in) — and the waiting record unless `guard` fails.
    async fn offer(
        &self,
        reservation: &crate::routing_live::Reservation,
        call: &crate::routing::WaitingCall,
        guard: &WaitingGuard,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<OfferOutcome, StoreError>;
    /// Reserves the agent for work that has no waiting record (a callback being dialled), on
    /// the same condition as [`RoutingStateStore::offer`]; `false` (nothing written) when
    /// another reservation of the agent still holds.
    async fn reserve(
        &self,
        reservation: &crate::routing_live::Reservation,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Replaces the agent's reservation if it is still for `expected_call_id`; `false` when not.
    async fn replace_reservation(
        &self,
        reservation: &crate::routing_live::Reservation,
        expected_call_id: &str,
    ) -> Result<bool, StoreError>;
    /// Stores a waiting record if `guard` holds; `false` (nothing written) when it does not.
    async fn put_waiting(
        &self,
        call: &crate::routing::WaitingCall,
        guard: &WaitingGuard,
    ) -> Result<bool, StoreError>;
    /// Forgets a waiting call (absent is fine).
    async fn remove_waiting(&self, call_id: &str) -> Result<(), StoreError>;
    /// The last agent who talked with this caller (E.164), or `None` (IN-17).
    async fn last_agent(
        &self,
        caller: &str,
    ) -> Result<Option<crate::routing::LastAgent>, StoreError>;
    /// A route request's two point reads at once: the call's waiting record and, when the
    /// caller is known, the caller's last agent. A store may read both in one request.
    async fn call_and_last_agent(
        &self,
        call_id: &str,
        caller: &Option<String>,
    ) -> Result<
        (
            Option<crate::routing::WaitingCall>,
            Option<crate::routing::LastAgent>,
        ),
        StoreError,
    > {
        let last_agent = async {
            match caller {
                Some(caller) => self.last_agent(caller).await,
                None => Ok(None),
            }
        };
        tokio::try_join!(self.waiting_call(call_id), last_agent)
    }
    /// Remembers who talked with this caller.
    async fn record_last_agent(
        &self,
        caller: &str,
        last: &crate::routing::LastAgent,
    ) -> Result<(), StoreError>;
}

/// Sending a routing signal failed.
#[derive(Debug, Error)]
#[error("failed to send a routing signal")]
pub struct SignalError(#[source] pub BoxError);

/// Hands routing triggers to the routing worker (`RoutingQueue`): cti-ingest tells it that an
/// agent became ready or a call was answered or ended.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RoutingTriggers: Send + Sync {
    /// Queues a trigger, delivered after `delay_seconds` (≤ 900).
    async fn send(
        &self,
        trigger: &crate::routing_live::RoutingTrigger,
        delay_seconds: u32,
    ) -> Result<(), SignalError>;
}

/// What the routing function sends: commands for the relay and its own delayed triggers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RoutingSignals: Send + Sync {
    /// Queues a command for the relay (`CtiCommandQueue`, FIFO per device).
    async fn command(&self, command: &cti_events::CtiCommand) -> Result<(), SignalError>;
    /// Queues a trigger for the routing worker, delivered after `delay_seconds` (≤ 900).
    async fn trigger(
        &self,
        trigger: &crate::routing_live::RoutingTrigger,
        delay_seconds: u32,
    ) -> Result<(), SignalError>;
}

/// A callback was not stored.
#[derive(Debug, Error)]
pub enum CallbackWriteError {
    /// Version 0 and the id exists, or another writer changed it since it was read: read again.
    #[error("the callback changed since it was read (or already exists)")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The callback queue (IN-11, IN-22, DESK-13): callbacks by id, the active ones per queue, the
/// closed ones per queue by closing time, and every callback of a number. Each write is
/// conditional on the version read ([`Versioned`]; version 0 creates).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CallbackStore: Send + Sync {
    /// One callback, or `None`.
    async fn get(
        &self,
        id: &str,
    ) -> Result<Option<Versioned<crate::callbacks::Callback>>, StoreError>;
    /// Every callback of the queue that is not closed (open or in progress).
    async fn active_in_queue(
        &self,
        queue_id: &str,
    ) -> Result<Vec<Versioned<crate::callbacks::Callback>>, StoreError>;
    /// Callbacks of the queue closed at or after `since`, latest first, at most `limit`.
    async fn closed_in_queue(
        &self,
        queue_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::callbacks::Callback>, StoreError>;
    /// Callbacks for the number (E.164), newest first, at most `limit`.
    async fn by_number(
        &self,
        number: &str,
        limit: usize,
    ) -> Result<Vec<Versioned<crate::callbacks::Callback>>, StoreError>;
    /// Stores the callback if its stored version is still `version` (0: not stored yet).
    async fn save(
        &self,
        callback: &Versioned<crate::callbacks::Callback>,
    ) -> Result<(), CallbackWriteError>;
}

/// An IVR call was not stored.
#[derive(Debug, Error)]
pub enum IvrWriteError {
    /// Version 0 and the call exists, or another writer changed it since it was read.
    #[error("the IVR call changed since it was read (or already exists)")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The calls in cloud-driven IVR trees ([`crate::ivr_live::IvrCall`]), by call key; each write
/// conditional on the version read (0 creates).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IvrCallStore: Send + Sync {
    async fn get(
        &self,
        call_key: &str,
    ) -> Result<Option<Versioned<crate::ivr_live::IvrCall>>, StoreError>;
    async fn save(&self, call: &Versioned<crate::ivr_live::IvrCall>) -> Result<(), IvrWriteError>;
}

/// A voicemail was not stored.
#[derive(Debug, Error)]
pub enum VoicemailWriteError {
    /// Version 0 and the id exists, or another writer changed it since it was read: read again.
    #[error("the voicemail changed since it was read (or already exists)")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Voicemail (issue 5 item 5): messages by id, the active ones (new or assigned) per queue, and
/// the done ones per queue by the time they were done. Each write is conditional on the version
/// read ([`Versioned`]; version 0 creates).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait VoicemailStore: Send + Sync {
    /// One voicemail, or `None`.
    async fn get(
        &self,
        id: &str,
    ) -> Result<Option<Versioned<crate::voicemail::Voicemail>>, StoreError>;
    /// Every voicemail of the queue that is not done (new or assigned).
    async fn active_in_queue(
        &self,
        queue_id: &str,
    ) -> Result<Vec<Versioned<crate::voicemail::Voicemail>>, StoreError>;
    /// Voicemails of the queue done at or after `since`, latest first, at most `limit`.
    async fn closed_in_queue(
        &self,
        queue_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::voicemail::Voicemail>, StoreError>;
    /// Stores the voicemail if its stored version is still `version` (0: not stored yet).
    async fn save(
        &self,
        voicemail: &Versioned<crate::voicemail::Voicemail>,
    ) -> Result<(), VoicemailWriteError>;
}

/// The recordings of voicemails (WAV objects): presigned URLs, so that neither the PBX's upload
/// nor an agent's playback passes through a function.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait VoicemailAudio: Send + Sync {
    /// A presigned PUT of `key`, valid for `expires`; the upload must send
    /// `Content-Type: audio/wav`.
    async fn upload_url(
        &self,
        key: &str,
        expires: std::time::Duration,
    ) -> Result<String, StoreError>;
    /// A presigned GET of `key`, valid for `expires`.
    async fn playback_url(
        &self,
        key: &str,
        expires: std::time::Duration,
    ) -> Result<String, StoreError>;
}

/// An [`AgentDeskStore`] write did not happen.
#[derive(Debug, Error)]
pub enum DeskWriteError {
    /// Version 0 and the item exists, or another writer changed it since it was read.
    #[error("the agent's desk settings changed since they were read")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The agents' own desk settings (`AgentDeskTable`, pk `username`): queues logged out of and
/// transfer-panel favourites (issue 6). Writes are conditional on the version read.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AgentDeskStore: Send + Sync {
    async fn get(
        &self,
        username: &str,
    ) -> Result<Option<Versioned<crate::desk::AgentDesk>>, StoreError>;
    /// Every agent's settings (routing reads which queues each agent works).
    async fn all(&self) -> Result<Vec<crate::desk::AgentDesk>, StoreError>;
    async fn save(&self, desk: &Versioned<crate::desk::AgentDesk>) -> Result<(), DeskWriteError>;
}

/// A [`ConversationStore`] write did not happen (nothing of it was stored).
#[derive(Debug, Error)]
pub enum ChatWriteError {
    /// Another writer changed the conversation since it was read: read again and retry.
    #[error("the conversation changed since it was read")]
    Conflict,
    /// The starter already used this client token: the conversation it made.
    #[error("the client token already started conversation {0}")]
    DuplicateClientToken(String),
    /// The conversation already has a message with this client message id: its message id.
    #[error("the client message id was already used by message {0}")]
    DuplicateClientMessage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One atomic change of a conversation (issue 7, ADR 0017): the conversation at its new state,
/// conditional on the version read (0: new, and then its client token is claimed), and the
/// messages it appended (each client message id claimed once per conversation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatWrite {
    pub conversation: Versioned<crate::chat::Conversation>,
    pub messages: Vec<crate::chat::ChatMessage>,
    /// Makes an alias (a channel address: the conversation open with an SMS number, e-mail
    /// address or social user) name this conversation, if it still names what it did when read.
    pub alias: Option<AliasClaim>,
    /// An agent takes a chat: their list of taken chats, conditional on its version (CHAT-2:
    /// two takes by one agent at once cannot both pass the limit).
    pub load: Option<LoadClaim>,
}

/// The chats an agent took, as read (`version` 0: never).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentLoad {
    pub conversation_ids: Vec<String>,
    pub version: u64,
}

/// An agent's new list of taken chats, stored if it is still at the version read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadClaim {
    pub agent: String,
    pub conversation_ids: Vec<String>,
    pub version: u64,
}

/// An alias moved to a conversation by a [`ChatWrite`] (issue 7, OMNI-1…3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasClaim {
    pub key: String,
    /// The conversation it named when read (`None`: none); otherwise the write is a conflict.
    pub previous: Option<String>,
}

/// Conversations and their transcripts (`ChatTable`). A write stores the conversation and its
/// new messages together or not at all, so sequence numbers have no gaps and no duplicates.
/// (No mock: tests use `InMemoryConversationStore`, which keeps the same claims.)
#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn get(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Versioned<crate::chat::Conversation>>, StoreError>;
    /// The conversation `started_by` (`None`: a widget visitor) made with `client_token`.
    async fn by_client_token(
        &self,
        started_by: Option<&str>,
        client_token: &str,
    ) -> Result<Option<Versioned<crate::chat::Conversation>>, StoreError>;
    /// The message of the conversation with this client message id.
    async fn by_client_message_id(
        &self,
        conversation_id: &str,
        client_message_id: &str,
    ) -> Result<Option<crate::chat::ChatMessage>, StoreError>;
    /// Messages with a sequence number above `after`, in order, at most `limit`.
    async fn messages(
        &self,
        conversation_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::chat::ChatMessage>, StoreError>;
    /// Conversations waiting in the queue (`queued`), oldest first.
    async fn queued(
        &self,
        queue_id: &str,
    ) -> Result<Vec<Versioned<crate::chat::Conversation>>, StoreError>;
    /// Conversations the agent holds (`assigned`), oldest first.
    async fn held_by(
        &self,
        username: &str,
    ) -> Result<Vec<Versioned<crate::chat::Conversation>>, StoreError>;
    async fn save(&self, write: &ChatWrite) -> Result<(), ChatWriteError>;
    /// The conversation an alias names: the one open with a channel address
    /// (`chat::channels::address_key`) or the one an e-mail's `Message-ID` belongs to
    /// (`chat::channels::mail_id_key`).
    async fn by_alias(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<crate::chat::Conversation>>, StoreError>;
    /// The chats `agent` took through [`LoadClaim`]s (some may be theirs no longer).
    async fn agent_load(&self, agent: &str) -> Result<AgentLoad, StoreError>;
    /// Makes `key` name the conversation (the ids of e-mails sent: written once).
    async fn set_alias(&self, key: &str, conversation_id: &str) -> Result<(), StoreError>;
    /// The provider's id of the outbound message `seq`, once it was sent.
    async fn sent_id(&self, conversation_id: &str, seq: u64) -> Result<Option<String>, StoreError>;
    /// Records that the outbound message `seq` was sent with the provider's id (SNS, SES or the
    /// social network's message id).
    async fn mark_sent(
        &self,
        conversation_id: &str,
        seq: u64,
        provider_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError>;
}

/// Hands bot webhook deliveries (issue 7) to the delivery queue; the `chat-webhook` function
/// signs and posts them, retrying until they are taken (then the dead-letter queue).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookOutbox: Send + Sync {
    async fn enqueue(
        &self,
        delivery: &crate::chat::webhook::WebhookDelivery,
    ) -> Result<(), OutboxError>;
}

/// Queueing a webhook delivery failed.
#[derive(Debug, Error)]
#[error("failed to queue a webhook delivery")]
pub struct OutboxError(#[source] pub BoxError);

/// Hands agents' messages in SMS, e-mail and social conversations (issue 7, OMNI-1…3) to the
/// outbound queue; the `chat-outbound` function sends them, retrying until the provider takes
/// them (then the dead-letter queue).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChannelOutbox: Send + Sync {
    async fn enqueue(
        &self,
        message: &crate::chat::channels::OutboundMessage,
    ) -> Result<(), OutboxError>;
}

/// Asks the `chat-distributor` function to give waiting chats to agents (automatic chat
/// distribution, [`crate::chat::distribution`]); on the standard `ChatDistributionQueue`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChatDistributionOutbox: Send + Sync {
    async fn trigger(
        &self,
        trigger: &crate::chat::distribution::ChatDistributionTrigger,
    ) -> Result<(), OutboxError>;
}

/// A provider did not take an outbound message.
#[derive(Debug, Error)]
pub enum SendError {
    /// Worth retrying (throttled, unavailable, a network failure).
    #[error("the provider failed to send, retry later")]
    Transient(#[source] BoxError),
    /// Never going to work (an invalid number or address, a refused recipient).
    #[error("the provider refused the message")]
    Refused(#[source] BoxError),
}

/// Sends SMS (SNS `Publish` to a phone number in production).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `text` to `to` (E.164); the provider's message id.
    async fn send_sms(&self, to: &str, text: &str) -> Result<String, SendError>;
}

/// Sends e-mail (SESv2 `SendEmail` with raw MIME in production).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailSender: Send + Sync {
    /// Sends the MIME message `raw` to `to`; the provider's message id.
    async fn send_mail(&self, to: &str, raw: &[u8]) -> Result<String, SendError>;
}

/// Sends a message to a social network's user (Messenger's Send API first).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SocialSender: Send + Sync {
    /// Sends `text` from page `page_id` to the page-scoped user; the network's message id.
    async fn send_social(
        &self,
        page_id: &str,
        recipient_id: &str,
        text: &str,
    ) -> Result<String, SendError>;
}

/// Raw inbound e-mail where SES's receipt rule stored it, and the attachments kept of it
/// (issue 7, OMNI-2).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailObjects: Send + Sync {
    /// The raw message SES stored at `bucket`/`key`.
    async fn raw_mail(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError>;
    /// Stores an attachment under `key` (in the attachments bucket).
    async fn put_attachment(
        &self,
        key: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError>;
    /// A presigned GET of an attachment, valid for `expires`, served as a download of
    /// `file_name`.
    async fn attachment_url(
        &self,
        key: &str,
        file_name: &str,
        expires: std::time::Duration,
    ) -> Result<String, StoreError>;
}
