//! In-memory [`VoicemailStore`] for behaviour tests, with the DynamoDB adapter's version checks,
//! and a fake [`VoicemailAudio`] that makes recognisable URLs without signing anything.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    ports::{StoreError, Versioned, VoicemailAudio, VoicemailStore, VoicemailWriteError},
    voicemail::Voicemail,
};

/// Voicemails in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryVoicemailStore {
    items: Arc<Mutex<BTreeMap<String, Versioned<Voicemail>>>>,
}

impl InMemoryVoicemailStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Versioned<Voicemail>>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every stored voicemail (tests).
    pub fn all(&self) -> Vec<Voicemail> {
        self.lock().values().map(|v| v.value.clone()).collect()
    }
}

#[async_trait]
impl VoicemailStore for InMemoryVoicemailStore {
    async fn get(&self, id: &str) -> Result<Option<Versioned<Voicemail>>, StoreError> {
        Ok(self.lock().get(id).cloned())
    }

    async fn active_in_queue(
        &self,
        queue_id: &str,
    ) -> Result<Vec<Versioned<Voicemail>>, StoreError> {
        let mut found: Vec<Versioned<Voicemail>> = self
            .lock()
            .values()
            .filter(|v| v.value.queue_id == queue_id && v.value.is_active())
            .cloned()
            .collect();
        found.sort_by_key(|v| v.value.recorded_at);
        Ok(found)
    }

    async fn closed_in_queue(
        &self,
        queue_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Voicemail>, StoreError> {
        let mut closed: Vec<Voicemail> = self
            .lock()
            .values()
            .filter(|v| {
                v.value.queue_id == queue_id && v.value.done_at().is_some_and(|at| at >= since)
            })
            .map(|v| v.value.clone())
            .collect();
        closed.sort_by(|a, b| b.done_at().cmp(&a.done_at()).then_with(|| a.id.cmp(&b.id)));
        closed.truncate(limit);
        Ok(closed)
    }

    async fn save(&self, voicemail: &Versioned<Voicemail>) -> Result<(), VoicemailWriteError> {
        let mut items = self.lock();
        let stored = items.get(&voicemail.value.id).map_or(0, |v| v.version);
        if stored != voicemail.version {
            return Err(VoicemailWriteError::Conflict);
        }
        items.insert(
            voicemail.value.id.clone(),
            Versioned {
                value: voicemail.value.clone(),
                version: voicemail.version + 1,
            },
        );
        Ok(())
    }
}

/// URLs of the form `memory://voicemail/{key}?method=GET&expires=900` (tests).
#[derive(Debug, Default, Clone)]
pub struct FakeVoicemailAudio;

impl FakeVoicemailAudio {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl VoicemailAudio for FakeVoicemailAudio {
    async fn upload_url(&self, key: &str, expires: Duration) -> Result<String, StoreError> {
        Ok(format!(
            "memory://voicemail/{key}?method=PUT&expires={}",
            expires.as_secs()
        ))
    }

    async fn playback_url(&self, key: &str, expires: Duration) -> Result<String, StoreError> {
        Ok(format!(
            "memory://voicemail/{key}?method=GET&expires={}",
            expires.as_secs()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn voicemail(call: &str, minute: u32) -> Voicemail {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 9, minute, 0).unwrap();
        Voicemail::from_recording(call, "kkc", None, BTreeMap::new(), "k.wav", 1000, at).unwrap()
    }

    #[tokio::test]
    async fn when_saved_should_create_once_check_versions_and_split_active_from_done() {
        // GIVEN a store with two voicemails
        let store = InMemoryVoicemailStore::new();
        let first = voicemail("c1", 0);
        let second = voicemail("c2", 1);
        for v in [&first, &second] {
            store
                .save(&Versioned {
                    value: v.clone(),
                    version: 0,
                })
                .await
                .unwrap();
        }
        // WHEN one is stored again at version 0
        let again = store
            .save(&Versioned {
                value: first.clone(),
                version: 0,
            })
            .await;
        // THEN it conflicts
        assert!(matches!(again, Err(VoicemailWriteError::Conflict)));
        // AND when the second is done at version 1 it leaves the active list
        let mut done = store.get(&second.id).await.unwrap().unwrap();
        assert_eq!(done.version, 1);
        let at = done.value.recorded_at + TimeDelta::minutes(5);
        done.value.mark_done("jana", false, at).unwrap();
        store.save(&done).await.unwrap();
        let active = store.active_in_queue("kkc").await.unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].value.id, first.id);
        let closed = store
            .closed_in_queue("kkc", at - TimeDelta::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!(closed.len(), 1);
        assert!(store
            .closed_in_queue("kkc", at + TimeDelta::minutes(1), 10)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn when_the_fake_audio_is_asked_should_name_key_method_and_expiry() {
        let audio = FakeVoicemailAudio::new();
        assert_eq!(
            audio
                .playback_url("voicemail/kkc/a.wav", Duration::from_secs(900))
                .await
                .unwrap(),
            "memory://voicemail/voicemail/kkc/a.wav?method=GET&expires=900"
        );
        assert!(audio
            .upload_url("voicemail/kkc/a.wav", Duration::from_secs(60))
            .await
            .unwrap()
            .contains("method=PUT"));
    }
}
