//! A call in a cloud-driven IVR (IN-10…IN-13): what the routing function keeps between the
//! PBX's reports ([`IvrCall`], stored per call), and the pure mappings around the interpreter
//! ([`crate::ivr::step`]): a port's report → the interpreter's input, what the call waits for.
//!
//! The routing function creates the record when it routes a call into an IVR tree, starts the
//! tree when the IVR port answers, and from then on takes one step per report of the port
//! (`cti_events::IvrPortEvent`), commanding the port (play, collect, record) or transferring
//! the call out. A report whose `promptId` is not the one the call waits for is stale (a
//! repeated or overtaken report) and changes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cti_events::IvrPortOutcome;
use serde::{Deserialize, Serialize};

use crate::ivr::{IvrInput, IvrSession};

/// What an IVR call waits for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Awaiting {
    /// The IVR port has not answered yet.
    #[default]
    Answer,
    /// The end of the prompt (and its digit collection): the interpreter's next input.
    Input,
    /// The end of a voicemail greeting; then the recording into the queue's mailbox.
    Greeting {
        queue_id: String,
        max_seconds: u32,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// The recording of a voicemail (stored as `key`).
    Recording {
        queue_id: String,
        key: String,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// The end of a last prompt; then the call is cleared.
    HangupAfterPrompt,
    /// The call has left the IVR (transferred, cleared).
    Done,
}

/// One call in an IVR tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IvrCall {
    /// `<relayId>/<callId>`.
    pub call_key: String,
    pub relay_id: String,
    /// The PBX's call id.
    pub pbx_call_id: String,
    pub ivr_id: String,
    /// The IVR port the call was sent to.
    pub port: String,
    /// Start at this node instead of the tree's entry node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_node: Option<String>,
    /// The caller (E.164 when it is a Czech number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// The number dialled (the route point).
    pub dialled: String,
    /// When the call entered the system.
    pub entered_at: DateTime<Utc>,
    #[serde(default)]
    pub session: IvrSession,
    /// The `promptId` of the command whose report the call waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<String>,
    #[serde(default)]
    pub awaiting: Awaiting,
    pub updated_at: DateTime<Utc>,
}

impl IvrCall {
    /// Whether a report with `prompt_id` is the one the call waits for.
    pub fn expects(&self, prompt_id: &str) -> bool {
        self.prompt_id.as_deref() == Some(prompt_id) && self.awaiting != Awaiting::Done
    }
}

/// The interpreter's input for a port's report of a prompt or collection; `None` for the
/// reports of a recording.
pub fn input_for(outcome: &IvrPortOutcome) -> Option<IvrInput> {
    match outcome {
        IvrPortOutcome::PromptFinished => Some(IvrInput::PromptFinished),
        IvrPortOutcome::DigitsCollected { digits } => Some(IvrInput::Digits(digits.clone())),
        IvrPortOutcome::CollectTimeout => Some(IvrInput::Timeout),
        IvrPortOutcome::RecordingStored { .. } | IvrPortOutcome::RecordingFailed { .. } => None,
    }
}

/// The Czech text announcing a caller's position in the queue (IN-12).
pub fn position_text(position: Option<u32>) -> String {
    match position {
        Some(1) => "Jste první v pořadí. Děkujeme za trpělivost.".to_owned(),
        Some(n) => format!("Jste {n}. v pořadí. Děkujeme za trpělivost."),
        None => "Všichni operátoři jsou obsazeni. Děkujeme za trpělivost.".to_owned(),
    }
}

