//! [`SpeechSynthesizer`]s: Amazon Polly (in AWS) and espeak-ng (local runs), chosen by
//! `LINKA_TTS` through [`speech_synthesizer`].

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_polly::{
    types::{Engine, OutputFormat, TextType, VoiceId},
    Client,
};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::prompts::{
    check_tts_text, fix_streamed_wav_lengths, pcm16_to_wav, validate_wav, SpeechSynthesizer,
    TtsEngine, TtsError,
};

/// The synthesizer `engine` names, with its clients built from the shared SDK configuration.
pub fn speech_synthesizer(
    engine: TtsEngine,
    sdk_config: &aws_config::SdkConfig,
) -> Arc<dyn SpeechSynthesizer> {
    match engine {
        TtsEngine::Polly => Arc::new(PollySynthesizer::from_sdk_config(sdk_config)),
        TtsEngine::Espeak => Arc::new(EspeakSynthesizer::new()),
    }
}

// ---------------------------------------------------------------------------------------------
// Amazon Polly
// ---------------------------------------------------------------------------------------------

/// Amazon Polly: the Czech neural voice Jitka, 16-bit PCM at 8 kHz (telephony), wrapped into WAV.
#[derive(Debug, Clone)]
pub struct PollySynthesizer {
    client: Client,
    sample_rate: u32,
}

impl PollySynthesizer {
    /// The Czech voice (Polly has one; it is neural only).
    pub const DEFAULT_VOICE: &'static str = "Jitka";

    /// Telephony quality; Polly's `pcm` output also offers 16000.
    pub const SAMPLE_RATE: u32 = 8_000;

    pub fn new(client: Client) -> Self {
        Self {
            client,
            sample_rate: Self::SAMPLE_RATE,
        }
    }

    /// With a client built from the shared SDK configuration.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk_config))
    }
}

#[async_trait]
impl SpeechSynthesizer for PollySynthesizer {
    fn engine(&self) -> &'static str {
        "polly"
    }

    fn default_voice(&self) -> &str {
        Self::DEFAULT_VOICE
    }

    async fn synthesize(&self, text: &str, voice: Option<&str>) -> Result<Vec<u8>, TtsError> {
        check_tts_text(text)?;
        let name = voice.unwrap_or(Self::DEFAULT_VOICE);
        if !VoiceId::values().contains(&name) {
            return Err(TtsError::UnknownVoice(name.to_owned()));
        }
        let engine_error = |source: Box<dyn std::error::Error + Send + Sync>| TtsError::Engine {
            engine: "polly",
            source,
        };
        let output = self
            .client
            .synthesize_speech()
            .engine(Engine::Neural)
            .voice_id(VoiceId::from(name))
            .output_format(OutputFormat::Pcm)
            .sample_rate(self.sample_rate.to_string())
            .text_type(TextType::Text)
            .text(text)
            .send()
            .await
            .map_err(|error| engine_error(error.into()))?;
        let pcm = output
            .audio_stream
            .collect()
            .await
            .map_err(|error| engine_error(error.into()))?
            .into_bytes();
        let wav =
            pcm16_to_wav(&pcm, self.sample_rate).map_err(|error| engine_error(error.into()))?;
        validate_wav(&wav).map_err(TtsError::BadAudio)?;
        Ok(wav)
    }
}

// ---------------------------------------------------------------------------------------------
// espeak-ng
// ---------------------------------------------------------------------------------------------

/// espeak-ng on the machine (`espeak-ng` on `PATH`, Debian package `espeak-ng`): Czech,
/// 22.05 kHz 16-bit mono WAV. The text goes in on stdin, so nothing in it can become an
/// option; no shell is involved.
#[derive(Debug, Clone)]
pub struct EspeakSynthesizer {
    program: String,
    timeout: Duration,
}

impl Default for EspeakSynthesizer {
    fn default() -> Self {
        Self::new()
    }
}

impl EspeakSynthesizer {
    /// The Czech voice.
    pub const DEFAULT_VOICE: &'static str = "cs";

    pub fn new() -> Self {
        Self {
            program: "espeak-ng".to_owned(),
            timeout: Duration::from_secs(20),
        }
    }

    /// Another executable (tests).
    pub fn with_program(mut self, program: impl Into<String>) -> Self {
        self.program = program.into();
        self
    }

    /// The espeak voice of a prompt's voice: `cs` and its variants (`cs+f3`) as they are,
    /// anything else (a Polly voice name of a tree edited for AWS) the Czech default.
    fn voice_of(voice: Option<&str>) -> &str {
        match voice {
            Some(voice)
                if voice == "cs"
                    || voice.strip_prefix("cs+").is_some_and(|variant| {
                        !variant.is_empty()
                            && variant.len() <= 10
                            && variant.bytes().all(|b| b.is_ascii_alphanumeric())
                    }) =>
            {
                voice
            }
            _ => Self::DEFAULT_VOICE,
        }
    }

