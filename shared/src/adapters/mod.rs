//! Adapters behind the ports: AWS (DynamoDB, API Gateway Management API, SQS) and in memory.

mod apigw;
mod audit_dynamodb;
mod dynamodb;
pub mod memory;
mod sqs;

pub use apigw::ApiGatewayNotifier;
pub use audit_dynamodb::{DynamoAuditLog, DynamoUserAdministration};
pub use dynamodb::{DynamoConnectionStore, DynamoUserDirectory};
pub use sqs::SqsNoticePublisher;
