"""DynamoDB TransactWriteItems fixed to behave like AWS under load (moto 5.2.x).

moto's transact_write_items deep-copies every table a transaction touches (once per item) so it can roll back,
and rolls back by swapping the whole table for that copy. Under a threaded server that is:
  * O(table size) per transaction: 10 000 likes on one post take hours and moto grows to many GB;
  * lossy: a cancelled transaction (say, a repeated like) discards writes other requests made meanwhile, and the
    copy itself can crash with "dictionary changed size during iteration".
Here a transaction snapshots only the items it names, restores only those on cancellation, and DynamoDB writes
are serialised by one lock, so a transaction is atomic with respect to other writes, as on AWS. Reads that
iterate a table (Query, which walks every item of the table for an index, and Scan) take the same lock: moto's
table is a plain dict, and iterating it while a write adds a partition fails with "dictionary changed size
during iteration" (a 500 the real service never answers).
"""
import copy
import threading

from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend

WRITE_LOCK = threading.RLock()


class _CopyWithoutTables:
    """moto.dynamodb.models' `copy` module, except that deep-copying a Table returns the table itself."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, models.Table) else copy.deepcopy(value, memo)


def _key_of(backend, op_type, op):
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _snapshot(backend, transact_items):
    saved = []
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        try:
            key = _key_of(backend, op_type, op)
            item = backend.get_item(op["TableName"], key)
        except Exception:  # an invalid request: moto itself rejects it, nothing to restore
            continue
        saved.append((op["TableName"], key, copy.deepcopy(item.to_json()["Attributes"]) if item else None))
    return saved


def _restore(backend, saved):
    for table_name, key, attrs in reversed(saved):
        if attrs is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, attrs)


def _serialised(method):
    def wrapper(*args, **kwargs):
        with WRITE_LOCK:
            return method(*args, **kwargs)

    wrapper.__wrapped__ = method
    return wrapper


def _transact_write_items(original):
    def transact_write_items(self, transact_items):
        with WRITE_LOCK:
            saved = _snapshot(self, transact_items)
            try:
                return original(self, transact_items)
            except Exception:
                _restore(self, saved)
                raise

    return transact_write_items


def patch():
    models.copy = _CopyWithoutTables()
    DynamoDBBackend.transact_write_items = _transact_write_items(DynamoDBBackend.transact_write_items)
    for name in ("put_item", "update_item", "delete_item", "query", "scan"):
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))

