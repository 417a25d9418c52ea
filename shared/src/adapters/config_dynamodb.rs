//! [`ConfigStore`] on `ConfigTable` (pk `collection`, sk `id`): configuration documents stored
//! as native DynamoDB maps, each write in one transaction with its audit record and the
//! [`ChangeMarker`].

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    types::{AttributeValue, Delete, Put, TransactWriteItem},
    Client,
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use serde_json::Value;

use super::audit_dynamodb::{backend, corrupt, transact_with_audit, ChangeMarker, DynamoAuditLog};
use super::dynamodb::next_cursor;
use crate::{
    audit::AuditRecord,
    paging::{InvalidCursor, Page, PageCursor},
    ports::{AdminError, ConfigStore, ConfigWrite, StoreError},
    users::PageLimit,
};

type Item = HashMap<String, AttributeValue>;

const PARTITION_KEY: &str = "collection";
const SORT_KEY: &str = "id";

/// [`ConfigStore`] on `ConfigTable`.
#[derive(Debug, Clone)]
pub struct DynamoConfigStore {
    client: Client,
    table: String,
    audit: DynamoAuditLog,
    changes: ChangeMarker,
}

impl DynamoConfigStore {
    pub fn new(client: Client, table: impl Into<String>, audit: DynamoAuditLog) -> Self {
        let table = table.into();
        Self {
            client,
            changes: ChangeMarker::new(table.clone()),
            table,
            audit,
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        table: impl Into<String>,
        audit: DynamoAuditLog,
    ) -> Self {
        Self::new(Client::new(sdk_config), table, audit)
    }

    fn key(collection: &str, id: &str) -> Item {
        Item::from([
            (
                PARTITION_KEY.to_owned(),
                AttributeValue::S(collection.to_owned()),
            ),
            (SORT_KEY.to_owned(), AttributeValue::S(id.to_owned())),
        ])
    }

    fn put(
        &self,
        collection: &str,
        id: &str,
        document: &Value,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item: Item = to_item(document).map_err(corrupt("configuration document"))?;
        item.extend(Self::key(collection, id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|error| backend("build a configuration write")(Box::new(error)))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// The document of an item: the item without its keys.
fn document(mut item: Item) -> Result<Value, StoreError> {
    item.remove(PARTITION_KEY);
    item.remove(SORT_KEY);
    from_item(item).map_err(corrupt("configuration document"))
}

#[async_trait]
impl ConfigStore for DynamoConfigStore {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(collection, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read a configuration document")(error.into()))?;
        output.item.map(document).transpose()
    }

    async fn list(
        &self,
        collection: &str,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Value>, StoreError> {
        let start = match cursor {
            Some(cursor) => {
                cursor.expect_attributes(&[PARTITION_KEY, SORT_KEY])?;
                let key = cursor.key();
                match (key.get(PARTITION_KEY), key.get(SORT_KEY)) {
                    (Some(owner), Some(id)) if owner == collection && !id.is_empty() => {
                        Some(Self::key(collection, id))
                    }
                    _ => return Err(InvalidCursor("not a cursor of this listing").into()),
                }
            }
            None => None,
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#collection = :collection")
            .expression_attribute_names("#collection", PARTITION_KEY)
            .expression_attribute_values(":collection", AttributeValue::S(collection.to_owned()))
            .limit(i32::from(limit.get()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|error| backend("list configuration documents")(error.into()))?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(document)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: next_cursor(output.last_evaluated_key, "configuration document")?,
        })
    }

    async fn write(&self, write: &ConfigWrite, audit: &AuditRecord) -> Result<(), AdminError> {
        let (item, refused) = match write {
            ConfigWrite::Create {
                collection,
                id,
                document,
            } => (
                self.put(collection, id, document, Some("attribute_not_exists(id)"))?,
                AdminError::Conflict,
            ),
            ConfigWrite::Replace {
                collection,
                id,
                document,
            } => (
                self.put(collection, id, document, Some("attribute_exists(id)"))?,
                AdminError::NotFound,
            ),
            ConfigWrite::Upsert {
                collection,
                id,
                document,
            } => (
                self.put(collection, id, document, None)?,
                AdminError::Conflict,
            ),
            ConfigWrite::Delete { collection, id } => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(collection, id)))
                    .condition_expression("attribute_exists(id)")
                    .build()
                    .map_err(|error| backend("build a configuration delete")(Box::new(error)))?;
                (
                    TransactWriteItem::builder().delete(delete).build(),
                    AdminError::NotFound,
                )
            }
        };
        let marker = self.changes.put(audit)?;
        transact_with_audit(
            &self.client,
            &self.audit,
            item,
            Some(marker),
            audit,
            refused,
        )
        .await
    }

    async fn last_change(&self) -> Result<Option<String>, StoreError> {
        self.changes.read(&self.client).await.map(Some)
    }
}
