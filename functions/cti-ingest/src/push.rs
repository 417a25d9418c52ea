//! Real-time pushes after a CTI event is stored (issue 6: "everything that changes reaches the
//! browser within a second").
//!
//! Every agent item in a committed [`CtiWrite`] is a desk that changed (its agent state, or the
//! calls it keeps). For each one that belongs to a user (UsersTable `agentNumber`):
//!
//! - `{"type":"desk","username":…,"reason":"presence"|"calls","calls":[…]}` to that user's
//!   connections (GSI `byUsername`): the desk shows the calls at once, without waiting for a
//!   read, and refreshes the rest with `GET /api/desk`;
//! - `{"type":"presence","username":…,"presence":…,"since":…}` to every agent, supervisor and
//!   admin connection when the user's transfer-panel presence changed.
//!
//! Best effort: nothing here fails the SQS record (the state is stored; a desk resynchronises
//! when it reconnects). Latency: the device directory is cached for a minute, connection lists
//! for a few seconds, so a push usually costs the posts alone. A presence already pushed from
//! this instance is not pushed again for a minute (another instance may push it again, which
//! is harmless: a presence is a state, not an event).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use cti_events::{CtiEnvelope, CtiEvent};
use futures_util::future::join_all;
use linka_shared::{
    adapters::fanout::{push_to_connections, FanOut},
    cti_state::AgentPresence,
    desk::{desk_calls_of, DeskCall},
    ports::{ConnectionNotifier, ConnectionStore, CtiStateStore, CtiWrite, StoreError},
    presence::{device_activity, panel_presence, DeviceActivity, DeviceDirectory, PanelPresence},
    realtime::{DeskReason, PushMessage, PushOrigin},
    telemetry::ErrorChain,
};
use thiserror::Error;

pub use crate::directory::{Clock, DIRECTORY_TTL};
use crate::{directory::CachedDeviceDirectory, handler::HandlerDeps};

/// How long a connection list (a user's, or the transfer panel audience) is kept.
pub const CONNECTIONS_TTL: Duration = Duration::from_secs(5);
/// An unchanged presence is pushed again after this long at the earliest.
pub const PRESENCE_REPEAT_AFTER: Duration = Duration::from_secs(60);

