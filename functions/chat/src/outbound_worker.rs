//! ChatOutboundFunction (`chat-outbound`): agents' messages to customers on SMS, e-mail and
//! social networks (issue 7, OMNI-1…3, DESK-15), from `ChatOutboundQueue`. Each record is one
//! [`OutboundMessage`]; it is sent once (a message already recorded as sent is skipped), the
//! provider's id recorded with the conversation (the daily ICIS export reads SMS and e-mails
//! from there), and an e-mail's id linked to its conversation so that the customer's reply
//! finds it. A provider that refuses a message for good (an invalid number, a rejected address)
//! gets a note in the transcript for the agent; anything else is retried by SQS and ends in the
//! dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    chat::{
        channels::{build_mail, mail_id_key, MailFrom, OutboundMessage},
        ConversationStatus,
    },
    ports::{
        ChatWrite, ChatWriteError, ConversationStore, MailSender, SendError, SmsSender,
        SocialSender, StoreError, Versioned,
    },
};
use thiserror::Error;

use crate::batch::{each_record, Handled};

/// What the worker needs; a channel without a sender refuses its messages.
#[derive(Clone)]
pub struct OutboundDeps {
    pub store: Arc<dyn ConversationStore>,
    pub sms: Option<Arc<dyn SmsSender>>,
    pub mail: Option<(Arc<dyn MailSender>, MailFrom)>,
    pub social: Option<Arc<dyn SocialSender>>,
}

#[derive(Debug, Error)]
pub enum OutboundError {
    #[error("the record is not an outbound message")]
    Malformed(#[source] serde_json::Error),
    #[error("the MIME message could not be built")]
    Mime(#[source] std::io::Error),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent(String),
    AlreadySent(String),
    /// Refused for good; the transcript says so.
    Refused(String),
}

fn not_configured(channel: &str) -> SendError {
    SendError::Refused(format!("no {channel} sender is configured").into())
}

async fn send(
    deps: &OutboundDeps,
    message: &OutboundMessage,
    now: DateTime<Utc>,
) -> Result<String, OutboundError> {
    Ok(match message {
        OutboundMessage::Sms { to, text, .. } => {
            let sender = deps.sms.as_ref().ok_or_else(|| not_configured("SMS"))?;
            sender.send_sms(to, text).await?
        }
        OutboundMessage::Email { to, .. } => {
            let (sender, from) = deps.mail.as_ref().ok_or_else(|| not_configured("e-mail"))?;
            let raw = build_mail(from, message, now)
                .ok_or_else(|| not_configured("e-mail"))?
                .map_err(OutboundError::Mime)?;
            sender.send_mail(to, &raw).await?
        }
        OutboundMessage::Social {
            page_id,
            recipient_id,
            text,
            ..
        } => {
            let sender = deps
                .social
                .as_ref()
                .ok_or_else(|| not_configured("social"))?;
            sender.send_social(page_id, recipient_id, text).await?
        }
    })
}

/// Notes in the transcript that a message could not be sent (best effort: logged otherwise).
async fn note_refusal(
    deps: &OutboundDeps,
    message: &OutboundMessage,
    reason: &str,
    now: DateTime<Utc>,
) {
    for _ in 0..10 {
        let conversation = match deps.store.get(message.conversation_id()).await {
            Ok(Some(conversation)) => conversation,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(error.message = %error, "cannot note a refused message");
                return;
            }
        };
        let Versioned { mut value, version } = conversation;
        if value.status == ConversationStatus::Ended {
            return;
        }
        let note = value.note(
            &uuid::Uuid::new_v4().to_string(),
            &format!(
                "Zprávu č. {} se nepodařilo odeslat: {reason}",
                message.seq()
            ),
            now,
        );
        let write = ChatWrite {
            conversation: Versioned { value, version },
            messages: vec![note],
            alias: None,
            load: None,
        };
        match deps.store.save(&write).await {
            Err(ChatWriteError::Conflict) => continue,
            Err(error) => {
                tracing::warn!(error.message = %error, "cannot note a refused message");
                return;
            }
            Ok(()) => return,
        }
    }
}

/// Sends one message unless it was sent before.
pub async fn deliver(
    deps: &OutboundDeps,
    message: &OutboundMessage,
    now: DateTime<Utc>,
) -> Result<Outcome, OutboundError> {
    let (conversation_id, seq) = (message.conversation_id(), message.seq());
    if let Some(id) = deps.store.sent_id(conversation_id, seq).await? {
        return Ok(Outcome::AlreadySent(id));
    }
    let provider_id = match send(deps, message, now).await {
        Ok(id) => id,
        Err(OutboundError::Send(SendError::Refused(reason))) => {
            let reason = reason.to_string();
            tracing::error!(
                conversation_id,
                seq,
                reason,
                "an outbound message was refused"
            );
            deps.store
                .mark_sent(conversation_id, seq, &format!("refused: {reason}"), now)
                .await?;
            note_refusal(deps, message, &reason, now).await;
            return Ok(Outcome::Refused(reason));
        }
        Err(other) => return Err(other),
    };
    deps.store
        .mark_sent(conversation_id, seq, &provider_id, now)
        .await?;
    if matches!(message, OutboundMessage::Email { .. }) {
        if let Some(key) = mail_id_key(&provider_id) {
            deps.store.set_alias(&key, conversation_id).await?;
        }
    }
    Ok(Outcome::Sent(provider_id))
}

/// Handles a batch: transient failures are reported for retry.
pub async fn function_handler(
    deps: &OutboundDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    each_record("chat-outbound", event, |body| async move {
        let message: OutboundMessage = match serde_json::from_str(&body) {
            Ok(message) => message,
            Err(error) => return Handled::Dropped(format!("not an outbound message: {error}")),
        };
        match deliver(deps, &message, Utc::now()).await {
            Ok(outcome) => Handled::Done(format!("{outcome:?}")),
            Err(error) => Handled::Failed(error),
        }
    })
    .await
}

#[cfg(test)]
#[path = "outbound_worker_tests.rs"]
mod tests;
