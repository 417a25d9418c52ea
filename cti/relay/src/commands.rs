//! Commands: long-polls the command FIFO queue, executes each [`CtiCommand`] against the PBX and
//! publishes its [`CommandResult`] through the spool (like any event), then deletes the message.
//!
//! Rules:
//! - Unreadable (not JSON, wrong shape, newer schema) → `Invalid`, deleted (poison messages are
//!   acknowledged on purpose: they would fail again). The `commandId` is recovered when the JSON
//!   has one.
//! - Past `expiresAt` → `Expired`, not executed, deleted.
//! - Link down **before** execution → left in the queue (not deleted, made visible again once
//!   the link is back or after 1 s); the FIFO group (one device) waits behind it until the link
//!   is back (then it runs) or it expires (then `Expired`). Nothing is silently lost.
//! - Link lost **during** execution → `LinkDown`, deleted (the PBX may or may not have acted;
//!   replaying could e.g. hang up the wrong call).
//! - Idempotent per `commandId`: the last 10 000 executed ids are remembered; a redelivered one
//!   is deleted without executing again. After a restart the FIFO deduplication and `expiresAt`
//!   (seconds) bound replays.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use csta::model::*;
use csta::types::{AgentState, ConnectionId, DeviceId, ParticipationType};
use csta::Message;
use cti_events::{
    CommandAction, CommandOutcome, CommandResult, CtiCommand, CtiEvent, MonitorMode,
    RequestedAgentState, SCHEMA_VERSION,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::error_chain;
use crate::health::{CommandMetric, Status};
use crate::ivr::{is_ivr_action, IvrHandle};
use crate::link::{LinkError, LinkHandle};
use crate::pipeline::EventBus;

/// A received command message.
#[derive(Debug, Clone)]
pub struct ReceivedCommand {
    /// Handle to delete it.
    pub receipt: String,
    /// Its body.
    pub body: String,
}

/// Command queue errors.
#[derive(Debug, thiserror::Error)]
pub enum CommandSourceError {
    /// ReceiveMessage failed.
    #[error("ReceiveMessage failed")]
    Receive(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// DeleteMessage failed.
    #[error("DeleteMessage failed")]
    Delete(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// ChangeMessageVisibility failed.
    #[error("ChangeMessageVisibility failed")]
    Release(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The command queue port.
#[async_trait]
pub trait CommandSource: Send + Sync {
    /// Long-polls up to `max` messages for at most `wait_secs`.
    async fn receive(
        &self,
        max: i32,
        wait_secs: i32,
    ) -> Result<Vec<ReceivedCommand>, CommandSourceError>;
    /// Deletes a handled message.
    async fn delete(&self, receipt: &str) -> Result<(), CommandSourceError>;
    /// Makes a message that was left (link down) visible again at once, so it runs as soon as
    /// the link is back rather than after its visibility timeout.
    async fn release(&self, receipt: &str) -> Result<(), CommandSourceError>;
}

/// The SQS FIFO adapter.
#[derive(Debug, Clone)]
pub struct SqsCommandSource {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    visibility_secs: i32,
}

impl SqsCommandSource {
    /// An adapter for `queue_url`.
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        visibility_secs: i32,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            visibility_secs,
        }
    }
}

#[async_trait]
impl CommandSource for SqsCommandSource {
    async fn receive(
        &self,
        max: i32,
        wait_secs: i32,
    ) -> Result<Vec<ReceivedCommand>, CommandSourceError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait_secs)
            .visibility_timeout(self.visibility_secs)
            .send()
            .await
            .map_err(|e| CommandSourceError::Receive(Box::new(e)))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                Some(ReceivedCommand {
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                })
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), CommandSourceError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| CommandSourceError::Delete(Box::new(e)))?;
        Ok(())
    }

    async fn release(&self, receipt: &str) -> Result<(), CommandSourceError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| CommandSourceError::Release(Box::new(e)))?;
        Ok(())
    }
}