/// Why a push did not go out (logged, never returned to the handler).
#[derive(Debug, Error)]
pub enum PushError {
    #[error("failed to read the users (device directory)")]
    Directory(#[source] StoreError),
    #[error("failed to list the connections of {username}")]
    UserConnections {
        username: String,
        #[source]
        source: StoreError,
    },
    #[error("failed to list the transfer panel's connections")]
    PanelConnections(#[source] StoreError),
}

/// One desk to tell about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskChange {
    pub username: String,
    pub reason: DeskReason,
    pub presence: PanelPresence,
    pub since: DateTime<Utc>,
    /// The device's calls after the write, as `GET /api/desk` shows them.
    pub calls: Vec<DeskCall>,
    /// The device and its state's version after the write: the browser drops a push that
    /// arrives after a newer one of the same device (groups are processed side by side).
    pub origin: PushOrigin,
}

/// The desks a committed write changed, one per user (the event's own device first).
pub fn desk_changes(
    directory: &DeviceDirectory,
    envelope: &CtiEnvelope,
    write: &CtiWrite,
) -> Vec<DeskChange> {
    let reason = match envelope.event {
        CtiEvent::Agent(_) => DeskReason::Presence,
        _ => DeskReason::Calls,
    };
    let mut changes: BTreeMap<&str, DeskChange> = BTreeMap::new();
    for versioned in &write.agents {
        let agent = &versioned.value;
        let Some(username) = directory.username_of(agent) else {
            continue;
        };
        changes.entry(username).or_insert_with(|| {
            let activity = device_activity(agent.calls.values());
            DeskChange {
                username: username.to_owned(),
                reason,
                presence: panel_presence(agent.state, activity),
                since: panel_since(agent, activity, reason, envelope.observed_at),
                calls: desk_calls_of(agent, envelope.observed_at),
                // The store writes the item at the read version + 1 (conditionally).
                origin: PushOrigin {
                    device: agent.device.clone(),
                    version: versioned.version + 1,
                },
            }
        });
    }
    changes.into_values().collect()
}

/// Since when the panel presence holds: the newest call in that activity, the agent state's
/// change for an agent event, else the event's time.
fn panel_since(
    agent: &AgentPresence,
    activity: DeviceActivity,
    reason: DeskReason,
    observed_at: DateTime<Utc>,
) -> DateTime<Utc> {
    match activity {
        DeviceActivity::Idle => match reason {
            DeskReason::Presence => agent.since.unwrap_or(observed_at),
            DeskReason::Calls | DeskReason::Queues => observed_at,
        },
        DeviceActivity::Ringing | DeviceActivity::OnCall => agent
            .calls
            .values()
            .filter(|call| device_activity([*call]) == activity)
            .map(|call| call.since)
            .max()
            .unwrap_or(observed_at),
    }
}

/// After a commit: pushes what changed. The single call site in the handler.
pub async fn after_commit<S: CtiStateStore>(
    deps: &HandlerDeps<S>,
    envelope: &CtiEnvelope,
    write: &CtiWrite,
) {
    if let Some(pushes) = deps.pushes.as_deref() {
        pushes.after_commit(envelope, write).await;
    }
}

type Cached<T> = Option<(Instant, T)>;
/// Connection ids, shared between the cache and the pushes using them.
type Ids = Arc<Vec<String>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The push side of cti-ingest, built once in `main`, with its caches.
pub struct Pushes {
    /// Who is behind each device, shared with the contact projection.
    devices: Arc<CachedDeviceDirectory>,
    connections: Arc<dyn ConnectionStore>,
    notifier: Arc<dyn ConnectionNotifier>,
    clock: Clock,
    user_connections: Mutex<HashMap<String, (Instant, Ids)>>,
    panel: Mutex<Cached<Ids>>,
    shown: Mutex<HashMap<String, (Instant, PanelPresence)>>,
}

impl Pushes {
    pub fn new(
        devices: Arc<CachedDeviceDirectory>,
        connections: Arc<dyn ConnectionStore>,
        notifier: Arc<dyn ConnectionNotifier>,
    ) -> Self {
        Self::with_clock(devices, connections, notifier, Arc::new(Instant::now))
    }

    pub fn with_clock(
        devices: Arc<CachedDeviceDirectory>,
        connections: Arc<dyn ConnectionStore>,
        notifier: Arc<dyn ConnectionNotifier>,
        clock: Clock,
    ) -> Self {
        Self {
            devices,
            connections,
            notifier,
            clock,
            user_connections: Mutex::default(),
            panel: Mutex::default(),
            shown: Mutex::default(),
        }
    }

    /// Pushes the desk and presence changes of `write`; logs what fails.
    pub async fn after_commit(&self, envelope: &CtiEnvelope, write: &CtiWrite) {
        if write.agents.is_empty() {
            return;
        }
        let directory = match self.directory().await {
            Ok(directory) => directory,
            Err(error) => {
                tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "desk pushes skipped");
                return;
            }
        };
        let changes = desk_changes(&directory, envelope, write);
        join_all(changes.iter().map(|change| self.push(change))).await;
    }

