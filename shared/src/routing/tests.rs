use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::queues::{Exception, Exceptions, Interval, WeeklyHours};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Wednesday 25 November 2026, 10:00 in Prague (CET, UTC+1).
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn iv(sh: u32, sm: u32, eh: u32, em: u32) -> Interval {
    Interval::hm(sh, sm, eh, em).unwrap()
}

/// Monday to Friday 07:00–19:00, closed on public holidays.
fn office_hours() -> QueueSchedule {
    let day = vec![iv(7, 0, 19, 0)];
    QueueSchedule::new(WeeklyHours {
        monday: day.clone(),
        tuesday: day.clone(),
        wednesday: day.clone(),
        thursday: day.clone(),
        friday: day,
        ..WeeklyHours::default()
    })
}

/// Every day 07:00–19:00, closed on public holidays.
fn every_day() -> QueueSchedule {
    let day = vec![iv(7, 0, 19, 0)];
    QueueSchedule::new(WeeklyHours {
        monday: day.clone(),
        tuesday: day.clone(),
        wednesday: day.clone(),
        thursday: day.clone(),
        friday: day.clone(),
        saturday: day.clone(),
        sunday: day,
    })
}

/// Always open (every day 00:00–24:00, holidays too).
fn always() -> QueueSchedule {
    let day = vec![iv(0, 0, 0, 0)];
    QueueSchedule {
        closed_on_public_holidays: false,
        ..QueueSchedule::new(WeeklyHours {
            monday: day.clone(),
            tuesday: day.clone(),
            wednesday: day.clone(),
            thursday: day.clone(),
            friday: day.clone(),
            saturday: day.clone(),
            sunday: day,
        })
    }
}

pub(crate) fn member(queue_id: &str, username: &str, skill: u8, priority: u8) -> QueueMember {
    QueueMember {
        queue_id: queue_id.into(),
        username: username.into(),
        skill_level: skill,
        priority,
        locked: false,
    }
}

pub(crate) fn queue(id: &str, priority: u8, members: Vec<QueueMember>) -> QueueRuntime {
    QueueRuntime {
        config: Queue {
            queue_id: id.into(),
            name: format!("Fronta {id}"),
            group: None,
            priority,
            schedule: office_hours(),
            overflow: None,
        },
        members,
        routing: QueueRouting::default(),
    }
}

pub(crate) fn agent(username: &str, presence: Presence, idle_seconds: i64) -> AgentRuntime {
    AgentRuntime {
        username: username.into(),
        device: format!("2{:03}", username.len() * 7 % 1000),
        presence,
        ready_since: (presence == Presence::Ready).then(|| now() - secs(idle_seconds)),
        wrap_up_until: None,
        reserved_for: None,
        logged_out_queues: Default::default(),
    }
}

fn ready(username: &str, idle_seconds: i64) -> AgentRuntime {
    agent(username, Presence::Ready, idle_seconds)
}

fn call(call_id: &str, dialled: &str, caller: &str) -> CallFacts {
    CallFacts {
        call_id: call_id.into(),
        dialled: dialled.into(),
        caller: Some(caller.into()),
        ivr_choices: Vec::new(),
        attributes: BTreeMap::new(),
        entered_at: now() - secs(5),
        client: None,
        last_agent: None,
        recording_allowed: true,
    }
}

fn waiting(call_id: &str, queue_id: &str, priority: u8, entered_secs_ago: i64) -> WaitingCall {
    WaitingCall {
        call_id: call_id.into(),
        queue_id: queue_id.into(),
        priority,
        entered_at: now() - secs(entered_secs_ago),
        queued_at: now() - secs(entered_secs_ago),
        offered_to: None,
        sticky: None,
        caller: None,
    }
}

fn rule(rule_id: &str, when: RuleMatch, entry: Entry) -> EntryRule {
    EntryRule {
        rule_id: rule_id.into(),
        when,
        entry,
        priority_boost: 0,
    }
}

fn to_queue(queue_id: &str) -> Entry {
    Entry::Queue {
        queue_id: queue_id.into(),
    }
}

fn dialled(number: &str) -> RuleMatch {
    RuleMatch {
        dialled: vec![number.into()],
        ..RuleMatch::default()
    }
}

/// Pilot 5000 → queue `kkc`.
fn plan() -> InboundPlan {
    InboundPlan {
        rules: vec![rule("kkc", dialled("5000"), to_queue("kkc"))],
        ..InboundPlan::default()
    }
}

fn snapshot_at(
    at: DateTime<Utc>,
    queues: Vec<QueueRuntime>,
    agents: Vec<AgentRuntime>,
    calls: Vec<WaitingCall>,
) -> RoutingSnapshot {
    RoutingSnapshot::new(at, queues, agents, calls).unwrap()
}

fn snapshot(
    queues: Vec<QueueRuntime>,
    agents: Vec<AgentRuntime>,
    calls: Vec<WaitingCall>,
) -> RoutingSnapshot {
    snapshot_at(now(), queues, agents, calls)
}

