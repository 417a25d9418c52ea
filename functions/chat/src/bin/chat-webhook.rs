//! Composition root of ChatWebhookFunction: tracing, config, the HTTP client, run.

use chat::webhook_worker::{function_handler, HttpPoster, WebhookDeps};
use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    config::{self, ProcessEnv},
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let secret = config::required(&ProcessEnv, "CHAT_WEBHOOK_SECRET")
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let deps = WebhookDeps {
        poster: HttpPoster::new()?,
        secret: secret.into_bytes(),
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
