//! In-memory [`ContactRecordStore`] for behaviour tests, with the DynamoDB adapter's semantics:
//! version checks on the record, append-only note versions, histories newest first with the
//! same cursor shape (`contactId`, `item`, `owner`, `ownerSort`).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use crate::{
    contact_records::{
        ContactRecord, ContactRecordStore, ContactWrite, ContactWriteError, HistoryQuery,
        NoteVersion,
    },
    paging::{InvalidCursor, Page, PageCursor},
    ports::{StoreError, Versioned},
    time::format_rfc3339,
};

#[derive(Debug, Default)]
struct Data {
    records: BTreeMap<String, Versioned<ContactRecord>>,
    /// contact id → version → note.
    notes: BTreeMap<String, BTreeMap<u32, NoteVersion>>,
    saves: usize,
}

/// Contact records in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryContactRecordStore {
    data: Arc<Mutex<Data>>,
    /// Fail every call (tests of failure paths).
    failing: Arc<Mutex<bool>>,
}

impl InMemoryContactRecordStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(&self) -> Result<(), StoreError> {
        if *self.failing.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err(StoreError::Backend {
                operation: "use the contact records",
                source: "the in-memory store was told to fail".into(),
            });
        }
        Ok(())
    }

    /// From now on every call fails (or works again).
    pub fn set_failing(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = failing;
    }

    /// Every stored record (tests).
    pub fn all(&self) -> Vec<Versioned<ContactRecord>> {
        self.lock().records.values().cloned().collect()
    }

    /// How many writes were stored (tests).
    pub fn saves(&self) -> usize {
        self.lock().saves
    }

    /// Stores a record as is (test setup).
    pub fn insert(&self, record: ContactRecord) {
        let mut data = self.lock();
        let version = data
            .records
            .get(&record.contact_id)
            .map_or(1, |stored| stored.version + 1);
        if let Some(note) = &record.note {
            data.notes
                .entry(record.contact_id.clone())
                .or_default()
                .insert(note.version, note.clone());
        }
        data.records.insert(
            record.contact_id.clone(),
            Versioned {
                value: record,
                version,
            },
        );
    }
}

fn cursor_of(owner: &str, record: &ContactRecord) -> PageCursor {
    PageCursor::from_key(
        [
            ("contactId".to_owned(), record.contact_id.clone()),
            ("item".to_owned(), owner.to_owned()),
            ("owner".to_owned(), owner.to_owned()),
            ("ownerSort".to_owned(), record.owner_sort()),
        ]
        .into(),
    )
}

#[async_trait]
impl ContactRecordStore for InMemoryContactRecordStore {
    async fn get(&self, contact_id: &str) -> Result<Option<Versioned<ContactRecord>>, StoreError> {
        self.check()?;
        Ok(self.lock().records.get(contact_id).cloned())
    }

    async fn notes(&self, contact_id: &str) -> Result<Vec<NoteVersion>, StoreError> {
        self.check()?;
        Ok(self
            .lock()
            .notes
            .get(contact_id)
            .map(|notes| notes.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn save(&self, write: &ContactWrite) -> Result<(), ContactWriteError> {
        self.check()?;
        let mut data = self.lock();
        let record = &write.record.value;
        let stored = data
            .records
            .get(&record.contact_id)
            .map_or(0, |stored| stored.version);
        if stored != write.record.version {
            return Err(ContactWriteError::Conflict);
        }
        if let Some(note) = &write.note {
            let notes = data.notes.entry(record.contact_id.clone()).or_default();
            if notes.contains_key(&note.version) {
                return Err(ContactWriteError::Conflict);
            }
            notes.insert(note.version, note.clone());
        }
        data.records.insert(
            record.contact_id.clone(),
            Versioned {
                value: record.clone(),
                version: stored + 1,
            },
        );
        data.saves += 1;
        Ok(())
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Page<ContactRecord>, StoreError> {
        self.check()?;
        let owner = query.owner.key();
        let start = match &query.cursor {
            None => None,
            Some(cursor) => {
                cursor.expect_attributes(&["contactId", "item", "owner", "ownerSort"])?;
                if cursor.key().get("owner") != Some(&owner) {
                    return Err(InvalidCursor("not a cursor of this listing").into());
                }
                cursor.key().get("ownerSort").cloned()
            }
        };
        let from = query.from.map(format_rfc3339);
        let to = query.to.map(|to| format!("{}#~", format_rfc3339(to)));
        let mut records: Vec<ContactRecord> = self
            .lock()
            .records
            .values()
            .map(|stored| &stored.value)
            .filter(|record| record.owners().contains(&query.owner))
            .filter(|record| {
                let sort = record.owner_sort();
                from.as_ref().is_none_or(|from| sort >= *from)
                    && to.as_ref().is_none_or(|to| sort <= *to)
                    && start.as_ref().is_none_or(|start| {
                        if query.oldest_first {
                            sort > *start
                        } else {
                            sort < *start
                        }
                    })
            })
            .filter(|record| query.text.as_ref().is_none_or(|text| record.matches(text)))
            .filter(|record| query.channels.is_empty() || query.channels.contains(&record.channel))
            .cloned()
            .collect();
        crate::contact_records::sort_newest_first(&mut records);
        if query.oldest_first {
            records.reverse();
        }
        let limit = query.limit.max(1);
        let next_cursor = (records.len() > limit).then(|| cursor_of(&owner, &records[limit - 1]));
        records.truncate(limit);
        Ok(Page {
            items: records,
            next_cursor,
        })
    }
}
