//! A local OpenID Connect issuer, so that the functions validate real RS256 tokens locally
//! exactly as they do in production (where AD FS / Entra ID issues them).
//!
//! - The signing key is RSA-2048, generated with aws-lc-rs on first start and kept as a PKCS#8
//!   PEM at `<state_dir>/issuer/key.pem`; its `kid` is the RFC 7638 JWK thumbprint, so it stays
//!   the same across restarts.
//! - Users and clients come from `localstack/identities.json`: a user's password is the user
//!   name, a confidential client's secret is its id + `-secret`. Both are compared in constant
//!   time.
//! - Endpoints, all under `/auth`: discovery, JWKS, token (`password` when allowed,
//!   `client_credentials`, `authorization_code` with PKCE S256, `refresh_token`), authorize (a
//!   small Czech login form) and userinfo. Errors follow RFC 6749 §5.2.

use std::{
    collections::HashMap,
    fs, io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use aws_lc_rs::{
    encoding::AsDer as _,
    rsa::{KeyPair, KeySize},
};
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Json, Router,
};
use base64::Engine as _;
use chrono::Utc;
use jsonwebtoken::{
    jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash},
    Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long an authorization code can be redeemed.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a refresh token lives.
const REFRESH_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// The client a password grant without `client_id` is issued to.
const DEFAULT_PASSWORD_CLIENT: &str = "linka-web";

/// What the issuer needs to start.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// The key lives at `<state_dir>/issuer/key.pem` (created when missing).
    pub state_dir: PathBuf,
    /// `localstack/identities.json`.
    pub identities_path: PathBuf,
    /// e.g. `http://127.0.0.1:8080/auth`; the `iss` of every token.
    pub issuer_url: String,
    /// The `aud` of access tokens, e.g. `linka-api`.
    pub audience: String,
    /// Whether `grant_type=password` is accepted (only ever locally).
    pub allow_password_grant: bool,
    /// Lifetime of access and ID tokens.
    pub token_lifetime: Duration,
}

