//! Queue opening hours (provozní doba fronty), Czech public holidays, dated exceptions and the
//! overflow target (přepad) used while a queue is closed. Requirements IN-4 / ADM-4.
//!
//! Pure domain code: no I/O, no AWS types. Opening hours are wall-clock times in Europe/Prague;
//! [`QueueSchedule::is_open`] and [`QueueSchedule::next_change`] take and return UTC instants.
//!
//! # Which hours apply on a date
//!
//! 1. An [`Exception`] for the date wins over everything (closed all day, or its own intervals).
//! 2. Otherwise, if `closedOnPublicHolidays` is set and the date is a Czech public holiday
//!    ([`is_czech_public_holiday`]), the queue is closed all day.
//! 3. Otherwise the [`WeeklyHours`] of the weekday apply.
//!
//! # Daylight saving time
//!
//! Each interval boundary (a local date and wall-clock time) is turned into one UTC instant:
//!
//! - A local time that does not exist (the spring gap, 02:00–03:00 on the last Sunday of March)
//!   is skipped: it maps to the first instant after the gap (03:00 CEST). An interval lying wholly
//!   inside the gap is therefore never open; 01:00–02:30 is open 01:00–03:00 CEST (one hour).
//! - A local time that occurs twice (the autumn repeat, 02:00–03:00 on the last Sunday of
//!   October) resolves to the earlier instant (the CEST one). So 02:00–02:30 is open only during
//!   the first pass, and 02:30–04:00 is open from 02:30 CEST to 04:00 CET (two and a half hours).
//!
//! The queue is open at an instant when the instant lies in some interval `[start, end)`.
//! An `end` of `00:00` means midnight at the end of the day (so `00:00`–`00:00` is all day).

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc, Weekday,
};
use serde::{Deserialize, Serialize};

use crate::problem::FieldError;
use crate::time::PRAGUE;

/// At most this many intervals on one day (weekly or exception).
pub const MAX_INTERVALS_PER_DAY: usize = 4;

/// How far ahead [`QueueSchedule::next_change`] looks.
pub const NEXT_CHANGE_HORIZON_DAYS: i64 = 400;

const SECONDS_PER_DAY: u32 = 86_400;

// ---------------------------------------------------------------------------------------------
// Intervals and weekly hours
// ---------------------------------------------------------------------------------------------

/// One opening interval on a local day, `[start, end)`, e.g. `{"start":"07:00","end":"19:00"}`.
/// An `end` of `00:00` means midnight at the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Interval {
    #[serde(with = "hh_mm")]
    pub start: NaiveTime,
    #[serde(with = "hh_mm")]
    pub end: NaiveTime,
}

impl Interval {
    /// An interval from hours and minutes; `None` when a time is out of range.
    pub fn hm(start_h: u32, start_m: u32, end_h: u32, end_m: u32) -> Option<Self> {
        Some(Self {
            start: NaiveTime::from_hms_opt(start_h, start_m, 0)?,
            end: NaiveTime::from_hms_opt(end_h, end_m, 0)?,
        })
    }

    /// Seconds from local midnight of the start.
    fn start_secs(&self) -> u32 {
        self.start.num_seconds_from_midnight()
    }

    /// Seconds from local midnight of the end; `00:00` counts as the end of the day.
    fn end_secs(&self) -> u32 {
        match self.end.num_seconds_from_midnight() {
            0 if self.end.nanosecond() == 0 => SECONDS_PER_DAY,
            secs => secs,
        }
    }
}

/// Serde for wall-clock times as `HH:MM` (reads `HH:MM` or `HH:MM:SS[.f]`, so that validation
/// can name a time that is not whole minutes instead of failing the whole body).
mod hh_mm {
    use chrono::{NaiveTime, Timelike};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        if time.second() == 0 && time.nanosecond() == 0 {
            serializer.serialize_str(&time.format("%H:%M").to_string())
        } else {
            serializer.serialize_str(&time.format("%H:%M:%S%.f").to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M:%S%.f"))
            .map_err(|_| serde::de::Error::custom(format!("expected HH:MM, got {text:?}")))
    }
}

/// Opening intervals per weekday (Monday first). A day with no intervals is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct WeeklyHours {
    pub monday: Vec<Interval>,
    pub tuesday: Vec<Interval>,
    pub wednesday: Vec<Interval>,
    pub thursday: Vec<Interval>,
    pub friday: Vec<Interval>,
    pub saturday: Vec<Interval>,
    pub sunday: Vec<Interval>,
}

