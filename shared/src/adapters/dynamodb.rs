//! DynamoDB adapters for `UsersTable` and `ConnectionsTable`.
//!
//! Both tables have a `byKind` GSI (partition key `kind`), so listings are a `Query` on one
//! partition, never a `Scan`. Items are (de)serialised with serde_dynamo.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    types::{AttributeValue, ReturnValue},
    Client,
};
use chrono::{DateTime, Utc};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    paging::{InvalidCursor, Page, PageCursor},
    ports::{ConnectionStore, StoreError, UserDirectory},
    realtime::{Connection, Departure, CONNECTION_KIND, HEARTBEAT_WRITE_INTERVAL_SECONDS},
    time::format_rfc3339,
    users::{PageLimit, User, USER_KIND},
};

/// Name of the GSI on both tables.
const BY_KIND_INDEX: &str = "byKind";
/// GSI of `ConnectionsTable` by `username` (a user's open connections).
const BY_USERNAME_INDEX: &str = "byUsername";
/// The `kind` of the per-user departure items of `ConnectionsTable` (presence heartbeat).
const DEPARTURE_KIND: &str = "departure";
/// How long a departure item is kept (TTL; queries also filter by time, as TTL is lazy).
const DEPARTURE_RETENTION_SECONDS: i64 = 24 * 60 * 60;
/// Connections read per page when fanning out or sweeping.
const CONNECTION_PAGE_SIZE: i32 = 100;

type Item = HashMap<String, AttributeValue>;

fn backend(operation: &'static str) -> impl FnOnce(aws_sdk_dynamodb::Error) -> StoreError {
    move |error| StoreError::Backend {
        operation,
        source: Box::new(error),
    }
}

fn corrupt(entity: &'static str) -> impl FnOnce(serde_dynamo::Error) -> StoreError {
    move |error| StoreError::Corrupt {
        entity,
        source: Box::new(error),
    }
}

/// The `ExclusiveStartKey` for a cursor, after checking it has exactly the key attributes of this
/// listing, non-empty, in the expected `kind` partition (a forged cursor is a 400, not a
/// DynamoDB `ValidationException`).
fn start_key(
    cursor: Option<PageCursor>,
    attributes: &[&str],
    kind: &str,
) -> Result<Option<Item>, StoreError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    cursor.expect_attributes(attributes)?;
    let key = cursor.key();
    if key.get("kind").map(String::as_str) != Some(kind) || key.values().any(String::is_empty) {
        return Err(InvalidCursor("not a cursor of this listing").into());
    }
    Ok(Some(
        key.iter()
            .map(|(name, value)| (name.clone(), AttributeValue::S(value.clone())))
            .collect(),
    ))
}

