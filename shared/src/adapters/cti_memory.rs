//! In-memory [`CtiStateStore`] for behaviour tests: the same optimistic versioning and
//! all-or-nothing commits as the DynamoDB adapter, and the commits' statistics counters
//! ([`InMemoryCtiStateStore::stats`]).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use crate::{
    contacts::ContactEvent,
    cti_state::{AgentPresence, CallState},
    ports::{CtiStateStore, CtiWrite, CtiWriteError, StoreError, Versioned},
};

use super::InMemoryStatsStore;

#[derive(Debug, Default)]
struct Tables {
    calls: BTreeMap<String, Versioned<CallState>>,
    agents: BTreeMap<String, Versioned<AgentPresence>>,
    /// By `(contactId, sortKey)`.
    events: BTreeMap<(String, String), ContactEvent>,
    /// Commits still to refuse with a conflict (to test retries).
    conflicts_to_inject: usize,
    commits: usize,
}

/// Calls, agents and lifecycle records in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryCtiStateStore {
    tables: Arc<Mutex<Tables>>,
    stats: InMemoryStatsStore,
}

impl InMemoryCtiStateStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `count` commits fail with [`CtiWriteError::Conflict`] (as if another writer won).
    pub fn inject_conflicts(&self, count: usize) {
        self.lock().conflicts_to_inject = count;
    }

    pub fn calls(&self) -> BTreeMap<String, Versioned<CallState>> {
        self.lock().calls.clone()
    }

    pub fn agents(&self) -> BTreeMap<String, Versioned<AgentPresence>> {
        self.lock().agents.clone()
    }

    /// Every lifecycle record, by contact and then time.
    pub fn events(&self) -> Vec<ContactEvent> {
        self.lock().events.values().cloned().collect()
    }

    /// The statistics counters the commits added (`StatsTable`); clones share them.
    pub fn stats(&self) -> InMemoryStatsStore {
        self.stats.clone()
    }

    /// How many commits were stored.
    pub fn commits(&self) -> usize {
        self.lock().commits
    }
}

#[async_trait]
impl CtiStateStore for InMemoryCtiStateStore {
    async fn call(&self, call_key: &str) -> Result<Option<Versioned<CallState>>, StoreError> {
        Ok(self.lock().calls.get(call_key).cloned())
    }

    async fn agent(&self, device: &str) -> Result<Option<Versioned<AgentPresence>>, StoreError> {
        Ok(self.lock().agents.get(device).cloned())
    }

    async fn commit(&self, write: &CtiWrite) -> Result<(), CtiWriteError> {
        let mut tables = self.lock();
        if tables.conflicts_to_inject > 0 {
            tables.conflicts_to_inject -= 1;
            return Err(CtiWriteError::Conflict);
        }
        let stored = |version: Option<u64>| version.unwrap_or(0);
        for call in &write.calls {
            let current = tables.calls.get(&call.value.call_key).map(|c| c.version);
            if stored(current) != call.version {
                return Err(CtiWriteError::Conflict);
            }
        }
        for agent in &write.agents {
            let current = tables.agents.get(&agent.value.device).map(|a| a.version);
            if stored(current) != agent.version {
                return Err(CtiWriteError::Conflict);
            }
        }
        for call in &write.calls {
            tables.calls.insert(
                call.value.call_key.clone(),
                Versioned {
                    value: call.value.clone(),
                    version: call.version + 1,
                },
            );
        }
        for agent in &write.agents {
            tables.agents.insert(
                agent.value.device.clone(),
                Versioned {
                    value: agent.value.clone(),
                    version: agent.version + 1,
                },
            );
        }
        for event in &write.events {
            tables
                .events
                .insert((event.contact_id.clone(), event.sort_key()), event.clone());
        }
        self.stats.add(&write.counters);
        tables.commits += 1;
        Ok(())
    }
}

/// [`crate::ports::ContactEventLog`] in memory: the records by contact and sort key (a record
/// appended again replaces itself). Clones share the data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryContactEventLog {
    events: Arc<Mutex<BTreeMap<(String, String), ContactEvent>>>,
}

impl InMemoryContactEventLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record of `contact_id`, in time order.
    pub fn of(&self, contact_id: &str) -> Vec<ContactEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|((id, _), _)| id == contact_id)
            .map(|(_, event)| event.clone())
            .collect()
    }
}

#[async_trait]
impl crate::ports::ContactEventLog for InMemoryContactEventLog {
    async fn append(&self, events: &[ContactEvent]) -> Result<(), StoreError> {
        let mut stored = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            stored.insert((event.contact_id.clone(), event.sort_key()), event.clone());
        }
        Ok(())
    }
}
