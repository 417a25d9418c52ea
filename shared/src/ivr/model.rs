//! The IVR tree document: a tree id, an entry node and a map of nodes, stored as JSON like the
//! other configuration (`ConfigTable`, collection `ivr`).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::queues::QueueSchedule;

/// Most nodes in one tree.
pub const MAX_NODES: usize = 200;

/// Longest TTS text.
pub const MAX_TTS_CHARS: usize = 1000;

/// Longest attribute value set by a `setAttribute` node.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 200;

/// Longest digit string a `collectDigits` node may ask for.
pub const MAX_COLLECT_DIGITS: u32 = 32;

fn default_true() -> bool {
    true
}

fn default_menu_timeout() -> u32 {
    5
}

fn default_collect_timeout() -> u32 {
    10
}

fn default_attempts() -> u32 {
    3
}

fn default_accept_digit() -> String {
    "1".to_owned()
}

fn default_voicemail_seconds() -> u32 {
    120
}

/// What the PBX plays: an uploaded recording or text read by the TTS engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum PromptRef {
    /// An uploaded recording, by its storage key (e.g. `prompts/hlavni-linka/uvitani.wav`).
    Audio { key: String },
    /// Text to speech (Czech), optionally with a named voice of the TTS engine.
    Tts {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voice: Option<String>,
    },
}

impl PromptRef {
    /// A TTS prompt with the default voice.
    pub fn tts(text: impl Into<String>) -> Self {
        Self::Tts {
            text: text.into(),
            voice: None,
        }
    }
}

/// The general-problem announcement of a line (hláška o všeobecném problému, IN-6): played before
/// the entry node while `active`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneralAnnouncement {
    pub prompt: PromptRef,
    #[serde(default)]
    pub active: bool,
}

/// An IVR tree (strom IVR): one voice application, e.g. the main client line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IvrTree {
    /// The id (`^[a-z0-9][a-z0-9-]{0,39}$`), the same as `OverflowTarget::Ivr { ivrId }`.
    pub ivr_id: String,
    pub name: String,
    /// Whether calls may enter the tree (an inactive tree is kept but not used).
    #[serde(default = "default_true")]
    pub active: bool,
    /// The node every call starts at.
    pub entry_node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_announcement: Option<GeneralAnnouncement>,
    /// The queue whose agents call back the callers who hang up in this tree (IN-22); without
    /// it, the only queue the tree sends calls to (see [`IvrTree::lost_calls_queue`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_calls_queue_id: Option<String>,
    /// Node id → node. Duplicate ids are refused when parsing.
    #[serde(deserialize_with = "unique_keys")]
    pub nodes: BTreeMap<String, Node>,
}

impl IvrTree {
    /// The queue a caller who hangs up in this tree is called back from (IN-22): the one set
    /// for the tree, else the one queue its transfers, callback offers and mailboxes lead to.
    /// `None` when the tree leads to several queues and none is set, or to none.
    pub fn lost_calls_queue(&self) -> Option<&str> {
        if let Some(queue_id) = &self.lost_calls_queue_id {
            return Some(queue_id);
        }
        let mut destinations = self.nodes.values().filter_map(|node| match node {
            Node::TransferToQueue { queue_id, .. }
            | Node::CallbackOffer { queue_id, .. }
            | Node::Voicemail { queue_id, .. } => Some(queue_id.as_str()),
            _ => None,
        });
        let first = destinations.next()?;
        destinations
            .all(|queue_id| queue_id == first)
            .then_some(first)
    }
}

/// The value a `collectDigits` node checks before storing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DigitValidation {
    /// Any digits within the length limits.
    None,
    /// Digits only (`*` and `#` refused).
    Digits,
    /// Číslo pojištěnce (`identifiers::parse_insurance_number`).
    InsuranceNumber,
    /// Rodné číslo (`identifiers::parse_birth_number`).
    BirthNumber,
    /// A Czech phone number, stored in E.164.
    Phone,
}

/// A live queue statistic a `branchStatistic` node compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum QueueStatistic {
    AgentsLoggedOn,
    AgentsReady,
    WaitingCalls,
    LongestWaitSeconds,
}

/// A comparison: `statistic <op> value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Comparison {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl Comparison {
    pub fn holds(self, left: u32, right: u32) -> bool {
        match self {
            Self::Lt => left < right,
            Self::Le => left <= right,
            Self::Eq => left == right,
            Self::Ne => left != right,
            Self::Ge => left >= right,
            Self::Gt => left > right,
        }
    }
}

