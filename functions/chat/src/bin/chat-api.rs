//! Composition root of ChatApiFunction: tracing, config, clients, run. The conversation API
//! (widget and chatbot) and the desk's chat API share the store and the effects.

use std::sync::Arc;

use chat::{
    conversation_api::{self, ConversationDeps},
    desk_chats::{self, DeskChatDeps},
    effects::{ChatEffects, ChatPushes},
};
use lambda_http::{run, service_fn, Error, Request};
use linka_shared::{
    adapters::{
        ApiGatewayNotifier, DynamoAuditLog, DynamoConfigStore, DynamoConnectionStore,
        DynamoConversationStore, DynamoUserDirectory, SqsWebhookOutbox,
    },
    auth::{AuthConfig, HttpJwksSource, TokenValidator},
    aws::sdk_config,
    chat::{participant::ParticipantTokens, WebhookSchemes},
    config::{self, ProcessEnv},
    ports::{ConfigStore, ConversationStore, WebhookOutbox},
    problem::Problem,
    telemetry,
};
use routing::http_common::{problem_response, request_path};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let invalid = |error: &dyn std::error::Error| {
        tracing::error!(error.message = %error, "invalid configuration");
    };
    let required = |name: &'static str| {
        config::required(&ProcessEnv, name).inspect_err(|error| invalid(error))
    };
    let auth = AuthConfig::from_source(&ProcessEnv).inspect_err(|error| invalid(error))?;
    let secret = required("CHAT_TOKEN_SECRET")?;
    let tokens = ParticipantTokens::new(secret.as_bytes()).inspect_err(|error| invalid(error))?;
    let default_queue_id = required("CHAT_DEFAULT_QUEUE_ID")?;
    let webhooks = match config::optional(&ProcessEnv, "CHAT_ALLOW_HTTP_WEBHOOKS").as_deref() {
        Some("true") => WebhookSchemes::AlsoHttp,
        _ => WebhookSchemes::HttpsOnly,
    };
    let chats_per_agent = DeskChatDeps::<HttpJwksSource>::chats_per_agent_or_default(
        config::optional(&ProcessEnv, "CHATS_PER_AGENT").and_then(|n| n.parse().ok()),
    );
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        required("AUDIT_TABLE")?,
        chrono::Duration::days(183),
    );
    let store: Arc<dyn ConversationStore> = Arc::new(DynamoConversationStore::from_sdk_config(
        &sdk,
        required("CHAT_TABLE")?,
    ));
    let config: Arc<dyn ConfigStore> = Arc::new(DynamoConfigStore::from_sdk_config(
        &sdk,
        required("CONFIG_TABLE")?,
        audit,
    ));
    // Pushes: both set, or neither (then desks see changes when they read again).
    let pushes = config::optional(&ProcessEnv, "CONNECTIONS_TABLE")
        .zip(config::optional(&ProcessEnv, "WS_MANAGEMENT_ENDPOINT"))
        .map(|(table, endpoint)| ChatPushes {
            connections: Arc::new(DynamoConnectionStore::from_sdk_config(&sdk, table)),
            notifier: Arc::new(ApiGatewayNotifier::new(&sdk, &endpoint)),
        });
    let outbox = config::optional(&ProcessEnv, "CHAT_WEBHOOK_QUEUE_URL").map(|url| {
        Arc::new(SqsWebhookOutbox::from_sdk_config(&sdk, url)) as Arc<dyn WebhookOutbox>
    });
    let effects = ChatEffects {
        config: config.clone(),
        pushes,
        outbox,
    };
    let validator = || -> Result<_, Error> {
        Ok(TokenValidator::new(
            &auth,
            HttpJwksSource::new(&auth.jwks_url)?,
        ))
    };
    let conversations = ConversationDeps {
        validator: validator()?,
        tokens,
        store: store.clone(),
        config: config.clone(),
        default_queue_id,
        webhooks,
        effects: effects.clone(),
    };
    let desk = DeskChatDeps {
        validator: validator()?,
        store,
        config,
        users: Arc::new(DynamoUserDirectory::from_sdk_config(
            &sdk,
            required("USERS_TABLE")?,
        )),
        effects,
        chats_per_agent,
    };
    run(service_fn(|request: Request| {
        let (conversations, desk) = (&conversations, &desk);
        async move {
            let path = request_path(&request);
            let response = if conversation_api::handles(request.method(), &path) {
                conversation_api::handle(conversations, request).await
            } else if desk_chats::handles(request.method(), &path) {
                desk_chats::handle(desk, request).await
            } else {
                problem_response(Problem::not_found(
                    "route-not-found",
                    "There is no such route.",
                ))
            };
            Ok::<_, Error>(response)
        }
    }))
    .await
}
