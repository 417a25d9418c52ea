//! Client records (karty klientů, CDB-1..5, IN-15, CHAT-4/5): the people the contact centre
//! serves, loaded from ICIS and edited from the agent desk.
//!
//! Pure domain code: the record ([`Client`]), the field definitions (15 built-in ones, CDB-4,
//! extended by administrators with [`CustomClientField`] documents in the `clientField`
//! collection of `ConfigTable`), the validation of an edit against those definitions, and the
//! [`ClientStore`] port. A record's `fields` are strings keyed by the field key; phones are
//! stored in E.164 (`+420777123456`), insurance numbers and IČO as bare digits, dates as
//! `YYYY-MM-DD`. Lookups are by phone or mobile (every client sharing a number — family members
//! do), by e-mail (case-insensitive) and by insurance number.
//!
//! Storage is `ClientsTable` (pk `clientId`), with sparse indexes on the lookup attributes the
//! adapter derives from the fields, see [`index_attributes`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::{
    admin_config::{is_valid_config_id, ConfigEntity},
    identifiers::{normalize_czech_phone, parse_ico, parse_insurance_number},
    ports::{StoreError, Versioned},
    problem::FieldError,
};

/// Prefix of the id of a client entered by hand (no ICIS record): `M-<uuid>`.
pub const MANUAL_ID_PREFIX: &str = "M-";
/// Longest client id (ICIS ids are short numbers; manual ids are 38 characters).
pub const MAX_CLIENT_ID_CHARS: usize = 64;
/// Longest value of a single-line field.
pub const MAX_TEXT_CHARS: usize = 200;
/// Longest value of a `textarea` field (the note).
pub const MAX_TEXTAREA_CHARS: usize = 4000;
/// Most fields a record may hold (built-in and custom).
pub const MAX_FIELDS: usize = 100;
/// Most clients one lookup returns (a switchboard number must not list a whole company).
pub const MAX_MATCHES: usize = 50;
/// Most options of a `select` field.
pub const MAX_OPTIONS: usize = 50;
/// Longest field label.
pub const MAX_LABEL_CHARS: usize = 100;
/// Status of a client nobody flagged.
pub const STANDARD_STATUS: &str = "standard";
/// The statuses the desk knows (ICIS may send others of the same shape).
pub const KNOWN_STATUSES: [&str; 4] = ["standard", "vip", "debtor", "deceased"];

/// Keys of the built-in fields with a meaning beyond their type.
pub mod keys {
    pub const FIRST_NAME: &str = "firstName";
    pub const LAST_NAME: &str = "lastName";
    pub const BIRTH_DATE: &str = "birthDate";
    pub const GENDER: &str = "gender";
    pub const INSURANCE_NUMBER: &str = "insuranceNumber";
    pub const COMPANY: &str = "company";
    pub const ICO: &str = "ico";
    pub const STREET: &str = "street";
    pub const CITY: &str = "city";
    pub const POSTAL_CODE: &str = "postalCode";
    pub const PHONE: &str = "phone";
    pub const MOBILE: &str = "mobile";
    pub const EMAIL: &str = "email";
    pub const PREFERRED_LANGUAGE: &str = "preferredLanguage";
    pub const NOTE: &str = "note";
}

// ---------------------------------------------------------------------------------------------
// Field definitions
// ---------------------------------------------------------------------------------------------

/// How a field is entered and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// One line of text.
    Text,
    /// `YYYY-MM-DD`.
    Date,
    /// An e-mail address.
    Email,
    /// A phone number, stored in E.164.
    Phone,
    /// One of the field's options (by value).
    Select,
    /// Several lines of text.
    Textarea,
}

/// A label in Czech (the UI) and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub cs: String,
    pub en: String,
}

impl Label {
    fn new(cs: &str, en: &str) -> Self {
        Self {
            cs: cs.to_owned(),
            en: en.to_owned(),
        }
    }
}

/// One choice of a `select` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldOption {
    /// What is stored.
    pub value: String,
    pub label: Label,
}

