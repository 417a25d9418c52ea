use serde_json::json;

use super::*;
use crate::routing::{AfterAnnouncement, LastAgentRouting};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

fn demo_plan() -> Value {
    json!({
        "rules": [
            {"ruleId": "vip", "when": {"clientStatuses": ["VIP"], "dialled": ["5000"]},
             "entry": {"kind": "queue", "queueId": "kkc-obecne"}, "priorityBoost": 0},
            {"ruleId": "kkc", "when": {"dialled": ["5000"]}, "entry": {"kind": "queue", "queueId": "kkc-obecne"}},
            {"ruleId": "ivr", "when": {"dialled": ["4000"]}, "entry": {"kind": "ivr", "ivrId": "hlavni-linka"}}
        ],
        "clientPriority": [{"status": "VIP", "boost": 5}],
        "recording": {"record": true, "ownNumbers": ["+420585*"], "recordOwnNumbers": false}
    })
}

#[test]
fn when_queue_routing_is_parsed_should_take_defaults_and_keep_the_path_id() {
    let settings = parse_queue_routing(
        "kkc-obecne",
        object(json!({
            "wrapUpSeconds": 15,
            "maxWaitSeconds": 600,
            "whenNobodyLoggedIn": {"action": "announce", "announcementId": "no-agents", "then": "overflow"},
            "lastAgent": {"holdSeconds": 20, "maxAgeHours": 72}
        })),
    )
    .unwrap();
    assert_eq!(settings.queue_id, "kkc-obecne");
    assert_eq!(settings.routing.max_waiting_calls, None);
    assert_eq!(
        settings.routing.last_agent,
        Some(LastAgentRouting {
            hold_seconds: 20,
            max_age_hours: 72
        })
    );
    assert!(settings.validate().is_empty(), "{:?}", settings.validate());
    // The stored document is the QueueRouting fields plus queueId, and reads back either way.
    let stored = serde_json::to_value(&settings).unwrap();
    assert_eq!(stored["queueId"], "kkc-obecne");
    assert_eq!(stored["whenNobodyLoggedIn"]["then"], "overflow");
    let routing: QueueRouting = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(routing, settings.routing);
    let back: QueueRoutingSettings = serde_json::from_value(stored).unwrap();
    assert_eq!(back, settings);
    let empty = parse_queue_routing("q", Map::new()).unwrap();
    assert_eq!(empty.routing, QueueRouting::default());
}

#[test]
fn when_queue_routing_is_out_of_range_should_name_each_field() {
    let routing = QueueRouting {
        wrap_up_seconds: 3601,
        max_wrap_up_seconds: Some(3602),
        max_wait_seconds: Some(0),
        max_waiting_calls: Some(10_001),
        when_nobody_logged_in: NobodyLoggedIn::Announce {
            announcement_id: "Bad Id".into(),
            then: AfterAnnouncement::HangUp,
        },
        closed_announcement: Some(String::new()),
        last_agent: Some(LastAgentRouting {
            hold_seconds: 601,
            max_age_hours: 0,
        }),
        callbacks: Some(crate::callbacks::QueueCallbackSettings {
            policy: crate::callbacks::CallbackPolicy {
                max_attempts: 0,
                missed_call_phases: vec![
                    crate::contacts::LostPhase::InIvr,
                    crate::contacts::LostPhase::InIvr,
                ],
                ..Default::default()
            },
            slots: crate::callbacks::SlotOptions {
                slot_minutes: 1,
                ..Default::default()
            },
            per_agent_per_slot: 2,
        }),
    };
    assert_eq!(
        fields(&validate_queue_routing(&routing)),
        [
            "wrapUpSeconds",
            "maxWrapUpSeconds",
            "maxWaitSeconds",
            "maxWaitingCalls",
            "whenNobodyLoggedIn.announcementId",
            "closedAnnouncement",
            "lastAgent.holdSeconds",
            "lastAgent.maxAgeHours",
            "callbacks.policy.maxAttempts",
            "callbacks.slots.slotMinutes",
            "callbacks.policy.missedCallPhases"
        ]
    );
}

