//! Access-token validation shared by every function.
//!
//! Tokens are JWTs signed with RS256 by the identity provider (the local issuer of the dev gateway,
//! AD FS / Entra ID in production). [`TokenValidator::validate`] checks, in this order:
//! 1. the shape, and that the header says `alg: RS256` and carries a `kid` — anything else
//!    (`none`, `HS*`, `ES*`, ...) is refused before any key is looked at, which closes the
//!    algorithm-confusion attacks (e.g. HS256 signed with the public key as the secret);
//! 2. the key: `kid` is looked up in a cached JWKS; an unknown `kid` triggers one refetch
//!    (at most one per [`JWKS_REFETCH_INTERVAL`], so a flood of made-up `kid`s cannot hammer the
//!    issuer), which also picks up key rotation; still unknown → [`AuthError::UnknownKey`];
//! 3. the signature, then `iss`, `aud`, `exp` and `nbf` (leeway [`LEEWAY_SECONDS`]).

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{
    errors::ErrorKind,
    jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse},
    Algorithm, DecodingKey, Validation,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;
use tokio::{sync::Mutex, time::Instant};

use crate::{
    config::{self, ConfigError, Env, ProcessEnv},
    BoxError,
};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
/// At most one JWKS refetch per this interval when a token names an unknown `kid`.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// The claim that carries roles unless `AUTH_ROLES_CLAIM` says otherwise.
pub const DEFAULT_ROLES_CLAIM: &str = "roles";
/// Longer tokens are refused unparsed (ours are about 1 KiB).
const MAX_TOKEN_LENGTH: usize = 16 * 1024;
/// Longer `kid`s are refused (they would end up in logs and cache keys).
const MAX_KID_LENGTH: usize = 256;
/// How long one JWKS download may take.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// Where tokens come from and who they must be for. Read from `AUTH_*` (set in the template's
/// `Globals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Expected `iss`, e.g. `http://127.0.0.1:8080/auth`.
    pub issuer: String,
    /// Expected `aud`, e.g. `linka-api`.
    pub audience: String,
    /// Where the issuer publishes its signing keys.
    pub jwks_url: String,
    /// Claim holding the roles; a dotted path (`realm_access.roles`) walks nested objects.
    pub roles_claim: String,
}

impl AuthConfig {
    /// The environment variables [`AuthConfig::from_env`] reads.
    pub const ENVIRONMENT: &'static [&'static str] = &[
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
        "AUTH_JWKS_URL",
        "AUTH_ROLES_CLAIM",
    ];

    /// Reads `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_JWKS_URL` and `AUTH_ROLES_CLAIM` (default `roles`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    /// As [`AuthConfig::from_env`], from any [`Env`].
    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            issuer: config::required(env, "AUTH_ISSUER")?,
            audience: config::required(env, "AUTH_AUDIENCE")?,
            jwks_url: config::required_url(env, "AUTH_JWKS_URL")?,
            roles_claim: config::optional(env, "AUTH_ROLES_CLAIM")
                .unwrap_or_else(|| DEFAULT_ROLES_CLAIM.to_owned()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Roles and principal
// ---------------------------------------------------------------------------------------------

/// The roles of ADM-3 plus the machine clients' roles, as spelled in the roles claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    Supervisor,
    Agent,
    Wallboard,
    RecordingListen,
    RecordingDownload,
    Queues,
    Callbacks,
    /// Machine client: the insurer's ICIS system.
    Icis,
    /// Machine client: the chatbot.
    Chatbot,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 10] = [
        Role::Admin,
        Role::Supervisor,
        Role::Agent,
        Role::Wallboard,
        Role::RecordingListen,
        Role::RecordingDownload,
        Role::Queues,
        Role::Callbacks,
        Role::Icis,
        Role::Chatbot,
    ];

    /// The claim string, e.g. `recording-listen`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Wallboard => "wallboard",
            Role::RecordingListen => "recording-listen",
            Role::RecordingDownload => "recording-download",
            Role::Queues => "queues",
            Role::Callbacks => "callbacks",
            Role::Icis => "icis",
            Role::Chatbot => "chatbot",
        }
    }

    /// Machine clients (OAuth client credentials) rather than people.
    pub fn is_machine(self) -> bool {
        matches!(self, Role::Icis | Role::Chatbot)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role string that names no [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown role")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or(UnknownRole)
    }
}

