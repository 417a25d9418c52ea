use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::queues::QueueSchedule;

const HLAVNI_LINKA: &str = include_str!("../../../localstack/ivr/hlavni-linka.json");

fn sample() -> IvrTree {
    serde_json::from_str(HLAVNI_LINKA).unwrap()
}

fn tree(value: Value) -> IvrTree {
    match value {
        Value::Object(map) => parse_tree(map).unwrap(),
        _ => panic!("not an object"),
    }
}

fn fields(tree: &IvrTree) -> Vec<String> {
    validate_tree(tree).into_iter().map(|e| e.field).collect()
}

/// A small valid tree: a menu with a queue and a hang-up.
fn base() -> Value {
    json!({
        "ivrId": "test",
        "name": "Test",
        "entryNode": "menu",
        "nodes": {
            "menu": {
                "kind": "menu",
                "prompt": {"kind": "tts", "text": "Pro frontu stiskněte 1."},
                "options": {"1": "fronta", "2": "konec"},
                "onExhausted": "konec"
            },
            "fronta": {"kind": "transferToQueue", "queueId": "kkc-obecne"},
            "konec": {"kind": "hangup"}
        }
    })
}

fn weekdays_0730_to_1800() -> QueueSchedule {
    let day = json!([{"start": "07:30", "end": "18:00"}]);
    serde_json::from_value(json!({
        "weekly": {
            "monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day
        }
    }))
    .unwrap()
}

/// Monday 30 November 2026, 09:00 in Prague (CET).
fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap()
}

fn env_at(now: DateTime<Utc>, agents_in_platby: u32) -> IvrEnv {
    let mut env = IvrEnv::at(now);
    for queue in ["kkc-obecne", "kkc-platby", "as-asistence"] {
        env.schedules
            .insert(queue.to_owned(), weekdays_0730_to_1800());
    }
    env.stats.insert(
        "kkc-platby".to_owned(),
        QueueStats {
            agents_logged_on: agents_in_platby,
            agents_ready: agents_in_platby.min(1),
            waiting_calls: 2,
            longest_wait_seconds: 45,
        },
    );
    env
}

/// Feeds inputs one by one, returning every action.
fn run(tree: &IvrTree, env: &IvrEnv, inputs: Vec<IvrInput>) -> (IvrSession, Vec<IvrAction>) {
    let mut session = IvrSession::default();
    let mut actions = Vec::new();
    for input in inputs {
        let (next, action) = step(tree, &session, input, env);
        session = next;
        actions.push(action);
    }
    (session, actions)
}

fn digits(text: &str) -> IvrInput {
    IvrInput::Digits(text.to_owned())
}

fn tts_text(action: &IvrAction) -> &str {
    match action {
        IvrAction::Play {
            prompt: PromptRef::Tts { text, .. },
            ..
        }
        | IvrAction::OfferCallback {
            prompt: PromptRef::Tts { text, .. },
            ..
        } => text,
        other => panic!("not a TTS prompt: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Validator
// ---------------------------------------------------------------------------------------------

#[test]
fn when_tree_is_valid_should_validate_clean() {
    assert_eq!(fields(&tree(base())), Vec::<String>::new());
}

#[test]
fn when_menu_option_points_at_a_missing_node_should_name_the_option() {
    // GIVEN a menu whose key 3 leads nowhere
    let mut body = base();
    body["nodes"]["menu"]["options"]["3"] = json!("nikam");
    // WHEN validated
    // THEN exactly that option is named
    assert_eq!(fields(&tree(body)), ["nodes.menu.options.3"]);
}

#[test]
fn when_entry_node_is_missing_should_name_entry_node() {
    let mut body = base();
    body["entryNode"] = json!("start");
    // Every node is then unreachable too, but the entry is what is wrong: no reachability noise.
    assert_eq!(fields(&tree(body)), ["entryNode"]);
}

#[test]
fn when_a_node_is_unreachable_should_name_it() {
    let mut body = base();
    body["nodes"]["sirotek"] = json!({"kind": "hangup"});
    assert_eq!(fields(&tree(body)), ["nodes.sirotek"]);
}

#[test]
fn when_nodes_loop_without_exit_should_name_each_node_of_the_loop() {
    // GIVEN key 3 leading into two prompts that play each other forever
    let mut body = base();
    body["nodes"]["menu"]["options"]["3"] = json!("a");
    body["nodes"]["a"] =
        json!({"kind": "prompt", "prompt": {"kind": "tts", "text": "A"}, "next": "b"});
    body["nodes"]["b"] =
        json!({"kind": "prompt", "prompt": {"kind": "tts", "text": "B"}, "next": "a"});
    // THEN both are named as a loop without exit
    let errors = validate_tree(&tree(body));
    let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(named, ["nodes.a", "nodes.b"]);
    assert!(
        errors[0].message.contains("loop without exit"),
        "{errors:?}"
    );
}

#[test]
fn when_menu_loops_back_to_itself_but_attempts_lead_out_should_be_accepted() {
    // GIVEN a menu that replays itself on 0 and on invalid keys, via a prompt on timeouts
    let mut body = base();
    body["nodes"]["menu"]["options"]["0"] = json!("menu");
    body["nodes"]["menu"]["onInvalid"] = json!("menu");
    body["nodes"]["menu"]["onTimeout"] = json!("znovu");
    body["nodes"]["znovu"] =
        json!({"kind": "prompt", "prompt": {"kind": "tts", "text": "Znovu."}, "next": "menu"});
    assert_eq!(fields(&tree(body)), Vec::<String>::new());
}

#[test]
fn when_branches_and_attributes_loop_among_themselves_should_name_each() {
    // GIVEN a status branch and an attribute that lead to each other (with a way out for VIPs)
    let mut body = base();
    body["nodes"]["menu"]["options"]["3"] = json!("stav");
    body["nodes"]["stav"] =
        json!({"kind": "branchClientStatus", "statuses": {"vip": "fronta"}, "default": "znacka"});
    body["nodes"]["znacka"] =
        json!({"kind": "setAttribute", "name": "problem", "value": "x", "next": "stav"});
    // THEN the spin is refused even though an exit exists
    assert_eq!(fields(&tree(body)), ["nodes.stav", "nodes.znacka"]);
}

#[test]
fn when_menu_keys_are_not_single_dtmf_keys_should_name_each() {
    let mut body = base();
    body["nodes"]["menu"]["options"]["10"] = json!("fronta");
    body["nodes"]["menu"]["options"]["a"] = json!("fronta");
    body["nodes"]["menu"]["options"]["#"] = json!("fronta");
    assert_eq!(
        fields(&tree(body)),
        ["nodes.menu.options.10", "nodes.menu.options.a"]
    );
}

#[test]
fn when_a_menu_key_or_node_id_appears_twice_should_refuse_to_parse() {
    let duplicate_key = r#"{"ivrId":"t","name":"T","entryNode":"m","nodes":{
        "m":{"kind":"menu","prompt":{"kind":"tts","text":"x"},
             "options":{"1":"k","1":"k"},"onExhausted":"k"},
        "k":{"kind":"hangup"}}}"#;
    let error = serde_json::from_str::<IvrTree>(duplicate_key).unwrap_err();
    assert!(error.to_string().contains("duplicate key `1`"), "{error}");
    let duplicate_node = r#"{"ivrId":"t","name":"T","entryNode":"k","nodes":{
        "k":{"kind":"hangup"},"k":{"kind":"hangup"}}}"#;
    let error = serde_json::from_str::<IvrTree>(duplicate_node).unwrap_err();
    assert!(error.to_string().contains("duplicate key `k`"), "{error}");
}

