//! In-memory [`AgentDeskStore`] for behaviour tests, with the DynamoDB adapter's version checks.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use crate::{
    desk::AgentDesk,
    ports::{AgentDeskStore, DeskWriteError, StoreError, Versioned},
};

/// Desk settings in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryAgentDeskStore {
    items: Arc<Mutex<BTreeMap<String, Versioned<AgentDesk>>>>,
}

impl InMemoryAgentDeskStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Versioned<AgentDesk>>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl AgentDeskStore for InMemoryAgentDeskStore {
    async fn get(&self, username: &str) -> Result<Option<Versioned<AgentDesk>>, StoreError> {
        Ok(self.lock().get(username).cloned())
    }

    async fn all(&self) -> Result<Vec<AgentDesk>, StoreError> {
        Ok(self.lock().values().map(|v| v.value.clone()).collect())
    }

    async fn save(&self, desk: &Versioned<AgentDesk>) -> Result<(), DeskWriteError> {
        let mut items = self.lock();
        let stored = items.get(&desk.value.username).map_or(0, |v| v.version);
        if stored != desk.version {
            return Err(DeskWriteError::Conflict);
        }
        items.insert(
            desk.value.username.clone(),
            Versioned {
                value: desk.value.clone(),
                version: desk.version + 1,
            },
        );
        Ok(())
    }
}
