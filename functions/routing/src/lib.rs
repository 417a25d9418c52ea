//! The routing function (docs/adr/0013-routing-function.md): `routing-api` answers the relay's
//! `RouteQuery` (HTTP, IAM-authorised in AWS) with a PBX destination, `routing-worker` consumes
//! `RoutingQueue` (an agent became available, a call settled, a waiting call's timer). Both use
//! [`router::Router`] around the pure engine in `linka_shared::routing`.

pub mod api;
pub mod config;
pub mod router;
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
];

/// The HTTP routes of `routing-api` (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[("POST", "/api/cti/route")];