/// One node of a tree, tagged by `kind`. Node references are node ids of the same tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Node {
    /// Plays a prompt, then goes on.
    Prompt { prompt: PromptRef, next: String },
    /// A DTMF menu (hlasové menu): one key chooses an option.
    Menu {
        prompt: PromptRef,
        /// Key (`0`–`9`, `*`, `#`) → node. Duplicate keys are refused when parsing.
        #[serde(deserialize_with = "unique_keys")]
        options: BTreeMap<String, String>,
        #[serde(default = "default_menu_timeout")]
        timeout_seconds: u32,
        /// Timeouts and invalid keys allowed before `onExhausted`.
        #[serde(default = "default_attempts")]
        max_attempts: u32,
        /// Where a timeout goes while attempts remain; `None`: the menu is played again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_timeout: Option<String>,
        /// Where an invalid key goes while attempts remain; `None`: the menu is played again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_invalid: Option<String>,
        on_exhausted: String,
    },
    /// Collects a number (e.g. the insurance number), checks it and stores it as an attribute.
    CollectDigits {
        prompt: PromptRef,
        min_digits: u32,
        max_digits: u32,
        /// `#` or `*`: ends the input early; not part of the value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminator: Option<char>,
        #[serde(default = "default_collect_timeout")]
        timeout_seconds: u32,
        validation: DigitValidation,
        /// The attribute the (normalised) value is stored in, e.g. `insuranceNumber`.
        attribute: String,
        next: String,
        /// Where an invalid value or a timeout goes while attempts remain; `None`: asked again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_invalid: Option<String>,
        #[serde(default = "default_attempts")]
        max_attempts: u32,
        on_exhausted: String,
    },
    /// Branches on opening hours: a queue's (`queueId`) or the node's own `schedule`.
    BranchHours {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schedule: Option<QueueSchedule>,
        open: String,
        closed: String,
    },
    /// Branches on a live queue statistic (IN-9): `stat op value` → `then`, otherwise `else`
    /// (also when the statistic is unknown).
    BranchStatistic {
        queue_id: String,
        stat: QueueStatistic,
        op: Comparison,
        value: u32,
        then: String,
        #[serde(rename = "else")]
        otherwise: String,
    },
    /// Branches on the caller's client status (IN-1), e.g. `VIP`, `dluznik`, matched ignoring
    /// case; `default` when the status is unknown or not listed.
    BranchClientStatus {
        #[serde(deserialize_with = "unique_keys")]
        statuses: BTreeMap<String, String>,
        default: String,
    },
    /// Sets a call attribute shown to the agent (IN-13), e.g. `problem` = `platby`.
    SetAttribute {
        name: String,
        value: String,
        next: String,
    },
    /// Queues the call (ends the IVR).
    TransferToQueue {
        queue_id: String,
        /// 1 (lowest) to 10 (highest); `None`: the queue's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<u8>,
    },
    /// Transfers to an extension or an E.164 number (ends the IVR).
    TransferToNumber { number: String },
    /// Records a message into a queue's mailbox (ends the IVR).
    Voicemail {
        queue_id: String,
        greeting: PromptRef,
        #[serde(default = "default_voicemail_seconds")]
        max_seconds: u32,
    },
    /// Offers a callback (IN-11): `acceptDigit` accepts, anything else (or silence) declines.
    /// With `allowChosenTime` the caller then types the preferred time as HHMM.
    CallbackOffer {
        queue_id: String,
        prompt: PromptRef,
        #[serde(default = "default_accept_digit")]
        accept_digit: String,
        #[serde(default)]
        allow_chosen_time: bool,
        /// Asks for the time (required with `allowChosenTime`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_prompt: Option<PromptRef>,
        #[serde(default = "default_menu_timeout")]
        timeout_seconds: u32,
        /// Tries at typing a valid time; then the callback is booked without one.
        #[serde(default = "default_attempts")]
        max_attempts: u32,
        /// After the callback is booked; `None`: the call ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted: Option<String>,
        declined: String,
    },
    /// Announces the caller's position in a queue (IN-12), then goes on.
    AnnouncePosition { queue_id: String, next: String },
    /// Ends the call, optionally after a prompt.
    Hangup {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<PromptRef>,
    },
}