/// An in-memory queue for tests: messages not deleted come back after `visibility`.
#[derive(Debug)]
pub struct MemoryCommandSource {
    inner: std::sync::Mutex<MemoryQueue>,
    notify: tokio::sync::Notify,
    visibility: Duration,
}

#[derive(Debug, Default)]
struct MemoryQueue {
    next: u64,
    /// (receipt, body, invisible until)
    messages: Vec<(String, String, Option<std::time::Instant>)>,
    deleted: Vec<String>,
}

impl MemoryCommandSource {
    /// A queue redelivering undeleted messages after `visibility`.
    pub fn new(visibility: Duration) -> Self {
        Self {
            inner: std::sync::Mutex::new(MemoryQueue::default()),
            notify: tokio::sync::Notify::new(),
            visibility,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryQueue> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Enqueues a body.
    pub fn push(&self, body: impl Into<String>) {
        let mut q = self.lock();
        q.next += 1;
        let receipt = format!("r{}", q.next);
        q.messages.push((receipt, body.into(), None));
        drop(q);
        self.notify.notify_one();
    }

    /// Messages still in the queue.
    pub fn pending(&self) -> usize {
        self.lock().messages.len()
    }

    /// Deleted receipts.
    pub fn deleted(&self) -> Vec<String> {
        self.lock().deleted.clone()
    }
}

#[async_trait]
impl CommandSource for MemoryCommandSource {
    async fn receive(
        &self,
        max: i32,
        wait_secs: i32,
    ) -> Result<Vec<ReceivedCommand>, CommandSourceError> {
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(u64::try_from(wait_secs).unwrap_or(1));
        loop {
            let out: Vec<ReceivedCommand> = {
                let now = std::time::Instant::now();
                let mut q = self.lock();
                q.messages
                    .iter_mut()
                    .filter(|(_, _, until)| until.is_none_or(|u| u <= now))
                    .take(usize::try_from(max).unwrap_or(10))
                    .map(|(receipt, body, until)| {
                        *until = Some(now + self.visibility);
                        ReceivedCommand {
                            receipt: receipt.clone(),
                            body: body.clone(),
                        }
                    })
                    .collect()
            };
            if !out.is_empty() {
                return Ok(out);
            }
            tokio::select! {
                () = self.notify.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                () = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
            }
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), CommandSourceError> {
        let mut q = self.lock();
        q.messages.retain(|(r, _, _)| r != receipt);
        q.deleted.push(receipt.to_owned());
        Ok(())
    }

    async fn release(&self, receipt: &str) -> Result<(), CommandSourceError> {
        let mut q = self.lock();
        for (r, _, until) in &mut q.messages {
            if r == receipt {
                *until = None;
            }
        }
        Ok(())
    }
}

/// Maps an action to its CSTA request. `Err` = the action cannot be expressed.
pub fn to_csta(action: &CommandAction) -> Result<Message, String> {
    let conn = |call_id: &str, device: &str| Some(ConnectionId::new(call_id, device));
    let dev = |d: &str| Some(DeviceId::plain(d));
    Ok(match action {
        CommandAction::Answer { device, call_id } => AnswerCall {
            call_to_be_answered: conn(call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::Hangup { device, call_id } => ClearConnection {
            connection_to_be_cleared: conn(call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::Dial { device, to } => MakeCall {
            calling_device: dev(device),
            called_directory_number: dev(to),
            ..Default::default()
        }
        .into(),
        CommandAction::Hold { device, call_id } => HoldCall {
            call_to_be_held: conn(call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::Retrieve { device, call_id } => RetrieveCall {
            call_to_be_retrieved: conn(call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::Consult {
            device,
            call_id,
            to,
        } => ConsultationCall {
            existing_call: conn(call_id, device),
            consulted_device: dev(to),
            ..Default::default()
        }
        .into(),
        CommandAction::Transfer {
            device,
            held_call_id,
            active_call_id,
        } => TransferCall {
            held_call: conn(held_call_id, device),
            active_call: conn(active_call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::BlindTransfer {
            device,
            call_id,
            to,
        } => SingleStepTransferCall {
            active_call: conn(call_id, device),
            transferred_to: dev(to),
            ..Default::default()
        }
        .into(),
        CommandAction::Conference {
            device,
            held_call_id,
            active_call_id,
        } => ConferenceCall {
            held_call: conn(held_call_id, device),
            active_call: conn(active_call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::Deflect {
            device,
            call_id,
            to,
        } => DeflectCall {
            call_to_be_diverted: conn(call_id, device),
            new_destination: dev(to),
            ..Default::default()
        }
        .into(),
        CommandAction::SendDigits {
            device,
            call_id,
            digits,
        } => GenerateDigits {
            connection_to_send_digits: conn(call_id, device),
            characters_to_send: Some(digits.clone()),
            ..Default::default()
        }
        .into(),
        CommandAction::Monitor {
            device,
            target_device,
            call_id,
            mode,
        } => {
            let participation = match mode {
                MonitorMode::Silent => ParticipationType::Silent,
                MonitorMode::Join => ParticipationType::Active,
                MonitorMode::Coach => {
                    return Err(
                        "monitor mode coach (whisper) has no CSTA participation type".into(),
                    )
                }
            };
            SingleStepConferenceCall {
                active_call: conn(call_id, target_device),
                device_to_join: dev(device),
                participation_type: Some(participation),
                ..Default::default()
            }
            .into()
        }
        CommandAction::AgentState {
            device,
            agent_id,
            state,
            reason_code: _,
        } => SetAgentState {
            device: dev(device),
            requested_agent_state: Some(match state {
                RequestedAgentState::LoggedOn => AgentState::LoggedOn,
                RequestedAgentState::LoggedOff => AgentState::LoggedOff,
                RequestedAgentState::Ready => AgentState::Ready,
                RequestedAgentState::NotReady => AgentState::NotReady,
                RequestedAgentState::WorkingAfterCall => AgentState::WorkingAfterCall,
            }),
            agent_id: Some(agent_id.clone()),
            ..Default::default()
        }
        .into(),
        // The IVR actions run through crate::ivr (media download, sequencing, digit
        // collection); this is their first CSTA request.
        CommandAction::PlayPrompt {
            device,
            call_id,
            media,
            ..
        } => PlayMessage {
            message_to_be_played: Some(
                media
                    .first()
                    .and_then(|m| crate::ivr::message_id(&m.cache_key))
                    .ok_or("playPrompt needs media with a valid cacheKey")?,
            ),
            over_connection: conn(call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::StopPrompt { device, call_id } => Stop {
            connection: conn(call_id, device),
            ..Default::default()
        }
        .into(),
        CommandAction::RecordMessage {
            device,
            call_id,
            max_seconds,
            ..
        } => RecordMessage {
            call_to_be_recorded: conn(call_id, device),
            max_duration: Some(max_seconds.saturating_mul(1000)),
            ..Default::default()
        }
        .into(),
    })
}

/// The outcome of a PBX response.
pub fn outcome_of(response: Message) -> CommandOutcome {
    match response {
        Message::CstaErrorCode(e) => CommandOutcome::Refused {
            error: e.value.clone(),
        },
        Message::MakeCallResponse(r) => CommandOutcome::Done {
            call_id: r.calling_device.and_then(|c| c.call_id),
        },
        Message::ConsultationCallResponse(r) => CommandOutcome::Done {
            call_id: r.initiated_call.and_then(|c| c.call_id),
        },
        Message::SingleStepTransferCallResponse(r) => CommandOutcome::Done {
            call_id: r.transferred_call.and_then(|c| c.call_id),
        },
        Message::TransferCallResponse(r) => CommandOutcome::Done {
            call_id: r.transferred_call.and_then(|c| c.call_id),
        },
        Message::ConferenceCallResponse(r) => CommandOutcome::Done {
            call_id: r.conferenced_call.and_then(|c| c.call_id),
        },
        other if other.name().ends_with("Response") => CommandOutcome::Done { call_id: None },
        other => CommandOutcome::Refused {
            error: format!("unexpected answer {}", other.name()),
        },
    }
}

/// Executes commands from a [`CommandSource`].
pub struct CommandExecutor {
    source: Arc<dyn CommandSource>,
    link: watch::Receiver<Option<LinkHandle>>,
    ivr: IvrHandle,
    bus: EventBus,
    status: Arc<Status>,
    wait_secs: i32,
    timeout: Duration,
    recent: VecDeque<String>,
    recent_set: HashSet<String>,
}

const RECENT: usize = 10_000;

enum Disposition {
    Delete,
    Leave,
}

impl CommandExecutor {
    /// An executor.
    pub fn new(
        source: Arc<dyn CommandSource>,
        link: watch::Receiver<Option<LinkHandle>>,
        ivr: IvrHandle,
        bus: EventBus,
        status: Arc<Status>,
        wait_secs: i32,
        timeout: Duration,
    ) -> Self {
        Self {
            source,
            link,
            ivr,
            bus,
            status,
            wait_secs,
            timeout,
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
        }
    }

    /// Runs until `shutdown` (a long poll in progress is abandoned; its messages reappear).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30), 0.2);
        loop {
            let received = tokio::select! {
                r = self.source.receive(10, self.wait_secs) => r,
                () = shutdown.cancelled() => return,
            };
            let messages = match received {
                Ok(m) => {
                    backoff.reset();
                    m
                }
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error.message = %e, error.cause_chain = %error_chain(&e), retry_in_ms = delay.as_millis() as u64, "command queue unreachable");
                    self.status
                        .error(format!("command queue: {}", error_chain(&e)));
                    tokio::select! {
                        () = tokio::time::sleep(delay) => continue,
                        () = shutdown.cancelled() => return,
                    }
                }
            };
            let mut left = Vec::new();
            for m in messages {
                match self.handle(&m.body).await {
                    Disposition::Delete => {
                        if let Err(e) = self.source.delete(&m.receipt).await {
                            // It comes back and is recognised as a duplicate.
                            tracing::warn!(error.message = %e, error.cause_chain = %error_chain(&e), "failed to delete a handled command");
                        }
                    }
                    Disposition::Leave => left.push(m.receipt),
                }
            }
            if !left.is_empty() {
                // Link down: wait for it (at most 1 s, so expiry is noticed), then make the
                // left commands visible again at once instead of after their visibility timeout.
                let mut link = self.link.clone();
                tokio::select! {
                    _ = link.wait_for(Option::is_some) => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = shutdown.cancelled() => return,
                }
                for receipt in left {
                    if let Err(e) = self.source.release(&receipt).await {
                        tracing::debug!(error.message = %e, "failed to release a left command; it returns after its visibility timeout");
                    }
                }
            }
        }
    }

    async fn publish(&self, command_id: String, device: String, outcome: CommandOutcome) {
        let metric = match &outcome {
            CommandOutcome::Done { .. } => CommandMetric::Done,
            CommandOutcome::Refused { .. } => CommandMetric::Refused,
            CommandOutcome::Expired => CommandMetric::Expired,
            CommandOutcome::LinkDown => CommandMetric::LinkDown,
            CommandOutcome::Invalid { .. } => CommandMetric::Invalid,
        };
        self.status.command(metric);
        tracing::info!(command_id = %command_id, device = %device, outcome = ?outcome, "command result");
        let event = CtiEvent::CommandResult(CommandResult {
            command_id,
            device,
            outcome,
        });
        if self.bus.publish(event).await.is_err() {
            tracing::warn!("event bus closed; command result not spooled");
        }
    }

    fn remember(&mut self, id: &str) {
        if self.recent_set.insert(id.to_owned()) {
            self.recent.push_back(id.to_owned());
            if self.recent.len() > RECENT {
                if let Some(old) = self.recent.pop_front() {
                    self.recent_set.remove(&old);
                }
            }
        }
    }

    async fn handle(&mut self, body: &str) -> Disposition {
        let command: CtiCommand = match serde_json::from_str(body) {
            Ok(c) => c,
            Err(e) => {
                let id = serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("commandId")?.as_str().map(str::to_owned))
                    .unwrap_or_default();
                self.publish(
                    id,
                    String::new(),
                    CommandOutcome::Invalid {
                        error: format!("unreadable command: {e}"),
                    },
                )
                .await;
                return Disposition::Delete;
            }
        };
        let id = command.command_id.clone();
        let device = command.action.device().to_owned();
        if command.version > SCHEMA_VERSION {
            self.publish(
                id,
                device,
                CommandOutcome::Invalid {
                    error: format!(
                        "schema version {} is newer than {SCHEMA_VERSION}",
                        command.version
                    ),
                },
            )
            .await;
            return Disposition::Delete;
        }
        if self.recent_set.contains(&id) {
            self.status.command(CommandMetric::Duplicate);
            tracing::info!(command_id = %id, "command already executed; redelivery deleted");
            return Disposition::Delete;
        }
        if Utc::now() > command.expires_at {
            self.remember(&id);
            self.publish(id, device, CommandOutcome::Expired).await;
            return Disposition::Delete;
        }
        let request = match to_csta(&command.action) {
            Ok(r) => r,
            Err(error) => {
                self.remember(&id);
                self.publish(id, device, CommandOutcome::Invalid { error })
                    .await;
                return Disposition::Delete;
            }
        };
        let Some(link) = self.link.borrow().clone() else {
            tracing::debug!(command_id = %id, "PBX link down: command left in the queue");
            return Disposition::Leave;
        };
        if is_ivr_action(&command.action) {
            let outcome = self.ivr.execute(command.action).await;
            self.remember(&id);
            self.publish(id, device, outcome).await;
            return Disposition::Delete;
        }
        let outcome = match link.request_within(request, self.timeout).await {
            Ok(response) => outcome_of(response),
            Err(LinkError::Down) => CommandOutcome::LinkDown,
            Err(LinkError::Timeout(t)) => CommandOutcome::Refused {
                error: format!(
                    "noResponse: the PBX did not answer within {} ms",
                    t.as_millis()
                ),
            },
        };
        self.remember(&id);
        self.publish(id, device, outcome).await;
        Disposition::Delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csta::types::ErrorCategory;

    #[test]
    fn when_actions_are_mapped_should_produce_the_matching_csta_requests() {
        let d = "2001".to_owned();
        let c = "C1".to_owned();
        let cases: Vec<(CommandAction, &str)> = vec![
            (
                CommandAction::Answer {
                    device: d.clone(),
                    call_id: c.clone(),
                },
                "AnswerCall",
            ),
            (
                CommandAction::Hangup {
                    device: d.clone(),
                    call_id: c.clone(),
                },
                "ClearConnection",
            ),
            (
                CommandAction::Dial {
                    device: d.clone(),
                    to: "0612".into(),
                },
                "MakeCall",
            ),
            (
                CommandAction::Hold {
                    device: d.clone(),
                    call_id: c.clone(),
                },
                "HoldCall",
            ),
            (
                CommandAction::Retrieve {
                    device: d.clone(),
                    call_id: c.clone(),
                },
                "RetrieveCall",
            ),
            (
                CommandAction::Consult {
                    device: d.clone(),
                    call_id: c.clone(),
                    to: "2002".into(),
                },
                "ConsultationCall",
            ),
            (
                CommandAction::Transfer {
                    device: d.clone(),
                    held_call_id: c.clone(),
                    active_call_id: "C2".into(),
                },
                "TransferCall",
            ),
            (
                CommandAction::BlindTransfer {
                    device: d.clone(),
                    call_id: c.clone(),
                    to: "2002".into(),
                },
                "SingleStepTransferCall",
            ),
            (
                CommandAction::Conference {
                    device: d.clone(),
                    held_call_id: c.clone(),
                    active_call_id: "C2".into(),
                },
                "ConferenceCall",
            ),
            (
                CommandAction::Deflect {
                    device: d.clone(),
                    call_id: c.clone(),
                    to: "2002".into(),
                },
                "DeflectCall",
            ),
            (
                CommandAction::SendDigits {
                    device: d.clone(),
                    call_id: c.clone(),
                    digits: "12#".into(),
                },
                "GenerateDigits",
            ),
            (
                CommandAction::Monitor {
                    device: "3001".into(),
                    target_device: d.clone(),
                    call_id: c.clone(),
                    mode: MonitorMode::Silent,
                },
                "SingleStepConferenceCall",
            ),
            (
                CommandAction::AgentState {
                    device: d.clone(),
                    agent_id: "42".into(),
                    state: RequestedAgentState::Ready,
                    reason_code: None,
                },
                "SetAgentState",
            ),
        ];
        for (action, name) in cases {
            assert_eq!(to_csta(&action).unwrap().name(), name);
        }
        let ivr = [
            (
                CommandAction::PlayPrompt {
                    device: "6003".into(),
                    call_id: c.clone(),
                    prompt_id: "p".into(),
                    media: vec![cti_events::PromptMedia {
                        url: "http://x/a.wav".into(),
                        cache_key: "abc".into(),
                    }],
                    collect: None,
                },
                "PlayMessage",
            ),
            (
                CommandAction::StopPrompt {
                    device: "6003".into(),
                    call_id: c.clone(),
                },
                "Stop",
            ),
            (
                CommandAction::RecordMessage {
                    device: "6003".into(),
                    call_id: c.clone(),
                    prompt_id: "vm".into(),
                    key: "k".into(),
                    upload_url: "http://x/u".into(),
                    max_seconds: 90,
                },
                "RecordMessage",
            ),
        ];
        for (action, name) in ivr {
            assert!(crate::ivr::is_ivr_action(&action));
            let message = to_csta(&action).unwrap();
            assert_eq!(message.name(), name);
            if let Message::RecordMessage(r) = message {
                assert_eq!(r.max_duration, Some(90_000));
            }
        }
        let Message::SingleStepConferenceCall(m) = to_csta(&CommandAction::Monitor {
            device: "3001".into(),
            target_device: d.clone(),
            call_id: c.clone(),
            mode: MonitorMode::Join,
        })
        .unwrap() else {
            panic!("wrong message")
        };
        assert_eq!(m.participation_type, Some(ParticipationType::Active));
        assert_eq!(m.active_call, Some(ConnectionId::new("C1", "2001")));
        assert!(to_csta(&CommandAction::Monitor {
            device: "3001".into(),
            target_device: d,
            call_id: c,
            mode: MonitorMode::Coach,
        })
        .is_err());
    }

    #[test]
    fn when_pbx_answers_should_map_outcome() {
        assert_eq!(
            outcome_of(Message::MakeCallResponse(MakeCallResponse {
                calling_device: Some(ConnectionId::new("C7", "2001")),
                ..Default::default()
            })),
            CommandOutcome::Done {
                call_id: Some("C7".into())
            }
        );
        assert_eq!(
            outcome_of(Message::AnswerCallResponse(Default::default())),
            CommandOutcome::Done { call_id: None }
        );
        assert_eq!(
            outcome_of(Message::CstaErrorCode(csta::CstaErrorCode {
                category: ErrorCategory::Operation,
                value: "invalidCallID".into()
            })),
            CommandOutcome::Refused {
                error: "invalidCallID".into()
            }
        );
    }
}
