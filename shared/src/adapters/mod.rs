//! Adapters behind the ports: AWS (DynamoDB, API Gateway Management API, SQS) and in memory.

mod apigw;
mod audit_dynamodb;
mod config_dynamodb;
mod config_memory;
mod cti_dynamodb;
mod cti_memory;
mod dynamodb;
pub mod memory;
mod routing_dynamodb;
mod routing_memory;
mod sqs;

pub use apigw::ApiGatewayNotifier;
pub use audit_dynamodb::{DynamoAuditLog, DynamoUserAdministration};
pub use config_dynamodb::DynamoConfigStore;
pub use config_memory::InMemoryConfigStore;
pub use cti_dynamodb::DynamoCtiStateStore;
pub use cti_memory::InMemoryCtiStateStore;
pub use dynamodb::{DynamoConnectionStore, DynamoUserDirectory};
pub use routing_dynamodb::{DynamoRoutingStateStore, RoutingTables};
pub use routing_memory::InMemoryRoutingStateStore;
pub use sqs::{
    SqsNoticePublisher, SqsRoutingSignals, SqsRoutingTriggers, MAX_TRIGGER_DELAY_SECONDS,
};
