use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::{json, Map};

use super::*;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
}

impl Client {
    fn with_id(mut self, id: &str) -> Self {
        self.client_id = id.into();
        self
    }
}

fn contract_field() -> CustomClientField {
    crate::admin_config::parse_document(object(json!({
        "key": "cislo-smlouvy",
        "label": {"cs": "Číslo smlouvy", "en": "Contract number"},
        "type": "text",
        "order": 200
    })))
    .unwrap()
}

#[test]
fn when_built_in_fields_are_listed_should_be_at_least_fifteen_with_unique_keys() {
    let fields = built_in_fields();
    assert!(fields.len() >= 15);
    let mut keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), fields.len());
    assert!(fields.iter().all(|f| f.built_in && !f.label.cs.is_empty()));
    let select = fields.iter().find(|f| f.key == keys::GENDER).unwrap();
    assert_eq!(select.field_type, FieldType::Select);
    assert_eq!(select.options.len(), 2);
}

#[test]
fn when_definitions_are_serialised_should_match_the_contract() {
    let fields = field_definitions(&[]);
    let last = serde_json::to_value(fields.iter().find(|f| f.key == "lastName").unwrap()).unwrap();
    assert_eq!(
        last,
        json!({"key": "lastName", "label": {"cs": "Příjmení", "en": "Last name"},
               "type": "text", "required": true, "editable": true, "inCard": true,
               "order": 20, "builtIn": true})
    );
}

#[test]
fn when_custom_fields_are_added_should_be_listed_by_order_unless_inactive() {
    let mut inactive = contract_field();
    inactive.key = "stary".into();
    inactive.active = false;
    let fields = field_definitions(&[contract_field(), inactive]);
    assert_eq!(fields.len(), built_in_fields().len() + 1);
    assert_eq!(fields.last().unwrap().key, "cislo-smlouvy");
    assert!(!fields.last().unwrap().built_in);
    let orders: Vec<u16> = fields.iter().map(|f| f.order).collect();
    let mut sorted = orders.clone();
    sorted.sort_unstable();
    assert_eq!(orders, sorted);
}

#[test]
fn when_custom_field_is_invalid_should_name_each_field() {
    let mut field = contract_field();
    field.key = "email".into();
    field.label.cs = " ".into();
    field.options = vec![FieldOption {
        value: "a".into(),
        label: Label::new("A", "A"),
    }];
    field.order = 1000;
    let problems: Vec<String> = field.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(problems, ["key", "label.cs", "options", "order"]);
    assert!(contract_field().validate().is_empty());
}

#[test]
fn when_custom_select_has_no_or_duplicate_options_should_be_refused() {
    let mut field = contract_field();
    field.field_type = FieldType::Select;
    assert_eq!(field.validate()[0].field, "options");
    let choice = FieldOption {
        value: "a".into(),
        label: Label::new("A", "A"),
    };
    field.options = vec![choice.clone(), choice];
    assert_eq!(field.validate()[0].field, "options[1].value");
}

#[test]
fn when_custom_field_body_has_unknown_member_should_name_it() {
    let error = crate::admin_config::parse_document::<CustomClientField>(object(json!({
        "key": "x", "label": {"cs": "X", "en": "X"}, "type": "colour"
    })))
    .unwrap_err();
    assert_eq!(error.field, "type");
}

#[test]
fn when_phone_is_typed_should_normalise_to_e164() {
    for (input, e164) in [
        ("777 123 456", "+420777123456"),
        ("+420 777 123 456", "+420777123456"),
        ("00420-777-123-456", "+420777123456"),
        ("224 123 456", "+420224123456"),
        ("+49 30 1234567", "+49301234567"),
        ("0049 (30) 1234567", "+49301234567"),
        (" 420777123456", "+420777123456"),
    ] {
        assert_eq!(normalise_phone(input).as_deref(), Ok(e164), "{input}");
    }
    for bad in [
        "",
        "12345",
        "800123456",
        "+420 800 123 456",
        "+4912",
        "777 123 45a",
    ] {
        assert!(normalise_phone(bad).is_err(), "{bad}");
    }
}

