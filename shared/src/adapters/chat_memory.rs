//! In-memory [`ConversationStore`] for behaviour tests, with the DynamoDB adapter's version
//! checks and idempotency claims, all or nothing per write.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use crate::{
    chat::{ChatMessage, Conversation, ConversationStatus},
    ports::{AgentLoad, ChatWrite, ChatWriteError, ConversationStore, StoreError, Versioned},
};

#[derive(Debug, Default)]
struct Data {
    conversations: BTreeMap<String, Versioned<Conversation>>,
    /// (conversation id, seq) → message.
    messages: BTreeMap<(String, u64), ChatMessage>,
    /// (starter, client token) → conversation id.
    tokens: BTreeMap<(String, String), String>,
    /// (conversation id, client message id) → seq.
    client_messages: BTreeMap<(String, String), u64>,
    /// alias → conversation id.
    aliases: BTreeMap<String, String>,
    /// agent → (taken chats, version).
    loads: BTreeMap<String, (Vec<String>, u64)>,
    /// (conversation id, seq) → the provider's id of the sent message.
    sent: BTreeMap<(String, u64), String>,
}

/// Conversations in memory. Clones share the same data.
#[derive(Debug, Default, Clone)]
pub struct InMemoryConversationStore {
    data: Arc<Mutex<Data>>,
}

fn starter(started_by: Option<&str>) -> String {
    started_by.unwrap_or("-").to_owned()
}

impl InMemoryConversationStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every stored message of a conversation, in order (tests).
    pub fn transcript(&self, conversation_id: &str) -> Vec<ChatMessage> {
        self.lock()
            .messages
            .iter()
            .filter(|((id, _), _)| id == conversation_id)
            .map(|(_, message)| message.clone())
            .collect()
    }
}

