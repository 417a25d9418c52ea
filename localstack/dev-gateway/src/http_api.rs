//! The HTTP API: API Gateway v2 with Lambda proxy integrations, payload format 2.0.
//!
//! It matches a request to a template route the way API Gateway does (the most specific path
//! wins: literal segments before `{param}` before `{proxy+}`; a method-specific route before
//! `ANY`), builds the 2.0 event with the `aws_lambda_events` types, invokes the route's
//! function through [`Invoke`] and maps the function's answer back to HTTP, including the
//! 2.0 rule that an answer without `statusCode` is a JSON body with status 200.
//!
//! Errors are the ones API Gateway itself returns: `404 {"message":"Not Found"}` for a path
//! no route matches, `413` over the 10 MB payload quota, `500 {"message":"Internal Server
//! Error"}` when the function fails (a function timeout is a function failure in AWS too) or
//! answers something that is not a valid proxy response, and `503 {"message":"Service
//! Unavailable"}` when the function cannot run or the 30 s integration timeout passes.

use std::{
    cmp::Ordering,
    collections::HashMap,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use aws_lambda_events::{
    apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse},
    encodings::Body as EventBody,
    query_map::QueryMap,
};
use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    response::{IntoResponse, Response},
    routing::any,
    Json, Router,
};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    model::{HttpRoute, Invoke, InvokeError},
    template::HttpCorsSpec,
};

/// API Gateway's quota for an HTTP API request payload (10 MB).
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway's maximum integration timeout for HTTP APIs.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);
/// The account id the local stack reports (the one moto uses in its ARNs).
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";
/// Logical id the HTTP API's id is derived from.
const HTTP_API_LOGICAL_ID: &str = "HttpApi";

/// Builds the router that serves `/api` and everything below it.
///
/// `/api/health` is not handled here: the application adds it before this router, and axum
/// prefers its literal route to the catch-all one.
pub fn router(
    routes: Vec<HttpRoute>,
    invoker: Arc<dyn Invoke>,
    stage: String,
    cors: Option<&HttpCorsSpec>,
) -> Router {
    let api = Arc::new(HttpApi {
        routes: routes.into_iter().map(CompiledRoute::new).collect(),
        invoker,
        stage,
        api_id: api_id(HTTP_API_LOGICAL_ID),
        integration_timeout: INTEGRATION_TIMEOUT,
    });
    let router = Router::new()
        .route("/api", any(handle))
        .route("/api/{*rest}", any(handle))
        .with_state(api);
    match cors.and_then(cors_layer) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// API Gateway's CORS for an HTTP API: it answers preflights itself and adds the headers to
/// every answer to an allowed origin.
fn cors_layer(spec: &HttpCorsSpec) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if spec.allow_origins.is_empty() {
        return None;
    }
    let origins = if spec.allow_origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            spec.allow_origins
                .iter()
                .filter_map(|origin| origin.parse().ok()),
        )
    };
    let methods: Vec<Method> = spec
        .allow_methods
        .iter()
        .filter_map(|method| method.parse().ok())
        .collect();
    let headers: Vec<HeaderName> = spec
        .allow_headers
        .iter()
        .filter_map(|header| header.parse().ok())
        .collect();
    let mut layer = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods(methods)
        .allow_headers(headers);
    if let Some(seconds) = spec.max_age_seconds {
        layer = layer.max_age(Duration::from_secs(seconds));
    }
    Some(layer)
}

struct HttpApi {
    routes: Vec<CompiledRoute>,
    invoker: Arc<dyn Invoke>,
    stage: String,
    api_id: String,
    integration_timeout: Duration,
}

async fn handle(State(api): State<Arc<HttpApi>>, request: Request) -> Response {
    let started = Instant::now();
    let request_id = aws_request_id();
    // The access log names the route, not the path: paths can carry personal data.
    let route_key = match_route(&api.routes, request.method(), request.uri().path()).map_or_else(
        || format!("{} (no route)", request.method()),
        |m| m.route_key,
    );
    let mut response = api.serve(request, &request_id).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    tracing::info!(
        request_id = %request_id,
        route_key = %route_key,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        "http api request"
    );
    response
}

