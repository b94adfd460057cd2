"""DynamoDB writes made safe under concurrency the way DynamoDB isolates them: per item, not per table (moto 5.2.x).

moto's transact_write_items deep-copies every table a transaction touches (once per item) so it can roll back,
and rolls back by swapping the whole table for that copy. Under a threaded server that is:
  * O(table size) per transaction: 10 000 likes on one post take hours and moto grows to many GB;
  * lossy: a cancelled transaction (say, a repeated like) discards writes other requests made meanwhile, and the
    copy itself can crash with "dictionary changed size during iteration".
Here a transaction snapshots only the items it names and restores only those on cancellation. Isolation is per
partition key: a write locks the partitions it changes (a transaction all of them, in one order), so writes to
different partitions run side by side, as on DynamoDB, and a transaction is atomic with respect to every other
write of its items. Reads that walk a whole table (a Query of an index, which moto answers by iterating every
item, and Scan) wait until no write is changing the table: moto's tables are plain dicts, and iterating one
while a write adds a partition fails ("dictionary changed size during iteration", a 500 the service never
answers), as does DescribeTable (it counts them). A GetItem takes its partition's lock: it never sees a
transaction's writes that are then rolled back. Conflicts between overlapping transactions, as DynamoDB reports
them, are moto_pushback's.
"""
import copy
import threading
from collections import defaultdict

from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend

import moto_streams


class TableLock:
    """Many writers at once (each holding the partitions it changes), or one reader walking the whole table.
    Re-entrant per thread: moto's transaction calls its own put_item and update_item."""

    def __init__(self):
        self._cond = threading.Condition()
        self._writers = 0
        self._walking = False
        self._waiting_walkers = 0
        self._local = threading.local()

    def _depth(self):
        return getattr(self._local, "depth", 0)

    def write(self):
        return _Held(self._enter_write, self._exit_write)

    def walk(self):
        return _Held(self._enter_walk, self._exit_walk)

    def _enter_write(self):
        if self._depth() == 0:
            with self._cond:
                # A waiting walker goes first, so a stream of writes cannot starve it.
                while self._walking or self._waiting_walkers:
                    self._cond.wait()
                self._writers += 1
        self._local.depth = self._depth() + 1

    def _exit_write(self):
        self._local.depth = self._depth() - 1
        if self._depth() == 0:
            with self._cond:
                self._writers -= 1
                self._cond.notify_all()

    def _enter_walk(self):
        if self._depth() > 0:  # already inside a write of this table: it is this thread's own
            self._local.depth = self._depth() + 1
            return
        with self._cond:
            self._waiting_walkers += 1
            while self._walking or self._writers:
                self._cond.wait()
            self._waiting_walkers -= 1
            self._walking = True
        self._local.depth = 1

    def _exit_walk(self):
        self._local.depth = self._depth() - 1
        if self._depth() == 0:
            with self._cond:
                self._walking = False
                self._cond.notify_all()


class _Held:
    def __init__(self, enter, exit_):
        self._enter, self._exit = enter, exit_

    def __enter__(self):
        self._enter()

    def __exit__(self, *exc):
        self._exit()


_registry = threading.Lock()
_tables = defaultdict(TableLock)
_partitions = defaultdict(threading.RLock)


def _table_lock(name):
    with _registry:
        return _tables[name]


def _partition_locks(keys):
    """The locks of (table, partition) pairs, in one global order (no two writers can deadlock)."""
    with _registry:
        return [_partitions[key] for key in sorted(set(keys))]


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


def _partition(backend, table_name, key):
    table = backend.get_table(table_name)
    return (table_name, repr(key.get(table.hash_key_attr)))


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
    with moto_streams.suppressed():
        for table_name, key, attrs in reversed(saved):
            if attrs is None:
                backend.delete_item(table_name, key)
            else:
                backend.put_item(table_name, attrs)


def _locked(tables, partitions, run):
    held = [_table_lock(name).write() for name in sorted(set(tables))]
    locks = _partition_locks(partitions)
    for table in held:
        table.__enter__()
    for lock in locks:
        lock.acquire()
    try:
        return run()
    finally:
        for lock in reversed(locks):
            lock.release()
        for table in reversed(held):
            table.__exit__()


def _single_write(method, key_arg):
    def wrapper(self, table_name, *args, **kwargs):
        try:
            key = key_arg(self, table_name, args, kwargs)
            partitions = [_partition(self, table_name, key)]
        except Exception:  # an invalid request: moto itself rejects it
            partitions = []
        return _locked([table_name], partitions, lambda: method(self, table_name, *args, **kwargs))

    wrapper.__wrapped__ = method
    return wrapper


def _walking(method):
    def wrapper(self, table_name, *args, **kwargs):
        with _table_lock(table_name).walk():
            return method(self, table_name, *args, **kwargs)

    wrapper.__wrapped__ = method
    return wrapper


def _transact_write_items(original):
    def transact_write_items(self, transact_items):
        tables, partitions = [], []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            try:
                tables.append(op["TableName"])
                partitions.append(_partition(self, op["TableName"], _key_of(self, op_type, op)))
            except Exception:  # an invalid request: moto itself rejects it
                pass

        def run():
            saved = _snapshot(self, transact_items)
            try:
                with moto_streams.transaction():
                    return original(self, transact_items)
            except Exception:
                _restore(self, saved)
                raise

        return _locked(tables, partitions, run)

    return transact_write_items


def patch():
    models.copy = _CopyWithoutTables()
    DynamoDBBackend.transact_write_items = _transact_write_items(DynamoDBBackend.transact_write_items)

    def put_key(backend, table_name, args, kwargs):
        item = args[0] if args else kwargs["item_attrs"]
        table = backend.get_table(table_name)
        return {table.hash_key_attr: item[table.hash_key_attr]}

    def key_arg(backend, table_name, args, kwargs):
        return args[0] if args else kwargs["key"]

    DynamoDBBackend.put_item = _single_write(DynamoDBBackend.put_item, put_key)
    DynamoDBBackend.update_item = _single_write(DynamoDBBackend.update_item, key_arg)
    DynamoDBBackend.delete_item = _single_write(DynamoDBBackend.delete_item, key_arg)
    DynamoDBBackend.get_item = _single_write(DynamoDBBackend.get_item, key_arg)  # read committed
    DynamoDBBackend.query = _walking(DynamoDBBackend.query)
    DynamoDBBackend.scan = _walking(DynamoDBBackend.scan)
    DynamoDBBackend.describe_table = _walking(DynamoDBBackend.describe_table)  # it counts the items
