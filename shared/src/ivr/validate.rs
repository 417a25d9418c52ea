//! The rules a tree must pass before it is stored; each problem names its field with a JSON path
//! such as `nodes.hlavni-menu.options.3`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::admin_config::{is_valid_config_id, MAX_NAME_CHARS};
use crate::problem::FieldError;
use crate::queues::is_e164;

use super::model::{
    DigitValidation, IvrTree, Node, PromptRef, MAX_ATTRIBUTE_VALUE_CHARS, MAX_COLLECT_DIGITS,
    MAX_NODES, MAX_TTS_CHARS,
};

/// Timeouts (seconds) a menu, a digit collection or a callback offer may wait.
pub const TIMEOUT_SECONDS: (u32, u32) = (1, 60);

/// Attempts a menu, a digit collection or a callback time entry may allow.
pub const ATTEMPTS: (u32, u32) = (1, 9);

/// Longest voicemail message, seconds.
pub const VOICEMAIL_SECONDS: (u32, u32) = (10, 600);

/// Longest storage key of an uploaded prompt.
pub const MAX_AUDIO_KEY_CHARS: usize = 200;

/// The keys of a phone keypad.
pub const DTMF_KEYS: &str = "0123456789*#";

/// An attribute name: `^[a-z][a-zA-Z0-9]{0,39}$` (e.g. `problem`, `insuranceNumber`).
pub fn is_valid_attribute_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=40).contains(&bytes.len())
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.iter().all(u8::is_ascii_alphanumeric)
}

/// A client status code: `^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$` (e.g. `VIP`, `dluznik`).
pub fn is_valid_status(status: &str) -> bool {
    let bytes = status.as_bytes();
    (1..=40).contains(&bytes.len())
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// One DTMF key.
pub fn is_dtmf_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if DTMF_KEYS.contains(c))
}

/// Every problem with the tree; empty when it may be stored.
pub fn validate_tree(tree: &IvrTree) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !is_valid_config_id(&tree.ivr_id) {
        errors.push(FieldError::new(
            "ivrId",
            "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit",
        ));
    }
    check_text(&mut errors, "name", &tree.name, MAX_NAME_CHARS);
    if let Some(announcement) = &tree.general_announcement {
        check_prompt(
            &mut errors,
            "generalAnnouncement.prompt",
            &announcement.prompt,
        );
    }
    if let Some(queue_id) = &tree.lost_calls_queue_id {
        if !is_valid_config_id(queue_id) {
            errors.push(FieldError::new("lostCallsQueueId", "must be a queue id"));
        }
    }
    if tree.nodes.is_empty() {
        errors.push(FieldError::new("nodes", "must hold at least one node"));
    } else if tree.nodes.len() > MAX_NODES {
        errors.push(FieldError::new(
            "nodes",
            format!("must hold at most {MAX_NODES} nodes"),
        ));
        // The graph checks are not worth running on an oversized document.
        return errors;
    }
    if !tree.nodes.contains_key(&tree.entry_node) {
        errors.push(FieldError::new(
            "entryNode",
            format!("refers to node `{}`, which does not exist", tree.entry_node),
        ));
    }
    for (id, node) in &tree.nodes {
        let path = format!("nodes.{id}");
        if !is_valid_config_id(id) {
            errors.push(FieldError::new(
                &path,
                "node id must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit",
            ));
        }
        check_node(&mut errors, &path, id, node);
        for (field, target) in node.edges() {
            if !tree.nodes.contains_key(target) {
                errors.push(FieldError::new(
                    format!("{path}.{field}"),
                    format!("refers to node `{target}`, which does not exist"),
                ));
            }
        }
    }
    check_graph(&mut errors, tree);
    errors
}

