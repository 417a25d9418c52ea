// Behaviour of the configuration routes (`/api/admin/queues…`, break codes, call categories,
// transfer panel, ICIS link) on sample events with in-memory adapters. Included from the tests
// module of `handler.rs`, whose helpers (`deps`, `call`, `token`…) it uses.

use super::*;

const POST_QUEUE: &str = include_str!("../../../events/apigw-http/post-queue.json");
const PUT_MEMBER: &str = include_str!("../../../events/apigw-http/put-queue-member.json");
const PUT_QUEUE_ROUTING: &str = include_str!("../../../events/apigw-http/put-queue-routing.json");
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
    assert_eq!(member, json!({"queueId": "kkc-obecne", "username": "agent01", "skillLevel": 7, "priority": 3, "locked": false}));
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
async fn when_client_fields_are_managed_should_round_trip_and_refuse_built_in_keys() {
    let deps = deps();
    let field = json!({"key": "cislo-smlouvy", "label": {"cs": "Číslo smlouvy", "en": "Contract number"}, "type": "text", "inCard": true});
    let (status, body) = send(&deps, "POST", "/api/admin/client-fields", Some(field)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = send(&deps, "GET", "/api/admin/client-fields/cislo-smlouvy", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"key": "cislo-smlouvy", "label": {"cs": "Číslo smlouvy", "en": "Contract number"}, "type": "text", "required": false, "editable": true, "inCard": true, "order": 500, "active": true}));
    let built_in = json!({"key": "email", "label": {"cs": "E-mail", "en": "E-mail"}, "type": "email"});
    let (status, problem) = send(&deps, "POST", "/api/admin/client-fields", Some(built_in)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["key"]);
    let select = json!({"key": "kanal", "label": {"cs": "Kanál", "en": "Channel"}, "type": "select"});
    let (_, problem) = send(&deps, "POST", "/api/admin/client-fields", Some(select)).await;
    assert_eq!(error_fields(&problem), ["options"]);
    let (status, _) = send(&deps, "DELETE", "/api/admin/client-fields/cislo-smlouvy", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
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
async fn when_chat_settings_are_set_should_check_the_queues_and_protect_them() {
    let deps = deps();
    let (status, body) = send(&deps, "GET", "/api/admin/settings/chat", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"webQueueId": null, "smsQueueId": null, "emailQueueId": null, "socialQueueId": null, "chatsPerAgent": null, "distribution": null}));
    let bad = json!({"smsQueueId": "nikde", "emailQueueId": "Fronta!", "chatsPerAgent": 0});
    let (status, problem) = send(&deps, "PUT", "/api/admin/settings/chat", Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["emailQueueId", "chatsPerAgent"]);
    let (_, problem) = send(&deps, "PUT", "/api/admin/settings/chat", Some(json!({"smsQueueId": "nikde"}))).await;
    assert_eq!(error_fields(&problem), ["smsQueueId"]);
    send(&deps, "POST", "/api/admin/queues", Some(queue("sms"))).await;
    let settings = json!({"webQueueId": null, "smsQueueId": "sms", "emailQueueId": null, "socialQueueId": null, "chatsPerAgent": 5, "distribution": "automatic"});
    let (status, body) = send(&deps, "PUT", "/api/admin/settings/chat", Some(settings.clone())).await;
    assert_eq!((status, &body), (StatusCode::OK, &settings));
    assert_eq!(send(&deps, "GET", "/api/admin/settings/chat", None).await.1, settings);
    let (status, problem) = send(&deps, "DELETE", "/api/admin/queues/sms", None).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("queue-in-use")));
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
        ("POST", "/api/admin/client-fields"),
        ("GET", "/api/admin/settings/icis-link"),
        ("PUT", "/api/admin/settings/icis-link"),
        ("GET", "/api/admin/settings/chat"),
        ("PUT", "/api/admin/settings/chat"),
        ("GET", "/api/admin/queues/a/routing"),
        ("PUT", "/api/admin/queues/a/routing"),
        ("GET", "/api/admin/routing/plan"),
        ("PUT", "/api/admin/routing/plan"),
        ("GET", "/api/admin/routing/devices"),
        ("PUT", "/api/admin/routing/devices"),
        ("POST", "/api/admin/ivrs/validate"),
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

