//! Contact-centre statistics at the agent desk (issue 6, DESK-6): handled and lost calls and the
//! service level over the last 24 hours, 7, 14 and 30 days — overall, per queue and per agent.
//!
//! Hourly counters per *scope* (`StatsTable`, pk `scope`, sk `hour`):
//!
//! - `all`: every contact that waited for an agent;
//! - `queue#<device>`: the PBX queue device the contact waited in (the record's `queue`; the
//!   desk maps Linka queue ids to devices with the routing device map);
//! - `agent#<device>`: the agent device that answered (`answeredBy`).
//!
//! The counters are derived from the lifecycle record that ends the customer's part of a
//! contact ([`ContactOutcome`]) and added in the **same transaction** as that record
//! (`CtiWrite::counters`): an event applied before writes nothing, so a replay never counts a
//! contact twice. Only the record where the outcome first appears counts — a lost state,
//! `wrapUp`, or `done` straight from handling; `done` after `wrapUp` repeats the outcome and is
//! skipped ([`counts`]). A contact counts in the hour (UTC) of that record.
//!
//! Only contacts that waited for an agent (a queue wait `fromQueueMs`, or a queue) count: a
//! customer lost in the IVR, or a direct call to an extension, is not an offered call.
//!
//! Pure domain code: no I/O, no AWS types.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    contacts::{elapsed_ms, ContactEvent, ContactResult, ContactState, LostPhase},
    cti_state::CallState,
    ports::StoreError,
};

/// An answered contact is within the service level when the customer waited at most this long
/// for the answer (from queue entry).
pub const SERVICE_LEVEL_SECONDS: u64 = 20;

/// The scope of every contact.
pub const ALL_SCOPE: &str = "all";

/// The scope of a PBX queue device.
pub fn queue_scope(device: &str) -> String {
    format!("queue#{device}")
}

/// The scope of an agent device.
pub fn agent_scope(device: &str) -> String {
    format!("agent#{device}")
}

/// The hour bucket of `at`: `YYYY-MM-DDTHH`, UTC (sorts like time).
pub fn hour_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

/// How long an hour's counters are kept (the desk shows 30 days; reports read the contact
/// events, not these counters).
pub const RETENTION_DAYS: i64 = 400;

/// When an hour's counters may be deleted (epoch seconds, the table's TTL): [`RETENTION_DAYS`]
/// after the hour began. `None` for a key that is not an hour.
pub fn expires_at(hour: &str) -> Option<i64> {
    let start =
        chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00"), "%Y-%m-%dT%H:%M").ok()?;
    Some((start.and_utc() + chrono::TimeDelta::days(RETENTION_DAYS)).timestamp())
}

/// One counter of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Counter {
    /// Waited for an agent (and ended).
    Offered,
    /// Offered and answered by an agent.
    Answered,
    /// Answered within [`SERVICE_LEVEL_SECONDS`] of queue entry.
    AnsweredInSl,
    /// Offered, and the customer hung up before an answer.
    Abandoned,
    AbandonedBeforeIvr,
    AbandonedInIvr,
    AbandonedInQueue,
    AbandonedRingingAgent,
    /// Offered, and the call failed (busy, unreachable, rejected).
    Failed,
    /// Offered, and sent unanswered to a target outside the centre.
    Overflowed,
    /// Milliseconds from the answer to the customer's end of the call (answered contacts).
    TalkMs,
}

impl Counter {
    pub const ALL: [Counter; 11] = [
        Self::Offered,
        Self::Answered,
        Self::AnsweredInSl,
        Self::Abandoned,
        Self::AbandonedBeforeIvr,
        Self::AbandonedInIvr,
        Self::AbandonedInQueue,
        Self::AbandonedRingingAgent,
        Self::Failed,
        Self::Overflowed,
        Self::TalkMs,
    ];

