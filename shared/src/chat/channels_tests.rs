use chrono::TimeZone;

use super::*;
use crate::chat::{ChatCustomer, ConversationStatus};

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 30, 0).unwrap()
}

const MAIL_WITH_ATTACHMENT: &str =
    "From: =?UTF-8?Q?Jana_Dvo=C5=99=C3=A1kov=C3=A1?= <Jana.Dvorakova@example.cz>\r
To: podpora@linka.example\r
Subject: =?UTF-8?Q?Zm=C4=9Bna_adresy?=\r
Message-ID: <reply-2@example.cz>\r
In-Reply-To: <0100018c-abc@eu-central-1.amazonses.com>\r
References: <first-1@example.cz> <0100018c-abc@eu-central-1.amazonses.com>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"b1\"\r
\r
--b1\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: 8bit\r
\r
Dobrý den, posílám novou adresu v příloze.\r
\r
Dne 27. 11. 2026 v 10:00 Linka <podpora@linka.example> napsal(a):\r
> Dobrý den, pošlete nám prosím novou adresu.\r
--b1\r
Content-Type: application/pdf; name=\"adresa.pdf\"\r
Content-Disposition: attachment; filename=\"adresa.pdf\"\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQKJcOkw7zDtsOf\r
--b1--\r
";

#[test]
fn when_an_sms_notification_is_read_should_give_the_number_text_and_id() {
    let message = r#"{"originationNumber":"+420601234567","destinationNumber":"+420800123456","messageKeyword":"KEYWORD","messageBody":"Dobrý den, kdy mi přijde karta?","inboundMessageId":"cae173d2-66b9-564c-8309-21f858e9fb84","previousPublishedMessageId":"wJ0D0zu4T3ScsD3uRP76F8"}"#;
    let InboundNotification::Sms(sms) = parse_notification(message).unwrap() else {
        panic!("not an SMS");
    };
    assert_eq!(sms.origination_number, "+420601234567");
    assert_eq!(sms.message_body, "Dobrý den, kdy mi přijde karta?");
    assert_eq!(
        sms.inbound_message_id,
        "cae173d2-66b9-564c-8309-21f858e9fb84"
    );
}

#[test]
fn when_an_ses_receipt_is_read_should_give_where_the_mail_is_stored() {
    let message = r#"{"notificationType":"Received","mail":{"messageId":"o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1","source":"jana@example.cz","destination":["podpora@linka.example"]},"receipt":{"recipients":["podpora@linka.example"],"action":{"type":"S3","topicArn":"arn:aws:sns:eu-central-1:123456789012:mail","bucketName":"linka-inbound-mail","objectKey":"inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"}}}"#;
    let InboundNotification::Mail(mail) = parse_notification(message).unwrap() else {
        panic!("not a mail");
    };
    assert_eq!(
        mail.stored_at(),
        Some((
            "linka-inbound-mail",
            "inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"
        ))
    );
}

