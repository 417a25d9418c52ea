//! The nightly export of contact-centre records to ICIS (INT-1 b): ICIS calls
//! `GET /api/icis/contacts?from&to` every night for the period it wants and receives every
//! contact that started in it — calls, web chats, SMS (DESK-15, OMNI-1) and e-mails (OMNI-2) —
//! with the agents, times, outcome, client, category, latest note, gathered data and, for text
//! conversations, the whole transcript (every SMS and e-mail sent and received).
//!
//! - **Period**: whole days in Prague (`YYYY-MM-DD`, both ends included), at most
//!   [`MAX_EXPORT_DAYS`]. A record belongs to the day it started ([`Owner::Day`]); a record
//!   changed later (a note amended the next morning) is exported again when ICIS asks for its
//!   day again.
//! - **Order and paging**: oldest first, day after day; a page holds at most `limit` records
//!   and a cursor to the next ([`ExportPosition`]) until the period is exhausted. A cursor
//!   belongs to its period: the same cursor with another period is refused.
//!
//! Pure apart from the store port; no AWS types.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::{ContactRecord, ContactRecordStore, ContactRecordView, HistoryQuery, Owner};
use crate::{
    chat::{ChatMessage, Sender},
    contacts::Channel,
    paging::{InvalidCursor, PageCursor},
    ports::{ConversationStore, StoreError},
    problem::FieldError,
    time::format_rfc3339,
};

/// The longest period one export covers, in days.
pub const MAX_EXPORT_DAYS: u64 = 31;
/// Records per page unless the caller asks for fewer.
pub const EXPORT_PAGE_SIZE: usize = 100;
/// Store reads one page may make (a sparse channel filter over many days).
const MAX_READS_PER_PAGE: usize = 64;
/// Messages read per store call when a transcript is exported.
const TRANSCRIPT_PAGE: usize = 100;
/// The cursor attribute of "the start of this day".
const DAY_START_ATTRIBUTE: &str = "exportDay";

/// The days an export covers (Prague calendar days, both included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|day| day.format("%Y-%m-%d").to_string() == text)
}

impl ExportPeriod {
    /// The period of the query parameters `from` and `to` (`YYYY-MM-DD`; `to` defaults to
    /// `from`). Every problem is reported, by parameter name.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let from_day = match from {
            None => {
                errors.push(FieldError::new("from", "is required (YYYY-MM-DD)"));
                None
            }
            Some(text) => parse_day(text).or_else(|| {
                errors.push(FieldError::new("from", "must be a date YYYY-MM-DD"));
                None
            }),
        };
        let to_day = match to {
            None => from_day,
            Some(text) => parse_day(text).or_else(|| {
                errors.push(FieldError::new("to", "must be a date YYYY-MM-DD"));
                None
            }),
        };
        if let (Some(from), Some(to)) = (from_day, to_day) {
            if from > to {
                errors.push(FieldError::new("to", "must not be before from"));
            } else if to
                .signed_duration_since(from)
                .num_days()
                .unsigned_abs()
                .saturating_add(1)
                > MAX_EXPORT_DAYS
            {
                errors.push(FieldError::new(
                    "to",
                    format!("the period may have at most {MAX_EXPORT_DAYS} days"),
                ));
            }
        }
        match (from_day, to_day) {
            (Some(from), Some(to)) if errors.is_empty() => Ok(Self { from, to }),
            _ => Err(errors),
        }
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.from..=self.to).contains(&day)
    }

    /// The day after `day`, if still in the period.
    fn after(&self, day: NaiveDate) -> Option<NaiveDate> {
        day.checked_add_days(Days::new(1))
            .filter(|next| self.contains(*next))
    }
}

/// Where an export page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportPosition {
    /// At the first record of the day.
    DayStart(NaiveDate),
    /// Inside the day's listing, after the record the store's cursor names.
    Within(NaiveDate, PageCursor),
}

impl ExportPosition {
    /// The start of the period.
    pub fn first(period: &ExportPeriod) -> Self {
        Self::DayStart(period.from)
    }

    /// The position a cursor names; refused unless it is one this export gave out for a day of
    /// `period`.
    pub fn from_cursor(cursor: PageCursor, period: &ExportPeriod) -> Result<Self, InvalidCursor> {
        let foreign = InvalidCursor("not a cursor of this export");
        let position = match cursor.key().get(DAY_START_ATTRIBUTE) {
            Some(day) if cursor.key().len() == 1 => {
                Self::DayStart(parse_day(day).ok_or(foreign.clone())?)
            }
            Some(_) => return Err(foreign),
            None => match cursor
                .key()
                .get("owner")
                .and_then(|key| Owner::parse_key(key))
            {
                Some(Owner::Day(day)) => Self::Within(day, cursor),
                _ => return Err(foreign),
            },
        };
        if period.contains(position.day()) {
            Ok(position)
        } else {
            Err(foreign)
        }
    }

    pub fn day(&self) -> NaiveDate {
        match self {
            Self::DayStart(day) | Self::Within(day, _) => *day,
        }
    }

