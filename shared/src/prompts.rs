//! IVR prompts (IN-6, IN-10): uploaded recordings and text to speech, turned into something the
//! PBX can play.
//!
//! - [`validate_wav`]: what an administrator may upload (WAV, mono, PCM 8/16-bit, common sample
//!   rates, at most [`MAX_PROMPT_BYTES`] and [`MAX_PROMPT_SECONDS`]), with one [`AudioError`] per
//!   reason.
//! - Ports: [`SpeechSynthesizer`] (Amazon Polly in AWS, espeak-ng locally, chosen by
//!   `LINKA_TTS`) and [`PromptStore`] (the `PromptsBucket` in S3; in memory for tests).
//! - [`PromptResolver`]: a [`PromptRef`] → a presigned GET URL and a cache key. A recording is
//!   served as uploaded; a TTS prompt is synthesized once into `tts/{sha256}.wav` and served
//!   from there afterwards (the hash covers engine, voice and text, so a changed text or voice is
//!   a new file and never a stale one).
//!
//! Wiring in a Lambda's `main` (see [`PromptSettings`]):
//!
//! ```ignore
//! let settings = PromptSettings::from_source(&ProcessEnv)?;
//! let sdk = linka_shared::aws::sdk_config().await;
//! let resolver = PromptResolver::new(
//!     Arc::new(S3PromptStore::from_sdk_config(&sdk, settings.bucket)),
//!     speech_synthesizer(settings.tts, &sdk),
//! );
//! ```

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::{
    config::{self, ConfigError, Env},
    ivr::{IvrTree, Node, PromptRef},
    paging::{InvalidCursor, Page, PageCursor},
    problem::FieldError,
    users::PageLimit,
    BoxError,
};

/// Where uploaded prompts live in the store: `prompts/{name}.wav`.
pub const PROMPT_PREFIX: &str = "prompts/";

/// Where synthesized prompts are cached: `tts/{sha256}.wav`.
pub const TTS_PREFIX: &str = "tts/";

/// Largest upload. API Gateway hands a binary body to Lambda base64-encoded, and Lambda's
/// synchronous payload limit is 6 MB: 4 MiB become 5.6 MB of base64, which still fits with the
/// rest of the event (5 MiB would not).
pub const MAX_PROMPT_BYTES: usize = 4 * 1024 * 1024;

/// Longest recording.
pub const MAX_PROMPT_SECONDS: u32 = 600;

/// Sample rates accepted in an upload.
pub const SAMPLE_RATES: [u32; 5] = [8_000, 16_000, 22_050, 44_100, 48_000];

/// How long a presigned GET stays valid unless the resolver is told otherwise.
pub const DEFAULT_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Longest prompt name (`^[a-z0-9][a-z0-9-]{0,59}$`).
pub const MAX_PROMPT_NAME_CHARS: usize = 60;

/// Longest TTS text (the IVR model's limit).
pub const MAX_TTS_CHARS: usize = crate::ivr::model::MAX_TTS_CHARS;

/// The media type of every stored prompt.
pub const WAV_CONTENT_TYPE: &str = "audio/wav";

// ---------------------------------------------------------------------------------------------
// Names and keys
// ---------------------------------------------------------------------------------------------

/// Names a prompt cannot have: they are paths of their own under `/api/admin/prompts/`.
pub const RESERVED_PROMPT_NAMES: [&str; 1] = ["preview-tts"];

/// A prompt name an administrator may choose: `^[a-z0-9][a-z0-9-]{0,59}$`, not reserved.
pub fn is_valid_prompt_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    !RESERVED_PROMPT_NAMES.contains(&name)
        && matches!(bytes.next(), Some(b'a'..=b'z' | b'0'..=b'9'))
        && name.len() <= MAX_PROMPT_NAME_CHARS
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// The storage key of an uploaded prompt: `prompts/{name}.wav`.
pub fn prompt_key(name: &str) -> String {
    format!("{PROMPT_PREFIX}{name}.wav")
}

/// The name of a key made by [`prompt_key`]; `None` for other keys (e.g. nested ones).
pub fn prompt_name(key: &str) -> Option<&str> {
    key.strip_prefix(PROMPT_PREFIX)
        .and_then(|rest| rest.strip_suffix(".wav"))
        .filter(|name| is_valid_prompt_name(name))
}

