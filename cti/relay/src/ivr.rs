//! Cloud-driven IVR ports: the PBX plays prompts and holds the caller, Linka decides.
//!
//! The cloud sends [`CommandAction::PlayPrompt`], [`CommandAction::StopPrompt`] and
//! [`CommandAction::RecordMessage`]; the relay maps them to ECMA-269 voice unit services
//! (PlayMessage, Stop, RecordMessage) and reports what happened as [`IvrPortEvent`]s.
//!
//! - **Prompts**: each media URL is downloaded once into `ivr.media_dir` as `{cacheKey}.wav`
//!   ([`MediaCache`]); the PBX is asked to play it by name (`messageToBePlayed` = the cache
//!   key). A multi-file prompt is sequenced here: the next PlayMessage goes out when the
//!   StopEvent of the previous file arrives.
//! - **Digits** are collected here ([`DigitCollector`], a pure state machine), from the
//!   DigitsGenerated events the PBX reports on the monitored port, so any PBX that can play a
//!   message and report DTMF works.
//! - **Recordings**: RecordMessage (maxDuration in ms); when the recording's StopEvent arrives
//!   (its maximum, a Stop, the caller hanging up) or the call clears, the relay fetches the
//!   file from the PBX (`ivr.recordings_url`), PUTs it to the presigned `uploadUrl` and
//!   reports `RecordingStored` (or `RecordingFailed`).
//! - A new PlayPrompt or RecordMessage on the same call cancels what runs (no event; a
//!   recording cancelled so is still stored). The caller hanging up ends a prompt or collection
//!   without an event (the cloud sees ConnectionCleared).
//!
//! A StopEvent caused by the relay's own Stop request is not the end of a later prompt: the
//! relay counts the Stop requests it sent per call while something played and skips as many
//! StopEvents of plays (a PBX sends one StopEvent per stopped message, at most).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use csta::model::{PlayMessage, PlayMessageResponse, RecordMessage, RecordMessageResponse, Stop};
use csta::types::ConnectionId;
use csta::Message;
use cti_events::{
    CommandAction, CommandOutcome, CtiEvent, DigitCollect, IvrPortEvent, IvrPortOutcome,
    PromptMedia,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::link::LinkHandle;
use crate::mapping::plain_device;
use crate::pipeline::EventBus;

// ------------------------------------------------------------------------------ digit collection

/// How a digit collection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// Digits (with the terminator, when it ended the collection).
    Digits(String),
    /// Nothing keyed in time.
    Timeout,
}

/// What a keyed digit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigitStep {
    /// The prompt must stop (barge-in).
    pub stop_prompt: bool,
    /// The collection ended.
    pub done: Option<Collected>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The prompt plays.
    Prompting,
    /// Waiting for a digit until the deadline.
    Waiting(Instant),
    Done,
}

/// The digit-collection state machine (pure: time is a parameter).
///
/// Digits keyed during the prompt count when `bargeIn` (and stop the prompt), else they are
/// dropped. After the prompt, it waits `timeoutSeconds` for the first digit and the same again
/// after each digit. It ends at `maxDigits` (the terminator does not count), at the terminator
/// (kept in the digits), or at the timeout: `Timeout` when nothing was keyed, else the digits
/// (even fewer than `minDigits`: the cloud validates).
#[derive(Debug, Clone)]
pub struct DigitCollector {
    spec: DigitCollect,
    digits: String,
    counted: u32,
    phase: Phase,
}

