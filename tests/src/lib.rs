//! Helpers for the integration tests: where the running local stack is, tokens for the demo
//! identities, AWS SDK clients pointed at the emulator, and hand-made tokens for the negative
//! security tests. Test code: panics with a clear message are the intended failure mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// Root of the repository (tests run with the crate folder as working directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The running local stack, as `scripts/test.sh` describes it in the environment.
pub struct Stack {
    pub base_url: String,
    pub aws_endpoint: String,
    pub state_dir: PathBuf,
    pub http: reqwest::Client,
}

impl Stack {
    pub fn from_env() -> Self {
        let base_url = std::env::var("LINKA_BASE_URL").expect(
            "LINKA_BASE_URL is not set: these tests need the running local stack; run `make test`",
        );
        let aws_endpoint =
            std::env::var("LINKA_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
        let state_dir = std::env::var("LINKA_STATE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo_root().join(".local"));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base_url,
            aws_endpoint,
            state_dir,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn issuer(&self) -> String {
        format!("{}/auth", self.base_url)
    }

    pub fn ws_url(&self, token: &str) -> String {
        format!(
            "{}/ws?token={}",
            self.base_url.replacen("http", "ws", 1),
            token
        )
    }

    /// Access token of a demo user (password grant; password = user name).
    pub async fn token(&self, username: &str) -> String {
        let response = self
            .http
            .post(self.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", username),
                ("client_id", "linka-web"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "token for {username}");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Access token of a machine client (client credentials; secret = client id + "-secret").
    pub async fn client_token(&self, client_id: &str) -> String {
        let secret = format!("{client_id}-secret");
        let response = self
            .http
            .post(self.url("/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "token for client {client_id}");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// The issuer's signing key, as the local issuer keeps it in the state folder.
    pub fn issuer_key(&self) -> EncodingKey {
        let pem = std::fs::read(self.state_dir.join("issuer/key.pem"))
            .expect("the local issuer's key in <state>/issuer/key.pem");
        EncodingKey::from_rsa_pem(&pem).unwrap()
    }

    /// The `kid` the issuer currently publishes.
    pub async fn issuer_kid(&self) -> String {
        let jwks: Value = self
            .http
            .get(self.url("/auth/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"][0]["kid"].as_str().unwrap().to_owned()
    }

    /// Claims of a valid access token for `username` with `roles`, to be altered by a test.
    pub fn claims(&self, username: &str, roles: &[&str]) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer(),
            "aud": "linka-api",
            "sub": username,
            "preferred_username": username,
            "name": username,
            "roles": roles,
            "azp": "linka-web",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    /// Sign `claims` with the issuer's own key and `kid`.
    pub async fn sign_as_issuer(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.issuer_kid().await);
        jsonwebtoken::encode(&header, claims, &self.issuer_key()).unwrap()
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.aws_endpoint)
            .region(aws_config::Region::new("eu-central-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await
    }

    /// One HTTP call to the stack with a bearer token (when given) and a JSON body (when given):
    /// the status and the JSON answer (`null` when it is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Physical name of a template resource in the local stack.
    pub fn physical_name(logical_id: &str) -> String {
        format!("linka-{logical_id}")
    }

    pub async fn queue_url(&self, sqs: &aws_sdk_sqs::Client, logical_id: &str) -> String {
        sqs.get_queue_url()
            .queue_name(Self::physical_name(logical_id))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned()
    }
}

/// The lifecycle records of a contact in ContactEventsTable, in key order (`<at>#<state>`).
pub async fn contact_events(
    dynamodb: &aws_sdk_dynamodb::Client,
    contact_id: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    dynamodb
        .query()
        .table_name(Stack::physical_name("ContactEventsTable"))
        .key_condition_expression("contactId = :c")
        .expression_attribute_values(
            ":c",
            aws_sdk_dynamodb::types::AttributeValue::S(contact_id.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

/// A token whose header says `alg: none` and which carries no signature.
pub fn unsigned_token(claims: &Value) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{payload}.")
}

/// Poll `probe` until it returns `Some`, or panic after `limit` (no fixed sleeps in tests).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A fresh RSA key the issuer has never published: tokens signed with it must be refused.
pub fn foreign_key() -> EncodingKey {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = pair.as_der().unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

/// A WebSocket of the local stack's WebSocket API.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads JSON messages from `socket` until one satisfies `matches`, for at most `within`.
pub async fn next_matching(
    socket: &mut Socket,
    within: Duration,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    tokio::time::timeout(within, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if matches(&value) {
                        return value;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("no matching WebSocket message in time")
}

/// The `p` quantile (0–1) of ascending `sorted` samples (benchmarks).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
