//! DynamoDB adapter of [`CtiStateStore`]: `CallsTable`, `AgentStateTable` and
//! `ContactEventsTable` (docs/data-model.md, docs/adr/0011-cti-state-and-contact-events.md).
//!
//! Each state item carries a `version` number; a write is conditional on the version read
//! (`attribute_not_exists` for a new item), and the states and the lifecycle records of one CTI
//! event go in one `TransactWriteItems`, so a crash never stores half of an event. With a
//! statistics table ([`DynamoCtiStateStore::with_stats_table`]) the event's hourly counters
//! (`StatsTable`, `ADD`) go in the same transaction: an event applied before writes nothing, so
//! it never counts twice.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::transact_write_items::TransactWriteItemsError,
    types::{AttributeValue, Put, TransactWriteItem},
    Client,
};
use chrono::Duration;
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    contacts::ContactEvent,
    cti_state::{AgentPresence, CallState},
    ports::{CtiStateStore, CtiWrite, CtiWriteError, StoreError, Versioned},
    time::format_rfc3339,
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

/// How long a call item stays after its last event (DynamoDB TTL `expiresAt`). The history
/// lives in `ContactEventsTable`; the call item only serves live views and late events.
pub const CALL_RETENTION: Duration = Duration::days(7);

fn corrupt(entity: &'static str) -> impl FnOnce(serde_dynamo::Error) -> StoreError {
    move |error| StoreError::Corrupt {
        entity,
        source: Box::new(error),
    }
}

/// The `version` attribute of an item (0 when absent).
fn version_of(item: &Item) -> Result<u64, StoreError> {
    match item.get("version") {
        None => Ok(0),
        Some(AttributeValue::N(number)) => number.parse().map_err(|error| StoreError::Corrupt {
            entity: "cti state",
            source: Box::new(error),
        }),
        Some(_) => Err(StoreError::Corrupt {
            entity: "cti state",
            source: "version is not a number".into(),
        }),
    }
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The item of a lifecycle record in `ContactEventsTable`: the record, its sort key `atState`
/// and the by-day index keys `day` and `atContact`.
pub fn contact_event_item(event: &ContactEvent) -> Result<Item, StoreError> {
    let mut item: Item = to_item(event).map_err(corrupt("contact event"))?;
    item.insert("atState".into(), AttributeValue::S(event.sort_key()));
    item.insert("day".into(), AttributeValue::S(event.day()));
    item.insert(
        "atContact".into(),
        AttributeValue::S(format!(
            "{}#{}#{}",
            format_rfc3339(event.at),
            event.contact_id,
            event.to
        )),
    );
    Ok(item)
}

/// [`ContactEventLog`] on `ContactEventsTable`: the records of one change in one
/// `TransactWriteItems` of plain puts (a record stored again is the same item).
#[derive(Debug, Clone)]
pub struct DynamoContactEventLog {
    client: Client,
    table: String,
}

impl DynamoContactEventLog {
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Client::new(sdk_config),
            table: table.into(),
        }
    }
}

#[async_trait]
impl crate::ports::ContactEventLog for DynamoContactEventLog {
    async fn append(&self, events: &[ContactEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut items = Vec::with_capacity(events.len());
        for event in events {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(contact_event_item(event)?))
                .build()
                .map_err(|error| backend("build a lifecycle record write", error))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|error| {
                backend(
                    "store lifecycle records",
                    aws_sdk_dynamodb::Error::from(error),
                )
            })?;
        Ok(())
    }
}

/// [`CtiStateStore`] on the three tables.
#[derive(Debug, Clone)]
pub struct DynamoCtiStateStore {
    client: Client,
    calls_table: String,
    agents_table: String,
    contact_events_table: String,
    /// `StatsTable`; `None`: the counters of a write are not stored.
    stats_table: Option<String>,
}