#[test]
fn when_menu_ranges_are_out_of_bounds_should_name_each_field() {
    let mut body = base();
    body["nodes"]["menu"]["timeoutSeconds"] = json!(0);
    body["nodes"]["menu"]["maxAttempts"] = json!(10);
    body["nodes"]["menu"]["onExhausted"] = json!("menu");
    assert_eq!(
        fields(&tree(body)),
        [
            "nodes.menu.timeoutSeconds",
            "nodes.menu.maxAttempts",
            "nodes.menu.onExhausted"
        ]
    );
}

#[test]
fn when_digit_collection_is_misconfigured_should_name_each_field() {
    // GIVEN an insurance-number collection that cannot take 10 digits, with a bad terminator and
    // attribute name
    let mut body = base();
    body["nodes"]["menu"]["options"]["3"] = json!("cislo");
    body["nodes"]["cislo"] = json!({
        "kind": "collectDigits",
        "prompt": {"kind": "tts", "text": "Zadejte číslo pojištěnce."},
        "minDigits": 9, "maxDigits": 8, "terminator": "1",
        "validation": "insuranceNumber", "attribute": "Cislo",
        "next": "fronta", "onExhausted": "fronta", "timeoutSeconds": 61
    });
    assert_eq!(
        fields(&tree(body)),
        [
            "nodes.cislo.maxDigits",
            "nodes.cislo.maxDigits",
            "nodes.cislo.terminator",
            "nodes.cislo.timeoutSeconds",
            "nodes.cislo.attribute"
        ]
    );
}

#[test]
fn when_prompts_are_empty_or_keys_escape_should_name_the_prompt_field() {
    let mut body = base();
    body["nodes"]["menu"]["prompt"]["text"] = json!("  ");
    body["nodes"]["konec"]["prompt"] = json!({"kind": "audio", "key": "../tajne.wav"});
    body["generalAnnouncement"] =
        json!({"prompt": {"kind": "tts", "text": "Porucha", "voice": "cs CZ"}, "active": true});
    assert_eq!(
        fields(&tree(body)),
        [
            "generalAnnouncement.prompt.voice",
            "nodes.konec.prompt.key",
            "nodes.menu.prompt.text"
        ]
    );
}

#[test]
fn when_ids_are_malformed_should_name_them() {
    let mut body = base();
    body["ivrId"] = json!("Hlavní");
    body["nodes"]["menu"]["options"]["3"] = json!("Spatne_Id");
    body["nodes"]["Spatne_Id"] = json!({"kind": "hangup"});
    assert_eq!(fields(&tree(body)), ["ivrId", "nodes.Spatne_Id"]);
}

#[test]
fn when_tree_has_too_many_nodes_should_name_nodes_only() {
    let mut body = base();
    for n in 0..MAX_NODES {
        body["nodes"][format!("h{n}")] = json!({"kind": "hangup"});
    }
    assert_eq!(fields(&tree(body)), ["nodes"]);
}

