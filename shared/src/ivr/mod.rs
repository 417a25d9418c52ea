//! IVR trees as data (IN-6, IN-10 … IN-13): the document model, its validator and a pure,
//! step-by-step interpreter. The PBX plays prompts and holds the caller; the cloud decides.
//!
//! - [`model`]: an [`IvrTree`] is a JSON document (`ivrId`, `name`, `entryNode`, `nodes` keyed by
//!   node id, optional `generalAnnouncement`) with nodes tagged by `kind`: `prompt`, `menu`,
//!   `collectDigits`, `branchHours`, `branchStatistic`, `branchClientStatus`, `setAttribute`,
//!   `transferToQueue`, `transferToNumber`, `voicemail`, `callbackOffer`, `announcePosition`,
//!   `hangup`. Trees are one more [`ConfigEntity`] collection (`ivr`), unlimited in number.
//! - [`validate`]: [`validate_tree`] names each problem with a JSON path
//!   (`nodes.hlavni-menu.options.3`): dangling and unreachable nodes, loops without exit, loops of
//!   branches only, ranges, keys, prompt texts, ids. Queue references are returned for the caller
//!   to check against storage ([`ConfigEntity::references`]).
//! - [`interpreter`]: [`step`] takes the tree, the call's [`IvrSession`], one [`IvrInput`] from the
//!   PBX and an [`IvrEnv`] (time, queue hours and statistics, client status) and returns the new
//!   session and the [`IvrAction`] to command. No I/O.
//!
//! The general-problem announcement (IN-6) is a tree-level flag: while `active`, the interpreter
//! plays it before the entry node.

pub mod interpreter;
pub mod model;
pub mod validate;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::admin_config::{parse_document, ConfigEntity, Queue, Reference};
use crate::problem::FieldError;

pub use interpreter::{
    start_at, step, Collect, HangupReason, IvrAction, IvrEnv, IvrInput, IvrSession, Phase,
    QueueStats, TransferTarget, MAX_STEPS,
};
pub use model::{
    Comparison, DigitValidation, GeneralAnnouncement, IvrTree, Node, PromptRef, QueueStatistic,
    MAX_NODES,
};
pub use validate::{queue_references, validate_tree};

/// Ids a tree cannot have: they are paths of their own under `/api/admin/ivrs/`.
pub const RESERVED_IVR_IDS: &[&str] = &["validate"];

impl ConfigEntity for IvrTree {
    const COLLECTION: &'static str = crate::admin_config::IVR_COLLECTION;
    const ID_FIELD: &'static str = "ivrId";
    const NOUN: &'static str = "ivr";
    const PATH: &'static str = "ivrs";

    fn id(&self) -> &str {
        &self.ivr_id
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = validate_tree(self);
        if RESERVED_IVR_IDS.contains(&self.ivr_id.as_str()) {
            errors.insert(
                0,
                FieldError::new("ivrId", "is reserved (the path /api/admin/ivrs/validate)"),
            );
        }
        errors
    }

    fn references(&self) -> Vec<Reference> {
        queue_references(self)
            .into_iter()
            .map(|(queue_id, field)| Reference {
                collection: Queue::COLLECTION.to_owned(),
                id: queue_id,
                field,
                is_user: false,
            })
            .collect()
    }
}

/// Parses a tree from a JSON body, naming the offending field on failure (e.g.
/// `nodes.hlavni-menu.kind`).
pub fn parse_tree(body: Map<String, Value>) -> Result<IvrTree, FieldError> {
    parse_document(body)
}
