//! [`IvrCallStore`] adapters: DynamoDB (`IvrCallsTable`, pk `callKey`, TTL `expiresAt`, a
//! `version` on every item) and in memory with the same version checks.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use async_trait::async_trait;
use aws_sdk_dynamodb::{operation::put_item::PutItemError, types::AttributeValue, Client};
use chrono::Duration;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    ivr_live::IvrCall,
    ports::{IvrCallStore, IvrWriteError, StoreError, Versioned},
};

type Item = HashMap<String, AttributeValue>;

/// An IVR call's record outlives the call by far; TTL removes it.
pub const IVR_CALL_RETENTION: Duration = Duration::days(2);

fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        entity: "IVR call",
        source: Box::new(error),
    }
}

fn backend(operation: &'static str, error: aws_sdk_dynamodb::Error) -> StoreError {
    StoreError::Backend {
        operation,
        source: Box::new(error),
    }
}

fn item_of(call: &Versioned<IvrCall>) -> Result<Item, StoreError> {
    let mut item: Item = to_item(&call.value).map_err(corrupt)?;
    item.insert(
        "version".into(),
        AttributeValue::N((call.version + 1).to_string()),
    );
    item.insert(
        "expiresAt".into(),
        AttributeValue::N(
            (call.value.entered_at + IVR_CALL_RETENTION)
                .timestamp()
                .to_string(),
        ),
    );
    Ok(item)
}

fn read(item: Item) -> Result<Versioned<IvrCall>, StoreError> {
    let version = match item.get("version") {
        Some(AttributeValue::N(n)) => n.parse().map_err(corrupt)?,
        _ => 0,
    };
    Ok(Versioned {
        value: from_item(item).map_err(corrupt)?,
        version,
    })
}

/// [`IvrCallStore`] on `IvrCallsTable`.
#[derive(Debug, Clone)]
pub struct DynamoIvrCallStore {
    client: Client,
    table: String,
}

impl DynamoIvrCallStore {
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Client::new(sdk_config),
            table: table.into(),
        }
    }
}

#[async_trait]
impl IvrCallStore for DynamoIvrCallStore {
    async fn get(&self, call_key: &str) -> Result<Option<Versioned<IvrCall>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("callKey", AttributeValue::S(call_key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read an IVR call", error.into()))?;
        output.item.map(read).transpose()
    }

    async fn save(&self, call: &Versioned<IvrCall>) -> Result<(), IvrWriteError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(call)?))
            .expression_attribute_names("#key", "callKey");
        request = if call.version == 0 {
            request.condition_expression("attribute_not_exists(#key)")
        } else {
            request
                .condition_expression("attribute_exists(#key) AND #version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(
                    ":version",
                    AttributeValue::N(call.version.to_string()),
                )
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Err(IvrWriteError::Conflict),
                other => Err(backend("store an IVR call", other.into()).into()),
            },
        }
    }
}

/// IVR calls in memory. Clones share the data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryIvrCallStore {
    calls: Arc<Mutex<BTreeMap<String, Versioned<IvrCall>>>>,
}

impl InMemoryIvrCallStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl IvrCallStore for InMemoryIvrCallStore {
    async fn get(&self, call_key: &str) -> Result<Option<Versioned<IvrCall>>, StoreError> {
        Ok(self
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(call_key)
            .cloned())
    }

    async fn save(&self, call: &Versioned<IvrCall>) -> Result<(), IvrWriteError> {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = calls.get(&call.value.call_key).map_or(0, |v| v.version);
        if stored != call.version {
            return Err(IvrWriteError::Conflict);
        }
        calls.insert(
            call.value.call_key.clone(),
            Versioned {
                value: call.value.clone(),
                version: call.version + 1,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr_live::Awaiting;
    use chrono::Utc;

    #[test]
    fn when_an_ivr_call_is_stored_should_read_back_with_the_next_version_and_a_ttl() {
        let call = IvrCall {
            call_key: "r/c".into(),
            relay_id: "r".into(),
            pbx_call_id: "c".into(),
            ivr_id: "hlavni".into(),
            port: "6101".into(),
            start_node: None,
            caller: Some("+420601123456".into()),
            dialled: "4000".into(),
            entered_at: Utc::now(),
            session: Default::default(),
            prompt_id: Some("p1".into()),
            awaiting: Awaiting::Input,
            updated_at: Utc::now(),
        };
        let item = item_of(&Versioned {
            value: call.clone(),
            version: 1,
        })
        .unwrap();
        assert_eq!(item["callKey"], AttributeValue::S("r/c".into()));
        assert!(item.contains_key("expiresAt"));
        let back = read(item).unwrap();
        assert_eq!(back.version, 2);
        assert_eq!(back.value, call);
    }
}
