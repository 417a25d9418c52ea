"""moto's server with performance fixes for the local stack (docs/adr/0001), and one
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

moto's long poll (`ReceiveMessage` with a wait) spun: it waits for "the queue has a visible
message", but in a FIFO queue a visible message whose group is being processed by another
consumer cannot be delivered, so the wait returned at once and the poll walked the queue again
and again for its whole 20 s, holding the GIL most of the time; and it remembered the groups in
process from the poll's start, so it never delivered them even after they were done. Each walk
asked the clock twice per message through datetime objects. Under the routing benchmark that
was 58 % of the time the emulator held the GIL (py-spy `--gil`, 2026-11-29), while every other
request waited for it. The long poll here re-reads the groups in process on each pass, sleeps
until a message is added or deleted (a counter under the queue's own lock, so no wake-up is
lost) or a second passes (delays and visibility timeouts ending), and reads the clock once.

werkzeug's development server answers every request with `Connection: close`, so every SDK
request opened a TCP connection and the server started a thread for it (a route request makes
about ten; the accept loop and thread starts were 17 % of the GIL time). Its reason — http.server
does not drain an unread request body before reading the next request line — is handled here:
each request's body is read to its Content-Length after the response, and a connection is kept
only then (a chunked request body still closes it).

A table scan deep-copies every item it returns and computes each item's size twice (a walk over
every attribute) — 55 % of a scan of 25 small items (cProfile, 2026-11-29). A plain scan (no
index, no segment, no start key, no legacy ScanFilter) here computes the size once and returns
the stored items themselves: the response only reads them (`item.attrs` → JSON), and moto
replaces items on Put rather than mutating them. A projection copied the whole item to plain
JSON and back to keep a few attributes; the agent presences routing scans on every call carry
the ids of their last 256 events, and that scan took 13 ms. A projection of top-level attribute
names here picks those attributes (shared, not copied); nested paths go through moto's.

Python's full (generation 2) garbage collection walks every object the emulator holds — every
item of every table and every message — and, once enough survivors pile up, ran about once a
minute under the routing benchmark, 80–130 ms each with the GIL held: the requests that arrived
meanwhile waited, and those were the benchmark's p99 (2026-11-29). The young generations are
still collected as usual; the full collection runs every `LINKA_MOTO_FULL_GC_SECONDS` (600 s)
from a background thread instead of whenever the survivors grow by a quarter. Cyclic garbage
grows by about 2 000 objects a minute meanwhile.

moto applies DynamoDB writes with no lock while the server answers requests on many threads:
a conditional write reads the item, checks its condition and writes, and two concurrent ones
could both pass the check (two chat messages got the same sequence number, the second
overwriting the first, 2026-11-29 — DynamoDB itself never lets both through); and a
transaction that fails puts back the backup of every table it touched, dropping whatever
another request wrote to those tables meanwhile. Every write (PutItem, UpdateItem, DeleteItem,
TransactWriteItems; BatchWriteItem goes through the first two) here holds one lock from its
check to its last change. Reads take no lock.
"""

import copy
import functools
import gc
import logging
import os
import sys
import threading
import time
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from werkzeug.serving import DechunkedInput
from werkzeug.wsgi import LimitedStream
from moto.dynamodb.models.table import Table
import moto.core.responses as core_responses
import moto.server as moto_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler
from moto.server import main
from moto.core.serialize import BaseJSONSerializer
from moto.core.utils import unix_time
import moto.dynamodb.models.utilities as dynamodb_utilities
import moto.dynamodb.responses as dynamodb_responses
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes


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


class _NothingMoreToRead:
    """What werkzeug's after-response drain reads from: nothing. The drain reads the socket to
    its end, which on a kept connection would swallow the client's next request."""

    @staticmethod
    def read(size=-1):
        return b""


