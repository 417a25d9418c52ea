//! Czech personal identifiers and phone numbers, validated as in
//! `research/czech-integrations.md` §2: rodné číslo (birth number), číslo pojištěnce (insurance
//! number, BIN) and Czech phone numbers.
//!
//! These are the *strict* checks for what a person types in (an operator, a caller in the IVR).
//! ICIS data is flagged, not rejected, by its importer.
//!
//! - Input may contain spaces and one `/`; the normalised form is the bare digits (`CHAR(10)`,
//!   never an integer: people born 2000–2009 start with `0`).
//! - 9 digits: only for people born before 1 January 1954 (`YY < 54`, 19YY), no check digit.
//! - 10 digits: `YY < 54` → 20YY, otherwise 19YY; the check digit is
//!   `first nine digits mod 11 mod 10` (the remainder 10 gave check digit 0 until 1985).
//! - Month: 01–12 (men), 51–62 (women); since 2004 also 21–32 / 71–82 when a day's serial
//!   numbers ran out.
//! - The day must exist in that month.
//! - Insurance numbers are birth numbers for citizens; for foreigners the insurer generates them
//!   from the date of birth with `+50` on the day (and `+20` / `+70` on the month in the AP CMU
//!   scheme, in any year). Whether the check digit applies to these generated numbers is
//!   unconfirmed, so it is only enforced on numbers shaped like a birth number.

use chrono::NaiveDate;
use thiserror::Error;

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IdentifierError {
    /// Not 9 or 10 digits (after removing spaces and `/`), or 9 digits for someone born in 1954
    /// or later.
    #[error("must be 9 or 10 digits (9 only for people born before 1954)")]
    Format,
    /// The encoded date of birth does not exist.
    #[error("does not encode a valid date of birth")]
    Date,
    /// The check digit does not match.
    #[error("has a wrong check digit")]
    CheckDigit,
}

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PhoneError {
    #[error("must be a Czech fixed or mobile number: 9 digits, optionally after +420 or 00420")]
    NotCzech,
}

/// Why an IČO (company identification number) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IcoError {
    /// Not 1 to 8 digits (after removing spaces).
    #[error("must be 8 digits")]
    Format,
    /// The check digit does not match.
    #[error("has a wrong check digit")]
    CheckDigit,
}

/// A valid birth number or insurance number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalNumber {
    /// The bare 9 or 10 digits.
    pub digits: String,
    /// The encoded date of birth.
    pub birth_date: NaiveDate,
    /// `true` for an insurer-generated insurance number (day + 50).
    pub generated: bool,
}

/// Removes spaces and `/` (the usual `780101/1230` form).
fn strip_separators(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '/')
        .collect()
}

fn two_digits(bytes: &[u8], at: usize) -> Option<u32> {
    let tens = u32::from(bytes.get(at)?.checked_sub(b'0')?);
    let ones = u32::from(bytes.get(at + 1)?.checked_sub(b'0')?);
    Some(tens * 10 + ones)
}

fn check(input: &str, insurance: bool) -> Result<PersonalNumber, IdentifierError> {
    let digits = strip_separators(input);
    let bytes = digits.as_bytes();
    if !(9..=10).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(IdentifierError::Format);
    }
    let (Some(yy), Some(mm), Some(dd)) = (
        two_digits(bytes, 0),
        two_digits(bytes, 2),
        two_digits(bytes, 4),
    ) else {
        return Err(IdentifierError::Format);
    };
    let year = match (bytes.len(), yy < 54) {
        (9, true) => 1900 + yy,
        (9, false) => return Err(IdentifierError::Format),
        (_, true) => 2000 + yy,
        (_, false) => 1900 + yy,
    };
    let month = match mm {
        1..=12 => mm,
        51..=62 => mm - 50,
        21..=32 if year >= 2004 || insurance => mm - 20,
        71..=82 if year >= 2004 || insurance => mm - 70,
        _ => return Err(IdentifierError::Date),
    };
    let (day, generated) = match dd {
        51..=81 if insurance => (dd - 50, true),
        _ => (dd, false),
    };
    let year = i32::try_from(year).map_err(|_| IdentifierError::Date)?;
    let birth_date = NaiveDate::from_ymd_opt(year, month, day).ok_or(IdentifierError::Date)?;
    if bytes.len() == 10 && !generated {
        let first_nine: u64 = digits
            .get(..9)
            .and_then(|head| head.parse().ok())
            .ok_or(IdentifierError::Format)?;
        let expected = first_nine % 11 % 10;
        let actual = u64::from(bytes[9] - b'0');
        if expected != actual {
            return Err(IdentifierError::CheckDigit);
        }
    }
    Ok(PersonalNumber {
        digits,
        birth_date,
        generated,
    })
}

