//! Ports: the small capability traits the handlers depend on. SDK types never cross them.
//!
//! Each has an AWS adapter in [`crate::adapters`], an in-memory adapter in
//! [`crate::adapters::memory`] for behaviour tests, and a mockall mock (`MockUserDirectory`, …)
//! with `cfg(test)` or the `mocks` feature.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::{
    audit::{AuditQuery, AuditRecord},
    paging::{InvalidCursor, Page, PageCursor},
    realtime::{BroadcastNotice, Connection, PushMessage},
    users::{PageLimit, User},
    BoxError,
};

/// A storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The client sent a cursor that is not one of ours (a 400, not a 500).
    #[error(transparent)]
    InvalidCursor(#[from] InvalidCursor),
    /// A stored item does not have the expected shape.
    #[error("a stored {entity} item is corrupt")]
    Corrupt {
        entity: &'static str,
        #[source]
        source: BoxError,
    },
    /// The storage service failed.
    #[error("failed to {operation}")]
    Backend {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
}

/// Pushing a message to a connection failed (other than the connection being gone).
#[derive(Debug, Error)]
#[error("failed to post to a WebSocket connection")]
pub struct NotifyError(#[source] pub BoxError);

/// Publishing a notice failed.
#[derive(Debug, Error)]
#[error("failed to publish a broadcast notice")]
pub struct PublishError(#[source] pub BoxError);

/// What became of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    Delivered,
    /// The connection no longer exists (API Gateway `GoneException`, HTTP 410): forget it.
    Gone,
}

/// Reads user accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user, or `None`.
    async fn get(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// One page of users in username order.
    async fn list(
        &self,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<User>, StoreError>;
}

/// Stores live WebSocket connections.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put(&self, connection: &Connection) -> Result<(), StoreError>;
    /// The connection, or `None`.
    async fn get(&self, connection_id: &str) -> Result<Option<Connection>, StoreError>;
    /// Deleting a connection that is not there is not an error.
    async fn delete(&self, connection_id: &str) -> Result<(), StoreError>;
    /// One page of all connections.
    async fn list(&self, cursor: Option<PageCursor>) -> Result<Page<Connection>, StoreError>;
    /// One page of the connections opened before `cutoff`.
    async fn list_older_than(
        &self,
        cutoff: DateTime<Utc>,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Connection>, StoreError>;
}

/// Pushes messages to WebSocket connections.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConnectionNotifier: Send + Sync {
    async fn post(
        &self,
        connection_id: &str,
        message: &PushMessage,
    ) -> Result<PostOutcome, NotifyError>;
}

/// Hands broadcast notices to the fan-out (the `BroadcastQueue`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NoticePublisher: Send + Sync {
    async fn publish(&self, notice: &BroadcastNotice) -> Result<(), PublishError>;
}

/// Appends to and reads the audit log (SEC-3). There is no update and no delete.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one record (never overwrites one).
    async fn record(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// One page of records, newest first.
    async fn query(&self, query: &AuditQuery) -> Result<Page<AuditRecord>, StoreError>;
}

/// A user write was refused or failed. Nothing was written in any case.
#[derive(Debug, Error)]
pub enum AdminError {
    /// Create: a user with this username exists.
    #[error("the user already exists")]
    Conflict,
    /// Replace, delete: there is no such user.
    #[error("the user does not exist")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes user accounts. Each write and its audit record are one atomic transaction: both are
/// stored or neither.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserAdministration: Send + Sync {
    /// Creates `user` unless its username is taken.
    async fn create(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError>;
    /// Replaces an existing user.
    async fn replace(&self, user: &User, audit: &AuditRecord) -> Result<(), AdminError>;
    /// Deletes an existing user.
    async fn delete(&self, username: &str, audit: &AuditRecord) -> Result<(), AdminError>;
}
