//! ChatWebhookFunction (`chat-webhook`): delivers the bot webhooks of `ChatWebhookQueue`
//! (issue 7, CHAT-6). Each message is one [`WebhookDelivery`]: its event is posted as JSON to
//! the bot's URL, signed (`X-Linka-Signature`, `linka_shared::chat::webhook`) and carrying
//! `X-Linka-Delivery` (the bot's idempotency key: a retried delivery has the same id).
//! Anything but a 2xx is a batch item failure, so SQS retries it with its visibility timeout and
//! after `maxReceiveCount` moves it to the dead-letter queue (nothing is dropped silently).

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    chat::webhook::{sign, WebhookDelivery, SIGNATURE_HEADER},
    telemetry::ErrorChain,
    BoxError,
};
use thiserror::Error;
use tracing::Instrument;

/// The header with the delivery id.
pub const DELIVERY_HEADER: &str = "X-Linka-Delivery";

/// One HTTP request to a bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// The request that delivers `delivery` at `now`.
pub fn signed_request(
    delivery: &WebhookDelivery,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<SignedRequest, serde_json::Error> {
    let body = serde_json::to_string(&delivery.event)?;
    Ok(SignedRequest {
        url: delivery.url.clone(),
        headers: vec![
            ("Content-Type", "application/json".to_owned()),
            (SIGNATURE_HEADER, sign(secret, now, body.as_bytes())),
            (DELIVERY_HEADER, delivery.delivery_id.clone()),
        ],
        body,
    })
}

/// Sends a request; the HTTP status.
#[async_trait]
pub trait WebhookPoster: Send + Sync {
    async fn post(&self, request: &SignedRequest) -> Result<u16, BoxError>;
}

/// [`WebhookPoster`] with reqwest (5 s timeout, no redirects: a bot answers at its URL).
pub struct HttpPoster {
    client: reqwest::Client,
}

impl HttpPoster {
    pub fn new() -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }
}

#[async_trait]
impl WebhookPoster for HttpPoster {
    async fn post(&self, request: &SignedRequest) -> Result<u16, BoxError> {
        let mut builder = self.client.post(&request.url).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        Ok(builder.send().await?.status().as_u16())
    }
}

/// What the worker needs.
pub struct WebhookDeps<P> {
    pub poster: P,
    pub secret: Vec<u8>,
}

#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("the SQS message has no body")]
    MissingBody,
    #[error("the SQS message is not a webhook delivery")]
    Malformed(#[source] serde_json::Error),
    #[error("the bot could not be reached")]
    Unreachable(#[source] BoxError),
    #[error("the bot answered {0}")]
    Refused(u16),
}

/// A batch item without a message id cannot be reported individually.
#[derive(Debug, Error)]
#[error("an SQS record without a messageId failed; failing the whole batch so that it is retried")]
pub struct UnreportableFailure;

/// Entry point for every SQS batch.
pub async fn function_handler<P: WebhookPoster>(
    deps: &WebhookDeps<P>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for record in &event.payload.records {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let span = tracing::info_span!("chat_webhook", message_id);
        let Err(error) = deliver(deps, record).instrument(span.clone()).await else {
            continue;
        };
        span.in_scope(|| {
            tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "webhook not delivered; SQS will retry it");
        });
        if message_id.is_empty() {
            return Err(UnreportableFailure.into());
        }
        response.add_failure(message_id);
    }
    Ok(response)
}

async fn deliver<P: WebhookPoster>(
    deps: &WebhookDeps<P>,
    record: &SqsMessage,
) -> Result<(), DeliveryError> {
    let body = record.body.as_deref().ok_or(DeliveryError::MissingBody)?;
    let delivery: WebhookDelivery = serde_json::from_str(body).map_err(DeliveryError::Malformed)?;
    let request =
        signed_request(&delivery, &deps.secret, Utc::now()).map_err(DeliveryError::Malformed)?;
    let status = deps
        .poster
        .post(&request)
        .await
        .map_err(DeliveryError::Unreachable)?;
    if (200..300).contains(&status) {
        tracing::debug!(
            status,
            delivery_id = delivery.delivery_id,
            "webhook delivered"
        );
        Ok(())
    } else {
        Err(DeliveryError::Refused(status))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use linka_shared::chat::{
        webhook::{verify, WebhookEvent},
        ConversationStatus,
    };
    use serde_json::json;

    use super::*;

    struct Recorder {
        status: u16,
        seen: Mutex<Vec<SignedRequest>>,
    }

    #[async_trait]
    impl WebhookPoster for Recorder {
        async fn post(&self, request: &SignedRequest) -> Result<u16, BoxError> {
            self.seen.lock().unwrap().push(request.clone());
            Ok(self.status)
        }
    }

    fn event(bodies: &[(&str, String)]) -> LambdaEvent<SqsEvent> {
        let records: Vec<_> = bodies
            .iter()
            .map(|(id, body)| json!({"messageId": id, "body": body}))
            .collect();
        LambdaEvent::new(
            serde_json::from_value(json!({"Records": records})).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    fn delivery() -> String {
        serde_json::to_string(&WebhookDelivery {
            url: "https://bot.example.cz/hook".into(),
            delivery_id: "d-1".into(),
            event: WebhookEvent::Status {
                conversation_id: "c-1".into(),
                status: ConversationStatus::Assigned,
            },
        })
        .unwrap()
    }

    #[tokio::test]
    async fn when_a_delivery_is_posted_should_be_signed_and_carry_its_id() {
        let deps = WebhookDeps {
            poster: Recorder {
                status: 204,
                seen: Mutex::default(),
            },
            secret: b"s3cret".to_vec(),
        };
        let response = function_handler(&deps, event(&[("m-1", delivery())]))
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
        let seen = deps.poster.seen.lock().unwrap();
        let request = &seen[0];
        assert_eq!(request.url, "https://bot.example.cz/hook");
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header(DELIVERY_HEADER), "d-1");
        assert!(verify(
            b"s3cret",
            &header(SIGNATURE_HEADER),
            request.body.as_bytes(),
            Utc::now()
        ));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&request.body).unwrap()["status"],
            "assigned"
        );
    }

    const SAMPLE: &str = include_str!("../../../events/sqs/chat-webhook.json");

    #[tokio::test]
    async fn when_the_sample_batch_arrives_should_deliver_the_good_one_and_report_the_malformed() {
        let deps = WebhookDeps {
            poster: Recorder {
                status: 200,
                seen: Mutex::default(),
            },
            secret: b"s3cret".to_vec(),
        };
        let event = LambdaEvent::new(
            serde_json::from_str(SAMPLE).unwrap(),
            lambda_runtime::Context::default(),
        );
        let response = function_handler(&deps, event).await.unwrap();
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, ["wh-2"]);
        let seen = deps.poster.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].url, "https://bot.example.cz/linka/webhook");
    }

    #[tokio::test]
    async fn when_the_bot_refuses_or_the_body_is_malformed_should_report_the_item_for_retry() {
        let deps = WebhookDeps {
            poster: Recorder {
                status: 500,
                seen: Mutex::default(),
            },
            secret: b"s3cret".to_vec(),
        };
        let response = function_handler(
            &deps,
            event(&[("m-1", delivery()), ("m-2", "not json".into())]),
        )
        .await
        .unwrap();
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, ["m-1", "m-2"]);
    }
}
