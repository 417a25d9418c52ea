//! Routing engine benchmark: `cargo run --release -p linka-shared --example routing_bench`.
//!
//! A contact centre of 500 agents in 50 queues (each agent a member of 5 queues, so 50 members a
//! queue; about a third ready), 300 waiting calls, 60 entry rules. Times, one call at a time on
//! one thread: building the snapshot, `decide` for new calls, `pick_call_for_agent` for ready
//! agents, `review_waiting_call` for waiting calls; then the worst case of one queue with all
//! 500 agents and all 300 waiting calls in it. Prints p50 / p99 / p99.9 / max in
//! microseconds; building and dropping the snapshot are timed
//! apart.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use linka_shared::admin_config::{Queue, QueueMember};
use linka_shared::queues::{Interval, OverflowTarget, QueueSchedule, WeeklyHours};
use linka_shared::routing::{
    decide, pick_call_for_agent, review_waiting_call, AgentRuntime, CallFacts, ClientFacts, Entry,
    EntryRule, InboundPlan, LastAgent, LastAgentRouting, Presence, QueueRouting, QueueRuntime,
    RecordingPolicy, RoutingSnapshot, RuleMatch, StatusPriority, WaitingCall,
};

const AGENTS: usize = 500;
const QUEUES: usize = 50;
const QUEUES_PER_AGENT: usize = 5;
const WAITING: usize = 300;
const ITERATIONS: usize = 20_000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

fn now() -> DateTime<Utc> {
    // Wednesday 25 November 2026, 10:00 in Prague.
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn schedule() -> QueueSchedule {
    let day: Vec<Interval> = Interval::hm(7, 0, 19, 0).into_iter().collect();
    QueueSchedule::new(WeeklyHours {
        monday: day.clone(),
        tuesday: day.clone(),
        wednesday: day.clone(),
        thursday: day.clone(),
        friday: day,
        ..WeeklyHours::default()
    })
}

fn queue_id(i: usize) -> String {
    format!("q-{i:02}")
}

fn username(i: usize) -> String {
    format!("agent{i:03}")
}

fn agents(rng: &mut Rng) -> Vec<AgentRuntime> {
    (0..AGENTS)
        .map(|i| {
            let presence = match rng.below(10) {
                0..=2 => Presence::Ready,
                3..=5 => Presence::Busy,
                6 => Presence::WrapUp,
                7 => Presence::NotReady,
                _ => Presence::LoggedOff,
            };
            let idle = i64::try_from(rng.below(3_600)).unwrap_or(0);
            AgentRuntime {
                username: username(i),
                device: format!("{}", 2000 + i),
                presence,
                ready_since: Some(now() - TimeDelta::seconds(idle)),
                wrap_up_until: (rng.below(10) == 0).then(|| now() + TimeDelta::seconds(5)),
                reserved_for: (rng.below(20) == 0).then(|| "busy-call".to_owned()),
                logged_out_queues: Default::default(),
            }
        })
        .collect()
}

fn queues(rng: &mut Rng, all_in_one: bool) -> Vec<QueueRuntime> {
    let mut members: Vec<Vec<QueueMember>> = vec![Vec::new(); QUEUES];
    for a in 0..AGENTS {
        let queues: Vec<usize> = if all_in_one {
            vec![0]
        } else {
            (0..QUEUES_PER_AGENT)
                .map(|k| (a + k * 11) % QUEUES)
                .collect()
        };
        for q in queues {
            if let Some(list) = members.get_mut(q) {
                list.push(QueueMember {
                    queue_id: queue_id(q),
                    username: username(a),
                    skill_level: u8::try_from(1 + rng.below(10)).unwrap_or(1),
                    priority: u8::try_from(1 + rng.below(10)).unwrap_or(1),
                    locked: false,
                });
            }
        }
    }
    members
        .into_iter()
        .enumerate()
        .map(|(q, members)| QueueRuntime {
            config: Queue {
                queue_id: queue_id(q),
                name: format!("Fronta {q}"),
                group: None,
                priority: u8::try_from(1 + q % 10).unwrap_or(1),
                schedule: schedule(),
                overflow: Some(OverflowTarget::Queue {
                    queue_id: queue_id((q + 1) % QUEUES),
                }),
            },
            members,
            routing: QueueRouting {
                wrap_up_seconds: 30,
                max_wait_seconds: Some(600),
                last_agent: Some(LastAgentRouting {
                    hold_seconds: 20,
                    max_age_hours: 72,
                }),
                ..QueueRouting::default()
            },
        })
        .collect()
}

fn waiting(rng: &mut Rng, all_in_one: bool) -> Vec<WaitingCall> {
    (0..WAITING)
        .map(|i| {
            let ago = TimeDelta::seconds(i64::try_from(rng.below(500)).unwrap_or(0));
            WaitingCall {
                call_id: format!("w{i:04}"),
                queue_id: queue_id(if all_in_one { 0 } else { rng.below(QUEUES) }),
                priority: u8::try_from(1 + rng.below(15)).unwrap_or(1),
                entered_at: now() - ago,
                queued_at: now() - ago,
                offered_to: None,
                sticky: None,
                caller: None,
            }
        })
        .collect()
}

fn plan() -> InboundPlan {
    let mut rules: Vec<EntryRule> = (0..10)
        .map(|i| EntryRule {
            rule_id: format!("prefix-{i}"),
            when: RuleMatch {
                callers: vec![format!("+42059{i}*")],
                client_statuses: vec!["VIP".into()],
                ..RuleMatch::default()
            },
            entry: Entry::Queue {
                queue_id: queue_id(i),
            },
            priority_boost: 1,
        })
        .collect();
    rules.extend((0..QUEUES).map(|q| EntryRule {
        rule_id: format!("did-{q}"),
        when: RuleMatch {
            dialled: vec![format!("{}", 5000 + q)],
            ..RuleMatch::default()
        },
        entry: Entry::Queue {
            queue_id: queue_id(q),
        },
        priority_boost: 0,
    }));
    InboundPlan {
        rules,
        default_entry: None,
        client_priority: vec![StatusPriority {
            status: "VIP".into(),
            boost: 5,
        }],
        recording: RecordingPolicy {
            record: true,
            own_numbers: vec!["+420585*".into(), "+420596*".into()],
            record_own_numbers: false,
        },
    }
}

fn call(rng: &mut Rng, i: usize, all_in_one: bool) -> CallFacts {
    let q = if all_in_one { 0 } else { rng.below(QUEUES) };
    CallFacts {
        call_id: format!("new{i}"),
        dialled: format!("{}", 5000 + q),
        caller: Some(format!("+420{:09}", rng.below(1_000_000_000))),
        ivr_choices: Vec::new(),
        attributes: Default::default(),
        entered_at: now(),
        client: (rng.below(5) == 0).then(|| ClientFacts {
            client_id: Some("123".into()),
            status: Some("VIP".into()),
        }),
        last_agent: (rng.below(3) == 0).then(|| LastAgent {
            username: username(rng.below(AGENTS)),
            at: now() - TimeDelta::hours(2),
        }),
        recording_allowed: true,
    }
}

fn report(name: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((micros.len() as f64 - 1.0) * q).round() as usize;
        micros.get(index).copied().unwrap_or(0.0)
    };
    println!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        micros.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        micros.last().copied().unwrap_or(0.0)
    );
}

