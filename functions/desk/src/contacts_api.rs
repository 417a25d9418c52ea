//! `/api/contacts…`, `/api/clients/{clientId}/contacts`, `/api/desk/history` and
//! `/api/desk/recent`: contact records at the agent desk (DESK-4, DESK-5, DESK-7, DESK-10,
//! DESK-12, IN-16; `linka_shared::contact_records`).
//!
//! - `GET /api/contacts/{contactId}`: the record; `GET …/notes`: every note version, oldest
//!   first; `POST …/notes` `{text, baseVersion}`: a new version (201; 409 `note-conflict` when
//!   `baseVersion` is not the latest).
//! - `PUT …/category` `{categoryId}` (an active call category of ConfigTable `callCategory`,
//!   changeable after the call, DESK-10), `PUT …/client` `{clientId}` (a client of the client
//!   database), `PUT …/data` `{data}` (replaces the gathered data, IN-16): 200 the record.
//! - `GET /api/clients/{clientId}/contacts?cursor`: the client's contacts, newest first (DESK-5).
//! - `GET /api/desk/history?from&to&q&cursor`: the caller's own contacts, newest first, with a
//!   case- and diacritics-insensitive search over notes, number and client name (DESK-7).
//! - `GET /api/desk/recent`: the caller's last [`RECENT_CONTACTS`] contacts (DESK-12).
//!
//! Agents, supervisors and admins may read every record ([`Permission::HandleClients`]: a
//! client's history shows every agent's contacts); an agent may change a record only of a contact
//! they took part in, supervisors and admins any. A change that races the CTI projection (or
//! another agent) is retried on the fresh record. Every call is audited (records hold personal
//! data, SEC-3).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use lambda_http::{
    http::{Method, StatusCode},
    Body, Request, Response,
};
use linka_shared::{
    adapters::fanout::push_to_connections,
    admin_config::{is_valid_config_id, CallCategory, ConfigEntity},
    audit::{AuditAction, AuditRecord},
    auth::{JwksSource, Principal, Role, TokenValidator},
    authz::Permission,
    clients::{is_valid_client_id, Client, ClientStore},
    contact_records::{
        fold, is_valid_contact_id, ContactError, ContactRecord, ContactRecordStore,
        ContactRecordView, ContactWrite, ContactWriteError, HistoryQuery, NoteVersion, Owner,
        RECENT_CONTACTS,
    },
    paging::PageCursor,
    ports::{AuditLog, ConfigStore, ConnectionNotifier, ConnectionStore, Versioned},
    problem::{FieldError, Problem},
    realtime::PushMessage,
    telemetry::ErrorChain,
};
use routing::http_common::{
    audit_context, audit_unavailable, authenticate, json, problem_response, query_parameter,
    request_path, required_body, store_failure, Operation,
};
use serde::{Deserialize, Serialize};

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/contacts/{contactId}"),
    ("GET", "/api/contacts/{contactId}/notes"),
    ("POST", "/api/contacts/{contactId}/notes"),
    ("PUT", "/api/contacts/{contactId}/category"),
    ("PUT", "/api/contacts/{contactId}/client"),
    ("PUT", "/api/contacts/{contactId}/data"),
    ("GET", "/api/clients/{clientId}/contacts"),
    ("GET", "/api/desk/history"),
    ("GET", "/api/desk/recent"),
];

/// Records per page of a history.
pub const PAGE_SIZE: usize = 50;
/// The longest search text, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// How often a change is tried when the record changes under it.
const MAX_ATTEMPTS: u32 = 3;

/// What the handler needs: the token validator, the contact records, the client database (to
/// check and name the client picked), the configuration (call categories) and the audit log.
pub struct ContactsDeps<J, R, C, K, A> {
    pub validator: TokenValidator<J>,
    pub records: R,
    pub clients: C,
    pub config: K,
    pub audit: A,
    /// Where a changed record is announced (`contact` pushes to the desks showing it); `None`:
    /// no pushes (the desks read the record again when they open it).
    pub pushes: Option<ContactPushes>,
}