// ---------------------------------------------------------------------------------------------
// Routing settings (IN-1, IN-4, IN-9, IN-17, IN-18)
// ---------------------------------------------------------------------------------------------

/// The queues and the IVR tree of the demo, stored.
async fn routing_deps() -> Deps {
    let deps = deps();
    for id in ["kkc-obecne", "kkc-platby", "as-asistence", "ext-kampane"] {
        assert_eq!(send(&deps, "POST", "/api/admin/queues", Some(queue(id))).await.0, StatusCode::CREATED);
    }
    let tree: Value = serde_json::from_str(SAMPLE_IVR).unwrap();
    assert_eq!(send(&deps, "POST", "/api/admin/ivrs", Some(tree)).await.0, StatusCode::CREATED);
    deps
}

fn demo_plan() -> Value {
    json!({
        "rules": [
            {"ruleId": "vip", "when": {"clientStatuses": ["VIP"], "dialled": ["5000"]},
             "entry": {"kind": "queue", "queueId": "kkc-obecne"}, "priorityBoost": 0},
            {"ruleId": "kkc", "when": {"dialled": ["5000"]}, "entry": {"kind": "queue", "queueId": "kkc-obecne"}},
            {"ruleId": "as", "when": {"dialled": ["5001"]}, "entry": {"kind": "queue", "queueId": "as-asistence"}},
            {"ruleId": "ext", "when": {"dialled": ["5002"]}, "entry": {"kind": "queue", "queueId": "ext-kampane"}},
            {"ruleId": "ivr", "when": {"dialled": ["4000"]}, "entry": {"kind": "ivr", "ivrId": "hlavni-linka"}}
        ],
        "clientPriority": [{"status": "VIP", "boost": 5}],
        "recording": {"record": true, "ownNumbers": ["+420585*"], "recordOwnNumbers": false}
    })
}

fn demo_devices() -> Value {
    json!({
        "queues": {"kkc-obecne": "5100", "kkc-platby": "5101", "as-asistence": "5102", "ext-kampane": "5103"},
        "ivrs": {"hlavni-linka": "6001"},
        "announcements": {"closed": "6901", "no-agents": "6902"},
        "defaultAnnouncement": "6900"
    })
}

