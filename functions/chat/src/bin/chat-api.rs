//! Composition root of ChatApiFunction: tracing, config, clients, run. The conversation API
//! (widget and chatbot) and the desk's chat API share the store and the effects.

use std::sync::Arc;

use chat::{
    channels_inbound::InboundDeps,
    conversation_api::{self, ConversationDeps},
    desk_chats::{self, DeskChatDeps},
    effects::ChatEffects,
    social_webhook::{self, MessengerSecrets, SocialDeps},
};
use lambda_http::{run, service_fn, Error, Request};
use linka_shared::{
    adapters::{
        DynamoAuditLog, DynamoConfigStore, DynamoConversationStore, DynamoUserDirectory,
        S3MailObjects,
    },
    auth::{AuthConfig, HttpJwksSource, TokenValidator},
    aws::sdk_config,
    chat::{participant::ParticipantTokens, WebhookSchemes},
    config::{self, ProcessEnv},
    ports::{ConfigStore, ConversationStore, MailObjects},
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
    let effects = ChatEffects::from_environment(&sdk, config.clone());
    let attachments = config::optional(&ProcessEnv, "CHAT_ATTACHMENTS_BUCKET").map(|bucket| {
        Arc::new(S3MailObjects::from_sdk_config(&sdk, bucket)) as Arc<dyn MailObjects>
    });
    let messenger = config::optional(&ProcessEnv, "MESSENGER_APP_SECRET")
        .zip(config::optional(&ProcessEnv, "MESSENGER_VERIFY_TOKEN"))
        .map(|(secret, verify_token)| MessengerSecrets {
            app_secret: secret.into_bytes(),
            verify_token,
        });
    let social = SocialDeps {
        inbound: InboundDeps {
            store: store.clone(),
            effects: effects.clone(),
            queue_id: default_queue_id.clone(),
        },
        messenger,
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
        attachments,
    };
    run(service_fn(|request: Request| {
        let (conversations, desk, social) = (&conversations, &desk, &social);
        async move {
            let path = request_path(&request);
            let response = if conversation_api::handles(request.method(), &path) {
                conversation_api::handle(conversations, request).await
            } else if desk_chats::handles(request.method(), &path) {
                desk_chats::handle(desk, request).await
            } else if social_webhook::handles(request.method(), &path) {
                social_webhook::handle(social, request).await
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
