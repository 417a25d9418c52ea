//! In-memory adapters for behaviour tests: same contracts as the AWS adapters (ordering, paging
//! by cursor, `Gone`), no network.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    audit::{AuditQuery, AuditRecord},
    paging::{Page, PageCursor},
    ports::{
        AdminError, AuditLog, ConnectionNotifier, ConnectionStore, NoticePublisher, NotifyError,
        PostOutcome, PublishError, StoreError, UserAdministration, UserDirectory,
    },
    realtime::{
        BroadcastNotice, Connection, Departure, PushMessage, CONNECTION_KIND,
        HEARTBEAT_WRITE_INTERVAL_SECONDS,
    },
    time::format_rfc3339,
    users::{PageLimit, User, USER_KIND},
};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Users by username. Clones share the same users (so that [`InMemoryUserAdministration`]
/// writes what the directory reads).
#[derive(Debug, Default, Clone)]
pub struct InMemoryUserDirectory {
    users: Arc<Mutex<BTreeMap<String, User>>>,
}

impl InMemoryUserDirectory {
    pub fn new(users: impl IntoIterator<Item = User>) -> Self {
        Self {
            users: Arc::new(Mutex::new(
                users
                    .into_iter()
                    .map(|user| (user.username.clone(), user))
                    .collect(),
            )),
        }
    }

    /// Adds or replaces a user (what an administrator's change would store).
    pub fn insert(&self, user: User) {
        lock(&self.users).insert(user.username.clone(), user);
    }
}

#[async_trait]
impl UserDirectory for InMemoryUserDirectory {
    async fn get(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(lock(&self.users).get(username).cloned())
    }

    async fn list(
        &self,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<User>, StoreError> {
        let after = match cursor {
            Some(cursor) => {
                cursor.expect_attributes(&["kind", "username"])?;
                cursor.key().get("username").cloned()
            }
            None => None,
        };
        let users = lock(&self.users);
        let mut remaining = users
            .values()
            .filter(|user| after.as_ref().is_none_or(|after| user.username > *after))
            .peekable();
        let items: Vec<User> = remaining
            .by_ref()
            .take(usize::from(limit.get()))
            .cloned()
            .collect();
        let next_cursor = match (remaining.peek(), items.last()) {
            (Some(_), Some(last)) => Some(PageCursor::from_key(BTreeMap::from([
                ("kind".to_owned(), USER_KIND.to_owned()),
                ("username".to_owned(), last.username.clone()),
            ]))),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}

/// The audit log in memory; clones share the records. `failing()` refuses every write (to test
/// that callers fail closed).
#[derive(Debug, Default, Clone)]
pub struct InMemoryAuditLog {
    records: Arc<Mutex<Vec<AuditRecord>>>,
    failing: bool,
}

impl InMemoryAuditLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    /// Every record, in the order written.
    pub fn records(&self) -> Vec<AuditRecord> {
        lock(&self.records).clone()
    }

    pub(crate) fn append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        if self.failing {
            return Err(StoreError::Backend {
                operation: "append an audit record",
                source: "the audit log is unavailable".into(),
            });
        }
        lock(&self.records).push(record.clone());
        Ok(())
    }
}

#[async_trait]
impl AuditLog for InMemoryAuditLog {
    async fn record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.append(record)
    }

    async fn query(&self, query: &AuditQuery) -> Result<Page<AuditRecord>, StoreError> {
        let (low, high) = query.sort_key_bounds();
        let mut matching: Vec<AuditRecord> = lock(&self.records)
            .iter()
            .filter(|record| {
                let key = record.sort_key();
                key >= low
                    && key <= high
                    && query
                        .actor
                        .as_ref()
                        .is_none_or(|actor| record.actor == *actor)
                    && query
                        .cursor
                        .as_ref()
                        .is_none_or(|cursor| key < cursor.sort_key)
            })
            .cloned()
            .collect();
        matching.sort_by_key(|record| std::cmp::Reverse(record.sort_key()));
        let limit = usize::from(query.limit.get());
        let more = matching.len() > limit;
        matching.truncate(limit);
        let next_cursor = match matching.last() {
            Some(last) if more => Some(query.cursor_after(last)),
            _ => None,
        };
        Ok(Page {
            items: matching,
            next_cursor,
        })
    }
}

/// [`UserAdministration`] over an [`InMemoryUserDirectory`] and an [`InMemoryAuditLog`]: the
/// user write happens only when the audit record could be written too.
#[derive(Debug, Clone)]
pub struct InMemoryUserAdministration {
    pub users: InMemoryUserDirectory,
    pub audit: InMemoryAuditLog,
}

impl InMemoryUserAdministration {
    fn write(
        &self,
        username: &str,
        must_exist: bool,
        user: Option<&User>,
        audit: &AuditRecord,
    ) -> Result<(), AdminError> {
        let mut users = lock(&self.users.users);
        match (users.contains_key(username), must_exist) {
            (true, false) => return Err(AdminError::Conflict),
            (false, true) => return Err(AdminError::NotFound),
            _ => {}
        }
        self.audit.append(audit)?;
        match user {
            Some(user) => users.insert(username.to_owned(), user.clone()),
            None => users.remove(username),
        };
        Ok(())
    }
}

#[async_trait]
impl UserAdministration for InMemoryUserAdministration {
    async fn create(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError> {
        self.write(&user.username, false, Some(user), audit)
    }

    async fn replace(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError> {
        self.write(&user.username, true, Some(user), audit)
    }

    async fn delete(&self, username: &str, audit: &AuditRecord) -> Result<(), AdminError> {
        self.write(username, true, None, audit)
    }
}

/// Connections, listed in `connectedAt` order (as the `byKind` index), `page_size` per page.
#[derive(Debug)]
pub struct InMemoryConnectionStore {
    connections: Mutex<BTreeMap<String, Connection>>,
    departures: Mutex<BTreeMap<String, DateTime<Utc>>>,
    page_size: usize,
}

impl Default for InMemoryConnectionStore {
    fn default() -> Self {
        Self::with_page_size(100)
    }
}

impl InMemoryConnectionStore {
    /// Small pages make tests walk the paging.
    pub fn with_page_size(page_size: usize) -> Self {
        Self {
            connections: Mutex::new(BTreeMap::new()),
            departures: Mutex::new(BTreeMap::new()),
            page_size: page_size.max(1),
        }
    }

    /// The connection as stored now.
    pub fn connection(&self, connection_id: &str) -> Option<Connection> {
        lock(&self.connections).get(connection_id).cloned()
    }

    /// Every user's last departure.
    pub fn departures(&self) -> BTreeMap<String, DateTime<Utc>> {
        lock(&self.departures).clone()
    }

    pub fn with_connections(self, connections: impl IntoIterator<Item = Connection>) -> Self {
        lock(&self.connections).extend(
            connections
                .into_iter()
                .map(|connection| (connection.connection_id.clone(), connection)),
        );
        self
    }

    /// The ids stored now, sorted.
    pub fn ids(&self) -> BTreeSet<String> {
        lock(&self.connections).keys().cloned().collect()
    }

    fn page(
        &self,
        cutoff: Option<DateTime<Utc>>,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Connection>, StoreError> {
        let after = match cursor {
            Some(cursor) => {
                cursor.expect_attributes(&["kind", "connectedAt", "connectionId"])?;
                let key = cursor.key();
                Some((
                    key.get("connectedAt").cloned().unwrap_or_default(),
                    key.get("connectionId").cloned().unwrap_or_default(),
                ))
            }
            None => None,
        };
        let mut sorted: Vec<Connection> = lock(&self.connections)
            .values()
            .filter(|connection| cutoff.is_none_or(|cutoff| connection.connected_at < cutoff))
            .cloned()
            .collect();
        let position = |c: &Connection| (format_rfc3339(c.connected_at), c.connection_id.clone());
        sorted.sort_by_key(position);
        let mut remaining = sorted
            .into_iter()
            .filter(|connection| {
                after
                    .as_ref()
                    .is_none_or(|after| position(connection) > *after)
            })
            .peekable();
        let items: Vec<Connection> = remaining.by_ref().take(self.page_size).collect();
        let next_cursor = match (remaining.peek(), items.last()) {
            (Some(_), Some(last)) => Some(PageCursor::from_key(BTreeMap::from([
                ("kind".to_owned(), CONNECTION_KIND.to_owned()),
                ("connectedAt".to_owned(), format_rfc3339(last.connected_at)),
                ("connectionId".to_owned(), last.connection_id.clone()),
            ]))),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}

#[async_trait]
impl ConnectionStore for InMemoryConnectionStore {
    async fn put(&self, connection: &Connection) -> Result<(), StoreError> {
        lock(&self.connections).insert(connection.connection_id.clone(), connection.clone());
        Ok(())
    }

    async fn get(&self, connection_id: &str) -> Result<Option<Connection>, StoreError> {
        Ok(lock(&self.connections).get(connection_id).cloned())
    }

    async fn delete(&self, connection_id: &str) -> Result<(), StoreError> {
        lock(&self.connections).remove(connection_id);
        Ok(())
    }

    async fn list(&self, cursor: Option<PageCursor>) -> Result<Page<Connection>, StoreError> {
        self.page(None, cursor)
    }

    async fn list_older_than(
        &self,
        cutoff: DateTime<Utc>,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Connection>, StoreError> {
        self.page(Some(cutoff), cursor)
    }

    async fn list_for_user(&self, username: &str) -> Result<Vec<Connection>, StoreError> {
        Ok(lock(&self.connections)
            .values()
            .filter(|connection| connection.username == username)
            .cloned()
            .collect())
    }

    async fn record_heartbeat(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut connections = lock(&self.connections);
        let Some(connection) = connections.get_mut(connection_id) else {
            return Ok(false);
        };
        let now = at.timestamp();
        let due = connection
            .heartbeat_at
            .is_none_or(|last| last <= now - HEARTBEAT_WRITE_INTERVAL_SECONDS);
        if due {
            connection.heartbeat_at = Some(now);
        }
        Ok(due)
    }

    async fn depart(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Connection>, StoreError> {
        let removed = lock(&self.connections).remove(connection_id);
        if let Some(connection) = &removed {
            lock(&self.departures).insert(connection.username.clone(), at);
        }
        Ok(removed)
    }

    async fn departures_since(&self, since: DateTime<Utc>) -> Result<Vec<Departure>, StoreError> {
        Ok(lock(&self.departures)
            .iter()
            .filter(|(_, at)| **at >= since)
            .map(|(username, at)| Departure {
                username: username.clone(),
                at: *at,
            })
            .collect())
    }
}

/// Records every push; connections marked gone answer `Gone`, failing ones an error.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    posts: Mutex<Vec<(String, PushMessage)>>,
    gone: BTreeSet<String>,
    failing: BTreeSet<String>,
}

impl RecordingNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// These connections answer `Gone` (the browser went away without `$disconnect`).
    pub fn with_gone(mut self, ids: &[&str]) -> Self {
        self.gone.extend(ids.iter().map(|id| (*id).to_owned()));
        self
    }

    /// Posting to these connections fails (throttling, network).
    pub fn with_failing(mut self, ids: &[&str]) -> Self {
        self.failing.extend(ids.iter().map(|id| (*id).to_owned()));
        self
    }

    /// Delivered pushes, in order.
    pub fn posts(&self) -> Vec<(String, PushMessage)> {
        lock(&self.posts).clone()
    }

    /// Ids of the connections that received something, sorted.
    pub fn recipients(&self) -> BTreeSet<String> {
        lock(&self.posts).iter().map(|(id, _)| id.clone()).collect()
    }
}

#[async_trait]
impl ConnectionNotifier for RecordingNotifier {
    async fn post(
        &self,
        connection_id: &str,
        message: &PushMessage,
    ) -> Result<PostOutcome, NotifyError> {
        if self.gone.contains(connection_id) {
            return Ok(PostOutcome::Gone);
        }
        if self.failing.contains(connection_id) {
            return Err(NotifyError("simulated post failure".into()));
        }
        lock(&self.posts).push((connection_id.to_owned(), message.clone()));
        Ok(PostOutcome::Delivered)
    }
}

/// Records published notices; can be told to fail.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    notices: Mutex<Vec<BroadcastNotice>>,
    failing: bool,
}

impl RecordingPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failing() -> Self {
        Self {
            notices: Mutex::default(),
            failing: true,
        }
    }

    pub fn notices(&self) -> Vec<BroadcastNotice> {
        lock(&self.notices).clone()
    }
}

#[async_trait]
impl NoticePublisher for RecordingPublisher {
    async fn publish(&self, notice: &BroadcastNotice) -> Result<(), PublishError> {
        if self.failing {
            return Err(PublishError("simulated queue failure".into()));
        }
        lock(&self.notices).push(notice.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone;

    use super::*;
    use crate::auth::{Principal, Role};

    fn connection(id: &str, minute: u32) -> Connection {
        let principal = Principal {
            subject: "s".to_owned(),
            username: format!("user-{id}"),
            display_name: None,
            roles: BTreeSet::from([Role::Agent]),
            client_id: None,
        };
        Connection::open(
            id,
            &principal,
            Utc.with_ymd_and_hms(2026, 11, 27, 8, minute, 0).unwrap(),
        )
    }

    #[tokio::test]
    async fn when_listing_in_small_pages_should_visit_every_connection_once_in_time_order() {
        // GIVEN five connections and pages of two
        let store = InMemoryConnectionStore::with_page_size(2).with_connections([
            connection("e", 5),
            connection("a", 1),
            connection("c", 3),
            connection("b", 2),
            connection("d", 4),
        ]);
        // WHEN walking every page
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.list(cursor).await.unwrap();
            seen.extend(page.items.into_iter().map(|c| c.connection_id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        // THEN each connection comes once, oldest first
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    }

    #[tokio::test]
    async fn when_listing_older_than_cutoff_should_return_only_older() {
        let store = InMemoryConnectionStore::default()
            .with_connections([connection("a", 1), connection("b", 10)]);
        let cutoff = Utc.with_ymd_and_hms(2026, 11, 27, 8, 5, 0).unwrap();
        let page = store.list_older_than(cutoff, None).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].connection_id, "a");
    }

    #[tokio::test]
    async fn when_heartbeats_come_fast_should_record_at_most_one_per_interval() {
        // GIVEN a stored connection and one that is not stored
        let store = InMemoryConnectionStore::default().with_connections([connection("a", 1)]);
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
        // WHEN heartbeats arrive at 0 s, 10 s and 25 s
        let first = store.record_heartbeat("a", now).await.unwrap();
        let early = store
            .record_heartbeat("a", now + chrono::Duration::seconds(10))
            .await
            .unwrap();
        let due = store
            .record_heartbeat("a", now + chrono::Duration::seconds(25))
            .await
            .unwrap();
        // THEN the first and the one 25 s later are written, and an unknown id is not created
        assert_eq!((first, early, due), (true, false, true));
        assert_eq!(
            store.connection("a").unwrap().heartbeat_at,
            Some(now.timestamp() + 25)
        );
        assert!(!store.record_heartbeat("ghost", now).await.unwrap());
        assert!(store.connection("ghost").is_none());
    }

    #[tokio::test]
    async fn when_a_connection_departs_should_forget_it_and_remember_its_user() {
        let store = InMemoryConnectionStore::default()
            .with_connections([connection("a", 1), connection("b", 2)]);
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
        let gone = store.depart("a", now).await.unwrap().unwrap();
        assert_eq!(gone.username, "user-a");
        assert!(store.depart("a", now).await.unwrap().is_none());
        assert_eq!(store.ids(), BTreeSet::from(["b".to_owned()]));
        assert_eq!(
            store.departures_since(now).await.unwrap(),
            [Departure {
                username: "user-a".into(),
                at: now
            }]
        );
        assert!(store
            .departures_since(now + chrono::Duration::seconds(1))
            .await
            .unwrap()
            .is_empty());
        // AND a user's connections are listed by username
        let of_b = store.list_for_user("user-b").await.unwrap();
        assert_eq!(of_b.len(), 1);
        assert_eq!(of_b[0].connection_id, "b");
    }
}
