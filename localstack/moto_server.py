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

moto's SQS reads a queue's ContentBasedDeduplication through `Queue.attributes`, which computes
every attribute, among them three message counts that walk every message of the queue, four
times for each message sent (twice in validation, in `send_message`, in `add_message`). With a
backlog in the CTI event FIFO queue that was 39 % of the emulator's busy time under the routing
benchmark (py-spy, 2026-11-29). Inside those three methods `Queue.attributes` answers with the
one attribute they read. Receiving was worse: for every message it looks at, moto reads the
queue's retention period through `get_queue_attributes`, which computes all attributes three
times (19 % after the first fix); the check here reads the retention period itself, and
`get_queue_attributes` computes the attributes once.

moto serialises every response through the service's botocore shape model, member by member:
a DynamoDB AttributeValue has ten possible members, each looked up through alias providers, so
a scan of 50 agent presences (4 KB of JSON) took 35–70 ms and serialisation was 31 % of the
emulator's busy time (py-spy, 2026-11-29). moto already holds items in the wire format
(`{"S": …}`, `{"M": {…}}`); an AttributeValue made only of such plain parts (strings, numbers,
booleans, nulls, their sets, maps and lists of them: no binary, which needs base64) is written
as it is.

Before that, every DynamoDB result is converted by `dynamo_to_dict`, which imports a module
and asks `hasattr(…, "to_json")` at every string and number of every item (30 % of a scan of
the 25 agent presences routing reads per call); the conversion here looks at plain strings,
numbers, dictionaries and lists first and does the same for everything else.

werkzeug logs every request line at INFO (9 % of the busy time); the emulator logs warnings only.
"""

import copy
import functools
import logging
import sys
import threading
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main
from moto.core.serialize import BaseJSONSerializer
from moto.core.utils import unix_time
import moto.dynamodb.models.utilities as dynamodb_utilities
import moto.dynamodb.responses as dynamodb_responses
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.sqs.models import Queue, SQSBackend


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


_full_queue_attributes = Queue.attributes.fget
_sending = threading.local()
_reading = threading.local()


def _queue_attributes(self):
    if getattr(_sending, "depth", 0):
        value = self.content_based_deduplication
        return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}
    computed = getattr(_reading, "computed", None)
    if computed is None:
        return _full_queue_attributes(self)
    if id(self) not in computed:
        computed[id(self)] = _full_queue_attributes(self)
    return computed[id(self)]


def _while_sending(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        _sending.depth = getattr(_sending, "depth", 0) + 1
        try:
            return method(*args, **kwargs)
        finally:
            _sending.depth -= 1

    return wrapper


_get_queue_attributes = SQSBackend.get_queue_attributes


@functools.wraps(_get_queue_attributes)
def _get_queue_attributes_once(self, *args, **kwargs):
    _reading.computed = {}
    try:
        return _get_queue_attributes(self, *args, **kwargs)
    finally:
        _reading.computed = None


def _within_retention_period(self, queue_name, message):
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return retention_period + message.sent_timestamp / 1000 > unix_time()


Queue.attributes = property(_queue_attributes)
SQSBackend.get_queue_attributes = _get_queue_attributes_once
SQSBackend.is_message_valid_based_on_retention_period = _within_retention_period
Queue.add_message = _while_sending(Queue.add_message)
SQSBackend._validate_message = _while_sending(SQSBackend._validate_message)
SQSBackend.send_message = _while_sending(SQSBackend.send_message)


_WIRE_SCALARS = frozenset(("S", "N", "BOOL", "NULL", "SS", "NS"))


def _plain_attribute_value(value):
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in _WIRE_SCALARS:
        return True
    if kind == "M":
        return type(inner) is dict and all(_plain_attribute_value(member) for member in inner.values())
    if kind == "L":
        return type(inner) is list and all(_plain_attribute_value(member) for member in inner)
    return False


_serialize_structure = BaseJSONSerializer._serialize_type_structure


def _serialize_structure_plainly(self, serialized, value, shape, key):
    if shape.name == "AttributeValue" and key and _plain_attribute_value(value):
        self._default_serialize(serialized, value, shape, key)
        return
    _serialize_structure(self, serialized, value, shape, key)


BaseJSONSerializer._serialize_type_structure = _serialize_structure_plainly


_dynamo_to_dict = dynamodb_utilities.dynamo_to_dict
_PLAIN_TYPES = (str, int, float, bool, type(None))


def _fast_dynamo_to_dict(obj):
    kind = type(obj)
    if kind in _PLAIN_TYPES:
        return obj
    if kind is dict:
        return {key: _fast_dynamo_to_dict(value) for key, value in obj.items()}
    if kind is list:
        return [_fast_dynamo_to_dict(value) for value in obj]
    if kind is DynamoType and obj.type not in ("B", "BS"):
        return {obj.type: _fast_dynamo_to_dict(obj.value)}
    return _dynamo_to_dict(obj)


dynamodb_utilities.dynamo_to_dict = _fast_dynamo_to_dict
dynamodb_responses.dynamo_to_dict = _fast_dynamo_to_dict


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
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _register_outbox()
    sys.exit(main())