/// Why the issuer could not start.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("could not create the directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not read the signing key {path}")]
    ReadKey {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write the signing key {path}")]
    WriteKey {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not generate an RSA-2048 key")]
    GenerateKey(#[source] aws_lc_rs::error::Unspecified),
    #[error("the signing key {path} is not a PEM file")]
    KeyPem {
        path: PathBuf,
        #[source]
        source: pem::PemError,
    },
    #[error("the signing key {path} is not an RSA private key in PKCS#8")]
    KeyRejected {
        path: PathBuf,
        #[source]
        source: aws_lc_rs::error::KeyRejected,
    },
    #[error("the signing key {path} cannot be used for RS256")]
    KeyUnusable {
        path: PathBuf,
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    #[error("could not read the identities {path}")]
    ReadIdentities {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the identities {path} do not have the expected shape")]
    ParseIdentities {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identities {
    users: Vec<UserIdentity>,
    clients: Vec<ClientIdentity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    username: String,
    name: String,
    roles: Vec<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientIdentity {
    client_id: String,
    name: String,
    public: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    preferred_username: String,
    name: String,
    roles: Vec<String>,
    azp: String,
}

/// The claims of an ID token (authorization-code flow).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdClaims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    auth_time: i64,
    azp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    preferred_username: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    roles: Vec<String>,
}

/// Who a token is for.
#[derive(Debug, Clone)]
enum Subject {
    User(UserIdentity),
    Client(ClientIdentity),
}

#[derive(Debug, Clone)]
struct AuthorizationCode {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    username: String,
    nonce: Option<String>,
    scope: Option<String>,
    auth_time: i64,
    expires_at: Instant,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    username: String,
    scope: Option<String>,
    expires_at: Instant,
}

/// The local OpenID issuer.
pub struct Issuer {
    config: IssuerConfig,
    kid: String,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    jwks: JwkSet,
    identities: Identities,
    codes: Mutex<HashMap<String, AuthorizationCode>>,
    refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
}

impl Issuer {
    /// Loads the signing key (creating it on first start) and the identities.
    pub fn load_or_create(config: IssuerConfig) -> Result<Issuer, IssuerError> {
        let key_path = config.state_dir.join("issuer").join("key.pem");
        let pem_text = if key_path.exists() {
            fs::read_to_string(&key_path).map_err(|source| IssuerError::ReadKey {
                path: key_path.clone(),
                source,
            })?
        } else {
            let pem_text = generate_key_pem()?;
            write_private_file(&key_path, &pem_text)?;
            tracing::info!(path = %key_path.display(), "generated a new issuer signing key");
            pem_text
        };
        let parsed = pem::parse(&pem_text).map_err(|source| IssuerError::KeyPem {
            path: key_path.clone(),
            source,
        })?;
        KeyPair::from_pkcs8(parsed.contents()).map_err(|source| IssuerError::KeyRejected {
            path: key_path.clone(),
            source,
        })?;
        let unusable = |source| IssuerError::KeyUnusable {
            path: key_path.clone(),
            source,
        };
        let encoding_key = EncodingKey::from_rsa_pem(pem_text.as_bytes()).map_err(unusable)?;
        let mut jwk = Jwk::from_encoding_key(&encoding_key, Algorithm::RS256).map_err(unusable)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(unusable)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding_key = DecodingKey::from_jwk(&jwk).map_err(unusable)?;

        let identities_text = fs::read_to_string(&config.identities_path).map_err(|source| {
            IssuerError::ReadIdentities {
                path: config.identities_path.clone(),
                source,
            }
        })?;
        let identities: Identities = serde_json::from_str(&identities_text).map_err(|source| {
            IssuerError::ParseIdentities {
                path: config.identities_path.clone(),
                source,
            }
        })?;

        Ok(Issuer {
            config,
            kid,
            encoding_key,
            decoding_key,
            jwks: JwkSet { keys: vec![jwk] },
            identities,
            codes: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The key id (RFC 7638 thumbprint) tokens carry in their header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys, as served at `/auth/jwks.json`.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// The `/auth/…` routes, to be merged at the root (not nested).
    ///
    /// Discovery, JWKS, token and userinfo answer cross-origin requests from the origins of
    /// the public clients' redirect URIs (the web app on the Vite dev server calls them).
    pub fn router(self: Arc<Self>) -> Router {
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.browser_origins()))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
        let api = Router::new()
            .route("/auth/.well-known/openid-configuration", get(discovery))
            .route("/auth/jwks.json", get(jwks))
            .route("/auth/token", axum::routing::post(token))
            .route("/auth/userinfo", get(userinfo).post(userinfo))
            .layer(cors);
        Router::new()
            .route(
                "/auth/authorize",
                get(authorize_form).post(authorize_submit),
            )
            .merge(api)
            .with_state(self)
    }

    /// The origins (`scheme://host:port`) of the public clients' redirect URIs.
    fn browser_origins(&self) -> Vec<HeaderValue> {
        let mut origins: Vec<String> = self
            .identities
            .clients
            .iter()
            .filter(|client| client.public)
            .flat_map(|client| &client.redirect_uris)
            .filter_map(|uri| url::Url::parse(uri).ok())
            .map(|uri| uri.origin().ascii_serialization())
            .collect();
        origins.sort();
        origins.dedup();
        origins
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok())
            .collect()
    }

    fn user(&self, username: &str) -> Option<&UserIdentity> {
        self.identities
            .users
            .iter()
            .find(|user| user.username == username)
    }

    fn client(&self, client_id: &str) -> Option<&ClientIdentity> {
        self.identities
            .clients
            .iter()
            .find(|client| client.client_id == client_id)
    }

    /// The user when the password is right (the password of a demo user is its name).
    fn check_password(&self, username: &str, password: &str) -> Option<&UserIdentity> {
        let user = self.user(username)?;
        constant_time_eq(user.username.as_bytes(), password.as_bytes()).then_some(user)
    }

    fn check_secret(client: &ClientIdentity, secret: &str) -> bool {
        !client.public
            && constant_time_eq(
                format!("{}-secret", client.client_id).as_bytes(),
                secret.as_bytes(),
            )
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, OAuthError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding_key).map_err(|error| {
            tracing::error!(error = %error, "could not sign a token");
            OAuthError::server_error()
        })
    }

    fn access_token(&self, subject: &Subject, azp: &str) -> Result<String, OAuthError> {
        let now = Utc::now().timestamp();
        let (sub, name, roles) = match subject {
            Subject::User(user) => (&user.username, &user.name, &user.roles),
            Subject::Client(client) => (&client.client_id, &client.name, &client.roles),
        };
        self.sign(&AccessClaims {
            iss: self.config.issuer_url.clone(),
            aud: self.config.audience.clone(),
            sub: sub.clone(),
            exp: now + self.lifetime_secs(),
            nbf: now,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            preferred_username: sub.clone(),
            name: name.clone(),
            roles: roles.clone(),
            azp: azp.to_owned(),
        })
    }

    fn id_token(
        &self,
        user: &UserIdentity,
        client_id: &str,
        nonce: Option<String>,
        auth_time: i64,
    ) -> Result<String, OAuthError> {
        let now = Utc::now().timestamp();
        self.sign(&IdClaims {
            iss: self.config.issuer_url.clone(),
            aud: client_id.to_owned(),
            sub: user.username.clone(),
            exp: now + self.lifetime_secs(),
            iat: now,
            auth_time,
            azp: client_id.to_owned(),
            nonce,
            preferred_username: user.username.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            roles: user.roles.clone(),
        })
    }

    fn lifetime_secs(&self) -> i64 {
        i64::try_from(self.config.token_lifetime.as_secs()).unwrap_or(i64::MAX / 2)
    }

    fn new_refresh_token(&self, client_id: &str, username: &str, scope: Option<String>) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut tokens = lock(&self.refresh_tokens);
        tokens.retain(|_, grant| grant.expires_at > now);
        tokens.insert(
            token.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                username: username.to_owned(),
                scope,
                expires_at: now + REFRESH_LIFETIME,
            },
        );
        token
    }

    /// Authenticates the client of a token request (RFC 6749 §2.3): HTTP Basic or
    /// `client_id`/`client_secret` in the form; a public client only names itself.
    fn authenticate_client(
        &self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Result<Option<AuthenticatedClient<'_>>, OAuthError> {
        let basic = basic_credentials(headers)?;
        let (client_id, secret) = match (basic, form.get("client_secret")) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ))
            }
            (Some((id, secret)), None) => {
                if form.get("client_id").is_some_and(|form_id| *form_id != id) {
                    return Err(OAuthError::invalid_request("client_id does not match"));
                }
                (id, Some(secret))
            }
            (None, secret) => match form.get("client_id") {
                Some(id) => (id.clone(), secret.cloned()),
                None if secret.is_some() => {
                    return Err(OAuthError::invalid_request("client_id is required"))
                }
                None => return Ok(None),
            },
        };
        let Some(client) = self.client(&client_id) else {
            return Err(OAuthError::invalid_client());
        };
        match secret {
            Some(secret) if Self::check_secret(client, &secret) => Ok(Some(AuthenticatedClient {
                client,
                confidential: true,
            })),
            Some(_) => Err(OAuthError::invalid_client()),
            None if client.public => Ok(Some(AuthenticatedClient {
                client,
                confidential: false,
            })),
            None => Err(OAuthError::invalid_client()),
        }
    }

    fn token_response(
        &self,
        access_token: String,
        refresh_token: Option<String>,
        id_token: Option<String>,
        scope: Option<String>,
    ) -> Response {
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.config.token_lifetime.as_secs(),
        });
        for (key, value) in [
            ("refresh_token", refresh_token),
            ("id_token", id_token),
            ("scope", scope),
        ] {
            if let Some(value) = value {
                body[key] = json!(value);
            }
        }
        (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(body),
        )
            .into_response()
    }

    fn password_grant(
        &self,
        client: Option<AuthenticatedClient<'_>>,
        form: &HashMap<String, String>,
    ) -> Result<Response, OAuthError> {
        if !self.config.allow_password_grant {
            return Err(OAuthError::unsupported_grant_type());
        }
        let username = required(form, "username")?;
        let password = required(form, "password")?;
        let client_id = client.map_or(DEFAULT_PASSWORD_CLIENT, |c| c.client.client_id.as_str());
        let user = self
            .check_password(username, password)
            .ok_or_else(|| OAuthError::invalid_grant("invalid username or password"))?;
        let access = self.access_token(&Subject::User(user.clone()), client_id)?;
        let scope = form.get("scope").cloned();
        let refresh = self.new_refresh_token(client_id, &user.username, scope.clone());
        Ok(self.token_response(access, Some(refresh), None, scope))
    }

    fn client_credentials_grant(
        &self,
        client: Option<AuthenticatedClient<'_>>,
    ) -> Result<Response, OAuthError> {
        let client = client.ok_or_else(OAuthError::invalid_client)?;
        if !client.confidential {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "a public client cannot use client_credentials",
            ));
        }
        let access = self.access_token(
            &Subject::Client(client.client.clone()),
            &client.client.client_id,
        )?;
        Ok(self.token_response(access, None, None, None))
    }

    fn authorization_code_grant(
        &self,
        client: Option<AuthenticatedClient<'_>>,
        form: &HashMap<String, String>,
    ) -> Result<Response, OAuthError> {
        let client = client.ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
        let code = required(form, "code")?;
        let redirect_uri = required(form, "redirect_uri")?;
        let verifier = required(form, "code_verifier")?;
        // A code is redeemed at most once: it is gone whether or not this attempt succeeds.
        let grant = lock(&self.codes)
            .remove(code)
            .ok_or_else(|| OAuthError::invalid_grant("unknown, used or expired code"))?;
        if grant.expires_at <= Instant::now() {
            return Err(OAuthError::invalid_grant("unknown, used or expired code"));
        }
        if grant.client_id != client.client.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if grant.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant("redirect_uri does not match"));
        }
        if !is_valid_verifier(verifier)
            || !constant_time_eq(
                pkce_challenge(verifier).as_bytes(),
                grant.code_challenge.as_bytes(),
            )
        {
            return Err(OAuthError::invalid_grant("code_verifier does not match"));
        }
        let user = self
            .user(&grant.username)
            .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
        let access = self.access_token(&Subject::User(user.clone()), &grant.client_id)?;
        let id_token = self.id_token(user, &grant.client_id, grant.nonce, grant.auth_time)?;
        let refresh = self.new_refresh_token(&grant.client_id, &user.username, grant.scope.clone());
        Ok(self.token_response(access, Some(refresh), Some(id_token), grant.scope))
    }

    fn refresh_token_grant(
        &self,
        client: Option<AuthenticatedClient<'_>>,
        form: &HashMap<String, String>,
    ) -> Result<Response, OAuthError> {
        let client = client.ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
        let token = required(form, "refresh_token")?;
        // Refresh tokens rotate: each is used once.
        let grant = lock(&self.refresh_tokens)
            .remove(token)
            .ok_or_else(|| OAuthError::invalid_grant("unknown, used or expired refresh token"))?;
        if grant.expires_at <= Instant::now() || grant.client_id != client.client.client_id {
            return Err(OAuthError::invalid_grant(
                "unknown, used or expired refresh token",
            ));
        }
        let user = self
            .user(&grant.username)
            .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
        let access = self.access_token(&Subject::User(user.clone()), &grant.client_id)?;
        let refresh = self.new_refresh_token(&grant.client_id, &user.username, grant.scope.clone());
        Ok(self.token_response(access, Some(refresh), None, grant.scope))
    }

    /// Checks an authorization request. Errors about the client or its redirect URI are shown
    /// on the page; the others go back to the (verified) redirect URI, per RFC 6749 §4.1.2.1.
    fn validate_authorize(
        &self,
        params: &AuthorizeParams,
    ) -> Result<ValidAuthorize, AuthorizeError> {
        let client = params
            .client_id
            .as_deref()
            .and_then(|id| self.client(id))
            .ok_or(AuthorizeError::Page("Neznámý klient (client_id)."))?;
        let redirect_uri = params
            .redirect_uri
            .as_deref()
            .filter(|uri| redirect_uri_allowed(&client.redirect_uris, uri))
            .ok_or(AuthorizeError::Page(
                "Adresa pro návrat (redirect_uri) není pro tohoto klienta povolena.",
            ))?
            .to_owned();
        let back = |error: &'static str, description: &'static str| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: params.state.clone(),
        };
        if params.response_type.as_deref() != Some("code") {
            return Err(back(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        let challenge = params
            .code_challenge
            .as_deref()
            .ok_or_else(|| back("invalid_request", "PKCE code_challenge is required"))?;
        if params.code_challenge_method.as_deref() != Some("S256") {
            return Err(back(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        let challenge_ok = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !challenge_ok {
            return Err(back(
                "invalid_request",
                "code_challenge is not a S256 challenge",
            ));
        }
        Ok(ValidAuthorize {
            client_id: client.client_id.clone(),
            redirect_uri,
            code_challenge: challenge.to_owned(),
        })
    }

    fn issue_code(
        &self,
        valid: &ValidAuthorize,
        params: &AuthorizeParams,
        username: &str,
    ) -> String {
        let code = random_token();
        let now = Instant::now();
        let mut codes = lock(&self.codes);
        codes.retain(|_, grant| grant.expires_at > now);
        codes.insert(
            code.clone(),
            AuthorizationCode {
                client_id: valid.client_id.clone(),
                redirect_uri: valid.redirect_uri.clone(),
                code_challenge: valid.code_challenge.clone(),
                username: username.to_owned(),
                nonce: params.nonce.clone(),
                scope: params.scope.clone(),
                auth_time: Utc::now().timestamp(),
                expires_at: now + CODE_LIFETIME,
            },
        );
        code
    }

    fn verify_access_token(
        &self,
        token: &str,
    ) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.config.issuer_url]);
        validation.set_audience(&[&self.config.audience]);
        validation.leeway = 30;
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding_key, &validation)
            .map(|data| data.claims)
    }
}