/// Every prompt a tree plays (the general announcement first, then the nodes in id order).
pub fn tree_prompts(tree: &IvrTree) -> Vec<&PromptRef> {
    let mut prompts = Vec::new();
    if let Some(announcement) = &tree.general_announcement {
        prompts.push(&announcement.prompt);
    }
    for node in tree.nodes.values() {
        match node {
            Node::Prompt { prompt, .. }
            | Node::Menu { prompt, .. }
            | Node::CollectDigits { prompt, .. } => prompts.push(prompt),
            Node::Voicemail { greeting, .. } => prompts.push(greeting),
            Node::CallbackOffer {
                prompt,
                time_prompt,
                ..
            } => {
                prompts.push(prompt);
                prompts.extend(time_prompt.as_ref());
            }
            Node::Hangup { prompt } => prompts.extend(prompt.as_ref()),
            Node::BranchHours { .. }
            | Node::BranchStatistic { .. }
            | Node::BranchClientStatus { .. }
            | Node::SetAttribute { .. }
            | Node::TransferToQueue { .. }
            | Node::TransferToNumber { .. }
            | Node::AnnouncePosition { .. } => {}
        }
    }
    prompts
}

/// Whether a tree plays the recording stored at `key`.
pub fn tree_uses_audio(tree: &IvrTree, key: &str) -> bool {
    tree_prompts(tree)
        .into_iter()
        .any(|prompt| matches!(prompt, PromptRef::Audio { key: used } if used == key))
}

// ---------------------------------------------------------------------------------------------
// Audio validation
// ---------------------------------------------------------------------------------------------

/// What a valid recording is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WavInfo {
    pub sample_rate: u32,
    pub bits_per_sample: u16,
    pub channels: u16,
    /// Samples per channel.
    pub frames: u32,
    pub duration_ms: u64,
}

/// Why a recording is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AudioError {
    #[error("the recording is empty")]
    Empty,
    #[error("the recording has {bytes} bytes; at most {max} are accepted")]
    TooLarge { bytes: usize, max: usize },
    #[error("the file is not a WAV recording: {0}")]
    NotWav(String),
    #[error("the WAV recording is not PCM (integer samples)")]
    NotPcm,
    #[error("the recording has {channels} channels; only mono is accepted")]
    NotMono { channels: u16 },
    #[error("the sample rate {rate} Hz is not one of 8000, 16000, 22050, 44100, 48000")]
    SampleRate { rate: u32 },
    #[error("{bits}-bit samples are not accepted; use 8 or 16 bits")]
    BitDepth { bits: u16 },
    #[error("the recording lasts {seconds} s; at most {max} s are accepted")]
    TooLong { seconds: u64, max: u32 },
    #[error("the recording holds no sound")]
    NoSamples,
    #[error("the recording is shorter than its header says")]
    Truncated,
}

impl AudioError {
    /// A stable kebab-case code (the `code` of a problem), translated by the web app.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty | Self::NoSamples => "audio-empty",
            Self::TooLarge { .. } => "audio-too-large",
            Self::NotWav(_) => "audio-not-wav",
            Self::NotPcm => "audio-not-pcm",
            Self::NotMono { .. } => "audio-not-mono",
            Self::SampleRate { .. } => "audio-sample-rate",
            Self::BitDepth { .. } => "audio-bit-depth",
            Self::TooLong { .. } => "audio-too-long",
            Self::Truncated => "audio-truncated",
        }
    }
}

