//! Customers' SMS, e-mails and social messages into conversations (issue 7, OMNI-1…3,
//! DESK-15). [`accept`] is the one way in for all three: the message joins the conversation it
//! belongs to (the thread an e-mail answers, else the one open with the sender's address), or
//! starts one that waits in the channel's queue whatever the hour; the agents of that queue (or
//! the one holding the conversation) are told at once.
//!
//! Idempotent: the channel's own message id is the message's client id (and a new
//! conversation's client token), so a redelivered notification finds what the first one stored.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use linka_shared::{
    chat::{
        channels::{address_key, mail_id_key},
        mail_events::SesEvent,
        Attachment, ChatChannel, ChatCustomer, ChatError, Conversation, ConversationStatus,
        SocialAddress,
    },
    ports::{AliasClaim, ChatWrite, ChatWriteError, ConversationStore, StoreError, Versioned},
    telemetry::ErrorChain,
};
use thiserror::Error;

use crate::effects::ChatEffects;

/// A write that keeps losing races gives up after this many tries (the message is retried).
const MAX_TRIES: usize = 24;

/// A customer's message from a channel, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub channel: ChatChannel,
    /// The customer's address on the channel: E.164 number, e-mail address (lower-case), or
    /// `<page>:<user>` for social.
    pub address: String,
    pub customer: ChatCustomer,
    /// The channel's id of the message: the idempotency key.
    pub external_id: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// E-mail: its subject, `Message-ID` and the ids it answers (newest first).
    pub subject: Option<String>,
    pub mail_id: Option<String>,
    pub replies_to: Vec<String>,
    pub social: Option<SocialAddress>,
    pub at: DateTime<Utc>,
}

/// What [`accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Added to an open conversation (or started one): its id.
    Stored { conversation_id: String, new: bool },
    /// Stored before (a redelivery).
    Duplicate { conversation_id: String },
    /// What SES reported about a sent e-mail, noted in its conversation.
    Noted { conversation_id: String },
    /// Nothing to do (an SES event that needs no one, an e-mail of no conversation): why.
    Ignored(String),
}

/// Why a message was not stored (the caller retries it).
#[derive(Debug, Error)]
pub enum InboundError {
    #[error("the conversation kept changing while the message was stored")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`accept`] needs.
#[derive(Clone)]
pub struct InboundDeps {
    pub store: Arc<dyn ConversationStore>,
    pub effects: ChatEffects,
    /// The queue new conversations wait in unless the chat settings name one for the channel.
    pub queue_id: String,
}

/// The starter name of a channel's conversations (never a username: those have no `:`).
pub fn starter(channel: ChatChannel) -> &'static str {
    match channel {
        ChatChannel::Web => "channel:web",
        ChatChannel::Sms => "channel:sms",
        ChatChannel::Email => "channel:email",
        ChatChannel::Social => "channel:social",
    }
}