    async fn push(&self, change: &DeskChange) {
        let desk = async {
            let message = PushMessage::Desk {
                username: change.username.clone(),
                reason: change.reason,
                calls: Some(change.calls.clone()),
                origin: Some(change.origin.clone()),
            };
            match self.connections_of(&change.username).await {
                Ok(ids) => {
                    self.send(&ids, &message).await;
                }
                Err(error) => {
                    tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "desk push skipped");
                }
            }
        };
        let presence = async {
            if !self.is_news(&change.username, change.presence) {
                return;
            }
            let message = PushMessage::Presence {
                username: change.username.clone(),
                presence: change.presence,
                since: change.since,
                origin: Some(change.origin.clone()),
            };
            let delivered = match self.panel_connections().await {
                Ok(ids) => self.send(&ids, &message).await,
                Err(error) => {
                    tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "presence push skipped");
                    false
                }
            };
            if !delivered {
                // Not everyone heard it: let the next event of this user push it again.
                lock(&self.shown).remove(&change.username);
            }
        };
        futures_util::join!(desk, presence);
    }

    /// Posts `message` to `ids`; true when no post failed (gone connections are forgotten).
    async fn send(&self, ids: &[String], message: &PushMessage) -> bool {
        let tally: FanOut = push_to_connections(
            self.connections.as_ref(),
            self.notifier.as_ref(),
            ids.iter().map(String::as_str),
            message,
        )
        .await;
        if !tally.gone.is_empty() {
            self.forget(&tally.gone);
        }
        tracing::debug!(
            delivered = tally.delivered,
            gone = tally.gone.len(),
            failed = tally.failed,
            "pushed"
        );
        tally.failed == 0
    }

    /// Whether `presence` differs from what this instance last pushed for `username` (or that
    /// is older than [`PRESENCE_REPEAT_AFTER`]); records it as pushed.
    fn is_news(&self, username: &str, presence: PanelPresence) -> bool {
        let now = (self.clock)();
        let mut shown = lock(&self.shown);
        let repeat = shown.get(username).is_some_and(|(at, shown)| {
            *shown == presence && now.duration_since(*at) < PRESENCE_REPEAT_AFTER
        });
        if !repeat {
            shown.insert(username.to_owned(), (now, presence));
        }
        !repeat
    }

    fn fresh(&self, at: Instant, ttl: Duration) -> bool {
        (self.clock)().duration_since(at) < ttl
    }

    async fn directory(&self) -> Result<Arc<DeviceDirectory>, PushError> {
        self.devices.get().await.map_err(PushError::Directory)
    }

    async fn connections_of(&self, username: &str) -> Result<Arc<Vec<String>>, PushError> {
        if let Some((at, ids)) = lock(&self.user_connections).get(username) {
            if self.fresh(*at, CONNECTIONS_TTL) {
                return Ok(ids.clone());
            }
        }
        let ids: Arc<Vec<String>> = Arc::new(
            self.connections
                .list_for_user(username)
                .await
                .map_err(|source| PushError::UserConnections {
                    username: username.to_owned(),
                    source,
                })?
                .into_iter()
                .map(|connection| connection.connection_id)
                .collect(),
        );
        lock(&self.user_connections).insert(username.to_owned(), ((self.clock)(), ids.clone()));
        Ok(ids)
    }

    async fn panel_connections(&self) -> Result<Arc<Vec<String>>, PushError> {
        if let Some((at, ids)) = lock(&self.panel).as_ref() {
            if self.fresh(*at, CONNECTIONS_TTL) {
                return Ok(ids.clone());
            }
        }
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .connections
                .list(cursor)
                .await
                .map_err(PushError::PanelConnections)?;
            ids.extend(
                page.items
                    .into_iter()
                    .filter(|connection| connection.sees_transfer_panel())
                    .map(|connection| connection.connection_id),
            );
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let ids = Arc::new(ids);
        *lock(&self.panel) = Some(((self.clock)(), ids.clone()));
        Ok(ids)
    }

    /// Drops gone connections from the cached lists.
    fn forget(&self, gone: &[String]) {
        let keep = |ids: &Arc<Vec<String>>| -> Arc<Vec<String>> {
            Arc::new(
                ids.iter()
                    .filter(|id| !gone.contains(id))
                    .cloned()
                    .collect(),
            )
        };
        if let Some((_, ids)) = lock(&self.panel).as_mut() {
            *ids = keep(ids);
        }
        for (_, ids) in lock(&self.user_connections).values_mut() {
            *ids = keep(ids);
        }
    }
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
