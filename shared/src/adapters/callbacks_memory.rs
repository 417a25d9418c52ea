//! In-memory [`CallbackStore`] for behaviour tests, with the DynamoDB adapter's version checks.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    callbacks::Callback,
    ports::{CallbackStore, CallbackWriteError, StoreError, Versioned},
};

/// Callbacks in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryCallbackStore {
    items: Arc<Mutex<BTreeMap<String, Versioned<Callback>>>>,
}

impl InMemoryCallbackStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Versioned<Callback>>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every stored callback (tests).
    pub fn all(&self) -> Vec<Callback> {
        self.lock().values().map(|v| v.value.clone()).collect()
    }
}

#[async_trait]
impl CallbackStore for InMemoryCallbackStore {
    async fn get(&self, id: &str) -> Result<Option<Versioned<Callback>>, StoreError> {
        Ok(self.lock().get(id).cloned())
    }

    async fn active_in_queue(
        &self,
        queue_id: &str,
    ) -> Result<Vec<Versioned<Callback>>, StoreError> {
        Ok(self
            .lock()
            .values()
            .filter(|v| v.value.queue_id == queue_id && v.value.is_active())
            .cloned()
            .collect())
    }

    async fn closed_in_queue(
        &self,
        queue_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Callback>, StoreError> {
        let mut closed: Vec<Callback> = self
            .lock()
            .values()
            .filter(|v| {
                v.value.queue_id == queue_id && v.value.closed_at.is_some_and(|at| at >= since)
            })
            .map(|v| v.value.clone())
            .collect();
        closed.sort_by(|a, b| b.closed_at.cmp(&a.closed_at).then_with(|| a.id.cmp(&b.id)));
        closed.truncate(limit);
        Ok(closed)
    }

    async fn by_number(
        &self,
        number: &str,
        limit: usize,
    ) -> Result<Vec<Versioned<Callback>>, StoreError> {
        let mut found: Vec<Versioned<Callback>> = self
            .lock()
            .values()
            .filter(|v| v.value.number == number)
            .cloned()
            .collect();
        found.sort_by_key(|v| std::cmp::Reverse(v.value.created_at));
        found.truncate(limit);
        Ok(found)
    }

    async fn save(&self, callback: &Versioned<Callback>) -> Result<(), CallbackWriteError> {
        let mut items = self.lock();
        let stored = items.get(&callback.value.id).map_or(0, |v| v.version);
        if stored != callback.version {
            return Err(CallbackWriteError::Conflict);
        }
        items.insert(
            callback.value.id.clone(),
            Versioned {
                value: callback.value.clone(),
                version: callback.version + 1,
            },
        );
        Ok(())
    }
}
