//! [`NoticePublisher`] onto the `BroadcastQueue` (a standard queue: the notice id makes
//! duplicates harmless, so no deduplication id is needed).

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use crate::{
    ports::{NoticePublisher, PublishError},
    realtime::BroadcastNotice,
};

/// Sends each notice as one JSON message.
#[derive(Debug, Clone)]
pub struct SqsNoticePublisher {
    client: Client,
    queue_url: String,
}

impl SqsNoticePublisher {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        queue_url: impl Into<String>,
    ) -> Self {
        Self::new(Client::new(sdk_config), queue_url)
    }
}

#[async_trait]
impl NoticePublisher for SqsNoticePublisher {
    async fn publish(&self, notice: &BroadcastNotice) -> Result<(), PublishError> {
        let body = serde_json::to_string(notice).map_err(|error| PublishError(error.into()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|error| PublishError(error.into()))?;
        Ok(())
    }
}
