//! Time helpers. Business rules run in Europe/Prague (DST-correct through `chrono-tz`); everything
//! stored or sent is UTC in RFC 3339.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// The contact centre's time zone.
pub const PRAGUE: Tz = chrono_tz::Europe::Prague;

/// The current instant in UTC.
pub fn now_utc() -> DateTime<Utc> {
    Utc::now()
}

/// The same instant on the wall clock in Prague.
pub fn to_prague(instant: DateTime<Utc>) -> DateTime<Tz> {
    instant.with_timezone(&PRAGUE)
}

/// RFC 3339 in UTC with exactly three fractional digits and a `Z`, e.g. `2026-11-27T14:05:09.120Z`.
///
/// The fixed width makes the strings sort in time order, which DynamoDB sort keys such as
/// `connectedAt` rely on (`chrono`'s default drops zero fractions, so `…:05Z` would sort after
/// `…:05.500Z`).
pub fn format_rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serde adapter for [`format_rfc3339`]: `#[serde(with = "linka_shared::time::rfc3339")]`.
/// Reads any RFC 3339 timestamp (any offset), writes the fixed-width UTC form.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        instant: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_rfc3339(*instant))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|instant| instant.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};

    #[test]
    fn when_summer_time_should_be_two_hours_ahead_in_prague() {
        // GIVEN noon UTC in July
        let instant = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        // WHEN converted
        let local = to_prague(instant);
        // THEN Prague shows 14:00 (CEST)
        assert_eq!(local.hour(), 14);
    }

    #[test]
    fn when_winter_time_should_be_one_hour_ahead_in_prague() {
        let instant = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        assert_eq!(to_prague(instant).hour(), 13);
    }

    #[test]
    fn when_formatted_should_have_fixed_width_and_sort_in_time_order() {
        // GIVEN two instants in the same second, one on the whole second
        let whole = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 5).unwrap();
        let later = whole + chrono::Duration::milliseconds(500);
        // WHEN formatted
        let (a, b) = (format_rfc3339(whole), format_rfc3339(later));
        // THEN both have the same width and sort like the instants
        assert_eq!(a, "2026-11-27T10:00:05.000Z");
        assert_eq!(a.len(), b.len());
        assert!(a < b);
    }
}
