//! The routing settings under `/api/admin/` (IN-1, IN-4, IN-9, IN-17, IN-18, ADM-4): a queue's
//! routing settings (`queues/{queueId}/routing`), the inbound routing plan (`routing/plan`), the
//! PBX device map (`routing/devices`), and the check of an IVR tree without storing it
//! (`ivrs/validate`). Admin only, like the rest of the configuration; each write goes into one
//! transaction with its audit record.
//!
//! Storage and shapes: `linka_shared::routing_settings` (collections `queueRouting` and
//! `routingSettings`), read by the routing function through `ConfigStore::get`.

use lambda_http::http::StatusCode;
use linka_shared::{
    admin_config::{ConfigEntity, Queue, Reference, IVR_COLLECTION},
    audit::AuditAction,
    ivr::{parse_tree, IvrTree},
    ports::{AdminError, ConfigStore, ConfigWrite, UserDirectory},
    problem::{FieldError, Problem},
    routing::InboundPlan,
    routing_settings::{
        parse_queue_routing, parse_strict, plan_ivr_nodes, plan_references, validate_plan,
        QueueRoutingSettings, RoutingDevices, DEVICES_ID, PLAN_ID, QUEUE_ROUTING_COLLECTION,
        ROUTING_SETTINGS_COLLECTION,
    },
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use super::{audit_record, load, member_queue, missing_references, ConfigDeps};
use crate::handler::{internal, json, json_object, AuditNote, Operation};

/// A singleton of `routingSettings`, or its default when none is stored.
async fn load_setting<T: DeserializeOwned + Default>(
    store: &dyn ConfigStore,
    id: &str,
    what: &str,
) -> Result<T, Problem> {
    match store.get(ROUTING_SETTINGS_COLLECTION, id).await {
        Ok(Some(document)) => serde_json::from_value(document)
            .map_err(|error| internal(&format!("read the stored {what}"), &error)),
        Ok(None) => Ok(T::default()),
        Err(error) => Err(internal(&format!("read the {what}"), &error)),
    }
}

/// Stores `document` as `collection/id` (created or replaced) with its `config.update` record.
async fn upsert<U, T: Serialize>(
    deps: &ConfigDeps<'_, U>,
    collection: &str,
    id: &str,
    document: &T,
    target: String,
    note: &mut AuditNote,
) -> Result<(), Problem> {
    note.target = Some(target.clone());
    let record = audit_record(deps, AuditAction::ConfigUpdate, target, StatusCode::OK);
    let write = ConfigWrite::Upsert {
        collection: collection.to_owned(),
        id: id.to_owned(),
        document: serde_json::to_value(document)
            .map_err(|error| internal("serialise a routing setting", &error))?,
    };
    deps.store
        .write(&write, &record)
        .await
        .map_err(|error| match error {
            AdminError::Store(error) => internal("write a routing setting", &error),
            other => internal("write a routing setting", &other),
        })?;
    note.written = true;
    Ok(())
}

/// 422 with `errors` followed by the references that point nowhere; `Ok` when there are none.
async fn refuse_unless_clean<U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    mut errors: Vec<FieldError>,
    references: Vec<Reference>,
) -> Result<(), Problem> {
    if errors.is_empty() {
        errors = missing_references(deps, references).await?;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::unprocessable(errors))
    }
}

// ---------------------------------------------------------------------------------------------
// A queue's routing settings
// ---------------------------------------------------------------------------------------------

/// `GET /api/admin/queues/{queueId}/routing`: the stored settings, else the defaults.
pub(super) async fn get_queue_routing<U>(
    deps: &ConfigDeps<'_, U>,
    queue_segment: &str,
    note: &mut AuditNote,
) -> Operation {
    let queue_id = member_queue(deps, queue_segment).await?;
    note.target = Some(format!("queues/{queue_id}/routing"));
    let settings = match deps.store.get(QUEUE_ROUTING_COLLECTION, &queue_id).await {
        Ok(Some(document)) => QueueRoutingSettings {
            queue_id: queue_id.clone(),
            routing: serde_json::from_value(document)
                .map_err(|error| internal("read stored queue routing settings", &error))?,
        },
        Ok(None) => QueueRoutingSettings::defaults(&queue_id),
        Err(error) => return Err(internal("read queue routing settings", &error)),
    };
    json(StatusCode::OK, &settings)
}

