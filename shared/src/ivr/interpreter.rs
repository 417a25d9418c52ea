//! The IVR interpreter: one pure step per event from the PBX.
//!
//! The cloud keeps an [`IvrSession`] per call (in DynamoDB, between Lambda invocations). Each
//! time the PBX reports something ([`IvrInput`]), the cloud loads the tree, the session and an
//! [`IvrEnv`] (the time, the schedules and live statistics of the queues the tree names, the
//! caller's client status), calls [`step`], stores the new session and commands the PBX with the
//! returned [`IvrAction`].
//!
//! - `Start` always (re)starts the call at the general-problem announcement (when active) or the
//!   entry node.
//! - Branches and attributes are passed through within one step; prompts, menus, digit
//!   collection, callback offers and position announcements wait for the next input.
//! - A menu key or a valid number resets that node's attempts; a timeout or an invalid input
//!   counts one, and when `maxAttempts` are used up the call goes to `onExhausted` (re-entering
//!   the node does not reset its count, so a caller who stays silent always leaves).
//! - Every input and every node entered counts one step; past [`MAX_STEPS`] the call ends
//!   ([`HangupReason::StepLimit`]) whatever the tree says.
//! - After a terminal action (transfer, voicemail, hang-up) further inputs answer
//!   [`IvrAction::Wait`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::identifiers::{normalize_czech_phone, parse_birth_number, parse_insurance_number};
use crate::queues::QueueSchedule;
use crate::time::PRAGUE;

use super::model::{DigitValidation, IvrTree, Node, PromptRef, QueueStatistic};
use super::validate::DTMF_KEYS;

/// Most steps (inputs plus nodes entered) in one call.
pub const MAX_STEPS: u32 = 200;

/// What the session waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// No `Start` yet.
    #[default]
    NotStarted,
    /// The general-problem announcement is playing; then the entry node (`current`).
    Announcement,
    /// A prompt or a position announcement is playing; then the node's `next`.
    Playing,
    /// A menu waits for a key.
    MenuChoice,
    /// A digit collection waits for the number.
    DigitEntry,
    /// A callback offer waits for the accepting key.
    CallbackChoice,
    /// An accepted callback waits for the preferred time (HHMM).
    CallbackTime,
    /// The cloud books the callback; then `accepted`, or the call ends.
    CallbackBooking,
    /// The call has left the IVR.
    Finished,
}

/// The state of one call in the IVR.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IvrSession {
    pub phase: Phase,
    /// The node the call is at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Failed attempts per node (menus, digit collections, callback times).
    #[serde(default)]
    pub attempts: BTreeMap<String, u32>,
    /// Attributes collected or set so far (`problem`, `insuranceNumber`…), passed to the agent.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The menu keys chosen so far (`["1", "3"]`): the IVR path routing rules match on.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Inputs received plus nodes entered.
    #[serde(default)]
    pub steps: u32,
}

/// What the PBX reports: `{"kind":"digits","digits":"1"}`, `{"kind":"timeout"}`…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "digits", rename_all = "camelCase")]
pub enum IvrInput {
    /// The call entered the IVR.
    Start,
    /// Keys pressed (with the terminator, if the caller pressed it).
    Digits(String),
    /// Nothing pressed in time.
    Timeout,
    /// A prompt without digit collection finished (also: a callback was booked).
    PromptFinished,
}

/// Live statistics of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    pub agents_logged_on: u32,
    pub agents_ready: u32,
    pub waiting_calls: u32,
    pub longest_wait_seconds: u32,
}

impl QueueStats {
    pub fn get(&self, statistic: QueueStatistic) -> u32 {
        match statistic {
            QueueStatistic::AgentsLoggedOn => self.agents_logged_on,
            QueueStatistic::AgentsReady => self.agents_ready,
            QueueStatistic::WaitingCalls => self.waiting_calls,
            QueueStatistic::LongestWaitSeconds => self.longest_wait_seconds,
        }
    }
}

/// What the interpreter may know about the world, loaded by the caller before the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrEnv {
    pub now: DateTime<Utc>,
    /// Opening hours by queue id. A queue missing here counts as closed.
    pub schedules: BTreeMap<String, QueueSchedule>,
    /// Live statistics by queue id. A queue missing here takes every `else` branch.
    pub stats: BTreeMap<String, QueueStats>,
    /// The caller's client status (from ICIS, e.g. `VIP`), if known.
    pub client_status: Option<String>,
}

