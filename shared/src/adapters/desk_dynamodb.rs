//! DynamoDB adapter of [`AgentDeskStore`]: `AgentDeskTable` (pk `username`), one small item
//! per agent with `version`; a write is conditional on the version read.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{operation::put_item::PutItemError, types::AttributeValue, Client};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    desk::AgentDesk,
    ports::{AgentDeskStore, DeskWriteError, StoreError, Versioned},
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        entity: "agent desk",
        source: Box::new(error),
    }
}

fn read(item: Item) -> Result<Versioned<AgentDesk>, StoreError> {
    let version = match item.get("version") {
        None => 0,
        Some(AttributeValue::N(number)) => number.parse().map_err(corrupt)?,
        Some(_) => {
            return Err(StoreError::Corrupt {
                entity: "agent desk",
                source: "version is not a number".into(),
            })
        }
    };
    let value: AgentDesk = from_item(item).map_err(corrupt)?;
    Ok(Versioned { value, version })
}

/// The agents' desk settings on `AgentDeskTable`.
#[derive(Debug, Clone)]
pub struct DynamoAgentDeskStore {
    client: Client,
    table: String,
}

impl DynamoAgentDeskStore {
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
impl AgentDeskStore for DynamoAgentDeskStore {
    async fn get(&self, username: &str) -> Result<Option<Versioned<AgentDesk>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("username", AttributeValue::S(username.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| {
                backend("read an agent's desk", aws_sdk_dynamodb::Error::from(error))
            })?;
        output.item.map(read).transpose()
    }

    async fn all(&self) -> Result<Vec<AgentDesk>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    backend("list agents' desks", aws_sdk_dynamodb::Error::from(error))
                })?;
            for item in output.items.unwrap_or_default() {
                found.push(read(item)?.value);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    async fn save(&self, desk: &Versioned<AgentDesk>) -> Result<(), DeskWriteError> {
        let mut item: Item = to_item(&desk.value).map_err(corrupt)?;
        item.insert(
            "version".into(),
            AttributeValue::N((desk.version + 1).to_string()),
        );
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#username", "username");
        request = if desk.version == 0 {
            request.condition_expression("attribute_not_exists(#username)")
        } else {
            request
                .condition_expression("attribute_exists(#username) AND #version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(
                    ":version",
                    AttributeValue::N(desk.version.to_string()),
                )
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Err(DeskWriteError::Conflict),
                other => Err(backend(
                    "store an agent's desk",
                    aws_sdk_dynamodb::Error::from(other),
                )
                .into()),
            },
        }
    }
}
