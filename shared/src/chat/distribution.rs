//! Automatic chat distribution (CHAT-2, issue 7, ADR 0019): with the chat setting `distribution:
//! automatic`, Linka gives each waiting chat to one agent of its queue, as routing gives calls,
//! instead of leaving it in the queue's list for an agent to take.
//!
//! Who may get a chat: a member of the chat's queue (not logged out of it at the desk, DESK-3)
//! whose PBX presence is ready, on a call or in wrap-up — a phone call does not stop chats
//! (CHAT-3), a break or being logged off does — and who holds fewer chats than the limit.
//!
//! Who gets it, among them (the order of [`crate::routing`]'s agent choice for calls, ADM-7,
//! with the agent's load before idleness): the highest skill level in the queue, then the
//! highest member priority, then the fewest chats held, then ready before wrap-up before busy,
//! then the longest idle, then the username (so a plan is deterministic).
//!
//! Chats are served oldest first across the queues planned together. The plan is pure; the
//! chat function carries it out with the same conditional take an agent's own accept uses, so
//! two plans made at once cannot give an agent more than the limit or a chat to two agents.

use std::{cmp::Ordering, collections::BTreeMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::routing::{AgentRuntime, Presence, RoutingSnapshot};

/// Why the chat function should look at waiting chats again (a message on the distribution
/// queue). Every trigger is idempotent: a plan reads the current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ChatDistributionTrigger {
    /// Chats wait in these queues now (handed off, arrived, transferred to the queue).
    Queues { queue_ids: Vec<String> },
    /// The agent may take a chat now (ended or passed one on): their queues are served.
    Agent { username: String },
    /// The agent at this PBX device became available (ready, or logged in to a queue at the
    /// desk; forwarded by the routing worker): their queues are served.
    Device { device: String },
}

/// A chat waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingChat {
    pub conversation_id: String,
    pub queue_id: String,
    /// Since when it waits (oldest is served first).
    pub waiting_since: DateTime<Utc>,
}

/// One chat given to one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAssignment {
    pub conversation_id: String,
    pub queue_id: String,
    pub username: String,
}

/// Whether the agent's presence lets them get a chat: ready, on a call or in wrap-up.
pub fn may_chat(agent: &AgentRuntime) -> bool {
    matches!(
        agent.presence,
        Presence::Ready | Presence::Busy | Presence::WrapUp
    )
}

fn presence_rank(presence: Presence) -> u8 {
    match presence {
        Presence::Ready => 0,
        Presence::WrapUp => 1,
        _ => 2,
    }
}

/// A member of a queue who may get its chats, with what orders them.
#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    agent: &'a AgentRuntime,
    skill: u8,
    priority: u8,
}

/// The members of `queue_id` whose presence lets them chat and who have not logged out of it
/// (whatever their load).
fn members_who_may_chat<'a>(snapshot: &'a RoutingSnapshot, queue_id: &str) -> Vec<Candidate<'a>> {
    let Some(queue) = snapshot.queue(queue_id) else {
        return Vec::new();
    };
    let mut candidates: Vec<Candidate<'a>> = Vec::new();
    for member in &queue.members {
        let Some(agent) = snapshot.agent(&member.username) else {
            continue;
        };
        if agent.logged_out_queues.contains(queue_id) || !may_chat(agent) {
            continue;
        }
        if candidates
            .iter()
            .any(|c| c.agent.username == agent.username)
        {
            continue;
        }
        candidates.push(Candidate {
            agent,
            skill: member.skill_level,
            priority: member.priority,
        });
    }
    candidates
}

/// The usernames of everyone who may get a chat of these queues, whatever their load (whose
/// load the caller must count before planning).
pub fn chat_candidates<'a>(
    snapshot: &'a RoutingSnapshot,
    queue_ids: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut usernames: Vec<&str> = queue_ids
        .into_iter()
        .flat_map(|queue_id| members_who_may_chat(snapshot, queue_id))
        .map(|c| c.agent.username.as_str())
        .collect();
    usernames.sort_unstable();
    usernames.dedup();
    usernames
}

/// The queues whose chats the agent may take (member, not logged out of it).
pub fn chat_queues_of(snapshot: &RoutingSnapshot, username: &str) -> Vec<String> {
    let Some(agent) = snapshot.agent(username) else {
        return Vec::new();
    };
    snapshot
        .queues()
        .iter()
        .filter(|queue| {
            !agent.logged_out_queues.contains(queue.id())
                && queue.members.iter().any(|m| m.username == username)
        })
        .map(|queue| queue.id().to_owned())
        .collect()
}

/// The username of the agent logged on at `device`.
pub fn agent_at_device<'a>(snapshot: &'a RoutingSnapshot, device: &str) -> Option<&'a str> {
    snapshot
        .agents()
        .iter()
        .find(|agent| agent.device == device)
        .map(|agent| agent.username.as_str())
}

/// `Less` when `a` should get the chat before `b`.
fn order(
    a: &Candidate,
    a_held: usize,
    b: &Candidate,
    b_held: usize,
    now: DateTime<Utc>,
) -> Ordering {
    let idle = |agent: &AgentRuntime| agent.idle_since().unwrap_or(now);
    b.skill
        .cmp(&a.skill)
        .then(b.priority.cmp(&a.priority))
        .then(a_held.cmp(&b_held))
        .then(presence_rank(a.agent.presence).cmp(&presence_rank(b.agent.presence)))
        .then(idle(a.agent).cmp(&idle(b.agent)))
        .then(a.agent.username.cmp(&b.agent.username))
}

/// Gives the waiting chats, oldest first, to the best agent of each one's queue who holds
/// fewer than `limit` chats; `held` is what each agent holds now (missing: none). A chat nobody
/// may take stays out of the plan (it keeps waiting).
pub fn plan_chat_assignments(
    snapshot: &RoutingSnapshot,
    waiting: &[WaitingChat],
    held: &BTreeMap<String, usize>,
    limit: u8,
) -> Vec<ChatAssignment> {
    let mut load: BTreeMap<&str, usize> = held.iter().map(|(u, n)| (u.as_str(), *n)).collect();
    let mut chats: Vec<&WaitingChat> = waiting.iter().collect();
    chats.sort_by(|a, b| {
        a.waiting_since
            .cmp(&b.waiting_since)
            .then(a.conversation_id.cmp(&b.conversation_id))
    });
    chats.dedup_by(|a, b| a.conversation_id == b.conversation_id);
    let mut candidates_of: BTreeMap<&str, Vec<Candidate>> = BTreeMap::new();
    let mut plan = Vec::new();
    for chat in chats {
        let candidates = candidates_of
            .entry(chat.queue_id.as_str())
            .or_insert_with(|| members_who_may_chat(snapshot, &chat.queue_id));
        let held_by = |c: &Candidate| load.get(c.agent.username.as_str()).copied().unwrap_or(0);
        let best = candidates
            .iter()
            .filter(|c| held_by(c) < usize::from(limit))
            .min_by(|a, b| order(a, held_by(a), b, held_by(b), snapshot.now()));
        let Some(best) = best else {
            continue;
        };
        let username = best.agent.username.as_str();
        *load.entry(username).or_insert(0) += 1;
        plan.push(ChatAssignment {
            conversation_id: chat.conversation_id.clone(),
            queue_id: chat.queue_id.clone(),
            username: username.to_owned(),
        });
    }
    plan
}

#[cfg(test)]
#[path = "distribution_tests.rs"]
mod tests;
