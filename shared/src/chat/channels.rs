//! SMS, e-mail and social requests as conversations (issue 7: OMNI-1…3, DESK-15). Pure: what
//! arrives (an SNS notification of a two-way SMS or of an SES receipt, a MIME message, a
//! Messenger webhook call) read into plain values, how it finds its conversation, and what an
//! agent's reply becomes on its way out.
//!
//! - **SMS**: AWS End User Messaging publishes a two-way SMS to an SNS topic as JSON
//!   (`originationNumber`, `messageBody`, `inboundMessageId`…). The customer's number is the
//!   conversation's address: a new SMS joins the conversation open with that number, or starts
//!   one. An agent's message in an SMS conversation is sent with SNS `Publish`.
//! - **E-mail**: an SES receipt rule stores the raw message in S3 and notifies an SNS topic; the
//!   message is parsed here ([`parse_mail`], with `mail-parser`). It joins the conversation whose
//!   e-mail it answers (`In-Reply-To`/`References` name a message Linka sent or received), else
//!   the one open with the sender's address, else it starts one. Replies go out through SESv2
//!   as MIME built with `mail-builder`, threaded with `In-Reply-To`/`References`.
//! - **Social**: Facebook Messenger's webhook (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body
//!   with the app secret); the page-scoped user id is the address; replies go to the Send API.

use std::borrow::Cow;

use aws_lc_rs::{constant_time, hmac};
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{ChatChannel, ChatMessage, Conversation, Sender};

/// The longest SMS an agent may send, in characters (SNS splits it into at most 10 parts).
pub const MAX_SMS_CHARS: usize = 1600;
/// The longest e-mail subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Attachments kept of one inbound e-mail; more are listed as dropped.
pub const MAX_ATTACHMENTS: usize = 10;
/// The largest attachment kept, in bytes (SES receives messages up to 40 MB).
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// How many `References` an outbound reply carries (the newest).
pub const MAX_REFERENCES: usize = 20;

/// What an inbound notification could not be read as.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChannelError {
    #[error("the notification is not JSON of a known kind: {0}")]
    Notification(String),
    #[error("the e-mail cannot be parsed as MIME")]
    Mime,
    #[error("the e-mail has no sender address")]
    NoSender,
    #[error("the SMS has an invalid sender number {0:?}")]
    SmsSender(String),
    #[error("the webhook body is not a Messenger page event: {0}")]
    Messenger(String),
}

/// The key of the conversation currently open with `address` on `channel` (the store's alias).
pub fn address_key(channel: ChatChannel, address: &str) -> String {
    let channel = match channel {
        ChatChannel::Web => "web",
        ChatChannel::Sms => "sms",
        ChatChannel::Email => "email",
        ChatChannel::Social => "social",
    };
    format!("{channel}:{}", address.to_lowercase())
}

/// The key under which an e-mail's `Message-ID` finds its conversation: the id's local part
/// (SES gives sent mail the id `<SES message id>@<region>.amazonses.com`, so the local part is
/// what the send call returned), lower-cased, without angle brackets.
pub fn mail_id_key(message_id: &str) -> Option<String> {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let local = id.split('@').next().unwrap_or_default().trim();
    (!local.is_empty() && local.len() <= 200).then(|| format!("mailid:{}", local.to_lowercase()))
}

// ---------------------------------------------------------------------------------------------
// Notifications (SNS)
// ---------------------------------------------------------------------------------------------

/// An SNS notification as an SQS subscriber receives it (raw delivery off).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsEnvelope {
    #[serde(rename = "Type")]
    pub kind: String,
    pub message_id: String,
    #[serde(default)]
    pub topic_arn: Option<String>,
    pub message: String,
}

