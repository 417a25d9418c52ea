//! The routing worker: consumes `RoutingQueue` (standard queue, every trigger idempotent) and
//! reports partial batch failures so that SQS retries only the failed triggers.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use futures_util::future::join_all;
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    ports::{RoutingSignals, RoutingStateStore, UserDirectory},
    routing_live::RoutingTrigger,
};
use thiserror::Error;

use crate::router::{Handled, Router, RouterError};

/// One trigger failed.
#[derive(Debug, Error)]
pub enum TriggerError {
    #[error("the message is not a routing trigger")]
    Unreadable(#[source] serde_json::Error),
    #[error(transparent)]
    Router(#[from] RouterError),
}

/// Runs one trigger.
pub async fn handle_trigger<S, U, G>(
    router: &Router<S, U, G>,
    trigger: &RoutingTrigger,
) -> Result<Handled, RouterError>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let now = Utc::now();
    match trigger {
        RoutingTrigger::AgentAvailable { device } => {
            let handled = router.agent_available(device, now).await?;
            router.tell_chats_agent_available(device).await?;
            Ok(handled)
        }
        RoutingTrigger::CallSettled {
            call_id,
            answered_by,
        } => {
            router
                .call_settled(call_id, answered_by.as_deref(), now)
                .await
        }
        RoutingTrigger::ReviewCall { call_id } => router.review_call(call_id, now).await,
        RoutingTrigger::CallbackDue { callback_id } => router.callback_due(callback_id, now).await,
        RoutingTrigger::IvrReport {
            call_id,
            device,
            prompt_id,
            outcome,
        } => {
            router
                .ivr_report(call_id, device, prompt_id, outcome, now)
                .await
        }
    }
}

/// Handles a batch.
pub async fn function_handler<S, U, G>(
    router: &Router<S, U, G>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    // Triggers are independent (a standard queue, each idempotent): run the batch at once, so
    // that one slow trigger does not make the others wait into the function's timeout.
    let outcomes = event.payload.records.iter().map(|record| async move {
        let message_id = record.message_id.clone().unwrap_or_default();
        let result = match serde_json::from_str::<RoutingTrigger>(
            record.body.as_deref().unwrap_or_default(),
        ) {
            Err(error) => Err(TriggerError::Unreadable(error)),
            Ok(trigger) => handle_trigger(router, &trigger)
                .await
                .map_err(TriggerError::from)
                .inspect(|handled| {
                    // What routing did is the operator's trail of each waiting call (offers,
                    // ring-outs, overflows); triggers that found nothing to do stay quiet.
                    if matches!(handled, Handled::Nothing) {
                        tracing::debug!(?trigger, ?handled, "trigger done");
                    } else {
                        tracing::info!(?trigger, ?handled, "trigger done");
                    }
                }),
        };
        (message_id, result)
    });
    let mut response = SqsBatchResponse::default();
    for (message_id, result) in join_all(outcomes).await {
        if let Err(error) = result {
            tracing::warn!(message_id, error.message = %error, error.source = ?std::error::Error::source(&error).map(ToString::to_string), "trigger failed; SQS will retry it");
            response.add_failure(message_id);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use linka_shared::cti_state::AgentState;

    use super::*;
    use crate::router::tests::{at, config, fixture, presence, query};

    const SAMPLE: &str = include_str!("../../../events/sqs/routing-triggers.json");

    #[tokio::test]
    async fn when_a_batch_arrives_should_run_every_trigger_and_report_only_the_unreadable_one() {
        // GIVEN a call of prg-1 waiting for an agent who is not ready yet
        let f = fixture(config());
        f.state
            .set_agent(presence("2001", AgentState::NotReady, -100));
        let mut waiting = query("4f1c2a9e0b7d4c3a8e6f5d4c3b2a1908", 0);
        waiting.relay_id = "prg-1".into();
        f.router.route(&waiting, at(0)).await.unwrap();
        f.state.set_agent(presence("2001", AgentState::Ready, 5));
        // WHEN the sample batch arrives: agent 2001 available, the call answered at 2001, a
        // review of it, and a trigger of an unknown type
        let event = LambdaEvent::new(
            serde_json::from_str(SAMPLE).unwrap(),
            lambda_runtime::Context::default(),
        );
        let response = function_handler(&f.router, event).await.unwrap();
        // THEN only the unknown trigger is reported failed (it goes to the DLQ after retries)
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, ["4f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"]);
        // AND the call no longer waits
        assert!(f
            .state
            .waiting_call("prg-1/4f1c2a9e0b7d4c3a8e6f5d4c3b2a1908")
            .await
            .unwrap()
            .is_none());
    }
}
