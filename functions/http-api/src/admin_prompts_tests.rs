// Behaviour of the IVR prompt routes (`/api/admin/prompts…`) on sample events with the in-memory
// prompt store and the tone synthesizer. Included from the tests module of `handler.rs`, whose
// helpers (`deps`, `call`, `token`…) it uses.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use std::io::Cursor;

use linka_shared::prompts::PromptStore;

use super::*;

const POST_QUEUE: &str = include_str!("../../../events/apigw-http/post-queue.json");

/// What a request carries as its body.
enum Payload<'a> {
    None,
    Json(Value),
    Binary(&'a [u8], &'a str),
}

/// A request like the sample POST, for any method, path and body.
fn request(method: &str, path: &str, payload: Payload<'_>, token: &str) -> Request {
    let mut event: Value = serde_json::from_str(POST_QUEUE).unwrap();
    event["routeKey"] = json!(format!("{method} {path}"));
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    match payload {
        Payload::None => {
            event.as_object_mut().unwrap().remove("body");
        }
        Payload::Json(body) => event["body"] = json!(body.to_string()),
        Payload::Binary(bytes, content_type) => {
            // As API Gateway sends a binary body: base64, flagged.
            event["body"] = json!(STANDARD.encode(bytes));
            event["isBase64Encoded"] = json!(true);
            event["headers"]["content-type"] = json!(content_type);
            event["headers"]["content-length"] = json!(bytes.len().to_string());
        }
    }
    let mut request = lambda_http::request::from_str(&event.to_string()).unwrap();
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    request
}

fn admin_token() -> String {
    token("admin", &["admin"])
}

type Deps = TestDeps<InMemoryUserDirectory, RecordingPublisher>;

/// `deps()` with a prompt store and synthesizer the test can look into.
fn prompt_deps() -> (Deps, InMemoryPromptStore, ToneSynthesizer) {
    let mut deps = deps();
    let store = InMemoryPromptStore::new();
    let synthesizer = ToneSynthesizer::new();
    deps.prompts = PromptResolver::new(Arc::new(store.clone()), Arc::new(synthesizer.clone()));
    (deps, store, synthesizer)
}

async fn send(deps: &Deps, method: &str, path: &str, payload: Payload<'_>) -> (StatusCode, Value) {
    let (status, _, body) = call(deps, request(method, path, payload, &admin_token())).await;
    (status, body)
}

