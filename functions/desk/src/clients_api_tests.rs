//! Behaviour of `/api/clients…` and `/api/client-fields` on the in-memory adapters.

use std::collections::BTreeMap;

use chrono::TimeZone;
use lambda_http::http::StatusCode;
use linka_shared::{
    adapters::{memory::InMemoryAuditLog, InMemoryClientStore, InMemoryConfigStore},
    auth::Role,
    ports::ConfigWrite,
    testing::{StaticJwks, TestIssuer},
};
use serde_json::json;

use super::*;

type Deps = ClientsDeps<StaticJwks, InMemoryClientStore, InMemoryConfigStore, InMemoryAuditLog>;

struct Setup {
    deps: Deps,
    clients: InMemoryClientStore,
    audit: InMemoryAuditLog,
}

fn imported(id: &str, first: &str, last: &str, mobile: &str, icis: bool) -> Versioned<Client> {
    Versioned {
        value: Client {
            client_id: id.to_owned(),
            icis_id: icis.then(|| id.to_owned()),
            status: if id == "10000003" { "vip" } else { "standard" }.to_owned(),
            fields: BTreeMap::from([
                ("firstName".to_owned(), first.to_owned()),
                ("lastName".to_owned(), last.to_owned()),
                ("mobile".to_owned(), mobile.to_owned()),
                ("email".to_owned(), format!("{id}@seznam.cz")),
                ("insuranceNumber".to_owned(), "7801011230".to_owned()),
            ]),
            updated_at: Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap(),
            updated_by: "icis".to_owned(),
        },
        version: 0,
    }
}

async fn setup() -> Setup {
    let clients = InMemoryClientStore::new();
    clients
        .batch_put(&[
            imported("10000001", "Jana", "Dvořáková", "+420777000111", true),
            imported("10000002", "Tomáš", "Dvořák", "+420777000111", true),
            imported("10000003", "Karel", "Novák", "+420777000222", false),
        ])
        .await
        .unwrap();
    let audit = InMemoryAuditLog::new();
    let config = InMemoryConfigStore::new(InMemoryAuditLog::new());
    let record = AuditRecord::new(
        &linka_shared::audit::AuditContext::default(),
        AuditAction::ConfigUpdate,
        None,
        200,
        Utc::now(),
    );
    config
        .write(
            &ConfigWrite::Upsert {
                collection: SETTINGS_COLLECTION.to_owned(),
                id: ICIS_LINK_ID.to_owned(),
                document: json!({"urlTemplate": "https://icis.example.cz/klient/{clientId}"}),
            },
            &record,
        )
        .await
        .unwrap();
    config
        .write(
            &ConfigWrite::Create {
                collection: CustomClientField::COLLECTION.to_owned(),
                id: "cislo-smlouvy".to_owned(),
                document: json!({"key": "cislo-smlouvy",
                    "label": {"cs": "Číslo smlouvy", "en": "Contract number"},
                    "type": "text", "order": 200}),
            },
            &record,
        )
        .await
        .unwrap();
    let deps = ClientsDeps {
        validator: TestIssuer::primary().validator(),
        clients: clients.clone(),
        config,
        audit: audit.clone(),
    };
    Setup {
        deps,
        clients,
        audit,
    }
}

fn token(roles: &[&str]) -> String {
    TestIssuer::primary().token_for("agent01", roles)
}

