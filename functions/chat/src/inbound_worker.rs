//! ChatInboundFunction (`chat-inbound`): customers' SMS and e-mails (issue 7, OMNI-1/2). Its
//! queue, `ChatInboundQueue`, is subscribed to the two SNS topics: End User Messaging SMS
//! publishes two-way SMS to one, SES's receipt rule stores each e-mail in S3 and notifies the
//! other. A record is an SNS envelope; its message is read (`linka_shared::chat::channels`),
//! an e-mail fetched from S3 and parsed, its attachments stored, and the message handed to
//! [`accept`]. SES's events about e-mails Linka sent (a bounce, a complaint, a rejection) come
//! the same way, from a third topic, and become notes in the e-mail's conversation
//! ([`note_mail_event`]). A failure is a batch item failure (SQS retries, then the dead-letter queue);
//! what can never be read is logged and dropped, so it does not block the queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    chat::{
        channels::{parse_mail, parse_notification, InboundNotification, SnsEnvelope},
        Attachment, ChatChannel, ChatCustomer, MAX_NAME_CHARS,
    },
    identifiers::normalize_czech_phone,
    ports::{MailObjects, StoreError},
};
use thiserror::Error;

use crate::{
    batch::{each_record, Handled},
    channels_inbound::{
        accept, note_mail_event, Accepted, InboundDeps, InboundError, InboundMessage,
    },
};

/// What the worker needs.
#[derive(Clone)]
pub struct InboundWorkerDeps {
    pub inbound: InboundDeps,
    pub mail: Arc<dyn MailObjects>,
}

/// Why a record was not handled.
#[derive(Debug, Error)]
pub enum RecordError {
    /// Never going to work: logged and dropped.
    #[error("the record cannot be read: {0}")]
    Unreadable(String),
    #[error("the e-mail could not be read from S3")]
    Mail(#[source] StoreError),
    #[error("an attachment could not be stored")]
    Attachment(#[source] StoreError),
    #[error(transparent)]
    Inbound(#[from] InboundError),
}

/// The SMS sender's number in E.164: a Czech number normalised, any other `+` number as is.
fn sms_number(number: &str) -> Option<String> {
    normalize_czech_phone(number).ok().or_else(|| {
        let trimmed = number.trim();
        let digits = trimmed.strip_prefix('+')?;
        ((8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| trimmed.to_owned())
    })
}

/// An attachment's key: under the conversation-independent id of the e-mail, so a redelivery
/// writes the same objects.
fn attachment_key(mail_id: &str, index: usize, file_name: &str) -> String {
    let safe: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    format!("mail/{mail_id}/{index}-{safe}")
}

/// Handles one record.
pub async fn handle_record(
    deps: &InboundWorkerDeps,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Accepted, RecordError> {
    // Raw delivery off: an SNS envelope; on: the message itself.
    let message = match serde_json::from_str::<SnsEnvelope>(body) {
        Ok(envelope) if envelope.kind == "Notification" => envelope.message,
        Ok(envelope) => {
            return Err(RecordError::Unreadable(format!(
                "an SNS {} is not a notification",
                envelope.kind
            )))
        }
        Err(_) => body.to_owned(),
    };
    let notification =
        parse_notification(&message).map_err(|e| RecordError::Unreadable(e.to_string()))?;
    let inbound = match notification {
        InboundNotification::MailEvent(event) => {
            return Ok(note_mail_event(&deps.inbound, &event, now).await?);
        }
        InboundNotification::Sms(sms) => {
            let number = sms_number(&sms.origination_number).ok_or_else(|| {
                RecordError::Unreadable(format!(
                    "invalid sender number {:?}",
                    sms.origination_number
                ))
            })?;
            let text: String = sms
                .message_body
                .trim()
                .chars()
                .take(linka_shared::chat::MAX_TEXT_CHARS)
                .collect();
            InboundMessage {
                channel: ChatChannel::Sms,
                address: number.clone(),
                customer: ChatCustomer {
                    phone: Some(number),
                    ..ChatCustomer::default()
                },
                external_id: format!("sms:{}", sms.inbound_message_id),
                text: if text.is_empty() {
                    "(prázdná SMS)".into()
                } else {
                    text
                },
                attachments: Vec::new(),
                subject: None,
                mail_id: None,
                replies_to: Vec::new(),
                social: None,
                at: now,
            }
        }
        InboundNotification::Mail(notification) => {
            if !notification
                .notification_type
                .eq_ignore_ascii_case("Received")
            {
                return Err(RecordError::Unreadable(format!(
                    "an SES {} notification",
                    notification.notification_type
                )));
            }
            let (bucket, key) = notification.stored_at().ok_or_else(|| {
                RecordError::Unreadable("the SES notification names no S3 object".into())
            })?;
            let raw = deps
                .mail
                .raw_mail(bucket, key)
                .await
                .map_err(RecordError::Mail)?;
            let mail = parse_mail(&raw).map_err(|e| RecordError::Unreadable(e.to_string()))?;
            let ses_id = notification.mail.message_id.clone();
            let mut attachments = Vec::new();
            for (index, attachment) in mail.attachments.into_iter().enumerate() {
                let key = attachment_key(&ses_id, index + 1, &attachment.file_name);
                let size = attachment.bytes.len() as u64;
                deps.mail
                    .put_attachment(&key, &attachment.content_type, attachment.bytes)
                    .await
                    .map_err(RecordError::Attachment)?;
                attachments.push(Attachment {
                    name: attachment.file_name,
                    content_type: attachment.content_type,
                    size,
                    key,
                });
            }
            let mut text = mail.text;
            if !mail.dropped_attachments.is_empty() {
                text.push_str(&format!(
                    "\n\n(Nepřevzaté přílohy — příliš velké nebo příliš mnoho: {})",
                    mail.dropped_attachments.join(", ")
                ));
            }
            InboundMessage {
                channel: ChatChannel::Email,
                address: mail.from.clone(),
                customer: ChatCustomer {
                    name: mail
                        .from_name
                        .map(|name| name.chars().take(MAX_NAME_CHARS).collect()),
                    email: Some(mail.from),
                    phone: None,
                },
                external_id: format!("mail:{ses_id}"),
                text,
                attachments,
                subject: mail.subject,
                mail_id: mail.message_id,
                replies_to: mail.replies_to,
                social: None,
                at: now,
            }
        }
    };
    Ok(accept(&deps.inbound, &inbound).await?)
}

/// Handles a batch: failed records are reported for retry; unreadable ones are dropped.
pub async fn function_handler(
    deps: &InboundWorkerDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    each_record("chat-inbound", event, |body| async move {
        match handle_record(deps, &body, Utc::now()).await {
            Ok(accepted) => Handled::Done(format!("{accepted:?}")),
            Err(RecordError::Unreadable(reason)) => Handled::Dropped(reason),
            Err(error) => Handled::Failed(error),
        }
    })
    .await
}

#[cfg(test)]
#[path = "inbound_worker_tests.rs"]
mod tests;