/// Checks an uploaded recording: size, WAV header, PCM mono 8/16-bit, a telephony or studio
/// sample rate, duration, and that its data is really there.
pub fn validate_wav(bytes: &[u8]) -> Result<WavInfo, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if bytes.len() > MAX_PROMPT_BYTES {
        return Err(AudioError::TooLarge {
            bytes: bytes.len(),
            max: MAX_PROMPT_BYTES,
        });
    }
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(|error| match error {
        hound::Error::Unsupported => AudioError::NotPcm,
        other => AudioError::NotWav(other.to_string()),
    })?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int {
        return Err(AudioError::NotPcm);
    }
    if spec.channels != 1 {
        return Err(AudioError::NotMono {
            channels: spec.channels,
        });
    }
    if !SAMPLE_RATES.contains(&spec.sample_rate) {
        return Err(AudioError::SampleRate {
            rate: spec.sample_rate,
        });
    }
    if !matches!(spec.bits_per_sample, 8 | 16) {
        return Err(AudioError::BitDepth {
            bits: spec.bits_per_sample,
        });
    }
    let frames = reader.duration();
    if frames == 0 {
        return Err(AudioError::NoSamples);
    }
    let duration_ms = u64::from(frames) * 1000 / u64::from(spec.sample_rate);
    if duration_ms > u64::from(MAX_PROMPT_SECONDS) * 1000 {
        return Err(AudioError::TooLong {
            seconds: duration_ms / 1000,
            max: MAX_PROMPT_SECONDS,
        });
    }
    // The header's data length must be backed by bytes (hound reads lazily).
    let data_bytes = u64::from(frames) * u64::from(spec.bits_per_sample / 8);
    if data_bytes > bytes.len() as u64 {
        return Err(AudioError::Truncated);
    }
    let mut samples = reader.into_samples::<i16>();
    if samples.any(|sample| sample.is_err()) {
        return Err(AudioError::Truncated);
    }
    Ok(WavInfo {
        sample_rate: spec.sample_rate,
        bits_per_sample: spec.bits_per_sample,
        channels: spec.channels,
        frames,
        duration_ms,
    })
}

/// Wraps raw 16-bit little-endian mono PCM (Polly's `pcm` output) into a WAV file.
pub fn pcm16_to_wav(pcm: &[u8], sample_rate: u32) -> Result<Vec<u8>, hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(pcm.len() + 44));
    {
        let mut writer = hound::WavWriter::new(&mut out, spec)?;
        let mut samples = writer.get_i16_writer(u32::try_from(pcm.len() / 2).unwrap_or(u32::MAX));
        for pair in pcm.chunks_exact(2) {
            samples.write_sample(i16::from_le_bytes([pair[0], pair[1]]));
        }
        samples.flush()?;
        writer.finalize()?;
    }
    Ok(out.into_inner())
}

/// Fixes the RIFF and `data` lengths of a WAV written to a pipe (espeak-ng `--stdout` cannot
/// seek back, so it leaves a placeholder there) to what the bytes really hold.
pub fn fix_streamed_wav_lengths(mut wav: Vec<u8>) -> Result<Vec<u8>, AudioError> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return Err(AudioError::NotWav("no RIFF/WAVE header".to_owned()));
    }
    let riff_len = u32::try_from(wav.len() - 8).map_err(|_| AudioError::TooLarge {
        bytes: wav.len(),
        max: MAX_PROMPT_BYTES,
    })?;
    wav[4..8].copy_from_slice(&riff_len.to_le_bytes());
    let mut at = 12;
    while at + 8 <= wav.len() {
        let id = [wav[at], wav[at + 1], wav[at + 2], wav[at + 3]];
        let len = u32::from_le_bytes([wav[at + 4], wav[at + 5], wav[at + 6], wav[at + 7]]);
        if &id == b"data" {
            let available = wav.len() - (at + 8);
            let available = available - available % 2;
            if len as usize > available {
                let fixed = u32::try_from(available).unwrap_or(u32::MAX);
                wav[at + 4..at + 8].copy_from_slice(&fixed.to_le_bytes());
                wav.truncate(at + 8 + available);
            }
            return Ok(wav);
        }
        at += 8 + len as usize + (len as usize % 2);
    }
    Err(AudioError::NotWav("no data chunk".to_owned()))
}

// ---------------------------------------------------------------------------------------------
// Text to speech
// ---------------------------------------------------------------------------------------------

/// The TTS engine (`LINKA_TTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtsEngine {
    /// Amazon Polly, Czech voice Jitka (in AWS).
    Polly,
    /// espeak-ng on the machine (local runs and tests).
    Espeak,
}

impl TtsEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polly => "polly",
            Self::Espeak => "espeak",
        }
    }

    /// `LINKA_TTS`: `polly` or `espeak`.
    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        const NAME: &str = "LINKA_TTS";
        let value = config::required(env, NAME)?;
        match value.to_ascii_lowercase().as_str() {
            "polly" => Ok(Self::Polly),
            "espeak" | "espeak-ng" => Ok(Self::Espeak),
            _ => Err(ConfigError::Invalid {
                name: NAME,
                reason: format!("{value:?} is not polly or espeak"),
            }),
        }
    }
}

/// What the prompt services read from the environment: `PROMPTS_BUCKET` and `LINKA_TTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSettings {
    /// `PROMPTS_BUCKET`: name of PromptsBucket.
    pub bucket: String,
    /// `LINKA_TTS`: the TTS engine.
    pub tts: TtsEngine,
}

