//! DynamoDB adapter of [`ContactRecordStore`]: `ContactsTable` (pk `contactId`, sk `item`).
//!
//! - `item = "contact"`: the record, with `version` (every write is conditional on the version
//!   read);
//! - `item = "note#000001"`, …: the note versions, put once with `attribute_not_exists` and never
//!   changed (DESK-4);
//! - `item = "agent#<username>"`, `"client#<clientId>"`: one index entry per owner (the agents who
//!   took part, the identified client), a copy of the record with `owner` (= the item) and
//!   `ownerSort` = `<startedAt>#<contactId>` for the GSI `byOwner` (projection ALL) and the folded
//!   `searchText` for the history's full-text filter.
//!
//! A record, its new note and its index entries are written in one `TransactWriteItems`, so the
//! histories never show a state the record does not have; a changed client deletes the old
//! client's entry in the same transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::transact_write_items::TransactWriteItemsError,
    types::{AttributeValue, Delete, Put, TransactWriteItem},
    Client,
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    contact_records::{
        ContactRecord, ContactRecordStore, ContactWrite, ContactWriteError, HistoryQuery,
        NoteVersion,
    },
    paging::{InvalidCursor, Page, PageCursor},
    ports::{StoreError, Versioned},
    time::format_rfc3339,
};

use super::dynamodb::next_cursor;

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

const OWNER_INDEX: &str = "byOwner";
const RECORD_ITEM: &str = "contact";
/// Index pages read for one history page when the text filter drops most entries.
const MAX_PAGES_PER_CALL: usize = 25;
const CURSOR_ATTRIBUTES: [&str; 4] = ["contactId", "item", "owner", "ownerSort"];

fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        entity: "contact record",
        source: Box::new(error),
    }
}

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The sort key of note version `version`: zero-padded, so versions sort in order.
pub(crate) fn note_item_key(version: u32) -> String {
    format!("note#{version:06}")
}

fn version_of(item: &Item) -> Result<u64, StoreError> {
    match item.get("version") {
        None => Ok(0),
        Some(AttributeValue::N(number)) => number.parse().map_err(corrupt),
        Some(_) => Err(StoreError::Corrupt {
            entity: "contact record",
            source: "version is not a number".into(),
        }),
    }
}

/// The record of a `contact` or index item (the extra attributes are ignored).
fn read_record(mut item: Item) -> Result<Versioned<ContactRecord>, StoreError> {
    let version = version_of(&item)?;
    for extra in ["item", "owner", "ownerSort", "searchText", "version"] {
        item.remove(extra);
    }
    let value: ContactRecord = from_item(item).map_err(corrupt)?;
    Ok(Versioned { value, version })
}

/// The `contact` item at the record's next version.
pub(crate) fn record_item(record: &Versioned<ContactRecord>) -> Result<Item, StoreError> {
    let mut item: Item = to_item(&record.value).map_err(corrupt)?;
    item.insert("item".into(), string(RECORD_ITEM));
    item.insert(
        "version".into(),
        AttributeValue::N((record.version + 1).to_string()),
    );
    Ok(item)
}

/// The index entry of `owner_key` for the record: a copy without the notes' search text, with
/// the GSI keys and the folded search text.
pub(crate) fn owner_item(
    record: &Versioned<ContactRecord>,
    owner_key: &str,
) -> Result<Item, StoreError> {
    let mut item = record_item(record)?;
    item.remove("notesText");
    item.insert("item".into(), string(owner_key));
    item.insert("owner".into(), string(owner_key));
    item.insert("ownerSort".into(), string(&record.value.owner_sort()));
    item.insert("searchText".into(), string(&record.value.search_text()));
    Ok(item)
}

fn note_item(contact_id: &str, note: &NoteVersion) -> Result<Item, StoreError> {
    let mut item: Item = to_item(note).map_err(corrupt)?;
    item.insert("contactId".into(), string(contact_id));
    item.insert("item".into(), string(&note_item_key(note.version)));
    Ok(item)
}

/// [`ContactRecordStore`] on `ContactsTable`.
#[derive(Debug, Clone)]
pub struct DynamoContactRecordStore {
    client: Client,
    table: String,
}