impl IvrEnv {
    /// An environment at `now` that knows no queue and no client.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            schedules: BTreeMap::new(),
            stats: BTreeMap::new(),
            client_status: None,
        }
    }
}

/// How the PBX collects keys after a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collect {
    pub min_digits: u32,
    pub max_digits: u32,
    pub timeout_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<char>,
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum TransferTarget {
    Queue {
        queue_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<u8>,
    },
    /// An extension or an E.164 number.
    Number { number: String },
}

/// Why the interpreter ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HangupReason {
    /// A `hangup` node.
    Tree,
    /// A callback was booked and the offer has no `accepted` node.
    CallbackBooked,
    /// [`MAX_STEPS`] reached.
    StepLimit,
    /// The session points at a node the tree does not have (the tree changed under the call).
    BrokenTree,
}

/// What the cloud commands next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum IvrAction {
    /// Play a prompt; with `collect`, then collect keys (answer: `Digits` or `Timeout`),
    /// otherwise answer `PromptFinished`.
    Play {
        prompt: PromptRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collect: Option<Collect>,
    },
    /// Play a callback offer and collect one key (counted as "callback offered").
    OfferCallback {
        queue_id: String,
        prompt: PromptRef,
        collect: Collect,
    },
    /// Book a callback (IN-11, IN-22), then answer `PromptFinished`.
    BookCallback {
        queue_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preferred_at: Option<DateTime<Utc>>,
        attributes: BTreeMap<String, String>,
    },
    /// Announce the caller's position, then answer `PromptFinished`. `position` is the place
    /// the caller would take if queued now (waiting calls + 1), when the statistics are known.
    AnnouncePosition {
        queue_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<u32>,
    },
    /// Transfer the call with its attributes (ends the IVR).
    Transfer {
        target: TransferTarget,
        attributes: BTreeMap<String, String>,
    },
    /// Record a message into the queue's mailbox (ends the IVR).
    Voicemail {
        queue_id: String,
        greeting: PromptRef,
        max_seconds: u32,
        attributes: BTreeMap<String, String>,
    },
    /// Hang up, after the prompt if any (ends the IVR).
    Hangup {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<PromptRef>,
        reason: HangupReason,
    },
    /// Nothing to command: keep waiting (an input that means nothing now).
    Wait,
}

impl IvrAction {
    /// Whether the call has left the IVR.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Transfer { .. } | Self::Voicemail { .. } | Self::Hangup { .. }
        )
    }
}

/// One step: the session after `input`, and what to command.
pub fn step(
    tree: &IvrTree,
    session: &IvrSession,
    input: IvrInput,
    env: &IvrEnv,
) -> (IvrSession, IvrAction) {
    let mut run = Run {
        tree,
        env,
        session: session.clone(),
    };
    let action = run.input(input);
    (run.session, action)
}

/// Starts a call at a given node rather than the entry (a routing decision such as
/// `{"kind":"ivr","treeId":…,"node":…}`); the general-problem announcement still plays first.
pub fn start_at(tree: &IvrTree, node: &str, env: &IvrEnv) -> (IvrSession, IvrAction) {
    let mut run = Run {
        tree,
        env,
        session: IvrSession::default(),
    };
    let action = match tree.nodes.get_key_value(node) {
        Some((id, _)) => run.start(id),
        None => run.finish_hangup(HangupReason::BrokenTree),
    };
    (run.session, action)
}

/// Why an input did not move the call on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Timeout,
    Invalid,
}

struct Run<'a> {
    tree: &'a IvrTree,
    env: &'a IvrEnv,
    session: IvrSession,
}

