//! Adapters behind the ports: AWS (DynamoDB, API Gateway Management API, SQS) and in memory.

mod apigw;
mod dynamodb;
pub mod memory;
mod sqs;

pub use apigw::ApiGatewayNotifier;
pub use dynamodb::{DynamoConnectionStore, DynamoUserDirectory};
pub use sqs::SqsNoticePublisher;