/// A field of the client card, as `GET /api/client-fields` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientFieldDefinition {
    pub key: String,
    pub label: Label,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// The choices of a `select` field (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<FieldOption>,
    /// A record without it cannot be saved from the desk.
    pub required: bool,
    /// Agents may change it (otherwise only ICIS does).
    pub editable: bool,
    /// Shown on the short card beside a call (the rest in the detail).
    pub in_card: bool,
    /// Position (ascending; ties by key).
    pub order: u16,
    /// Part of the product rather than added by an administrator.
    pub built_in: bool,
}

fn option(value: &str, cs: &str, en: &str) -> FieldOption {
    FieldOption {
        value: value.to_owned(),
        label: Label::new(cs, en),
    }
}

/// The built-in fields (CDB-4), in card order.
pub fn built_in_fields() -> Vec<ClientFieldDefinition> {
    use FieldType::*;
    let field = |key: &str, cs: &str, en: &str, field_type, required, in_card, order| {
        ClientFieldDefinition {
            key: key.to_owned(),
            label: Label::new(cs, en),
            field_type,
            options: Vec::new(),
            required,
            editable: true,
            in_card,
            order,
            built_in: true,
        }
    };
    let mut gender = field(keys::GENDER, "Pohlaví", "Gender", Select, false, false, 40);
    gender.options = vec![option("F", "žena", "female"), option("M", "muž", "male")];
    let mut language = field(
        keys::PREFERRED_LANGUAGE,
        "Preferovaný jazyk",
        "Preferred language",
        Select,
        false,
        false,
        140,
    );
    language.options = vec![
        option("cs", "čeština", "Czech"),
        option("sk", "slovenština", "Slovak"),
        option("en", "angličtina", "English"),
        option("de", "němčina", "German"),
        option("uk", "ukrajinština", "Ukrainian"),
    ];
    vec![
        field(
            keys::FIRST_NAME,
            "Jméno",
            "First name",
            Text,
            false,
            true,
            10,
        ),
        field(
            keys::LAST_NAME,
            "Příjmení",
            "Last name",
            Text,
            true,
            true,
            20,
        ),
        field(
            keys::BIRTH_DATE,
            "Datum narození",
            "Date of birth",
            Date,
            false,
            true,
            30,
        ),
        gender,
        field(
            keys::INSURANCE_NUMBER,
            "Číslo pojištěnce",
            "Insurance number",
            Text,
            false,
            true,
            50,
        ),
        field(keys::COMPANY, "Firma", "Company", Text, false, false, 60),
        field(keys::ICO, "IČO", "Company ID (IČO)", Text, false, false, 70),
        field(
            keys::STREET,
            "Ulice a číslo",
            "Street and number",
            Text,
            false,
            false,
            80,
        ),
        field(keys::CITY, "Obec", "City", Text, false, true, 90),
        field(
            keys::POSTAL_CODE,
            "PSČ",
            "Postal code",
            Text,
            false,
            false,
            100,
        ),
        field(keys::PHONE, "Telefon", "Phone", Phone, false, true, 110),
        field(keys::MOBILE, "Mobil", "Mobile", Phone, false, true, 120),
        field(keys::EMAIL, "E-mail", "E-mail", Email, false, true, 130),
        language,
        field(keys::NOTE, "Poznámka", "Note", Textarea, false, false, 150),
    ]
}

/// Whether `key` is a built-in field's (compared case-insensitively, so that a custom key never
/// looks like one).
pub fn is_built_in_key(key: &str) -> bool {
    built_in_fields()
        .iter()
        .any(|field| field.key.eq_ignore_ascii_case(key))
}

fn default_true() -> bool {
    true
}

fn default_order() -> u16 {
    500
}

