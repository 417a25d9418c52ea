//! The agent desk's HTTP API (issue 6): one Lambda, `desk-api`, serving `/api/desk…`,
//! `/api/clients…`, `/api/client-fields`, `/api/contacts…` and the nightly ICIS export
//! `/api/icis/contacts`. Each API module says which routes it serves (`handles`) and serves
//! them (`handle`); the shared HTTP plumbing is `routing::http_common`.

pub mod clients_api;
pub mod contacts_api;
pub mod desk_api;
pub mod icis_export;
pub mod stats_api;

#[cfg(test)]
pub(crate) mod test_support;

/// Every environment variable `desk-api` reads, checked against `infra/template.yaml` by the
/// consistency tests.
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
    "AGENT_DESK_TABLE",
    "CLIENTS_TABLE",
    "CONTACTS_TABLE",
    "CHAT_TABLE",
    "STATS_TABLE",
    "CONNECTIONS_TABLE",
    "WS_MANAGEMENT_ENDPOINT",
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_JWKS_URL",
    "AUTH_ROLES_CLAIM",
];

/// Every HTTP route of `desk-api` (method, path), as in the template and the OpenAPI file.
pub fn routes() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    desk_api::ROUTES
        .iter()
        .chain(clients_api::ROUTES)
        .chain(contacts_api::ROUTES)
        .chain(stats_api::ROUTES)
        .chain(icis_export::ROUTES)
}
