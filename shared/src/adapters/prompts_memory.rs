//! [`PromptStore`] in memory and a [`SpeechSynthesizer`] that makes a short tone, for behaviour
//! tests of the prompt services and the admin routes.

use std::collections::BTreeMap;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::memory::lock;
use crate::{
    paging::{Page, PageCursor},
    prompts::{
        check_tts_text, listing_cursor, listing_start, pcm16_to_wav, PromptObject, PromptStore,
        PromptStoreError, SpeechSynthesizer, TtsError,
    },
    time::now_utc,
    users::PageLimit,
};

/// Key → (bytes, metadata).
type Files = BTreeMap<String, (Vec<u8>, PromptObject)>;

/// Prompt files by key. Clones share the same files. URLs are `memory://prompts/{key}?expires=…`.
#[derive(Debug, Clone, Default)]
pub struct InMemoryPromptStore {
    files: Arc<Mutex<Files>>,
}

impl InMemoryPromptStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored key.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.files).keys().cloned().collect()
    }
}

#[async_trait]
impl PromptStore for InMemoryPromptStore {
    async fn put(&self, key: &str, audio: Vec<u8>) -> Result<PromptObject, PromptStoreError> {
        let etag = Sha256::digest(&audio)
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let object = PromptObject {
            key: key.to_owned(),
            size: audio.len() as u64,
            updated_at: now_utc(),
            etag: Some(etag),
        };
        lock(&self.files).insert(key.to_owned(), (audio, object.clone()));
        Ok(object)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PromptStoreError> {
        Ok(lock(&self.files).get(key).map(|(audio, _)| audio.clone()))
    }

    async fn head(&self, key: &str) -> Result<Option<PromptObject>, PromptStoreError> {
        Ok(lock(&self.files).get(key).map(|(_, object)| object.clone()))
    }

    async fn list(
        &self,
        prefix: &str,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<PromptObject>, PromptStoreError> {
        let after = cursor
            .map(|cursor| listing_start(&cursor, prefix))
            .transpose()?;
        let files = lock(&self.files);
        let mut matching = files
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .filter(|(key, _)| after.as_ref().is_none_or(|after| *key > after))
            .map(|(_, (_, object))| object.clone());
        let items: Vec<PromptObject> = matching.by_ref().take(usize::from(limit.get())).collect();
        let next_cursor = match (matching.next(), items.last()) {
            (Some(_), Some(last)) => Some(listing_cursor(&last.key)),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn delete(&self, key: &str) -> Result<(), PromptStoreError> {
        lock(&self.files).remove(key);
        Ok(())
    }

    async fn presigned_get(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<String, PromptStoreError> {
        Ok(format!(
            "memory://prompts/{key}?expires={}",
            expires.as_secs()
        ))
    }
}

/// Answers every text with a short 8 kHz tone and counts its calls; `voice` must be `None` or
/// one of [`ToneSynthesizer::VOICES`].
#[derive(Debug, Clone, Default)]
pub struct ToneSynthesizer {
    calls: Arc<AtomicUsize>,
}

impl ToneSynthesizer {
    pub const VOICES: [&'static str; 2] = ["Tone", "Beep"];

    pub fn new() -> Self {
        Self::default()
    }

    /// How many times it has synthesized (clones share the count).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SpeechSynthesizer for ToneSynthesizer {
    fn engine(&self) -> &'static str {
        "tone"
    }

    fn default_voice(&self) -> &str {
        Self::VOICES[0]
    }

    async fn synthesize(&self, text: &str, voice: Option<&str>) -> Result<Vec<u8>, TtsError> {
        check_tts_text(text)?;
        if let Some(voice) = voice.filter(|voice| !Self::VOICES.contains(voice)) {
            return Err(TtsError::UnknownVoice(voice.to_owned()));
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        // 100 ms of a square wave whose pitch follows the text length.
        let period = 8 + text.chars().count() % 32;
        let pcm: Vec<u8> = (0..800)
            .flat_map(|n| {
                let sample: i16 = if (n / period) % 2 == 0 { 4000 } else { -4000 };
                sample.to_le_bytes()
            })
            .collect();
        pcm16_to_wav(&pcm, 8_000).map_err(|error| TtsError::Engine {
            engine: "tone",
            source: Box::new(error),
        })
    }
}