impl DigitCollector {
    /// A collection whose prompt is playing.
    pub fn new(spec: DigitCollect) -> Self {
        Self {
            spec,
            digits: String::new(),
            counted: 0,
            phase: Phase::Prompting,
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.spec.timeout_seconds))
    }

    /// The prompt ended: the first-digit timer starts.
    pub fn prompt_finished(&mut self, now: Instant) {
        if self.phase == Phase::Prompting {
            self.phase = Phase::Waiting(now + self.timeout());
        }
    }

    /// A digit was keyed.
    pub fn digit(&mut self, digit: char, now: Instant) -> DigitStep {
        let mut step = DigitStep::default();
        match self.phase {
            Phase::Done => return step,
            Phase::Prompting if !self.spec.barge_in => return step,
            Phase::Prompting => step.stop_prompt = true,
            Phase::Waiting(_) => {}
        }
        self.digits.push(digit);
        if Some(digit) == self.spec.terminator {
            self.phase = Phase::Done;
            step.done = Some(Collected::Digits(self.digits.clone()));
            return step;
        }
        self.counted += 1;
        if self.spec.max_digits > 0 && self.counted >= self.spec.max_digits {
            self.phase = Phase::Done;
            step.done = Some(Collected::Digits(self.digits.clone()));
        } else {
            self.phase = Phase::Waiting(now + self.timeout());
        }
        step
    }

    /// Time passed: the collection ends when its deadline is reached.
    pub fn tick(&mut self, now: Instant) -> Option<Collected> {
        match self.phase {
            Phase::Waiting(deadline) if now >= deadline => {
                self.phase = Phase::Done;
                Some(if self.digits.is_empty() {
                    Collected::Timeout
                } else {
                    Collected::Digits(self.digits.clone())
                })
            }
            _ => None,
        }
    }

    /// When [`Self::tick`] should be called next.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting(d) => Some(d),
            _ => None,
        }
    }
}

// ------------------------------------------------------------------------------ media cache

/// Prompt files downloaded once per cache key.
#[derive(Debug, Clone)]
pub struct MediaCache {
    dir: PathBuf,
    http: reqwest::Client,
}

/// The PBX message id (and file stem) of a cache key: `[A-Za-z0-9._-]`, others become `_`.
pub fn message_id(cache_key: &str) -> Option<String> {
    let id: String = cache_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (!id.is_empty() && !id.starts_with('.')).then_some(id)
}

impl MediaCache {
    /// A cache in `dir`.
    pub fn new(dir: PathBuf, http: reqwest::Client) -> Self {
        Self { dir, http }
    }

    /// Makes sure every file is in the cache; returns their message ids, in order.
    pub async fn ensure(&self, media: &[PromptMedia]) -> Result<Vec<String>, String> {
        let mut ids = Vec::with_capacity(media.len());
        for m in media {
            let id = message_id(&m.cache_key)
                .ok_or_else(|| format!("invalid cacheKey {:?}", m.cache_key))?;
            let path = self.dir.join(format!("{id}.wav"));
            if tokio::fs::metadata(&path).await.is_err() {
                let bytes = fetch(&self.http, &m.url).await?;
                tokio::fs::create_dir_all(&self.dir)
                    .await
                    .map_err(|e| format!("media dir {}: {e}", self.dir.display()))?;
                let tmp = self.dir.join(format!(".{id}.{}.tmp", uuid::Uuid::new_v4()));
                tokio::fs::write(&tmp, &bytes)
                    .await
                    .map_err(|e| format!("write {}: {e}", tmp.display()))?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|e| format!("rename {}: {e}", path.display()))?;
                tracing::info!(cache_key = %m.cache_key, bytes = bytes.len(), "prompt downloaded");
            }
            ids.push(id);
        }
        Ok(ids)
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {}: {}", redact(url), crate::error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(format!(
            "GET {}: http {}",
            redact(url),
            resp.status().as_u16()
        ));
    }
    resp.bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| format!("GET {}: {e}", redact(url)))
}

/// A URL without its query (presigned signatures stay out of logs and events).
fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

// ------------------------------------------------------------------------------ controller

/// A message from the PBX that the IVR controller may need.
#[derive(Debug)]
pub struct IvrInput {
    /// The monitored device it was reported on.
    pub monitored: Option<String>,
    /// The message.
    pub message: Message,
}

