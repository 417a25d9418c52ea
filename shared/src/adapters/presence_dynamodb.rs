//! [`AgentPresences`] on `AgentStateTable` (a `Scan` of the few attributes the presence
//! heartbeat reads; the items also carry the ids of their last 256 events).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{types::AttributeValue, Client};
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use crate::{
    cti_state::AgentPresence,
    ports::{AgentPresences, StoreError},
};

type Item = HashMap<String, AttributeValue>;

/// The attributes read.
const PROJECTION: [&str; 7] = [
    "device",
    "agentId",
    "state",
    "reasonCode",
    "since",
    "loggedOnAt",
    "calls",
];

#[derive(Debug, Clone)]
pub struct DynamoAgentPresences {
    client: Client,
    table: String,
}

impl DynamoAgentPresences {
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
}

#[async_trait]
impl AgentPresences for DynamoAgentPresences {
    async fn agent_presences(&self) -> Result<Vec<AgentPresence>, StoreError> {
        let mut presences = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take());
            let names: Vec<String> = (0..PROJECTION.len()).map(|i| format!("#p{i}")).collect();
            request = request.projection_expression(names.join(", "));
            for (name, attribute) in names.iter().zip(PROJECTION) {
                request = request.expression_attribute_names(name, attribute);
            }
            let output = request.send().await.map_err(|error| StoreError::Backend {
                operation: "scan agent presences",
                source: Box::new(aws_sdk_dynamodb::Error::from(error)),
            })?;
            for item in output.items.unwrap_or_default() {
                presences.push(from_item::<AgentPresence>(item).map_err(|error| {
                    StoreError::Corrupt {
                        entity: "agent",
                        source: Box::new(error),
                    }
                })?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(presences),
            }
        }
    }
}