#[test]
fn when_an_ses_event_about_a_sent_mail_is_read_should_give_the_event() {
    let message = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"jana@example.cz","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2026-11-29T09:00:00.000Z","feedbackId":"0102-feedback"},"mail":{"timestamp":"2026-11-29T08:59:58.000Z","source":"podpora@linka.example","sendingAccountId":"123456789012","messageId":"0107018f-aaaa-bbbb","destination":["jana@example.cz"],"commonHeaders":{"from":["podpora@linka.example"],"to":["jana@example.cz"],"subject":"Re: Karta EHIC"}}}"#;
    let InboundNotification::MailEvent(event) = parse_notification(message).unwrap() else {
        panic!("not a mail event");
    };
    assert_eq!(event.event_type, "Bounce");
    assert_eq!(event.mail.message_id, "0107018f-aaaa-bbbb");
    assert!(event.note().unwrap().contains("550 5.1.1 user unknown"));
    assert!(parse_notification(r#"{"eventType":"Bounce"}"#).is_err());
}

#[test]
fn when_a_notification_is_of_no_known_kind_should_fail() {
    assert!(parse_notification(r#"{"hello":"world"}"#).is_err());
    assert!(parse_notification("not json").is_err());
    assert!(parse_notification(r#"{"originationNumber":"+420601234567"}"#).is_err());
}

#[test]
fn when_a_reply_mail_is_parsed_should_give_sender_thread_new_text_and_attachment() {
    let mail = parse_mail(MAIL_WITH_ATTACHMENT.as_bytes()).unwrap();
    assert_eq!(mail.from, "jana.dvorakova@example.cz");
    assert_eq!(mail.from_name.as_deref(), Some("Jana Dvořáková"));
    assert_eq!(mail.subject.as_deref(), Some("Změna adresy"));
    assert_eq!(mail.message_id.as_deref(), Some("reply-2@example.cz"));
    assert_eq!(
        mail.replies_to,
        vec![
            "0100018c-abc@eu-central-1.amazonses.com".to_owned(),
            "first-1@example.cz".to_owned()
        ]
    );
    assert_eq!(mail.text, "Dobrý den, posílám novou adresu v příloze.");
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].file_name, "adresa.pdf");
    assert_eq!(mail.attachments[0].content_type, "application/pdf");
    assert!(mail.attachments[0].bytes.starts_with(b"%PDF-1.4"));
}

#[test]
fn when_a_mail_has_no_sender_should_fail() {
    let raw = "To: podpora@linka.example\r\nSubject: x\r\n\r\nbody\r\n";
    assert_eq!(parse_mail(raw.as_bytes()), Err(ChannelError::NoSender));
}

#[test]
fn when_only_html_is_sent_should_keep_its_text() {
    let raw = "From: a@example.cz\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Dobr&yacute; den,<br>d&#283;kuji.</p>\r\n";
    let mail = parse_mail(raw.as_bytes()).unwrap();
    assert!(mail.text.contains("Dobrý den"), "{}", mail.text);
    assert!(!mail.text.contains("<p>"));
}

#[test]
fn when_the_text_is_all_quote_should_keep_it_whole() {
    assert_eq!(strip_quoted("> jen citace"), "> jen citace");
    assert_eq!(
        strip_quoted("Díky.\n\nOn Mon, 1 Dec 2026, Linka wrote:\n> old"),
        "Díky."
    );
}

#[test]
fn when_message_ids_are_keyed_should_use_the_local_part_in_lower_case() {
    assert_eq!(
        mail_id_key("<0100018C-ABC@eu-central-1.amazonses.com>").as_deref(),
        Some("mailid:0100018c-abc")
    );
    assert_eq!(mail_id_key("<>"), None);
    assert_eq!(
        address_key(ChatChannel::Email, "Jana@Example.cz"),
        "email:jana@example.cz"
    );
}

#[test]
fn when_messenger_signs_a_body_should_verify_only_that_body_and_secret() {
    let body = br#"{"object":"page","entry":[]}"#;
    let header = sign_messenger(b"app-secret", body);
    assert!(verify_messenger_signature(
        b"app-secret",
        body,
        Some(&header)
    ));
    assert!(!verify_messenger_signature(b"other", body, Some(&header)));
    assert!(!verify_messenger_signature(
        b"app-secret",
        b"{\"object\":\"page\"}",
        Some(&header)
    ));
    assert!(!verify_messenger_signature(b"app-secret", body, None));
    assert!(!verify_messenger_signature(
        b"app-secret",
        body,
        Some("sha1=abc")
    ));
}

#[test]
fn when_messenger_posts_messages_should_keep_customers_texts_and_skip_echoes() {
    let body = r#"{"object":"page","entry":[{"id":"PAGE1","time":1764322200000,"messaging":[
        {"sender":{"id":"PSID7"},"recipient":{"id":"PAGE1"},"timestamp":1764322200000,"message":{"mid":"m_1","text":"Dobrý den"}},
        {"sender":{"id":"PAGE1"},"recipient":{"id":"PSID7"},"timestamp":1764322201000,"message":{"mid":"m_2","text":"echo","is_echo":true}},
        {"sender":{"id":"PSID7"},"recipient":{"id":"PAGE1"},"timestamp":1764322202000,"delivery":{"mids":["m_2"]}},
        {"sender":{"id":"PSID7"},"recipient":{"id":"PAGE1"},"timestamp":1764322203000,"message":{"mid":"m_3","attachments":[{"type":"image"}]}}
    ]}]}"#;
    let messages = parse_messenger(body.as_bytes()).unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].page_id, "PAGE1");
    assert_eq!(messages[0].sender_id, "PSID7");
    assert_eq!(messages[0].message_id, "m_1");
    assert_eq!(messages[0].text, "Dobrý den");
    assert_eq!(
        messages[0].at,
        DateTime::<Utc>::from_timestamp_millis(1764322200000)
    );
    assert!(messages[1].text.contains("příloha"));
    assert!(parse_messenger(br#"{"object":"instagram","entry":[]}"#).is_err());
}

#[test]
fn when_the_subscription_is_checked_should_echo_the_challenge_only_for_our_token() {
    assert_eq!(
        messenger_challenge(Some("subscribe"), Some("tok"), Some("123"), "tok"),
        Some("123")
    );
    assert_eq!(
        messenger_challenge(Some("subscribe"), Some("bad"), Some("123"), "tok"),
        None
    );
    assert_eq!(
        messenger_challenge(Some("unsubscribe"), Some("tok"), Some("123"), "tok"),
        None
    );
    assert_eq!(
        messenger_challenge(Some("subscribe"), Some(""), Some("123"), ""),
        None
    );
}

fn email_conversation() -> Conversation {
    let mut conversation = Conversation::open_channel(
        "c1",
        ChatChannel::Email,
        ChatCustomer {
            name: Some("Jana Dvořáková".into()),
            email: Some("jana@example.cz".into()),
            phone: None,
        },
        "channel:email",
        "reply-2@example.cz",
        None,
        at(),
    );
    conversation.subject = Some("Změna adresy".into());
    let mail = parse_mail(MAIL_WITH_ATTACHMENT.as_bytes()).unwrap();
    conversation.note_mail(mail.message_id.as_deref(), &mail.replies_to);
    conversation
}

#[test]
fn when_an_agent_answers_an_email_should_reply_in_the_customers_thread() {
    let mut conversation = email_conversation();
    conversation.enqueue("kkc", at()).unwrap();
    conversation.assign("agent01", 0, 3, at()).unwrap();
    let message = conversation
        .post_as_agent(
            "m2",
            "agent01",
            "Děkujeme, adresu jsme změnili.",
            None,
            at(),
        )
        .unwrap();
    let outbound = outbound_for(&conversation, &message).unwrap();
    let OutboundMessage::Email {
        to,
        subject,
        in_reply_to,
        references,
        ..
    } = &outbound
    else {
        panic!("not an e-mail: {outbound:?}");
    };
    assert_eq!(to, "jana@example.cz");
    assert_eq!(subject, "Re: Změna adresy");
    assert_eq!(in_reply_to.as_deref(), Some("reply-2@example.cz"));
    assert_eq!(
        references,
        &vec![
            "first-1@example.cz".to_owned(),
            "0100018c-abc@eu-central-1.amazonses.com".to_owned(),
            "reply-2@example.cz".to_owned()
        ]
    );
    let from = MailFrom {
        address: "podpora@linka.example".into(),
        name: "Linka".into(),
    };
    let raw = build_mail(&from, &outbound, at()).unwrap().unwrap();
    let parsed = parse_mail(&raw).unwrap();
    assert_eq!(parsed.from, "podpora@linka.example");
    assert_eq!(parsed.subject.as_deref(), Some("Re: Změna adresy"));
    assert_eq!(parsed.text, "Děkujeme, adresu jsme změnili.");
    assert_eq!(parsed.replies_to[0], "reply-2@example.cz");
}

#[test]
fn when_the_customer_or_linka_writes_should_send_nothing() {
    let mut conversation = email_conversation();
    let message = conversation
        .receive("m2", "Ještě dotaz", "ext-2", Vec::new(), at())
        .unwrap();
    assert_eq!(outbound_for(&conversation, &message), None);
    let ended = conversation.end("m3", at()).unwrap();
    assert_eq!(outbound_for(&conversation, &ended), None);
}

#[test]
fn when_an_agent_opens_an_sms_should_hold_it_and_send_to_the_number() {
    let mut conversation = Conversation::open_channel(
        "c2",
        ChatChannel::Sms,
        ChatCustomer {
            phone: Some("+420601234567".into()),
            ..ChatCustomer::default()
        },
        "agent01",
        "desk-1",
        Some("agent01"),
        at(),
    );
    assert_eq!(conversation.status, ConversationStatus::Assigned);
    let message = conversation
        .post_as_agent("m1", "agent01", "Karta je na cestě.", Some("desk-1"), at())
        .unwrap();
    assert_eq!(
        outbound_for(&conversation, &message),
        Some(OutboundMessage::Sms {
            conversation_id: "c2".into(),
            seq: 1,
            to: "+420601234567".into(),
            text: "Karta je na cestě.".into()
        })
    );
    assert!(!conversation.enqueue("kkc", at()).unwrap());
}

#[test]
fn when_sms_parts_are_counted_should_tell_gsm_from_unicode() {
    assert_eq!(sms_parts("Dobry den"), (SmsEncoding::Gsm7, 1));
    assert_eq!(sms_parts(&"a".repeat(160)), (SmsEncoding::Gsm7, 1));
    assert_eq!(sms_parts(&"a".repeat(161)), (SmsEncoding::Gsm7, 2));
    assert_eq!(sms_parts("Dobrý den"), (SmsEncoding::Ucs2, 1));
    assert_eq!(sms_parts(&"ř".repeat(71)), (SmsEncoding::Ucs2, 2));
    assert_eq!(sms_parts("€"), (SmsEncoding::Gsm7, 1));
}
