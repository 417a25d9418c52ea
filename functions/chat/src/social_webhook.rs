//! `/api/chat/social/messenger`: requests from social networks (issue 7, OMNI-3), Facebook
//! Messenger's webhook first. `GET` is the subscription check (the verify token echoes the
//! challenge); `POST` carries page events signed with the app secret (`X-Hub-Signature-256`,
//! HMAC-SHA256 of the raw body): an unsigned or wrongly signed call is refused with 401 and
//! nothing is stored. Each customer message joins the conversation open with that user or
//! starts one in the channel's queue (`channels_inbound::accept`); Messenger's message id makes
//! a redelivery harmless. The agents' answers go out through `chat-outbound` (Send API).

use lambda_http::{
    http::{header, HeaderValue, Method, StatusCode},
    Body, Request, Response,
};
use linka_shared::{
    chat::{
        channels::{
            messenger_challenge, parse_messenger, verify_messenger_signature,
            MESSENGER_SIGNATURE_HEADER,
        },
        ChatChannel, ChatCustomer, SocialAddress,
    },
    problem::Problem,
    telemetry::ErrorChain,
};
use routing::http_common::{
    json, problem_response, query_parameter, request_path, segments_under, Resolution,
};

use crate::channels_inbound::{accept, InboundDeps, InboundMessage};

/// The routes (method, path), as in the template and the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/chat/social/messenger"),
    ("POST", "/api/chat/social/messenger"),
];

/// What the handler needs; without a secret the webhook refuses everything (503).
pub struct SocialDeps {
    pub inbound: InboundDeps,
    pub messenger: Option<MessengerSecrets>,
}

/// The Messenger app's secret (signatures) and the webhook's verify token.
pub struct MessengerSecrets {
    pub app_secret: Vec<u8>,
    pub verify_token: String,
}

/// Whether this module serves the path.
pub fn handles(_method: &Method, path: &str) -> bool {
    path.contains("/api/chat/social")
}

fn resolve(method: &Method, path: &str) -> Resolution<bool> {
    match segments_under(path, "/api/chat/social").as_deref() {
        Some(["messenger"]) if method == Method::GET => Resolution::Found(false),
        Some(["messenger"]) if method == Method::POST => Resolution::Found(true),
        Some(["messenger"]) => Resolution::MethodNotAllowed("GET, POST"),
        _ => Resolution::NotFound,
    }
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Serves one call of the social webhook.
pub async fn handle(deps: &SocialDeps, request: Request) -> Response<Body> {
    let post = match resolve(request.method(), &request_path(&request)).into_route() {
        Ok(post) => post,
        Err(response) => return response,
    };
    let Some(secrets) = &deps.messenger else {
        return problem_response(Problem::service_unavailable(
            "channel-not-configured",
            "The Messenger channel is not configured.",
        ));
    };
    if !post {
        let challenge = messenger_challenge(
            query_parameter(&request, "hub.mode").as_deref(),
            query_parameter(&request, "hub.verify_token").as_deref(),
            query_parameter(&request, "hub.challenge").as_deref(),
            &secrets.verify_token,
        )
        .map(str::to_owned);
        return match challenge {
            Some(challenge) => {
                let mut response = Response::new(Body::Text(challenge));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
            None => problem_response(Problem::forbidden(
                "verification-failed",
                "The verify token or mode is not the one configured.",
            )),
        };
    }
    let raw = body_bytes(&request);
    let signature = request
        .headers()
        .get(MESSENGER_SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    if !verify_messenger_signature(&secrets.app_secret, raw, signature) {
        return problem_response(Problem::unauthorized(
            "invalid-signature",
            "The X-Hub-Signature-256 header is missing or does not match the body.",
        ));
    }
    let messages = match parse_messenger(raw) {
        Ok(messages) => messages,
        Err(error) => {
            return problem_response(Problem::bad_request("invalid-event", error.to_string()))
        }
    };
    let now = chrono::Utc::now();
    let mut stored = 0usize;
    for message in messages {
        let inbound = InboundMessage {
            channel: ChatChannel::Social,
            address: format!("{}:{}", message.page_id, message.sender_id),
            customer: ChatCustomer::default(),
            external_id: format!("messenger:{}", message.message_id),
            text: message.text,
            attachments: Vec::new(),
            subject: None,
            mail_id: None,
            replies_to: Vec::new(),
            social: Some(SocialAddress {
                network: "messenger".into(),
                page_id: message.page_id,
                user_id: message.sender_id,
            }),
            at: message.at.unwrap_or(now).min(now),
        };
        if let Err(error) = accept(&deps.inbound, &inbound).await {
            // Messenger retries a call that is not answered 200: the stored ones are harmless.
            tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "a Messenger message was not stored");
            return problem_response(Problem::service_unavailable(
                "conversation-busy",
                "The message could not be stored now; retry.",
            ));
        }
        stored += 1;
    }
    json(StatusCode::OK, &serde_json::json!({ "stored": stored })).unwrap_or_else(problem_response)
}

#[cfg(test)]
#[path = "social_webhook_tests.rs"]
mod tests;