    async fn run(&self, text: &str, voice: &str) -> Result<Vec<u8>, TtsError> {
        let engine_error = |source: Box<dyn std::error::Error + Send + Sync>| TtsError::Engine {
            engine: "espeak",
            source,
        };
        let mut child = Command::new(&self.program)
            .args(["-v", voice, "-b", "1", "--stdin", "--stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| engine_error(error.into()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .await
                .map_err(|error| engine_error(error.into()))?;
            // Dropping stdin closes it: espeak-ng reads to the end.
        }
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|elapsed| engine_error(elapsed.into()))?
            .map_err(|error| engine_error(error.into()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(engine_error(
                format!("exited with {}: {}", output.status, stderr.trim()).into(),
            ));
        }
        Ok(output.stdout)
    }
}

#[async_trait]
impl SpeechSynthesizer for EspeakSynthesizer {
    fn engine(&self) -> &'static str {
        "espeak"
    }

    fn default_voice(&self) -> &str {
        Self::DEFAULT_VOICE
    }

    async fn synthesize(&self, text: &str, voice: Option<&str>) -> Result<Vec<u8>, TtsError> {
        check_tts_text(text)?;
        let stdout = self.run(text, Self::voice_of(voice)).await?;
        let wav = fix_streamed_wav_lengths(stdout).map_err(TtsError::BadAudio)?;
        validate_wav(&wav).map_err(TtsError::BadAudio)?;
        Ok(wav)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn espeak_available() -> bool {
        std::process::Command::new("espeak-ng")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// espeak-ng must be installed where `CI` is set (scripts/bootstrap.sh installs it); elsewhere
    /// the test says it was skipped.
    fn require_espeak() -> bool {
        if espeak_available() {
            return true;
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "espeak-ng is not on PATH (apt-get install espeak-ng; scripts/bootstrap.sh does)"
        );
        eprintln!("espeak-ng is not on PATH: skipped");
        false
    }

    #[tokio::test]
    async fn when_espeak_reads_czech_text_should_return_a_valid_mono_wav() {
        if !require_espeak() {
            return;
        }
        // GIVEN the espeak synthesizer
        let synthesizer = EspeakSynthesizer::new();
        // WHEN it reads Czech text, one that looks like an option included
        let wav = synthesizer
            .synthesize(
                "--help Dobrý den, vítejte na lince zdravotní pojišťovny.",
                None,
            )
            .await
            .unwrap();
        // THEN the WAV is valid, mono 16-bit, and lasts a while
        let info = validate_wav(&wav).unwrap();
        assert_eq!(info.channels, 1);
        assert_eq!(info.bits_per_sample, 16);
        assert!(info.duration_ms > 1000, "{info:?}");
    }

    #[tokio::test]
    async fn when_espeak_is_given_a_foreign_voice_should_read_with_the_czech_one() {
        if !require_espeak() {
            return;
        }
        let synthesizer = EspeakSynthesizer::new();
        let wav = synthesizer.synthesize("Ahoj", Some("Jitka")).await.unwrap();
        assert!(validate_wav(&wav).is_ok());
        assert_eq!(EspeakSynthesizer::voice_of(Some("cs+f3")), "cs+f3");
        assert_eq!(EspeakSynthesizer::voice_of(Some("-x")), "cs");
        assert_eq!(EspeakSynthesizer::voice_of(Some("cs+")), "cs");
    }

    #[tokio::test]
    async fn when_the_program_is_missing_should_be_an_engine_error() {
        let synthesizer = EspeakSynthesizer::new().with_program("/nonexistent/espeak-ng");
        let error = synthesizer.synthesize("Ahoj", None).await.unwrap_err();
        assert!(
            matches!(
                error,
                TtsError::Engine {
                    engine: "espeak",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn when_text_is_blank_should_refuse_it_without_running_anything() {
        let synthesizer = EspeakSynthesizer::new().with_program("/nonexistent/espeak-ng");
        let error = synthesizer.synthesize("   ", None).await.unwrap_err();
        assert!(matches!(error, TtsError::InvalidText), "{error:?}");
    }

    #[tokio::test]
    async fn when_polly_is_asked_for_an_unknown_voice_should_refuse_before_calling_aws() {
        let config = aws_sdk_polly::Config::builder()
            .behavior_version(aws_sdk_polly::config::BehaviorVersion::latest())
            .region(aws_sdk_polly::config::Region::new("eu-central-1"))
            .build();
        let synthesizer = PollySynthesizer::new(Client::from_conf(config));
        let error = synthesizer
            .synthesize("Dobrý den", Some("cs-CZ-Standard-A"))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, TtsError::UnknownVoice(voice) if voice == "cs-CZ-Standard-A"),
            "{error:?}"
        );
    }
}
