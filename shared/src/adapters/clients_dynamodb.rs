//! DynamoDB adapter of [`ClientStore`]: `ClientsTable` (pk `clientId`) with four sparse
//! indexes (projection ALL) on attributes derived from the fields ([`index_attributes`]):
//!
//! - `byPhone` (pk `phone`) and `byMobile` (pk `mobile`): E.164 numbers, for caller
//!   identification (IN-15) — a phone lookup queries both;
//! - `byEmail` (pk `emailLower`): the lower-cased e-mail (CHAT-4);
//! - `byInsuranceNumber` (pk `insuranceNumber`): bare digits.
//!
//! Every item carries `version`; a desk write is conditional on the version read, the import
//! (`batch_put`) is not.

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::put_item::PutItemError,
    types::{AttributeValue, PutRequest, WriteRequest},
    Client as DynamoClient,
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    clients::{email_key, index_attributes, Client, ClientStore, ClientWriteError, MAX_MATCHES},
    ports::{StoreError, Versioned},
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

const PHONE_INDEX: &str = "byPhone";
const MOBILE_INDEX: &str = "byMobile";
const EMAIL_INDEX: &str = "byEmail";
const INSURANCE_INDEX: &str = "byInsuranceNumber";
/// Items per `BatchWriteItem` (DynamoDB's limit).
const BATCH_SIZE: usize = 25;
/// Rounds of retrying unprocessed items before giving up.
const BATCH_ATTEMPTS: u32 = 8;

fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        entity: "client",
        source: Box::new(error),
    }
}

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn version_of(item: &Item) -> Result<u64, StoreError> {
    match item.get("version") {
        None => Ok(0),
        Some(AttributeValue::N(number)) => number.parse().map_err(corrupt),
        Some(_) => Err(StoreError::Corrupt {
            entity: "client",
            source: "version is not a number".into(),
        }),
    }
}

fn read(item: Item) -> Result<Versioned<Client>, StoreError> {
    let version = version_of(&item)?;
    let value: Client = from_item(item).map_err(corrupt)?;
    Ok(Versioned { value, version })
}

/// The item of a client at `version`, with the index attributes.
pub(crate) fn client_item(client: &Client, version: u64) -> Result<Item, StoreError> {
    let mut item: Item = to_item(client).map_err(corrupt)?;
    item.insert("version".into(), AttributeValue::N(version.to_string()));
    for (name, value) in index_attributes(client) {
        item.insert(name.to_owned(), string(&value));
    }
    Ok(item)
}

/// [`ClientStore`] on `ClientsTable`.
#[derive(Debug, Clone)]
pub struct DynamoClientStore {
    client: DynamoClient,
    table: String,
}

impl DynamoClientStore {
    pub fn new(client: DynamoClient, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(DynamoClient::new(sdk_config), table)
    }