/// A field an administrator added (`/api/admin/client-fields`, ConfigTable collection
/// `clientField`). Its key is a configuration id (`cislo-smlouvy`), never a built-in key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomClientField {
    pub key: String,
    pub label: Label,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<FieldOption>,
    #[serde(default)]
    pub required: bool,
    #[serde(default = "default_true")]
    pub editable: bool,
    #[serde(default)]
    pub in_card: bool,
    #[serde(default = "default_order")]
    pub order: u16,
    /// An inactive field is not listed and cannot be edited; stored values are kept.
    #[serde(default = "default_true")]
    pub active: bool,
}

fn check_label_text(errors: &mut Vec<FieldError>, field: &str, text: &str) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if text.chars().count() > MAX_LABEL_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_LABEL_CHARS} characters"),
        ));
    } else if text.chars().any(char::is_control) || trimmed.len() != text.len() {
        errors.push(FieldError::new(
            field,
            "must not contain control characters or leading/trailing spaces",
        ));
    }
}

impl ConfigEntity for CustomClientField {
    const COLLECTION: &'static str = "clientField";
    const ID_FIELD: &'static str = "key";
    const NOUN: &'static str = "client-field";
    const PATH: &'static str = "client-fields";

    fn id(&self) -> &str {
        &self.key
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_valid_config_id(&self.key) {
            errors.push(FieldError::new(
                "key",
                "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit",
            ));
        } else if is_built_in_key(&self.key) {
            errors.push(FieldError::new("key", "is the key of a built-in field"));
        }
        check_label_text(&mut errors, "label.cs", &self.label.cs);
        check_label_text(&mut errors, "label.en", &self.label.en);
        if self.field_type == FieldType::Select {
            if self.options.is_empty() || self.options.len() > MAX_OPTIONS {
                errors.push(FieldError::new(
                    "options",
                    format!("a select field needs 1 to {MAX_OPTIONS} options"),
                ));
            }
            for (index, choice) in self.options.iter().enumerate() {
                check_label_text(
                    &mut errors,
                    &format!("options[{index}].value"),
                    &choice.value,
                );
                check_label_text(
                    &mut errors,
                    &format!("options[{index}].label.cs"),
                    &choice.label.cs,
                );
                check_label_text(
                    &mut errors,
                    &format!("options[{index}].label.en"),
                    &choice.label.en,
                );
                if self.options[..index]
                    .iter()
                    .any(|other| other.value == choice.value)
                {
                    errors.push(FieldError::new(
                        format!("options[{index}].value"),
                        "is listed twice",
                    ));
                }
            }
        } else if !self.options.is_empty() {
            errors.push(FieldError::new(
                "options",
                "only a select field has options",
            ));
        }
        if self.order > 999 {
            errors.push(FieldError::new("order", "must be between 0 and 999"));
        }
        if self.required && !self.editable {
            errors.push(FieldError::new(
                "required",
                "a field agents cannot edit cannot be required",
            ));
        }
        errors
    }
}

impl CustomClientField {
    pub fn definition(&self) -> ClientFieldDefinition {
        ClientFieldDefinition {
            key: self.key.clone(),
            label: self.label.clone(),
            field_type: self.field_type,
            options: self.options.clone(),
            required: self.required,
            editable: self.editable,
            in_card: self.in_card,
            order: self.order,
            built_in: false,
        }
    }
}

/// The fields of the card: the built-in ones and the active custom ones, by `order`, then key.
pub fn field_definitions(custom: &[CustomClientField]) -> Vec<ClientFieldDefinition> {
    let mut fields = built_in_fields();
    fields.extend(
        custom
            .iter()
            .filter(|field| field.active && !is_built_in_key(&field.key))
            .map(CustomClientField::definition),
    );
    fields.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.key.cmp(&b.key)));
    fields
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ClientPhoneError {
    #[error(
        "must be a Czech number (9 digits, optionally after +420) or an international number starting with +"
    )]
    Invalid,
}

