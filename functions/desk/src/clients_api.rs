//! `/api/clients…` and `/api/client-fields`: the client database at the agent desk (CDB-1..5,
//! IN-15 caller identification, CHAT-4 lookup by e-mail, CHAT-5 ICIS link).
//!
//! - `GET /api/client-fields`: the card's fields (15 built-in ones and the administrators'
//!   custom ones from ConfigTable `clientField`), in order.
//! - `GET /api/clients?phone=|email=|insuranceNumber=`: every client matching exactly one
//!   filter (family members share numbers), by name.
//! - `GET /api/clients/{clientId}`, `POST /api/clients` (a person entered by hand, `M-<uuid>`),
//!   `PUT /api/clients/{clientId}` (optimistic: the body's `version` must be the stored one,
//!   else 409).
//!
//! Agents, supervisors and admins may read and edit ([`Permission::HandleClients`]). Each
//! response carries `icisUrl`, the client's page in ICIS from the ICIS link setting, when the
//! client has an ICIS id. Every lookup, read and change of a client is audited (personal data,
//! SEC-3); the field list is not.

use std::collections::BTreeMap;

use chrono::Utc;
use lambda_http::{
    http::{
        header::{self, HeaderValue},
        Method, StatusCode,
    },
    Body, Request, RequestExt, Response,
};
use linka_shared::{
    admin_config::{ConfigEntity, IcisLink, ICIS_LINK_ID, SETTINGS_COLLECTION},
    audit::{AuditAction, AuditRecord},
    auth::{JwksSource, Principal, TokenValidator},
    authz::Permission,
    clients::{
        email_key, field_definitions, insurance_search_key, is_plausible_email, is_valid_client_id,
        missing_required, normalise_phone, sort_matches, validate_changes, Client,
        ClientFieldDefinition, ClientStore, ClientWriteError, CustomClientField, MAX_MATCHES,
    },
    paging::PageCursor,
    ports::{AuditLog, ConfigStore, StoreError, Versioned},
    problem::{FieldError, Problem},
    telemetry::ErrorChain,
    users::PageLimit,
};
use routing::http_common::{
    audit_context, audit_unavailable, authenticate, json, problem_response, query_parameter,
    request_path, required_body, store_failure, Operation,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/client-fields"),
    ("GET", "/api/clients"),
    ("POST", "/api/clients"),
    ("GET", "/api/clients/{clientId}"),
    ("PUT", "/api/clients/{clientId}"),
];

/// The lookup filters of `GET /api/clients`; exactly one must be given.
const FILTERS: [&str; 3] = ["phone", "email", "insuranceNumber"];

/// What the handler needs: the token validator, the client database, the configuration (custom
/// fields and the ICIS link) and the audit log.
pub struct ClientsDeps<J, C, K, A> {
    pub validator: TokenValidator<J>,
    pub clients: C,
    pub config: K,
    pub audit: A,
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Fields,
    Search,
    Create,
    Get(String),
    Update(String),
}

type Resolution = routing::http_common::Resolution<Route>;

/// The path from `/api/` on (a stage prefix is tolerated), split into segments.
fn segments(path: &str) -> Option<Vec<&str>> {
    let start = path.find("/api/")?;
    let rest = path.get(start + 1..)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    Some(rest.split('/').collect())
}

fn resolve(method: &Method, path: &str) -> Resolution {
    let Some(segments) = segments(path) else {
        return Resolution::NotFound;
    };
    let (get, post, put) = (
        method == Method::GET,
        method == Method::POST,
        method == Method::PUT,
    );
    match segments.as_slice() {
        ["api", "client-fields"] if get => Resolution::Found(Route::Fields),
        ["api", "client-fields"] => Resolution::MethodNotAllowed("GET"),
        ["api", "clients"] if get => Resolution::Found(Route::Search),
        ["api", "clients"] if post => Resolution::Found(Route::Create),
        ["api", "clients"] => Resolution::MethodNotAllowed("GET, POST"),
        ["api", "clients", id] if !id.is_empty() && get => {
            Resolution::Found(Route::Get((*id).to_owned()))
        }
        ["api", "clients", id] if !id.is_empty() && put => {
            Resolution::Found(Route::Update((*id).to_owned()))
        }
        ["api", "clients", id] if !id.is_empty() => Resolution::MethodNotAllowed("GET, PUT"),
        _ => Resolution::NotFound,
    }
}

