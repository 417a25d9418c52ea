//! `GET /api/icis/contacts?from&to&channels&limit&cursor`: the nightly export of the
//! contact-centre records to ICIS (INT-1 b; every SMS — DESK-15, OMNI-1 — and every e-mail —
//! OMNI-2 — with its text; `linka_shared::contact_records::export`).
//!
//! ICIS (the `icis` machine client) or an admin asks for a period of Prague days and receives
//! the contacts that started in it, oldest first, `limit` (1–100, default 100) per page with a
//! `next` cursor until the period is exhausted; `channels` (comma-separated `voice`, `chat`,
//! `sms`, `email`, `social`) narrows it. Text contacts carry their whole transcript (and an
//! e-mail thread its subject). Every call is audited (`contacts.export`, with the period): the
//! records hold personal data (SEC-3).

use std::sync::Arc;

use chrono::Utc;
use futures_util::future::try_join_all;
use lambda_http::{
    http::{Method, StatusCode},
    Body, Request, Response,
};
use linka_shared::{
    audit::{AuditAction, AuditRecord},
    auth::{JwksSource, TokenValidator},
    authz::Permission,
    contact_records::{
        export::{
            conversation_of, export_page, text_contact, ExportPeriod, ExportPosition,
            ExportedContact, TextContact, EXPORT_PAGE_SIZE,
        },
        ContactRecord, ContactRecordStore,
    },
    contacts::Channel,
    paging::PageCursor,
    ports::{AuditLog, ConversationStore, StoreError},
    problem::{FieldError, Problem},
};
use routing::http_common::{
    audit_context, audit_unavailable, authenticate, json, problem_response, query_parameter,
    request_path, segments_under, store_failure, Operation, Resolution,
};
use serde::Serialize;

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[("GET", "/api/icis/contacts")];

/// Transcripts read at once for one page.
const TRANSCRIPT_READS: usize = 8;

/// What the handler needs: the token validator, the contact records, the conversations (the
/// transcripts of text contacts) and the audit log.
pub struct IcisExportDeps<J, R, A> {
    pub validator: TokenValidator<J>,
    pub records: R,
    pub conversations: Arc<dyn ConversationStore>,
    pub audit: A,
}

fn resolve(method: &Method, path: &str) -> Resolution<()> {
    match segments_under(path, "/api/icis").as_deref() {
        Some(["contacts"]) if method == Method::GET => Resolution::Found(()),
        Some(["contacts"]) => Resolution::MethodNotAllowed("GET"),
        _ => Resolution::NotFound,
    }
}

/// True when this module serves the path (a wrong method is a 405 from [`handle`]).
pub fn handles(_method: &Method, path: &str) -> bool {
    !matches!(resolve(&Method::GET, path), Resolution::NotFound)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportView<'a> {
    from: String,
    to: String,
    contacts: Vec<ExportedContact<'a>>,
    next: Option<String>,
}

/// The query: the period, the channels, the page size and where to start.
struct ExportQuery {
    period: ExportPeriod,
    channels: Vec<Channel>,
    limit: usize,
    position: ExportPosition,
}

fn parse_query(request: &Request) -> Result<ExportQuery, Problem> {
    let from = query_parameter(request, "from");
    let to = query_parameter(request, "to");
    let mut errors = Vec::new();
    let period = ExportPeriod::parse(from.as_deref(), to.as_deref())
        .map_err(|period_errors| errors.extend(period_errors))
        .ok();
    let mut channels = Vec::new();
    if let Some(names) = query_parameter(request, "channels") {
        for name in names.split(',') {
            match Channel::parse(name.trim()) {
                Some(channel) if !channels.contains(&channel) => channels.push(channel),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    "channels",
                    "must list voice, chat, sms, email or social, separated by commas",
                )),
            }
        }
    }
    let limit = match query_parameter(request, "limit") {
        None => Some(EXPORT_PAGE_SIZE),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=EXPORT_PAGE_SIZE).contains(limit)),
    };
    if limit.is_none() {
        errors.push(FieldError::new(
            "limit",
            format!("must be an integer from 1 to {EXPORT_PAGE_SIZE}"),
        ));
    }
    let mut cursor_refused = false;
    let position = match (&period, query_parameter(request, "cursor")) {
        (Some(period), None) => Some(ExportPosition::first(period)),
        (Some(period), Some(text)) => PageCursor::parse(&text)
            .ok()
            .and_then(|cursor| ExportPosition::from_cursor(cursor, period).ok())
            .or_else(|| {
                cursor_refused = true;
                None
            }),
        (None, _) => None,
    };
    if cursor_refused {
        errors.push(FieldError::new(
            "cursor",
            "is not one this export gave out for this period",
        ));
    }
    match (period, limit, position) {
        (Some(period), Some(limit), Some(position)) if errors.is_empty() => Ok(ExportQuery {
            period,
            channels,
            limit,
            position,
        }),
        _ => Err(Problem::invalid_parameters(errors)),
    }
}

