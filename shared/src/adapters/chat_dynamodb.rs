//! DynamoDB adapter of [`ConversationStore`]: `ChatTable` (pk `pk`, sk `sk`), ADR 0017.
//!
//! - `pk = conv#<id>`, `sk = conv`: the conversation, with `version` (writes are conditional on
//!   the version read) and, while it waits or is held, `owner` = `queue#<queueId>` or
//!   `agent#<username>` with `ownerSince` for the sparse GSI `byOwner`;
//! - `pk = conv#<id>`, `sk = msg#<seq, 12 digits>`: the messages, put once, never changed, so a
//!   query of the partition reads the transcript in order;
//! - `pk = conv#<id>`, `sk = cmid#<clientMessageId>`: the claim of a client message id;
//! - `pk = token#<starter>#<clientToken>`, `sk = token`: the claim of a client token (expires
//!   after [`TOKEN_CLAIM_DAYS`] days through the table's TTL attribute `expiresAt`);
//! - `pk = alias#<key>`, `sk = alias`: `conversationId` named by a channel address (the SMS
//!   number, e-mail address or social user it is open with: moved by the conversation's writes)
//!   or an e-mail's `Message-ID` (written once);
//! - `pk = load#<agent>`, `sk = load`: the chats the agent took (`conversationIds`, `version`;
//!   every take is conditional on the version read, CHAT-2);
//! - `pk = conv#<id>`, `sk = sent#<seq, 12 digits>`: an outbound message was sent
//!   (`providerId`, `sentAt`).
//!
//! A conversation, its new messages and their claims are one `TransactWriteItems`: when a claim
//! exists the transaction is cancelled and the first request's conversation or message is read.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::transact_write_items::TransactWriteItemsError,
    types::{AttributeValue, Put, TransactWriteItem},
    Client,
};
use chrono::TimeDelta;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    chat::{ChatMessage, Conversation, ConversationStatus},
    ports::{AgentLoad, ChatWrite, ChatWriteError, ConversationStore, StoreError, Versioned},
    time::format_rfc3339,
};

use super::store_backend as backend;

type Item = HashMap<String, AttributeValue>;

const OWNER_INDEX: &str = "byOwner";
/// How long a client token keeps finding its conversation.
pub const TOKEN_CLAIM_DAYS: i64 = 30;
/// Attributes of the table's own, not of the stored values.
const KEY_ATTRIBUTES: [&str; 6] = ["pk", "sk", "version", "owner", "ownerSince", "expiresAt"];

fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        entity: "conversation",
        source: Box::new(error),
    }
}

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn conversation_key(id: &str) -> String {
    format!("conv#{id}")
}

fn message_sort_key(seq: u64) -> String {
    format!("msg#{seq:012}")
}

fn token_key(started_by: Option<&str>, client_token: &str) -> String {
    format!("token#{}#{client_token}", started_by.unwrap_or("-"))
}

fn alias_key(key: &str) -> String {
    format!("alias#{key}")
}

fn sent_sort_key(seq: u64) -> String {
    format!("sent#{seq:012}")
}

fn owner_of(conversation: &Conversation) -> Option<String> {
    match conversation.status {
        ConversationStatus::Queued => conversation
            .queue_id
            .as_ref()
            .map(|queue| format!("queue#{queue}")),
        ConversationStatus::Assigned => conversation
            .agent
            .as_ref()
            .map(|agent| format!("agent#{agent}")),
        ConversationStatus::Bot | ConversationStatus::Ended => None,
    }
}

fn strip(mut item: Item) -> Item {
    for name in KEY_ATTRIBUTES {
        item.remove(name);
    }
    item
}

fn read_conversation(item: Item) -> Result<Versioned<Conversation>, StoreError> {
    let version = match item.get("version") {
        Some(AttributeValue::N(number)) => number.parse().map_err(corrupt)?,
        _ => {
            return Err(StoreError::Corrupt {
                entity: "conversation",
                source: "version is missing or not a number".into(),
            })
        }
    };
    let value: Conversation = from_item(strip(item)).map_err(corrupt)?;
    Ok(Versioned { value, version })
}