fn time<T>(f: impl FnOnce() -> T) -> f64 {
    let start = Instant::now();
    black_box(f());
    start.elapsed().as_secs_f64() * 1e6
}

fn scenario(label: &str, all_in_one: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let queues = queues(&mut rng, all_in_one);
    let agents = agents(&mut rng);
    let waiting = waiting(&mut rng, all_in_one);
    let plan = plan();

    // Warm-up (first allocations fault pages in), then build and drop timed apart.
    for _ in 0..50 {
        let (q, a, w) = (queues.clone(), agents.clone(), waiting.clone());
        black_box(RoutingSnapshot::new(now(), q, a, w)?);
    }
    let mut build = Vec::new();
    let mut drops = Vec::new();
    for _ in 0..1_000 {
        let (q, a, w) = (queues.clone(), agents.clone(), waiting.clone());
        let start = Instant::now();
        let built = black_box(RoutingSnapshot::new(now(), q, a, w)?);
        build.push(start.elapsed().as_secs_f64() * 1e6);
        drops.push(time(|| drop(built)));
    }
    let snapshot = RoutingSnapshot::new(now(), queues, agents, waiting)?;

    let calls: Vec<CallFacts> = (0..ITERATIONS)
        .map(|i| call(&mut rng, i, all_in_one))
        .collect();
    let mut decisions = Vec::with_capacity(ITERATIONS);
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for facts in &calls {
        let mut outcome = None;
        decisions.push(time(|| outcome = Some(decide(facts, &plan, &snapshot))));
        let kind = match outcome.map(|o| o.decision) {
            Some(linka_shared::routing::Decision::Agent { .. }) => "agent",
            Some(linka_shared::routing::Decision::Queue { .. }) => "queue",
            Some(_) => "other",
            None => "none",
        };
        *kinds.entry(kind).or_default() += 1;
    }

    let ready: Vec<&str> = snapshot
        .agents()
        .iter()
        .filter(|a| a.is_available(now()))
        .map(|a| a.username.as_str())
        .collect();
    let mut picks = Vec::with_capacity(ITERATIONS);
    for i in 0..ITERATIONS {
        let agent = ready.get(i % ready.len().max(1)).copied().unwrap_or("none");
        picks.push(time(|| pick_call_for_agent(agent, &snapshot)));
    }
    let mut reviews = Vec::with_capacity(ITERATIONS);
    for i in 0..ITERATIONS {
        let id = snapshot
            .waiting()
            .get(i % WAITING)
            .map_or("none", |w| w.call_id.as_str());
        reviews.push(time(|| review_waiting_call(id, &plan, &snapshot)));
    }

    println!(
        "\n{label}: {} ready agents; decisions {kinds:?}\n",
        ready.len()
    );
    println!("| operation | n | p50 µs | p99 µs | p99.9 µs | max µs |");
    println!("|---|---|---|---|---|---|");
    report("RoutingSnapshot::new", build);
    report("drop(RoutingSnapshot)", drops);
    report("decide", decisions);
    report("pick_call_for_agent", picks);
    report("review_waiting_call", reviews);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    scenario(
        &format!("{AGENTS} agents, {QUEUES} queues ({QUEUES_PER_AGENT} per agent), {WAITING} waiting calls"),
        false,
    )?;
    scenario(
        &format!("worst case: one queue with all {AGENTS} agents and {WAITING} waiting calls"),
        true,
    )?;
    Ok(())
}
