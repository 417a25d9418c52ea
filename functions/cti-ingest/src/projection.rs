//! The contact record projection (issue 6, DESK-5/7/12): after each call event is applied, the
//! contact record of the call (`linka_shared::contact_records`, ContactsTable) is brought up to
//! date from the call's stored state, for calls that involve an agent device.
//!
//! - It runs after every call event, **also a duplicate** (the first delivery may have stored
//!   the state and then failed to project it: the retry completes it).
//! - It is idempotent: the update is computed from the stored call state only
//!   ([`record_from_call`]), a record already up to date is not written, and an older call state
//!   never overwrites a newer one ([`linka_shared::contact_records::CtiProgress`]).
//! - A failure fails the SQS record (at least once): the handler's single call site
//!   ([`after_event`]) returns it as a store error.
//! - Device → username comes from UsersTable `agentNumber`, queue device → queue id from the
//!   routing device map (ConfigTable `routingSettings/devices`); both are cached for
//!   [`DIRECTORY_TTL`]. What the IVR collected comes from the call's IVR session (IvrCallsTable).
//!
//! `main` installs the projection once ([`install`]); without it (tests of other parts, a
//! deployment without ContactsTable) [`after_event`] does nothing.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError},
    time::Instant,
};

use cti_events::CtiEnvelope;
use linka_shared::{
    contact_records::{
        record_from_call, ContactRecord, ContactRecordStore, ContactWrite, ContactWriteError,
    },
    cti_state::{call_id_of, call_key},
    ports::{ConfigStore, CtiStateStore, IvrCallStore, StoreError},
    routing_settings::{RoutingDevices, DEVICES_ID, ROUTING_SETTINGS_COLLECTION},
};
use thiserror::Error;

/// How often a record write is tried when another writer changed the record meanwhile.
pub const MAX_ATTEMPTS: u32 = 5;

use crate::directory::CachedDeviceDirectory;
pub use crate::directory::{Clock, DIRECTORY_TTL};