/// The link's side: forwards voice unit events, digits and clearing while anything runs.
#[derive(Debug, Clone)]
pub struct IvrTap {
    tx: mpsc::UnboundedSender<IvrInput>,
    active: Arc<AtomicBool>,
}

impl IvrTap {
    /// True for the messages the controller uses.
    pub fn wants(&self, message: &Message) -> bool {
        self.active.load(Ordering::Relaxed)
            && matches!(
                message,
                Message::PlayEvent(_)
                    | Message::StopEvent(_)
                    | Message::RecordEvent(_)
                    | Message::DigitsGeneratedEvent(_)
                    | Message::ConnectionClearedEvent(_)
                    | Message::CallClearedEvent(_)
            )
    }

    /// Hands a message over.
    pub fn forward(&self, monitored: Option<String>, message: Message) {
        let _ = self.tx.send(IvrInput { monitored, message });
    }
}

struct Job {
    action: CommandAction,
    media: Vec<String>,
    reply: oneshot::Sender<CommandOutcome>,
}

/// The command executor's side.
#[derive(Debug, Clone)]
pub struct IvrHandle {
    tx: mpsc::Sender<Job>,
    media: MediaCache,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Job({})", self.action.device())
    }
}

/// True for the actions [`IvrHandle::execute`] runs.
pub fn is_ivr_action(action: &CommandAction) -> bool {
    matches!(
        action,
        CommandAction::PlayPrompt { .. }
            | CommandAction::StopPrompt { .. }
            | CommandAction::RecordMessage { .. }
    )
}

impl IvrHandle {
    /// Runs an IVR action; the outcome is the command's result.
    pub async fn execute(&self, action: CommandAction) -> CommandOutcome {
        let media = match &action {
            CommandAction::PlayPrompt { media, .. } => match self.media.ensure(media).await {
                Ok(ids) => ids,
                Err(error) => {
                    return CommandOutcome::Refused {
                        error: format!("prompt download failed: {error}"),
                    }
                }
            },
            _ => Vec::new(),
        };
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Job {
                action,
                media,
                reply,
            })
            .await
            .is_err()
        {
            return CommandOutcome::LinkDown;
        }
        rx.await.unwrap_or(CommandOutcome::LinkDown)
    }
}

struct Play {
    files: Vec<String>,
    current: usize,
}

struct Recording {
    call_id: String,
    device: String,
    prompt_id: String,
    key: String,
    upload_url: String,
    started: Instant,
    /// Longest allowed, ms.
    max_ms: u64,
    /// Stored even without its StopEvent after this (a PBX that does not report it).
    deadline: Instant,
}

/// How long after its maximum duration a recording is fetched without a StopEvent.
pub const RECORDING_GRACE: Duration = Duration::from_secs(10);

struct Session {
    device: String,
    prompt_id: String,
    play: Option<Play>,
    collector: Option<DigitCollector>,
    recording: Option<String>,
}

/// The controller task: owns every running prompt, collection and recording.
pub struct IvrController {
    config: Arc<Config>,
    bus: EventBus,
    link: watch::Receiver<Option<LinkHandle>>,
    http: reqwest::Client,
    jobs: mpsc::Receiver<Job>,
    inputs: mpsc::UnboundedReceiver<IvrInput>,
    active: Arc<AtomicBool>,
    sessions: HashMap<String, Session>,
    /// Recordings by CSTA message id, until their StopEvent (or the call clearing).
    recordings: HashMap<String, Recording>,
    /// StopEvents still due for plays the relay stopped itself, per call.
    stale_stops: HashMap<String, u32>,
}

