//! IVR prompt recordings under `/api/admin/prompts` (IN-6, IN-10): list, upload (`audio/wav`,
//! checked by [`validate_wav`]), preview through a presigned URL, delete (refused while an IVR
//! tree plays the recording), and a TTS preview that synthesizes through the same resolver the
//! IVR runtime uses. Admin only, like the rest of the configuration.
//!
//! The recordings live in `PromptsBucket`, not in `ConfigTable`, so a write cannot share a
//! transaction with its audit record: the record is written after the operation, as for the
//! routes that do not write configuration documents (a 503 `audit-unavailable` then means the
//! change happened but could not be recorded; the failure is logged).

use lambda_http::{
    http::{header, StatusCode},
    Request,
};
use linka_shared::{
    admin_config::IVR_COLLECTION,
    ivr::IvrTree,
    paging::Page,
    problem::{FieldError, Problem},
    prompts::{
        check_tts_fields, is_valid_prompt_name, prompt_key, prompt_name, tree_uses_audio,
        validate_wav, AudioError, PromptError, PromptObject, PromptStoreError, TtsError,
        MAX_PROMPT_BYTES, PROMPT_PREFIX,
    },
};
use serde::Serialize;
use serde_json::Value;

use super::{load_all, no_content, path_parameter, ConfigDeps};
use crate::handler::{
    internal, json, json_object, listing_failure, page_parameters, AuditNote, Operation,
};

/// The media types accepted for an upload: the names of WAV in use, and the generic binary type
/// some browsers give a file they do not know (the content is checked either way).
const WAV_MEDIA_TYPES: [&str; 5] = [
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/vnd.wave",
    "application/octet-stream",
];

/// A prompt in a listing and after an upload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PromptView {
    /// The name of `prompts/{name}.wav`; `None` for other keys under `prompts/`.
    name: Option<String>,
    key: String,
    size: u64,
    updated_at: String,
}

impl PromptView {
    fn new(object: PromptObject) -> Self {
        Self {
            name: prompt_name(&object.key).map(str::to_owned),
            updated_at: linka_shared::time::format_rfc3339(object.updated_at),
            key: object.key,
            size: object.size,
        }
    }
}

/// The answer of an upload: the stored prompt and what the recording is.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadedPrompt {
    #[serde(flatten)]
    prompt: PromptView,
    sample_rate: u32,
    bits_per_sample: u16,
    duration_ms: u64,
}

/// The answer of `GET /api/admin/prompts/{name}`: where the browser can fetch it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PromptPreview {
    #[serde(flatten)]
    prompt: PromptView,
    url: String,
    url_expires_in_seconds: u64,
}

/// The answer of `POST /api/admin/prompts/preview-tts`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TtsPreview {
    url: String,
    cache_key: String,
}

fn prompt_not_found() -> Problem {
    Problem::not_found("prompt-not-found", "There is no prompt with this name.")
}

fn store_failure(operation: &str, error: PromptStoreError) -> Problem {
    match error {
        PromptStoreError::InvalidCursor(_) => listing_failure(
            operation,
            linka_shared::ports::StoreError::InvalidCursor(linka_shared::paging::InvalidCursor(
                "not a cursor of this listing",
            )),
        ),
        error => internal(operation, &error),
    }
}

/// The `{name}` of the path; `None` when it cannot name a prompt. A valid one becomes the audit
/// target.
fn path_name<U>(deps: &ConfigDeps<'_, U>, segment: &str, note: &mut AuditNote) -> Option<String> {
    let name = path_parameter(deps.request, "name", segment);
    if !is_valid_prompt_name(&name) {
        return None;
    }
    note.target = Some(prompt_key(&name));
    Some(name)
}

/// `GET /api/admin/prompts?limit&cursor`: the uploaded recordings in key order.
pub(super) async fn list<U>(deps: &ConfigDeps<'_, U>, note: &mut AuditNote) -> Operation {
    let (limit, cursor) = page_parameters(deps.request)?;
    note.target = Some(PROMPT_PREFIX.trim_end_matches('/').to_owned());
    let page = deps
        .prompts
        .store()
        .list(PROMPT_PREFIX, limit, cursor)
        .await
        .map_err(|error| store_failure("list prompts", error))?;
    json(
        StatusCode::OK,
        &Page {
            items: page.items.into_iter().map(PromptView::new).collect(),
            next_cursor: page.next_cursor,
        },
    )
}

/// `GET /api/admin/prompts/{name}`: the prompt with a presigned URL to listen to it.
pub(super) async fn get<U>(
    deps: &ConfigDeps<'_, U>,
    segment: &str,
    note: &mut AuditNote,
) -> Operation {
    let name = path_name(deps, segment, note).ok_or_else(prompt_not_found)?;
    let key = prompt_key(&name);
    let store = deps.prompts.store();
    let object = store
        .head(&key)
        .await
        .map_err(|error| internal("read a prompt", &error))?
        .ok_or_else(prompt_not_found)?;
    let lifetime = deps.prompts.url_lifetime();
    let url = store
        .presigned_get(&key, lifetime)
        .await
        .map_err(|error| internal("presign a prompt URL", &error))?;
    json(
        StatusCode::OK,
        &PromptPreview {
            prompt: PromptView::new(object),
            url,
            url_expires_in_seconds: lifetime.as_secs(),
        },
    )
}

/// Whether the request's `Content-Type` is one of the names of WAV.
fn is_wav(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            let media_type = media_type.trim();
            WAV_MEDIA_TYPES
                .iter()
                .any(|wav| media_type.eq_ignore_ascii_case(wav))
        })
}

