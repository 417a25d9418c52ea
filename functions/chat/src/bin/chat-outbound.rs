//! Composition root of ChatOutboundFunction: tracing, config, the providers, run. A channel
//! whose setting is empty has no sender: its messages are refused and noted in the transcript.

use std::sync::Arc;

use chat::{
    messenger_sender::MessengerSender,
    outbound_worker::{function_handler, OutboundDeps},
};
use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{DynamoConversationStore, SesMailSender, SnsSmsSender},
    aws::sdk_config,
    chat::channels::MailFrom,
    config::{self, ProcessEnv},
    ports::{MailSender, SmsSender, SocialSender},
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let optional = |name: &'static str| {
        config::optional(&ProcessEnv, name).filter(|value| !value.trim().is_empty())
    };
    let sdk = sdk_config().await;
    let table = config::required(&ProcessEnv, "CHAT_TABLE")
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let sms: Arc<dyn SmsSender> = Arc::new(SnsSmsSender::from_sdk_config(
        &sdk,
        optional("SMS_SENDER_ID"),
    ));
    let mail = optional("MAIL_FROM_ADDRESS").map(|address| {
        let sender: Arc<dyn MailSender> = Arc::new(SesMailSender::from_sdk_config(
            &sdk,
            address.clone(),
            optional("MAIL_CONFIGURATION_SET"),
        ));
        let name = optional("MAIL_FROM_NAME").unwrap_or_else(|| "Linka".into());
        (sender, MailFrom { address, name })
    });
    let social = match optional("MESSENGER_API_URL").zip(optional("MESSENGER_PAGE_TOKEN")) {
        Some((url, token)) => {
            Some(Arc::new(MessengerSender::new(&url, token)?) as Arc<dyn SocialSender>)
        }
        None => None,
    };
    let deps = OutboundDeps {
        store: Arc::new(DynamoConversationStore::from_sdk_config(&sdk, table)),
        sms: Some(sms),
        mail,
        social,
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