/// The queues a tree points at: `(queueId, field)`, each of which must exist.
pub fn queue_references(tree: &IvrTree) -> Vec<(String, String)> {
    let mut references = Vec::new();
    for (id, node) in &tree.nodes {
        let queue = match node {
            Node::BranchHours {
                queue_id: Some(queue_id),
                ..
            }
            | Node::BranchStatistic { queue_id, .. }
            | Node::TransferToQueue { queue_id, .. }
            | Node::Voicemail { queue_id, .. }
            | Node::CallbackOffer { queue_id, .. }
            | Node::AnnouncePosition { queue_id, .. } => queue_id,
            _ => continue,
        };
        references.push((queue.clone(), format!("nodes.{id}.queueId")));
    }
    if let Some(queue_id) = &tree.lost_calls_queue_id {
        references.push((queue_id.clone(), "lostCallsQueueId".to_owned()));
    }
    references
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, text: &str, max_chars: usize) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if text.chars().count() > max_chars {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    } else if text.chars().any(char::is_control) || trimmed.len() != text.len() {
        errors.push(FieldError::new(
            field,
            "must not contain control characters or leading/trailing spaces",
        ));
    }
}

fn check_range(errors: &mut Vec<FieldError>, field: String, value: u32, (min, max): (u32, u32)) {
    if !(min..=max).contains(&value) {
        errors.push(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
}

fn check_queue_id(errors: &mut Vec<FieldError>, path: &str, queue_id: &str) {
    if !is_valid_config_id(queue_id) {
        errors.push(FieldError::new(
            format!("{path}.queueId"),
            "must be a queue id",
        ));
    }
}

fn check_prompt(errors: &mut Vec<FieldError>, path: &str, prompt: &PromptRef) {
    match prompt {
        PromptRef::Audio { key } => {
            let ok = (1..=MAX_AUDIO_KEY_CHARS).contains(&key.len())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
                && !key.starts_with('/')
                && !key.split('/').any(|part| part.is_empty() || part == "..");
            if !ok {
                errors.push(FieldError::new(
                    format!("{path}.key"),
                    "must be a storage key of at most 200 letters, digits, '.', '_', '-' and '/'",
                ));
            }
        }
        PromptRef::Tts { text, voice } => {
            let field = format!("{path}.text");
            if text.trim().is_empty() {
                errors.push(FieldError::new(field, "is required"));
            } else if text.chars().count() > MAX_TTS_CHARS {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {MAX_TTS_CHARS} characters"),
                ));
            } else if text.chars().any(|c| c.is_control() && c != '\n') {
                errors.push(FieldError::new(
                    field,
                    "must not contain control characters other than line breaks",
                ));
            }
            if let Some(voice) = voice {
                let ok = (1..=50).contains(&voice.len())
                    && voice
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !ok {
                    errors.push(FieldError::new(
                        format!("{path}.voice"),
                        "must be a voice name such as cs-CZ-Standard-A",
                    ));
                }
            }
        }
    }
}

fn check_not_self(errors: &mut Vec<FieldError>, path: &str, field: &str, id: &str, target: &str) {
    if target == id {
        errors.push(FieldError::new(
            format!("{path}.{field}"),
            "must lead out of this node, not back to it",
        ));
    }
}