#[tokio::test]
async fn when_queue_routing_is_unset_should_answer_the_defaults_and_404_for_an_unknown_queue() {
    let deps = routing_deps().await;
    let (status, body) = send(&deps, "GET", "/api/admin/queues/kkc-platby/routing", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "queueId": "kkc-platby",
            "wrapUpSeconds": 0,
            "whenNobodyLoggedIn": {"action": "announce", "announcementId": "no-agents", "then": "overflow"}
        })
    );
    for (method, body) in [("GET", None), ("PUT", Some(json!({"wrapUpSeconds": 5})))] {
        let (status, problem) = send(&deps, method, "/api/admin/queues/nowhere/routing", body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(problem["code"], "queue-not-found");
    }
    let (status, _) = send(&deps, "GET", "/api/admin/queues/Bad%20Id/routing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let last = deps.audit.records().pop().unwrap();
    assert_eq!(last.action, AuditAction::ConfigRead);
}

#[tokio::test]
async fn when_admin_puts_queue_routing_should_store_it_with_its_audit_record_and_read_it_back() {
    // GIVEN the demo queues
    let deps = routing_deps().await;
    let before = deps.audit.records().len();
    let settings = json!({
        "wrapUpSeconds": 15,
        "maxWaitSeconds": 600,
        "whenNobodyLoggedIn": {"action": "announce", "announcementId": "no-agents", "then": "overflow"},
        "lastAgent": {"holdSeconds": 20, "maxAgeHours": 72}
    });
    // WHEN the admin puts the settings of kkc-obecne
    let (status, body) = send(&deps, "PUT", "/api/admin/queues/kkc-obecne/routing", Some(settings.clone())).await;
    // THEN 200 with the settings and the queue id
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut expected = settings.clone();
    expected["queueId"] = json!("kkc-obecne");
    assert_eq!(body, expected);
    // AND one config.update record, written with the change
    let records = deps.audit.records();
    assert_eq!(records.len(), before + 1);
    assert_eq!(records[before].action, AuditAction::ConfigUpdate);
    assert_eq!(records[before].target.as_deref(), Some("queues/kkc-obecne/routing"));
    // AND the stored document is what the routing function reads: queueRouting/kkc-obecne
    let stored = deps.config.get("queueRouting", "kkc-obecne").await.unwrap().unwrap();
    assert_eq!(stored, expected);
    let routing: linka_shared::routing::QueueRouting = serde_json::from_value(stored).unwrap();
    assert_eq!(routing.wrap_up_seconds, 15);
    // AND it reads back; what was read may be sent back as it is
    let (status, read) = send(&deps, "GET", "/api/admin/queues/kkc-obecne/routing", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, expected);
    assert_eq!(send(&deps, "PUT", "/api/admin/queues/kkc-obecne/routing", Some(read)).await.0, StatusCode::OK);
    // AND the sample event (API Gateway's path parameters) stores the same
    let (status, _, sample) = call(&deps, event(PUT_QUEUE_ROUTING, Some(&admin_token()))).await;
    assert_eq!(status, StatusCode::OK, "{sample}");
    assert_eq!(sample, expected);
    // AND a PUT replaces the settings whole: omitted fields take their defaults
    let (_, body) = send(&deps, "PUT", "/api/admin/queues/kkc-obecne/routing", Some(json!({"wrapUpSeconds": 10}))).await;
    assert_eq!(body["lastAgent"], Value::Null);
    assert_eq!(body["whenNobodyLoggedIn"]["action"], "announce");
}

#[tokio::test]
async fn when_queue_routing_fields_are_bad_should_answer_422_naming_each_and_store_nothing() {
    let deps = routing_deps().await;
    let cases = [
        (json!({"wrapUpSeconds": 3601}), "wrapUpSeconds"),
        (json!({"wrapUpSeconds": -1}), "wrapUpSeconds"),
        (json!({"maxWaitSeconds": 0}), "maxWaitSeconds"),
        (json!({"maxWaitSeconds": 86401}), "maxWaitSeconds"),
        (json!({"maxWaitingCalls": 10001}), "maxWaitingCalls"),
        (json!({"whenNobodyLoggedIn": {"action": "announce", "announcementId": "Bad Id", "then": "hangUp"}}), "whenNobodyLoggedIn.announcementId"),
        (json!({"whenNobodyLoggedIn": {"action": "announce", "announcementId": "x", "then": "sing"}}), "whenNobodyLoggedIn"),
        (json!({"whenNobodyLoggedIn": {"action": "dance"}}), "whenNobodyLoggedIn.action"),
        (json!({"closedAnnouncement": "-closed"}), "closedAnnouncement"),
        (json!({"lastAgent": {"holdSeconds": 601, "maxAgeHours": 72}}), "lastAgent.holdSeconds"),
        (json!({"lastAgent": {"holdSeconds": 20, "maxAgeHours": 0}}), "lastAgent.maxAgeHours"),
        (json!({"lastAgent": {"holdSeconds": 20, "maxAgeHours": 721}}), "lastAgent.maxAgeHours"),
        (json!({"lastAgent": {"holdSeconds": 20}}), "lastAgent"),
        (json!({"colour": "red"}), "colour"),
        (json!({"queueId": "kkc-platby"}), "queueId"),
    ];
    for (body, field) in cases {
        let (status, problem) = send(&deps, "PUT", "/api/admin/queues/kkc-obecne/routing", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {problem}");
        assert_eq!(error_fields(&problem), [field], "{body}");
    }
    assert!(deps.config.get("queueRouting", "kkc-obecne").await.unwrap().is_none());
}

#[tokio::test]
async fn when_a_queue_is_deleted_should_its_routing_settings_go_too() {
    let deps = routing_deps().await;
    send(&deps, "PUT", "/api/admin/queues/ext-kampane/routing", Some(json!({"wrapUpSeconds": 20}))).await;
    assert_eq!(send(&deps, "DELETE", "/api/admin/queues/ext-kampane", None).await.0, StatusCode::NO_CONTENT);
    assert!(deps.config.get("queueRouting", "ext-kampane").await.unwrap().is_none());
    let targets: Vec<String> = deps.audit.records().iter().rev().take(2).filter_map(|r| r.target.clone()).collect();
    assert_eq!(targets, ["queues/ext-kampane/routing", "queues/ext-kampane"]);
    // A queue without routing settings is deleted with one record.
    let before = deps.audit.records().len();
    assert_eq!(send(&deps, "DELETE", "/api/admin/queues/kkc-platby", None).await.0, StatusCode::CONFLICT, "the IVR tree transfers to it");
    assert_eq!(deps.audit.records().len(), before + 1);
}

#[tokio::test]
async fn when_plan_is_unset_should_answer_the_empty_default_plan() {
    let deps = deps();
    let (status, body) = send(&deps, "GET", "/api/admin/routing/plan", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"rules": [], "clientPriority": [], "recording": {"record": true, "ownNumbers": [], "recordOwnNumbers": false}})
    );
    let record = deps.audit.records().pop().unwrap();
    assert_eq!((record.action, record.target.as_deref()), (AuditAction::ConfigRead, Some("routing/plan")));
}

