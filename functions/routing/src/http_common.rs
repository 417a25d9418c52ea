//! What the routing crate's JWT-authenticated HTTP functions (callbacks-api, voicemail-api)
//! share: responses and problem details, body and parameter reading, tokens, the audit context.

use lambda_http::{
    http::{
        header::{self, HeaderMap, HeaderValue},
        StatusCode,
    },
    request::RequestContext,
    Body, Request, RequestExt, Response,
};
use linka_shared::{
    audit::AuditContext,
    auth::{AuthError, Principal},
    ports::StoreError,
    problem::{self, Problem},
    telemetry::ErrorChain,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::router::RouterError;

/// The largest request body: a note of 2000 characters, each escaped in JSON as a surrogate
/// pair (12 bytes), still fits, so an over-long note is a 422 naming the field.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A response, or the problem to answer instead.
pub type Operation = Result<Response<Body>, Problem>;

pub fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn problem_response(problem: Problem) -> Response<Body> {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = serde_json::to_string(&problem).unwrap_or_else(|_| {
        r#"{"type":"urn:linka:problem:internal-error","title":"Internal Server Error","status":500,"detail":"","code":"internal-error"}"#.to_owned()
    });
    respond(status, problem::CONTENT_TYPE, text)
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Operation {
    let text = serde_json::to_string(value).map_err(|error| internal("serialise", &error))?;
    Ok(respond(status, "application/json", text))
}

pub fn internal(operation: &str, error: &(dyn std::error::Error + 'static)) -> Problem {
    tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(error), "failed to {operation}");
    Problem::internal()
}

pub fn store_failure(operation: &str, error: StoreError) -> Problem {
    internal(operation, &error)
}

pub fn router_failure(operation: &str, error: RouterError) -> Problem {
    internal(operation, &error)
}

pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}

/// The JSON body as `T`; `None` for an empty body when `optional`.
pub fn body<T: DeserializeOwned>(request: &Request, optional: bool) -> Result<Option<T>, Problem> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(format!(
            "The body must be at most {MAX_BODY_BYTES} bytes."
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) && optional {
        return Ok(None);
    }
    if !is_json(request.headers()) {
        return Err(Problem::unsupported_media_type(
            "The body must be application/json.",
        ));
    }
    // Every body of these APIs is a JSON object; serde alone would also read a struct from an
    // array of its fields in order.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Problem::bad_request(
            "invalid-body",
            "The body must be a JSON object.",
        ));
    }
    serde_json::from_slice(bytes).map(Some).map_err(|error| {
        Problem::bad_request("invalid-body", format!("The body is not valid: {error}"))
    })
}

pub fn required_body<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    body(request, false)?
        .ok_or_else(|| Problem::bad_request("invalid-body", "The body must not be empty."))
}

/// A callback id: what this API makes (UUIDs) and nothing longer than 64 safe characters.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn query_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name).map(str::to_owned))
}

pub fn audit_context(principal: &Principal, request: &Request) -> AuditContext {
    let (source_ip, request_id) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            (context.http.source_ip.clone(), context.request_id.clone())
        }
        _ => (None, None),
    };
    AuditContext {
        actor: principal.username.clone(),
        actor_roles: principal.roles.clone(),
        client_id: principal.client_id.clone(),
        source_ip,
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        request_id,
    }
}

pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?;
    let value = value
        .to_str()
        .map_err(|_| AuthError::Malformed("the Authorization header is not ASCII"))?;
    match value.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(AuthError::MissingToken),
    }
}

pub fn auth_failure(error: &AuthError) -> Response<Body> {
    if error.is_server_error() {
        tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(error), "cannot validate tokens");
        let mut response = problem_response(Problem::service_unavailable(
            error.code(),
            "Sign-in cannot be checked right now; try again shortly.",
        ));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return response;
    }
    let challenge = match error {
        AuthError::MissingToken => r#"Bearer realm="linka""#,
        _ => r#"Bearer realm="linka", error="invalid_token""#,
    };
    let mut response = problem_response(Problem::unauthorized(error.code(), error.to_string()));
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// The request's path as API Gateway gave it (the raw path; the URI's without one).
pub fn request_path(request: &Request) -> String {
    match request.raw_http_path() {
        "" => request.uri().path().to_owned(),
        raw => raw.to_owned(),
    }
}

/// The path's segments after `prefix` (`/api/voicemails`), with or without a stage in front;
/// `None` when the path is not under it (`/api/voicemailsX` is not).
pub fn segments_under<'a>(path: &'a str, prefix: &str) -> Option<Vec<&'a str>> {
    let start = path.find(prefix)?;
    let rest = &path[start + prefix.len()..];
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    Some(rest.split('/').filter(|s| !s.is_empty()).collect())
}

/// Where a method and path lead in one function's routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<R> {
    Found(R),
    NotFound,
    /// The path exists; these methods are allowed on it (the `Allow` header).
    MethodNotAllowed(&'static str),
}

impl<R> Resolution<R> {
    /// The route, or the 404 / 405 response to give instead.
    #[allow(clippy::result_large_err)]
    pub fn into_route(self) -> Result<R, Response<Body>> {
        match self {
            Self::Found(route) => Ok(route),
            Self::NotFound => Err(problem_response(Problem::not_found(
                "route-not-found",
                "There is no such route.",
            ))),
            Self::MethodNotAllowed(allowed) => {
                let mut response = problem_response(Problem::method_not_allowed(format!(
                    "This path only supports {allowed}."
                )));
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allowed));
                Err(response)
            }
        }
    }
}

/// The caller, from the request's Bearer token, or the 401 / 503 response to give instead.
#[allow(clippy::result_large_err)]
pub async fn authenticate<J: linka_shared::auth::JwksSource>(
    validator: &linka_shared::auth::TokenValidator<J>,
    request: &Request,
) -> Result<Principal, Response<Body>> {
    let token = bearer_token(request.headers()).map_err(|error| auth_failure(&error))?;
    validator
        .validate(token)
        .await
        .map_err(|error| auth_failure(&error))
}

/// The answer when the audit log cannot record a call that must be audited (nothing was served).
pub fn audit_unavailable(error: &(dyn std::error::Error + 'static)) -> Response<Body> {
    tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(error), "failed to write an audit record");
    let mut response = problem_response(Problem::service_unavailable(
        "audit-unavailable",
        "The audit log cannot record this call right now; nothing was served. Try again later.",
    ));
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
