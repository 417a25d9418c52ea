//! DynamoDB adapter of [`RoutingStateStore`] (docs/adr/0013-routing-function.md):
//! `AgentStateTable` (read only, written by cti-ingest), `AgentReservationsTable` (pk
//! `username`) and `WaitingCallsTable` (pk `callId`).
//!
//! An offer is one `TransactWriteItems` of two conditional puts — the agent's reservation
//! (`attribute_not_exists(username) OR (expiresAtMs <= :now AND attribute_not_exists(answeredAt))
//! OR offeredAtMs < :since`) and the
//! call's waiting record (its [`WaitingGuard`]) — so that two concurrent invocations can never
//! give one agent two calls nor one call two agents.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::transact_write_items::TransactWriteItemsError,
    types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem},
    Client,
};
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    cti_state::AgentPresence,
    ports::{OfferOutcome, RoutingStateStore, StoreError, WaitingGuard},
    routing::{LastAgent, WaitingCall},
    routing_live::Reservation,
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

/// A waiting record outlives its call by far; DynamoDB TTL (`expiresAt`) removes forgotten ones.
pub const WAITING_RETENTION: Duration = Duration::hours(12);
/// A reservation item is kept a day after it expired (TTL `purgeAt`), for diagnosis.
pub const RESERVATION_RETENTION: Duration = Duration::days(1);

