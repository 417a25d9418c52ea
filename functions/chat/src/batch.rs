//! One SQS batch, record by record, for the chat's queue consumers: each record in its own span;
//! a record that can never be handled is logged and dropped (it would only block the queue),
//! any other failure is a batch item failure (SQS retries it, then the dead-letter queue).

use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::telemetry::ErrorChain;
use tracing::Instrument;

use crate::webhook_worker::UnreportableFailure;

/// What became of one record.
pub enum Handled<E> {
    Done(String),
    /// Never going to work: dropped, with why.
    Dropped(String),
    /// Retry it.
    Failed(E),
}

/// Runs `handle` on each record's body (`""` when it has none).
pub async fn each_record<E, F, Fut>(
    name: &'static str,
    event: LambdaEvent<SqsEvent>,
    mut handle: F,
) -> Result<SqsBatchResponse, Error>
where
    E: std::error::Error + 'static,
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Handled<E>>,
{
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let message_id = record.message_id.unwrap_or_default();
        let span = tracing::info_span!("record", consumer = name, sqs_message_id = %message_id);
        let handled = handle(record.body.unwrap_or_default())
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match handled {
            Handled::Done(what) => tracing::info!(what, "record handled"),
            Handled::Dropped(reason) => {
                tracing::error!(reason, "record dropped: it can never be handled");
            }
            Handled::Failed(error) => {
                tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "record failed; SQS will retry it");
                if message_id.is_empty() {
                    return Err(UnreportableFailure.into());
                }
                response.add_failure(message_id);
            }
        }
    }
    Ok(response)
}