/// Serves the request (authenticates with the token validator itself). Never fails: failures
/// are problem responses.
pub async fn handle<J, R, A>(deps: &IcisExportDeps<J, R, A>, request: Request) -> Response<Body>
where
    J: JwksSource,
    R: ContactRecordStore,
    A: AuditLog,
{
    if let Err(response) = resolve(request.method(), &request_path(&request)).into_route() {
        return response;
    }
    let principal = match authenticate(&deps.validator, &request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let context = audit_context(&principal, &request);
    let query = principal
        .require(Permission::ExportContactRecords)
        .map_err(|e| {
            Problem::forbidden(
                "forbidden",
                format!(
                    "Your roles do not include the permission {}.",
                    e.permission.as_str()
                ),
            )
        })
        .and_then(|()| parse_query(&request));
    let mut record = AuditRecord::new(&context, AuditAction::ContactsExport, None, 0, Utc::now());
    let response = match query {
        Ok(query) => {
            let period = query.period;
            record
                .details
                .insert("from".to_owned(), period.from.to_string());
            record
                .details
                .insert("to".to_owned(), period.to.to_string());
            serve(deps, query, &mut record).await
        }
        Err(problem) => Err(problem),
    }
    .unwrap_or_else(problem_response);
    record.status = response.status().as_u16();
    match deps.audit.record(&record).await {
        Ok(()) => response,
        Err(error) => audit_unavailable(&error),
    }
}

async fn serve<J, R, A>(
    deps: &IcisExportDeps<J, R, A>,
    query: ExportQuery,
    audit: &mut AuditRecord,
) -> Operation
where
    R: ContactRecordStore,
{
    let page = export_page(
        &deps.records,
        &query.period,
        &query.channels,
        query.position,
        query.limit,
    )
    .await
    .map_err(|error| match error {
        StoreError::InvalidCursor(_) => {
            Problem::bad_request("invalid-cursor", "The cursor is not one of this export.")
        }
        other => store_failure("export contacts", other),
    })?;
    let texts = text_contacts(deps.conversations.as_ref(), &page.records)
        .await
        .map_err(|error| store_failure("read the transcripts of exported contacts", error))?;
    audit
        .details
        .insert("contacts".to_owned(), page.records.len().to_string());
    json(
        StatusCode::OK,
        &ExportView {
            from: query.period.from.to_string(),
            to: query.period.to.to_string(),
            contacts: page
                .records
                .iter()
                .zip(&texts)
                .map(|(record, text)| ExportedContact::of(record, text.as_ref()))
                .collect(),
            next: page.next.map(|next| next.cursor().encode()),
        },
    )
}

/// The subject and transcript of every text contact (`None` for calls), in the records' order,
/// read [`TRANSCRIPT_READS`] at a time.
async fn text_contacts(
    conversations: &dyn ConversationStore,
    records: &[ContactRecord],
) -> Result<Vec<Option<TextContact>>, StoreError> {
    let mut all = Vec::with_capacity(records.len());
    for chunk in records.chunks(TRANSCRIPT_READS) {
        let reads = chunk.iter().map(|record| text_of(conversations, record));
        all.extend(try_join_all(reads).await?);
    }
    Ok(all)
}

async fn text_of(
    conversations: &dyn ConversationStore,
    record: &ContactRecord,
) -> Result<Option<TextContact>, StoreError> {
    match conversation_of(record) {
        Some(conversation_id) => text_contact(conversations, conversation_id).await.map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
#[path = "icis_export_tests.rs"]
mod tests;
