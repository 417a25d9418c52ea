//! DynamoDB adapter of [`CallbackStore`]: `CallbacksTable` (pk `id`) with three sparse or
//! plain indexes:
//!
//! - `activeByQueue` (pk `activeQueueId`, sk `dueAt`): only callbacks that are not closed carry
//!   `activeQueueId`, so the index holds exactly the work still to do;
//! - `closedByQueue` (pk `closedQueueId`, sk `closedAtKey`): closed callbacks, for the agent's
//!   list of what was settled recently;
//! - `byNumber` (pk `number`, sk `createdAt`): every callback of a number (lost-call merging,
//!   the client's history).
//!
//! Every item carries `version`; a write is conditional on the version read.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{operation::put_item::PutItemError, types::AttributeValue, Client};
use chrono::{DateTime, Utc};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    callbacks::Callback,
    ports::{CallbackStore, CallbackWriteError, StoreError, Versioned},
    time::format_rfc3339,
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

const ACTIVE_INDEX: &str = "activeByQueue";
const CLOSED_INDEX: &str = "closedByQueue";
const NUMBER_INDEX: &str = "byNumber";

fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        entity: "callback",
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
            entity: "callback",
            source: "version is not a number".into(),
        }),
    }
}

fn read(item: Item) -> Result<Versioned<Callback>, StoreError> {
    let version = version_of(&item)?;
    let value: Callback = from_item(item).map_err(corrupt)?;
    Ok(Versioned { value, version })
}

/// The item of a callback at its next version, with the index attributes.
pub(crate) fn callback_item(callback: &Versioned<Callback>) -> Result<Item, StoreError> {
    let value = &callback.value;
    let mut item: Item = to_item(value).map_err(corrupt)?;
    item.insert(
        "version".into(),
        AttributeValue::N((callback.version + 1).to_string()),
    );
    match value.closed_at {
        Some(closed_at) if !value.is_active() => {
            item.insert("closedQueueId".into(), string(&value.queue_id));
            item.insert("closedAtKey".into(), string(&format_rfc3339(closed_at)));
        }
        _ => {
            item.insert("activeQueueId".into(), string(&value.queue_id));
        }
    }
    Ok(item)
}

/// [`CallbackStore`] on `CallbacksTable`.
#[derive(Debug, Clone)]
pub struct DynamoCallbackStore {
    client: Client,
    table: String,
}

impl DynamoCallbackStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk_config), table)
    }

    /// Every item of the index partition `key = value`, in sort order (`forward`) or reversed,
    /// at most `limit` (0: all); with `from`, only sort keys at or after it.
    async fn query(
        &self,
        index: &str,
        key: (&str, &str),
        range: Option<(&str, String)>,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<Versioned<Callback>>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut condition = "#pk = :pk".to_owned();
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .scan_index_forward(forward)
                .expression_attribute_names("#pk", key.0)
                .expression_attribute_values(":pk", string(key.1))
                .set_exclusive_start_key(start.take());
            if let Some((attribute, from)) = &range {
                condition.push_str(" AND #sk >= :from");
                request = request
                    .expression_attribute_names("#sk", *attribute)
                    .expression_attribute_values(":from", string(from));
            }
            let output = request
                .key_condition_expression(condition)
                .send()
                .await
                .map_err(|error| {
                    backend("query callbacks", aws_sdk_dynamodb::Error::from(error))
                })?;
            for item in output.items.unwrap_or_default() {
                found.push(read(item)?);
                if limit > 0 && found.len() >= limit {
                    return Ok(found);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}

#[async_trait]
impl CallbackStore for DynamoCallbackStore {
    async fn get(&self, id: &str) -> Result<Option<Versioned<Callback>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", string(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read a callback", aws_sdk_dynamodb::Error::from(error)))?;
        output.item.map(read).transpose()
    }

    async fn active_in_queue(
        &self,
        queue_id: &str,
    ) -> Result<Vec<Versioned<Callback>>, StoreError> {
        // The index is eventually consistent: a callback closed a moment ago may still appear.
        let found = self
            .query(ACTIVE_INDEX, ("activeQueueId", queue_id), None, true, 0)
            .await?;
        Ok(found.into_iter().filter(|v| v.value.is_active()).collect())
    }

    async fn closed_in_queue(
        &self,
        queue_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Callback>, StoreError> {
        let found = self
            .query(
                CLOSED_INDEX,
                ("closedQueueId", queue_id),
                Some(("closedAtKey", format_rfc3339(since))),
                false,
                limit,
            )
            .await?;
        Ok(found.into_iter().map(|v| v.value).collect())
    }

    async fn by_number(
        &self,
        number: &str,
        limit: usize,
    ) -> Result<Vec<Versioned<Callback>>, StoreError> {
        self.query(NUMBER_INDEX, ("number", number), None, false, limit)
            .await
    }

    async fn save(&self, callback: &Versioned<Callback>) -> Result<(), CallbackWriteError> {
        let item = callback_item(callback)?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#id", "id");
        request = if callback.version == 0 {
            request.condition_expression("attribute_not_exists(#id)")
        } else {
            request
                .condition_expression("attribute_exists(#id) AND #version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(
                    ":version",
                    AttributeValue::N(callback.version.to_string()),
                )
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => {
                    Err(CallbackWriteError::Conflict)
                }
                other => {
                    Err(backend("store a callback", aws_sdk_dynamodb::Error::from(other)).into())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{CallbackSource, NewCallback};
    use chrono::TimeZone;

    fn callback() -> Callback {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        Callback::create(
            NewCallback {
                id: "cb-1".into(),
                queue_id: "kkc".into(),
                number: "601123456".into(),
                client_id: None,
                client_name: None,
                source: CallbackSource::Agent,
                entered_at: None,
                priority: 5,
                requested_slot: None,
                created_by: "agent1".into(),
                note: None,
            },
            now,
        )
        .unwrap()
    }

    #[test]
    fn when_an_open_callback_is_stored_should_carry_the_active_index_and_read_back() {
        let item = callback_item(&Versioned {
            value: callback(),
            version: 2,
        })
        .unwrap();
        assert_eq!(item["activeQueueId"], string("kkc"));
        assert!(!item.contains_key("closedQueueId"));
        assert_eq!(item["version"], AttributeValue::N("3".into()));
        assert_eq!(item["dueAt"], string("2026-11-27T09:00:00.000Z"));
        let back = read(item).unwrap();
        assert_eq!(back.version, 3);
        assert_eq!(back.value, callback());
    }

    #[test]
    fn when_a_callback_is_closed_should_leave_the_active_index_for_the_closed_one() {
        let mut value = callback();
        let later = value.created_at + chrono::TimeDelta::minutes(5);
        value.mark_done("agent1", later).unwrap();
        let item = callback_item(&Versioned { value, version: 0 }).unwrap();
        assert!(!item.contains_key("activeQueueId"));
        assert_eq!(item["closedQueueId"], string("kkc"));
        assert_eq!(item["closedAtKey"], string("2026-11-27T09:05:00.000Z"));
    }
}