    /// The attribute name in `StatsTable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Answered => "answered",
            Self::AnsweredInSl => "answeredInSl",
            Self::Abandoned => "abandoned",
            Self::AbandonedBeforeIvr => "abandonedBeforeIvr",
            Self::AbandonedInIvr => "abandonedInIvr",
            Self::AbandonedInQueue => "abandonedInQueue",
            Self::AbandonedRingingAgent => "abandonedRingingAgent",
            Self::Failed => "failed",
            Self::Overflowed => "overflowed",
            Self::TalkMs => "talkMs",
        }
    }

    /// The counter of abandons in `phase`.
    pub fn abandoned_in(phase: LostPhase) -> Counter {
        match phase {
            LostPhase::BeforeIvr => Self::AbandonedBeforeIvr,
            LostPhase::InIvr => Self::AbandonedInIvr,
            LostPhase::InQueue => Self::AbandonedInQueue,
            LostPhase::RingingAgent => Self::AbandonedRingingAgent,
        }
    }
}

/// Add `amount` to `field` of the `(scope, hour)` counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterIncrement {
    pub scope: String,
    pub hour: String,
    pub field: Counter,
    pub amount: u64,
}

/// The counters of one scope in one hour (absent counters are 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourCounters {
    pub scope: String,
    pub hour: String,
    pub counts: BTreeMap<Counter, u64>,
}

impl HourCounters {
    pub fn get(&self, field: Counter) -> u64 {
        self.counts.get(&field).copied().unwrap_or(0)
    }
}

/// This record is the one a contact is counted on: it carries the outcome and is not the
/// `done` that repeats a `wrapUp`'s outcome.
pub fn counts(event: &ContactEvent) -> bool {
    event.outcome.is_some() && event.from != Some(ContactState::WrapUp)
}

/// The counters the records `events` of `call`'s contact add (records of other contacts are
/// skipped): one contact at most once, on the record that ends it.
pub fn increments_for(events: &[ContactEvent], call: &CallState) -> Vec<CounterIncrement> {
    let mut increments = Vec::new();
    for event in events
        .iter()
        .filter(|event| event.contact_id == call.contact_id && counts(event))
    {
        let Some(outcome) = &event.outcome else {
            continue;
        };
        let queue = event.queue.as_ref().or(call.queue.as_ref());
        if outcome.from_queue_ms.is_none() && queue.is_none() {
            continue;
        }
        let hour = hour_key(event.at);
        let mut fields: Vec<(Counter, u64)> = vec![(Counter::Offered, 1)];
        let mut answered_by = None;
        match outcome.result {
            ContactResult::Answered => {
                fields.push((Counter::Answered, 1));
                let wait_ms = outcome.from_queue_ms.unwrap_or(0);
                if wait_ms <= SERVICE_LEVEL_SECONDS * 1000 {
                    fields.push((Counter::AnsweredInSl, 1));
                }
                let talk_ms = call
                    .answered_at
                    .map_or(0, |answered| elapsed_ms(answered, event.at));
                fields.push((Counter::TalkMs, talk_ms));
                answered_by = outcome.answered_by.as_deref();
            }
            ContactResult::Abandoned => {
                fields.push((Counter::Abandoned, 1));
                if let Some(phase) = outcome.lost_phase {
                    fields.push((Counter::abandoned_in(phase), 1));
                }
            }
            ContactResult::Failed => fields.push((Counter::Failed, 1)),
            ContactResult::Overflowed => fields.push((Counter::Overflowed, 1)),
        }
        let mut scopes = vec![ALL_SCOPE.to_owned()];
        scopes.extend(queue.map(|queue| queue_scope(queue)));
        for scope in scopes {
            for (field, amount) in &fields {
                increments.push(CounterIncrement {
                    scope: scope.clone(),
                    hour: hour.clone(),
                    field: *field,
                    amount: *amount,
                });
            }
        }
        // The agent's own: what they answered.
        if let Some(device) = answered_by {
            for (field, amount) in fields.iter().filter(|(field, _)| {
                matches!(
                    field,
                    Counter::Answered | Counter::AnsweredInSl | Counter::TalkMs
                )
            }) {
                increments.push(CounterIncrement {
                    scope: agent_scope(device),
                    hour: hour.clone(),
                    field: *field,
                    amount: *amount,
                });
            }
        }
    }
    increments
}

/// The counters of every call of a write ([`increments_for`] of each).
pub fn increments_for_calls<'a>(
    calls: impl IntoIterator<Item = &'a CallState>,
    events: &[ContactEvent],
) -> Vec<CounterIncrement> {
    calls
        .into_iter()
        .flat_map(|call| increments_for(events, call))
        .collect()
}

