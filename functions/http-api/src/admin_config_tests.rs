// Behaviour of the configuration routes (`/api/admin/queues…`, break codes, call categories,
// transfer panel, ICIS link) on sample events with in-memory adapters. Included from the tests
// module of `handler.rs`, whose helpers (`deps`, `call`, `token`…) it uses.

use super::*;

const POST_QUEUE: &str = include_str!("../../../events/apigw-http/post-queue.json");
const PUT_MEMBER: &str = include_str!("../../../events/apigw-http/put-queue-member.json");
const LIST_QUEUES: &str = include_str!("../../../events/apigw-http/list-queues.json");

/// A request like the sample POST, for any method, path and body.
fn request(method: &str, path: &str, body: Option<Value>, token: &str) -> Request {
    let mut event: Value = serde_json::from_str(POST_QUEUE).unwrap();
    event["routeKey"] = json!(format!("{method} {path}"));
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    match body {
        Some(body) => event["body"] = json!(body.to_string()),
        None => {
            event.as_object_mut().unwrap().remove("body");
        }
    }
    let mut request = lambda_http::request::from_str(&event.to_string()).unwrap();
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    request
}

fn admin_token() -> String {
    token("admin", &["admin"])
}

fn queue(id: &str) -> Value {
    let event: Value = serde_json::from_str(POST_QUEUE).unwrap();
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["queueId"] = json!(id);
    body
}

type Deps = TestDeps<InMemoryUserDirectory, RecordingPublisher>;

async fn send(deps: &Deps, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, _, body) = call(deps, request(method, path, body, &admin_token())).await;
    (status, body)
}

fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| error["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn when_admin_creates_a_queue_should_store_it_with_its_audit_record_and_answer_201() {
    // GIVEN an empty configuration
    let deps = deps();
    // WHEN the admin posts the sample queue
    let (status, headers, body) = call(&deps, event(POST_QUEUE, Some(&admin_token()))).await;
    // THEN 201 with the queue, its Location and the derived opening state
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers[header::LOCATION], "/api/admin/queues/kkc-obecne");
    assert_eq!(body["queueId"], "kkc-obecne");
    assert_eq!(body["overflow"]["kind"], "mobile");
    assert!(body["openNow"].is_boolean());
    assert!(body["nextChange"].is_string());
    // AND exactly one audit record, written with the change
    let records = deps.audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].action, AuditAction::ConfigCreate);
    assert_eq!(records[0].target.as_deref(), Some("queues/kkc-obecne"));
    assert_eq!(records[0].status, 201);
    // AND it reads back
    let (status, body) = send(&deps, "GET", "/api/admin/queues/kkc-obecne", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["schedule"]["exceptions"][0]["date"], "2026-12-24");
}

