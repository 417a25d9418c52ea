//! In-memory [`ClientStore`] for behaviour tests, with the DynamoDB adapter's version checks and
//! lookups (through the same derived [`index_attributes`]).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use crate::{
    clients::{index_attributes, Client, ClientStore, ClientWriteError, MAX_MATCHES},
    ports::{StoreError, Versioned},
};

/// Clients in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryClientStore {
    items: Arc<Mutex<BTreeMap<String, Versioned<Client>>>>,
}

impl InMemoryClientStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Versioned<Client>>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every stored client (tests).
    pub fn all(&self) -> Vec<Versioned<Client>> {
        self.lock().values().cloned().collect()
    }

    /// Clients whose derived index attribute `name` (one of `attributes`) is `value`.
    fn find(&self, attributes: &[&str], value: &str) -> Vec<Versioned<Client>> {
        self.lock()
            .values()
            .filter(|stored| {
                index_attributes(&stored.value)
                    .iter()
                    .any(|(name, v)| attributes.contains(name) && v == value)
            })
            .take(MAX_MATCHES)
            .cloned()
            .collect()
    }
}

#[async_trait]
impl ClientStore for InMemoryClientStore {
    async fn get(&self, client_id: &str) -> Result<Option<Versioned<Client>>, StoreError> {
        Ok(self.lock().get(client_id).cloned())
    }

    async fn find_by_phone(&self, e164: &str) -> Result<Vec<Versioned<Client>>, StoreError> {
        Ok(self.find(&["phone", "mobile"], e164))
    }

    async fn find_by_email(&self, email: &str) -> Result<Vec<Versioned<Client>>, StoreError> {
        Ok(self.find(&["emailLower"], &crate::clients::email_key(email)))
    }

    async fn find_by_insurance_number(
        &self,
        digits: &str,
    ) -> Result<Vec<Versioned<Client>>, StoreError> {
        Ok(self.find(&["insuranceNumber"], digits))
    }

    async fn create(&self, client: &Client) -> Result<(), ClientWriteError> {
        let mut items = self.lock();
        if items.contains_key(&client.client_id) {
            return Err(ClientWriteError::Conflict);
        }
        items.insert(
            client.client_id.clone(),
            Versioned {
                value: client.clone(),
                version: 1,
            },
        );
        Ok(())
    }

    async fn put(&self, client: &Versioned<Client>) -> Result<(), ClientWriteError> {
        let mut items = self.lock();
        let stored = items
            .get(&client.value.client_id)
            .map(|v| v.version)
            .ok_or(ClientWriteError::NotFound)?;
        if stored != client.version {
            return Err(ClientWriteError::Conflict);
        }
        items.insert(
            client.value.client_id.clone(),
            Versioned {
                value: client.value.clone(),
                version: client.version + 1,
            },
        );
        Ok(())
    }

    async fn batch_put(&self, clients: &[Versioned<Client>]) -> Result<(), StoreError> {
        let mut items = self.lock();
        for client in clients {
            items.insert(
                client.value.client_id.clone(),
                Versioned {
                    value: client.value.clone(),
                    version: client.version + 1,
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};

    use super::*;

    fn client(id: &str, mobile: &str, email: &str) -> Client {
        Client {
            client_id: id.into(),
            icis_id: Some(id.into()),
            status: "standard".into(),
            fields: BTreeMap::from([
                ("mobile".to_owned(), mobile.to_owned()),
                ("email".to_owned(), email.to_owned()),
                ("insuranceNumber".to_owned(), "7801011230".to_owned()),
            ]),
            updated_at: Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap(),
            updated_by: "icis".into(),
        }
    }

    #[tokio::test]
    async fn when_family_shares_a_mobile_should_find_every_member() {
        let store = InMemoryClientStore::new();
        store
            .create(&client("1", "+420777000111", "Jana@x.cz"))
            .await
            .unwrap();
        store
            .create(&client("2", "+420777000111", "tomas@x.cz"))
            .await
            .unwrap();
        store
            .create(&client("3", "+420777000222", "vip@x.cz"))
            .await
            .unwrap();
        assert_eq!(store.find_by_phone("+420777000111").await.unwrap().len(), 2);
        assert_eq!(store.find_by_email("JANA@X.CZ").await.unwrap().len(), 1);
        assert_eq!(
            store
                .find_by_insurance_number("7801011230")
                .await
                .unwrap()
                .len(),
            3
        );
    }

    #[tokio::test]
    async fn when_version_is_stale_should_conflict() {
        let store = InMemoryClientStore::new();
        let value = client("1", "+420777000111", "a@x.cz");
        store.create(&value).await.unwrap();
        assert!(matches!(
            store.create(&value).await,
            Err(ClientWriteError::Conflict)
        ));
        let stored = store.get("1").await.unwrap().unwrap();
        assert_eq!(stored.version, 1);
        store.put(&stored).await.unwrap();
        assert!(matches!(
            store.put(&stored).await,
            Err(ClientWriteError::Conflict)
        ));
        let missing = Versioned {
            value: client("9", "", ""),
            version: 1,
        };
        assert!(matches!(
            store.put(&missing).await,
            Err(ClientWriteError::NotFound)
        ));
    }
}
