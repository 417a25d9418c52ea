use std::collections::BTreeMap;
use std::io::Cursor;

use super::*;
use crate::adapters::{InMemoryPromptStore, ToneSynthesizer};
use crate::ivr::GeneralAnnouncement;

/// A WAV of `seconds` of silence with the given format.
fn wav(channels: u16, sample_rate: u32, bits: u16, seconds: f64) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    let samples = (f64::from(sample_rate) * seconds) as usize * usize::from(channels);
    for n in 0..samples {
        let value = ((n % 50) as i32 - 25) * 2;
        if bits == 8 {
            writer.write_sample(value as i8).unwrap();
        } else {
            writer.write_sample(value as i16).unwrap();
        }
    }
    writer.finalize().unwrap();
    out.into_inner()
}

fn float_wav() -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for _ in 0..800 {
        writer.write_sample(0.25_f32).unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}

fn resolver() -> (PromptResolver, InMemoryPromptStore, ToneSynthesizer) {
    let store = InMemoryPromptStore::new();
    let synthesizer = ToneSynthesizer::new();
    let resolver = PromptResolver::new(Arc::new(store.clone()), Arc::new(synthesizer.clone()));
    (resolver, store, synthesizer)
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[test]
fn when_wav_is_mono_pcm_at_a_telephony_rate_should_be_accepted_with_its_format() {
    // GIVEN two seconds of 8 kHz 16-bit mono
    let bytes = wav(1, 8_000, 16, 2.0);
    // WHEN validated
    let info = validate_wav(&bytes).unwrap();
    // THEN its format and duration are reported
    assert_eq!(
        info,
        WavInfo {
            sample_rate: 8_000,
            bits_per_sample: 16,
            channels: 1,
            frames: 16_000,
            duration_ms: 2_000
        }
    );
}

#[test]
fn when_wav_has_any_accepted_rate_and_depth_should_be_accepted() {
    for rate in SAMPLE_RATES {
        for bits in [8, 16] {
            assert!(
                validate_wav(&wav(1, rate, bits, 0.1)).is_ok(),
                "{rate} Hz {bits} bit"
            );
        }
    }
}

#[test]
fn when_wav_breaks_a_rule_should_say_which() {
    assert_eq!(validate_wav(&[]), Err(AudioError::Empty));
    assert!(matches!(
        validate_wav(b"ID3 this is an mp3 file, not a wav"),
        Err(AudioError::NotWav(_))
    ));
    assert_eq!(
        validate_wav(&wav(2, 8_000, 16, 0.1)),
        Err(AudioError::NotMono { channels: 2 })
    );
    assert_eq!(
        validate_wav(&wav(1, 11_025, 16, 0.1)),
        Err(AudioError::SampleRate { rate: 11_025 })
    );
    assert_eq!(
        validate_wav(&wav(1, 8_000, 24, 0.1)),
        Err(AudioError::BitDepth { bits: 24 })
    );
    assert_eq!(validate_wav(&float_wav()), Err(AudioError::NotPcm));
    assert_eq!(
        validate_wav(&wav(1, 8_000, 16, 0.0)),
        Err(AudioError::NoSamples)
    );
}

#[test]
fn when_wav_is_cut_short_should_be_truncated() {
    let mut bytes = wav(1, 8_000, 16, 1.0);
    bytes.truncate(bytes.len() / 2);
    assert_eq!(validate_wav(&bytes), Err(AudioError::Truncated));
}

#[test]
fn when_wav_is_too_large_or_too_long_should_be_refused() {
    // 8-bit 8 kHz: 4 MiB would be 8.7 minutes, so the size limit comes first at this rate…
    let big = vec![0_u8; MAX_PROMPT_BYTES + 1];
    assert_eq!(
        validate_wav(&big),
        Err(AudioError::TooLarge {
            bytes: MAX_PROMPT_BYTES + 1,
            max: MAX_PROMPT_BYTES
        })
    );
    // …and a header that claims more than 10 minutes is refused for its duration.
    let mut long = wav(1, 8_000, 8, 1.0);
    let frames: u32 = 8_000 * 601;
    let data_at = long.windows(4).position(|w| w == b"data").unwrap();
    long[data_at + 4..data_at + 8].copy_from_slice(&frames.to_le_bytes());
    assert_eq!(
        validate_wav(&long),
        Err(AudioError::TooLong {
            seconds: 601,
            max: MAX_PROMPT_SECONDS
        })
    );
}

#[test]
fn when_audio_errors_are_coded_should_each_have_a_stable_code() {
    assert_eq!(AudioError::NotMono { channels: 2 }.code(), "audio-not-mono");
    assert_eq!(AudioError::NotWav(String::new()).code(), "audio-not-wav");
}

#[test]
fn when_pcm_is_wrapped_should_give_a_valid_wav() {
    let pcm: Vec<u8> = (0..1600_i16).flat_map(|n| (n * 10).to_le_bytes()).collect();
    let bytes = pcm16_to_wav(&pcm, 8_000).unwrap();
    let info = validate_wav(&bytes).unwrap();
    assert_eq!(info.frames, 1600);
    assert_eq!(info.duration_ms, 200);
}

#[test]
fn when_a_streamed_wav_claims_a_huge_length_should_be_fixed_to_its_bytes() {
    // GIVEN a WAV whose RIFF and data lengths are the placeholder of a pipe
    let mut bytes = wav(1, 22_050, 16, 0.5);
    bytes[4..8].copy_from_slice(&0x7fff_f024_u32.to_le_bytes());
    let data_at = bytes.windows(4).position(|w| w == b"data").unwrap();
    bytes[data_at + 4..data_at + 8].copy_from_slice(&0x7fff_f000_u32.to_le_bytes());
    assert!(validate_wav(&bytes).is_err());
    // WHEN fixed THEN it is valid with its real length
    let fixed = fix_streamed_wav_lengths(bytes).unwrap();
    assert_eq!(validate_wav(&fixed).unwrap().frames, 11_025);
    assert!(fix_streamed_wav_lengths(b"not a wav".to_vec()).is_err());
}

// ---------------------------------------------------------------------------------------------
// Names and trees
// ---------------------------------------------------------------------------------------------

#[test]
fn when_prompt_names_are_checked_should_follow_the_pattern() {
    for name in ["uvitani", "0", "hlavni-linka-2", &"a".repeat(60)] {
        assert!(is_valid_prompt_name(name), "{name}");
    }
    assert_eq!(prompt_name("prompts/uvitani.wav"), Some("uvitani"));
    assert_eq!(prompt_name("prompts/hlavni/uvitani.wav"), None);
    assert_eq!(prompt_name("tts/abc.wav"), None);
    for name in [
        "",
        "-x",
        "preview-tts",
        "Uvitani",
        "a_b",
        "a.wav",
        "a/b",
        "ž",
        &"a".repeat(61),
    ] {
        assert!(!is_valid_prompt_name(name), "{name}");
    }
    assert_eq!(prompt_key("uvitani"), "prompts/uvitani.wav");
}

#[test]
fn when_a_tree_plays_a_recording_should_find_it_in_nodes_and_announcement() {
    let tree: IvrTree = serde_json::from_value(serde_json::json!({
        "ivrId": "hlavni",
        "name": "Hlavní linka",
        "entryNode": "uvod",
        "generalAnnouncement": {
            "prompt": {"kind": "audio", "key": "prompts/vypadek.wav"},
            "active": false
        },
        "nodes": {
            "uvod": {"kind": "prompt", "prompt": {"kind": "tts", "text": "Dobrý den"}, "next": "konec"},
            "konec": {"kind": "hangup", "prompt": {"kind": "audio", "key": "prompts/nashledanou.wav"}}
        }
    }))
    .unwrap();
    assert_eq!(tree_prompts(&tree).len(), 3);
    assert!(tree_uses_audio(&tree, "prompts/vypadek.wav"));
    assert!(tree_uses_audio(&tree, "prompts/nashledanou.wav"));
    assert!(!tree_uses_audio(&tree, "prompts/uvitani.wav"));
    let mut without = tree.clone();
    without.general_announcement = None::<GeneralAnnouncement>;
    without.nodes = BTreeMap::new();
    assert!(tree_prompts(&without).is_empty());
}

#[test]
fn when_settings_are_read_should_need_bucket_and_a_known_engine() {
    let env = |name: &str| match name {
        "PROMPTS_BUCKET" => Some("linka-prompts".to_owned()),
        "LINKA_TTS" => Some("espeak".to_owned()),
        _ => None,
    };
    assert_eq!(
        PromptSettings::from_source(&env),
        Ok(PromptSettings {
            bucket: "linka-prompts".to_owned(),
            tts: TtsEngine::Espeak
        })
    );
    let wrong = |name: &str| match name {
        "PROMPTS_BUCKET" => Some("b".to_owned()),
        "LINKA_TTS" => Some("festival".to_owned()),
        _ => None,
    };
    assert!(matches!(
        PromptSettings::from_source(&wrong),
        Err(ConfigError::Invalid {
            name: "LINKA_TTS",
            ..
        })
    ));
    let missing = |_: &str| None;
    assert_eq!(
        PromptSettings::from_source(&missing),
        Err(ConfigError::Missing {
            name: "PROMPTS_BUCKET"
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_a_tts_prompt_is_resolved_twice_should_synthesize_once_and_reuse_the_file() {
    // GIVEN an empty store
    let (resolver, store, synthesizer) = resolver();
    let prompt = PromptRef::tts("Dobrý den, vítejte.");
    // WHEN resolved twice
    let first = resolver.resolve(&prompt).await.unwrap();
    let second = resolver.resolve(&prompt).await.unwrap();
    // THEN synthesized once, stored under its hash, same URL target and cache key
    assert_eq!(synthesizer.calls(), 1);
    assert_eq!(first, second);
    assert_eq!(first.cache_key.len(), 64);
    assert!(first.cache_key.bytes().all(|b| b.is_ascii_hexdigit()));
    let key = format!("tts/{}.wav", first.cache_key);
    assert_eq!(store.keys(), vec![key.clone()]);
    assert!(first.url.contains(&key), "{}", first.url);
    let stored = store.get(&key).await.unwrap().unwrap();
    assert!(validate_wav(&stored).is_ok());
}

#[tokio::test]
async fn when_text_or_voice_differ_should_the_cache_keys_differ() {
    let (resolver, _, synthesizer) = resolver();
    let a = resolver.resolve(&PromptRef::tts("Ahoj")).await.unwrap();
    let b = resolver.resolve(&PromptRef::tts("Ahoj!")).await.unwrap();
    let c = resolver
        .resolve(&PromptRef::Tts {
            text: "Ahoj".to_owned(),
            voice: Some("Beep".to_owned()),
        })
        .await
        .unwrap();
    // The default voice named explicitly is the same prompt.
    let d = resolver
        .resolve(&PromptRef::Tts {
            text: "Ahoj".to_owned(),
            voice: Some("Tone".to_owned()),
        })
        .await
        .unwrap();
    assert_ne!(a.cache_key, b.cache_key);
    assert_ne!(a.cache_key, c.cache_key);
    assert_eq!(a.cache_key, d.cache_key);
    assert_eq!(synthesizer.calls(), 3);
}

#[tokio::test]
async fn when_tts_cannot_be_synthesized_should_store_nothing_and_say_why() {
    let (resolver, store, _) = resolver();
    let unknown_voice = resolver
        .resolve(&PromptRef::Tts {
            text: "Ahoj".to_owned(),
            voice: Some("Nikdo".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown_voice, PromptError::Tts(TtsError::UnknownVoice(voice)) if voice == "Nikdo"),
        "{unknown_voice:?}"
    );
    let blank = resolver.resolve(&PromptRef::tts("  ")).await.unwrap_err();
    assert!(matches!(blank, PromptError::Tts(TtsError::InvalidText)));
    assert!(store.keys().is_empty());
}

#[tokio::test]
async fn when_an_audio_prompt_is_resolved_should_presign_it_with_a_versioned_cache_key() {
    // GIVEN an uploaded recording
    let (resolver, store, synthesizer) = resolver();
    let resolver = resolver.with_url_lifetime(Duration::from_secs(60));
    let key = "prompts/uvitani.wav";
    let stored = store.put(key, wav(1, 8_000, 16, 0.5)).await.unwrap();
    // WHEN resolved
    let resolved = resolver
        .resolve(&PromptRef::Audio {
            key: key.to_owned(),
        })
        .await
        .unwrap();
    // THEN a presigned URL of the key, a cache key naming key and version, no synthesis
    assert_eq!(
        resolved.url,
        "memory://prompts/prompts/uvitani.wav?expires=60"
    );
    assert_eq!(
        resolved.cache_key,
        format!("{key}#{}", stored.etag.unwrap())
    );
    assert_eq!(synthesizer.calls(), 0);
    // AND a new upload under the same key changes the cache key
    store.put(key, wav(1, 8_000, 16, 0.7)).await.unwrap();
    let again = resolver
        .resolve(&PromptRef::Audio {
            key: key.to_owned(),
        })
        .await
        .unwrap();
    assert_ne!(again.cache_key, resolved.cache_key);
}

#[tokio::test]
async fn when_an_audio_prompt_is_missing_should_name_its_key() {
    let (resolver, _, _) = resolver();
    let error = resolver
        .resolve(&PromptRef::Audio {
            key: "prompts/neni.wav".to_owned(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PromptError::MissingAudio { key } if key == "prompts/neni.wav"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the prompt recording \"prompts/neni.wav\" does not exist"
    );
}

#[tokio::test]
async fn when_prompts_are_listed_in_pages_should_continue_after_the_cursor() {
    let store = InMemoryPromptStore::new();
    for name in ["a", "b", "c"] {
        store
            .put(&prompt_key(name), wav(1, 8_000, 16, 0.1))
            .await
            .unwrap();
    }
    store
        .put("tts/abc.wav", wav(1, 8_000, 16, 0.1))
        .await
        .unwrap();
    let limit = PageLimit::new(2).unwrap();
    let first = store.list(PROMPT_PREFIX, limit, None).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let cursor = first.next_cursor.unwrap();
    let second = store
        .list(PROMPT_PREFIX, limit, Some(cursor.clone()))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].key, "prompts/c.wav");
    assert!(second.next_cursor.is_none());
    // A cursor of one listing is refused by another.
    assert!(matches!(
        store.list(TTS_PREFIX, limit, Some(cursor)).await,
        Err(PromptStoreError::InvalidCursor(_))
    ));
}

#[test]
fn when_tts_fields_are_checked_should_name_text_and_voice() {
    assert!(check_tts_fields("Dobrý den", Some("Jitka")).is_empty());
    let fields = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|error| error.field)
            .collect::<Vec<_>>()
    };
    assert_eq!(fields(check_tts_fields(" ", None)), ["text"]);
    assert_eq!(
        fields(check_tts_fields(&"a".repeat(1001), Some("x y"))),
        ["text", "voice"]
    );
    assert_eq!(fields(check_tts_fields("a\u{7}", None)), ["text"]);
}