#[test]
fn when_transfers_callbacks_and_hours_are_misconfigured_should_name_each_field() {
    let mut body = base();
    let nodes = &mut body["nodes"];
    nodes["menu"]["options"]["3"] = json!("cislo");
    nodes["menu"]["options"]["4"] = json!("hodiny");
    nodes["menu"]["options"]["5"] = json!("zpet");
    nodes["menu"]["options"]["6"] = json!("vzkaz");
    nodes["cislo"] = json!({"kind": "transferToNumber", "number": "601 123 456"});
    nodes["fronta"]["priority"] = json!(11);
    nodes["hodiny"] = json!({
        "kind": "branchHours", "queueId": "kkc-obecne",
        "schedule": {"weekly": {}}, "open": "fronta", "closed": "konec"
    });
    nodes["zpet"] = json!({
        "kind": "callbackOffer", "queueId": "kkc-platby",
        "prompt": {"kind": "tts", "text": "Zpětné volání?"},
        "allowChosenTime": true, "acceptDigit": "11", "declined": "zpet"
    });
    nodes["vzkaz"] = json!({
        "kind": "voicemail", "queueId": "KKC",
        "greeting": {"kind": "tts", "text": "Zanechte vzkaz."}, "maxSeconds": 5
    });
    assert_eq!(
        fields(&tree(body)),
        [
            "nodes.cislo.number",
            "nodes.fronta.priority",
            "nodes.hodiny.queueId",
            "nodes.vzkaz.queueId",
            "nodes.vzkaz.maxSeconds",
            "nodes.zpet.acceptDigit",
            "nodes.zpet.timePrompt",
            "nodes.zpet.declined"
        ]
    );
}

#[test]
fn when_an_inline_schedule_is_broken_should_name_its_path_under_the_node() {
    let mut body = base();
    body["entryNode"] = json!("hodiny");
    body["nodes"]["hodiny"] = json!({
        "kind": "branchHours",
        "schedule": {"weekly": {"monday": [{"start": "10:00", "end": "09:00"}]}},
        "open": "menu", "closed": "konec"
    });
    let named = fields(&tree(body));
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(
        named[0].starts_with("nodes.hodiny.schedule.weekly.monday"),
        "{named:?}"
    );
}

#[test]
fn when_node_kind_is_unknown_or_field_is_extra_should_refuse_to_parse() {
    let mut body = base();
    body["nodes"]["konec"] = json!({"kind": "dance"});
    let Value::Object(map) = body else { panic!() };
    assert!(parse_tree(map).unwrap_err().field.starts_with("nodes"));
    let mut body = base();
    body["nodes"]["konec"]["colour"] = json!("red");
    let Value::Object(map) = body else { panic!() };
    assert!(parse_tree(map).unwrap_err().message.contains("colour"));
}

// ---------------------------------------------------------------------------------------------
// The sample tree (localstack/ivr/hlavni-linka.json)
// ---------------------------------------------------------------------------------------------

#[test]
fn when_sample_tree_is_validated_should_be_clean_and_reference_its_queues() {
    let tree = sample();
    assert_eq!(validate_tree(&tree), vec![]);
    assert_eq!(tree.id(), "hlavni-linka");
    let queues: BTreeSet<String> = tree.references().into_iter().map(|r| r.id).collect();
    assert_eq!(
        queues,
        BTreeSet::from(["as-asistence", "kkc-obecne", "kkc-platby"].map(str::to_owned))
    );
    assert!(tree.references().iter().all(|r| r.collection == "queue"
        && (r.field.ends_with(".queueId") || r.field == "lostCallsQueueId")));
    assert_eq!(tree.lost_calls_queue(), Some("kkc-obecne"));
    // AND it survives a round trip
    let again: IvrTree = serde_json::from_value(serde_json::to_value(&tree).unwrap()).unwrap();
    assert_eq!(again, tree);
}

#[test]
fn when_a_client_calls_in_hours_and_picks_payments_should_reach_the_payments_queue() {
    // GIVEN Monday 09:00, three agents logged on to payments, two calls waiting
    let tree = sample();
    let env = env_at(monday_morning(), 3);
    // WHEN the caller listens, types a valid insurance number and presses 1
    let (session, actions) = run(
        &tree,
        &env,
        vec![
            IvrInput::Start,
            IvrInput::PromptFinished,
            digits("7801011230#"),
            digits("1"),
            IvrInput::PromptFinished,
            digits("5"),
        ],
    );
    // THEN greeting, number, menu, position, transfer with the attributes; then nothing
    assert!(tts_text(&actions[0]).starts_with("Dobrý den, dovolali jste se na klientskou linku"));
    assert_eq!(
        actions[1],
        IvrAction::Play {
            prompt: PromptRef::tts(
                "Zadejte prosím své číslo pojištěnce bez lomítka a potvrďte křížkem. Pokud ho nemáte po ruce, vyčkejte."
            ),
            collect: Some(Collect {
                min_digits: 9,
                max_digits: 10,
                timeout_seconds: 10,
                terminator: Some('#')
            })
        }
    );
    assert!(tts_text(&actions[2]).starts_with("Pro platby pojistného stiskněte jedničku"));
    assert_eq!(
        actions[3],
        IvrAction::AnnouncePosition {
            queue_id: "kkc-platby".into(),
            position: Some(3)
        }
    );
    let attributes = BTreeMap::from([
        ("insuranceNumber".to_owned(), "7801011230".to_owned()),
        ("problem".to_owned(), "platby".to_owned()),
    ]);
    assert_eq!(
        actions[4],
        IvrAction::Transfer {
            target: TransferTarget::Queue {
                queue_id: "kkc-platby".into(),
                priority: None
            },
            attributes
        }
    );
    assert_eq!(actions[5], IvrAction::Wait);
    assert_eq!(session.phase, Phase::Finished);
}

