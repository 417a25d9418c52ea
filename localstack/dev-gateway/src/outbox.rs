//! What the local stack sent to customers (issue 7, OMNI-1…3): nothing leaves the machine, so
//! it is shown here instead.
//!
//! - `POST /_local/messenger/{pageId}/messages?access_token=…` plays Facebook's Send API for
//!   `chat-outbound` (its `MESSENGER_API_URL` points here) and keeps what it was given;
//! - `GET /_local/outbox` lists the SMS and e-mails the emulator received (moto keeps them; the
//!   local `moto_server.py` lists them at `/moto-api/linka/outbox`) and those Messenger messages,
//!   as JSON; `GET /_local/outbox.html` shows the same as a page.

use std::sync::{Arc, Mutex, PoisonError};

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The outbox: the emulator's endpoint and the Messenger messages kept.
pub struct Outbox {
    aws_endpoint: String,
    client: reqwest::Client,
    messenger: Mutex<Vec<Value>>,
}

#[derive(Deserialize)]
struct AccessToken {
    #[serde(default)]
    access_token: Option<String>,
}

impl Outbox {
    pub fn new(aws_endpoint: &str) -> Self {
        Self {
            aws_endpoint: aws_endpoint.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            messenger: Mutex::new(Vec::new()),
        }
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/_local/messenger/{page}/messages", post(send_api))
            .route("/_local/outbox", get(outbox_json))
            .route("/_local/outbox.html", get(outbox_page))
            .with_state(self)
    }

    async fn everything(&self) -> Result<Value, String> {
        let url = format!("{}/moto-api/linka/outbox", self.aws_endpoint);
        let mut sent: Value = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|error| format!("{url}: {error}"))?
            .json()
            .await
            .map_err(|error| format!("{url}: {error}"))?;
        let messenger = self
            .messenger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        sent["messenger"] = Value::Array(messenger);
        Ok(sent)
    }
}

/// Facebook's Send API, as far as `chat-outbound` uses it.
async fn send_api(
    State(outbox): State<Arc<Outbox>>,
    Path(page): Path<String>,
    Query(token): Query<AccessToken>,
    Json(body): Json<Value>,
) -> Response {
    if token.access_token.as_deref().unwrap_or_default().is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "An access token is required.", "type": "OAuthException", "code": 190}})),
        )
            .into_response();
    }
    let (Some(recipient), Some(text)) = (
        body.pointer("/recipient/id").and_then(Value::as_str),
        body.pointer("/message/text").and_then(Value::as_str),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "recipient.id and message.text are required.", "type": "OAuthException", "code": 100}})),
        )
            .into_response();
    };
    let message_id = format!("m_{}", uuid::Uuid::new_v4().simple());
    outbox
        .messenger
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(json!({
            "messageId": message_id, "pageId": page, "recipientId": recipient, "text": text,
            "at": chrono::Utc::now().to_rfc3339(),
        }));
    Json(json!({"recipient_id": recipient, "message_id": message_id})).into_response()
}

async fn outbox_json(State(outbox): State<Arc<Outbox>>) -> Response {
    match outbox.everything().await {
        Ok(sent) => Json(sent).into_response(),
        Err(error) => (StatusCode::BAD_GATEWAY, Json(json!({"error": error}))).into_response(),
    }
}

fn escape(value: &Value) -> String {
    html_escape::encode_text(value.as_str().unwrap_or_default()).into_owned()
}

async fn outbox_page(State(outbox): State<Arc<Outbox>>) -> Response {
    let sent = match outbox.everything().await {
        Ok(sent) => sent,
        Err(error) => {
            return (
                StatusCode::BAD_GATEWAY,
                html_escape::encode_text(&error).into_owned(),
            )
                .into_response()
        }
    };
    let rows = |key: &str, cells: &dyn Fn(&Value) -> String| -> String {
        sent[key]
            .as_array()
            .map(|items| items.iter().rev().map(cells).collect::<String>())
            .unwrap_or_default()
    };
    let sms = rows("sms", &|m| {
        format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&m["to"]),
            escape(&m["text"])
        )
    });
    let email = rows("email", &|m| {
        let to = m["destinations"]
            .as_array()
            .and_then(|d| d.first())
            .cloned()
            .unwrap_or(Value::Null);
        let content = if m["raw"].is_string() {
            &m["raw"]
        } else {
            &m["body"]
        };
        format!(
            "<tr><td>{}</td><td><pre>{}</pre></td></tr>",
            escape(&to),
            escape(content)
        )
    });
    let messenger = rows("messenger", &|m| {
        format!(
            "<tr><td>{} → {}</td><td>{}</td></tr>",
            escape(&m["pageId"]),
            escape(&m["recipientId"]),
            escape(&m["text"])
        )
    });
    Html(format!(
        r#"<!doctype html><html lang="cs"><head><meta charset="utf-8"><title>Linka – odeslané zprávy (lokálně)</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;line-height:1.4}}table{{border-collapse:collapse;width:100%;margin-bottom:2rem}}td,th{{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}}pre{{white-space:pre-wrap;margin:0}}</style></head>
<body><h1>Odeslané zprávy lokálního prostředí</h1>
<p>Nic z toho neopustilo počítač: SMS a e-maily zachytil emulátor AWS, zprávy Messengeru lokální brána.</p>
<h2>SMS</h2><table><tr><th>Komu</th><th>Text</th></tr>{sms}</table>
<h2>E-maily</h2><table><tr><th>Komu</th><th>Zpráva (MIME)</th></tr>{email}</table>
<h2>Messenger</h2><table><tr><th>Stránka → uživatel</th><th>Text</th></tr>{messenger}</table>
</body></html>"#
    ))
    .into_response()
}
