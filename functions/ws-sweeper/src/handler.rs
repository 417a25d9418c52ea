//! Two scheduled chores on `ConnectionsTable`:
//!
//! - deletes stale connection records: `Query byKind` with `connectedAt < now − 2 h 10 min`,
//!   page by page, deleting each;
//! - the presence heartbeat (issue 6): an agent ready or not ready at the PBX whose desk has
//!   not been seen (no live connection with a recent heartbeat, no recent disconnect) for
//!   `PRESENCE_TIMEOUT_SECONDS` is logged off — an `AgentState` `loggedOff` command for their
//!   device on `CtiCommandQueue` — so that routing stops offering calls to an empty chair.
//!   The decision is `linka_shared::presence::idle_logoffs`.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use cti_events::{CtiCommand, SCHEMA_VERSION};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    ports::{AgentPresences, ConnectionStore, CtiCommands, SignalError, StoreError, UserDirectory},
    presence::{idle_logoffs, last_seen_by_user, DeviceDirectory},
    realtime::{stale_cutoff, Connection},
    telemetry::ErrorChain,
    time::{format_rfc3339, now_utc},
    users::PageLimit,
};
use serde_json::{json, Value};
use thiserror::Error;

/// Who the logoff commands are from (the relay's audit trail).
pub const REQUESTED_BY: &str = "presence-heartbeat";
/// A logoff command not executed within this long is dropped by the relay.
pub const COMMAND_LIFETIME_SECONDS: i64 = 60;

/// What the handler needs, built once in `main`.
pub struct HandlerDeps<S> {
    pub connections: S,
    /// The presence heartbeat; `None` when not configured.
    pub heartbeat: Option<Heartbeat>,
}

/// What the presence heartbeat needs.
pub struct Heartbeat {
    pub users: Arc<dyn UserDirectory>,
    pub agents: Arc<dyn AgentPresences>,
    pub commands: Arc<dyn CtiCommands>,
    /// How long an agent may be without a desk.
    pub timeout: Duration,
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

#[derive(Debug, Error)]
pub enum HeartbeatError {
    #[error("failed to read {what}")]
    Read {
        what: &'static str,
        #[source]
        source: StoreError,
    },
    /// Reported so that it shows in the function's error metric; the next run tries again.
    #[error("{failed} of {idle} logoff commands were not sent")]
    Commands {
        idle: usize,
        failed: usize,
        #[source]
        source: SignalError,
    },
}

/// Entry point for each scheduled run. The event (whatever the schedule sends) is ignored.
/// Returns `{"deleted": n}`, with `"loggedOff": m` when the heartbeat is configured. Both chores
/// run even when the other fails.
pub async fn function_handler<S: ConnectionStore>(
    deps: &HandlerDeps<S>,
    _event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let now = now_utc();
    let swept = sweep(&deps.connections, now).await;
    let logged_off = match &deps.heartbeat {
        Some(heartbeat) => Some(log_off_absent_agents(&deps.connections, heartbeat, now).await),
        None => None,
    };
    let deleted = swept?;
    match logged_off {
        Some(result) => Ok(json!({ "deleted": deleted, "loggedOff": result? })),
        None => Ok(json!({ "deleted": deleted })),
    }
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

fn read(what: &'static str) -> impl FnOnce(StoreError) -> HeartbeatError {
    move |source| HeartbeatError::Read { what, source }
}

/// Logs off every agent whose desk has been gone for the timeout; returns how many commands
/// were sent.
pub async fn log_off_absent_agents<S: ConnectionStore>(
    connections: &S,
    heartbeat: &Heartbeat,
    now: DateTime<Utc>,
) -> Result<usize, HeartbeatError> {
    let presences = heartbeat
        .agents
        .agent_presences()
        .await
        .map_err(read("agent presences"))?;
    let logged_on = presences.iter().any(|presence| {
        matches!(
            presence.state,
            linka_shared::cti_state::AgentState::Ready
                | linka_shared::cti_state::AgentState::NotReady
        )
    });
    if !logged_on {
        return Ok(0);
    }
    let (users, open, departures) = tokio::join!(
        all_users(heartbeat.users.as_ref()),
        all_connections(connections),
        // A day back: an agent whose desk left before logging on is not logged off for it.
        connections.departures_since(now - Duration::hours(24))
    );
    let directory = DeviceDirectory::from_users(&users?);
    let open = open?;
    let departures = departures.map_err(read("departures"))?;
    let seen = last_seen_by_user(&open, &departures);
    let idle = idle_logoffs(&presences, &directory, &seen, now, heartbeat.timeout);
    let mut sent = 0_usize;
    let mut last_error = None;
    for agent in &idle {
        let command = CtiCommand {
            version: SCHEMA_VERSION,
            command_id: uuid::Uuid::new_v4().to_string(),
            requested_by: REQUESTED_BY.to_owned(),
            issued_at: now,
            expires_at: now + Duration::seconds(COMMAND_LIFETIME_SECONDS),
            action: agent.action(),
        };
        let last_seen = agent.last_seen.map(format_rfc3339);
        match heartbeat.commands.send(&command).await {
            Ok(()) => {
                sent += 1;
                tracing::info!(username = %agent.username, device = %agent.device, last_seen, command_id = %command.command_id, "desk gone: agent logged off");
            }
            Err(error) => {
                tracing::warn!(username = %agent.username, device = %agent.device, error.message = %error, error.cause_chain = %ErrorChain(&error), "logoff command not sent");
                last_error = Some(error);
            }
        }
    }
    match last_error {
        Some(source) => Err(HeartbeatError::Commands {
            idle: idle.len(),
            failed: idle.len() - sent,
            source,
        }),
        None => Ok(sent),
    }
}

async fn all_users(
    users: &dyn UserDirectory,
) -> Result<Vec<linka_shared::users::User>, HeartbeatError> {
    let limit = PageLimit::new(PageLimit::MAX).unwrap_or(PageLimit::DEFAULT);
    linka_shared::paging::all_pages(|cursor| users.list(limit, cursor))
        .await
        .map_err(read("users"))
}

async fn all_connections<S: ConnectionStore>(
    connections: &S,
) -> Result<Vec<Connection>, HeartbeatError> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = connections
            .list(cursor)
            .await
            .map_err(read("connections"))?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
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
            heartbeat: None,
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
            heartbeat: None,
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
        let deps = HandlerDeps {
            connections,
            heartbeat: None,
        };
        assert!(function_handler(&deps, event(SCHEDULE)).await.is_err());
    }

