//! The administrator's chat settings (CHAT-2, OMNI-1…3): which queue each text channel enters
//! and how many conversations one agent holds at once. One document in the configuration
//! (`setting/chat`); every field may be empty, and an empty one means the deployment's default
//! (the template's `ChatDefaultQueueId`, [`super::DEFAULT_CHATS_PER_AGENT`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ChatChannel;
use crate::{
    admin_config::{is_valid_config_id, parse_body},
    problem::FieldError,
};

/// Id of the chat settings in [`crate::admin_config::SETTINGS_COLLECTION`].
pub const CHAT_SETTINGS_ID: &str = "chat";
/// The most conversations an administrator may let one agent hold at once.
pub const MAX_CHATS_PER_AGENT: u8 = 10;

/// The chat settings as the administrator stored them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatSettings {
    /// The queue of web chats and the chatbot's hand-offs that name no queue.
    #[serde(default)]
    pub web_queue_id: Option<String>,
    /// The queue of inbound SMS.
    #[serde(default)]
    pub sms_queue_id: Option<String>,
    /// The queue of inbound e-mail.
    #[serde(default)]
    pub email_queue_id: Option<String>,
    /// The queue of social-network messages.
    #[serde(default)]
    pub social_queue_id: Option<String>,
    /// Conversations one agent holds at once (1…[`MAX_CHATS_PER_AGENT`]).
    #[serde(default)]
    pub chats_per_agent: Option<u8>,
    /// How waiting chats reach agents; `None`: [`ChatDistribution::AgentsTake`].
    #[serde(default)]
    pub distribution: Option<ChatDistribution>,
}

/// How waiting chats reach agents (CHAT-2; see [`super::distribution`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChatDistribution {
    /// Agents take waiting chats from their queues' lists.
    #[default]
    AgentsTake,
    /// Linka gives each waiting chat to one agent of its queue at once (skill, priority, load).
    Automatic,
}

impl ChatSettings {
    /// The field name and value of every queue the settings name.
    pub fn queue_fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("webQueueId", &self.web_queue_id),
            ("smsQueueId", &self.sms_queue_id),
            ("emailQueueId", &self.email_queue_id),
            ("socialQueueId", &self.social_queue_id),
        ]
        .into_iter()
        .filter_map(|(field, id)| id.as_deref().map(|id| (field, id)))
    }

    /// What is wrong with the settings themselves (whether the queues exist is the caller's
    /// question: it needs the configuration).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = self
            .queue_fields()
            .filter(|(_, id)| !is_valid_config_id(id))
            .map(|(field, _)| FieldError::new(field, "must be a queue id (a-z, 0-9, -)"))
            .collect();
        if let Some(limit) = self.chats_per_agent {
            if !(1..=MAX_CHATS_PER_AGENT).contains(&limit) {
                errors.push(FieldError::new(
                    "chatsPerAgent",
                    format!("must be between 1 and {MAX_CHATS_PER_AGENT}"),
                ));
            }
        }
        errors
    }

    /// The queue a conversation of `channel` enters: the channel's own, else the web chat's
    /// queue, else `default`.
    pub fn queue_for(&self, channel: ChatChannel, default: &str) -> String {
        let own = match channel {
            ChatChannel::Web => &self.web_queue_id,
            ChatChannel::Sms => &self.sms_queue_id,
            ChatChannel::Email => &self.email_queue_id,
            ChatChannel::Social => &self.social_queue_id,
        };
        own.as_ref()
            .or(self.web_queue_id.as_ref())
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    /// Whether waiting chats are given to agents automatically.
    pub fn distributes_automatically(&self) -> bool {
        self.distribution == Some(ChatDistribution::Automatic)
    }

    /// How many conversations an agent may hold: the setting, else `default`.
    pub fn chats_per_agent_or(&self, default: u8) -> u8 {
        self.chats_per_agent
            .filter(|limit| (1..=MAX_CHATS_PER_AGENT).contains(limit))
            .unwrap_or(default)
    }
}

/// Parses the settings body of `PUT /api/admin/settings/chat`, naming the offending field.
pub fn parse_chat_settings(body: Map<String, Value>) -> Result<ChatSettings, FieldError> {
    parse_body(body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<ChatSettings, FieldError> {
        match value {
            Value::Object(map) => parse_chat_settings(map),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn when_a_channel_has_no_queue_should_use_the_web_queue_then_the_default() {
        let settings = ChatSettings {
            web_queue_id: Some("chat".into()),
            sms_queue_id: Some("sms".into()),
            ..ChatSettings::default()
        };
        assert_eq!(settings.queue_for(ChatChannel::Sms, "kkc"), "sms");
        assert_eq!(settings.queue_for(ChatChannel::Email, "kkc"), "chat");
        assert_eq!(
            ChatSettings::default().queue_for(ChatChannel::Social, "kkc"),
            "kkc"
        );
    }

    #[test]
    fn when_the_limit_is_unset_or_out_of_range_should_use_the_default() {
        let mut settings = ChatSettings::default();
        assert_eq!(settings.chats_per_agent_or(3), 3);
        settings.chats_per_agent = Some(5);
        assert_eq!(settings.chats_per_agent_or(3), 5);
        settings.chats_per_agent = Some(0);
        assert_eq!(settings.chats_per_agent_or(3), 3);
    }

    #[test]
    fn when_settings_are_malformed_should_name_the_field() {
        let settings = parse(json!({"smsQueueId": "Fronta SMS", "chatsPerAgent": 11})).unwrap();
        let fields: Vec<String> = settings.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["smsQueueId", "chatsPerAgent"]);
        assert_eq!(
            parse(json!({"chatsPerAgent": "5"})).unwrap_err().field,
            "chatsPerAgent"
        );
        assert_eq!(parse(json!({"queue": "x"})).unwrap_err().field, "queue");
        assert_eq!(
            parse(json!({"distribution": "roundRobin"}))
                .unwrap_err()
                .field,
            "distribution"
        );
        assert_eq!(
            parse(json!({"chatsPerAgent": 300})).unwrap_err().field,
            "chatsPerAgent"
        );
    }

    #[test]
    fn when_distribution_is_automatic_should_say_so_and_default_to_agents_taking() {
        assert!(!ChatSettings::default().distributes_automatically());
        let settings = parse(json!({"distribution": "automatic"})).unwrap();
        assert!(settings.distributes_automatically());
        assert!(!parse(json!({"distribution": "agentsTake"}))
            .unwrap()
            .distributes_automatically());
    }

    #[test]
    fn when_every_field_is_null_should_mean_the_defaults() {
        let settings =
            parse(json!({"webQueueId": null, "chatsPerAgent": null, "distribution": null}))
                .unwrap();
        assert_eq!(settings, ChatSettings::default());
        assert!(settings.validate().is_empty());
        assert_eq!(settings.queue_fields().count(), 0);
    }
}
