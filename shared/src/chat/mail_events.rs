//! What became of an e-mail an agent sent (issue 7, OMNI-2): SES publishes the events of the
//! configuration set Linka sends with (bounces, complaints, rejections) to `MailEventsTopic`,
//! which feeds the same inbound queue as received mail. A bounced reply is work for the agent —
//! the client must be reached another way — so each such event becomes a note in the e-mail's
//! conversation, in Czech, found through the sent e-mail's id (`alias#mailid:<SES id>`, written
//! when it was sent). Deliveries and other events need nothing.

use serde::Deserialize;

/// An SES event-publishing record (`eventType`), the fields Linka reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesEvent {
    /// `Bounce`, `Complaint`, `Reject`, `Delivery`, `Send`, `DeliveryDelay`, …
    pub event_type: String,
    pub mail: SesEventMail,
    #[serde(default)]
    pub bounce: Option<SesBounce>,
    #[serde(default)]
    pub complaint: Option<SesComplaint>,
    #[serde(default)]
    pub reject: Option<SesReject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesEventMail {
    /// SES's id of the sent message (what the send call returned).
    pub message_id: String,
    #[serde(default)]
    pub destination: Vec<String>,
    #[serde(default)]
    pub common_headers: Option<SesCommonHeaders>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesCommonHeaders {
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesBounce {
    /// `Permanent`, `Transient` or `Undetermined`.
    pub bounce_type: String,
    #[serde(default)]
    pub bounced_recipients: Vec<SesRecipient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesRecipient {
    pub email_address: String,
    /// The receiving server's answer (`smtp; 550 5.1.1 user unknown`).
    #[serde(default)]
    pub diagnostic_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesComplaint {
    #[serde(default)]
    pub complained_recipients: Vec<SesRecipient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesReject {
    #[serde(default)]
    pub reason: Option<String>,
}

/// The longest server answer quoted in a note.
const MAX_DIAGNOSTIC_CHARS: usize = 300;

impl SesEvent {
    /// The idempotency key of the note this event makes (a redelivered event finds it).
    pub fn note_key(&self) -> String {
        format!(
            "ses:{}:{}",
            self.event_type.to_ascii_lowercase(),
            self.mail.message_id
        )
    }

    /// The note for the agents, or `None` for an event that needs no one's attention.
    pub fn note(&self) -> Option<String> {
        let subject = self
            .mail
            .common_headers
            .as_ref()
            .and_then(|headers| headers.subject.as_deref())
            .map(str::trim)
            .filter(|subject| !subject.is_empty())
            .map_or_else(String::new, |subject| format!(" „{subject}“"));
        match self.event_type.as_str() {
            "Bounce" => {
                let bounce = self.bounce.as_ref();
                let recipients = bounce.map_or(&[][..], |b| b.bounced_recipients.as_slice());
                let kind = match bounce.map(|b| b.bounce_type.as_str()) {
                    Some("Permanent") => "trvale odmítnut",
                    Some("Transient") => "dočasně odmítnut, SES to vzdal",
                    _ => "odmítnut",
                };
                let diagnostics: Vec<String> = recipients
                    .iter()
                    .filter_map(|r| r.diagnostic_code.as_deref())
                    .map(|code| code.trim().chars().take(MAX_DIAGNOSTIC_CHARS).collect())
                    .collect();
                let why = if diagnostics.is_empty() {
                    String::new()
                } else {
                    format!(" Odpověď serveru: {}.", diagnostics.join("; "))
                };
                Some(format!(
                    "E-mail{subject} nebyl doručen na {} ({kind}).{why} Kontaktujte klienta jinak nebo ověřte adresu.",
                    self.addresses(recipients)
                ))
            }
            "Complaint" => {
                let recipients = self
                    .complaint
                    .as_ref()
                    .map_or(&[][..], |c| c.complained_recipients.as_slice());
                Some(format!(
                    "Příjemce {} označil e-mail{subject} za nevyžádaný. Další e-maily mu neposílejte.",
                    self.addresses(recipients)
                ))
            }
            "Reject" => {
                let reason = self
                    .reject
                    .as_ref()
                    .and_then(|r| r.reason.as_deref())
                    .map(|reason| format!(" ({reason})"))
                    .unwrap_or_default();
                Some(format!(
                    "E-mail{subject} nebyl odeslán: SES ho odmítl{reason}."
                ))
            }
            _ => None,
        }
    }

    /// The recipients named, else the e-mail's destination.
    fn addresses(&self, recipients: &[SesRecipient]) -> String {
        let named: Vec<&str> = recipients
            .iter()
            .map(|r| r.email_address.as_str())
            .collect();
        if named.is_empty() {
            self.mail.destination.join(", ")
        } else {
            named.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(value: serde_json::Value) -> SesEvent {
        serde_json::from_value(value).unwrap()
    }

    fn mail() -> serde_json::Value {
        json!({"messageId": "0107018f-aaaa", "destination": ["jana@example.cz"],
               "commonHeaders": {"subject": "Re: Karta EHIC"}})
    }

    #[test]
    fn when_a_reply_bounces_for_good_should_the_note_name_the_address_and_the_servers_answer() {
        let bounce = event(json!({
            "eventType": "Bounce", "mail": mail(),
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "jana@example.cz",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2026-11-29T09:00:00.000Z"}
        }));
        assert_eq!(
            bounce.note().unwrap(),
            "E-mail „Re: Karta EHIC“ nebyl doručen na jana@example.cz (trvale odmítnut). Odpověď serveru: smtp; 550 5.1.1 user unknown. Kontaktujte klienta jinak nebo ověřte adresu."
        );
        assert_eq!(bounce.note_key(), "ses:bounce:0107018f-aaaa");
    }

    #[test]
    fn when_a_recipient_complains_or_ses_rejects_should_the_note_say_so() {
        let complaint = event(json!({
            "eventType": "Complaint", "mail": mail(),
            "complaint": {"complainedRecipients": [{"emailAddress": "jana@example.cz"}]}
        }));
        assert_eq!(
            complaint.note().unwrap(),
            "Příjemce jana@example.cz označil e-mail „Re: Karta EHIC“ za nevyžádaný. Další e-maily mu neposílejte."
        );
        let reject = event(json!({
            "eventType": "Reject", "mail": {"messageId": "m-2", "destination": ["x@example.cz"]},
            "reject": {"reason": "Bad content"}
        }));
        assert_eq!(
            reject.note().unwrap(),
            "E-mail nebyl odeslán: SES ho odmítl (Bad content)."
        );
    }

    #[test]
    fn when_a_bounce_names_no_recipient_should_the_destination_be_named() {
        let bounce = event(json!({
            "eventType": "Bounce", "mail": mail(), "bounce": {"bounceType": "Transient"}
        }));
        assert_eq!(
            bounce.note().unwrap(),
            "E-mail „Re: Karta EHIC“ nebyl doručen na jana@example.cz (dočasně odmítnut, SES to vzdal). Kontaktujte klienta jinak nebo ověřte adresu."
        );
    }

    #[test]
    fn when_an_e_mail_was_delivered_should_no_note_be_made() {
        for kind in ["Delivery", "Send", "DeliveryDelay", "Open"] {
            assert_eq!(
                event(json!({"eventType": kind, "mail": mail()})).note(),
                None
            );
        }
    }
}
