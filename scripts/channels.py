#!/usr/bin/env python3
"""Customers' SMS, e-mails and Messenger messages into the local stack, and what it sent out
(issue 7, OMNI-1…3). Plays the parts AWS and Facebook play in production:

- `sms`: publishes a two-way SMS to InboundSmsTopic in End User Messaging's JSON format;
- `mail`: builds a MIME e-mail (or takes an .eml), stores it in ChatMailBucket under inbound/
  as SES's receipt rule does, and publishes SES's receipt notification to InboundMailTopic;
- `bounce`: publishes SES's event that an e-mail the stack sent (its SES message id, as the
  outbox lists it) bounced, was marked as spam or was rejected, to MailEventsTopic;
- `messenger`: posts a page event to /api/chat/social/messenger signed with the local app secret
  (X-Hub-Signature-256), as Facebook does;
- `outbox`: lists the SMS, e-mails and Messenger answers the stack sent (the dev gateway's
  /_local/outbox; also as a page at /_local/outbox.html).

usage:
  .venv/bin/python scripts/channels.py sms --from +420777000111 --text "Dobrý den, …"
  .venv/bin/python scripts/channels.py mail --from jana@example.cz --name "Jana Dvořáková" \\
        --subject "Změna adresy" --text "…" [--attach soubor.pdf] [--in-reply-to <id>] [--eml x.eml]
  .venv/bin/python scripts/channels.py bounce --message-id <SES id> --to jana@example.cz \\
        [--kind Bounce|Complaint|Reject] [--subject "Re: …"] [--diagnostic "smtp; 550 5.1.1 …"]
  .venv/bin/python scripts/channels.py messenger --user PSID7 --text "…" [--page PAGE1]
  .venv/bin/python scripts/channels.py outbox
  endpoint: $LINKA_AWS_ENDPOINT, else $AWS_ENDPOINT_URL, else http://127.0.0.1:4566
  base URL: $LINKA_BASE_URL, else http://127.0.0.1:8080
Prints the id of what it injected (SNS message id, SES message id) or the outbox as JSON.
"""
import argparse
import hashlib
import hmac
import json
import mimetypes
import os
import sys
import urllib.request
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formataddr, format_datetime, make_msgid

import boto3

PREFIX = "linka-"
# The local stack's Messenger app secret (localstack/dev-gateway/src/app.rs).
MESSENGER_SECRET = b"linka-local-messenger-app-secret"


