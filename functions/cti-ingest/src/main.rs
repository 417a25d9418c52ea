//! Composition root of CtiIngestFunction: tracing, config, clients, run.

use cti_ingest::{
    config::Config,
    handler::{function_handler, HandlerDeps},
    push::Pushes,
};
use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{
        ApiGatewayNotifier, DynamoConnectionStore, DynamoCtiStateStore, DynamoUserDirectory,
        SqsRoutingTriggers,
    },
    aws::sdk_config,
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    // Who is behind each device (device → username), read once a minute for both the contact
    // projection and the desk pushes.
    let devices = config.pushes.as_ref().map(|push| {
        std::sync::Arc::new(cti_ingest::directory::CachedDeviceDirectory::new(
            std::sync::Arc::new(DynamoUserDirectory::from_sdk_config(
                &sdk,
                push.users_table.clone(),
            )),
        ))
    });
    // The contact record projection: it needs the users (device → username) too.
    if let Some(contacts) = &config.contacts {
        let Some(devices) = devices.clone() else {
            return Err(
                "CONTACTS_TABLE is set but USERS_TABLE (with CONNECTIONS_TABLE) is not".into(),
            );
        };
        let projection = cti_ingest::projection::Projection::new(
            std::sync::Arc::new(
                linka_shared::adapters::DynamoContactRecordStore::from_sdk_config(
                    &sdk,
                    contacts.contacts_table.clone(),
                ),
            ),
            devices,
            // Only read here (the device map): no audit table, as no write goes through it.
            std::sync::Arc::new(linka_shared::adapters::DynamoConfigStore::from_sdk_config(
                &sdk,
                contacts.config_table.clone(),
                linka_shared::adapters::DynamoAuditLog::from_sdk_config(
                    &sdk,
                    String::new(),
                    chrono::TimeDelta::zero(),
                ),
            )),
        );
        cti_ingest::projection::install(match &contacts.ivr_calls_table {
            Some(table) => projection.with_ivr_calls(std::sync::Arc::new(
                linka_shared::adapters::DynamoIvrCallStore::from_sdk_config(&sdk, table.clone()),
            )),
            None => projection,
        });
    }
    let store = DynamoCtiStateStore::from_sdk_config(
        &sdk,
        config.calls_table,
        config.agent_state_table,
        config.contact_events_table,
    );
    let deps = HandlerDeps {
        // The desk statistics' counters go in the events' transactions (DESK-6).
        store: match config.stats_table {
            Some(table) => store.with_stats_table(table),
            None => store,
        },
        topology: config.topology,
        triggers: config.routing_queue_url.map(|url| {
            std::sync::Arc::new(SqsRoutingTriggers::from_sdk_config(&sdk, url))
                as std::sync::Arc<dyn linka_shared::ports::RoutingTriggers>
        }),
        pushes: config.pushes.zip(devices).map(|(push, devices)| {
            std::sync::Arc::new(Pushes::new(
                devices,
                std::sync::Arc::new(DynamoConnectionStore::from_sdk_config(
                    &sdk,
                    push.connections_table,
                )),
                std::sync::Arc::new(ApiGatewayNotifier::new(&sdk, &push.ws_management_endpoint)),
            ))
        }),
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