/// The cursor for a `LastEvaluatedKey` (all our key attributes are strings).
pub(crate) fn next_cursor(
    last_key: Option<Item>,
    entity: &'static str,
) -> Result<Option<PageCursor>, StoreError> {
    let Some(last_key) = last_key else {
        return Ok(None);
    };
    let mut key = BTreeMap::new();
    for (name, value) in last_key {
        match value {
            AttributeValue::S(text) => {
                key.insert(name, text);
            }
            _ => {
                return Err(StoreError::Corrupt {
                    entity,
                    source: format!("key attribute {name} is not a string").into(),
                })
            }
        }
    }
    Ok(Some(PageCursor::from_key(key)))
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/// [`UserDirectory`] on `UsersTable` (pk `username`; GSI `byKind`: `kind`, `username`).
#[derive(Debug, Clone)]
pub struct DynamoUserDirectory {
    client: Client,
    table: String,
}

impl DynamoUserDirectory {
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
}

#[async_trait]
impl UserDirectory for DynamoUserDirectory {
    async fn get(&self, username: &str) -> Result<Option<User>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("username", AttributeValue::S(username.to_owned()))
            .send()
            .await
            .map_err(|error| backend("get a user")(error.into()))?;
        output
            .item
            .map(|item| from_item::<User>(item).map_err(corrupt("user")))
            .transpose()
    }

    async fn list(
        &self,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<User>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_KIND_INDEX)
            .key_condition_expression("#kind = :kind")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":kind", AttributeValue::S(USER_KIND.to_owned()))
            .limit(i32::from(limit.get()))
            .set_exclusive_start_key(start_key(cursor, &["kind", "username"], USER_KIND)?)
            .send()
            .await
            .map_err(|error| backend("list users")(error.into()))?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<User>(item).map_err(corrupt("user")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: next_cursor(output.last_evaluated_key, "user")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

/// [`ConnectionStore`] on `ConnectionsTable` (pk `connectionId`; GSI `byKind`: `kind`,
/// `connectedAt`; TTL `expiresAt`).
#[derive(Debug, Clone)]
pub struct DynamoConnectionStore {
    client: Client,
    table: String,
}

impl DynamoConnectionStore {
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

    async fn query(
        &self,
        cutoff: Option<DateTime<Utc>>,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Connection>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_KIND_INDEX)
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":kind", AttributeValue::S(CONNECTION_KIND.to_owned()))
            .limit(CONNECTION_PAGE_SIZE)
            .set_exclusive_start_key(start_key(
                cursor,
                &["kind", "connectedAt", "connectionId"],
                CONNECTION_KIND,
            )?);
        query = match cutoff {
            Some(cutoff) => query
                .key_condition_expression("#kind = :kind AND #connectedAt < :cutoff")
                .expression_attribute_names("#connectedAt", "connectedAt")
                .expression_attribute_values(":cutoff", AttributeValue::S(format_rfc3339(cutoff))),
            None => query.key_condition_expression("#kind = :kind"),
        };
        let output = query
            .send()
            .await
            .map_err(|error| backend("list connections")(error.into()))?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<Connection>(item).map_err(corrupt("connection")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: next_cursor(output.last_evaluated_key, "connection")?,
        })
    }
}

#[async_trait]
impl ConnectionStore for DynamoConnectionStore {
    async fn put(&self, connection: &Connection) -> Result<(), StoreError> {
        let mut item: Item = to_item(connection).map_err(corrupt("connection"))?;
        item.insert(
            "kind".to_owned(),
            AttributeValue::S(CONNECTION_KIND.to_owned()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| backend("store a connection")(error.into()))?;
        Ok(())
    }

    async fn get(&self, connection_id: &str) -> Result<Option<Connection>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("connectionId", AttributeValue::S(connection_id.to_owned()))
            .send()
            .await
            .map_err(|error| backend("get a connection")(error.into()))?;
        output
            .item
            .map(|item| from_item::<Connection>(item).map_err(corrupt("connection")))
            .transpose()
    }

    async fn delete(&self, connection_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("connectionId", AttributeValue::S(connection_id.to_owned()))
            .send()
            .await
            .map_err(|error| backend("delete a connection")(error.into()))?;
        Ok(())
    }

    async fn list(&self, cursor: Option<PageCursor>) -> Result<Page<Connection>, StoreError> {
        self.query(None, cursor).await
    }

