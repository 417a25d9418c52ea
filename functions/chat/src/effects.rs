//! Who hears of a stored conversation change (issue 7): the agents' desks over the WebSocket
//! API (`chat` and `chat-message` pushes) and a bot's webhook (through the delivery queue).
//! Both are best-effort after the write: a failure is logged, the change is stored either way,
//! and desks and bots can read the transcript again (`GET …/messages`).

use std::{collections::BTreeSet, sync::Arc};

use linka_shared::{
    adapters::fanout::push_to_connections,
    admin_config::{members_collection, SETTINGS_COLLECTION},
    chat::{
        channels::outbound_for,
        distribution::ChatDistributionTrigger,
        lifecycle::chat_events,
        settings::{ChatSettings, CHAT_SETTINGS_ID},
        webhook::{WebhookDelivery, WebhookEvent},
        ChatChannel, ChatMessage, Conversation, ConversationStatus, Sender,
    },
    contact_records::{
        conversation_contact_id, ContactRecord, ContactRecordStore, ContactWrite, ContactWriteError,
    },
    paging::all_pages,
    ports::{
        ChannelOutbox, ChatDistributionOutbox, ConfigStore, ConnectionNotifier, ConnectionStore,
        ContactEventLog, WebhookOutbox,
    },
    realtime::{visitor_name, PushMessage},
    telemetry::ErrorChain,
    users::PageLimit,
};

/// The WebSocket side: the connections and the `@connections` endpoint.
#[derive(Clone)]
pub struct ChatPushes {
    pub connections: Arc<dyn ConnectionStore>,
    pub notifier: Arc<dyn ConnectionNotifier>,
}

/// Pushes and webhooks; either may be absent (then nobody is told; tests, or a stack without
/// a WebSocket API).
#[derive(Clone)]
pub struct ChatEffects {
    pub config: Arc<dyn ConfigStore>,
    pub pushes: Option<ChatPushes>,
    pub outbox: Option<Arc<dyn WebhookOutbox>>,
    /// Agents' messages in SMS, e-mail and social conversations, to be sent.
    pub channel_outbox: Option<Arc<dyn ChannelOutbox>>,
    /// The conversations' contact records (history, notes, categories as for calls).
    pub contacts: Option<Arc<dyn ContactRecordStore>>,
    /// The conversations' lifecycle records (the event model reports use, as for calls).
    pub events: Option<Arc<dyn ContactEventLog>>,
    /// Automatic chat distribution: asked to serve a queue when a chat waits in it, and an
    /// agent's queues when they pass a chat on or it ends.
    pub distribution: Option<Arc<dyn ChatDistributionOutbox>>,
}

