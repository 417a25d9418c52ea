//! Adapters behind the ports: AWS (DynamoDB, API Gateway Management API, SQS) and in memory.

mod apigw;
mod audit_dynamodb;
mod callbacks_dynamodb;
mod callbacks_memory;
mod channels_aws;
mod chat_dynamodb;
mod chat_memory;
mod clients_dynamodb;
mod clients_memory;
mod config_dynamodb;
mod config_memory;
mod contact_records_dynamodb;
mod contact_records_memory;
mod cti_dynamodb;
mod cti_memory;
mod desk_dynamodb;
mod desk_memory;
mod dynamodb;
pub mod fanout;
mod ivr_calls;
pub mod memory;
mod presence_dynamodb;
mod prompts_memory;
mod prompts_s3;
mod routing_dynamodb;
mod routing_memory;
mod sqs;
mod stats_dynamodb;
mod stats_memory;
mod tts;
mod voicemail_dynamodb;
mod voicemail_memory;
mod voicemail_s3;

pub use apigw::ApiGatewayNotifier;
pub use audit_dynamodb::{ChangeMarker, DynamoAuditLog, DynamoUserAdministration};
pub use callbacks_dynamodb::DynamoCallbackStore;
pub use callbacks_memory::InMemoryCallbackStore;
pub use channels_aws::{S3MailObjects, SesMailSender, SnsSmsSender};
pub use chat_dynamodb::DynamoConversationStore;
pub use chat_memory::InMemoryConversationStore;
pub use clients_dynamodb::DynamoClientStore;
pub use clients_memory::InMemoryClientStore;
pub use config_dynamodb::DynamoConfigStore;
pub use config_memory::InMemoryConfigStore;
pub use contact_records_dynamodb::DynamoContactRecordStore;
pub use contact_records_memory::InMemoryContactRecordStore;
pub use cti_dynamodb::{DynamoContactEventLog, DynamoCtiStateStore};
pub use cti_memory::{InMemoryContactEventLog, InMemoryCtiStateStore};
pub use desk_dynamodb::DynamoAgentDeskStore;
pub use desk_memory::InMemoryAgentDeskStore;
pub use dynamodb::{DynamoConnectionStore, DynamoUserDirectory};
pub use ivr_calls::{DynamoIvrCallStore, InMemoryIvrCallStore};
pub use presence_dynamodb::DynamoAgentPresences;
pub use prompts_memory::{InMemoryPromptStore, ToneSynthesizer};
pub use prompts_s3::S3PromptStore;
pub use routing_dynamodb::{DynamoRoutingStateStore, RoutingTables};
pub use routing_memory::InMemoryRoutingStateStore;
pub use sqs::{
    SqsChannelOutbox, SqsChatDistribution, SqsCtiCommands, SqsJsonOutbox, SqsNoticePublisher,
    SqsRoutingSignals, SqsRoutingTriggers, SqsWebhookOutbox, MAX_TRIGGER_DELAY_SECONDS,
};
pub use stats_dynamodb::{counter_updates, DynamoStatsStore};
pub use stats_memory::InMemoryStatsStore;
pub use tts::{speech_synthesizer, EspeakSynthesizer, PollySynthesizer};
pub use voicemail_dynamodb::DynamoVoicemailStore;
pub use voicemail_memory::{FakeVoicemailAudio, InMemoryVoicemailStore};
pub use voicemail_s3::S3VoicemailAudio;

/// The store error of a failed storage call (`operation`: what was being done, "read a client").
/// One constructor for every DynamoDB adapter.
pub(crate) fn store_backend(
    operation: &'static str,
    source: impl std::error::Error + Send + Sync + 'static,
) -> crate::ports::StoreError {
    crate::ports::StoreError::Backend {
        operation,
        source: Box::new(source),
    }
}
