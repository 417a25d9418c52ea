//! Translates API Gateway requests into use cases and their results into responses.
//!
//! Every answer is a response: errors are RFC 9457 problems (`application/problem+json`) with a
//! stable `code`, and nothing a client sends can make the handler fail or panic (the API is
//! fuzzed from its OpenAPI document). The order of checks on each route is: route → token
//! (401) → permission (403) → request size and media type (413, 415) → parameters and headers
//! (400) → body syntax (400) → body fields (422).
//!
//! Every authenticated call of a route that reads personal data or changes something is
//! recorded in the audit log (SEC-3) with its final status — 403s included, 401s not (there is
//! no actor). User writes carry their record in the same DynamoDB transaction; for everything
//! else the record is written before the response leaves, and if it cannot be written the
//! answer is a 503 problem instead (fail closed: no data is served).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use lambda_http::{
    http::{
        header::{self, HeaderMap, HeaderName, HeaderValue},
        StatusCode,
    },
    request::RequestContext,
    Body, Error, Request, RequestExt, Response,
};
use linka_shared::{
    audit::{AuditAction, AuditContext, AuditQuery, AuditRecord},
    auth::{AuthError, JwksSource, Principal, Role, TokenValidator},
    authz::{Forbidden, Permission},
    paging::PageCursor,
    ports::{
        AdminError, AuditLog, ConfigStore, NoticePublisher, StoreError, UserAdministration,
        UserDirectory,
    },
    problem::{self, FieldError, Problem},
    prompts::PromptResolver,
    realtime::{BroadcastDraft, BroadcastNotice},
    telemetry::ErrorChain,
    time::{format_rfc3339, now_utc},
    users::{is_valid_new_username, is_valid_username, DraftKind, PageLimit, User, UserDraft},
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    admin_config,
    openapi::OpenApiDocument,
    routes::{self, Resolution, Route},
};

/// Larger request bodies are refused (the largest document, a queue with 100 dated exceptions
/// of 4 intervals each, is about 20 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Namespace of the notice ids derived from `Idempotency-Key` (UUID v5 of `sender \n key`).
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x5c1e_7a0d_3b94_4f2e_8d61_a4c9_0e7b_52f3);

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What the handler needs, built once in `main`.
pub struct HandlerDeps<J, U, P, A, M> {
    pub validator: TokenValidator<J>,
    pub users: U,
    pub publisher: P,
    /// The audit log (SEC-3): every call that reads personal data or changes something is
    /// recorded, and the call fails closed (503, no data) when the record cannot be written.
    pub audit: A,
    /// User writes, each in one transaction with its audit record.
    pub admin: M,
    /// Queues, members, break codes, categories, transfer panel, ICIS link; each write in one
    /// transaction with its audit record.
    pub config: Arc<dyn ConfigStore>,
    /// IVR prompt recordings and TTS (IN-6, IN-10).
    pub prompts: PromptResolver,
    pub openapi: OpenApiDocument,
}

/// Entry point for every request. Never returns `Err`: failures are problem responses.
pub async fn function_handler<J, U, P, A, M>(
    deps: &HandlerDeps<J, U, P, A, M>,
    request: Request,
) -> Result<Response<Body>, Error>
where
    J: JwksSource,
    U: UserDirectory,
    P: NoticePublisher,
    A: AuditLog,
    M: UserAdministration,
{
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let path = match request.raw_http_path() {
        "" => request.uri().path(),
        raw => raw,
    };
    let response = match routes::resolve(request.method(), path, stage.as_deref()) {
        Resolution::NotFound => problem(Problem::not_found(
            "route-not-found",
            "There is no such route.",
        )),
        Resolution::MethodNotAllowed(allowed) => {
            let mut response = problem(Problem::method_not_allowed(format!(
                "This path only supports {allowed}."
            )));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allowed));
            response
        }
        Resolution::Found(route) => {
            let name = route.name();
            let response = dispatch(deps, &request, route).await;
            tracing::info!(
                route = name,
                status = response.status().as_u16(),
                "request handled"
            );
            response
        }
    };
    Ok(response)
}

async fn dispatch<J, U, P, A, M>(
    deps: &HandlerDeps<J, U, P, A, M>,
    request: &Request,
    route: Route,
) -> Response<Body>
where
    J: JwksSource,
    U: UserDirectory,
    P: NoticePublisher,
    A: AuditLog,
    M: UserAdministration,
{
    // Liveness and the API description are public (load balancers, tools and the fuzzer
    // read them without a token).
    match route {
        Route::Health => return health(),
        Route::OpenApi => return openapi(deps),
        _ => {}
    }
    let principal = match authenticate(&deps.validator, request.headers()).await {
        Ok(principal) => principal,
        Err(error) => return auth_failure(&error),
    };
    tracing::debug!(username = %principal.username, "authenticated");
    let context = audit_context(&principal, request);
    let mut note = AuditNote::default();
    let result = match &route {
        Route::Health => Ok(health()),
        Route::OpenApi => Ok(openapi(deps)),
        Route::Me => get_me(deps, &principal).await,
        Route::ListUsers => list_users(deps, &principal, request, &mut note).await,
        Route::GetUser(segment) => get_user(deps, &principal, request, segment, &mut note).await,
        Route::CreateUser => create_user(deps, &principal, &context, request, &mut note).await,
        Route::ReplaceUser(segment) => {
            replace_user(deps, &principal, &context, request, segment, &mut note).await
        }
        Route::DeleteUser(segment) => {
            delete_user(deps, &principal, &context, request, segment, &mut note).await
        }
        Route::ListAudit => list_audit(deps, &principal, request, &mut note).await,
        Route::CreateBroadcast => create_broadcast(deps, &principal, request, &mut note).await,
        Route::ListConfig(_)
        | Route::CreateConfig(_)
        | Route::GetConfig(..)
        | Route::ReplaceConfig(..)
        | Route::DeleteConfig(..)
        | Route::ListMembers(_)
        | Route::PutMember(..)
        | Route::DeleteMember(..)
        | Route::GetIcisLink
        | Route::PutIcisLink
        | Route::GetChatSettings
        | Route::PutChatSettings
        | Route::GetQueueRouting(_)
        | Route::PutQueueRouting(_)
        | Route::GetRoutingPlan
        | Route::PutRoutingPlan
        | Route::GetRoutingDevices
        | Route::PutRoutingDevices
        | Route::ValidateIvr
        | Route::ListPrompts
        | Route::GetPrompt(_)
        | Route::PutPrompt(_)
        | Route::DeletePrompt(_)
        | Route::PreviewTts => {
            let config = admin_config::ConfigDeps {
                store: deps.config.as_ref(),
                prompts: &deps.prompts,
                users: &deps.users,
                principal: &principal,
                context: &context,
                request,
            };
            admin_config::serve(config, &route, &mut note).await
        }
    };
    let response = result.unwrap_or_else(problem);
    match route.audit_action() {
        Some(action) if !note.written => {
            let mut record = AuditRecord::new(
                &context,
                action,
                note.target,
                response.status().as_u16(),
                now_utc(),
            );
            record.details = note.details;
            match deps.audit.record(&record).await {
                Ok(()) => response,
                Err(error) => audit_unavailable(&error),
            }
        }
        _ => response,
    }
}

/// What an operation tells the audit log about itself.
#[derive(Debug, Default)]
pub(crate) struct AuditNote {
    /// The record acted on (a username), when known and well-formed.
    pub(crate) target: Option<String>,
    pub(crate) details: BTreeMap<String, String>,
    /// The record was already written, in one transaction with the change.
    pub(crate) written: bool,
}

