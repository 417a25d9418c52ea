use pbx_sim::traffic::{TalkTime, Target, TrafficProfile};
use pbx_sim::{Sim, SimConfig};

fn profile(seed: u64) -> TrafficProfile {
    TrafficProfile {
        arrivals_per_minute: 30.0,
        targets: vec![
            Target {
                to: "6001".into(),
                weight: 1.0,
            },
            Target {
                to: "5000".into(),
                weight: 1.0,
            },
        ],
        talk_time: TalkTime::Uniform {
            min_s: 5.0,
            max_s: 20.0,
        },
        patience_mean_s: 30.0,
        agent_answer_s: Some(2.0),
        max_calls: Some(20),
        seed: Some(seed),
        ..Default::default()
    }
}

async fn run_traffic(seed: u64) -> serde_json::Value {
    let sim = Sim::new(SimConfig::demo(), csta::Edition::Ed4, 0);
    sim.start_traffic(Some(profile(seed))).unwrap();
    sim.wait_for(|p| p.counters().calls_created >= 20).await;
    // let every call finish (talk ≤ 20 s, patience finite)
    sim.wait_for(|p| p.calls().is_empty()).await;
    assert!(!sim.traffic_status().running || sim.stop_traffic());
    sim.read(|p| serde_json::to_value(p.counters()).unwrap())
}

#[tokio::test(start_paused = true)]
async fn when_traffic_runs_with_a_fixed_seed_should_place_calls_reproducibly() {
    let a = run_traffic(42).await;
    let b = run_traffic(42).await;
    assert_eq!(a["calls_created"], 20);
    assert!(a["calls_answered"].as_u64().unwrap() > 0, "{a}");
    assert_eq!(a, b, "same seed, same outcome");
}

#[tokio::test(start_paused = true)]
async fn when_traffic_is_stopped_should_place_no_more_calls() {
    let sim = Sim::new(SimConfig::demo(), csta::Edition::Ed4, 7);
    sim.start_traffic(Some(TrafficProfile {
        max_calls: None,
        ..profile(7)
    }))
    .unwrap();
    sim.wait_for(|p| p.counters().calls_created >= 3).await;
    assert!(sim.stop_traffic());
    let n = sim.read(|p| p.counters().calls_created);
    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    assert_eq!(sim.read(|p| p.counters().calls_created), n);
    assert!(!sim.traffic_status().running);
}

#[tokio::test]
async fn when_traffic_is_started_over_http_should_place_calls_and_report_status() {
    let run = crate::helpers::start(crate::helpers::test_config()).await;
    let (status, v) = crate::helpers::http(
        &run,
        axum::http::Method::POST,
        "/traffic/start",
        r#"{"arrivals_per_minute": 0}"#,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let v = crate::helpers::post(
        &run,
        "/traffic/start",
        r#"{"arrivals_per_minute": 600, "max_calls": 3, "targets": [{"to": "5000"}], "seed": 9}"#,
    )
    .await;
    assert_eq!(v["running"], true);
    run.sim.wait_for(|p| p.counters().calls_created >= 3).await;
    let v = crate::helpers::get(&run, "/traffic").await;
    assert_eq!(v["generated"], 3);
    crate::helpers::post(&run, "/traffic/stop", "").await;
    let calls = crate::helpers::get(&run, "/calls").await;
    assert_eq!(calls.as_array().unwrap().len(), 3);
    assert!(calls
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["called"] == "5000" && c["calling"].as_str().unwrap().starts_with("06")));
    run.shutdown().await;
}