#[test]
fn when_a_client_calls_outside_hours_should_hear_the_hours_and_reach_voicemail() {
    // GIVEN Saturday noon
    let saturday = Utc.with_ymd_and_hms(2026, 12, 5, 11, 0, 0).unwrap();
    let (_, actions) = run(
        &sample(),
        &env_at(saturday, 3),
        vec![
            IvrInput::Start,
            IvrInput::PromptFinished,
            IvrInput::PromptFinished,
        ],
    );
    assert!(tts_text(&actions[1]).starts_with("Voláte mimo provozní dobu"));
    assert!(matches!(
        &actions[2],
        IvrAction::Voicemail { queue_id, max_seconds: 120, .. } if queue_id == "kkc-obecne"
    ));
}

#[test]
fn when_insurance_number_is_invalid_three_times_should_go_on_to_the_menu_without_it() {
    let tree = sample();
    let env = env_at(monday_morning(), 3);
    let (session, actions) = run(
        &tree,
        &env,
        vec![
            IvrInput::Start,
            IvrInput::PromptFinished,
            digits("7801011231#"), // wrong check digit
            IvrInput::PromptFinished,
            digits("12#"), // too short
            IvrInput::PromptFinished,
            IvrInput::Timeout, // silence counts as the third try
        ],
    );
    assert_eq!(
        tts_text(&actions[2]),
        "Zadané číslo pojištěnce není platné."
    );
    assert!(tts_text(&actions[3]).starts_with("Zadejte prosím své číslo pojištěnce"));
    assert_eq!(
        tts_text(&actions[4]),
        "Zadané číslo pojištěnce není platné."
    );
    assert!(tts_text(&actions[6]).starts_with("Pro platby pojistného"));
    assert!(!session.attributes.contains_key("insuranceNumber"));
    // AND the exhausted node's count is kept (re-entering it would exhaust at once)
    assert_eq!(session.attempts.get("cislo-pojistence"), Some(&3));
}

#[test]
fn when_menu_times_out_then_gets_an_invalid_key_then_is_exhausted_should_go_to_the_operator() {
    // GIVEN a VIP client at the main menu
    let tree = sample();
    let mut env = env_at(monday_morning(), 3);
    env.client_status = Some("vip".into()); // the tree says `VIP`: case does not matter
    let (session, actions) = run(
        &tree,
        &env,
        vec![
            IvrInput::Start,
            IvrInput::PromptFinished,
            digits("8552151234#"),
            IvrInput::PromptFinished, // a stray report while the menu collects: ignored
            IvrInput::Timeout,
            IvrInput::PromptFinished,
            digits("7"),
            IvrInput::PromptFinished,
            IvrInput::Timeout,
        ],
    );
    assert_eq!(actions[3], IvrAction::Wait);
    assert_eq!(tts_text(&actions[4]), "Nezadali jste žádnou volbu.");
    assert!(tts_text(&actions[5]).starts_with("Pro platby pojistného"));
    assert_eq!(tts_text(&actions[6]), "Tato volba neexistuje.");
    assert!(tts_text(&actions[7]).starts_with("Pro platby pojistného"));
    // THEN the third failure leads out: operator topic, VIP priority
    assert_eq!(
        actions[8],
        IvrAction::Transfer {
            target: TransferTarget::Queue {
                queue_id: "kkc-obecne".into(),
                priority: Some(9)
            },
            attributes: BTreeMap::from([
                ("insuranceNumber".to_owned(), "8552151234".to_owned()),
                ("problem".to_owned(), "obecny-dotaz".to_owned()),
            ])
        }
    );
    assert_eq!(session.phase, Phase::Finished);
}

#[test]
fn when_client_statuses_repeat_ignoring_case_or_are_malformed_should_name_them() {
    let mut body = base();
    body["nodes"]["menu"]["options"]["3"] = json!("stav");
    body["nodes"]["stav"] = json!({
        "kind": "branchClientStatus",
        "statuses": {"VIP": "fronta", "vip": "konec", "a b": "fronta"},
        "default": "fronta"
    });
    assert_eq!(
        fields(&tree(body)),
        ["nodes.stav.statuses.a b", "nodes.stav.statuses.vip"]
    );
}

#[test]
fn when_started_at_a_node_should_play_the_announcement_then_that_node_and_record_choices() {
    // GIVEN a routing decision that enters the tree at the main menu, announcement active
    let mut tree = sample();
    if let Some(announcement) = &mut tree.general_announcement {
        announcement.active = true;
    }
    let env = env_at(monday_morning(), 3);
    let (session, action) = start_at(&tree, "hlavni-menu", &env);
    assert!(tts_text(&action).starts_with("Vážení klienti"));
    let (session, action) = step(&tree, &session, IvrInput::PromptFinished, &env);
    assert!(tts_text(&action).starts_with("Pro platby pojistného"));
    // WHEN the caller presses 2
    let (session, action) = step(&tree, &session, digits("2"), &env);
    // THEN the menu path is recorded for routing and the call is queued
    assert_eq!(session.choices, ["2"]);
    assert!(action.is_terminal());
    // AND an unknown start node ends the call as broken
    let (_, action) = start_at(&tree, "neni", &env);
    assert!(matches!(
        action,
        IvrAction::Hangup {
            reason: HangupReason::BrokenTree,
            ..
        }
    ));
}

