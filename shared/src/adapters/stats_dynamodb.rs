//! DynamoDB adapter of [`StatsStore`]: `StatsTable` (pk `scope`, sk `hour`), one item per scope
//! and hour with a number attribute per counter (docs/data-model.md "StatsTable").
//!
//! The counters are written by the CTI adapter (`DynamoCtiStateStore`) in the transaction of the
//! event's records: [`counter_updates`] builds one `Update` (`ADD`) per item.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    types::{AttributeValue, TransactWriteItem, Update},
    Client,
};

use crate::{
    ports::StoreError,
    stats::{expires_at, merge, Counter, CounterIncrement, HourCounters, StatsStore},
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

fn corrupt(reason: String) -> StoreError {
    StoreError::Corrupt {
        entity: "stats",
        source: reason.into(),
    }
}

/// One `Update` per `(scope, hour)` item: `ADD` of every counter the increments touch (merged
/// first, so a transaction holds each item once).
pub fn counter_updates(
    table: &str,
    increments: &[CounterIncrement],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut items = Vec::new();
    for ((scope, hour), fields) in merge(increments) {
        let expires = expires_at(&hour).ok_or_else(|| corrupt(format!("{hour} is not an hour")))?;
        let mut update = Update::builder()
            .table_name(table)
            .key("scope", AttributeValue::S(scope))
            .key("hour", AttributeValue::S(hour));
        let mut additions = Vec::new();
        for (index, (field, amount)) in fields.iter().enumerate() {
            additions.push(format!("#f{index} :v{index}"));
            update = update
                .expression_attribute_names(format!("#f{index}"), field.as_str())
                .expression_attribute_values(
                    format!(":v{index}"),
                    AttributeValue::N(amount.to_string()),
                );
        }
        if additions.is_empty() {
            continue;
        }
        // The same TTL on every write of the item (RETENTION_DAYS after its hour).
        let update = update
            .expression_attribute_names("#ttl", "expiresAt")
            .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
            .update_expression(format!("SET #ttl = :ttl ADD {}", additions.join(", ")))
            .build()
            .map_err(|error| backend("build a statistics update", error))?;
        items.push(TransactWriteItem::builder().update(update).build());
    }
    Ok(items)
}

/// An item read back.
fn read(item: &Item) -> Result<HourCounters, StoreError> {
    let string = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(corrupt(format!("{name} is not a string"))),
    };
    let mut counts = BTreeMap::new();
    for field in Counter::ALL {
        match item.get(field.as_str()) {
            None => {}
            Some(AttributeValue::N(number)) => {
                let amount: u64 = number
                    .parse()
                    .map_err(|_| corrupt(format!("{} is not a count", field.as_str())))?;
                counts.insert(field, amount);
            }
            Some(_) => return Err(corrupt(format!("{} is not a number", field.as_str()))),
        }
    }
    Ok(HourCounters {
        scope: string("scope")?,
        hour: string("hour")?,
        counts,
    })
}

/// The hourly counters on `StatsTable`.
#[derive(Debug, Clone)]
pub struct DynamoStatsStore {
    client: Client,
    table: String,
}

impl DynamoStatsStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn from_sdk_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }
}

#[async_trait]
impl StatsStore for DynamoStatsStore {
    async fn hours(
        &self,
        scope: &str,
        from_hour: &str,
        to_hour: &str,
    ) -> Result<Vec<HourCounters>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            // `hour` is a reserved word: names go through placeholders.
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#scope = :scope AND #hour BETWEEN :from AND :to")
                .expression_attribute_names("#scope", "scope")
                .expression_attribute_names("#hour", "hour")
                .expression_attribute_values(":scope", AttributeValue::S(scope.to_owned()))
                .expression_attribute_values(":from", AttributeValue::S(from_hour.to_owned()))
                .expression_attribute_values(":to", AttributeValue::S(to_hour.to_owned()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    backend("query statistics", aws_sdk_dynamodb::Error::from(error))
                })?;
            for item in output.items.unwrap_or_default() {
                found.push(read(&item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn increment(scope: &str, field: Counter, amount: u64) -> CounterIncrement {
        CounterIncrement {
            scope: scope.into(),
            hour: "2026-11-27T08".into(),
            field,
            amount,
        }
    }

    #[test]
    fn when_increments_are_written_should_add_each_item_once_with_every_field() {
        let items = counter_updates(
            "stats",
            &[
                increment("all", Counter::Offered, 1),
                increment("all", Counter::Answered, 1),
                increment("all", Counter::Offered, 1),
                increment("queue#5100", Counter::Offered, 1),
            ],
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        let update = items[0].update().unwrap();
        assert_eq!(update.table_name(), "stats");
        assert_eq!(update.key()["scope"], AttributeValue::S("all".into()));
        assert_eq!(
            update.key()["hour"],
            AttributeValue::S("2026-11-27T08".into())
        );
        assert_eq!(
            update.update_expression(),
            "SET #ttl = :ttl ADD #f0 :v0, #f1 :v1"
        );
        let names = update.expression_attribute_names().unwrap();
        let values = update.expression_attribute_values().unwrap();
        assert_eq!(names["#f0"], "offered");
        assert_eq!(values[":v0"], AttributeValue::N("2".into()));
        assert_eq!(names["#f1"], "answered");
        assert_eq!(names["#ttl"], "expiresAt");
        assert_eq!(
            values[":ttl"],
            AttributeValue::N(
                crate::stats::expires_at("2026-11-27T08")
                    .unwrap()
                    .to_string()
            )
        );
        assert!(counter_updates("stats", &[]).unwrap().is_empty());
    }

    #[test]
    fn when_an_item_is_read_should_give_its_counters_and_refuse_a_corrupt_one() {
        let mut item = Item::from([
            ("scope".to_owned(), AttributeValue::S("all".into())),
            ("hour".to_owned(), AttributeValue::S("2026-11-27T08".into())),
            ("offered".to_owned(), AttributeValue::N("3".into())),
            ("talkMs".to_owned(), AttributeValue::N("61000".into())),
        ]);
        let hour = read(&item).unwrap();
        assert_eq!(hour.get(Counter::Offered), 3);
        assert_eq!(hour.get(Counter::TalkMs), 61_000);
        assert_eq!(hour.get(Counter::Answered), 0);
        item.insert("answered".into(), AttributeValue::S("x".into()));
        assert!(matches!(read(&item), Err(StoreError::Corrupt { .. })));
    }
}
