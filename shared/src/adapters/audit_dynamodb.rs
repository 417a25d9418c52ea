//! DynamoDB adapters for `AuditTable` (append-only) and for user writes, which go into one
//! `TransactWriteItems` with their audit record.
//!
//! `AuditTable`: pk `day` (UTC date), sk `atId` (`<RFC 3339 at>#<id>`), GSI `byActor`
//! (`actor`, `atId`), TTL `expiresAt` (epoch seconds, `at` + the retention).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::transact_write_items::TransactWriteItemsError,
    types::{AttributeValue, Delete, Put, TransactWriteItem},
    Client,
};
use chrono::Duration;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    audit::{AuditQuery, AuditRecord},
    paging::Page,
    ports::{AdminError, AuditLog, StoreError, UserAdministration},
    users::{User, USER_KIND},
};

type Item = HashMap<String, AttributeValue>;

const BY_ACTOR_INDEX: &str = "byActor";

pub(crate) fn backend(
    operation: &'static str,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> StoreError {
    move |source| StoreError::Backend { operation, source }
}

pub(crate) fn corrupt(entity: &'static str) -> impl FnOnce(serde_dynamo::Error) -> StoreError {
    move |error| StoreError::Corrupt {
        entity,
        source: Box::new(error),
    }
}

/// [`AuditLog`] on `AuditTable`.
#[derive(Debug, Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        table: impl Into<String>,
        retention: Duration,
    ) -> Self {
        Self::new(Client::new(sdk_config), table, retention)
    }

    /// The item of a record: its fields plus the keys and the TTL.
    pub fn item(&self, record: &AuditRecord) -> Result<Item, StoreError> {
        let mut item: Item = to_item(record).map_err(corrupt("audit record"))?;
        item.insert("day".to_owned(), AttributeValue::S(record.day()));
        item.insert("atId".to_owned(), AttributeValue::S(record.sort_key()));
        let expires_at = (record.at + self.retention).timestamp();
        item.insert(
            "expiresAt".to_owned(),
            AttributeValue::N(expires_at.to_string()),
        );
        Ok(item)
    }

    /// The `Put` of a record, which never overwrites one.
    fn put(&self, record: &AuditRecord) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(record)?))
            .condition_expression("attribute_not_exists(atId)")
            .build()
            .map_err(|error| backend("build an audit write")(Box::new(error)))
    }

    async fn query_page(
        &self,
        query: &AuditQuery,
        day: Option<&str>,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<AuditRecord>, bool), StoreError> {
        let (low, high) = query.sort_key_bounds();
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .expression_attribute_names("#at", "atId")
            .expression_attribute_values(":low", AttributeValue::S(low))
            .expression_attribute_values(":high", AttributeValue::S(high))
            .set_exclusive_start_key(start);
        let request = match (day, &query.actor) {
            (_, Some(actor)) => request
                .index_name(BY_ACTOR_INDEX)
                .key_condition_expression("#pk = :pk AND #at BETWEEN :low AND :high")
                .expression_attribute_names("#pk", "actor")
                .expression_attribute_values(":pk", AttributeValue::S(actor.clone())),
            (Some(day), None) => request
                .key_condition_expression("#pk = :pk AND #at BETWEEN :low AND :high")
                .expression_attribute_names("#pk", "day")
                .expression_attribute_values(":pk", AttributeValue::S(day.to_owned())),
            (None, None) => return Ok((Vec::new(), false)),
        };
        let output = request.send().await.map_err(|error| {
            backend("query the audit log")(Box::new(aws_sdk_dynamodb::Error::from(error)))
        })?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<AuditRecord>(item).map_err(corrupt("audit record")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, output.last_evaluated_key.is_some()))
    }
}

