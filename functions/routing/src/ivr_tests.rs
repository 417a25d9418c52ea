//! The cloud-driven IVR on the in-memory adapters: a call routed into a tree starts when the
//! IVR port answers, takes a step per port report, and leaves by a transfer or a hang-up.

use std::sync::Arc;

use cti_events::{CommandAction, IvrPortOutcome};
use linka_shared::{
    adapters::{
        FakeVoicemailAudio, InMemoryCallbackStore, InMemoryIvrCallStore, InMemoryPromptStore,
        InMemoryVoicemailStore, ToneSynthesizer,
    },
    cti_state::AgentState,
    ivr_live::Awaiting,
    ports::IvrCallStore,
    prompts::PromptResolver,
};
use serde_json::json;

use super::tests::{at, config, fixture, presence, query, Fixture, StaticConfig};
use super::*;

fn tree() -> serde_json::Value {
    json!({
        "ivrId": "hlavni", "name": "Hlavní linka", "active": true, "entryNode": "menu",
        "nodes": {
            "menu": {"kind": "menu",
                     "prompt": {"kind": "tts", "text": "Pro platby stiskněte jedničku."},
                     "options": {"1": "platby", "2": "zpetne", "3": "konec", "4": "vzkaz"},
                     "timeoutSeconds": 5, "maxAttempts": 2,
                     "onTimeout": "menu", "onInvalid": "menu", "onExhausted": "konec"},
            "platby": {"kind": "transferToQueue", "queueId": "kkc"},
            "zpetne": {"kind": "callbackOffer", "queueId": "kkc",
                       "prompt": {"kind": "tts", "text": "Pro zpětné volání stiskněte jedničku."},
                       "acceptDigit": "1", "allowChosenTime": false,
                       "accepted": "konec", "declined": "platby"},
            "vzkaz": {"kind": "voicemail", "queueId": "kkc",
                      "greeting": {"kind": "tts", "text": "Zanechte vzkaz po tónu."},
                      "maxSeconds": 60},
            "konec": {"kind": "hangup", "prompt": {"kind": "tts", "text": "Na shledanou."}}
        }
    })
}

fn ivr_config() -> StaticConfig {
    config()
        .with("ivr", "hlavni", tree())
        .with(
            QUEUE_ROUTING_COLLECTION,
            "kkc",
            json!({"queueId": "kkc", "wrapUpSeconds": 0, "whenNobodyLoggedIn": {"action": "wait"}}),
        )
        .with(
            ROUTING_SETTINGS_COLLECTION,
            PLAN_ID,
            json!({"rules": [{"ruleId": "ivr", "when": {"dialled": ["4000"]},
                              "entry": {"kind": "ivr", "ivrId": "hlavni"}}]}),
        )
        .with(
            ROUTING_SETTINGS_COLLECTION,
            DEVICES_ID,
            json!({"queues": {"kkc": "5100"}, "ivrs": {"hlavni": "6101"},
                   "announcements": {}, "defaultAnnouncement": "6900"}),
        )
}

struct Ivr {
    f: Fixture,
    calls: InMemoryIvrCallStore,
    callbacks: InMemoryCallbackStore,
    voicemails: InMemoryVoicemailStore,
}

fn ivr_fixture() -> Ivr {
    let calls = InMemoryIvrCallStore::new();
    let callbacks = InMemoryCallbackStore::new();
    let voicemails = InMemoryVoicemailStore::new();
    let Fixture {
        router,
        state,
        signals,
    } = fixture(ivr_config());
    let router = router
        .with_ivr(IvrRuntime {
            calls: Arc::new(calls.clone()),
            prompts: Arc::new(PromptResolver::new(
                Arc::new(InMemoryPromptStore::new()),
                Arc::new(ToneSynthesizer::new()),
            )),
            voicemail: Some(VoicemailRuntime {
                store: Arc::new(voicemails.clone()),
                audio: Arc::new(FakeVoicemailAudio::new()),
            }),
        })
        .with_callbacks(Arc::new(callbacks.clone()));
    Ivr {
        f: Fixture {
            router,
            state,
            signals,
        },
        calls,
        callbacks,
        voicemails,
    }
}

fn into_ivr() -> cti_events::RouteQuery {
    let mut q = query("c1", 0);
    q.request.routing_device = "4000".into();
    q.request.called_device = Some("4000".into());
    q.request.calling_device = Some("601123456".into());
    q
}

/// The prompt id and collect flag of the last PlayPrompt.
fn last_play(f: &Fixture) -> (String, bool, usize) {
    f.signals
        .commands()
        .into_iter()
        .rev()
        .find_map(|c| match c {
            CommandAction::PlayPrompt {
                prompt_id,
                collect,
                media,
                device,
                call_id,
            } => {
                assert_eq!(device, "6101");
                assert_eq!(call_id, "c1");
                Some((prompt_id, collect.is_some(), media.len()))
            }
            _ => None,
        })
        .expect("a PlayPrompt command")
}

