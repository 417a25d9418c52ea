//! `POST /api/cti/route`: the relay's route request (RouteQuery → RouteAnswer).
//!
//! In AWS the route is IAM-authorised (the relay signs with SigV4) and the function refuses a
//! request API Gateway did not authorise that way (`ROUTING_REQUIRE_IAM`). Any answer other than
//! 200 makes the relay use its fallback route, so a caller is never lost: 422 `no-route` when the
//! plan leads nowhere the PBX can reach (no matching rule, a device missing from the device
//! map) or the relay's deadline has passed, 503 when the state could not be read or written.

use chrono::Utc;
use cti_events::{RouteAnswer, RouteQuery, SCHEMA_VERSION};
use lambda_http::{
    http::{header, HeaderValue, Method, StatusCode},
    request::RequestContext,
    Body, Error, Request, RequestExt, Response,
};
use linka_shared::{
    ports::{RoutingSignals, RoutingStateStore, UserDirectory},
    problem::{self, FieldError, Problem},
};

use crate::router::{Router, RouterError};

/// The route's path (after any stage prefix).
pub const ROUTE_PATH: &str = "/api/cti/route";
/// A route query is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What the API handler needs.
pub struct ApiDeps<S, U, G> {
    pub router: Router<S, U, G>,
    pub require_iam: bool,
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn problem_response(problem: Problem) -> Response<Body> {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = serde_json::to_string(&problem).unwrap_or_else(|_| {
        r#"{"type":"urn:linka:problem:internal-error","title":"Internal Server Error","status":500,"detail":"","code":"internal-error"}"#.to_owned()
    });
    respond(status, problem::CONTENT_TYPE, text)
}

fn iam_authorised(request: &Request) -> bool {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .is_some_and(|authorizer| authorizer.iam.is_some()),
        _ => false,
    }
}

/// JSON numbers such as `1.0` are integers by JSON Schema; serde reads them only as floats.
fn integral_numbers(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(float)
                if number.is_f64()
                    && float.fract() == 0.0
                    && float >= 0.0
                    && float <= u32::MAX as f64 =>
            {
                Value::from(float as u64)
            }
            _ => Value::Number(number),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral_numbers).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key, integral_numbers(value)))
                .collect(),
        ),
        other => other,
    }
}

/// The limits of the OpenAPI schema `RouteQuery`.
fn check_query(query: &RouteQuery) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let request = &query.request;
    for (field, value, max) in [
        ("relayId", query.relay_id.as_str(), 64),
        ("crossRefId", request.cross_ref_id.as_str(), 64),
        ("callId", request.call_id.as_str(), 64),
    ] {
        if value.is_empty() || value.chars().count() > max {
            problems.push(FieldError::new(
                field,
                format!("must be 1 to {max} characters"),
            ));
        }
    }
    let device = &request.routing_device;
    if device.is_empty()
        || device.len() > 20
        || !device
            .chars()
            .all(|c| c.is_ascii_digit() || "*#+".contains(c))
    {
        problems.push(FieldError::new(
            "routingDevice",
            "must be 1 to 20 of 0-9 * # +",
        ));
    }
    for (field, value) in [
        ("callingDevice", &request.calling_device),
        ("calledDevice", &request.called_device),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 32) {
            problems.push(FieldError::new(field, "must be at most 32 characters"));
        }
    }
    if request.attempt > 100 {
        problems.push(FieldError::new("attempt", "must be 0 to 100"));
    }
    if query.version == 0 {
        problems.push(FieldError::new("version", "must be at least 1"));
    }
    problems
}