fn check_node(errors: &mut Vec<FieldError>, path: &str, id: &str, node: &Node) {
    let field = |name: &str| format!("{path}.{name}");
    match node {
        Node::Prompt { prompt, .. } => check_prompt(errors, &field("prompt"), prompt),
        Node::Menu {
            prompt,
            options,
            timeout_seconds,
            max_attempts,
            on_exhausted,
            ..
        } => {
            check_prompt(errors, &field("prompt"), prompt);
            if options.is_empty() {
                errors.push(FieldError::new(
                    field("options"),
                    "must offer at least one key",
                ));
            }
            for key in options.keys() {
                if !is_dtmf_key(key) {
                    errors.push(FieldError::new(
                        field(&format!("options.{key}")),
                        "must be one key: 0 to 9, * or #",
                    ));
                }
            }
            check_range(
                errors,
                field("timeoutSeconds"),
                *timeout_seconds,
                TIMEOUT_SECONDS,
            );
            check_range(errors, field("maxAttempts"), *max_attempts, ATTEMPTS);
            check_not_self(errors, path, "onExhausted", id, on_exhausted);
        }
        Node::CollectDigits {
            prompt,
            min_digits,
            max_digits,
            terminator,
            timeout_seconds,
            validation,
            attribute,
            max_attempts,
            on_exhausted,
            ..
        } => {
            check_prompt(errors, &field("prompt"), prompt);
            check_range(
                errors,
                field("minDigits"),
                *min_digits,
                (1, MAX_COLLECT_DIGITS),
            );
            if !(*min_digits..=MAX_COLLECT_DIGITS).contains(max_digits) {
                errors.push(FieldError::new(
                    field("maxDigits"),
                    format!("must be between minDigits and {MAX_COLLECT_DIGITS}"),
                ));
            }
            let (longest_short, shortest_long) = match validation {
                DigitValidation::InsuranceNumber | DigitValidation::BirthNumber => (9, 10),
                DigitValidation::Phone => (9, 9),
                DigitValidation::None | DigitValidation::Digits => (MAX_COLLECT_DIGITS, 1),
            };
            if *min_digits > longest_short {
                errors.push(FieldError::new(
                    field("minDigits"),
                    format!("must be at most {longest_short} for this validation"),
                ));
            }
            if *max_digits < shortest_long {
                errors.push(FieldError::new(
                    field("maxDigits"),
                    format!("must be at least {shortest_long} for this validation"),
                ));
            }
            if let Some(terminator) = terminator {
                if !matches!(terminator, '#' | '*') {
                    errors.push(FieldError::new(field("terminator"), "must be # or *"));
                }
            }
            check_range(
                errors,
                field("timeoutSeconds"),
                *timeout_seconds,
                TIMEOUT_SECONDS,
            );
            check_range(errors, field("maxAttempts"), *max_attempts, ATTEMPTS);
            if !is_valid_attribute_name(attribute) {
                errors.push(FieldError::new(
                    field("attribute"),
                    "must be an attribute name such as insuranceNumber",
                ));
            }
            check_not_self(errors, path, "onExhausted", id, on_exhausted);
        }
        Node::BranchHours {
            queue_id, schedule, ..
        } => match (queue_id, schedule) {
            (Some(queue_id), None) => check_queue_id(errors, path, queue_id),
            (None, Some(schedule)) => {
                errors.extend(schedule.validate().into_iter().map(|error| {
                    FieldError::new(field(&format!("schedule.{}", error.field)), error.message)
                }));
            }
            _ => errors.push(FieldError::new(
                field("queueId"),
                "exactly one of queueId and schedule is required",
            )),
        },
        Node::BranchStatistic { queue_id, .. } | Node::AnnouncePosition { queue_id, .. } => {
            check_queue_id(errors, path, queue_id);
        }
        Node::BranchClientStatus { statuses, .. } => {
            if statuses.is_empty() {
                errors.push(FieldError::new(
                    field("statuses"),
                    "must list at least one status",
                ));
            }
            let mut seen = BTreeSet::new();
            for status in statuses.keys() {
                let message = if !is_valid_status(status) {
                    "must be a status code such as VIP: letters, digits, '-' or '_'"
                } else if !seen.insert(status.to_ascii_lowercase()) {
                    "repeats another status (statuses match ignoring case)"
                } else {
                    continue;
                };
                errors.push(FieldError::new(
                    field(&format!("statuses.{status}")),
                    message,
                ));
            }
        }
        Node::SetAttribute { name, value, .. } => {
            if !is_valid_attribute_name(name) {
                errors.push(FieldError::new(
                    field("name"),
                    "must be an attribute name such as problem or campaign",
                ));
            }
            check_text(errors, &field("value"), value, MAX_ATTRIBUTE_VALUE_CHARS);
        }
        Node::TransferToQueue { queue_id, priority } => {
            check_queue_id(errors, path, queue_id);
            if let Some(priority) = priority {
                check_range(errors, field("priority"), (*priority).into(), (1, 10));
            }
        }
        Node::TransferToNumber { number } => {
            let extension =
                (1..=8).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
            if !extension && !is_e164(number) {
                errors.push(FieldError::new(
                    field("number"),
                    "must be an extension (1 to 8 digits) or an E.164 number such as +420601123456",
                ));
            }
        }
        Node::Voicemail {
            queue_id,
            greeting,
            max_seconds,
        } => {
            check_queue_id(errors, path, queue_id);
            check_prompt(errors, &field("greeting"), greeting);
            check_range(errors, field("maxSeconds"), *max_seconds, VOICEMAIL_SECONDS);
        }
        Node::CallbackOffer {
            queue_id,
            prompt,
            accept_digit,
            allow_chosen_time,
            time_prompt,
            timeout_seconds,
            max_attempts,
            accepted,
            declined,
        } => {
            check_queue_id(errors, path, queue_id);
            check_prompt(errors, &field("prompt"), prompt);
            if !is_dtmf_key(accept_digit) {
                errors.push(FieldError::new(
                    field("acceptDigit"),
                    "must be one key: 0 to 9, * or #",
                ));
            }
            match (allow_chosen_time, time_prompt) {
                (true, None) => errors.push(FieldError::new(
                    field("timePrompt"),
                    "is required when allowChosenTime is true",
                )),
                (_, Some(time_prompt)) => check_prompt(errors, &field("timePrompt"), time_prompt),
                (false, None) => {}
            }
            check_range(
                errors,
                field("timeoutSeconds"),
                *timeout_seconds,
                TIMEOUT_SECONDS,
            );
            check_range(errors, field("maxAttempts"), *max_attempts, ATTEMPTS);
            if let Some(accepted) = accepted {
                check_not_self(errors, path, "accepted", id, accepted);
            }
            check_not_self(errors, path, "declined", id, declined);
        }
        Node::Hangup { prompt } => {
            if let Some(prompt) = prompt {
                check_prompt(errors, &field("prompt"), prompt);
            }
        }
    }
}