impl PromptSettings {
    /// The variables it reads (for a function's `ENVIRONMENT` list).
    pub const ENVIRONMENT: [&'static str; 2] = ["PROMPTS_BUCKET", "LINKA_TTS"];

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            bucket: config::required(env, "PROMPTS_BUCKET")?,
            tts: TtsEngine::from_source(env)?,
        })
    }
}

/// Synthesis failed.
#[derive(Debug, Error)]
pub enum TtsError {
    /// The text is empty or longer than [`MAX_TTS_CHARS`].
    #[error("the text must have 1 to {MAX_TTS_CHARS} characters")]
    InvalidText,
    /// The engine has no such voice.
    #[error("the TTS engine has no voice {0:?}")]
    UnknownVoice(String),
    /// The engine failed or cannot be reached.
    #[error("the TTS engine {engine} failed")]
    Engine {
        engine: &'static str,
        #[source]
        source: BoxError,
    },
    /// The engine answered with audio that is not a usable WAV.
    #[error("the TTS engine returned unusable audio")]
    BadAudio(#[source] AudioError),
}

/// Turns text into speech.
#[async_trait]
pub trait SpeechSynthesizer: Send + Sync {
    /// The engine's name, part of the cache key (`polly`, `espeak`…).
    fn engine(&self) -> &'static str;

    /// The voice used when a prompt names none (part of the cache key).
    fn default_voice(&self) -> &str;

    /// A WAV file (mono, 16-bit PCM) of `text` read by `voice` (the default voice when `None`).
    async fn synthesize(&self, text: &str, voice: Option<&str>) -> Result<Vec<u8>, TtsError>;
}

/// The problems of a TTS text and voice as a request gives them (the rules of a TTS prompt in
/// an IVR tree, `ivr::validate_tree`), each naming `text` or `voice`.
pub fn check_tts_fields(text: &str, voice: Option<&str>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if text.trim().is_empty() {
        errors.push(FieldError::new("text", "is required"));
    } else if text.chars().count() > MAX_TTS_CHARS {
        errors.push(FieldError::new(
            "text",
            format!("must be at most {MAX_TTS_CHARS} characters"),
        ));
    } else if text.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new(
            "text",
            "must not contain control characters other than line breaks",
        ));
    }
    if let Some(voice) = voice {
        let ok = (1..=50).contains(&voice.len())
            && voice
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            errors.push(FieldError::new(
                "voice",
                "must be a voice name such as Jitka",
            ));
        }
    }
    errors
}