impl<'a> Run<'a> {
    fn input(&mut self, input: IvrInput) -> IvrAction {
        if input == IvrInput::Start || self.session.phase == Phase::NotStarted {
            return self.start(&self.tree.entry_node);
        }
        if self.session.phase == Phase::Finished {
            return IvrAction::Wait;
        }
        if !self.count_step() {
            return self.finish_hangup(HangupReason::StepLimit);
        }
        let tree = self.tree;
        let Some((id, node)) = self
            .session
            .current
            .as_deref()
            .and_then(|id| tree.nodes.get_key_value(id))
        else {
            return self.finish_hangup(HangupReason::BrokenTree);
        };
        match (self.session.phase, node) {
            (Phase::Announcement, _) => self.enter(id),
            (Phase::Playing, Node::Prompt { next, .. } | Node::AnnouncePosition { next, .. }) => {
                self.enter(next)
            }
            (Phase::MenuChoice, Node::Menu { options, .. }) => match input {
                IvrInput::Digits(digits) => {
                    let key = digits.chars().find(|c| !c.is_whitespace());
                    match key.and_then(|key| options.get(key.to_string().as_str())) {
                        Some(target) => {
                            self.session.attempts.remove(id);
                            self.session.choices.extend(key.map(String::from));
                            self.enter(target)
                        }
                        None if key.is_none() => self.fail(id, node, Failure::Timeout),
                        None => self.fail(id, node, Failure::Invalid),
                    }
                }
                IvrInput::Timeout => self.fail(id, node, Failure::Timeout),
                IvrInput::PromptFinished | IvrInput::Start => IvrAction::Wait,
            },
            (
                Phase::DigitEntry,
                Node::CollectDigits {
                    min_digits,
                    max_digits,
                    terminator,
                    validation,
                    attribute,
                    next,
                    ..
                },
            ) => match input {
                IvrInput::Digits(digits) => {
                    let value = match terminator {
                        Some(terminator) => digits.split(*terminator).next().unwrap_or_default(),
                        None => digits.as_str(),
                    };
                    let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                    let length = u32::try_from(value.chars().count()).unwrap_or(u32::MAX);
                    let checked = if (*min_digits..=*max_digits).contains(&length) {
                        check_value(*validation, &value)
                    } else {
                        None
                    };
                    match checked {
                        Some(value) => {
                            self.session.attempts.remove(id);
                            self.session.attributes.insert(attribute.clone(), value);
                            self.enter(next)
                        }
                        None => self.fail(id, node, Failure::Invalid),
                    }
                }
                IvrInput::Timeout => self.fail(id, node, Failure::Timeout),
                IvrInput::PromptFinished | IvrInput::Start => IvrAction::Wait,
            },
            (
                Phase::CallbackChoice,
                Node::CallbackOffer {
                    accept_digit,
                    allow_chosen_time,
                    time_prompt,
                    timeout_seconds,
                    declined,
                    ..
                },
            ) => match input {
                IvrInput::Digits(digits)
                    if digits.trim_start().starts_with(accept_digit.as_str()) =>
                {
                    match (allow_chosen_time, time_prompt) {
                        (true, Some(time_prompt)) => {
                            self.session.phase = Phase::CallbackTime;
                            time_entry(time_prompt, *timeout_seconds)
                        }
                        _ => self.book(id, node, None),
                    }
                }
                IvrInput::Digits(_) | IvrInput::Timeout => self.enter(declined),
                IvrInput::PromptFinished | IvrInput::Start => IvrAction::Wait,
            },
            (
                Phase::CallbackTime,
                Node::CallbackOffer {
                    queue_id,
                    time_prompt,
                    timeout_seconds,
                    max_attempts,
                    ..
                },
            ) => {
                let preferred = match &input {
                    IvrInput::Digits(digits) => self.preferred_time(queue_id, digits),
                    IvrInput::Timeout => None,
                    IvrInput::PromptFinished | IvrInput::Start => return IvrAction::Wait,
                };
                if preferred.is_some() {
                    return self.book(id, node, preferred);
                }
                let attempts = self.session.attempts.entry(id.to_owned()).or_insert(0);
                *attempts += 1;
                match time_prompt {
                    Some(time_prompt) if *attempts < *max_attempts => {
                        time_entry(time_prompt, *timeout_seconds)
                    }
                    // Out of tries: book the callback for the first free agent.
                    _ => self.book(id, node, None),
                }
            }
            (Phase::CallbackBooking, Node::CallbackOffer { accepted, .. }) => match accepted {
                Some(accepted) => self.enter(accepted),
                None => self.finish_hangup(HangupReason::CallbackBooked),
            },
            // A phase that does not fit the node: the tree changed under the call.
            _ => self.finish_hangup(HangupReason::BrokenTree),
        }
    }

    fn start(&mut self, first: &'a str) -> IvrAction {
        self.session = IvrSession::default();
        self.session.steps = 1;
        match &self.tree.general_announcement {
            Some(announcement) if announcement.active => {
                self.session.phase = Phase::Announcement;
                self.session.current = Some(first.to_owned());
                IvrAction::Play {
                    prompt: announcement.prompt.clone(),
                    collect: None,
                }
            }
            _ => self.enter(first),
        }
    }