/// Builds the controller and its two handles.
pub fn controller(
    config: Arc<Config>,
    bus: EventBus,
    link: watch::Receiver<Option<LinkHandle>>,
) -> (IvrController, IvrHandle, IvrTap) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(config.ivr.http_timeout_ms))
        .build()
        .unwrap_or_default();
    let (jobs_tx, jobs) = mpsc::channel(64);
    let (inputs_tx, inputs) = mpsc::unbounded_channel();
    let active = Arc::new(AtomicBool::new(false));
    let handle = IvrHandle {
        tx: jobs_tx,
        media: MediaCache::new(config.ivr_media_dir(), http.clone()),
    };
    let tap = IvrTap {
        tx: inputs_tx,
        active: active.clone(),
    };
    let controller = IvrController {
        config,
        bus,
        link,
        http,
        jobs,
        inputs,
        active,
        sessions: HashMap::new(),
        recordings: HashMap::new(),
        stale_stops: HashMap::new(),
    };
    (controller, handle, tap)
}

fn conn(call_id: &str, device: &str) -> Option<ConnectionId> {
    Some(ConnectionId::new(call_id, device))
}

impl IvrController {
    /// Runs until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let deadline = self
                .sessions
                .values()
                .filter_map(|s| s.collector.as_ref()?.deadline())
                .chain(self.recordings.values().map(|r| r.deadline))
                .min();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                input = self.inputs.recv() => match input {
                    Some(input) => self.on_input(input).await,
                    None => return,
                },
                job = self.jobs.recv() => match job {
                    Some(job) => {
                        // Events answering the job's requests may come before it returns.
                        self.active.store(true, Ordering::Relaxed);
                        let outcome = self.on_job(job.action, job.media).await;
                        let _ = job.reply.send(outcome);
                    }
                    None => return,
                },
                () = sleep => self.on_tick(Instant::now()).await,
                changed = self.link.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if self.link.borrow_and_update().is_none() {
                        self.link_lost();
                    }
                }
            }
            self.active.store(
                !(self.sessions.is_empty()
                    && self.recordings.is_empty()
                    && self.stale_stops.is_empty()),
                Ordering::Relaxed,
            );
        }
    }

    async fn request(&self, message: Message) -> Result<Message, CommandOutcome> {
        let link = self.link.borrow().clone().ok_or(CommandOutcome::LinkDown)?;
        link.request(message).await.map_err(|e| match e {
            crate::link::LinkError::Down => CommandOutcome::LinkDown,
            crate::link::LinkError::Timeout(t) => CommandOutcome::Refused {
                error: format!(
                    "noResponse: the PBX did not answer within {} ms",
                    t.as_millis()
                ),
            },
        })
    }

    async fn publish(&self, call_id: &str, device: &str, prompt_id: &str, outcome: IvrPortOutcome) {
        tracing::info!(call_id, device, prompt_id, outcome = ?outcome, "IVR port event");
        let event = CtiEvent::Ivr(IvrPortEvent {
            call_id: call_id.to_owned(),
            device: device.to_owned(),
            prompt_id: prompt_id.to_owned(),
            outcome,
        });
        if self.bus.publish(event).await.is_err() {
            tracing::warn!("event bus closed; IVR event not spooled");
        }
    }

    /// Ends what runs on the call without an event: a play is stopped (its StopEvent will be
    /// skipped), a recording is stopped and still stored when its StopEvent comes.
    async fn cancel(&mut self, call_id: &str) -> Option<Result<Message, CommandOutcome>> {
        let session = self.sessions.remove(call_id)?;
        if session.play.is_none() && session.recording.is_none() {
            return None;
        }
        if session.play.is_some() {
            *self.stale_stops.entry(call_id.to_owned()).or_default() += 1;
        }
        Some(
            self.request(
                Stop {
                    connection: conn(call_id, &session.device),
                    ..Default::default()
                }
                .into(),
            )
            .await,
        )
    }

    async fn on_job(&mut self, action: CommandAction, media: Vec<String>) -> CommandOutcome {
        match action {
            CommandAction::PlayPrompt {
                device,
                call_id,
                prompt_id,
                collect,
                ..
            } => {
                let Some(first) = media.first().cloned() else {
                    return CommandOutcome::Invalid {
                        error: "playPrompt without media".into(),
                    };
                };
                let _ = self.cancel(&call_id).await;
                let play = PlayMessage {
                    message_to_be_played: Some(first),
                    over_connection: conn(&call_id, &device),
                    ..Default::default()
                };
                match self.request(play.into()).await {
                    Ok(Message::PlayMessageResponse(PlayMessageResponse { .. })) => {
                        self.sessions.insert(
                            call_id,
                            Session {
                                device,
                                prompt_id,
                                play: Some(Play {
                                    files: media,
                                    current: 0,
                                }),
                                collector: collect.map(DigitCollector::new),
                                recording: None,
                            },
                        );
                        CommandOutcome::Done { call_id: None }
                    }
                    Ok(other) => crate::commands::outcome_of(other),
                    Err(outcome) => outcome,
                }
            }
            CommandAction::StopPrompt { device, call_id } => {
                match self.cancel(&call_id).await {
                    Some(Ok(response)) => crate::commands::outcome_of(response),
                    Some(Err(outcome)) => outcome,
                    // Nothing known to run: ask the PBX anyway (the cloud may know better).
                    None => match self
                        .request(
                            Stop {
                                connection: conn(&call_id, &device),
                                ..Default::default()
                            }
                            .into(),
                        )
                        .await
                    {
                        Ok(response) => crate::commands::outcome_of(response),
                        Err(outcome) => outcome,
                    },
                }
            }
            CommandAction::RecordMessage {
                device,
                call_id,
                prompt_id,
                key,
                upload_url,
                max_seconds,
            } => {
                let _ = self.cancel(&call_id).await;
                let record = RecordMessage {
                    call_to_be_recorded: conn(&call_id, &device),
                    max_duration: Some(max_seconds.saturating_mul(1000)),
                    ..Default::default()
                };
                match self.request(record.into()).await {
                    Ok(Message::RecordMessageResponse(RecordMessageResponse {
                        resulting_message: Some(id),
                        ..
                    })) => {
                        let max_ms = u64::from(max_seconds) * 1000;
                        let started = Instant::now();
                        self.recordings.insert(
                            id.clone(),
                            Recording {
                                call_id: call_id.clone(),
                                device: device.clone(),
                                prompt_id: prompt_id.clone(),
                                key,
                                upload_url,
                                started,
                                max_ms,
                                deadline: started + Duration::from_millis(max_ms) + RECORDING_GRACE,
                            },
                        );
                        self.sessions.insert(
                            call_id,
                            Session {
                                device,
                                prompt_id,
                                play: None,
                                collector: None,
                                recording: Some(id),
                            },
                        );
                        CommandOutcome::Done { call_id: None }
                    }
                    Ok(Message::RecordMessageResponse(_)) => CommandOutcome::Refused {
                        error: "RecordMessageResponse without resultingMessage".into(),
                    },
                    Ok(other) => crate::commands::outcome_of(other),
                    Err(outcome) => outcome,
                }
            }
            other => CommandOutcome::Invalid {
                error: format!("not an IVR action: {}", other.device()),
            },
        }
    }

    async fn on_input(&mut self, input: IvrInput) {
        let now = Instant::now();
        match input.message {
            Message::StopEvent(e) => {
                let Some(call_id) = e.connection.as_ref().and_then(|c| c.call_id.clone()) else {
                    return;
                };
                let message = e.message.unwrap_or_default();
                if let Some(rec) = self.recordings.remove(&message) {
                    if let Some(s) = self.sessions.get(&call_id) {
                        if s.recording.as_deref() == Some(message.as_str()) {
                            self.sessions.remove(&call_id);
                        }
                    }
                    let length = e.length.map(u64::from);
                    self.store(message, rec, length);
                    return;
                }
                if let Some(n) = self.stale_stops.get_mut(&call_id) {
                    *n -= 1;
                    if *n == 0 {
                        self.stale_stops.remove(&call_id);
                    }
                    return;
                }
                self.play_ended(&call_id, now).await;
            }
            Message::DigitsGeneratedEvent(e) => {
                let Some(connection) = e.connection else {
                    return;
                };
                let Some(call_id) = connection.call_id else {
                    return;
                };
                let Some(session) = self.sessions.get_mut(&call_id) else {
                    return;
                };
                let keyed_by = connection.device_id.as_deref().and_then(plain_device);
                if input.monitored.as_deref() != Some(session.device.as_str())
                    || keyed_by.as_deref() == Some(session.device.as_str())
                {
                    return;
                }
                let Some(collector) = session.collector.as_mut() else {
                    return;
                };
                let mut stop_prompt = false;
                let mut done = None;
                for digit in e.digit_generated_list.unwrap_or_default().chars() {
                    let step = collector.digit(digit, now);
                    stop_prompt |= step.stop_prompt;
                    if step.done.is_some() {
                        done = step.done;
                        break;
                    }
                }
                if stop_prompt && session.play.take().is_some() {
                    *self.stale_stops.entry(call_id.clone()).or_default() += 1;
                    let device = session.device.clone();
                    let stop = Stop {
                        connection: conn(&call_id, &device),
                        ..Default::default()
                    };
                    if let Err(outcome) = self.request(stop.into()).await {
                        tracing::warn!(call_id, outcome = ?outcome, "barge-in: Stop failed");
                    }
                }
                if let Some(done) = done {
                    self.finish_collection(&call_id, done).await;
                }
            }
            Message::ConnectionClearedEvent(e) => {
                if let Some(call_id) = e.dropped_connection.and_then(|c| c.call_id) {
                    self.call_gone(&call_id);
                }
            }
            Message::CallClearedEvent(e) => {
                if let Some(call_id) = e.cleared_call.and_then(|c| c.call_id) {
                    self.call_gone(&call_id);
                    self.stale_stops.remove(&call_id);
                }
            }
            _ => {}
        }
    }

    /// The current file of the call's prompt ended: play the next, or end the prompt.
    async fn play_ended(&mut self, call_id: &str, now: Instant) {
        let Some(session) = self.sessions.get_mut(call_id) else {
            return;
        };
        let Some(play) = session.play.as_mut() else {
            return;
        };
        play.current += 1;
        if let Some(next) = play.files.get(play.current).cloned() {
            let request = PlayMessage {
                message_to_be_played: Some(next),
                over_connection: conn(call_id, &session.device),
                ..Default::default()
            };
            match self.request(request.into()).await {
                Ok(Message::PlayMessageResponse(_)) => return,
                other => {
                    tracing::warn!(call_id, answer = ?other.as_ref().map(Message::name), "next prompt file refused; prompt ends");
                }
            }
        }
        let Some(session) = self.sessions.get_mut(call_id) else {
            return;
        };
        session.play = None;
        match session.collector.as_mut() {
            Some(collector) => collector.prompt_finished(now),
            None => {
                let (device, prompt_id) = (session.device.clone(), session.prompt_id.clone());
                self.sessions.remove(call_id);
                self.publish(call_id, &device, &prompt_id, IvrPortOutcome::PromptFinished)
                    .await;
            }
        }
    }

    async fn finish_collection(&mut self, call_id: &str, done: Collected) {
        let Some(session) = self.sessions.remove(call_id) else {
            return;
        };
        let outcome = match done {
            Collected::Digits(digits) => IvrPortOutcome::DigitsCollected { digits },
            Collected::Timeout => IvrPortOutcome::CollectTimeout,
        };
        self.publish(call_id, &session.device, &session.prompt_id, outcome)
            .await;
    }

    async fn on_tick(&mut self, now: Instant) {
        let due: Vec<(String, Collected)> = self
            .sessions
            .iter_mut()
            .filter_map(|(call, s)| Some((call.clone(), s.collector.as_mut()?.tick(now)?)))
            .collect();
        for (call_id, done) in due {
            self.finish_collection(&call_id, done).await;
        }
        let overdue: Vec<String> = self
            .recordings
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in overdue {
            if let Some(rec) = self.recordings.remove(&id) {
                tracing::warn!(call_id = %rec.call_id, id = %id, "no StopEvent for the recording; fetching it anyway");
                self.sessions.remove(&rec.call_id);
                self.store(id, rec, None);
            }
        }
    }

    /// The PBX link went down: its events are lost, so prompts and collections end without an
    /// event (the cloud sees `Link{down}` and reconciles); recordings wait for their deadline.
    fn link_lost(&mut self) {
        if !self.sessions.is_empty() {
            tracing::warn!(
                sessions = self.sessions.len(),
                "PBX link lost: running prompts and collections dropped"
            );
        }
        self.sessions.retain(|_, s| s.recording.is_some());
        self.stale_stops.clear();
    }

    /// The caller (or the port) left: prompts and collections end without an event; a
    /// recording whose StopEvent did not come is stored with the time measured here.
    fn call_gone(&mut self, call_id: &str) {
        self.sessions.remove(call_id);
        let ids: Vec<String> = self
            .recordings
            .iter()
            .filter(|(_, r)| r.call_id == call_id)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(rec) = self.recordings.remove(&id) {
                self.store(id, rec, None);
            }
        }
    }

    /// Fetches the recording from the PBX, uploads it and reports (in the background).
    fn store(&self, id: String, rec: Recording, length_ms: Option<u64>) {
        let duration_ms = length_ms.unwrap_or_else(|| {
            u64::try_from(rec.started.elapsed().as_millis())
                .unwrap_or(u64::MAX)
                .min(rec.max_ms)
        });
        let source = self.config.recording_url(&id);
        let http = self.http.clone();
        let bus = self.bus.clone();
        tokio::spawn(async move {
            let outcome = match upload(&http, &source, &rec.upload_url).await {
                Ok(bytes) => {
                    tracing::info!(call_id = %rec.call_id, key = %rec.key, bytes, duration_ms, "recording uploaded");
                    IvrPortOutcome::RecordingStored {
                        key: rec.key,
                        duration_ms,
                    }
                }
                Err(error) => {
                    tracing::warn!(call_id = %rec.call_id, error = %error, "recording not stored");
                    IvrPortOutcome::RecordingFailed { error }
                }
            };
            let event = CtiEvent::Ivr(IvrPortEvent {
                call_id: rec.call_id,
                device: rec.device,
                prompt_id: rec.prompt_id,
                outcome,
            });
            if bus.publish(event).await.is_err() {
                tracing::warn!("event bus closed; recording event not spooled");
            }
        });
    }
}

