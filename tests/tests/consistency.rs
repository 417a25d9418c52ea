//! The template is the single source of truth: these tests fail when a function crate, the
//! OpenAPI file and `infra/template.yaml` disagree. They need no running stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;
use system_tests::repo_root;

/// Every function binary, with what its code reads from the environment.
/// A crate in `functions/` that is missing here fails `when_function_crates_are_listed...`.
fn crates() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        ("http-api", http_api::ENVIRONMENT.to_vec()),
        ("ws-api", ws_api::ENVIRONMENT.to_vec()),
        ("broadcast", broadcast::ENVIRONMENT.to_vec()),
        ("ws-sweeper", ws_sweeper::ENVIRONMENT.to_vec()),
        ("cti-ingest", cti_ingest::ENVIRONMENT.to_vec()),
        ("routing-api", routing::ENVIRONMENT.to_vec()),
        (
            "routing-worker",
            [routing::ENVIRONMENT, routing::WORKER_EXTRA_ENVIRONMENT].concat(),
        ),
        ("callbacks-api", routing::CALLBACKS_API_ENVIRONMENT.to_vec()),
        ("voicemail-api", routing::VOICEMAIL_API_ENVIRONMENT.to_vec()),
        ("desk-api", desk::ENVIRONMENT.to_vec()),
        ("chat-api", chat::ENVIRONMENT.to_vec()),
        ("chat-webhook", chat::WEBHOOK_ENVIRONMENT.to_vec()),
        ("chat-inbound", chat::INBOUND_ENVIRONMENT.to_vec()),
        ("chat-outbound", chat::OUTBOUND_ENVIRONMENT.to_vec()),
        ("chat-distributor", chat::DISTRIBUTOR_ENVIRONMENT.to_vec()),
    ])
}

/// The crate folder a function binary is built from (a crate may build one function per
/// trigger type, ADR 0004).
fn crate_of(binary: &str) -> &str {
    match binary {
        "routing-api" | "routing-worker" | "callbacks-api" | "voicemail-api" => "routing",
        "desk-api" => "desk",
        "chat-api" | "chat-webhook" | "chat-inbound" | "chat-outbound" | "chat-distributor" => {
            "chat"
        }
        other => other,
    }
}

/// Every HTTP route served by code (method, path).
fn code_routes() -> BTreeSet<(String, String)> {
    http_api::ROUTES
        .iter()
        .chain(routing::ROUTES)
        .chain(routing::CALLBACK_ROUTES)
        .chain(routing::VOICEMAIL_ROUTES)
        .chain(desk::routes())
        .chain(chat::routes())
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn resources(template: &Value) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

fn of_type(template: &Value, kind: &str) -> BTreeMap<String, Value> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .collect()
}

fn env_keys(value: &Value) -> BTreeSet<String> {
    value["Environment"]["Variables"]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The logical id a `!Ref X` / `!GetAtt X.Arn` (short or long form) points at.
fn referenced_id(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) => {
            let inner = tagged.value.as_str()?;
            Some(inner.split('.').next()?.to_owned())
        }
        Value::Mapping(m) => {
            if let Some(r) = m.get("Ref") {
                return r.as_str().map(str::to_owned);
            }
            let att = m.get("Fn::GetAtt")?;
            match att {
                Value::Sequence(s) => s.first()?.as_str().map(str::to_owned),
                Value::String(s) => s.split('.').next().map(str::to_owned),
                _ => None,
            }
        }
        _ => None,
    }
}

#[test]
fn when_function_crates_are_listed_should_match_the_folders_in_functions() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = crates().keys().map(|k| crate_of(k).to_owned()).collect();
    assert_eq!(on_disk, listed);
    for name in &on_disk {
        let manifest =
            std::fs::read_to_string(repo_root().join("functions").join(name).join("Cargo.toml"))
                .unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "package and binary of functions/{name} are named {name}"
        );
    }
}