#[test]
fn when_email_is_checked_should_accept_plausible_addresses_only() {
    assert!(is_plausible_email("jana.novakova@seznam.cz"));
    for bad in [
        "jana",
        "jana@",
        "@seznam.cz",
        "jana@seznam",
        "ja na@x.cz",
        "a@b@c.cz",
    ] {
        assert!(!is_plausible_email(bad), "{bad}");
    }
    assert_eq!(
        email_key(" Jana.Novakova@Seznam.CZ "),
        "jana.novakova@seznam.cz"
    );
}

#[test]
fn when_edit_is_valid_should_return_stored_forms() {
    let definitions = field_definitions(&[contract_field()]);
    let changes = validate_changes(
        &definitions,
        &object(json!({
            "firstName": "  Jana ",
            "mobile": "777 000 111",
            "email": "Jana@Seznam.cz",
            "insuranceNumber": "780101/1230",
            "ico": "25596641",
            "postalCode": "11000",
            "birthDate": "1978-01-01",
            "gender": "F",
            "note": "line one\nline two\n",
            "cislo-smlouvy": "S-42",
            "company": "",
            "street": null
        })),
    )
    .unwrap();
    let get = |key: &str| changes.get(key).cloned().unwrap();
    assert_eq!(get("firstName").as_deref(), Some("Jana"));
    assert_eq!(get("mobile").as_deref(), Some("+420777000111"));
    assert_eq!(get("email").as_deref(), Some("Jana@Seznam.cz"));
    assert_eq!(get("insuranceNumber").as_deref(), Some("7801011230"));
    assert_eq!(get("postalCode").as_deref(), Some("110 00"));
    assert_eq!(get("note").as_deref(), Some("line one\nline two"));
    assert_eq!(get("cislo-smlouvy").as_deref(), Some("S-42"));
    assert_eq!(get("company"), None);
    assert_eq!(get("street"), None);
}

#[test]
fn when_edit_is_invalid_should_name_every_field() {
    let definitions = field_definitions(&[]);
    let errors = validate_changes(
        &definitions,
        &object(json!({
            "shoeSize": "42",
            "mobile": "12345",
            "email": "nope",
            "birthDate": "1.1.1978",
            "gender": "X",
            "insuranceNumber": "7801011231",
            "ico": "25596642",
            "firstName": 42,
            "lastName": "a\u{0007}b"
        })),
    )
    .unwrap_err();
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "fields.birthDate",
            "fields.email",
            "fields.firstName",
            "fields.gender",
            "fields.ico",
            "fields.insuranceNumber",
            "fields.lastName",
            "fields.mobile",
            "fields.shoeSize"
        ]
    );
    let unknown = errors
        .iter()
        .find(|e| e.field == "fields.shoeSize")
        .unwrap();
    assert_eq!(unknown.message, "is not a client field");
}

#[test]
fn when_field_is_not_editable_should_be_refused() {
    let mut field = contract_field();
    field.editable = false;
    let errors = validate_changes(
        &field_definitions(&[field]),
        &object(json!({"cislo-smlouvy": "1"})),
    )
    .unwrap_err();
    assert_eq!(errors[0].message, "cannot be edited");
}

#[test]
fn when_required_field_is_empty_should_be_reported() {
    let mut client = Client::manual(uuid::Uuid::nil(), BTreeMap::new(), "agent01", now());
    assert_eq!(client.client_id, "M-00000000-0000-0000-0000-000000000000");
    let missing = missing_required(&field_definitions(&[]), &client);
    assert_eq!(missing[0].field, "fields.lastName");
    client.apply(
        BTreeMap::from([("lastName".to_owned(), Some("Dvořák".to_owned()))]),
        "agent02",
        now(),
    );
    assert!(missing_required(&field_definitions(&[]), &client).is_empty());
    assert_eq!(client.updated_by, "agent02");
}

#[test]
fn when_index_attributes_are_derived_should_be_sparse_and_lower_case_the_email() {
    let mut client = Client::manual(uuid::Uuid::nil(), BTreeMap::new(), "a", now());
    assert!(index_attributes(&client).is_empty());
    client
        .fields
        .insert("mobile".into(), "+420777000111".into());
    client
        .fields
        .insert("email".into(), "Jana@Seznam.CZ".into());
    client.fields.insert("phone".into(), String::new());
    assert_eq!(
        index_attributes(&client),
        vec![
            ("mobile", "+420777000111".to_owned()),
            ("emailLower", "jana@seznam.cz".to_owned())
        ]
    );
}

