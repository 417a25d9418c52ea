use chrono::TimeDelta;
use proptest::prelude::*;

use super::*;
use crate::routing::{
    tests::{agent, member, now},
    QueueRuntime,
};

/// A queue of the routing tests' fixtures (its hours do not matter to chats).
fn queue(id: &str, members: Vec<crate::admin_config::QueueMember>) -> QueueRuntime {
    crate::routing::tests::queue(id, 5, members)
}

fn waiting(id: &str, queue_id: &str, seconds_ago: i64) -> WaitingChat {
    WaitingChat {
        conversation_id: id.into(),
        queue_id: queue_id.into(),
        waiting_since: now() - TimeDelta::seconds(seconds_ago),
    }
}

fn snapshot(queues: Vec<QueueRuntime>, agents: Vec<AgentRuntime>) -> RoutingSnapshot {
    RoutingSnapshot::new(now(), queues, agents, Vec::new()).unwrap()
}

fn given(plan: &[ChatAssignment]) -> Vec<(&str, &str)> {
    plan.iter()
        .map(|a| (a.conversation_id.as_str(), a.username.as_str()))
        .collect()
}

fn none_held() -> BTreeMap<String, usize> {
    BTreeMap::new()
}

#[test]
fn when_members_differ_should_prefer_skill_then_priority_then_load_then_ready_then_idle() {
    let chats = queue(
        "chat",
        vec![
            member("chat", "novice", 3, 9),
            member("chat", "expert", 8, 1),
            member("chat", "senior", 8, 5),
        ],
    );
    let agents = vec![
        agent("novice", Presence::Ready, 900),
        agent("expert", Presence::Ready, 900),
        agent("senior", Presence::Ready, 10),
    ];
    let snap = snapshot(vec![chats.clone()], agents);
    // Skill first, then the member priority: senior (8, 5) before expert (8, 1) and novice.
    let plan = plan_chat_assignments(&snap, &[waiting("c1", "chat", 60)], &none_held(), 3);
    assert_eq!(given(&plan), vec![("c1", "senior")]);

    // With equal skill and priority, the fewer chats held wins, then ready before busy, then
    // the longest idle.
    let equal = queue(
        "chat",
        vec![
            member("chat", "anna", 5, 5),
            member("chat", "bara", 5, 5),
            member("chat", "cyril", 5, 5),
            member("chat", "dana", 5, 5),
        ],
    );
    let snap = snapshot(
        vec![equal],
        vec![
            agent("anna", Presence::Ready, 900),
            agent("bara", Presence::Busy, 0),
            agent("cyril", Presence::Ready, 30),
            agent("dana", Presence::Ready, 600),
        ],
    );
    let held = BTreeMap::from([("anna".to_owned(), 1)]);
    let plan = plan_chat_assignments(&snap, &[waiting("c1", "chat", 60)], &held, 3);
    assert_eq!(
        given(&plan),
        vec![("c1", "dana")],
        "dana idles longest of the unloaded ready"
    );
    let held = BTreeMap::from([
        ("anna".to_owned(), 1),
        ("cyril".to_owned(), 1),
        ("dana".to_owned(), 1),
    ]);
    let plan = plan_chat_assignments(&snap, &[waiting("c1", "chat", 60)], &held, 3);
    assert_eq!(
        given(&plan),
        vec![("c1", "bara")],
        "the only one holding none, on a call"
    );
}

#[test]
fn when_agents_are_on_a_break_logged_off_or_out_of_the_queue_should_skip_them() {
    let members = vec![
        member("chat", "on-break", 9, 9),
        member("chat", "gone", 9, 9),
        member("chat", "left-queue", 9, 9),
        member("chat", "in-wrap-up", 1, 1),
    ];
    let mut left = agent("left-queue", Presence::Ready, 900);
    left.logged_out_queues.insert("chat".into());
    let snap = snapshot(
        vec![queue("chat", members)],
        vec![
            agent("on-break", Presence::NotReady, 0),
            agent("gone", Presence::LoggedOff, 0),
            left,
            agent("in-wrap-up", Presence::WrapUp, 0),
        ],
    );
    let plan = plan_chat_assignments(&snap, &[waiting("c1", "chat", 5)], &none_held(), 3);
    assert_eq!(given(&plan), vec![("c1", "in-wrap-up")]);
    assert_eq!(chat_candidates(&snap, ["chat"]), vec!["in-wrap-up"]);
    assert!(chat_queues_of(&snap, "left-queue").is_empty());
    let gone = snap.agent("gone").unwrap().device.clone();
    assert_eq!(agent_at_device(&snap, &gone), Some("gone"));
}

#[test]
fn when_chats_outnumber_free_slots_should_serve_the_oldest_and_keep_the_rest_waiting() {
    let snap = snapshot(
        vec![queue(
            "chat",
            vec![member("chat", "anna", 5, 5), member("chat", "bara", 5, 5)],
        )],
        vec![
            agent("anna", Presence::Ready, 100),
            agent("bara", Presence::Ready, 50),
        ],
    );
    let held = BTreeMap::from([("anna".to_owned(), 1)]);
    let chats = [
        waiting("newest", "chat", 1),
        waiting("oldest", "chat", 300),
        waiting("middle", "chat", 100),
        waiting("second", "chat", 200),
    ];
    let plan = plan_chat_assignments(&snap, &chats, &held, 2);
    // Three free slots (anna 1, bara 2), balanced by load: bara, then anna (idle longer) and
    // bara; the newest waits.
    assert_eq!(
        given(&plan),
        vec![("oldest", "bara"), ("second", "anna"), ("middle", "bara")]
    );
}