fn invalid_audio(error: &AudioError) -> Problem {
    Problem::new(
        422,
        "Unprocessable Content",
        error.code(),
        format!("The recording cannot be used: {error}."),
    )
    .with_errors(vec![FieldError::new("body", error.to_string())])
}

/// `PUT /api/admin/prompts/{name}` with an `audio/wav` body: 201 when new, 200 when replaced.
pub(super) async fn put<U>(
    deps: &ConfigDeps<'_, U>,
    segment: &str,
    note: &mut AuditNote,
) -> Operation {
    // API Gateway sends a binary body base64-encoded; lambda_http has decoded it already.
    let body: &[u8] = deps.request.body().as_ref();
    if body.len() > MAX_PROMPT_BYTES {
        return Err(Problem::payload_too_large(format!(
            "A recording must be at most {MAX_PROMPT_BYTES} bytes."
        )));
    }
    if !is_wav(deps.request) {
        return Err(Problem::unsupported_media_type(
            "Send the recording as audio/wav (or application/octet-stream).",
        ));
    }
    let Some(name) = path_name(deps, segment, note) else {
        return Err(
            Problem::bad_request("invalid-parameter", "The prompt name is invalid.").with_errors(
                vec![FieldError::new(
            "name",
            "must be 1 to 60 lowercase letters, digits and '-', starting with a letter or digit",
        )],
            ),
        );
    };
    let info = validate_wav(body).map_err(|error| invalid_audio(&error))?;
    let key = prompt_key(&name);
    let store = deps.prompts.store();
    let existed = store
        .head(&key)
        .await
        .map_err(|error| internal("read a prompt", &error))?
        .is_some();
    let object = store
        .put(&key, body.to_vec())
        .await
        .map_err(|error| internal("store a prompt", &error))?;
    note.details
        .insert("durationMs".to_owned(), info.duration_ms.to_string());
    note.details
        .insert("sampleRate".to_owned(), info.sample_rate.to_string());
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = json(
        status,
        &UploadedPrompt {
            prompt: PromptView::new(object),
            sample_rate: info.sample_rate,
            bits_per_sample: info.bits_per_sample,
            duration_ms: info.duration_ms,
        },
    )?;
    if let Ok(location) = format!("/api/admin/prompts/{name}").parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The first IVR tree that plays `key`, by id.
async fn tree_playing<U>(deps: &ConfigDeps<'_, U>, key: &str) -> Result<Option<String>, Problem> {
    let trees = load_all(deps.store, IVR_COLLECTION).await?;
    Ok(trees
        .into_iter()
        .filter_map(|document: Value| serde_json::from_value::<IvrTree>(document).ok())
        .find(|tree| tree_uses_audio(tree, key))
        .map(|tree| tree.ivr_id))
}

/// `DELETE /api/admin/prompts/{name}`: 204; 409 while an IVR tree plays it.
pub(super) async fn delete<U>(
    deps: &ConfigDeps<'_, U>,
    segment: &str,
    note: &mut AuditNote,
) -> Operation {
    let name = path_name(deps, segment, note).ok_or_else(prompt_not_found)?;
    let key = prompt_key(&name);
    let store = deps.prompts.store();
    store
        .head(&key)
        .await
        .map_err(|error| internal("read a prompt", &error))?
        .ok_or_else(prompt_not_found)?;
    if let Some(ivr_id) = tree_playing(deps, &key).await? {
        return Err(Problem::conflict(
            "prompt-in-use",
            format!("The IVR tree {ivr_id} plays this prompt; change the tree first."),
        ));
    }
    store
        .delete(&key)
        .await
        .map_err(|error| internal("delete a prompt", &error))?;
    Ok(no_content())
}

/// `POST /api/admin/prompts/preview-tts` `{text, voice?}`: synthesizes (or finds) the prompt
/// and answers where to listen to it.
pub(super) async fn preview_tts<U>(deps: &ConfigDeps<'_, U>, note: &mut AuditNote) -> Operation {
    note.target = Some("prompts/preview-tts".to_owned());
    let mut body = json_object(deps.request)?;
    let text = match body.remove("text") {
        Some(Value::String(text)) => text,
        Some(_) => {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "text",
                "must be a string",
            )]))
        }
        None => {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "text",
                "is required",
            )]))
        }
    };
    let voice = match body.remove("voice") {
        Some(Value::String(voice)) => Some(voice),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(Problem::unprocessable(vec![FieldError::new(
                "voice",
                "must be a string",
            )]))
        }
    };
    if let Some(field) = body.keys().next() {
        return Err(Problem::unprocessable(vec![FieldError::new(
            field.clone(),
            "is not a field of a TTS preview",
        )]));
    }
    let errors = check_tts_fields(&text, voice.as_deref());
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let prompt = linka_shared::ivr::PromptRef::Tts { text, voice };
    match deps.prompts.resolve(&prompt).await {
        Ok(resolved) => json(
            StatusCode::OK,
            &TtsPreview {
                url: resolved.url,
                cache_key: resolved.cache_key,
            },
        ),
        Err(PromptError::Tts(TtsError::UnknownVoice(_))) => {
            Err(Problem::unprocessable(vec![FieldError::new(
                "voice",
                "is not a voice of the TTS engine",
            )]))
        }
        Err(PromptError::Tts(TtsError::InvalidText)) => {
            Err(Problem::unprocessable(vec![FieldError::new(
                "text",
                "must have 1 to 1000 characters",
            )]))
        }
        Err(PromptError::Tts(error)) => {
            tracing::error!(error.message = %error, error.cause_chain = %linka_shared::telemetry::ErrorChain(&error), "TTS failed");
            Err(Problem::service_unavailable(
                "tts-unavailable",
                "Text to speech is not available right now; try again later.",
            ))
        }
        Err(error) => Err(internal("resolve a TTS prompt", &error)),
    }
}