#[test]
fn when_a_valid_key_follows_failures_should_reset_the_attempts() {
    let tree = sample();
    let env = env_at(monday_morning(), 3);
    let (session, actions) = run(
        &tree,
        &env,
        vec![
            IvrInput::Start,
            IvrInput::PromptFinished,
            IvrInput::Timeout,
            IvrInput::PromptFinished,
            IvrInput::Timeout,
            IvrInput::PromptFinished,
            IvrInput::Timeout, // number exhausted → menu
            digits("3"),
        ],
    );
    assert!(matches!(
        actions.last(),
        Some(IvrAction::Transfer { target: TransferTarget::Queue { queue_id, priority: Some(7) }, .. })
            if queue_id == "as-asistence"
    ));
    assert!(!session.attempts.contains_key("hlavni-menu"));
}

#[test]
fn when_nobody_is_logged_on_should_offer_a_callback_at_a_chosen_time() {
    // GIVEN nobody logged on to payments
    let tree = sample();
    let env = env_at(monday_morning(), 0);
    let (_, actions) = run(
        &tree,
        &env,
        vec![
            IvrInput::Start,
            IvrInput::PromptFinished,
            digits("7801011230#"),
            digits("1"),
            digits("1"),
            digits("0700#"), // already past
            digits("1430#"),
            IvrInput::PromptFinished,
        ],
    );
    // THEN the offer, the time prompt twice, the booking for 14:30 Prague, and the thanks
    assert!(
        matches!(&actions[3], IvrAction::OfferCallback { queue_id, collect, .. }
        if queue_id == "kkc-platby" && collect.max_digits == 1)
    );
    assert!(tts_text(&actions[4]).starts_with("Zadejte čas"));
    assert!(tts_text(&actions[5]).starts_with("Zadejte čas"));
    assert_eq!(
        actions[6],
        IvrAction::BookCallback {
            queue_id: "kkc-platby".into(),
            preferred_at: Some(Utc.with_ymd_and_hms(2026, 11, 30, 13, 30, 0).unwrap()),
            attributes: BTreeMap::from([
                ("insuranceNumber".to_owned(), "7801011230".to_owned()),
                ("problem".to_owned(), "platby".to_owned()),
            ])
        }
    );
    assert_eq!(
        actions[7],
        IvrAction::Hangup {
            prompt: Some(PromptRef::tts("Děkujeme, ozveme se vám. Na shledanou.")),
            reason: HangupReason::Tree
        }
    );
}

#[test]
fn when_callback_is_declined_or_time_entry_is_exhausted_should_queue_or_book_without_time() {
    let tree = sample();
    let env = env_at(monday_morning(), 0);
    let prefix = vec![
        IvrInput::Start,
        IvrInput::PromptFinished,
        digits("7801011230#"),
        digits("1"),
    ];
    // Silence at the offer declines it: the caller is queued anyway.
    let (_, actions) = run(
        &tree,
        &env,
        [prefix.clone(), vec![IvrInput::Timeout]].concat(),
    );
    assert!(matches!(actions.last(), Some(IvrAction::Transfer { .. })));
    // Two bad times (maxAttempts 2, and 19:00 is after closing): booked without a time.
    let (_, actions) = run(
        &tree,
        &env,
        [prefix, vec![digits("1"), digits("2599#"), digits("1900#")]].concat(),
    );
    assert!(matches!(
        actions.last(),
        Some(IvrAction::BookCallback {
            preferred_at: None,
            ..
        })
    ));
}

#[test]
fn when_general_announcement_is_active_should_play_it_first() {
    // GIVEN the general-problem announcement switched on
    let mut tree = sample();
    if let Some(announcement) = &mut tree.general_announcement {
        announcement.active = true;
    }
    let env = env_at(monday_morning(), 3);
    let (_, actions) = run(&tree, &env, vec![IvrInput::Start, IvrInput::PromptFinished]);
    // THEN it plays before the greeting
    assert!(tts_text(&actions[0]).starts_with("Vážení klienti, z důvodu technické poruchy"));
    assert!(tts_text(&actions[1]).starts_with("Dobrý den"));
    // AND when inactive (as shipped) the greeting comes first
    let (_, actions) = run(&sample(), &env, vec![IvrInput::Start]);
    assert!(tts_text(&actions[0]).starts_with("Dobrý den"));
}

#[test]
fn when_a_caller_keeps_choosing_a_self_loop_should_end_at_the_step_limit() {
    // GIVEN a menu whose key 0 replays it
    let mut body = base();
    body["nodes"]["menu"]["options"]["0"] = json!("menu");
    let tree = tree(body);
    let env = IvrEnv::at(monday_morning());
    let mut session = IvrSession::default();
    let (next, _) = step(&tree, &session, IvrInput::Start, &env);
    session = next;
    // WHEN the caller presses 0 forever
    let mut calls = 1;
    let action = loop {
        let (next, action) = step(&tree, &session, digits("0"), &env);
        session = next;
        calls += 1;
        if action.is_terminal() {
            break action;
        }
        assert!(calls <= MAX_STEPS, "no end in sight");
    };
    // THEN the call ends safely
    assert_eq!(
        action,
        IvrAction::Hangup {
            prompt: None,
            reason: HangupReason::StepLimit
        }
    );
}

#[test]
fn when_session_points_at_a_missing_node_should_hang_up_as_broken() {
    let tree = tree(base());
    let session = IvrSession {
        phase: Phase::MenuChoice,
        current: Some("smazany".into()),
        ..IvrSession::default()
    };
    let (session, action) = step(&tree, &session, digits("1"), &IvrEnv::at(monday_morning()));
    assert_eq!(
        action,
        IvrAction::Hangup {
            prompt: None,
            reason: HangupReason::BrokenTree
        }
    );
    assert_eq!(session.phase, Phase::Finished);
}