/// An API Gateway v2 event for `method path?query` with a JSON body.
fn request(method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> Request {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let parameters: Map<String, Value> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), Value::String(value.replace("%2B", "+")))
        })
        .collect();
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    if let Some(token) = token {
        headers.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "tests"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:09:00:00 +0000", "timeEpoch": 1_795_856_400_000_i64
        },
        "isBase64Encoded": false
    });
    if !parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(parameters);
    }
    if let Some(body) = body {
        event["body"] = Value::String(body.to_string());
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn send(s: &Setup, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    call(s, request(method, path, body, Some(&token(&["agent"])))).await
}

async fn call(s: &Setup, request: Request) -> (StatusCode, Value) {
    let response = handle(&s.deps, request).await;
    let status = response.status();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

fn ids(body: &Value) -> Vec<String> {
    body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clientId"].as_str().unwrap().to_owned())
        .collect()
}

fn error_fields(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

// ---------------------------------------------------------------------------------------------
// Routing and access
// ---------------------------------------------------------------------------------------------

#[test]
fn when_paths_are_asked_should_claim_only_the_client_routes() {
    for (method, path) in ROUTES {
        let path = path.replace("{clientId}", "10000001");
        assert!(handles(&method.parse().unwrap(), &path), "{method} {path}");
    }
    assert!(handles(&Method::DELETE, "/api/clients/1"));
    for path in [
        "/api/clients/1/contacts",
        "/api/client",
        "/api/clientsx",
        "/api/desk",
        "/api/contacts/1",
    ] {
        assert!(!handles(&Method::GET, path), "{path}");
    }
}

#[tokio::test]
async fn when_there_is_no_token_should_answer_401_unaudited() {
    let s = setup().await;
    let (status, problem) = call(&s, request("GET", "/api/clients/10000001", None, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["code"], "token-missing");
    assert!(s.audit.records().is_empty());
}

#[tokio::test]
async fn when_a_role_without_client_access_asks_should_answer_403_audited() {
    let s = setup().await;
    for roles in [vec!["wallboard"], vec!["callbacks", "queues"], vec!["icis"]] {
        let (status, problem) = call(
            &s,
            request("GET", "/api/clients/10000001", None, Some(&token(&roles))),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{roles:?}");
        assert_eq!(problem["code"], "forbidden");
    }
    assert_eq!(s.audit.records().len(), 3);
    assert_eq!(s.audit.records()[0].status, 403);
}

#[tokio::test]
async fn when_supervisor_or_admin_reads_should_be_allowed() {
    let s = setup().await;
    for role in [Role::Supervisor, Role::Admin] {
        let (status, _) = call(
            &s,
            request(
                "GET",
                "/api/clients/10000001",
                None,
                Some(&token(&[role.as_str()])),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{role}");
    }
}

#[tokio::test]
async fn when_method_is_wrong_should_answer_405_with_allow() {
    let s = setup().await;
    let response = handle(
        &s.deps,
        request(
            "DELETE",
            "/api/clients/10000001",
            None,
            Some(&token(&["agent"])),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, PUT");
}

// ---------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_fields_are_listed_should_hold_the_built_in_and_custom_ones_in_order() {
    let s = setup().await;
    let (status, body) = send(&s, "GET", "/api/client-fields", None).await;
    assert_eq!(status, StatusCode::OK);
    let fields = body["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 16);
    assert_eq!(fields[0]["key"], "firstName");
    assert_eq!(
        fields[0]["label"],
        json!({"cs": "Jméno", "en": "First name"})
    );
    assert_eq!(fields.last().unwrap()["key"], "cislo-smlouvy");
    let gender = fields.iter().find(|f| f["key"] == "gender").unwrap();
    assert_eq!(gender["type"], "select");
    assert_eq!(gender["options"][0]["value"], "F");
    // Not personal data: not audited.
    assert!(s.audit.records().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Lookup (IN-15, CHAT-4)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_family_shares_a_mobile_should_list_every_member_with_icis_links() {
    let s = setup().await;
    let (status, body) = send(&s, "GET", "/api/clients?phone=777%20000%20111", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), ["10000002", "10000001"]);
    let jana = &body["clients"][1];
    assert_eq!(jana["fields"]["firstName"], "Jana");
    assert_eq!(jana["version"], 1);
    assert_eq!(jana["icisUrl"], "https://icis.example.cz/klient/10000001");
    let record = s.audit.records().pop().unwrap();
    assert_eq!(record.action, AuditAction::ClientsSearch);
    assert_eq!(record.details["filter"], "phone");
    assert_eq!(record.details["matches"], "2");
}

#[tokio::test]
async fn when_looking_up_by_email_or_insurance_number_should_find_matches() {
    let s = setup().await;
    let (status, body) = send(&s, "GET", "/api/clients?email=10000003@SEZNAM.cz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), ["10000003"]);
    assert_eq!(body["clients"][0]["status"], "vip");
    assert_eq!(body["clients"][0]["icisUrl"], Value::Null);
    let (_, body) = send(&s, "GET", "/api/clients?insuranceNumber=780101/1230", None).await;
    assert_eq!(ids(&body).len(), 3);
    let (status, body) = send(&s, "GET", "/api/clients?phone=%2B420601999999", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"clients": []}));
}

#[tokio::test]
async fn when_filters_are_missing_doubled_or_malformed_should_answer_400() {
    let s = setup().await;
    for (path, fields) in [
        ("/api/clients", vec!["email", "insuranceNumber", "phone"]),
        (
            "/api/clients?phone=777000111&email=a@b.cz",
            vec!["email", "insuranceNumber", "phone"],
        ),
        ("/api/clients?phone=12345", vec!["phone"]),
        ("/api/clients?email=nobody", vec!["email"]),
        ("/api/clients?insuranceNumber=12", vec!["insuranceNumber"]),
    ] {
        let (status, problem) = send(&s, "GET", path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(problem["code"], "invalid-parameter");
        assert_eq!(error_fields(&problem), fields, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Read, create, update (CDB-5)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_client_is_read_should_carry_version_and_icis_url() {
    let s = setup().await;
    let (status, body) = send(&s, "GET", "/api/clients/10000001", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["clientId"], "10000001");
    assert_eq!(body["icisId"], "10000001");
    assert_eq!(body["updatedAt"], "2026-11-01T03:00:00.000Z");
    assert_eq!(body["updatedBy"], "icis");
    let (status, problem) = send(&s, "GET", "/api/clients/nobody", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "client-not-found");
    let records = s.audit.records();
    assert_eq!(records[0].action, AuditAction::ClientRead);
    assert_eq!(records[0].target.as_deref(), Some("10000001"));
}

#[tokio::test]
async fn when_person_is_entered_by_hand_should_create_a_manual_client() {
    let s = setup().await;
    let body = json!({"fields": {"firstName": "Eva", "lastName": "Malá",
                                  "mobile": "602 123 456", "email": "Eva.Mala@Email.cz"}});
    let (status, created) = send(&s, "POST", "/api/clients", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["clientId"].as_str().unwrap();
    assert!(id.starts_with("M-"));
    assert_eq!(created["icisId"], Value::Null);
    assert_eq!(created["icisUrl"], Value::Null);
    assert_eq!(created["version"], 1);
    assert_eq!(created["status"], "standard");
    assert_eq!(created["updatedBy"], "agent01");
    assert_eq!(created["fields"]["mobile"], "+420602123456");
    let (_, found) = send(&s, "GET", "/api/clients?email=eva.mala@email.cz", None).await;
    assert_eq!(ids(&found), [id]);
    let record = s.audit.records().into_iter().next().unwrap();
    assert_eq!(record.action, AuditAction::ClientCreate);
    assert_eq!(record.target.as_deref(), Some(id));
}

#[tokio::test]
async fn when_manual_entry_is_invalid_should_answer_422_naming_fields() {
    let s = setup().await;
    let body = json!({"fields": {"firstName": "Eva", "mobile": "12", "shoeSize": "42"}});
    let (status, problem) = send(&s, "POST", "/api/clients", Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "validation-failed");
    assert_eq!(error_fields(&problem), ["fields.mobile", "fields.shoeSize"]);
    let body = json!({"fields": {"firstName": "Eva"}});
    let (_, problem) = send(&s, "POST", "/api/clients", Some(body)).await;
    assert_eq!(error_fields(&problem), ["fields.lastName"]);
    let (status, problem) = send(&s, "POST", "/api/clients", Some(json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "invalid-body");
    assert_eq!(s.clients.all().len(), 3);
}

#[tokio::test]
async fn when_client_is_edited_at_its_version_should_store_and_bump_it() {
    let s = setup().await;
    let body = json!({"version": 1, "fields": {"email": "Jana@Example.cz", "street": "Husova 5",
                                               "cislo-smlouvy": "S-42", "mobile": null}});
    let (status, edited) = send(&s, "PUT", "/api/clients/10000001", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["fields"]["street"], "Husova 5");
    assert_eq!(edited["fields"]["cislo-smlouvy"], "S-42");
    assert_eq!(edited["fields"].get("mobile"), None);
    assert_eq!(edited["updatedBy"], "agent01");
    assert_eq!(edited["icisUrl"], "https://icis.example.cz/klient/10000001");
    // The family's shared mobile now finds only Tomáš; the new e-mail finds Jana.
    let (_, found) = send(&s, "GET", "/api/clients?phone=%2B420777000111", None).await;
    assert_eq!(ids(&found), ["10000002"]);
    let (_, found) = send(&s, "GET", "/api/clients?email=jana@example.cz", None).await;
    assert_eq!(ids(&found), ["10000001"]);
    let record = s
        .audit
        .records()
        .into_iter()
        .find(|r| r.action == AuditAction::ClientUpdate)
        .unwrap();
    assert_eq!(
        record.details["fields"],
        "cislo-smlouvy,email,mobile,street"
    );
}

#[tokio::test]
async fn when_version_is_stale_should_answer_409_and_keep_the_record() {
    let s = setup().await;
    let first = json!({"version": 1, "fields": {"firstName": "Janička"}});
    assert_eq!(
        send(&s, "PUT", "/api/clients/10000001", Some(first))
            .await
            .0,
        StatusCode::OK
    );
    let stale = json!({"version": 1, "fields": {"firstName": "Jana"}});
    let (status, problem) = send(&s, "PUT", "/api/clients/10000001", Some(stale)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "client-changed");
    let stored = s.clients.get("10000001").await.unwrap().unwrap();
    assert_eq!(stored.value.fields["firstName"], "Janička");
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn when_edit_is_invalid_or_clears_a_required_field_should_answer_422() {
    let s = setup().await;
    let body = json!({"version": 1, "fields": {"birthDate": "31.12.1950", "lastName": ""}});
    let (status, problem) = send(&s, "PUT", "/api/clients/10000001", Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["fields.birthDate"]);
    let body = json!({"version": 1, "fields": {"lastName": null}});
    let (_, problem) = send(&s, "PUT", "/api/clients/10000001", Some(body)).await;
    assert_eq!(error_fields(&problem), ["fields.lastName"]);
    let body = json!({"version": 1, "fields": {"firstName": 7}});
    let (_, problem) = send(&s, "PUT", "/api/clients/10000001", Some(body)).await;
    assert_eq!(error_fields(&problem), ["fields.firstName"]);
    let body = json!({"fields": {"firstName": "A"}});
    let (status, _) = send(&s, "PUT", "/api/clients/10000001", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body = json!({"version": 1, "fields": {"firstName": "A"}});
    let (status, _) = send(&s, "PUT", "/api/clients/nobody", Some(body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(s.clients.get("10000001").await.unwrap().unwrap().version, 1);
}

#[tokio::test]
async fn when_edit_changes_nothing_should_not_bump_the_version() {
    let s = setup().await;
    let body = json!({"version": 1, "fields": {"firstName": " Jana "}});
    let (status, body) = send(&s, "PUT", "/api/clients/10000001", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], 1);
}

#[tokio::test]
async fn when_audit_log_fails_should_answer_503() {
    let mut s = setup().await;
    s.deps.audit = InMemoryAuditLog::failing();
    let (status, problem) = send(&s, "GET", "/api/clients/10000001", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem["code"], "audit-unavailable");
}