/// A phone number as typed (`777 123 456`, `+420 777 123 456`, `00420777123456`,
/// `+49 30 1234567`) in E.164 (`+420777123456`). Czech numbers must be fixed or mobile ones;
/// foreign numbers need the `+` (or `00`) and 8 to 15 digits.
pub fn normalise_phone(input: &str) -> Result<String, ClientPhoneError> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')' | '.' | '/'))
        .collect();
    // `+` arrives as a space when a query string is not encoded: `420…` of 12 digits is Czech.
    if compact.len() == 12 && compact.starts_with("420") {
        return normalize_czech_phone(&format!("+{compact}"))
            .map_err(|_| ClientPhoneError::Invalid);
    }
    let international = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"));
    match international {
        Some(digits) if !digits.starts_with("420") => {
            let valid = (8..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            if valid {
                Ok(format!("+{digits}"))
            } else {
                Err(ClientPhoneError::Invalid)
            }
        }
        _ => normalize_czech_phone(&compact).map_err(|_| ClientPhoneError::Invalid),
    }
}

/// The lookup key of an e-mail address: trimmed and lower-cased.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A plausible e-mail address: one `@`, a local part, a dotted domain, no spaces.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

/// An insurance number as searched: the bare 9 or 10 digits (spaces and `/` removed), without
/// checking the check digit (ICIS holds a few numbers that fail it). `None` if not digits.
pub fn insurance_search_key(input: &str) -> Option<String> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '/')
        .collect();
    ((9..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

// ---------------------------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------------------------

/// A client card. The version lives beside it ([`Versioned`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    /// The ICIS id when known, else `M-<uuid>` (entered by hand).
    pub client_id: String,
    #[serde(default)]
    pub icis_id: Option<String>,
    /// `standard`, `vip`, `debtor`, `deceased` (or another status of that shape from ICIS).
    pub status: String,
    /// Values by field key (absent: empty).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Username of the agent, or `icis` for the import.
    pub updated_by: String,
}

/// Whether a client id can name a record: 1 to 64 ASCII letters, digits, `-` or `_`.
pub fn is_valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a status has the accepted shape: 1 to 30 lowercase letters, digits or `-`.
pub fn is_valid_status(status: &str) -> bool {
    (1..=30).contains(&status.len())
        && status.starts_with(|c: char| c.is_ascii_lowercase())
        && status
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The attributes the store indexes, derived from the fields: `phone`, `mobile` (E.164),
/// `emailLower`, `insuranceNumber`. Only the ones with a value (sparse indexes).
pub fn index_attributes(client: &Client) -> Vec<(&'static str, String)> {
    let mut attributes = Vec::new();
    let value = |key: &str| {
        client
            .fields
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    if let Some(phone) = value(keys::PHONE) {
        attributes.push(("phone", phone.to_owned()));
    }
    if let Some(mobile) = value(keys::MOBILE) {
        attributes.push(("mobile", mobile.to_owned()));
    }
    if let Some(email) = value(keys::EMAIL) {
        attributes.push(("emailLower", email_key(email)));
    }
    if let Some(number) = value(keys::INSURANCE_NUMBER) {
        attributes.push(("insuranceNumber", number.to_owned()));
    }
    attributes
}

impl Client {
    /// A client entered by hand at the desk (IN-15): `M-<uuid>`, no ICIS id, standard status.
    pub fn manual(
        uuid: uuid::Uuid,
        fields: BTreeMap<String, String>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            client_id: format!("{MANUAL_ID_PREFIX}{uuid}"),
            icis_id: None,
            status: STANDARD_STATUS.to_owned(),
            fields,
            updated_at: now,
            updated_by: by.to_owned(),
        }
    }

    /// The field's value, if not empty.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `Příjmení Jméno` for sorting a lookup's matches.
    pub fn sort_key(&self) -> (String, String, String) {
        (
            self.field(keys::LAST_NAME).unwrap_or("").to_lowercase(),
            self.field(keys::FIRST_NAME).unwrap_or("").to_lowercase(),
            self.client_id.clone(),
        )
    }

    /// Applies validated changes (`None` clears a field) and stamps who and when.
    pub fn apply(
        &mut self,
        changes: BTreeMap<String, Option<String>>,
        by: &str,
        now: DateTime<Utc>,
    ) {
        for (key, value) in changes {
            match value {
                Some(value) => {
                    self.fields.insert(key, value);
                }
                None => {
                    self.fields.remove(&key);
                }
            }
        }
        self.updated_at = now;
        self.updated_by = by.to_owned();
    }
}

/// Sorts a lookup's matches by last name, first name, id, and drops duplicates (a client whose
/// phone and mobile are the same number is found twice).
pub fn sort_matches(matches: &mut Vec<Versioned<Client>>) {
    matches.sort_by(|a, b| {
        a.value
            .sort_key()
            .cmp(&b.value.sort_key())
            .then_with(|| b.version.cmp(&a.version))
    });
    matches.dedup_by(|a, b| a.value.client_id == b.value.client_id);
}

/// The precedence of a status when several clients share the calling number (IN-1): the one
/// that matters most for routing wins. Unknown statuses rank with `standard`; `deceased` last
/// (the caller is someone else of the household).
fn status_rank(status: &str) -> u8 {
    match status {
        "vip" => 3,
        "debtor" => 2,
        "deceased" => 0,
        _ => 1,
    }
}

/// What routing knows of a caller (IN-1, IN-15) from the clients with the calling number: the
/// client when there is exactly one, and the status that matters most (see [`status_rank`]);
/// `None` when nobody has the number.
pub fn routing_facts(matches: &[Versioned<Client>]) -> Option<crate::routing::ClientFacts> {
    let strongest = matches
        .iter()
        .map(|c| c.value.status.as_str())
        .max_by_key(|status| status_rank(status))?;
    Some(crate::routing::ClientFacts {
        client_id: match matches {
            [only] => Some(only.value.client_id.clone()),
            _ => None,
        },
        status: Some(strongest.to_owned()),
    })
}

// ---------------------------------------------------------------------------------------------
// Validation of an edit
// ---------------------------------------------------------------------------------------------

fn no_control(text: &str, allow_newlines: bool) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

/// One value checked against its definition: the stored form, or what is wrong.
fn check_value(definition: &ClientFieldDefinition, raw: &str) -> Result<String, String> {
    let value = raw.trim();
    match definition.key.as_str() {
        keys::INSURANCE_NUMBER => {
            return parse_insurance_number(value)
                .map(|number| number.digits)
                .map_err(|error| error.to_string())
        }
        keys::ICO => return parse_ico(value).map_err(|error| error.to_string()),
        keys::POSTAL_CODE => {
            let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            return if digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(format!("{} {}", &digits[..3], &digits[3..]))
            } else {
                Err("must be 5 digits (e.g. 110 00)".to_owned())
            };
        }
        _ => {}
    }
    match definition.field_type {
        FieldType::Text => {
            if value.chars().count() > MAX_TEXT_CHARS {
                Err(format!("must be at most {MAX_TEXT_CHARS} characters"))
            } else if !no_control(value, false) {
                Err("must be one line without control characters".to_owned())
            } else {
                Ok(value.to_owned())
            }
        }
        FieldType::Textarea => {
            if raw.chars().count() > MAX_TEXTAREA_CHARS {
                Err(format!("must be at most {MAX_TEXTAREA_CHARS} characters"))
            } else if !no_control(raw, true) {
                Err("must not contain control characters".to_owned())
            } else {
                Ok(raw.trim_end().to_owned())
            }
        }
        FieldType::Date => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(date) if value.len() == 10 && chrono::Datelike::year(&date) >= 1850 => {
                Ok(date.format("%Y-%m-%d").to_string())
            }
            _ => Err("must be a date YYYY-MM-DD".to_owned()),
        },
        FieldType::Email => {
            if is_plausible_email(value) {
                Ok(value.to_owned())
            } else {
                Err("must be an e-mail address".to_owned())
            }
        }
        FieldType::Phone => normalise_phone(value).map_err(|error| error.to_string()),
        FieldType::Select => {
            if definition
                .options
                .iter()
                .any(|choice| choice.value == value)
            {
                Ok(value.to_owned())
            } else {
                let values: Vec<&str> = definition
                    .options
                    .iter()
                    .map(|choice| choice.value.as_str())
                    .collect();
                Err(format!("must be one of {}", values.join(", ")))
            }
        }
    }
}