    mod heartbeat {
        use std::sync::Mutex;

        use linka_shared::{
            adapters::memory::InMemoryUserDirectory,
            cti_state::{AgentPresence, AgentState},
            users::User,
        };

        use super::*;

        struct Agents(Vec<AgentPresence>);

        #[async_trait::async_trait]
        impl AgentPresences for Agents {
            async fn agent_presences(&self) -> Result<Vec<AgentPresence>, StoreError> {
                Ok(self.0.clone())
            }
        }

        #[derive(Default)]
        struct Commands {
            sent: Mutex<Vec<CtiCommand>>,
            failing_device: Option<String>,
        }

        #[async_trait::async_trait]
        impl CtiCommands for Commands {
            async fn send(&self, command: &CtiCommand) -> Result<(), SignalError> {
                if self.failing_device.as_deref() == Some(command.action.device()) {
                    return Err(SignalError("queue unavailable".into()));
                }
                self.sent.lock().unwrap().push(command.clone());
                Ok(())
            }
        }

        fn user(username: &str, number: &str) -> User {
            User {
                username: username.into(),
                display_name: username.into(),
                roles: BTreeSet::from([Role::Agent]),
                groups: Vec::new(),
                email: None,
                agent_number: Some(number.into()),
                mobile: None,
                active: true,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            }
        }

        fn agent(device: &str, state: AgentState, since: DateTime<Utc>) -> AgentPresence {
            AgentPresence {
                device: device.into(),
                agent_id: Some(device.into()),
                state,
                since: Some(since),
                ..AgentPresence::default()
            }
        }

        fn tab(id: &str, username: &str, heartbeat: DateTime<Utc>) -> Connection {
            let mut tab = connection(id, heartbeat - Duration::minutes(30));
            tab.username = username.into();
            tab.heartbeat_at = Some(heartbeat.timestamp());
            tab
        }

        fn heartbeat(agents: Vec<AgentPresence>, commands: Arc<Commands>) -> Heartbeat {
            Heartbeat {
                users: Arc::new(InMemoryUserDirectory::new([
                    user("agent01", "2001"),
                    user("agent02", "2002"),
                    user("agent03", "2003"),
                ])),
                agents: Arc::new(Agents(agents)),
                commands,
                timeout: Duration::seconds(120),
            }
        }