/// The WebSocket side of the contact API: the connections and the `@connections` endpoint.
#[derive(Clone)]
pub struct ContactPushes {
    pub connections: Arc<dyn ConnectionStore>,
    pub notifier: Arc<dyn ConnectionNotifier>,
}

impl ContactPushes {
    /// Tells every open desk of `usernames` that the record changed (DESK-4, DESK-10: another tab
    /// or the other agent of a transferred call shows the new note or category at once). A
    /// failure is logged: the change is stored either way.
    pub async fn contact_changed(&self, contact_id: &str, usernames: BTreeSet<String>) {
        // One or two people (the agents of the contact and the editor): read one after another.
        let mut ids = Vec::new();
        for username in &usernames {
            match self.connections.list_for_user(username).await {
                Ok(connections) => ids.extend(connections.into_iter().map(|c| c.connection_id)),
                Err(error) => {
                    tracing::warn!(username, error.message = %error, error.cause_chain = %ErrorChain(&error), "contact push skipped for a user");
                }
            }
        }
        let message = PushMessage::Contact {
            contact_id: contact_id.to_owned(),
        };
        let tally = push_to_connections(
            self.connections.as_ref(),
            self.notifier.as_ref(),
            ids.iter().map(String::as_str),
            &message,
        )
        .await;
        tracing::debug!(
            contact_id,
            delivered = tally.delivered,
            gone = tally.gone.len(),
            failed = tally.failed,
            "contact pushed"
        );
    }
}

/// A change of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Note,
    Category,
    Client,
    Data,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Category => "category",
            Self::Client => "client",
            Self::Data => "data",
        }
    }
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Get(String),
    Notes(String),
    Change(String, Change),
    ClientContacts(String),
    History,
    Recent,
}

type Resolution = routing::http_common::Resolution<Route>;

/// `%XX` escapes of a path segment decoded (`prg-1%3A1%3A42` → `prg-1:1:42`); `None` when an
/// escape is broken or the result is not UTF-8.
fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = segment.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn resolve(method: &Method, path: &str) -> Resolution {
    let Some(start) = path.find("/api/") else {
        return Resolution::NotFound;
    };
    let rest = &path[start + 1..];
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    let (get, post, put) = (
        method == Method::GET,
        method == Method::POST,
        method == Method::PUT,
    );
    let id = |segment: &str| decode_segment(segment).unwrap_or_default();
    match segments.as_slice() {
        ["api", "contacts", contact] if !contact.is_empty() => {
            if get {
                Resolution::Found(Route::Get(id(contact)))
            } else {
                Resolution::MethodNotAllowed("GET")
            }
        }
        ["api", "contacts", contact, "notes"] if !contact.is_empty() => {
            if get {
                Resolution::Found(Route::Notes(id(contact)))
            } else if post {
                Resolution::Found(Route::Change(id(contact), Change::Note))
            } else {
                Resolution::MethodNotAllowed("GET, POST")
            }
        }
        ["api", "contacts", contact, what @ ("category" | "client" | "data")]
            if !contact.is_empty() =>
        {
            let change = match *what {
                "category" => Change::Category,
                "client" => Change::Client,
                _ => Change::Data,
            };
            if put {
                Resolution::Found(Route::Change(id(contact), change))
            } else {
                Resolution::MethodNotAllowed("PUT")
            }
        }
        ["api", "clients", client, "contacts"] if !client.is_empty() => {
            if get {
                Resolution::Found(Route::ClientContacts(id(client)))
            } else {
                Resolution::MethodNotAllowed("GET")
            }
        }
        ["api", "desk", "history"] if get => Resolution::Found(Route::History),
        ["api", "desk", "recent"] if get => Resolution::Found(Route::Recent),
        ["api", "desk", "history" | "recent"] => Resolution::MethodNotAllowed("GET"),
        _ => Resolution::NotFound,
    }
}