#[tokio::test]
async fn when_admin_puts_the_plan_should_store_it_and_protect_its_queues_and_ivr_from_delete() {
    // GIVEN the demo queues and IVR tree
    let deps = routing_deps().await;
    let before = deps.audit.records().len();
    // WHEN the admin puts the demo plan
    let (status, body) = send(&deps, "PUT", "/api/admin/routing/plan", Some(demo_plan())).await;
    // THEN it is stored as routingSettings/plan with its audit record
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rules"][0]["ruleId"], "vip");
    let stored = deps.config.get("routingSettings", "plan").await.unwrap().unwrap();
    assert_eq!(stored, body);
    let plan: linka_shared::routing::InboundPlan = serde_json::from_value(stored).unwrap();
    assert_eq!(plan.rules.len(), 5);
    let records = deps.audit.records();
    assert_eq!(records.len(), before + 1);
    assert_eq!(records[before].action, AuditAction::ConfigUpdate);
    assert_eq!(records[before].target.as_deref(), Some("routing/plan"));
    assert_eq!(send(&deps, "GET", "/api/admin/routing/plan", None).await.1, body);
    // AND a queue or IVR tree the plan sends calls to cannot be deleted
    let (status, problem) = send(&deps, "DELETE", "/api/admin/queues/ext-kampane", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "queue-in-use");
    let (status, problem) = send(&deps, "DELETE", "/api/admin/ivrs/hlavni-linka", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "ivr-in-use");
    // AND once the plan no longer names them, they can
    let mut smaller = demo_plan();
    smaller["rules"] = json!([demo_plan()["rules"][0].clone()]);
    assert_eq!(send(&deps, "PUT", "/api/admin/routing/plan", Some(smaller)).await.0, StatusCode::OK);
    assert_eq!(send(&deps, "DELETE", "/api/admin/queues/ext-kampane", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(send(&deps, "DELETE", "/api/admin/ivrs/hlavni-linka", None).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn when_plan_is_bad_should_answer_422_naming_each_field_and_store_nothing() {
    let deps = routing_deps().await;
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|p| p["rules"][2]["entry"]["queueId"] = json!("nowhere")), "rules[2].entry.queueId"),
        (Box::new(|p| p["rules"][4]["entry"]["ivrId"] = json!("nowhere")), "rules[4].entry.ivrId"),
        (Box::new(|p| p["rules"][4]["entry"]["node"] = json!("no-such-node")), "rules[4].entry.node"),
        (Box::new(|p| p["rules"][1]["ruleId"] = json!("vip")), "rules[1].ruleId"),
        (Box::new(|p| p["rules"][1]["ruleId"] = json!("VIP")), "rules[1].ruleId"),
        (Box::new(|p| p["rules"][1]["when"]["callers"] = json!(["+420 585*"])), "rules[1].when.callers[0]"),
        (Box::new(|p| p["rules"][1]["when"]["dialled"] = json!(["5000", "50a0"])), "rules[1].when.dialled[1]"),
        (Box::new(|p| p["rules"][1]["priorityBoost"] = json!(101)), "rules[1].priorityBoost"),
        (Box::new(|p| p["rules"][1]["priorityBoost"] = json!(256)), "rules[1].priorityBoost"),
        (Box::new(|p| p["rules"][1]["entry"] = json!({"kind": "destination", "target": {"kind": "agent", "username": "ghost"}})), "rules[1].entry.target.username"),
        (Box::new(|p| p["rules"][1]["entry"] = json!({"kind": "destination", "target": {"kind": "queue", "queueId": "nowhere"}})), "rules[1].entry.target.queueId"),
        (Box::new(|p| p["rules"][1]["entry"] = json!({"kind": "somewhere"})), "rules[1].entry.kind"),
        (Box::new(|p| p["defaultEntry"] = json!({"kind": "queue", "queueId": "nowhere"})), "defaultEntry.queueId"),
        (Box::new(|p| p["clientPriority"][0]["boost"] = json!(101)), "clientPriority[0].boost"),
        (Box::new(|p| p["recording"]["ownNumbers"] = json!(["+420585"," 1"])), "recording.ownNumbers[1]"),
        (Box::new(|p| p["recording"]["colour"] = json!("red")), "recording.colour"),
    ];
    for (change, field) in cases {
        let mut body = demo_plan();
        change(&mut body);
        let (status, problem) = send(&deps, "PUT", "/api/admin/routing/plan", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {problem}");
        let fields = error_fields(&problem);
        assert!(fields.iter().any(|f| f.starts_with(field)), "expected {field} in {fields:?}");
    }
    assert!(deps.config.get("routingSettings", "plan").await.unwrap().is_none());
    // A node of the tree is a valid start.
    let mut body = demo_plan();
    body["rules"][4]["entry"]["node"] = json!("uvitani");
    let (status, problem) = send(&deps, "PUT", "/api/admin/routing/plan", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{problem}");
}

#[tokio::test]
async fn when_admin_puts_the_device_map_should_check_it_and_protect_its_queues_and_ivrs() {
    let deps = routing_deps().await;
    let (status, body) = send(&deps, "GET", "/api/admin/routing/devices", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"queues": {}, "ivrs": {}, "announcements": {}}));
    // Bad devices and unknown queues or trees are named.
    let cases = [
        (json!({"queues": {"kkc-obecne": "51 00"}}), "queues.kkc-obecne"),
        (json!({"queues": {"nowhere": "5100"}}), "queues.nowhere"),
        (json!({"ivrs": {"nowhere": "6001"}}), "ivrs.nowhere"),
        (json!({"announcements": {"Closed": "6901"}}), "announcements.Closed"),
        (json!({"defaultAnnouncement": ""}), "defaultAnnouncement"),
        (json!({"defaultAnnouncement": 6900}), "defaultAnnouncement"),
        (json!({"pilots": {}}), "pilots"),
    ];
    for (body, field) in cases {
        let (status, problem) = send(&deps, "PUT", "/api/admin/routing/devices", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {problem}");
        assert_eq!(error_fields(&problem), [field], "{body}");
    }
    // The demo map is stored as routingSettings/devices.
    let before = deps.audit.records().len();
    let (status, body) = send(&deps, "PUT", "/api/admin/routing/devices", Some(demo_devices())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, demo_devices());
    assert_eq!(deps.config.get("routingSettings", "devices").await.unwrap().unwrap(), demo_devices());
    let records = deps.audit.records();
    assert_eq!(records.len(), before + 1);
    assert_eq!(records[before].target.as_deref(), Some("routing/devices"));
    assert_eq!(send(&deps, "GET", "/api/admin/routing/devices", None).await.1, demo_devices());
    // A mapped queue or tree cannot be deleted.
    let (status, problem) = send(&deps, "DELETE", "/api/admin/queues/ext-kampane", None).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("queue-in-use")));
    let (status, problem) = send(&deps, "DELETE", "/api/admin/ivrs/hlavni-linka", None).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("ivr-in-use")));
}

