//! [`ConfigStore`] in memory, for behaviour tests: a write happens only when its audit record
//! could be written too, as in the DynamoDB transaction.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use super::memory::{lock, InMemoryAuditLog};
use crate::{
    audit::AuditRecord,
    paging::{InvalidCursor, Page, PageCursor},
    ports::{AdminError, ConfigStore, ConfigWrite, StoreError},
    users::PageLimit,
};

/// Documents by `(collection, id)`. Clones share the same documents.
#[derive(Debug, Clone, Default)]
pub struct InMemoryConfigStore {
    documents: Arc<Mutex<BTreeMap<(String, String), Value>>>,
    pub audit: InMemoryAuditLog,
}

impl InMemoryConfigStore {
    /// A store whose writes are audited into `audit`.
    pub fn new(audit: InMemoryAuditLog) -> Self {
        Self {
            documents: Arc::default(),
            audit,
        }
    }

    /// Every stored `(collection, id)`.
    pub fn keys(&self) -> Vec<(String, String)> {
        lock(&self.documents).keys().cloned().collect()
    }
}

#[async_trait]
impl ConfigStore for InMemoryConfigStore {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, StoreError> {
        Ok(lock(&self.documents)
            .get(&(collection.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn list(
        &self,
        collection: &str,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Value>, StoreError> {
        let after = match cursor {
            Some(cursor) => {
                cursor.expect_attributes(&["collection", "id"])?;
                let key = cursor.key();
                if key.get("collection").map(String::as_str) != Some(collection) {
                    return Err(InvalidCursor("not a cursor of this listing").into());
                }
                key.get("id").cloned()
            }
            None => None,
        };
        let documents = lock(&self.documents);
        let mut matching: Vec<(&String, &Value)> = documents
            .iter()
            .filter(|((owner, id), _)| {
                owner == collection && after.as_ref().is_none_or(|after| id > after)
            })
            .map(|((_, id), document)| (id, document))
            .take(usize::from(limit.get()) + 1)
            .collect();
        let more = matching.len() > usize::from(limit.get());
        matching.truncate(usize::from(limit.get()));
        let next_cursor = match matching.last() {
            Some((id, _)) if more => Some(PageCursor::from_key(BTreeMap::from([
                ("collection".to_owned(), collection.to_owned()),
                ("id".to_owned(), (*id).clone()),
            ]))),
            _ => None,
        };
        Ok(Page {
            items: matching.into_iter().map(|(_, doc)| doc.clone()).collect(),
            next_cursor,
        })
    }

    async fn write(&self, write: &ConfigWrite, audit: &AuditRecord) -> Result<(), AdminError> {
        let mut documents = lock(&self.documents);
        let (collection, id, document, must_exist) = match write {
            ConfigWrite::Create {
                collection,
                id,
                document,
            } => (collection, id, Some(document), Some(false)),
            ConfigWrite::Replace {
                collection,
                id,
                document,
            } => (collection, id, Some(document), Some(true)),
            ConfigWrite::Upsert {
                collection,
                id,
                document,
            } => (collection, id, Some(document), None),
            ConfigWrite::Delete { collection, id } => (collection, id, None, Some(true)),
        };
        let key = (collection.clone(), id.clone());
        match (documents.contains_key(&key), must_exist) {
            (true, Some(false)) => return Err(AdminError::Conflict),
            (false, Some(true)) => return Err(AdminError::NotFound),
            _ => {}
        }
        self.audit.append(audit)?;
        match document {
            Some(document) => documents.insert(key, document.clone()),
            None => documents.remove(&key),
        };
        Ok(())
    }
}
