//! In-memory [`StatsStore`] for behaviour tests. The in-memory CTI store adds its commits'
//! counters here ([`crate::adapters::InMemoryCtiStateStore::stats`]).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use crate::{
    ports::StoreError,
    stats::{merge, Counter, CounterIncrement, HourCounters, StatsStore},
};

type Items = BTreeMap<(String, String), BTreeMap<Counter, u64>>;

/// Hourly counters in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryStatsStore {
    items: Arc<Mutex<Items>>,
}

impl InMemoryStatsStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Items> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the increments (as the DynamoDB `ADD` does).
    pub fn add(&self, increments: &[CounterIncrement]) {
        let mut items = self.lock();
        for (key, fields) in merge(increments) {
            let item = items.entry(key).or_default();
            for (field, amount) in fields {
                let sum = item.entry(field).or_default();
                *sum = sum.saturating_add(amount);
            }
        }
    }

    /// Every item.
    pub fn all(&self) -> Vec<HourCounters> {
        self.lock()
            .iter()
            .map(|((scope, hour), counts)| HourCounters {
                scope: scope.clone(),
                hour: hour.clone(),
                counts: counts.clone(),
            })
            .collect()
    }

    /// One counter (0 when absent).
    pub fn get(&self, scope: &str, hour: &str, field: Counter) -> u64 {
        self.lock()
            .get(&(scope.to_owned(), hour.to_owned()))
            .and_then(|counts| counts.get(&field))
            .copied()
            .unwrap_or(0)
    }
}

#[async_trait]
impl StatsStore for InMemoryStatsStore {
    async fn hours(
        &self,
        scope: &str,
        from_hour: &str,
        to_hour: &str,
    ) -> Result<Vec<HourCounters>, StoreError> {
        Ok(self
            .all()
            .into_iter()
            .filter(|hour| {
                hour.scope == scope
                    && hour.hour.as_str() >= from_hour
                    && hour.hour.as_str() <= to_hour
            })
            .collect())
    }
}