/// A two-way SMS as End User Messaging SMS publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundSms {
    /// The customer's number (E.164).
    pub origination_number: String,
    /// Linka's number the customer wrote to.
    #[serde(default)]
    pub destination_number: Option<String>,
    pub message_body: String,
    /// Unique per SMS: the idempotency key of its message.
    pub inbound_message_id: String,
    #[serde(default)]
    pub message_keyword: Option<String>,
    /// The id of Linka's SMS this one answers, when the carrier tells.
    #[serde(default)]
    pub previous_published_message_id: Option<String>,
}

/// Where SES stored a received e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesAction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub bucket_name: Option<String>,
    #[serde(default)]
    pub object_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesReceipt {
    pub action: SesAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesMail {
    /// SES's id of the received message (also the S3 object's name).
    pub message_id: String,
    #[serde(default)]
    pub source: Option<String>,
}

/// An SES receipt notification (`notificationType: Received`, S3 action).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesNotification {
    pub notification_type: String,
    pub mail: SesMail,
    pub receipt: SesReceipt,
}

impl SesNotification {
    /// The bucket and key of the stored message (an S3 action's notification).
    pub fn stored_at(&self) -> Option<(&str, &str)> {
        let action = &self.receipt.action;
        (action.kind.eq_ignore_ascii_case("S3")).then_some(()).and(
            action
                .bucket_name
                .as_deref()
                .zip(action.object_key.as_deref()),
        )
    }
}

/// What an inbound notification announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundNotification {
    Sms(InboundSms),
    Mail(SesNotification),
    /// What became of an e-mail Linka sent (SES event publishing: a bounce, a complaint, …).
    MailEvent(super::mail_events::SesEvent),
}

/// Reads the `Message` of an SNS notification: a two-way SMS, an SES receipt, or an SES event
/// about a sent e-mail.
pub fn parse_notification(message: &str) -> Result<InboundNotification, ChannelError> {
    let value: serde_json::Value = serde_json::from_str(message)
        .map_err(|error| ChannelError::Notification(error.to_string()))?;
    let kind_error = |error: serde_json::Error| ChannelError::Notification(error.to_string());
    if value.get("originationNumber").is_some() {
        return serde_json::from_value(value)
            .map(InboundNotification::Sms)
            .map_err(kind_error);
    }
    if value.get("notificationType").is_some() {
        return serde_json::from_value(value)
            .map(InboundNotification::Mail)
            .map_err(kind_error);
    }
    if value.get("eventType").is_some() {
        return serde_json::from_value(value)
            .map(InboundNotification::MailEvent)
            .map_err(kind_error);
    }
    Err(ChannelError::Notification(
        "neither a two-way SMS nor an SES notification or event".into(),
    ))
}

// ---------------------------------------------------------------------------------------------
// E-mail (MIME)
// ---------------------------------------------------------------------------------------------

/// An attachment of an inbound e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// An inbound e-mail, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// The sender's address, lower-case.
    pub from: String,
    pub from_name: Option<String>,
    pub subject: Option<String>,
    /// Its `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` then `References` (newest first), without angle brackets.
    pub replies_to: Vec<String>,
    /// The new text: the plain body (or the HTML body as text) without the quoted history.
    pub text: String,
    pub attachments: Vec<MailAttachment>,
    /// Attachments not kept (too many or too large), by name.
    pub dropped_attachments: Vec<String>,
}

fn text_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(text) => vec![text.to_string()],
        mail_parser::HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Whether a line starts the quoted history of a reply ("On … wrote:", "Dne … napsal(a):", an
/// Outlook separator).
fn starts_quote(line: &str) -> bool {
    let line = line.trim();
    let lower = line.to_lowercase();
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("dne ") && (lower.ends_with(':') && lower.contains("napsal")))
        || lower.starts_with("-----original message-----")
        || lower.starts_with("-----původní zpráva-----")
        || lower.starts_with("---------- forwarded message")
}

