//! The agent desk (issue 6): the agent's own desk settings (queues logged out of, favourites
//! of the transfer panel), what the desk shows about the agent's calls, and the CTI commands
//! its call-control buttons send (IN-3, IN-19, IN-20, DESK-1, DESK-3, DESK-8, DESK-9).
//!
//! Call control goes through the relay's command path: the desk turns a button into a
//! [`CommandAction`] for the agent's own device, the relay executes it at the PBX, and the
//! result comes back as CTI events (the desk never changes call state itself).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cti_events::{CommandAction, RequestedAgentState};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{
    cti_state::{AgentPresence, AgentState, CallDirection, DeviceCall, LocalState},
    identifiers::normalize_czech_phone,
    problem::FieldError,
};

/// Most favourites an agent can pin on the transfer panel.
pub const MAX_FAVOURITES: usize = 100;

/// The longest DTMF string sent in one command.
pub const MAX_DIGITS: usize = 32;

/// An agent's own desk settings (`AgentDeskTable`, pk `username`). Every queue membership is
/// logged in unless listed in `logged_out_queues` (DESK-3): a new member works the queue at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentDesk {
    pub username: String,
    #[serde(default)]
    pub logged_out_queues: BTreeSet<String>,
    /// Usernames and `line:<lineId>` entries, in the agent's order.
    #[serde(default)]
    pub favourites: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl AgentDesk {
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            ..Self::default()
        }
    }

    pub fn is_logged_in(&self, queue_id: &str) -> bool {
        !self.logged_out_queues.contains(queue_id)
    }

    /// Logs the agent in or out of a queue; true when that changed anything.
    pub fn set_logged_in(&mut self, queue_id: &str, logged_in: bool) -> bool {
        if logged_in {
            self.logged_out_queues.remove(queue_id)
        } else {
            self.logged_out_queues.insert(queue_id.to_owned())
        }
    }
}

/// Checks a favourites list: at most [`MAX_FAVOURITES`], no duplicates, each a username or
/// `line:<lineId>` of safe characters.
pub fn validate_favourites(favourites: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if favourites.len() > MAX_FAVOURITES {
        errors.push(FieldError::new(
            "favourites",
            format!("at most {MAX_FAVOURITES} favourites"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (index, favourite) in favourites.iter().enumerate() {
        let id = favourite.strip_prefix("line:").unwrap_or(favourite);
        let safe = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !safe {
            errors.push(FieldError::new(
                format!("favourites[{index}]"),
                "must be a user name or line:<lineId>",
            ));
        } else if !seen.insert(favourite.as_str()) {
            errors.push(FieldError::new(
                format!("favourites[{index}]"),
                "is listed twice",
            ));
        }
    }
    errors
}

/// A call as the desk shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeskCallState {
    /// The agent is dialling (initiated, the other side not answering yet).
    Initiated,
    Ringing,
    Connected,
    Held,
}

impl DeskCallState {
    pub fn of(state: LocalState) -> Option<Self> {
        match state {
            LocalState::Initiated => Some(Self::Initiated),
            LocalState::Alerting => Some(Self::Ringing),
            LocalState::Connected => Some(Self::Connected),
            LocalState::Hold => Some(Self::Held),
            LocalState::Queued | LocalState::Fail => None,
        }
    }
}

/// One of the agent's calls, as `GET /api/desk` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeskCall {
    pub call_key: String,
    pub relay_id: String,
    pub call_id: String,
    pub contact_id: String,
    pub state: DeskCallState,
    pub direction: CallDirection,
    pub remote: Option<String>,
    pub queue_id: Option<String>,
    pub since: DateTime<Utc>,
}

/// Calls older than this on a device are not shown (their end was never reported).
pub const MAX_DESK_CALL_AGE_HOURS: i64 = 12;

/// The desk's calls of an agent item at `now` (what `GET /api/desk` and the desk push show).
pub fn desk_calls_of(
    presence: &crate::cti_state::AgentPresence,
    now: DateTime<Utc>,
) -> Vec<DeskCall> {
    desk_calls(
        &presence.calls,
        now,
        chrono::TimeDelta::hours(MAX_DESK_CALL_AGE_HOURS),
    )
}

/// The desk's calls from the calls kept on the agent's device, newest first. Calls older than
/// `max_age` are dropped (their end was never reported, e.g. during a relay outage).
pub fn desk_calls<'a>(
    calls: impl IntoIterator<Item = (&'a String, &'a DeviceCall)>,
    now: DateTime<Utc>,
    max_age: chrono::TimeDelta,
) -> Vec<DeskCall> {
    let mut list: Vec<DeskCall> = calls
        .into_iter()
        .filter(|(_, call)| now - call.since <= max_age)
        .filter_map(|(key, call)| {
            Some(DeskCall {
                call_key: key.clone(),
                relay_id: call.relay_id.clone(),
                call_id: call.call_id.clone(),
                contact_id: call.contact_id.clone(),
                state: DeskCallState::of(call.state)?,
                direction: call.direction,
                remote: call.remote.clone(),
                queue_id: call.queue.clone(),
                since: call.since,
            })
        })
        .collect();
    list.sort_by(|a, b| {
        b.since
            .cmp(&a.since)
            .then_with(|| a.call_key.cmp(&b.call_key))
    });
    list
}

/// A call-control button (`POST /api/desk/calls/{relayId}/{callId}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskAction {
    Answer,
    Hangup,
    Hold,
    Retrieve,
    Consult,
    Transfer,
    BlindTransfer,
    Conference,
    SendDigits,
}

