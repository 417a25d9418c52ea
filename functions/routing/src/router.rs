//! The routing use cases around the pure engine: read the configuration (cached for a few
//! seconds) and the live state, decide, reserve with a conditional write, answer or command.
//!
//! - [`Router::route`]: a relay `RouteQuery` → the PBX destination (agent extension, the
//!   queue's waiting device, IVR port, announcement, overflow number).
//! - [`Router::agent_available`]: an agent became free → the best waiting call is offered to
//!   them (a `Deflect` command from the queue's waiting device to the agent's extension).
//! - [`Router::review_call`]: a waiting call's timer — an offer that rang out goes back to its
//!   position and the agent goes not ready; a call past its maximum wait overflows; a call an
//!   agent is free for is offered.
//! - [`Router::call_settled`]: the call was answered or cleared → its waiting record goes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use cti_events::{
    CommandAction, CtiCommand, DigitCollect, IvrPortOutcome, PromptMedia, RequestedAgentState,
    RouteQuery, SCHEMA_VERSION,
};
use futures_util::future::join_all;
use linka_shared::{
    admin_config::{members_collection, ConfigEntity, Queue, QueueMember},
    admin_config::{parse_document, IVR_COLLECTION},
    callbacks::{
        on_lost_call, Callback, CallbackSource, LostCall, LostCallAction, NewCallback, Slot,
    },
    chat::distribution::ChatDistributionTrigger,
    clients::{routing_facts, ClientStore},
    desk::AgentDesk,
    identifiers::normalize_czech_phone,
    ivr::{start_at, step, IvrAction, IvrInput, IvrTree, PromptRef, TransferTarget},
    ivr_live::{input_for, lost_in_ivr, position_text, Awaiting, IvrCall},
    paging::PageCursor,
    ports::{
        AgentDeskStore, CallbackStore, CallbackWriteError, ChatDistributionOutbox, ConfigStore,
        IvrCallStore, IvrWriteError, OfferOutcome, OutboxError, RoutingSignals, RoutingStateStore,
        SignalError, StoreError, UserDirectory, Versioned, VoicemailAudio, VoicemailStore,
        VoicemailWriteError, WaitingGuard,
    },
    prompts::PromptResolver,
    routing::{
        agent_for_callback, decide, decide_queue, on_missed_offer, pick_work_for_agent,
        queue_over_limit, review_waiting_call, waiting_call_for, CallFacts, ClientFacts, Decision,
        InboundPlan, LastAgent, NextWork, QueueRouting, QueueRuntime, Review, RoutingOutcome,
        RoutingSnapshot, SnapshotError, WaitingCall,
    },
    routing_live::{
        agent_runtimes, lost_from_waiting, review_offer, AgentIdentity, DeviceMap, OfferReview,
        Reservation, RoutingTrigger, UnmappedDecision, WrapUp, WrapUpError, RING_OUT_HOLD_SECONDS,
    },
    users::PageLimit,
    voicemail::{voicemail_audio_key, Voicemail},
};
use thiserror::Error;
use tokio::sync::Mutex;

/// ConfigTable collection of the per-queue routing settings (id = queue id).
pub const QUEUE_ROUTING_COLLECTION: &str = "queueRouting";
/// ConfigTable collection of the routing singletons.
pub const ROUTING_SETTINGS_COLLECTION: &str = "routingSettings";
/// The inbound plan's id in [`ROUTING_SETTINGS_COLLECTION`].
pub const PLAN_ID: &str = "plan";
/// The PBX device map's id in [`ROUTING_SETTINGS_COLLECTION`].
pub const DEVICES_ID: &str = "devices";
/// Who the routing function's commands are from (audit trail).
pub const REQUESTED_BY: &str = "routing";
/// A waiting call is looked at again at least this often, so that a lost trigger never strands
/// it while an agent is free.
pub const MAX_REVIEW_INTERVAL_SECONDS: u32 = 30;
/// A command for the relay is not executed after this long.
pub const COMMAND_LIFETIME_SECONDS: i64 = 15;
/// Offers tried for one request before giving up. Each lost race reads the reservations again,
/// so a retry skips every agent taken meanwhile; in a burst of N simultaneous decisions that
/// all chose the same best agent, the last one needs up to N attempts.
const MAX_OFFER_ATTEMPTS: usize = 24;
/// The longest a route request waits for the client database (the relay's whole budget is
/// a few hundred milliseconds).
pub const CLIENT_LOOKUP_BUDGET: Duration = Duration::from_millis(150);