/// The increments merged per stored item `(scope, hour)`, each field summed (one update per
/// item in a transaction; zero amounts dropped).
pub fn merge(
    increments: &[CounterIncrement],
) -> BTreeMap<(String, String), BTreeMap<Counter, u64>> {
    let mut items: BTreeMap<(String, String), BTreeMap<Counter, u64>> = BTreeMap::new();
    for increment in increments.iter().filter(|increment| increment.amount > 0) {
        *items
            .entry((increment.scope.clone(), increment.hour.clone()))
            .or_default()
            .entry(increment.field)
            .or_default() += increment.amount;
    }
    items
}

/// The figures of a period, as the desk shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSummary {
    /// Contacts that waited for an agent.
    pub offered: u64,
    /// Of them, answered.
    pub answered: u64,
    /// Of them, not answered (abandoned, failed, overflowed).
    pub lost: u64,
    /// Of the lost, the customer hung up.
    pub abandoned: u64,
    pub answered_in_sl: u64,
    /// `answeredInSl / offered` in per cent, one decimal; `None` when nothing was offered.
    pub service_level: Option<f64>,
    /// Mean talk time of the answered contacts, whole seconds; `None` when none was answered.
    pub average_talk_seconds: Option<u64>,
}

/// The summary of the `hours` (of any scopes) in `from_hour..=to_hour`.
pub fn summarise(hours: &[HourCounters], from_hour: &str, to_hour: &str) -> StatsSummary {
    let mut total: BTreeMap<Counter, u64> = BTreeMap::new();
    for hour in hours
        .iter()
        .filter(|hour| hour.hour.as_str() >= from_hour && hour.hour.as_str() <= to_hour)
    {
        for (field, amount) in &hour.counts {
            let sum = total.entry(*field).or_default();
            *sum = sum.saturating_add(*amount);
        }
    }
    let get = |field| total.get(&field).copied().unwrap_or(0);
    let (offered, answered, in_sl) = (
        get(Counter::Offered),
        get(Counter::Answered),
        get(Counter::AnsweredInSl),
    );
    StatsSummary {
        offered,
        answered,
        lost: offered.saturating_sub(answered),
        abandoned: get(Counter::Abandoned),
        answered_in_sl: in_sl,
        service_level: (offered > 0).then(|| {
            let permille = (in_sl.min(offered) * 1000 + offered / 2) / offered;
            permille as f64 / 10.0
        }),
        average_talk_seconds: (answered > 0)
            .then(|| (get(Counter::TalkMs) + answered * 500) / (answered * 1000)),
    }
}

/// A period of the desk's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatsPeriod {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "14d")]
    TwoWeeks,
    #[serde(rename = "30d")]
    Month,
}

impl StatsPeriod {
    pub const ALL: [StatsPeriod; 4] = [Self::Day, Self::Week, Self::TwoWeeks, Self::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::TwoWeeks => "14d",
            Self::Month => "30d",
        }
    }

    /// How many hour buckets it spans (the current hour included).
    pub fn hours(self) -> i64 {
        match self {
            Self::Day => 24,
            Self::Week => 7 * 24,
            Self::TwoWeeks => 14 * 24,
            Self::Month => 30 * 24,
        }
    }
}

/// The hour buckets of a period ending now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodRange {
    pub period: StatsPeriod,
    /// The start of the first hour.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub from_hour: String,
    pub to_hour: String,
}

/// The start of the hour of `at`.
pub fn start_of_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp();
    DateTime::from_timestamp(seconds - seconds.rem_euclid(3600), 0).unwrap_or(at)
}

/// The last `period.hours()` hour buckets up to the one of `now`.
pub fn period_range(period: StatsPeriod, now: DateTime<Utc>) -> PeriodRange {
    let from = start_of_hour(now) - TimeDelta::hours(period.hours() - 1);
    PeriodRange {
        period,
        from,
        to: now,
        from_hour: hour_key(from),
        to_hour: hour_key(now),
    }
}

/// Reads the hourly counters (`StatsTable`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// The counters of `scope` from `from_hour` to `to_hour` (both included), oldest first;
    /// hours without a contact are absent.
    async fn hours(
        &self,
        scope: &str,
        from_hour: &str,
        to_hour: &str,
    ) -> Result<Vec<HourCounters>, StoreError>;
}

#[cfg(test)]
mod tests;