/// True when this module serves `method path` (path without query string): every method of
/// its paths (a wrong method is a 405 from [`handle`]). Of `/api/clients…` only
/// `/api/clients/{clientId}/contacts` is this module's.
pub fn handles(_method: &Method, path: &str) -> bool {
    !matches!(resolve(&Method::GET, path), Resolution::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Responses and bodies
// ---------------------------------------------------------------------------------------------

fn not_found(id: &str) -> Problem {
    Problem::not_found("contact-not-found", format!("There is no contact {id}."))
}

fn changed_meanwhile() -> Problem {
    Problem::conflict(
        "contact-changed",
        "The contact kept changing while it was saved; load it again and retry.",
    )
}

/// The problem for a refused change.
fn refused(error: ContactError) -> Problem {
    match error {
        ContactError::NoteLength => {
            Problem::unprocessable(vec![FieldError::new("text", error.to_string())])
        }
        ContactError::StaleNote { latest } => Problem::conflict(
            "note-conflict",
            match latest {
                Some(latest) => format!(
                    "The note was amended meanwhile; the latest version is {latest}. Load it and amend that."
                ),
                None => "The contact has no note yet: send baseVersion null.".to_owned(),
            },
        ),
        ContactError::Data(errors) => Problem::unprocessable(errors),
        ContactError::ClientId => {
            Problem::unprocessable(vec![FieldError::new("clientId", "is not a client id")])
        }
        ContactError::CategoryId => {
            Problem::unprocessable(vec![FieldError::new("categoryId", "is not a category id")])
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotesView<'a> {
    versions: &'a [NoteVersion],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListView<'a> {
    contacts: Vec<ContactRecordView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Option<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NoteBody {
    text: String,
    #[serde(default)]
    base_version: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CategoryBody {
    category_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientBody {
    client_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DataBody {
    data: BTreeMap<String, String>,
}

/// A change read from its body, applied to the fresh record on every attempt.
enum Edit {
    Note {
        text: String,
        base_version: Option<u32>,
    },
    Category(String),
    Client {
        client_id: String,
        name: Option<String>,
    },
    Data(BTreeMap<String, String>),
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

/// What the audit record of a call says beyond the route.
#[derive(Default)]
struct AuditNote {
    target: Option<String>,
}

/// Serves the request (authenticates with the token validator itself). Never fails: failures
/// are problem responses.
pub async fn handle<J, R, C, K, A>(
    deps: &ContactsDeps<J, R, C, K, A>,
    request: Request,
) -> Response<Body>
where
    J: JwksSource,
    R: ContactRecordStore,
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
        Route::Get(_) | Route::Notes(_) => AuditAction::ContactRead,
        Route::Change(..) => AuditAction::ContactUpdate,
        Route::ClientContacts(_) | Route::History | Route::Recent => AuditAction::ContactsList,
    };
    let mut record = AuditRecord::new(
        &context,
        action,
        note.target,
        response.status().as_u16(),
        Utc::now(),
    );
    if let Route::Change(_, change) = &route {
        record
            .details
            .insert("change".to_owned(), change.name().to_owned());
    }
    if let Route::ClientContacts(client) = &route {
        if is_valid_client_id(client) {
            record.details.insert("clientId".to_owned(), client.clone());
        }
    }
    match deps.audit.record(&record).await {
        Ok(()) => response,
        Err(error) => audit_unavailable(&error),
    }
}

async fn serve<J, R, C, K, A>(
    deps: &ContactsDeps<J, R, C, K, A>,
    request: &Request,
    route: &Route,
    principal: &Principal,
    note: &mut AuditNote,
) -> Operation
where
    R: ContactRecordStore,
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
        Route::Get(id) => {
            note.target = is_valid_contact_id(id).then(|| id.clone());
            let stored = load(deps, id).await?;
            json(StatusCode::OK, &stored.value.view())
        }
        Route::Notes(id) => {
            note.target = is_valid_contact_id(id).then(|| id.clone());
            load(deps, id).await?;
            let versions = deps
                .records
                .notes(id)
                .await
                .map_err(|error| store_failure("read contact notes", error))?;
            json(
                StatusCode::OK,
                &NotesView {
                    versions: &versions,
                },
            )
        }
        Route::Change(id, change) => {
            note.target = is_valid_contact_id(id).then(|| id.clone());
            change_record(deps, request, principal, id, *change).await
        }
        Route::ClientContacts(client) => {
            if !is_valid_client_id(client) {
                return Err(Problem::not_found(
                    "client-not-found",
                    format!("There is no client {client}."),
                ));
            }
            let cursor = cursor_parameter(request)?;
            list(
                deps,
                Owner::Client(client.clone()),
                None,
                None,
                None,
                PAGE_SIZE,
                cursor,
                true,
            )
            .await
        }
        Route::History => {
            let from = time_parameter(request, "from")?;
            let to = time_parameter(request, "to")?;
            if let (Some(from), Some(to)) = (from, to) {
                if from > to {
                    return Err(Problem::invalid_parameter("from", "must not be after to"));
                }
            }
            let text = match query_parameter(request, "q") {
                Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
                    return Err(Problem::invalid_parameter(
                        "q",
                        &format!("must have at most {MAX_QUERY_CHARS} characters"),
                    ))
                }
                Some(q) => Some(fold(&q)).filter(|q| !q.is_empty()),
                None => None,
            };
            let cursor = cursor_parameter(request)?;
            let owner = Owner::Agent(principal.username.clone());
            list(deps, owner, from, to, text, PAGE_SIZE, cursor, true).await
        }
        Route::Recent => {
            let owner = Owner::Agent(principal.username.clone());
            list(deps, owner, None, None, None, RECENT_CONTACTS, None, false).await
        }
    }
}

fn cursor_parameter(request: &Request) -> Result<Option<PageCursor>, Problem> {
    query_parameter(request, "cursor")
        .map(|text| PageCursor::parse(&text))
        .transpose()
        .map_err(|_| {
            Problem::bad_request("invalid-cursor", "The cursor is not one this API gave out.")
        })
}

fn time_parameter(request: &Request, name: &str) -> Result<Option<DateTime<Utc>>, Problem> {
    query_parameter(request, name)
        .map(|text| {
            DateTime::parse_from_rfc3339(&text.replace(' ', "+"))
                .map(|time| time.with_timezone(&Utc))
                .map_err(|_| Problem::invalid_parameter(name, "must be an RFC 3339 timestamp"))
        })
        .transpose()
}

#[allow(clippy::too_many_arguments)]
async fn list<J, R, C, K, A>(
    deps: &ContactsDeps<J, R, C, K, A>,
    owner: Owner,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    text: Option<String>,
    limit: usize,
    cursor: Option<PageCursor>,
    paged: bool,
) -> Operation
where
    R: ContactRecordStore,
{
    let query = HistoryQuery {
        owner,
        from,
        to,
        text,
        channels: Vec::new(),
        oldest_first: false,
        limit,
        cursor,
    };
    let page = deps
        .records
        .history(&query)
        .await
        .map_err(|error| match error {
            linka_shared::ports::StoreError::InvalidCursor(_) => {
                Problem::bad_request("invalid-cursor", "The cursor is not one of this listing.")
            }
            other => store_failure("list contacts", other),
        })?;
    json(
        StatusCode::OK,
        &ListView {
            contacts: page.items.iter().map(ContactRecord::view).collect(),
            next: paged.then(|| page.next_cursor.map(|cursor| cursor.encode())),
        },
    )
}

async fn load<J, R, C, K, A>(
    deps: &ContactsDeps<J, R, C, K, A>,
    id: &str,
) -> Result<Versioned<ContactRecord>, Problem>
where
    R: ContactRecordStore,
{
    if !is_valid_contact_id(id) {
        return Err(not_found(id));
    }
    deps.records
        .get(id)
        .await
        .map_err(|error| store_failure("read a contact record", error))?
        .ok_or_else(|| not_found(id))
}

/// The name the desk shows for a client: first and last name, else the company.
fn client_name(client: &Client) -> Option<String> {
    let field = |key: &str| {
        client
            .fields
            .get(key)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let name: Vec<&str> = [field("firstName"), field("lastName")]
        .into_iter()
        .flatten()
        .collect();
    if name.is_empty() {
        field("company").map(str::to_owned)
    } else {
        Some(name.join(" "))
    }
}

/// Reads and checks the body of a change (before the record is loaded).
async fn read_edit<J, R, C, K, A>(
    deps: &ContactsDeps<J, R, C, K, A>,
    request: &Request,
    change: Change,
) -> Result<Edit, Problem>
where
    C: ClientStore,
    K: ConfigStore,
{
    Ok(match change {
        Change::Note => {
            let body: NoteBody = required_body(request)?;
            Edit::Note {
                text: body.text,
                base_version: body.base_version,
            }
        }
        Change::Category => {
            let body: CategoryBody = required_body(request)?;
            let unknown = || {
                Problem::unprocessable(vec![FieldError::new(
                    "categoryId",
                    "is not an active call category",
                )])
            };
            if !is_valid_config_id(&body.category_id) {
                return Err(unknown());
            }
            let document = deps
                .config
                .get(CallCategory::COLLECTION, &body.category_id)
                .await
                .map_err(|error| store_failure("read a call category", error))?
                .ok_or_else(unknown)?;
            if document.get("active").and_then(serde_json::Value::as_bool) == Some(false) {
                return Err(unknown());
            }
            Edit::Category(body.category_id)
        }
        Change::Client => {
            let body: ClientBody = required_body(request)?;
            let unknown = || {
                Problem::unprocessable(vec![FieldError::new("clientId", "is not a known client")])
            };
            if !is_valid_client_id(&body.client_id) {
                return Err(unknown());
            }
            let client = deps
                .clients
                .get(&body.client_id)
                .await
                .map_err(|error| store_failure("read a client", error))?
                .ok_or_else(unknown)?;
            Edit::Client {
                name: client_name(&client.value),
                client_id: body.client_id,
            }
        }
        Change::Data => {
            let body: DataBody = required_body(request)?;
            Edit::Data(body.data)
        }
    })
}

/// `POST …/notes`, `PUT …/category|client|data`.
async fn change_record<J, R, C, K, A>(
    deps: &ContactsDeps<J, R, C, K, A>,
    request: &Request,
    principal: &Principal,
    id: &str,
    change: Change,
) -> Operation
where
    R: ContactRecordStore,
    C: ClientStore,
    K: ConfigStore,
{
    let edit = read_edit(deps, request, change).await?;
    let supervisor = principal.has_role(Role::Supervisor) || principal.has_role(Role::Admin);
    for _ in 0..MAX_ATTEMPTS {
        let stored = load(deps, id).await?;
        if !stored.value.may_edit(&principal.username, supervisor) {
            return Err(Problem::forbidden(
                "forbidden",
                "Only an agent who took part in the contact, or a supervisor, may change it.",
            ));
        }
        let mut record = stored.value.clone();
        let mut new_note = None;
        match &edit {
            Edit::Note { text, base_version } => {
                new_note = Some(
                    record
                        .add_note(text, *base_version, &principal.username, Utc::now())
                        .map_err(refused)?,
                );
            }
            Edit::Category(category) => record.set_category(category).map_err(refused)?,
            Edit::Client { client_id, name } => {
                record
                    .set_client(client_id, name.clone())
                    .map_err(refused)?;
            }
            Edit::Data(data) => record.set_data(data).map_err(refused)?,
        }
        let mut write = ContactWrite::of(Some(&stored), record);
        if let Some(note) = new_note.clone() {
            write = write.with_note(note);
        }
        match deps.records.save(&write).await {
            Ok(()) => {
                if let Some(pushes) = &deps.pushes {
                    let mut usernames: BTreeSet<String> =
                        write.record.value.agents.iter().cloned().collect();
                    usernames.insert(principal.username.clone());
                    pushes.contact_changed(id, usernames).await;
                }
                return match new_note {
                    Some(note) => json(StatusCode::CREATED, &note),
                    None => json(StatusCode::OK, &write.record.value.view()),
                };
            }
            Err(ContactWriteError::Conflict) => continue,
            Err(ContactWriteError::Store(error)) => {
                return Err(store_failure("store a contact record", error))
            }
        }
    }
    Err(changed_meanwhile())
}

#[cfg(test)]
#[path = "contacts_api_tests.rs"]
mod tests;
