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
use cti_events::{CommandAction, CtiCommand, RequestedAgentState, RouteQuery, SCHEMA_VERSION};
use futures_util::future::join_all;
use linka_shared::{
    admin_config::{members_collection, ConfigEntity, Queue, QueueMember},
    identifiers::normalize_czech_phone,
    paging::PageCursor,
    ports::{
        ConfigStore, OfferOutcome, RoutingSignals, RoutingStateStore, SignalError, StoreError,
        UserDirectory, WaitingGuard,
    },
    routing::{
        decide, on_missed_offer, pick_call_for_agent, review_waiting_call, waiting_call_for,
        CallFacts, Decision, InboundPlan, LastAgent, QueueRouting, QueueRuntime, Review,
        RoutingOutcome, RoutingSnapshot, SnapshotError, WaitingCall,
    },
    routing_live::{
        agent_runtimes, review_offer, AgentIdentity, DeviceMap, OfferReview, Reservation,
        RoutingTrigger, UnmappedDecision,
    },
    users::PageLimit,
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
/// Offers tried for one request before giving up (each lost race marks the agent taken).
const MAX_OFFER_ATTEMPTS: usize = 8;

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
}

/// The routing use cases and their dependencies.
pub struct Router<S, U, G> {
    pub state: S,
    pub users: U,
    pub signals: G,
    pub config: Arc<dyn ConfigStore>,
    pub offer_seconds: u32,
    pub cache_ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<RoutingConfig>)>>,
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
        }
    }

    // -----------------------------------------------------------------------------------------
    // Configuration
    // -----------------------------------------------------------------------------------------

    async fn list_all(&self, collection: &str) -> Result<Vec<serde_json::Value>, RouterError> {
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
        let (queue_documents, routing_documents) = tokio::try_join!(
            self.list_all(Queue::COLLECTION),
            self.list_all(QUEUE_ROUTING_COLLECTION)
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
        let (plan, devices, identities) = tokio::try_join!(
            self.document(ROUTING_SETTINGS_COLLECTION, PLAN_ID),
            self.document(ROUTING_SETTINGS_COLLECTION, DEVICES_ID),
            self.identities()
        )?;
        Ok(RoutingConfig {
            queues,
            plan,
            devices,
            identities,
        })
    }

    /// The configuration, read again when older than the cache time.
    pub async fn routing_config(&self) -> Result<Arc<RoutingConfig>, RouterError> {
        let mut cache = self.cache.lock().await;
        if let Some((read_at, config)) = cache.as_ref() {
            if read_at.elapsed() < self.cache_ttl {
                return Ok(Arc::clone(config));
            }
        }
        let config = Arc::new(self.load_config().await?);
        *cache = Some((Instant::now(), Arc::clone(&config)));
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
    ) -> Result<(RoutingSnapshot, BTreeMap<String, Option<DateTime<Utc>>>), RouterError> {
        let (presences, reservations, waiting) = tokio::try_join!(
            self.state.agent_presences(),
            self.state.reservations(),
            self.state.waiting_calls()
        )
        .map_err(state_error)?;
        let agents = agent_runtimes(&presences, &config.identities, &reservations, now);
        let since = agents
            .iter()
            .map(|agent| {
                let since = presences
                    .iter()
                    .find(|p| p.device == agent.device)
                    .and_then(|p| p.since);
                (agent.username.clone(), since)
            })
            .collect();
        let snapshot = RoutingSnapshot::new(now, config.queues.clone(), agents, waiting)?;
        Ok((snapshot, since))
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
        let config = self.routing_config().await?;
        // An empty calling device is a withheld number.
        let caller = request
            .calling_device
            .as_deref()
            .map(str::trim)
            .filter(|number| !number.is_empty())
            .map(|number| normalize_czech_phone(number).unwrap_or_else(|_| number.to_owned()));
        let (existing, last_agent) = tokio::try_join!(self.state.waiting_call(&call_id), async {
            match &caller {
                Some(caller) => self.state.last_agent(caller).await,
                None => Ok(None),
            }
        })
        .map_err(state_error)?;
        // A repeated request (the relay retried) gets the same answer; a re-route request means
        // the previous destination failed: decide again without that agent.
        let mut failed_agent = None;
        if let Some(existing) = &existing {
            if request.attempt == 0 {
                if let Some(answer) = self.repeat_answer(existing, &config).await? {
                    return Ok(answer);
                }
            }
            failed_agent = existing.offered_to.clone();
        }
        let guard = if existing.is_some() {
            WaitingGuard::Any
        } else {
            WaitingGuard::New
        };
        let facts = CallFacts {
            call_id: call_id.clone(),
            dialled: request.routing_device.clone(),
            caller,
            ivr_choices: Vec::new(),
            attributes: BTreeMap::new(),
            entered_at: existing.as_ref().map_or(now, |call| call.entered_at),
            client: None,
            last_agent,
            recording_allowed: true,
        };
        let (mut snapshot, since) = self.snapshot(&config, now).await?;
        if let Some(agent) = &failed_agent {
            snapshot.reserve(agent, &call_id);
        }
        for _ in 0..MAX_OFFER_ATTEMPTS {
            let outcome = decide(&facts, &config.plan, &snapshot);
            match &outcome.decision {
                Decision::Agent {
                    username,
                    device,
                    queue_id,
                    ..
                } => {
                    let Some(waiting) = waiting_call_for(&facts, &outcome.decision, now) else {
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
                        }
                        OfferOutcome::CallTaken => {
                            // Another invocation answered the same request first.
                            if let Some(stored) = self
                                .state
                                .waiting_call(&call_id)
                                .await
                                .map_err(state_error)?
                            {
                                if let Some(answer) = self.repeat_answer(&stored, &config).await? {
                                    return Ok(answer);
                                }
                            }
                            return Err(RouterError::Contention);
                        }
                    }
                }
                Decision::Queue { queue_id, .. } => {
                    let destination = config.devices.destination(&outcome.decision, &|_| None)?;
                    if let Some(waiting) = waiting_call_for(&facts, &outcome.decision, now) {
                        self.state
                            .put_waiting(&waiting, &WaitingGuard::Any)
                            .await
                            .map_err(state_error)?;
                        let max_wait = snapshot
                            .queue(queue_id)
                            .and_then(|queue| queue.routing.max_wait_seconds)
                            .unwrap_or(MAX_REVIEW_INTERVAL_SECONDS);
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
                return Ok(Handled::Nothing);
            };
            let Some(pick) = pick_call_for_agent(&agent.username, &snapshot) else {
                return Ok(Handled::Nothing);
            };
            let Some(call) = snapshot.waiting_call(&pick.call_id) else {
                return Ok(Handled::Nothing);
            };
            let device_since = since.get(&agent.username).copied().flatten();
            if let Some(handled) = self
                .offer_waiting(&config, call, &agent.username, device, device_since, now)
                .await?
            {
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
                    if self
                        .state
                        .replace_reservation(&next, call_id)
                        .await
                        .map_err(state_error)?
                    {
                        self.signals
                            .trigger(
                                &RoutingTrigger::AgentAvailable {
                                    device: reservation.device.clone(),
                                },
                                if wrap_up == 0 { 0 } else { wrap_up + 1 },
                            )
                            .await?;
                    }
                }
            }
        }
        Ok(Handled::Forgotten {
            call_id: call_id.to_owned(),
        })
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
                OfferReview::Taken => return Ok(Handled::Nothing),
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
        let (presences, reservations) =
            tokio::try_join!(self.state.agent_presences(), self.state.reservations())
                .map_err(state_error)?;
        let agents = agent_runtimes(&presences, &config.identities, &reservations, now);
        let member_available = queue.members.iter().any(|member| {
            agents
                .iter()
                .any(|agent| agent.username == member.username && agent.is_available(now))
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