impl HttpApi {
    async fn serve(&self, request: Request, request_id: &str) -> Response {
        let (parts, body) = request.into_parts();
        let Some(matched) = match_route(&self.routes, &parts.method, parts.uri.path()) else {
            return message(StatusCode::NOT_FOUND, "Not Found");
        };
        let declared_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared_length.is_some_and(|len| len > MAX_REQUEST_BYTES) {
            return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
        let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
            return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        };
        let source_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "127.0.0.1".to_owned(), |info| info.0.ip().to_string());
        let context = EventContext {
            request_id: request_id.to_owned(),
            api_id: self.api_id.clone(),
            stage: self.stage.clone(),
            source_ip,
            now: Utc::now(),
        };
        let event = build_event(&parts, &body, &matched, &context);
        let function = &matched.route.function;
        let outcome = tokio::time::timeout(
            self.integration_timeout,
            self.invoker.invoke(function, event),
        )
        .await;
        match outcome {
            Err(_elapsed) => {
                tracing::warn!(function = %function, "integration timed out");
                message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
            }
            Ok(Err(error)) => invoke_error_response(&error),
            Ok(Ok(value)) => match map_response(value) {
                Ok(response) => response,
                Err(error) => {
                    tracing::warn!(function = %function, error = %error, "malformed Lambda proxy response");
                    message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                }
            },
        }
    }
}