impl WeeklyHours {
    /// The intervals of a weekday.
    pub fn day(&self, weekday: Weekday) -> &[Interval] {
        match weekday {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }

    /// The days with their JSON field names, Monday first.
    fn days(&self) -> [(&'static str, &[Interval]); 7] {
        [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ]
    }

    /// Field errors, with paths such as `weekly.monday[1].end` under `prefix` (`weekly`).
    pub fn validate(&self, prefix: &str) -> Vec<FieldError> {
        self.days()
            .iter()
            .flat_map(|(name, intervals)| {
                validate_intervals(&format!("{prefix}.{name}"), intervals)
            })
            .collect()
    }
}

/// Checks one day's intervals: whole minutes, start before end, no overlaps, at most
/// [`MAX_INTERVALS_PER_DAY`]. Touching intervals (`07:00–12:00`, `12:00–19:00`) are fine.
fn validate_intervals(path: &str, intervals: &[Interval]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if intervals.len() > MAX_INTERVALS_PER_DAY {
        errors.push(FieldError::new(
            path,
            format!("at most {MAX_INTERVALS_PER_DAY} intervals per day"),
        ));
    }
    for (i, interval) in intervals.iter().enumerate() {
        for (field, time) in [("start", interval.start), ("end", interval.end)] {
            if time.second() != 0 || time.nanosecond() != 0 {
                errors.push(FieldError::new(
                    format!("{path}[{i}].{field}"),
                    "must be whole minutes (HH:MM)",
                ));
            }
        }
        if interval.start_secs() >= interval.end_secs() {
            errors.push(FieldError::new(
                format!("{path}[{i}].end"),
                "must be after start",
            ));
            continue;
        }
        for (j, other) in intervals.iter().enumerate().take(i) {
            if other.start_secs() < other.end_secs()
                && interval.start_secs() < other.end_secs()
                && other.start_secs() < interval.end_secs()
            {
                errors.push(FieldError::new(
                    format!("{path}[{i}]"),
                    format!("overlaps {path}[{j}]"),
                ));
            }
        }
    }
    errors
}

// ---------------------------------------------------------------------------------------------
// Czech public holidays
// ---------------------------------------------------------------------------------------------

/// Easter Sunday (Gregorian) of a year: the anonymous Gregorian algorithm
/// (Meeus–Jones–Butcher). `None` only for years chrono cannot represent.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The fixed-date Czech public holidays (month, day): New Year / Restoration Day, Labour Day,
/// Liberation Day, Cyril and Methodius, Jan Hus, St Wenceslas, Independence Day, Struggle for
/// Freedom and Democracy, Christmas Eve, Christmas Day, St Stephen's Day.
const FIXED_HOLIDAYS: [(u32, u32); 11] = [
    (1, 1),
    (5, 1),
    (5, 8),
    (7, 5),
    (7, 6),
    (9, 28),
    (10, 28),
    (11, 17),
    (12, 24),
    (12, 25),
    (12, 26),
];

/// The Czech public holidays of a year, in date order: the fixed dates plus Good Friday and
/// Easter Monday.
pub fn czech_public_holidays(year: i32) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = FIXED_HOLIDAYS
        .iter()
        .filter_map(|&(month, day)| NaiveDate::from_ymd_opt(year, month, day))
        .collect();
    if let Some(easter) = easter_sunday(year) {
        dates.extend(easter.checked_sub_signed(TimeDelta::days(2)));
        dates.extend(easter.checked_add_signed(TimeDelta::days(1)));
    }
    dates.sort_unstable();
    dates
}

/// Whether a date is a Czech public holiday.
pub fn is_czech_public_holiday(date: NaiveDate) -> bool {
    if FIXED_HOLIDAYS.contains(&(date.month(), date.day())) {
        return true;
    }
    easter_sunday(date.year()).is_some_and(|easter| {
        let offset = (date - easter).num_days();
        offset == -2 || offset == 1
    })
}

// ---------------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------------

/// A dated override: `{"date":"2026-12-24","intervals":[{"start":"08:00","end":"12:00"}]}`.
/// No intervals means closed all day. Wins over weekly hours and public holidays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exception {
    pub date: NaiveDate,
    #[serde(default)]
    pub intervals: Vec<Interval>,
}

impl Exception {
    /// Closed all day on `date`.
    pub fn closed(date: NaiveDate) -> Self {
        Self {
            date,
            intervals: Vec::new(),
        }
    }

    /// Open only during `intervals` on `date`.
    pub fn open(date: NaiveDate, intervals: Vec<Interval>) -> Self {
        Self { date, intervals }
    }
}

/// The dated overrides of a queue (a JSON array), at most one per date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Exceptions(pub Vec<Exception>);

impl Exceptions {
    /// The override for a date, if any.
    pub fn for_date(&self, date: NaiveDate) -> Option<&Exception> {
        self.0.iter().find(|exception| exception.date == date)
    }

    /// Field errors with paths such as `exceptions[2].intervals[0].end` under `prefix`.
    pub fn validate(&self, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, exception) in self.0.iter().enumerate() {
            if self.0[..i].iter().any(|other| other.date == exception.date) {
                errors.push(FieldError::new(
                    format!("{prefix}[{i}].date"),
                    "duplicate date",
                ));
            }
            errors.extend(validate_intervals(
                &format!("{prefix}[{i}].intervals"),
                &exception.intervals,
            ));
        }
        errors
    }
}

