//! The configuration routes under `/api/admin/` (ADM-4, ADM-6, ADM-7): queues, queue members
//! (skill and priority per agent), break codes, call categories, transfer-panel groups and
//! lines, IVR trees, custom client-card fields, the ICIS link template, and the routing
//! settings ([`routing`]: a queue's routing settings, the inbound plan, the PBX device map).
//! Admin only.
//!
//! One generic set of operations serves every collection through
//! [`ConfigEntity`](linka_shared::admin_config::ConfigEntity): list, get, create, replace,
//! delete. Each write goes into one transaction with its audit record (SEC-3), so a refused or
//! failed write leaves nothing behind. References are checked before writing (an overflow to a
//! queue that does not exist is a 422 naming `overflow.queueId`), and a document others still
//! point at cannot be deleted (409).

use lambda_http::{
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    Body, Request, RequestExt, Response,
};
use linka_shared::{
    admin_config::{
        is_valid_config_id, is_valid_member_username, members_collection, parse_document,
        parse_icis_link, parse_member_settings, BreakCode, CallCategory, ConfigEntity, IcisLink,
        Queue, QueueMember, Reference, TransferGroup, TransferLine, ICIS_LINK_ID,
        SETTINGS_COLLECTION,
    },
    audit::{AuditAction, AuditContext, AuditRecord},
    auth::Principal,
    authz::Permission,
    chat::{
        mail_templates::MailTemplate,
        settings::{parse_chat_settings, ChatSettings, CHAT_SETTINGS_ID},
    },
    clients::CustomClientField,
    ivr::IvrTree,
    paging::Page,
    ports::{AdminError, ConfigStore, ConfigWrite, UserDirectory},
    problem::{FieldError, Problem},
    prompts::PromptResolver,
    queues::OverflowTarget,
    time::now_utc,
    users::PageLimit,
};
use serde_json::Value;

mod prompts;
mod routing;

use crate::{
    handler::{
        forbidden, internal, json, json_object, listing_failure, page_parameters, AuditNote,
        Operation,
    },
    routes::{Collection, Route},
};

/// Everything the configuration routes need.
pub(crate) struct ConfigDeps<'a, U> {
    pub store: &'a dyn ConfigStore,
    pub prompts: &'a PromptResolver,
    pub users: &'a U,
    pub principal: &'a Principal,
    pub context: &'a AuditContext,
    pub request: &'a Request,
}