/// True when this module serves `method path` (path without query string): every method of
/// `/api/client-fields`, `/api/clients` and `/api/clients/{clientId}` (a wrong method is a 405
/// from [`handle`]). `/api/clients/{clientId}/contacts` is not this module's.
pub fn handles(_method: &Method, path: &str) -> bool {
    !matches!(resolve(&Method::GET, path), Resolution::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn not_found(id: &str) -> Problem {
    Problem::not_found("client-not-found", format!("There is no client {id}."))
}

fn changed_meanwhile() -> Problem {
    Problem::conflict(
        "client-changed",
        "Someone changed the client since you loaded it; load it again and retry.",
    )
}

/// A client as the API returns it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientView<'a> {
    #[serde(flatten)]
    client: &'a Client,
    version: u64,
    icis_url: Option<String>,
}

fn view<'a>(stored: &'a Versioned<Client>, link: &IcisLink) -> ClientView<'a> {
    ClientView {
        client: &stored.value,
        version: stored.version,
        icis_url: stored
            .value
            .icis_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| link.link_for(id)),
    }
}

#[derive(Serialize)]
struct FieldsView<'a> {
    fields: &'a [ClientFieldDefinition],
}

#[derive(Serialize)]
struct SearchView<'a> {
    clients: Vec<ClientView<'a>>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    fields: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateBody {
    version: u64,
    fields: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