/// Why a contact record was not brought up to date.
#[derive(Debug, Error)]
pub enum ProjectionError {
    #[error("failed to read the call state")]
    Call(#[source] StoreError),
    #[error("failed to read the device directory (users)")]
    Directory(#[source] StoreError),
    #[error("failed to read the routing device map")]
    DeviceMap(#[source] StoreError),
    #[error("failed to read the call's IVR session")]
    IvrCall(#[source] StoreError),
    #[error("failed to read or write the contact record")]
    Record(#[source] StoreError),
    #[error("the contact record changed under every one of {MAX_ATTEMPTS} attempts")]
    Contention,
}

/// Who is who on a call: agent devices and queue devices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub usernames_by_device: BTreeMap<String, String>,
    pub queues_by_device: BTreeMap<String, String>,
}

type Cached<T> = Option<(Instant, T)>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The projection, built once in `main`, with its directory cache.
pub struct Projection {
    records: Arc<dyn ContactRecordStore>,
    /// Who is behind each device, shared with the desk pushes.
    devices: Arc<CachedDeviceDirectory>,
    config: Arc<dyn ConfigStore>,
    /// Where the IVR's collected attributes are (`None`: records carry none).
    ivr_calls: Option<Arc<dyn IvrCallStore>>,
    clock: Clock,
    directory: Mutex<Cached<Arc<Directory>>>,
}

impl Projection {
    pub fn new(
        records: Arc<dyn ContactRecordStore>,
        devices: Arc<CachedDeviceDirectory>,
        config: Arc<dyn ConfigStore>,
    ) -> Self {
        Self::with_clock(records, devices, config, Arc::new(Instant::now))
    }

    pub fn with_clock(
        records: Arc<dyn ContactRecordStore>,
        devices: Arc<CachedDeviceDirectory>,
        config: Arc<dyn ConfigStore>,
        clock: Clock,
    ) -> Self {
        Self {
            records,
            devices,
            config,
            ivr_calls: None,
            clock,
            directory: Mutex::default(),
        }
    }

    /// Copies what the IVR collected (IvrCallsTable `session.attributes`) into the records.
    pub fn with_ivr_calls(mut self, ivr_calls: Arc<dyn IvrCallStore>) -> Self {
        self.ivr_calls = Some(ivr_calls);
        self
    }

    /// Device → username and queue device → queue id, cached for [`DIRECTORY_TTL`].
    async fn directory(&self) -> Result<Arc<Directory>, ProjectionError> {
        let now = (self.clock)();
        if let Some((at, directory)) = lock(&self.directory).as_ref() {
            if now.saturating_duration_since(*at) < DIRECTORY_TTL {
                return Ok(directory.clone());
            }
        }
        let usernames_by_device = self
            .devices
            .get()
            .await
            .map_err(ProjectionError::Directory)?
            .by_number()
            .clone();
        let devices: RoutingDevices = match self
            .config
            .get(ROUTING_SETTINGS_COLLECTION, DEVICES_ID)
            .await
            .map_err(ProjectionError::DeviceMap)?
        {
            Some(document) => serde_json::from_value(document).unwrap_or_else(|error| {
                tracing::warn!(error.message = %error, "the routing device map is unreadable; queues are left out of contact records");
                RoutingDevices::default()
            }),
            None => RoutingDevices::default(),
        };
        let queues_by_device = devices
            .queues
            .into_iter()
            .map(|(queue_id, device)| (device, queue_id))
            .collect();
        let directory = Arc::new(Directory {
            usernames_by_device,
            queues_by_device,
        });
        *lock(&self.directory) = Some((now, directory.clone()));
        Ok(directory)
    }

    /// Brings the contact record of the event's call up to date, and those of the
    /// consultation calls merged into it (a transfer or conference ends them). Events that name
    /// no call, and calls without an agent device, change nothing.
    pub async fn project<S: CtiStateStore>(
        &self,
        store: &S,
        envelope: &CtiEnvelope,
    ) -> Result<(), ProjectionError> {
        let Some(call_id) = call_id_of(&envelope.event) else {
            return Ok(());
        };
        let Some(call) = store
            .call(&call_key(&envelope.relay_id, call_id))
            .await
            .map_err(ProjectionError::Call)?
        else {
            return Ok(());
        };
        let merged: Vec<String> = call
            .value
            .secondary_calls
            .iter()
            .map(|id| call_key(&envelope.relay_id, id))
            .collect();
        self.project_call(call).await?;
        for key in merged {
            if let Some(secondary) = store.call(&key).await.map_err(ProjectionError::Call)? {
                self.project_call(secondary).await?;
            }
        }
        Ok(())
    }

    /// Brings the contact record of one call up to date.
    async fn project_call(
        &self,
        call: linka_shared::ports::Versioned<linka_shared::cti_state::CallState>,
    ) -> Result<(), ProjectionError> {
        let directory = self.directory().await?;
        let Some(update) = record_from_call(
            &call.value,
            &directory.usernames_by_device,
            &directory.queues_by_device,
        ) else {
            return Ok(());
        };
        let attributes = match &self.ivr_calls {
            Some(ivr_calls) => ivr_calls
                .get(&call.value.call_key)
                .await
                .map_err(ProjectionError::IvrCall)?
                .map(|ivr| ivr.value.session.attributes)
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        for attempt in 1..=MAX_ATTEMPTS {
            let stored = self
                .records
                .get(&update.contact_id)
                .await
                .map_err(ProjectionError::Record)?;
            let write = match &stored {
                None => {
                    let mut record = ContactRecord::from_update(&update);
                    record.set_attributes(&attributes);
                    ContactWrite::of(None, record)
                }
                Some(stored) => {
                    let mut record = stored.value.clone();
                    let changed = record.apply_cti(&update);
                    if !(record.set_attributes(&attributes) || changed) {
                        return Ok(());
                    }
                    ContactWrite::of(Some(stored), record)
                }
            };
            match self.records.save(&write).await {
                Ok(()) => return Ok(()),
                Err(ContactWriteError::Conflict) => {
                    tracing::debug!(
                        attempt,
                        "contact record changed since it was read; retrying"
                    );
                }
                Err(ContactWriteError::Store(error)) => return Err(ProjectionError::Record(error)),
            }
        }
        Err(ProjectionError::Contention)
    }
}

static PROJECTION: OnceLock<Projection> = OnceLock::new();

/// Installs the projection for this process (`main`, once). `false` when one was installed
/// already (the first stays).
pub fn install(projection: Projection) -> bool {
    PROJECTION.set(projection).is_ok()
}

/// After an event was applied (or found to be a duplicate): the single call site in the
/// handler. A failure is returned as a store error, so that the SQS record fails and is retried.
pub async fn after_event<S: CtiStateStore>(
    store: &S,
    envelope: &CtiEnvelope,
) -> Result<(), StoreError> {
    let Some(projection) = PROJECTION.get() else {
        return Ok(());
    };
    projection
        .project(store, envelope)
        .await
        .map_err(|error| StoreError::Backend {
            operation: "project the contact record",
            source: Box::new(error),
        })
}

#[cfg(test)]
#[path = "projection_tests.rs"]
mod tests;