/// Who is calling, from where: the token and the request context (never the body).
fn audit_context(principal: &Principal, request: &Request) -> AuditContext {
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

/// The audit record could not be written: fail closed.
fn audit_unavailable(error: &StoreError) -> Response<Body> {
    tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(error), "failed to write an audit record");
    let mut response = problem(Problem::service_unavailable(
        "audit-unavailable",
        "The audit log cannot record this call right now; nothing was done. Try again later.",
    ));
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// `GET /api/health`: the function is alive (in AWS; locally the dev gateway answers this path
/// itself as its readiness probe).
fn health() -> Response<Body> {
    let mut response = respond(
        StatusCode::OK,
        "application/json",
        r#"{"status":"ok"}"#.to_owned(),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/openapi.json`.
fn openapi<J, U, P, A, M>(deps: &HandlerDeps<J, U, P, A, M>) -> Response<Body> {
    let mut response = respond(
        StatusCode::OK,
        "application/json",
        deps.openapi.json().to_owned(),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `GET /api/me`: the principal from the token, completed from the directory when it has a
/// record (machine clients have none).
async fn get_me<J, U: UserDirectory, P, A, M>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
) -> Operation {
    principal
        .require(Permission::ReadOwnProfile)
        .map_err(forbidden)?;
    let user = if is_valid_username(&principal.username) {
        deps.users
            .get(&principal.username)
            .await
            .map_err(|error| internal("read the profile", &error))?
    } else {
        None
    };
    json(StatusCode::OK, &MeView::new(principal, user.as_ref()))
}

/// `GET /api/admin/users?limit&cursor`.
async fn list_users<J, U: UserDirectory, P, A, M>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
    request: &Request,
    note: &mut AuditNote,
) -> Operation {
    principal
        .require(Permission::AdministerUsers)
        .map_err(forbidden)?;
    let (limit, cursor) = page_parameters(request)?;
    note.details
        .insert("limit".to_owned(), limit.get().to_string());
    match deps.users.list(limit, cursor).await {
        Ok(page) => json(StatusCode::OK, &page),
        Err(error) => Err(listing_failure("list users", error)),
    }
}

/// `limit` (1..=100, default 50) and `cursor` of a listing; 400 naming each bad one.
pub(crate) fn page_parameters(
    request: &Request,
) -> Result<(PageLimit, Option<PageCursor>), Problem> {
    let query = request.query_string_parameters_ref();
    let mut errors = Vec::new();
    let limit = match query.and_then(|query| query.first("limit")) {
        None => Some(PageLimit::DEFAULT),
        Some(text) => text.parse::<u16>().ok().and_then(PageLimit::new),
    };
    if limit.is_none() {
        errors.push(FieldError::new("limit", "must be an integer from 1 to 100"));
    }
    let cursor = match query.and_then(|query| query.first("cursor")) {
        None => Ok(None),
        Some(text) => PageCursor::parse(text).map(Some),
    };
    if cursor.is_err() {
        errors.push(invalid_cursor_field());
    }
    match (limit, cursor) {
        (Some(limit), Ok(cursor)) => Ok((limit, cursor)),
        _ => Err(Problem::invalid_parameters(errors)),
    }
}

/// The problem for a failed listing: a foreign cursor is the client's 400, the rest a 500.
pub(crate) fn listing_failure(operation: &str, error: StoreError) -> Problem {
    match error {
        StoreError::InvalidCursor(_) => Problem::bad_request(
            "invalid-cursor",
            "The cursor does not belong to this listing.",
        )
        .with_errors(vec![invalid_cursor_field()]),
        error => internal(operation, &error),
    }
}

/// `GET /api/admin/users/{username}`. A `username` that cannot name a user is a 404 like an
/// unknown one, without asking the directory.
async fn get_user<J, U: UserDirectory, P, A, M>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
    request: &Request,
    segment: &str,
    note: &mut AuditNote,
) -> Operation {
    principal
        .require(Permission::AdministerUsers)
        .map_err(forbidden)?;
    let username = path_username(request, segment, note)?;
    match deps.users.get(&username).await {
        Ok(Some(user)) => json(StatusCode::OK, &user),
        Ok(None) => Err(user_not_found()),
        Err(error) => Err(internal("read a user", &error)),
    }
}

/// `POST /api/admin/users`: 201 with the user and its `Location`; 409 when the username is
/// taken. The user and its audit record are written in one transaction.
async fn create_user<J, U: UserDirectory, P, A, M: UserAdministration>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
    context: &AuditContext,
    request: &Request,
    note: &mut AuditNote,
) -> Operation {
    principal
        .require(Permission::AdministerUsers)
        .map_err(forbidden)?;
    let fields = json_object(request)?;
    if let Some(Value::String(name)) = fields.get("username") {
        note.target = is_valid_new_username(name).then(|| name.clone());
    }
    let (username, draft) =
        UserDraft::from_json(&fields, DraftKind::Create).map_err(Problem::unprocessable)?;
    let Some(username) = username else {
        return Err(Problem::unprocessable(vec![FieldError::new(
            "username",
            "is required",
        )]));
    };
    // A read first answers the usual conflict without a transaction; the transaction's
    // condition still guards against a concurrent create.
    if deps
        .users
        .get(&username)
        .await
        .map_err(|error| internal("read a user", &error))?
        .is_some()
    {
        return Err(user_exists());
    }
    let now = now_utc();
    let user = draft.into_user(username.clone(), now, now);
    let record = AuditRecord::new(
        context,
        AuditAction::UserCreate,
        Some(username.clone()),
        StatusCode::CREATED.as_u16(),
        now,
    )
    .with_detail("roles", role_list(&user.roles));
    match deps.admin.create(&user, &record).await {
        Ok(()) => {
            note.written = true;
            tracing::info!(audit_id = %record.id, "user created");
            let mut response = json(StatusCode::CREATED, &user)?;
            if let Ok(location) = HeaderValue::from_str(&format!("/api/admin/users/{username}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        Err(error) => Err(admin_failure("create a user", error)),
    }
}

/// `PUT /api/admin/users/{username}`: replaces the profile (`createdAt` is kept).
async fn replace_user<J, U: UserDirectory, P, A, M: UserAdministration>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
    context: &AuditContext,
    request: &Request,
    segment: &str,
    note: &mut AuditNote,
) -> Operation {
    principal
        .require(Permission::AdministerUsers)
        .map_err(forbidden)?;
    let username = path_username(request, segment, note)?;
    let fields = json_object(request)?;
    let (_, draft) =
        UserDraft::from_json(&fields, DraftKind::Replace).map_err(Problem::unprocessable)?;
    let existing = deps
        .users
        .get(&username)
        .await
        .map_err(|error| internal("read a user", &error))?
        .ok_or_else(user_not_found)?;
    let now = now_utc();
    let user = draft.into_user(username.clone(), existing.created_at, now);
    let record = AuditRecord::new(
        context,
        AuditAction::UserUpdate,
        Some(username),
        StatusCode::OK.as_u16(),
        now,
    )
    .with_detail("changed", changed_fields(&existing, &user));
    match deps.admin.replace(&user, &record).await {
        Ok(()) => {
            note.written = true;
            json(StatusCode::OK, &user)
        }
        Err(error) => Err(admin_failure("replace a user", error)),
    }
}

/// `DELETE /api/admin/users/{username}`: 204, or 404 when there is no such user.
async fn delete_user<J, U: UserDirectory, P, A, M: UserAdministration>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
    context: &AuditContext,
    request: &Request,
    segment: &str,
    note: &mut AuditNote,
) -> Operation {
    principal
        .require(Permission::AdministerUsers)
        .map_err(forbidden)?;
    let username = path_username(request, segment, note)?;
    if deps
        .users
        .get(&username)
        .await
        .map_err(|error| internal("read a user", &error))?
        .is_none()
    {
        return Err(user_not_found());
    }
    let record = AuditRecord::new(
        context,
        AuditAction::UserDelete,
        Some(username.clone()),
        StatusCode::NO_CONTENT.as_u16(),
        now_utc(),
    );
    match deps.admin.delete(&username, &record).await {
        Ok(()) => {
            note.written = true;
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        // A concurrent change between the read and the delete: the user is not there as read.
        Err(AdminError::Conflict) => Err(user_not_found()),
        Err(error) => Err(admin_failure("delete a user", error)),
    }
}

/// `GET /api/admin/audit?from&to&actor&limit&cursor`: newest first.
async fn list_audit<J, U, P, A: AuditLog, M>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
    request: &Request,
    note: &mut AuditNote,
) -> Operation {
    principal
        .require(Permission::ReadAuditLog)
        .map_err(forbidden)?;
    let parameters = request.query_string_parameters_ref();
    let parameter = |name: &str| parameters.and_then(|parameters| parameters.first(name));
    let query = AuditQuery::parse(
        parameter("from"),
        parameter("to"),
        parameter("actor"),
        parameter("limit"),
        parameter("cursor"),
        now_utc(),
    )
    .map_err(Problem::invalid_parameters)?;
    note.details
        .insert("from".to_owned(), format_rfc3339(query.from));
    note.details
        .insert("to".to_owned(), format_rfc3339(query.to));
    if let Some(actor) = &query.actor {
        note.details.insert("actor".to_owned(), actor.clone());
    }
    match deps.audit.query(&query).await {
        Ok(page) => json(StatusCode::OK, &page),
        Err(StoreError::InvalidCursor(_)) => Err(Problem::bad_request(
            "invalid-cursor",
            "The cursor does not belong to this query.",
        )
        .with_errors(vec![invalid_cursor_field()])),
        Err(error) => Err(internal("read the audit log", &error)),
    }
}

/// `POST /api/broadcasts`: validate, queue, answer 202 with the notice.
async fn create_broadcast<J, U, P: NoticePublisher, A, M>(
    deps: &HandlerDeps<J, U, P, A, M>,
    principal: &Principal,
    request: &Request,
    note: &mut AuditNote,
) -> Operation {
    principal
        .require(Permission::SendBroadcast)
        .map_err(forbidden)?;
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(format!(
            "The body must be at most {MAX_BODY_BYTES} bytes."
        )));
    }
    if !is_json(request.headers()) {
        return Err(Problem::unsupported_media_type(
            "Send the body as application/json.",
        ));
    }
    let id = notice_id(request.headers(), &principal.username)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Problem::bad_request("body-malformed", "The body is not valid JSON."))?;
    let Value::Object(fields) = value else {
        return Err(Problem::unprocessable(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )]));
    };
    let draft = BroadcastDraft::from_json(&fields).map_err(Problem::unprocessable)?;
    let notice = BroadcastNotice::new(id, draft, principal.username.clone(), now_utc());
    deps.publisher
        .publish(&notice)
        .await
        .map_err(|error| internal("queue a broadcast", &error))?;
    tracing::info!(notice_id = %notice.id, severity = notice.severity.as_str(), "broadcast queued");
    note.target = Some(notice.id.to_string());
    note.details
        .insert("severity".to_owned(), notice.severity.as_str().to_owned());
    json(StatusCode::ACCEPTED, &notice)
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