/// Half a second of an 8 kHz 16-bit mono tone.
fn wav() -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for n in 0..4_000_i32 {
        writer
            .write_sample(if (n / 20) % 2 == 0 { 3000_i16 } else { -3000 })
            .unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// An IVR tree whose welcome node plays `prompts/{name}.wav`.
fn tree_playing(name: &str) -> Value {
    json!({
        "ivrId": "hlavni",
        "name": "Hlavní linka",
        "entryNode": "uvitani",
        "nodes": {
            "uvitani": {
                "kind": "prompt",
                "prompt": {"kind": "audio", "key": format!("prompts/{name}.wav")},
                "next": "konec"
            },
            "konec": {"kind": "hangup"}
        }
    })
}

#[tokio::test]
async fn when_admin_uploads_lists_gets_and_deletes_a_prompt_should_go_round_trip() {
    // GIVEN no prompts
    let (deps, store, _) = prompt_deps();
    let audio = wav();
    // WHEN the admin uploads a WAV
    let (status, headers, body) = call(
        &deps,
        request(
            "PUT",
            "/api/admin/prompts/uvitani",
            Payload::Binary(&audio, "audio/wav"),
            &admin_token(),
        ),
    )
    .await;
    // THEN 201 with what was stored, under prompts/{name}.wav
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers[header::LOCATION], "/api/admin/prompts/uvitani");
    assert_eq!(body["key"], "prompts/uvitani.wav");
    assert_eq!(body["name"], "uvitani");
    assert_eq!(body["size"], audio.len());
    assert_eq!(body["sampleRate"], 8000);
    assert_eq!(body["durationMs"], 500);
    assert_eq!(
        store.get("prompts/uvitani.wav").await.unwrap().unwrap(),
        audio
    );
    // AND uploading it again replaces it: 200
    let (status, _) = send(
        &deps,
        "PUT",
        "/api/admin/prompts/uvitani",
        Payload::Binary(&audio, "audio/x-wav"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // WHEN listed THEN it is there
    let (status, body) = send(&deps, "GET", "/api/admin/prompts", Payload::None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["key"], "prompts/uvitani.wav");
    assert_eq!(body["items"][0]["size"], audio.len());
    assert!(body["items"][0]["updatedAt"].is_string());
    assert!(body["nextCursor"].is_null());
    // WHEN fetched THEN it comes with a URL to listen to
    let (status, body) = send(&deps, "GET", "/api/admin/prompts/uvitani", Payload::None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["url"],
        "memory://prompts/prompts/uvitani.wav?expires=900"
    );
    assert_eq!(body["urlExpiresInSeconds"], 900);
    // WHEN deleted THEN 204 and gone
    let (status, _) = send(&deps, "DELETE", "/api/admin/prompts/uvitani", Payload::None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(store.keys().is_empty());
    let (status, body) = send(&deps, "GET", "/api/admin/prompts/uvitani", Payload::None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "prompt-not-found");
    // AND every call was audited, with the prompt's key as the target
    let records = deps.audit.records();
    let actions: Vec<_> = records.iter().map(|record| record.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::ConfigUpdate,
            AuditAction::ConfigUpdate,
            AuditAction::ConfigList,
            AuditAction::ConfigRead,
            AuditAction::ConfigDelete,
            AuditAction::ConfigRead,
        ]
    );
    assert_eq!(records[0].target.as_deref(), Some("prompts/uvitani.wav"));
    assert_eq!(records[0].status, 201);
    assert_eq!(records[4].status, 204);
}

#[tokio::test]
async fn when_uploaded_audio_is_not_a_usable_wav_should_answer_422_saying_why() {
    let (deps, store, _) = prompt_deps();
    // Not a WAV at all.
    let (status, body) = send(
        &deps,
        "PUT",
        "/api/admin/prompts/uvitani",
        Payload::Binary(b"ID3\x03\x00 an mp3 file", "audio/wav"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "audio-not-wav");
    assert_eq!(body["errors"][0]["field"], "body");
    // Stereo.
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for _ in 0..3200 {
        writer.write_sample(0_i16).unwrap();
    }
    writer.finalize().unwrap();
    let (status, body) = send(
        &deps,
        "PUT",
        "/api/admin/prompts/uvitani",
        Payload::Binary(&out.into_inner(), "audio/wav"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "audio-not-mono");
    assert_eq!(
        content_type_of(&deps, "/api/admin/prompts/uvitani").await,
        problem::CONTENT_TYPE
    );
    assert!(store.keys().is_empty());
}

/// The content type of the answer to an empty PUT (a 422 problem).
async fn content_type_of(deps: &Deps, path: &str) -> String {
    let (_, headers, _) = call(
        deps,
        request(
            "PUT",
            path,
            Payload::Binary(&[], "audio/wav"),
            &admin_token(),
        ),
    )
    .await;
    content_type(&headers).to_owned()
}

#[tokio::test]
async fn when_upload_has_wrong_type_size_or_name_should_answer_415_413_or_400() {
    let (deps, store, _) = prompt_deps();
    let audio = wav();
    let (status, body) = send(
        &deps,
        "PUT",
        "/api/admin/prompts/uvitani",
        Payload::Binary(&audio, "audio/mpeg"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, _) = send(
        &deps,
        "PUT",
        "/api/admin/prompts/uvitani",
        Payload::Json(json!({"audio": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = vec![0_u8; linka_shared::prompts::MAX_PROMPT_BYTES + 1];
    let (status, body) = send(
        &deps,
        "PUT",
        "/api/admin/prompts/uvitani",
        Payload::Binary(&big, "audio/wav"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "body-too-large");
    for name in ["Uvitani", "-x", "a_b", &"a".repeat(61)] {
        let (status, body) = send(
            &deps,
            "PUT",
            &format!("/api/admin/prompts/{name}"),
            Payload::Binary(&audio, "audio/wav"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_eq!(body["errors"][0]["field"], "name");
    }
    assert!(store.keys().is_empty());
}

#[tokio::test]
async fn when_an_ivr_tree_plays_the_prompt_should_refuse_to_delete_it_with_409() {
    // GIVEN an uploaded prompt and a tree that plays it
    let (deps, store, _) = prompt_deps();
    let audio = wav();
    let (status, _) = send(
        &deps,
        "PUT",
        "/api/admin/prompts/uvitani",
        Payload::Binary(&audio, "audio/wav"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = send(
        &deps,
        "POST",
        "/api/admin/ivrs",
        Payload::Json(tree_playing("uvitani")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // WHEN the admin deletes the prompt
    let (status, body) = send(&deps, "DELETE", "/api/admin/prompts/uvitani", Payload::None).await;
    // THEN 409 naming the tree, and the prompt stays
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "prompt-in-use");
    assert!(body["detail"].as_str().unwrap().contains("hlavni"));
    assert_eq!(store.keys(), ["prompts/uvitani.wav"]);
    // AND once the tree is gone, it can be deleted
    let (status, _) = send(&deps, "DELETE", "/api/admin/ivrs/hlavni", Payload::None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&deps, "DELETE", "/api/admin/prompts/uvitani", Payload::None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn when_admin_previews_tts_should_synthesize_once_and_answer_url_and_cache_key() {
    let (deps, store, synthesizer) = prompt_deps();
    let body = json!({"text": "Dobrý den, vítejte na lince."});
    // WHEN previewed twice
    let (status, first) = send(
        &deps,
        "POST",
        "/api/admin/prompts/preview-tts",
        Payload::Json(body.clone()),
    )
    .await;
    let (_, second) = send(
        &deps,
        "POST",
        "/api/admin/prompts/preview-tts",
        Payload::Json(body),
    )
    .await;
    // THEN 200 with a URL of the cached file, synthesized once
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first, second);
    let cache_key = first["cacheKey"].as_str().unwrap();
    assert_eq!(cache_key.len(), 64);
    assert!(first["url"].as_str().unwrap().contains(cache_key));
    assert_eq!(synthesizer.calls(), 1);
    assert_eq!(store.keys(), [format!("tts/{cache_key}.wav")]);
    // AND the synthesized file is not listed among the uploaded prompts
    let (_, list) = send(&deps, "GET", "/api/admin/prompts", Payload::None).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn when_tts_preview_has_bad_fields_should_answer_422_naming_them() {
    let (deps, _, synthesizer) = prompt_deps();
    for (body, field) in [
        (json!({}), "text"),
        (json!({"text": "  "}), "text"),
        (json!({"text": 5}), "text"),
        (json!({"text": "Ahoj", "voice": "x y"}), "voice"),
        (json!({"text": "Ahoj", "voice": "Nikdo"}), "voice"),
        (json!({"text": "Ahoj", "speed": 2}), "speed"),
    ] {
        let (status, problem) = send(
            &deps,
            "POST",
            "/api/admin/prompts/preview-tts",
            Payload::Json(body.clone()),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(synthesizer.calls(), 0);
}

#[tokio::test]
async fn when_a_non_admin_calls_the_prompt_routes_should_answer_403() {
    let (deps, _, synthesizer) = prompt_deps();
    let agent = token("agent01", &["agent"]);
    for (method, path, payload) in [
        ("GET", "/api/admin/prompts", Payload::None),
        ("GET", "/api/admin/prompts/uvitani", Payload::None),
        (
            "PUT",
            "/api/admin/prompts/uvitani",
            Payload::Binary(&[1, 2], "audio/wav"),
        ),
        ("DELETE", "/api/admin/prompts/uvitani", Payload::None),
        (
            "POST",
            "/api/admin/prompts/preview-tts",
            Payload::Json(json!({"text": "Ahoj"})),
        ),
    ] {
        let (status, _, _) = call(&deps, request(method, path, payload, &agent)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert_eq!(synthesizer.calls(), 0);
}

#[tokio::test]
async fn when_the_sample_upload_event_is_handled_should_decode_its_base64_wav_and_store_it() {
    // GIVEN the sample event (as API Gateway sends a binary body: base64, flagged)
    const PUT_PROMPT: &str = include_str!("../../../events/apigw-http/put-prompt.json");
    let (deps, store, _) = prompt_deps();
    // WHEN handled
    let (status, _, body) = call(&deps, event(PUT_PROMPT, Some(&admin_token()))).await;
    // THEN the decoded WAV is stored under the path parameter's name
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["key"], "prompts/uvitani.wav");
    assert_eq!(body["durationMs"], 100);
    let stored = store.get("prompts/uvitani.wav").await.unwrap().unwrap();
    assert_eq!(&stored[0..4], b"RIFF");
}
