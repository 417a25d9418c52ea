"""moto's server with two performance fixes for the local stack (docs/adr/0001), and one
inspection route: `GET /moto-api/linka/outbox` lists the SMS published to phone numbers (SNS)
and the e-mails sent (SES/SESv2), which moto keeps but its own `/moto-api/data.json` does not
show (SMS) or shows among everything else. The dev gateway's `/_local/outbox` reads it.

moto backs up every table a TransactWriteItems touches with copy.deepcopy before applying it,
so each transaction costs time proportional to the whole table. Every audited write of the HTTP
API is a transaction with its AuditTable record, and AuditTable only grows during a test run:
after a few thousand records a single write took over 10 s and the function timed out.

The backup here shares the (immutable, replaced-not-mutated on Put/Delete) item objects and
copies only the key dictionaries, which is O(number of keys) with a tiny constant. Rollback
semantics are unchanged for Put, Delete and ConditionCheck; an Update inside a failed
transaction is the one case moto mutates an item in place (Linka's transactions use none).

moto finds the service of every request by matching its host against the URL patterns of all
its backends, one regular expression after another, under a lock that serialises every request
of every service. Profiled under the routing benchmark (py-spy, 2026-11-28) that lookup was 30 %
of the emulator's busy time. The host → backend mapping never changes while the server runs, so
it is remembered per host.
"""

import copy
import sys
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main


def _table_backup(table):
    clone = copy.copy(table)
    items = table.items
    backup = type(items)(items.default_factory) if hasattr(items, "default_factory") else type(items)()
    for key, value in items.items():
        backup[key] = dict(value) if isinstance(value, dict) else value
    clone.items = backup
    return clone


def _deepcopy(obj, memo=None):
    if isinstance(obj, Table):
        return _table_backup(obj)
    return copy.deepcopy(obj, memo)


_copy_shim = types.SimpleNamespace(**{name: getattr(copy, name) for name in dir(copy) if not name.startswith("__")})
_copy_shim.deepcopy = _deepcopy
dynamodb_models.copy = _copy_shim

_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backends_by_host = {}


def _remembered_backend_for_host(self, host):
    # Called under the dispatcher's own lock, so the dictionary needs no lock of its own.
    try:
        return _backends_by_host[host]
    except KeyError:
        backend = _backend_for_host(self, host)
        _backends_by_host[host] = backend
        return backend


DomainDispatcherApplication.get_backend_for_host = _remembered_backend_for_host


def _outbox(request, full_url, headers):
    import json

    from moto.ses.models import RawMessage, ses_backends
    from moto.sns.models import sns_backends

    sms = []
    for account, regions in sns_backends.items():
        for region, backend in regions.items():
            for message_id, (phone_number, text) in backend.sms_messages.items():
                sms.append({"messageId": message_id, "region": region, "to": phone_number, "text": text})
    email = []
    for account, regions in ses_backends.items():
        for region, backend in regions.items():
            for message in backend.sent_messages:
                entry = {"messageId": message.id, "region": region, "source": message.source}
                if isinstance(message, RawMessage):
                    entry["destinations"] = list(message.destinations)
                    entry["raw"] = message.raw_data
                else:
                    entry["destinations"] = message.destinations
                    entry["subject"] = message.subject
                    entry["body"] = message.body
                email.append(entry)
    return 200, {"Content-Type": "application/json"}, json.dumps({"sms": sms, "email": email})


def _register_outbox():
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/linka/outbox"] = _outbox


if __name__ == "__main__":
    _register_outbox()
    sys.exit(main())