/// The body of `GET /api/me` (schema `Me`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MeView<'a> {
    subject: &'a str,
    username: &'a str,
    name: Option<&'a str>,
    client_id: Option<&'a str>,
    roles: &'a BTreeSet<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_number: Option<&'a str>,
}

impl<'a> MeView<'a> {
    fn new(principal: &'a Principal, user: Option<&'a User>) -> Self {
        Self {
            subject: &principal.subject,
            username: &principal.username,
            name: principal
                .display_name
                .as_deref()
                .or(user.map(|user| user.display_name.as_str())),
            client_id: principal.client_id.as_deref(),
            // Roles come from the token: it is the authority, the directory only a profile.
            roles: &principal.roles,
            groups: user.map(|user| user.groups.as_slice()),
            email: user.and_then(|user| user.email.as_deref()),
            agent_number: user.and_then(|user| user.agent_number.as_deref()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An operation's result: a response, or the problem to answer instead.
pub(crate) type Operation = Result<Response<Body>, Problem>;

async fn authenticate<J: JwksSource>(
    validator: &TokenValidator<J>,
    headers: &HeaderMap,
) -> Result<Principal, AuthError> {
    let token = bearer_token(headers)?;
    validator.validate(token).await
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
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

/// 401 (the caller's token) or 503 (our key source).
fn auth_failure(error: &AuthError) -> Response<Body> {
    if error.is_server_error() {
        tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(error), "cannot validate tokens");
        let mut response = problem(Problem::service_unavailable(
            error.code(),
            "Sign-in cannot be checked right now; try again shortly.",
        ));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return response;
    }
    tracing::info!(code = error.code(), "token refused");
    let challenge = match error {
        // RFC 6750 §3.1: no error code when the request carried no credentials.
        AuthError::MissingToken => r#"Bearer realm="linka""#,
        _ => r#"Bearer realm="linka", error="invalid_token""#,
    };
    let mut response = problem(Problem::unauthorized(error.code(), error.to_string()));
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

pub(crate) fn forbidden(error: Forbidden) -> Problem {
    tracing::info!(permission = error.permission.as_str(), "permission refused");
    Problem::forbidden(
        "forbidden",
        format!(
            "Your roles do not include the permission {}.",
            error.permission.as_str()
        ),
    )
}

/// Logs an unexpected failure with its cause chain and hides it behind a 500.
pub(crate) fn internal(operation: &str, error: &(dyn std::error::Error + 'static)) -> Problem {
    tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(error), "failed to {operation}");
    Problem::internal()
}

/// The problem for a failed user write: 409, 404, or 500 with the cause logged.
fn admin_failure(operation: &str, error: AdminError) -> Problem {
    match error {
        AdminError::Conflict => user_exists(),
        AdminError::NotFound => user_not_found(),
        AdminError::Store(error) => internal(operation, &error),
    }
}

fn user_exists() -> Problem {
    Problem::conflict("user-exists", "A user with this username already exists.")
}

fn user_not_found() -> Problem {
    Problem::not_found("user-not-found", "There is no user with this username.")
}

/// The `{username}` of the path (API Gateway's decoded parameter, else the raw segment); one
/// that cannot name a user is a 404. A well-formed one becomes the audit target.
fn path_username(
    request: &Request,
    segment: &str,
    note: &mut AuditNote,
) -> Result<String, Problem> {
    let username = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("username"))
        .unwrap_or(segment)
        .to_owned();
    if !is_valid_username(&username) {
        return Err(user_not_found());
    }
    note.target = Some(username.clone());
    Ok(username)
}

/// A JSON object body: 413, 415, 400 (not JSON), 422 (not an object).
pub(crate) fn json_object(request: &Request) -> Result<Map<String, Value>, Problem> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(format!(
            "The body must be at most {MAX_BODY_BYTES} bytes."
        )));
    }
    if !is_json(request.headers()) {
        return Err(Problem::unsupported_media_type(
            "Send the body as application/json.",
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(Problem::unprocessable(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )])),
        Err(_) => Err(Problem::bad_request(
            "body-malformed",
            "The body is not valid JSON.",
        )),
    }
}

/// `agent,supervisor`.
fn role_list(roles: &BTreeSet<Role>) -> String {
    roles
        .iter()
        .map(|role| role.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The names of the fields a replace changes, e.g. `roles,active` (values are not logged).
fn changed_fields(before: &User, after: &User) -> String {
    let changes = [
        ("displayName", before.display_name != after.display_name),
        ("roles", before.roles != after.roles),
        ("groups", before.groups != after.groups),
        ("email", before.email != after.email),
        ("agentNumber", before.agent_number != after.agent_number),
        ("mobile", before.mobile != after.mobile),
        ("active", before.active != after.active),
    ];
    changes
        .iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

fn invalid_cursor_field() -> FieldError {
    FieldError::new("cursor", "must be the nextCursor of a previous page")
}

/// `Content-Type: application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}

/// The notice id: the `Idempotency-Key` itself when it is a UUID, else a UUID v5 of the sender
/// and the key (so a retried request gets the same id and clients drop the duplicate); a fresh
/// random id when the header is absent.
fn notice_id(headers: &HeaderMap, sender: &str) -> Result<Uuid, Problem> {
    let Some(value) = headers.get(HeaderName::from_static(IDEMPOTENCY_KEY)) else {
        return Ok(Uuid::new_v4());
    };
    let key = value.to_str().ok().filter(|key| {
        (8..=128).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
    });
    let Some(key) = key else {
        return Err(Problem::bad_request(
            "invalid-idempotency-key",
            "The Idempotency-Key header is invalid.",
        )
        .with_errors(vec![FieldError::new(
            "Idempotency-Key",
            "must be 8 to 128 visible ASCII characters",
        )]));
    };
    Ok(Uuid::parse_str(key).unwrap_or_else(|_| {
        Uuid::new_v5(
            &IDEMPOTENCY_NAMESPACE,
            format!("{sender}\n{key}").as_bytes(),
        )
    }))
}

pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Operation {
    let text =
        serde_json::to_string(value).map_err(|error| internal("serialise a response", &error))?;
    Ok(respond(status, "application/json", text))
}

pub(crate) fn problem(problem: Problem) -> Response<Body> {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = serde_json::to_string(&problem).unwrap_or_else(|_| {
        r#"{"type":"urn:linka:problem:internal-error","title":"Internal Server Error","status":500,"detail":"","code":"internal-error"}"#.to_owned()
    });
    respond(status, problem::CONTENT_TYPE, text)
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use lambda_http::http::Method;
    use linka_shared::{
        adapters::{
            memory::{
                InMemoryAuditLog, InMemoryUserAdministration, InMemoryUserDirectory,
                RecordingPublisher,
            },
            InMemoryConfigStore, InMemoryPromptStore, ToneSynthesizer,
        },
        audit::AuditOutcome,
        ports::MockUserDirectory,
        testing::{StaticJwks, TestIssuer},
    };
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use linka_shared::audit::AuditAction;

    /// Behaviour of the configuration routes (in their own file for size).
    mod admin_config_tests {
        include!("admin_config_tests.rs");
    }

    /// Behaviour of the IVR prompt routes.
    mod admin_prompts_tests {
        include!("admin_prompts_tests.rs");
    }

    const GET_ME: &str = include_str!("../../../events/apigw-http/get-me.json");
    const LIST_USERS: &str = include_str!("../../../events/apigw-http/list-users.json");
    const GET_USER: &str = include_str!("../../../events/apigw-http/get-user.json");
    const POST_BROADCAST: &str = include_str!("../../../events/apigw-http/post-broadcast.json");
    const GET_OPENAPI: &str = include_str!("../../../events/apigw-http/get-openapi.json");
    const POST_USER: &str = include_str!("../../../events/apigw-http/post-user.json");
    const PUT_USER: &str = include_str!("../../../events/apigw-http/put-user.json");
    const DELETE_USER: &str = include_str!("../../../events/apigw-http/delete-user.json");
    const GET_AUDIT: &str = include_str!("../../../events/apigw-http/get-audit.json");

    fn user(username: &str, roles: &[Role]) -> User {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap();
        User {
            username: username.to_owned(),
            display_name: format!("Directory {username}"),
            roles: roles.iter().copied().collect(),
            groups: vec!["KKC".to_owned()],
            email: Some(format!("{username}@linka.local")),
            agent_number: username.strip_prefix("agent").map(|n| format!("20{n}")),
            mobile: None,
            active: true,
            created_at: at,
            updated_at: at,
        }
    }

    type TestDeps<U, P> =
        HandlerDeps<StaticJwks, U, P, InMemoryAuditLog, InMemoryUserAdministration>;

    fn deps_with<U: UserDirectory, P: NoticePublisher>(users: U, publisher: P) -> TestDeps<U, P> {
        let audit = InMemoryAuditLog::new();
        HandlerDeps {
            validator: TestIssuer::primary().validator(),
            users,
            publisher,
            admin: InMemoryUserAdministration {
                users: InMemoryUserDirectory::default(),
                audit: audit.clone(),
            },
            config: Arc::new(InMemoryConfigStore::new(audit.clone())),
            audit,
            prompts: PromptResolver::new(
                Arc::new(InMemoryPromptStore::new()),
                Arc::new(ToneSynthesizer::new()),
            ),
            openapi: OpenApiDocument::embedded().unwrap(),
        }
    }

    fn deps() -> TestDeps<InMemoryUserDirectory, RecordingPublisher> {
        let users = InMemoryUserDirectory::new([
            user("admin", &[Role::Admin]),
            user("agent01", &[Role::Agent]),
            user("agent02", &[Role::Agent]),
            user("agent03", &[Role::Agent]),
            user("supervisor", &[Role::Supervisor]),
        ]);
        let mut deps = deps_with(users.clone(), RecordingPublisher::new());
        deps.admin.users = users;
        deps
    }

    /// `deps()` whose audit log refuses every write.
    fn deps_with_failing_audit() -> TestDeps<InMemoryUserDirectory, RecordingPublisher> {
        let mut deps = deps();
        deps.audit = InMemoryAuditLog::failing();
        deps.admin.audit = deps.audit.clone();
        deps.config = Arc::new(InMemoryConfigStore::new(deps.audit.clone()));
        deps
    }

    /// The sample event with the placeholder token replaced (or removed).
    fn event(json: &str, token: Option<&str>) -> Request {
        let mut request = lambda_http::request::from_str(json).unwrap();
        match token {
            Some(token) => {
                request.headers_mut().insert(
                    header::AUTHORIZATION,
                    format!("Bearer {token}").parse().unwrap(),
                );
            }
            None => {
                request.headers_mut().remove(header::AUTHORIZATION);
            }
        }
        request
    }

    fn token(username: &str, roles: &[&str]) -> String {
        TestIssuer::primary().token_for(username, roles)
    }

    fn with_body(mut request: Request, body: &str) -> Request {
        *request.body_mut() = Body::from(body.to_owned());
        request
    }

    async fn call<U: UserDirectory, P: NoticePublisher, A: AuditLog, M: UserAdministration>(
        deps: &HandlerDeps<StaticJwks, U, P, A, M>,
        request: Request,
    ) -> (StatusCode, HeaderMap, Value) {
        let response = function_handler(deps, request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        (status, headers, body)
    }

    fn content_type(headers: &HeaderMap) -> &str {
        headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap()
    }

    #[tokio::test]
    async fn when_openapi_is_requested_without_token_should_return_the_document_as_json() {
        // GIVEN no token
        let deps = deps();
        // WHEN the document is requested
        let (status, headers, body) = call(&deps, event(GET_OPENAPI, None)).await;
        // THEN it is served as JSON
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type(&headers), "application/json");
        assert!(body["openapi"].as_str().unwrap().starts_with("3.1"));
    }

    #[tokio::test]
    async fn when_token_is_missing_should_return_401_problem_with_challenge() {
        let deps = deps();
        let (status, headers, body) = call(&deps, event(GET_ME, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(content_type(&headers), "application/problem+json");
        assert_eq!(headers[header::WWW_AUTHENTICATE], r#"Bearer realm="linka""#);
        assert_eq!(body["code"], "token-missing");
        assert_eq!(body["status"], 401);
        assert_eq!(body["type"], "urn:linka:problem:token-missing");
    }

    #[tokio::test]
    async fn when_token_has_wrong_audience_should_return_401() {
        // GIVEN a token for another API
        let deps = deps();
        let issuer = TestIssuer::primary();
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["aud"] = json!("another-api");
        // WHEN it calls /api/me
        let (status, headers, body) = call(&deps, event(GET_ME, Some(&issuer.sign(&claims)))).await;
        // THEN 401 invalid_token with a code the UI can translate
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            r#"Bearer realm="linka", error="invalid_token""#
        );
        assert_eq!(body["code"], "token-audience-invalid");
    }

    #[tokio::test]
    async fn when_token_has_expired_should_return_401_token_expired() {
        let deps = deps();
        let issuer = TestIssuer::primary();
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["exp"] = json!(TestIssuer::now() - 3600);
        let (status, _, body) = call(&deps, event(GET_ME, Some(&issuer.sign(&claims)))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "token-expired");
    }

    #[tokio::test]
    async fn when_authorization_is_not_bearer_should_return_401() {
        let deps = deps();
        let mut request = event(GET_ME, None);
        request.headers_mut().insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46YWRtaW4="),
        );
        let (status, _, body) = call(&deps, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "token-missing");
    }

    #[tokio::test]
    async fn when_jwks_is_unavailable_should_return_503_not_401() {
        let mut deps = deps();
        deps.validator = linka_shared::auth::TokenValidator::new(
            &TestIssuer::primary().auth_config(),
            StaticJwks::failing(),
        );
        let (status, headers, body) =
            call(&deps, event(GET_ME, Some(&token("agent01", &["agent"])))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "30");
        assert_eq!(body["code"], "auth-unavailable");
    }

    #[tokio::test]
    async fn when_agent_gets_me_should_return_principal_with_directory_profile() {
        // GIVEN agent01, known to the directory
        let deps = deps();
        // WHEN it asks who it is
        let (status, _, body) =
            call(&deps, event(GET_ME, Some(&token("agent01", &["agent"])))).await;
        // THEN identity and roles come from the token, the profile from the directory
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({
                "subject": "sub-agent01", "username": "agent01", "name": "Test agent01",
                "clientId": "linka-web", "roles": ["agent"], "groups": ["KKC"],
                "email": "agent01@linka.local", "agentNumber": "2001"
            })
        );
    }

    #[tokio::test]
    async fn when_machine_client_gets_me_should_return_token_identity_only() {
        // GIVEN the ICIS machine client (no directory record, no name)
        let deps = deps();
        let issuer = TestIssuer::primary();
        let mut claims = issuer.claims("icis", &["icis"]);
        let object = claims.as_object_mut().unwrap();
        object.remove("preferred_username");
        object.remove("name");
        claims["sub"] = json!("icis");
        claims["azp"] = json!("icis");
        // WHEN it asks who it is
        let (status, _, body) = call(&deps, event(GET_ME, Some(&issuer.sign(&claims)))).await;
        // THEN it gets what its token says
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"subject": "icis", "username": "icis", "name": null, "clientId": "icis", "roles": ["icis"]})
        );
    }

    #[tokio::test]
    async fn when_principal_has_no_known_role_should_get_403() {
        let deps = deps();
        let (status, _, body) =
            call(&deps, event(GET_ME, Some(&token("x", &["space-pilot"])))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "forbidden");
    }

    #[tokio::test]
    async fn when_agent_lists_users_should_get_403() {
        let deps = deps();
        let (status, headers, body) = call(
            &deps,
            event(LIST_USERS, Some(&token("agent01", &["agent"]))),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(content_type(&headers), "application/problem+json");
        assert_eq!(body["code"], "forbidden");
    }

    #[tokio::test]
    async fn when_admin_lists_users_page_by_page_should_see_everyone_once() {
        // GIVEN five users and the sample event (limit=2)
        let deps = deps();
        let admin = token("admin", &["admin"]);
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        // WHEN the admin follows nextCursor to the end
        for _ in 0..10 {
            let mut request = event(LIST_USERS, Some(&admin));
            let mut query = vec![("limit".to_owned(), "2".to_owned())];
            if let Some(cursor) = &cursor {
                query.push(("cursor".to_owned(), cursor.clone()));
            }
            request = request.with_query_string_parameters(
                query
                    .into_iter()
                    .map(|(k, v)| (k, vec![v]))
                    .collect::<std::collections::HashMap<_, _>>(),
            );
            let (status, _, body) = call(&deps, request).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body["items"].as_array().unwrap().len() <= 2);
            seen.extend(
                body["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["username"].as_str().unwrap().to_owned()),
            );
            match body["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        // THEN every user came once, in username order, without `kind`
        assert_eq!(
            seen,
            ["admin", "agent01", "agent02", "agent03", "supervisor"]
        );
    }

    #[tokio::test]
    async fn when_limit_is_out_of_range_should_return_400_naming_limit() {
        let deps = deps();
        for limit in ["0", "101", "abc", "-1", "", "1.5"] {
            let request =
                event(LIST_USERS, Some(&token("admin", &["admin"]))).with_query_string_parameters(
                    std::collections::HashMap::from([("limit".to_owned(), vec![limit.to_owned()])]),
                );
            let (status, _, body) = call(&deps, request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{limit}");
            assert_eq!(body["code"], "invalid-parameter");
            assert_eq!(body["errors"][0]["field"], "limit");
        }
    }

    #[tokio::test]
    async fn when_cursor_is_forged_should_return_400_naming_cursor() {
        // GIVEN cursors that are not ours: garbage, and a well-formed key of another listing
        let deps = deps();
        let other_listing = PageCursor::from_key(std::collections::BTreeMap::from([(
            "connectionId".to_owned(),
            "x".to_owned(),
        )]))
        .encode();
        for cursor in ["!!!", "e30", other_listing.as_str()] {
            let request = event(LIST_USERS, Some(&token("admin", &["admin"])))
                .with_query_string_parameters(std::collections::HashMap::from([(
                    "cursor".to_owned(),
                    vec![cursor.to_owned()],
                )]));
            // WHEN listing THEN 400 invalid-cursor naming the field
            let (status, _, body) = call(&deps, request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{cursor}");
            assert_eq!(body["code"], "invalid-cursor");
            assert_eq!(body["errors"][0]["field"], "cursor");
        }
    }

    #[tokio::test]
    async fn when_admin_gets_a_user_should_return_it_without_kind() {
        let deps = deps();
        let (status, _, body) =
            call(&deps, event(GET_USER, Some(&token("admin", &["admin"])))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["username"], "agent01");
        assert_eq!(body["displayName"], "Directory agent01");
        assert_eq!(body["createdAt"], "2026-11-27T08:00:00.000Z");
        assert!(body.get("kind").is_none());
    }

    #[tokio::test]
    async fn when_admin_gets_unknown_user_should_return_404_problem() {
        let deps = deps();
        let request = event(GET_USER, Some(&token("admin", &["admin"]))).with_path_parameters(
            std::collections::HashMap::from([("username".to_owned(), "nobody".to_owned())]),
        );
        let (status, headers, body) = call(&deps, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(content_type(&headers), "application/problem+json");
        assert_eq!(body["code"], "user-not-found");
    }

    #[tokio::test]
    async fn when_username_cannot_be_a_username_should_return_404_without_asking_the_directory() {
        // GIVEN a directory that must not be called
        let mut users = MockUserDirectory::new();
        users.expect_get().times(0);
        let deps = deps_with(users, RecordingPublisher::new());
        let request = event(GET_USER, Some(&token("admin", &["admin"]))).with_path_parameters(
            std::collections::HashMap::from([(
                "username".to_owned(),
                "../../etc/passwd".to_owned(),
            )]),
        );
        // WHEN looked up THEN 404
        let (status, _, _) = call(&deps, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn when_directory_fails_should_return_500_problem_without_details() {
        // GIVEN a directory that fails
        let mut users = MockUserDirectory::new();
        users.expect_get().times(1).returning(|_| {
            Err(StoreError::Backend {
                operation: "get a user",
                source: "connection reset".into(),
            })
        });
        let deps = deps_with(users, RecordingPublisher::new());
        // WHEN a user is read
        let (status, _, body) =
            call(&deps, event(GET_USER, Some(&token("admin", &["admin"])))).await;
        // THEN a generic 500 problem, the cause only in the log
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["code"], "internal-error");
        assert!(!body.to_string().contains("connection reset"));
    }

    #[tokio::test]
    async fn when_supervisor_posts_broadcast_should_queue_it_and_return_202_with_the_notice() {
        // GIVEN the sample broadcast from a supervisor
        let deps = deps();
        // WHEN posted
        let (status, _, body) = call(
            &deps,
            event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"]))),
        )
        .await;
        // THEN 202 with the notice, which is on the queue as sent
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let notices = deps.publisher.notices();
        assert_eq!(notices.len(), 1);
        let notice = &notices[0];
        assert_eq!(body, serde_json::to_value(notice).unwrap());
        assert_eq!(notice.sent_by, "supervisor");
        assert_eq!(notice.audience, Some(Role::Agent));
        assert_eq!(notice.severity.as_str(), "warning");
        assert_eq!(
            notice.text.as_str(),
            "Výpadek linky 2 — volající přepojujte na linku 3."
        );
    }

    #[tokio::test]
    async fn when_agent_posts_broadcast_should_get_403_and_queue_nothing() {
        let deps = deps();
        let (status, _, _) = call(
            &deps,
            event(POST_BROADCAST, Some(&token("agent01", &["agent"]))),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(deps.publisher.notices().is_empty());
    }

    #[tokio::test]
    async fn when_idempotency_key_repeats_should_return_the_same_id() {
        let deps = deps();
        let supervisor = token("supervisor", &["supervisor"]);
        let (_, _, first) = call(&deps, event(POST_BROADCAST, Some(&supervisor))).await;
        let (_, _, second) = call(&deps, event(POST_BROADCAST, Some(&supervisor))).await;
        assert_eq!(first["id"], second["id"]);
        // AND another sender with the same key gets another id
        let (_, _, other) = call(
            &deps,
            event(POST_BROADCAST, Some(&token("admin", &["admin"]))),
        )
        .await;
        assert_ne!(first["id"], other["id"]);
    }

    #[tokio::test]
    async fn when_idempotency_key_is_a_uuid_should_use_it_as_the_id() {
        let deps = deps();
        let mut request = event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"])));
        request.headers_mut().insert(
            IDEMPOTENCY_KEY,
            HeaderValue::from_static("0b9d6f2e-4c1a-4e8b-9f3d-7a6c5b4e3d2f"),
        );
        let (status, _, body) = call(&deps, request).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(body["id"], "0b9d6f2e-4c1a-4e8b-9f3d-7a6c5b4e3d2f");
    }

    #[tokio::test]
    async fn when_idempotency_key_is_absent_should_use_a_fresh_id() {
        let deps = deps();
        let supervisor = token("supervisor", &["supervisor"]);
        let mut ids = BTreeSet::new();
        for _ in 0..2 {
            let mut request = event(POST_BROADCAST, Some(&supervisor));
            request.headers_mut().remove(IDEMPOTENCY_KEY);
            let (status, _, body) = call(&deps, request).await;
            assert_eq!(status, StatusCode::ACCEPTED);
            ids.insert(body["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 2);
    }

    #[tokio::test]
    async fn when_idempotency_key_is_invalid_should_return_400_naming_the_header() {
        let deps = deps();
        for key in ["short", "has space inside", &"x".repeat(129)] {
            let mut request = event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"])));
            request
                .headers_mut()
                .insert(IDEMPOTENCY_KEY, key.parse().unwrap());
            let (status, _, body) = call(&deps, request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{key}");
            assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
        }
    }

    #[tokio::test]
    async fn when_body_is_not_json_should_return_415() {
        let deps = deps();
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut request = event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"])));
            match content_type {
                Some(value) => {
                    request
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
                }
                None => {
                    request.headers_mut().remove(header::CONTENT_TYPE);
                }
            }
            let (status, _, body) = call(&deps, request).await;
            assert_eq!(
                status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
            assert_eq!(body["code"], "unsupported-media-type");
        }
    }

    #[tokio::test]
    async fn when_content_type_has_charset_should_be_accepted() {
        let deps = deps();
        let mut request = event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"])));
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        let (status, _, _) = call(&deps, request).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn when_body_is_malformed_json_should_return_400() {
        let deps = deps();
        for body in ["", "{", "{\"text\": }", "\u{0}"] {
            let request = with_body(
                event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"]))),
                body,
            );
            let (status, _, problem) = call(&deps, request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
            assert_eq!(problem["code"], "body-malformed");
        }
    }

    #[tokio::test]
    async fn when_body_fields_are_invalid_should_return_422_naming_each_field() {
        // GIVEN a body with a blank text, an unknown severity and an unknown member
        let deps = deps();
        let body = r#"{"text": "   ", "severity": "loud", "colour": "red"}"#;
        let request = with_body(
            event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"]))),
            body,
        );
        // WHEN posted
        let (status, _, problem) = call(&deps, request).await;
        // THEN 422 lists every offending field
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["code"], "validation-failed");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["text", "severity", "colour"]);
        assert!(deps.publisher.notices().is_empty());
    }

    #[tokio::test]
    async fn when_body_is_json_but_not_an_object_should_return_422() {
        let deps = deps();
        for body in ["[]", "\"text\"", "42", "null"] {
            let request = with_body(
                event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"]))),
                body,
            );
            let (status, _, problem) = call(&deps, request).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(problem["errors"][0]["field"], "body");
        }
    }

    #[tokio::test]
    async fn when_body_is_too_large_should_return_413() {
        let deps = deps();
        let body = format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let request = with_body(
            event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"]))),
            &body,
        );
        let (status, _, problem) = call(&deps, request).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(problem["code"], "body-too-large");
    }

    #[tokio::test]
    async fn when_queue_fails_should_return_500() {
        let deps = deps_with(
            InMemoryUserDirectory::default(),
            RecordingPublisher::failing(),
        );
        let (status, _, problem) = call(
            &deps,
            event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"]))),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(problem["code"], "internal-error");
    }

    #[tokio::test]
    async fn when_known_path_gets_wrong_method_should_return_405_with_allow() {
        let deps = deps();
        let mut request = event(GET_ME, Some(&token("agent01", &["agent"])));
        *request.method_mut() = Method::DELETE;
        let (status, headers, problem) = call(&deps, request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "GET");
        assert_eq!(problem["code"], "method-not-allowed");
    }

    #[tokio::test]
    async fn when_path_is_unknown_should_return_404_problem() {
        let deps = deps();
        let json = GET_ME.replace("\"/api/me\"", "\"/api/nothing\"");
        let (status, _, problem) =
            call(&deps, event(&json, Some(&token("agent01", &["agent"])))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(problem["code"], "route-not-found");
    }

    #[tokio::test]
    async fn when_stage_is_in_the_path_should_still_route() {
        let deps = deps();
        let json = GET_ME
            .replace("\"/api/me\"", "\"/prod/api/me\"")
            .replace("\"$default\"", "\"prod\"");
        let (status, _, _) = call(&deps, event(&json, Some(&token("agent01", &["agent"])))).await;
        assert_eq!(status, StatusCode::OK);
    }

    // -----------------------------------------------------------------------------------------
    // User administration (ADM-2) and the audit log (SEC-3)
    // -----------------------------------------------------------------------------------------

    fn admin() -> String {
        token("admin", &["admin"])
    }

    fn actions(
        deps: &TestDeps<InMemoryUserDirectory, RecordingPublisher>,
    ) -> Vec<(AuditAction, AuditOutcome, u16)> {
        deps.audit
            .records()
            .iter()
            .map(|record| (record.action, record.outcome, record.status))
            .collect()
    }

    fn with_query(request: Request, query: &[(&str, &str)]) -> Request {
        request.with_query_string_parameters(
            query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
                .collect::<std::collections::HashMap<_, _>>(),
        )
    }

    #[tokio::test]
    async fn when_admin_creates_user_should_answer_201_with_location_and_one_audit_record() {
        // GIVEN the directory without agent42
        let deps = deps();
        // WHEN the admin posts the sample body
        let (status, headers, body) = call(&deps, event(POST_USER, Some(&admin()))).await;
        // THEN 201, Location, the stored user, and exactly one audit record with its context
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(headers[header::LOCATION], "/api/admin/users/agent42");
        assert_eq!(body["username"], "agent42");
        assert_eq!(body["groups"], json!(["KKC"]));
        assert!(deps.users.get("agent42").await.unwrap().is_some());
        let records = deps.audit.records();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record.action, AuditAction::UserCreate);
        assert_eq!(record.outcome, AuditOutcome::Success);
        assert_eq!(record.status, 201);
        assert_eq!(record.actor, "admin");
        assert_eq!(record.target.as_deref(), Some("agent42"));
        assert_eq!(record.source_ip.as_deref(), Some("192.0.2.10"));
        assert_eq!(record.request_id.as_deref(), Some("CXq2ijOYFiAEJrQ="));
        assert!(record.user_agent.as_deref().unwrap().starts_with("Mozilla"));
        assert_eq!(record.details["roles"], "agent");
    }

    #[tokio::test]
    async fn when_username_exists_should_answer_409_and_audit_the_failure() {
        let deps = deps();
        let body = r#"{"username":"agent01","displayName":"X","roles":["agent"]}"#;
        let (status, _, problem) =
            call(&deps, with_body(event(POST_USER, Some(&admin())), body)).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["code"], "user-exists");
        assert_eq!(
            deps.users
                .get("agent01")
                .await
                .unwrap()
                .unwrap()
                .display_name,
            "Directory agent01"
        );
        assert_eq!(
            actions(&deps),
            [(AuditAction::UserCreate, AuditOutcome::Failed, 409)]
        );
    }

    #[tokio::test]
    async fn when_a_concurrent_create_wins_the_transaction_should_answer_409() {
        // GIVEN a directory without the user, but a transaction whose condition fails
        let base = deps();
        let mut admin_port = linka_shared::ports::MockUserAdministration::new();
        admin_port
            .expect_create()
            .times(1)
            .returning(|_, _| Err(AdminError::Conflict));
        let deps = HandlerDeps {
            validator: base.validator,
            users: base.users,
            publisher: base.publisher,
            audit: base.audit,
            admin: admin_port,
            config: base.config,
            prompts: base.prompts,
            openapi: base.openapi,
        };
        // WHEN the admin creates the user
        let (status, _, problem) = call(&deps, event(POST_USER, Some(&admin()))).await;
        // THEN 409, audited as failed
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["code"], "user-exists");
        let records = deps.audit.records();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].status, 409);
    }

    #[tokio::test]
    async fn when_create_body_has_bad_fields_should_answer_422_naming_each() {
        // GIVEN bodies each with one bad field
        let deps = deps();
        let cases = [
            (
                r#"{"username":"Bad Name","displayName":"X","roles":[]}"#,
                "username",
            ),
            (
                r#"{"username":"ok1","displayName":"","roles":[]}"#,
                "displayName",
            ),
            (
                r#"{"username":"ok1","displayName":"X","roles":["pilot"]}"#,
                "roles",
            ),
            (
                r#"{"username":"ok1","displayName":"X","roles":[],"groups":["kkc"]}"#,
                "groups",
            ),
            (
                r#"{"username":"ok1","displayName":"X","roles":[],"email":"x"}"#,
                "email",
            ),
            (
                r#"{"username":"ok1","displayName":"X","roles":[],"email":null}"#,
                "email",
            ),
            (
                r#"{"username":"ok1","displayName":"X","roles":[],"agentNumber":"12"}"#,
                "agentNumber",
            ),
            (
                r#"{"username":"ok1","displayName":"X","roles":[],"active":1}"#,
                "active",
            ),
            (
                r#"{"username":"ok1","displayName":"X","roles":[],"password":"x"}"#,
                "password",
            ),
            (r#"{"displayName":"X","roles":[]}"#, "username"),
        ];
        for (body, field) in cases {
            // WHEN posted
            let (status, _, problem) =
                call(&deps, with_body(event(POST_USER, Some(&admin())), body)).await;
            // THEN 422 names exactly that field, and nothing is created
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{body}");
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        assert!(deps.users.get("ok1").await.unwrap().is_none());
        assert!(actions(&deps)
            .iter()
            .all(|action| *action == (AuditAction::UserCreate, AuditOutcome::Failed, 422)));
    }

    #[tokio::test]
    async fn when_create_body_is_not_json_should_answer_400_or_415() {
        let deps = deps();
        let (status, _, problem) =
            call(&deps, with_body(event(POST_USER, Some(&admin())), "{")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["code"], "body-malformed");
        let mut request = event(POST_USER, Some(&admin()));
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let (status, _, _) = call(&deps, request).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[tokio::test]
    async fn when_supervisor_or_agent_administers_users_should_get_403_and_be_audited_as_denied() {
        let deps = deps();
        for (username, roles) in [("supervisor", ["supervisor"]), ("agent01", ["agent"])] {
            let caller = token(username, &roles);
            for json in [POST_USER, PUT_USER, DELETE_USER, GET_AUDIT] {
                let (status, _, problem) = call(&deps, event(json, Some(&caller))).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{username} {json}");
                assert_eq!(problem["code"], "forbidden");
            }
        }
        assert!(deps.users.get("agent01").await.unwrap().is_some());
        let records = deps.audit.records();
        assert_eq!(records.len(), 8);
        assert!(records
            .iter()
            .all(|record| record.outcome == AuditOutcome::Denied && record.status == 403));
        assert_eq!(records[0].actor, "supervisor");
        assert_eq!(records[7].action, AuditAction::AuditRead);
    }

    #[tokio::test]
    async fn when_admin_replaces_user_should_keep_created_at_and_record_changed_fields() {
        let deps = deps();
        let before = deps.users.get("agent01").await.unwrap().unwrap();
        let (status, _, body) = call(&deps, event(PUT_USER, Some(&admin()))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["displayName"], "Jana Nováková");
        assert_eq!(body["groups"], json!(["AS", "KKC"]));
        let after = deps.users.get("agent01").await.unwrap().unwrap();
        assert_eq!(after.created_at, before.created_at);
        assert!(after.updated_at > before.updated_at);
        let records = deps.audit.records();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].action, AuditAction::UserUpdate);
        assert_eq!(
            records[0].details["changed"],
            "displayName,groups,email,agentNumber,mobile"
        );
        assert_eq!(
            body["mobile"],
            json!({"device": "2942", "number": "+420601000042"})
        );
    }

    #[tokio::test]
    async fn when_replacing_or_deleting_an_unknown_user_should_answer_404() {
        let deps = deps();
        for json in [PUT_USER, DELETE_USER] {
            let request = event(json, Some(&admin())).with_path_parameters(
                std::collections::HashMap::from([("username".to_owned(), "nobody".to_owned())]),
            );
            let (status, _, problem) = call(&deps, request).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert_eq!(problem["code"], "user-not-found");
        }
        assert_eq!(
            actions(&deps),
            [
                (AuditAction::UserUpdate, AuditOutcome::Failed, 404),
                (AuditAction::UserDelete, AuditOutcome::Failed, 404)
            ]
        );
    }

    #[tokio::test]
    async fn when_replace_body_has_username_should_answer_422() {
        let deps = deps();
        let body = r#"{"username":"agent01","displayName":"X","roles":["agent"]}"#;
        let (status, _, problem) =
            call(&deps, with_body(event(PUT_USER, Some(&admin())), body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "username");
    }

    #[tokio::test]
    async fn when_admin_deletes_user_should_answer_204_and_remove_it() {
        let deps = deps();
        let response = function_handler(&deps, event(DELETE_USER, Some(&admin())))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.body().is_empty());
        assert!(deps.users.get("agent01").await.unwrap().is_none());
        assert_eq!(
            actions(&deps),
            [(AuditAction::UserDelete, AuditOutcome::Success, 204)]
        );
    }

    #[tokio::test]
    async fn when_audit_log_fails_on_a_read_should_answer_503_without_data() {
        // GIVEN an audit log that cannot be written
        let deps = deps_with_failing_audit();
        for json in [GET_ME, LIST_USERS, GET_USER] {
            // WHEN personal data is read
            let (status, headers, body) = call(&deps, event(json, Some(&admin()))).await;
            // THEN 503, and the body is only the problem
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
            assert_eq!(body["code"], "audit-unavailable");
            assert!(body.get("items").is_none() && body.get("username").is_none());
            assert_eq!(headers[header::RETRY_AFTER], "5");
        }
    }

    #[tokio::test]
    async fn when_audit_log_fails_on_a_write_should_answer_503_and_change_nothing() {
        let deps = deps_with_failing_audit();
        let (status, _, _) = call(&deps, event(POST_USER, Some(&admin()))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(deps.users.get("agent42").await.unwrap().is_none());
        let (status, _, _) = call(&deps, event(DELETE_USER, Some(&admin()))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(deps.users.get("agent01").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn when_token_is_missing_should_not_audit() {
        let deps = deps();
        let (status, _, _) = call(&deps, event(POST_USER, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(deps.audit.records().is_empty());
    }

    #[tokio::test]
    async fn when_broadcast_is_sent_should_be_audited_with_the_notice_id() {
        let deps = deps();
        let (status, _, body) = call(
            &deps,
            event(POST_BROADCAST, Some(&token("supervisor", &["supervisor"]))),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let records = deps.audit.records();
        assert_eq!(records[0].action, AuditAction::BroadcastSend);
        assert_eq!(records[0].target.as_deref(), body["id"].as_str());
    }

    #[tokio::test]
    async fn when_admin_reads_audit_log_should_page_newest_first_and_filter_by_actor() {
        // GIVEN five audited reads by two principals
        let deps = deps();
        for caller in ["agent01", "agent02", "agent01", "agent02", "agent01"] {
            call(&deps, event(GET_ME, Some(&token(caller, &["agent"])))).await;
        }
        // WHEN the admin reads agent01's records two per page
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..5 {
            let mut query = vec![("actor", "agent01"), ("limit", "2")];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let request = with_query(event(GET_AUDIT, Some(&admin())), &query);
            let (status, _, body) = call(&deps, request).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            for item in body["items"].as_array().unwrap() {
                seen.push((
                    item["actor"].as_str().unwrap().to_owned(),
                    item["at"].as_str().unwrap().to_owned(),
                ));
            }
            match body["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        // THEN three records of agent01, newest first
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|(actor, _)| actor == "agent01"));
        assert!(seen.windows(2).all(|pair| pair[0].1 >= pair[1].1));
        // AND each read of the log was itself recorded
        let reads = deps
            .audit
            .records()
            .into_iter()
            .filter(|record| record.action == AuditAction::AuditRead)
            .count();
        assert_eq!(reads, 2);
    }

    #[tokio::test]
    async fn when_audit_query_is_bad_should_answer_400_naming_the_parameter() {
        let deps = deps();
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[("from", "yesterday")], "from"),
            (
                &[
                    ("from", "2026-01-01T00:00:00Z"),
                    ("to", "2026-03-01T00:00:00Z"),
                ],
                "to",
            ),
            (&[("limit", "0")], "limit"),
            (&[("cursor", "bm9wZQ")], "cursor"),
        ];
        for (query, field) in cases {
            let request = with_query(event(GET_AUDIT, Some(&admin())), query);
            let (status, _, problem) = call(&deps, request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}");
            assert_eq!(problem["errors"][0]["field"], field, "{query:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn when_inputs_are_arbitrary_should_answer_without_panicking(
            method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
            path in prop::sample::select(vec!["/api/me", "/api/admin/users", "/api/admin/users/agent01", "/api/admin/audit", "/api/broadcasts", "/api/openapi.json", "/api/x"]),
            segment in "\\PC{0,80}",
            body in prop::collection::vec(any::<u8>(), 0..600),
            limit in "\\PC{0,6}",
            authorization in prop::sample::select(vec!["admin", "supervisor", "none", "garbage"]),
            json_content in any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let deps = deps();
                let mut request = event(GET_ME, None);
                *request.method_mut() = method.parse().unwrap();
                let path = if path.ends_with("agent01") { path.replace("agent01", &segment) } else { path.to_owned() };
                request = request
                    .with_raw_http_path(path.clone())
                    .with_path_parameters(std::collections::HashMap::from([("username".to_owned(), segment.clone())]))
                    .with_query_string_parameters(std::collections::HashMap::from([("limit".to_owned(), vec![limit.clone()])]));
                *request.body_mut() = Body::from(body.clone());
                if json_content {
                    request.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                let token = match authorization {
                    "admin" => Some(token("admin", &["admin"])),
                    "supervisor" => Some(token("supervisor", &["supervisor"])),
                    "garbage" => Some("a.b.c".to_owned()),
                    _ => None,
                };
                if let Some(token) = token {
                    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
                }
                let response = function_handler(&deps, request).await.unwrap();
                let status = response.status().as_u16();
                prop_assert!(status < 500 || status == 503, "{method} {path} → {status}");
                if status >= 400 {
                    let problem: Problem = serde_json::from_slice(response.body().as_ref()).unwrap();
                    prop_assert_eq!(problem.status, status);
                }
                Ok(())
            })?;
        }
    }
}