async fn started(ivr: &Ivr) -> String {
    let routed = ivr.f.router.route(&into_ivr(), at(0)).await.unwrap();
    assert_eq!(routed.destination, "6101");
    let stored = ivr.calls.get("r1/c1").await.unwrap().unwrap();
    assert_eq!(stored.value.awaiting, Awaiting::Answer);
    // The IVR port answers: the tree starts with the menu's prompt and its collection.
    let handled = ivr
        .f
        .router
        .call_settled("r1/c1", Some("6101"), at(1))
        .await
        .unwrap();
    assert!(
        matches!(
            handled,
            Handled::IvrStep {
                awaiting: Awaiting::Input,
                ..
            }
        ),
        "{handled:?}"
    );
    let (prompt_id, collects, media) = last_play(&ivr.f);
    assert!(collects);
    assert_eq!(media, 1, "the TTS prompt is resolved to one file");
    prompt_id
}

#[tokio::test]
async fn when_the_caller_chooses_a_queue_should_transfer_the_call_to_a_free_agent() {
    let ivr = ivr_fixture();
    ivr.f
        .state
        .set_agent(presence("2001", AgentState::Ready, -100));
    let prompt = started(&ivr).await;
    let handled = ivr
        .f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &prompt,
            &IvrPortOutcome::DigitsCollected { digits: "1".into() },
            at(5),
        )
        .await
        .unwrap();
    assert!(matches!(
        handled,
        Handled::IvrStep {
            awaiting: Awaiting::Done,
            ..
        }
    ));
    assert!(ivr
        .f
        .signals
        .commands()
        .contains(&CommandAction::BlindTransfer {
            device: "6101".into(),
            call_id: "c1".into(),
            to: "2001".into()
        }));
    // The agent is reserved for the call, which keeps its IVR path.
    let waiting = ivr.f.state.waiting_call("r1/c1").await.unwrap().unwrap();
    assert_eq!(waiting.offered_to.as_deref(), Some("jana"));
    assert_eq!(waiting.entered_at, at(0));
}

#[tokio::test]
async fn when_nobody_is_free_should_transfer_to_the_waiting_device() {
    let ivr = ivr_fixture();
    let prompt = started(&ivr).await;
    ivr.f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &prompt,
            &IvrPortOutcome::DigitsCollected { digits: "1".into() },
            at(5),
        )
        .await
        .unwrap();
    assert!(ivr
        .f
        .signals
        .commands()
        .contains(&CommandAction::BlindTransfer {
            device: "6101".into(),
            call_id: "c1".into(),
            to: "5100".into()
        }));
}

#[tokio::test]
async fn when_a_report_is_stale_or_repeated_should_change_nothing() {
    let ivr = ivr_fixture();
    let prompt = started(&ivr).await;
    let before = ivr.f.signals.commands().len();
    let handled = ivr
        .f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            "old",
            &IvrPortOutcome::CollectTimeout,
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(handled, Handled::Nothing);
    // The answer trigger delivered again does not restart the tree.
    ivr.f
        .router
        .call_settled("r1/c1", Some("6101"), at(6))
        .await
        .unwrap();
    assert_eq!(ivr.f.signals.commands().len(), before);
    // A timeout replays the menu with a new prompt id; the old one is then stale.
    ivr.f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &prompt,
            &IvrPortOutcome::CollectTimeout,
            at(7),
        )
        .await
        .unwrap();
    let (again, _, _) = last_play(&ivr.f);
    assert_ne!(again, prompt);
    let handled = ivr
        .f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &prompt,
            &IvrPortOutcome::CollectTimeout,
            at(8),
        )
        .await
        .unwrap();
    assert_eq!(handled, Handled::Nothing);
}

#[tokio::test]
async fn when_the_caller_accepts_a_callback_should_book_it_say_goodbye_and_hang_up() {
    let ivr = ivr_fixture();
    let prompt = started(&ivr).await;
    ivr.f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &prompt,
            &IvrPortOutcome::DigitsCollected { digits: "2".into() },
            at(5),
        )
        .await
        .unwrap();
    let (offer, collects, _) = last_play(&ivr.f);
    assert!(collects, "the callback offer collects the accepting key");
    let handled = ivr
        .f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &offer,
            &IvrPortOutcome::DigitsCollected { digits: "1".into() },
            at(9),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            handled,
            Handled::IvrStep {
                awaiting: Awaiting::HangupAfterPrompt,
                ..
            }
        ),
        "{handled:?}"
    );
    let booked = ivr.callbacks.all();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].number, "+420601123456");
    assert_eq!(booked[0].queue_id, "kkc");
    assert_eq!(
        booked[0].entered_at,
        at(0),
        "the callback keeps the call's place"
    );
    // The goodbye ends; the call is cleared.
    let (goodbye, _, _) = last_play(&ivr.f);
    ivr.f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &goodbye,
            &IvrPortOutcome::PromptFinished,
            at(12),
        )
        .await
        .unwrap();
    assert_eq!(
        ivr.f.signals.commands().last().cloned(),
        Some(CommandAction::Hangup {
            device: "6101".into(),
            call_id: "c1".into()
        })
    );
    // The clearing the tree caused is no lost call: still the one booked callback.
    ivr.f
        .router
        .call_settled("r1/c1", None, at(13))
        .await
        .unwrap();
    assert_eq!(ivr.callbacks.all().len(), 1);
}

