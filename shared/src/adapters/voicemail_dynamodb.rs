//! DynamoDB adapter of [`VoicemailStore`]: `VoicemailsTable` (pk `id`) with two sparse indexes:
//!
//! - `activeByQueue` (pk `activeQueueId`, sk `recordedAt`): only voicemails that are not done
//!   carry `activeQueueId`, so the index holds exactly the messages still to work, oldest first;
//! - `closedByQueue` (pk `closedQueueId`, sk `closedAtKey`): done voicemails, for the agent's
//!   list of what was settled recently.
//!
//! Every item carries `version`; a write is conditional on the version read.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{operation::put_item::PutItemError, types::AttributeValue, Client};
use chrono::{DateTime, Utc};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    ports::{StoreError, Versioned, VoicemailStore, VoicemailWriteError},
    time::format_rfc3339,
    voicemail::Voicemail,
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

const ACTIVE_INDEX: &str = "activeByQueue";
const CLOSED_INDEX: &str = "closedByQueue";

fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        entity: "voicemail",
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
            entity: "voicemail",
            source: "version is not a number".into(),
        }),
    }
}

fn read(item: Item) -> Result<Versioned<Voicemail>, StoreError> {
    let version = version_of(&item)?;
    let value: Voicemail = from_item(item).map_err(corrupt)?;
    Ok(Versioned { value, version })
}

/// The item of a voicemail at its next version, with the index attributes.
pub(crate) fn voicemail_item(voicemail: &Versioned<Voicemail>) -> Result<Item, StoreError> {
    let value = &voicemail.value;
    let mut item: Item = to_item(value).map_err(corrupt)?;
    item.insert(
        "version".into(),
        AttributeValue::N((voicemail.version + 1).to_string()),
    );
    match value.done_at() {
        Some(done_at) => {
            item.insert("closedQueueId".into(), string(&value.queue_id));
            item.insert("closedAtKey".into(), string(&format_rfc3339(done_at)));
        }
        None => {
            item.insert("activeQueueId".into(), string(&value.queue_id));
        }
    }
    Ok(item)
}

/// [`VoicemailStore`] on `VoicemailsTable`.
#[derive(Debug, Clone)]
pub struct DynamoVoicemailStore {
    client: Client,
    table: String,
}

impl DynamoVoicemailStore {
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
    /// at most `limit` (0: all); with `range`, only sort keys at or after it.
    async fn query(
        &self,
        index: &str,
        key: (&str, &str),
        range: Option<(&str, String)>,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<Versioned<Voicemail>>, StoreError> {
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
                    backend("query voicemails", aws_sdk_dynamodb::Error::from(error))
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
impl VoicemailStore for DynamoVoicemailStore {
    async fn get(&self, id: &str) -> Result<Option<Versioned<Voicemail>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", string(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read a voicemail", aws_sdk_dynamodb::Error::from(error)))?;
        output.item.map(read).transpose()
    }

    async fn active_in_queue(
        &self,
        queue_id: &str,
    ) -> Result<Vec<Versioned<Voicemail>>, StoreError> {
        // The index is eventually consistent: a voicemail done a moment ago may still appear.
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
    ) -> Result<Vec<Voicemail>, StoreError> {
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

    async fn save(&self, voicemail: &Versioned<Voicemail>) -> Result<(), VoicemailWriteError> {
        let item = voicemail_item(voicemail)?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#id", "id");
        request = if voicemail.version == 0 {
            request.condition_expression("attribute_not_exists(#id)")
        } else {
            request
                .condition_expression("attribute_exists(#id) AND #version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(
                    ":version",
                    AttributeValue::N(voicemail.version.to_string()),
                )
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => {
                    Err(VoicemailWriteError::Conflict)
                }
                other => {
                    Err(backend("store a voicemail", aws_sdk_dynamodb::Error::from(other)).into())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use chrono::TimeZone;

    fn voicemail() -> Voicemail {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        Voicemail::from_recording(
            "relay-1/call-17",
            "kkc",
            Some("601123456"),
            BTreeMap::from([("problem".to_owned(), "prukaz".to_owned())]),
            "voicemail/kkc/a.wav",
            42_000,
            now,
        )
        .unwrap()
    }

    #[test]
    fn when_a_new_voicemail_is_stored_should_carry_the_active_index_and_read_back() {
        let item = voicemail_item(&Versioned {
            value: voicemail(),
            version: 2,
        })
        .unwrap();
        assert_eq!(item["activeQueueId"], string("kkc"));
        assert!(!item.contains_key("closedQueueId"));
        assert_eq!(item["version"], AttributeValue::N("3".into()));
        assert_eq!(item["recordedAt"], string("2026-11-27T09:00:00.000Z"));
        assert_eq!(item["status"], string("new"));
        assert_eq!(item["caller"], string("+420601123456"));
        let back = read(item).unwrap();
        assert_eq!(back.version, 3);
        assert_eq!(back.value, voicemail());
    }

    #[test]
    fn when_an_assigned_voicemail_is_stored_should_stay_in_the_active_index() {
        let mut value = voicemail();
        let later = value.created_at + chrono::TimeDelta::minutes(2);
        value.assign("jana", "jana", false, later).unwrap();
        let item = voicemail_item(&Versioned {
            value: value.clone(),
            version: 1,
        })
        .unwrap();
        assert_eq!(item["activeQueueId"], string("kkc"));
        assert_eq!(item["agent"], string("jana"));
        assert_eq!(read(item).unwrap().value, value);
    }

    #[test]
    fn when_a_voicemail_is_done_should_leave_the_active_index_for_the_closed_one() {
        let mut value = voicemail();
        let later = value.created_at + chrono::TimeDelta::minutes(5);
        value.mark_done("jana", false, later).unwrap();
        let item = voicemail_item(&Versioned { value, version: 0 }).unwrap();
        assert!(!item.contains_key("activeQueueId"));
        assert_eq!(item["closedQueueId"], string("kkc"));
        assert_eq!(item["closedAtKey"], string("2026-11-27T09:05:00.000Z"));
    }

    #[test]
    fn when_a_stored_item_is_corrupt_should_say_so() {
        let mut item = voicemail_item(&Versioned {
            value: voicemail(),
            version: 0,
        })
        .unwrap();
        item.insert("version".into(), string("one"));
        assert!(matches!(
            read(item),
            Err(StoreError::Corrupt {
                entity: "voicemail",
                ..
            })
        ));
    }
}
