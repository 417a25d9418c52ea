#!/usr/bin/env python3
"""Loads demo client records into ClientsTable on the local AWS emulator (moto).

Writes N synthetic clients from scripts/gen_clients.py (default 2000, deterministic for a seed)
plus fixed demo clients for caller identification (IN-15):

- 90000001 Jana Dvořáková and 90000002 Tomáš Dvořák (her son) share the mobile +420777000111:
  a call from it lists both;
- 90000003 Marie Veselá, a VIP, on +420777000222;
- M-… Eva Malá, entered by hand (no ICIS id, so no ICIS link) on +420777000333.

Items have the shape of shared/src/adapters/clients_dynamodb.rs: `clientId`, `icisId`, `status`,
`fields` (camelCase keys, strings), `updatedAt`, `updatedBy`, `version`, and the sparse index
attributes `phone`, `mobile`, `emailLower`, `insuranceNumber`. Re-running overwrites the same ids.

usage: .venv/bin/python scripts/seed-clients.py [-n COUNT] [--seed S] [--table NAME]
                                                [--endpoint URL] [--create-table]
  endpoint: --endpoint, else $LINKA_AWS_ENDPOINT, else $AWS_ENDPOINT_URL, else http://127.0.0.1:4566
  table:    --table, else $CLIENTS_TABLE, else linka-ClientsTable (the local stack's name)
"""
import argparse
import os
import sys
import time
import uuid
from datetime import datetime, timezone

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_clients import generate  # noqa: E402

# snake_case generator column -> camelCase field key of the client card
FIELD_KEYS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "birth_date": "birthDate",
    "gender": "gender",
    "insurance_number": "insuranceNumber",
    "company": "company",
    "ico": "ico",
    "street": "street",
    "city": "city",
    "postal_code": "postalCode",
    "phone": "phone",
    "mobile": "mobile",
    "email": "email",
    "preferred_language": "preferredLanguage",
    "note": "note",
}

# A fixed namespace, so that clients without an ICIS id keep their M-<uuid> across runs.
MANUAL_NAMESPACE = uuid.UUID("6b1c4f0e-3a57-4d8e-9c2a-6f1d2e3b4a50")

DEMO = [
    {"icis_id": "90000001", "first_name": "Jana", "last_name": "Dvořáková", "birth_date": "1950-08-25",
     "gender": "F", "insurance_number": "505825123", "street": "Husova 12", "city": "Brno",
     "postal_code": "602 00", "mobile": "+420777000111", "email": "jana.dvorakova@seznam.cz",
     "status": "standard", "preferred_language": "cs", "note": "Volá často kvůli synovi."},
    {"icis_id": "90000002", "first_name": "Tomáš", "last_name": "Dvořák", "birth_date": "1978-01-01",
     "gender": "M", "insurance_number": "7801011230", "street": "Husova 12", "city": "Brno",
     "postal_code": "602 00", "phone": "+420541000111", "mobile": "+420777000111",
     "email": "tomas.dvorak@email.cz", "status": "standard", "preferred_language": "cs"},
    {"icis_id": "90000003", "first_name": "Marie", "last_name": "Veselá", "birth_date": "1985-02-15",
     "gender": "F", "insurance_number": "8552151234", "company": "Veselá s.r.o.", "ico": "25596641",
     "street": "Na Příkopě 1", "city": "Praha", "postal_code": "110 00", "mobile": "+420777000222",
     "email": "marie.vesela@gmail.com", "status": "vip", "preferred_language": "cs",
     "note": "VIP klientka – přednostní vyřízení."},
    {"icis_id": "", "manual_key": "demo-eva-mala", "first_name": "Eva", "last_name": "Malá",
     "mobile": "+420777000333", "email": "eva.mala@post.cz", "status": "standard",
     "preferred_language": "cs"},
]


def rfc3339_now():
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def to_item(record, index, seed, now):
    """One generator (or demo) record as a ClientsTable item."""
    icis_id = record.get("icis_id") or None
    if icis_id:
        client_id = icis_id
    else:
        key = record.get("manual_key") or f"gen-{seed}-{index}"
        client_id = "M-" + str(uuid.uuid5(MANUAL_NAMESPACE, key))
    fields = {}
    for column, key in FIELD_KEYS.items():
        value = (record.get(column) or "").strip()
        if value:
            fields[key] = value
    item = {
        "clientId": client_id,
        "icisId": icis_id,
        "status": record.get("status") or "standard",
        "fields": fields,
        "updatedAt": now,
        "updatedBy": "icis" if icis_id else "seed",
        "version": 1,
    }
    # The sparse index attributes (shared/src/clients.rs, index_attributes).
    for key in ("phone", "mobile", "insuranceNumber"):
        if key in fields:
            item[key] = fields[key]
    if "email" in fields:
        item["emailLower"] = fields["email"].strip().lower()
    return item


def create_table(client, table):
    """ClientsTable as in infra/template.yaml (for a bare emulator without the dev gateway)."""
    indexes = [("byPhone", "phone"), ("byMobile", "mobile"), ("byEmail", "emailLower"),
               ("byInsuranceNumber", "insuranceNumber")]
    client.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "clientId", "AttributeType": "S"}]
        + [{"AttributeName": attribute, "AttributeType": "S"} for _, attribute in indexes],
        KeySchema=[{"AttributeName": "clientId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {"IndexName": name, "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}}
            for name, attribute in indexes
        ],
    )
    client.get_waiter("table_exists").wait(TableName=table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="synthetic clients (default 2000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--table", default=os.environ.get("CLIENTS_TABLE", "linka-ClientsTable"))
    parser.add_argument("--endpoint", default=os.environ.get("LINKA_AWS_ENDPOINT")
                        or os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "eu-central-1"))
    parser.add_argument("--create-table", action="store_true",
                        help="create the table when it does not exist")
    args = parser.parse_args()
    if args.n < 0:
        parser.error("-n must not be negative")

    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        region_name=args.region,
    )
    client = session.client("dynamodb", endpoint_url=args.endpoint)
    existing = client.list_tables().get("TableNames", [])
    if args.table not in existing:
        if not args.create_table:
            sys.exit(f"seed-clients: no table {args.table} at {args.endpoint} "
                     f"(start the stack, or pass --create-table); tables: {', '.join(existing) or 'none'}")
        create_table(client, args.table)

    table = session.resource("dynamodb", endpoint_url=args.endpoint).Table(args.table)
    now = rfc3339_now()
    started = time.monotonic()
    count = 0
    with table.batch_writer(overwrite_by_pkeys=["clientId"]) as batch:
        for index, record in enumerate(DEMO):
            batch.put_item(Item=to_item(record, index, "demo", now))
            count += 1
        for index, record in enumerate(generate(args.n, args.seed)):
            batch.put_item(Item=to_item(record, index, args.seed, now))
            count += 1
    elapsed = time.monotonic() - started
    print(f"seed-clients: wrote {count} clients ({len(DEMO)} demo) to {args.table} "
          f"at {args.endpoint} in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