#[test]
fn when_queue_routing_body_is_bad_should_name_the_path() {
    let error = parse_queue_routing("q", object(json!({"wrapUpSeconds": -1}))).unwrap_err();
    assert_eq!(fields(&error), ["wrapUpSeconds"]);
    let error = parse_queue_routing(
        "q",
        object(json!({"whenNobodyLoggedIn": {"action": "sing"}})),
    )
    .unwrap_err();
    assert_eq!(fields(&error), ["whenNobodyLoggedIn.action"]);
    let error = parse_queue_routing("q", object(json!({"queueId": "other"}))).unwrap_err();
    assert_eq!(fields(&error), ["queueId"]);
    let error = parse_queue_routing(
        "q",
        object(
            json!({"colour": "red", "lastAgent": {"holdSeconds": 1, "maxAgeHours": 1, "x": null}}),
        ),
    )
    .unwrap_err();
    assert_eq!(fields(&error), ["colour", "lastAgent.x"]);
    // Unset optional fields may be sent as null.
    assert!(parse_queue_routing(
        "q",
        object(json!({"maxWaitSeconds": null, "lastAgent": null}))
    )
    .is_ok());
    let error = parse_queue_routing(
        "q",
        object(json!({"whenNobodyLoggedIn": {"action": "wait", "announcementId": "x"}})),
    )
    .unwrap_err();
    assert_eq!(fields(&error), ["whenNobodyLoggedIn.announcementId"]);
}

#[test]
fn when_demo_plan_is_parsed_should_validate_clean_and_reference_its_queues_and_ivr() {
    let plan: InboundPlan = parse_strict(object(demo_plan())).unwrap();
    assert!(
        validate_plan(&plan).is_empty(),
        "{:?}",
        validate_plan(&plan)
    );
    let references: Vec<(String, String, String)> = plan_references(&plan)
        .into_iter()
        .map(|r| (r.collection, r.id, r.field))
        .collect();
    assert_eq!(
        references,
        [
            (
                "queue".into(),
                "kkc-obecne".into(),
                "rules[0].entry.queueId".into()
            ),
            (
                "queue".into(),
                "kkc-obecne".into(),
                "rules[1].entry.queueId".into()
            ),
            (
                "ivr".into(),
                "hlavni-linka".into(),
                "rules[2].entry.ivrId".into()
            ),
        ]
    );
    assert!(parse_strict::<InboundPlan>(Map::new()).is_ok());
}

#[test]
fn when_plan_is_bad_should_name_each_field() {
    let mut body = demo_plan();
    body["rules"][1]["ruleId"] = json!("vip");
    body["rules"][0]["when"]["callers"] = json!(["+420*585", "+420585*"]);
    body["rules"][0]["when"]["dialled"] = json!(["50 00"]);
    body["rules"][0]["when"]["clientStatuses"] = json!(["V I P"]);
    body["rules"][0]["when"]["ivrChoices"] = json!(["1", "x"]);
    body["rules"][0]["when"]["attributes"] = json!({"Bad": "x"});
    body["rules"][0]["when"]["during"] =
        json!({"weekly": {"monday": [{"start": "18:00", "end": "08:00"}]}});
    body["rules"][0]["priorityBoost"] = json!(101);
    body["rules"][2]["entry"] =
        json!({"kind": "destination", "target": {"kind": "external", "number": "123"}});
    body["clientPriority"] =
        json!([{"status": "VIP", "boost": 200}, {"status": "VIP", "boost": 1}]);
    body["recording"]["ownNumbers"] = json!(["585*123"]);
    let plan: InboundPlan = parse_strict(object(body)).unwrap();
    let errors = validate_plan(&plan);
    assert_eq!(
        fields(&errors),
        [
            "rules[0].when.dialled[0]",
            "rules[0].when.callers[0]",
            "rules[0].when.clientStatuses[0]",
            "rules[0].when.ivrChoices[1]",
            "rules[0].when.attributes.Bad",
            "rules[0].when.during.weekly.monday[0].end",
            "rules[0].priorityBoost",
            "rules[1].ruleId",
            "rules[2].entry.target.number",
            "clientPriority[0].boost",
            "clientPriority[1].status",
            "recording.ownNumbers[0]",
        ]
    );
}