/// Handles one request; every outcome is a response.
pub async fn function_handler<S, U, G>(
    deps: &ApiDeps<S, U, G>,
    request: Request,
) -> Result<Response<Body>, Error>
where
    S: RoutingStateStore,
    U: UserDirectory,
    G: RoutingSignals,
{
    let path = match request.raw_http_path() {
        "" => request.uri().path(),
        raw => raw,
    };
    if !path.ends_with(ROUTE_PATH) {
        return Ok(problem_response(Problem::not_found(
            "route-not-found",
            "There is no such route.",
        )));
    }
    if request.method() != Method::POST {
        let mut response =
            problem_response(Problem::method_not_allowed("This path only supports POST."));
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    if deps.require_iam && !iam_authorised(&request) {
        return Ok(problem_response(Problem::forbidden(
            "iam-required",
            "Route requests must be signed by the CTI relay (IAM).",
        )));
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Ok(problem_response(Problem::payload_too_large(format!(
            "A route request is at most {MAX_BODY_BYTES} bytes."
        ))));
    }
    let query: RouteQuery = match serde_json::from_slice::<serde_json::Value>(body)
        .map(integral_numbers)
        .and_then(serde_json::from_value)
    {
        Ok(query) => query,
        Err(error) => {
            return Ok(problem_response(Problem::bad_request(
                "invalid-route-query",
                format!("The body is not a route query: {error}"),
            )))
        }
    };
    let problems = check_query(&query);
    if !problems.is_empty() {
        return Ok(problem_response(
            Problem::bad_request("invalid-route-query", "The route query has invalid fields.")
                .with_errors(problems),
        ));
    }
    if query.version > SCHEMA_VERSION {
        return Ok(problem_response(Problem::bad_request(
            "unsupported-version",
            format!(
                "Route query version {} is newer than {SCHEMA_VERSION}.",
                query.version
            ),
        )));
    }
    let now = Utc::now();
    if now > query.deadline {
        tracing::warn!(call_id = %query.request.call_id, deadline = %query.deadline, "route request arrived after its deadline");
        return Ok(problem_response(Problem::new(
            422,
            "Unprocessable Content",
            "deadline-passed",
            "The relay's deadline has passed; it uses its fallback route.",
        )));
    }
    match deps.router.route(&query, now).await {
        Ok(routed) => {
            tracing::info!(
                call_id = %query.request.call_id,
                routing_device = %query.request.routing_device,
                destination = %routed.destination,
                decision = ?routed.outcome.decision,
                trail = ?routed.outcome.trail,
                "routed"
            );
            let answer = RouteAnswer {
                destination: routed.destination,
            };
            match serde_json::to_string(&answer) {
                Ok(text) => Ok(respond(StatusCode::OK, "application/json", text)),
                Err(error) => {
                    tracing::error!(error.message = %error, "failed to serialise the answer");
                    Ok(problem_response(Problem::internal()))
                }
            }
        }
        Err(RouterError::Unmapped(unmapped)) => {
            tracing::warn!(
                call_id = %query.request.call_id,
                routing_device = %query.request.routing_device,
                reason = %unmapped,
                "no destination for the call; the relay falls back"
            );
            Ok(problem_response(Problem::new(
                422,
                "Unprocessable Content",
                "no-route",
                format!("No destination for this call ({unmapped}); use the fallback route."),
            )))
        }
        Err(error) => {
            tracing::error!(
                call_id = %query.request.call_id,
                error.message = %error,
                error.source = ?std::error::Error::source(&error).map(ToString::to_string),
                "no routing decision; the relay falls back"
            );
            Ok(problem_response(Problem::service_unavailable(
                "no-decision",
                "No routing decision could be made; use the fallback route.",
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::{http::Request as HttpRequest, Body};
    use linka_shared::cti_state::AgentState;
    use serde_json::{json, Value};

    use super::*;
    use crate::router::tests::{config, fixture, presence, query};

    fn request(method: &str, path: &str, body: &str) -> Request {
        HttpRequest::builder()
            .method(method)
            .uri(format!("https://api.example.cz{path}"))
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    async fn call(
        deps: &ApiDeps<impl RoutingStateStore, impl UserDirectory, impl RoutingSignals>,
        req: Request,
    ) -> (u16, Value) {
        let response = function_handler(deps, req).await.unwrap();
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (status, body)
    }

    fn deps(
        require_iam: bool,
    ) -> ApiDeps<
        linka_shared::adapters::InMemoryRoutingStateStore,
        linka_shared::adapters::memory::InMemoryUserDirectory,
        crate::router::tests::RecordingSignals,
    > {
        let f = fixture(config());
        f.state.set_agent(presence("2001", AgentState::Ready, -100));
        ApiDeps {
            router: f.router,
            require_iam,
        }
    }

    fn body(call: &str) -> String {
        let mut value = serde_json::to_value(query(call, 0)).unwrap();
        value["deadline"] = json!("2099-01-01T00:00:00Z");
        value.to_string()
    }

    const SAMPLE: &str = include_str!("../../../events/apigw-http/post-cti-route.json");

    #[tokio::test]
    async fn when_the_signed_sample_event_arrives_with_iam_required_should_route_it() {
        // GIVEN the relay's IAM-signed request as API Gateway passes it, for route point 5000
        let event: lambda_http::request::LambdaRequest = serde_json::from_str(SAMPLE).unwrap();
        let request = Request::from(event);
        // WHEN the function requires IAM THEN it decides: the ready agent
        let (status, answer) = call(&deps(true), request).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer, json!({"destination": "2001"}));
    }

    #[tokio::test]
    async fn when_the_relay_asks_should_answer_the_destination() {
        let (status, answer) = call(&deps(false), request("POST", ROUTE_PATH, &body("c1"))).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer, json!({"destination": "2001"}));
    }

    #[tokio::test]
    async fn when_the_body_is_not_a_route_query_should_answer_400() {
        let deps = deps(false);
        let (status, problem) = call(&deps, request("POST", ROUTE_PATH, "{\"version\": 1}")).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("invalid-route-query"))
        );
        let mut bad = serde_json::to_value(query("c1", 0)).unwrap();
        bad["routingDevice"] = json!("not a device");
        bad["deadline"] = json!("2099-01-01T00:00:00Z");
        let (status, problem) = call(&deps, request("POST", ROUTE_PATH, &bad.to_string())).await;
        assert_eq!(status, 400);
        assert_eq!(problem["errors"][0]["field"], "routingDevice");
    }

    #[tokio::test]
    async fn when_whole_numbers_are_written_as_floats_should_read_them() {
        let mut value = serde_json::to_value(query("c1", 0)).unwrap();
        value["deadline"] = json!("2099-01-01T00:00:00Z");
        value["attempt"] = json!(0.0);
        value["version"] = json!(1.0);
        let (status, answer) = call(
            &deps(false),
            request("POST", ROUTE_PATH, &value.to_string()),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        value["attempt"] = json!(0.5);
        let (status, _) = call(
            &deps(false),
            request("POST", ROUTE_PATH, &value.to_string()),
        )
        .await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn when_the_deadline_has_passed_should_refuse_without_deciding() {
        let deps = deps(false);
        let mut late = serde_json::to_value(query("c1", 0)).unwrap();
        late["deadline"] = json!("2020-01-01T00:00:00Z");
        let (status, problem) = call(&deps, request("POST", ROUTE_PATH, &late.to_string())).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("deadline-passed"))
        );
    }

    #[tokio::test]
    async fn when_the_route_point_has_no_rule_should_answer_no_route_so_the_relay_falls_back() {
        let mut other = serde_json::to_value(query("c1", 0)).unwrap();
        other["routingDevice"] = json!("4999");
        other["deadline"] = json!("2099-01-01T00:00:00Z");
        let (status, problem) = call(
            &deps(false),
            request("POST", ROUTE_PATH, &other.to_string()),
        )
        .await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("no-route")));
    }

    #[tokio::test]
    async fn when_iam_is_required_and_missing_should_answer_403() {
        let (status, problem) = call(&deps(true), request("POST", ROUTE_PATH, &body("c1"))).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("iam-required"))
        );
    }

    #[tokio::test]
    async fn when_the_path_or_method_is_wrong_should_answer_404_or_405() {
        let deps = deps(false);
        assert_eq!(call(&deps, request("POST", "/api/other", "")).await.0, 404);
        assert_eq!(call(&deps, request("GET", ROUTE_PATH, "")).await.0, 405);
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(call(&deps, request("POST", ROUTE_PATH, &big)).await.0, 413);
    }
}