/// Validates a rodné číslo (strict: for operator and caller input).
pub fn parse_birth_number(input: &str) -> Result<PersonalNumber, IdentifierError> {
    check(input, false)
}

/// Validates a číslo pojištěnce: a birth number, or an insurer-generated number (day + 50,
/// month + 20 / + 70 in any year).
pub fn parse_insurance_number(input: &str) -> Result<PersonalNumber, IdentifierError> {
    check(input, true)
}

/// A Czech fixed-line number (9 national digits), per the libphonenumber `CZ` metadata:
/// `(2\d|3[1257-9]|4[16-9]|5[13-9])\d{7}`.
fn is_czech_fixed(national: &[u8]) -> bool {
    match national {
        [b'2', ..] => true,
        [b'3', second, ..] => b"125789".contains(second),
        [b'4', second, ..] => b"16789".contains(second),
        [b'5', second, ..] => b"13456789".contains(second),
        _ => false,
    }
}

/// A Czech mobile number: `7060\d{5}|(60[1-8]|7(0[2-5]|19|[2379]\d))\d{6}`.
fn is_czech_mobile(national: &[u8]) -> bool {
    match national {
        [b'7', b'0', b'6', b'0', ..] => true,
        [b'6', b'0', third, ..] => (b'1'..=b'8').contains(third),
        [b'7', b'0', third, ..] => (b'2'..=b'5').contains(third),
        [b'7', b'1', b'9', ..] => true,
        [b'7', second, ..] => b"2379".contains(second),
        _ => false,
    }
}

/// Normalises a Czech fixed or mobile number typed as `601 123 456`, `+420601123456` or
/// `00420601123456` to E.164 (`+420601123456`). Free-phone and premium numbers are refused.
pub fn normalize_czech_phone(input: &str) -> Result<String, PhoneError> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let national = compact
        .strip_prefix("+420")
        .or_else(|| compact.strip_prefix("00420"))
        .unwrap_or(&compact);
    let bytes = national.as_bytes();
    if bytes.len() == 9
        && bytes.iter().all(u8::is_ascii_digit)
        && (is_czech_fixed(bytes) || is_czech_mobile(bytes))
    {
        Ok(format!("+420{national}"))
    } else {
        Err(PhoneError::NotCzech)
    }
}

/// Whether an E.164 number (`+420…`, as [`normalize_czech_phone`] gives) is a Czech mobile's.
pub fn is_czech_mobile_number(e164: &str) -> bool {
    e164.strip_prefix("+420")
        .is_some_and(|national| national.len() == 9 && is_czech_mobile(national.as_bytes()))
}