// ---------------------------------------------------------------------------------------------
// Overflow target
// ---------------------------------------------------------------------------------------------

/// Where calls go while the queue is closed (přepad), e.g. `{"kind":"queue","queueId":"q-2"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum OverflowTarget {
    /// Another queue.
    Queue { queue_id: String },
    /// An internal extension (digits only).
    Extension { extension: String },
    /// An external number in E.164.
    External { number: String },
    /// One agent, by username.
    Agent { username: String },
    /// A mobile phone in E.164.
    Mobile { number: String },
    /// An IVR tree.
    Ivr { ivr_id: String },
}

impl OverflowTarget {
    /// Field errors with paths such as `overflow.number` under `prefix`.
    pub fn validate(&self, prefix: &str) -> Vec<FieldError> {
        let (field, ok, message) = match self {
            Self::Queue { queue_id } => (
                "queueId",
                crate::admin_config::is_valid_config_id(queue_id),
                "must be a queue id",
            ),
            Self::Ivr { ivr_id } => (
                "ivrId",
                crate::admin_config::is_valid_config_id(ivr_id),
                "must be an IVR id",
            ),
            Self::Agent { username } => (
                "username",
                crate::users::is_valid_username(username),
                "must be a username",
            ),
            Self::Extension { extension } => (
                "extension",
                (1..=8).contains(&extension.len()) && extension.bytes().all(|b| b.is_ascii_digit()),
                "must be 1 to 8 digits",
            ),
            Self::External { number } | Self::Mobile { number } => (
                "number",
                is_e164(number),
                "must be an E.164 number such as +420601123456",
            ),
        };
        if ok {
            Vec::new()
        } else {
            vec![FieldError::new(format!("{prefix}.{field}"), message)]
        }
    }
}

/// `^\+[1-9][0-9]{7,14}$`: a plus, a non-zero digit, then 7 to 14 digits.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    let bytes = digits.as_bytes();
    (8..=15).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes.first().is_some_and(|&b| b != b'0')
}

// ---------------------------------------------------------------------------------------------
// The schedule
// ---------------------------------------------------------------------------------------------

/// The time zone of every schedule; the only accepted value is `"Europe/Prague"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduleTimezone {
    #[default]
    #[serde(rename = "Europe/Prague")]
    EuropePrague,
}

fn default_true() -> bool {
    true
}

/// The opening hours of one queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueSchedule {
    #[serde(default)]
    pub timezone: ScheduleTimezone,
    #[serde(default)]
    pub weekly: WeeklyHours,
    #[serde(default)]
    pub exceptions: Exceptions,
    #[serde(default = "default_true")]
    pub closed_on_public_holidays: bool,
}

impl Default for QueueSchedule {
    fn default() -> Self {
        Self {
            timezone: ScheduleTimezone::EuropePrague,
            weekly: WeeklyHours::default(),
            exceptions: Exceptions::default(),
            closed_on_public_holidays: true,
        }
    }
}

impl QueueSchedule {
    /// A schedule with these weekly hours, closed on public holidays, no exceptions.
    pub fn new(weekly: WeeklyHours) -> Self {
        Self {
            weekly,
            ..Self::default()
        }
    }

    /// Field errors (`weekly.monday[1].end`, `exceptions[0].date`, …); empty when valid.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = self.weekly.validate("weekly");
        errors.extend(self.exceptions.validate("exceptions"));
        errors
    }

    /// The intervals that apply on a local date (see the module docs for the precedence).
    pub fn intervals_on(&self, date: NaiveDate) -> &[Interval] {
        if let Some(exception) = self.exceptions.for_date(date) {
            &exception.intervals
        } else if self.closed_on_public_holidays && is_czech_public_holiday(date) {
            &[]
        } else {
            self.weekly.day(date.weekday())
        }
    }

    /// The UTC ranges `[start, end)` of a local date, sorted by start; empty ones dropped.
    fn ranges_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut ranges: Vec<_> = self
            .intervals_on(date)
            .iter()
            .filter_map(|interval| {
                let start = local_instant(date, interval.start_secs())?;
                let end = local_instant(date, interval.end_secs())?;
                (start < end).then_some((start, end))
            })
            .collect();
        ranges.sort_unstable();
        ranges
    }

    /// Whether the queue is open at an instant.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let date = at.with_timezone(&PRAGUE).date_naive();
        // A day's ranges lie within its own local day, but check the neighbours to be safe.
        [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
            .flat_map(|day| self.ranges_on(day))
            .any(|(start, end)| start <= at && at < end)
    }

    /// The next instant strictly after `after` at which the queue opens or closes, looking up to
    /// [`NEXT_CHANGE_HORIZON_DAYS`] days ahead; `None` when nothing changes in that time (always
    /// closed or always open). Back-to-back intervals (e.g. across midnight) are not a change.
    pub fn next_change(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = after.with_timezone(&PRAGUE).date_naive().pred_opt()?;
        let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for offset in 0..=NEXT_CHANGE_HORIZON_DAYS + 1 {
            let Some(date) = first.checked_add_signed(TimeDelta::days(offset)) else {
                break;
            };
            for (start, end) in self.ranges_on(date) {
                match current {
                    Some((cur_start, cur_end)) if start <= cur_end => {
                        current = Some((cur_start, cur_end.max(end)));
                    }
                    Some(merged) => {
                        if let Some(change) = change_in(merged, after) {
                            return Some(change);
                        }
                        current = Some((start, end));
                    }
                    None => current = Some((start, end)),
                }
            }
        }
        // The last merged range may run past the horizon: only its opening counts.
        current.and_then(|(start, _)| (start > after).then_some(start))
    }
}

