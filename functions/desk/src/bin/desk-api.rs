//! Composition root of DeskApiFunction: tracing, config, clients, run. Each request goes to
//! the API module that serves its route (contacts first: it claims `/api/desk/history`,
//! `/api/desk/recent` and `/api/clients/{id}/contacts`).

use std::sync::Arc;

use desk::{clients_api, contacts_api, desk_api, icis_export, stats_api};
use lambda_http::{run, service_fn, Error, Request, RequestExt};
use linka_shared::{
    adapters::{
        ApiGatewayNotifier, DynamoAgentDeskStore, DynamoAgentPresences, DynamoAuditLog,
        DynamoClientStore, DynamoConfigStore, DynamoConnectionStore, DynamoContactRecordStore,
        DynamoConversationStore, DynamoRoutingStateStore, DynamoStatsStore, DynamoUserDirectory,
        SqsRoutingSignals,
    },
    auth::{AuthConfig, HttpJwksSource, TokenValidator},
    aws::sdk_config,
    config::{self, ProcessEnv},
    problem::Problem,
    telemetry,
};
use routing::{config::Config, http_common::problem_response, router::Router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let invalid = |error: &config::ConfigError| tracing::error!(error.message = %error, "invalid configuration");
    let config = Config::from_env().inspect_err(invalid)?;
    let auth = AuthConfig::from_source(&ProcessEnv)
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let clients_table = config::required(&ProcessEnv, "CLIENTS_TABLE").inspect_err(invalid)?;
    let contacts_table = config::required(&ProcessEnv, "CONTACTS_TABLE").inspect_err(invalid)?;
    let desk_table = config::required(&ProcessEnv, "AGENT_DESK_TABLE").inspect_err(invalid)?;
    let stats_table = config::required(&ProcessEnv, "STATS_TABLE").inspect_err(invalid)?;
    let chat_table = config::required(&ProcessEnv, "CHAT_TABLE").inspect_err(invalid)?;
    // Contact pushes: both set, or neither (then the desks read records again when opened).
    let connections_table = config::optional(&ProcessEnv, "CONNECTIONS_TABLE");
    let ws_endpoint = config::optional(&ProcessEnv, "WS_MANAGEMENT_ENDPOINT");
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        config.audit_table.clone(),
        chrono::Duration::days(183),
    );
    let config_store =
        DynamoConfigStore::from_sdk_config(&sdk, config.config_table.clone(), audit.clone());
    let clients = DynamoClientStore::from_sdk_config(&sdk, clients_table);
    let desks = Arc::new(DynamoAgentDeskStore::from_sdk_config(&sdk, desk_table));
    let router = Router::new(
        DynamoRoutingStateStore::from_sdk_config(&sdk, config.routing_tables()),
        DynamoUserDirectory::from_sdk_config(&sdk, config.users_table.clone()),
        SqsRoutingSignals::from_sdk_config(
            &sdk,
            config.command_queue_url.clone(),
            config.routing_queue_url.clone(),
        ),
        Arc::new(config_store.clone()),
        config.offer_seconds,
        config.config_cache,
    )
    .with_desks(desks.clone());
    let validator = || -> Result<_, Error> {
        Ok(TokenValidator::new(
            &auth,
            HttpJwksSource::new(&auth.jwks_url)?,
        ))
    };
    let desk_deps = desk_api::DeskDeps {
        validator: validator()?,
        router,
        desks,
        presences: Arc::new(DynamoAgentPresences::from_sdk_config(
            &sdk,
            config.agent_state_table.clone(),
        )),
        audit: audit.clone(),
    };
    let stats_deps = stats_api::StatsDeps {
        desk: &desk_deps,
        stats: Arc::new(DynamoStatsStore::from_sdk_config(&sdk, stats_table)),
    };
    let clients_deps = clients_api::ClientsDeps {
        validator: validator()?,
        clients: clients.clone(),
        config: config_store.clone(),
        audit: audit.clone(),
    };
    let records = DynamoContactRecordStore::from_sdk_config(&sdk, contacts_table);
    let export_deps = icis_export::IcisExportDeps {
        validator: validator()?,
        records: records.clone(),
        conversations: Arc::new(DynamoConversationStore::from_sdk_config(&sdk, chat_table)),
        audit: audit.clone(),
    };
    let contacts_deps = contacts_api::ContactsDeps {
        validator: validator()?,
        records,
        clients,
        config: config_store,
        audit,
        pushes: connections_table.zip(ws_endpoint).map(|(table, endpoint)| {
            contacts_api::ContactPushes {
                connections: Arc::new(DynamoConnectionStore::from_sdk_config(&sdk, table)),
                notifier: Arc::new(ApiGatewayNotifier::new(&sdk, &endpoint)),
            }
        }),
    };
    run(service_fn(|request: Request| {
        let (desk_deps, clients_deps, contacts_deps, stats_deps, export_deps) = (
            &desk_deps,
            &clients_deps,
            &contacts_deps,
            &stats_deps,
            &export_deps,
        );
        async move {
            let path = match request.raw_http_path() {
                "" => request.uri().path().to_owned(),
                raw => raw.to_owned(),
            };
            let method = request.method().clone();
            let response = if contacts_api::handles(&method, &path) {
                contacts_api::handle(contacts_deps, request).await
            } else if clients_api::handles(&method, &path) {
                clients_api::handle(clients_deps, request).await
            } else if stats_api::handles(&method, &path) {
                stats_api::handle(stats_deps, request).await
            } else if icis_export::handles(&method, &path) {
                icis_export::handle(export_deps, request).await
            } else if desk_api::handles(&method, &path) {
                desk_api::handle(desk_deps, request).await
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