#[test]
fn when_template_is_read_should_declare_exactly_one_function_per_crate() {
    let template = template();
    let mut binaries = BTreeMap::new();
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id} builds with cargo-lambda"
        );
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names its binary"))
            .to_owned();
        assert!(
            binaries.insert(binary.clone(), id.clone()).is_none(),
            "{binary} is declared twice"
        );
    }
    let declared: BTreeSet<&str> = binaries.keys().map(String::as_str).collect();
    let crates: BTreeSet<&str> = crates().keys().copied().collect();
    assert_eq!(declared, crates, "template functions vs functions/ crates");
}

#[test]
fn when_code_reads_an_environment_variable_should_the_template_set_it() {
    let template = template();
    let globals = env_keys(&template["Globals"]["Function"]);
    let crates = crates();
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let read: BTreeSet<String> = crates[binary].iter().map(|s| s.to_string()).collect();
        let own = env_keys(&function["Properties"]);
        let set: BTreeSet<String> = own.union(&globals).cloned().collect();
        let missing: Vec<_> = read.difference(&set).collect();
        assert!(
            missing.is_empty(),
            "{id} reads {missing:?} that the template does not set"
        );
        let unused: Vec<_> = own.difference(&read).collect();
        assert!(
            unused.is_empty(),
            "{id} is given {unused:?} that its code never reads"
        );
    }
}