async fn upload(http: &reqwest::Client, source: &str, target: &str) -> Result<usize, String> {
    let wav = fetch(http, source).await?;
    let len = wav.len();
    let resp = http
        .put(target)
        .header("content-type", "audio/wav")
        .body(wav)
        .send()
        .await
        .map_err(|e| format!("PUT {}: {}", redact(target), crate::error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(format!(
            "PUT {}: http {}",
            redact(target),
            resp.status().as_u16()
        ));
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(min: u32, max: u32, terminator: Option<char>, barge_in: bool) -> DigitCollect {
        DigitCollect {
            min_digits: min,
            max_digits: max,
            timeout_seconds: 5,
            terminator,
            barge_in,
        }
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn when_a_digit_is_keyed_during_the_prompt_with_barge_in_should_stop_the_prompt_and_count() {
        let t0 = Instant::now();
        let mut c = DigitCollector::new(spec(1, 3, None, true));
        let step = c.digit('4', t0);
        assert!(step.stop_prompt);
        assert_eq!(step.done, None);
        assert_eq!(c.deadline(), Some(t0 + 5 * S));
        assert_eq!(c.tick(t0 + 5 * S), Some(Collected::Digits("4".into())));
    }

    #[test]
    fn when_a_digit_is_keyed_during_the_prompt_without_barge_in_should_be_ignored() {
        let t0 = Instant::now();
        let mut c = DigitCollector::new(spec(1, 3, None, false));
        assert_eq!(c.digit('4', t0), DigitStep::default());
        assert_eq!(c.deadline(), None);
        c.prompt_finished(t0 + S);
        assert_eq!(c.tick(t0 + 6 * S), Some(Collected::Timeout));
    }

    #[test]
    fn when_the_terminator_is_keyed_should_end_with_it_included_and_not_counted() {
        let t0 = Instant::now();
        let mut c = DigitCollector::new(spec(4, 4, Some('#'), true));
        c.prompt_finished(t0);
        assert_eq!(c.digit('1', t0 + S).done, None);
        assert_eq!(c.digit('2', t0 + 2 * S).done, None);
        assert_eq!(
            c.digit('#', t0 + 3 * S).done,
            Some(Collected::Digits("12#".into()))
        );
        // Done: later digits and time change nothing.
        assert_eq!(c.digit('3', t0 + 4 * S), DigitStep::default());
        assert_eq!(c.tick(t0 + 60 * S), None);
    }

    #[test]
    fn when_nothing_is_keyed_before_the_timeout_should_report_a_timeout() {
        let t0 = Instant::now();
        let mut c = DigitCollector::new(spec(1, 4, None, true));
        assert_eq!(
            c.tick(t0 + 60 * S),
            None,
            "the timer starts after the prompt"
        );
        c.prompt_finished(t0);
        assert_eq!(c.tick(t0 + 4 * S), None);
        assert_eq!(c.tick(t0 + 5 * S), Some(Collected::Timeout));
    }

    #[test]
    fn when_fewer_than_min_digits_are_keyed_before_the_timeout_should_report_what_was_keyed() {
        let t0 = Instant::now();
        let mut c = DigitCollector::new(spec(4, 6, None, true));
        c.prompt_finished(t0);
        c.digit('1', t0 + 4 * S);
        // The inter-digit timeout restarts at each digit.
        assert_eq!(c.tick(t0 + 8 * S), None);
        c.digit('2', t0 + 8 * S);
        assert_eq!(c.tick(t0 + 12 * S), None);
        assert_eq!(c.tick(t0 + 13 * S), Some(Collected::Digits("12".into())));
    }

    #[test]
    fn when_max_digits_are_keyed_should_end_at_once() {
        let t0 = Instant::now();
        let mut c = DigitCollector::new(spec(1, 2, Some('#'), true));
        c.prompt_finished(t0);
        assert_eq!(c.digit('7', t0).done, None);
        assert_eq!(c.digit('8', t0).done, Some(Collected::Digits("78".into())));
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn when_a_new_prompt_starts_should_cancel_the_running_collection_without_an_event() {
        // The controller replaces the session: the old collector is dropped unfinished, and
        // the new one starts in its prompt phase with no digits.
        let t0 = Instant::now();
        let mut old = DigitCollector::new(spec(1, 4, None, true));
        old.prompt_finished(t0);
        old.digit('1', t0);
        let mut new = DigitCollector::new(spec(1, 4, None, true));
        assert_eq!(new.deadline(), None);
        assert_eq!(new.tick(t0 + 60 * S), None);
        new.prompt_finished(t0 + S);
        assert_eq!(new.tick(t0 + 6 * S), Some(Collected::Timeout));
    }

    #[test]
    fn when_cache_keys_have_unsafe_characters_should_make_safe_message_ids() {
        assert_eq!(message_id("9f86d081").as_deref(), Some("9f86d081"));
        assert_eq!(message_id("../x/y"), None);
        assert_eq!(message_id("a/b c").as_deref(), Some("a_b_c"));
        assert_eq!(message_id(""), None);
    }
}