/// Checks the `fields` of a create or an edit against the definitions. Each key must be a
/// defined, editable field; each value a string (an empty string or `null` clears it). Returns
/// the changes in their stored form (`None`: clear), or every problem, each naming
/// `fields.<key>`.
pub fn validate_changes(
    definitions: &[ClientFieldDefinition],
    changes: &serde_json::Map<String, Value>,
) -> Result<BTreeMap<String, Option<String>>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut valid = BTreeMap::new();
    if changes.len() > MAX_FIELDS {
        return Err(vec![FieldError::new(
            "fields",
            format!("must hold at most {MAX_FIELDS} fields"),
        )]);
    }
    for (key, value) in changes {
        let field = format!("fields.{key}");
        let Some(definition) = definitions.iter().find(|d| d.key == *key) else {
            errors.push(FieldError::new(field, "is not a client field"));
            continue;
        };
        if !definition.editable {
            errors.push(FieldError::new(field, "cannot be edited"));
            continue;
        }
        match value {
            Value::Null => {
                valid.insert(key.clone(), None);
            }
            Value::String(text) if text.trim().is_empty() => {
                valid.insert(key.clone(), None);
            }
            Value::String(text) => match check_value(definition, text) {
                Ok(stored) => {
                    valid.insert(key.clone(), Some(stored));
                }
                Err(message) => errors.push(FieldError::new(field, message)),
            },
            _ => errors.push(FieldError::new(field, "must be a string or null")),
        }
    }
    if errors.is_empty() {
        Ok(valid)
    } else {
        Err(errors)
    }
}