#[test]
fn when_matches_are_sorted_should_order_by_name_and_drop_duplicates() {
    let client = |id: &str, last: &str, first: &str| Versioned {
        value: Client {
            client_id: id.into(),
            icis_id: Some(id.into()),
            status: "standard".into(),
            fields: BTreeMap::from([
                ("lastName".to_owned(), last.to_owned()),
                ("firstName".to_owned(), first.to_owned()),
            ]),
            updated_at: now(),
            updated_by: "icis".into(),
        },
        version: 1,
    };
    let mut matches = vec![
        client("2", "Dvořáková", "Jana"),
        client("1", "Dvořák", "Tomáš"),
        client("2", "Dvořáková", "Jana"),
    ];
    sort_matches(&mut matches);
    let ids: Vec<&str> = matches.iter().map(|m| m.value.client_id.as_str()).collect();
    assert_eq!(ids, ["1", "2"]);
}

#[test]
fn when_routing_asks_for_the_callers_status_should_pick_the_strongest() {
    let client = |id: &str, status: &str| Versioned {
        value: Client {
            status: status.into(),
            ..Client::manual(uuid::Uuid::nil(), BTreeMap::new(), "icis", now())
        }
        .with_id(id),
        version: 1,
    };
    assert_eq!(routing_facts(&[]), None);
    let one = routing_facts(&[client("1", "debtor")]).unwrap();
    assert_eq!(
        (one.client_id.as_deref(), one.status.as_deref()),
        (Some("1"), Some("debtor"))
    );
    let family = routing_facts(&[
        client("1", "deceased"),
        client("2", "vip"),
        client("3", "standard"),
    ])
    .unwrap();
    assert_eq!(
        (family.client_id, family.status.as_deref()),
        (None, Some("vip"))
    );
    let widow = routing_facts(&[client("1", "deceased"), client("2", "standard")]).unwrap();
    assert_eq!(widow.status.as_deref(), Some("standard"));
}

#[test]
fn when_client_is_serialised_should_be_camel_case_with_rfc3339_time() {
    let client = Client::manual(uuid::Uuid::nil(), BTreeMap::new(), "agent01", now());
    let value = serde_json::to_value(&client).unwrap();
    assert_eq!(value["updatedAt"], "2026-11-28T09:00:00.000Z");
    assert_eq!(value["icisId"], Value::Null);
    let back: Client = serde_json::from_value(value).unwrap();
    assert_eq!(back, client);
}

#[test]
fn when_ids_and_statuses_are_checked_should_accept_their_shapes() {
    assert!(is_valid_client_id("10000001"));
    assert!(is_valid_client_id("M-00000000-0000-0000-0000-000000000000"));
    for bad in ["", "a/b", "a b", &"1".repeat(65)] {
        assert!(!is_valid_client_id(bad), "{bad}");
    }
    for status in KNOWN_STATUSES {
        assert!(is_valid_status(status));
    }
    for bad in ["", "VIP", "1vip", "a b"] {
        assert!(!is_valid_status(bad), "{bad}");
    }
    assert_eq!(
        insurance_search_key("780101/1230").as_deref(),
        Some("7801011230")
    );
    assert_eq!(insurance_search_key("78010"), None);
}

proptest! {
    #[test]
    fn when_any_czech_mobile_is_formatted_should_normalise_to_the_same_e164(
        rest in 0u32..1_000_000, prefix in prop::sample::select(vec!["601", "722", "777", "739"]),
        spaced in any::<bool>(), international in any::<bool>()
    ) {
        let national = format!("{prefix}{rest:06}");
        let typed = match (spaced, international) {
            (true, true) => format!("+420 {} {} {}", &national[..3], &national[3..6], &national[6..]),
            (true, false) => format!("{} {} {}", &national[..3], &national[3..6], &national[6..]),
            (false, true) => format!("00420{national}"),
            (false, false) => national.clone(),
        };
        prop_assert_eq!(normalise_phone(&typed), Ok(format!("+420{national}")));
    }

    #[test]
    fn when_any_string_is_validated_as_a_field_should_never_panic(text in ".{0,300}") {
        let definitions = field_definitions(&[]);
        for definition in &definitions {
            let mut changes = Map::new();
            changes.insert(definition.key.clone(), Value::String(text.clone()));
            let _ = validate_changes(&definitions, &changes);
        }
    }
}