/// What the audit record of a call says besides its action and status.
#[derive(Default)]
struct AuditNote {
    target: Option<String>,
    details: Vec<(&'static str, String)>,
}

/// Serves a request. Never fails: every failure is a problem response.
pub async fn handle<J, C, K, A>(deps: &ClientsDeps<J, C, K, A>, request: Request) -> Response<Body>
where
    J: JwksSource,
    C: ClientStore,
    K: ConfigStore,
    A: AuditLog,
{
    let route = match resolve(request.method(), &request_path(&request)).into_route() {
        Ok(route) => route,
        Err(response) => return response,
    };
    let principal = match authenticate(&deps.validator, &request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let context = audit_context(&principal, &request);
    let mut note = AuditNote::default();
    let response = serve(deps, &request, &route, &principal, &mut note)
        .await
        .unwrap_or_else(problem_response);
    let action = match &route {
        Route::Fields => return response,
        Route::Search => AuditAction::ClientsSearch,
        Route::Get(_) => AuditAction::ClientRead,
        Route::Create => AuditAction::ClientCreate,
        Route::Update(_) => AuditAction::ClientUpdate,
    };
    let mut record = AuditRecord::new(
        &context,
        action,
        note.target,
        response.status().as_u16(),
        Utc::now(),
    );
    for (key, value) in note.details {
        record.details.insert(key.to_owned(), value);
    }
    match deps.audit.record(&record).await {
        Ok(()) => response,
        Err(error) => audit_unavailable(&error),
    }
}

async fn serve<J, C, K, A>(
    deps: &ClientsDeps<J, C, K, A>,
    request: &Request,
    route: &Route,
    principal: &Principal,
    note: &mut AuditNote,
) -> Operation
where
    C: ClientStore,
    K: ConfigStore,
{
    principal.require(Permission::HandleClients).map_err(|e| {
        Problem::forbidden(
            "forbidden",
            format!(
                "Your roles do not include the permission {}.",
                e.permission.as_str()
            ),
        )
    })?;
    match route {
        Route::Fields => {
            let fields = definitions(&deps.config).await?;
            json(StatusCode::OK, &FieldsView { fields: &fields })
        }
        Route::Search => search(deps, request, note).await,
        Route::Get(segment) => get(deps, &client_id(request, segment), note).await,
        Route::Create => create(deps, request, principal, note).await,
        Route::Update(id) => update(deps, request, id, principal, note).await,
    }
}

/// The built-in and active custom fields. A custom field document that no longer parses is
/// skipped (and logged) rather than taking the desk down.
async fn definitions<K: ConfigStore>(config: &K) -> Result<Vec<ClientFieldDefinition>, Problem> {
    let mut custom = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    loop {
        let page = config
            .list(
                CustomClientField::COLLECTION,
                PageLimit::new(PageLimit::MAX).unwrap_or(PageLimit::DEFAULT),
                cursor.take(),
            )
            .await
            .map_err(|error| store_failure("list the custom client fields", error))?;
        for document in page.items {
            match serde_json::from_value::<CustomClientField>(document) {
                Ok(field) => custom.push(field),
                Err(error) => {
                    tracing::warn!(error.message = %error, "skipping a stored client field that does not parse");
                }
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(field_definitions(&custom))
}

/// The ICIS link setting; no link (and a warning) when it cannot be read, so that caller
/// identification keeps working.
async fn icis_link<K: ConfigStore>(config: &K) -> IcisLink {
    match config.get(SETTINGS_COLLECTION, ICIS_LINK_ID).await {
        Ok(Some(document)) => serde_json::from_value(document).unwrap_or_else(|error| {
            tracing::warn!(error.message = %error, "the stored ICIS link does not parse");
            IcisLink::default()
        }),
        Ok(None) => IcisLink::default(),
        Err(error) => {
            tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "cannot read the ICIS link");
            IcisLink::default()
        }
    }
}

/// `GET /api/clients?phone=|email=|insuranceNumber=`.
async fn search<J, C: ClientStore, K: ConfigStore, A>(
    deps: &ClientsDeps<J, C, K, A>,
    request: &Request,
    note: &mut AuditNote,
) -> Operation {
    let given: Vec<(&str, String)> = FILTERS
        .iter()
        .filter_map(|name| query_parameter(request, name).map(|value| (*name, value)))
        .collect();
    let [(filter, value)] = given.as_slice() else {
        return Err(Problem::bad_request(
            "invalid-parameter",
            "Give exactly one of the query parameters phone, email or insuranceNumber.",
        )
        .with_errors(
            FILTERS
                .iter()
                .map(|name| FieldError::new(*name, "exactly one of phone, email, insuranceNumber"))
                .collect(),
        ));
    };
    note.details.push(("filter", (*filter).to_owned()));
    let found: Result<Vec<Versioned<Client>>, StoreError> = match *filter {
        "phone" => {
            let e164 = normalise_phone(value)
                .map_err(|_| Problem::invalid_parameter("phone", "is not a phone number"))?;
            deps.clients.find_by_phone(&e164).await
        }
        "email" => {
            let email = email_key(value);
            if !is_plausible_email(&email) {
                return Err(Problem::invalid_parameter(
                    "email",
                    "is not an e-mail address",
                ));
            }
            deps.clients.find_by_email(&email).await
        }
        _ => {
            let digits = insurance_search_key(value).ok_or_else(|| {
                Problem::invalid_parameter("insuranceNumber", "must be 9 or 10 digits")
            })?;
            deps.clients.find_by_insurance_number(&digits).await
        }
    };
    let mut found = found.map_err(|error| store_failure("look up clients", error))?;
    sort_matches(&mut found);
    found.truncate(MAX_MATCHES);
    note.details.push(("matches", found.len().to_string()));
    let link = if found.iter().any(|c| c.value.icis_id.is_some()) {
        icis_link(&deps.config).await
    } else {
        IcisLink::default()
    };
    json(
        StatusCode::OK,
        &SearchView {
            clients: found.iter().map(|stored| view(stored, &link)).collect(),
        },
    )
}

async fn load<C: ClientStore>(clients: &C, id: &str) -> Result<Versioned<Client>, Problem> {
    if !is_valid_client_id(id) {
        return Err(not_found(id));
    }
    clients
        .get(id)
        .await
        .map_err(|error| store_failure("read a client", error))?
        .ok_or_else(|| not_found(id))
}

/// The decoded `{clientId}` (API Gateway's path parameter, else the raw segment).
fn client_id(request: &Request, segment: &str) -> String {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("clientId"))
        .unwrap_or(segment)
        .to_owned()
}

/// `GET /api/clients/{clientId}`.
async fn get<J, C: ClientStore, K: ConfigStore, A>(
    deps: &ClientsDeps<J, C, K, A>,
    id: &str,
    note: &mut AuditNote,
) -> Operation {
    if is_valid_client_id(id) {
        note.target = Some(id.to_owned());
    }
    let stored = load(&deps.clients, id).await?;
    let link = icis_link(&deps.config).await;
    json(StatusCode::OK, &view(&stored, &link))
}

/// `POST /api/clients`: a person entered by hand (IN-15), `M-<uuid>`, no ICIS id.
async fn create<J, C: ClientStore, K: ConfigStore, A>(
    deps: &ClientsDeps<J, C, K, A>,
    request: &Request,
    principal: &Principal,
    note: &mut AuditNote,
) -> Operation {
    let body: CreateBody = required_body(request)?;
    let definitions = definitions(&deps.config).await?;
    let changes = validate_changes(&definitions, &body.fields).map_err(Problem::unprocessable)?;
    let fields: BTreeMap<String, String> = changes
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .collect();
    let client = Client::manual(
        uuid::Uuid::new_v4(),
        fields,
        &principal.username,
        Utc::now(),
    );
    let missing = missing_required(&definitions, &client);
    if !missing.is_empty() {
        return Err(Problem::unprocessable(missing));
    }
    note.target = Some(client.client_id.clone());
    note.details.push((
        "fields",
        client.fields.keys().cloned().collect::<Vec<_>>().join(","),
    ));
    match deps.clients.create(&client).await {
        Ok(()) => {}
        Err(ClientWriteError::Conflict) => {
            return Err(Problem::conflict(
                "client-exists",
                "A client with this id already exists; try again.",
            ))
        }
        Err(ClientWriteError::NotFound) => return Err(not_found(&client.client_id)),
        Err(ClientWriteError::Store(error)) => return Err(store_failure("store a client", error)),
    }
    let stored = Versioned {
        value: client,
        version: 1,
    };
    let mut response = json(StatusCode::CREATED, &view(&stored, &IcisLink::default()))?;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/clients/{}", stored.value.client_id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PUT /api/clients/{clientId}`: the changed fields at the version read.
async fn update<J, C: ClientStore, K: ConfigStore, A>(
    deps: &ClientsDeps<J, C, K, A>,
    request: &Request,
    segment: &str,
    principal: &Principal,
    note: &mut AuditNote,
) -> Operation {
    let id = client_id(request, segment);
    if is_valid_client_id(&id) {
        note.target = Some(id.clone());
    }
    let body: UpdateBody = required_body(request)?;
    let mut stored = load(&deps.clients, &id).await?;
    if stored.version != body.version {
        return Err(changed_meanwhile());
    }
    let definitions = definitions(&deps.config).await?;
    let changes = validate_changes(&definitions, &body.fields).map_err(Problem::unprocessable)?;
    // Required fields are enforced on what this edit clears: ICIS records that lack one stay
    // editable.
    let cleared: Vec<FieldError> = changes
        .iter()
        .filter(|(key, value)| {
            value.is_none() && definitions.iter().any(|d| d.key == **key && d.required)
        })
        .map(|(key, _)| FieldError::new(format!("fields.{key}"), "is required"))
        .collect();
    if !cleared.is_empty() {
        return Err(Problem::unprocessable(cleared));
    }
    let changed: Vec<String> = changes
        .iter()
        .filter(|(key, value)| stored.value.fields.get(*key) != value.as_ref())
        .map(|(key, _)| key.clone())
        .collect();
    let link = icis_link(&deps.config).await;
    if changed.is_empty() {
        return json(StatusCode::OK, &view(&stored, &link));
    }
    note.details.push(("fields", changed.join(",")));
    stored.value.apply(changes, &principal.username, Utc::now());
    match deps.clients.put(&stored).await {
        Ok(()) => {}
        Err(ClientWriteError::Conflict) => return Err(changed_meanwhile()),
        Err(ClientWriteError::NotFound) => return Err(not_found(&id)),
        Err(ClientWriteError::Store(error)) => return Err(store_failure("store a client", error)),
    }
    stored.version += 1;
    json(StatusCode::OK, &view(&stored, &link))
}

#[cfg(test)]
#[path = "clients_api_tests.rs"]
mod tests;