/// Reachability from the entry, a way out from every reachable node, and no loop of branches and
/// attributes only. Edges to missing nodes are ignored here (reported as dangling above).
fn check_graph(errors: &mut Vec<FieldError>, tree: &IvrTree) {
    let successors: BTreeMap<&str, Vec<&str>> = tree
        .nodes
        .iter()
        .map(|(id, node)| {
            let targets = node
                .edges()
                .into_iter()
                .map(|(_, target)| target)
                .filter(|target| tree.nodes.contains_key(*target))
                .collect();
            (id.as_str(), targets)
        })
        .collect();

    let reachable: BTreeSet<&str> = if tree.nodes.contains_key(&tree.entry_node) {
        let reachable = closure(&successors, [tree.entry_node.as_str()]);
        for id in tree.nodes.keys() {
            if !reachable.contains(id.as_str()) {
                errors.push(FieldError::new(
                    format!("nodes.{id}"),
                    "is not reachable from entryNode",
                ));
            }
        }
        reachable
    } else {
        BTreeSet::new()
    };

    // Nodes that can reach an exit: the closure of the exits over the reversed edges.
    let mut predecessors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, targets) in &successors {
        for to in targets {
            predecessors.entry(to).or_default().push(from);
        }
    }
    let exits = tree
        .nodes
        .iter()
        .filter(|(_, node)| node.is_exit())
        .map(|(id, _)| id.as_str());
    let can_exit = closure(&predecessors, exits);
    for id in &reachable {
        if !can_exit.contains(id) {
            errors.push(FieldError::new(
                format!("nodes.{id}"),
                "is in (or leads only into) a loop without exit: no path reaches a transfer, \
                 voicemail, callback or hangup",
            ));
        }
    }

    // Loops of instant nodes: the interpreter would spin without playing or waiting.
    let instant: BTreeMap<&str, Vec<&str>> = tree
        .nodes
        .iter()
        .filter(|(_, node)| node.is_instant())
        .map(|(id, _)| {
            let targets = successors
                .get(id.as_str())
                .map(|targets| {
                    targets
                        .iter()
                        .copied()
                        .filter(|target| tree.nodes.get(*target).is_some_and(Node::is_instant))
                        .collect()
                })
                .unwrap_or_default();
            (id.as_str(), targets)
        })
        .collect();
    for (id, targets) in &instant {
        if closure(&instant, targets.iter().copied()).contains(id) {
            errors.push(FieldError::new(
                format!("nodes.{id}"),
                "loops through branches and attributes only: the call would never play or wait \
                 for anything",
            ));
        }
    }
}

/// Every node reachable from `start` (included) over `edges`.
fn closure<'a>(
    edges: &BTreeMap<&'a str, Vec<&'a str>>,
    start: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for node in start {
        if seen.insert(node) {
            queue.push_back(node);
        }
    }
    while let Some(node) = queue.pop_front() {
        for next in edges.get(node).into_iter().flatten() {
            if seen.insert(next) {
                queue.push_back(next);
            }
        }
    }
    seen
}