/// The lost call an IVR call became when the caller hung up in the tree (IN-22): lost before
/// the IVR when the port had not answered yet, in the IVR while the tree was talking with the
/// caller. `None` when the call had left the tree, the tree was ending it (its last prompt), or
/// the caller was leaving a message (the voicemail is the follow-up). The contact reference is
/// the call key, so a repeated trigger finds the callback it already made.
pub fn lost_in_ivr(
    call: &IvrCall,
    queue_id: &str,
    priority: u8,
    lost_at: DateTime<Utc>,
) -> Option<crate::callbacks::LostCall> {
    use crate::contacts::{elapsed_ms, ContactOutcome, ContactResult, LostPhase};
    let phase = match call.awaiting {
        Awaiting::Answer => LostPhase::BeforeIvr,
        Awaiting::Input | Awaiting::Greeting { .. } => LostPhase::InIvr,
        Awaiting::Recording { .. } | Awaiting::HangupAfterPrompt | Awaiting::Done => return None,
    };
    Some(crate::callbacks::LostCall {
        contact_id: call.call_key.clone(),
        queue_id: queue_id.to_owned(),
        caller: call.caller.clone(),
        entered_at: call.entered_at,
        priority,
        outcome: ContactOutcome {
            result: ContactResult::Abandoned,
            lost_phase: Some(phase),
            total_ms: elapsed_ms(call.entered_at, lost_at),
            from_ivr_ms: (phase == LostPhase::InIvr).then(|| elapsed_ms(call.entered_at, lost_at)),
            from_queue_ms: None,
            from_ring_ms: None,
            answered_by: None,
            missed_by: Vec::new(),
        },
        client_id: None,
        client_name: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_port_reports_should_map_to_the_interpreter_input() {
        assert_eq!(
            input_for(&IvrPortOutcome::DigitsCollected {
                digits: "12#".into()
            }),
            Some(IvrInput::Digits("12#".into()))
        );
        assert_eq!(
            input_for(&IvrPortOutcome::CollectTimeout),
            Some(IvrInput::Timeout)
        );
        assert_eq!(
            input_for(&IvrPortOutcome::PromptFinished),
            Some(IvrInput::PromptFinished)
        );
        assert_eq!(
            input_for(&IvrPortOutcome::RecordingStored {
                key: "k".into(),
                duration_ms: 1
            }),
            None
        );
    }

    #[test]
    fn when_the_position_is_known_should_say_it_in_czech() {
        assert_eq!(
            position_text(Some(3)),
            "Jste 3. v pořadí. Děkujeme za trpělivost."
        );
        assert!(position_text(None).starts_with("Všichni"));
    }

    #[test]
    fn when_a_report_is_stale_should_not_be_expected() {
        let call = IvrCall {
            call_key: "r/c".into(),
            relay_id: "r".into(),
            pbx_call_id: "c".into(),
            ivr_id: "hlavni".into(),
            port: "6101".into(),
            start_node: None,
            caller: None,
            dialled: "4000".into(),
            entered_at: Utc::now(),
            session: IvrSession::default(),
            prompt_id: Some("p2".into()),
            awaiting: Awaiting::Input,
            updated_at: Utc::now(),
        };
        assert!(call.expects("p2"));
        assert!(!call.expects("p1"));
        let done = IvrCall {
            awaiting: Awaiting::Done,
            ..call
        };
        assert!(!done.expects("p2"));
    }

    #[test]
    fn when_the_caller_hangs_up_in_the_tree_should_be_lost_before_or_in_the_ivr_only_while_it_talks(
    ) {
        use crate::contacts::LostPhase;
        let entered = DateTime::parse_from_rfc3339("2026-12-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut call = IvrCall {
            call_key: "r/c".into(),
            relay_id: "r".into(),
            pbx_call_id: "c".into(),
            ivr_id: "hlavni".into(),
            port: "6101".into(),
            start_node: None,
            caller: Some("+420601123456".into()),
            dialled: "4000".into(),
            entered_at: entered,
            session: IvrSession::default(),
            prompt_id: None,
            awaiting: Awaiting::Answer,
            updated_at: entered,
        };
        let later = entered + chrono::TimeDelta::seconds(40);
        let phase = |call: &IvrCall| {
            lost_in_ivr(call, "kkc", 7, later).map(|lost| {
                assert_eq!(lost.contact_id, "r/c");
                assert_eq!(lost.queue_id, "kkc");
                assert_eq!(lost.priority, 7);
                assert_eq!(lost.outcome.total_ms, 40_000);
                lost.outcome.lost_phase
            })
        };
        assert_eq!(phase(&call), Some(Some(LostPhase::BeforeIvr)));
        call.awaiting = Awaiting::Input;
        assert_eq!(phase(&call), Some(Some(LostPhase::InIvr)));
        for leaving in [
            Awaiting::HangupAfterPrompt,
            Awaiting::Done,
            Awaiting::Recording {
                queue_id: "kkc".into(),
                key: "k".into(),
                attributes: BTreeMap::new(),
            },
        ] {
            call.awaiting = leaving;
            assert_eq!(phase(&call), None, "{:?}", call.awaiting);
        }
    }
}