#[test]
fn when_an_agent_works_several_queues_should_serve_across_them_oldest_first() {
    let snap = snapshot(
        vec![
            queue("email", vec![member("email", "anna", 5, 5)]),
            queue(
                "sms",
                vec![member("sms", "anna", 5, 5), member("sms", "bara", 2, 5)],
            ),
        ],
        vec![
            agent("anna", Presence::Ready, 100),
            agent("bara", Presence::Busy, 0),
        ],
    );
    let chats = [waiting("mail", "email", 10), waiting("text", "sms", 20)];
    let plan = plan_chat_assignments(&snap, &chats, &none_held(), 1);
    // The older SMS goes to anna (higher skill); the e-mail waits: anna is at the limit and
    // bara is no member of the e-mail queue.
    assert_eq!(given(&plan), vec![("text", "anna")]);
    assert_eq!(chat_queues_of(&snap, "anna"), vec!["email", "sms"]);
    assert_eq!(
        chat_candidates(&snap, ["email", "sms"]),
        vec!["anna", "bara"]
    );
}

#[test]
fn when_the_queue_is_unknown_or_has_no_members_should_plan_nothing() {
    let snap = snapshot(
        vec![queue("empty", Vec::new())],
        vec![agent("anna", Presence::Ready, 1)],
    );
    let chats = [waiting("c1", "empty", 1), waiting("c2", "nowhere", 2)];
    assert!(plan_chat_assignments(&snap, &chats, &none_held(), 3).is_empty());
}

#[test]
fn when_triggers_are_serialised_should_keep_the_queue_message_format() {
    let trigger = ChatDistributionTrigger::Queues {
        queue_ids: vec!["chat".into()],
    };
    assert_eq!(
        serde_json::to_value(&trigger).unwrap(),
        serde_json::json!({"kind": "queues", "queueIds": ["chat"]})
    );
    let device: ChatDistributionTrigger =
        serde_json::from_value(serde_json::json!({"kind": "device", "device": "2001"})).unwrap();
    assert_eq!(
        device,
        ChatDistributionTrigger::Device {
            device: "2001".into()
        }
    );
}

fn presence() -> impl Strategy<Value = Presence> {
    prop_oneof![
        Just(Presence::LoggedOff),
        Just(Presence::NotReady),
        Just(Presence::Ready),
        Just(Presence::Busy),
        Just(Presence::WrapUp),
    ]
}

proptest! {
    /// Whatever the agents, queues, loads and chats: no chat goes to an agent who may not chat
    /// or is not a member of its queue (or left it), nobody passes the limit, no chat is given
    /// twice, and a chat left waiting has no member with a free slot.
    #[test]
    fn when_planning_any_state_should_keep_every_distribution_rule(
        agents in proptest::collection::vec((presence(), 0_i64..1000, 0_usize..4, any::<bool>()), 1..8),
        memberships in proptest::collection::vec((0_usize..8, 0_usize..3, 1_u8..11, 1_u8..11), 0..20),
        chats in proptest::collection::vec((0_usize..3, 0_i64..1000), 0..25),
        limit in 1_u8..4,
    ) {
        let queue_ids = ["chat", "sms", "email"];
        let runtimes: Vec<AgentRuntime> = agents
            .iter()
            .enumerate()
            .map(|(i, (presence, idle, _, left))| {
                let mut runtime = agent(&format!("agent{i}"), *presence, *idle);
                if *left {
                    runtime.logged_out_queues.insert(queue_ids[i % 3].into());
                }
                runtime
            })
            .collect();
        let held: BTreeMap<String, usize> = agents
            .iter()
            .enumerate()
            .map(|(i, (_, _, held, _))| (format!("agent{i}"), *held))
            .collect();
        let queues: Vec<QueueRuntime> = queue_ids
            .iter()
            .enumerate()
            .map(|(qi, id)| {
                queue(
                    id,
                    memberships
                        .iter()
                        .filter(|(a, q, _, _)| *q == qi && *a < agents.len())
                        .map(|(a, _, skill, priority)| member(id, &format!("agent{a}"), *skill, *priority))
                        .collect(),
                )
            })
            .collect();
        let waiting_chats: Vec<WaitingChat> = chats
            .iter()
            .enumerate()
            .map(|(i, (q, ago))| waiting(&format!("c{i}"), queue_ids[*q], *ago))
            .collect();
        let snap = snapshot(queues.clone(), runtimes);
        let plan = plan_chat_assignments(&snap, &waiting_chats, &held, limit);

        let mut load = held.clone();
        let mut given_chats = std::collections::BTreeSet::new();
        for assignment in &plan {
            prop_assert!(given_chats.insert(assignment.conversation_id.clone()), "given twice");
            let agent = snap.agent(&assignment.username).unwrap();
            prop_assert!(may_chat(agent));
            prop_assert!(!agent.logged_out_queues.contains(&assignment.queue_id));
            let queue = snap.queue(&assignment.queue_id).unwrap();
            prop_assert!(queue.members.iter().any(|m| m.username == assignment.username));
            let held_now = load.entry(assignment.username.clone()).or_insert(0);
            *held_now += 1;
            prop_assert!(*held_now <= usize::from(limit), "over the limit");
        }
        for chat in waiting_chats.iter().filter(|c| !given_chats.contains(&c.conversation_id)) {
            for username in chat_candidates(&snap, [chat.queue_id.as_str()]) {
                prop_assert!(
                    load.get(username).copied().unwrap_or(0) >= usize::from(limit),
                    "{} waits while {} has a free slot", chat.conversation_id, username
                );
            }
        }
    }
}