#[tokio::test]
async fn when_queue_id_is_taken_should_answer_409_queue_exists() {
    let deps = deps();
    assert_eq!(send(&deps, "POST", "/api/admin/queues", Some(queue("a"))).await.0, StatusCode::CREATED);
    let (status, problem) = send(&deps, "POST", "/api/admin/queues", Some(queue("a"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "queue-exists");
}

#[tokio::test]
async fn when_queue_fields_are_bad_should_answer_422_naming_each_and_store_nothing() {
    let deps = deps();
    let cases = [
        (json!({"overflow": {"kind": "external", "number": "601123456"}}), "overflow.number"),
        (json!({"overflow": {"kind": "queue", "queueId": "nowhere"}}), "overflow.queueId"),
        (json!({"overflow": {"kind": "agent", "username": "ghost"}}), "overflow.username"),
        (json!({"overflow": {"kind": "fax"}}), "overflow"),
        (json!({"priority": 0}), "priority"),
        (json!({"name": ""}), "name"),
        (json!({"queueId": "Velká fronta"}), "queueId"),
        (json!({"schedule": {"weekly": {"monday": [{"start": "18:00", "end": "08:00"}]}}}), "schedule.weekly.monday[0]"),
        (json!({"schedule": {"weekly": {"monday": [{"start": "25:00", "end": "09:00"}]}}}), "schedule.weekly.monday[0].start"),
        (json!({"schedule": {"timezone": "Europe/Vienna"}}), "schedule.timezone"),
        (json!({"colour": "red"}), "body"),
    ];
    for (patch, field) in cases {
        let mut body = queue("q1");
        for (key, value) in patch.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, problem) = send(&deps, "POST", "/api/admin/queues", Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{patch} → {problem}");
        let fields = error_fields(&problem);
        assert!(
            fields.iter().any(|f| f.starts_with(field)) || (field == "body" && !fields.is_empty()),
            "{patch}: expected {field} in {fields:?}"
        );
    }
    let (_, list) = send(&deps, "GET", "/api/admin/queues", None).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn when_body_is_not_json_should_answer_400_or_415() {
    let deps = deps();
    let mut bad = request("POST", "/api/admin/break-codes", None, &admin_token());
    *bad.body_mut() = Body::from("{not json");
    let (status, _, problem) = call(&deps, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "body-malformed");
    let mut text = request("POST", "/api/admin/break-codes", Some(json!({})), &admin_token());
    text.headers_mut()
        .insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
    assert_eq!(call(&deps, text).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn when_queues_are_listed_page_by_page_should_see_each_once_with_open_state() {
    let deps = deps();
    for id in ["a", "b", "c"] {
        send(&deps, "POST", "/api/admin/queues", Some(queue(id))).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/admin/queues?limit=2".to_owned();
    loop {
        let (base, query) = path.split_once('?').unwrap();
        let mut req = request("GET", base, None, &admin_token());
        let parameters: std::collections::HashMap<String, Vec<String>> = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_owned(), vec![v.to_owned()])
            })
            .collect();
        req = req.with_query_string_parameters(parameters);
        let (status, _, page) = call(&deps, req).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().unwrap() {
            assert!(item["openNow"].is_boolean());
            seen.push(item["queueId"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/admin/queues?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c"]);
    let (status, _, _) = call(&deps, event(LIST_QUEUES, Some(&admin_token()))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn when_queue_is_replaced_should_keep_its_id_and_refuse_a_different_one() {
    let deps = deps();
    send(&deps, "POST", "/api/admin/queues", Some(queue("a"))).await;
    let mut changed = queue("a");
    changed["name"] = json!("Asistenční služba");
    let (status, body) = send(&deps, "PUT", "/api/admin/queues/a", Some(changed)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Asistenční služba");
    // Without an id in the body, the path's is used.
    let mut without_id = queue("a");
    without_id.as_object_mut().unwrap().remove("queueId");
    assert_eq!(send(&deps, "PUT", "/api/admin/queues/a", Some(without_id)).await.0, StatusCode::OK);
    let (status, problem) = send(&deps, "PUT", "/api/admin/queues/a", Some(queue("b"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["queueId"]);
    let (status, problem) = send(&deps, "PUT", "/api/admin/queues/zz", Some(queue("zz"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "queue-not-found");
}

#[tokio::test]
async fn when_queue_has_members_or_is_an_overflow_should_refuse_delete_with_409() {
    let deps = deps();
    send(&deps, "POST", "/api/admin/queues", Some(queue("a"))).await;
    let mut b = queue("b");
    b["overflow"] = json!({"kind": "queue", "queueId": "a"});
    assert_eq!(send(&deps, "POST", "/api/admin/queues", Some(b)).await.0, StatusCode::CREATED);
    let (status, problem) = send(&deps, "DELETE", "/api/admin/queues/a", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "queue-in-use");
    // b has a member
    let (status, member) = send(
        &deps,
        "PUT",
        "/api/admin/queues/b/members/agent01",
        Some(json!({"skillLevel": 8, "priority": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    let (status, problem) = send(&deps, "DELETE", "/api/admin/queues/b", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "queue-has-members");
    // Remove the member, then b, then a.
    assert_eq!(send(&deps, "DELETE", "/api/admin/queues/b/members/agent01", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(send(&deps, "DELETE", "/api/admin/queues/b", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(send(&deps, "DELETE", "/api/admin/queues/a", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(send(&deps, "DELETE", "/api/admin/queues/a", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn when_members_are_set_should_store_skill_and_priority_per_agent() {
    let deps = deps();
    send(&deps, "POST", "/api/admin/queues", Some(queue("kkc-obecne"))).await;
    // The sample event: agent01, skill 7, priority 3.
    let (status, _, member) = call(&deps, event(PUT_MEMBER, Some(&admin_token()))).await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(member, json!({"queueId": "kkc-obecne", "username": "agent01", "skillLevel": 7, "priority": 3}));
    send(&deps, "PUT", "/api/admin/queues/kkc-obecne/members/agent02", Some(json!({"skillLevel": 2}))).await;
    let (status, list) = send(&deps, "GET", "/api/admin/queues/kkc-obecne/members", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["agent01", "agent02"]);
    assert_eq!(list["items"][1]["priority"], 5, "default priority");
    // Bad input
    let (status, problem) = send(&deps, "PUT", "/api/admin/queues/kkc-obecne/members/ghost", Some(json!({"skillLevel": 11}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["username", "skillLevel"]);
    let (status, problem) = send(&deps, "PUT", "/api/admin/queues/none/members/agent01", Some(json!({"skillLevel": 1}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "queue-not-found");
    let (status, problem) = send(&deps, "DELETE", "/api/admin/queues/kkc-obecne/members/agent09", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "member-not-found");
}

#[tokio::test]
async fn when_break_codes_and_categories_are_managed_should_round_trip_and_guard_parents() {
    let deps = deps();
    let code = json!({"code": "obed", "name": "Oběd", "kind": "private", "maxMinutes": 30});
    assert_eq!(send(&deps, "POST", "/api/admin/break-codes", Some(code)).await.0, StatusCode::CREATED);
    let (status, body) = send(&deps, "GET", "/api/admin/break-codes/obed", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"code": "obed", "name": "Oběd", "kind": "private", "maxMinutes": 30, "active": true}));
    let (status, problem) = send(&deps, "POST", "/api/admin/break-codes", Some(json!({"code": "x", "name": "X", "kind": "coffee"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["kind"]);

    let parent = json!({"categoryId": "pojisteni", "name": "Pojištění"});
    let child = json!({"categoryId": "zmena", "name": "Změna pojišťovny", "parentId": "pojisteni"});
    let orphan = json!({"categoryId": "sirotek", "name": "Sirotek", "parentId": "nikde"});
    assert_eq!(send(&deps, "POST", "/api/admin/call-categories", Some(parent)).await.0, StatusCode::CREATED);
    assert_eq!(send(&deps, "POST", "/api/admin/call-categories", Some(child)).await.0, StatusCode::CREATED);
    let (status, problem) = send(&deps, "POST", "/api/admin/call-categories", Some(orphan)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["parentId"]);
    let (status, problem) = send(&deps, "DELETE", "/api/admin/call-categories/pojisteni", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "call-category-in-use");
}

#[tokio::test]
async fn when_transfer_panel_is_managed_should_check_groups_and_targets() {
    let deps = deps();
    let group = json!({"groupId": "vedeni", "name": "Vedení", "order": 1});
    assert_eq!(send(&deps, "POST", "/api/admin/transfer-groups", Some(group)).await.0, StatusCode::CREATED);
    let line = json!({"lineId": "reditel", "label": "Ředitel KC", "groupId": "vedeni", "target": {"kind": "extension", "extension": "2999"}, "order": 1});
    let (status, body) = send(&deps, "POST", "/api/admin/transfer-lines", Some(line)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bad = json!({"lineId": "x", "label": "X", "groupId": "nikde", "target": {"kind": "ivr", "ivrId": "main"}});
    let (status, problem) = send(&deps, "POST", "/api/admin/transfer-lines", Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["target.kind"]);
    let bad = json!({"lineId": "x", "label": "X", "groupId": "nikde", "target": {"kind": "agent", "username": "ghost"}});
    let (_, problem) = send(&deps, "POST", "/api/admin/transfer-lines", Some(bad)).await;
    assert_eq!(error_fields(&problem), ["groupId", "target.username"]);
    let (status, problem) = send(&deps, "DELETE", "/api/admin/transfer-groups/vedeni", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "transfer-group-in-use");
}

#[tokio::test]
async fn when_icis_link_is_set_should_validate_and_read_back() {
    let deps = deps();
    let (status, body) = send(&deps, "GET", "/api/admin/settings/icis-link", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"urlTemplate": null}));
    let (status, problem) = send(&deps, "PUT", "/api/admin/settings/icis-link", Some(json!({"urlTemplate": "http://icis/{clientId}"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["urlTemplate"]);
    let link = json!({"urlTemplate": "https://icis.vzp.example/klient/{clientId}"});
    assert_eq!(send(&deps, "PUT", "/api/admin/settings/icis-link", Some(link.clone())).await.0, StatusCode::OK);
    assert_eq!(send(&deps, "GET", "/api/admin/settings/icis-link", None).await.1, link);
}

#[tokio::test]
async fn when_a_role_without_administration_calls_config_routes_should_get_403_audited() {
    let deps = deps();
    let routes = [
        ("GET", "/api/admin/queues"),
        ("POST", "/api/admin/queues"),
        ("GET", "/api/admin/queues/a"),
        ("PUT", "/api/admin/queues/a"),
        ("DELETE", "/api/admin/queues/a"),
        ("GET", "/api/admin/queues/a/members"),
        ("PUT", "/api/admin/queues/a/members/agent01"),
        ("DELETE", "/api/admin/queues/a/members/agent01"),
        ("GET", "/api/admin/break-codes"),
        ("POST", "/api/admin/call-categories"),
        ("PUT", "/api/admin/transfer-groups/g"),
        ("DELETE", "/api/admin/transfer-lines/l"),
        ("GET", "/api/admin/settings/icis-link"),
        ("PUT", "/api/admin/settings/icis-link"),
    ];
    for (username, roles) in [
        ("agent01", vec!["agent"]),
        ("supervisor", vec!["supervisor"]),
        ("wallboard", vec!["wallboard"]),
        ("recorder", vec!["recording-listen", "recording-download", "queues", "callbacks"]),
    ] {
        for (method, path) in routes {
            let body = (method != "GET" && method != "DELETE").then(|| json!({}));
            let (status, _, problem) =
                call(&deps, request(method, path, body, &token(username, &roles))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{username} {method} {path}");
            assert_eq!(problem["code"], "forbidden", "{problem}");
        }
    }
    let records = deps.audit.records();
    assert_eq!(records.len(), 4 * routes.len());
    assert!(records.iter().all(|r| r.outcome == AuditOutcome::Denied));
}

#[tokio::test]
async fn when_the_audit_log_is_down_should_write_nothing_and_answer_503() {
    let deps = deps_with_failing_audit();
    let (status, _, problem) = call(&deps, event(POST_QUEUE, Some(&admin_token()))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    let keys = deps.config.list("queue", PageLimit::DEFAULT, None).await.unwrap();
    assert!(keys.items.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn when_any_json_is_posted_as_a_queue_should_answer_a_4xx_or_201_never_5xx(
        body in proptest::collection::btree_map(
            prop_oneof![
                Just("queueId".to_owned()), Just("name".to_owned()), Just("schedule".to_owned()),
                Just("overflow".to_owned()), Just("priority".to_owned()), "[a-z]{1,6}",
            ],
            prop_oneof![
                Just(json!(null)), any::<i64>().prop_map(|n| json!(n)), "\\PC{0,12}".prop_map(|s| json!(s)),
                Just(json!({"weekly": {"monday": [{"start": "08:00", "end": "09:00"}]}})),
                Just(json!({"kind": "queue", "queueId": "x"})), Just(json!([1, 2])),
            ],
            0..6,
        )
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let deps = deps();
        let body = Value::Object(body.into_iter().collect());
        let (status, _) = runtime.block_on(send(&deps, "POST", "/api/admin/queues", Some(body)));
        prop_assert!(status.is_client_error() || status == StatusCode::CREATED, "{status}");
    }
}

const SAMPLE_IVR: &str = include_str!("../../../localstack/ivr/hlavni-linka.json");

#[tokio::test]
async fn when_admin_stores_an_ivr_tree_should_validate_it_whole_and_protect_its_queues() {
    // GIVEN the queues the sample tree transfers to
    let deps = deps();
    for id in ["kkc-obecne", "kkc-platby", "as-asistence"] {
        send(&deps, "POST", "/api/admin/queues", Some(queue(id))).await;
    }
    let tree: Value = serde_json::from_str(SAMPLE_IVR).unwrap();
    // WHEN the admin stores the sample tree THEN it is accepted and reads back
    let (status, body) = send(&deps, "POST", "/api/admin/ivrs", Some(tree.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = send(&deps, "GET", "/api/admin/ivrs/hlavni-linka", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["entryNode"], tree["entryNode"]);
    // AND a queue it transfers to cannot be deleted
    let (status, problem) = send(&deps, "DELETE", "/api/admin/queues/kkc-platby", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "queue-in-use");
    // WHEN a menu option points at a node that does not exist THEN 422 names the option
    let mut broken = tree.clone();
    let entry = broken["entryNode"].as_str().unwrap().to_owned();
    broken["ivrId"] = json!("rozbity");
    let menu = broken["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, node)| node["kind"] == "menu")
        .map(|(id, _)| id.clone())
        .unwrap();
    broken["nodes"][&menu]["options"]["7"] = json!("neexistuje");
    let (status, problem) = send(&deps, "POST", "/api/admin/ivrs", Some(broken)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        error_fields(&problem).contains(&format!("nodes.{menu}.options.7")),
        "{problem}"
    );
    // AND a queue may overflow to the stored tree, but not to one that does not exist
    let mut overflowing = queue("noc");
    overflowing["overflow"] = json!({"kind": "ivr", "ivrId": "hlavni-linka"});
    assert_eq!(send(&deps, "POST", "/api/admin/queues", Some(overflowing)).await.0, StatusCode::CREATED);
    let mut dangling = queue("noc2");
    dangling["overflow"] = json!({"kind": "ivr", "ivrId": "nikde"});
    let (status, problem) = send(&deps, "POST", "/api/admin/queues", Some(dangling)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["overflow.ivrId"]);
    assert!(!entry.is_empty());
}