/// Serde adapter for role sets that skips unknown role strings instead of failing, so that a
/// role added by the identity provider (or an old record) never locks anyone out:
/// `#[serde(with = "linka_shared::auth::lenient_roles")]`.
pub mod lenient_roles {
    use std::collections::BTreeSet;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Role;

    pub fn serialize<S: Serializer>(
        roles: &BTreeSet<Role>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        roles.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeSet<Role>, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        Ok(names.iter().filter_map(|name| name.parse().ok()).collect())
    }
}

/// Who is calling, as established from a validated access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// `sub`.
    pub subject: String,
    /// `preferred_username`, or `sub` when the token has none (machine clients).
    pub username: String,
    /// `name`.
    #[serde(rename = "name")]
    pub display_name: Option<String>,
    /// Known roles from the roles claim; unknown strings are ignored.
    #[serde(with = "lenient_roles")]
    pub roles: BTreeSet<Role>,
    /// `azp` (or `appid`, or `client_id`): the OAuth client the token was issued to.
    pub client_id: Option<String>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a token was refused (or could not be checked).
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("no bearer token was presented")]
    MissingToken,
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    #[error("the token is signed with an unsupported algorithm")]
    UnsupportedAlgorithm,
    #[error("the token header has no key id (kid)")]
    MissingKeyId,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by an unexpected issuer")]
    WrongIssuer,
    #[error("the token is not meant for this API (audience)")]
    WrongAudience,
    #[error("the token lacks the required claim {0}")]
    MissingClaim(String),
    #[error("the token was refused")]
    Rejected(#[source] jsonwebtoken::errors::Error),
    #[error("the signing keys of the identity provider are unavailable")]
    JwksUnavailable(#[source] JwksError),
}

impl AuthError {
    /// A stable, machine-readable code for problem bodies and logs (the UI translates it).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "token-missing",
            AuthError::Malformed(_) => "token-malformed",
            AuthError::UnsupportedAlgorithm => "token-algorithm-unsupported",
            AuthError::MissingKeyId => "token-kid-missing",
            AuthError::UnknownKey => "token-key-unknown",
            AuthError::BadSignature => "token-signature-invalid",
            AuthError::Expired => "token-expired",
            AuthError::NotYetValid => "token-not-yet-valid",
            AuthError::WrongIssuer => "token-issuer-invalid",
            AuthError::WrongAudience => "token-audience-invalid",
            AuthError::MissingClaim(_) => "token-claim-missing",
            AuthError::Rejected(_) => "token-invalid",
            AuthError::JwksUnavailable(_) => "auth-unavailable",
        }
    }

    /// `true` when the fault is ours (the keys could not be fetched), not the caller's token:
    /// answer 503, not 401.
    pub fn is_server_error(&self) -> bool {
        matches!(self, AuthError::JwksUnavailable(_))
    }

    fn from_jwt(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim.clone()),
            _ => AuthError::Rejected(error),
        }
    }
}

/// The JWKS could not be obtained.
#[derive(Debug, Error)]
pub enum JwksError {
    #[error("failed to build the HTTP client for the JWKS")]
    Client(#[source] reqwest::Error),
    #[error("failed to fetch the JWKS from {url}")]
    Fetch {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the JWKS is unavailable")]
    Unavailable(#[source] BoxError),
}

// ---------------------------------------------------------------------------------------------
// JWKS sources
// ---------------------------------------------------------------------------------------------

/// Where the signing keys come from.
#[async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self) -> Result<JwkSet, JwksError>;
}

/// Fetches the JWKS over HTTP(S) from `AUTH_JWKS_URL`.
#[derive(Debug, Clone)]
pub struct HttpJwksSource {
    client: reqwest::Client,
    url: String,
}

impl HttpJwksSource {
    pub fn new(url: impl Into<String>) -> Result<Self, JwksError> {
        let client = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .build()
            .map_err(JwksError::Client)?;
        Ok(Self {
            client,
            url: url.into(),
        })
    }
}

#[derive(Deserialize)]
struct RawJwkSet {
    #[serde(default)]
    keys: Vec<Value>,
}

#[async_trait]
impl JwksSource for HttpJwksSource {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        let fetch_error = |source| JwksError::Fetch {
            url: self.url.clone(),
            source,
        };
        let raw: RawJwkSet = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fetch_error)?
            .json()
            .await
            .map_err(fetch_error)?;
        // Parse key by key: one key of a type jsonwebtoken does not model must not hide the rest.
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
            .collect();
        Ok(JwkSet { keys })
    }
}