impl DynamoContactRecordStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk_config), table)
    }

    fn put(
        &self,
        item: Item,
        condition: Option<(&str, Option<u64>)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some((expression, version)) = condition {
            put = put
                .condition_expression(expression)
                .expression_attribute_names("#contactId", "contactId");
            if let Some(version) = version {
                put = put
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(
                        ":version",
                        AttributeValue::N(version.to_string()),
                    );
            }
        }
        let put = put
            .build()
            .map_err(|error| backend("build a contact record write", error))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The `ExclusiveStartKey` of a history cursor, checked to belong to `owner`.
    fn start_key(cursor: Option<&PageCursor>, owner: &str) -> Result<Option<Item>, StoreError> {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        cursor.expect_attributes(&CURSOR_ATTRIBUTES)?;
        let key = cursor.key();
        if key.get("owner").map(String::as_str) != Some(owner)
            || key.get("item").map(String::as_str) != Some(owner)
            || key.values().any(String::is_empty)
        {
            return Err(InvalidCursor("not a cursor of this listing").into());
        }
        Ok(Some(
            key.iter()
                .map(|(name, value)| (name.clone(), string(value)))
                .collect(),
        ))
    }
}

#[async_trait]
impl ContactRecordStore for DynamoContactRecordStore {
    async fn get(&self, contact_id: &str) -> Result<Option<Versioned<ContactRecord>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("contactId", string(contact_id))
            .key("item", string(RECORD_ITEM))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| {
                backend(
                    "read a contact record",
                    aws_sdk_dynamodb::Error::from(error),
                )
            })?;
        output.item.map(read_record).transpose()
    }

    async fn notes(&self, contact_id: &str) -> Result<Vec<NoteVersion>, StoreError> {
        let mut notes = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", "contactId")
                .expression_attribute_names("#sk", "item")
                .expression_attribute_values(":pk", string(contact_id))
                .expression_attribute_values(":prefix", string("note#"))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    backend("read contact notes", aws_sdk_dynamodb::Error::from(error))
                })?;
            for mut item in output.items.unwrap_or_default() {
                item.remove("contactId");
                item.remove("item");
                notes.push(from_item::<NoteVersion>(item).map_err(corrupt)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(notes),
            }
        }
    }

    async fn save(&self, write: &ContactWrite) -> Result<(), ContactWriteError> {
        let record = &write.record;
        let contact_id = &record.value.contact_id;
        let mut items = vec![if record.version == 0 {
            self.put(
                record_item(record)?,
                Some(("attribute_not_exists(#contactId)", None)),
            )?
        } else {
            self.put(
                record_item(record)?,
                Some((
                    "attribute_exists(#contactId) AND #version = :version",
                    Some(record.version),
                )),
            )?
        }];
        if let Some(note) = &write.note {
            items.push(self.put(
                note_item(contact_id, note)?,
                Some(("attribute_not_exists(#contactId)", None)),
            )?);
        }
        for owner in record.value.owners() {
            items.push(self.put(owner_item(record, &owner.key())?, None)?);
        }
        for owner in &write.removed_owners {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("contactId", string(contact_id))
                .key("item", string(&owner.key()))
                .build()
                .map_err(|error| backend("build a contact index delete", error))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(error) = result else {
            return Ok(());
        };
        let conflict = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                cancelled.cancellation_reasons().iter().any(|reason| {
                    matches!(
                        reason.code(),
                        Some("ConditionalCheckFailed" | "TransactionConflict")
                    )
                })
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
            _ => false,
        };
        if conflict {
            return Err(ContactWriteError::Conflict);
        }
        Err(backend(
            "store a contact record",
            aws_sdk_dynamodb::Error::from(error),
        )
        .into())
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Page<ContactRecord>, StoreError> {
        let owner = query.owner.key();
        let mut start = Self::start_key(query.cursor.as_ref(), &owner)?;
        let limit = query.limit.clamp(1, 100);
        let (condition, range) = match (query.from, query.to) {
            (Some(from), Some(to)) => (
                "#owner = :owner AND #sort BETWEEN :from AND :to",
                vec![
                    (":from", format_rfc3339(from)),
                    (":to", format!("{}#~", format_rfc3339(to))),
                ],
            ),
            (Some(from), None) => (
                "#owner = :owner AND #sort >= :from",
                vec![(":from", format_rfc3339(from))],
            ),
            (None, Some(to)) => (
                "#owner = :owner AND #sort <= :to",
                vec![(":to", format!("{}#~", format_rfc3339(to)))],
            ),
            (None, None) => ("#owner = :owner", Vec::new()),
        };
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES_PER_CALL {
            let remaining = i32::try_from(limit - found.len()).unwrap_or(100);
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OWNER_INDEX)
                .scan_index_forward(query.oldest_first)
                .limit(remaining)
                .key_condition_expression(condition)
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", string(&owner))
                .set_exclusive_start_key(start.take());
            if !range.is_empty() {
                request = request.expression_attribute_names("#sort", "ownerSort");
            }
            for (name, value) in &range {
                request = request.expression_attribute_values(*name, string(value));
            }
            let mut filters = Vec::new();
            if let Some(text) = query.text.as_deref().filter(|text| !text.is_empty()) {
                filters.push("contains(#search, :text)".to_owned());
                request = request
                    .expression_attribute_names("#search", "searchText")
                    .expression_attribute_values(":text", string(text));
            }
            if !query.channels.is_empty() {
                let mut names = Vec::new();
                for (index, channel) in query.channels.iter().enumerate() {
                    let name = format!(":channel{index}");
                    request = request.expression_attribute_values(&name, string(channel.as_str()));
                    names.push(name);
                }
                filters.push(format!("#channel IN ({})", names.join(", ")));
                request = request.expression_attribute_names("#channel", "channel");
            }
            if !filters.is_empty() {
                request = request.filter_expression(filters.join(" AND "));
            }
            let output = request.send().await.map_err(|error| {
                backend(
                    "query a contact history",
                    aws_sdk_dynamodb::Error::from(error),
                )
            })?;
            for item in output.items.unwrap_or_default() {
                found.push(read_record(item)?.value);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(Page::last(found)),
            }
            if found.len() >= limit {
                break;
            }
        }
        Ok(Page {
            items: found,
            next_cursor: next_cursor(start, "contact record")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::contact_records::{ContactRecordUpdate, CtiProgress, Direction, Owner};

    fn record() -> ContactRecord {
        let update = ContactRecordUpdate {
            contact_id: "prg-1:1:1".into(),
            call_key: "prg-1/c1".into(),
            progress: CtiProgress {
                events: 3,
                done: false,
            },
            channel: crate::contacts::Channel::Voice,
            direction: Direction::Inbound,
            number: Some("+420777123456".into()),
            dialled: Some("4000".into()),
            queue_id: Some("kkc-obecne".into()),
            agents: vec!["agent01".into()],
            started_at: Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap(),
            answered_at: None,
            ended_at: None,
            outcome: None,
        };
        let mut record = ContactRecord::from_update(&update);
        record
            .set_client("10000001", Some("Jana Nováková".into()))
            .unwrap();
        record
    }

    #[test]
    fn when_a_record_is_stored_should_carry_the_version_and_index_keys() {
        let versioned = Versioned {
            value: record(),
            version: 4,
        };
        let item = record_item(&versioned).unwrap();
        assert_eq!(item["item"], string("contact"));
        assert_eq!(item["version"], AttributeValue::N("5".into()));
        let entry = owner_item(&versioned, &Owner::Client("10000001".into()).key()).unwrap();
        assert_eq!(entry["owner"], string("client#10000001"));
        assert_eq!(entry["item"], string("client#10000001"));
        assert_eq!(
            entry["ownerSort"],
            string("2026-11-27T08:00:00.000Z#prg-1:1:1")
        );
        assert!(
            matches!(&entry["searchText"], AttributeValue::S(text) if text.contains("novakova"))
        );
        // Both read back as the record.
        assert_eq!(read_record(item).unwrap().value, versioned.value);
        assert_eq!(read_record(entry).unwrap().version, 5);
    }

    /// Against a DynamoDB emulator (moto): `CONTACTS_DYNAMODB_ENDPOINT=http://127.0.0.1:4612
    /// cargo test -p linka-shared contact_records_dynamodb -- --ignored`.
    #[tokio::test]
    #[ignore = "needs a DynamoDB emulator at CONTACTS_DYNAMODB_ENDPOINT"]
    async fn when_stored_in_dynamodb_should_version_notes_move_the_client_and_page_histories() {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let endpoint = std::env::var("CONTACTS_DYNAMODB_ENDPOINT").unwrap();
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("eu-central-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build();
        let client = Client::from_conf(config);
        let table = format!("contacts-{}", uuid::Uuid::new_v4());
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        client
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["contactId", "item", "owner", "ownerSort"]
                    .into_iter()
                    .map(attribute)
                    .collect(),
            ))
            .key_schema(key("contactId", KeyType::Hash))
            .key_schema(key("item", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(OWNER_INDEX)
                    .key_schema(key("owner", KeyType::Hash))
                    .key_schema(key("ownerSort", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let store = DynamoContactRecordStore::new(client, &table);
        // A new record, then a note on it.
        let mut first = record();
        store
            .save(&ContactWrite::of(None, first.clone()))
            .await
            .unwrap();
        let stored = store.get("prg-1:1:1").await.unwrap().unwrap();
        assert_eq!((stored.version, &stored.value), (1, &first));
        let note = first
            .add_note("Přeplatek", None, "agent01", Utc::now())
            .unwrap();
        store
            .save(&ContactWrite::of(Some(&stored), first.clone()).with_note(note.clone()))
            .await
            .unwrap();
        // A stale version or an existing note version is a conflict.
        assert!(matches!(
            store
                .save(&ContactWrite::of(Some(&stored), first.clone()))
                .await,
            Err(ContactWriteError::Conflict)
        ));
        assert_eq!(store.notes("prg-1:1:1").await.unwrap(), [note]);
        // The client changes: the old client's history loses the record.
        let stored = store.get("prg-1:1:1").await.unwrap().unwrap();
        let mut moved = stored.value.clone();
        moved.set_client("10000002", None).unwrap();
        store
            .save(&ContactWrite::of(Some(&stored), moved))
            .await
            .unwrap();
        let history = |owner: Owner, text: Option<&str>| HistoryQuery {
            owner,
            from: None,
            to: None,
            text: text.map(str::to_owned),
            channels: Vec::new(),
            oldest_first: false,
            limit: 2,
            cursor: None,
        };
        let old = store
            .history(&history(Owner::Client("10000001".into()), None))
            .await
            .unwrap();
        assert!(old.items.is_empty());
        let new = store
            .history(&history(Owner::Client("10000002".into()), None))
            .await
            .unwrap();
        assert_eq!(new.items.len(), 1);
        // An agent's history pages newest first, with the text filter.
        for minute in 1..=4 {
            let mut other = record();
            other.contact_id = format!("prg-1:1:1{minute}");
            other.started_at += chrono::Duration::minutes(minute);
            store.save(&ContactWrite::of(None, other)).await.unwrap();
        }
        let page = store
            .history(&history(Owner::Agent("agent01".into()), None))
            .await
            .unwrap();
        let ids: Vec<&str> = page.items.iter().map(|r| r.contact_id.as_str()).collect();
        assert_eq!(ids, ["prg-1:1:14", "prg-1:1:13"]);
        let mut query = history(Owner::Agent("agent01".into()), None);
        query.cursor = page.next_cursor;
        let page = store.history(&query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|r| r.contact_id.as_str()).collect();
        assert_eq!(ids, ["prg-1:1:12", "prg-1:1:11"]);
        let found = store
            .history(&history(Owner::Agent("agent01".into()), Some("preplatek")))
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1);
        assert_eq!(found.items[0].contact_id, "prg-1:1:1");
        assert_eq!(found.next_cursor, None);
        // The day's listing (the ICIS export) pages oldest first, filtered by channel.
        let mut sms = record();
        sms.contact_id = "chat:s1".into();
        sms.channel = crate::contacts::Channel::Sms;
        sms.started_at += chrono::Duration::minutes(2);
        store.save(&ContactWrite::of(None, sms)).await.unwrap();
        let day = Owner::Day(crate::time::to_prague(record().started_at).date_naive());
        let mut query = history(day.clone(), None);
        query.oldest_first = true;
        let page = store.history(&query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|r| r.contact_id.as_str()).collect();
        assert_eq!(ids, ["prg-1:1:1", "prg-1:1:11"]);
        query.cursor = page.next_cursor;
        let page = store.history(&query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|r| r.contact_id.as_str()).collect();
        assert_eq!(ids, ["chat:s1", "prg-1:1:12"]);
        let mut query = history(day, None);
        query.channels = vec![
            crate::contacts::Channel::Sms,
            crate::contacts::Channel::Email,
        ];
        let page = store.history(&query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|r| r.contact_id.as_str()).collect();
        assert_eq!(ids, ["chat:s1"]);
    }

    #[test]
    fn when_note_versions_are_keyed_should_sort_in_order() {
        assert_eq!(note_item_key(1), "note#000001");
        assert!(note_item_key(9) < note_item_key(10));
    }

    #[test]
    fn when_a_cursor_is_of_another_owner_should_refuse_it() {
        let cursor = PageCursor::from_key(
            [
                ("contactId".to_owned(), "c".to_owned()),
                ("item".to_owned(), "agent#a".to_owned()),
                ("owner".to_owned(), "agent#a".to_owned()),
                ("ownerSort".to_owned(), "2026".to_owned()),
            ]
            .into(),
        );
        assert!(DynamoContactRecordStore::start_key(Some(&cursor), "agent#a").is_ok());
        assert!(DynamoContactRecordStore::start_key(Some(&cursor), "agent#b").is_err());
    }
}