impl ChatEffects {
    /// From the environment: pushes when `CONNECTIONS_TABLE` and `WS_MANAGEMENT_ENDPOINT` are
    /// both set, bot webhooks with `CHAT_WEBHOOK_QUEUE_URL`, outbound SMS/e-mail/social with
    /// `CHAT_OUTBOUND_QUEUE_URL`, contact records with `CONTACTS_TABLE` and lifecycle records with
    /// `CONTACT_EVENTS_TABLE`, automatic distribution with `CHAT_DISTRIBUTION_QUEUE_URL`; what
    /// is not set is not done.
    pub fn from_environment(sdk: &aws_config::SdkConfig, config: Arc<dyn ConfigStore>) -> Self {
        use linka_shared::{
            adapters::{
                ApiGatewayNotifier, DynamoConnectionStore, DynamoContactEventLog,
                DynamoContactRecordStore, SqsChannelOutbox, SqsChatDistribution, SqsWebhookOutbox,
            },
            config::{optional, ProcessEnv},
        };
        let pushes = optional(&ProcessEnv, "CONNECTIONS_TABLE")
            .zip(optional(&ProcessEnv, "WS_MANAGEMENT_ENDPOINT"))
            .map(|(table, endpoint)| ChatPushes {
                connections: Arc::new(DynamoConnectionStore::from_sdk_config(sdk, table)),
                notifier: Arc::new(ApiGatewayNotifier::new(sdk, &endpoint)),
            });
        let outbox = optional(&ProcessEnv, "CHAT_WEBHOOK_QUEUE_URL").map(|url| {
            Arc::new(SqsWebhookOutbox::from_sdk_config(sdk, url)) as Arc<dyn WebhookOutbox>
        });
        let channel_outbox = optional(&ProcessEnv, "CHAT_OUTBOUND_QUEUE_URL").map(|url| {
            Arc::new(SqsChannelOutbox::from_sdk_config(sdk, url)) as Arc<dyn ChannelOutbox>
        });
        let contacts = optional(&ProcessEnv, "CONTACTS_TABLE").map(|table| {
            Arc::new(DynamoContactRecordStore::from_sdk_config(sdk, table))
                as Arc<dyn ContactRecordStore>
        });
        let events = optional(&ProcessEnv, "CONTACT_EVENTS_TABLE").map(|table| {
            Arc::new(DynamoContactEventLog::from_sdk_config(sdk, table)) as Arc<dyn ContactEventLog>
        });
        let distribution = optional(&ProcessEnv, "CHAT_DISTRIBUTION_QUEUE_URL").map(|url| {
            Arc::new(SqsChatDistribution::from_sdk_config(sdk, url))
                as Arc<dyn ChatDistributionOutbox>
        });
        Self {
            config,
            pushes,
            outbox,
            channel_outbox,
            contacts,
            events,
            distribution,
        }
    }