// ---------------------------------------------------------------------------------------------
// Validator
// ---------------------------------------------------------------------------------------------

/// Validates access tokens against a cached JWKS. Cheap to share (`&self`); one per process.
pub struct TokenValidator<J> {
    source: J,
    validation: Validation,
    roles_claim: Vec<String>,
    refetch_interval: Duration,
    cache: Mutex<KeyCache>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, Arc<DecodingKey>>,
    loaded: bool,
    last_attempt: Option<Instant>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl<J: JwksSource> TokenValidator<J> {
    pub fn new(config: &AuthConfig, source: J) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            source,
            validation,
            roles_claim: config.roles_claim.split('.').map(str::to_owned).collect(),
            refetch_interval: JWKS_REFETCH_INTERVAL,
            cache: Mutex::new(KeyCache::default()),
        }
    }

    /// Validates `token` (without the `Bearer ` prefix) and returns who it identifies.
    pub async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        let kid = parse_header(token)?;
        let key = self.key_for(&kid).await?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(AuthError::from_jwt)?;
        self.principal_from(&data.claims)
    }

    async fn key_for(&self, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(key) = cache.keys.get(kid) {
            return Ok(Arc::clone(key));
        }
        let may_fetch = !cache.loaded
            || cache
                .last_attempt
                .is_none_or(|at| at.elapsed() >= self.refetch_interval);
        if !may_fetch {
            tracing::debug!("unknown kid, JWKS refetch rate-limited");
            return Err(AuthError::UnknownKey);
        }
        cache.last_attempt = Some(Instant::now());
        let jwks = self
            .source
            .fetch()
            .await
            .map_err(AuthError::JwksUnavailable)?;
        cache.keys = usable_keys(&jwks);
        cache.loaded = true;
        tracing::info!(keys = cache.keys.len(), "JWKS loaded");
        cache
            .keys
            .get(kid)
            .map(Arc::clone)
            .ok_or(AuthError::UnknownKey)
    }

    fn principal_from(&self, claims: &Map<String, Value>) -> Result<Principal, AuthError> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let subject = text("sub").ok_or_else(|| AuthError::MissingClaim("sub".to_owned()))?;
        Ok(Principal {
            username: text("preferred_username").unwrap_or_else(|| subject.clone()),
            subject,
            display_name: text("name"),
            roles: roles_from(claims, &self.roles_claim),
            // `azp` (OIDC, Entra v2), `appid` (AD FS, Entra v1 access tokens), `client_id` (RFC 9068).
            client_id: text("azp")
                .or_else(|| text("appid"))
                .or_else(|| text("client_id")),
        })
    }
}

/// Checks the header before anything else: RS256 only, `kid` required.
fn parse_header(token: &str) -> Result<String, AuthError> {
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    if token.len() > MAX_TOKEN_LENGTH {
        return Err(AuthError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed("expected three dot-separated parts"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed("header is not base64url"))?;
    let header: RawHeader = serde_json::from_slice(&header)
        .map_err(|_| AuthError::Malformed("header is not a JSON object"))?;
    if header.alg != "RS256" {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    match header.kid {
        None => Err(AuthError::MissingKeyId),
        Some(kid) if kid.is_empty() => Err(AuthError::MissingKeyId),
        Some(kid) if kid.len() > MAX_KID_LENGTH => Err(AuthError::Malformed("kid too long")),
        Some(kid) => Ok(kid),
    }
}

/// The RSA signing keys of a JWKS, by `kid`. Keys without `kid`, for encryption, or declared for
/// another algorithm are left out.
fn usable_keys(jwks: &JwkSet) -> HashMap<String, Arc<DecodingKey>> {
    jwks.keys
        .iter()
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| {
            matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            )
        })
        .filter(|jwk| matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)))
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => Some((kid, Arc::new(key))),
                Err(error) => {
                    tracing::warn!(kid, error.message = %error, "skipping unusable JWK");
                    None
                }
            }
        })
        .collect()
}

