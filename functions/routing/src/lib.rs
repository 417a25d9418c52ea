//! The routing function (docs/adr/0013-routing-function.md): `routing-api` answers the relay's
//! `RouteQuery` (HTTP, IAM-authorised in AWS) with a PBX destination, `routing-worker` consumes
//! `RoutingQueue` (an agent became available, a call settled, a waiting call's timer). Both use
//! [`router::Router`] around the pure engine in `linka_shared::routing`.

pub mod api;
pub mod callbacks_api;
pub mod config;
pub mod http_common;
pub mod router;
pub mod voicemail_api;
pub mod worker;

/// Every environment variable the two functions read (`config::Config`), checked against
/// `infra/template.yaml` by the consistency tests.
pub const ENVIRONMENT: &[&str] = &[
    "CONFIG_TABLE",
    "USERS_TABLE",
    "AUDIT_TABLE",
    "AGENT_STATE_TABLE",
    "AGENT_RESERVATIONS_TABLE",
    "WAITING_CALLS_TABLE",
    "LAST_AGENT_TABLE",
    "CTI_COMMAND_QUEUE_URL",
    "ROUTING_QUEUE_URL",
    "ROUTING_OFFER_SECONDS",
    "ROUTING_CONFIG_CACHE_SECONDS",
    "ROUTING_REQUIRE_IAM",
    "CALLBACKS_TABLE",
    "IVR_CALLS_TABLE",
    "PROMPTS_BUCKET",
    "LINKA_TTS",
    "VOICEMAILS_TABLE",
    "VOICEMAIL_BUCKET",
    "AGENT_DESK_TABLE",
    "CLIENTS_TABLE",
];

/// What `routing-worker` reads besides [`ENVIRONMENT`]: the chat distribution queue it tells of
/// agents who became available.
pub const WORKER_EXTRA_ENVIRONMENT: &[&str] = &["CHAT_DISTRIBUTION_QUEUE_URL"];

/// Every environment variable `callbacks-api` reads: the routing ones and token validation.
pub const CALLBACKS_API_ENVIRONMENT: &[&str] = &[
    "CONFIG_TABLE",
    "USERS_TABLE",
    "AUDIT_TABLE",
    "AGENT_STATE_TABLE",
    "AGENT_RESERVATIONS_TABLE",
    "WAITING_CALLS_TABLE",
    "LAST_AGENT_TABLE",
    "CTI_COMMAND_QUEUE_URL",
    "ROUTING_QUEUE_URL",
    "ROUTING_OFFER_SECONDS",
    "ROUTING_CONFIG_CACHE_SECONDS",
    "ROUTING_REQUIRE_IAM",
    "CALLBACKS_TABLE",
    "IVR_CALLS_TABLE",
    "PROMPTS_BUCKET",
    "LINKA_TTS",
    "VOICEMAILS_TABLE",
    "VOICEMAIL_BUCKET",
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_JWKS_URL",
    "AUTH_ROLES_CLAIM",
];

/// The HTTP routes of `routing-api` (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[("POST", "/api/cti/route")];

/// The HTTP routes of `callbacks-api`.
pub use callbacks_api::ROUTES as CALLBACK_ROUTES;

/// The HTTP routes of `voicemail-api`.
pub use voicemail_api::ROUTES as VOICEMAIL_ROUTES;

/// `voicemail-api` reads what `callbacks-api` reads (the same configuration and tokens).
pub const VOICEMAIL_API_ENVIRONMENT: &[&str] = CALLBACKS_API_ENVIRONMENT;

/// The IVR runtime from the configuration, when IVR trees run in the cloud.
pub fn ivr_runtime(
    config: &crate::config::Config,
    sdk: &aws_config::SdkConfig,
) -> Option<crate::router::IvrRuntime> {
    use std::sync::Arc;
    let settings = config.ivr.as_ref()?;
    Some(crate::router::IvrRuntime {
        calls: Arc::new(linka_shared::adapters::DynamoIvrCallStore::from_sdk_config(
            sdk,
            settings.calls_table.clone(),
        )),
        prompts: Arc::new(linka_shared::prompts::PromptResolver::new(
            Arc::new(linka_shared::adapters::S3PromptStore::from_sdk_config(
                sdk,
                settings.prompts.bucket.clone(),
            )),
            linka_shared::adapters::speech_synthesizer(settings.prompts.tts, sdk),
        )),
        voicemail: config
            .voicemail
            .as_ref()
            .map(|voicemail| crate::router::VoicemailRuntime {
                store: Arc::new(
                    linka_shared::adapters::DynamoVoicemailStore::from_sdk_config(
                        sdk,
                        voicemail.table.clone(),
                    ),
                ),
                audio: Arc::new(linka_shared::adapters::S3VoicemailAudio::from_sdk_config(
                    sdk,
                    voicemail.bucket.clone(),
                )),
            }),
    })
}