#[test]
fn when_plan_body_has_unknown_or_mistyped_fields_should_name_the_path() {
    let mut body = demo_plan();
    body["rules"][1]["when"]["weekday"] = json!("monday");
    let error = parse_strict::<InboundPlan>(object(body)).unwrap_err();
    assert_eq!(fields(&error), ["rules[1].when.weekday"]);
    let mut body = demo_plan();
    body["rules"][1]["entry"] = json!({"kind": "queue"});
    let error = parse_strict::<InboundPlan>(object(body)).unwrap_err();
    assert_eq!(fields(&error), ["rules[1].entry"]);
    let mut body = demo_plan();
    body["rules"][0]["priorityBoost"] = json!(300);
    let error = parse_strict::<InboundPlan>(object(body)).unwrap_err();
    assert_eq!(fields(&error), ["rules[0].priorityBoost"]);
}

#[test]
fn when_number_patterns_are_checked_should_follow_their_grammar() {
    for good in ["5000", "+420585123456", "+420585*", "1*"] {
        assert!(is_valid_number_pattern(good), "{good}");
    }
    for bad in ["", "+", "*", "+*", "12*3", "++1", "1**", &"1".repeat(21)] {
        assert!(!is_valid_number_pattern(bad), "{bad}");
    }
    assert!(is_valid_dialled("+4205"));
    assert!(!is_valid_dialled("50 00"));
    assert!(is_valid_device("*77#"));
    assert!(!is_valid_device("6900a"));
}

#[test]
fn when_devices_are_checked_should_name_bad_ids_and_devices_and_reference_queues_and_ivrs() {
    let devices: RoutingDevices = parse_strict(object(json!({
        "queues": {"kkc-obecne": "5100", "Bad": "5101", "as-asistence": "51 02"},
        "ivrs": {"hlavni-linka": "6001"},
        "announcements": {"closed": "6901"},
        "defaultAnnouncement": "x"
    })))
    .unwrap();
    assert_eq!(
        fields(&devices.validate()),
        ["queues.Bad", "queues.as-asistence", "defaultAnnouncement"]
    );
    let references: Vec<String> = devices.references().into_iter().map(|r| r.field).collect();
    assert_eq!(
        references,
        [
            "queues.Bad",
            "queues.as-asistence",
            "queues.kkc-obecne",
            "ivrs.hlavni-linka"
        ]
    );
    assert_eq!(devices.announcement("closed"), Some("6901"));
    assert_eq!(devices.announcement("no-agents"), Some("x"));
    let error = parse_strict::<RoutingDevices>(object(json!({"pilots": {}}))).unwrap_err();
    assert_eq!(fields(&error), ["pilots"]);
    assert_eq!(
        serde_json::to_value(RoutingDevices::default()).unwrap(),
        json!({"queues": {}, "ivrs": {}, "announcements": {}})
    );
}

#[test]
fn when_the_wrap_up_limit_is_below_the_wrap_up_should_refuse_it() {
    let routing = QueueRouting {
        wrap_up_seconds: 60,
        max_wrap_up_seconds: Some(30),
        ..QueueRouting::default()
    };
    assert_eq!(
        fields(&validate_queue_routing(&routing)),
        ["maxWrapUpSeconds"]
    );
    let fine = QueueRouting {
        max_wrap_up_seconds: Some(300),
        ..routing
    };
    assert!(validate_queue_routing(&fine).is_empty());
}