/// Known roles under the (possibly dotted) roles claim; a single string counts as one role.
fn roles_from(claims: &Map<String, Value>, path: &[String]) -> BTreeSet<Role> {
    let mut node: Option<&Value> = None;
    for (index, segment) in path.iter().enumerate() {
        node = if index == 0 {
            claims.get(segment)
        } else {
            node.and_then(|value| value.get(segment))
        };
    }
    match node {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|name| name.parse().ok())
            .collect(),
        Some(Value::String(name)) => name.parse().ok().into_iter().collect(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::testing::{StaticJwks, TestIssuer, TestKey, AUDIENCE, ISSUER};

    fn validator(issuer: &TestIssuer) -> (TokenValidator<StaticJwks>, StaticJwks) {
        let jwks = StaticJwks::new(vec![issuer.key().jwk()]);
        (
            TokenValidator::new(&issuer.auth_config(), jwks.clone()),
            jwks,
        )
    }

    fn unsigned_token(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[tokio::test]
    async fn when_token_is_valid_should_return_principal() {
        // GIVEN a token from the expected issuer for a supervisor with an unknown extra role
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("supervisor", &["supervisor", "queues"]);
        claims["roles"] = json!(["supervisor", "queues", "space-pilot"]);
        let token = issuer.sign(&claims);
        // WHEN it is validated
        let principal = validator.validate(&token).await.unwrap();
        // THEN the principal carries the username, name, client and the known roles only
        assert_eq!(principal.username, "supervisor");
        assert_eq!(principal.subject, "sub-supervisor");
        assert_eq!(principal.display_name.as_deref(), Some("Test supervisor"));
        assert_eq!(principal.client_id.as_deref(), Some("linka-web"));
        assert_eq!(
            principal.roles,
            BTreeSet::from([Role::Supervisor, Role::Queues])
        );
    }

    #[tokio::test]
    async fn when_token_has_expired_should_return_expired() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["exp"] = json!(TestIssuer::now() - 120);
        let result = validator.validate(&issuer.sign(&claims)).await;
        assert!(matches!(result, Err(AuthError::Expired)), "{result:?}");
    }

    #[tokio::test]
    async fn when_token_expired_within_leeway_should_be_accepted() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["exp"] = json!(TestIssuer::now() - 10);
        assert!(validator.validate(&issuer.sign(&claims)).await.is_ok());
    }

    #[tokio::test]
    async fn when_token_is_not_yet_valid_should_return_not_yet_valid() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["nbf"] = json!(TestIssuer::now() + 300);
        let result = validator.validate(&issuer.sign(&claims)).await;
        assert!(matches!(result, Err(AuthError::NotYetValid)), "{result:?}");
    }

    #[tokio::test]
    async fn when_token_has_wrong_issuer_should_return_wrong_issuer() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["iss"] = json!("https://evil.example/auth");
        let result = validator.validate(&issuer.sign(&claims)).await;
        assert!(matches!(result, Err(AuthError::WrongIssuer)), "{result:?}");
    }

    #[tokio::test]
    async fn when_token_has_wrong_audience_should_return_wrong_audience() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["aud"] = json!(["another-api"]);
        let result = validator.validate(&issuer.sign(&claims)).await;
        assert!(
            matches!(result, Err(AuthError::WrongAudience)),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn when_token_lacks_audience_should_return_missing_claim() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims.as_object_mut().unwrap().remove("aud");
        let result = validator.validate(&issuer.sign(&claims)).await;
        assert!(
            matches!(result, Err(AuthError::MissingClaim(ref c)) if c == "aud"),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn when_alg_is_none_should_refuse_before_fetching_keys() {
        // GIVEN an unsigned token that names a real kid
        let issuer = TestIssuer::primary();
        let (validator, jwks) = validator(&issuer);
        let token = unsigned_token(
            json!({"alg": "none", "typ": "JWT", "kid": issuer.key().kid()}),
            issuer.claims("admin", &["admin"]),
        );
        // WHEN it is validated
        let result = validator.validate(&token).await;
        // THEN it is refused for its algorithm, and no key was even fetched
        assert!(
            matches!(result, Err(AuthError::UnsupportedAlgorithm)),
            "{result:?}"
        );
        assert_eq!(jwks.fetches.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn when_token_is_hs256_signed_with_the_public_key_should_refuse_it() {
        // GIVEN the classic algorithm-confusion attack: HS256 with the RSA public key as secret
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let jwk_json = serde_json::to_vec(&issuer.key().jwk()).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(issuer.key().kid().to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &issuer.claims("admin", &["admin"]),
            &EncodingKey::from_secret(&jwk_json),
        )
        .unwrap();
        // WHEN it is validated
        let result = validator.validate(&token).await;
        // THEN the algorithm is refused
        assert!(
            matches!(result, Err(AuthError::UnsupportedAlgorithm)),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn when_kid_is_missing_should_return_missing_key_id() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let token = issuer.sign_with_header(&issuer.claims("agent01", &["agent"]), None);
        let result = validator.validate(&token).await;
        assert!(matches!(result, Err(AuthError::MissingKeyId)), "{result:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn when_kid_is_unknown_should_refetch_once_then_refuse() {
        // GIVEN a validator that has loaded the JWKS once
        let issuer = TestIssuer::primary();
        let stranger = TestIssuer::rotated();
        let (validator, jwks) = validator(&issuer);
        validator
            .validate(&issuer.sign(&issuer.claims("a", &["agent"])))
            .await
            .unwrap();
        assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
        // WHEN a token signed by a key the issuer never published arrives, 31 s later
        tokio::time::advance(Duration::from_secs(31)).await;
        let token = stranger.sign(&stranger.claims("a", &["agent"]));
        let first = validator.validate(&token).await;
        // THEN the JWKS is refetched once and the token refused
        assert!(matches!(first, Err(AuthError::UnknownKey)), "{first:?}");
        assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
        // AND a second try within 30 s is refused without another fetch (rate limit)
        tokio::time::advance(Duration::from_secs(10)).await;
        let second = validator.validate(&token).await;
        assert!(matches!(second, Err(AuthError::UnknownKey)), "{second:?}");
        assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
        // AND after 30 s a refetch is allowed again
        tokio::time::advance(Duration::from_secs(25)).await;
        let third = validator.validate(&token).await;
        assert!(matches!(third, Err(AuthError::UnknownKey)), "{third:?}");
        assert_eq!(jwks.fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn when_issuer_rotates_its_key_should_refetch_and_accept_new_tokens() {
        // GIVEN a validator that cached the old key
        let old = TestIssuer::primary();
        let new = TestIssuer::rotated();
        let (validator, jwks) = validator(&old);
        validator
            .validate(&old.sign(&old.claims("a", &["agent"])))
            .await
            .unwrap();
        // WHEN the issuer publishes a new key and signs with it
        jwks.replace(vec![new.key().jwk()]);
        tokio::time::advance(Duration::from_secs(60)).await;
        let result = validator
            .validate(&new.sign(&new.claims("a", &["agent"])))
            .await;
        // THEN the refetch finds the new key and the token is accepted
        assert_eq!(result.unwrap().username, "a");
        assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn when_signature_is_tampered_should_return_bad_signature() {
        // GIVEN a valid agent token whose payload is swapped for one claiming admin
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let token = issuer.sign(&issuer.claims("agent01", &["agent"]));
        let forged_payload =
            URL_SAFE_NO_PAD.encode(issuer.claims("agent01", &["admin"]).to_string());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        // WHEN validated
        let result = validator.validate(&forged).await;
        // THEN the signature check fails
        assert!(matches!(result, Err(AuthError::BadSignature)), "{result:?}");
    }

    #[tokio::test]
    async fn when_token_is_garbage_should_return_malformed() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        for token in [
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.e30.x",
            "e30.e30.x",
            &"x".repeat(20_000),
        ] {
            let result = validator.validate(token).await;
            assert!(
                matches!(result, Err(AuthError::Malformed(_))),
                "{token}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn when_jwks_is_unavailable_should_report_a_server_error() {
        let issuer = TestIssuer::primary();
        let jwks = StaticJwks::failing();
        let validator = TokenValidator::new(&issuer.auth_config(), jwks);
        let result = validator
            .validate(&issuer.sign(&issuer.claims("a", &["agent"])))
            .await;
        let error = result.unwrap_err();
        assert!(error.is_server_error());
        assert_eq!(error.code(), "auth-unavailable");
    }

    #[tokio::test]
    async fn when_roles_claim_is_nested_should_read_it() {
        // GIVEN AUTH_ROLES_CLAIM=realm_access.roles (Keycloak style)
        let issuer = TestIssuer::primary();
        let mut config = issuer.auth_config();
        config.roles_claim = "realm_access.roles".to_owned();
        let validator = TokenValidator::new(&config, StaticJwks::new(vec![issuer.key().jwk()]));
        let mut claims = issuer.claims("w", &[]);
        claims["realm_access"] = json!({"roles": ["wallboard"]});
        // WHEN validated THEN the nested roles are read
        let principal = validator.validate(&issuer.sign(&claims)).await.unwrap();
        assert_eq!(principal.roles, BTreeSet::from([Role::Wallboard]));
    }

    #[tokio::test]
    async fn when_machine_token_has_no_username_should_use_subject() {
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("icis", &["icis"]);
        claims.as_object_mut().unwrap().remove("preferred_username");
        claims["sub"] = json!("icis");
        claims["azp"] = json!("icis");
        let principal = validator.validate(&issuer.sign(&claims)).await.unwrap();
        assert_eq!(principal.username, "icis");
        assert_eq!(principal.roles, BTreeSet::from([Role::Icis]));
    }

    #[tokio::test]
    async fn when_token_names_its_client_in_appid_should_read_it() {
        // GIVEN an AD FS / Entra v1 style token: the client is in `appid`, no `azp`
        let issuer = TestIssuer::primary();
        let (validator, _) = validator(&issuer);
        let mut claims = issuer.claims("icis", &["icis"]);
        claims.as_object_mut().unwrap().remove("azp");
        claims["appid"] = json!("5e1c0ad2-icis");
        // WHEN validated THEN the client id comes from `appid`
        let principal = validator.validate(&issuer.sign(&claims)).await.unwrap();
        assert_eq!(principal.client_id.as_deref(), Some("5e1c0ad2-icis"));
    }

    #[test]
    fn when_role_strings_round_trip_should_match_claim_spelling() {
        for role in Role::ALL {
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json, json!(role.as_str()));
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert_eq!(
            "recording-listen".parse::<Role>().unwrap(),
            Role::RecordingListen
        );
        assert!("Admin".parse::<Role>().is_err());
    }

    #[test]
    fn when_config_lacks_roles_claim_should_default_to_roles() {
        let env = |name: &str| match name {
            "AUTH_ISSUER" => Some(ISSUER.to_owned()),
            "AUTH_AUDIENCE" => Some(AUDIENCE.to_owned()),
            "AUTH_JWKS_URL" => Some("http://127.0.0.1:8080/auth/jwks.json".to_owned()),
            _ => None,
        };
        let config = AuthConfig::from_source(&env).unwrap();
        assert_eq!(config.roles_claim, "roles");
    }

    #[test]
    fn when_config_lacks_issuer_should_name_it() {
        let env = |_: &str| None;
        assert_eq!(
            AuthConfig::from_source(&env),
            Err(ConfigError::Missing {
                name: "AUTH_ISSUER"
            })
        );
    }

    #[test]
    fn when_test_keys_are_distinct_should_have_distinct_kids() {
        assert_ne!(TestKey::primary().kid(), TestKey::rotated().kid());
    }
}