impl DeskAction {
    pub fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "answer" => Self::Answer,
            "hangup" => Self::Hangup,
            "hold" => Self::Hold,
            "retrieve" => Self::Retrieve,
            "consult" => Self::Consult,
            "transfer" => Self::Transfer,
            "blind-transfer" => Self::BlindTransfer,
            "conference" => Self::Conference,
            "send-digits" => Self::SendDigits,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Hangup => "hangup",
            Self::Hold => "hold",
            Self::Retrieve => "retrieve",
            Self::Consult => "consult",
            Self::Transfer => "transfer",
            Self::BlindTransfer => "blind-transfer",
            Self::Conference => "conference",
            Self::SendDigits => "send-digits",
        }
    }

    /// Whether the button needs a target (`consult`, `blind-transfer`).
    pub fn needs_target(self) -> bool {
        matches!(self, Self::Consult | Self::BlindTransfer)
    }
}

/// Where a consultation or a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum CallTarget {
    /// A colleague: their current device.
    Agent { username: String },
    /// A queue's PBX device (the call waits there like any other).
    Queue { queue_id: String },
    /// Any number: an extension or an external number.
    Number { number: String },
    /// A line of the transfer panel.
    Line { line_id: String },
}

/// The body of a call-control request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    pub target: Option<CallTarget>,
    /// The consultation call to join (transfer, conference); found on the device when absent.
    #[serde(default)]
    pub consult_call_id: Option<String>,
    #[serde(default)]
    pub digits: Option<String>,
}

/// Why a button cannot be turned into a command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeskActionError {
    #[error("the call is {state:?} at your phone; {action} is not possible now")]
    WrongState {
        action: &'static str,
        state: DeskCallState,
    },
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    #[error("there is no consultation call to join; consult someone first")]
    NoConsultation,
}

/// A number typed by an agent as a dialable destination: an extension (digits, `*`, `#`) or
/// an external number normalised to E.164 (+420 assumed for nine-digit Czech numbers).
pub fn dialable(number: &str) -> Option<String> {
    let trimmed: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if trimmed.is_empty() || trimmed.len() > 20 {
        return None;
    }
    if trimmed.len() <= 6
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return Some(trimmed);
    }
    if let Ok(e164) = normalize_czech_phone(&trimmed) {
        return Some(e164);
    }
    let digits = trimmed.strip_prefix('+').unwrap_or(&trimmed);
    (digits.len() >= 3 && digits.chars().all(|c| c.is_ascii_digit())).then(|| {
        if trimmed.starts_with('+') {
            trimmed.clone()
        } else {
            digits.to_owned()
        }
    })
}