/// Validates an IČO: 8 digits (shorter ones are left-padded with zeros, as ARES does) whose
/// last digit is `(11 - Σ dᵢ·(8 - i) mod 11) mod 10` over the first seven. Returns the 8 digits.
pub fn parse_ico(input: &str) -> Result<String, IcoError> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact.len() > 8 || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IcoError::Format);
    }
    let digits = format!("{compact:0>8}");
    let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = values
        .iter()
        .take(7)
        .zip((2..=8).rev())
        .map(|(digit, weight)| digit * weight)
        .sum();
    let expected = (11 - sum % 11) % 10;
    if values.get(7) == Some(&expected) {
        Ok(digits)
    } else {
        Err(IcoError::CheckDigit)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn when_birth_number_is_valid_should_return_digits_and_date() {
        // GIVEN numbers checked against python-stdnum's cz.rc
        let cases = [
            ("780101/1230", "7801011230", (1978, 1, 1)),
            ("855215 1234", "8552151234", (1985, 2, 15)),
            ("0402290009", "0402290009", (2004, 2, 29)),
            ("530101123", "530101123", (1953, 1, 1)),
        ];
        for (input, digits, (y, m, d)) in cases {
            // WHEN parsed
            let parsed = parse_birth_number(input).unwrap();
            // THEN the digits are bare and the date is decoded
            assert_eq!(parsed.digits, digits);
            assert_eq!(parsed.birth_date, NaiveDate::from_ymd_opt(y, m, d).unwrap());
            assert!(!parsed.generated);
        }
    }

    #[test]
    fn when_birth_number_is_broken_should_say_why() {
        let cases = [
            ("78010112", IdentifierError::Format),
            ("78010112301", IdentifierError::Format),
            ("78O1011230", IdentifierError::Format),
            ("540101123", IdentifierError::Format),
            ("7801011231", IdentifierError::CheckDigit),
            ("7813011230", IdentifierError::Date),
            ("7802301230", IdentifierError::Date),
            // +20 on the month only since 2004
            ("7821011230", IdentifierError::Date),
        ];
        for (input, error) in cases {
            assert_eq!(parse_birth_number(input), Err(error), "{input}");
        }
    }

    #[test]
    fn when_month_has_plus_20_after_2004_should_accept_it() {
        // 2004-02-29 with month + 20 (man) and + 70 (woman)
        for base in ["042229000", "047229000"] {
            let check = base.parse::<u64>().unwrap() % 11 % 10;
            let number = format!("{base}{check}");
            let parsed = parse_birth_number(&number).unwrap();
            assert_eq!(
                parsed.birth_date,
                NaiveDate::from_ymd_opt(2004, 2, 29).unwrap()
            );
        }
    }

    #[test]
    fn when_insurance_number_is_generated_should_accept_day_plus_50() {
        // GIVEN an insurer-generated number for a foreigner born 1 March 1990 (day + 50)
        let parsed = parse_insurance_number("9003515678").unwrap();
        assert!(parsed.generated);
        assert_eq!(
            parsed.birth_date,
            NaiveDate::from_ymd_opt(1990, 3, 1).unwrap()
        );
        // AND the same number is not a birth number
        assert_eq!(parse_birth_number("9003515678"), Err(IdentifierError::Date));
        // AND a plain birth number is an insurance number with its check digit enforced
        assert!(parse_insurance_number("7801011230").is_ok());
        assert_eq!(
            parse_insurance_number("7801011231"),
            Err(IdentifierError::CheckDigit)
        );
    }

    #[test]
    fn when_phone_is_czech_should_normalise_to_e164() {
        for (input, e164) in [
            ("601 123 456", "+420601123456"),
            ("+420 224 123 456", "+420224123456"),
            ("00420731000111", "+420731000111"),
        ] {
            assert_eq!(normalize_czech_phone(input).as_deref(), Ok(e164));
        }
        for bad in ["800123456", "900123456", "60112345", "+421601123456", "abc"] {
            assert_eq!(
                normalize_czech_phone(bad),
                Err(PhoneError::NotCzech),
                "{bad}"
            );
        }
    }

    #[test]
    fn when_number_is_a_mobiles_should_tell_it_from_a_fixed_line() {
        assert!(is_czech_mobile_number("+420601123456"));
        assert!(is_czech_mobile_number("+420731000111"));
        assert!(!is_czech_mobile_number("+420224123456"));
        assert!(!is_czech_mobile_number("601123456"));
        assert!(!is_czech_mobile_number("+42060112345"));
    }

    #[test]
    fn when_ico_is_checked_should_verify_the_check_digit() {
        // Real IČOs (ARES): 25596641, 00006947 (Ministerstvo financí), 45274649 (ČEZ).
        for (input, digits) in [
            ("25596641", "25596641"),
            ("6947", "00006947"),
            ("452 74 649", "45274649"),
        ] {
            assert_eq!(parse_ico(input).as_deref(), Ok(digits), "{input}");
        }
        assert_eq!(parse_ico("25596642"), Err(IcoError::CheckDigit));
        for bad in ["", "123456789", "2559664a"] {
            assert_eq!(parse_ico(bad), Err(IcoError::Format), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn when_any_date_is_encoded_with_its_check_digit_should_round_trip(
            days in 0i64..(365 * 50), female in any::<bool>(), serial in 0u32..1000
        ) {
            // GIVEN a date between 1954 and 2003 encoded as a 10-digit birth number
            let date = NaiveDate::from_ymd_opt(1954, 1, 1).unwrap() + chrono::Duration::days(days);
            let yy = chrono::Datelike::year(&date) % 100;
            let mm = chrono::Datelike::month(&date) + if female { 50 } else { 0 };
            let dd = chrono::Datelike::day(&date);
            let base = format!("{yy:02}{mm:02}{dd:02}{serial:03}");
            let check = base.parse::<u64>().unwrap() % 11 % 10;
            // WHEN parsed
            let parsed = parse_birth_number(&format!("{base}{check}")).unwrap();
            // THEN the date comes back, and any other check digit is refused
            prop_assert_eq!(parsed.birth_date, date);
            let wrong = (check + 1) % 10;
            prop_assert_eq!(
                parse_birth_number(&format!("{base}{wrong}")),
                Err(IdentifierError::CheckDigit)
            );
        }
    }
}