fn invoke_error_response(error: &InvokeError) -> Response {
    tracing::warn!(error = %error, "function invocation failed");
    match error {
        InvokeError::Unavailable { .. } => {
            message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        InvokeError::UnknownFunction(_)
        | InvokeError::Timeout { .. }
        | InvokeError::Failed { .. } => {
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// A JSON `{"message": ...}` answer, the shape of API Gateway's own errors.
fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

// ---------------------------------------------------------------------------------------------
// Route matching

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    /// How specific the segment is; a higher rank wins.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 2,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 0,
        }
    }
}

#[derive(Debug, Clone)]
struct CompiledRoute {
    route: HttpRoute,
    method: String,
    segments: Vec<Segment>,
}

impl CompiledRoute {
    fn new(route: HttpRoute) -> Self {
        let segments = route
            .path
            .trim_start_matches('/')
            .split('/')
            .map(|segment| {
                match segment
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                {
                    Some(name) => match name.strip_suffix('+') {
                        Some(greedy) => Segment::Greedy(greedy.to_owned()),
                        None => Segment::Param(name.to_owned()),
                    },
                    None => Segment::Literal(segment.to_owned()),
                }
            })
            .collect();
        Self {
            method: route.method.to_ascii_uppercase(),
            route,
            segments,
        }
    }

    fn route_key(&self) -> String {
        format!("{} {}", self.method, self.route.path)
    }

    /// The path parameters when `path` matches this route.
    fn match_path(&self, path: &str) -> Option<HashMap<String, String>> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut parameters = HashMap::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(index) != Some(&literal.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let value = parts.get(index).filter(|value| !value.is_empty())?;
                    parameters.insert(name.clone(), decode_component(value));
                }
                Segment::Greedy(name) => {
                    let rest = parts
                        .get(index..)
                        .filter(|rest| !rest.is_empty())?
                        .join("/");
                    if rest.is_empty() {
                        return None;
                    }
                    parameters.insert(name.clone(), decode_component(&rest));
                    return Some(parameters);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(parameters)
    }

    /// Orders two matching routes: more specific segments first, then a specific method.
    fn specificity_cmp(&self, other: &Self) -> Ordering {
        let ranks = |route: &Self| route.segments.iter().map(Segment::rank).collect::<Vec<_>>();
        ranks(self)
            .cmp(&ranks(other))
            .then_with(|| (self.method != "ANY").cmp(&(other.method != "ANY")))
    }
}

#[derive(Debug, Clone)]
struct MatchedRoute {
    route: HttpRoute,
    route_key: String,
    path_parameters: HashMap<String, String>,
}

fn match_route(routes: &[CompiledRoute], method: &Method, path: &str) -> Option<MatchedRoute> {
    routes
        .iter()
        .filter(|route| route.method == "ANY" || route.method == method.as_str())
        .filter_map(|route| route.match_path(path).map(|params| (route, params)))
        .max_by(|(a, _), (b, _)| a.specificity_cmp(b))
        .map(|(route, path_parameters)| MatchedRoute {
            route: route.route.clone(),
            route_key: route.route_key(),
            path_parameters,
        })
}

fn decode_component(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------------
// The 2.0 event

struct EventContext {
    request_id: String,
    api_id: String,
    stage: String,
    source_ip: String,
    now: DateTime<Utc>,
}

/// Keys that `ApiGatewayV2httpRequest` carries for custom-authorizer payloads, which API
/// Gateway does not send to a proxy integration.
const NOT_IN_PROXY_EVENT: &[&str] = &[
    "type",
    "methodArn",
    "httpMethod",
    "identitySource",
    "authorizationToken",
    "resource",
];

fn build_event(
    parts: &http::request::Parts,
    body: &[u8],
    matched: &MatchedRoute,
    context: &EventContext,
) -> Value {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("127.0.0.1")
        .to_owned();
    let domain_prefix = host
        .split(':')
        .next()
        .and_then(|name| name.split('.').next())
        .unwrap_or_default()
        .to_owned();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".to_owned());
    event.route_key = Some(matched.route_key.clone());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.cookies = cookies(&parts.headers);
    event.headers = event_headers(&parts.headers, &host, &context.source_ip);
    event.query_string_parameters = query_parameters(&raw_query);
    event.raw_query_string = Some(raw_query);
    event.path_parameters = matched.path_parameters.clone();

    let request_context = &mut event.request_context;
    request_context.route_key = Some(matched.route_key.clone());
    request_context.account_id = Some(LOCAL_ACCOUNT_ID.to_owned());
    request_context.stage = Some(context.stage.clone());
    request_context.request_id = Some(context.request_id.clone());
    request_context.apiid = Some(context.api_id.clone());
    request_context.domain_name = Some(host);
    request_context.domain_prefix = Some(domain_prefix);
    request_context.time = Some(context.now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    request_context.time_epoch = context.now.timestamp_millis();
    request_context.http.method = parts.method.clone();
    request_context.http.path = Some(parts.uri.path().to_owned());
    request_context.http.protocol = Some(format!("{:?}", parts.version));
    request_context.http.source_ip = Some(context.source_ip.clone());
    request_context.http.user_agent = user_agent;

    if !body.is_empty() {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        match std::str::from_utf8(body) {
            Ok(text) if is_text_content(content_type) => {
                event.body = Some(text.to_owned());
                event.is_base64_encoded = false;
            }
            _ => {
                event.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }

    let mut value = serde_json::to_value(&event).unwrap_or_else(|error| {
        // Every field is a plain string, number or map; this cannot fail in practice.
        tracing::error!(error = %error, "could not serialise the HTTP API event");
        Value::Null
    });
    if let Value::Object(map) = &mut value {
        for key in NOT_IN_PROXY_EVENT {
            map.remove(*key);
        }
        // API Gateway leaves stageVariables out when the stage has none.
        if map
            .get("stageVariables")
            .is_some_and(|v| v.as_object().is_none_or(|m| m.is_empty()))
        {
            map.remove("stageVariables");
        }
    }
    value
}

/// The request's headers as API Gateway passes them: lower-case names, repeated headers
/// joined with commas, cookies moved out to `cookies`, and the forwarding headers it adds.
fn event_headers(headers: &HeaderMap, host: &str, source_ip: &str) -> HeaderMap {
    let mut joined = HeaderMap::new();
    for name in headers.keys() {
        if name == header::COOKIE {
            continue;
        }
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
            joined.insert(name.clone(), value);
        }
    }
    let forwarded_for = match joined.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {source_ip}"),
        None => source_ip.to_owned(),
    };
    let port = host
        .rsplit_once(':')
        .map_or("80", |(_, port)| port)
        .to_owned();
    let trace_id = format!(
        "Root=1-{:08x}-{}",
        Utc::now().timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..24]
    );
    let added = [
        ("x-forwarded-for", forwarded_for),
        ("x-forwarded-port", port),
        ("x-forwarded-proto", "http".to_owned()),
        ("x-amzn-trace-id", trace_id),
    ];
    for (name, value) in added {
        if let Ok(value) = HeaderValue::from_str(&value) {
            joined.insert(HeaderName::from_static(name), value);
        }
    }
    joined
}

fn cookies(headers: &HeaderMap) -> Option<Vec<String>> {
    let cookies: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    (!cookies.is_empty()).then_some(cookies)
}

/// Decoded query parameters; repeated names keep every value (serialised joined by commas).
fn query_parameters(raw_query: &str) -> QueryMap {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        map.entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    QueryMap::from(map)
}

/// Whether API Gateway passes a body of this content type as text rather than base64.
fn is_text_content(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime == "application/json"
        || mime.ends_with("+json")
        || mime == "application/xml"
        || mime.ends_with("+xml")
        || mime == "application/javascript"
        || mime == "application/graphql"
}

// ---------------------------------------------------------------------------------------------
// The function's answer

/// Why a function's answer is not a valid proxy response.
#[derive(Debug, thiserror::Error)]
pub enum MalformedResponse {
    #[error("the response does not deserialise as a 2.0 proxy response")]
    Shape(#[source] serde_json::Error),
    #[error("statusCode {0} is not an HTTP status")]
    Status(i64),
    #[error("the body is marked base64 but does not decode")]
    Base64(#[source] base64::DecodeError),
    #[error("a cookie is not a valid header value")]
    Cookie(#[source] http::header::InvalidHeaderValue),
}

/// Maps what the function returned to the HTTP response API Gateway would send.
fn map_response(value: Value) -> Result<Response, MalformedResponse> {
    let has_status = value
        .as_object()
        .is_some_and(|map| map.contains_key("statusCode"));
    if !has_status {
        // Payload 2.0: valid JSON without statusCode is the body of a 200 JSON response.
        let body = match value {
            Value::String(text) => text,
            other => other.to_string(),
        };
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response());
    }
    let mut value = value;
    if let Value::Object(map) = &mut value {
        for key in ["cookies", "headers", "multiValueHeaders"] {
            if map.get(key).is_none_or(Value::is_null) {
                let empty = if key == "cookies" {
                    json!([])
                } else {
                    json!({})
                };
                map.insert(key.to_owned(), empty);
            }
        }
    }
    let proxy: ApiGatewayV2httpResponse =
        serde_json::from_value(value).map_err(MalformedResponse::Shape)?;
    let status = u16::try_from(proxy.status_code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(MalformedResponse::Status(proxy.status_code))?;
    let body = match proxy.body {
        Some(EventBody::Text(text)) if proxy.is_base64_encoded => {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(MalformedResponse::Base64)?
        }
        Some(EventBody::Text(text)) => text.into_bytes(),
        Some(EventBody::Binary(bytes)) => bytes,
        // `Empty`, and whatever a later version of the enum adds.
        _ => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in &proxy.headers {
        headers.append(name.clone(), value.clone());
    }
    for (name, value) in &proxy.multi_value_headers {
        headers.append(name.clone(), value.clone());
    }
    for cookie in &proxy.cookies {
        let value = HeaderValue::from_str(cookie).map_err(MalformedResponse::Cookie)?;
        headers.append(header::SET_COOKIE, value);
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Ids shaped like API Gateway's

/// A request or connection id shaped like API Gateway's: 16 base64 characters ending in `=`
/// (URL-safe alphabet, so it can stand in a path unescaped).
pub(crate) fn aws_request_id() -> String {
    let bytes: [u8; 11] = rand::random();
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// A stable 10-character API id derived from the API's logical id, like `a1b2c3d4e5`.
pub(crate) fn api_id(logical_id: &str) -> String {
    let digest = Sha256::digest(logical_id.as_bytes());
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    digest
        .iter()
        .take(10)
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::sync::Mutex;

    fn route(method: &str, path: &str, function: &str) -> HttpRoute {
        HttpRoute {
            method: method.to_owned(),
            path: path.to_owned(),
            function: function.to_owned(),
        }
    }

    fn compiled(routes: &[(&str, &str, &str)]) -> Vec<CompiledRoute> {
        routes
            .iter()
            .map(|(m, p, f)| CompiledRoute::new(route(m, p, f)))
            .collect()
    }

    fn matched(
        routes: &[CompiledRoute],
        method: &str,
        path: &str,
    ) -> Option<(String, HashMap<String, String>)> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        match_route(routes, &method, path).map(|m| (m.route_key, m.path_parameters))
    }

    #[test]
    fn when_literal_and_parameter_routes_both_match_should_prefer_the_literal_one() {
        let routes = compiled(&[
            ("GET", "/api/admin/users/{username}", "Param"),
            ("GET", "/api/admin/users/me", "Literal"),
        ]);
        let (key, params) = matched(&routes, "GET", "/api/admin/users/me").unwrap();
        assert_eq!(key, "GET /api/admin/users/me");
        assert!(params.is_empty());
        let (key, params) = matched(&routes, "GET", "/api/admin/users/agent01").unwrap();
        assert_eq!(key, "GET /api/admin/users/{username}");
        assert_eq!(params["username"], "agent01");
    }

    #[test]
    fn when_only_a_greedy_route_matches_should_pass_the_rest_of_the_path_as_proxy() {
        let routes = compiled(&[("ANY", "/api/{proxy+}", "Greedy"), ("GET", "/api/me", "Me")]);
        let (key, params) = matched(&routes, "POST", "/api/a/b%20c/d").unwrap();
        assert_eq!(key, "ANY /api/{proxy+}");
        assert_eq!(params["proxy"], "a/b c/d");
        let (key, _) = matched(&routes, "GET", "/api/me").unwrap();
        assert_eq!(key, "GET /api/me");
        assert!(matched(&routes, "GET", "/api").is_none());
    }

    #[test]
    fn when_method_specific_and_any_routes_match_the_same_path_should_prefer_the_method() {
        let routes = compiled(&[("ANY", "/api/me", "Any"), ("GET", "/api/me", "Get")]);
        let (key, _) = matched(&routes, "GET", "/api/me").unwrap();
        assert_eq!(key, "GET /api/me");
        let (key, _) = matched(&routes, "DELETE", "/api/me").unwrap();
        assert_eq!(key, "ANY /api/me");
    }

    #[test]
    fn when_no_route_has_the_method_or_path_should_not_match() {
        let routes = compiled(&[("GET", "/api/admin/users/{username}", "F")]);
        assert!(matched(&routes, "POST", "/api/admin/users/x").is_none());
        assert!(matched(&routes, "GET", "/api/admin/users/x/y").is_none());
        assert!(matched(&routes, "GET", "/api/admin/users/").is_none());
        assert!(matched(&routes, "GET", "/api/admin/users").is_none());
    }

    fn sample_event(body: &[u8], content_type: Option<&str>) -> Value {
        let mut builder = http::Request::builder()
            .method("GET")
            .uri("/api/admin/users/agent%2001?limit=10&tag=a&tag=b&q=%C5%A1")
            .header("Host", "127.0.0.1:8080")
            .header("User-Agent", "curl/8.0")
            .header("X-Multi", "one")
            .header("X-Multi", "two")
            .header("Cookie", "a=1; b=2")
            .header("Authorization", "Bearer t");
        if let Some(content_type) = content_type {
            builder = builder.header("Content-Type", content_type);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        let routes = compiled(&[("GET", "/api/admin/users/{username}", "HttpApiFunction")]);
        let matched = match_route(&routes, &parts.method, parts.uri.path()).unwrap();
        let context = EventContext {
            request_id: "JKJaXmPLvHcESHA=".to_owned(),
            api_id: "abcdef1234".to_owned(),
            stage: "$default".to_owned(),
            source_ip: "192.0.2.1".to_owned(),
            now: DateTime::parse_from_rfc3339("2026-03-12T19:03:58.390Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        build_event(&parts, body, &matched, &context)
    }

    #[test]
    fn when_a_request_matches_should_build_the_event_api_gateway_sends() {
        let event = sample_event(b"", None);
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "GET /api/admin/users/{username}");
        assert_eq!(event["rawPath"], "/api/admin/users/agent%2001");
        assert_eq!(event["rawQueryString"], "limit=10&tag=a&tag=b&q=%C5%A1");
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(event["headers"]["x-multi"], "one,two");
        assert_eq!(event["headers"]["authorization"], "Bearer t");
        assert_eq!(event["headers"]["x-forwarded-for"], "192.0.2.1");
        assert_eq!(event["headers"]["x-forwarded-port"], "8080");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(
            event["queryStringParameters"],
            json!({"limit": "10", "tag": "a,b", "q": "š"})
        );
        assert_eq!(event["pathParameters"], json!({"username": "agent 01"}));
        let context = &event["requestContext"];
        assert_eq!(context["accountId"], LOCAL_ACCOUNT_ID);
        assert_eq!(context["apiId"], "abcdef1234");
        assert_eq!(context["domainName"], "127.0.0.1:8080");
        assert_eq!(context["domainPrefix"], "127");
        assert_eq!(
            context["http"],
            json!({"method": "GET", "path": "/api/admin/users/agent%2001", "protocol": "HTTP/1.1",
                   "sourceIp": "192.0.2.1", "userAgent": "curl/8.0"})
        );
        assert_eq!(context["requestId"], "JKJaXmPLvHcESHA=");
        assert_eq!(context["routeKey"], "GET /api/admin/users/{username}");
        assert_eq!(context["stage"], "$default");
        assert_eq!(context["time"], "12/Mar/2026:19:03:58 +0000");
        assert_eq!(context["timeEpoch"], 1_773_342_238_390_i64);
        assert_eq!(event["isBase64Encoded"], false);
        for absent in [
            "body",
            "stageVariables",
            "httpMethod",
            "type",
            "methodArn",
            "resource",
        ] {
            assert!(event.get(absent).is_none(), "{absent} should be absent");
        }
    }

    #[test]
    fn when_the_event_is_deserialised_by_aws_lambda_events_should_round_trip() {
        let event = sample_event(br#"{"a":1}"#, Some("application/json"));
        let parsed: ApiGatewayV2httpRequest = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(parsed.version.as_deref(), Some("2.0"));
        assert_eq!(
            parsed.raw_path.as_deref(),
            Some("/api/admin/users/agent%2001")
        );
        assert_eq!(parsed.path_parameters["username"], "agent 01");
        assert_eq!(
            parsed.query_string_parameters.all("tag").unwrap(),
            ["a", "b"]
        );
        assert_eq!(parsed.request_context.http.method, Method::GET);
        assert_eq!(parsed.request_context.time_epoch, 1_773_342_238_390);
        assert_eq!(parsed.body.as_deref(), Some(r#"{"a":1}"#));
        assert!(!parsed.is_base64_encoded);
        assert_eq!(parsed.headers["x-multi"], "one,two");
    }

    #[test]
    fn when_lambda_http_reads_the_event_should_see_an_http_api_v2_request() {
        use lambda_http::RequestExt as _;
        let event = sample_event(br#"{"a":1}"#, Some("application/json"));
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert!(matches!(
            request.request_context(),
            lambda_http::request::RequestContext::ApiGatewayV2(_)
        ));
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().path(), "/api/admin/users/agent%2001");
        assert_eq!(
            request
                .path_parameters_ref()
                .and_then(|p| p.first("username")),
            Some("agent 01")
        );
        assert_eq!(
            request
                .query_string_parameters_ref()
                .and_then(|q| q.first("limit")),
            Some("10")
        );
        assert_eq!(request.headers()["cookie"], "a=1; b=2");
    }

    #[test]
    fn when_the_body_is_binary_should_base64_encode_it() {
        let event = sample_event(&[0, 159, 146, 150], Some("application/octet-stream"));
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "AJ+Slg==");
        let event = sample_event(b"a=1&b=2", Some("application/x-www-form-urlencoded"));
        assert_eq!(event["isBase64Encoded"], true);
        let event = sample_event("žluťoučký".as_bytes(), Some("text/plain; charset=utf-8"));
        assert_eq!(event["isBase64Encoded"], false);
        assert_eq!(event["body"], "žluťoučký");
    }

    async fn body_text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn when_the_function_answers_a_proxy_response_should_map_status_headers_cookies_and_body()
    {
        let response = map_response(json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-one": "1"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["s=1; HttpOnly", "t=2"],
            "body": "{\"ok\":true}",
            "isBase64Encoded": false
        }))
        .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["x-one"], "1");
        let many: Vec<_> = response.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["a", "b"]);
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["s=1; HttpOnly", "t=2"]);
        assert_eq!(body_text(response).await, "{\"ok\":true}");
    }

    #[tokio::test]
    async fn when_the_body_is_marked_base64_should_decode_it() {
        let response = map_response(json!({
            "statusCode": 200, "body": "aGVsbG8=", "isBase64Encoded": true
        }))
        .unwrap();
        assert_eq!(body_text(response).await, "hello");
    }

    #[tokio::test]
    async fn when_the_answer_has_no_status_code_should_treat_it_as_a_json_body_with_200() {
        let response = map_response(json!({"message": "hi"})).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(body_text(response).await, r#"{"message":"hi"}"#);
        let response = map_response(json!("Hello from Lambda!")).unwrap();
        assert_eq!(body_text(response).await, "Hello from Lambda!");
    }

    #[test]
    fn when_the_status_code_is_invalid_should_be_malformed() {
        assert!(matches!(
            map_response(json!({"statusCode": 99999})),
            Err(MalformedResponse::Status(99999))
        ));
        assert!(matches!(
            map_response(json!({"statusCode": "abc"})),
            Err(MalformedResponse::Shape(_))
        ));
    }

    #[test]
    fn when_ids_are_generated_should_look_like_api_gateway_ids() {
        let id = aws_request_id();
        assert_eq!(id.len(), 16);
        assert!(id.ends_with('='));
        assert_ne!(id, aws_request_id());
        let api = api_id("HttpApi");
        assert_eq!(api.len(), 10);
        assert_eq!(api, api_id("HttpApi"));
    }

    type Answer = Box<dyn Fn(&str) -> Result<Value, InvokeError> + Send + Sync>;

    /// Records the payloads it gets and answers with a fixed result.
    struct FakeInvoke {
        answer: Answer,
        calls: Mutex<Vec<(String, Value)>>,
    }

    #[async_trait]
    impl Invoke for FakeInvoke {
        async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
            self.calls
                .lock()
                .unwrap()
                .push((function.to_owned(), payload));
            (self.answer)(function)
        }
    }

    fn app(
        answer: impl Fn(&str) -> Result<Value, InvokeError> + Send + Sync + 'static,
    ) -> (Router, Arc<FakeInvoke>) {
        let fake = Arc::new(FakeInvoke {
            answer: Box::new(answer),
            calls: Mutex::new(Vec::new()),
        });
        let routes = vec![
            route("GET", "/api/me", "MeFunction"),
            route("POST", "/api/broadcasts", "HttpApiFunction"),
        ];
        (
            router(routes, fake.clone(), "$default".to_owned(), None),
            fake,
        )
    }

    async fn send(router: Router, request: http::Request<Body>) -> Response {
        use tower::ServiceExt as _;
        router.oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn when_cors_is_configured_should_answer_preflights_of_the_allowed_origin_only() {
        let fake = Arc::new(FakeInvoke {
            answer: Box::new(|_| Ok(json!({"statusCode": 201, "body": "{}"}))),
            calls: Mutex::new(Vec::new()),
        });
        let cors = HttpCorsSpec {
            allow_origins: vec!["https://www.pojistovna.cz".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["authorization".into(), "content-type".into()],
            max_age_seconds: Some(600),
        };
        let router = router(
            vec![route("POST", "/api/chat/conversations", "ChatApiFunction")],
            fake.clone(),
            "$default".to_owned(),
            Some(&cors),
        );
        let preflight = |origin: &str| {
            http::Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/chat/conversations")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .body(Body::empty())
                .unwrap()
        };
        let allowed = send(router.clone(), preflight("https://www.pojistovna.cz")).await;
        assert_eq!(allowed.status(), StatusCode::OK);
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "https://www.pojistovna.cz"
        );
        let other = send(router.clone(), preflight("https://evil.example")).await;
        assert!(!other.headers().contains_key("access-control-allow-origin"));
        let posted = send(
            router,
            http::Request::post("/api/chat/conversations")
                .header("origin", "https://www.pojistovna.cz")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
        assert_eq!(posted.status(), StatusCode::CREATED);
        assert_eq!(
            posted.headers()["access-control-allow-origin"],
            "https://www.pojistovna.cz"
        );
        assert_eq!(
            fake.calls.lock().unwrap().len(),
            1,
            "a preflight invokes nothing"
        );
    }

    #[tokio::test]
    async fn when_no_route_matches_should_answer_404_not_found() {
        let (router, fake) = app(|_| Ok(json!({"statusCode": 200})));
        let response = send(
            router,
            http::Request::get("/api/nothing")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().contains_key("apigw-requestid"));
        assert_eq!(body_text(response).await, r#"{"message":"Not Found"}"#);
        assert!(fake.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn when_a_route_matches_should_invoke_its_function_and_return_the_answer() {
        let (router, fake) = app(|_| Ok(json!({"statusCode": 200, "body": "me"})));
        let response = send(
            router,
            http::Request::get("/api/me?x=1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, "me");
        let calls = fake.calls.lock().unwrap();
        assert_eq!(calls[0].0, "MeFunction");
        assert_eq!(calls[0].1["routeKey"], "GET /api/me");
        assert_eq!(calls[0].1["queryStringParameters"], json!({"x": "1"}));
    }

    #[tokio::test]
    async fn when_the_function_fails_should_answer_500_internal_server_error() {
        let (router, _) = app(|function| {
            Err(InvokeError::Failed {
                function: function.to_owned(),
                error_type: "Runtime.Panic".to_owned(),
                error_message: "boom".to_owned(),
            })
        });
        let response = send(
            router,
            http::Request::get("/api/me").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body_text(response).await,
            r#"{"message":"Internal Server Error"}"#
        );
    }

    #[tokio::test]
    async fn when_the_function_times_out_or_is_not_running_should_answer_like_api_gateway() {
        let (router, _) = app(|function| {
            Err(InvokeError::Timeout {
                function: function.to_owned(),
                seconds: 10,
            })
        });
        let response = send(
            router,
            http::Request::get("/api/me").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let (router, _) = app(|function| {
            Err(InvokeError::Unavailable {
                function: function.to_owned(),
                reason: "not built".to_owned(),
            })
        });
        let response = send(
            router,
            http::Request::get("/api/me").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body_text(response).await,
            r#"{"message":"Service Unavailable"}"#
        );
    }

    #[tokio::test]
    async fn when_the_integration_outlasts_the_timeout_should_answer_503() {
        struct Slow;
        #[async_trait]
        impl Invoke for Slow {
            async fn invoke(&self, _: &str, _: Value) -> Result<Value, InvokeError> {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(Value::Null)
            }
        }
        let api = HttpApi {
            routes: vec![CompiledRoute::new(route("GET", "/api/me", "F"))],
            invoker: Arc::new(Slow),
            stage: "$default".to_owned(),
            api_id: "x".to_owned(),
            integration_timeout: Duration::from_millis(50),
        };
        let request = Request::new(Body::empty());
        let (mut parts, body) = request.into_parts();
        parts.uri = "/api/me".parse().unwrap();
        let response = api.serve(Request::from_parts(parts, body), "id").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn when_the_body_exceeds_10_mb_should_answer_413_without_invoking() {
        let (router, fake) = app(|_| Ok(json!({"statusCode": 200})));
        let big = vec![b'a'; MAX_REQUEST_BYTES + 1];
        let response = send(
            router.clone(),
            http::Request::post("/api/broadcasts")
                .header("content-type", "text/plain")
                .body(Body::from(big.clone()))
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Without a Content-Length the limit still holds while reading.
        let stream = futures_util::stream::iter(
            big.chunks(1024 * 1024)
                .map(|c| Ok::<_, std::io::Error>(bytes_of(c)))
                .collect::<Vec<_>>(),
        );
        let response = send(
            router,
            http::Request::post("/api/broadcasts")
                .body(Body::from_stream(stream))
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(fake.calls.lock().unwrap().is_empty());
    }

    fn bytes_of(chunk: &[u8]) -> axum::body::Bytes {
        axum::body::Bytes::copy_from_slice(chunk)
    }

    #[tokio::test]
    async fn when_the_body_is_within_the_limit_should_pass_it_to_the_function() {
        let (router, fake) = app(|_| Ok(json!({"statusCode": 202})));
        let body = vec![b'a'; 3 * 1024 * 1024];
        let response = send(
            router,
            http::Request::post("/api/broadcasts")
                .header("content-type", "text/plain")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let calls = fake.calls.lock().unwrap();
        assert_eq!(calls[0].1["body"].as_str().unwrap().len(), 3 * 1024 * 1024);
    }
}
