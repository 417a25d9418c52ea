//! Webhooks of bots (issue 7, CHAT-6): a bot that gave a `webhookUrl` at start receives the
//! agents' messages (and the conversation's changes) there as JSON `POST`s, signed so it can
//! tell them from anybody else's:
//!
//! `X-Linka-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>`
//!
//! The bot recomputes the HMAC over the raw body, compares in constant time and refuses
//! timestamps older than a few minutes (replays). [`verify`] is that check, for our tests and as
//! the reference for the bot's implementers.

use aws_lc_rs::{constant_time, hmac};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{ChatMessage, ConversationStatus};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Linka-Signature";
/// How old a signature [`verify`] accepts.
pub const TOLERANCE_SECONDS: i64 = 300;

/// What a webhook delivers (the JSON body), tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum WebhookEvent {
    /// A message the bot did not write itself (an agent's, or Linka's own).
    Message {
        conversation_id: String,
        message: ChatMessage,
    },
    /// The conversation's state changed (taken by an agent, transferred, ended).
    Status {
        conversation_id: String,
        status: ConversationStatus,
    },
}

/// One delivery: where to and what (the message of the webhook queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub url: String,
    /// Unique per event: the bot's idempotency key (`X-Linka-Delivery`).
    pub delivery_id: String,
    pub event: WebhookEvent,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    context.sign()
}

/// The `X-Linka-Signature` value of `body` sent at `at`.
pub fn sign(secret: &[u8], at: DateTime<Utc>, body: &[u8]) -> String {
    let timestamp = at.timestamp();
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body).as_ref())
    )
}

/// Whether `header` is a valid signature of `body` made within [`TOLERANCE_SECONDS`] of `now`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: DateTime<Utc>) -> bool {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signature = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    let Some(at) = DateTime::<Utc>::from_timestamp(timestamp, 0) else {
        return false;
    };
    if (now - at).abs() > TimeDelta::seconds(TOLERANCE_SECONDS) {
        return false;
    }
    constant_time::verify_slices_are_equal(mac(secret, timestamp, body).as_ref(), &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_body_is_signed_should_verify_only_unchanged_fresh_and_with_the_secret() {
        let now = Utc::now();
        let body = br#"{"type":"status","conversationId":"c-1","status":"ended"}"#;
        let header = sign(b"secret", now, body);
        assert!(header.starts_with(&format!("t={},v1=", now.timestamp())));
        assert!(verify(b"secret", &header, body, now));
        assert!(!verify(b"other", &header, body, now));
        assert!(!verify(b"secret", &header, b"{}", now));
        assert!(!verify(
            b"secret",
            &header,
            body,
            now + TimeDelta::seconds(TOLERANCE_SECONDS + 1)
        ));
        assert!(!verify(b"secret", "t=x,v1=zz", body, now));
    }

    #[test]
    fn when_an_event_is_serialized_should_carry_its_type() {
        let event = WebhookEvent::Status {
            conversation_id: "c-1".into(),
            status: ConversationStatus::Assigned,
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"type": "status", "conversationId": "c-1", "status": "assigned"})
        );
    }
}