#[tokio::test]
async fn when_the_caller_hangs_up_in_the_menu_should_become_a_callback_of_the_trees_queue() {
    let ivr = ivr_fixture();
    started(&ivr).await;
    // IN-22: every missed call, also one lost in the IVR, is called back.
    for _ in 0..2 {
        ivr.f
            .router
            .call_settled("r1/c1", None, at(20))
            .await
            .unwrap();
    }
    let callbacks = ivr.callbacks.all();
    assert_eq!(
        callbacks.len(),
        1,
        "a repeated trigger makes no second callback"
    );
    assert_eq!(callbacks[0].queue_id, "kkc");
    assert_eq!(callbacks[0].number, "+420601123456");
    assert_eq!(callbacks[0].entered_at, at(0), "it keeps the call's place");
    assert!(matches!(
        callbacks[0].source,
        CallbackSource::MissedCall { ref contact_id } if contact_id == "r1/c1"
    ));
}

#[tokio::test]
async fn when_the_caller_hangs_up_before_the_port_answers_should_be_called_back_too() {
    let ivr = ivr_fixture();
    let routed = ivr.f.router.route(&into_ivr(), at(0)).await.unwrap();
    assert_eq!(routed.destination, "6101");
    ivr.f
        .router
        .call_settled("r1/c1", None, at(2))
        .await
        .unwrap();
    assert_eq!(ivr.callbacks.all().len(), 1);
}

#[tokio::test]
async fn when_the_caller_leaves_a_message_should_record_it_into_the_queues_mailbox() {
    let ivr = ivr_fixture();
    let prompt = started(&ivr).await;
    ivr.f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &prompt,
            &IvrPortOutcome::DigitsCollected { digits: "4".into() },
            at(5),
        )
        .await
        .unwrap();
    // The greeting plays, then the port records with a presigned upload.
    let (greeting, collects, _) = last_play(&ivr.f);
    assert!(!collects);
    ivr.f
        .router
        .ivr_report(
            "r1/c1",
            "6101",
            &greeting,
            &IvrPortOutcome::PromptFinished,
            at(8),
        )
        .await
        .unwrap();
    let Some(CommandAction::RecordMessage {
        prompt_id,
        key,
        upload_url,
        max_seconds,
        ..
    }) = ivr.f.signals.commands().last().cloned()
    else {
        panic!("a RecordMessage command");
    };
    assert!(key.starts_with("voicemail/kkc/"), "{key}");
    assert!(upload_url.contains("method=PUT"), "{upload_url}");
    assert_eq!(max_seconds, 60);
    // The relay stored the recording: the message is in the queue's mailbox, the call ends.
    let stored = IvrPortOutcome::RecordingStored {
        key: key.clone(),
        duration_ms: 4200,
    };
    ivr.f
        .router
        .ivr_report("r1/c1", "6101", &prompt_id, &stored, at(20))
        .await
        .unwrap();
    // A repeated report changes nothing.
    ivr.f
        .router
        .ivr_report("r1/c1", "6101", &prompt_id, &stored, at(21))
        .await
        .unwrap();
    let messages = ivr.voicemails.all();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].queue_id, "kkc");
    assert_eq!(messages[0].audio_key, key);
    assert_eq!(messages[0].duration_ms, 4200);
    assert_eq!(messages[0].caller.as_deref(), Some("+420601123456"));
    assert!(matches!(
        ivr.f.signals.commands().last(),
        Some(CommandAction::Hangup { .. })
    ));
    // A caller who left a message is not also a lost call.
    ivr.f
        .router
        .call_settled("r1/c1", None, at(22))
        .await
        .unwrap();
    assert!(ivr.callbacks.all().is_empty());
}

#[tokio::test]
async fn when_the_call_is_answered_elsewhere_before_the_port_should_not_count_as_lost() {
    let ivr = ivr_fixture();
    ivr.f.router.route(&into_ivr(), at(0)).await.unwrap();
    // The PBX fell back to an agent: the call never entered the tree.
    ivr.f
        .router
        .call_settled("r1/c1", Some("2001"), at(1))
        .await
        .unwrap();
    ivr.f
        .router
        .call_settled("r1/c1", None, at(60))
        .await
        .unwrap();
    assert!(ivr.callbacks.all().is_empty());
}