#[tokio::test]
async fn when_a_queue_overflows_to_an_ivr_tree_should_the_tree_be_protected_from_delete() {
    let deps = routing_deps().await;
    let mut night = queue("noc");
    night["overflow"] = json!({"kind": "ivr", "ivrId": "hlavni-linka"});
    assert_eq!(send(&deps, "POST", "/api/admin/queues", Some(night)).await.0, StatusCode::CREATED);
    let (status, problem) = send(&deps, "DELETE", "/api/admin/ivrs/hlavni-linka", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "ivr-in-use");
}

#[tokio::test]
async fn when_an_ivr_tree_is_validated_should_answer_200_with_its_problems_and_store_nothing() {
    let deps = routing_deps().await;
    let tree: Value = serde_json::from_str(SAMPLE_IVR).unwrap();
    let before = deps.audit.records().len();
    // A valid tree (its id may even be taken: nothing is stored)
    let (status, body) = send(&deps, "POST", "/api/admin/ivrs/validate", Some(tree.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"valid": true, "problems": []}));
    let record = deps.audit.records().pop().unwrap();
    assert_eq!((record.action, record.target.as_deref()), (AuditAction::ConfigRead, Some("ivrs/validate")));
    assert_eq!(deps.audit.records().len(), before + 1);
    // A broken tree: a menu option pointing nowhere, a queue that does not exist
    let mut broken = tree.clone();
    broken["ivrId"] = json!("novy");
    broken["entryNode"] = json!("neni");
    let (status, body) = send(&deps, "POST", "/api/admin/ivrs/validate", Some(broken)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], false);
    assert_eq!(error_fields(&json!({"errors": body["problems"]})), ["entryNode"]);
    let mut unknown_queue = tree.clone();
    let transfer = unknown_queue["nodes"].as_object().unwrap().iter().find(|(_, n)| n["kind"] == "transferToQueue").map(|(id, _)| id.clone()).unwrap();
    unknown_queue["nodes"][&transfer]["queueId"] = json!("nowhere");
    let (_, body) = send(&deps, "POST", "/api/admin/ivrs/validate", Some(unknown_queue)).await;
    assert_eq!(body["valid"], false);
    assert_eq!(error_fields(&json!({"errors": body["problems"]})), [format!("nodes.{transfer}.queueId")]);
    // A document that does not parse, and JSON that is not an object
    let (status, body) = send(&deps, "POST", "/api/admin/ivrs/validate", Some(json!({"ivrId": "x"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], false);
    assert!(!body["problems"].as_array().unwrap().is_empty());
    let (status, body) = send(&deps, "POST", "/api/admin/ivrs/validate", Some(json!([1]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"valid": false, "problems": [{"field": "body", "message": "must be a JSON object"}]}));
    // Only unreadable bodies are refused
    let mut bad = request("POST", "/api/admin/ivrs/validate", None, &admin_token());
    *bad.body_mut() = Body::from("{not json");
    assert_eq!(call(&deps, bad).await.0, StatusCode::BAD_REQUEST);
    let mut text = request("POST", "/api/admin/ivrs/validate", Some(json!({})), &admin_token());
    text.headers_mut().insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
    assert_eq!(call(&deps, text).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing was stored.
    let (_, list) = send(&deps, "GET", "/api/admin/ivrs", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // `validate` is reserved: no tree can have that id.
    let mut reserved = tree.clone();
    reserved["ivrId"] = json!("validate");
    let (_, body) = send(&deps, "POST", "/api/admin/ivrs/validate", Some(reserved.clone())).await;
    assert_eq!(error_fields(&json!({"errors": body["problems"]})), ["ivrId"]);
    let (status, problem) = send(&deps, "POST", "/api/admin/ivrs", Some(reserved)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["ivrId"]);
}