fn agent_of(outcome: &RoutingOutcome) -> Option<&str> {
    match &outcome.decision {
        Decision::Agent { username, .. } => Some(username),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Entry rules (IN-1, IN-5)
// ---------------------------------------------------------------------------------------------

#[test]
fn when_rule_matches_dialled_number_should_offer_the_call_to_a_member_of_its_queue() {
    // GIVEN pilot 5000 → kkc, with eva ready
    let snap = snapshot(
        vec![queue("kkc", 5, vec![member("kkc", "eva", 5, 5)])],
        vec![ready("eva", 60)],
        vec![],
    );
    // WHEN a call to 5000 arrives
    let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
    // THEN eva gets it, the rule is in the trail and the call is recorded
    assert_eq!(
        outcome.decision,
        Decision::Agent {
            username: "eva".into(),
            device: snap.agent("eva").unwrap().device.clone(),
            queue_id: "kkc".into(),
            priority: 5,
            reason: AgentReason::BestAgent {
                skill_level: 5,
                member_priority: 5
            },
        }
    );
    assert_eq!(
        outcome.trail,
        vec![Step::Rule {
            rule_id: "kkc".into()
        }]
    );
    assert!(outcome.recording);
}

#[test]
fn when_caller_prefix_or_client_status_matches_an_earlier_rule_should_use_it() {
    // GIVEN VIP clients and callers from Ostrava go to their own queues before the general rule
    let mut plan = plan();
    plan.rules.insert(
        0,
        rule(
            "vip",
            RuleMatch {
                dialled: vec!["5000".into()],
                client_statuses: vec!["VIP".into()],
                ..RuleMatch::default()
            },
            to_queue("vip"),
        ),
    );
    plan.rules.insert(
        1,
        rule(
            "ostrava",
            RuleMatch {
                callers: vec!["+420596*".into()],
                ..RuleMatch::default()
            },
            to_queue("ostrava"),
        ),
    );
    let members = |q: &str| vec![member(q, "eva", 5, 5)];
    let snap = snapshot(
        vec![
            queue("kkc", 5, members("kkc")),
            queue("vip", 5, members("vip")),
            queue("ostrava", 5, members("ostrava")),
        ],
        vec![ready("eva", 1)],
        vec![],
    );
    let queue_of = |outcome: RoutingOutcome| match outcome.decision {
        Decision::Agent { queue_id, .. } => queue_id,
        other => panic!("unexpected {other:?}"),
    };
    // WHEN / THEN
    let mut vip = call("c1", "5000", "+420596111222");
    vip.client = Some(ClientFacts {
        client_id: Some("123".into()),
        status: Some("VIP".into()),
    });
    assert_eq!(queue_of(decide(&vip, &plan, &snap)), "vip");
    assert_eq!(
        queue_of(decide(&call("c2", "5000", "+420596111222"), &plan, &snap)),
        "ostrava"
    );
    assert_eq!(
        queue_of(decide(&call("c3", "5000", "+420602111222"), &plan, &snap)),
        "kkc"
    );
    // An exact pattern does not match a longer number.
    assert!(number_matches("+420596111222", "+420596111222"));
    assert!(!number_matches("+42059611122", "+420596111222"));
}

#[test]
fn when_no_rule_matches_should_use_the_default_entry_or_the_relay_fallback() {
    let snap = snapshot(vec![], vec![], vec![]);
    let unknown = call("c1", "7777", "+420601123456");
    // GIVEN no default entry
    let outcome = decide(&unknown, &plan(), &snap);
    assert_eq!(
        outcome.decision,
        Decision::Fallback {
            reason: FallbackReason::NoMatchingRule
        }
    );
    // GIVEN a default IVR
    let mut with_default = plan();
    with_default.default_entry = Some(Entry::Ivr {
        ivr_id: "hlavni".into(),
        node: None,
    });
    let outcome = decide(&unknown, &with_default, &snap);
    assert_eq!(
        outcome.decision,
        Decision::Ivr {
            ivr_id: "hlavni".into(),
            node: None
        }
    );
    assert_eq!(outcome.trail, vec![Step::DefaultEntry]);
    // GIVEN a rule naming a queue that does not exist
    let outcome = decide(&call("c2", "5000", "+420601123456"), &plan(), &snap);
    assert_eq!(
        outcome.decision,
        Decision::Fallback {
            reason: FallbackReason::UnknownQueue {
                queue_id: "kkc".into()
            }
        }
    );
}

#[test]
fn when_call_comes_back_from_the_ivr_should_route_by_the_menu_choice() {
    // GIVEN 5000 before the IVR → tree "kkc"; choice 1 → queue "pojisteni", 2 → "platby"
    let plan = InboundPlan {
        rules: vec![
            rule(
                "menu-1",
                RuleMatch {
                    dialled: vec!["5000".into()],
                    ivr_choices: Some(vec!["1".into()]),
                    ..RuleMatch::default()
                },
                to_queue("pojisteni"),
            ),
            rule(
                "menu-2",
                RuleMatch {
                    dialled: vec!["5000".into()],
                    ivr_choices: Some(vec!["2".into()]),
                    ..RuleMatch::default()
                },
                to_queue("platby"),
            ),
            rule(
                "ivr",
                RuleMatch {
                    dialled: vec!["5000".into()],
                    ivr_choices: Some(vec![]),
                    ..RuleMatch::default()
                },
                Entry::Ivr {
                    ivr_id: "kkc".into(),
                    node: None,
                },
            ),
        ],
        ..InboundPlan::default()
    };
    let snap = snapshot(
        vec![
            queue("pojisteni", 5, vec![member("pojisteni", "eva", 5, 5)]),
            queue("platby", 5, vec![member("platby", "jan", 5, 5)]),
        ],
        vec![ready("eva", 1), ready("jan", 1)],
        vec![],
    );
    let mut facts = call("c1", "5000", "+420601123456");
    // WHEN the call arrives THEN it goes to the IVR
    assert_eq!(
        decide(&facts, &plan, &snap).decision,
        Decision::Ivr {
            ivr_id: "kkc".into(),
            node: None
        }
    );
    // WHEN the caller chose 2 THEN the payments queue's agent gets it
    facts.ivr_choices = vec!["2".into()];
    assert_eq!(agent_of(&decide(&facts, &plan, &snap)), Some("jan"));
    // WHEN an unknown choice THEN no rule (no default): fallback
    facts.ivr_choices = vec!["9".into()];
    assert!(matches!(
        decide(&facts, &plan, &snap).decision,
        Decision::Fallback { .. }
    ));
}

#[test]
fn when_rule_has_attributes_and_hours_should_match_only_with_them() {
    let mut when = dialled("5000");
    when.attributes.insert("campaign".into(), "ockovani".into());
    when.during = Some(office_hours());
    let facts = {
        let mut facts = call("c1", "5000", "+420601123456");
        facts
            .attributes
            .insert("campaign".into(), "ockovani".into());
        facts
    };
    // Wednesday 10:00: open
    assert!(when.matches(&facts, now()));
    // Saturday: closed
    assert!(!when.matches(&facts, utc("2026-11-28T09:00:00Z")));
    // Other attribute value
    let mut other = facts.clone();
    other.attributes.insert("campaign".into(), "jine".into());
    assert!(!when.matches(&other, now()));
}

// ---------------------------------------------------------------------------------------------
// Agent selection (IN-5, IN-8, IN-18, ADM-7)
// ---------------------------------------------------------------------------------------------

#[test]
fn when_agents_differ_should_prefer_skill_then_member_priority_then_longest_idle() {
    let members = vec![
        member("kkc", "adam", 9, 1),
        member("kkc", "bara", 9, 7),
        member("kkc", "cyril", 9, 7),
        member("kkc", "dana", 3, 10),
    ];
    // GIVEN bara and cyril share the best skill and priority; cyril idles longer
    let agents = vec![
        ready("adam", 900),
        ready("bara", 100),
        ready("cyril", 200),
        ready("dana", 5000),
    ];
    let snap = snapshot(vec![queue("kkc", 5, members.clone())], agents, vec![]);
    let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
    assert_eq!(agent_of(&outcome), Some("cyril"));
    assert!(matches!(
        outcome.decision,
        Decision::Agent {
            reason: AgentReason::BestAgent {
                skill_level: 9,
                member_priority: 7
            },
            ..
        }
    ));
    // GIVEN equal idle time THEN the username decides
    let agents = vec![ready("bara", 100), ready("cyril", 100)];
    let snap = snapshot(vec![queue("kkc", 5, members)], agents, vec![]);
    assert_eq!(
        agent_of(&decide(
            &call("c1", "5000", "+420601123456"),
            &plan(),
            &snap
        )),
        Some("bara")
    );
}

#[test]
fn when_best_agents_are_not_available_should_skip_them() {
    // GIVEN the expert is busy, reserved, in wrap-up or logged off in turn; a non-member is ready
    let members = vec![
        member("kkc", "expert", 10, 10),
        member("kkc", "junior", 1, 1),
    ];
    let cases: Vec<AgentRuntime> = vec![
        agent("expert", Presence::Busy, 0),
        agent("expert", Presence::NotReady, 0),
        agent("expert", Presence::WrapUp, 0),
        agent("expert", Presence::LoggedOff, 0),
        AgentRuntime {
            reserved_for: Some("other-call".into()),
            ..ready("expert", 600)
        },
        AgentRuntime {
            wrap_up_until: Some(now() + secs(1)),
            ..ready("expert", 600)
        },
        // Logged out of this queue at the desk (DESK-3).
        AgentRuntime {
            logged_out_queues: ["kkc".to_owned()].into_iter().collect(),
            ..ready("expert", 600)
        },
    ];
    for expert in cases {
        let snap = snapshot(
            vec![queue("kkc", 5, members.clone())],
            vec![expert.clone(), ready("junior", 1), ready("outsider", 9999)],
            vec![],
        );
        let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
        assert_eq!(agent_of(&outcome), Some("junior"), "{expert:?}");
    }
}

#[test]
fn when_wrap_up_time_of_the_queue_passes_should_make_the_agent_available_again() {
    // GIVEN kkc has 30 s wrap-up and eva's call ended 20 s ago
    let mut kkc = queue("kkc", 5, vec![member("kkc", "eva", 5, 5)]);
    kkc.routing.wrap_up_seconds = 30;
    let ended = now() - secs(20);
    let eva = AgentRuntime {
        wrap_up_until: Some(wrap_up_until(&kkc, ended)),
        ready_since: Some(ended),
        ..ready("eva", 0)
    };
    assert_eq!(eva.wrap_up_until, Some(now() + secs(10)));
    assert_eq!(eva.idle_since(), Some(now() + secs(10)));
    let facts = call("c1", "5000", "+420601123456");
    // WHEN now THEN she is still wrapping up: the call waits
    let snap = snapshot(vec![kkc.clone()], vec![eva.clone()], vec![]);
    assert!(matches!(
        decide(&facts, &plan(), &snap).decision,
        Decision::Queue { position: 1, .. }
    ));
    assert_eq!(pick_call_for_agent("eva", &snap), None);
    // WHEN 10 s later THEN she gets it
    let snap = snapshot_at(now() + secs(10), vec![kkc], vec![eva], vec![]);
    assert_eq!(agent_of(&decide(&facts, &plan(), &snap)), Some("eva"));
}

#[test]
fn when_agent_state_comes_from_the_cti_fold_should_map_to_presence() {
    assert_eq!(Presence::from(AgentState::LoggedOn), Presence::NotReady);
    assert_eq!(
        Presence::from(AgentState::WorkingAfterCall),
        Presence::WrapUp
    );
    assert_eq!(Presence::from(AgentState::Ready), Presence::Ready);
    assert_eq!(Presence::from(AgentState::LoggedOff), Presence::LoggedOff);
    assert_eq!(Presence::from(AgentState::Busy), Presence::Busy);
    assert_eq!(Presence::from(AgentState::NotReady), Presence::NotReady);
}

// ---------------------------------------------------------------------------------------------
// Live statistics (IN-9)
// ---------------------------------------------------------------------------------------------

#[test]
fn when_nobody_is_logged_in_should_follow_the_queue_setting() {
    let facts = call("c1", "5000", "+420601123456");
    let base = {
        let mut kkc = queue("kkc", 5, vec![member("kkc", "eva", 5, 5)]);
        kkc.config.overflow = Some(OverflowTarget::Mobile {
            number: "+420777000111".into(),
        });
        kkc
    };
    let agents = vec![agent("eva", Presence::LoggedOff, 0), ready("outsider", 10)];
    // GIVEN the default: announce "no-agents", then overflow
    let snap = snapshot(vec![base.clone()], agents.clone(), vec![]);
    let outcome = decide(&facts, &plan(), &snap);
    assert_eq!(
        outcome.decision,
        Decision::Announcement {
            announcement_id: DEFAULT_NOBODY_ANNOUNCEMENT.into(),
            then: AnnouncementThen::Overflow {
                target: OverflowTarget::Mobile {
                    number: "+420777000111".into()
                }
            },
        }
    );
    assert!(outcome.trail.contains(&Step::NobodyLoggedIn {
        queue_id: "kkc".into()
    }));
    // GIVEN overflow straight away
    let mut kkc = base.clone();
    kkc.routing.when_nobody_logged_in = NobodyLoggedIn::Overflow;
    let snap = snapshot(vec![kkc], agents.clone(), vec![]);
    assert_eq!(
        decide(&facts, &plan(), &snap).decision,
        Decision::Overflow {
            target: OverflowTarget::Mobile {
                number: "+420777000111".into()
            },
            reason: OverflowReason::NobodyLoggedIn,
        }
    );
    // GIVEN announce then hang up
    let mut kkc = base.clone();
    kkc.routing.when_nobody_logged_in = NobodyLoggedIn::Announce {
        announcement_id: "mimo-provoz".into(),
        then: AfterAnnouncement::HangUp,
    };
    let snap = snapshot(vec![kkc], agents.clone(), vec![]);
    assert_eq!(
        decide(&facts, &plan(), &snap).decision,
        Decision::Announcement {
            announcement_id: "mimo-provoz".into(),
            then: AnnouncementThen::HangUp
        }
    );
    // GIVEN wait
    let mut kkc = base.clone();
    kkc.routing.when_nobody_logged_in = NobodyLoggedIn::Wait;
    let snap = snapshot(vec![kkc], agents, vec![]);
    assert!(matches!(
        decide(&facts, &plan(), &snap).decision,
        Decision::Queue { .. }
    ));
    // GIVEN eva logged on but on a break THEN someone is logged in: the call waits
    let snap = snapshot(
        vec![base],
        vec![agent("eva", Presence::NotReady, 0)],
        vec![],
    );
    assert!(matches!(
        decide(&facts, &plan(), &snap).decision,
        Decision::Queue { .. }
    ));
}

#[test]
fn when_stats_are_asked_should_count_members_and_waiting_calls() {
    let snap = snapshot(
        vec![queue(
            "kkc",
            5,
            vec![
                member("kkc", "eva", 5, 5),
                member("kkc", "jan", 5, 5),
                member("kkc", "petr", 5, 5),
            ],
        )],
        vec![
            ready("eva", 1),
            agent("jan", Presence::Busy, 0),
            agent("petr", Presence::LoggedOff, 0),
        ],
        vec![waiting("w1", "kkc", 5, 30), waiting("w2", "kkc", 5, 90)],
    );
    assert_eq!(
        snap.queue_stats("kkc"),
        Some(QueueStats {
            logged_on: 2,
            available: 1,
            waiting: 2,
            oldest_queued_at: Some(now() - secs(90)),
            open: true,
        })
    );
    assert_eq!(snap.queue_stats("nope"), None);
}

#[test]
fn when_ivr_reads_statistics_should_see_the_snapshots_figures() {
    let snap = snapshot(
        vec![queue(
            "kkc",
            5,
            vec![member("kkc", "eva", 5, 5), member("kkc", "jan", 5, 5)],
        )],
        vec![ready("eva", 1), agent("jan", Presence::Busy, 0)],
        vec![waiting("w1", "kkc", 5, 45)],
    );
    let env = snap.ivr_env(Some("VIP".into()));
    assert_eq!(
        env.stats.get("kkc"),
        Some(&crate::ivr::QueueStats {
            agents_logged_on: 2,
            agents_ready: 1,
            waiting_calls: 1,
            longest_wait_seconds: 45,
        })
    );
    assert!(env.schedules.contains_key("kkc"));
    assert_eq!(env.client_status.as_deref(), Some("VIP"));
}

#[test]
fn when_ivr_transfers_to_a_queue_with_a_priority_should_use_it_plus_the_client_boost() {
    // GIVEN eva busy in kkc (queue priority 5)
    let snap = snapshot(
        vec![queue("kkc", 5, vec![member("kkc", "eva", 5, 5)])],
        vec![agent("eva", Presence::Busy, 0)],
        vec![waiting("w1", "kkc", 8, 60)],
    );
    let mut vip = call("c1", "5000", "+420601123456");
    vip.client = Some(ClientFacts {
        client_id: None,
        status: Some("VIP".into()),
    });
    // WHEN the IVR node says priority 9 THEN 9 + 5 and first in line
    let outcome = decide_queue(&vip, "kkc", Some(9), &vip_plan(), &snap);
    assert!(matches!(
        outcome.decision,
        Decision::Queue {
            priority: 14,
            position: 1,
            ..
        }
    ));
    // WHEN no priority THEN the queue's 5 + 5, still before the waiting call of priority 8
    let outcome = decide_queue(&vip, "kkc", None, &vip_plan(), &snap);
    assert!(matches!(
        outcome.decision,
        Decision::Queue {
            priority: 10,
            position: 1,
            ..
        }
    ));
    // An ordinary caller with the queue's priority waits behind
    let outcome = decide_queue(
        &call("c2", "5000", "+420601999999"),
        "kkc",
        None,
        &vip_plan(),
        &snap,
    );
    assert!(matches!(
        outcome.decision,
        Decision::Queue {
            priority: 5,
            position: 2,
            ..
        }
    ));
    // And the hours still apply
    let closed = snapshot_at(
        utc("2026-11-28T09:00:00Z"),
        vec![queue("kkc", 5, vec![member("kkc", "eva", 5, 5)])],
        vec![ready("eva", 1)],
        vec![],
    );
    assert!(matches!(
        decide_queue(&vip, "kkc", Some(9), &vip_plan(), &closed).decision,
        Decision::Announcement { .. }
    ));
}

#[test]
fn when_queue_is_full_should_overflow() {
    let mut kkc = queue("kkc", 5, vec![member("kkc", "eva", 5, 5)]);
    kkc.routing.max_waiting_calls = Some(2);
    kkc.config.overflow = Some(OverflowTarget::Extension {
        extension: "3999".into(),
    });
    let snap = snapshot(
        vec![kkc],
        vec![agent("eva", Presence::Busy, 0)],
        vec![waiting("w1", "kkc", 5, 30), waiting("w2", "kkc", 5, 20)],
    );
    let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
    assert_eq!(
        outcome.decision,
        Decision::Overflow {
            target: OverflowTarget::Extension {
                extension: "3999".into()
            },
            reason: OverflowReason::QueueFull
        }
    );
}

#[test]
fn when_calls_ring_at_agents_should_not_count_them_as_waiting_for_queue_full() {
    let mut kkc = queue(
        "kkc",
        5,
        vec![member("kkc", "eva", 5, 5), member("kkc", "jan", 5, 5)],
    );
    kkc.routing.max_waiting_calls = Some(1);
    let mut ringing = waiting("w1", "kkc", 5, 30);
    ringing.offered_to = Some("eva".into());
    let mut eva = agent("eva", Presence::Ready, 100);
    eva.reserved_for = Some("w1".into());
    let snap = snapshot(
        vec![kkc],
        vec![eva, agent("jan", Presence::Ready, 50)],
        vec![ringing],
    );
    let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
    assert!(
        matches!(&outcome.decision, Decision::Agent { username, .. } if username == "jan"),
        "{:?}",
        outcome.decision
    );
    assert_eq!(snap.queue_stats("kkc").unwrap().waiting, 0);
}

// ---------------------------------------------------------------------------------------------
// Opening hours and overflow (IN-4, ADM-4)
// ---------------------------------------------------------------------------------------------

fn closed_check(schedule: QueueSchedule, at: &str) -> Decision {
    let mut kkc = queue("kkc", 5, vec![member("kkc", "eva", 5, 5)]);
    kkc.config.schedule = schedule;
    kkc.config.overflow = Some(OverflowTarget::Ivr {
        ivr_id: "mimo-provoz".into(),
    });
    let at = utc(at);
    let mut eva = ready("eva", 0);
    eva.ready_since = Some(at - secs(60));
    let snap = snapshot_at(at, vec![kkc], vec![eva], vec![]);
    let mut facts = call("c1", "5000", "+420601123456");
    facts.entered_at = at;
    decide(&facts, &plan(), &snap).decision
}

fn is_closed(decision: &Decision) -> bool {
    match decision {
        Decision::Overflow { target, reason } => {
            assert_eq!(*reason, OverflowReason::Closed);
            assert_eq!(
                *target,
                OverflowTarget::Ivr {
                    ivr_id: "mimo-provoz".into()
                }
            );
            true
        }
        Decision::Agent { .. } => false,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn when_clocks_change_should_open_at_seven_local_time() {
    // Spring 2027 (Sunday 28 March, CET → CEST): 07:00 CEST = 05:00 UTC.
    assert!(is_closed(&closed_check(
        every_day(),
        "2027-03-28T04:59:59Z"
    )));
    assert!(!is_closed(&closed_check(
        every_day(),
        "2027-03-28T05:00:00Z"
    )));
    // Autumn 2026 (Sunday 25 October, CEST → CET): 07:00 CET = 06:00 UTC.
    assert!(is_closed(&closed_check(
        every_day(),
        "2026-10-25T05:59:59Z"
    )));
    assert!(!is_closed(&closed_check(
        every_day(),
        "2026-10-25T06:00:00Z"
    )));
    // 19:00 CET = 18:00 UTC
    assert!(!is_closed(&closed_check(
        every_day(),
        "2026-10-25T17:59:59Z"
    )));
    assert!(is_closed(&closed_check(
        every_day(),
        "2026-10-25T18:00:00Z"
    )));
}

#[test]
fn when_day_is_christmas_eve_or_easter_monday_2027_should_overflow_as_closed() {
    // Thursday 24 December 2026, 10:00 CET
    assert!(is_closed(&closed_check(
        office_hours(),
        "2026-12-24T09:00:00Z"
    )));
    // Wednesday 23 December is a working day
    assert!(!is_closed(&closed_check(
        office_hours(),
        "2026-12-23T09:00:00Z"
    )));
    // Easter Monday 2027 = 29 March 2027, 09:00 CEST; Good Friday 26 March too
    assert!(is_closed(&closed_check(
        office_hours(),
        "2027-03-29T07:00:00Z"
    )));
    assert!(is_closed(&closed_check(
        office_hours(),
        "2027-03-26T07:00:00Z"
    )));
    assert!(!is_closed(&closed_check(
        office_hours(),
        "2027-03-30T07:00:00Z"
    )));
    // A queue that works on holidays is open on Easter Monday
    let mut working = office_hours();
    working.closed_on_public_holidays = false;
    assert!(!is_closed(&closed_check(working, "2027-03-29T07:00:00Z")));
}

#[test]
fn when_dated_exception_shortens_the_day_should_close_at_its_end() {
    // Thursday 31 December 2026 open only 08:00–12:00 CET
    let mut schedule = office_hours();
    schedule.exceptions = Exceptions(vec![Exception::open(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        vec![iv(8, 0, 12, 0)],
    )]);
    assert!(is_closed(&closed_check(
        schedule.clone(),
        "2026-12-31T06:59:00Z"
    )));
    assert!(!is_closed(&closed_check(
        schedule.clone(),
        "2026-12-31T07:00:00Z"
    )));
    assert!(!is_closed(&closed_check(
        schedule.clone(),
        "2026-12-31T10:59:59Z"
    )));
    assert!(is_closed(&closed_check(
        schedule.clone(),
        "2026-12-31T11:00:00Z"
    )));
    // An exception opening Christmas Eve wins over the holiday
    schedule.exceptions.0.push(Exception::open(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
        vec![iv(8, 0, 12, 0)],
    ));
    assert!(!is_closed(&closed_check(schedule, "2026-12-24T09:00:00Z")));
}

#[test]
fn when_closed_without_overflow_should_play_the_closed_announcement_and_hang_up() {
    let mut kkc = queue("kkc", 5, vec![member("kkc", "eva", 5, 5)]);
    kkc.routing.closed_announcement = Some("kkc-zavreno".into());
    let saturday = utc("2026-11-28T09:00:00Z");
    let snap = snapshot_at(saturday, vec![kkc.clone()], vec![ready("eva", 1)], vec![]);
    let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
    assert_eq!(
        outcome.decision,
        Decision::Announcement {
            announcement_id: "kkc-zavreno".into(),
            then: AnnouncementThen::HangUp
        }
    );
    assert!(outcome.trail.contains(&Step::QueueClosed {
        queue_id: "kkc".into()
    }));
    kkc.routing.closed_announcement = None;
    let snap = snapshot_at(saturday, vec![kkc], vec![], vec![]);
    assert!(matches!(
        decide(&call("c1", "5000", "+420601123456"), &plan(), &snap).decision,
        Decision::Announcement { ref announcement_id, .. } if announcement_id == DEFAULT_CLOSED_ANNOUNCEMENT
    ));
}

#[test]
fn when_closed_queue_overflows_to_an_open_queue_should_follow_it() {
    // GIVEN kkc (office hours) overflows to "nonstop" (always open) on Saturday
    let mut kkc = queue("kkc", 5, vec![member("kkc", "eva", 5, 5)]);
    kkc.config.overflow = Some(OverflowTarget::Queue {
        queue_id: "nonstop".into(),
    });
    let mut nonstop = queue("nonstop", 8, vec![member("nonstop", "noc", 5, 5)]);
    nonstop.config.schedule = always();
    let saturday = utc("2026-11-28T09:00:00Z");
    let mut noc = ready("noc", 0);
    noc.ready_since = Some(saturday - secs(10));
    let snap = snapshot_at(
        saturday,
        vec![kkc.clone(), nonstop.clone()],
        vec![ready("eva", 1), noc],
        vec![],
    );
    let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
    assert!(matches!(
        &outcome.decision,
        Decision::Agent { username, queue_id, .. } if username == "noc" && queue_id == "nonstop"
    ));
    assert_eq!(
        outcome.trail,
        vec![
            Step::Rule {
                rule_id: "kkc".into()
            },
            Step::QueueClosed {
                queue_id: "kkc".into()
            },
            Step::OverflowToQueue {
                from: "kkc".into(),
                to: "nonstop".into()
            },
        ]
    );
    // GIVEN the two queues overflow into each other and both are closed THEN fallback
    nonstop.config.schedule = office_hours();
    nonstop.config.overflow = Some(OverflowTarget::Queue {
        queue_id: "kkc".into(),
    });
    let snap = snapshot_at(saturday, vec![kkc, nonstop], vec![], vec![]);
    assert_eq!(
        decide(&call("c1", "5000", "+420601123456"), &plan(), &snap).decision,
        Decision::Fallback {
            reason: FallbackReason::OverflowLoop {
                queue_id: "kkc".into()
            }
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Priorities and waiting calls
// ---------------------------------------------------------------------------------------------

fn vip_plan() -> InboundPlan {
    InboundPlan {
        client_priority: vec![StatusPriority {
            status: "VIP".into(),
            boost: 5,
        }],
        ..plan()
    }
}

#[test]
fn when_client_is_vip_should_wait_with_boosted_priority_and_be_served_first() {
    // GIVEN two ordinary calls waiting 60 and 30 s, eva busy
    let kkc = queue("kkc", 3, vec![member("kkc", "eva", 5, 5)]);
    let calls = vec![waiting("w1", "kkc", 3, 60), waiting("w2", "kkc", 3, 30)];
    let snap = snapshot(
        vec![kkc.clone()],
        vec![agent("eva", Presence::Busy, 0)],
        calls.clone(),
    );
    // WHEN a VIP calls
    let mut vip = call("vip", "5000", "+420601123456");
    vip.client = Some(ClientFacts {
        client_id: None,
        status: Some("VIP".into()),
    });
    let outcome = decide(&vip, &vip_plan(), &snap);
    // THEN it waits first in line with priority 3 + 5
    assert_eq!(
        outcome.decision,
        Decision::Queue {
            queue_id: "kkc".into(),
            priority: 8,
            position: 1,
            sticky: None
        }
    );
    assert!(outcome.trail.contains(&Step::ClientPriority {
        status: "VIP".into(),
        boost: 5
    }));
    // AND an ordinary call queues behind the two
    let outcome = decide(&call("c9", "5000", "+420601999999"), &vip_plan(), &snap);
    assert!(matches!(
        outcome.decision,
        Decision::Queue {
            priority: 3,
            position: 3,
            ..
        }
    ));
    // WHEN eva becomes free THEN she takes the VIP first
    let mut all = calls;
    all.push(WaitingCall {
        entered_at: vip.entered_at,
        queued_at: now(),
        ..waiting("vip", "kkc", 8, 0)
    });
    let snap = snapshot(vec![kkc], vec![ready("eva", 0)], all);
    assert_eq!(
        pick_call_for_agent("eva", &snap),
        Some(Pick {
            call_id: "vip".into(),
            queue_id: "kkc".into()
        })
    );
}

#[test]
fn when_calls_wait_ahead_should_not_overtake_them_even_with_an_agent_ready() {
    let snap = snapshot(
        vec![queue("kkc", 5, vec![member("kkc", "eva", 5, 5)])],
        vec![ready("eva", 10)],
        vec![waiting("w1", "kkc", 5, 60)],
    );
    let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
    assert!(matches!(
        outcome.decision,
        Decision::Queue { position: 2, .. }
    ));
    assert!(outcome.trail.contains(&Step::CallsAhead {
        queue_id: "kkc".into(),
        count: 1
    }));
    // The waiting call, reviewed, goes to eva.
    assert!(matches!(
        review_waiting_call("w1", &plan(), &snap),
        Some(Review::Offer { ref username, .. }) if username == "eva"
    ));
}

#[test]
fn when_agent_serves_several_queues_should_pick_the_best_call_over_all_of_them() {
    let queues = vec![
        queue("a", 5, vec![member("a", "eva", 5, 1)]),
        queue("b", 5, vec![member("b", "eva", 5, 10)]),
        queue("c", 5, vec![member("c", "jan", 5, 10)]),
    ];
    let calls = vec![
        waiting("a-old", "a", 5, 120),
        waiting("b-new", "b", 5, 10),
        waiting("c-oldest", "c", 9, 900),
        WaitingCall {
            offered_to: Some("jan".into()),
            ..waiting("a-offered", "a", 9, 999)
        },
    ];
    let snap = snapshot(queues, vec![ready("eva", 0), ready("jan", 0)], calls);
    // Not c (not a member), not the one being offered, the older of a/b
    assert_eq!(
        pick_call_for_agent("eva", &snap),
        Some(Pick {
            call_id: "a-old".into(),
            queue_id: "a".into()
        })
    );
    // An agent who is not ready picks nothing; an unknown agent neither
    let mut busy = snap.clone();
    busy.reserve("eva", "x");
    assert_eq!(pick_call_for_agent("eva", &busy), None);
    assert_eq!(pick_call_for_agent("nobody", &snap), None);
}

#[test]
fn when_offer_rings_out_should_requeue_at_the_original_position_and_make_agent_not_ready() {
    let kkc = queue(
        "kkc",
        5,
        vec![member("kkc", "eva", 5, 5), member("kkc", "jan", 5, 5)],
    );
    let first = WaitingCall {
        offered_to: Some("eva".into()),
        ..waiting("w1", "kkc", 5, 120)
    };
    let calls = vec![first.clone(), waiting("w2", "kkc", 5, 60)];
    // WHEN eva does not answer
    let missed = on_missed_offer(&first, "eva");
    // THEN the call is the same but not offered, eva goes not ready with the reason
    assert_eq!(missed.call.entered_at, first.entered_at);
    assert_eq!(missed.call.priority, first.priority);
    assert_eq!(missed.call.offered_to, None);
    assert_eq!(missed.agent_presence, Presence::NotReady);
    assert_eq!(missed.agent_reason_code, MISSED_OFFER_REASON);
    // AND jan, becoming free, takes it before the later call
    let mut after = calls;
    after[0] = missed.call;
    let snap = snapshot(
        vec![kkc],
        vec![agent("eva", Presence::NotReady, 0), ready("jan", 0)],
        after,
    );
    assert_eq!(
        pick_call_for_agent("jan", &snap).map(|p| p.call_id),
        Some("w1".into())
    );
}

#[test]
fn when_a_direct_offer_rings_out_should_queue_the_call_by_its_entry_time() {
    // GIVEN eva is offered a new VIP call directly while an ordinary call waits 10 s
    let kkc = queue(
        "kkc",
        5,
        vec![member("kkc", "eva", 5, 5), member("kkc", "jan", 5, 5)],
    );
    let snap = snapshot(vec![kkc.clone()], vec![ready("eva", 30)], vec![]);
    let mut vip = call("vip", "5000", "+420601123456");
    vip.client = Some(ClientFacts {
        client_id: None,
        status: Some("VIP".into()),
    });
    vip.entered_at = now() - secs(40);
    let outcome = decide(&vip, &vip_plan(), &snap);
    let offered = waiting_call_for(&vip, &outcome.decision, now()).unwrap();
    assert_eq!(offered.offered_to.as_deref(), Some("eva"));
    assert_eq!(offered.priority, 10);
    assert_eq!(offered.entered_at, vip.entered_at);
    // WHEN the offer rings out THEN jan takes the VIP first, then the other call
    let missed = on_missed_offer(&offered, "eva");
    let snap = snapshot(
        vec![kkc],
        vec![agent("eva", missed.agent_presence, 0), ready("jan", 1)],
        vec![waiting("other", "kkc", 5, 10), missed.call],
    );
    assert_eq!(
        pick_call_for_agent("jan", &snap).map(|p| p.call_id),
        Some("vip".into())
    );
    assert_eq!(
        waiting_call_for(
            &vip,
            &Decision::Ivr {
                ivr_id: "x".into(),
                node: None
            },
            now()
        ),
        None
    );
}

#[test]
fn when_maximum_wait_passes_should_overflow_on_review_and_keep_waiting_before() {
    let mut kkc = queue("kkc", 5, vec![member("kkc", "eva", 5, 5)]);
    kkc.routing.max_wait_seconds = Some(120);
    kkc.config.overflow = Some(OverflowTarget::External {
        number: "+420222333444".into(),
    });
    let calls = vec![waiting("w1", "kkc", 5, 119), waiting("w2", "kkc", 5, 121)];
    let snap = snapshot(vec![kkc], vec![agent("eva", Presence::Busy, 0)], calls);
    assert_eq!(
        review_waiting_call("w1", &plan(), &snap),
        Some(Review::Keep {
            next_review_at: Some(now() + secs(1))
        })
    );
    let Some(Review::Leave { outcome }) = review_waiting_call("w2", &plan(), &snap) else {
        panic!("should leave");
    };
    assert_eq!(
        outcome.decision,
        Decision::Overflow {
            target: OverflowTarget::External {
                number: "+420222333444".into()
            },
            reason: OverflowReason::MaxWait
        }
    );
    assert!(outcome.recording);
    assert_eq!(review_waiting_call("nope", &plan(), &snap), None);
}

// ---------------------------------------------------------------------------------------------
// Last agent (IN-17)
// ---------------------------------------------------------------------------------------------

fn sticky_queue(hold_seconds: u32) -> QueueRuntime {
    let mut kkc = queue(
        "kkc",
        5,
        vec![member("kkc", "eva", 1, 1), member("kkc", "jan", 10, 10)],
    );
    kkc.routing.last_agent = Some(LastAgentRouting {
        hold_seconds,
        max_age_hours: 72,
    });
    kkc
}

fn returning_caller(hours_ago: i64) -> CallFacts {
    CallFacts {
        last_agent: Some(LastAgent {
            username: "eva".into(),
            at: now() - TimeDelta::hours(hours_ago),
        }),
        ..call("c1", "5000", "+420601123456")
    }
}

#[test]
fn when_last_agent_is_free_should_get_the_call_over_a_better_agent() {
    let snap = snapshot(
        vec![sticky_queue(20)],
        vec![ready("eva", 1), ready("jan", 500)],
        vec![],
    );
    let outcome = decide(&returning_caller(2), &plan(), &snap);
    assert!(matches!(
        &outcome.decision,
        Decision::Agent { username, reason: AgentReason::LastAgent, .. } if username == "eva"
    ));
    // Too old a conversation: the best agent instead
    assert_eq!(
        agent_of(&decide(&returning_caller(73), &plan(), &snap)),
        Some("jan")
    );
    // Last-agent routing off in the queue: the best agent
    let snap = snapshot(
        vec![queue("kkc", 5, sticky_queue(20).members)],
        vec![ready("eva", 1), ready("jan", 500)],
        vec![],
    );
    assert_eq!(
        agent_of(&decide(&returning_caller(2), &plan(), &snap)),
        Some("jan")
    );
}

#[test]
fn when_last_agent_is_busy_should_hold_the_call_for_them_until_the_timeout_only() {
    // GIVEN eva (last agent) busy, jan ready, hold 20 s
    let snap = snapshot(
        vec![sticky_queue(20)],
        vec![agent("eva", Presence::Busy, 0), ready("jan", 500)],
        vec![],
    );
    let outcome = decide(&returning_caller(2), &plan(), &snap);
    let hold = StickyHold {
        username: "eva".into(),
        until: now() + secs(20),
    };
    assert_eq!(
        outcome.decision,
        Decision::Queue {
            queue_id: "kkc".into(),
            priority: 5,
            position: 1,
            sticky: Some(hold.clone())
        }
    );
    let held = WaitingCall {
        sticky: Some(hold),
        ..waiting("c1", "kkc", 5, 0)
    };
    // WHILE the hold lasts jan may not take it; review keeps it until the hold ends
    let snap = snapshot(
        vec![sticky_queue(20)],
        vec![agent("eva", Presence::Busy, 0), ready("jan", 500)],
        vec![held.clone()],
    );
    assert_eq!(pick_call_for_agent("jan", &snap), None);
    assert_eq!(
        review_waiting_call("c1", &plan(), &snap),
        Some(Review::Keep {
            next_review_at: Some(now() + secs(20))
        })
    );
    // WHEN eva becomes free within the hold THEN she takes it first
    let snap = snapshot_at(
        now() + secs(10),
        vec![sticky_queue(20)],
        vec![ready("eva", 0), ready("jan", 500)],
        vec![waiting("older", "kkc", 9, 600), held.clone()],
    );
    assert_eq!(
        pick_call_for_agent("eva", &snap).map(|p| p.call_id),
        Some("c1".into())
    );
    assert!(matches!(
        review_waiting_call("c1", &plan(), &snap),
        Some(Review::Offer { ref username, reason: AgentReason::LastAgent, .. }) if username == "eva"
    ));
    // WHEN the hold ended THEN jan takes it
    let later = now() + secs(20);
    let snap = snapshot_at(
        later,
        vec![sticky_queue(20)],
        vec![agent("eva", Presence::Busy, 0), ready("jan", 500)],
        vec![held.clone()],
    );
    assert_eq!(
        pick_call_for_agent("jan", &snap).map(|p| p.call_id),
        Some("c1".into())
    );
    assert!(matches!(
        review_waiting_call("c1", &plan(), &snap),
        Some(Review::Offer { ref username, .. }) if username == "jan"
    ));
    // WHEN eva logged off during the hold THEN jan may take it at once
    let snap = snapshot(
        vec![sticky_queue(20)],
        vec![agent("eva", Presence::LoggedOff, 0), ready("jan", 500)],
        vec![held],
    );
    assert_eq!(
        pick_call_for_agent("jan", &snap).map(|p| p.call_id),
        Some("c1".into())
    );
}

#[test]
fn when_hold_is_zero_or_last_agent_logged_off_should_route_to_any_agent_at_once() {
    let snap = snapshot(
        vec![sticky_queue(0)],
        vec![agent("eva", Presence::Busy, 0), ready("jan", 500)],
        vec![],
    );
    assert_eq!(
        agent_of(&decide(&returning_caller(2), &plan(), &snap)),
        Some("jan")
    );
    let snap = snapshot(
        vec![sticky_queue(20)],
        vec![agent("eva", Presence::LoggedOff, 0), ready("jan", 500)],
        vec![],
    );
    assert_eq!(
        agent_of(&decide(&returning_caller(2), &plan(), &snap)),
        Some("jan")
    );
}

#[test]
fn when_missed_offer_was_to_the_last_agent_should_release_the_hold() {
    let held = WaitingCall {
        sticky: Some(StickyHold {
            username: "eva".into(),
            until: now() + secs(20),
        }),
        offered_to: Some("eva".into()),
        ..waiting("c1", "kkc", 5, 0)
    };
    assert_eq!(on_missed_offer(&held, "eva").call.sticky, None);
    assert!(on_missed_offer(&held, "jan").call.sticky.is_some());
}

// ---------------------------------------------------------------------------------------------
// Recording (IN-7)
// ---------------------------------------------------------------------------------------------

fn recording_plan() -> InboundPlan {
    InboundPlan {
        rules: vec![
            rule(
                "to-branch",
                dialled("5100"),
                Entry::Destination {
                    target: OverflowTarget::External {
                        number: "+420585111222".into(),
                    },
                },
            ),
            rule(
                "to-partner",
                dialled("5200"),
                Entry::Destination {
                    target: OverflowTarget::External {
                        number: "+420222999888".into(),
                    },
                },
            ),
            rule("kkc", dialled("5000"), to_queue("kkc")),
        ],
        recording: RecordingPolicy {
            record: true,
            own_numbers: vec!["+420585*".into()],
            record_own_numbers: false,
        },
        ..InboundPlan::default()
    }
}

#[test]
fn when_routed_to_the_insurers_own_number_should_not_record() {
    let snap = snapshot(
        vec![queue("kkc", 5, vec![member("kkc", "eva", 5, 5)])],
        vec![ready("eva", 1)],
        vec![],
    );
    let plan = recording_plan();
    // External destination inside the insurer: not recorded
    let outcome = decide(&call("c1", "5100", "+420601123456"), &plan, &snap);
    assert_eq!(
        outcome.decision,
        Decision::Overflow {
            target: OverflowTarget::External {
                number: "+420585111222".into()
            },
            reason: OverflowReason::Rule
        }
    );
    assert!(!outcome.recording);
    // External destination outside: recorded
    assert!(decide(&call("c2", "5200", "+420601123456"), &plan, &snap).recording);
    // A caller from the insurer's own numbers: not recorded
    assert!(!decide(&call("c3", "5000", "+420585000001"), &plan, &snap).recording);
    // The plan may record own numbers too, and a call may forbid recording
    let mut record_all = plan.clone();
    record_all.recording.record_own_numbers = true;
    assert!(decide(&call("c4", "5100", "+420601123456"), &record_all, &snap).recording);
    let mut private = call("c5", "5000", "+420601123456");
    private.recording_allowed = false;
    assert!(!decide(&private, &plan, &snap).recording);
}

// ---------------------------------------------------------------------------------------------
// Snapshot and wire format
// ---------------------------------------------------------------------------------------------

#[test]
fn when_snapshot_has_duplicates_should_fail() {
    let q = || queue("kkc", 5, vec![]);
    assert_eq!(
        RoutingSnapshot::new(now(), vec![q(), q()], vec![], vec![]).err(),
        Some(SnapshotError::DuplicateQueue("kkc".into()))
    );
    assert_eq!(
        RoutingSnapshot::new(
            now(),
            vec![],
            vec![ready("eva", 1), ready("eva", 2)],
            vec![]
        )
        .err(),
        Some(SnapshotError::DuplicateAgent("eva".into()))
    );
    assert_eq!(
        RoutingSnapshot::new(
            now(),
            vec![q()],
            vec![],
            vec![waiting("w", "kkc", 1, 1), waiting("w", "kkc", 1, 2)]
        )
        .err(),
        Some(SnapshotError::DuplicateCall("w".into()))
    );
}

#[test]
fn when_outcome_is_serialised_should_use_kind_tags_and_camel_case() {
    let outcome = RoutingOutcome {
        decision: Decision::Queue {
            queue_id: "kkc".into(),
            priority: 8,
            position: 2,
            sticky: None,
        },
        recording: true,
        trail: vec![Step::ClientPriority {
            status: "VIP".into(),
            boost: 5,
        }],
    };
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "decision": {"kind": "queue", "queueId": "kkc", "priority": 8, "position": 2},
            "recording": true,
            "trail": [{"step": "clientPriority", "status": "VIP", "boost": 5}]
        })
    );
    let back: RoutingOutcome = serde_json::from_value(json).unwrap();
    assert_eq!(back, outcome);
    let plan: InboundPlan = serde_json::from_value(serde_json::json!({
        "rules": [{"ruleId": "vip", "when": {"dialled": ["5000"], "clientStatuses": ["VIP"]},
                   "entry": {"kind": "queue", "queueId": "vip"}, "priorityBoost": 2}],
        "clientPriority": [{"status": "VIP", "boost": 5}],
        "recording": {"ownNumbers": ["+420585*"]}
    }))
    .unwrap();
    assert!(plan.recording.record);
    assert!(plan.is_own_number("+420585123456"));
    let routing: QueueRouting = serde_json::from_value(serde_json::json!({
        "wrapUpSeconds": 30,
        "whenNobodyLoggedIn": {"action": "announce", "announcementId": "x", "then": "overflow"},
        "lastAgent": {"holdSeconds": 20, "maxAgeHours": 48}
    }))
    .unwrap();
    assert_eq!(routing.wrap_up_seconds, 30);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const NAMES: [&str; 8] = ["ada", "bob", "cyd", "dan", "eva", "fil", "gus", "hana"];

fn arb_agent(index: usize) -> impl Strategy<Value = (AgentRuntime, Option<(u8, u8)>)> {
    (
        prop_oneof![
            Just(Presence::LoggedOff),
            Just(Presence::NotReady),
            Just(Presence::Ready),
            Just(Presence::Ready),
            Just(Presence::Busy),
            Just(Presence::WrapUp),
        ],
        proptest::option::of(0_i64..600),
        proptest::option::of(-60_i64..60),
        proptest::bool::weighted(0.15),
        proptest::option::weighted(0.8, (1_u8..=3, 1_u8..=3)),
    )
        .prop_map(move |(presence, idle, wrap, reserved, membership)| {
            let name = NAMES.get(index).copied().unwrap_or("x");
            (
                AgentRuntime {
                    username: name.into(),
                    device: format!("20{index}"),
                    presence,
                    ready_since: idle.map(|s| now() - secs(s)),
                    wrap_up_until: wrap.map(|s| now() + secs(s)),
                    reserved_for: reserved.then(|| "other".into()),
                    logged_out_queues: Default::default(),
                },
                membership,
            )
        })
}

fn arb_team() -> impl Strategy<Value = Vec<(AgentRuntime, Option<(u8, u8)>)>> {
    (1_usize..=NAMES.len()).prop_flat_map(|n| (0..n).map(arb_agent).collect::<Vec<_>>())
}

fn arb_waiting() -> impl Strategy<Value = Vec<WaitingCall>> {
    proptest::collection::vec(
        (
            0_usize..3,
            1_u8..=4,
            0_i64..50,
            proptest::bool::weighted(0.1),
        ),
        0..40,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (q, priority, ago, offered))| WaitingCall {
                offered_to: offered.then(|| "someone".into()),
                ..waiting(&format!("w{i:02}"), ["a", "b", "c"][q], priority, ago)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn when_an_agent_is_chosen_should_be_an_available_member_in_the_best_group_idle_longest(
        team in arb_team()
    ) {
        let members: Vec<QueueMember> = team
            .iter()
            .filter_map(|(a, m)| m.map(|(skill, prio)| member("kkc", &a.username, skill, prio)))
            .collect();
        let agents: Vec<AgentRuntime> = team.iter().map(|(a, _)| a.clone()).collect();
        let mut kkc = queue("kkc", 5, members.clone());
        kkc.routing.when_nobody_logged_in = NobodyLoggedIn::Wait;
        let snap = snapshot(vec![kkc], agents.clone(), vec![]);
        let outcome = decide(&call("c1", "5000", "+420601123456"), &plan(), &snap);
        let eligible: Vec<(&QueueMember, &AgentRuntime)> = members
            .iter()
            .filter_map(|m| agents.iter().find(|a| a.username == m.username).map(|a| (m, a)))
            .filter(|(_, a)| a.presence == Presence::Ready
                && a.reserved_for.is_none()
                && a.wrap_up_until.is_none_or(|t| t <= now()))
            .collect();
        match &outcome.decision {
            Decision::Agent { username, .. } => {
                let (m, a) = eligible
                    .iter()
                    .find(|(_, a)| a.username == *username)
                    .copied()
                    .expect("the chosen agent is an eligible member");
                let key = |m: &QueueMember, a: &AgentRuntime| {
                    (Reverse(m.skill_level), Reverse(m.priority), a.idle_since().unwrap_or(now()), a.username.clone())
                };
                let best = eligible.iter().map(|(m, a)| key(m, a)).min();
                prop_assert_eq!(Some(key(m, a)), best);
            }
            Decision::Queue { .. } => prop_assert!(eligible.is_empty()),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn when_one_agent_serves_all_queues_should_take_calls_by_priority_then_entry(
        calls in arb_waiting()
    ) {
        let queues: Vec<QueueRuntime> = ["a", "b", "c"]
            .iter()
            .map(|q| queue(q, 5, vec![member(q, "eva", 5, 5)]))
            .collect();
        let mut remaining = calls.clone();
        let mut served: Vec<WaitingCall> = Vec::new();
        loop {
            let snap = snapshot(queues.clone(), vec![ready("eva", 1)], remaining.clone());
            let Some(pick) = pick_call_for_agent("eva", &snap) else { break };
            let index = remaining.iter().position(|c| c.call_id == pick.call_id).unwrap();
            let taken = remaining.remove(index);
            prop_assert!(taken.offered_to.is_none(), "never a call being offered");
            prop_assert_eq!(&taken.queue_id, &pick.queue_id);
            served.push(taken);
        }
        // Every call not being offered is served, in rank order (no starvation).
        prop_assert!(remaining.iter().all(|c| c.offered_to.is_some()));
        let mut expected: Vec<WaitingCall> = calls.into_iter().filter(|c| c.offered_to.is_none()).collect();
        expected.sort_by(|a, b| a.rank().cmp(&b.rank()));
        prop_assert_eq!(served, expected);
    }

    #[test]
    fn when_offer_is_missed_should_keep_the_calls_position(
        calls in arb_waiting(),
        choice in any::<proptest::sample::Index>()
    ) {
        prop_assume!(!calls.is_empty());
        let mut calls: Vec<WaitingCall> = calls.into_iter().map(|c| WaitingCall { offered_to: None, ..c }).collect();
        let i = choice.index(calls.len());
        let order_before = |calls: &[WaitingCall]| {
            let mut ids: Vec<&WaitingCall> = calls.iter().filter(|c| c.queue_id == calls[i].queue_id).collect();
            ids.sort_by(|a, b| a.rank().cmp(&b.rank()));
            ids.into_iter().map(|c| c.call_id.clone()).collect::<Vec<_>>()
        };
        let before = order_before(&calls);
        calls[i].offered_to = Some("eva".into());
        let missed = on_missed_offer(&calls[i], "eva");
        calls[i] = missed.call;
        prop_assert_eq!(order_before(&calls), before);
        prop_assert_eq!(missed.agent_presence, Presence::NotReady);
    }

    #[test]
    fn when_a_call_is_held_for_its_last_agent_should_go_to_no_one_else_before_the_hold_ends(
        team in arb_team(),
        hold_left in -30_i64..30,
        holder in 0_usize..8,
    ) {
        let names: Vec<String> = team.iter().map(|(a, _)| a.username.clone()).collect();
        let holder = names.get(holder % names.len()).cloned().unwrap();
        let members = names.iter().map(|n| member("kkc", n, 5, 5)).collect();
        let held = WaitingCall {
            sticky: Some(StickyHold { username: holder.clone(), until: now() + secs(hold_left) }),
            ..waiting("held", "kkc", 5, 60)
        };
        let agents: Vec<AgentRuntime> = team.iter().map(|(a, _)| a.clone()).collect();
        let holder_logged_on = agents.iter().any(|a| a.username == holder && a.is_logged_on());
        let snap = snapshot(vec![queue("kkc", 5, members)], agents.clone(), vec![held]);
        let hold_active = hold_left > 0 && holder_logged_on;
        for a in &agents {
            let picked = pick_call_for_agent(&a.username, &snap).is_some();
            if a.username != holder && hold_active {
                prop_assert!(!picked, "{} took a call held for {}", a.username, holder);
            }
            if picked {
                prop_assert!(a.is_available(now()));
            }
        }
        match review_waiting_call("held", &plan(), &snap) {
            Some(Review::Offer { username, reason, .. }) => {
                if hold_active {
                    prop_assert_eq!(&username, &holder);
                    prop_assert_eq!(reason, AgentReason::LastAgent);
                }
            }
            Some(Review::Keep { .. }) => {}
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn when_snapshot_is_random_should_never_offer_a_call_to_an_unavailable_or_non_member_agent(
        team in arb_team(),
        calls in arb_waiting()
    ) {
        let queues: Vec<QueueRuntime> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(qi, q)| {
                let members = team
                    .iter()
                    .enumerate()
                    .filter(|(ai, (_, m))| m.is_some() && (ai + qi) % 2 == 0)
                    .filter_map(|(_, (a, m))| m.map(|(s, p)| member(q, &a.username, s, p)))
                    .collect();
                queue(q, 5, members)
            })
            .collect();
        let agents: Vec<AgentRuntime> = team.iter().map(|(a, _)| a.clone()).collect();
        let snap = snapshot(queues.clone(), agents.clone(), calls.clone());
        let is_member = |q: &str, u: &str| {
            queues.iter().any(|x| x.id() == q && x.members.iter().any(|m| m.username == u))
        };
        for a in &agents {
            if let Some(pick) = pick_call_for_agent(&a.username, &snap) {
                prop_assert!(a.is_available(now()));
                prop_assert!(is_member(&pick.queue_id, &a.username));
            }
        }
        for c in &calls {
            if let Some(Review::Offer { username, .. }) = review_waiting_call(&c.call_id, &plan(), &snap) {
                let a = agents.iter().find(|a| a.username == username).unwrap();
                prop_assert!(a.is_available(now()));
                prop_assert!(is_member(&c.queue_id, &username));
            }
        }
        for q in ["a", "b", "c"] {
            let p = InboundPlan { rules: vec![rule("r", RuleMatch::default(), to_queue(q))], ..InboundPlan::default() };
            if let Decision::Agent { username, queue_id, .. } = decide(&call("new", "5000", "+420601123456"), &p, &snap).decision {
                let a = agents.iter().find(|a| a.username == username).unwrap();
                prop_assert!(a.is_available(now()));
                prop_assert!(is_member(&queue_id, &username));
            }
        }
    }
}
