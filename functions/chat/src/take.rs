//! Taking a waiting chat for an agent under their chat limit (CHAT-2): the agent's own accept at
//! the desk and automatic distribution both go through [`take_chat`].
//!
//! The take is stored with the agent's new list of taken chats, conditional on the list's
//! version and on the conversation's: two takes for one agent at once cannot both pass the
//! limit (the second reads again and counts the first), and two agents cannot both win a chat.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use linka_shared::{
    chat::{ChatError, Conversation, ConversationStatus},
    ports::{ChatWrite, ChatWriteError, ConversationStore, LoadClaim, StoreError, Versioned},
};
use thiserror::Error;

/// How often a take is tried again after a concurrent change.
const MAX_TRIES: usize = 24;

/// Why a chat was not taken.
#[derive(Debug, Error)]
pub enum TakeError {
    #[error("there is no conversation {0}")]
    NotFound(String),
    /// The model refused it (not waiting any more, ended, the agent at the limit).
    #[error(transparent)]
    Refused(#[from] ChatError),
    #[error("the conversation or the agent's chats kept changing")]
    Busy,
    #[error("failed to read the conversation or the agent's chats")]
    Read(#[source] StoreError),
    #[error("failed to store the take")]
    Write(#[source] ChatWriteError),
}

/// The chats `username` holds now besides `except`: those their taken list names that are still
/// theirs, and those they hold otherwise (transferred to them, an SMS they opened). The list is
/// read consistently; the index behind `held_by` may lag a moment.
async fn still_held(
    store: &dyn ConversationStore,
    username: &str,
    listed: &[String],
    except: &str,
) -> Result<BTreeSet<String>, StoreError> {
    let mut held = BTreeSet::new();
    for id in listed.iter().filter(|id| *id != except) {
        let conversation = store.get(id).await?;
        if conversation.is_some_and(|c| {
            c.value.status == ConversationStatus::Assigned
                && c.value.agent.as_deref() == Some(username)
        }) {
            held.insert(id.clone());
        }
    }
    for conversation in store.held_by(username).await? {
        if conversation.value.conversation_id != except {
            held.insert(conversation.value.conversation_id);
        }
    }
    Ok(held)
}

/// Gives the waiting chat `id` to `username` if they hold fewer than `limit` chats.
pub async fn take_chat(
    store: &dyn ConversationStore,
    username: &str,
    id: &str,
    limit: u8,
    now: DateTime<Utc>,
) -> Result<Conversation, TakeError> {
    for _ in 0..MAX_TRIES {
        let current = store
            .get(id)
            .await
            .map_err(TakeError::Read)?
            .ok_or_else(|| TakeError::NotFound(id.to_owned()))?;
        let taken = store.agent_load(username).await.map_err(TakeError::Read)?;
        let held = still_held(store, username, &taken.conversation_ids, id)
            .await
            .map_err(TakeError::Read)?;
        let mut changed = current.value.clone();
        changed.assign(username, held.len(), limit, now)?;
        let mut conversation_ids: Vec<String> = held.into_iter().collect();
        conversation_ids.push(id.to_owned());
        let write = ChatWrite {
            conversation: Versioned {
                value: changed.clone(),
                version: current.version,
            },
            messages: Vec::new(),
            alias: None,
            load: Some(LoadClaim {
                agent: username.to_owned(),
                conversation_ids,
                version: taken.version,
            }),
        };
        match store.save(&write).await {
            Ok(()) => return Ok(changed),
            Err(ChatWriteError::Conflict) => continue,
            Err(error) => return Err(TakeError::Write(error)),
        }
    }
    Err(TakeError::Busy)
}