/// For a complete merged open range: the opening if it lies after `after`, else the closing if
/// `after` is inside the range.
fn change_in(
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if after < start {
        Some(start)
    } else if after < end {
        Some(end)
    } else {
        None
    }
}

/// The instant of a wall-clock time in Prague, `secs` seconds after local midnight of `date`
/// (86 400 = midnight ending the day). Non-existent times move to the end of the gap; ambiguous
/// times take the earlier instant.
pub(crate) fn local_instant(date: NaiveDate, secs: u32) -> Option<DateTime<Utc>> {
    let (date, secs) = if secs >= SECONDS_PER_DAY {
        (date.succ_opt()?, secs - SECONDS_PER_DAY)
    } else {
        (date, secs)
    };
    let naive = date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)?);
    resolve_prague(naive).or_else(|| {
        // In the gap: the first whole minute that exists (gaps are at most a few hours).
        let minute_start = naive.with_second(0)?;
        (1..=24 * 60)
            .filter_map(|minutes| minute_start.checked_add_signed(TimeDelta::minutes(minutes)))
            .find_map(resolve_prague)
    })
}

fn resolve_prague(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match PRAGUE.from_local_datetime(&naive) {
        LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn iv(sh: u32, sm: u32, eh: u32, em: u32) -> Interval {
        Interval::hm(sh, sm, eh, em).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Mon–Fri 07:00–19:00, Sat 08:00–12:00, Sun closed.
    fn office() -> QueueSchedule {
        let weekdays = vec![iv(7, 0, 19, 0)];
        QueueSchedule::new(WeeklyHours {
            monday: weekdays.clone(),
            tuesday: weekdays.clone(),
            wednesday: weekdays.clone(),
            thursday: weekdays.clone(),
            friday: weekdays,
            saturday: vec![iv(8, 0, 12, 0)],
            sunday: Vec::new(),
        })
    }

    fn sunday_only(intervals: Vec<Interval>) -> QueueSchedule {
        QueueSchedule::new(WeeklyHours {
            sunday: intervals,
            ..WeeklyHours::default()
        })
    }

    // --- holidays -----------------------------------------------------------------------------

    #[test]
    fn when_year_is_2026_should_list_thirteen_holidays_with_easter_on_3_and_6_april() {
        // GIVEN the year 2026
        // WHEN listing the Czech public holidays
        let holidays = czech_public_holidays(2026);
        // THEN Good Friday is 3 April, Easter Monday 6 April, plus the 11 fixed dates
        assert_eq!(easter_sunday(2026), Some(d(2026, 4, 5)));
        assert_eq!(holidays.len(), 13);
        assert!(holidays.contains(&d(2026, 4, 3)));
        assert!(holidays.contains(&d(2026, 4, 6)));
        for (month, day) in FIXED_HOLIDAYS {
            assert!(holidays.contains(&d(2026, month, day)));
        }
        assert!(holidays.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn when_year_is_2027_should_have_good_friday_26_march_and_easter_monday_29_march() {
        // GIVEN the year 2027
        // WHEN listing the holidays
        let holidays = czech_public_holidays(2027);
        // THEN Easter falls on 28 March
        assert_eq!(easter_sunday(2027), Some(d(2027, 3, 28)));
        assert!(holidays.contains(&d(2027, 3, 26)));
        assert!(holidays.contains(&d(2027, 3, 29)));
        assert!(!holidays.contains(&d(2027, 4, 2)));
        assert_eq!(holidays.len(), 13);
    }

    #[test]
    fn when_checking_known_easter_dates_should_match_the_gregorian_tables() {
        // GIVEN known Easter Sundays
        let known = [
            (2000, 4, 23),
            (2008, 3, 23),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2038, 4, 25),
            (2285, 3, 22),
        ];
        // WHEN / THEN the algorithm agrees
        for (year, month, day) in known {
            assert_eq!(easter_sunday(year), Some(d(year, month, day)), "{year}");
        }
    }

    #[test]
    fn when_date_is_holiday_or_not_should_classify_it() {
        // GIVEN a few dates of 2026
        // WHEN / THEN
        assert!(is_czech_public_holiday(d(2026, 4, 3)));
        assert!(is_czech_public_holiday(d(2026, 4, 6)));
        assert!(is_czech_public_holiday(d(2026, 11, 17)));
        assert!(is_czech_public_holiday(d(2026, 12, 24)));
        assert!(!is_czech_public_holiday(d(2026, 4, 5)));
        assert!(!is_czech_public_holiday(d(2026, 11, 27)));
    }

    // --- open / closed -------------------------------------------------------------------------

    #[test]
    fn when_winter_time_around_opening_and_closing_should_switch_on_the_minute() {
        // GIVEN office hours and Friday 27 November 2026 (CET, UTC+1)
        let schedule = office();
        // WHEN / THEN 07:00 local = 06:00 UTC opens, 19:00 local = 18:00 UTC closes
        assert!(!schedule.is_open(utc("2026-11-27T05:59:59Z")));
        assert!(schedule.is_open(utc("2026-11-27T06:00:00Z")));
        assert!(schedule.is_open(utc("2026-11-27T17:59:59Z")));
        assert!(!schedule.is_open(utc("2026-11-27T18:00:00Z")));
        assert_eq!(
            schedule.next_change(utc("2026-11-27T05:00:00Z")),
            Some(utc("2026-11-27T06:00:00Z"))
        );
        assert_eq!(
            schedule.next_change(utc("2026-11-27T06:00:00Z")),
            Some(utc("2026-11-27T18:00:00Z"))
        );
        // and the next opening is Saturday 08:00 local
        assert_eq!(
            schedule.next_change(utc("2026-11-27T18:00:00Z")),
            Some(utc("2026-11-28T07:00:00Z"))
        );
    }

    #[test]
    fn when_summer_time_around_opening_and_closing_should_switch_on_the_minute() {
        // GIVEN office hours and Wednesday 15 July 2026 (CEST, UTC+2)
        let schedule = office();
        // WHEN / THEN 07:00 local = 05:00 UTC, 19:00 local = 17:00 UTC
        assert!(!schedule.is_open(utc("2026-07-15T04:59:00Z")));
        assert!(schedule.is_open(utc("2026-07-15T05:00:00Z")));
        assert!(schedule.is_open(utc("2026-07-15T16:59:00Z")));
        assert!(!schedule.is_open(utc("2026-07-15T17:00:00Z")));
        assert_eq!(
            schedule.next_change(utc("2026-07-15T12:00:00Z")),
            Some(utc("2026-07-15T17:00:00Z"))
        );
    }

    #[test]
    fn when_spring_gap_inside_interval_should_skip_the_missing_hour() {
        // GIVEN Sunday 01:00–04:00 and the night of 29 March 2026 (02:00 CET -> 03:00 CEST)
        let schedule = sunday_only(vec![iv(1, 0, 4, 0)]);
        // WHEN / THEN it opens at 01:00 CET (00:00 UTC) and closes at 04:00 CEST (02:00 UTC)
        assert!(!schedule.is_open(utc("2026-03-28T23:59:00Z")));
        assert!(schedule.is_open(utc("2026-03-29T00:00:00Z")));
        assert!(schedule.is_open(utc("2026-03-29T01:30:00Z")));
        assert!(!schedule.is_open(utc("2026-03-29T02:00:00Z")));
        assert_eq!(
            schedule.next_change(utc("2026-03-29T00:10:00Z")),
            Some(utc("2026-03-29T02:00:00Z"))
        );
    }

    #[test]
    fn when_interval_lies_in_spring_gap_should_never_open_that_night() {
        // GIVEN Sunday 02:00–02:45 and 02:30–03:30, on 29 March 2026
        let gap_only = sunday_only(vec![iv(2, 0, 2, 45)]);
        let into_gap = sunday_only(vec![iv(2, 30, 3, 30)]);
        // WHEN / THEN 02:00–02:45 does not exist: closed all night
        assert!(!gap_only.is_open(utc("2026-03-29T01:00:00Z")));
        assert!(!gap_only.is_open(utc("2026-03-29T00:59:00Z")));
        // and the next change after Saturday is a week later (5 April is Easter Sunday, not a
        // holiday), 02:00 CEST = 00:00 UTC
        assert_eq!(
            gap_only.next_change(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-04-05T00:00:00Z"))
        );
        // THEN 02:30–03:30 opens at the end of the gap: 03:00 CEST = 01:00 UTC to 01:30 UTC
        assert!(!into_gap.is_open(utc("2026-03-29T00:59:00Z")));
        assert!(into_gap.is_open(utc("2026-03-29T01:00:00Z")));
        assert!(!into_gap.is_open(utc("2026-03-29T01:30:00Z")));
    }

    #[test]
    fn when_autumn_repeat_inside_interval_should_resolve_to_the_earlier_instant() {
        // GIVEN the night of 25 October 2026 (03:00 CEST -> 02:00 CET)
        let spanning = sunday_only(vec![iv(1, 0, 4, 0)]);
        let ambiguous_start = sunday_only(vec![iv(2, 30, 4, 0)]);
        let ambiguous_both = sunday_only(vec![iv(2, 0, 2, 30)]);
        // WHEN / THEN 01:00 CEST (23:00 UTC) to 04:00 CET (03:00 UTC): four hours
        assert!(spanning.is_open(utc("2026-10-24T23:00:00Z")));
        assert!(spanning.is_open(utc("2026-10-25T01:30:00Z")));
        assert!(!spanning.is_open(utc("2026-10-25T03:00:00Z")));
        assert_eq!(
            spanning.next_change(utc("2026-10-24T23:00:00Z")),
            Some(utc("2026-10-25T03:00:00Z"))
        );
        // THEN 02:30 is the first (CEST) 02:30 = 00:30 UTC
        assert!(!ambiguous_start.is_open(utc("2026-10-25T00:29:00Z")));
        assert!(ambiguous_start.is_open(utc("2026-10-25T00:30:00Z")));
        assert!(ambiguous_start.is_open(utc("2026-10-25T01:30:00Z")));
        // THEN 02:00–02:30 is open only during the first pass (00:00–00:30 UTC)
        assert!(ambiguous_both.is_open(utc("2026-10-25T00:00:00Z")));
        assert!(!ambiguous_both.is_open(utc("2026-10-25T00:30:00Z")));
        assert!(!ambiguous_both.is_open(utc("2026-10-25T01:10:00Z")));
    }

    #[test]
    fn when_holiday_falls_on_a_weekday_should_be_closed_unless_disabled() {
        // GIVEN office hours and Good Friday 3 April 2026
        let mut schedule = office();
        let noon = utc("2026-04-03T10:00:00Z");
        // WHEN / THEN closed on the holiday
        assert!(!schedule.is_open(noon));
        // and the next change is opening on Saturday 4 April 08:00 CEST
        assert_eq!(
            schedule.next_change(noon),
            Some(utc("2026-04-04T06:00:00Z"))
        );
        // WHEN the queue ignores holidays THEN open
        schedule.closed_on_public_holidays = false;
        assert!(schedule.is_open(noon));
    }

    #[test]
    fn when_exception_exists_on_a_holiday_should_beat_the_holiday() {
        // GIVEN office hours closed on holidays, and 24 December 2026 (Thursday, a holiday)
        let mut schedule = office();
        assert!(!schedule.is_open(utc("2026-12-24T08:00:00Z")));
        // WHEN an exception opens it 08:00–12:00
        schedule.exceptions = Exceptions(vec![Exception::open(
            d(2026, 12, 24),
            vec![iv(8, 0, 12, 0)],
        )]);
        // THEN open 07:00–11:00 UTC only
        assert!(!schedule.is_open(utc("2026-12-24T06:59:00Z")));
        assert!(schedule.is_open(utc("2026-12-24T07:00:00Z")));
        assert!(!schedule.is_open(utc("2026-12-24T11:00:00Z")));
        // and 25 and 26 December stay closed; the next opening is Monday 28 December
        assert_eq!(
            schedule.next_change(utc("2026-12-24T11:00:00Z")),
            Some(utc("2026-12-28T06:00:00Z"))
        );
    }

    #[test]
    fn when_exception_closes_a_working_day_should_be_closed_all_day() {
        // GIVEN office hours and an exception closing Thursday 31 December 2026
        let mut schedule = office();
        schedule.exceptions = Exceptions(vec![Exception::closed(d(2026, 12, 31))]);
        // WHEN / THEN closed at noon
        assert!(!schedule.is_open(utc("2026-12-31T11:00:00Z")));
        assert!(schedule.is_open(utc("2026-12-30T11:00:00Z")));
    }

    #[test]
    fn when_intervals_meet_at_midnight_should_not_report_a_change_there() {
        // GIVEN Saturday 20:00–00:00 and Sunday 00:00–06:00
        let schedule = QueueSchedule::new(WeeklyHours {
            saturday: vec![iv(20, 0, 0, 0)],
            sunday: vec![iv(0, 0, 6, 0)],
            ..WeeklyHours::default()
        });
        // WHEN asking at Saturday 28 November 2026 21:00 local
        let change = schedule.next_change(utc("2026-11-28T20:00:00Z"));
        // THEN the next change is Sunday 06:00 local
        assert_eq!(change, Some(utc("2026-11-29T05:00:00Z")));
        assert!(schedule.is_open(utc("2026-11-28T23:00:00Z")));
    }

    #[test]
    fn when_always_closed_should_have_no_next_change() {
        // GIVEN a schedule without hours
        let schedule = QueueSchedule::default();
        // WHEN / THEN
        assert!(!schedule.is_open(utc("2026-11-27T10:00:00Z")));
        assert_eq!(schedule.next_change(utc("2026-11-27T10:00:00Z")), None);
    }

    // --- validation ------------------------------------------------------------------------------

    #[test]
    fn when_hours_are_valid_should_report_no_errors() {
        // GIVEN office hours with a split Monday and a 24 Dec exception
        let mut schedule = office();
        schedule.weekly.monday = vec![iv(7, 0, 12, 0), iv(12, 0, 19, 0)];
        schedule.exceptions = Exceptions(vec![Exception::open(
            d(2026, 12, 24),
            vec![iv(8, 0, 12, 0)],
        )]);
        // WHEN / THEN
        assert_eq!(schedule.validate(), Vec::new());
    }

    #[test]
    fn when_intervals_are_wrong_should_name_each_field() {
        // GIVEN a Monday with an inverted interval, an overlap, seconds, and too many Fridays
        let mut schedule = QueueSchedule::default();
        schedule.weekly.monday = vec![
            iv(7, 0, 12, 0),
            iv(13, 0, 12, 30),
            iv(11, 0, 14, 0),
            Interval {
                start: NaiveTime::from_hms_opt(15, 0, 30).unwrap(),
                end: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            },
        ];
        schedule.weekly.friday = vec![
            iv(1, 0, 2, 0),
            iv(3, 0, 4, 0),
            iv(5, 0, 6, 0),
            iv(7, 0, 8, 0),
            iv(9, 0, 10, 0),
        ];
        schedule.exceptions = Exceptions(vec![
            Exception::closed(d(2026, 12, 31)),
            Exception::open(d(2026, 12, 31), vec![iv(10, 0, 9, 0)]),
        ]);
        // WHEN validating
        let fields: Vec<String> = schedule
            .validate()
            .into_iter()
            .map(|error| error.field)
            .collect();
        // THEN each offending field is named
        assert_eq!(
            fields,
            vec![
                "weekly.monday[1].end",
                "weekly.monday[2]",
                "weekly.monday[3].start",
                "weekly.friday",
                "exceptions[1].date",
                "exceptions[1].intervals[0].end",
            ]
        );
    }

    #[test]
    fn when_overflow_target_is_invalid_should_name_the_field() {
        // GIVEN targets with good and bad values
        // WHEN / THEN
        let good = OverflowTarget::External {
            number: "+420601123456".into(),
        };
        assert!(good.validate("overflow").is_empty());
        let bad_mobile = OverflowTarget::Mobile {
            number: "601123456".into(),
        };
        assert_eq!(bad_mobile.validate("overflow")[0].field, "overflow.number");
        let bad_queue = OverflowTarget::Queue {
            queue_id: " ".into(),
        };
        assert_eq!(bad_queue.validate("overflow")[0].field, "overflow.queueId");
        let bad_extension = OverflowTarget::Extension {
            extension: "12a".into(),
        };
        assert_eq!(
            bad_extension.validate("overflow")[0].field,
            "overflow.extension"
        );
    }

    #[test]
    fn when_number_is_checked_should_follow_the_e164_pattern() {
        // GIVEN / WHEN / THEN ^\+[1-9][0-9]{7,14}$
        assert!(is_e164("+42060112"));
        assert!(is_e164("+420601123456789"));
        assert!(!is_e164("+4206011"));
        assert!(!is_e164("+4206011234567890"));
        assert!(!is_e164("+0420601123456"));
        assert!(!is_e164("420601123456"));
        assert!(!is_e164("+420 601 123 456"));
        assert!(!is_e164("+"));
    }

    // --- serde ---------------------------------------------------------------------------------

    #[test]
    fn when_schedule_round_trips_through_json_should_be_equal_and_camel_case() {
        // GIVEN a schedule with every part
        let mut schedule = office();
        schedule.closed_on_public_holidays = false;
        schedule.exceptions = Exceptions(vec![
            Exception::open(d(2026, 12, 24), vec![iv(8, 0, 12, 0)]),
            Exception::closed(d(2026, 12, 31)),
        ]);
        // WHEN serialising and reading back
        let json = serde_json::to_value(&schedule).unwrap();
        let back: QueueSchedule = serde_json::from_value(json.clone()).unwrap();
        // THEN equal, with the documented shape
        assert_eq!(back, schedule);
        assert_eq!(json["timezone"], "Europe/Prague");
        assert_eq!(json["closedOnPublicHolidays"], false);
        assert_eq!(json["weekly"]["monday"][0]["start"], "07:00");
        assert_eq!(json["exceptions"][0]["date"], "2026-12-24");
        assert_eq!(json["exceptions"][1]["intervals"], serde_json::json!([]));
    }

    #[test]
    fn when_fields_are_missing_should_apply_defaults_and_reject_other_timezones() {
        // GIVEN minimal JSON
        let schedule: QueueSchedule =
            serde_json::from_str(r#"{"weekly":{"monday":[{"start":"07:00","end":"19:00"}]}}"#)
                .unwrap();
        // THEN closed on holidays by default, in Prague
        assert!(schedule.closed_on_public_holidays);
        assert_eq!(schedule.timezone, ScheduleTimezone::EuropePrague);
        // and another time zone is refused
        let other = serde_json::from_str::<QueueSchedule>(r#"{"timezone":"Europe/Vienna"}"#);
        assert!(other.is_err());
    }

    #[test]
    fn when_overflow_target_round_trips_should_use_the_kind_tag() {
        // GIVEN every kind of target
        let targets = vec![
            OverflowTarget::Queue {
                queue_id: "q-2".into(),
            },
            OverflowTarget::Extension {
                extension: "2001".into(),
            },
            OverflowTarget::External {
                number: "+420222333444".into(),
            },
            OverflowTarget::Agent {
                username: "novakova".into(),
            },
            OverflowTarget::Mobile {
                number: "+420601123456".into(),
            },
            OverflowTarget::Ivr {
                ivr_id: "main".into(),
            },
        ];
        // WHEN / THEN each round-trips
        for target in targets {
            let json = serde_json::to_string(&target).unwrap();
            assert_eq!(
                serde_json::from_str::<OverflowTarget>(&json).unwrap(),
                target
            );
        }
        assert_eq!(
            serde_json::to_value(OverflowTarget::Queue {
                queue_id: "q-2".into()
            })
            .unwrap(),
            serde_json::json!({ "kind": "queue", "queueId": "q-2" })
        );
        assert_eq!(
            serde_json::to_value(OverflowTarget::Ivr {
                ivr_id: "main".into()
            })
            .unwrap(),
            serde_json::json!({ "kind": "ivr", "ivrId": "main" })
        );
    }

    // --- property --------------------------------------------------------------------------------

    /// Schedules that exercise midnight joins, DST nights and exceptions.
    fn property_schedules() -> Vec<QueueSchedule> {
        let mut night = QueueSchedule::new(WeeklyHours {
            saturday: vec![iv(20, 0, 0, 0)],
            sunday: vec![iv(0, 0, 2, 30), iv(2, 45, 3, 15), iv(22, 0, 0, 0)],
            monday: vec![iv(0, 0, 6, 0), iv(6, 0, 7, 0)],
            wednesday: vec![iv(2, 0, 3, 0)],
            ..WeeklyHours::default()
        });
        night.exceptions = Exceptions(vec![
            Exception::closed(d(2026, 3, 29)),
            Exception::open(d(2026, 12, 24), vec![iv(8, 0, 12, 0)]),
        ]);
        let mut office_with_exception = office();
        office_with_exception.exceptions = Exceptions(vec![Exception::open(
            d(2026, 12, 24),
            vec![iv(8, 0, 12, 0)],
        )]);
        vec![
            office_with_exception,
            night,
            sunday_only(vec![iv(2, 0, 2, 30)]),
        ]
    }

    proptest! {
        #[test]
        fn when_random_instant_should_flip_exactly_at_next_change(
            secs in 1_735_689_600_i64..1_861_920_000_i64, // 2025-01-01 .. 2029-01-01
            which in 0_usize..3,
        ) {
            // GIVEN a schedule and a random instant
            let schedules = property_schedules();
            let schedule = &schedules[which];
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            // WHEN looking for the next change
            let state = schedule.is_open(t);
            let change = schedule.next_change(t);
            // THEN the state holds until just before the change and flips at it
            prop_assert!(change.is_some());
            let change = change.unwrap();
            prop_assert!(change > t);
            let just_before = change - TimeDelta::seconds(1);
            prop_assert_eq!(schedule.is_open(just_before), state);
            let midway = t + (change - t) / 2;
            prop_assert_eq!(schedule.is_open(midway), state);
            prop_assert_ne!(schedule.is_open(change), state);
        }

        #[test]
        fn when_random_weekly_hours_should_flip_exactly_at_next_change(
            days in proptest::collection::vec(
                proptest::collection::vec((0_u32..96, 1_u32..40), 0..3),
                7,
            ),
            secs in 1_735_689_600_i64..1_861_920_000_i64,
        ) {
            // GIVEN random quarter-hour intervals (possibly touching midnight or DST nights)
            let day = |i: usize| -> Vec<Interval> {
                days[i]
                    .iter()
                    .map(|&(start, len)| {
                        let end = (start + len).min(96);
                        let end = if end == 96 { 0 } else { end };
                        iv(start / 4, start % 4 * 15, end / 4, end % 4 * 15)
                    })
                    .collect()
            };
            let schedule = QueueSchedule::new(WeeklyHours {
                monday: day(0),
                tuesday: day(1),
                wednesday: day(2),
                thursday: day(3),
                friday: day(4),
                saturday: day(5),
                sunday: day(6),
            });
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            // WHEN looking for the next change
            let state = schedule.is_open(t);
            // THEN if there is one, the state holds until it and flips at it
            if let Some(change) = schedule.next_change(t) {
                prop_assert!(change > t);
                prop_assert_eq!(schedule.is_open(change - TimeDelta::seconds(1)), state);
                prop_assert_eq!(schedule.is_open(t + (change - t) / 2), state);
                prop_assert_ne!(schedule.is_open(change), state);
            } else {
                // no change within the horizon: the state is the same a year on
                prop_assert_eq!(schedule.is_open(t + TimeDelta::days(365)), state);
            }
        }
    }
}