#[test]
fn when_inputs_actions_and_sessions_are_serialized_should_use_camel_case_json() {
    assert_eq!(
        serde_json::to_value(digits("12#")).unwrap(),
        json!({"kind": "digits", "digits": "12#"})
    );
    assert_eq!(
        serde_json::from_value::<IvrInput>(json!({"kind": "promptFinished"})).unwrap(),
        IvrInput::PromptFinished
    );
    let action = IvrAction::Transfer {
        target: TransferTarget::Queue {
            queue_id: "kkc-obecne".into(),
            priority: Some(9),
        },
        attributes: BTreeMap::from([("problem".to_owned(), "platby".to_owned())]),
    };
    assert_eq!(
        serde_json::to_value(&action).unwrap(),
        json!({
            "kind": "transfer",
            "target": {"kind": "queue", "queueId": "kkc-obecne", "priority": 9},
            "attributes": {"problem": "platby"}
        })
    );
    let (session, _) = step(
        &sample(),
        &IvrSession::default(),
        IvrInput::Start,
        &IvrEnv::at(monday_morning()),
    );
    let json = serde_json::to_value(&session).unwrap();
    assert_eq!(json["phase"], "playing");
    assert_eq!(json["current"], "uvitani");
    assert_eq!(serde_json::from_value::<IvrSession>(json).unwrap(), session);
}

// ---------------------------------------------------------------------------------------------
// Generated trees
// ---------------------------------------------------------------------------------------------

/// SplitMix64: a tiny deterministic generator, so a seed names a tree.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const QUEUES: [&str; 3] = ["kkc-obecne", "kkc-platby", "as-asistence"];
const STATUSES: [&str; 3] = ["vip", "dluznik", "novy"];

/// Builds trees that are valid by construction:
/// - every node but the entry is created as the child of a node that refers to it (reachable);
/// - every non-terminal node has at least one edge to a newly created child, and leaves are
///   exits, so every node reaches an exit;
/// - only input-driven edges (menu keys, timeouts, invalid input, accepted callbacks) may point
///   back at ancestors or other existing nodes, so every loop waits for the caller.
struct Generator {
    rng: Rng,
    nodes: BTreeMap<String, Node>,
    created: usize,
    budget: usize,
}

impl Generator {
    fn tree(seed: u64) -> IvrTree {
        let mut generator = Generator {
            rng: Rng(seed),
            nodes: BTreeMap::new(),
            created: 0,
            // With at most 7 new children per node this stays ≤ 8 × 24 ≤ MAX_NODES.
            budget: 4 + (seed % 21) as usize,
        };
        let entry = generator.node(&[], 0);
        let general_announcement = generator.rng.chance(50).then(|| GeneralAnnouncement {
            prompt: PromptRef::tts(format!("Porucha {seed}")),
            active: generator.rng.chance(50),
        });
        IvrTree {
            ivr_id: format!("strom-{seed}"),
            name: format!("Strom {seed}"),
            active: true,
            entry_node: entry,
            general_announcement,
            lost_calls_queue_id: None,
            nodes: generator.nodes,
        }
    }

    fn prompt(&mut self, id: &str) -> PromptRef {
        if self.rng.chance(30) {
            PromptRef::Audio {
                key: format!("prompts/test/{id}.wav"),
            }
        } else {
            PromptRef::tts(format!("Hláška {id}"))
        }
    }

    /// An edge that may go anywhere already created (or to a new child).
    fn any_target(&mut self, path: &[String], depth: usize, not: Option<&str>) -> String {
        if self.rng.chance(40) {
            let mut candidates: Vec<String> = path.to_vec();
            candidates.extend(self.nodes.keys().cloned());
            candidates.retain(|c| Some(c.as_str()) != not);
            if !candidates.is_empty() {
                return self.rng.pick(&candidates).clone();
            }
        }
        self.node(path, depth + 1)
    }