def endpoint():
    return os.environ.get("LINKA_AWS_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566"


def base_url():
    return (os.environ.get("LINKA_BASE_URL") or "http://127.0.0.1:8080").rstrip("/")


def client(service):
    return boto3.client(
        service,
        endpoint_url=endpoint(),
        region_name=os.environ.get("AWS_REGION", "eu-central-1"),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def topic_arn(sns, logical_id):
    name = PREFIX + logical_id
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                return topic["TopicArn"]
    sys.exit(f"no topic {name}: is the local stack running (make run)?")


def inject_sms(args):
    sns = client("sns")
    message = {
        "originationNumber": args.sender,
        "destinationNumber": args.to,
        "messageKeyword": "LINKA",
        "messageBody": args.text,
        "inboundMessageId": str(uuid.uuid4()),
        "previousPublishedMessageId": None,
    }
    sent = sns.publish(TopicArn=topic_arn(sns, "InboundSmsTopic"), Message=json.dumps(message, ensure_ascii=False))
    print(json.dumps({"snsMessageId": sent["MessageId"], "inboundMessageId": message["inboundMessageId"]}))


def build_mail(args):
    if args.eml:
        with open(args.eml, "rb") as handle:
            return handle.read()
    mail = EmailMessage()
    mail["From"] = formataddr((args.name, args.sender)) if args.name else args.sender
    mail["To"] = args.to
    mail["Subject"] = args.subject
    mail["Date"] = format_datetime(datetime.now(timezone.utc))
    mail["Message-ID"] = make_msgid(domain=args.sender.split("@")[-1])
    if args.in_reply_to:
        mail["In-Reply-To"] = f"<{args.in_reply_to.strip('<>')}>"
        mail["References"] = f"<{args.in_reply_to.strip('<>')}>"
    mail.set_content(args.text)
    for path in args.attach or []:
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        with open(path, "rb") as handle:
            mail.add_attachment(handle.read(), maintype=maintype, subtype=subtype, filename=os.path.basename(path))
    return mail.as_bytes()


def inject_mail(args):
    raw = build_mail(args)
    ses_id = uuid.uuid4().hex
    key = f"inbound/{ses_id}"
    bucket = (PREFIX + "ChatMailBucket").lower()
    client("s3").put_object(Bucket=bucket, Key=key, Body=raw)
    notification = {
        "notificationType": "Received",
        "mail": {
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "source": args.sender,
            "messageId": ses_id,
            "destination": [args.to],
        },
        "receipt": {
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "recipients": [args.to],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "action": {"type": "S3", "bucketName": bucket, "objectKey": key},
        },
    }
    sns = client("sns")
    sns.publish(TopicArn=topic_arn(sns, "InboundMailTopic"), Message=json.dumps(notification))
    print(json.dumps({"sesMessageId": ses_id, "objectKey": key}))


def inject_bounce(args):
    now = datetime.now(timezone.utc).isoformat()
    event = {
        "eventType": args.kind,
        "mail": {
            "timestamp": now,
            "source": "podpora@linka.example",
            "messageId": args.message_id,
            "destination": [args.to],
            "commonHeaders": {"to": [args.to], "subject": args.subject},
        },
    }
    recipient = {"emailAddress": args.to, "diagnosticCode": args.diagnostic}
    if args.kind == "Bounce":
        event["bounce"] = {"bounceType": "Permanent", "bounceSubType": "General",
                           "bouncedRecipients": [recipient], "timestamp": now}
    elif args.kind == "Complaint":
        event["complaint"] = {"complainedRecipients": [{"emailAddress": args.to}], "timestamp": now}
    else:
        event["reject"] = {"reason": args.diagnostic}
    sns = client("sns")
    answer = sns.publish(TopicArn=topic_arn(sns, "MailEventsTopic"), Message=json.dumps(event, ensure_ascii=False))
    print(json.dumps({"snsMessageId": answer["MessageId"]}))


def inject_messenger(args):
    mid = "m_" + uuid.uuid4().hex
    now = int(datetime.now(timezone.utc).timestamp() * 1000)
    body = json.dumps({
        "object": "page",
        "entry": [{"id": args.page, "time": now, "messaging": [{
            "sender": {"id": args.user}, "recipient": {"id": args.page}, "timestamp": now,
            "message": {"mid": mid, "text": args.text},
        }]}],
    }, ensure_ascii=False).encode()
    signature = "sha256=" + hmac.new(MESSENGER_SECRET, body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        base_url() + "/api/chat/social/messenger",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    print(json.dumps({"mid": mid, **answer}))


def outbox(_args):
    with urllib.request.urlopen(base_url() + "/_local/outbox", timeout=30) as response:
        print(json.dumps(json.loads(response.read()), ensure_ascii=False, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sms = commands.add_parser("sms", help="a customer's SMS")
    sms.add_argument("--from", dest="sender", required=True)
    sms.add_argument("--to", default="+420800123456")
    sms.add_argument("--text", required=True)
    sms.set_defaults(run=inject_sms)
    mail = commands.add_parser("mail", help="a customer's e-mail")
    mail.add_argument("--from", dest="sender", required=True)
    mail.add_argument("--name")
    mail.add_argument("--to", default="podpora@linka.example")
    mail.add_argument("--subject", default="Dotaz")
    mail.add_argument("--text", default="Dobrý den,\n\nprosím o informaci.\n")
    mail.add_argument("--attach", action="append")
    mail.add_argument("--in-reply-to")
    mail.add_argument("--eml")
    mail.set_defaults(run=inject_mail)
    bounce = commands.add_parser("bounce", help="SES's event about a sent e-mail")
    bounce.add_argument("--message-id", required=True, help="the SES message id of the sent e-mail")
    bounce.add_argument("--to", required=True)
    bounce.add_argument("--kind", choices=["Bounce", "Complaint", "Reject"], default="Bounce")
    bounce.add_argument("--subject", default="Re: Dotaz")
    bounce.add_argument("--diagnostic", default="smtp; 550 5.1.1 user unknown")
    bounce.set_defaults(run=inject_bounce)
    messenger = commands.add_parser("messenger", help="a customer's Messenger message")
    messenger.add_argument("--user", required=True, help="the page-scoped user id")
    messenger.add_argument("--page", default="LINKA-PAGE")
    messenger.add_argument("--text", required=True)
    messenger.set_defaults(run=inject_messenger)
    out = commands.add_parser("outbox", help="what the stack sent")
    out.set_defaults(run=outbox)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