    /// The clients of the index partition `attribute = value`, at most [`MAX_MATCHES`].
    async fn query(
        &self,
        index: &str,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<Versioned<Client>>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attribute)
                .expression_attribute_values(":pk", string(value))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| backend("query clients", aws_sdk_dynamodb::Error::from(error)))?;
            for item in output.items.unwrap_or_default() {
                found.push(read(item)?);
                if found.len() >= MAX_MATCHES {
                    return Ok(found);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    async fn put_item(
        &self,
        item: Item,
        expected_version: Option<u64>,
    ) -> Result<(), ClientWriteError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#id", "clientId");
        request = match expected_version {
            None => request.condition_expression("attribute_not_exists(#id)"),
            Some(version) => request
                .condition_expression("attribute_exists(#id) AND #version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Err(ClientWriteError::Conflict),
                other => {
                    Err(backend("store a client", aws_sdk_dynamodb::Error::from(other)).into())
                }
            },
        }
    }

    /// One `BatchWriteItem` of at most 25 puts, retrying what DynamoDB leaves unprocessed.
    async fn write_batch(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut delay = Duration::from_millis(50);
        for _ in 0..BATCH_ATTEMPTS {
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|error| {
                    backend("batch-write clients", aws_sdk_dynamodb::Error::from(error))
                })?;
            requests = output
                .unprocessed_items
                .and_then(|mut items| items.remove(&self.table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
        Err(StoreError::Backend {
            operation: "batch-write clients",
            source: format!("{} items stayed unprocessed", requests.len()).into(),
        })
    }
}

#[async_trait]
impl ClientStore for DynamoClientStore {
    async fn get(&self, client_id: &str) -> Result<Option<Versioned<Client>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("clientId", string(client_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read a client", aws_sdk_dynamodb::Error::from(error)))?;
        output.item.map(read).transpose()
    }

    async fn find_by_phone(&self, e164: &str) -> Result<Vec<Versioned<Client>>, StoreError> {
        // Both at once: a route request waits for this on the relay's clock.
        let (mut found, mobiles) = tokio::try_join!(
            self.query(PHONE_INDEX, "phone", e164),
            self.query(MOBILE_INDEX, "mobile", e164)
        )?;
        found.extend(mobiles);
        found.truncate(MAX_MATCHES * 2);
        Ok(found)
    }

    async fn find_by_email(&self, email: &str) -> Result<Vec<Versioned<Client>>, StoreError> {
        self.query(EMAIL_INDEX, "emailLower", &email_key(email))
            .await
    }

    async fn find_by_insurance_number(
        &self,
        digits: &str,
    ) -> Result<Vec<Versioned<Client>>, StoreError> {
        self.query(INSURANCE_INDEX, "insuranceNumber", digits).await
    }

    async fn create(&self, client: &Client) -> Result<(), ClientWriteError> {
        self.put_item(client_item(client, 1)?, None).await
    }

    async fn put(&self, client: &Versioned<Client>) -> Result<(), ClientWriteError> {
        let item = client_item(&client.value, client.version + 1)?;
        match self.put_item(item, Some(client.version)).await {
            Err(ClientWriteError::Conflict) => {
                // Tell a deleted record from a stale version.
                match self.get(&client.value.client_id).await? {
                    None => Err(ClientWriteError::NotFound),
                    Some(_) => Err(ClientWriteError::Conflict),
                }
            }
            other => other,
        }
    }

    async fn batch_put(&self, clients: &[Versioned<Client>]) -> Result<(), StoreError> {
        for chunk in clients.chunks(BATCH_SIZE) {
            let requests = chunk
                .iter()
                .map(|client| {
                    let item = client_item(&client.value, client.version + 1)?;
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(|error| backend("build a client batch", error))
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.write_batch(requests).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};

    use super::*;

    fn client() -> Client {
        Client {
            client_id: "10000001".into(),
            icis_id: Some("10000001".into()),
            status: "vip".into(),
            fields: BTreeMap::from([
                ("lastName".to_owned(), "Dvořáková".to_owned()),
                ("mobile".to_owned(), "+420777000111".to_owned()),
                ("email".to_owned(), "Jana.Dvorakova@Seznam.cz".to_owned()),
                ("phone".to_owned(), String::new()),
            ]),
            updated_at: Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap(),
            updated_by: "icis".into(),
        }
    }

    #[test]
    fn when_a_client_is_stored_should_carry_sparse_index_attributes_and_read_back() {
        let item = client_item(&client(), 4).unwrap();
        assert_eq!(item["clientId"], string("10000001"));
        assert_eq!(item["mobile"], string("+420777000111"));
        assert_eq!(item["emailLower"], string("jana.dvorakova@seznam.cz"));
        assert!(!item.contains_key("phone"));
        assert!(!item.contains_key("insuranceNumber"));
        assert_eq!(item["version"], AttributeValue::N("4".into()));
        assert_eq!(item["updatedAt"], string("2026-11-28T09:00:00.000Z"));
        let back = read(item).unwrap();
        assert_eq!(back.version, 4);
        assert_eq!(back.value, client());
    }

    /// Against the emulator with the demo data: `scripts/seed-clients.py` (add `--create-table`
    /// on a bare moto), then `LINKA_AWS_ENDPOINT=… cargo test -p linka-shared clients_dynamodb
    /// -- --ignored`.
    #[tokio::test]
    #[ignore = "needs the emulator with a seeded linka-ClientsTable (scripts/seed-clients.py)"]
    async fn when_seeded_table_is_used_should_find_the_family_and_refuse_stale_versions() {
        use aws_sdk_dynamodb::config::{Credentials, Region};
        let endpoint = std::env::var("LINKA_AWS_ENDPOINT")
            .unwrap_or_else(|_| "http://127.0.0.1:4566".to_owned());
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("eu-central-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .load()
            .await;
        let store = DynamoClientStore::from_sdk_config(&sdk, "linka-ClientsTable");
        // GIVEN the demo family sharing a mobile, and the VIP
        let mut family = store.find_by_phone("+420777000111").await.unwrap();
        crate::clients::sort_matches(&mut family);
        let names: Vec<_> = family
            .iter()
            .map(|c| c.value.fields["firstName"].as_str())
            .collect();
        assert_eq!(names, ["Tomáš", "Jana"]);
        let vip = store.find_by_phone("+420777000222").await.unwrap();
        assert_eq!(vip[0].value.status, "vip");
        let by_email = store
            .find_by_email("JANA.DVORAKOVA@seznam.cz")
            .await
            .unwrap();
        assert_eq!(by_email[0].value.client_id, "90000001");
        let by_number = store.find_by_insurance_number("7801011230").await.unwrap();
        assert!(by_number.iter().any(|c| c.value.client_id == "90000002"));
        // WHEN a manual client is created, edited, and edited again at the old version
        let mut manual = client();
        manual.client_id = format!("M-{}", uuid::Uuid::new_v4());
        manual.icis_id = None;
        store.create(&manual).await.unwrap();
        assert!(matches!(
            store.create(&manual).await,
            Err(ClientWriteError::Conflict)
        ));
        let mut stored = store.get(&manual.client_id).await.unwrap().unwrap();
        assert_eq!(stored.version, 1);
        stored.value.fields.insert("city".into(), "Brno".into());
        store.put(&stored).await.unwrap();
        // THEN the stale write conflicts, and a missing record is not found
        assert!(matches!(
            store.put(&stored).await,
            Err(ClientWriteError::Conflict)
        ));
        let mut ghost = stored.clone();
        ghost.value.client_id = "M-ghost".into();
        assert!(matches!(
            store.put(&ghost).await,
            Err(ClientWriteError::NotFound)
        ));
        let back = store.get(&manual.client_id).await.unwrap().unwrap();
        assert_eq!(
            (back.version, back.value.fields["city"].as_str()),
            (2, "Brno")
        );
        // AND the import overwrites in batches
        let batch: Vec<_> = (0..60)
            .map(|i| {
                let mut value = client();
                value.client_id = format!("batch-{i}");
                Versioned { value, version: 0 }
            })
            .collect();
        store.batch_put(&batch).await.unwrap();
        assert_eq!(store.get("batch-59").await.unwrap().unwrap().version, 1);
    }

    #[test]
    fn when_a_manual_client_is_stored_should_read_back_without_icis_id() {
        let mut value = client();
        value.icis_id = None;
        let back = read(client_item(&value, 1).unwrap()).unwrap();
        assert_eq!(back.value.icis_id, None);
    }
}
