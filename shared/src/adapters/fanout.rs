//! Pushing one message to many WebSocket connections: posts in parallel, forgets the
//! connections that answer `Gone`, counts the rest. Shared by the broadcast fan-out and the
//! desk pushes of cti-ingest.

use futures_util::{stream, StreamExt};

use crate::{
    ports::{ConnectionNotifier, ConnectionStore, PostOutcome},
    realtime::PushMessage,
    telemetry::ErrorChain,
};

/// Pushes in flight at once.
pub const CONCURRENT_POSTS: usize = 16;

/// What became of the pushes of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanOut {
    pub delivered: usize,
    /// The connections that answered `Gone` (their records are deleted).
    pub gone: Vec<String>,
    /// Pushes that failed otherwise (logged).
    pub failed: usize,
}

impl FanOut {
    /// Adds the tally of another fan-out.
    pub fn add(&mut self, other: FanOut) {
        self.delivered += other.delivered;
        self.gone.extend(other.gone);
        self.failed += other.failed;
    }
}

enum Outcome {
    Delivered,
    Gone(String),
    Failed,
}

/// Pushes `message` to every connection of `connection_ids`, [`CONCURRENT_POSTS`] at a time.
/// A connection that is `Gone` (the browser left without a clean `$disconnect`) is deleted; if
/// the delete fails the sweeper (or TTL) removes it later.
pub async fn push_to_connections<'a, S, N>(
    connections: &S,
    notifier: &N,
    connection_ids: impl IntoIterator<Item = &'a str>,
    message: &PushMessage,
) -> FanOut
where
    S: ConnectionStore + ?Sized,
    N: ConnectionNotifier + ?Sized,
{
    // Owned ids: a stream of futures borrowing `&str` items defeats the compiler's `Send` proof
    // when the caller's future is nested in a Lambda service.
    let ids: Vec<String> = connection_ids.into_iter().map(str::to_owned).collect();
    let outcomes: Vec<Outcome> = stream::iter(ids)
        .map(|id| async move {
            match notifier.post(&id, message).await {
                Ok(PostOutcome::Delivered) => Outcome::Delivered,
                Ok(PostOutcome::Gone) => {
                    if let Err(error) = connections.delete(&id).await {
                        tracing::warn!(connection_id = id, error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to delete a gone connection");
                    }
                    Outcome::Gone(id)
                }
                Err(error) => {
                    tracing::warn!(connection_id = id, error.message = %error, error.cause_chain = %ErrorChain(&error), "push failed");
                    Outcome::Failed
                }
            }
        })
        .buffer_unordered(CONCURRENT_POSTS)
        .collect()
        .await;
    let mut tally = FanOut::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Delivered => tally.delivered += 1,
            Outcome::Gone(id) => tally.gone.push(id),
            Outcome::Failed => tally.failed += 1,
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::{
        adapters::memory::{InMemoryConnectionStore, RecordingNotifier},
        auth::{Principal, Role},
        realtime::{Connection, DeskReason},
    };

    fn connection(id: &str) -> Connection {
        let principal = Principal {
            subject: "s".into(),
            username: "agent01".into(),
            display_name: None,
            roles: BTreeSet::from([Role::Agent]),
            client_id: None,
        };
        Connection::open(
            id,
            &principal,
            Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap(),
        )
    }

    #[tokio::test]
    async fn when_pushing_to_connections_should_deliver_forget_gone_and_count_failures() {
        // GIVEN three connections: one live, one gone, one failing
        let store = InMemoryConnectionStore::default().with_connections([
            connection("live"),
            connection("gone"),
            connection("failing"),
        ]);
        let notifier = RecordingNotifier::new()
            .with_gone(&["gone"])
            .with_failing(&["failing"]);
        let message = PushMessage::Desk {
            username: "agent01".into(),
            reason: DeskReason::Calls,
            calls: None,
            origin: None,
        };
        // WHEN a message is pushed to all three
        let tally =
            push_to_connections(&store, &notifier, ["live", "gone", "failing"], &message).await;
        // THEN one delivered, the gone one deleted, the failing one kept
        assert_eq!(
            tally,
            FanOut {
                delivered: 1,
                gone: vec!["gone".into()],
                failed: 1
            }
        );
        assert_eq!(
            store.ids(),
            BTreeSet::from(["live".to_owned(), "failing".to_owned()])
        );
        assert_eq!(notifier.posts(), [("live".to_owned(), message)]);
    }
}
