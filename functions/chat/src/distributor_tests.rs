use std::time::Duration;

use linka_shared::{
    adapters::{memory::InMemoryUserDirectory, InMemoryAgentDeskStore, InMemoryRoutingStateStore},
    chat::{Conversation, ConversationStatus},
    contact_records::conversation_contact_id,
    contacts::ContactState,
    cti_state::{AgentPresence, AgentState},
    desk::AgentDesk,
    ports::{AgentDeskStore, Versioned},
    realtime::PushMessage,
    users::User,
};
use serde_json::json;

use super::*;
use crate::test_support::{chat, parts, person, queued_chat, request, Chat};

/// The routing signals: distribution sends none (a call would fail the test).
type NoSignals = linka_shared::ports::MockRoutingSignals;

type Deps = DistributorDeps<InMemoryRoutingStateStore, InMemoryUserDirectory, NoSignals>;

const SAMPLE: &str = include_str!("../../../events/sqs/chat-distribution.json");

fn agent_user(username: &str, number: &str) -> User {
    serde_json::from_value(json!({
        "username": username, "displayName": username, "roles": ["agent"],
        "agentNumber": number, "active": true,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap()
}

fn presence(number: &str, state: AgentState, seconds_ago: i64) -> AgentPresence {
    AgentPresence {
        agent_id: Some(number.to_owned()),
        state,
        since: Some(Utc::now() - chrono::TimeDelta::seconds(seconds_ago)),
        ..AgentPresence::new(number)
    }
}

struct Fixture {
    chat: Chat,
    deps: Deps,
    state: InMemoryRoutingStateStore,
    desks: Arc<InMemoryAgentDeskStore>,
}

/// The chat fixture (queue `chat`: agent01 and agent02; `other`: agent03) with automatic
/// distribution on, a limit of two chats, agent01 ready for 10 minutes, agent02 ready for one.
async fn fixture() -> Fixture {
    let chat = chat().await;
    chat.set_settings(json!({"distribution": "automatic", "chatsPerAgent": 2}))
        .await;
    let state = InMemoryRoutingStateStore::new();
    state.set_agent(presence("2001", AgentState::Ready, 600));
    state.set_agent(presence("2002", AgentState::Ready, 60));
    state.set_agent(presence("2003", AgentState::Ready, 900));
    let desks = Arc::new(InMemoryAgentDeskStore::new());
    let router = Router::new(
        state.clone(),
        InMemoryUserDirectory::new([
            agent_user("agent01", "2001"),
            agent_user("agent02", "2002"),
            agent_user("agent03", "2003"),
        ]),
        NoSignals::new(),
        chat.effects.config.clone(),
        20,
        Duration::ZERO,
    )
    .with_desks(desks.clone());
    let deps = DistributorDeps {
        router,
        store: Arc::new(chat.store.clone()),
        effects: chat.effects.clone(),
        chats_per_agent: 3,
    };
    Fixture {
        chat,
        deps,
        state,
        desks,
    }
}

async fn conversation(f: &Fixture, id: &str) -> Conversation {
    f.chat.store.get(id).await.unwrap().unwrap().value
}

/// Every trigger the chat function asked for so far.
fn asked(f: &Fixture) -> Vec<ChatDistributionTrigger> {
    f.chat.distribution.taken()
}

fn queues(ids: &[&str]) -> ChatDistributionTrigger {
    ChatDistributionTrigger::Queues {
        queue_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
    }
}

fn given(done: &Distributed) -> Vec<(&str, &str)> {
    done.assigned
        .iter()
        .map(|a| (a.conversation_id.as_str(), a.username.as_str()))
        .collect()
}

#[tokio::test]
async fn when_a_chat_is_handed_off_should_it_go_to_the_longest_idle_ready_member_at_once() {
    // GIVEN automatic distribution, agent01 idle longest, agent02 on a break
    let f = fixture().await;
    f.state.set_agent(presence("2002", AgentState::NotReady, 5));
    // WHEN the bot hands a conversation off
    let id = queued_chat(&f.chat, "auto-1").await;
    // THEN the chat function asks for the queue to be served
    assert_eq!(asked(&f), vec![queues(&["chat"])]);
    // AND the distribution gives the chat to agent01
    let done = distribute(&f.deps, &asked(&f), Utc::now()).await.unwrap();
    assert_eq!(given(&done), vec![(id.as_str(), "agent01")]);
    assert_eq!(done.still_waiting, 0);
    let taken = conversation(&f, &id).await;
    assert_eq!(taken.status, ConversationStatus::Assigned);
    assert_eq!(taken.agent.as_deref(), Some("agent01"));
    // AND agent01's desk hears of it as of an accepted chat
    assert!(f.chat.pushed.posts().iter().any(|(connection, message)| {
        connection == "tab-1"
            && matches!(message, PushMessage::Chat { status: ConversationStatus::Assigned, agent: Some(agent), .. } if agent == "agent01")
    }));
    // AND the lifecycle records say the chat was connected to agent01
    let events = f.chat.events.of(&conversation_contact_id(&id));
    assert!(
        events.iter().any(|event| {
            event.to == ContactState::Connected && event.agent.as_deref() == Some("agent01")
        }),
        "{events:?}"
    );
    // AND a repeated trigger changes nothing
    let again = distribute(&f.deps, &[queues(&["chat"])], Utc::now())
        .await
        .unwrap();
    assert_eq!(again, Distributed::default());
}

#[tokio::test]
async fn when_more_chats_wait_than_agents_have_slots_should_balance_and_keep_the_rest_waiting() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(queued_chat(&f.chat, &format!("many-{n}")).await);
    }
    let done = distribute(&f.deps, &[queues(&["chat"])], Utc::now())
        .await
        .unwrap();
    // Two slots each (the settings' limit): alternately by load, agent01 first (idle longest).
    assert_eq!(
        given(&done),
        vec![
            (ids[0].as_str(), "agent01"),
            (ids[1].as_str(), "agent02"),
            (ids[2].as_str(), "agent01"),
            (ids[3].as_str(), "agent02"),
        ]
    );
    assert_eq!(done.still_waiting, 1);
    assert_eq!(
        conversation(&f, &ids[4]).await.status,
        ConversationStatus::Queued
    );
    // WHEN agent01 ends a chat
    let (status, _) = parts(
        crate::desk_chats::handle(
            &f.chat.desk,
            request(
                "POST",
                &format!("/api/desk/chats/{}/end", ids[0]),
                Some(&person("agent01", "agent")),
                None,
            ),
        )
        .await,
    );
    assert_eq!(status, 200);
    // THEN the chat function asks for agent01's queues to be served, and the waiting chat goes
    // to agent01
    let agent01 = ChatDistributionTrigger::Agent {
        username: "agent01".into(),
    };
    assert!(asked(&f).contains(&agent01));
    let done = distribute(&f.deps, &[agent01], Utc::now()).await.unwrap();
    assert_eq!(given(&done), vec![(ids[4].as_str(), "agent01")]);
}

#[tokio::test]
async fn when_agents_take_chats_themselves_should_nothing_be_asked_or_given() {
    let f = fixture().await;
    f.chat
        .set_settings(json!({"distribution": "agentsTake"}))
        .await;
    let id = queued_chat(&f.chat, "manual-1").await;
    assert!(asked(&f).is_empty());
    let done = distribute(&f.deps, &[queues(&["chat"])], Utc::now())
        .await
        .unwrap();
    assert_eq!(done, Distributed::default());
    assert_eq!(
        conversation(&f, &id).await.status,
        ConversationStatus::Queued
    );
}

#[tokio::test]
async fn when_members_are_away_or_logged_out_of_the_queue_should_the_chat_wait_for_them() {
    // GIVEN agent01 logged out of the chat queue at the desk and agent02 logged off the PBX
    let f = fixture().await;
    let mut desk = AgentDesk::new("agent01");
    desk.logged_out_queues.insert("chat".into());
    f.desks
        .save(&Versioned {
            value: desk,
            version: 0,
        })
        .await
        .unwrap();
    f.state
        .set_agent(presence("2002", AgentState::LoggedOff, 5));
    let id = queued_chat(&f.chat, "away-1").await;
    let done = distribute(&f.deps, &[queues(&["chat"])], Utc::now())
        .await
        .unwrap();
    assert!(done.assigned.is_empty());
    assert_eq!(done.still_waiting, 1);
    // WHEN agent02 logs on and becomes ready (the routing worker forwards the device)
    f.state.set_agent(presence("2002", AgentState::Ready, 0));
    let trigger = ChatDistributionTrigger::Device {
        device: "2002".into(),
    };
    let done = distribute(&f.deps, &[trigger], Utc::now()).await.unwrap();
    // THEN the chat goes to agent02
    assert_eq!(given(&done), vec![(id.as_str(), "agent02")]);
}

#[tokio::test]
async fn when_an_agent_is_on_a_call_should_they_still_get_chats_after_ready_colleagues() {
    let f = fixture().await;
    f.state.set_agent(presence("2001", AgentState::Busy, 30));
    let first = queued_chat(&f.chat, "call-1").await;
    let second = queued_chat(&f.chat, "call-2").await;
    let done = distribute(&f.deps, &[queues(&["chat"])], Utc::now())
        .await
        .unwrap();
    // agent02 (ready) first; then agent01 on a call holds fewer chats than agent02 (CHAT-3)
    assert_eq!(
        given(&done),
        vec![(first.as_str(), "agent02"), (second.as_str(), "agent01")]
    );
}

#[tokio::test]
async fn when_distributions_race_should_no_chat_be_given_twice_nor_an_agent_pass_the_limit() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(queued_chat(&f.chat, &format!("race-{n}")).await);
    }
    let trigger = [queues(&["chat"])];
    let (a, b, c) = tokio::join!(
        distribute(&f.deps, &trigger, Utc::now()),
        distribute(&f.deps, &trigger, Utc::now()),
        distribute(&f.deps, &trigger, Utc::now())
    );
    let mut all: Vec<(String, String)> = [a.unwrap(), b.unwrap(), c.unwrap()]
        .into_iter()
        .flat_map(|done| done.assigned)
        .map(|a| (a.conversation_id, a.username))
        .collect();
    all.sort();
    let chats: BTreeSet<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(chats.len(), all.len(), "a chat given twice: {all:?}");
    assert_eq!(all.len(), 4, "two slots for each of two agents: {all:?}");
    for username in ["agent01", "agent02"] {
        assert_eq!(f.chat.store.held_by(username).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn when_a_batch_has_an_unreadable_message_should_only_it_fail() {
    let f = fixture().await;
    let id = queued_chat(&f.chat, "batch-1").await;
    // The sample: agent queue `chat`, agent02's queues, and a trigger of an unknown kind.
    let event: SqsEvent = serde_json::from_str(SAMPLE).unwrap();
    let response = function_handler(
        &f.deps,
        LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, ["8b3f9e4c-3d5a-4e7f-a01b-2c3d4e5f6071"]);
    assert_eq!(
        conversation(&f, &id).await.status,
        ConversationStatus::Assigned
    );
}

#[tokio::test]
async fn when_a_chat_is_transferred_to_a_queue_should_the_queue_and_the_sender_be_served() {
    let f = fixture().await;
    let id = queued_chat(&f.chat, "transfer-1").await;
    distribute(&f.deps, &[queues(&["chat"])], Utc::now())
        .await
        .unwrap();
    let holder = conversation(&f, &id).await.agent.unwrap();
    let (status, body) = parts(
        crate::desk_chats::handle(
            &f.chat.desk,
            request(
                "POST",
                &format!("/api/desk/chats/{id}/transfer"),
                Some(&person(&holder, "agent")),
                Some(json!({"queueId": "other"})),
            ),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    let asked = asked(&f);
    assert!(asked.contains(&queues(&["other"])), "{asked:?}");
    assert!(asked.contains(&ChatDistributionTrigger::Agent { username: holder }));
    let done = distribute(&f.deps, &asked, Utc::now()).await.unwrap();
    assert_eq!(given(&done), vec![(id.as_str(), "agent03")]);
}
