//! Behaviour of `GET /api/desk/stats` on the in-memory adapters.

use chrono::TimeDelta;
use lambda_http::http::StatusCode;
use linka_shared::{
    adapters::{
        memory::{InMemoryAuditLog, InMemoryUserDirectory},
        InMemoryRoutingStateStore, InMemoryStatsStore,
    },
    stats::{hour_key, Counter, CounterIncrement},
    testing::StaticJwks,
};
use serde_json::{json, Value};

use super::*;
use crate::test_support::{desk, request, token, RecordedSignals};

/// Adds `counts` to `scope` in the hour `hours_ago` before now.
fn add(stats: &InMemoryStatsStore, scope: &str, hours_ago: i64, counts: &[(Counter, u64)]) {
    let hour = hour_key(Utc::now() - TimeDelta::hours(hours_ago));
    let increments: Vec<CounterIncrement> = counts
        .iter()
        .map(|(field, amount)| CounterIncrement {
            scope: scope.to_owned(),
            hour: hour.clone(),
            field: *field,
            amount: *amount,
        })
        .collect();
    stats.add(&increments);
}

fn seeded() -> InMemoryStatsStore {
    use Counter::*;
    let stats = InMemoryStatsStore::new();
    // 2 hours ago
    add(
        &stats,
        "all",
        2,
        &[
            (Offered, 10),
            (Answered, 8),
            (AnsweredInSl, 6),
            (Abandoned, 2),
            (TalkMs, 480_000),
        ],
    );
    add(
        &stats,
        "queue#5100",
        2,
        &[(Offered, 4), (Answered, 3), (AnsweredInSl, 3)],
    );
    add(
        &stats,
        "queue#5200",
        2,
        &[(Offered, 2), (Answered, 2), (AnsweredInSl, 1)],
    );
    add(
        &stats,
        "queue#5300",
        2,
        &[(Offered, 4), (Answered, 3), (AnsweredInSl, 2)],
    );
    add(
        &stats,
        "agent#2001",
        2,
        &[(Answered, 3), (AnsweredInSl, 2), (TalkMs, 180_000)],
    );
    // 3 days ago
    add(
        &stats,
        "all",
        72,
        &[(Offered, 10), (Answered, 10), (AnsweredInSl, 10)],
    );
    add(
        &stats,
        "queue#5100",
        72,
        &[(Offered, 2), (Answered, 2), (AnsweredInSl, 2)],
    );
    // 20 days ago, and 40 days ago (beyond every period)
    add(&stats, "all", 480, &[(Offered, 5), (Abandoned, 5)]);
    add(&stats, "all", 960, &[(Offered, 100)]);
    stats
}

async fn call(
    deps: &StatsDeps<
        '_,
        StaticJwks,
        InMemoryRoutingStateStore,
        InMemoryUserDirectory,
        RecordedSignals,
        InMemoryAuditLog,
    >,
    request: Request,
) -> (StatusCode, Value) {
    let response = handle(deps, request).await;
    let status = response.status();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

fn period<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|period| period["period"] == name)
        .unwrap()
}