    async fn list_older_than(
        &self,
        cutoff: DateTime<Utc>,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Connection>, StoreError> {
        self.query(Some(cutoff), cursor).await
    }

    async fn list_for_user(&self, username: &str) -> Result<Vec<Connection>, StoreError> {
        let mut connections = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_USERNAME_INDEX)
                .key_condition_expression("#username = :username")
                .expression_attribute_names("#username", "username")
                .expression_attribute_values(":username", AttributeValue::S(username.to_owned()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| backend("list a user's connections")(error.into()))?;
            for item in output.items.unwrap_or_default() {
                connections.push(from_item::<Connection>(item).map_err(corrupt("connection"))?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(connections),
            }
        }
    }

    async fn record_heartbeat(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = at.timestamp();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("connectionId", AttributeValue::S(connection_id.to_owned()))
            .update_expression("SET #heartbeatAt = :now")
            .condition_expression(
                "attribute_exists(#connectionId) AND (attribute_not_exists(#heartbeatAt) OR #heartbeatAt <= :due)",
            )
            .expression_attribute_names("#connectionId", "connectionId")
            .expression_attribute_names("#heartbeatAt", "heartbeatAt")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(
                ":due",
                AttributeValue::N((now - HEARTBEAT_WRITE_INTERVAL_SECONDS).to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(backend("record a heartbeat")(error.into())),
        }
    }

    async fn depart(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Connection>, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("connectionId", AttributeValue::S(connection_id.to_owned()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|error| backend("delete a connection")(error.into()))?;
        let Some(old) = output.attributes.filter(|item| !item.is_empty()) else {
            return Ok(None);
        };
        let connection = from_item::<Connection>(old).map_err(corrupt("connection"))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(departure_item(&connection.username, at)))
            .send()
            .await
            .map_err(|error| backend("record a departure")(error.into()))?;
        Ok(Some(connection))
    }

    async fn departures_since(&self, since: DateTime<Utc>) -> Result<Vec<Departure>, StoreError> {
        let mut departures = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_KIND_INDEX)
                .key_condition_expression("#kind = :kind AND #connectedAt >= :since")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_names("#connectedAt", "connectedAt")
                .expression_attribute_values(":kind", AttributeValue::S(DEPARTURE_KIND.to_owned()))
                .expression_attribute_values(":since", AttributeValue::S(format_rfc3339(since)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| backend("list departures")(error.into()))?;
            for item in output.items.unwrap_or_default() {
                departures.push(departure_from_item(&item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(departures),
            }
        }
    }
}

/// The departure item of `username`: key `departure#<username>`, in the `byKind` partition
/// `departure` sorted by the time (`connectedAt`), without a `username` attribute so that it
/// never shows among the user's connections (`byUsername`).
fn departure_item(username: &str, at: DateTime<Utc>) -> Item {
    HashMap::from([
        (
            "connectionId".to_owned(),
            AttributeValue::S(format!("{DEPARTURE_KIND}#{username}")),
        ),
        (
            "kind".to_owned(),
            AttributeValue::S(DEPARTURE_KIND.to_owned()),
        ),
        (
            "connectedAt".to_owned(),
            AttributeValue::S(format_rfc3339(at)),
        ),
        (
            "departedUsername".to_owned(),
            AttributeValue::S(username.to_owned()),
        ),
        (
            "expiresAt".to_owned(),
            AttributeValue::N((at.timestamp() + DEPARTURE_RETENTION_SECONDS).to_string()),
        ),
    ])
}

fn departure_from_item(item: &Item) -> Result<Departure, StoreError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(text)) => Ok(text.clone()),
        _ => Err(StoreError::Corrupt {
            entity: "departure",
            source: format!("{name} is not a string").into(),
        }),
    };
    let at = DateTime::parse_from_rfc3339(&text("connectedAt")?)
        .map_err(|error| StoreError::Corrupt {
            entity: "departure",
            source: Box::new(error),
        })?
        .with_timezone(&Utc);
    Ok(Departure {
        username: text("departedUsername")?,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_cursor_is_for_another_partition_should_be_invalid() {
        // GIVEN a cursor that names the connection partition
        let cursor = PageCursor::from_key(BTreeMap::from([
            ("kind".to_owned(), "connection".to_owned()),
            ("username".to_owned(), "a".to_owned()),
        ]));
        // WHEN used to list users
        let result = start_key(Some(cursor), &["kind", "username"], USER_KIND);
        // THEN it is refused as a cursor, before DynamoDB sees it
        assert!(matches!(result, Err(StoreError::InvalidCursor(_))));
    }

    #[test]
    fn when_cursor_is_ours_should_become_the_start_key() {
        let cursor = PageCursor::from_key(BTreeMap::from([
            ("kind".to_owned(), "user".to_owned()),
            ("username".to_owned(), "agent03".to_owned()),
        ]));
        let key = start_key(Some(cursor), &["kind", "username"], USER_KIND)
            .unwrap()
            .unwrap();
        assert_eq!(
            key.get("username"),
            Some(&AttributeValue::S("agent03".to_owned()))
        );
    }

    #[test]
    fn when_a_user_departs_should_store_an_item_outside_the_connection_indexes() {
        use chrono::TimeZone;
        // GIVEN agent01 leaving at 09:30
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 9, 30, 0).unwrap();
        // WHEN the departure item is built
        let item = departure_item("agent01", at);
        // THEN it is keyed per user, in the departure partition, without `username`
        assert_eq!(
            item["connectionId"],
            AttributeValue::S("departure#agent01".into())
        );
        assert_eq!(item["kind"], AttributeValue::S("departure".into()));
        assert!(!item.contains_key("username"));
        assert_eq!(
            item["expiresAt"],
            AttributeValue::N((at.timestamp() + 86_400).to_string())
        );
        // AND reads back as the departure
        assert_eq!(
            departure_from_item(&item).unwrap(),
            Departure {
                username: "agent01".into(),
                at
            }
        );
    }

    #[test]
    fn when_connection_is_stored_should_have_the_table_attribute_types() {
        // GIVEN a connection opened at a whole second
        use chrono::TimeZone;
        let principal = crate::auth::Principal {
            subject: "sub-agent01".to_owned(),
            username: "agent01".to_owned(),
            display_name: None,
            roles: std::collections::BTreeSet::from([crate::auth::Role::Agent]),
            client_id: Some("linka-web".to_owned()),
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap();
        let connection = Connection::open("abc=", &principal, now);
        // WHEN serialised as an item
        let item: Item = to_item(&connection).unwrap();
        // THEN the keys are strings (fixed-width RFC 3339 sort key), the TTL a number
        assert_eq!(item["connectionId"], AttributeValue::S("abc=".to_owned()));
        assert_eq!(
            item["connectedAt"],
            AttributeValue::S("2026-11-27T08:00:00.000Z".to_owned())
        );
        assert_eq!(
            item["expiresAt"],
            AttributeValue::N((now.timestamp() + 7800).to_string())
        );
        assert_eq!(
            item["roles"],
            AttributeValue::L(vec![AttributeValue::S("agent".to_owned())])
        );
        assert!(!item.contains_key("displayName"));
        // AND it reads back (the added `kind` attribute is ignored)
        let mut stored = item;
        stored.insert(
            "kind".to_owned(),
            AttributeValue::S(CONNECTION_KIND.to_owned()),
        );
        assert_eq!(from_item::<Connection>(stored).unwrap(), connection);
    }

    #[test]
    fn when_user_item_is_seeded_should_read_it() {
        let s = |text: &str| AttributeValue::S(text.to_owned());
        let item = Item::from([
            ("username".to_owned(), s("agent01")),
            ("kind".to_owned(), s("user")),
            ("displayName".to_owned(), s("Jana Nováková")),
            ("roles".to_owned(), AttributeValue::L(vec![s("agent")])),
            ("groups".to_owned(), AttributeValue::L(vec![s("KKC")])),
            ("agentNumber".to_owned(), s("2001")),
            ("active".to_owned(), AttributeValue::Bool(true)),
            ("createdAt".to_owned(), s("2026-11-27T10:00:00Z")),
            ("updatedAt".to_owned(), s("2026-11-27T10:00:00Z")),
        ]);
        let user = from_item::<User>(item).unwrap();
        assert_eq!(user.display_name, "Jana Nováková");
        assert_eq!(user.email, None);
    }

    #[test]
    fn when_last_key_is_returned_should_round_trip_through_a_cursor() {
        let last = Item::from([
            ("kind".to_owned(), AttributeValue::S("user".to_owned())),
            (
                "username".to_owned(),
                AttributeValue::S("agent03".to_owned()),
            ),
        ]);
        let cursor = next_cursor(Some(last.clone()), "user").unwrap().unwrap();
        let parsed = PageCursor::parse(&cursor.encode()).unwrap();
        assert_eq!(
            start_key(Some(parsed), &["kind", "username"], USER_KIND).unwrap(),
            Some(last)
        );
    }
}