/// Refuses text the engines would refuse or read out as nothing.
pub fn check_tts_text(text: &str) -> Result<(), TtsError> {
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > MAX_TTS_CHARS {
        Err(TtsError::InvalidText)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Prompt storage
// ---------------------------------------------------------------------------------------------

/// A stored prompt file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptObject {
    pub key: String,
    pub size: u64,
    pub updated_at: DateTime<Utc>,
    /// The store's version tag (S3 ETag, quotes removed), when it has one.
    #[serde(skip)]
    pub etag: Option<String>,
}

/// The prompt store failed.
#[derive(Debug, Error)]
pub enum PromptStoreError {
    /// The client sent a cursor that is not one of ours.
    #[error(transparent)]
    InvalidCursor(#[from] InvalidCursor),
    #[error("failed to {operation}")]
    Backend {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
}

/// Prompt audio by key (`prompts/…`, `tts/…`).
#[async_trait]
pub trait PromptStore: Send + Sync {
    /// Stores (or replaces) `audio` as `audio/wav`.
    async fn put(&self, key: &str, audio: Vec<u8>) -> Result<PromptObject, PromptStoreError>;

    /// The bytes, or `None` when there is no such key.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PromptStoreError>;

    /// The metadata, or `None` when there is no such key.
    async fn head(&self, key: &str) -> Result<Option<PromptObject>, PromptStoreError>;

    /// Keys under `prefix`, in key order, one page at a time.
    async fn list(
        &self,
        prefix: &str,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<PromptObject>, PromptStoreError>;

    /// Removes the key; removing a key that is not there is not an error.
    async fn delete(&self, key: &str) -> Result<(), PromptStoreError>;

    /// A URL that GETs the key without credentials until `expires` has passed.
    async fn presigned_get(&self, key: &str, expires: Duration)
        -> Result<String, PromptStoreError>;
}

/// The cursor of a prompt listing: the last key of the page.
pub fn listing_cursor(last_key: &str) -> PageCursor {
    PageCursor::from_key(std::iter::once(("after".to_owned(), last_key.to_owned())).collect())
}

/// The key a listing cursor continues after; it must lie under `prefix`.
pub fn listing_start(cursor: &PageCursor, prefix: &str) -> Result<String, InvalidCursor> {
    cursor.expect_attributes(&["after"])?;
    cursor
        .key()
        .get("after")
        .filter(|key| key.starts_with(prefix))
        .cloned()
        .ok_or(InvalidCursor("not a cursor of this listing"))
}

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

/// What the PBX is told to play: a GET-able URL and a key its cache can keep the file under
/// (the same key means the same audio).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPrompt {
    pub url: String,
    pub cache_key: String,
}

/// A prompt could not be resolved.
#[derive(Debug, Error)]
pub enum PromptError {
    /// The recording a tree names is not in the store.
    #[error("the prompt recording {key:?} does not exist")]
    MissingAudio { key: String },
    #[error(transparent)]
    Tts(#[from] TtsError),
    #[error(transparent)]
    Store(#[from] PromptStoreError),
}

/// Turns a [`PromptRef`] into a [`ResolvedPrompt`], synthesizing TTS prompts once.
#[derive(Clone)]
pub struct PromptResolver {
    store: Arc<dyn PromptStore>,
    synthesizer: Arc<dyn SpeechSynthesizer>,
    url_lifetime: Duration,
}

impl std::fmt::Debug for PromptResolver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PromptResolver")
            .field("engine", &self.synthesizer.engine())
            .field("url_lifetime", &self.url_lifetime)
            .finish_non_exhaustive()
    }
}

impl PromptResolver {
    pub fn new(store: Arc<dyn PromptStore>, synthesizer: Arc<dyn SpeechSynthesizer>) -> Self {
        Self {
            store,
            synthesizer,
            url_lifetime: DEFAULT_URL_LIFETIME,
        }
    }

    /// URLs valid for `lifetime` instead of [`DEFAULT_URL_LIFETIME`].
    pub fn with_url_lifetime(mut self, lifetime: Duration) -> Self {
        self.url_lifetime = lifetime;
        self
    }

    /// The store, for the admin operations on uploaded prompts.
    pub fn store(&self) -> &dyn PromptStore {
        self.store.as_ref()
    }

    pub fn url_lifetime(&self) -> Duration {
        self.url_lifetime
    }

    /// The cache key of a TTS prompt: SHA-256 (hex) of engine, voice and text.
    pub fn tts_cache_key(&self, text: &str, voice: Option<&str>) -> String {
        let voice = voice.unwrap_or_else(|| self.synthesizer.default_voice());
        tts_hash(self.synthesizer.engine(), voice, text)
    }

    /// A URL and cache key for `prompt`.
    pub async fn resolve(&self, prompt: &PromptRef) -> Result<ResolvedPrompt, PromptError> {
        match prompt {
            PromptRef::Audio { key } => {
                let object = self
                    .store
                    .head(key)
                    .await?
                    .ok_or_else(|| PromptError::MissingAudio { key: key.clone() })?;
                let version = object.etag.unwrap_or_else(|| {
                    format!("{}-{}", object.size, object.updated_at.timestamp())
                });
                Ok(ResolvedPrompt {
                    url: self.store.presigned_get(key, self.url_lifetime).await?,
                    cache_key: format!("{key}#{version}"),
                })
            }
            PromptRef::Tts { text, voice } => {
                check_tts_text(text)?;
                let hash = self.tts_cache_key(text, voice.as_deref());
                let key = format!("{TTS_PREFIX}{hash}.wav");
                if self.store.head(&key).await?.is_none() {
                    let audio = self.synthesizer.synthesize(text, voice.as_deref()).await?;
                    self.store.put(&key, audio).await?;
                    tracing::info!(
                        engine = self.synthesizer.engine(),
                        cache_key = %hash,
                        "TTS prompt synthesized"
                    );
                }
                Ok(ResolvedPrompt {
                    url: self.store.presigned_get(&key, self.url_lifetime).await?,
                    cache_key: hash,
                })
            }
        }
    }
}

/// SHA-256 hex of the three parts, each length-prefixed so that no two triples collide.
fn tts_hash(engine: &str, voice: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [engine, voice, text] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