    fn node(&mut self, ancestors: &[String], depth: usize) -> String {
        let id = format!("n{}", self.created);
        self.created += 1;
        let path: Vec<String> = ancestors.iter().cloned().chain([id.clone()]).collect();
        let leaf = self.created > self.budget || depth > 7;
        let kind = if leaf {
            9 + self.rng.below(4)
        } else if depth == 0 {
            // The entry is never an exit: a one-node tree says little.
            self.rng.below(9)
        } else {
            self.rng.below(13)
        };
        let queue = self.rng.pick(&QUEUES).to_string();
        let prompt = self.prompt(&id);
        let next_depth = depth + 1;
        let node = match kind {
            0 => Node::Prompt {
                prompt,
                next: self.node(&path, next_depth),
            },
            1 => {
                let count = 1 + self.rng.below(4);
                let mut options = BTreeMap::new();
                while options.len() < count {
                    let key = self.rng.pick(&DTMF).to_string();
                    if options.contains_key(&key) {
                        continue;
                    }
                    let target = self.any_target(&path, depth, None);
                    options.insert(key, target);
                }
                let on_timeout = self
                    .rng
                    .chance(50)
                    .then(|| self.any_target(&path, depth, None));
                let on_invalid = self
                    .rng
                    .chance(50)
                    .then(|| self.any_target(&path, depth, None));
                Node::Menu {
                    prompt,
                    options,
                    timeout_seconds: 1 + self.rng.below(60) as u32,
                    max_attempts: 1 + self.rng.below(3) as u32,
                    on_timeout,
                    on_invalid,
                    on_exhausted: self.node(&path, next_depth),
                }
            }
            2 => {
                let validation = *self.rng.pick(&[
                    DigitValidation::None,
                    DigitValidation::Digits,
                    DigitValidation::InsuranceNumber,
                    DigitValidation::BirthNumber,
                    DigitValidation::Phone,
                ]);
                let (min_digits, max_digits) = match validation {
                    DigitValidation::InsuranceNumber | DigitValidation::BirthNumber => (9, 10),
                    DigitValidation::Phone => (9, 14),
                    _ => {
                        let min = 1 + self.rng.below(6) as u32;
                        (min, min + self.rng.below(6) as u32)
                    }
                };
                let on_invalid = self
                    .rng
                    .chance(50)
                    .then(|| self.any_target(&path, depth, None));
                Node::CollectDigits {
                    prompt,
                    min_digits,
                    max_digits,
                    terminator: self.rng.chance(50).then_some('#'),
                    timeout_seconds: 10,
                    validation,
                    attribute: "hodnota".into(),
                    next: self.node(&path, next_depth),
                    on_invalid,
                    max_attempts: 1 + self.rng.below(3) as u32,
                    on_exhausted: self.node(&path, next_depth),
                }
            }
            3 => {
                let own = self.rng.chance(30);
                Node::BranchHours {
                    queue_id: (!own).then(|| queue.clone()),
                    schedule: own.then(weekdays_0730_to_1800),
                    open: self.node(&path, next_depth),
                    closed: self.node(&path, next_depth),
                }
            }
            4 => Node::BranchStatistic {
                queue_id: queue,
                stat: *self.rng.pick(&[
                    QueueStatistic::AgentsLoggedOn,
                    QueueStatistic::AgentsReady,
                    QueueStatistic::WaitingCalls,
                    QueueStatistic::LongestWaitSeconds,
                ]),
                op: *self.rng.pick(&[
                    Comparison::Lt,
                    Comparison::Le,
                    Comparison::Eq,
                    Comparison::Ne,
                    Comparison::Ge,
                    Comparison::Gt,
                ]),
                value: self.rng.below(5) as u32,
                then: self.node(&path, next_depth),
                otherwise: self.node(&path, next_depth),
            },
            5 => {
                let mut statuses = BTreeMap::new();
                let count = 1 + self.rng.below(2);
                for status in STATUSES.iter().take(count) {
                    statuses.insert(status.to_string(), self.node(&path, next_depth));
                }
                Node::BranchClientStatus {
                    statuses,
                    default: self.node(&path, next_depth),
                }
            }
            6 => Node::SetAttribute {
                name: self.rng.pick(&["problem", "campaign"]).to_string(),
                value: format!("hodnota-{id}"),
                next: self.node(&path, next_depth),
            },
            7 => {
                let allow_chosen_time = self.rng.chance(50);
                let accepted = self
                    .rng
                    .chance(50)
                    .then(|| self.any_target(&path, depth, Some(&id)));
                Node::CallbackOffer {
                    queue_id: queue,
                    prompt,
                    accept_digit: "1".into(),
                    allow_chosen_time,
                    time_prompt: allow_chosen_time.then(|| PromptRef::tts("Zadejte čas.")),
                    timeout_seconds: 5,
                    max_attempts: 1 + self.rng.below(3) as u32,
                    accepted,
                    declined: self.node(&path, next_depth),
                }
            }
            8 => Node::AnnouncePosition {
                queue_id: queue,
                next: self.node(&path, next_depth),
            },
            9 => Node::TransferToQueue {
                queue_id: queue,
                priority: self.rng.chance(50).then(|| 1 + self.rng.below(10) as u8),
            },
            10 => Node::TransferToNumber {
                number: self.rng.pick(&["1000", "+420601123456"]).to_string(),
            },
            11 => Node::Voicemail {
                queue_id: queue,
                greeting: prompt,
                max_seconds: 120,
            },
            _ => Node::Hangup {
                prompt: self.rng.chance(50).then_some(prompt),
            },
        };
        self.nodes.insert(id.clone(), node);
        id
    }
}

const DTMF: [char; 12] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];

#[test]
fn when_forty_trees_are_generated_should_be_distinct_and_validate_clean() {
    let mut seen = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for seed in 0..40 {
        let tree = Generator::tree(seed);
        assert_eq!(validate_tree(&tree), vec![], "seed {seed}: {tree:#?}");
        assert!(tree.nodes.len() <= MAX_NODES);
        kinds.extend(tree.nodes.values().map(Node::kind));
        let json = serde_json::to_string(&tree).unwrap();
        // Trees are documents: they survive the trip through JSON.
        assert_eq!(serde_json::from_str::<IvrTree>(&json).unwrap(), tree);
        // Distinct beyond their ids.
        seen.insert(
            json.replace(&format!("strom-{seed}"), "")
                .replace(&format!("Strom {seed}"), ""),
        );
    }
    assert_eq!(seen.len(), 40);
    assert_eq!(kinds.len(), 13, "every node kind is generated: {kinds:?}");
}