/// Serves one configuration route.
pub(crate) async fn serve<U: UserDirectory>(
    deps: ConfigDeps<'_, U>,
    route: &Route,
    note: &mut AuditNote,
) -> Operation {
    deps.principal
        .require(Permission::AdministerConfiguration)
        .map_err(forbidden)?;
    macro_rules! by_collection {
        ($collection:expr, $operation:ident ( $($arg:expr),* )) => {
            match $collection {
                Collection::Queues => $operation::<Queue, U>(&deps, $($arg,)* note).await,
                Collection::BreakCodes => $operation::<BreakCode, U>(&deps, $($arg,)* note).await,
                Collection::CallCategories => {
                    $operation::<CallCategory, U>(&deps, $($arg,)* note).await
                }
                Collection::TransferGroups => {
                    $operation::<TransferGroup, U>(&deps, $($arg,)* note).await
                }
                Collection::TransferLines => {
                    $operation::<TransferLine, U>(&deps, $($arg,)* note).await
                }
                Collection::Ivrs => $operation::<IvrTree, U>(&deps, $($arg,)* note).await,
                Collection::ClientFields => {
                    $operation::<CustomClientField, U>(&deps, $($arg,)* note).await
                }
                Collection::MailTemplates => {
                    $operation::<MailTemplate, U>(&deps, $($arg,)* note).await
                }
            }
        };
    }
    match route {
        Route::ListConfig(collection) => by_collection!(collection, list()),
        Route::GetConfig(collection, segment) => {
            by_collection!(collection, get(path_id(&deps, *collection, segment)))
        }
        Route::CreateConfig(collection) => by_collection!(collection, create()),
        Route::ReplaceConfig(collection, segment) => {
            by_collection!(collection, replace(path_id(&deps, *collection, segment)))
        }
        Route::DeleteConfig(collection, segment) => {
            by_collection!(collection, delete(path_id(&deps, *collection, segment)))
        }
        Route::ListMembers(queue) => list_members(&deps, queue, note).await,
        Route::PutMember(queue, username) => put_member(&deps, queue, username, note).await,
        Route::DeleteMember(queue, username) => delete_member(&deps, queue, username, note).await,
        Route::GetIcisLink => get_icis_link(&deps).await,
        Route::PutIcisLink => put_icis_link(&deps, note).await,
        Route::GetChatSettings => get_chat_settings(&deps).await,
        Route::PutChatSettings => put_chat_settings(&deps, note).await,
        Route::GetQueueRouting(queue) => routing::get_queue_routing(&deps, queue, note).await,
        Route::PutQueueRouting(queue) => routing::put_queue_routing(&deps, queue, note).await,
        Route::GetRoutingPlan => routing::get_plan(&deps, note).await,
        Route::PutRoutingPlan => routing::put_plan(&deps, note).await,
        Route::GetRoutingDevices => routing::get_devices(&deps, note).await,
        Route::PutRoutingDevices => routing::put_devices(&deps, note).await,
        Route::ValidateIvr => routing::validate_ivr(&deps, note).await,
        Route::ListPrompts => prompts::list(&deps, note).await,
        Route::GetPrompt(name) => prompts::get(&deps, name, note).await,
        Route::PutPrompt(name) => prompts::put(&deps, name, note).await,
        Route::DeletePrompt(name) => prompts::delete(&deps, name, note).await,
        Route::PreviewTts => prompts::preview_tts(&deps, note).await,
        _ => Err(Problem::not_found(
            "route-not-found",
            "There is no such route.",
        )),
    }
}

/// The decoded path parameter (API Gateway's, else the raw segment).
fn path_id<U>(deps: &ConfigDeps<'_, U>, collection: Collection, segment: &str) -> String {
    path_parameter(deps.request, collection.id_parameter(), segment)
}

fn path_parameter(request: &Request, name: &str, segment: &str) -> String {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first(name))
        .unwrap_or(segment)
        .to_owned()
}

fn not_found<T: ConfigEntity>() -> Problem {
    Problem::not_found(
        &format!("{}-not-found", T::NOUN),
        format!("There is no {} with this id.", T::NOUN.replace('-', " ")),
    )
}

fn exists<T: ConfigEntity>() -> Problem {
    Problem::conflict(
        &format!("{}-exists", T::NOUN),
        format!(
            "A {} with this id already exists.",
            T::NOUN.replace('-', " ")
        ),
    )
}

fn target<T: ConfigEntity>(id: &str) -> String {
    format!("{}/{id}", T::PATH)
}

/// Reads one document of `T` (a stored document that no longer parses is a 500).
async fn load<T: ConfigEntity>(store: &dyn ConfigStore, id: &str) -> Result<Option<T>, Problem> {
    match store.get(T::COLLECTION, id).await {
        Ok(Some(document)) => serde_json::from_value(document)
            .map(Some)
            .map_err(|error| internal(&format!("read a stored {}", T::NOUN), &error)),
        Ok(None) => Ok(None),
        Err(error) => Err(internal(&format!("read a {}", T::NOUN), &error)),
    }
}

/// Every document of a collection (for reference checks on small collections).
async fn load_all(store: &dyn ConfigStore, collection: &str) -> Result<Vec<Value>, Problem> {
    let limit = PageLimit::new(PageLimit::MAX).unwrap_or(PageLimit::DEFAULT);
    linka_shared::paging::all_pages(|cursor| store.list(collection, limit, cursor))
        .await
        .map_err(|error| internal("list configuration documents", &error))
}