fn template_http_routes(template: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (_, function) in of_type(template, "AWS::Serverless::Function") {
        let Some(events) = function["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() == Some("HttpApi") {
                routes.insert((
                    event["Properties"]["Method"]
                        .as_str()
                        .unwrap()
                        .to_uppercase(),
                    event["Properties"]["Path"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    routes
}

#[test]
fn when_http_api_serves_a_route_should_template_and_openapi_declare_it() {
    let code = code_routes();
    assert_eq!(template_http_routes(&template()), code, "template vs code");

    let text = std::fs::read_to_string(repo_root().join("docs/api/openapi.yaml")).unwrap();
    let openapi: Value = serde_norway::from_str(&text).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in openapi["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "patch"].contains(&method) {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let operations: BTreeSet<(String, String)> = code
        .into_iter()
        .filter(|(method, _)| method != "ANY") // the catch-all is not an operation
        .collect();
    assert_eq!(documented, operations, "OpenAPI vs code");
}

/// The catch-all (`ANY /{proxy+}`) sends every method API Gateway has no route for to
/// http-api, which answers 405 with `Allow` for the paths other functions serve. Its list is
/// written by hand: it must name exactly the methods the functions serve on each path.
#[test]
fn when_another_function_serves_a_path_should_http_api_answer_405_with_its_methods() {
    use std::collections::BTreeMap;

    use http_api::routes::{resolve, Resolution};
    use lambda_http::http::Method;

    let own: BTreeSet<&str> = http_api::ROUTES.iter().map(|(_, path)| *path).collect();
    let mut methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (method, path) in code_routes() {
        if !own.contains(path.as_str()) {
            methods.entry(path).or_default().insert(method);
        }
    }
    for (path, served) in methods {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        match resolve(&Method::TRACE, &concrete, None) {
            Resolution::MethodNotAllowed(allowed) => {
                let allowed: BTreeSet<String> = allowed.split(", ").map(str::to_owned).collect();
                assert_eq!(allowed, served, "Allow of {path}");
            }
            other => panic!("TRACE {path}: {other:?}, not 405"),
        }
    }
}

#[test]
fn when_websocket_api_is_declared_should_route_connect_disconnect_and_default() {
    let template = template();
    let routes = of_type(&template, "AWS::ApiGatewayV2::Route");
    let keys: BTreeSet<&str> = routes
        .values()
        .filter_map(|r| r["Properties"]["RouteKey"].as_str())
        .collect();
    for key in ["$connect", "$disconnect", "$default"] {
        assert!(keys.contains(key), "route {key} missing");
    }
}

#[test]
fn when_a_queue_is_not_a_dead_letter_queue_should_it_have_a_redrive_policy() {
    let template = template();
    let queues = of_type(&template, "AWS::SQS::Queue");
    let dead_letter: BTreeSet<String> = queues
        .values()
        .filter_map(|q| referenced_id(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .collect();
    assert!(!dead_letter.is_empty());
    for (id, queue) in &queues {
        if dead_letter.contains(id) {
            continue;
        }
        let redrive = &queue["Properties"]["RedrivePolicy"];
        assert!(redrive.is_mapping(), "{id} has no RedrivePolicy");
        let max = redrive["maxReceiveCount"].as_u64().unwrap_or(0);
        assert!((1..=10).contains(&max), "{id} maxReceiveCount {max}");
    }
}

#[test]
fn when_a_function_consumes_sqs_should_it_report_partial_batch_failures() {
    let template = template();
    let mut consumers = 0;
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let Some(events) = function["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() == Some("SQS") {
                consumers += 1;
                let types = &event["Properties"]["FunctionResponseTypes"];
                assert!(
                    types.as_sequence().is_some_and(|s| s
                        .iter()
                        .any(|t| t.as_str() == Some("ReportBatchItemFailures"))),
                    "{id} SQS event lacks ReportBatchItemFailures"
                );
            }
        }
    }
    assert!(consumers >= 1);
}

#[test]
fn when_a_bucket_is_declared_should_it_be_private_and_encrypted() {
    let template = template();
    let buckets = of_type(&template, "AWS::S3::Bucket");
    assert!(!buckets.is_empty());
    for (id, bucket) in buckets {
        let p = &bucket["Properties"];
        let block = &p["PublicAccessBlockConfiguration"];
        for flag in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[flag].as_bool(), Some(true), "{id} {flag}");
        }
        assert!(
            p["BucketEncryption"]["ServerSideEncryptionConfiguration"].is_sequence(),
            "{id} is encrypted"
        );
    }
}

#[test]
fn when_sample_events_exist_should_each_be_valid_json() {
    let mut count = 0;
    let mut stack = vec![repo_root().join("events")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                count += 1;
            }
        }
    }
    assert!(count >= 8, "only {count} sample events");
}

#[test]
fn when_a_custom_domain_is_declared_should_it_require_tls_1_2() {
    // SEC-1, INT-5: the internet-facing APIs accept TLS 1.2 or newer only.
    let template = template();
    let domains = of_type(&template, "AWS::ApiGatewayV2::DomainName");
    assert!(domains.len() >= 2, "HTTP and WebSocket custom domains");
    for (id, domain) in domains {
        let configurations = domain["Properties"]["DomainNameConfigurations"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} has DomainNameConfigurations"));
        for configuration in configurations {
            assert_eq!(
                configuration["SecurityPolicy"].as_str(),
                Some("TLS_1_2"),
                "{id}"
            );
        }
    }
}

#[test]
fn when_recordings_expire_should_it_be_after_at_least_six_months() {
    // REC-3: recordings are kept at least 6 months (183 days covers any six calendar months).
    let template = template();
    let bucket = &resources(&template)["RecordingsBucket"];
    let rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    let expirations: Vec<u64> = rules
        .iter()
        .filter_map(|r| r["ExpirationInDays"].as_u64())
        .collect();
    assert!(!expirations.is_empty(), "recordings expire (GDPR)");
    assert!(
        expirations.iter().all(|days| *days >= 183),
        "{expirations:?}"
    );
}

#[test]
fn when_a_queue_is_fifo_should_its_name_end_in_fifo_and_its_dead_letter_queue_be_fifo() {
    // SQS refuses a FIFO queue whose name lacks `.fifo`, and a FIFO queue can only redrive to a
    // FIFO dead-letter queue.
    let template = template();
    let queues = of_type(&template, "AWS::SQS::Queue");
    let is_fifo = |queue: &Value| queue["Properties"]["FifoQueue"].as_bool() == Some(true);
    let mut fifo_queues = 0;
    for (id, queue) in &queues {
        if !is_fifo(queue) {
            continue;
        }
        fifo_queues += 1;
        let name = match &queue["Properties"]["QueueName"] {
            Value::Tagged(tagged) => tagged.value.as_str().unwrap_or_default().to_owned(),
            Value::String(name) => name.clone(),
            other => panic!("{id} has no QueueName: {other:?}"),
        };
        assert!(name.ends_with(".fifo"), "{id}: {name}");
        if let Some(dead_letter) =
            referenced_id(&queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        {
            assert!(
                is_fifo(&queues[&dead_letter]),
                "{id} redrives to {dead_letter}, which is not FIFO"
            );
        }
    }
    assert!(
        fifo_queues >= 4,
        "the CTI event and command queues and their DLQs"
    );
    let cti = &resources(&template)["CtiIngestFunction"];
    let source = &cti["Properties"]["Events"]["CtiEvents"]["Properties"];
    assert_eq!(
        referenced_id(&source["Queue"]).as_deref(),
        Some("CtiEventQueue")
    );
    assert!(is_fifo(&queues["CtiEventQueue"]));
    assert_eq!(
        queues["CtiEventQueue"]["Properties"]["ContentBasedDeduplication"].as_bool(),
        Some(false),
        "the relay's eventId is the deduplication id"
    );
}

#[test]
fn when_the_demo_configuration_is_read_should_every_document_be_valid_and_its_references_exist() {
    use linka_shared::admin_config::{
        members_collection, parse_document, BreakCode, CallCategory, ConfigEntity, IcisLink, Queue,
        TransferGroup, TransferLine,
    };
    use linka_shared::routing::{InboundPlan, QueueRouting};
    use linka_shared::routing_settings::{self, RoutingDevices};
    let text =
        std::fs::read_to_string(system_tests::repo_root().join("localstack/demo-config.json"))
            .unwrap();
    let demo: serde_json::Value = serde_json::from_str(&text).unwrap();
    let template = template();
    assert!(
        resources(&template).contains_key(demo["configTable"].as_str().unwrap_or_default()),
        "configTable names a template resource"
    );
    let documents = demo["documents"].as_array().unwrap();
    let keys: BTreeSet<(String, String)> = documents
        .iter()
        .map(|d| {
            (
                d["collection"].as_str().unwrap().to_owned(),
                d["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(keys.len(), documents.len(), "no duplicate keys");
    let identities: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(system_tests::repo_root().join("localstack/identities.json"))
            .unwrap(),
    )
    .unwrap();
    let users: BTreeSet<&str> = identities["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();

    fn check<T: ConfigEntity>(
        entry: &serde_json::Value,
        keys: &BTreeSet<(String, String)>,
        users: &BTreeSet<&str>,
    ) {
        let document: T = parse_document(entry["document"].as_object().unwrap().clone())
            .unwrap_or_else(|e| panic!("{entry}: {e:?}"));
        assert_eq!(document.id(), entry["id"].as_str().unwrap());
        assert!(
            document.validate().is_empty(),
            "{entry}: {:?}",
            document.validate()
        );
        for reference in document.references() {
            let found = if reference.is_user {
                users.contains(reference.id.as_str())
            } else {
                keys.contains(&(reference.collection.clone(), reference.id.clone()))
            };
            assert!(found, "{entry}: {} points nowhere", reference.field);
        }
    }

    let check_references =
        |entry: &serde_json::Value,
         errors: Vec<linka_shared::problem::FieldError>,
         references: Vec<linka_shared::admin_config::Reference>| {
            assert!(errors.is_empty(), "{entry}: {errors:?}");
            for reference in references {
                let found = if reference.is_user {
                    users.contains(reference.id.as_str())
                } else {
                    keys.contains(&(reference.collection.clone(), reference.id.clone()))
                };
                assert!(found, "{entry}: {} points nowhere", reference.field);
            }
        };
    let mut seen = BTreeSet::new();
    for entry in documents {
        let collection = entry["collection"].as_str().unwrap();
        match collection {
            "queue" => check::<Queue>(entry, &keys, &users),
            "breakCode" => check::<BreakCode>(entry, &keys, &users),
            "callCategory" => check::<CallCategory>(entry, &keys, &users),
            "transferGroup" => check::<TransferGroup>(entry, &keys, &users),
            "transferLine" => check::<TransferLine>(entry, &keys, &users),
            "ivr" => check::<linka_shared::ivr::IvrTree>(entry, &keys, &users),
            "setting" => {
                let link: IcisLink = serde_json::from_value(entry["document"].clone()).unwrap();
                assert!(link.validate().is_empty());
            }
            "queueRouting" => {
                // As the admin API would store it: the QueueRouting fields plus queueId.
                let mut body = entry["document"].as_object().unwrap().clone();
                let queue_id = entry["id"].as_str().unwrap();
                assert_eq!(
                    body.get("queueId"),
                    Some(&serde_json::json!(queue_id)),
                    "{entry}"
                );
                body.remove("queueId");
                let settings = routing_settings::parse_queue_routing(queue_id, body)
                    .unwrap_or_else(|e| panic!("{entry}: {e:?}"));
                check_references(entry, settings.validate(), settings.references());
                // And as the routing function reads it.
                let _: QueueRouting = serde_json::from_value(entry["document"].clone()).unwrap();
            }
            "routingSettings" => {
                let body = entry["document"].as_object().unwrap().clone();
                match entry["id"].as_str().unwrap() {
                    routing_settings::PLAN_ID => {
                        let plan: InboundPlan = routing_settings::parse_strict(body)
                            .unwrap_or_else(|e| panic!("{entry}: {e:?}"));
                        check_references(
                            entry,
                            routing_settings::validate_plan(&plan),
                            routing_settings::plan_references(&plan),
                        );
                    }
                    routing_settings::DEVICES_ID => {
                        let devices: RoutingDevices = routing_settings::parse_strict(body)
                            .unwrap_or_else(|e| panic!("{entry}: {e:?}"));
                        check_references(entry, devices.validate(), devices.references());
                        // Every demo queue and IVR tree has a device.
                        for (collection, mapped) in
                            [("queue", &devices.queues), ("ivr", &devices.ivrs)]
                        {
                            for (c, id) in &keys {
                                if c == collection {
                                    assert!(mapped.contains_key(id), "no device for {c}/{id}");
                                }
                            }
                        }
                    }
                    other => panic!("unknown routing setting {other}"),
                }
            }
            members if members.starts_with("member#") => {
                let queue = &members["member#".len()..];
                assert_eq!(members, members_collection(queue));
                assert!(
                    keys.contains(&("queue".to_owned(), queue.to_owned())),
                    "{entry}"
                );
                assert!(users.contains(entry["id"].as_str().unwrap()), "{entry}");
                assert_eq!(entry["document"]["username"], entry["id"]);
                assert_eq!(entry["document"]["queueId"], queue);
            }
            other => panic!("unknown collection {other}"),
        }
        seen.insert(collection.split('#').next().unwrap_or_default().to_owned());
    }
    assert!(
        seen.len() >= 9,
        "every kind of document has a demo: {seen:?}"
    );
    for setting in [routing_settings::PLAN_ID, routing_settings::DEVICES_ID] {
        assert!(
            keys.contains(&(
                routing_settings::ROUTING_SETTINGS_COLLECTION.to_owned(),
                setting.to_owned()
            )),
            "the demo has routingSettings/{setting}"
        );
    }
}