/// The text without the quoted history: cut at the first quote header, and without trailing
/// `>`-quoted lines.
pub fn strip_quoted(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        if starts_quote(line) {
            break;
        }
        kept.push(line);
    }
    while kept
        .last()
        .is_some_and(|line| line.trim().is_empty() || line.trim_start().starts_with('>'))
    {
        kept.pop();
    }
    let stripped = kept.join("\n").trim().to_owned();
    if stripped.is_empty() {
        text.trim().to_owned()
    } else {
        stripped
    }
}

/// Reads a raw e-mail (RFC 5322 / MIME).
pub fn parse_mail(raw: &[u8]) -> Result<InboundMail, ChannelError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ChannelError::Mime)?;
    let sender = message
        .from()
        .and_then(|from| from.first())
        .ok_or(ChannelError::NoSender)?;
    let from = sender
        .address()
        .map(str::to_lowercase)
        .filter(|address| crate::users::is_valid_email(address))
        .ok_or(ChannelError::NoSender)?;
    let from_name = sender
        .name()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    let mut replies_to = text_list(message.in_reply_to());
    let mut references = text_list(message.references());
    references.reverse();
    for reference in references {
        if !replies_to.contains(&reference) {
            replies_to.push(reference);
        }
    }
    let body = message
        .body_text(0)
        .map(Cow::into_owned)
        .unwrap_or_default();
    let mut attachments = Vec::new();
    let mut dropped_attachments = Vec::new();
    for (index, part) in message.attachments().enumerate() {
        let file_name = part
            .attachment_name()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("priloha-{}", index + 1));
        let bytes = part.contents();
        if attachments.len() >= MAX_ATTACHMENTS || bytes.len() > MAX_ATTACHMENT_BYTES {
            dropped_attachments.push(file_name);
            continue;
        }
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        attachments.push(MailAttachment {
            file_name,
            content_type,
            bytes: bytes.to_vec(),
        });
    }
    let mut text = strip_quoted(&body);
    if text.chars().count() > super::MAX_TEXT_CHARS {
        text = text.chars().take(super::MAX_TEXT_CHARS - 1).collect();
        text.push('…');
    }
    if text.is_empty() {
        text = if attachments.is_empty() {
            "(prázdná zpráva)".into()
        } else {
            "(zpráva bez textu, jen přílohy)".into()
        };
    }
    Ok(InboundMail {
        from,
        from_name,
        subject: message
            .subject()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        message_id: message.message_id().map(str::to_owned),
        replies_to,
        text,
        attachments,
        dropped_attachments,
    })
}