    /// The administrator's chat settings (queues per channel, chats per agent); the defaults
    /// when none are stored or they cannot be read (a customer's message is never refused for
    /// it: it then waits in the deployment's default queue).
    pub async fn settings(&self) -> ChatSettings {
        match self.config.get(SETTINGS_COLLECTION, CHAT_SETTINGS_ID).await {
            Ok(Some(document)) => serde_json::from_value(document).unwrap_or_else(|error| {
                tracing::error!(error.message = %error, "unreadable chat settings; using the defaults");
                ChatSettings::default()
            }),
            Ok(None) => ChatSettings::default(),
            Err(error) => {
                tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "cannot read the chat settings; using the defaults");
                ChatSettings::default()
            }
        }
    }

    /// The usernames of the queue's members.
    pub async fn queue_members(&self, queue_id: &str) -> BTreeSet<String> {
        let collection = members_collection(queue_id);
        match all_pages(|cursor| self.config.list(&collection, PageLimit::DEFAULT, cursor)).await {
            Ok(documents) => documents
                .iter()
                .filter_map(|member| member.get("username")?.as_str().map(str::to_owned))
                .collect(),
            Err(error) => {
                tracing::warn!(queue_id, error.message = %error, error.cause_chain = %ErrorChain(&error), "cannot read queue members for a chat push");
                BTreeSet::new()
            }
        }
    }

    async fn push(&self, usernames: &BTreeSet<String>, message: &PushMessage) {
        let Some(pushes) = &self.pushes else {
            return;
        };
        let mut ids = Vec::new();
        for username in usernames {
            match pushes.connections.list_for_user(username).await {
                Ok(connections) => ids.extend(connections.into_iter().map(|c| c.connection_id)),
                Err(error) => {
                    tracing::warn!(username, error.message = %error, error.cause_chain = %ErrorChain(&error), "chat push skipped for a user");
                }
            }
        }
        let tally = push_to_connections(
            pushes.connections.as_ref(),
            pushes.notifier.as_ref(),
            ids.iter().map(String::as_str),
            message,
        )
        .await;
        tracing::debug!(
            delivered = tally.delivered,
            gone = tally.gone.len(),
            failed = tally.failed,
            "chat pushed"
        );
    }

    /// Tells the other side that someone is typing (CHAT-2): the chat's agents but `writer`
    /// (the agent typing, if it is one), and for an agent's typing the widget visitor of a web
    /// chat. Nothing is stored; a lost signal only hides an indicator.
    pub async fn typing(&self, conversation: &Conversation, from: Sender, writer: Option<&str>) {
        let mut others: BTreeSet<String> = conversation
            .invited
            .iter()
            .chain(conversation.agent.iter())
            .filter(|username| Some(username.as_str()) != writer)
            .cloned()
            .collect();
        if from == Sender::Agent && conversation.channel == ChatChannel::Web {
            others.insert(visitor_name(&conversation.conversation_id));
        }
        let message = PushMessage::ChatTyping {
            conversation_id: conversation.conversation_id.clone(),
            from,
        };
        self.push(&others, &message).await;
    }

    async fn webhook(&self, conversation: &Conversation, event: WebhookEvent) {
        let (Some(outbox), Some(url)) = (&self.outbox, &conversation.webhook_url) else {
            return;
        };
        let delivery = WebhookDelivery {
            url: url.clone(),
            delivery_id: uuid::Uuid::new_v4().to_string(),
            event,
        };
        if let Err(error) = outbox.enqueue(&delivery).await {
            tracing::error!(conversation_id = conversation.conversation_id, error.message = %error, error.cause_chain = %ErrorChain(&error), "webhook delivery not queued");
        }
    }

    /// The agents who see the conversation: its holder and invited supervisors.
    fn agents(conversation: &Conversation) -> BTreeSet<String> {
        let mut agents = conversation.invited.clone();
        agents.extend(conversation.agent.clone());
        agents
    }

    /// The conversation's contact record, created or brought up to date, with the lifecycle
    /// records of the change (`chat::lifecycle`) stored first (best effort: a failure is logged;
    /// the record is then left as it was, so the next change of the conversation derives and
    /// writes both again).
    pub async fn record(&self, conversation: &Conversation) {
        let Some(contacts) = &self.contacts else {
            return;
        };
        let contact_id = conversation_contact_id(&conversation.conversation_id);
        for _ in 0..5 {
            let before = match contacts.get(&contact_id).await {
                Ok(before) => before,
                Err(error) => {
                    tracing::warn!(contact_id, error.message = %error, error.cause_chain = %ErrorChain(&error), "cannot read a chat's contact record");
                    return;
                }
            };
            let after = match &before {
                Some(before) => {
                    let mut after = before.value.clone();
                    if !after.apply_conversation(conversation) {
                        return;
                    }
                    after
                }
                None => ContactRecord::from_conversation(conversation),
            };
            if let Some(log) = &self.events {
                let events = chat_events(before.as_ref().map(|b| &b.value), &after, conversation);
                if let Err(error) = log.append(&events).await {
                    tracing::warn!(contact_id, error.message = %error, error.cause_chain = %ErrorChain(&error), "cannot store a chat's lifecycle records");
                    return;
                }
            }
            match contacts
                .save(&ContactWrite::of(before.as_ref(), after))
                .await
            {
                Ok(()) => return,
                Err(ContactWriteError::Conflict) => continue,
                Err(ContactWriteError::Store(error)) => {
                    tracing::warn!(contact_id, error.message = %error, error.cause_chain = %ErrorChain(&error), "cannot store a chat's contact record");
                    return;
                }
            }
        }
        tracing::warn!(
            contact_id,
            "a chat's contact record kept changing; left for its next change"
        );
    }

    /// An agent's message of an SMS, e-mail or social conversation to the outbound queue. A
    /// failure to queue it is logged as an error: the message is in the transcript, not sent.
    async fn send_out(&self, conversation: &Conversation, message: &ChatMessage) {
        let Some(outbound) = outbound_for(conversation, message) else {
            return;
        };
        let Some(outbox) = &self.channel_outbox else {
            tracing::error!(
                conversation_id = conversation.conversation_id,
                seq = message.seq,
                "no outbound queue: the message is not sent"
            );
            return;
        };
        if let Err(error) = outbox.enqueue(&outbound).await {
            tracing::error!(conversation_id = conversation.conversation_id, seq = message.seq, error.message = %error, error.cause_chain = %ErrorChain(&error), "outbound message not queued");
        }
    }

    /// New messages: to the conversation's agents; agents' and Linka's own to the bot; agents'
    /// to the customer on SMS, e-mail and social channels; every one to the widget visitor's
    /// open WebSocket (as the conversation API shows it: no author, no agent's keys).
    pub async fn messages(&self, conversation: &Conversation, messages: &[ChatMessage]) {
        let agents = Self::agents(conversation);
        let visitor: BTreeSet<String> = (conversation.channel == ChatChannel::Web)
            .then(|| visitor_name(&conversation.conversation_id))
            .into_iter()
            .collect();
        for message in messages {
            if !visitor.is_empty() {
                let mut shown = message.clone();
                shown.author = None;
                if shown.from != Sender::Customer {
                    shown.client_message_id = None;
                }
                self.push(&visitor, &PushMessage::ChatMessage { message: shown })
                    .await;
            }
            self.push(
                &agents,
                &PushMessage::ChatMessage {
                    message: message.clone(),
                },
            )
            .await;
            self.send_out(conversation, message).await;
            if matches!(message.from, Sender::Agent | Sender::System) {
                self.webhook(
                    conversation,
                    WebhookEvent::Message {
                        conversation_id: conversation.conversation_id.clone(),
                        message: message.clone(),
                    },
                )
                .await;
            }
        }
    }

    /// A changed state: to the members of the queue it waits in (or left), its agents and
    /// `also` (e.g. the agent who transferred it away); to the bot when `tell_bot`.
    pub async fn status(
        &self,
        conversation: &Conversation,
        queues: &[&str],
        also: &[&str],
        tell_bot: bool,
    ) {
        self.record(conversation).await;
        let mut usernames = Self::agents(conversation);
        for queue_id in queues {
            usernames.extend(self.queue_members(queue_id).await);
        }
        usernames.extend(also.iter().map(|u| (*u).to_owned()));
        self.push(
            &usernames,
            &PushMessage::Chat {
                conversation_id: conversation.conversation_id.clone(),
                status: conversation.status,
                queue_id: conversation.queue_id.clone(),
                agent: conversation.agent.clone(),
            },
        )
        .await;
        if tell_bot {
            self.webhook(
                conversation,
                WebhookEvent::Status {
                    conversation_id: conversation.conversation_id.clone(),
                    status: conversation.status,
                },
            )
            .await;
        }
        self.distribute(conversation, also).await;
    }

    /// With automatic distribution on: asks for the chat's queue to be served when it waits,
    /// and for the queues of the agents who passed it on (`also`) or held it till its end.
    async fn distribute(&self, conversation: &Conversation, also: &[&str]) {
        let Some(outbox) = &self.distribution else {
            return;
        };
        let mut triggers = Vec::new();
        if let (ConversationStatus::Queued, Some(queue_id)) =
            (conversation.status, &conversation.queue_id)
        {
            triggers.push(ChatDistributionTrigger::Queues {
                queue_ids: vec![queue_id.clone()],
            });
        }
        let mut freed: BTreeSet<&str> = also.iter().copied().collect();
        if conversation.status == ConversationStatus::Ended {
            freed.extend(conversation.agent.as_deref());
        }
        triggers.extend(
            freed
                .into_iter()
                .map(|username| ChatDistributionTrigger::Agent {
                    username: username.to_owned(),
                }),
        );
        if triggers.is_empty() || !self.settings().await.distributes_automatically() {
            return;
        }
        for trigger in &triggers {
            if let Err(error) = outbox.trigger(trigger).await {
                tracing::warn!(conversation_id = conversation.conversation_id, ?trigger, error.message = %error, error.cause_chain = %ErrorChain(&error), "automatic chat distribution not asked for; the chat waits for the next trigger or an agent");
            }
        }
    }
}