fn valid_digits(digits: &str) -> bool {
    !digits.is_empty()
        && digits.len() <= MAX_DIGITS
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
}

/// The command a button sends for `call` at the agent's `device`. `target` is the resolved
/// destination of a consult or blind transfer; `others` are the device's other calls (for
/// transfer and conference: the held customer call and the active consultation).
pub fn command_for(
    action: DeskAction,
    device: &str,
    call: &DeskCall,
    body: &ActionBody,
    target: Option<&str>,
    others: &[DeskCall],
) -> Result<CommandAction, DeskActionError> {
    let device = device.to_owned();
    let call_id = call.call_id.clone();
    let wrong = |action: DeskAction| DeskActionError::WrongState {
        action: action.as_str(),
        state: call.state.clone(),
    };
    let need_target = || {
        target.map(str::to_owned).ok_or_else(|| {
            DeskActionError::Invalid(FieldError::new("target", "a target is required"))
        })
    };
    Ok(match action {
        DeskAction::Answer => {
            if call.state != DeskCallState::Ringing {
                return Err(wrong(action));
            }
            CommandAction::Answer { device, call_id }
        }
        DeskAction::Hangup => CommandAction::Hangup { device, call_id },
        DeskAction::Hold => {
            if call.state != DeskCallState::Connected {
                return Err(wrong(action));
            }
            CommandAction::Hold { device, call_id }
        }
        DeskAction::Retrieve => {
            if call.state != DeskCallState::Held {
                return Err(wrong(action));
            }
            CommandAction::Retrieve { device, call_id }
        }
        DeskAction::Consult => {
            if !matches!(call.state, DeskCallState::Connected | DeskCallState::Held) {
                return Err(wrong(action));
            }
            CommandAction::Consult {
                device,
                call_id,
                to: need_target()?,
            }
        }
        DeskAction::BlindTransfer => {
            if !matches!(call.state, DeskCallState::Connected | DeskCallState::Held) {
                return Err(wrong(action));
            }
            CommandAction::BlindTransfer {
                device,
                call_id,
                to: need_target()?,
            }
        }
        DeskAction::Transfer | DeskAction::Conference => {
            let (held, active) = consultation_pair(call, body, others)?;
            if action == DeskAction::Transfer {
                CommandAction::Transfer {
                    device,
                    held_call_id: held,
                    active_call_id: active,
                }
            } else {
                CommandAction::Conference {
                    device,
                    held_call_id: held,
                    active_call_id: active,
                }
            }
        }
        DeskAction::SendDigits => {
            let digits = body.digits.as_deref().unwrap_or_default();
            if !valid_digits(digits) {
                return Err(DeskActionError::Invalid(FieldError::new(
                    "digits",
                    format!("1 to {MAX_DIGITS} of 0-9 * # A-D"),
                )));
            }
            if call.state != DeskCallState::Connected {
                return Err(wrong(action));
            }
            CommandAction::SendDigits {
                device,
                call_id,
                digits: digits.to_owned(),
            }
        }
    })
}

/// The held call and the active call a transfer or conference joins: the button may be
/// pressed on either of them; the other is `consultCallId` or the device's only other call.
fn consultation_pair(
    call: &DeskCall,
    body: &ActionBody,
    others: &[DeskCall],
) -> Result<(String, String), DeskActionError> {
    let other = match &body.consult_call_id {
        Some(id) => others
            .iter()
            .find(|other| &other.call_id == id && other.relay_id == call.relay_id),
        None => {
            let mut candidates = others.iter().filter(|other| {
                other.call_id != call.call_id
                    && other.relay_id == call.relay_id
                    && matches!(
                        other.state,
                        DeskCallState::Connected
                            | DeskCallState::Held
                            | DeskCallState::Ringing
                            | DeskCallState::Initiated
                    )
            });
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                (Some(_), Some(_)) => {
                    return Err(DeskActionError::Invalid(FieldError::new(
                        "consultCallId",
                        "you have several calls: say which one to join",
                    )))
                }
                _ => None,
            }
        }
    };
    let other = other.ok_or(DeskActionError::NoConsultation)?;
    match (&call.state, &other.state) {
        (DeskCallState::Held, _) => Ok((call.call_id.clone(), other.call_id.clone())),
        (_, DeskCallState::Held) => Ok((other.call_id.clone(), call.call_id.clone())),
        _ => Err(DeskActionError::NoConsultation),
    }
}