#[tokio::test]
async fn when_an_agent_reads_the_statistics_should_get_every_period_overall_in_their_queues_and_their_own(
) {
    // GIVEN counters 2 hours, 3 days, 20 and 40 days ago
    let desk = desk().await;
    let deps = StatsDeps {
        desk: &desk,
        stats: Arc::new(seeded()),
    };
    // WHEN agent01 reads the statistics
    let (status, body) = call(
        &deps,
        request(
            "GET",
            "/api/desk/stats",
            Some(&token("agent01", &["agent"])),
        ),
    )
    .await;
    // THEN every period is there, in order, ending now
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["serviceLevelSeconds"], 20);
    let names: Vec<&str> = body["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|period| period["period"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["24h", "7d", "14d", "30d"]);
    let day = period(&body, "24h");
    let from: DateTime<Utc> = serde_json::from_value(day["from"].clone()).unwrap();
    let to: DateTime<Utc> = serde_json::from_value(day["to"].clone()).unwrap();
    assert!(to - from >= TimeDelta::hours(23) && to - from < TimeDelta::hours(24));
    // AND overall: the last 24 h, the week (with 3 days ago) and the month (with 20 days ago)
    assert_eq!(
        day["all"],
        json!({"offered": 10, "answered": 8, "lost": 2, "abandoned": 2, "answeredInSl": 6,
               "serviceLevel": 60.0, "averageTalkSeconds": 60})
    );
    assert_eq!(period(&body, "7d")["all"]["offered"], 20);
    assert_eq!(period(&body, "7d")["all"]["serviceLevel"], 80.0);
    assert_eq!(period(&body, "14d")["all"]["offered"], 20);
    let month = &period(&body, "30d")["all"];
    assert_eq!(month["offered"], 25);
    assert_eq!(month["lost"], 7);
    assert_eq!(month["serviceLevel"], 64.0);
    // AND in agent01's queues (KKC 5100 and AS 5200, not EXT 5300), together and each, by name
    assert_eq!(day["myQueues"]["offered"], 6);
    assert_eq!(day["myQueues"]["answered"], 5);
    assert_eq!(day["myQueues"]["serviceLevel"], 66.7);
    assert_eq!(period(&body, "7d")["myQueues"]["offered"], 8);
    let queues = day["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 2);
    assert_eq!(queues[0]["queueId"], "as");
    assert_eq!(queues[0]["name"], "AS");
    assert_eq!(queues[0]["offered"], 2);
    assert_eq!(queues[0]["serviceLevel"], 50.0);
    assert_eq!(queues[1]["queueId"], "kkc");
    assert_eq!(queues[1]["offered"], 4);
    // AND their own answered calls at 2001
    assert_eq!(
        day["mine"],
        json!({"offered": 0, "answered": 3, "lost": 0, "abandoned": 0, "answeredInSl": 2,
               "serviceLevel": null, "averageTalkSeconds": 60})
    );
}

#[tokio::test]
async fn when_nothing_was_counted_or_the_agent_has_no_phone_should_give_zeros_and_no_service_level()
{
    let desk = desk().await;
    let deps = StatsDeps {
        desk: &desk,
        stats: Arc::new(InMemoryStatsStore::new()),
    };
    let (status, body) = call(
        &deps,
        request(
            "GET",
            "/api/desk/stats",
            Some(&token("agent02", &["agent"])),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for period in body["periods"].as_array().unwrap() {
        for summary in [&period["all"], &period["myQueues"], &period["mine"]] {
            assert_eq!(summary["offered"], 0);
            assert_eq!(summary["serviceLevel"], Value::Null);
            assert_eq!(summary["averageTalkSeconds"], Value::Null);
        }
        assert_eq!(period["queues"].as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn when_the_caller_may_not_work_at_the_desk_or_is_unknown_should_refuse() {
    let desk = desk().await;
    let deps = StatsDeps {
        desk: &desk,
        stats: Arc::new(seeded()),
    };
    let (status, _) = call(&deps, request("GET", "/api/desk/stats", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(
        &deps,
        request(
            "GET",
            "/api/desk/stats",
            Some(&token("agent01", &["callbacks"])),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(
        &deps,
        request("GET", "/api/desk/stats", Some(&token("nobody", &["agent"]))),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["type"].as_str().unwrap().ends_with("no-user-account"),
        "{body}"
    );
}

#[tokio::test]
async fn when_the_route_or_method_is_not_ours_should_say_so() {
    assert!(handles(&Method::GET, "/api/desk/stats"));
    assert!(handles(&Method::GET, "/prod/api/desk/stats/"));
    assert!(handles(&Method::POST, "/api/desk/stats"));
    assert!(!handles(&Method::GET, "/api/desk"));
    assert!(!handles(&Method::GET, "/api/desk/statistics"));
    assert!(!handles(&Method::GET, "/api/desk/stats/x"));
    assert!(!crate::desk_api::handles(&Method::GET, "/api/desk/stats"));
    let desk = desk().await;
    let deps = StatsDeps {
        desk: &desk,
        stats: Arc::new(seeded()),
    };
    let response = handle(
        &deps,
        request(
            "POST",
            "/api/desk/stats",
            Some(&token("agent01", &["agent"])),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET");
}
