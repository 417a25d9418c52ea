//! SMS, e-mail and Messenger on the local stack (issue 7, OMNI-1…3, DESK-15). Customers' messages
//! come in as in production — published to the SNS topics (two-way SMS, SES receipt with the
//! message in S3) or posted to the Messenger webhook, signed — and reach the desk of an agent of
//! the chat queue; the agent's answers leave through chat-outbound (SNS, SESv2, the Send API the
//! dev gateway plays) and are read back from the emulator's outbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_lc_rs::hmac;
use reqwest::Method;
use serde_json::{json, Value};
use system_tests::{eventually, next_matching, percentile, Stack};

const WAIT: Duration = Duration::from_secs(30);
/// The local Messenger app secret (localstack/dev-gateway/src/app.rs).
const MESSENGER_SECRET: &[u8] = b"linka-local-messenger-app-secret";
/// An agent of kkc-obecne, the local chat queue (ChatDefaultQueueId).
const AGENT: &str = "agent04";

async fn call(
    stack: &Stack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    stack.call(method, path, Some(token), body).await
}

fn unique_number() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000;
    format!("+420779{n:06}")
}

async fn topic_arn(stack: &Stack, logical_id: &str) -> String {
    let sns = aws_sdk_sns::Client::new(&stack.sdk_config().await);
    let name = Stack::physical_name(logical_id);
    let topics = sns.list_topics().send().await.unwrap();
    topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|arn| arn.ends_with(&format!(":{name}")))
        .unwrap()
        .to_owned()
}

async fn publish(stack: &Stack, topic: &str, message: &Value) {
    let sns = aws_sdk_sns::Client::new(&stack.sdk_config().await);
    sns.publish()
        .topic_arn(topic_arn(stack, topic).await)
        .message(message.to_string())
        .send()
        .await
        .unwrap();
}