#[derive(Clone, Copy)]
struct AuthenticatedClient<'a> {
    client: &'a ClientIdentity,
    /// True when the client proved its secret.
    confidential: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
    scope: Option<String>,
}

struct ValidAuthorize {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
}

enum AuthorizeError {
    /// Shown to the user; never redirected (no open redirect).
    Page(&'static str),
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
    },
}

impl AuthorizeError {
    fn into_response(self, issuer_url: &str) -> Response {
        match self {
            AuthorizeError::Page(text) => (
                StatusCode::BAD_REQUEST,
                page_headers(),
                Html(error_page(text)),
            )
                .into_response(),
            AuthorizeError::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => {
                let mut pairs = vec![
                    ("error", error.to_owned()),
                    ("error_description", description.to_owned()),
                ];
                if let Some(state) = state {
                    pairs.push(("state", state));
                }
                pairs.push(("iss", issuer_url.to_owned()));
                Redirect::to(&with_query(&redirect_uri, &pairs)).into_response()
            }
        }
    }
}

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: &str) -> Self {
        Self {
            status,
            error,
            description: description.to_owned(),
        }
    }
    fn invalid_request(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    fn invalid_grant(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }
    fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
    }
    fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "the grant type is not supported",
        )
    }
    fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the token could not be issued",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"linka\""),
            );
        }
        response
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn discovery(State(issuer): State<Arc<Issuer>>) -> Json<Value> {
    let base = issuer.config.issuer_url.trim_end_matches('/');
    let mut grants = vec!["authorization_code", "client_credentials", "refresh_token"];
    if issuer.config.allow_password_grant {
        grants.push("password");
    }
    Json(json!({
        "issuer": issuer.config.issuer_url,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "azp", "nonce",
                             "auth_time", "preferred_username", "name", "email", "roles"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn jwks(State(issuer): State<Arc<Issuer>>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(issuer.jwks.clone()),
    )
        .into_response()
}

async fn token(State(issuer): State<Arc<Issuer>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = (|| {
        let form = parse_form(&body)?;
        let client = issuer.authenticate_client(&headers, &form)?;
        match form.get("grant_type").map(String::as_str) {
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some("password") => issuer.password_grant(client, &form),
            Some("client_credentials") => issuer.client_credentials_grant(client),
            Some("authorization_code") => issuer.authorization_code_grant(client, &form),
            Some("refresh_token") => issuer.refresh_token_grant(client, &form),
            Some(_) => Err(OAuthError::unsupported_grant_type()),
        }
    })();
    match result {
        Ok(response) => response,
        Err(error) => {
            tracing::info!(error = error.error, description = %error.description, "token request refused");
            error.into_response()
        }
    }
}

async fn authorize_form(
    State(issuer): State<Arc<Issuer>>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    match issuer.validate_authorize(&params) {
        Ok(_) => (page_headers(), Html(login_page(&params, None))).into_response(),
        Err(error) => error.into_response(&issuer.config.issuer_url),
    }
}

async fn authorize_submit(State(issuer): State<Arc<Issuer>>, body: Bytes) -> Response {
    let Ok(form) = parse_form(&body) else {
        return AuthorizeError::Page("Neplatný formulář.").into_response(&issuer.config.issuer_url);
    };
    let field = |name: &str| form.get(name).cloned();
    let params = AuthorizeParams {
        response_type: field("response_type"),
        client_id: field("client_id"),
        redirect_uri: field("redirect_uri"),
        state: field("state"),
        code_challenge: field("code_challenge"),
        code_challenge_method: field("code_challenge_method"),
        nonce: field("nonce"),
        scope: field("scope"),
    };
    let valid = match issuer.validate_authorize(&params) {
        Ok(valid) => valid,
        Err(error) => return error.into_response(&issuer.config.issuer_url),
    };
    let username = form.get("username").map(String::as_str).unwrap_or_default();
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    let Some(user) = issuer.check_password(username, password) else {
        let page = login_page(&params, Some("Neplatné uživatelské jméno nebo heslo."));
        return (StatusCode::UNAUTHORIZED, page_headers(), Html(page)).into_response();
    };
    let code = issuer.issue_code(&valid, &params, &user.username);
    let mut pairs = vec![("code", code)];
    if let Some(state) = params.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer.config.issuer_url.clone()));
    Redirect::to(&with_query(&valid.redirect_uri, &pairs)).into_response()
}

async fn userinfo(State(issuer): State<Arc<Issuer>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let claims = token.and_then(|token| issuer.verify_access_token(token).ok());
    let Some(claims) = claims else {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Bearer error=\"invalid_token\"",
            )],
            Json(json!({"error": "invalid_token", "error_description": "a valid bearer token is required"})),
        )
            .into_response();
    };
    let email = issuer.user(&claims.sub).and_then(|user| user.email.clone());
    let mut body = json!({
        "sub": claims.sub,
        "preferred_username": claims.preferred_username,
        "name": claims.name,
        "roles": claims.roles,
    });
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    Json(body).into_response()
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `BASE64URL(SHA256(verifier))`, RFC 7636 §4.2.
fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    form.get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(&format!("{name} is required")))
}