/// The `ExclusiveStartKey` after `sort_key` on `day` (for the index, with the actor too).
fn start_after(query: &AuditQuery, day: &str, sort_key: &str) -> Item {
    let mut key = Item::from([
        ("day".to_owned(), AttributeValue::S(day.to_owned())),
        ("atId".to_owned(), AttributeValue::S(sort_key.to_owned())),
    ]);
    if let Some(actor) = &query.actor {
        key.insert("actor".to_owned(), AttributeValue::S(actor.clone()));
    }
    key
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(record)?))
            .condition_expression("attribute_not_exists(atId)")
            .send()
            .await
            .map_err(|error| {
                backend("append an audit record")(Box::new(aws_sdk_dynamodb::Error::from(error)))
            })?;
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> Result<Page<AuditRecord>, StoreError> {
        let limit = usize::from(query.limit.get());
        let mut items: Vec<AuditRecord> = Vec::new();
        // One actor: a single index range. Otherwise: one partition per day, newest first.
        let days: Vec<Option<String>> = if query.actor.is_some() {
            vec![None]
        } else {
            query.days().into_iter().map(Some).collect()
        };
        let last_day = days.len().saturating_sub(1);
        for (position, day) in days.iter().enumerate() {
            let mut start = query.cursor.as_ref().and_then(|cursor| {
                (query.actor.is_some() || day.as_deref() == Some(cursor.day.as_str()))
                    .then(|| start_after(query, &cursor.day, &cursor.sort_key))
            });
            loop {
                let partition = day.as_deref().or(query.actor.as_ref().map(|_| ""));
                let (page, more) = self
                    .query_page(query, partition, limit - items.len(), start.take())
                    .await?;
                items.extend(page);
                let full = items.len() >= limit;
                if full {
                    let next_cursor = match items.last() {
                        Some(last) if more || position < last_day => Some(query.cursor_after(last)),
                        _ => None,
                    };
                    return Ok(Page { items, next_cursor });
                }
                match (more, items.last()) {
                    (true, Some(last)) => {
                        start = Some(start_after(query, &last.day(), &last.sort_key()));
                    }
                    _ => break,
                }
            }
        }
        Ok(Page::last(items))
    }
}

/// [`UserAdministration`] on `UsersTable`, each write in one `TransactWriteItems` with its
/// record in `AuditTable`.
#[derive(Debug, Clone)]
pub struct DynamoUserAdministration {
    client: Client,
    users_table: String,
    audit: DynamoAuditLog,
    /// Marks every user write as a configuration change (routing's identities are read from
    /// the users); `None`: not marked.
    changes: Option<ChangeMarker>,
}

impl DynamoUserAdministration {
    pub fn new(client: Client, users_table: impl Into<String>, audit: DynamoAuditLog) -> Self {
        Self {
            client,
            users_table: users_table.into(),
            audit,
            changes: None,
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        users_table: impl Into<String>,
        audit: DynamoAuditLog,
    ) -> Self {
        Self::new(Client::new(sdk_config), users_table, audit)
    }

    /// Every write also marks a configuration change in `config_table` (see [`ChangeMarker`]).
    pub fn with_change_marker(mut self, config_table: impl Into<String>) -> Self {
        self.changes = Some(ChangeMarker::new(config_table));
        self
    }

    fn user_put(&self, user: &User, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let mut item: Item = to_item(user).map_err(corrupt("user"))?;
        item.insert("kind".to_owned(), AttributeValue::S(USER_KIND.to_owned()));
        let put = Put::builder()
            .table_name(&self.users_table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(|error| backend("build a user write")(Box::new(error)))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes `user_write` and the audit record together. A failed condition on the user item
    /// becomes `refused`.
    async fn transact(
        &self,
        user_write: TransactWriteItem,
        audit: &AuditRecord,
        refused: AdminError,
    ) -> Result<(), AdminError> {
        let marker = self
            .changes
            .as_ref()
            .map(|changes| changes.put(audit))
            .transpose()?;
        transact_with_audit(
            &self.client,
            &self.audit,
            user_write,
            marker,
            audit,
            refused,
        )
        .await
    }
}

/// The last configuration change, one item in `ConfigTable` (collection `_changes`, id `last`)
/// that every audited configuration or user write replaces in its own transaction with the
/// write's audit record id. A reader that caches the configuration (routing) reads this one
/// item to learn whether its copy is still current instead of reading everything again.
#[derive(Debug, Clone)]
pub struct ChangeMarker {
    table: String,
}

impl ChangeMarker {
    const COLLECTION: &'static str = "_changes";
    const ID: &'static str = "last";
    const ATTRIBUTE: &'static str = "writeId";

    pub fn new(config_table: impl Into<String>) -> Self {
        Self {
            table: config_table.into(),
        }
    }

    fn key() -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                "collection".to_owned(),
                AttributeValue::S(Self::COLLECTION.to_owned()),
            ),
            ("id".to_owned(), AttributeValue::S(Self::ID.to_owned())),
        ])
    }

    /// The marker's write for the change audited by `audit`.
    pub(crate) fn put(&self, audit: &AuditRecord) -> Result<TransactWriteItem, StoreError> {
        let mut item = Self::key();
        item.insert(
            Self::ATTRIBUTE.to_owned(),
            AttributeValue::S(audit.id.to_string()),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|error| backend("build a configuration change marker")(Box::new(error)))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The id of the last marked change; empty before the first one.
    pub(crate) async fn read(&self, client: &Client) -> Result<String, StoreError> {
        let output = client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read the configuration change marker")(error.into()))?;
        Ok(output
            .item
            .and_then(|mut item| item.remove(Self::ATTRIBUTE))
            .and_then(|value| value.as_s().ok().cloned())
            .unwrap_or_default())
    }
}