/// The subject of a reply: `Re: <subject>` unless it already is one.
pub fn reply_subject(subject: Option<&str>) -> String {
    match subject.map(str::trim).filter(|s| !s.is_empty()) {
        None => "Re: Váš dotaz".into(),
        Some(subject) if subject.to_lowercase().starts_with("re:") => subject.to_owned(),
        Some(subject) => format!("Re: {subject}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Social: Facebook Messenger's webhook
// ---------------------------------------------------------------------------------------------

/// The header with Messenger's signature of the raw body.
pub const MESSENGER_SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` with the app secret.
pub fn verify_messenger_signature(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(signature) = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
    else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret);
    let tag = hmac::sign(&key, body);
    constant_time::verify_slices_are_equal(tag.as_ref(), &signature).is_ok()
}

/// The `X-Hub-Signature-256` value of `body` (tests, and the local injection script's twin).
pub fn sign_messenger(app_secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret);
    format!("sha256={}", hex::encode(hmac::sign(&key, body).as_ref()))
}

/// The subscription check (`GET` with `hub.mode=subscribe`, `hub.verify_token`,
/// `hub.challenge`): the challenge to echo when the token is ours.
pub fn messenger_challenge<'a>(
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&'a str>,
    expected_token: &str,
) -> Option<&'a str> {
    let token_ok = verify_token.is_some_and(|token| {
        constant_time::verify_slices_are_equal(token.as_bytes(), expected_token.as_bytes()).is_ok()
    });
    (mode == Some("subscribe") && token_ok && !expected_token.is_empty())
        .then_some(challenge)
        .flatten()
        .filter(|c| !c.is_empty() && c.len() <= 200)
}

/// One customer message of a Messenger webhook call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialMessage {
    pub page_id: String,
    /// The page-scoped id of the customer.
    pub sender_id: String,
    /// Messenger's message id: the idempotency key.
    pub message_id: String,
    pub text: String,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct MessengerBody {
    object: String,
    #[serde(default)]
    entry: Vec<MessengerEntry>,
}

#[derive(Deserialize)]
struct MessengerEntry {
    id: String,
    #[serde(default)]
    messaging: Vec<MessengerEvent>,
}

#[derive(Deserialize)]
struct MessengerParty {
    id: String,
}

#[derive(Deserialize)]
struct MessengerEvent {
    sender: MessengerParty,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    message: Option<MessengerContent>,
}

#[derive(Deserialize)]
struct MessengerContent {
    mid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    attachments: Vec<serde_json::Value>,
}

/// The customers' messages of a Messenger webhook body (`object: page`). Echoes of the page's
/// own messages, deliveries and reads are skipped; a message with only attachments becomes a
/// note that it has them.
pub fn parse_messenger(body: &[u8]) -> Result<Vec<SocialMessage>, ChannelError> {
    let parsed: MessengerBody =
        serde_json::from_slice(body).map_err(|error| ChannelError::Messenger(error.to_string()))?;
    if parsed.object != "page" {
        return Err(ChannelError::Messenger(format!(
            "object is {:?}, not \"page\"",
            parsed.object
        )));
    }
    let mut messages = Vec::new();
    for entry in parsed.entry {
        for event in entry.messaging {
            let Some(content) = event.message else {
                continue;
            };
            if content.is_echo {
                continue;
            }
            let text = match content.text.map(|t| t.trim().to_owned()) {
                Some(text) if !text.is_empty() => text,
                _ if !content.attachments.is_empty() => {
                    format!("(příloha ze sociální sítě: {}×)", content.attachments.len())
                }
                _ => continue,
            };
            let text: String = text.chars().take(super::MAX_TEXT_CHARS).collect();
            messages.push(SocialMessage {
                page_id: entry.id.clone(),
                sender_id: event.sender.id,
                message_id: content.mid,
                text,
                at: event
                    .timestamp
                    .and_then(DateTime::<Utc>::from_timestamp_millis),
            });
        }
    }
    Ok(messages)
}

// ---------------------------------------------------------------------------------------------
// Outbound
// ---------------------------------------------------------------------------------------------

/// An agent's message on its way to the customer (the message of the outbound queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "channel",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum OutboundMessage {
    Sms {
        conversation_id: String,
        seq: u64,
        to: String,
        text: String,
    },
    Email {
        conversation_id: String,
        seq: u64,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_name: Option<String>,
        subject: String,
        text: String,
        /// The `Message-ID` this answers (without angle brackets).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        in_reply_to: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        references: Vec<String>,
    },
    Social {
        conversation_id: String,
        seq: u64,
        page_id: String,
        recipient_id: String,
        text: String,
    },
}

impl OutboundMessage {
    pub fn conversation_id(&self) -> &str {
        match self {
            Self::Sms {
                conversation_id, ..
            }
            | Self::Email {
                conversation_id, ..
            }
            | Self::Social {
                conversation_id, ..
            } => conversation_id,
        }
    }

    pub fn seq(&self) -> u64 {
        match self {
            Self::Sms { seq, .. } | Self::Email { seq, .. } | Self::Social { seq, .. } => *seq,
        }
    }
}

/// What `message` of `conversation` sends to the customer: an agent's message in an SMS,
/// e-mail or social conversation with an address; nothing for web chats (the widget and bots
/// read the transcript) or for Linka's own notes.
pub fn outbound_for(conversation: &Conversation, message: &ChatMessage) -> Option<OutboundMessage> {
    if message.from != Sender::Agent {
        return None;
    }
    let conversation_id = conversation.conversation_id.clone();
    let seq = message.seq;
    let text = message.text.clone();
    match conversation.channel {
        ChatChannel::Web => None,
        ChatChannel::Sms => conversation
            .customer
            .phone
            .clone()
            .map(|to| OutboundMessage::Sms {
                conversation_id,
                seq,
                to,
                text,
            }),
        ChatChannel::Email => {
            let to = conversation.customer.email.clone()?;
            let thread = conversation.mail_thread.as_ref();
            let subject = message
                .subject
                .clone()
                .unwrap_or_else(|| reply_subject(conversation.subject.as_deref()));
            let in_reply_to = thread.and_then(|t| t.last_inbound.clone());
            let mut references: Vec<String> =
                thread.map(|t| t.references.clone()).unwrap_or_default();
            if references.len() > MAX_REFERENCES {
                references.drain(..references.len() - MAX_REFERENCES);
            }
            Some(OutboundMessage::Email {
                conversation_id,
                seq,
                to,
                to_name: conversation.customer.name.clone(),
                subject,
                text,
                in_reply_to,
                references,
            })
        }
        ChatChannel::Social => {
            let (page_id, recipient_id) = conversation
                .social
                .clone()
                .map(|s| (s.page_id, s.user_id))?;
            Some(OutboundMessage::Social {
                conversation_id,
                seq,
                page_id,
                recipient_id,
                text,
            })
        }
    }
}

/// The sender of outbound e-mail: the verified address and the name shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    pub address: String,
    pub name: String,
}

/// The MIME message of an outbound e-mail (plain text, UTF-8), threaded into the customer's
/// conversation with `In-Reply-To` and `References`; `None` for other channels.
pub fn build_mail(
    from: &MailFrom,
    message: &OutboundMessage,
    at: DateTime<Utc>,
) -> Option<std::io::Result<Vec<u8>>> {
    let OutboundMessage::Email {
        to,
        to_name,
        subject,
        text,
        in_reply_to,
        references,
        ..
    } = message
    else {
        return None;
    };
    let recipient: mail_builder::headers::address::Address<'_> = match to_name {
        Some(name) => (name.as_str(), to.as_str()).into(),
        None => to.as_str().into(),
    };
    let mut builder = mail_builder::MessageBuilder::new()
        .from((from.name.as_str(), from.address.as_str()))
        .to(recipient)
        .subject(subject.as_str())
        .date(at.timestamp())
        .text_body(text.as_str());
    if let Some(id) = in_reply_to {
        builder = builder.in_reply_to(id.as_str());
    }
    if !references.is_empty() {
        builder = builder.references(references.as_slice());
    }
    Some(builder.write_to_vec())
}

/// How an SMS text is encoded and how many parts it is sent in (GSM 03.38 up to 160 characters
/// per part, 153 when split; anything else — Czech diacritics mostly — UCS-2, 70 and 67).
pub fn sms_parts(text: &str) -> (SmsEncoding, usize) {
    const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const GSM7_EXTENDED: &str = "^{}\\[~]|€";
    let mut septets = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if GSM7.contains(c) {
            septets += 1;
        } else if GSM7_EXTENDED.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    if gsm {
        let parts = if septets <= 160 {
            1
        } else {
            septets.div_ceil(153)
        };
        (SmsEncoding::Gsm7, parts.max(1))
    } else {
        let units: usize = text.chars().map(char::len_utf16).sum();
        let parts = if units <= 70 { 1 } else { units.div_ceil(67) };
        (SmsEncoding::Ucs2, parts.max(1))
    }
}

/// The character set of an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

#[cfg(test)]
#[path = "channels_tests.rs"]
mod tests;