/// An `application/x-www-form-urlencoded` body; a repeated parameter is an error (RFC 6749 §3.2).
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut form = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if form.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(&format!(
                "parameter {name} is repeated"
            )));
        }
    }
    Ok(form)
}

/// `Authorization: Basic` credentials, each part form-url-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Some(encoded) = value.to_str().ok().and_then(|v| {
        v.strip_prefix("Basic ")
            .or_else(|| v.strip_prefix("basic "))
    }) else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    let decode = |part: &str| {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}

/// Whether `candidate` is one of the client's redirect URIs: same origin, and the registered
/// path is a prefix of its path (on a `/` boundary). Fragments and user info are refused.
fn redirect_uri_allowed(registered: &[String], candidate: &str) -> bool {
    let Ok(candidate) = url::Url::parse(candidate) else {
        return false;
    };
    if candidate.fragment().is_some()
        || !candidate.username().is_empty()
        || candidate.password().is_some()
        || !matches!(candidate.scheme(), "http" | "https")
    {
        return false;
    }
    registered
        .iter()
        .filter_map(|uri| url::Url::parse(uri).ok())
        .any(|uri| {
            let (prefix, path) = (uri.path(), candidate.path());
            same_origin_or_loopback(&uri, &candidate)
                && (path == prefix
                    || (path.starts_with(prefix)
                        && (prefix.ends_with('/') || path[prefix.len()..].starts_with('/'))))
        })
}