    /// Counts one step; `false` once past the limit.
    fn count_step(&mut self) -> bool {
        self.session.steps = self.session.steps.saturating_add(1);
        self.session.steps <= MAX_STEPS
    }

    fn finish(&mut self, action: IvrAction) -> IvrAction {
        self.session.phase = Phase::Finished;
        action
    }

    fn finish_hangup(&mut self, reason: HangupReason) -> IvrAction {
        self.finish(IvrAction::Hangup {
            prompt: None,
            reason,
        })
    }

    /// Enters a node and passes through branches and attributes until something plays, waits or
    /// ends the call.
    fn enter(&mut self, id: &'a str) -> IvrAction {
        let tree = self.tree;
        let env = self.env;
        let mut id = id;
        loop {
            if !self.count_step() {
                return self.finish_hangup(HangupReason::StepLimit);
            }
            let Some(node) = tree.nodes.get(id) else {
                return self.finish_hangup(HangupReason::BrokenTree);
            };
            self.session.current = Some(id.to_owned());
            match node {
                Node::Prompt { prompt, .. } => {
                    self.session.phase = Phase::Playing;
                    return IvrAction::Play {
                        prompt: prompt.clone(),
                        collect: None,
                    };
                }
                Node::Menu {
                    prompt,
                    timeout_seconds,
                    ..
                } => {
                    self.session.phase = Phase::MenuChoice;
                    return IvrAction::Play {
                        prompt: prompt.clone(),
                        collect: Some(Collect {
                            min_digits: 1,
                            max_digits: 1,
                            timeout_seconds: *timeout_seconds,
                            terminator: None,
                        }),
                    };
                }
                Node::CollectDigits {
                    prompt,
                    min_digits,
                    max_digits,
                    terminator,
                    timeout_seconds,
                    ..
                } => {
                    self.session.phase = Phase::DigitEntry;
                    return IvrAction::Play {
                        prompt: prompt.clone(),
                        collect: Some(Collect {
                            min_digits: *min_digits,
                            max_digits: *max_digits,
                            timeout_seconds: *timeout_seconds,
                            terminator: *terminator,
                        }),
                    };
                }
                Node::BranchHours {
                    queue_id,
                    schedule,
                    open,
                    closed,
                } => {
                    let schedule = schedule
                        .as_ref()
                        .or_else(|| queue_id.as_ref().and_then(|q| env.schedules.get(q)));
                    let is_open = schedule.is_some_and(|schedule| schedule.is_open(env.now));
                    id = if is_open { open } else { closed };
                }
                Node::BranchStatistic {
                    queue_id,
                    stat,
                    op,
                    value,
                    then,
                    otherwise,
                } => {
                    let holds = env
                        .stats
                        .get(queue_id)
                        .is_some_and(|stats| op.holds(stats.get(*stat), *value));
                    id = if holds { then } else { otherwise };
                }
                Node::BranchClientStatus { statuses, default } => {
                    // Statuses match ignoring case (`VIP` from ICIS, `vip` in the tree).
                    id = env
                        .client_status
                        .as_ref()
                        .and_then(|status| {
                            statuses
                                .iter()
                                .find(|(key, _)| key.eq_ignore_ascii_case(status))
                        })
                        .map_or(default, |(_, target)| target);
                }
                Node::SetAttribute { name, value, next } => {
                    self.session.attributes.insert(name.clone(), value.clone());
                    id = next;
                }
                Node::TransferToQueue { queue_id, priority } => {
                    let attributes = self.session.attributes.clone();
                    return self.finish(IvrAction::Transfer {
                        target: TransferTarget::Queue {
                            queue_id: queue_id.clone(),
                            priority: *priority,
                        },
                        attributes,
                    });
                }
                Node::TransferToNumber { number } => {
                    let attributes = self.session.attributes.clone();
                    return self.finish(IvrAction::Transfer {
                        target: TransferTarget::Number {
                            number: number.clone(),
                        },
                        attributes,
                    });
                }
                Node::Voicemail {
                    queue_id,
                    greeting,
                    max_seconds,
                } => {
                    let attributes = self.session.attributes.clone();
                    return self.finish(IvrAction::Voicemail {
                        queue_id: queue_id.clone(),
                        greeting: greeting.clone(),
                        max_seconds: *max_seconds,
                        attributes,
                    });
                }
                Node::CallbackOffer {
                    queue_id,
                    prompt,
                    timeout_seconds,
                    ..
                } => {
                    self.session.phase = Phase::CallbackChoice;
                    return IvrAction::OfferCallback {
                        queue_id: queue_id.clone(),
                        prompt: prompt.clone(),
                        collect: Collect {
                            min_digits: 1,
                            max_digits: 1,
                            timeout_seconds: *timeout_seconds,
                            terminator: None,
                        },
                    };
                }
                Node::AnnouncePosition { queue_id, .. } => {
                    self.session.phase = Phase::Playing;
                    return IvrAction::AnnouncePosition {
                        queue_id: queue_id.clone(),
                        position: env
                            .stats
                            .get(queue_id)
                            .map(|stats| stats.waiting_calls.saturating_add(1)),
                    };
                }
                Node::Hangup { prompt } => {
                    return self.finish(IvrAction::Hangup {
                        prompt: prompt.clone(),
                        reason: HangupReason::Tree,
                    });
                }
            }
        }
    }