fn arb_input() -> impl Strategy<Value = IvrInput> {
    prop_oneof![
        3 => proptest::collection::vec(proptest::sample::select(DTMF.to_vec()), 0..12)
            .prop_map(|keys| IvrInput::Digits(keys.into_iter().collect())),
        1 => proptest::sample::select(vec!["1", "7801011230#", "601123456", "1430#"])
            .prop_map(|text| IvrInput::Digits(text.to_owned())),
        2 => Just(IvrInput::Timeout),
        2 => Just(IvrInput::PromptFinished),
        1 => Just(IvrInput::Start),
    ]
}

fn arb_env() -> impl Strategy<Value = IvrEnv> {
    (
        0i64..(365 * 24 * 3600),
        proptest::option::of(proptest::sample::select(STATUSES.to_vec())),
        proptest::collection::vec((0u32..4, 0u32..4, 0u32..10, 0u32..600), 3),
    )
        .prop_map(|(offset, status, stats)| {
            let mut env = IvrEnv::at(
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::seconds(offset),
            );
            for (queue, (logged_on, ready, waiting, longest)) in QUEUES.iter().zip(stats) {
                env.schedules
                    .insert(queue.to_string(), weekdays_0730_to_1800());
                env.stats.insert(
                    queue.to_string(),
                    QueueStats {
                        agents_logged_on: logged_on,
                        agents_ready: ready.min(logged_on),
                        waiting_calls: waiting,
                        longest_wait_seconds: longest,
                    },
                );
            }
            env.client_status = status.map(str::to_owned);
            env
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn when_a_generated_tree_meets_random_input_should_end_in_a_terminal_action(
        seed in any::<u64>(),
        inputs in proptest::collection::vec(arb_input(), 0..300),
        env in arb_env(),
    ) {
        // GIVEN a valid generated tree
        let tree = Generator::tree(seed);
        prop_assert!(validate_tree(&tree).is_empty());
        // WHEN the caller sends random input (a restart included), then stays silent
        let (mut session, mut action) = step(&tree, &IvrSession::default(), IvrInput::Start, &env);
        let mut feed = inputs.into_iter();
        let mut calls_since_start = 1u32;
        while !action.is_terminal() {
            let input = match action {
                // A booked callback is acknowledged, as the cloud does.
                IvrAction::BookCallback { .. } => IvrInput::PromptFinished,
                _ => feed.next().unwrap_or(IvrInput::Timeout),
            };
            if input == IvrInput::Start {
                calls_since_start = 0;
            }
            let (next, next_action) = step(&tree, &session, input, &env);
            session = next;
            action = next_action;
            calls_since_start += 1;
            // THEN the step limit holds on every call
            prop_assert!(session.steps <= MAX_STEPS + 1);
            prop_assert!(calls_since_start <= MAX_STEPS + 1);
        }
        // THEN it ends in a terminal action, never because the tree is broken
        let is_broken = matches!(action, IvrAction::Hangup { reason: HangupReason::BrokenTree, .. });
        prop_assert!(!is_broken);
        prop_assert_eq!(session.phase, Phase::Finished);
        // AND after the end, anything but a restart is ignored
        let (_, after) = step(&tree, &session, IvrInput::Timeout, &env);
        prop_assert_eq!(after, IvrAction::Wait);
    }

    #[test]
    fn when_a_generated_tree_meets_a_silent_caller_should_leave_through_the_tree(
        seed in any::<u64>(),
        env in arb_env(),
    ) {
        // GIVEN a valid generated tree and a caller who never presses a key
        let tree = Generator::tree(seed);
        let (mut session, mut action) = step(&tree, &IvrSession::default(), IvrInput::Start, &env);
        while !action.is_terminal() {
            let input = match action {
                IvrAction::Play { collect: None, .. }
                | IvrAction::AnnouncePosition { .. }
                | IvrAction::BookCallback { .. } => IvrInput::PromptFinished,
                _ => IvrInput::Timeout,
            };
            let (next, next_action) = step(&tree, &session, input, &env);
            session = next;
            action = next_action;
        }
        // THEN the call ends through the tree, well within the step limit
        prop_assert!(session.steps <= MAX_STEPS + 1);
        let is_limit = matches!(action, IvrAction::Hangup { reason: HangupReason::StepLimit, .. });
        prop_assert!(!is_limit, "steps: {}", session.steps);
        let is_broken = matches!(action, IvrAction::Hangup { reason: HangupReason::BrokenTree, .. });
        prop_assert!(!is_broken);
    }
}

#[test]
fn when_a_tree_leads_to_one_queue_should_call_back_lost_callers_from_it() {
    assert_eq!(tree(base()).lost_calls_queue(), Some("kkc-obecne"));
}

#[test]
fn when_a_tree_leads_to_several_queues_should_use_only_the_queue_set_for_it() {
    let mut value = base();
    value["nodes"]["menu"]["options"]["3"] = json!("platby");
    value["nodes"]["platby"] = json!({"kind": "transferToQueue", "queueId": "kkc-platby"});
    assert_eq!(tree(value.clone()).lost_calls_queue(), None);
    value["lostCallsQueueId"] = json!("kkc-platby");
    let chosen = tree(value);
    assert_eq!(chosen.lost_calls_queue(), Some("kkc-platby"));
    assert!(queue_references(&chosen)
        .iter()
        .any(|(queue, field)| queue == "kkc-platby" && field == "lostCallsQueueId"));
}

#[test]
fn when_the_lost_calls_queue_is_not_an_id_should_name_the_field() {
    let mut value = base();
    value["lostCallsQueueId"] = json!("Fronta KKC!");
    assert_eq!(fields(&tree(value)), ["lostCallsQueueId"]);
}