/// Which phone an agent takes calls on (DESK-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PhoneKind {
    /// The desk phone: the extension of the agent number.
    Desk,
    /// The agent's mobile, through its PBX mobile extension.
    Mobile,
}

/// Why the agent cannot move to another phone now.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneSwitchError {
    #[error("you have no mobile phone set up; ask an administrator")]
    NoMobile,
    #[error("finish the calls at your phone first")]
    Busy,
}

/// The relay commands that move an agent to another phone (DESK-2): the ACD agent logs off at
/// the device they are logged on at and on at the other one, in the same state (ready, or not
/// ready with the same break), so routing offers the next call to the phone they now use. The
/// PBX (a MiVoice 5000 mobile extension) rings the mobile and reports its calls as the
/// extension's, so the rest of the desk works unchanged. Moving to the phone already in use
/// sends only the log-on (harmless), so a desk that lost track can always repair it.
pub fn phone_switch(
    agent_id: &str,
    current: Option<&AgentPresence>,
    current_device: &str,
    target_device: &str,
    now: DateTime<Utc>,
) -> Result<Vec<CommandAction>, PhoneSwitchError> {
    if current.is_some_and(|presence| !desk_calls_of(presence, now).is_empty()) {
        return Err(PhoneSwitchError::Busy);
    }
    let state = |device: &str, state, reason_code| CommandAction::AgentState {
        device: device.to_owned(),
        agent_id: agent_id.to_owned(),
        state,
        reason_code,
    };
    let logged_on = current.filter(|presence| presence.state != AgentState::LoggedOff);
    let mut commands = Vec::new();
    if logged_on.is_some() && current_device != target_device {
        commands.push(state(current_device, RequestedAgentState::LoggedOff, None));
    }
    commands.push(state(target_device, RequestedAgentState::LoggedOn, None));
    if current_device != target_device {
        match logged_on.map(|presence| (presence.state, presence.reason_code.clone())) {
            Some((AgentState::Ready, _)) => {
                commands.push(state(target_device, RequestedAgentState::Ready, None));
            }
            Some((AgentState::NotReady, Some(code))) => commands.push(state(
                target_device,
                RequestedAgentState::NotReady,
                Some(code),
            )),
            _ => {}
        }
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    fn call(id: &str, state: DeskCallState) -> DeskCall {
        DeskCall {
            call_key: format!("prg-1/{id}"),
            relay_id: "prg-1".into(),
            call_id: id.into(),
            contact_id: format!("prg-1:1:{id}"),
            state,
            direction: CallDirection::Inbound,
            remote: Some("+420601123456".into()),
            queue_id: Some("kkc".into()),
            since: at(0),
        }
    }

    #[test]
    fn when_agent_logs_out_of_a_queue_and_back_should_track_only_the_change() {
        let mut desk = AgentDesk::new("agent01");
        assert!(desk.is_logged_in("kkc"));
        assert!(desk.set_logged_in("kkc", false));
        assert!(!desk.set_logged_in("kkc", false));
        assert!(!desk.is_logged_in("kkc"));
        assert!(desk.set_logged_in("kkc", true));
        assert!(desk.is_logged_in("kkc"));
    }

    #[test]
    fn when_favourites_are_checked_should_reject_duplicates_and_bad_ids() {
        let ok = vec!["agent02".to_owned(), "line:ext-pojistovna".to_owned()];
        assert!(validate_favourites(&ok).is_empty());
        let bad = vec![
            "agent02".to_owned(),
            "agent02".to_owned(),
            "Ag ent".to_owned(),
        ];
        let errors = validate_favourites(&bad);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "favourites[1]");
        assert_eq!(errors[1].field, "favourites[2]");
    }

    #[test]
    fn when_a_ringing_call_is_answered_should_command_the_agents_device() {
        let ringing = call("c1", DeskCallState::Ringing);
        let command = command_for(
            DeskAction::Answer,
            "2001",
            &ringing,
            &ActionBody::default(),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            command,
            CommandAction::Answer {
                device: "2001".into(),
                call_id: "c1".into()
            }
        );
        // A connected call cannot be answered again.
        let connected = call("c1", DeskCallState::Connected);
        assert!(matches!(
            command_for(
                DeskAction::Answer,
                "2001",
                &connected,
                &ActionBody::default(),
                None,
                &[]
            ),
            Err(DeskActionError::WrongState { .. })
        ));
    }

    #[test]
    fn when_consulting_should_require_a_target() {
        let connected = call("c1", DeskCallState::Connected);
        let missing = command_for(
            DeskAction::Consult,
            "2001",
            &connected,
            &ActionBody::default(),
            None,
            &[],
        );
        assert!(matches!(missing, Err(DeskActionError::Invalid(_))));
        let command = command_for(
            DeskAction::Consult,
            "2001",
            &connected,
            &ActionBody::default(),
            Some("2002"),
            &[],
        )
        .unwrap();
        assert_eq!(
            command,
            CommandAction::Consult {
                device: "2001".into(),
                call_id: "c1".into(),
                to: "2002".into()
            }
        );
    }

    #[test]
    fn when_transferring_after_a_consultation_should_join_the_held_and_the_active_call() {
        let held = call("c1", DeskCallState::Held);
        let consultation = call("c2", DeskCallState::Connected);
        let calls = vec![held.clone(), consultation.clone()];
        // Pressed on either call, the held one is the customer's.
        for pressed in [&held, &consultation] {
            let command = command_for(
                DeskAction::Transfer,
                "2001",
                pressed,
                &ActionBody::default(),
                None,
                &calls,
            )
            .unwrap();
            assert_eq!(
                command,
                CommandAction::Transfer {
                    device: "2001".into(),
                    held_call_id: "c1".into(),
                    active_call_id: "c2".into()
                }
            );
        }
        // Without a consultation there is nothing to join.
        assert_eq!(
            command_for(
                DeskAction::Conference,
                "2001",
                &held,
                &ActionBody::default(),
                None,
                std::slice::from_ref(&held)
            ),
            Err(DeskActionError::NoConsultation)
        );
    }

    #[test]
    fn when_digits_are_sent_should_accept_only_dtmf_characters() {
        let connected = call("c1", DeskCallState::Connected);
        let body = |digits: &str| ActionBody {
            digits: Some(digits.into()),
            ..ActionBody::default()
        };
        assert!(command_for(
            DeskAction::SendDigits,
            "2001",
            &connected,
            &body("12#"),
            None,
            &[]
        )
        .is_ok());
        assert!(command_for(
            DeskAction::SendDigits,
            "2001",
            &connected,
            &body("12x"),
            None,
            &[]
        )
        .is_err());
        assert!(command_for(
            DeskAction::SendDigits,
            "2001",
            &connected,
            &body(""),
            None,
            &[]
        )
        .is_err());
    }

    #[test]
    fn when_numbers_are_typed_should_give_extensions_or_e164() {
        assert_eq!(dialable("2002").as_deref(), Some("2002"));
        assert_eq!(dialable("777 123 456").as_deref(), Some("+420777123456"));
        assert_eq!(
            dialable("+420 777 123 456").as_deref(),
            Some("+420777123456")
        );
        assert_eq!(dialable("+49301234567").as_deref(), Some("+49301234567"));
        assert_eq!(dialable("abc"), None);
        assert_eq!(dialable(""), None);
    }

    #[test]
    fn when_device_calls_are_listed_should_drop_stale_ones_and_show_newest_first() {
        let device_call = |id: &str, since: i64, state: LocalState| DeviceCall {
            relay_id: "prg-1".into(),
            call_id: id.into(),
            contact_id: id.into(),
            state,
            since: at(since),
            remote: None,
            direction: CallDirection::Inbound,
            queue: None,
        };
        let calls: std::collections::BTreeMap<String, DeviceCall> = [
            (
                "prg-1/old".to_owned(),
                device_call("old", 0, LocalState::Connected),
            ),
            (
                "prg-1/a".to_owned(),
                device_call("a", 50_000, LocalState::Hold),
            ),
            (
                "prg-1/b".to_owned(),
                device_call("b", 50_010, LocalState::Connected),
            ),
        ]
        .into_iter()
        .collect();
        let list = desk_calls(&calls, at(50_020), TimeDelta::hours(12));
        let ids: Vec<&str> = list.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(list[1].state, DeskCallState::Held);
    }

    fn at_device(device: &str, state: AgentState, reason: Option<&str>) -> AgentPresence {
        AgentPresence {
            agent_id: Some("2001".into()),
            state,
            reason_code: reason.map(str::to_owned),
            since: Some(at(0)),
            ..AgentPresence::new(device)
        }
    }

    fn agent_state(
        device: &str,
        state: RequestedAgentState,
        reason: Option<&str>,
    ) -> CommandAction {
        CommandAction::AgentState {
            device: device.into(),
            agent_id: "2001".into(),
            state,
            reason_code: reason.map(str::to_owned),
        }
    }

    #[test]
    fn when_a_ready_agent_moves_to_the_mobile_should_log_off_the_desk_phone_and_be_ready_there() {
        let desk = at_device("2001", AgentState::Ready, None);
        assert_eq!(
            phone_switch("2001", Some(&desk), "2001", "2901", at(5)).unwrap(),
            [
                agent_state("2001", RequestedAgentState::LoggedOff, None),
                agent_state("2901", RequestedAgentState::LoggedOn, None),
                agent_state("2901", RequestedAgentState::Ready, None),
            ]
        );
    }

    #[test]
    fn when_an_agent_on_a_break_moves_should_keep_the_break_and_a_logged_off_one_only_logs_on() {
        let on_break = at_device("2901", AgentState::NotReady, Some("OBED"));
        assert_eq!(
            phone_switch("2001", Some(&on_break), "2901", "2001", at(5)).unwrap(),
            [
                agent_state("2901", RequestedAgentState::LoggedOff, None),
                agent_state("2001", RequestedAgentState::LoggedOn, None),
                agent_state("2001", RequestedAgentState::NotReady, Some("OBED")),
            ]
        );
        let off = at_device("2001", AgentState::LoggedOff, None);
        assert_eq!(
            phone_switch("2001", Some(&off), "2001", "2901", at(5)).unwrap(),
            [agent_state("2901", RequestedAgentState::LoggedOn, None)]
        );
        assert_eq!(
            phone_switch("2001", None, "2001", "2001", at(5)).unwrap(),
            [agent_state("2001", RequestedAgentState::LoggedOn, None)]
        );
    }

    #[test]
    fn when_the_agent_has_a_call_at_the_phone_should_refuse_to_move() {
        let mut busy = at_device("2001", AgentState::Busy, None);
        busy.calls.insert(
            "prg-1/c1".into(),
            DeviceCall {
                relay_id: "prg-1".into(),
                call_id: "c1".into(),
                contact_id: "prg-1:1:c1".into(),
                state: LocalState::Connected,
                since: at(0),
                remote: Some("+420777000111".into()),
                direction: CallDirection::Inbound,
                queue: None,
            },
        );
        assert_eq!(
            phone_switch("2001", Some(&busy), "2001", "2901", at(5)),
            Err(PhoneSwitchError::Busy)
        );
    }
}
