//! E-mail templates (issue 7, OMNI-2): texts the administrator prepares (`/api/admin/mail-templates`)
//! and agents start an e-mail from at the desk, editing before they send. Placeholders in
//! `{{…}}` are filled in at the desk: `{{jmeno}}` the customer's name, `{{agent}}` the agent's
//! name, `{{datum}}` today's date (d. m. yyyy). Any other placeholder is refused when saved, so a
//! customer never receives a raw `{{…}}`.

use serde::{Deserialize, Serialize};

use crate::{
    admin_config::{is_valid_config_id, ConfigEntity},
    problem::FieldError,
};

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 3] = ["jmeno", "agent", "datum"];
/// The longest template name.
pub const MAX_NAME_CHARS: usize = 80;

/// One e-mail template (ConfigTable `mailTemplate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MailTemplate {
    pub template_id: String,
    /// What agents pick it by, e.g. "Potvrzení změny adresy".
    pub name: String,
    pub subject: String,
    pub body: String,
    #[serde(default = "default_true")]
    pub active: bool,
}

fn default_true() -> bool {
    true
}

/// The placeholders `text` uses (the names inside `{{…}}`), or the first unclosed one as `Err`.
fn placeholders(text: &str) -> Result<Vec<&str>, ()> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(())?;
        found.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(found)
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, text: &str, max: usize, one_line: bool) {
    if text.trim().is_empty() || text.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
        return;
    }
    if text
        .chars()
        .any(|c| c.is_control() && (one_line || !matches!(c, '\n' | '\r' | '\t')))
    {
        errors.push(FieldError::new(
            field,
            if one_line {
                "must be one line without control characters"
            } else {
                "must not hold control characters"
            },
        ));
    }
    match placeholders(text) {
        Err(()) => errors.push(FieldError::new(field, "has a '{{' without '}}'")),
        Ok(names) => {
            for name in names {
                if !PLACEHOLDERS.contains(&name) {
                    errors.push(FieldError::new(
                        field,
                        format!(
                            "has an unknown placeholder {{{{{name}}}}}; allowed: {}",
                            PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
                        ),
                    ));
                }
            }
        }
    }
}

impl ConfigEntity for MailTemplate {
    const COLLECTION: &'static str = "mailTemplate";
    const ID_FIELD: &'static str = "templateId";
    const NOUN: &'static str = "mail-template";
    const PATH: &'static str = "mail-templates";

    fn id(&self) -> &str {
        &self.template_id
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_valid_config_id(&self.template_id) {
            errors.push(FieldError::new(
                "templateId",
                "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit",
            ));
        }
        check_text(&mut errors, "name", &self.name, MAX_NAME_CHARS, true);
        check_text(
            &mut errors,
            "subject",
            &self.subject,
            super::channels::MAX_SUBJECT_CHARS,
            true,
        );
        check_text(
            &mut errors,
            "body",
            &self.body,
            super::MAX_TEXT_CHARS,
            false,
        );
        errors
    }
}

/// What the placeholders stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateValues {
    pub customer_name: Option<String>,
    pub agent_name: String,
    /// Today, as `d. m. yyyy`.
    pub date: String,
}

/// `text` with its placeholders filled in (a missing name leaves nothing, and the space before
/// a following comma goes too: "Dobrý den {{jmeno}}," → "Dobrý den,").
pub fn fill(text: &str, values: &TemplateValues) -> String {
    let filled = text
        .replace("{{jmeno}}", values.customer_name.as_deref().unwrap_or(""))
        .replace("{{agent}}", &values.agent_name)
        .replace("{{datum}}", &values.date);
    filled.replace(" ,", ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(subject: &str, body: &str) -> MailTemplate {
        MailTemplate {
            template_id: "zmena-adresy".into(),
            name: "Potvrzení změny adresy".into(),
            subject: subject.into(),
            body: body.into(),
            active: true,
        }
    }

    #[test]
    fn when_a_template_uses_known_placeholders_should_be_valid() {
        let valid = template(
            "Změna adresy ze dne {{datum}}",
            "Dobrý den {{jmeno}},\n\nadresu jsme změnili.\n\n{{agent}}",
        );
        assert!(valid.validate().is_empty());
    }

    #[test]
    fn when_a_template_has_an_unknown_or_open_placeholder_should_name_the_field() {
        let errors = template("Dobrý den {{name}}", "Text {{jmeno").validate();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["subject", "body"]);
        assert!(errors[0].message.contains("{{name}}"), "{:?}", errors[0]);
    }

    #[test]
    fn when_a_subject_has_a_line_break_should_be_refused() {
        let errors = template("Řádek\nřádek", "Text").validate();
        assert_eq!(errors[0].field, "subject");
    }

    #[test]
    fn when_filled_should_replace_every_placeholder_and_tidy_a_missing_name() {
        let values = TemplateValues {
            customer_name: None,
            agent_name: "Petra Nováková".into(),
            date: "28. 11. 2026".into(),
        };
        assert_eq!(
            fill("Dobrý den {{jmeno}}, dne {{datum}} — {{agent}}", &values),
            "Dobrý den, dne 28. 11. 2026 — Petra Nováková"
        );
        let named = TemplateValues {
            customer_name: Some("Jano".into()),
            ..values
        };
        assert_eq!(fill("Dobrý den {{jmeno}},", &named), "Dobrý den Jano,");
    }
}