async fn text_in(stack: &Stack, from: &str, text: &str) {
    publish(
        stack,
        "InboundSmsTopic",
        &json!({"originationNumber": from, "destinationNumber": "+420800123456",
                "messageBody": text, "inboundMessageId": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
}

/// What SES's receipt rule does: the message in the bucket, the notification on the topic.
async fn mail_in(stack: &Stack, raw: &str) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    let ses_id = uuid::Uuid::new_v4().simple().to_string();
    let bucket = Stack::physical_name("ChatMailBucket").to_lowercase();
    let key = format!("inbound/{ses_id}");
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(raw.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    publish(
        stack,
        "InboundMailTopic",
        &json!({"notificationType": "Received",
                "mail": {"messageId": ses_id, "source": "customer"},
                "receipt": {"action": {"type": "S3", "bucketName": bucket, "objectKey": key}}}),
    )
    .await;
}

async fn outbox(stack: &Stack) -> Value {
    stack
        .http
        .get(stack.url("/_local/outbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The waiting conversation of the agent's queues whose customer matches.
async fn waiting(stack: &Stack, agent: &str, matches: impl Fn(&Value) -> bool) -> String {
    eventually("the conversation waits at the desk", WAIT, || async {
        let (status, list) = call(stack, Method::GET, "/api/desk/chats", agent, None).await;
        assert_eq!(status, 200, "{list}");
        list["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| matches(c))
            .map(|c| c["conversationId"].as_str().unwrap().to_owned())
    })
    .await
}

async fn transcript(stack: &Stack, agent: &str, id: &str) -> Vec<Value> {
    let (status, body) = call(
        stack,
        Method::GET,
        &format!("/api/desk/chats/{id}/messages"),
        agent,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().unwrap().clone()
}

/// The e-mail the stack sent to `address` (the dev gateway's outbox), once it is sent.
async fn mail_sent_to(stack: &Stack, address: &str) -> Value {
    eventually("the e-mail is sent", WAIT, || async {
        outbox(stack).await["email"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destinations"][0] == json!(address))
            .cloned()
    })
    .await
}

async fn take_and_answer(stack: &Stack, agent: &str, id: &str, text: &str) {
    let (status, taken) = call(
        stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/accept"),
        agent,
        None,
    )
    .await;
    assert_eq!(status, 200, "{taken}");
    let (status, reply) = call(
        stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/messages"),
        agent,
        Some(&json!({"text": text, "clientMessageId": uuid::Uuid::new_v4().to_string()})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
}

async fn end(stack: &Stack, agent: &str, id: &str) {
    let (status, body) = call(
        stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/end"),
        agent,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn when_a_customer_texts_should_an_agent_see_it_and_answer_by_sms() {
    let stack = Stack::from_env();
    let agent = stack.token(AGENT).await;
    let (mut desk, _) = tokio_tungstenite::connect_async(stack.ws_url(&agent))
        .await
        .unwrap();
    let number = unique_number();
    text_in(&stack, &number, "Dobrý den, kdy mi přijde nová karta?").await;
    let id = waiting(&stack, &agent, |c| {
        c["channel"] == "sms" && c["customer"]["phone"] == json!(number)
    })
    .await;
    next_matching(&mut desk, WAIT, |m| {
        m["type"] == "chat" && m["conversationId"] == json!(id)
    })
    .await;
    take_and_answer(&stack, &agent, &id, "Dobrý den, karta je na cestě.").await;
    let sent = eventually("the SMS is sent", WAIT, || async {
        outbox(&stack).await["sms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == json!(number))
            .cloned()
    })
    .await;
    assert_eq!(sent["text"], "Dobrý den, karta je na cestě.");
    // The customer answers: the same conversation, in order.
    text_in(&stack, &number, "Děkuji.").await;
    let texts = eventually("the answer joins the conversation", WAIT, || async {
        let texts: Vec<String> = transcript(&stack, &agent, &id)
            .await
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect();
        (texts.len() == 3).then_some(texts)
    })
    .await;
    assert_eq!(
        texts,
        vec![
            "Dobrý den, kdy mi přijde nová karta?",
            "Dobrý den, karta je na cestě.",
            "Děkuji."
        ]
    );
    end(&stack, &agent, &id).await;
    // The conversation is a contact record like a call: a note on it, in the agent's history.
    let contact = format!("chat:{id}");
    let (status, note) = call(
        &stack,
        Method::POST,
        &format!("/api/contacts/{contact}/notes"),
        &agent,
        Some(&json!({"text": "Karta odeslána 27. 11.", "baseVersion": null})),
    )
    .await;
    assert_eq!(status, 201, "{note}");
    let (status, history) = call(
        &stack,
        Method::GET,
        "/api/desk/history?q=karta%20odeslana",
        &agent,
        None,
    )
    .await;
    assert_eq!(status, 200, "{history}");
    let item = history["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contactId"] == json!(contact))
        .cloned()
        .unwrap_or_else(|| panic!("not in the history: {history}"));
    assert_eq!(item["channel"], "sms");
    assert_eq!(item["number"], json!(number));
    assert_eq!(item["outcome"], "handled");
    // ICIS's nightly export of the day (INT-1 b, DESK-15) has it, with every SMS and the note.
    let exported = exported_contact(&stack, "sms", &contact).await;
    let texts: Vec<(&str, &str)> = exported["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        texts,
        [
            ("customer", "Dobrý den, kdy mi přijde nová karta?"),
            ("agent", "Dobrý den, karta je na cestě."),
            ("customer", "Děkuji."),
            ("system", "Konverzace byla ukončena."),
        ]
    );
    assert_eq!(exported["messages"][1]["author"], AGENT);
    assert_eq!(exported["note"]["text"], "Karta odeslána 27. 11.");
    assert_eq!(exported["agents"], json!([AGENT]));
    // And it is in the one event model, as a call would be (issue 7): its moves, in order.
    assert_eq!(
        lifecycle(&stack, &contact).await,
        [
            ("arrived".to_owned(), None),
            ("queued".to_owned(), None),
            ("connected".to_owned(), Some(AGENT.to_owned())),
            ("done".to_owned(), Some(AGENT.to_owned())),
        ]
    );
}

/// The lifecycle records of a contact in ContactEventsTable, in key order: (state, agent).
async fn lifecycle(stack: &Stack, contact_id: &str) -> Vec<(String, Option<String>)> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let text = |item: &std::collections::HashMap<String, _>, name: &str| {
        item.get(name)
            .and_then(|value: &aws_sdk_dynamodb::types::AttributeValue| value.as_s().ok())
            .cloned()
    };
    system_tests::contact_events(&dynamodb, contact_id)
        .await
        .iter()
        .map(|item| (text(item, "to").unwrap_or_default(), text(item, "agent")))
        .collect()
}

/// The contact `contact_id` in the ICIS export of today (and yesterday) of `channel`, read as ICIS does: with its
/// machine token, page after page.
async fn exported_contact(stack: &Stack, channel: &str, contact_id: &str) -> Value {
    let icis = stack.client_token("icis").await;
    // Yesterday too: the test may run across midnight in Prague.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Prague)
        .date_naive();
    let yesterday = today.pred_opt().unwrap();
    let period = format!("from={yesterday}&to={today}&channels={channel}");
    let mut path = format!("/api/icis/contacts?{period}");
    loop {
        let (status, page) = call(stack, Method::GET, &path, &icis, None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["to"], json!(today.to_string()));
        if let Some(found) = page["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["contactId"] == json!(contact_id))
        {
            assert_eq!(found["channel"], channel);
            return found.clone();
        }
        match page["next"].as_str() {
            Some(next) => path = format!("/api/icis/contacts?{period}&cursor={next}"),
            None => panic!("{contact_id} is not in the export of {today}"),
        }
    }
}

#[tokio::test]
async fn when_a_customer_emails_with_an_attachment_should_the_reply_stay_in_the_thread() {
    let stack = Stack::from_env();
    let agent = stack.token(AGENT).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let address = format!("jana.{tag}@example.cz");
    let mail = format!(
        "From: =?UTF-8?Q?Jana_Dvo=C5=99=C3=A1kov=C3=A1?= <{address}>\r\nTo: podpora@linka.example\r\nSubject: =?UTF-8?Q?Zm=C4=9Bna_adresy?=\r\nMessage-ID: <first-{tag}@example.cz>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDobrý den, posílám novou adresu.\r\n--b\r\nContent-Type: text/plain; name=\"adresa.txt\"\r\nContent-Disposition: attachment; filename=\"adresa.txt\"\r\n\r\nNová 12, Praha\r\n--b--\r\n"
    );
    mail_in(&stack, &mail).await;
    let id = waiting(&stack, &agent, |c| {
        c["channel"] == "email" && c["customer"]["email"] == json!(address)
    })
    .await;
    let messages = transcript(&stack, &agent, &id).await;
    assert_eq!(messages[0]["text"], "Dobrý den, posílám novou adresu.");
    assert_eq!(messages[0]["attachments"][0]["name"], "adresa.txt");
    let (status, link) = call(
        &stack,
        Method::GET,
        &format!("/api/desk/chats/{id}/messages/1/attachments/1"),
        &agent,
        None,
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let file = stack
        .http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status().as_u16(), 200);
    assert_eq!(file.text().await.unwrap().trim(), "Nová 12, Praha");

    take_and_answer(&stack, &agent, &id, "Dobrý den, adresu jsme změnili.").await;
    let sent = mail_sent_to(&stack, &address).await;
    let raw = sent["raw"].as_str().unwrap();
    assert!(
        raw.contains(&format!("In-Reply-To: <first-{tag}@example.cz>")),
        "{raw}"
    );
    assert!(
        raw.contains("Subject: =?utf-8?") || raw.contains("Re: Zm"),
        "{raw}"
    );
    // The customer answers from another address, replying to Linka's e-mail: the thread wins.
    let sent_id = sent["messageId"].as_str().unwrap();
    mail_in(
        &stack,
        &format!("From: prace.{tag}@example.cz\r\nTo: podpora@linka.example\r\nSubject: Re: Zmena adresy\r\nMessage-ID: <second-{tag}@example.cz>\r\nIn-Reply-To: <{sent_id}@eu-central-1.amazonses.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDěkuji za rychlé vyřízení.\r\n\r\nOn Sat, 28 Nov 2026 Linka wrote:\r\n> Dobrý den, adresu jsme změnili.\r\n"),
    )
    .await;
    let last = eventually("the answer joins the thread", WAIT, || async {
        let messages = transcript(&stack, &agent, &id).await;
        (messages.len() == 3).then(|| messages[2].clone())
    })
    .await;
    assert_eq!(last["text"], "Děkuji za rychlé vyřízení.");
    assert_eq!(last["from"], "customer");
    end(&stack, &agent, &id).await;
    // The nightly ICIS export (OMNI-2) has the thread: both e-mails and the reply, with the
    // attachment's name, type and size (not where it is stored).
    let exported = exported_contact(&stack, "email", &format!("chat:{id}")).await;
    let messages = exported["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "{exported}");
    assert_eq!(exported["subject"], "Změna adresy");
    assert_eq!(exported["number"], json!(address));
    let attachment = &messages[0]["attachments"][0];
    assert_eq!(attachment["name"], "adresa.txt");
    assert_eq!(attachment["size"], "Nová 12, Praha".len());
    assert!(attachment.get("key").is_none(), "{attachment}");
    assert_eq!(messages[1]["text"], "Dobrý den, adresu jsme změnili.");
    assert_eq!(messages[2]["text"], "Děkuji za rychlé vyřízení.");
    assert_eq!(messages[3]["from"], "system");
}

/// An agent's e-mail bounces: SES's event (published as the configuration set's destination
/// does) becomes a note in the conversation, live at the agent's desk and in the transcript.
#[tokio::test]
async fn when_an_agents_e_mail_bounces_should_the_agent_see_a_note_in_the_conversation() {
    let stack = Stack::from_env();
    let agent = stack.token(AGENT).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let address = format!("neexistuje.{tag}@example.cz");
    mail_in(
        &stack,
        &format!("From: <{address}>\r\nTo: podpora@linka.example\r\nSubject: Karta EHIC\r\nMessage-ID: <bounce-{tag}@example.cz>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKdy přijde karta?\r\n"),
    )
    .await;
    let id = waiting(&stack, &agent, |c| {
        c["channel"] == "email" && c["customer"]["email"] == json!(address)
    })
    .await;
    take_and_answer(&stack, &agent, &id, "Kartu jsme odeslali včera.").await;
    let sent = mail_sent_to(&stack, &address).await;
    let (mut desk, _) = tokio_tungstenite::connect_async(stack.ws_url(&agent))
        .await
        .unwrap();
    let bounce = json!({
        "eventType": "Bounce",
        "mail": {"messageId": sent["messageId"], "destination": [address],
                 "commonHeaders": {"subject": "Re: Karta EHIC"}},
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address,
                "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}
    });
    publish(&stack, "MailEventsTopic", &bounce).await;
    let pushed = system_tests::next_matching(&mut desk, WAIT, |m| {
        m["type"] == "chat-message"
            && m["message"]["conversationId"] == json!(id)
            && m["message"]["from"] == "system"
    })
    .await;
    let note = pushed["message"]["text"].as_str().unwrap();
    assert!(
        note.contains("nebyl doručen") && note.contains(&address) && note.contains("550 5.1.1"),
        "{note}"
    );
    // The note is in the transcript (the client's history and the ICIS export read it), once
    // (a redelivered event is the handler tests' business).
    let messages = transcript(&stack, &agent, &id).await;
    let notes: Vec<_> = messages
        .iter()
        .filter(|m| m["from"] == "system" && m["text"] == json!(note))
        .collect();
    assert_eq!(notes.len(), 1, "{messages:?}");
    end(&stack, &agent, &id).await;
}

fn messenger_call(user: &str, text: &str) -> (String, String) {
    let body = json!({"object": "page", "entry": [{"id": "LINKA-PAGE", "time": 1_764_322_200_000_i64,
        "messaging": [{"sender": {"id": user}, "recipient": {"id": "LINKA-PAGE"},
                       "timestamp": 1_764_322_200_000_i64,
                       "message": {"mid": format!("m_{}", uuid::Uuid::new_v4().simple()), "text": text}}]}]})
    .to_string();
    let key = hmac::Key::new(hmac::HMAC_SHA256, MESSENGER_SECRET);
    let signature = format!(
        "sha256={}",
        hex_encode(hmac::sign(&key, body.as_bytes()).as_ref())
    );
    (body, signature)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn when_a_messenger_user_writes_should_an_agent_answer_through_the_send_api() {
    let stack = Stack::from_env();
    let agent = stack.token(AGENT).await;
    let user = format!("PSID-{}", uuid::Uuid::new_v4().simple());
    let (body, signature) = messenger_call(&user, "Dobrý den, jak se k vám přihlásím?");
    let unsigned = stack
        .http
        .post(stack.url("/api/chat/social/messenger"))
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let signed = stack
        .http
        .post(stack.url("/api/chat/social/messenger"))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 200);
    let id = waiting(&stack, &agent, |c| {
        c["channel"] == "social" && c["social"]["userId"] == json!(user)
    })
    .await;
    let messages = transcript(&stack, &agent, &id).await;
    assert_eq!(messages[0]["text"], "Dobrý den, jak se k vám přihlásím?");
    take_and_answer(&stack, &agent, &id, "Přes aplikaci Moje pojišťovna.").await;
    let sent = eventually("the answer goes to Messenger", WAIT, || async {
        outbox(&stack).await["messenger"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["recipientId"] == json!(user))
            .cloned()
    })
    .await;
    assert_eq!(sent["text"], "Přes aplikaci Moje pojišťovna.");
    end(&stack, &agent, &id).await;
}

#[tokio::test]
async fn when_an_agent_texts_a_client_from_the_card_should_the_sms_be_sent_once() {
    let stack = Stack::from_env();
    let agent = stack.token("agent05").await;
    let number = unique_number();
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"to": number, "text": "Připomínáme termín prohlídky.", "clientMessageId": key, "name": "Eva Malá"});
    let (status, opened) = call(
        &stack,
        Method::POST,
        "/api/desk/chats/sms",
        &agent,
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let (status, again) = call(
        &stack,
        Method::POST,
        "/api/desk/chats/sms",
        &agent,
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    let id = opened["conversation"]["conversationId"].as_str().unwrap();
    assert_eq!(again["conversation"]["conversationId"], json!(id));
    // A second SMS to the number opens the newest conversation with it (the number's alias
    // moves from the first, conditionally).
    let (status, second) = call(&stack, Method::POST, "/api/desk/chats/sms", &agent, Some(&json!({
        "to": number, "text": "A ještě jedna věc.", "clientMessageId": uuid::Uuid::new_v4().to_string()
    }))).await;
    assert_eq!(status, 201, "{second}");
    let second_id = second["conversation"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second_id, id);
    eventually("the SMS is sent", WAIT, || async {
        let outbox = outbox(&stack).await;
        let sent: Vec<&Value> = outbox["sms"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == json!(number))
            .collect();
        (sent.len() == 2).then_some(())
    })
    .await;
    end(&stack, &agent, id).await;
    end(&stack, &agent, &second_id).await;
}

#[tokio::test]
async fn when_an_admin_prepares_an_email_template_should_agents_get_it_and_bad_placeholders_be_refused(
) {
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let id = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let (status, problem) = call(
        &stack,
        Method::POST,
        "/api/admin/mail-templates",
        &admin,
        Some(&json!({
            "templateId": id, "name": "Chybná", "subject": "Dobrý den {{name}}", "body": "Text"
        })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "subject");
    let template = json!({
        "templateId": id, "name": format!("Potvrzení změny adresy {id}"),
        "subject": "Změna adresy ze dne {{datum}}",
        "body": "Dobrý den {{jmeno}},\n\nadresu jsme změnili.\n\n{{agent}}"
    });
    let (status, created) = call(
        &stack,
        Method::POST,
        "/api/admin/mail-templates",
        &admin,
        Some(&template),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let agent = stack.token(AGENT).await;
    let (status, list) = call(
        &stack,
        Method::GET,
        "/api/desk/mail-templates",
        &agent,
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let found = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["templateId"] == json!(id))
        .cloned()
        .unwrap();
    assert_eq!(found["subject"], "Změna adresy ze dne {{datum}}");
    let (status, _) = call(
        &stack,
        Method::PUT,
        &format!("/api/admin/mail-templates/{id}"),
        &admin,
        Some(&json!({"name": "Skrytá", "subject": "S", "body": "B", "active": false})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, list) = call(
        &stack,
        Method::GET,
        "/api/desk/mail-templates",
        &agent,
        None,
    )
    .await;
    assert!(!list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["templateId"] == json!(id)));
    let (status, _) = call(
        &stack,
        Method::DELETE,
        &format!("/api/admin/mail-templates/{id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);
}

/// Benchmark (docs/benchmarks.md): a customer's SMS → the queue agent's desk, the time from the
/// SNS `Publish` (what End User Messaging does) to the `chat` push at the agent's open WebSocket
/// (SNS → ChatInboundQueue → chat-inbound → ChatTable → push), one SMS at a time.
///
/// `LINKA_BASE_URL=… cargo test -p system-tests --features stack --test channels -- --ignored --nocapture sms_latency`
#[tokio::test]
#[ignore = "a benchmark: run by hand, results in docs/benchmarks.md"]
async fn sms_latency() {
    let count: usize = std::env::var("LINKA_BENCH_SMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let stack = Stack::from_env();
    let agent = stack.token(AGENT).await;
    let (mut desk, _) = tokio_tungstenite::connect_async(stack.ws_url(&agent))
        .await
        .unwrap();
    let topic = topic_arn(&stack, "InboundSmsTopic").await;
    let sns = aws_sdk_sns::Client::new(&stack.sdk_config().await);
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let number = unique_number();
        let message = json!({"originationNumber": number, "messageBody": "bench",
                             "inboundMessageId": uuid::Uuid::new_v4().to_string()});
        let sent = std::time::Instant::now();
        sns.publish()
            .topic_arn(&topic)
            .message(message.to_string())
            .send()
            .await
            .unwrap();
        let pushed = next_matching(&mut desk, WAIT, |m| {
            m["type"] == "chat" && m["status"] == "queued"
        })
        .await;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        // Not left waiting for the agents of the demo queue.
        let id = pushed["conversationId"].as_str().unwrap().to_owned();
        call(
            &stack,
            Method::POST,
            &format!("/api/desk/chats/{id}/accept"),
            &agent,
            None,
        )
        .await;
        end(&stack, &agent, &id).await;
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "channels: SMS published → desk push, {count} SMS: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies[latencies.len() - 1]
    );
}