class _KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler with HTTP/1.1 keep-alive (see the module's documentation)."""

    # http.server writes the head and the body of a response separately; on a kept connection
    # Nagle's algorithm holds the body until the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def make_environ(self):
        environ = super().make_environ()
        self._linka_body = None
        if environ.get("wsgi.input_terminated"):
            # A chunked request body: read it from the socket; the connection closes after it.
            environ["wsgi.input"] = DechunkedInput(self._linka_socket_input)
            return environ
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length >= 0:
            self._linka_body = LimitedStream(self._linka_socket_input, length)
            environ["wsgi.input"] = self._linka_body
        return environ

    def run_wsgi(self):
        self._linka_socket_input = self.rfile
        self.rfile = _NothingMoreToRead()
        try:
            super().run_wsgi()
        finally:
            self.rfile = self._linka_socket_input
        body = getattr(self, "_linka_body", None)
        if body is None:
            self.close_connection = True
            return
        try:
            body.exhaust()
        except Exception:
            self.close_connection = True

    def send_header(self, keyword, value):
        if keyword.lower() == "connection" and value.lower() == "close" and getattr(self, "_linka_body", None) is not None:
            # werkzeug always sends it; a request whose body length is known keeps the
            # connection (unless the client asked to close it).
            return
        super().send_header(keyword, value)


moto_server.MotoRequestHandler = _KeepAliveRequestHandler

# moto lists the methods of the response class on every request (inspect.getmembers, 4 % of the
# GIL time); a class's methods do not change while the server runs.
core_responses.method_names_from_class = functools.lru_cache(maxsize=None)(core_responses.method_names_from_class)


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


def _now_millis():
    return time.time() * 1000.0


Message.visible = property(lambda self: _now_millis() > self.visible_at)
Message.delayed = property(lambda self: _now_millis() < self.delayed_until)


def _visible_messages(self):
    now = _now_millis()
    return [message for message in self._messages if now > message.visible_at and now >= message.delayed_until]


Queue.messages = property(_visible_messages)


def _changes(queue):
    return getattr(queue, "_linka_changes", 0)


def _count_change(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            with self._messages_lock:
                self._linka_changes = _changes(self) + 1
                self._messages_lock.notify_all()

    return wrapper


Queue.add_message = _count_change(Queue.add_message)
Queue.delete_message = _count_change(Queue.delete_message)


def _receive_message(
    self,
    queue_name,
    count,
    wait_seconds_timeout,
    visibility_timeout,
    message_attribute_names=None,
):
    # moto's receive_message (5.2.5) with the long poll fixed; see the module's documentation.
    if message_attribute_names is None:
        message_attribute_names = []
    queue = self.get_queue(queue_name)
    result = []
    polling_end = time.time() + wait_seconds_timeout
    while True:
        with queue._messages_lock:
            changes = _changes(queue)
        pending_groups = queue.pending_message_groups if queue.fifo_queue else set()
        messages_to_dlq = []
        for message in queue.messages:
            if message in queue.pending_messages:
                # Pending but visible again: the consumer timed out.
                queue.pending_messages.remove(message)
                pending_groups = queue.pending_message_groups if queue.fifo_queue else set()
            if message.group_id and queue.fifo_queue and message.group_id in pending_groups:
                continue
            if (
                queue.dead_letter_queue is not None
                and queue.redrive_policy
                and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]
            ):
                messages_to_dlq.append(message)
                continue
            queue.pending_messages.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            message_copy = copy.deepcopy(message)
            _filter_message_attributes(message_copy, message_attribute_names)
            if not self.is_message_valid_based_on_retention_period(queue_name, message):
                break
            result.append(message_copy)
            if len(result) >= count:
                break
        for message in messages_to_dlq:
            queue._messages.remove(message)
            queue.dead_letter_queue.add_message(message)
        remaining = polling_end - time.time()
        if result or not wait_seconds_timeout or remaining <= 0:
            return result
        with queue._messages_lock:
            queue._messages_lock.wait_for(lambda: _changes(queue) != changes, timeout=min(remaining, 1.0))


SQSBackend.receive_message = _receive_message


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


_scan = Table.scan
_RESULT_SIZE_LIMIT = dynamodb_models.table.RESULT_SIZE_LIMIT


def _plain_scan(
    self,
    filters,
    limit,
    exclusive_start_key,
    filter_expression=None,
    index_name=None,
    consistent_read=False,
    projection_expression=None,
    segments=(None, None),
):
    if filters or index_name or exclusive_start_key is not None or segments != (None, None):
        return _scan(
            self,
            filters,
            limit,
            exclusive_start_key,
            filter_expression=filter_expression,
            index_name=index_name,
            consistent_read=consistent_read,
            projection_expression=projection_expression,
            segments=segments,
        )
    results = []
    result_size = 0
    scanned_count = 0
    last_evaluated_key = None
    for item in self.all_items():
        size = item.size()
        if len(results) == limit or result_size + size > _RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
            break
        results.append(item)
        result_size += size
        scanned_count += 1
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expression:
        results = [item.project(projection_expression) for item in results]
    return results, scanned_count, last_evaluated_key


_project = Item.project


def _project_top_level(self, projection_expressions):
    names = []
    for path in projection_expressions:
        if len(path) != 1 or "[" in path[0]:
            return _project(self, projection_expressions)
        names.append(path[0])
    projected = Item.__new__(Item)
    projected.hash_key = self.hash_key
    projected.range_key = self.range_key
    projected.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(projected.attrs, ((name, self.attrs[name]) for name in names if name in self.attrs))
    return projected


Item.project = _project_top_level


Table.scan = _plain_scan

# One write at a time, as DynamoDB's conditional writes and transactions promise (see above).
_dynamodb_writes = threading.RLock()


def _one_write_at_a_time(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _dynamodb_writes:
            return method(*args, **kwargs)

    return wrapper


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _one_write_at_a_time(getattr(DynamoDBBackend, _name)))


def _collect_fully_now_and_then(seconds):
    while True:
        time.sleep(seconds)
        gc.collect()


def _defer_full_collections():
    gc.set_threshold(*gc.get_threshold()[:2], 1_000_000_000)
    seconds = float(os.environ.get("LINKA_MOTO_FULL_GC_SECONDS", "600"))
    threading.Thread(target=_collect_fully_now_and_then, args=(seconds,), daemon=True, name="full-gc").start()


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
    _defer_full_collections()
    sys.exit(main())