/// The open conversation an e-mail answers: the first of its `In-Reply-To`/`References` ids
/// that names a conversation still open.
async fn thread_of(
    store: &dyn ConversationStore,
    message: &InboundMessage,
) -> Result<Option<Versioned<Conversation>>, StoreError> {
    for id in &message.replies_to {
        let Some(key) = mail_id_key(id) else {
            continue;
        };
        if let Some(found) = store.by_alias(&key).await? {
            if found.value.status != ConversationStatus::Ended {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// Stores a customer's message from a channel (see the module's documentation).
pub async fn accept(
    deps: &InboundDeps,
    message: &InboundMessage,
) -> Result<Accepted, InboundError> {
    let address = address_key(message.channel, &message.address);
    // The channel's queue, read only when a conversation is to enter one (not for every message
    // of a conversation already waiting or held).
    let mut queue_id: Option<String> = None;
    for _ in 0..MAX_TRIES {
        let threaded = if message.channel == ChatChannel::Email {
            thread_of(deps.store.as_ref(), message).await?
        } else {
            None
        };
        let current = deps.store.by_alias(&address).await?;
        let open = threaded.or_else(|| {
            current
                .clone()
                .filter(|c| c.value.status != ConversationStatus::Ended)
        });
        let (mut conversation, version, alias) = match open {
            Some(found) => (found.value, found.version, None),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let conversation = Conversation::open_channel(
                    &id,
                    message.channel,
                    message.customer.clone(),
                    starter(message.channel),
                    &message.external_id,
                    None,
                    message.at,
                );
                let claim = AliasClaim {
                    key: address.clone(),
                    previous: current.map(|c| c.value.conversation_id),
                };
                (conversation, 0, Some(claim))
            }
        };
        let new = version == 0;
        if conversation.subject.is_none() {
            conversation.subject.clone_from(&message.subject);
        }
        if message.channel == ChatChannel::Email {
            conversation.note_mail(message.mail_id.as_deref(), &message.replies_to);
        }
        if conversation.social.is_none() {
            conversation.social.clone_from(&message.social);
        }
        let stored = match conversation.receive(
            &uuid::Uuid::new_v4().to_string(),
            &message.text,
            &message.external_id,
            message.attachments.clone(),
            message.at,
        ) {
            Ok(stored) => stored,
            // Ended between the read and now: read again (a new one starts).
            Err(ChatError::Ended) => continue,
            Err(other) => {
                tracing::error!(error.message = %other, "an inbound message was refused by an open conversation");
                continue;
            }
        };
        if conversation.status == ConversationStatus::Bot && queue_id.is_none() {
            let settings = deps.effects.settings().await;
            queue_id = Some(settings.queue_for(message.channel, &deps.queue_id));
        }
        let queued = match &queue_id {
            Some(queue_id) => conversation.enqueue(queue_id, message.at).unwrap_or(false),
            None => false,
        };
        let write = ChatWrite {
            conversation: Versioned {
                value: conversation.clone(),
                version,
            },
            messages: vec![stored.clone()],
            alias,
            load: None,
        };
        match deps.store.save(&write).await {
            Ok(()) => {
                if let Some(mail_id) = message.mail_id.as_deref().and_then(mail_id_key) {
                    if let Err(error) = deps
                        .store
                        .set_alias(&mail_id, &conversation.conversation_id)
                        .await
                    {
                        tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "an e-mail's id was not linked to its conversation");
                    }
                }
                if let (true, Some(queue_id)) = (queued, &queue_id) {
                    deps.effects
                        .status(&conversation, &[queue_id.as_str()], &[], false)
                        .await;
                }
                deps.effects.messages(&conversation, &[stored]).await;
                return Ok(Accepted::Stored {
                    conversation_id: conversation.conversation_id,
                    new,
                });
            }
            Err(ChatWriteError::DuplicateClientMessage(_)) => {
                return Ok(Accepted::Duplicate {
                    conversation_id: conversation.conversation_id,
                })
            }
            Err(ChatWriteError::DuplicateClientToken(existing)) => {
                return Ok(Accepted::Duplicate {
                    conversation_id: existing,
                })
            }
            Err(ChatWriteError::Conflict) => continue,
            Err(ChatWriteError::Store(error)) => return Err(error.into()),
        }
    }
    Err(InboundError::Busy)
}

/// Notes in the conversation of a sent e-mail what SES reported about it — a bounce, a
/// complaint, a rejection ([`SesEvent::note`]) — once (the note's client message id is the
/// event's key, so a redelivered event finds it), and tells the conversation's agents at once.
/// The conversation is found through the e-mail's SES id, linked to it when it was sent; a note
/// is kept in an ended conversation too (its history and the ICIS export show it).
pub async fn note_mail_event(
    deps: &InboundDeps,
    event: &SesEvent,
    now: DateTime<Utc>,
) -> Result<Accepted, InboundError> {
    let Some(text) = event.note() else {
        return Ok(Accepted::Ignored(format!(
            "an SES {} event needs no note",
            event.event_type
        )));
    };
    let Some(key) = mail_id_key(&event.mail.message_id) else {
        return Ok(Accepted::Ignored(
            "an SES event without a message id".into(),
        ));
    };
    for _ in 0..MAX_TRIES {
        let Some(Versioned { mut value, version }) = deps.store.by_alias(&key).await? else {
            return Ok(Accepted::Ignored(format!(
                "no conversation sent the e-mail {}",
                event.mail.message_id
            )));
        };
        let conversation_id = value.conversation_id.clone();
        let mut note = value.note(&uuid::Uuid::new_v4().to_string(), &text, now);
        note.client_message_id = Some(event.note_key());
        let write = ChatWrite {
            conversation: Versioned {
                value: value.clone(),
                version,
            },
            messages: vec![note.clone()],
            alias: None,
            load: None,
        };
        match deps.store.save(&write).await {
            Ok(()) => {
                deps.effects.messages(&value, &[note]).await;
                return Ok(Accepted::Noted { conversation_id });
            }
            Err(ChatWriteError::DuplicateClientMessage(_)) => {
                return Ok(Accepted::Duplicate { conversation_id })
            }
            Err(ChatWriteError::Conflict) => continue,
            Err(ChatWriteError::DuplicateClientToken(_)) => {
                return Ok(Accepted::Duplicate { conversation_id })
            }
            Err(ChatWriteError::Store(error)) => return Err(error.into()),
        }
    }
    Err(InboundError::Busy)
}