fn corrupt(entity: &'static str) -> impl FnOnce(serde_dynamo::Error) -> StoreError {
    move |error| StoreError::Corrupt {
        entity,
        source: Box::new(error),
    }
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The names of the routing state tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingTables {
    /// `AgentStateTable` (read only).
    pub agents: String,
    /// `AgentReservationsTable`.
    pub reservations: String,
    /// `WaitingCallsTable`.
    pub waiting: String,
    /// `LastAgentTable`: pk `caller`, TTL `expiresAt`.
    pub last_agents: String,
}

/// How long the last agent of a caller is remembered (the longest `maxAgeHours` allowed).
pub const LAST_AGENT_RETENTION: Duration = Duration::days(30);

/// The live routing state on its tables.
#[derive(Debug, Clone)]
pub struct DynamoRoutingStateStore {
    client: Client,
    agents_table: String,
    reservations_table: String,
    waiting_table: String,
    last_agents_table: String,
}

impl DynamoRoutingStateStore {
    pub fn new(client: Client, tables: RoutingTables) -> Self {
        Self {
            client,
            agents_table: tables.agents,
            reservations_table: tables.reservations,
            waiting_table: tables.waiting,
            last_agents_table: tables.last_agents,
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, tables: RoutingTables) -> Self {
        Self::new(Client::new(sdk_config), tables)
    }

    /// Every item of `table`; with `projection`, only those attributes (names, not
    /// expressions).
    async fn scan<T: DeserializeOwned>(
        &self,
        table: &str,
        entity: &'static str,
        projection: &[&str],
    ) -> Result<Vec<T>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if !projection.is_empty() {
                let names: Vec<String> = (0..projection.len()).map(|i| format!("#p{i}")).collect();
                request = request.projection_expression(names.join(", "));
                for (name, attribute) in names.iter().zip(projection) {
                    request = request.expression_attribute_names(name, *attribute);
                }
            }
            let output = request.send().await.map_err(|error| {
                backend("scan routing state", aws_sdk_dynamodb::Error::from(error))
            })?;
            for item in output.items.unwrap_or_default() {
                items.push(from_item::<T>(item).map_err(corrupt(entity))?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        table: &str,
        key: (&str, &str),
        entity: &'static str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .key(key.0, string(key.1))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read routing state", aws_sdk_dynamodb::Error::from(error)))?;
        output
            .item
            .map(|item| from_item::<T>(item).map_err(corrupt(entity)))
            .transpose()
    }

    fn reservation_item(reservation: &Reservation) -> Result<Item, StoreError> {
        let mut item: Item = to_item(reservation).map_err(corrupt("reservation"))?;
        item.insert(
            "offeredAtMs".into(),
            number(reservation.offered_at.timestamp_millis()),
        );
        item.insert(
            "expiresAtMs".into(),
            number(reservation.expires_at.timestamp_millis()),
        );
        // TTL attribute: `expiresAt` is the reservation's own field (RFC 3339).
        item.insert(
            "purgeAt".into(),
            number((reservation.expires_at + RESERVATION_RETENTION).timestamp()),
        );
        Ok(item)
    }

    fn waiting_item(call: &WaitingCall) -> Result<Item, StoreError> {
        let mut item: Item = to_item(call).map_err(corrupt("waiting call"))?;
        item.insert(
            "expiresAt".into(),
            number((call.entered_at + WAITING_RETENTION).timestamp()),
        );
        Ok(item)
    }

    fn waiting_put(
        call: &WaitingCall,
        table: &str,
        guard: &WaitingGuard,
    ) -> Result<Put, StoreError> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(Self::waiting_item(call)?));
        let put = match guard {
            WaitingGuard::New => put
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", "callId"),
            WaitingGuard::NotOffered => put
                .condition_expression("attribute_exists(#id) AND attribute_not_exists(#offered)")
                .expression_attribute_names("#id", "callId")
                .expression_attribute_names("#offered", "offeredTo"),
            WaitingGuard::OfferedTo(agent) => put
                .condition_expression("#offered = :agent")
                .expression_attribute_names("#offered", "offeredTo")
                .expression_attribute_values(":agent", string(agent)),
            WaitingGuard::Any => put,
        };
        put.build()
            .map_err(|error| backend("build a waiting call write", error))
    }
}

#[async_trait]
impl RoutingStateStore for DynamoRoutingStateStore {
    async fn agent_presences(&self) -> Result<Vec<AgentPresence>, StoreError> {
        // Only what routing reads: the agent items also carry the ids of their last 256 events.
        self.scan(
            &self.agents_table,
            "agent",
            &[
                "device",
                "agentId",
                "state",
                "reasonCode",
                "since",
                "loggedOnAt",
            ],
        )
        .await
    }

    async fn agent_presence(&self, device: &str) -> Result<Option<AgentPresence>, StoreError> {
        self.get(&self.agents_table, ("device", device), "agent")
            .await
    }

    async fn reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        self.scan(&self.reservations_table, "reservation", &[])
            .await
    }

    async fn reservation(&self, username: &str) -> Result<Option<Reservation>, StoreError> {
        self.get(
            &self.reservations_table,
            ("username", username),
            "reservation",
        )
        .await
    }

    async fn waiting_calls(&self) -> Result<Vec<WaitingCall>, StoreError> {
        self.scan(&self.waiting_table, "waiting call", &[]).await
    }

    async fn waiting_call(&self, call_id: &str) -> Result<Option<WaitingCall>, StoreError> {
        self.get(&self.waiting_table, ("callId", call_id), "waiting call")
            .await
    }

    async fn offer(
        &self,
        reservation: &Reservation,
        call: &WaitingCall,
        guard: &WaitingGuard,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<OfferOutcome, StoreError> {
        let reserve = Put::builder()
            .table_name(&self.reservations_table)
            .set_item(Some(Self::reservation_item(reservation)?))
            .condition_expression(
                "attribute_not_exists(#user) OR (#expires <= :now AND attribute_not_exists(#answered)) OR #offered < :since",
            )
            .expression_attribute_names("#answered", "answeredAt")
            .expression_attribute_names("#user", "username")
            .expression_attribute_names("#expires", "expiresAtMs")
            .expression_attribute_names("#offered", "offeredAtMs")
            .expression_attribute_values(":now", number(now.timestamp_millis()))
            .expression_attribute_values(
                ":since",
                number(device_since.map_or(i64::MIN, |since| since.timestamp_millis())),
            )
            .build()
            .map_err(|error| backend("build a reservation write", error))?;
        let waiting = Self::waiting_put(call, &self.waiting_table, guard)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(reserve).build())
            .transact_items(TransactWriteItem::builder().put(waiting).build())
            .send()
            .await;
        let Err(error) = result else {
            return Ok(OfferOutcome::Offered);
        };
        let failed = |index: usize, reasons: &[aws_sdk_dynamodb::types::CancellationReason]| {
            reasons.get(index).is_some_and(|reason| {
                matches!(
                    reason.code(),
                    Some("ConditionalCheckFailed" | "TransactionConflict")
                )
            })
        };
        match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                let reasons = cancelled.cancellation_reasons();
                if failed(0, reasons) || reasons.is_empty() {
                    Ok(OfferOutcome::AgentTaken)
                } else if failed(1, reasons) {
                    Ok(OfferOutcome::CallTaken)
                } else {
                    Err(backend(
                        "offer a call",
                        aws_sdk_dynamodb::Error::from(error),
                    ))
                }
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                Ok(OfferOutcome::AgentTaken)
            }
            _ => Err(backend(
                "offer a call",
                aws_sdk_dynamodb::Error::from(error),
            )),
        }
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.reservations_table)
            .set_item(Some(Self::reservation_item(reservation)?))
            .condition_expression(
                "attribute_not_exists(#user) OR (#expires <= :now AND attribute_not_exists(#answered)) OR #offered < :since",
            )
            .expression_attribute_names("#answered", "answeredAt")
            .expression_attribute_names("#user", "username")
            .expression_attribute_names("#expires", "expiresAtMs")
            .expression_attribute_names("#offered", "offeredAtMs")
            .expression_attribute_values(":now", number(now.timestamp_millis()))
            .expression_attribute_values(
                ":since",
                number(device_since.map_or(i64::MIN, |since| since.timestamp_millis())),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => match error.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(backend("reserve an agent", aws_sdk_dynamodb::Error::from(other))),
            },
        }
    }

    async fn replace_reservation(
        &self,
        reservation: &Reservation,
        expected_call_id: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.reservations_table)
            .set_item(Some(Self::reservation_item(reservation)?))
            .condition_expression("#call = :call")
            .expression_attribute_names("#call", "callId")
            .expression_attribute_values(":call", string(expected_call_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(backend(
                "update a reservation",
                aws_sdk_dynamodb::Error::from(error),
            )),
        }
    }

    async fn put_waiting(
        &self,
        call: &WaitingCall,
        guard: &WaitingGuard,
    ) -> Result<bool, StoreError> {
        let put = Self::waiting_put(call, &self.waiting_table, guard)?;
        let result = self
            .client
            .put_item()
            .table_name(put.table_name())
            .set_item(Some(put.item().clone()))
            .set_condition_expression(put.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(put.expression_attribute_names().cloned())
            .set_expression_attribute_values(put.expression_attribute_values().cloned())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(backend(
                "store a waiting call",
                aws_sdk_dynamodb::Error::from(error),
            )),
        }
    }

    async fn last_agent(&self, caller: &str) -> Result<Option<LastAgent>, StoreError> {
        self.get(&self.last_agents_table, ("caller", caller), "last agent")
            .await
    }

    async fn call_and_last_agent(
        &self,
        call_id: &str,
        caller: &Option<String>,
    ) -> Result<(Option<WaitingCall>, Option<LastAgent>), StoreError> {
        let Some(caller) = caller else {
            return Ok((self.waiting_call(call_id).await?, None));
        };
        // One BatchGetItem instead of two GetItems: on the relay's clock every request counts.
        let keys = |name: &str, value: &str| {
            KeysAndAttributes::builder()
                .keys(HashMap::from([(name.to_owned(), string(value))]))
                .consistent_read(true)
                .build()
                .map_err(|error| {
                    backend("read routing state", aws_sdk_dynamodb::Error::from(error))
                })
        };
        let output = self
            .client
            .batch_get_item()
            .set_request_items(Some(HashMap::from([
                (self.waiting_table.clone(), keys("callId", call_id)?),
                (self.last_agents_table.clone(), keys("caller", caller)?),
            ])))
            .send()
            .await
            .map_err(|error| backend("read routing state", aws_sdk_dynamodb::Error::from(error)))?;
        let (mut waiting, mut last) = (None, None);
        for (table, items) in output.responses.unwrap_or_default() {
            for item in items {
                if table == self.waiting_table {
                    waiting = Some(from_item(item).map_err(corrupt("waiting call"))?);
                } else if table == self.last_agents_table {
                    last = Some(from_item(item).map_err(corrupt("last agent"))?);
                }
            }
        }
        // DynamoDB may leave keys unprocessed (throttling): read those one by one at once
        // rather than wait and retry the batch.
        let unprocessed = output.unprocessed_keys.unwrap_or_default();
        let (waiting_again, last_again) = tokio::try_join!(
            async {
                match unprocessed.contains_key(&self.waiting_table) {
                    true => self.waiting_call(call_id).await,
                    false => Ok(None),
                }
            },
            async {
                match unprocessed.contains_key(&self.last_agents_table) {
                    true => self.last_agent(caller).await,
                    false => Ok(None),
                }
            }
        )?;
        Ok((waiting.or(waiting_again), last.or(last_again)))
    }

    async fn record_last_agent(&self, caller: &str, last: &LastAgent) -> Result<(), StoreError> {
        let mut item: Item = to_item(last).map_err(corrupt("last agent"))?;
        item.insert("caller".into(), string(caller));
        item.insert(
            "expiresAt".into(),
            number((last.at + LAST_AGENT_RETENTION).timestamp()),
        );
        self.client
            .put_item()
            .table_name(&self.last_agents_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| {
                backend(
                    "remember the last agent",
                    aws_sdk_dynamodb::Error::from(error),
                )
            })?;
        Ok(())
    }

    async fn remove_waiting(&self, call_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.waiting_table)
            .key("callId", string(call_id))
            .send()
            .await
            .map_err(|error| {
                backend(
                    "remove a waiting call",
                    aws_sdk_dynamodb::Error::from(error),
                )
            })?;
        Ok(())
    }
}