#[async_trait]
impl ConversationStore for InMemoryConversationStore {
    async fn get(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Versioned<Conversation>>, StoreError> {
        let found = self.lock().conversations.get(conversation_id).cloned();
        // Let concurrent writers interleave as they do against DynamoDB.
        tokio::task::yield_now().await;
        Ok(found)
    }

    async fn by_client_token(
        &self,
        started_by: Option<&str>,
        client_token: &str,
    ) -> Result<Option<Versioned<Conversation>>, StoreError> {
        let data = self.lock();
        Ok(data
            .tokens
            .get(&(starter(started_by), client_token.to_owned()))
            .and_then(|id| data.conversations.get(id))
            .cloned())
    }

    async fn by_client_message_id(
        &self,
        conversation_id: &str,
        client_message_id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        let data = self.lock();
        Ok(data
            .client_messages
            .get(&(conversation_id.to_owned(), client_message_id.to_owned()))
            .and_then(|seq| data.messages.get(&(conversation_id.to_owned(), *seq)))
            .cloned())
    }

    async fn messages(
        &self,
        conversation_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let data = self.lock();
        Ok(data
            .messages
            .range((conversation_id.to_owned(), after.saturating_add(1))..)
            .take_while(|((id, _), _)| id == conversation_id)
            .take(limit)
            .map(|(_, message)| message.clone())
            .collect())
    }

    async fn queued(&self, queue_id: &str) -> Result<Vec<Versioned<Conversation>>, StoreError> {
        let mut found: Vec<_> = self
            .lock()
            .conversations
            .values()
            .filter(|c| {
                c.value.status == ConversationStatus::Queued
                    && c.value.queue_id.as_deref() == Some(queue_id)
            })
            .cloned()
            .collect();
        found.sort_by_key(|c| c.value.updated_at);
        Ok(found)
    }

    async fn held_by(&self, username: &str) -> Result<Vec<Versioned<Conversation>>, StoreError> {
        let mut found: Vec<_> = self
            .lock()
            .conversations
            .values()
            .filter(|c| {
                c.value.status == ConversationStatus::Assigned
                    && c.value.agent.as_deref() == Some(username)
            })
            .cloned()
            .collect();
        found.sort_by_key(|c| c.value.updated_at);
        Ok(found)
    }

    async fn save(&self, write: &ChatWrite) -> Result<(), ChatWriteError> {
        let mut data = self.lock();
        let conversation = &write.conversation.value;
        let id = &conversation.conversation_id;
        let stored = data.conversations.get(id).map_or(0, |c| c.version);
        if write.conversation.version == 0 {
            let key = (
                starter(conversation.started_by.as_deref()),
                conversation.client_token.clone(),
            );
            if let Some(existing) = data.tokens.get(&key) {
                return Err(ChatWriteError::DuplicateClientToken(existing.clone()));
            }
            if stored != 0 {
                return Err(ChatWriteError::Conflict);
            }
        } else if stored != write.conversation.version {
            return Err(ChatWriteError::Conflict);
        }
        for message in &write.messages {
            if let Some(client_id) = &message.client_message_id {
                if let Some(seq) = data.client_messages.get(&(id.clone(), client_id.clone())) {
                    let first = data
                        .messages
                        .get(&(id.clone(), *seq))
                        .map(|m| m.message_id.clone())
                        .unwrap_or_default();
                    return Err(ChatWriteError::DuplicateClientMessage(first));
                }
            }
        }
        if let Some(claim) = &write.alias {
            if data.aliases.get(&claim.key) != claim.previous.as_ref() {
                return Err(ChatWriteError::Conflict);
            }
        }
        if let Some(load) = &write.load {
            let stored = data
                .loads
                .get(&load.agent)
                .map_or(0, |(_, version)| *version);
            if stored != load.version {
                return Err(ChatWriteError::Conflict);
            }
        }
        if let Some(claim) = &write.alias {
            data.aliases.insert(claim.key.clone(), id.clone());
        }
        if let Some(load) = &write.load {
            data.loads.insert(
                load.agent.clone(),
                (load.conversation_ids.clone(), load.version + 1),
            );
        }
        if write.conversation.version == 0 {
            data.tokens.insert(
                (
                    starter(conversation.started_by.as_deref()),
                    conversation.client_token.clone(),
                ),
                id.clone(),
            );
        }
        for message in &write.messages {
            if let Some(client_id) = &message.client_message_id {
                data.client_messages
                    .insert((id.clone(), client_id.clone()), message.seq);
            }
            data.messages
                .insert((id.clone(), message.seq), message.clone());
        }
        data.conversations.insert(
            id.clone(),
            Versioned {
                value: conversation.clone(),
                version: write.conversation.version + 1,
            },
        );
        Ok(())
    }

    async fn by_alias(&self, key: &str) -> Result<Option<Versioned<Conversation>>, StoreError> {
        let data = self.lock();
        Ok(data
            .aliases
            .get(key)
            .and_then(|id| data.conversations.get(id))
            .cloned())
    }

    async fn agent_load(&self, agent: &str) -> Result<AgentLoad, StoreError> {
        let load = self.lock().loads.get(agent).cloned();
        // Let concurrent takes interleave as they do against DynamoDB.
        tokio::task::yield_now().await;
        Ok(
            load.map_or_else(AgentLoad::default, |(conversation_ids, version)| {
                AgentLoad {
                    conversation_ids,
                    version,
                }
            }),
        )
    }

    async fn set_alias(&self, key: &str, conversation_id: &str) -> Result<(), StoreError> {
        self.lock()
            .aliases
            .insert(key.to_owned(), conversation_id.to_owned());
        Ok(())
    }

    async fn sent_id(&self, conversation_id: &str, seq: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .sent
            .get(&(conversation_id.to_owned(), seq))
            .cloned())
    }

    async fn mark_sent(
        &self,
        conversation_id: &str,
        seq: u64,
        provider_id: &str,
        _at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.lock()
            .sent
            .insert((conversation_id.to_owned(), seq), provider_id.to_owned());
        Ok(())
    }
}