/// `PUT /api/admin/queues/{queueId}/routing`: replaces the settings whole (omitted fields take
/// their defaults).
pub(super) async fn put_queue_routing<U>(
    deps: &ConfigDeps<'_, U>,
    queue_segment: &str,
    note: &mut AuditNote,
) -> Operation {
    let queue_id = member_queue(deps, queue_segment).await?;
    let body = json_object(deps.request)?;
    let settings = parse_queue_routing(&queue_id, body).map_err(Problem::unprocessable)?;
    let errors = settings.validate();
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    upsert(
        deps,
        QUEUE_ROUTING_COLLECTION,
        &queue_id,
        &settings,
        format!("queues/{queue_id}/routing"),
        note,
    )
    .await?;
    json(StatusCode::OK, &settings)
}

/// After a queue is deleted: deletes its routing settings too, with their own `config.delete`
/// record. `ConfigStore::write` takes one document per transaction, so this is a second
/// transaction; should it fail, the settings stay behind (harmless: nothing reads the settings
/// of a queue that does not exist, and they are logged) and a queue created again with the same
/// id would find them.
pub(super) async fn delete_queue_routing<U>(deps: &ConfigDeps<'_, U>, queue_id: &str) {
    let target = format!("queues/{queue_id}/routing");
    let record = audit_record(
        deps,
        AuditAction::ConfigDelete,
        target,
        StatusCode::NO_CONTENT,
    );
    let write = ConfigWrite::Delete {
        collection: QUEUE_ROUTING_COLLECTION.to_owned(),
        id: queue_id.to_owned(),
    };
    match deps.store.write(&write, &record).await {
        Ok(()) | Err(AdminError::NotFound) => {}
        Err(error) => tracing::warn!(
            queue_id,
            error.message = %error,
            "the routing settings of a deleted queue were left behind"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The inbound routing plan
// ---------------------------------------------------------------------------------------------

/// `GET /api/admin/routing/plan`: the stored plan, else the empty default plan.
pub(super) async fn get_plan<U>(deps: &ConfigDeps<'_, U>, note: &mut AuditNote) -> Operation {
    note.target = Some("routing/plan".to_owned());
    let plan: InboundPlan = load_setting(deps.store, PLAN_ID, "routing plan").await?;
    json(StatusCode::OK, &plan)
}

/// `PUT /api/admin/routing/plan`: replaces the plan whole. Queues, IVR trees (and their start
/// nodes) and agents it names must exist.
pub(super) async fn put_plan<U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    note: &mut AuditNote,
) -> Operation {
    let body = json_object(deps.request)?;
    let plan: InboundPlan = parse_strict(body).map_err(Problem::unprocessable)?;
    refuse_unless_clean(deps, validate_plan(&plan), plan_references(&plan)).await?;
    let mut errors = Vec::new();
    for (ivr_id, node, field) in plan_ivr_nodes(&plan) {
        let tree = load::<IvrTree>(deps.store, &ivr_id).await?;
        if tree.is_some_and(|tree| !tree.nodes.contains_key(&node)) {
            errors.push(FieldError::new(field, "is not a node of this IVR tree"));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    upsert(
        deps,
        ROUTING_SETTINGS_COLLECTION,
        PLAN_ID,
        &plan,
        "routing/plan".to_owned(),
        note,
    )
    .await?;
    json(StatusCode::OK, &plan)
}

// ---------------------------------------------------------------------------------------------
// The PBX device map
// ---------------------------------------------------------------------------------------------

/// `GET /api/admin/routing/devices`: the stored map, else an empty one.
pub(super) async fn get_devices<U>(deps: &ConfigDeps<'_, U>, note: &mut AuditNote) -> Operation {
    note.target = Some("routing/devices".to_owned());
    let devices: RoutingDevices = load_setting(deps.store, DEVICES_ID, "device map").await?;
    json(StatusCode::OK, &devices)
}

/// `PUT /api/admin/routing/devices`: replaces the map whole; its queues and IVR trees must exist.
pub(super) async fn put_devices<U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    note: &mut AuditNote,
) -> Operation {
    let body = json_object(deps.request)?;
    let devices: RoutingDevices = parse_strict(body).map_err(Problem::unprocessable)?;
    refuse_unless_clean(deps, devices.validate(), devices.references()).await?;
    upsert(
        deps,
        ROUTING_SETTINGS_COLLECTION,
        DEVICES_ID,
        &devices,
        "routing/devices".to_owned(),
        note,
    )
    .await?;
    json(StatusCode::OK, &devices)
}

// ---------------------------------------------------------------------------------------------
// Checking an IVR tree
// ---------------------------------------------------------------------------------------------

/// The answer of `POST /api/admin/ivrs/validate`.
#[derive(Debug, Serialize)]
struct IvrValidation {
    valid: bool,
    problems: Vec<FieldError>,
}

/// `POST /api/admin/ivrs/validate`: the problems a create would refuse the tree for (parse,
/// [`linka_shared::ivr::validate_tree`], queues that do not exist), as 200. Only a body that is
/// not JSON (400), not `application/json` (415) or too large (413) is refused.
pub(super) async fn validate_ivr<U: UserDirectory>(
    deps: &ConfigDeps<'_, U>,
    note: &mut AuditNote,
) -> Operation {
    note.target = Some("ivrs/validate".to_owned());
    let problems = match json_object(deps.request) {
        Ok(body) => match parse_tree(body) {
            Ok(tree) => {
                let errors = tree.validate();
                if errors.is_empty() {
                    missing_references(deps, tree.references()).await?
                } else {
                    errors
                }
            }
            Err(error) => vec![error],
        },
        // A JSON value that is not an object.
        Err(problem) if problem.status == StatusCode::UNPROCESSABLE_ENTITY.as_u16() => {
            problem.errors.into_vec()
        }
        Err(problem) => return Err(problem),
    };
    json(
        StatusCode::OK,
        &IvrValidation {
            valid: problems.is_empty(),
            problems,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Delete protection
// ---------------------------------------------------------------------------------------------

/// What in the routing settings still points at a queue or an IVR tree, as the 409 code and
/// detail; `None` when nothing does.
pub(super) async fn routing_uses(
    store: &dyn ConfigStore,
    collection: &str,
    id: &str,
) -> Result<Option<(&'static str, String)>, Problem> {
    let (code, noun) = if collection == Queue::COLLECTION {
        ("queue-in-use", "queue")
    } else if collection == IVR_COLLECTION {
        ("ivr-in-use", "IVR tree")
    } else {
        return Ok(None);
    };
    let plan: InboundPlan = load_setting(store, PLAN_ID, "routing plan").await?;
    let in_plan = plan_references(&plan)
        .iter()
        .any(|reference| reference.collection == collection && reference.id == id);
    if in_plan {
        return Ok(Some((
            code,
            format!("The inbound routing plan sends calls to this {noun}; change the plan first."),
        )));
    }
    let devices: RoutingDevices = load_setting(store, DEVICES_ID, "device map").await?;
    let mapped = if collection == Queue::COLLECTION {
        devices.queues.contains_key(id)
    } else {
        devices.ivrs.contains_key(id)
    };
    if mapped {
        return Ok(Some((
            code,
            format!(
                "The routing device map has a PBX device for this {noun}; remove it there first."
            ),
        )));
    }
    Ok(None)
}

/// Whether a stored queue overflows to the IVR tree `ivr_id`.
pub(super) fn overflows_to_ivr(queues: &[Value], ivr_id: &str) -> bool {
    queues.iter().any(|document| {
        document
            .get("overflow")
            .and_then(|target| target.get("ivrId"))
            .and_then(Value::as_str)
            == Some(ivr_id)
            && document
                .get("overflow")
                .and_then(|target| target.get("kind"))
                .and_then(Value::as_str)
                == Some("ivr")
    })
}