/// The node kind as it appears in JSON (`kind`).
impl Node {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Prompt { .. } => "prompt",
            Self::Menu { .. } => "menu",
            Self::CollectDigits { .. } => "collectDigits",
            Self::BranchHours { .. } => "branchHours",
            Self::BranchStatistic { .. } => "branchStatistic",
            Self::BranchClientStatus { .. } => "branchClientStatus",
            Self::SetAttribute { .. } => "setAttribute",
            Self::TransferToQueue { .. } => "transferToQueue",
            Self::TransferToNumber { .. } => "transferToNumber",
            Self::Voicemail { .. } => "voicemail",
            Self::CallbackOffer { .. } => "callbackOffer",
            Self::AnnouncePosition { .. } => "announcePosition",
            Self::Hangup { .. } => "hangup",
        }
    }

    /// The nodes this one can go to, each with its field path below the node
    /// (`next`, `options.3`, `statuses.vip`…).
    pub fn edges(&self) -> Vec<(String, &str)> {
        fn one<'t>(field: &str, target: &'t str) -> (String, &'t str) {
            (field.to_owned(), target)
        }
        let mut edges = Vec::new();
        match self {
            Self::Prompt { next, .. }
            | Self::SetAttribute { next, .. }
            | Self::AnnouncePosition { next, .. } => edges.push(one("next", next)),
            Self::Menu {
                options,
                on_timeout,
                on_invalid,
                on_exhausted,
                ..
            } => {
                for (key, target) in options {
                    edges.push((format!("options.{key}"), target.as_str()));
                }
                if let Some(target) = on_timeout {
                    edges.push(one("onTimeout", target));
                }
                if let Some(target) = on_invalid {
                    edges.push(one("onInvalid", target));
                }
                edges.push(one("onExhausted", on_exhausted));
            }
            Self::CollectDigits {
                next,
                on_invalid,
                on_exhausted,
                ..
            } => {
                edges.push(one("next", next));
                if let Some(target) = on_invalid {
                    edges.push(one("onInvalid", target));
                }
                edges.push(one("onExhausted", on_exhausted));
            }
            Self::BranchHours { open, closed, .. } => {
                edges.push(one("open", open));
                edges.push(one("closed", closed));
            }
            Self::BranchStatistic {
                then, otherwise, ..
            } => {
                edges.push(one("then", then));
                edges.push(one("else", otherwise));
            }
            Self::BranchClientStatus { statuses, default } => {
                for (status, target) in statuses {
                    edges.push((format!("statuses.{status}"), target.as_str()));
                }
                edges.push(one("default", default));
            }
            Self::CallbackOffer {
                accepted, declined, ..
            } => {
                if let Some(target) = accepted {
                    edges.push(one("accepted", target));
                }
                edges.push(one("declined", declined));
            }
            Self::TransferToQueue { .. }
            | Self::TransferToNumber { .. }
            | Self::Voicemail { .. }
            | Self::Hangup { .. } => {}
        }
        edges
    }

    /// Whether the call can leave the tree at this node: transfers, voicemail, hang-up, and a
    /// callback offer whose acceptance ends the call.
    pub fn is_exit(&self) -> bool {
        match self {
            Self::TransferToQueue { .. }
            | Self::TransferToNumber { .. }
            | Self::Voicemail { .. }
            | Self::Hangup { .. } => true,
            Self::CallbackOffer { accepted, .. } => accepted.is_none(),
            _ => false,
        }
    }

    /// Whether the interpreter passes through this node without playing or waiting for anything
    /// (branches and attributes): a loop of only such nodes would spin.
    pub fn is_instant(&self) -> bool {
        matches!(
            self,
            Self::BranchHours { .. }
                | Self::BranchStatistic { .. }
                | Self::BranchClientStatus { .. }
                | Self::SetAttribute { .. }
        )
    }
}

/// Deserializes a JSON object into a map, refusing duplicate keys (serde_json would keep the
/// last one silently; a menu with two options on `1` is a mistake, not a choice).
fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UniqueKeys<V>(PhantomData<V>);

    impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueKeys<V> {
        type Value = BTreeMap<String, V>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("an object with unique keys")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<String, V>()? {
                if map.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                }
                map.insert(key, value);
            }
            Ok(map)
        }
    }

    deserializer.deserialize_map(UniqueKeys(PhantomData))
}