impl DynamoCtiStateStore {
    pub fn new(
        client: Client,
        calls_table: impl Into<String>,
        agents_table: impl Into<String>,
        contact_events_table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            calls_table: calls_table.into(),
            agents_table: agents_table.into(),
            contact_events_table: contact_events_table.into(),
            stats_table: None,
        }
    }

    /// Stores the writes' statistics counters in `table` (`StatsTable`).
    pub fn with_stats_table(mut self, table: impl Into<String>) -> Self {
        self.stats_table = Some(table.into());
        self
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        calls_table: impl Into<String>,
        agents_table: impl Into<String>,
        contact_events_table: impl Into<String>,
    ) -> Self {
        Self::new(
            Client::new(sdk_config),
            calls_table,
            agents_table,
            contact_events_table,
        )
    }

    async fn get<T: DeserializeOwned>(
        &self,
        table: &str,
        key: (&str, &str),
        entity: &'static str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .key(key.0, AttributeValue::S(key.1.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read a CTI state", aws_sdk_dynamodb::Error::from(error)))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let version = version_of(&item)?;
        let value = from_item::<T>(item).map_err(corrupt(entity))?;
        Ok(Some(Versioned { value, version }))
    }

    /// The item of a call: the state, `version`, `expiresAt`.
    pub fn call_item(&self, call: &Versioned<CallState>) -> Result<Item, StoreError> {
        let mut item: Item = to_item(&call.value).map_err(corrupt("call"))?;
        item.insert("version".into(), number(call.version + 1));
        let expires = call.value.last.observed_at + CALL_RETENTION;
        item.insert("expiresAt".into(), number(expires.timestamp()));
        Ok(item)
    }

    /// The item of an agent device: the presence and `version`.
    pub fn agent_item(&self, agent: &Versioned<AgentPresence>) -> Result<Item, StoreError> {
        let mut item: Item = to_item(&agent.value).map_err(corrupt("agent"))?;
        item.insert("version".into(), number(agent.version + 1));
        Ok(item)
    }

    /// The item of a lifecycle record: the record, its sort key `atState` and the by-day index
    /// keys `day` and `atContact`.
    pub fn event_item(&self, event: &ContactEvent) -> Result<Item, StoreError> {
        contact_event_item(event)
    }

    fn versioned_put(
        &self,
        table: &str,
        key_attribute: &str,
        item: Item,
        version: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .expression_attribute_names("#key", key_attribute);
        put = if version == 0 {
            put.condition_expression("attribute_not_exists(#key)")
        } else {
            put.condition_expression("attribute_exists(#key) AND #version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", number(version))
        };
        let put = put
            .build()
            .map_err(|error| backend("build a CTI state write", error))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

#[async_trait]
impl CtiStateStore for DynamoCtiStateStore {
    async fn call(&self, call_key: &str) -> Result<Option<Versioned<CallState>>, StoreError> {
        self.get(&self.calls_table, ("callKey", call_key), "call")
            .await
    }

    async fn agent(&self, device: &str) -> Result<Option<Versioned<AgentPresence>>, StoreError> {
        self.get(&self.agents_table, ("device", device), "agent")
            .await
    }

    async fn commit(&self, write: &CtiWrite) -> Result<(), CtiWriteError> {
        let mut items = Vec::new();
        for call in &write.calls {
            items.push(self.versioned_put(
                &self.calls_table,
                "callKey",
                self.call_item(call)?,
                call.version,
            )?);
        }
        for agent in &write.agents {
            items.push(self.versioned_put(
                &self.agents_table,
                "device",
                self.agent_item(agent)?,
                agent.version,
            )?);
        }
        for event in &write.events {
            // Unconditional: a record's key is stable across replays, so storing it again
            // stores the same item.
            let put = Put::builder()
                .table_name(&self.contact_events_table)
                .set_item(Some(self.event_item(event)?))
                .build()
                .map_err(|error| backend("build a contact event write", error))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if let Some(table) = &self.stats_table {
            items.extend(super::counter_updates(table, &write.counters)?);
        }
        if items.is_empty() {
            return Ok(());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(error) = result else {
            return Ok(());
        };
        let conflict = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                cancelled.cancellation_reasons().iter().any(|reason| {
                    matches!(
                        reason.code(),
                        Some("ConditionalCheckFailed" | "TransactionConflict")
                    )
                })
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
            _ => false,
        };
        if conflict {
            return Err(CtiWriteError::Conflict);
        }
        Err(backend(
            "write CTI state and contact events",
            aws_sdk_dynamodb::Error::from(error),
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::contacts::{Channel, ContactOutcome, ContactResult, ContactState, LostPhase};

    fn store() -> DynamoCtiStateStore {
        let client = Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        );
        DynamoCtiStateStore::new(client, "calls", "agents", "events")
    }

    #[test]
    fn when_a_lifecycle_record_is_stored_should_carry_its_keys_and_round_trip() {
        let event = ContactEvent {
            contact_id: "prg-1:1:1".into(),
            channel: Channel::Voice,
            from: Some(ContactState::Queued),
            to: ContactState::Offered,
            at: Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 3).unwrap(),
            call_id: Some("c1".into()),
            pilot: Some("5000".into()),
            queue: Some("5000".into()),
            agent_device: Some("2001".into()),
            agent: None,
            cause: None,
            outcome: Some(ContactOutcome {
                result: ContactResult::Abandoned,
                lost_phase: Some(LostPhase::RingingAgent),
                total_ms: 12_000,
                from_ivr_ms: None,
                from_queue_ms: Some(9_500),
                from_ring_ms: Some(4_250),
                answered_by: None,
                missed_by: vec!["2002".into()],
            }),
        };
        let item = store().event_item(&event).unwrap();
        assert_eq!(
            item["atState"],
            AttributeValue::S("2026-11-27T08:00:03.000Z#offered".into())
        );
        assert_eq!(item["day"], AttributeValue::S("2026-11-27".into()));
        assert_eq!(
            item["atContact"],
            AttributeValue::S("2026-11-27T08:00:03.000Z#prg-1:1:1#offered".into())
        );
        assert!(!item.contains_key("cause"));
        let Some(AttributeValue::M(outcome)) = item.get("outcome") else {
            panic!("outcome is a map: {item:?}");
        };
        assert_eq!(
            outcome["lostPhase"],
            AttributeValue::S("ringingAgent".into())
        );
        assert_eq!(outcome["fromRingMs"], AttributeValue::N("4250".into()));
        assert!(!outcome.contains_key("fromIvrMs"));
        let back: ContactEvent = from_item(item).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn when_an_agent_is_stored_should_bump_the_version_and_read_it_back() {
        let agent = Versioned {
            value: AgentPresence::new("2001"),
            version: 4,
        };
        let item = store().agent_item(&agent).unwrap();
        assert_eq!(item["version"], AttributeValue::N("5".into()));
        assert_eq!(item["device"], AttributeValue::S("2001".into()));
        assert_eq!(version_of(&item).unwrap(), 5);
        let back: AgentPresence = from_item(item).unwrap();
        assert_eq!(back, agent.value);
    }
}
