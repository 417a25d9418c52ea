//! [`NoticePublisher`] onto the `BroadcastQueue` (a standard queue: the notice id makes
//! duplicates harmless, so no deduplication id is needed).

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use crate::{
    chat::webhook::WebhookDelivery,
    ports::{
        ChannelOutbox, ChatDistributionOutbox, CtiCommands, NoticePublisher, OutboxError,
        PublishError, RoutingSignals, RoutingTriggers, SignalError, WebhookOutbox,
    },
    realtime::BroadcastNotice,
};

/// Sends `value` as one JSON message to a standard queue.
async fn send_json<T: serde::Serialize + Sync>(
    client: &Client,
    queue_url: &str,
    value: &T,
) -> Result<(), crate::BoxError> {
    let body = serde_json::to_string(value)?;
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await?;
    Ok(())
}

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
        send_json(&self.client, &self.queue_url, notice)
            .await
            .map_err(PublishError)
    }
}

/// An outbox on an SQS standard queue whose messages are JSON documents: the bot webhooks'
/// [`WebhookOutbox`] on `ChatWebhookQueue` and the channels' [`ChannelOutbox`] on
/// `ChatOutboundQueue`.
#[derive(Debug, Clone)]
pub struct SqsJsonOutbox {
    client: Client,
    queue_url: String,
}

/// [`WebhookOutbox`] on `ChatWebhookQueue`.
pub type SqsWebhookOutbox = SqsJsonOutbox;
/// [`ChannelOutbox`] on `ChatOutboundQueue`.
pub type SqsChannelOutbox = SqsJsonOutbox;

impl SqsJsonOutbox {
    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        queue_url: impl Into<String>,
    ) -> Self {
        Self {
            client: Client::new(sdk_config),
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl WebhookOutbox for SqsJsonOutbox {
    async fn enqueue(&self, delivery: &WebhookDelivery) -> Result<(), OutboxError> {
        send_json(&self.client, &self.queue_url, delivery)
            .await
            .map_err(OutboxError)
    }
}

#[async_trait]
impl ChannelOutbox for SqsJsonOutbox {
    async fn enqueue(
        &self,
        message: &crate::chat::channels::OutboundMessage,
    ) -> Result<(), OutboxError> {
        send_json(&self.client, &self.queue_url, message)
            .await
            .map_err(OutboxError)
    }
}

/// [`ChatDistributionOutbox`] on `ChatDistributionQueue`.
pub type SqsChatDistribution = SqsJsonOutbox;

#[async_trait]
impl ChatDistributionOutbox for SqsJsonOutbox {
    async fn trigger(
        &self,
        trigger: &crate::chat::distribution::ChatDistributionTrigger,
    ) -> Result<(), OutboxError> {
        send_json(&self.client, &self.queue_url, trigger)
            .await
            .map_err(OutboxError)
    }
}

/// [`RoutingTriggers`] on the standard `RoutingQueue`, with a per-message delay.
#[derive(Debug, Clone)]
pub struct SqsRoutingTriggers {
    client: Client,
    queue_url: String,
}

impl SqsRoutingTriggers {
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

/// SQS allows a message delay of at most 15 minutes.
pub const MAX_TRIGGER_DELAY_SECONDS: u32 = 900;

#[async_trait]
impl RoutingTriggers for SqsRoutingTriggers {
    async fn send(
        &self,
        trigger: &crate::routing_live::RoutingTrigger,
        delay_seconds: u32,
    ) -> Result<(), SignalError> {
        let body = serde_json::to_string(trigger).map_err(|error| SignalError(error.into()))?;
        let delay = delay_seconds.min(MAX_TRIGGER_DELAY_SECONDS);
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .delay_seconds(i32::try_from(delay).unwrap_or(0))
            .message_body(body)
            .send()
            .await
            .map_err(|error| SignalError(error.into()))?;
        Ok(())
    }
}

/// [`CtiCommands`] on the relay's FIFO `CtiCommandQueue` (group per device, deduplicated by
/// command id).
#[derive(Debug, Clone)]
pub struct SqsCtiCommands {
    client: Client,
    queue_url: String,
}

impl SqsCtiCommands {
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
impl CtiCommands for SqsCtiCommands {
    async fn send(&self, command: &cti_events::CtiCommand) -> Result<(), SignalError> {
        send_command(&self.client, &self.queue_url, command).await
    }
}

async fn send_command(
    client: &Client,
    queue_url: &str,
    command: &cti_events::CtiCommand,
) -> Result<(), SignalError> {
    let body = serde_json::to_string(command).map_err(|error| SignalError(error.into()))?;
    client
        .send_message()
        .queue_url(queue_url)
        .message_group_id(command.group_id())
        .message_deduplication_id(&command.command_id)
        .message_body(body)
        .send()
        .await
        .map_err(|error| SignalError(error.into()))?;
    Ok(())
}

/// [`RoutingSignals`] on SQS: commands on the relay's FIFO `CtiCommandQueue` (group per
/// device, deduplicated by command id), triggers on the `RoutingQueue` ([`SqsRoutingTriggers`]).
#[derive(Debug, Clone)]
pub struct SqsRoutingSignals {
    client: Client,
    command_queue_url: String,
    triggers: SqsRoutingTriggers,
}

impl SqsRoutingSignals {
    pub fn new(
        client: Client,
        command_queue_url: impl Into<String>,
        routing_queue_url: impl Into<String>,
    ) -> Self {
        Self {
            triggers: SqsRoutingTriggers::new(client.clone(), routing_queue_url),
            client,
            command_queue_url: command_queue_url.into(),
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        command_queue_url: impl Into<String>,
        routing_queue_url: impl Into<String>,
    ) -> Self {
        Self::new(
            Client::new(sdk_config),
            command_queue_url,
            routing_queue_url,
        )
    }
}

#[async_trait]
impl RoutingSignals for SqsRoutingSignals {
    async fn command(&self, command: &cti_events::CtiCommand) -> Result<(), SignalError> {
        send_command(&self.client, &self.command_queue_url, command).await
    }

    async fn trigger(
        &self,
        trigger: &crate::routing_live::RoutingTrigger,
        delay_seconds: u32,
    ) -> Result<(), SignalError> {
        self.triggers.send(trigger, delay_seconds).await
    }
}