fn write_failure<T: ConfigEntity>(operation: &str, error: AdminError) -> Problem {
    match error {
        AdminError::Conflict => exists::<T>(),
        AdminError::NotFound => not_found::<T>(),
        AdminError::Store(error) => internal(operation, &error),
    }
}

/// 422 unless everything `document` points at exists.
async fn check_references<T: ConfigEntity, U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    document: &T,
) -> Result<(), Problem> {
    let errors = missing_references(deps, document.references()).await?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::unprocessable(errors))
    }
}

/// A `does not exist` error for each reference that points nowhere.
async fn missing_references<U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    references: Vec<Reference>,
) -> Result<Vec<FieldError>, Problem> {
    let mut errors = Vec::new();
    for reference in references {
        let found = if reference.is_user {
            deps.users
                .get(&reference.id)
                .await
                .map_err(|error| internal("read a user", &error))?
                .is_some()
        } else {
            deps.store
                .get(&reference.collection, &reference.id)
                .await
                .map_err(|error| internal("read a configuration document", &error))?
                .is_some()
        };
        if !found {
            errors.push(FieldError::new(reference.field, "does not exist"));
        }
    }
    Ok(errors)
}

fn audit_record(
    deps: &ConfigDeps<'_, impl Sized>,
    action: AuditAction,
    target: String,
    status: StatusCode,
) -> AuditRecord {
    AuditRecord::new(
        deps.context,
        action,
        Some(target),
        status.as_u16(),
        now_utc(),
    )
}

fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/admin/{collection}?limit&cursor`: one page in id order.
async fn list<T: ConfigEntity, U>(deps: &ConfigDeps<'_, U>, note: &mut AuditNote) -> Operation {
    let (limit, cursor) = page_parameters(deps.request)?;
    note.target = Some(T::PATH.to_owned());
    let page = deps
        .store
        .list(T::COLLECTION, limit, cursor)
        .await
        .map_err(|error| listing_failure(&format!("list {}", T::PATH), error))?;
    let now = now_utc();
    let items = page
        .items
        .into_iter()
        .map(|document| {
            serde_json::from_value::<T>(document)
                .map(|entity| entity.view(now))
                .map_err(|error| internal(&format!("read a stored {}", T::NOUN), &error))
        })
        .collect::<Result<Vec<_>, _>>()?;
    json(
        StatusCode::OK,
        &Page {
            items,
            next_cursor: page.next_cursor,
        },
    )
}

/// `GET /api/admin/{collection}/{id}`.
async fn get<T: ConfigEntity, U>(
    deps: &ConfigDeps<'_, U>,
    id: String,
    note: &mut AuditNote,
) -> Operation {
    if !is_valid_config_id(&id) {
        return Err(not_found::<T>());
    }
    note.target = Some(target::<T>(&id));
    let entity = load::<T>(deps.store, &id)
        .await?
        .ok_or_else(not_found::<T>)?;
    json(StatusCode::OK, &entity.view(now_utc()))
}

/// Parses and checks a body into `T`: 415/400/422.
async fn document_from_body<T: ConfigEntity, U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    path_id: Option<&str>,
) -> Result<T, Problem> {
    let mut body = json_object(deps.request)?;
    if let Some(path_id) = path_id {
        match body.get(T::ID_FIELD) {
            None => {
                body.insert(T::ID_FIELD.to_owned(), Value::String(path_id.to_owned()));
            }
            Some(Value::String(id)) if id == path_id => {}
            Some(_) => {
                return Err(Problem::unprocessable(vec![FieldError::new(
                    T::ID_FIELD,
                    "must be the id of the path (ids cannot be changed)",
                )]))
            }
        }
    }
    let document: T = parse_document(body).map_err(|error| Problem::unprocessable(vec![error]))?;
    let errors = document.validate();
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    check_references(deps, &document).await?;
    Ok(document)
}

fn stored<T: ConfigEntity>(document: &T) -> Result<Value, Problem> {
    serde_json::to_value(document).map_err(|error| internal("serialise a document", &error))
}

/// `POST /api/admin/{collection}`: 201 with the document and its `Location`.
async fn create<T: ConfigEntity, U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    note: &mut AuditNote,
) -> Operation {
    let document: T = document_from_body(deps, None).await?;
    let id = document.id().to_owned();
    note.target = Some(target::<T>(&id));
    let record = audit_record(
        deps,
        AuditAction::ConfigCreate,
        target::<T>(&id),
        StatusCode::CREATED,
    );
    let write = ConfigWrite::Create {
        collection: T::COLLECTION.to_owned(),
        id: id.clone(),
        document: stored(&document)?,
    };
    deps.store
        .write(&write, &record)
        .await
        .map_err(|error| write_failure::<T>(&format!("create a {}", T::NOUN), error))?;
    note.written = true;
    let mut response = json(StatusCode::CREATED, &document.view(now_utc()))?;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/admin/{}/{id}", T::PATH)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// 404 unless `id` names a stored document of `T`; a well-formed id becomes the audit target.
async fn require_existing<T: ConfigEntity, U>(
    deps: &ConfigDeps<'_, U>,
    id: &str,
    note: &mut AuditNote,
) -> Result<(), Problem> {
    if !is_valid_config_id(id) {
        return Err(not_found::<T>());
    }
    note.target = Some(target::<T>(id));
    let stored = deps
        .store
        .get(T::COLLECTION, id)
        .await
        .map_err(|error| internal("read a configuration document", &error))?;
    stored.map(|_| ()).ok_or_else(not_found::<T>)
}

/// `PUT /api/admin/{collection}/{id}`: replaces an existing document (the id cannot change).
async fn replace<T: ConfigEntity, U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    id: String,
    note: &mut AuditNote,
) -> Operation {
    require_existing::<T, U>(deps, &id, note).await?;
    let document: T = document_from_body(deps, Some(&id)).await?;
    let record = audit_record(
        deps,
        AuditAction::ConfigUpdate,
        target::<T>(&id),
        StatusCode::OK,
    );
    let write = ConfigWrite::Replace {
        collection: T::COLLECTION.to_owned(),
        id,
        document: stored(&document)?,
    };
    deps.store
        .write(&write, &record)
        .await
        .map_err(|error| write_failure::<T>(&format!("replace a {}", T::NOUN), error))?;
    note.written = true;
    json(StatusCode::OK, &document.view(now_utc()))
}

/// What still points at a document, as the 409 detail; `None` when it may be deleted.
async fn still_referenced<T: ConfigEntity>(
    store: &dyn ConfigStore,
    id: &str,
) -> Result<Option<(&'static str, String)>, Problem> {
    let points_at = |documents: Vec<Value>, field: &str| {
        documents
            .iter()
            .any(|document| document.get(field).and_then(Value::as_str) == Some(id))
    };
    let overflows_here = |documents: &[Value], field: &str| {
        documents.iter().any(|document| {
            document
                .get(field)
                .cloned()
                .and_then(|target| serde_json::from_value::<OverflowTarget>(target).ok())
                .is_some_and(
                    |target| matches!(target, OverflowTarget::Queue { queue_id } if queue_id == id),
                )
        })
    };
    if T::COLLECTION == Queue::COLLECTION {
        let members = store
            .list(&members_collection(id), PageLimit::DEFAULT, None)
            .await
            .map_err(|error| internal("list queue members", &error))?;
        if !members.items.is_empty() {
            return Ok(Some((
                "queue-has-members",
                "The queue still has members; remove them first.".to_owned(),
            )));
        }
        let queues = load_all(store, Queue::COLLECTION).await?;
        let lines = load_all(store, TransferLine::COLLECTION).await?;
        let ivr_uses_it = load_all(store, IvrTree::COLLECTION)
            .await?
            .into_iter()
            .filter_map(|document| serde_json::from_value::<IvrTree>(document).ok())
            .any(|tree| tree.references().iter().any(|reference| reference.id == id));
        if ivr_uses_it {
            return Ok(Some((
                "queue-in-use",
                "An IVR tree transfers calls to this queue.".to_owned(),
            )));
        }
        if overflows_here(&queues, "overflow") || overflows_here(&lines, "target") {
            return Ok(Some((
                "queue-in-use",
                "Another queue overflows to this queue or a transfer-panel line points at it."
                    .to_owned(),
            )));
        }
        if let Some(in_use) = routing::routing_uses(store, Queue::COLLECTION, id).await? {
            return Ok(Some(in_use));
        }
        if stored_chat_settings(store)
            .await?
            .queue_fields()
            .any(|(_, queue_id)| queue_id == id)
        {
            return Ok(Some((
                "queue-in-use",
                "The chat settings send a text channel to this queue.".to_owned(),
            )));
        }
    } else if T::COLLECTION == IvrTree::COLLECTION {
        if routing::overflows_to_ivr(&load_all(store, Queue::COLLECTION).await?, id) {
            return Ok(Some((
                "ivr-in-use",
                "A queue overflows to this IVR tree.".to_owned(),
            )));
        }
        if let Some(in_use) = routing::routing_uses(store, IvrTree::COLLECTION, id).await? {
            return Ok(Some(in_use));
        }
    } else if T::COLLECTION == TransferGroup::COLLECTION
        && points_at(load_all(store, TransferLine::COLLECTION).await?, "groupId")
    {
        return Ok(Some((
            "transfer-group-in-use",
            "Transfer-panel lines still belong to this group.".to_owned(),
        )));
    } else if T::COLLECTION == CallCategory::COLLECTION
        && points_at(load_all(store, CallCategory::COLLECTION).await?, "parentId")
    {
        return Ok(Some((
            "call-category-in-use",
            "Other categories still have this category as their parent.".to_owned(),
        )));
    }
    Ok(None)
}

/// `DELETE /api/admin/{collection}/{id}`: 204; 409 while other documents point at it.
async fn delete<T: ConfigEntity, U>(
    deps: &ConfigDeps<'_, U>,
    id: String,
    note: &mut AuditNote,
) -> Operation {
    require_existing::<T, U>(deps, &id, note).await?;
    if let Some((code, detail)) = still_referenced::<T>(deps.store, &id).await? {
        return Err(Problem::conflict(code, &detail));
    }
    let record = audit_record(
        deps,
        AuditAction::ConfigDelete,
        target::<T>(&id),
        StatusCode::NO_CONTENT,
    );
    let write = ConfigWrite::Delete {
        collection: T::COLLECTION.to_owned(),
        id: id.clone(),
    };
    deps.store
        .write(&write, &record)
        .await
        .map_err(|error| write_failure::<T>(&format!("delete a {}", T::NOUN), error))?;
    note.written = true;
    if T::COLLECTION == Queue::COLLECTION {
        routing::delete_queue_routing(deps, &id).await;
    }
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Queue members (ADM-7)
// ---------------------------------------------------------------------------------------------

fn member_not_found() -> Problem {
    Problem::not_found(
        "member-not-found",
        "This user is not a member of the queue.",
    )
}

/// The queue of a members route: 404 unless it exists.
async fn member_queue<U>(deps: &ConfigDeps<'_, U>, segment: &str) -> Result<String, Problem> {
    let queue_id = path_parameter(deps.request, "queueId", segment);
    if !is_valid_config_id(&queue_id) || load::<Queue>(deps.store, &queue_id).await?.is_none() {
        return Err(not_found::<Queue>());
    }
    Ok(queue_id)
}

/// `GET /api/admin/queues/{queueId}/members`: members in username order.
async fn list_members<U>(
    deps: &ConfigDeps<'_, U>,
    queue_segment: &str,
    note: &mut AuditNote,
) -> Operation {
    let (limit, cursor) = page_parameters(deps.request)?;
    let queue_id = member_queue(deps, queue_segment).await?;
    note.target = Some(format!("queues/{queue_id}/members"));
    let page = deps
        .store
        .list(&members_collection(&queue_id), limit, cursor)
        .await
        .map_err(|error| listing_failure("list queue members", error))?;
    let items = page
        .items
        .into_iter()
        .map(|document| {
            serde_json::from_value::<QueueMember>(document)
                .map_err(|error| internal("read a stored queue member", &error))
        })
        .collect::<Result<Vec<_>, _>>()?;
    json(
        StatusCode::OK,
        &Page {
            items,
            next_cursor: page.next_cursor,
        },
    )
}

/// `PUT /api/admin/queues/{queueId}/members/{username}`: adds the agent to the queue or
/// changes its skill level and priority.
async fn put_member<U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    queue_segment: &str,
    username_segment: &str,
    note: &mut AuditNote,
) -> Operation {
    let queue_id = member_queue(deps, queue_segment).await?;
    let username = path_parameter(deps.request, "username", username_segment);
    let body = json_object(deps.request)?;
    let settings =
        parse_member_settings(body).map_err(|error| Problem::unprocessable(vec![error]))?;
    let mut errors = settings.validate();
    let user_exists = is_valid_member_username(&username)
        && deps
            .users
            .get(&username)
            .await
            .map_err(|error| internal("read a user", &error))?
            .is_some();
    if !user_exists {
        errors.insert(0, FieldError::new("username", "is not a user"));
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let target = format!("queues/{queue_id}/members/{username}");
    note.target = Some(target.clone());
    let member = settings.into_member(queue_id.clone(), username.clone());
    let record = audit_record(deps, AuditAction::ConfigUpdate, target, StatusCode::OK)
        .with_detail("skillLevel", member.skill_level.to_string())
        .with_detail("priority", member.priority.to_string());
    let write = ConfigWrite::Upsert {
        collection: members_collection(&queue_id),
        id: username,
        document: serde_json::to_value(&member)
            .map_err(|error| internal("serialise a queue member", &error))?,
    };
    deps.store
        .write(&write, &record)
        .await
        .map_err(|error| match error {
            AdminError::Store(error) => internal("write a queue member", &error),
            _ => member_not_found(),
        })?;
    note.written = true;
    json(StatusCode::OK, &member)
}

/// `DELETE /api/admin/queues/{queueId}/members/{username}`.
async fn delete_member<U>(
    deps: &ConfigDeps<'_, U>,
    queue_segment: &str,
    username_segment: &str,
    note: &mut AuditNote,
) -> Operation {
    let queue_id = member_queue(deps, queue_segment).await?;
    let username = path_parameter(deps.request, "username", username_segment);
    if !is_valid_member_username(&username) {
        return Err(member_not_found());
    }
    let target = format!("queues/{queue_id}/members/{username}");
    note.target = Some(target.clone());
    let record = audit_record(
        deps,
        AuditAction::ConfigDelete,
        target,
        StatusCode::NO_CONTENT,
    );
    let write = ConfigWrite::Delete {
        collection: members_collection(&queue_id),
        id: username,
    };
    match deps.store.write(&write, &record).await {
        Ok(()) => {
            note.written = true;
            Ok(no_content())
        }
        Err(AdminError::Store(error)) => Err(internal("delete a queue member", &error)),
        Err(_) => Err(member_not_found()),
    }
}

// ---------------------------------------------------------------------------------------------
// Chat settings (CHAT-2, OMNI-1…3)
// ---------------------------------------------------------------------------------------------

/// The stored chat settings; the defaults (every field empty) until some are stored.
async fn stored_chat_settings(store: &dyn ConfigStore) -> Result<ChatSettings, Problem> {
    match store.get(SETTINGS_COLLECTION, CHAT_SETTINGS_ID).await {
        Ok(Some(document)) => serde_json::from_value::<ChatSettings>(document)
            .map_err(|error| internal("read the stored chat settings", &error)),
        Ok(None) => Ok(ChatSettings::default()),
        Err(error) => Err(internal("read the chat settings", &error)),
    }
}

/// `GET /api/admin/settings/chat`: every field null until set (the deployment's defaults).
async fn get_chat_settings<U>(deps: &ConfigDeps<'_, U>) -> Operation {
    json(StatusCode::OK, &stored_chat_settings(deps.store).await?)
}

/// `PUT /api/admin/settings/chat`: the queue of each text channel and the per-agent limit;
/// every queue named must exist.
async fn put_chat_settings<U>(deps: &ConfigDeps<'_, U>, note: &mut AuditNote) -> Operation {
    let body = json_object(deps.request)?;
    let settings =
        parse_chat_settings(body).map_err(|error| Problem::unprocessable(vec![error]))?;
    let mut errors = settings.validate();
    if errors.is_empty() {
        for (field, queue_id) in settings.queue_fields() {
            let exists = deps
                .store
                .get(Queue::COLLECTION, queue_id)
                .await
                .map_err(|error| internal("read a queue", &error))?
                .is_some();
            if !exists {
                errors.push(FieldError::new(
                    field,
                    format!("there is no queue {queue_id}"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let target = "settings/chat".to_owned();
    note.target = Some(target.clone());
    let record = audit_record(deps, AuditAction::ConfigUpdate, target, StatusCode::OK);
    let write = ConfigWrite::Upsert {
        collection: SETTINGS_COLLECTION.to_owned(),
        id: CHAT_SETTINGS_ID.to_owned(),
        document: serde_json::to_value(&settings)
            .map_err(|error| internal("serialise the chat settings", &error))?,
    };
    deps.store
        .write(&write, &record)
        .await
        .map_err(|error| match error {
            AdminError::Store(error) => internal("write the chat settings", &error),
            other => internal("write the chat settings", &other),
        })?;
    note.written = true;
    json(StatusCode::OK, &settings)
}

// ---------------------------------------------------------------------------------------------
// ICIS link (CHAT-5)
// ---------------------------------------------------------------------------------------------

/// `GET /api/admin/settings/icis-link`: `{"urlTemplate": null}` until one is set.
async fn get_icis_link<U>(deps: &ConfigDeps<'_, U>) -> Operation {
    let link = match deps.store.get(SETTINGS_COLLECTION, ICIS_LINK_ID).await {
        Ok(Some(document)) => serde_json::from_value::<IcisLink>(document)
            .map_err(|error| internal("read the stored ICIS link", &error))?,
        Ok(None) => IcisLink::default(),
        Err(error) => return Err(internal("read the ICIS link", &error)),
    };
    json(StatusCode::OK, &link)
}

/// `PUT /api/admin/settings/icis-link`.
async fn put_icis_link<U>(deps: &ConfigDeps<'_, U>, note: &mut AuditNote) -> Operation {
    let body = json_object(deps.request)?;
    let link = parse_icis_link(body).map_err(|error| Problem::unprocessable(vec![error]))?;
    let errors = link.validate();
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let target = "settings/icis-link".to_owned();
    note.target = Some(target.clone());
    let record = audit_record(deps, AuditAction::ConfigUpdate, target, StatusCode::OK);
    let write = ConfigWrite::Upsert {
        collection: SETTINGS_COLLECTION.to_owned(),
        id: ICIS_LINK_ID.to_owned(),
        document: serde_json::to_value(&link)
            .map_err(|error| internal("serialise the ICIS link", &error))?,
    };
    deps.store
        .write(&write, &record)
        .await
        .map_err(|error| match error {
            AdminError::Store(error) => internal("write the ICIS link", &error),
            other => internal("write the ICIS link", &other),
        })?;
    note.written = true;
    json(StatusCode::OK, &link)
}
