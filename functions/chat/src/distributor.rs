//! `chat-distributor` (SQS, `ChatDistributionQueue`): automatic chat distribution (CHAT-2,
//! `linka_shared::chat::distribution`). With the chat setting `distribution: automatic`, each
//! trigger — a chat waiting in a queue, an agent who passed one on or ended it, an agent who
//! became available (forwarded by the routing worker) — makes the function read the routing
//! snapshot (members, skills, presences, desk log-ins), the waiting chats of the queues concerned
//! and the load of everyone who may take them, plan, and give each planned chat to its agent with
//! the same conditional take as the agent's own accept. A take that loses a race (the chat was
//! taken, the agent reached the limit meanwhile) is planned again without that agent.
//!
//! Every trigger is idempotent (the plan reads the current state), so SQS may repeat them; the
//! triggers of one batch are planned together.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    chat::{
        distribution::{
            agent_at_device, chat_candidates, chat_queues_of, plan_chat_assignments,
            ChatAssignment, ChatDistributionTrigger, WaitingChat,
        },
        ChatError,
    },
    ports::{ConversationStore, RoutingSignals, RoutingStateStore, StoreError, UserDirectory},
    telemetry::ErrorChain,
};
use routing::router::{Router, RouterError};
use thiserror::Error;

use crate::{
    effects::ChatEffects,
    take::{take_chat, TakeError},
};

/// How often a plan is made again after takes that lost a race.
const MAX_ROUNDS: usize = 4;

/// What the function needs.
pub struct DistributorDeps<S, U, G> {
    /// Read only: the routing configuration and the agents' live state.
    pub router: Router<S, U, G>,
    pub store: Arc<dyn ConversationStore>,
    pub effects: ChatEffects,
    /// Chats one agent holds at once unless the chat settings say otherwise.
    pub chats_per_agent: u8,
}

/// Why a distribution failed (its triggers are retried).
#[derive(Debug, Error)]
pub enum DistributionError {
    #[error("cannot read the routing snapshot")]
    Routing(#[from] RouterError),
    #[error("cannot read the waiting chats or the agents' chats")]
    Store(#[source] StoreError),
    #[error("cannot give a chat to an agent")]
    Take(#[source] TakeError),
}

/// What one distribution did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Distributed {
    /// The chats given, in order.
    pub assigned: Vec<ChatAssignment>,
    /// Chats of the queues served that still wait (nobody may take them now).
    pub still_waiting: usize,
}

/// Serves the queues the triggers name (directly, or as the queues of the agent they name).
pub async fn distribute<S, U, G>(
    deps: &DistributorDeps<S, U, G>,
    triggers: &[ChatDistributionTrigger],
    now: DateTime<Utc>,
) -> Result<Distributed, DistributionError>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let settings = deps.effects.settings().await;
    if !settings.distributes_automatically() || triggers.is_empty() {
        return Ok(Distributed::default());
    }
    let limit = settings.chats_per_agent_or(deps.chats_per_agent);
    let snapshot = deps.router.current_snapshot(now).await?;
    let mut queue_ids: BTreeSet<String> = BTreeSet::new();
    for trigger in triggers {
        match trigger {
            ChatDistributionTrigger::Queues { queue_ids: ids } => {
                queue_ids.extend(ids.iter().cloned());
            }
            ChatDistributionTrigger::Agent { username } => {
                queue_ids.extend(chat_queues_of(&snapshot, username));
            }
            ChatDistributionTrigger::Device { device } => {
                if let Some(username) = agent_at_device(&snapshot, device) {
                    queue_ids.extend(chat_queues_of(&snapshot, username));
                }
            }
        }
    }
    let mut waiting: Vec<WaitingChat> = Vec::new();
    for queue_id in &queue_ids {
        let queued = deps
            .store
            .queued(queue_id)
            .await
            .map_err(DistributionError::Store)?;
        waiting.extend(queued.into_iter().map(|c| WaitingChat {
            conversation_id: c.value.conversation_id,
            queue_id: queue_id.clone(),
            waiting_since: c.value.updated_at,
        }));
    }
    if waiting.is_empty() {
        return Ok(Distributed::default());
    }
    let candidates = chat_candidates(&snapshot, queue_ids.iter().map(String::as_str));
    let loads = try_join_all(candidates.iter().map(|username| async move {
        let held = deps.store.held_by(username).await?;
        Ok::<_, StoreError>(((*username).to_owned(), held.len()))
    }))
    .await
    .map_err(DistributionError::Store)?;
    let mut held: BTreeMap<String, usize> = loads.into_iter().collect();
    let mut done = Distributed::default();
    for _ in 0..MAX_ROUNDS {
        let plan = plan_chat_assignments(&snapshot, &waiting, &held, limit);
        if plan.is_empty() {
            break;
        }
        let mut lost_race = false;
        for assignment in plan {
            let settled = match take_chat(
                deps.store.as_ref(),
                &assignment.username,
                &assignment.conversation_id,
                limit,
                now,
            )
            .await
            {
                Ok(conversation) => {
                    *held.entry(assignment.username.clone()).or_insert(0) += 1;
                    deps.effects
                        .status(&conversation, &[assignment.queue_id.as_str()], &[], true)
                        .await;
                    tracing::info!(
                        conversation_id = assignment.conversation_id,
                        agent = assignment.username,
                        queue_id = assignment.queue_id,
                        "chat given to an agent"
                    );
                    done.assigned.push(assignment.clone());
                    true
                }
                Err(TakeError::Refused(ChatError::AtChatLimit {
                    agent,
                    held: now_held,
                })) => {
                    // The agent took chats meanwhile: plan this chat again without them.
                    held.insert(agent, now_held.max(usize::from(limit)));
                    lost_race = true;
                    false
                }
                // Taken by someone else, ended or gone meanwhile: nothing to give.
                Err(TakeError::Refused(_) | TakeError::NotFound(_)) => true,
                Err(error) => return Err(DistributionError::Take(error)),
            };
            if settled {
                waiting.retain(|chat| chat.conversation_id != assignment.conversation_id);
            }
        }
        if !lost_race {
            break;
        }
    }
    done.still_waiting = waiting.len();
    Ok(done)
}

/// Handles a batch: unreadable messages are reported failed (to the dead-letter queue after the
/// retries); the readable ones are planned together and fail together.
pub async fn function_handler<S, U, G>(
    deps: &DistributorDeps<S, U, G>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let mut response = SqsBatchResponse::default();
    let mut triggers = Vec::new();
    let mut readable = Vec::new();
    for record in &event.payload.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        match serde_json::from_str::<ChatDistributionTrigger>(
            record.body.as_deref().unwrap_or_default(),
        ) {
            Ok(trigger) => {
                triggers.push(trigger);
                readable.push(message_id);
            }
            Err(error) => {
                tracing::error!(message_id, error.message = %error, "not a chat distribution trigger");
                response.add_failure(message_id);
            }
        }
    }
    match distribute(deps, &triggers, Utc::now()).await {
        Ok(done) => {
            tracing::debug!(
                assigned = done.assigned.len(),
                still_waiting = done.still_waiting,
                "chats distributed"
            );
        }
        Err(error) => {
            tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "chat distribution failed; SQS will retry it");
            for message_id in readable {
                response.add_failure(message_id);
            }
        }
    }
    Ok(response)
}

#[cfg(test)]
#[path = "distributor_tests.rs"]
mod tests;