    /// A timeout or an invalid input at a menu or a digit collection.
    fn fail(&mut self, id: &'a str, node: &'a Node, failure: Failure) -> IvrAction {
        let (max_attempts, on_timeout, on_invalid, on_exhausted) = match node {
            Node::Menu {
                max_attempts,
                on_timeout,
                on_invalid,
                on_exhausted,
                ..
            } => (*max_attempts, on_timeout, on_invalid, on_exhausted),
            Node::CollectDigits {
                max_attempts,
                on_invalid,
                on_exhausted,
                ..
            } => (*max_attempts, on_invalid, on_invalid, on_exhausted),
            _ => return self.finish_hangup(HangupReason::BrokenTree),
        };
        let attempts = self.session.attempts.entry(id.to_owned()).or_insert(0);
        *attempts = attempts.saturating_add(1);
        if *attempts >= max_attempts {
            return self.enter(on_exhausted);
        }
        let detour = match failure {
            Failure::Timeout => on_timeout,
            Failure::Invalid => on_invalid,
        };
        self.enter(detour.as_deref().unwrap_or(id))
    }

    fn book(&mut self, id: &str, node: &Node, preferred_at: Option<DateTime<Utc>>) -> IvrAction {
        let Node::CallbackOffer { queue_id, .. } = node else {
            return self.finish_hangup(HangupReason::BrokenTree);
        };
        self.session.attempts.remove(id);
        self.session.phase = Phase::CallbackBooking;
        IvrAction::BookCallback {
            queue_id: queue_id.clone(),
            preferred_at,
            attributes: self.session.attributes.clone(),
        }
    }

    /// A preferred callback time typed as HHMM: later today (Prague) and, when the queue's hours
    /// are known, while it is open.
    fn preferred_time(&self, queue_id: &str, digits: &str) -> Option<DateTime<Utc>> {
        let digits = digits.trim_end_matches('#');
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours = digits.get(..2)?.parse().ok()?;
        let minutes = digits.get(2..)?.parse().ok()?;
        let time = NaiveTime::from_hms_opt(hours, minutes, 0)?;
        let today = self.env.now.with_timezone(&PRAGUE).date_naive();
        let at = today
            .and_time(time)
            .and_local_timezone(PRAGUE)
            .earliest()?
            .with_timezone(&Utc);
        let open = self
            .env
            .schedules
            .get(queue_id)
            .is_none_or(|schedule| schedule.is_open(at));
        (at > self.env.now && open).then_some(at)
    }
}

/// Asks for the preferred callback time.
fn time_entry(prompt: &PromptRef, timeout_seconds: u32) -> IvrAction {
    IvrAction::Play {
        prompt: prompt.clone(),
        collect: Some(Collect {
            min_digits: 4,
            max_digits: 4,
            timeout_seconds,
            terminator: Some('#'),
        }),
    }
}

/// The value to store, normalised, or `None` when it fails its validation.
fn check_value(validation: DigitValidation, value: &str) -> Option<String> {
    match validation {
        DigitValidation::None => value
            .chars()
            .all(|c| DTMF_KEYS.contains(c))
            .then(|| value.to_owned()),
        DigitValidation::Digits => value
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| value.to_owned()),
        DigitValidation::InsuranceNumber => parse_insurance_number(value).ok().map(|n| n.digits),
        DigitValidation::BirthNumber => parse_birth_number(value).ok().map(|n| n.digits),
        DigitValidation::Phone => normalize_czech_phone(value).ok(),
    }
}