    /// The cursor to give out for this position.
    pub fn cursor(&self) -> PageCursor {
        match self {
            Self::DayStart(day) => PageCursor::from_key(BTreeMap::from([(
                DAY_START_ATTRIBUTE.to_owned(),
                day.format("%Y-%m-%d").to_string(),
            )])),
            Self::Within(_, cursor) => cursor.clone(),
        }
    }
}

/// One page of an export: records oldest first and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPage {
    pub records: Vec<ContactRecord>,
    pub next: Option<ExportPosition>,
}

/// Reads one page of the export from `position`: up to `limit` records (1 to 100) of the
/// `channels` (empty: all), continuing into the next days until the page is full or the period
/// ends.
pub async fn export_page<S: ContactRecordStore + ?Sized>(
    store: &S,
    period: &ExportPeriod,
    channels: &[Channel],
    position: ExportPosition,
    limit: usize,
) -> Result<ExportPage, StoreError> {
    let limit = limit.clamp(1, 100);
    let mut records = Vec::new();
    let mut position = Some(position);
    for _ in 0..MAX_READS_PER_PAGE {
        let Some(at) = position.take() else {
            break;
        };
        if records.len() >= limit {
            position = Some(at);
            break;
        }
        let day = at.day();
        let cursor = match at {
            ExportPosition::DayStart(_) => None,
            ExportPosition::Within(_, cursor) => Some(cursor),
        };
        let page = store
            .history(&HistoryQuery {
                owner: Owner::Day(day),
                from: None,
                to: None,
                text: None,
                channels: channels.to_vec(),
                oldest_first: true,
                limit: limit - records.len(),
                cursor,
            })
            .await?;
        records.extend(page.items);
        position = match page.next_cursor {
            Some(next) => Some(ExportPosition::Within(day, next)),
            None => period.after(day).map(ExportPosition::DayStart),
        };
    }
    Ok(ExportPage {
        records,
        next: position,
    })
}

/// What the export adds to a text contact's record: the e-mail thread's subject and the whole
/// transcript.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextContact {
    pub subject: Option<String>,
    pub messages: Vec<ChatMessage>,
}

/// Every message of a conversation's transcript, in order.
pub async fn whole_transcript<S: ConversationStore + ?Sized>(
    store: &S,
    conversation_id: &str,
) -> Result<Vec<ChatMessage>, StoreError> {
    let mut messages: Vec<ChatMessage> = Vec::new();
    loop {
        let after = messages.last().map_or(0, |message| message.seq);
        let page = store
            .messages(conversation_id, after, TRANSCRIPT_PAGE)
            .await?;
        let full = page.len() >= TRANSCRIPT_PAGE;
        messages.extend(page);
        if !full {
            return Ok(messages);
        }
    }
}

/// The subject and transcript of a text contact's conversation (an unknown conversation: none).
pub async fn text_contact<S: ConversationStore + ?Sized>(
    store: &S,
    conversation_id: &str,
) -> Result<TextContact, StoreError> {
    let subject = store
        .get(conversation_id)
        .await?
        .and_then(|conversation| conversation.value.subject);
    Ok(TextContact {
        subject,
        messages: whole_transcript(store, conversation_id).await?,
    })
}

/// The conversation id of a text contact's record (`chat:<id>`), `None` for calls.
pub fn conversation_of(record: &ContactRecord) -> Option<&str> {
    record
        .channel
        .is_text()
        .then(|| record.contact_id.strip_prefix("chat:"))
        .flatten()
}

/// An attachment as exported: what it is, not where it is stored.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedAttachment<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: u64,
}

/// A transcript message as exported.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedMessage<'a> {
    pub seq: u64,
    pub from: Sender,
    /// The agent who wrote it (`from: agent`).
    pub author: Option<&'a str>,
    pub text: &'a str,
    pub at: String,
    /// E-mail: the subject of a new e-mail.
    pub subject: Option<&'a str>,
    pub attachments: Vec<ExportedAttachment<'a>>,
}

impl<'a> ExportedMessage<'a> {
    pub fn of(message: &'a ChatMessage) -> Self {
        Self {
            seq: message.seq,
            from: message.from,
            author: message.author.as_deref(),
            text: &message.text,
            at: format_rfc3339(message.at),
            subject: message.subject.as_deref(),
            attachments: message
                .attachments
                .iter()
                .map(|attachment| ExportedAttachment {
                    name: &attachment.name,
                    content_type: &attachment.content_type,
                    size: attachment.size,
                })
                .collect(),
        }
    }
}

/// One exported contact: the record as the API shows it and, for text conversations, the
/// e-mail subject and the transcript (`null` for calls).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedContact<'a> {
    #[serde(flatten)]
    pub record: ContactRecordView<'a>,
    pub subject: Option<&'a str>,
    pub messages: Option<Vec<ExportedMessage<'a>>>,
}

impl<'a> ExportedContact<'a> {
    pub fn of(record: &'a ContactRecord, text: Option<&'a TextContact>) -> Self {
        Self {
            record: record.view(),
            subject: text.and_then(|text| text.subject.as_deref()),
            messages: text.map(|text| text.messages.iter().map(ExportedMessage::of).collect()),
        }
    }
}

#[cfg(test)]
mod tests;