/// Writes `write` and the audit record in one `TransactWriteItems`. A failed condition on
/// `write` becomes `refused`; transient failures are retried with the same client request token
/// (so a retry of a transaction that did commit is a no-op).
pub(crate) async fn transact_with_audit(
    client: &Client,
    audit_log: &DynamoAuditLog,
    write: TransactWriteItem,
    change_marker: Option<TransactWriteItem>,
    audit: &AuditRecord,
    refused: AdminError,
) -> Result<(), AdminError> {
    let audit_write = TransactWriteItem::builder()
        .put(audit_log.put(audit)?)
        .build();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut request = client
            .transact_write_items()
            .client_request_token(audit.id.to_string())
            .transact_items(write.clone())
            .transact_items(audit_write.clone());
        if let Some(marker) = &change_marker {
            request = request.transact_items(marker.clone());
        }
        let result = request.send().await;
        let Err(error) = result else {
            return Ok(());
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        {
            let condition_failed = cancelled
                .cancellation_reasons()
                .first()
                .and_then(|reason| reason.code())
                == Some("ConditionalCheckFailed");
            if condition_failed {
                return Err(refused);
            }
        }
        if attempt < TRANSACTION_ATTEMPTS && is_transient(&error) {
            tracing::warn!(attempt, "transaction failed transiently; retrying");
            tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            continue;
        }
        return Err(backend("write a record with its audit record")(Box::new(
            aws_sdk_dynamodb::Error::from(error),
        ))
        .into());
    }
}

/// How often a user transaction is tried when it fails transiently.
const TRANSACTION_ATTEMPTS: u32 = 4;

/// A server error or a conflict with a concurrent transaction: worth another try.
fn is_transient(
    error: &aws_sdk_dynamodb::error::SdkError<
        TransactWriteItemsError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> bool {
    let server_error = error
        .raw_response()
        .is_some_and(|response| response.status().is_server_error());
    let conflict = match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .any(|reason| reason.code() == Some("TransactionConflict")),
        _ => false,
    };
    server_error || conflict
}

#[async_trait]
impl UserAdministration for DynamoUserAdministration {
    async fn create(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError> {
        let write = self.user_put(user, "attribute_not_exists(username)")?;
        self.transact(write, audit, AdminError::Conflict).await
    }

    async fn replace(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError> {
        let write = self.user_put(user, "attribute_exists(username)")?;
        self.transact(write, audit, AdminError::NotFound).await
    }

    async fn delete(&self, username: &str, audit: &AuditRecord) -> Result<(), AdminError> {
        let delete = Delete::builder()
            .table_name(&self.users_table)
            .key("username", AttributeValue::S(username.to_owned()))
            .condition_expression("attribute_exists(username)")
            .build()
            .map_err(|error| backend("build a user delete")(Box::new(error)))?;
        let write = TransactWriteItem::builder().delete(delete).build();
        self.transact(write, audit, AdminError::NotFound).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::audit::{AuditAction, AuditContext};

    #[test]
    fn when_record_is_stored_should_carry_keys_and_ttl() {
        // GIVEN a log with 400 days of retention
        let client = Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        );
        let log = DynamoAuditLog::new(client, "linka-AuditTable", Duration::days(400));
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let context = AuditContext {
            actor: "admin".to_owned(),
            actor_roles: BTreeSet::new(),
            ..AuditContext::default()
        };
        let record = AuditRecord::new(&context, AuditAction::UsersList, None, 200, at);
        // WHEN turned into an item
        let item = log.item(&record).unwrap();
        // THEN it has the table keys and the TTL in epoch seconds
        assert_eq!(item["day"], AttributeValue::S("2026-11-27".to_owned()));
        assert_eq!(item["atId"], AttributeValue::S(record.sort_key()));
        assert_eq!(
            item["expiresAt"],
            AttributeValue::N((at + Duration::days(400)).timestamp().to_string())
        );
        assert_eq!(item["actor"], AttributeValue::S("admin".to_owned()));
        assert!(!item.contains_key("target"));
        let back: AuditRecord = from_item(item).unwrap();
        assert_eq!(back, record);
    }
}