/// A routing use case failed; SQS retries the trigger, the relay uses its fallback.
#[derive(Debug, Error)]
pub enum RouterError {
    #[error("failed to read the routing configuration")]
    Config(#[source] StoreError),
    #[error("failed to read or write the routing state")]
    State(#[source] StoreError),
    #[error(transparent)]
    Signal(#[from] SignalError),
    #[error("the routing snapshot is inconsistent")]
    Snapshot(#[from] SnapshotError),
    #[error("the decision cannot be given to the PBX")]
    Unmapped(#[from] UnmappedDecision),
    #[error("every available agent was taken by concurrent decisions")]
    Contention,
    #[error("the call id {0:?} is not <relayId>/<callId>")]
    CallKey(String),
    #[error("failed to read or write a callback")]
    Callback(#[source] StoreError),
    #[error("the callback {0} changed under a concurrent writer")]
    CallbackConflict(String),
    #[error("failed to read or write an IVR call")]
    IvrCall(#[source] StoreError),
    #[error("the IVR call {0} changed under a concurrent writer")]
    IvrConflict(String),
    #[error("failed to store a voicemail or presign its upload")]
    Voicemail(#[source] StoreError),
    #[error(transparent)]
    WrapUp(#[from] WrapUpError),
    #[error("failed to ask for a chat distribution")]
    ChatDistribution(#[from] OutboxError),
}

/// What routing reads of the configuration.
#[derive(Debug, Clone, Default)]
pub struct RoutingConfig {
    pub queues: Vec<QueueRuntime>,
    pub plan: InboundPlan,
    pub devices: DeviceMap,
    pub identities: Vec<AgentIdentity>,
}

/// The answer to a route request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub destination: String,
    pub outcome: RoutingOutcome,
}

/// What a trigger did (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Nothing,
    /// A waiting call was offered to an agent.
    Offered {
        call_id: String,
        username: String,
    },
    /// An offer rang out; the call is back in its queue.
    Requeued {
        call_id: String,
        username: String,
    },
    /// The call left its queue (maximum wait) for this destination.
    Left {
        call_id: String,
        destination: String,
    },
    /// The call still waits; looked at again later.
    Rescheduled {
        call_id: String,
    },
    Forgotten {
        call_id: String,
    },
    /// A due callback was given to an agent: claimed for them and dialled from their device.
    CallbackDialled {
        callback_id: String,
        username: String,
    },
    /// The callback is not due yet (or still claimed); looked at again when it may be.
    CallbackLater {
        callback_id: String,
    },
    /// An IVR call took a step: what it waits for now.
    IvrStep {
        call_id: String,
        awaiting: Awaiting,
    },
}

/// What the IVR runtime needs (cloud-driven IVR trees, IN-10…IN-13).
#[derive(Clone)]
pub struct IvrRuntime {
    pub calls: Arc<dyn IvrCallStore>,
    pub prompts: Arc<PromptResolver>,
    /// Where voicemail goes; `None`: a voicemail node says goodbye and hangs up.
    pub voicemail: Option<VoicemailRuntime>,
}

/// Voicemail left in IVR trees: the records and the recordings' presigned uploads.
#[derive(Clone)]
pub struct VoicemailRuntime {
    pub store: Arc<dyn VoicemailStore>,
    pub audio: Arc<dyn VoicemailAudio>,
}

/// How long a command's prompt URL must stay valid: the relay fetches it at once (or has it
/// cached), so the resolver's default is plenty.
const IVR_COMMAND_SECONDS: i64 = 60;

/// Spoken instead of a prompt whose recording is missing.
const FALLBACK_PROMPT_TEXT: &str = "Omlouváme se, toto hlášení teď není k dispozici.";

/// The reservation call id of an agent dialling a callback.
pub fn callback_reservation_id(callback_id: &str) -> String {
    format!("callback:{callback_id}")
}

/// The id of the callback a lost call creates: the same for every retry of the trigger.
pub fn lost_call_callback_id(call_key: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("linka:lost-call:{call_key}").as_bytes(),
    )
    .to_string()
}

/// At most this many callbacks of one number are read to merge a lost call into.
const CALLBACKS_PER_NUMBER: usize = 50;

/// Seconds until a callback may be due (its due time, or its claim's end), for SQS (≤ 900).
pub(crate) fn callback_delay(callback: &Callback, now: DateTime<Utc>) -> u32 {
    let at = match &callback.status {
        linka_shared::callbacks::CallbackStatus::InProgress {
            claim_expires_at, ..
        } => *claim_expires_at,
        _ => callback.due_at,
    };
    seconds_until(at, now).min(linka_shared::adapters::MAX_TRIGGER_DELAY_SECONDS)
}

/// A copy of the configuration is used at most this long after it was read even when the
/// change mark says it is current: a write that bypassed the API (an operator's edit in the
/// console, a restore) is seen within this time.
pub const MAX_CONFIG_AGE: Duration = Duration::from_secs(300);

/// The configuration as last read, and the change mark read just before it.
struct CachedConfig {
    config: Arc<RoutingConfig>,
    /// The store's mark of its last write when this copy was read; `None`: it keeps none.
    mark: Option<String>,
    read_at: Instant,
    /// When the copy was last known to be current (read, or the mark found unchanged).
    checked_at: Instant,
}

/// The routing use cases and their dependencies.
pub struct Router<S, U, G> {
    pub state: S,
    pub users: U,
    pub signals: G,
    pub config: Arc<dyn ConfigStore>,
    pub offer_seconds: u32,
    pub cache_ttl: Duration,
    cache: Mutex<Option<CachedConfig>>,
    /// The callback queue; `None`: callbacks are not served (and lost calls make none).
    pub callbacks: Option<Arc<dyn CallbackStore>>,
    /// Cloud-driven IVR trees; `None`: a call routed to an IVR port is the PBX's business.
    pub ivr: Option<IvrRuntime>,
    /// The agents' desk settings (queues they logged out of, DESK-3); `None`: every member
    /// works every queue.
    pub desks: Option<Arc<dyn AgentDeskStore>>,
    /// The client database: the caller's status for rules and priority (IN-1); `None`: no
    /// client facts.
    pub clients: Option<Arc<dyn ClientStore>>,
    /// Automatic chat distribution: told when an agent becomes available (they may take a chat
    /// too); `None`: chats are not distributed from here.
    pub chat_distribution: Option<Arc<dyn ChatDistributionOutbox>>,
}

fn read_store(error: StoreError) -> RouterError {
    RouterError::Config(error)
}

fn state_error(error: StoreError) -> RouterError {
    RouterError::State(error)
}

/// The relay id and the PBX call id of a call key.
fn split_call_key(call_id: &str) -> Result<(&str, &str), RouterError> {
    call_id
        .split_once('/')
        .ok_or_else(|| RouterError::CallKey(call_id.to_owned()))
}

/// A command for the relay from routing, valid for [`COMMAND_LIFETIME_SECONDS`].
pub fn command_for(action: CommandAction, now: DateTime<Utc>) -> CtiCommand {
    command(action, now)
}

fn command(action: CommandAction, now: DateTime<Utc>) -> CtiCommand {
    CtiCommand {
        version: SCHEMA_VERSION,
        command_id: uuid::Uuid::new_v4().to_string(),
        requested_by: REQUESTED_BY.to_owned(),
        issued_at: now,
        expires_at: now + TimeDelta::seconds(COMMAND_LIFETIME_SECONDS),
        action,
    }
}

/// When each agent's device entered its current state, by username.
type DeviceSince = BTreeMap<String, Option<DateTime<Utc>>>;

/// The live routing state as read from the stores, before it meets the configuration.
struct LiveState {
    presences: Vec<linka_shared::cti_state::AgentPresence>,
    reservations: Vec<Reservation>,
    waiting: Vec<WaitingCall>,
    desks: Vec<AgentDesk>,
}

/// The snapshot of `live` under `config` at `now`, and when each agent's device entered its
/// state.
fn snapshot_of(
    config: &RoutingConfig,
    live: LiveState,
    now: DateTime<Utc>,
) -> Result<(RoutingSnapshot, DeviceSince), RouterError> {
    let agents = agent_runtimes(
        &live.presences,
        &config.identities,
        &live.reservations,
        &live.desks,
        now,
    );
    let since = agents
        .iter()
        .map(|agent| {
            let since = live
                .presences
                .iter()
                .find(|p| p.device == agent.device)
                .and_then(|p| p.since);
            (agent.username.clone(), since)
        })
        .collect();
    let snapshot = RoutingSnapshot::new(now, config.queues.clone(), agents, live.waiting)?;
    Ok((snapshot, since))
}

/// The PBX device where `call` waits (its queue's waiting device).
fn waiting_device(config: &RoutingConfig, call: &WaitingCall) -> Result<String, RouterError> {
    config
        .devices
        .queues
        .get(&call.queue_id)
        .cloned()
        .ok_or_else(|| UnmappedDecision::Queue(call.queue_id.clone()).into())
}

fn seconds_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    u32::try_from((at - now).num_seconds().max(0) + 1).unwrap_or(u32::MAX)
}

impl<S, U, G> Router<S, U, G>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    pub fn new(
        state: S,
        users: U,
        signals: G,
        config: Arc<dyn ConfigStore>,
        offer_seconds: u32,
        cache_ttl: Duration,
    ) -> Self {
        Self {
            state,
            users,
            signals,
            config,
            offer_seconds,
            cache_ttl,
            cache: Mutex::new(None),
            callbacks: None,
            ivr: None,
            desks: None,
            clients: None,
            chat_distribution: None,
        }
    }

    /// Runs IVR trees on the PBX's IVR ports: a call routed into a tree is driven by the
    /// port's reports (prompts, digits, recordings) through the interpreter.
    pub fn with_ivr(mut self, ivr: IvrRuntime) -> Self {
        self.ivr = Some(ivr);
        self
    }

    /// Serves the callback queue too: due callbacks compete with waiting calls for free agents,
    /// lost calls become callbacks (IN-11, IN-22).
    pub fn with_callbacks(mut self, callbacks: Arc<dyn CallbackStore>) -> Self {
        self.callbacks = Some(callbacks);
        self
    }

    /// Routing looks the caller up in the client database (IN-1).
    pub fn with_clients(mut self, clients: Arc<dyn ClientStore>) -> Self {
        self.clients = Some(clients);
        self
    }

    /// What the client database says about a caller. A lookup that fails or takes longer than
    /// [`CLIENT_LOOKUP_BUDGET`] gives no facts: the call is routed without them rather than late.
    async fn client_facts(&self, caller: Option<&str>) -> Option<ClientFacts> {
        let (Some(clients), Some(caller)) = (&self.clients, caller) else {
            return None;
        };
        match tokio::time::timeout(CLIENT_LOOKUP_BUDGET, clients.find_by_phone(caller)).await {
            Ok(Ok(matches)) => routing_facts(&matches),
            Ok(Err(error)) => {
                tracing::warn!(error.message = %error, error.cause_chain = %linka_shared::telemetry::ErrorChain(&error), "client lookup failed; routing without client facts");
                None
            }
            Err(_) => {
                tracing::warn!("client lookup took too long; routing without client facts");
                None
            }
        }
    }

    /// Agents who become available are also offered waiting chats (automatic distribution).
    pub fn with_chat_distribution(mut self, outbox: Arc<dyn ChatDistributionOutbox>) -> Self {
        self.chat_distribution = Some(outbox);
        self
    }

    /// Asks chat distribution to serve the agent at `device` (became ready, or logged in to a
    /// queue): nothing without a chat distribution outbox.
    pub async fn tell_chats_agent_available(&self, device: &str) -> Result<(), RouterError> {
        if let Some(outbox) = &self.chat_distribution {
            outbox
                .trigger(&ChatDistributionTrigger::Device {
                    device: device.to_owned(),
                })
                .await?;
        }
        Ok(())
    }

    /// Routing honours the queues agents logged out of at their desks.
    pub fn with_desks(mut self, desks: Arc<dyn AgentDeskStore>) -> Self {
        self.desks = Some(desks);
        self
    }

    /// Every agent's desk settings (none without a desk store).
    pub async fn agent_desks(&self) -> Result<Vec<AgentDesk>, RouterError> {
        match &self.desks {
            Some(desks) => desks.all().await.map_err(state_error),
            None => Ok(Vec::new()),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Configuration
    // -----------------------------------------------------------------------------------------

    pub async fn list_all(&self, collection: &str) -> Result<Vec<serde_json::Value>, RouterError> {
        let mut documents = Vec::new();
        let mut cursor: Option<PageCursor> = None;
        loop {
            let page = self
                .config
                .list(
                    collection,
                    PageLimit::new(100).unwrap_or(PageLimit::DEFAULT),
                    cursor.take(),
                )
                .await
                .map_err(read_store)?;
            documents.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(documents),
            }
        }
    }

    async fn list_all_owned(
        &self,
        collection: String,
    ) -> Result<Vec<serde_json::Value>, RouterError> {
        self.list_all(&collection).await
    }

    async fn document<T: serde::de::DeserializeOwned + Default>(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<T, RouterError> {
        let Some(document) = self.config.get(collection, id).await.map_err(read_store)? else {
            return Ok(T::default());
        };
        Ok(serde_json::from_value(document).unwrap_or_else(|error| {
            tracing::error!(collection, id, error.message = %error, "unreadable routing document; using the defaults");
            T::default()
        }))
    }

    /// The active users with a PBX agent number.
    async fn identities(&self) -> Result<Vec<AgentIdentity>, RouterError> {
        let mut identities = Vec::new();
        let mut cursor: Option<PageCursor> = None;
        loop {
            let page = self
                .users
                .list(
                    PageLimit::new(100).unwrap_or(PageLimit::DEFAULT),
                    cursor.take(),
                )
                .await
                .map_err(read_store)?;
            identities.extend(
                page.items
                    .into_iter()
                    .filter(|user| user.active)
                    .filter_map(|user| {
                        user.agent_number.map(|agent_number| AgentIdentity {
                            username: user.username,
                            agent_number,
                        })
                    }),
            );
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(identities),
            }
        }
    }

    /// Reads the whole routing configuration (uncached): the queues, every queue's routing
    /// settings in one listing, the members of all queues at once.
    pub async fn load_config(&self) -> Result<RoutingConfig, RouterError> {
        // Everything that does not depend on the queue list is read in the same round.
        let (queue_documents, routing_documents, plan, devices, identities) = tokio::try_join!(
            self.list_all(Queue::COLLECTION),
            self.list_all(QUEUE_ROUTING_COLLECTION),
            self.document(ROUTING_SETTINGS_COLLECTION, PLAN_ID),
            self.document(ROUTING_SETTINGS_COLLECTION, DEVICES_ID),
            self.identities()
        )?;
        let mut settings: BTreeMap<String, QueueRouting> = BTreeMap::new();
        for document in routing_documents {
            let Some(queue_id) = document
                .get("queueId")
                .and_then(|id| id.as_str())
                .map(str::to_owned)
            else {
                continue;
            };
            match serde_json::from_value::<QueueRouting>(document) {
                Ok(routing) => {
                    settings.insert(queue_id, routing);
                }
                Err(error) => {
                    tracing::error!(queue_id, error.message = %error, "unreadable queue routing settings; using the defaults");
                }
            }
        }
        let configs: Vec<Queue> = queue_documents
            .into_iter()
            .filter_map(|document| match serde_json::from_value::<Queue>(document) {
                Ok(queue) => Some(queue),
                Err(error) => {
                    tracing::error!(error.message = %error, "unreadable queue; not routed to");
                    None
                }
            })
            .collect();
        let member_lists = join_all(
            configs
                .iter()
                .map(|queue| self.list_all_owned(members_collection(&queue.queue_id))),
        )
        .await;
        let mut queues = Vec::with_capacity(configs.len());
        for (queue, members) in configs.into_iter().zip(member_lists) {
            let members = members?
                .into_iter()
                .filter_map(|document| serde_json::from_value::<QueueMember>(document).ok())
                .collect();
            let routing = settings.remove(&queue.queue_id).unwrap_or_default();
            queues.push(QueueRuntime {
                config: queue,
                members,
                routing,
            });
        }
        Ok(RoutingConfig {
            queues,
            plan,
            devices,
            identities,
        })
    }

    /// The configuration read now, whatever the cache holds (which it then replaces).
    pub async fn fresh_routing_config(&self) -> Result<Arc<RoutingConfig>, RouterError> {
        let mut cache = self.cache.lock().await;
        let mark = self.config.last_change().await.map_err(read_store)?;
        self.read_into(&mut cache, mark).await
    }

    /// The configuration: the cached copy while younger than the cache time; after that the
    /// copy as long as the store's change mark is the one read with it (one small read instead
    /// of every queue, member list and user), up to [`MAX_CONFIG_AGE`]; otherwise read again.
    /// Route requests wait for this on the relay's clock, and calls a few seconds apart would
    /// otherwise read the whole configuration nearly every time.
    pub async fn routing_config(&self) -> Result<Arc<RoutingConfig>, RouterError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        let mark = match cache.as_mut() {
            Some(cached) if now.duration_since(cached.checked_at) < self.cache_ttl => {
                return Ok(Arc::clone(&cached.config));
            }
            Some(cached) => {
                let young = now.duration_since(cached.read_at) < MAX_CONFIG_AGE;
                let mark = match self.config.last_change().await {
                    Ok(mark) => mark,
                    // The copy is as good as it was a moment ago: a failed check must not fail
                    // the call (the next request checks again).
                    Err(error) if young && cached.mark.is_some() => {
                        tracing::warn!(error.message = %error, "configuration change mark unreadable; routing with the cached configuration");
                        return Ok(Arc::clone(&cached.config));
                    }
                    Err(error) => return Err(read_store(error)),
                };
                if young && mark.is_some() && mark == cached.mark {
                    cached.checked_at = now;
                    return Ok(Arc::clone(&cached.config));
                }
                mark
            }
            None => self.config.last_change().await.map_err(read_store)?,
        };
        self.read_into(&mut cache, mark).await
    }

    /// Reads the configuration into `cache`. `mark` must have been read before: a write that
    /// lands while the configuration is read then changes the mark, and the next check reads
    /// again.
    async fn read_into(
        &self,
        cache: &mut Option<CachedConfig>,
        mark: Option<String>,
    ) -> Result<Arc<RoutingConfig>, RouterError> {
        let config = Arc::new(self.load_config().await?);
        let now = Instant::now();
        *cache = Some(CachedConfig {
            config: Arc::clone(&config),
            mark,
            read_at: now,
            checked_at: now,
        });
        Ok(config)
    }

    // -----------------------------------------------------------------------------------------
    // Live state
    // -----------------------------------------------------------------------------------------

    /// The snapshot at `now`, and when each agent's device entered its state (by username).
    async fn snapshot(
        &self,
        config: &RoutingConfig,
        now: DateTime<Utc>,
    ) -> Result<(RoutingSnapshot, DeviceSince), RouterError> {
        let live = self.live_state().await?;
        snapshot_of(config, live, now)
    }

    /// The routing snapshot at `now` — queues with their members, every agent's presence and
    /// the queues they logged out of, reservations, waiting calls — for decisions made outside
    /// the call router (automatic chat distribution).
    pub async fn current_snapshot(
        &self,
        now: DateTime<Utc>,
    ) -> Result<RoutingSnapshot, RouterError> {
        let config = self.routing_config().await?;
        Ok(self.snapshot(&config, now).await?.0)
    }

    /// The live state a snapshot is built from: presences, reservations, waiting calls and desk
    /// settings, read in one concurrent round (independent of the configuration, so a route
    /// request reads it together with everything else).
    async fn live_state(&self) -> Result<LiveState, RouterError> {
        let ((presences, reservations, waiting), desks) = tokio::try_join!(
            async {
                tokio::try_join!(
                    self.state.agent_presences(),
                    self.state.reservations(),
                    self.state.waiting_calls()
                )
                .map_err(state_error)
            },
            self.agent_desks()
        )?;
        Ok(LiveState {
            presences,
            reservations,
            waiting,
            desks,
        })
    }

    /// Marks in `snapshot` every agent reserved now (after a lost race: concurrent decisions
    /// have taken other agents too, not only the one this decision wanted).
    async fn mark_reserved(
        &self,
        snapshot: &mut RoutingSnapshot,
        since: &DeviceSince,
        now: DateTime<Utc>,
    ) -> Result<(), RouterError> {
        for reservation in self.state.reservations().await.map_err(state_error)? {
            let device_since = since.get(&reservation.username).copied().flatten();
            if reservation.holds(device_since, now) {
                snapshot.reserve(&reservation.username, &reservation.call_id);
            }
        }
        Ok(())
    }

    fn reservation(
        &self,
        username: &str,
        device: &str,
        call_id: &str,
        queue_id: &str,
        now: DateTime<Utc>,
    ) -> Reservation {
        Reservation {
            username: username.to_owned(),
            device: device.to_owned(),
            call_id: call_id.to_owned(),
            queue_id: queue_id.to_owned(),
            offered_at: now,
            expires_at: now + TimeDelta::seconds(i64::from(self.offer_seconds)),
            answered_at: None,
            wrap_up_from: None,
            rang_out_at: None,
        }
    }

    async fn schedule_review(&self, call_id: &str, delay_seconds: u32) -> Result<(), RouterError> {
        self.signals
            .trigger(
                &RoutingTrigger::ReviewCall {
                    call_id: call_id.to_owned(),
                },
                delay_seconds.min(MAX_REVIEW_INTERVAL_SECONDS),
            )
            .await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Route requests
    // -----------------------------------------------------------------------------------------

    /// Answers a relay route request.
    pub async fn route(
        &self,
        query: &RouteQuery,
        now: DateTime<Utc>,
    ) -> Result<Routed, RouterError> {
        let request = &query.request;
        let call_id = linka_shared::cti_state::call_key(&query.relay_id, &request.call_id);
        // An empty calling device is a withheld number.
        let caller = request
            .calling_device
            .as_deref()
            .map(str::trim)
            .filter(|number| !number.is_empty())
            .map(|number| normalize_czech_phone(number).unwrap_or_else(|_| number.to_owned()));
        // One concurrent round of reads: the configuration (when its cache is due), this call's
        // record, the caller's last agent and client facts, and the live state of agents and
        // queues — every round trip is on the relay's clock (RouteRequest → RouteSelect).
        let (config, state, client, live) = tokio::join!(
            self.routing_config(),
            self.state.call_and_last_agent(&call_id, &caller),
            self.client_facts(caller.as_deref()),
            self.live_state()
        );
        let config = config?;
        let (existing, last_agent) = state.map_err(state_error)?;
        let live = live?;
        // A repeated request (the relay retried) gets the same answer; a re-route request means
        // the previous destination failed: `place` decides again without that agent.
        if let Some(existing) = &existing {
            if request.attempt == 0 {
                if let Some(answer) = self.repeat_answer(existing, &config).await? {
                    return Ok(answer);
                }
            }
        }
        let facts = CallFacts {
            call_id: call_id.clone(),
            dialled: request.routing_device.clone(),
            caller,
            ivr_choices: Vec::new(),
            attributes: BTreeMap::new(),
            entered_at: existing.as_ref().map_or(now, |call| call.entered_at),
            client,
            last_agent,
            recording_allowed: true,
        };
        let plan = config.plan.clone();
        let prefetched = snapshot_of(&config, live, now)?;
        self.place(
            &config,
            &facts,
            existing.as_ref(),
            Some(prefetched),
            |snapshot: &RoutingSnapshot| decide(&facts, &plan, snapshot),
            now,
        )
        .await
    }

    /// Places a call where `choose` decides on a fresh snapshot: reserves and offers an agent
    /// (retrying when a concurrent decision took the agent), puts it in its queue's waiting
    /// device, or sends it to an IVR tree, announcement or overflow destination. `existing`:
    /// the call's waiting record, if it has one (the agent it was offered to failed and must not
    /// get it again); `prefetched`: the snapshot when the caller read it already.
    async fn place<F>(
        &self,
        config: &RoutingConfig,
        facts: &CallFacts,
        existing: Option<&WaitingCall>,
        prefetched: Option<(RoutingSnapshot, DeviceSince)>,
        choose: F,
        now: DateTime<Utc>,
    ) -> Result<Routed, RouterError>
    where
        F: Fn(&RoutingSnapshot) -> RoutingOutcome,
    {
        let call_id = facts.call_id.clone();
        let guard = if existing.is_some() {
            WaitingGuard::Any
        } else {
            WaitingGuard::New
        };
        let (mut snapshot, since) = match prefetched {
            Some(read) => read,
            None => self.snapshot(config, now).await?,
        };
        if let Some(agent) = existing.and_then(|call| call.offered_to.as_ref()) {
            snapshot.reserve(agent, &call_id);
        }
        for _ in 0..MAX_OFFER_ATTEMPTS {
            let outcome = choose(&snapshot);
            match &outcome.decision {
                Decision::Agent {
                    username,
                    device,
                    queue_id,
                    ..
                } => {
                    let Some(waiting) = waiting_call_for(facts, &outcome.decision, now) else {
                        continue;
                    };
                    let reservation = self.reservation(username, device, &call_id, queue_id, now);
                    let device_since = since.get(username).copied().flatten();
                    match self
                        .state
                        .offer(&reservation, &waiting, &guard, device_since, now)
                        .await
                        .map_err(state_error)?
                    {
                        OfferOutcome::Offered => {
                            self.schedule_review(&call_id, self.offer_seconds).await?;
                            return Ok(Routed {
                                destination: device.clone(),
                                outcome,
                            });
                        }
                        OfferOutcome::AgentTaken => {
                            snapshot.reserve(username, "(taken)");
                            self.mark_reserved(&mut snapshot, &since, now).await?;
                        }
                        OfferOutcome::CallTaken => {
                            // Another invocation answered the same request first.
                            if let Some(stored) = self
                                .state
                                .waiting_call(&call_id)
                                .await
                                .map_err(state_error)?
                            {
                                if let Some(answer) = self.repeat_answer(&stored, config).await? {
                                    return Ok(answer);
                                }
                            }
                            return Err(RouterError::Contention);
                        }
                    }
                }
                Decision::Queue { queue_id, .. } => {
                    let destination = config.devices.destination(&outcome.decision, &|_| None)?;
                    if let Some(waiting) = waiting_call_for(facts, &outcome.decision, now) {
                        let limit = snapshot
                            .queue(queue_id)
                            .and_then(|queue| queue.routing.max_waiting_calls);
                        let counted_before = existing.is_some_and(|call| {
                            call.queue_id == *queue_id && call.offered_to.is_none()
                        });
                        let max_wait = snapshot
                            .queue(queue_id)
                            .and_then(|queue| queue.routing.max_wait_seconds)
                            .unwrap_or(MAX_REVIEW_INTERVAL_SECONDS);
                        if limit.is_none() || counted_before {
                            // Nothing to re-count: the waiting record and its review (delayed by
                            // at least a second, so never read before the record is stored) go
                            // out at once — one round trip less on the relay's clock.
                            tokio::try_join!(
                                async {
                                    self.state
                                        .put_waiting(&waiting, &WaitingGuard::Any)
                                        .await
                                        .map_err(state_error)
                                },
                                self.schedule_review(&call_id, max_wait)
                            )?;
                            return Ok(Routed {
                                destination,
                                outcome,
                            });
                        }
                        self.state
                            .put_waiting(&waiting, &WaitingGuard::Any)
                            .await
                            .map_err(state_error)?;
                        let now_waiting = self.state.waiting_calls().await.map_err(state_error)?;
                        if queue_over_limit(&now_waiting, queue_id, limit) {
                            // Concurrent decisions filled the queue meanwhile: leave it and
                            // decide again on what waits now (the queue is full → overflow).
                            self.state
                                .remove_waiting(&call_id)
                                .await
                                .map_err(state_error)?;
                            let others = now_waiting
                                .into_iter()
                                .filter(|call| call.call_id != call_id)
                                .collect();
                            snapshot = snapshot.with_waiting(others)?;
                            continue;
                        }
                        self.schedule_review(&call_id, max_wait).await?;
                    }
                    return Ok(Routed {
                        destination,
                        outcome,
                    });
                }
                _ => {
                    let agent_device =
                        |username: &str| snapshot.agent(username).map(|agent| agent.device.clone());
                    let destination = config
                        .devices
                        .destination(&outcome.decision, &agent_device)?;
                    if existing.is_some() {
                        self.state
                            .remove_waiting(&call_id)
                            .await
                            .map_err(state_error)?;
                    }
                    if let Decision::Ivr { ivr_id, node } = &outcome.decision {
                        self.enter_ivr(facts, ivr_id, node.as_deref(), &destination, now)
                            .await?;
                    }
                    return Ok(Routed {
                        destination,
                        outcome,
                    });
                }
            }
        }
        Err(RouterError::Contention)
    }

    /// The answer already given for a call that waits or is being offered.
    async fn repeat_answer(
        &self,
        call: &WaitingCall,
        config: &RoutingConfig,
    ) -> Result<Option<Routed>, RouterError> {
        let decision = match &call.offered_to {
            Some(username) => {
                let Some(reservation) = self
                    .state
                    .reservation(username)
                    .await
                    .map_err(state_error)?
                else {
                    return Ok(None);
                };
                if reservation.call_id != call.call_id {
                    return Ok(None);
                }
                Decision::Agent {
                    username: username.clone(),
                    device: reservation.device,
                    queue_id: call.queue_id.clone(),
                    priority: call.priority,
                    reason: linka_shared::routing::AgentReason::BestAgent {
                        skill_level: 0,
                        member_priority: 0,
                    },
                }
            }
            None => Decision::Queue {
                queue_id: call.queue_id.clone(),
                priority: call.priority,
                position: 0,
                sticky: call.sticky.clone(),
            },
        };
        let destination = config.devices.destination(&decision, &|_| None)?;
        Ok(Some(Routed {
            destination,
            outcome: RoutingOutcome {
                decision,
                recording: true,
                trail: Vec::new(),
            },
        }))
    }

    // -----------------------------------------------------------------------------------------
    // Triggers
    // -----------------------------------------------------------------------------------------

    /// Offers `call` (waiting, not offered) to `username` at `device` and tells the relay to move
    /// it there. `Ok(None)` when a concurrent decision took the agent or the call.
    async fn offer_waiting(
        &self,
        config: &RoutingConfig,
        call: &WaitingCall,
        username: &str,
        device: &str,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Handled>, RouterError> {
        let (_, pbx_call) = split_call_key(&call.call_id)?;
        let from = waiting_device(config, call)?;
        let mut offered = call.clone();
        offered.offered_to = Some(username.to_owned());
        let reservation = self.reservation(username, device, &call.call_id, &call.queue_id, now);
        let outcome = self
            .state
            .offer(
                &reservation,
                &offered,
                &WaitingGuard::NotOffered,
                device_since,
                now,
            )
            .await
            .map_err(state_error)?;
        if outcome != OfferOutcome::Offered {
            return Ok(None);
        }
        self.signals
            .command(&command(
                CommandAction::Deflect {
                    device: from,
                    call_id: pbx_call.to_owned(),
                    to: device.to_owned(),
                },
                now,
            ))
            .await?;
        self.schedule_review(&call.call_id, self.offer_seconds)
            .await?;
        Ok(Some(Handled::Offered {
            call_id: call.call_id.clone(),
            username: username.to_owned(),
        }))
    }

    /// The agent at `device` may take a call: offer them the best waiting call.
    pub async fn agent_available(
        &self,
        device: &str,
        now: DateTime<Utc>,
    ) -> Result<Handled, RouterError> {
        let config = self.routing_config().await?;
        for _ in 0..MAX_OFFER_ATTEMPTS {
            let (snapshot, since) = self.snapshot(&config, now).await?;
            let Some(agent) = snapshot.agents().iter().find(|a| a.device == device) else {
                if !snapshot.waiting().is_empty() {
                    tracing::debug!(
                        device,
                        "agent available, but no agent of a queue at the device"
                    );
                }
                return Ok(Handled::Nothing);
            };
            let callbacks = self.agent_callbacks(&config, &agent.username).await?;
            let values: Vec<Callback> = callbacks.iter().map(|v| v.value.clone()).collect();
            let device_since = since.get(&agent.username).copied().flatten();
            let handled = match pick_work_for_agent(&agent.username, &snapshot, &values) {
                None => {
                    // Why an agent said to be free got none of the waiting calls: common (reserved,
                    // in wrap-up, not a member), so at DEBUG; it found the ring-out re-offer.
                    if !snapshot.waiting().is_empty() {
                        tracing::debug!(
                            device,
                            presence = ?agent.presence,
                            wrap_up_until = ?agent.wrap_up_until,
                            reserved_for = ?agent.reserved_for,
                            logged_out_queues = ?agent.logged_out_queues,
                            waiting = ?snapshot
                                .waiting()
                                .iter()
                                .map(|call| (
                                    &call.queue_id,
                                    call.offered_to.as_deref(),
                                    call.sticky.as_ref().map(|hold| &hold.username)
                                ))
                                .collect::<Vec<_>>(),
                            "agent available, but no waiting call for them"
                        );
                    }
                    return Ok(Handled::Nothing);
                }
                Some(NextWork::Call(pick)) => {
                    let Some(call) = snapshot.waiting_call(&pick.call_id) else {
                        return Ok(Handled::Nothing);
                    };
                    self.offer_waiting(&config, call, &agent.username, device, device_since, now)
                        .await?
                }
                Some(NextWork::Callback(id)) => {
                    let Some(callback) = callbacks.into_iter().find(|v| v.value.id == id) else {
                        return Ok(Handled::Nothing);
                    };
                    self.offer_callback(
                        &config,
                        callback,
                        &agent.username,
                        device,
                        device_since,
                        now,
                    )
                    .await?
                }
            };
            if let Some(handled) = handled {
                return Ok(handled);
            }
            // Lost a race: read the state again (the agent may have been given a call).
        }
        Err(RouterError::Contention)
    }

    /// The call no longer waits: answered at `answered_by`, or ended (`None`). An answer keeps
    /// the agent's reservation until the call ends; the end turns it into the queue's wrap-up
    /// time (IN-18), after which the agent is offered the next call.
    pub async fn call_settled(
        &self,
        call_id: &str,
        answered_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Handled, RouterError> {
        if let Some(device) = answered_by {
            // An IVR port answered a call routed into a cloud-driven tree: the tree starts.
            if let Some(handled) = self.ivr_answered(call_id, device, now).await? {
                return Ok(handled);
            }
            // A waiting queue that answers the call to play music or announcements (as a real
            // PBX may) does not end the wait.
            let config = self.routing_config().await?;
            if config
                .devices
                .queues
                .values()
                .any(|waiting| waiting == device)
            {
                return Ok(Handled::Nothing);
            }
        }
        let waiting = self
            .state
            .waiting_call(call_id)
            .await
            .map_err(state_error)?;
        match (&waiting, answered_by) {
            (Some(call), None) => {
                // The caller hung up while waiting or ringing (IN-22). Before the waiting record
                // goes, so that a failure here retries the whole trigger.
                self.lost_call(lost_from_waiting(call, now), now).await?;
            }
            // Not waiting: perhaps the caller hung up before or in an IVR tree.
            (None, None) => self.lost_in_ivr(call_id, now).await?,
            (_, Some(_)) => {}
        }
        self.state
            .remove_waiting(call_id)
            .await
            .map_err(state_error)?;
        let reservations = self.state.reservations().await.map_err(state_error)?;
        for reservation in reservations.iter().filter(|r| r.call_id == call_id) {
            match answered_by {
                Some(device) if device == reservation.device => {
                    if reservation.answered_at.is_none() {
                        let mut answered = reservation.clone();
                        answered.answered_at = Some(now);
                        self.state
                            .replace_reservation(&answered, call_id)
                            .await
                            .map_err(state_error)?;
                    }
                    if let Some(caller) = waiting.as_ref().and_then(|w| w.caller.as_deref()) {
                        self.state
                            .record_last_agent(
                                caller,
                                &LastAgent {
                                    username: reservation.username.clone(),
                                    at: now,
                                },
                            )
                            .await
                            .map_err(state_error)?;
                    }
                }
                Some(_) => {}
                // A ring-out hold ends with the agent's not-ready report, not with the call.
                None if reservation.rang_out_at.is_some() => {}
                None => {
                    let wrap_up = match reservation.answered_at {
                        Some(_) => {
                            let config = self.routing_config().await?;
                            config
                                .queues
                                .iter()
                                .find(|q| q.id() == reservation.queue_id)
                                .map_or(0, |q| q.routing.wrap_up_seconds)
                        }
                        None => 0,
                    };
                    let next = reservation.after_call(wrap_up, now);
                    self.replace_reservation_until_free(&next, call_id, now)
                        .await?;
                }
            }
        }
        Ok(Handled::Forgotten {
            call_id: call_id.to_owned(),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Wrap-up (IN-18)
    // -----------------------------------------------------------------------------------------

    /// The agent's reservation, when it keeps them in a wrap-up, and when their device entered
    /// its current state.
    async fn wrap_up_reservation(
        &self,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<(Reservation, Option<DateTime<Utc>>, Option<u32>), RouterError> {
        let reservation = self
            .state
            .reservation(username)
            .await
            .map_err(state_error)?
            .ok_or(WrapUpError::NotInWrapUp)?;
        let device_since = self
            .state
            .agent_presence(&reservation.device)
            .await
            .map_err(state_error)?
            .and_then(|presence| presence.since);
        let config = self.routing_config().await?;
        let limit = config
            .queues
            .iter()
            .find(|queue| queue.id() == reservation.queue_id)
            .and_then(|queue| queue.routing.max_wrap_up_seconds);
        if reservation.wrap_up(device_since, limit, now).is_none() {
            return Err(WrapUpError::NotInWrapUp.into());
        }
        Ok((reservation, device_since, limit))
    }

    /// The wrap-up the agent is in at `now`, if any.
    pub async fn wrap_up(
        &self,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WrapUp>, RouterError> {
        match self.wrap_up_reservation(username, now).await {
            Ok((reservation, since, limit)) => Ok(reservation.wrap_up(since, limit, now)),
            Err(RouterError::WrapUp(WrapUpError::NotInWrapUp)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Extends the agent's wrap-up by `seconds` within the queue's limit; routing offers the
    /// agent the next call when the new end comes.
    pub async fn extend_wrap_up(
        &self,
        username: &str,
        seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<WrapUp, RouterError> {
        let (reservation, since, limit) = self.wrap_up_reservation(username, now).await?;
        let next = reservation.extended_wrap_up(seconds, since, limit, now)?;
        self.replace_wrap_up(&reservation, &next, now).await?;
        next.wrap_up(since, limit, now)
            .ok_or_else(|| WrapUpError::NotInWrapUp.into())
    }

    /// Ends the agent's wrap-up now: they may be offered the next call at once.
    pub async fn end_wrap_up(&self, username: &str, now: DateTime<Utc>) -> Result<(), RouterError> {
        let (reservation, since, _) = self.wrap_up_reservation(username, now).await?;
        let next = reservation.ended_wrap_up(since, now)?;
        self.replace_wrap_up(&reservation, &next, now).await
    }

    async fn replace_wrap_up(
        &self,
        before: &Reservation,
        next: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<(), RouterError> {
        if !self
            .replace_reservation_until_free(next, &before.call_id, now)
            .await?
        {
            // Offered another call meanwhile: the wrap-up is over.
            return Err(WrapUpError::NotInWrapUp.into());
        }
        Ok(())
    }

    /// Replaces the agent's reservation for `call_id` with `next` and offers the agent work
    /// again a second after `next` ends (at once when it ends now; waiting calls are also
    /// reviewed at least every 30 s). False when the reservation was another call's meanwhile.
    async fn replace_reservation_until_free(
        &self,
        next: &Reservation,
        call_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, RouterError> {
        if !self
            .state
            .replace_reservation(next, call_id)
            .await
            .map_err(state_error)?
        {
            return Ok(false);
        }
        let delay = match (next.expires_at - now).num_seconds() {
            left if left <= 0 => 0,
            left => left + 1,
        };
        self.signals
            .trigger(
                &RoutingTrigger::AgentAvailable {
                    device: next.device.clone(),
                },
                u32::try_from(delay).unwrap_or(u32::MAX),
            )
            .await?;
        Ok(true)
    }

    // -----------------------------------------------------------------------------------------
    // Callbacks
    // -----------------------------------------------------------------------------------------

    /// The active callbacks of the queues the agent is a member of.
    async fn agent_callbacks(
        &self,
        config: &RoutingConfig,
        username: &str,
    ) -> Result<Vec<Versioned<Callback>>, RouterError> {
        let Some(store) = &self.callbacks else {
            return Ok(Vec::new());
        };
        let queues = config
            .queues
            .iter()
            .filter(|q| q.members.iter().any(|m| m.username == username))
            .map(|q| store.active_in_queue(q.id()));
        let mut found = Vec::new();
        for result in join_all(queues).await {
            found.extend(result.map_err(RouterError::Callback)?);
        }
        Ok(found)
    }

    /// Gives a due callback to an agent: reserves the agent (as for an offered call), claims the
    /// callback for them and dials the client from their device. `None` when a concurrent
    /// decision took the agent or the callback (the caller decides again).
    async fn offer_callback(
        &self,
        config: &RoutingConfig,
        mut callback: Versioned<Callback>,
        username: &str,
        device: &str,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Handled>, RouterError> {
        let Some(store) = &self.callbacks else {
            return Ok(None);
        };
        let policy = config
            .queues
            .iter()
            .find(|q| q.id() == callback.value.queue_id)
            .map(|q| q.routing.callback_settings().policy)
            .unwrap_or_default();
        let reservation_id = callback_reservation_id(&callback.value.id);
        let reservation = self.reservation(
            username,
            device,
            &reservation_id,
            &callback.value.queue_id,
            now,
        );
        if !self
            .state
            .reserve(&reservation, device_since, now)
            .await
            .map_err(state_error)?
        {
            return Ok(None);
        }
        let claimed = callback.value.claim(username, now, &policy).is_ok();
        let saved = if claimed {
            match store.save(&callback).await {
                Ok(()) => Ok(true),
                Err(CallbackWriteError::Conflict) => Ok(false),
                Err(CallbackWriteError::Store(error)) => Err(RouterError::Callback(error)),
            }
        } else {
            Ok(false)
        };
        if !matches!(saved, Ok(true)) {
            // Give the agent back at once.
            let mut released = reservation.clone();
            released.expires_at = now;
            self.state
                .replace_reservation(&released, &reservation_id)
                .await
                .map_err(state_error)?;
            return saved.map(|_| None);
        }
        self.signals
            .command(&command(
                CommandAction::Dial {
                    device: device.to_owned(),
                    to: callback.value.number.clone(),
                },
                now,
            ))
            .await?;
        // When the claim ends, the callback is looked at again (retried if nobody settled it).
        self.signals
            .trigger(
                &RoutingTrigger::CallbackDue {
                    callback_id: callback.value.id.clone(),
                },
                callback_delay(&callback.value, now),
            )
            .await?;
        Ok(Some(Handled::CallbackDialled {
            callback_id: callback.value.id.clone(),
            username: username.to_owned(),
        }))
    }

    /// A callback may be due: give it to the best free agent of its queue (unless a waiting call
    /// ranks before it), or look again when it becomes due. Nothing when nobody is free: the
    /// next agent who becomes free takes it ([`Router::agent_available`]).
    pub async fn callback_due(
        &self,
        callback_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Handled, RouterError> {
        let Some(store) = &self.callbacks else {
            return Ok(Handled::Nothing);
        };
        let config = self.routing_config().await?;
        for _ in 0..MAX_OFFER_ATTEMPTS {
            let Some(callback) = store
                .get(callback_id)
                .await
                .map_err(RouterError::Callback)?
            else {
                return Ok(Handled::Nothing);
            };
            if !callback.value.is_active() {
                return Ok(Handled::Nothing);
            }
            if !callback.value.is_due(now) {
                self.signals
                    .trigger(
                        &RoutingTrigger::CallbackDue {
                            callback_id: callback_id.to_owned(),
                        },
                        callback_delay(&callback.value, now),
                    )
                    .await?;
                return Ok(Handled::CallbackLater {
                    callback_id: callback_id.to_owned(),
                });
            }
            let (snapshot, since) = self.snapshot(&config, now).await?;
            let Some((username, device)) = agent_for_callback(&callback.value, &snapshot) else {
                return Ok(Handled::Nothing);
            };
            let device_since = since.get(&username).copied().flatten();
            if let Some(handled) = self
                .offer_callback(&config, callback, &username, &device, device_since, now)
                .await?
            {
                return Ok(handled);
            }
        }
        Err(RouterError::Contention)
    }

    /// A call the caller left in an IVR tree (or before its port answered): a lost call of the
    /// tree's lost-calls queue (IN-22). Nothing when the call was not in a tree, or was leaving
    /// it anyway.
    async fn lost_in_ivr(&self, call_id: &str, now: DateTime<Utc>) -> Result<(), RouterError> {
        let Some(ivr) = &self.ivr else {
            return Ok(());
        };
        let Some(call) = ivr.calls.get(call_id).await.map_err(RouterError::IvrCall)? else {
            return Ok(());
        };
        let Some(tree) = self.ivr_tree(&call.value.ivr_id).await? else {
            return Ok(());
        };
        let Some(queue_id) = tree.lost_calls_queue() else {
            tracing::warn!(
                call_id,
                ivr_id = tree.ivr_id,
                "a caller hung up in an IVR tree that leads to several queues and names none for lost calls: no callback"
            );
            return Ok(());
        };
        let config = self.routing_config().await?;
        let priority = config
            .queues
            .iter()
            .find(|queue| queue.id() == queue_id)
            .map_or(0, |queue| queue.config.priority);
        match lost_in_ivr(&call.value, queue_id, priority, now) {
            Some(lost) => self.lost_call(lost, now).await,
            None => Ok(()),
        }
    }

    /// A call ended unanswered: a callback for its caller, or the lost call merged into the
    /// caller's open callback (IN-22; the policy of the lost call's queue decides).
    async fn lost_call(&self, lost: LostCall, now: DateTime<Utc>) -> Result<(), RouterError> {
        let Some(store) = &self.callbacks else {
            return Ok(());
        };
        let Some(number) = lost
            .caller
            .as_deref()
            .and_then(|caller| normalize_czech_phone(caller).ok())
        else {
            return Ok(());
        };
        let config = self.routing_config().await?;
        let policy = config
            .queues
            .iter()
            .find(|q| q.id() == lost.queue_id)
            .map(|q| q.routing.callback_settings().policy)
            .unwrap_or_default();
        let call_id = lost.contact_id.clone();
        let id = lost_call_callback_id(&call_id);
        let stored = store
            .by_number(&number, CALLBACKS_PER_NUMBER)
            .await
            .map_err(RouterError::Callback)?;
        let mut values: Vec<Callback> = stored.iter().map(|v| v.value.clone()).collect();
        let action = match on_lost_call(&lost, &mut values, &id, &policy, now) {
            Ok(action) => action,
            Err(error) => {
                tracing::warn!(call_id, error.message = %error, "lost call makes no callback");
                return Ok(());
            }
        };
        let write = match action {
            LostCallAction::Create(callback) => Versioned {
                value: *callback,
                version: 0,
            },
            LostCallAction::Merged { index } => {
                let (Some(value), Some(before)) = (values.get(index), stored.get(index)) else {
                    return Ok(());
                };
                Versioned {
                    value: value.clone(),
                    version: before.version,
                }
            }
            LostCallAction::AlreadyRecorded { .. } | LostCallAction::Ignored(_) => return Ok(()),
        };
        match store.save(&write).await {
            Ok(()) => {}
            // Created by an earlier try of this trigger.
            Err(CallbackWriteError::Conflict) if write.version == 0 => return Ok(()),
            Err(CallbackWriteError::Conflict) => {
                return Err(RouterError::CallbackConflict(write.value.id.clone()))
            }
            Err(CallbackWriteError::Store(error)) => return Err(RouterError::Callback(error)),
        }
        self.signals
            .trigger(
                &RoutingTrigger::CallbackDue {
                    callback_id: write.value.id.clone(),
                },
                callback_delay(&write.value, now),
            )
            .await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Cloud-driven IVR (IN-10…IN-13)
    // -----------------------------------------------------------------------------------------

    /// Records that the call goes into an IVR tree at `port` (the tree starts when the port
    /// answers). A call already in an IVR (a transfer from one tree to another) starts afresh.
    async fn enter_ivr(
        &self,
        facts: &CallFacts,
        ivr_id: &str,
        node: Option<&str>,
        port: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RouterError> {
        let Some(ivr) = &self.ivr else {
            return Ok(());
        };
        let (relay_id, pbx_call_id) = split_call_key(&facts.call_id)?;
        let existing = ivr
            .calls
            .get(&facts.call_id)
            .await
            .map_err(RouterError::IvrCall)?;
        let call = IvrCall {
            call_key: facts.call_id.clone(),
            relay_id: relay_id.to_owned(),
            pbx_call_id: pbx_call_id.to_owned(),
            ivr_id: ivr_id.to_owned(),
            port: port.to_owned(),
            start_node: node.map(str::to_owned),
            caller: facts.caller.clone(),
            dialled: facts.dialled.clone(),
            entered_at: existing
                .as_ref()
                .map_or(facts.entered_at, |e| e.value.entered_at),
            session: Default::default(),
            prompt_id: None,
            awaiting: Awaiting::Answer,
            updated_at: now,
        };
        if existing
            .as_ref()
            .is_some_and(|e| e.value.ivr_id == ivr_id && e.value.awaiting == Awaiting::Answer)
        {
            // A repeated route request: recorded already.
            return Ok(());
        }
        let version = existing.map_or(0, |e| e.version);
        match ivr
            .calls
            .save(&Versioned {
                value: call,
                version,
            })
            .await
        {
            Ok(()) | Err(IvrWriteError::Conflict) => Ok(()),
            Err(IvrWriteError::Store(error)) => Err(RouterError::IvrCall(error)),
        }
    }

    /// The call was answered at `device`: if it is the IVR port of a call routed into a tree,
    /// the tree starts. `None` when the answer is not an IVR start.
    async fn ivr_answered(
        &self,
        call_id: &str,
        device: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Handled>, RouterError> {
        let Some(ivr) = &self.ivr else {
            return Ok(None);
        };
        let Some(call) = ivr.calls.get(call_id).await.map_err(RouterError::IvrCall)? else {
            return Ok(None);
        };
        if call.value.port != device {
            if call.value.awaiting == Awaiting::Answer {
                // Answered elsewhere before the IVR port took it (the PBX's fallback, a
                // pickup): the call never entered the tree, so its end is no lost IVR call.
                let mut left = call;
                left.value.awaiting = Awaiting::Done;
                left.value.updated_at = now;
                match ivr.calls.save(&left).await {
                    Ok(()) | Err(IvrWriteError::Conflict) => {}
                    Err(IvrWriteError::Store(error)) => return Err(RouterError::IvrCall(error)),
                }
            }
            return Ok(None);
        }
        if call.value.awaiting != Awaiting::Answer {
            // A repeated trigger: the tree runs already.
            return Ok(Some(Handled::Nothing));
        }
        self.ivr_advance(call, IvrInput::Start, now).await.map(Some)
    }

    /// A report of an IVR port (the end of a prompt, a collection or a recording).
    pub async fn ivr_report(
        &self,
        call_id: &str,
        device: &str,
        prompt_id: &str,
        outcome: &IvrPortOutcome,
        now: DateTime<Utc>,
    ) -> Result<Handled, RouterError> {
        let Some(ivr) = &self.ivr else {
            return Ok(Handled::Nothing);
        };
        let Some(mut call) = ivr.calls.get(call_id).await.map_err(RouterError::IvrCall)? else {
            return Ok(Handled::Nothing);
        };
        if call.value.port != device || !call.value.expects(prompt_id) {
            tracing::debug!(call_id, prompt_id, "stale IVR report ignored");
            return Ok(Handled::Nothing);
        }
        match call.value.awaiting.clone() {
            Awaiting::Input => match input_for(outcome) {
                Some(input) => self.ivr_advance(call, input, now).await,
                None => Ok(Handled::Nothing),
            },
            Awaiting::HangupAfterPrompt => {
                call.value.awaiting = Awaiting::Done;
                self.ivr_commit(
                    call,
                    vec![CommandAction::Hangup {
                        device: device.to_owned(),
                        call_id: String::new(),
                    }],
                    now,
                )
                .await
            }
            Awaiting::Greeting {
                queue_id,
                max_seconds,
                attributes,
            } => {
                // The greeting ended: record the caller into the queue's mailbox.
                let Some(voicemail) = ivr.voicemail.as_ref() else {
                    call.value.awaiting = Awaiting::Done;
                    let hangup = CommandAction::Hangup {
                        device: device.to_owned(),
                        call_id: String::new(),
                    };
                    return self.ivr_commit(call, vec![hangup], now).await;
                };
                let key = voicemail_audio_key(&queue_id, &call.value.call_key);
                let upload_url = voicemail
                    .audio
                    .upload_url(
                        &key,
                        std::time::Duration::from_secs(u64::from(max_seconds) + 300),
                    )
                    .await
                    .map_err(RouterError::Voicemail)?;
                let prompt_id = uuid::Uuid::new_v4().to_string();
                call.value.prompt_id = Some(prompt_id.clone());
                call.value.awaiting = Awaiting::Recording {
                    queue_id,
                    key: key.clone(),
                    attributes,
                };
                let record = CommandAction::RecordMessage {
                    device: device.to_owned(),
                    call_id: call.value.pbx_call_id.clone(),
                    prompt_id,
                    key,
                    upload_url,
                    max_seconds,
                };
                self.ivr_commit(call, vec![record], now).await
            }
            Awaiting::Recording {
                queue_id,
                key,
                attributes,
            } => {
                if let (
                    IvrPortOutcome::RecordingStored {
                        key: stored,
                        duration_ms,
                    },
                    Some(voicemail),
                ) = (outcome, ivr.voicemail.as_ref())
                {
                    let key = if stored.is_empty() {
                        key
                    } else {
                        stored.clone()
                    };
                    match Voicemail::from_recording(
                        &call.value.call_key,
                        &queue_id,
                        call.value.caller.as_deref(),
                        attributes,
                        &key,
                        *duration_ms,
                        now,
                    ) {
                        Ok(message) => match voicemail
                            .store
                            .save(&Versioned {
                                value: message,
                                version: 0,
                            })
                            .await
                        {
                            // Conflict: stored by an earlier delivery of this report.
                            Ok(()) | Err(VoicemailWriteError::Conflict) => {}
                            Err(VoicemailWriteError::Store(error)) => {
                                return Err(RouterError::Voicemail(error))
                            }
                        },
                        Err(error) => {
                            tracing::error!(call_id, error.message = %error, "voicemail not stored");
                        }
                    }
                } else if let IvrPortOutcome::RecordingFailed { error } = outcome {
                    tracing::warn!(call_id, error, "the voicemail recording failed");
                }
                call.value.awaiting = Awaiting::Done;
                let hangup = CommandAction::Hangup {
                    device: device.to_owned(),
                    call_id: String::new(),
                };
                self.ivr_commit(call, vec![hangup], now).await
            }
            Awaiting::Answer | Awaiting::Done => Ok(Handled::Nothing),
        }
    }

    /// The tree of an IVR call; `None` when it is missing or unreadable (logged).
    async fn ivr_tree(&self, ivr_id: &str) -> Result<Option<IvrTree>, RouterError> {
        let Some(document) = self
            .config
            .get(IVR_COLLECTION, ivr_id)
            .await
            .map_err(read_store)?
        else {
            tracing::error!(ivr_id, "a call entered an IVR tree that does not exist");
            return Ok(None);
        };
        let serde_json::Value::Object(body) = document else {
            return Ok(None);
        };
        match parse_document::<IvrTree>(body) {
            Ok(tree) => Ok(Some(tree)),
            Err(error) => {
                tracing::error!(
                    ivr_id,
                    field = error.field,
                    error.message = error.message,
                    "unreadable IVR tree"
                );
                Ok(None)
            }
        }
    }

    /// A PlayPrompt command for the port, and its prompt id.
    async fn play(
        &self,
        call: &IvrCall,
        prompt: &PromptRef,
        collect: Option<DigitCollect>,
    ) -> Result<(String, CommandAction), RouterError> {
        let prompt_id = uuid::Uuid::new_v4().to_string();
        let media = match &self.ivr {
            Some(ivr) => {
                let resolved = match ivr.prompts.resolve(prompt).await {
                    Ok(resolved) => Ok(resolved),
                    Err(error) => {
                        // A recording deleted under a live tree: the caller hears a spoken
                        // apology instead, and the menu or collection still works.
                        tracing::error!(call_id = call.call_key, error.message = %error, "IVR prompt unavailable; playing the fallback");
                        ivr.prompts
                            .resolve(&PromptRef::tts(FALLBACK_PROMPT_TEXT))
                            .await
                    }
                };
                match resolved {
                    Ok(resolved) => vec![PromptMedia {
                        url: resolved.url,
                        cache_key: resolved.cache_key,
                    }],
                    Err(error) => {
                        tracing::error!(call_id = call.call_key, error.message = %error, "no IVR prompt at all");
                        Vec::new()
                    }
                }
            }
            None => Vec::new(),
        };
        Ok((
            prompt_id.clone(),
            CommandAction::PlayPrompt {
                device: call.port.clone(),
                call_id: call.pbx_call_id.clone(),
                prompt_id,
                media,
                collect,
            },
        ))
    }

    /// Runs the interpreter from `input` until it waits for the port again (or the call left
    /// the tree), then stores the call and commands the port.
    async fn ivr_advance(
        &self,
        mut call: Versioned<IvrCall>,
        mut input: IvrInput,
        now: DateTime<Utc>,
    ) -> Result<Handled, RouterError> {
        let hangup = |call: &IvrCall| CommandAction::Hangup {
            device: call.port.clone(),
            call_id: call.pbx_call_id.clone(),
        };
        let Some(tree) = self.ivr_tree(&call.value.ivr_id).await? else {
            call.value.awaiting = Awaiting::Done;
            let command = hangup(&call.value);
            return self.ivr_commit(call, vec![command], now).await;
        };
        let config = self.routing_config().await?;
        let (snapshot, _) = self.snapshot(&config, now).await?;
        let env = snapshot.ivr_env(None);
        let mut commands = Vec::new();
        let mut first = true;
        loop {
            let (session, action) = match (&input, &call.value.start_node, first) {
                (IvrInput::Start, Some(node), true) => start_at(&tree, node, &env),
                _ => step(&tree, &call.value.session, input.clone(), &env),
            };
            first = false;
            call.value.session = session;
            match action {
                IvrAction::Play { prompt, collect } => {
                    let collect = collect.map(|c| DigitCollect {
                        min_digits: c.min_digits,
                        max_digits: c.max_digits,
                        timeout_seconds: c.timeout_seconds,
                        terminator: c.terminator,
                        barge_in: true,
                    });
                    let (id, command) = self.play(&call.value, &prompt, collect).await?;
                    call.value.prompt_id = Some(id);
                    call.value.awaiting = Awaiting::Input;
                    commands.push(command);
                    break;
                }
                IvrAction::OfferCallback {
                    prompt, collect, ..
                } => {
                    let collect = DigitCollect {
                        min_digits: collect.min_digits,
                        max_digits: collect.max_digits,
                        timeout_seconds: collect.timeout_seconds,
                        terminator: collect.terminator,
                        barge_in: true,
                    };
                    let (id, command) = self.play(&call.value, &prompt, Some(collect)).await?;
                    call.value.prompt_id = Some(id);
                    call.value.awaiting = Awaiting::Input;
                    commands.push(command);
                    break;
                }
                IvrAction::AnnouncePosition { position, .. } => {
                    let prompt = PromptRef::tts(position_text(position));
                    let (id, command) = self.play(&call.value, &prompt, None).await?;
                    call.value.prompt_id = Some(id);
                    call.value.awaiting = Awaiting::Input;
                    commands.push(command);
                    break;
                }
                IvrAction::BookCallback {
                    queue_id,
                    preferred_at,
                    attributes,
                } => {
                    self.ivr_book_callback(
                        &call.value,
                        &config,
                        &queue_id,
                        preferred_at,
                        &attributes,
                        now,
                    )
                    .await?;
                    input = IvrInput::PromptFinished;
                }
                IvrAction::Transfer { target, attributes } => {
                    call.value.awaiting = Awaiting::Done;
                    call.value.prompt_id = None;
                    let to = match target {
                        TransferTarget::Number { number } => Some(number),
                        TransferTarget::Queue { queue_id, priority } => {
                            let facts = CallFacts {
                                call_id: call.value.call_key.clone(),
                                dialled: call.value.dialled.clone(),
                                caller: call.value.caller.clone(),
                                ivr_choices: call.value.session.choices.clone(),
                                attributes: attributes.clone(),
                                entered_at: call.value.entered_at,
                                client: None,
                                last_agent: None,
                                recording_allowed: true,
                            };
                            let choose = |plan: &InboundPlan| {
                                let plan = plan.clone();
                                let (facts, queue_id) = (facts.clone(), queue_id.clone());
                                move |snapshot: &RoutingSnapshot| {
                                    decide_queue(&facts, &queue_id, priority, &plan, snapshot)
                                }
                            };
                            let mut placed = self
                                .place(&config, &facts, None, None, choose(&config.plan), now)
                                .await;
                            if let Err(RouterError::Unmapped(_)) = placed {
                                // A queue configured moments ago: the cached configuration may
                                // not know its PBX waiting queue yet. Read it again, once.
                                let fresh = self.fresh_routing_config().await?;
                                placed = self
                                    .place(&fresh, &facts, None, None, choose(&fresh.plan), now)
                                    .await;
                            }
                            match placed {
                                Ok(routed) => Some(routed.destination),
                                Err(error) => {
                                    tracing::error!(call_id = call.value.call_key, error.message = %error, "IVR transfer to a queue failed; the call goes to the default announcement");
                                    config.devices.default_announcement.clone()
                                }
                            }
                        }
                    };
                    match to {
                        Some(to) => commands.push(CommandAction::BlindTransfer {
                            device: call.value.port.clone(),
                            call_id: call.value.pbx_call_id.clone(),
                            to,
                        }),
                        None => commands.push(hangup(&call.value)),
                    }
                    break;
                }
                IvrAction::Voicemail {
                    queue_id,
                    greeting,
                    max_seconds,
                    attributes,
                } => {
                    let (id, command) = self.play(&call.value, &greeting, None).await?;
                    call.value.prompt_id = Some(id);
                    call.value.awaiting = Awaiting::Greeting {
                        queue_id,
                        max_seconds,
                        attributes,
                    };
                    commands.push(command);
                    break;
                }
                IvrAction::Hangup { prompt, .. } => {
                    match prompt {
                        Some(prompt) => {
                            let (id, command) = self.play(&call.value, &prompt, None).await?;
                            call.value.prompt_id = Some(id);
                            call.value.awaiting = Awaiting::HangupAfterPrompt;
                            commands.push(command);
                        }
                        None => {
                            call.value.prompt_id = None;
                            call.value.awaiting = Awaiting::Done;
                            commands.push(hangup(&call.value));
                        }
                    }
                    break;
                }
                IvrAction::Wait => break,
            }
        }
        self.ivr_commit(call, commands, now).await
    }

    /// Stores the IVR call (conditional on the version read), then sends the commands.
    async fn ivr_commit(
        &self,
        mut call: Versioned<IvrCall>,
        commands: Vec<CommandAction>,
        now: DateTime<Utc>,
    ) -> Result<Handled, RouterError> {
        let Some(ivr) = &self.ivr else {
            return Ok(Handled::Nothing);
        };
        call.value.updated_at = now;
        match ivr.calls.save(&call).await {
            Ok(()) => {}
            Err(IvrWriteError::Conflict) => {
                return Err(RouterError::IvrConflict(call.value.call_key.clone()))
            }
            Err(IvrWriteError::Store(error)) => return Err(RouterError::IvrCall(error)),
        }
        for mut action in commands {
            // A hang-up built before the PBX call id was at hand.
            if let CommandAction::Hangup { call_id, .. } = &mut action {
                if call_id.is_empty() {
                    call_id.clone_from(&call.value.pbx_call_id);
                }
            }
            let mut command = command(action, now);
            command.expires_at = now + TimeDelta::seconds(IVR_COMMAND_SECONDS);
            self.signals.command(&command).await?;
        }
        Ok(Handled::IvrStep {
            call_id: call.value.call_key.clone(),
            awaiting: call.value.awaiting.clone(),
        })
    }

    /// A callback the caller asked for in the IVR (IN-11): in the slot around the preferred
    /// time, else as soon as possible; it keeps the call's place (its entry time).
    async fn ivr_book_callback(
        &self,
        call: &IvrCall,
        config: &RoutingConfig,
        queue_id: &str,
        preferred_at: Option<DateTime<Utc>>,
        attributes: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<(), RouterError> {
        let Some(store) = &self.callbacks else {
            return Ok(());
        };
        let Some(number) = call.caller.clone() else {
            tracing::warn!(
                call_id = call.call_key,
                "callback asked for from a withheld number"
            );
            return Ok(());
        };
        let queue = config.queues.iter().find(|q| q.id() == queue_id);
        let settings = queue
            .map(|q| q.routing.callback_settings())
            .unwrap_or_default();
        let slot = preferred_at.and_then(|start| {
            Slot::new(
                start,
                start + TimeDelta::minutes(i64::from(settings.slots.slot_minutes.max(5))),
            )
        });
        let note = (!attributes.is_empty()).then(|| {
            attributes
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("linka:ivr-callback:{}", call.call_key).as_bytes(),
        )
        .to_string();
        let callback = match Callback::create(
            NewCallback {
                id,
                queue_id: queue_id.to_owned(),
                number,
                client_id: None,
                client_name: None,
                source: CallbackSource::Ivr,
                entered_at: Some(call.entered_at),
                priority: queue.map_or(5, |q| q.config.priority),
                requested_slot: slot,
                created_by: linka_shared::callbacks::CREATED_BY_IVR.to_owned(),
                note: note.map(|n| {
                    n.chars()
                        .take(linka_shared::callbacks::MAX_NOTE_CHARS)
                        .collect()
                }),
            },
            now,
        ) {
            Ok(callback) => callback,
            Err(error) => {
                tracing::warn!(call_id = call.call_key, error.message = %error, "IVR callback not booked");
                return Ok(());
            }
        };
        match store
            .save(&Versioned {
                value: callback.clone(),
                version: 0,
            })
            .await
        {
            Ok(()) | Err(CallbackWriteError::Conflict) => {}
            Err(CallbackWriteError::Store(error)) => return Err(RouterError::Callback(error)),
        }
        self.signals
            .trigger(
                &RoutingTrigger::CallbackDue {
                    callback_id: callback.id.clone(),
                },
                callback_delay(&callback, now),
            )
            .await?;
        Ok(())
    }

    /// A waiting call's timer.
    pub async fn review_call(
        &self,
        call_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Handled, RouterError> {
        let Some(call) = self
            .state
            .waiting_call(call_id)
            .await
            .map_err(state_error)?
        else {
            return Ok(Handled::Nothing);
        };
        let config = self.routing_config().await?;
        if let Some(agent) = call.offered_to.clone() {
            let reservation = self.state.reservation(&agent).await.map_err(state_error)?;
            let presence = match &reservation {
                Some(r) => self
                    .state
                    .agent_presence(&r.device)
                    .await
                    .map_err(state_error)?,
                None => None,
            };
            let device_since = presence.as_ref().and_then(|p| p.since);
            match review_offer(&call, reservation.as_ref(), device_since, now) {
                OfferReview::Pending => {
                    let at = reservation.map_or(now, |r| r.expires_at);
                    self.schedule_review(call_id, seconds_until(at, now))
                        .await?;
                    return Ok(Handled::Rescheduled {
                        call_id: call_id.to_owned(),
                    });
                }
                OfferReview::Taken => {
                    // The answer has not settled the call yet (its event is on the way).
                    tracing::info!(
                        call_id,
                        agent,
                        answered_at = ?reservation.as_ref().and_then(|r| r.answered_at),
                        offered_at = ?reservation.as_ref().map(|r| r.offered_at),
                        ?device_since,
                        "offer taken, the call still waits"
                    );
                    return Ok(Handled::Nothing);
                }
                OfferReview::RangOut { agent_username } => {
                    let missed = on_missed_offer(&call, &agent_username);
                    let put_back = self
                        .state
                        .put_waiting(
                            &missed.call,
                            &WaitingGuard::OfferedTo(agent_username.clone()),
                        )
                        .await
                        .map_err(state_error)?;
                    if !put_back {
                        return Ok(Handled::Nothing);
                    }
                    if let Some(reservation) = reservation.filter(|r| r.call_id == call.call_id) {
                        self.ring_out(
                            &config,
                            &call,
                            &reservation,
                            presence.as_ref(),
                            &missed.agent_reason_code,
                            now,
                        )
                        .await?;
                    }
                    // Offer it to someone else straight away.
                    self.schedule_review(call_id, 0).await?;
                    return Ok(Handled::Requeued {
                        call_id: call_id.to_owned(),
                        username: agent_username,
                    });
                }
            }
        }
        if let Some(delay) = self.quiet_review(&config, &call, now).await? {
            self.schedule_review(call_id, delay).await?;
            return Ok(Handled::Rescheduled {
                call_id: call_id.to_owned(),
            });
        }
        let (snapshot, since) = self.snapshot(&config, now).await?;
        match review_waiting_call(call_id, &config.plan, &snapshot) {
            None => Ok(Handled::Nothing),
            Some(Review::Keep { next_review_at }) => {
                let delay =
                    next_review_at.map_or(MAX_REVIEW_INTERVAL_SECONDS, |at| seconds_until(at, now));
                self.schedule_review(call_id, delay).await?;
                Ok(Handled::Rescheduled {
                    call_id: call_id.to_owned(),
                })
            }
            Some(Review::Offer {
                username, device, ..
            }) => {
                let device_since = since.get(&username).copied().flatten();
                match self
                    .offer_waiting(&config, &call, &username, &device, device_since, now)
                    .await?
                {
                    Some(handled) => Ok(handled),
                    None => {
                        self.schedule_review(call_id, 1).await?;
                        Ok(Handled::Rescheduled {
                            call_id: call_id.to_owned(),
                        })
                    }
                }
            }
            Some(Review::Leave { outcome }) => {
                let (_, pbx_call) = split_call_key(call_id)?;
                let agent_device =
                    |username: &str| snapshot.agent(username).map(|agent| agent.device.clone());
                let destination = config
                    .devices
                    .destination(&outcome.decision, &agent_device)?;
                let from = waiting_device(&config, &call)?;
                self.signals
                    .command(&command(
                        CommandAction::Deflect {
                            device: from,
                            call_id: pbx_call.to_owned(),
                            to: destination.clone(),
                        },
                        now,
                    ))
                    .await?;
                self.state
                    .remove_waiting(call_id)
                    .await
                    .map_err(state_error)?;
                Ok(Handled::Left {
                    call_id: call_id.to_owned(),
                    destination,
                })
            }
        }
    }

    /// The cheap look at a waiting call: when no member of its queue is available and none of
    /// its timers (maximum wait, last-agent hold) is due, it keeps waiting — known without
    /// reading every waiting call. `Some(delay)` until the next look; `None`: decide in full.
    async fn quiet_review(
        &self,
        config: &RoutingConfig,
        call: &WaitingCall,
        now: DateTime<Utc>,
    ) -> Result<Option<u32>, RouterError> {
        let Some(queue) = config.queues.iter().find(|q| q.id() == call.queue_id) else {
            return Ok(None);
        };
        let max_wait_at = queue
            .routing
            .max_wait_seconds
            .map(|seconds| call.queued_at + TimeDelta::seconds(i64::from(seconds)));
        let hold_until = call.sticky.as_ref().map(|hold| hold.until);
        let timers: Vec<DateTime<Utc>> = [max_wait_at, hold_until].into_iter().flatten().collect();
        if timers.iter().any(|at| *at <= now) {
            return Ok(None);
        }
        let ((presences, reservations), desks) = tokio::try_join!(
            async {
                tokio::try_join!(self.state.agent_presences(), self.state.reservations())
                    .map_err(state_error)
            },
            self.agent_desks()
        )?;
        let agents = agent_runtimes(&presences, &config.identities, &reservations, &desks, now);
        let member_available = queue.members.iter().any(|member| {
            agents.iter().any(|agent| {
                agent.username == member.username
                    && agent.is_available(now)
                    && !agent.logged_out_queues.contains(queue.id())
            })
        });
        if member_available {
            return Ok(None);
        }
        Ok(Some(
            timers
                .iter()
                .min()
                .map_or(MAX_REVIEW_INTERVAL_SECONDS, |at| seconds_until(*at, now)),
        ))
    }

    /// An offer rang out: take the call back from the agent's extension to the queue's waiting
    /// device and set the agent not ready (IN-8: a desk that does not answer gets no more calls).
    async fn ring_out(
        &self,
        config: &RoutingConfig,
        call: &WaitingCall,
        reservation: &Reservation,
        presence: Option<&linka_shared::cti_state::AgentPresence>,
        reason_code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RouterError> {
        let (_, pbx_call) = split_call_key(&call.call_id)?;
        let back_to = waiting_device(config, call)?;
        // First keep the agent from calls until the PBX reports the not-ready state asked for
        // below: until then their presence still says ready, and the call's next review would
        // offer it straight back to them (seen under load in CI).
        // Should the report never come, the agent is routable again when the hold ends.
        let hold = reservation.rang_out(RING_OUT_HOLD_SECONDS, now);
        self.replace_reservation_until_free(&hold, &call.call_id, now)
            .await?;
        self.signals
            .command(&command(
                CommandAction::Deflect {
                    device: reservation.device.clone(),
                    call_id: pbx_call.to_owned(),
                    to: back_to,
                },
                now,
            ))
            .await?;
        let agent_id = presence
            .and_then(|p| p.agent_id.clone())
            .unwrap_or_else(|| reservation.device.clone());
        self.signals
            .command(&command(
                CommandAction::AgentState {
                    device: reservation.device.clone(),
                    agent_id,
                    state: RequestedAgentState::NotReady,
                    reason_code: Some(reason_code.to_owned()),
                },
                now,
            ))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "router_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "callback_tests.rs"]
mod callback_tests;

#[cfg(test)]
#[path = "ivr_tests.rs"]
mod ivr_tests;