/// Same origin; for loopback hosts any port (RFC 8252 §7.3), so the local stack works on
/// whatever port it was started on (`LINKA_PORT`).
fn same_origin_or_loopback(registered: &url::Url, candidate: &url::Url) -> bool {
    let loopback = |url: &url::Url| match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback(registered) {
        registered.scheme() == candidate.scheme() && registered.host() == candidate.host()
    } else {
        registered.origin() == candidate.origin()
    }
}

fn with_query(base: &str, pairs: &[(&str, String)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
            url.to_string()
        }
        Err(_) => base.to_owned(),
    }
}

fn page_headers() -> [(header::HeaderName, &'static str); 3] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    ]
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f3f5f8;margin:0}\
main{max-width:22rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 2px 8px rgba(0,0,0,.1)}h1{font-size:1.4rem;margin-top:0}\
label{display:block;margin:1rem 0 .3rem}input[type=text],input[type=password]{width:100%;\
box-sizing:border-box;padding:.5rem;font-size:1rem}button{margin-top:1.5rem;width:100%;\
padding:.6rem;font-size:1rem}.error{color:#a40000}";

fn login_page(params: &AuthorizeParams, error: Option<&str>) -> String {
    let attr = |value: &str| html_escape::encode_double_quoted_attribute(value).into_owned();
    let hidden: String = [
        ("response_type", &params.response_type),
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("state", &params.state),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
        ("nonce", &params.nonce),
        ("scope", &params.scope),
    ]
    .iter()
    .filter_map(|(name, value)| {
        value.as_deref().map(|value| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                attr(value)
            )
        })
    })
    .collect::<Vec<_>>()
    .join("\n      ");
    let error = error.map_or_else(String::new, |text| {
        format!(
            r#"<p class="error" role="alert">{}</p>"#,
            html_escape::encode_text(text)
        )
    });
    format!(
        r#"<!DOCTYPE html>
<html lang="cs">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Přihlášení – Linka</title>
  <style>{PAGE_STYLE}</style>
</head>
<body>
  <main>
    <h1>Přihlášení do Linky</h1>
    {error}
    <form method="post" action="authorize">
      {hidden}
      <label for="username">Uživatelské jméno</label>
      <input id="username" name="username" type="text" autocomplete="username" required autofocus>
      <label for="password">Heslo</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Přihlásit se</button>
    </form>
  </main>
</body>
</html>
"#
    )
}

fn error_page(text: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="cs">
<head>
  <meta charset="utf-8">
  <title>Chyba přihlášení – Linka</title>
  <style>{PAGE_STYLE}</style>
</head>
<body>
  <main>
    <h1>Přihlášení nelze dokončit</h1>
    <p class="error" role="alert">{}</p>
  </main>
</body>
</html>
"#,
        html_escape::encode_text(text)
    )
}

fn generate_key_pem() -> Result<String, IssuerError> {
    let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(IssuerError::GenerateKey)?;
    let der = key_pair.as_der().map_err(IssuerError::GenerateKey)?;
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref())))
}

