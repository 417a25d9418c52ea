//! Who is behind each PBX device (the active users with an agent number), read from the users
//! table at most once per [`DIRECTORY_TTL`] and shared by the contact projection and the desk
//! pushes of one process.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use linka_shared::{
    paging::all_pages,
    ports::{StoreError, UserDirectory},
    presence::DeviceDirectory,
    users::PageLimit,
};

/// How long the directory is kept: a new agent number shows up within a minute.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(60);

/// The clock the caches age by (a test moves it).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The device directory, cached.
pub struct CachedDeviceDirectory {
    users: Arc<dyn UserDirectory>,
    clock: Clock,
    cached: Mutex<Option<(Instant, Arc<DeviceDirectory>)>>,
}

impl CachedDeviceDirectory {
    pub fn new(users: Arc<dyn UserDirectory>) -> Self {
        Self::with_clock(users, Arc::new(Instant::now))
    }

    pub fn with_clock(users: Arc<dyn UserDirectory>, clock: Clock) -> Self {
        Self {
            users,
            clock,
            cached: Mutex::default(),
        }
    }

    /// The directory, read again when older than [`DIRECTORY_TTL`].
    pub async fn get(&self) -> Result<Arc<DeviceDirectory>, StoreError> {
        let now = (self.clock)();
        if let Some((at, directory)) = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            if now.saturating_duration_since(*at) < DIRECTORY_TTL {
                return Ok(directory.clone());
            }
        }
        let limit = PageLimit::new(PageLimit::MAX).unwrap_or(PageLimit::DEFAULT);
        let users = all_pages(|cursor| self.users.list(limit, cursor)).await?;
        let directory = Arc::new(DeviceDirectory::from_users(&users));
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((now, directory.clone()));
        Ok(directory)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use chrono::{TimeZone, Utc};
    use linka_shared::{adapters::memory::InMemoryUserDirectory, auth::Role, users::User};

    use super::*;

    fn agent(username: &str, number: &str, active: bool) -> User {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        User {
            username: username.to_owned(),
            display_name: username.to_owned(),
            roles: [Role::Agent].into(),
            groups: Vec::new(),
            email: None,
            agent_number: Some(number.to_owned()),
            mobile: None,
            active,
            created_at: at,
            updated_at: at,
        }
    }

    #[tokio::test]
    async fn when_read_within_a_minute_should_keep_the_directory_then_read_the_users_again() {
        let users = InMemoryUserDirectory::new([
            agent("agent01", "2001", true),
            agent("old", "2009", false),
        ]);
        let seconds = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let clock_seconds = seconds.clone();
        let cache = CachedDeviceDirectory::with_clock(
            Arc::new(users.clone()),
            Arc::new(move || start + Duration::from_secs(clock_seconds.load(Ordering::SeqCst))),
        );
        let first = cache.get().await.unwrap();
        assert_eq!(first.username_of_device("2001"), Some("agent01"));
        assert_eq!(
            first.username_of_device("2009"),
            None,
            "inactive users are left out"
        );
        users.insert(agent("agent02", "2002", true));
        seconds.store(59, Ordering::SeqCst);
        assert_eq!(cache.get().await.unwrap().username_of_device("2002"), None);
        seconds.store(61, Ordering::SeqCst);
        assert_eq!(
            cache.get().await.unwrap().username_of_device("2002"),
            Some("agent02")
        );
    }
}
