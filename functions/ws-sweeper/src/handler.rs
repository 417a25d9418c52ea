//! Deletes stale connection records: `Query byKind` with `connectedAt < now − 2 h 10 min`,
//! page by page, deleting each.

use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    ports::{ConnectionStore, StoreError},
    realtime::stale_cutoff,
    telemetry::ErrorChain,
    time::{format_rfc3339, now_utc},
};
use serde_json::{json, Value};
use thiserror::Error;

/// What the handler needs, built once in `main`.
pub struct HandlerDeps<S> {
    pub connections: S,
}

#[derive(Debug, Error)]
pub enum SweepError {
    #[error("failed to list stale connections")]
    List(#[source] StoreError),
    /// Some records stayed; the next run (or TTL) gets them. Reported so that it shows in the
    /// function's error metric.
    #[error("deleted {deleted} stale connections, but {failed} deletes failed")]
    Incomplete { deleted: usize, failed: usize },
}

/// Entry point for each scheduled run. The event (whatever the schedule sends) is ignored.
/// Returns `{"deleted": n}`.
pub async fn function_handler<S: ConnectionStore>(
    deps: &HandlerDeps<S>,
    _event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let deleted = sweep(&deps.connections, now_utc()).await?;
    Ok(json!({ "deleted": deleted }))
}

/// Deletes every connection opened before `now − 2 h 10 min`; returns how many.
pub async fn sweep<S: ConnectionStore>(
    connections: &S,
    now: DateTime<Utc>,
) -> Result<usize, SweepError> {
    let cutoff = stale_cutoff(now);
    let (mut deleted, mut failed) = (0_usize, 0_usize);
    let mut cursor = None;
    loop {
        // Deleting the items of a page does not invalidate its cursor (DynamoDB resumes after
        // the key, whether or not it still exists).
        let page = connections
            .list_older_than(cutoff, cursor)
            .await
            .map_err(SweepError::List)?;
        for connection in &page.items {
            match connections.delete(&connection.connection_id).await {
                Ok(()) => deleted += 1,
                Err(error) => {
                    failed += 1;
                    tracing::warn!(connection_id = %connection.connection_id, error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to delete a stale connection");
                }
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    tracing::info!(deleted, failed, cutoff = %format_rfc3339(cutoff), "stale connections swept");
    if failed > 0 {
        Err(SweepError::Incomplete { deleted, failed })
    } else {
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::Duration;
    use linka_shared::{
        adapters::memory::InMemoryConnectionStore,
        auth::{Principal, Role},
        paging::Page,
        ports::MockConnectionStore,
        realtime::Connection,
    };

    use super::*;

    const SCHEDULE: &str = include_str!("../../../events/schedule/ws-sweeper.json");

    fn connection(id: &str, connected_at: DateTime<Utc>) -> Connection {
        let principal = Principal {
            subject: "s".to_owned(),
            username: format!("user-{id}"),
            display_name: None,
            roles: BTreeSet::from([Role::Agent]),
            client_id: None,
        };
        Connection::open(id, &principal, connected_at)
    }

    fn event(json: &str) -> LambdaEvent<Value> {
        LambdaEvent::new(
            serde_json::from_str(json).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    #[tokio::test]
    async fn when_records_are_older_than_two_hours_ten_minutes_should_delete_only_those() {
        // GIVEN seven stale records (over several pages) and two fresh ones
        let now = Utc::now();
        let mut records: Vec<Connection> = (0..7)
            .map(|i| connection(&format!("old-{i}"), now - Duration::minutes(131 + i)))
            .collect();
        records.push(connection("fresh-1", now - Duration::minutes(129)));
        records.push(connection("fresh-2", now - Duration::minutes(1)));
        let deps = HandlerDeps {
            connections: InMemoryConnectionStore::with_page_size(3).with_connections(records),
        };
        // WHEN the schedule fires
        let result = function_handler(&deps, event(SCHEDULE)).await.unwrap();
        // THEN the stale ones are gone, the fresh ones kept, and the count returned
        assert_eq!(result, json!({"deleted": 7}));
        assert_eq!(
            deps.connections.ids(),
            BTreeSet::from(["fresh-1".to_owned(), "fresh-2".to_owned()])
        );
    }

    #[tokio::test]
    async fn when_nothing_is_stale_should_return_zero() {
        let deps = HandlerDeps {
            connections: InMemoryConnectionStore::default()
                .with_connections([connection("fresh", Utc::now())]),
        };
        let result = function_handler(&deps, event("{}")).await.unwrap();
        assert_eq!(result, json!({"deleted": 0}));
    }

    #[tokio::test]
    async fn when_the_cutoff_is_computed_should_be_two_hours_ten_minutes_before_now() {
        // GIVEN a store that records the cutoff it is asked for
        let now = Utc::now();
        let mut connections = MockConnectionStore::new();
        connections
            .expect_list_older_than()
            .withf(move |cutoff, cursor| {
                *cutoff == now - Duration::minutes(130) && cursor.is_none()
            })
            .times(1)
            .returning(|_, _| Ok(Page::last(Vec::new())));
        // WHEN swept at `now` THEN the query used now − 130 min
        assert_eq!(sweep(&connections, now).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn when_a_delete_fails_should_delete_the_rest_and_report_it() {
        let now = Utc::now();
        let stale = vec![
            connection("a", now - Duration::hours(3)),
            connection("b", now - Duration::hours(4)),
        ];
        let mut connections = MockConnectionStore::new();
        connections
            .expect_list_older_than()
            .times(1)
            .returning(move |_, _| Ok(Page::last(stale.clone())));
        connections.expect_delete().times(2).returning(|id| {
            if id == "a" {
                Err(StoreError::Backend {
                    operation: "delete a connection",
                    source: "throttled".into(),
                })
            } else {
                Ok(())
            }
        });
        let result = sweep(&connections, now).await;
        assert!(
            matches!(
                result,
                Err(SweepError::Incomplete {
                    deleted: 1,
                    failed: 1
                })
            ),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn when_listing_fails_should_return_an_error() {
        let mut connections = MockConnectionStore::new();
        connections.expect_list_older_than().returning(|_, _| {
            Err(StoreError::Backend {
                operation: "list connections",
                source: "unavailable".into(),
            })
        });
        let deps = HandlerDeps { connections };
        assert!(function_handler(&deps, event(SCHEDULE)).await.is_err());
    }
}