fn read_message(item: Item) -> Result<ChatMessage, StoreError> {
    from_item(strip(item)).map_err(corrupt)
}

/// [`ConversationStore`] on `ChatTable`.
#[derive(Debug, Clone)]
pub struct DynamoConversationStore {
    client: Client,
    table: String,
}

impl DynamoConversationStore {
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

    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| backend("read a chat item", aws_sdk_dynamodb::Error::from(error)))?;
        Ok(output.item)
    }

    fn put(
        &self,
        item: Item,
        condition: &str,
        version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_names("#pk", "pk");
        if let Some(version) = version {
            put = put
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", AttributeValue::N(version.to_string()));
        }
        let put = put
            .build()
            .map_err(|error| backend("build a chat write", error))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn by_owner(&self, owner: &str) -> Result<Vec<Versioned<Conversation>>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OWNER_INDEX)
                .key_condition_expression("#owner = :owner")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", string(owner))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    backend("query conversations", aws_sdk_dynamodb::Error::from(error))
                })?;
            for item in output.items.unwrap_or_default() {
                found.push(read_conversation(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}

#[async_trait]
impl ConversationStore for DynamoConversationStore {
    async fn get(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Versioned<Conversation>>, StoreError> {
        self.get_item(&conversation_key(conversation_id), "conv")
            .await?
            .map(read_conversation)
            .transpose()
    }

    async fn by_client_token(
        &self,
        started_by: Option<&str>,
        client_token: &str,
    ) -> Result<Option<Versioned<Conversation>>, StoreError> {
        let Some(claim) = self
            .get_item(&token_key(started_by, client_token), "token")
            .await?
        else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = claim.get("conversationId") else {
            return Err(StoreError::Corrupt {
                entity: "conversation",
                source: "a client token claim has no conversationId".into(),
            });
        };
        self.get(id).await
    }

    async fn by_client_message_id(
        &self,
        conversation_id: &str,
        client_message_id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        let pk = conversation_key(conversation_id);
        let Some(claim) = self
            .get_item(&pk, &format!("cmid#{client_message_id}"))
            .await?
        else {
            return Ok(None);
        };
        let seq = match claim.get("seq") {
            Some(AttributeValue::N(number)) => number.parse::<u64>().map_err(corrupt)?,
            _ => {
                return Err(StoreError::Corrupt {
                    entity: "conversation",
                    source: "a client message id claim has no seq".into(),
                })
            }
        };
        self.get_item(&pk, &message_sort_key(seq))
            .await?
            .map(read_message)
            .transpose()
    }

    async fn messages(
        &self,
        conversation_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        let page = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#sk", "sk")
                .expression_attribute_values(":pk", string(&conversation_key(conversation_id)))
                .expression_attribute_values(
                    ":from",
                    string(&message_sort_key(after.saturating_add(1))),
                )
                .expression_attribute_values(":to", string("msg#999999999999"))
                .consistent_read(true)
                .limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    backend("read chat messages", aws_sdk_dynamodb::Error::from(error))
                })?;
            for item in output.items.unwrap_or_default() {
                found.push(read_message(item)?);
                if found.len() >= limit {
                    return Ok(found);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    async fn queued(&self, queue_id: &str) -> Result<Vec<Versioned<Conversation>>, StoreError> {
        // The index is eventually consistent: keep only what is still waiting there.
        let mut found = self.by_owner(&format!("queue#{queue_id}")).await?;
        found.retain(|c| {
            c.value.status == ConversationStatus::Queued
                && c.value.queue_id.as_deref() == Some(queue_id)
        });
        Ok(found)
    }

    async fn held_by(&self, username: &str) -> Result<Vec<Versioned<Conversation>>, StoreError> {
        let mut found = self.by_owner(&format!("agent#{username}")).await?;
        found.retain(|c| {
            c.value.status == ConversationStatus::Assigned
                && c.value.agent.as_deref() == Some(username)
        });
        Ok(found)
    }

    async fn save(&self, write: &ChatWrite) -> Result<(), ChatWriteError> {
        let conversation = &write.conversation.value;
        let id = &conversation.conversation_id;
        let pk = conversation_key(id);
        let mut item: Item = to_item(conversation).map_err(corrupt)?;
        item.insert("pk".into(), string(&pk));
        item.insert("sk".into(), string("conv"));
        item.insert(
            "version".into(),
            AttributeValue::N((write.conversation.version + 1).to_string()),
        );
        if let Some(owner) = owner_of(conversation) {
            item.insert("owner".into(), string(&owner));
            item.insert(
                "ownerSince".into(),
                string(&format_rfc3339(conversation.updated_at)),
            );
        }
        // What each transaction item claims, to tell which condition failed.
        enum Claim {
            Conversation,
            Token,
            Alias,
            Load,
            ClientMessage(String),
            Message,
        }
        let mut claims = vec![Claim::Conversation];
        let mut items = vec![if write.conversation.version == 0 {
            self.put(item, "attribute_not_exists(#pk)", None)?
        } else {
            self.put(
                item,
                "attribute_exists(#pk) AND #version = :version",
                Some(write.conversation.version),
            )?
        }];
        if write.conversation.version == 0 {
            let mut claim = Item::new();
            claim.insert(
                "pk".into(),
                string(&token_key(
                    conversation.started_by.as_deref(),
                    &conversation.client_token,
                )),
            );
            claim.insert("sk".into(), string("token"));
            claim.insert("conversationId".into(), string(id));
            let expires = conversation.created_at + TimeDelta::days(TOKEN_CLAIM_DAYS);
            claim.insert(
                "expiresAt".into(),
                AttributeValue::N(expires.timestamp().to_string()),
            );
            items.push(self.put(claim, "attribute_not_exists(#pk)", None)?);
            claims.push(Claim::Token);
        }
        if let Some(alias) = &write.alias {
            let mut item = Item::new();
            item.insert("pk".into(), string(&alias_key(&alias.key)));
            item.insert("sk".into(), string("alias"));
            item.insert("conversationId".into(), string(id));
            let mut put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .expression_attribute_names("#pk", "pk");
            put = match &alias.previous {
                None => put.condition_expression("attribute_not_exists(#pk)"),
                Some(previous) => put
                    .condition_expression("attribute_exists(#pk) AND #conversationId = :previous")
                    .expression_attribute_names("#conversationId", "conversationId")
                    .expression_attribute_values(":previous", string(previous)),
            };
            let put = put
                .build()
                .map_err(|error| backend("build a chat alias write", error))?;
            items.push(TransactWriteItem::builder().put(put).build());
            claims.push(Claim::Alias);
        }
        if let Some(load) = &write.load {
            let mut item = Item::new();
            item.insert("pk".into(), string(&format!("load#{}", load.agent)));
            item.insert("sk".into(), string("load"));
            item.insert(
                "conversationIds".into(),
                AttributeValue::L(load.conversation_ids.iter().map(|id| string(id)).collect()),
            );
            item.insert(
                "version".into(),
                AttributeValue::N((load.version + 1).to_string()),
            );
            items.push(if load.version == 0 {
                self.put(item, "attribute_not_exists(#pk)", None)?
            } else {
                self.put(
                    item,
                    "attribute_exists(#pk) AND #version = :version",
                    Some(load.version),
                )?
            });
            claims.push(Claim::Load);
        }
        for message in &write.messages {
            let mut item: Item = to_item(message).map_err(corrupt)?;
            item.insert("pk".into(), string(&pk));
            item.insert("sk".into(), string(&message_sort_key(message.seq)));
            items.push(self.put(item, "attribute_not_exists(#pk)", None)?);
            claims.push(Claim::Message);
            if let Some(client_id) = &message.client_message_id {
                let mut claim = Item::new();
                claim.insert("pk".into(), string(&pk));
                claim.insert("sk".into(), string(&format!("cmid#{client_id}")));
                claim.insert("messageId".into(), string(&message.message_id));
                claim.insert("seq".into(), AttributeValue::N(message.seq.to_string()));
                items.push(self.put(claim, "attribute_not_exists(#pk)", None)?);
                claims.push(Claim::ClientMessage(client_id.clone()));
            }
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
        let failed: Vec<&Claim> = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .iter()
                .zip(&claims)
                .filter(|(reason, _)| reason.code() == Some("ConditionalCheckFailed"))
                .map(|(_, claim)| claim)
                .collect(),
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                return Err(ChatWriteError::Conflict)
            }
            _ => {
                return Err(
                    backend("store a conversation", aws_sdk_dynamodb::Error::from(error)).into(),
                )
            }
        };
        for claim in failed {
            match claim {
                Claim::Token => {
                    if let Some(existing) = self
                        .by_client_token(
                            conversation.started_by.as_deref(),
                            &conversation.client_token,
                        )
                        .await?
                    {
                        return Err(ChatWriteError::DuplicateClientToken(
                            existing.value.conversation_id,
                        ));
                    }
                }
                Claim::ClientMessage(client_id) => {
                    if let Some(first) = self.by_client_message_id(id, client_id).await? {
                        return Err(ChatWriteError::DuplicateClientMessage(first.message_id));
                    }
                }
                Claim::Conversation | Claim::Alias | Claim::Load | Claim::Message => {}
            }
        }
        // A version moved, a message slot was taken, or the transaction met another one.
        Err(ChatWriteError::Conflict)
    }

    async fn by_alias(&self, key: &str) -> Result<Option<Versioned<Conversation>>, StoreError> {
        let Some(alias) = self.get_item(&alias_key(key), "alias").await? else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = alias.get("conversationId") else {
            return Err(StoreError::Corrupt {
                entity: "conversation",
                source: "an alias has no conversationId".into(),
            });
        };
        self.get(id).await
    }

    async fn agent_load(&self, agent: &str) -> Result<AgentLoad, StoreError> {
        let Some(item) = self.get_item(&format!("load#{agent}"), "load").await? else {
            return Ok(AgentLoad::default());
        };
        let version = match item.get("version") {
            Some(AttributeValue::N(number)) => number.parse().map_err(corrupt)?,
            _ => {
                return Err(StoreError::Corrupt {
                    entity: "conversation",
                    source: "an agent's chat load has no version".into(),
                })
            }
        };
        let conversation_ids = match item.get("conversationIds") {
            Some(AttributeValue::L(ids)) => ids
                .iter()
                .filter_map(|id| id.as_s().ok().cloned())
                .collect(),
            _ => Vec::new(),
        };
        Ok(AgentLoad {
            conversation_ids,
            version,
        })
    }

    async fn set_alias(&self, key: &str, conversation_id: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(&alias_key(key)))
            .item("sk", string("alias"))
            .item("conversationId", string(conversation_id))
            .send()
            .await
            .map_err(|error| backend("store a chat alias", aws_sdk_dynamodb::Error::from(error)))?;
        Ok(())
    }

    async fn sent_id(&self, conversation_id: &str, seq: u64) -> Result<Option<String>, StoreError> {
        let item = self
            .get_item(&conversation_key(conversation_id), &sent_sort_key(seq))
            .await?;
        Ok(item.and_then(|item| match item.get("providerId") {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        }))
    }

    async fn mark_sent(
        &self,
        conversation_id: &str,
        seq: u64,
        provider_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(&conversation_key(conversation_id)))
            .item("sk", string(&sent_sort_key(seq)))
            .item("providerId", string(provider_id))
            .item("sentAt", string(&format_rfc3339(at)))
            .send()
            .await
            .map_err(|error| {
                backend(
                    "record a sent message",
                    aws_sdk_dynamodb::Error::from(error),
                )
            })?;
        Ok(())
    }
}
