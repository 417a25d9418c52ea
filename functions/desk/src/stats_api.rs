//! `GET /api/desk/stats` (issue 6, DESK-6): handled and lost calls and the service level over
//! the last 24 hours, 7, 14 and 30 days — overall, in the signed-in agent's queues (together and
//! each) and the agent's own answered calls.
//!
//! The figures are the hourly counters of `StatsTable` (`linka_shared::stats`), which
//! cti-ingest adds in the transaction of each contact's ending record. The agent's queues are the
//! queues they are a member of; a queue's counters are those of its PBX device (the routing
//! device map); the agent's own are those of the device they sit at (`desk_api::seat`).
//!
//! Reads only: not audited (like `GET /api/desk`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::{
    http::{
        header::{self, HeaderValue},
        Method, StatusCode,
    },
    Body, Request, RequestExt, Response,
};
use linka_shared::{
    auth::{JwksSource, Principal},
    authz::Permission,
    ports::{AuditLog, RoutingStateStore, UserDirectory},
    problem::Problem,
    stats::{
        agent_scope, period_range, queue_scope, summarise, HourCounters, StatsPeriod, StatsStore,
        StatsSummary, ALL_SCOPE, SERVICE_LEVEL_SECONDS,
    },
};
use routing::http_common::{
    auth_failure, bearer_token, json, problem_response, router_failure, store_failure, Operation,
};
use routing::router::RoutingConfig;
use serde::Serialize;

use crate::desk_api::{seat, DeskDeps};

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[("GET", "/api/desk/stats")];

const PATH: &str = "/api/desk/stats";

/// What the handler needs: the desk's dependencies (token validator, configuration and the
/// agents' presence through the router) and the statistics.
pub struct StatsDeps<'a, J, S, U, G, A> {
    pub desk: &'a DeskDeps<J, S, U, G, A>,
    pub stats: Arc<dyn StatsStore>,
}

enum Resolution {
    Found,
    NotFound,
    MethodNotAllowed(&'static str),
}

fn resolve(method: &Method, path: &str) -> Resolution {
    let Some(start) = path.find(PATH) else {
        return Resolution::NotFound;
    };
    if !path[start + PATH.len()..].trim_matches('/').is_empty() {
        return Resolution::NotFound;
    }
    if method == Method::GET {
        Resolution::Found
    } else {
        Resolution::MethodNotAllowed("GET")
    }
}

/// True when this module serves `method path`.
pub fn handles(method: &Method, path: &str) -> bool {
    !matches!(resolve(method, path), Resolution::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueStats {
    queue_id: String,
    name: String,
    #[serde(flatten)]
    summary: StatsSummary,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PeriodView {
    period: StatsPeriod,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    all: StatsSummary,
    my_queues: StatsSummary,
    queues: Vec<QueueStats>,
    mine: StatsSummary,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatsView {
    service_level_seconds: u64,
    periods: Vec<PeriodView>,
}

/// A queue of the agent and its PBX device (`None`: not in the device map, so no counters).
struct MyQueue {
    queue_id: String,
    name: String,
    device: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

/// Serves a request of this module. Never fails: failures are problem responses.
pub async fn handle<J, S, U, G, A>(
    deps: &StatsDeps<'_, J, S, U, G, A>,
    request: Request,
) -> Response<Body>
where
    J: JwksSource,
    S: RoutingStateStore,
    U: UserDirectory,
    G: linka_shared::ports::RoutingSignals,
    A: AuditLog,
{
    let path = match request.raw_http_path() {
        "" => request.uri().path().to_owned(),
        raw => raw.to_owned(),
    };
    match resolve(request.method(), &path) {
        Resolution::Found => {}
        Resolution::NotFound => {
            return problem_response(Problem::not_found(
                "route-not-found",
                "There is no such route.",
            ))
        }
        Resolution::MethodNotAllowed(allowed) => {
            let mut response = problem_response(Problem::method_not_allowed(format!(
                "This path only supports {allowed}."
            )));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allowed));
            return response;
        }
    }
    let principal = match bearer_token(request.headers()) {
        Ok(token) => match deps.desk.validator.validate(token).await {
            Ok(principal) => principal,
            Err(error) => return auth_failure(&error),
        },
        Err(error) => return auth_failure(&error),
    };
    serve(deps, &principal, Utc::now())
        .await
        .unwrap_or_else(problem_response)
}

async fn serve<J, S, U, G, A>(
    deps: &StatsDeps<'_, J, S, U, G, A>,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Operation
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: linka_shared::ports::RoutingSignals,
{
    principal
        .require(Permission::WorkAtDesk)
        .map_err(|forbidden| Problem::forbidden("forbidden", forbidden.to_string()))?;
    let config = deps
        .desk
        .router
        .routing_config()
        .await
        .map_err(|error| router_failure("read the configuration", error))?;
    let seat = seat(deps.desk, &config, &principal.username, now).await?;
    let queues = my_queues(&config, &seat.user.username);
    // Every period is a suffix of the longest: one read per scope.
    let widest = period_range(StatsPeriod::Month, now);
    let read = |scope: String| {
        let (from, to) = (widest.from_hour.clone(), widest.to_hour.clone());
        async move {
            deps.stats
                .hours(&scope, &from, &to)
                .await
                .map_err(|error| store_failure("read the statistics", error))
        }
    };
    let all = read(ALL_SCOPE.to_owned()).await?;
    let mut by_device: BTreeMap<&str, Vec<HourCounters>> = BTreeMap::new();
    for device in queues.iter().filter_map(|queue| queue.device.as_deref()) {
        if !by_device.contains_key(device) {
            by_device.insert(device, read(queue_scope(device)).await?);
        }
    }
    let mine = match &seat.device {
        Some(device) => read(agent_scope(device)).await?,
        None => Vec::new(),
    };
    let queue_hours: Vec<HourCounters> = by_device.values().flatten().cloned().collect();
    let periods = StatsPeriod::ALL
        .into_iter()
        .map(|period| {
            let range = period_range(period, now);
            let summary =
                |hours: &[HourCounters]| summarise(hours, &range.from_hour, &range.to_hour);
            PeriodView {
                period,
                from: range.from,
                to: range.to,
                all: summary(all.as_slice()),
                my_queues: summary(queue_hours.as_slice()),
                queues: queues
                    .iter()
                    .map(|queue| QueueStats {
                        queue_id: queue.queue_id.clone(),
                        name: queue.name.clone(),
                        summary: queue
                            .device
                            .as_deref()
                            .and_then(|device| by_device.get(device))
                            .map_or_else(StatsSummary::default, |hours| summary(hours.as_slice())),
                    })
                    .collect(),
                mine: summary(mine.as_slice()),
            }
        })
        .collect();
    json(
        StatusCode::OK,
        &StatsView {
            service_level_seconds: SERVICE_LEVEL_SECONDS,
            periods,
        },
    )
}

/// The queues `username` is a member of, by name.
fn my_queues(config: &RoutingConfig, username: &str) -> Vec<MyQueue> {
    let mut queues: Vec<MyQueue> = config
        .queues
        .iter()
        .filter(|queue| queue.members.iter().any(|m| m.username == username))
        .map(|queue| MyQueue {
            queue_id: queue.config.queue_id.clone(),
            name: queue.config.name.clone(),
            device: config.devices.queues.get(&queue.config.queue_id).cloned(),
        })
        .collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name).then(a.queue_id.cmp(&b.queue_id)));
    queues
}

#[cfg(test)]
#[path = "stats_api_tests.rs"]
mod tests;
