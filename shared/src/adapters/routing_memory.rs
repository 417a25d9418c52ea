//! In-memory [`RoutingStateStore`] for behaviour tests, with the same conditions as the
//! DynamoDB adapter (an offer stores both records or neither).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    cti_state::AgentPresence,
    ports::{OfferOutcome, RoutingStateStore, StoreError, WaitingGuard},
    routing::{LastAgent, WaitingCall},
    routing_live::Reservation,
};

#[derive(Debug, Default)]
struct Tables {
    agents: BTreeMap<String, AgentPresence>,
    reservations: BTreeMap<String, Reservation>,
    waiting: BTreeMap<String, WaitingCall>,
    last_agents: BTreeMap<String, LastAgent>,
}

/// Agents, reservations and waiting calls in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryRoutingStateStore {
    tables: Arc<Mutex<Tables>>,
}

fn guard_holds(stored: Option<&WaitingCall>, guard: &WaitingGuard) -> bool {
    match guard {
        WaitingGuard::New => stored.is_none(),
        WaitingGuard::NotOffered => stored.is_some_and(|call| call.offered_to.is_none()),
        WaitingGuard::OfferedTo(agent) => {
            stored.is_some_and(|call| call.offered_to.as_deref() == Some(agent))
        }
        WaitingGuard::Any => true,
    }
}

impl InMemoryRoutingStateStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets an agent device (what cti-ingest would write).
    pub fn set_agent(&self, presence: AgentPresence) {
        self.lock().agents.insert(presence.device.clone(), presence);
    }
}

#[async_trait]
impl RoutingStateStore for InMemoryRoutingStateStore {
    async fn agent_presences(&self) -> Result<Vec<AgentPresence>, StoreError> {
        Ok(self.lock().agents.values().cloned().collect())
    }

    async fn agent_presence(&self, device: &str) -> Result<Option<AgentPresence>, StoreError> {
        Ok(self.lock().agents.get(device).cloned())
    }

    async fn reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        Ok(self.lock().reservations.values().cloned().collect())
    }

    async fn reservation(&self, username: &str) -> Result<Option<Reservation>, StoreError> {
        Ok(self.lock().reservations.get(username).cloned())
    }

    async fn waiting_calls(&self) -> Result<Vec<WaitingCall>, StoreError> {
        // A real store answers later: let concurrent tasks run between a read and what the
        // reader writes next, as they would against DynamoDB.
        let waiting = self.lock().waiting.values().cloned().collect();
        tokio::task::yield_now().await;
        Ok(waiting)
    }

    async fn waiting_call(&self, call_id: &str) -> Result<Option<WaitingCall>, StoreError> {
        Ok(self.lock().waiting.get(call_id).cloned())
    }

    async fn offer(
        &self,
        reservation: &Reservation,
        call: &WaitingCall,
        guard: &WaitingGuard,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<OfferOutcome, StoreError> {
        let mut tables = self.lock();
        let agent_free = tables
            .reservations
            .get(&reservation.username)
            .is_none_or(|held| {
                (held.expires_at <= now && held.answered_at.is_none())
                    || device_since.is_some_and(|since| held.offered_at < since)
            });
        if !agent_free {
            return Ok(OfferOutcome::AgentTaken);
        }
        if !guard_holds(tables.waiting.get(&call.call_id), guard) {
            return Ok(OfferOutcome::CallTaken);
        }
        tables
            .reservations
            .insert(reservation.username.clone(), reservation.clone());
        tables.waiting.insert(call.call_id.clone(), call.clone());
        Ok(OfferOutcome::Offered)
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        let agent_free = tables
            .reservations
            .get(&reservation.username)
            .is_none_or(|held| {
                (held.expires_at <= now && held.answered_at.is_none())
                    || device_since.is_some_and(|since| held.offered_at < since)
            });
        if agent_free {
            tables
                .reservations
                .insert(reservation.username.clone(), reservation.clone());
        }
        Ok(agent_free)
    }

    async fn replace_reservation(
        &self,
        reservation: &Reservation,
        expected_call_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        let matches = tables
            .reservations
            .get(&reservation.username)
            .is_some_and(|held| held.call_id == expected_call_id);
        if matches {
            tables
                .reservations
                .insert(reservation.username.clone(), reservation.clone());
        }
        Ok(matches)
    }

    async fn put_waiting(
        &self,
        call: &WaitingCall,
        guard: &WaitingGuard,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock();
        if !guard_holds(tables.waiting.get(&call.call_id), guard) {
            return Ok(false);
        }
        tables.waiting.insert(call.call_id.clone(), call.clone());
        Ok(true)
    }

    async fn remove_waiting(&self, call_id: &str) -> Result<(), StoreError> {
        self.lock().waiting.remove(call_id);
        Ok(())
    }

    async fn last_agent(&self, caller: &str) -> Result<Option<LastAgent>, StoreError> {
        Ok(self.lock().last_agents.get(caller).cloned())
    }

    async fn record_last_agent(&self, caller: &str, last: &LastAgent) -> Result<(), StoreError> {
        self.lock()
            .last_agents
            .insert(caller.to_owned(), last.clone());
        Ok(())
    }
}
