//! Seeds the demo users of `localstack/identities.json` into the users table it names, in the
//! item shape the HTTP API reads:
//!
//! `username` S, `kind` S = `"user"`, `displayName` S, `roles` L<S>, `groups` L<S>, `email` S
//! (absent if null), `agentNumber` S (absent if none), `mobile` M {`device` S, `number` S}
//! (absent if none), `active` BOOL, `createdAt`/`updatedAt` S
//! (RFC 3339 UTC).
//!
//! Idempotent: an unchanged user is left alone; a changed one is rewritten keeping `createdAt`.

use std::path::{Path, PathBuf};

use aws_smithy_types::error::display::DisplayErrorContext;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::intrinsics::Resolver;

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid identities file")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("usersTable {0} is not an AWS::DynamoDB::Table of the template")]
    UnknownTable(String),
    #[error("user {username}: {action} failed: {message}")]
    Aws {
        username: String,
        action: &'static str,
        message: String,
    },
    #[error("user {username}: cannot convert the item")]
    Item {
        username: String,
        #[source]
        source: serde_dynamo::Error,
    },
    #[error("configTable {0} is not an AWS::DynamoDB::Table of the template")]
    UnknownConfigTable(String),
    #[error("configuration document {collection}/{id}: {message}")]
    Config {
        collection: String,
        id: String,
        message: String,
    },
}

/// `localstack/demo-config.json`: demo queues, members, break codes, categories, transfer panel
/// and ICIS link.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoConfig {
    /// Logical id of the configuration table in the template.
    pub config_table: String,
    pub documents: Vec<DemoDocument>,
}

/// One document of [`DemoConfig`].
#[derive(Debug, Clone, Deserialize)]
pub struct DemoDocument {
    pub collection: String,
    pub id: String,
    pub document: serde_json::Value,
}

/// Reads the demo configuration.
pub fn read_demo_config(path: &Path) -> Result<DemoConfig, SeedError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| SeedError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Writes each demo document that is absent (`attribute_not_exists(id)`), so what an
/// administrator changed or deleted on a running stack is not overwritten by a restart…
/// except a deleted document, which comes back: the demo is meant to have it. Returns how many
/// were written.
pub async fn seed_config(
    demo: &DemoConfig,
    dynamodb: &aws_sdk_dynamodb::Client,
    resolver: &Resolver,
) -> Result<usize, SeedError> {
    use aws_sdk_dynamodb::{operation::put_item::PutItemError, types::AttributeValue};
    let table = resolver
        .resource(&demo.config_table)
        .filter(|resource| resource.resource_type == "AWS::DynamoDB::Table")
        .map(|resource| resource.physical_name.clone())
        .ok_or_else(|| SeedError::UnknownConfigTable(demo.config_table.clone()))?;
    let mut written = 0;
    for entry in &demo.documents {
        let failed = |message: String| SeedError::Config {
            collection: entry.collection.clone(),
            id: entry.id.clone(),
            message,
        };
        let mut item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&entry.document).map_err(|error| failed(error.to_string()))?;
        item.insert(
            "collection".to_owned(),
            AttributeValue::S(entry.collection.clone()),
        );
        item.insert("id".to_owned(), AttributeValue::S(entry.id.clone()));
        let result = dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match result {
            Ok(_) => written += 1,
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) => {}
            Err(error) => return Err(failed(DisplayErrorContext(&error).to_string())),
        }
    }
    tracing::info!(table = %table, written, total = demo.documents.len(), "seeded demo configuration");
    Ok(written)
}

/// The part of `identities.json` seeding reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identities {
    /// Logical id of the users table.
    pub users_table: String,
    pub users: Vec<IdentityUser>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityUser {
    pub username: String,
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub agent_number: Option<String>,
    /// The agent's mobile extension and mobile number (DESK-2).
    #[serde(default)]
    pub mobile: Option<MobilePhone>,
}

/// An agent's mobile: the PBX mobile extension and the number it rings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MobilePhone {
    pub device: String,
    pub number: String,
}