/// Writes the key readable by its owner only, through a temporary file and a rename.
fn write_private_file(path: &Path, contents: &str) -> Result<(), IssuerError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| IssuerError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let write_error = |source| IssuerError::WriteKey {
        path: path.to_path_buf(),
        source,
    };
    let temporary = path.with_extension("pem.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary).map_err(write_error)?;
    io::Write::write_all(&mut file, contents.as_bytes()).map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    fs::rename(&temporary, path).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let path = std::env::temp_dir().join(format!("linka-issuer-{}", uuid::Uuid::new_v4()));
            fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn config(dir: &TempDir, allow_password_grant: bool) -> IssuerConfig {
        IssuerConfig {
            state_dir: dir.0.clone(),
            identities_path: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../identities.json"),
            issuer_url: "http://127.0.0.1:8080/auth".to_owned(),
            audience: "linka-api".to_owned(),
            allow_password_grant,
            token_lifetime: Duration::from_secs(3600),
        }
    }

    struct Fixture {
        _dir: TempDir,
        issuer: Arc<Issuer>,
    }

    fn fixture(allow_password_grant: bool) -> Fixture {
        let dir = TempDir::new();
        let issuer = Arc::new(Issuer::load_or_create(config(&dir, allow_password_grant)).unwrap());
        Fixture { _dir: dir, issuer }
    }

    async fn call(
        issuer: &Arc<Issuer>,
        request: http::Request<Body>,
    ) -> (StatusCode, HeaderMap, String) {
        let response = issuer.clone().router().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn post_token(
        issuer: &Arc<Issuer>,
        form: &str,
        basic: Option<&str>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = http::Request::post("/auth/token")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(basic) = basic {
            let encoded = base64::engine::general_purpose::STANDARD.encode(basic);
            request = request.header("authorization", format!("Basic {encoded}"));
        }
        let (status, headers, body) =
            call(issuer, request.body(Body::from(form.to_owned())).unwrap()).await;
        (status, headers, serde_json::from_str(&body).unwrap())
    }

    /// Verifies a token the way the functions do: with the JWKS, by `kid`.
    fn verify_with_jwks<T: serde::de::DeserializeOwned>(
        jwks: &JwkSet,
        token: &str,
        audience: &str,
    ) -> T {
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&["http://127.0.0.1:8080/auth"]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<T>(token, &key, &validation)
            .unwrap()
            .claims
    }

    async fn fetch_jwks(issuer: &Arc<Issuer>) -> JwkSet {
        let (status, _, body) = call(
            issuer,
            http::Request::get("/auth/jwks.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_str(&body).unwrap()
    }

    #[tokio::test]
    async fn when_the_password_grant_is_allowed_and_the_password_is_right_should_issue_a_verifiable_token(
    ) {
        let f = fixture(true);
        let (status, headers, body) = post_token(
            &f.issuer,
            "grant_type=password&username=supervisor&password=supervisor",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let jwks = fetch_jwks(&f.issuer).await;
        let claims: Value =
            verify_with_jwks(&jwks, body["access_token"].as_str().unwrap(), "linka-api");
        assert_eq!(claims["sub"], "supervisor");
        assert_eq!(claims["preferred_username"], "supervisor");
        assert_eq!(claims["name"], "Pavel Dohledal");
        assert_eq!(
            claims["roles"],
            json!([
                "supervisor",
                "recording-listen",
                "recording-download",
                "queues",
                "callbacks"
            ])
        );
        assert_eq!(claims["azp"], "linka-web");
        for claim in ["exp", "nbf", "iat", "jti"] {
            assert!(!claims[claim].is_null(), "{claim} missing");
        }
        let header = jsonwebtoken::decode_header(body["access_token"].as_str().unwrap()).unwrap();
        assert_eq!(header.kid.as_deref(), Some(f.issuer.kid()));
    }

    #[tokio::test]
    async fn when_the_password_is_wrong_should_answer_invalid_grant() {
        let f = fixture(true);
        let (status, _, body) = post_token(
            &f.issuer,
            "grant_type=password&username=admin&password=wrong",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        let (_, _, body) = post_token(
            &f.issuer,
            "grant_type=password&username=nobody&password=nobody",
            None,
        )
        .await;
        assert_eq!(body["error"], "invalid_grant");
        let (_, _, body) = post_token(&f.issuer, "grant_type=password&username=admin", None).await;
        assert_eq!(body["error"], "invalid_request");
    }

    #[tokio::test]
    async fn when_the_password_grant_is_not_allowed_should_answer_unsupported_grant_type() {
        let f = fixture(false);
        let (status, _, body) = post_token(
            &f.issuer,
            "grant_type=password&username=admin&password=admin",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unsupported_grant_type");
        let (_, _, body) = post_token(&f.issuer, "grant_type=device_code", None).await;
        assert_eq!(body["error"], "unsupported_grant_type");
        let (_, _, body) = post_token(&f.issuer, "username=admin", None).await;
        assert_eq!(body["error"], "invalid_request");
    }

    #[tokio::test]
    async fn when_a_machine_client_presents_its_secret_should_issue_a_token_with_its_roles() {
        let f = fixture(false);
        let jwks = fetch_jwks(&f.issuer).await;
        let (status, _, body) = post_token(
            &f.issuer,
            "grant_type=client_credentials&client_id=icis&client_secret=icis-secret",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims: Value =
            verify_with_jwks(&jwks, body["access_token"].as_str().unwrap(), "linka-api");
        assert_eq!(claims["sub"], "icis");
        assert_eq!(claims["azp"], "icis");
        assert_eq!(claims["roles"], json!(["icis"]));
        assert!(body.get("refresh_token").is_none());

        let (status, _, body) = post_token(
            &f.issuer,
            "grant_type=client_credentials",
            Some("chatbot:chatbot-secret"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims: Value =
            verify_with_jwks(&jwks, body["access_token"].as_str().unwrap(), "linka-api");
        assert_eq!(claims["roles"], json!(["chatbot"]));
    }

    #[tokio::test]
    async fn when_a_machine_client_presents_a_wrong_secret_should_answer_invalid_client_401() {
        let f = fixture(false);
        for (form, basic) in [
            (
                "grant_type=client_credentials&client_id=icis&client_secret=chatbot-secret",
                None,
            ),
            ("grant_type=client_credentials", Some("icis:wrong")),
            (
                "grant_type=client_credentials&client_id=nobody&client_secret=nobody-secret",
                None,
            ),
            ("grant_type=client_credentials&client_id=icis", None),
        ] {
            let (status, headers, body) = post_token(&f.issuer, form, basic).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{form}");
            assert_eq!(body["error"], "invalid_client");
            assert!(headers.contains_key("www-authenticate"));
        }
        let (status, _, body) = post_token(
            &f.issuer,
            "grant_type=client_credentials&client_id=linka-web",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unauthorized_client");
    }

    /// The example of RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn when_computing_the_pkce_challenge_should_match_rfc_7636() {
        assert_eq!(pkce_challenge(VERIFIER), CHALLENGE);
        assert!(is_valid_verifier(VERIFIER));
        assert!(!is_valid_verifier("short"));
    }

    fn authorize_query(redirect_uri: &str) -> String {
        let challenge = CHALLENGE;
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", "linka-web")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", "st<\"ate>")
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("nonce", "n-0S6_WzA2Mj")
            .append_pair("scope", "openid profile")
            .finish()
    }

    /// Logs in through the form and returns the code from the redirect.
    async fn log_in(
        issuer: &Arc<Issuer>,
        username: &str,
        password: &str,
    ) -> Result<String, (StatusCode, String)> {
        let form = format!(
            "{}&{}",
            authorize_query("http://127.0.0.1:5173/callback"),
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("username", username)
                .append_pair("password", password)
                .finish()
        );
        let (status, headers, body) = call(
            issuer,
            http::Request::post("/auth/authorize")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
        if status != StatusCode::SEE_OTHER {
            return Err((status, body));
        }
        let location = url::Url::parse(headers["location"].to_str().unwrap()).unwrap();
        assert!(location
            .as_str()
            .starts_with("http://127.0.0.1:5173/callback?"));
        let pairs: HashMap<String, String> = location.query_pairs().into_owned().collect();
        assert_eq!(pairs["state"], "st<\"ate>");
        assert_eq!(pairs["iss"], "http://127.0.0.1:8080/auth");
        Ok(pairs["code"].clone())
    }

    fn code_form(code: &str, verifier: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("code_verifier", verifier)
            .append_pair("redirect_uri", "http://127.0.0.1:5173/callback")
            .append_pair("client_id", "linka-web")
            .finish()
    }

    #[tokio::test]
    async fn when_the_authorize_page_is_requested_should_render_the_czech_login_form() {
        let f = fixture(false);
        let uri = format!(
            "/auth/authorize?{}",
            authorize_query("http://127.0.0.1:8080/")
        );
        let (status, _, body) = call(
            &f.issuer,
            http::Request::get(uri).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(r#"<html lang="cs">"#));
        for text in ["Uživatelské jméno", "Heslo", "Přihlásit se"] {
            assert!(body.contains(text), "{text} missing");
        }
        assert!(
            body.contains(r#"value="st&lt;&quot;ate&gt;""#),
            "state must be escaped"
        );
    }

    #[tokio::test]
    async fn when_the_redirect_uri_is_not_registered_should_show_an_error_instead_of_redirecting() {
        let f = fixture(false);
        for redirect in [
            "http://evil.example/",
            "http://127.0.0.1:8080.evil.example/",
            "https://127.0.0.1:8080/",
            "http://user@127.0.0.1:8080/",
            "http://127.0.0.1:8080/#x",
        ] {
            let uri = format!("/auth/authorize?{}", authorize_query(redirect));
            let (status, headers, _) = call(
                &f.issuer,
                http::Request::get(uri).body(Body::empty()).unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{redirect}");
            assert!(!headers.contains_key("location"));
        }
        assert!(redirect_uri_allowed(
            &["http://127.0.0.1:8080/".to_owned()],
            "http://127.0.0.1:8080/app/cb?x=1"
        ));
        assert!(!redirect_uri_allowed(
            &["http://127.0.0.1:8080/app".to_owned()],
            "http://127.0.0.1:8080/application"
        ));
    }

    #[test]
    fn when_redirect_uri_is_on_another_loopback_port_should_be_allowed_but_not_elsewhere() {
        // GIVEN the registered loopback and public redirect URIs
        let registered = vec![
            "http://127.0.0.1:8080/".to_owned(),
            "https://linka.example/app/".to_owned(),
        ];
        // WHEN the stack runs on another port THEN its loopback URI is accepted (RFC 8252 §7.3)
        assert!(redirect_uri_allowed(&registered, "http://127.0.0.1:8099/"));
        // AND a public host keeps exact origins, another host or scheme is refused
        assert!(redirect_uri_allowed(
            &registered,
            "https://linka.example/app/"
        ));
        assert!(!redirect_uri_allowed(
            &registered,
            "https://linka.example:8443/app/"
        ));
        assert!(!redirect_uri_allowed(&registered, "http://localhost:8099/"));
        assert!(!redirect_uri_allowed(
            &registered,
            "https://127.0.0.1:8080/"
        ));
        assert!(!redirect_uri_allowed(&registered, "http://evil.example/"));
    }

    #[tokio::test]
    async fn when_pkce_is_missing_should_redirect_with_invalid_request() {
        let f = fixture(false);
        let uri = "/auth/authorize?response_type=code&client_id=linka-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2F&state=s";
        let (status, headers, _) = call(
            &f.issuer,
            http::Request::get(uri).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let location = headers["location"].to_str().unwrap();
        assert!(
            location.starts_with("http://127.0.0.1:8080/?error=invalid_request"),
            "{location}"
        );
        assert!(location.contains("state=s"));
    }

    #[tokio::test]
    async fn when_the_browser_flow_completes_should_issue_access_and_id_tokens_with_the_nonce() {
        let f = fixture(false);
        let code = log_in(&f.issuer, "agent01", "agent01").await.unwrap();
        let (status, _, body) = post_token(&f.issuer, &code_form(&code, VERIFIER), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let jwks = fetch_jwks(&f.issuer).await;
        let access: Value =
            verify_with_jwks(&jwks, body["access_token"].as_str().unwrap(), "linka-api");
        assert_eq!(access["sub"], "agent01");
        assert_eq!(access["roles"], json!(["agent"]));
        assert_eq!(access["azp"], "linka-web");
        let id: Value = verify_with_jwks(&jwks, body["id_token"].as_str().unwrap(), "linka-web");
        assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(id["name"], "Jana Nováková");
        assert_eq!(body["scope"], "openid profile");

        // The refresh token rotates.
        let refresh = body["refresh_token"].as_str().unwrap().to_owned();
        let form = format!("grant_type=refresh_token&client_id=linka-web&refresh_token={refresh}");
        let (status, _, renewed) = post_token(&f.issuer, &form, None).await;
        assert_eq!(status, StatusCode::OK, "{renewed}");
        assert_ne!(renewed["refresh_token"], body["refresh_token"]);
        let (_, _, again) = post_token(&f.issuer, &form, None).await;
        assert_eq!(again["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn when_the_login_form_gets_a_wrong_password_should_show_the_form_again() {
        let f = fixture(false);
        let (status, body) = log_in(&f.issuer, "agent01", "agent02").await.unwrap_err();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("Neplatné uživatelské jméno nebo heslo."));
        assert!(body.contains("Přihlásit se"));
    }

    #[tokio::test]
    async fn when_the_code_verifier_does_not_match_should_answer_invalid_grant() {
        let f = fixture(false);
        let code = log_in(&f.issuer, "agent01", "agent01").await.unwrap();
        let wrong = "x".repeat(43);
        let (status, _, body) = post_token(&f.issuer, &code_form(&code, &wrong), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        // The failed attempt used the code up.
        let (_, _, body) = post_token(&f.issuer, &code_form(&code, VERIFIER), None).await;
        assert_eq!(body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn when_a_code_is_used_twice_should_refuse_the_second_time() {
        let f = fixture(false);
        let code = log_in(&f.issuer, "admin", "admin").await.unwrap();
        let (status, _, _) = post_token(&f.issuer, &code_form(&code, VERIFIER), None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, body) = post_token(&f.issuer, &code_form(&code, VERIFIER), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn when_a_code_has_expired_should_answer_invalid_grant() {
        let f = fixture(false);
        let code = log_in(&f.issuer, "admin", "admin").await.unwrap();
        lock(&f.issuer.codes).get_mut(&code).unwrap().expires_at = Instant::now();
        let (_, _, body) = post_token(&f.issuer, &code_form(&code, VERIFIER), None).await;
        assert_eq!(body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn when_userinfo_gets_a_valid_bearer_token_should_describe_the_user() {
        let f = fixture(true);
        let (_, _, body) = post_token(
            &f.issuer,
            "grant_type=password&username=admin&password=admin",
            None,
        )
        .await;
        let token = body["access_token"].as_str().unwrap();
        let (status, _, info) = call(
            &f.issuer,
            http::Request::get("/auth/userinfo")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let info: Value = serde_json::from_str(&info).unwrap();
        assert_eq!(info["sub"], "admin");
        assert_eq!(info["roles"], json!(["admin"]));
        assert_eq!(info["email"], "admin@linka.local");
        let (status, headers, _) = call(
            &f.issuer,
            http::Request::get("/auth/userinfo")
                .header("authorization", "Bearer nonsense")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
    }

    #[tokio::test]
    async fn when_discovery_is_requested_should_point_at_the_endpoints() {
        let f = fixture(true);
        let (status, _, body) = call(
            &f.issuer,
            http::Request::get("/auth/.well-known/openid-configuration")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["issuer"], "http://127.0.0.1:8080/auth");
        assert_eq!(body["jwks_uri"], "http://127.0.0.1:8080/auth/jwks.json");
        assert_eq!(body["token_endpoint"], "http://127.0.0.1:8080/auth/token");
        assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    }

    #[tokio::test]
    async fn when_the_web_app_calls_from_a_registered_origin_should_allow_it_by_cors() {
        let f = fixture(true);
        let preflight = http::Request::builder()
            .method("OPTIONS")
            .uri("/auth/token")
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = call(&f.issuer, preflight).await;
        assert!(status.is_success());
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://localhost:5173"
        );
        let foreign = http::Request::get("/auth/jwks.json")
            .header("origin", "http://evil.example")
            .body(Body::empty())
            .unwrap();
        let (_, headers, _) = call(&f.issuer, foreign).await;
        assert!(!headers.contains_key("access-control-allow-origin"));
    }

    #[test]
    fn when_the_issuer_restarts_should_reload_the_same_key_and_kid() {
        let dir = TempDir::new();
        let first = Issuer::load_or_create(config(&dir, false)).unwrap();
        let key_path = dir.0.join("issuer").join("key.pem");
        let pem_text = fs::read_to_string(&key_path).unwrap();
        assert!(pem_text.starts_with("-----BEGIN PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = Issuer::load_or_create(config(&dir, false)).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwks(), second.jwks());
        assert_eq!(fs::read_to_string(&key_path).unwrap(), pem_text);
        let jwk = &first.jwks().keys[0];
        assert_eq!(jwk.thumbprint(ThumbprintHash::SHA256).unwrap(), first.kid());
        assert_eq!(jwk.common.public_key_use, Some(PublicKeyUse::Signature));
        let other = TempDir::new();
        let third = Issuer::load_or_create(config(&other, false)).unwrap();
        assert_ne!(third.kid(), first.kid());
    }

    #[test]
    fn when_the_key_file_is_garbage_should_fail_with_a_clear_error() {
        let dir = TempDir::new();
        let key_path = dir.0.join("issuer").join("key.pem");
        fs::create_dir_all(key_path.parent().unwrap()).unwrap();
        fs::write(&key_path, "not a key").unwrap();
        let error = Issuer::load_or_create(config(&dir, false)).err().unwrap();
        assert!(matches!(error, IssuerError::KeyPem { .. }), "{error:?}");
    }
}