        #[tokio::test]
        async fn when_a_desk_is_gone_beyond_the_timeout_should_log_only_that_agent_off() {
            // GIVEN agent01 with a stale tab and a live one, agent02 whose laptop went to sleep
            // 3 min ago, agent03 silent as long but busy on a call
            let now = Utc::now();
            let long_ago = now - Duration::hours(1);
            let connections = InMemoryConnectionStore::default().with_connections([
                tab("a1-old", "agent01", now - Duration::minutes(10)),
                tab("a1-new", "agent01", now - Duration::seconds(20)),
                tab("a2", "agent02", now - Duration::minutes(3)),
                tab("a3", "agent03", now - Duration::minutes(3)),
            ]);
            let commands = Arc::new(Commands::default());
            let deps = HandlerDeps {
                connections,
                heartbeat: Some(heartbeat(
                    vec![
                        agent("2001", AgentState::Ready, long_ago),
                        agent("2002", AgentState::NotReady, long_ago),
                        agent("2003", AgentState::Busy, long_ago),
                    ],
                    commands.clone(),
                )),
            };
            // WHEN the schedule fires
            let result = function_handler(&deps, event(SCHEDULE)).await.unwrap();
            // THEN only agent02 is logged off, by a logoff command for 2002 on its device group
            assert_eq!(result, json!({"deleted": 0, "loggedOff": 1}));
            let sent = commands.sent.lock().unwrap().clone();
            assert_eq!(sent.len(), 1);
            assert_eq!(sent[0].group_id(), "device:2002");
            assert_eq!(sent[0].requested_by, REQUESTED_BY);
            assert_eq!(
                serde_json::to_value(&sent[0].action).unwrap(),
                json!({"type": "agentState", "device": "2002", "agentId": "2002",
                       "state": "loggedOff"})
            );
            assert!(sent[0].expires_at > sent[0].issued_at);
        }

        #[tokio::test]
        async fn when_the_page_was_just_reloaded_should_keep_the_agent() {
            // GIVEN agent01 whose only tab disconnected 10 s ago (reloading), none open now
            let now = Utc::now();
            let connections = InMemoryConnectionStore::default().with_connections([tab(
                "a1",
                "agent01",
                now - Duration::minutes(5),
            )]);
            connections
                .depart("a1", now - Duration::seconds(10))
                .await
                .unwrap();
            let commands = Arc::new(Commands::default());
            let heartbeat = heartbeat(
                vec![agent("2001", AgentState::Ready, now - Duration::hours(1))],
                commands.clone(),
            );
            // WHEN swept THEN nobody is logged off
            let sent = log_off_absent_agents(&connections, &heartbeat, now)
                .await
                .unwrap();
            assert_eq!(sent, 0);
            // AND 2 min later, still without a desk, agent01 is
            let later = now + Duration::minutes(2);
            let sent = log_off_absent_agents(&connections, &heartbeat, later)
                .await
                .unwrap();
            assert_eq!(sent, 1);
        }

        #[tokio::test]
        async fn when_nobody_is_logged_on_should_not_read_the_connections() {
            // GIVEN a store that must not be asked anything
            let connections = MockConnectionStore::new();
            let heartbeat = heartbeat(
                vec![agent("2001", AgentState::LoggedOff, Utc::now())],
                Arc::new(Commands::default()),
            );
            // WHEN swept THEN nothing to do
            assert_eq!(
                log_off_absent_agents(&connections, &heartbeat, Utc::now())
                    .await
                    .unwrap(),
                0
            );
        }

        #[tokio::test]
        async fn when_a_command_cannot_be_sent_should_send_the_others_and_report_it() {
            let now = Utc::now();
            let long_ago = now - Duration::hours(1);
            let commands = Arc::new(Commands {
                failing_device: Some("2001".into()),
                ..Commands::default()
            });
            let heartbeat = heartbeat(
                vec![
                    agent("2001", AgentState::Ready, long_ago),
                    agent("2002", AgentState::Ready, long_ago),
                ],
                commands.clone(),
            );
            // Both worked at a desk that went away half an hour ago.
            let connections = InMemoryConnectionStore::default().with_connections([
                tab("a1", "agent01", long_ago),
                tab("a2", "agent02", long_ago),
            ]);
            for id in ["a1", "a2"] {
                connections
                    .depart(id, now - Duration::minutes(30))
                    .await
                    .unwrap();
            }
            let result = log_off_absent_agents(&connections, &heartbeat, now).await;
            assert!(
                matches!(
                    result,
                    Err(HeartbeatError::Commands {
                        idle: 2,
                        failed: 1,
                        ..
                    })
                ),
                "{result:?}"
            );
            assert_eq!(commands.sent.lock().unwrap().len(), 1);
        }
    }
}