/// A users-table item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserItem {
    pub username: String,
    pub kind: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<MobilePhone>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl UserItem {
    fn from_identity(user: &IdentityUser, now: &str) -> Self {
        UserItem {
            username: user.username.clone(),
            kind: "user".into(),
            display_name: user.name.clone(),
            roles: user.roles.clone(),
            groups: user.groups.clone(),
            email: user.email.clone(),
            agent_number: user.agent_number.clone(),
            mobile: user.mobile.clone(),
            active: true,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }

    fn same_content(&self, other: &UserItem) -> bool {
        UserItem {
            created_at: String::new(),
            updated_at: String::new(),
            ..self.clone()
        } == UserItem {
            created_at: String::new(),
            updated_at: String::new(),
            ..other.clone()
        }
    }
}

/// How many users seeding wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub table: String,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Reads the identities file.
pub fn read_identities(path: &Path) -> Result<Identities, SeedError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| SeedError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Puts every user of `identities` into its users table (see the module docs).
pub async fn seed_users(
    identities: &Identities,
    dynamodb: &aws_sdk_dynamodb::Client,
    resolver: &Resolver,
) -> Result<SeedReport, SeedError> {
    let table = resolver
        .resource(&identities.users_table)
        .filter(|resource| resource.resource_type == "AWS::DynamoDB::Table")
        .map(|resource| resource.physical_name.clone())
        .ok_or_else(|| SeedError::UnknownTable(identities.users_table.clone()))?;
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut report = SeedReport {
        table: table.clone(),
        ..SeedReport::default()
    };
    for user in &identities.users {
        let aws = |action: &'static str| {
            let username = user.username.clone();
            move |error: String| SeedError::Aws {
                username,
                action,
                message: error,
            }
        };
        let mut item = UserItem::from_identity(user, &now);
        let existing = dynamodb
            .get_item()
            .table_name(&table)
            .key(
                "username",
                aws_sdk_dynamodb::types::AttributeValue::S(user.username.clone()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| aws("GetItem")(DisplayErrorContext(&error).to_string()))?
            .item;
        let existing: Option<UserItem> = match existing {
            None => None,
            // An item of another shape is rewritten.
            Some(stored) => serde_dynamo::from_item(stored).ok(),
        };
        match &existing {
            Some(stored) if stored.same_content(&item) => {
                report.unchanged += 1;
                continue;
            }
            Some(stored) => {
                item.created_at.clone_from(&stored.created_at);
                report.updated += 1;
            }
            None => report.created += 1,
        }
        let attributes = serde_dynamo::to_item(&item).map_err(|source| SeedError::Item {
            username: user.username.clone(),
            source,
        })?;
        dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(attributes))
            .send()
            .await
            .map_err(|error| aws("PutItem")(DisplayErrorContext(&error).to_string()))?;
    }
    tracing::info!(table = %report.table, created = report.created, updated = report.updated, unchanged = report.unchanged, "seeded users");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intrinsics::ResolverSettings;
    use crate::resources::{provision, AwsClients};
    use crate::template::{Document, Template};
    use crate::test_support::Moto;
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::time::Duration;

    const TEMPLATE: &str = r#"
Resources:
  UsersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: username, AttributeType: S}]
      KeySchema: [{AttributeName: username, KeyType: HASH}]
"#;

    #[test]
    fn when_reading_the_project_identities_should_find_the_users_table_and_agents() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../identities.json");
        let identities = read_identities(&path).unwrap();
        assert_eq!(identities.users_table, "UsersTable");
        let agent = identities
            .users
            .iter()
            .find(|user| user.username == "agent01")
            .unwrap();
        assert_eq!(agent.agent_number.as_deref(), Some("2001"));
        assert_eq!(agent.roles, vec!["agent"]);
    }

    #[tokio::test]
    async fn when_seeding_twice_should_create_then_leave_users_alone_and_update_changed_ones() {
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        clients
            .wait_until_reachable(Duration::from_secs(10))
            .await
            .unwrap();
        let document = Document::from_yaml(TEMPLATE).unwrap();
        let mut resolver = Resolver::new(&document, &ResolverSettings::default()).unwrap();
        let template = Template::from_document(&document, &resolver).unwrap();
        provision(&template, &clients, &mut resolver).await.unwrap();

        let mut identities =
            read_identities(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../identities.json"))
                .unwrap();
        let total = identities.users.len();
        let first = seed_users(&identities, &clients.dynamodb, &resolver)
            .await
            .unwrap();
        assert_eq!(first.created, total);
        let second = seed_users(&identities, &clients.dynamodb, &resolver)
            .await
            .unwrap();
        assert_eq!(second.unchanged, total);

        let item = clients
            .dynamodb
            .get_item()
            .table_name("linka-UsersTable")
            .key("username", AttributeValue::S("agent01".into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        assert_eq!(item["kind"], AttributeValue::S("user".into()));
        assert_eq!(
            item["roles"],
            AttributeValue::L(vec![AttributeValue::S("agent".into())])
        );
        assert_eq!(item["agentNumber"], AttributeValue::S("2001".into()));
        let mobile = item["mobile"].as_m().unwrap();
        assert_eq!(mobile["device"], AttributeValue::S("2901".into()));
        assert_eq!(mobile["number"], AttributeValue::S("+420601000001".into()));
        assert_eq!(item["active"], AttributeValue::Bool(true));
        let created_at = item["createdAt"].as_s().unwrap().clone();
        assert!(created_at.ends_with('Z'));
        let admin = clients
            .dynamodb
            .get_item()
            .table_name("linka-UsersTable")
            .key("username", AttributeValue::S("admin".into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        assert!(!admin.contains_key("agentNumber"));

        identities
            .users
            .iter_mut()
            .find(|user| user.username == "agent01")
            .unwrap()
            .roles
            .push("queues".into());
        let third = seed_users(&identities, &clients.dynamodb, &resolver)
            .await
            .unwrap();
        assert_eq!(third.updated, 1);
        let item = clients
            .dynamodb
            .get_item()
            .table_name("linka-UsersTable")
            .key("username", AttributeValue::S("agent01".into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        assert_eq!(item["createdAt"].as_s().unwrap(), &created_at);
    }
}
