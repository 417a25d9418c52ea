//! Participant tokens: what a web-widget visitor holds to read and write one conversation
//! (issue 7, CHAT-1/6). The start call issues one; every later call of the visitor carries it as
//! its Bearer token. HS256 with Linka's own secret, `aud` = [`AUDIENCE`], `sub` = the
//! conversation id: valid for that conversation only, for [`LIFETIME_HOURS`] hours.
//! (Identity-provider tokens are RS256; [`is_participant_token`] tells the two apart.)

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The `iss` and `aud` of participant tokens.
pub const ISSUER: &str = "linka-chat";
pub const AUDIENCE: &str = "linka-chat-participant";
/// How long a participant token is valid.
pub const LIFETIME_HOURS: i64 = 24;
/// The shortest secret accepted (bytes).
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
}

#[derive(Debug, Error)]
pub enum ParticipantTokenError {
    #[error("the participant token secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
    #[error("the participant token is not valid")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    #[error("failed to sign a participant token")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// Issues and checks participant tokens.
#[derive(Clone)]
pub struct ParticipantTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for ParticipantTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParticipantTokens(..)")
    }
}

/// Whether a Bearer token is a participant token (HS256) rather than the identity provider's.
pub fn is_participant_token(token: &str) -> bool {
    decode_header(token).is_ok_and(|header| header.alg == Algorithm::HS256)
}

impl ParticipantTokens {
    pub fn new(secret: &[u8]) -> Result<Self, ParticipantTokenError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ParticipantTokenError::WeakSecret);
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    /// A token for `conversation_id`, valid [`LIFETIME_HOURS`] from `now`.
    pub fn issue(
        &self,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ParticipantTokenError> {
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: conversation_id.to_owned(),
            iat: now.timestamp(),
            exp: (now + TimeDelta::hours(LIFETIME_HOURS)).timestamp(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ParticipantTokenError::Sign)
    }

    /// The conversation id the token is for, if it is ours, intact and not expired.
    pub fn verify(&self, token: &str) -> Result<String, ParticipantTokenError> {
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims.sub)
            .map_err(ParticipantTokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn when_a_token_is_issued_should_verify_to_its_conversation() {
        let tokens = ParticipantTokens::new(SECRET).unwrap();
        let token = tokens.issue("c-1", Utc::now()).unwrap();
        assert!(is_participant_token(&token));
        assert_eq!(tokens.verify(&token).unwrap(), "c-1");
    }

    #[test]
    fn when_a_token_is_expired_tampered_or_from_another_secret_should_be_refused() {
        let tokens = ParticipantTokens::new(SECRET).unwrap();
        let old = tokens
            .issue("c-1", Utc::now() - TimeDelta::hours(LIFETIME_HOURS + 1))
            .unwrap();
        assert!(tokens.verify(&old).is_err());
        let other = ParticipantTokens::new(b"another-secret-another-secret-xx").unwrap();
        assert!(tokens
            .verify(&other.issue("c-1", Utc::now()).unwrap())
            .is_err());
        let token = tokens.issue("c-1", Utc::now()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert!(tokens.verify(&parts.join(".")).is_err());
        assert!(!is_participant_token("not a token"));
    }

    #[test]
    fn when_the_secret_is_short_should_refuse_it() {
        assert!(matches!(
            ParticipantTokens::new(b"short"),
            Err(ParticipantTokenError::WeakSecret)
        ));
    }
}