/// The required fields a record (after an edit) lacks, each as `fields.<key>: is required`.
pub fn missing_required(definitions: &[ClientFieldDefinition], client: &Client) -> Vec<FieldError> {
    definitions
        .iter()
        .filter(|d| d.required && client.field(&d.key).is_none())
        .map(|d| FieldError::new(format!("fields.{}", d.key), "is required"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The port
// ---------------------------------------------------------------------------------------------

/// A client was not stored.
#[derive(Debug, Error)]
pub enum ClientWriteError {
    /// Create: the id exists. Put: another writer changed the record since it was read.
    #[error("the client changed since it was read (or already exists)")]
    Conflict,
    /// Put: there is no such client.
    #[error("the client does not exist")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The client database (`ClientsTable`). Lookups return at most [`MAX_MATCHES`] clients, in no
/// particular order ([`sort_matches`] orders them).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// One client, or `None`.
    async fn get(&self, client_id: &str) -> Result<Option<Versioned<Client>>, StoreError>;
    /// Every client whose phone or mobile is `e164`.
    async fn find_by_phone(&self, e164: &str) -> Result<Vec<Versioned<Client>>, StoreError>;
    /// Every client whose e-mail is `email` (case-insensitive).
    async fn find_by_email(&self, email: &str) -> Result<Vec<Versioned<Client>>, StoreError>;
    /// Every client with the insurance number (bare digits).
    async fn find_by_insurance_number(
        &self,
        digits: &str,
    ) -> Result<Vec<Versioned<Client>>, StoreError>;
    /// Stores a new client at version 1; [`ClientWriteError::Conflict`] if the id exists.
    async fn create(&self, client: &Client) -> Result<(), ClientWriteError>;
    /// Replaces an existing client if its stored version is still `client.version`; stores
    /// `version + 1`.
    async fn put(&self, client: &Versioned<Client>) -> Result<(), ClientWriteError>;
    /// The import (ICIS load and weekly sync, CDB-1): writes every client unconditionally at
    /// `version + 1` (overwriting what is stored).
    async fn batch_put(&self, clients: &[Versioned<Client>]) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests;
