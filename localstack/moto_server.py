"""moto's server with one performance fix for the local stack (docs/adr/0001).

moto backs up every table a TransactWriteItems touches with copy.deepcopy before applying it,
so each transaction costs time proportional to the whole table. Every audited write of the HTTP
API is a transaction with its AuditTable record, and AuditTable only grows during a test run:
after a few thousand records a single write took over 10 s and the function timed out.

The backup here shares the (immutable, replaced-not-mutated on Put/Delete) item objects and
copies only the key dictionaries, which is O(number of keys) with a tiny constant. Rollback
semantics are unchanged for Put, Delete and ConditionCheck; an Update inside a failed
transaction is the one case moto mutates an item in place (Linka's transactions use none).
"""

import copy
import sys
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
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

if __name__ == "__main__":
    sys.exit(main())
