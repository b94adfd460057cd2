"""DynamoDB and SQS pushing back as they do at scale (moto 5.2.5): off unless asked for, per run or per table.

What the real services do under load, and moto never does:
  * Per-partition throughput. Every request's capacity units are computed as DynamoDB computes them (item size
    in 1 KB write units and 4 KB read units, half for eventually consistent reads, double inside transactions)
    and charged to the partition key it touches (and, for writes, to the partition keys of the indexes the item
    is in). A partition sustains 1 000 WCU/s and 3 000 RCU/s, times `scale` so that a test reaches the limit
    with little load. A request over budget is refused with DynamoDB's own error: ThrottlingException (reason
    TableWriteKeyRangeThroughputExceeded, ...) on an on-demand table, or ThrottlingError as the cancellation
    reason of the item inside a transaction.
  * Transactions hold their items for `transaction_hold_ms` (DynamoDB's two-phase commit takes time): another
    transaction touching a held item is cancelled with TransactionConflict, a plain write to it fails with
    TransactionConflictException. Without pushback, transactions still serialise per item (never per table).
  * Faults: for an operation, an error rate (ThrottlingException or InternalServerError) and a latency; for an
    SQS queue, a rate of failed SendMessage calls (ServiceUnavailable).
  * A report per table: consumed and throttled units per partition key (GET /_stampede/pushback/report?table=T).

Settings: the environment variable STAMPEDE_PUSHBACK (JSON, applies to every table: a whole run), or
POST /_stampede/pushback with {"table": "T", ...} (one table: a test's own) or {"queue": "NAME", "send_error_rate":
0.2}; {"table": "T", "off": true} switches a table back. Table settings (all optional):
  {"scale": 1.0, "wcu_per_partition": 1000, "rcu_per_partition": 3000, "transaction_hold_ms": 0,
   "faults": {"TransactWriteItems": {"error_rate": 0.1, "error": "ThrottlingException", "latency_ms": 5}}}
"""
import json
import math
import os
import random
import re
import threading
import time
from collections import defaultdict

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import SQSBackend

PREFIX = "com.amazonaws.dynamodb.v20120810#"
DEFAULTS = {"scale": 1.0, "wcu_per_partition": 1000, "rcu_per_partition": 3000, "transaction_hold_ms": 0,
            "faults": {}}

_lock = threading.Lock()
_run_settings = json.loads(os.environ.get("STAMPEDE_PUSHBACK") or "null")
_table_settings = {}      # table name -> settings, or None when switched off for that table
_queue_settings = {}      # queue name -> {"send_error_rate": r}
_buckets = {}             # (table, index, partition, "read"|"write") -> [tokens, refilled_at]
_report = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))   # table -> partition -> counter -> value


def settings_for(table):
    with _lock:
        if table in _table_settings:
            chosen = _table_settings[table]
        else:
            chosen = _run_settings
    return None if chosen is None else {**DEFAULTS, **chosen}


class Throttled(JsonRESTError):
    def __init__(self, reason, table_arn):
        super().__init__(PREFIX + "ThrottlingException",
                         "Throughput exceeds the current capacity for one or more partitions of the table or index.")
        self.description = json.dumps({
            "__type": PREFIX + "ThrottlingException",
            "message": "Throughput exceeds the current capacity for one or more partitions of the table or index.",
            "ThrottlingReasons": [{"reason": reason, "resource": table_arn}],
        })


class TransactionConflict(JsonRESTError):
    def __init__(self):
        super().__init__(PREFIX + "TransactionConflictException",
                         "Transaction is ongoing for the item")


class Injected(JsonRESTError):
    def __init__(self, error):
        if error == "InternalServerError":
            super().__init__(PREFIX + "InternalServerError", "Internal server error (injected)")
            self.code = 500
        else:
            super().__init__(PREFIX + "ThrottlingException", "Rate of requests exceeds the allowed throughput (injected)")


# --- sizes and capacity units, as DynamoDB counts them -----------------------------------------------------------

def _number_size(text):
    digits = len(text.lstrip("-").replace(".", "").lstrip("0")) or 1
    return (digits + 1) // 2 + 1


def attribute_size(value):
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(b) * 3 // 4 for b in data)
    if kind == "L":
        return 3 + sum(attribute_size(e) + 1 for e in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(e) + 1 for k, e in data.items())
    return 1


def item_size(attrs):
    return sum(len(name.encode()) + attribute_size(value) for name, value in (attrs or {}).items())


def write_units(size):
    return max(1, math.ceil(size / 1024))


def read_units(size, consistent):
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


# --- per-partition token buckets ------------------------------------------------------------------------------

def _take(table, index, partition, kind, units, settings, debt=False):
    """Charges `units` to a partition; False (nothing charged) when it has no budget left. With `debt`, charges
    whatever the balance (reads are charged after they run, like DynamoDB's)."""
    limit = settings["scale"] * (settings["wcu_per_partition"] if kind == "write" else settings["rcu_per_partition"])
    key = (table, index, partition, kind)
    now = time.monotonic()
    with _lock:
        tokens, at = _buckets.get(key, (limit, now))
        tokens = min(limit, tokens + (now - at) * limit)
        counters = _report[table][partition if index is None else f"{index}:{partition}"]
        if not debt and tokens < units:
            _buckets[key] = (tokens, now)
            counters[f"throttled_{kind}_units"] += units
            counters["throttled_requests"] += 1
            return False
        _buckets[key] = (tokens - units, now)
        counters[f"{kind}_units"] += units
        return True


def _has_budget(table, partition, kind, settings):
    """Whether a partition has budget left (reads are refused only when it is spent); a refusal is reported."""
    limit = settings["scale"] * (settings["wcu_per_partition"] if kind == "write" else settings["rcu_per_partition"])
    now = time.monotonic()
    with _lock:
        tokens, at = _buckets.get((table, None, partition, kind), (limit, now))
        if min(limit, tokens + (now - at) * limit) > 0:
            return True
        _report[table][partition]["throttled_requests"] += 1
        return False


def _table(handler, name):
    """The backend and table a request names (from the request's own account and region)."""
    backend = handler.dynamodb_backend
    return backend, backend.tables.get(name)


def _partition(table, key_attrs):
    value = key_attrs.get(table.hash_key_attr)
    return None if value is None else next(iter(value.values()))


def _index_partitions(table, attrs):
    """(index name, partition value) of each index an item with `attrs` is in."""
    found = []
    for index in table.global_indexes:
        hash_attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
        if attrs and hash_attr in attrs:
            found.append((index.name, next(iter(attrs[hash_attr].values()))))
    return found


def _current(backend, table, key_attrs):
    try:
        item = backend.get_item(table.name, key_attrs)
    except Exception:  # an invalid key: moto itself answers with the right error
        return None
    return item.to_json()["Attributes"] if item else None


def _key_of(table, attrs):
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr and table.range_key_attr in attrs:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _write_cost(backend, table, op, body):
    """(key, units, index partitions) of a write: the larger of the item's size before and after."""
    if op == "Put":
        new = body["Item"]
        key = _key_of(table, new)
        old = _current(backend, table, key)
        size = max(item_size(new), item_size(old))
        return key, write_units(size), _index_partitions(table, new) + _index_partitions(table, old)
    key = body["Key"]
    old = _current(backend, table, key)
    extra = item_size(body.get("ExpressionAttributeValues"))
    size = item_size(old) + (extra if op == "Update" else 0)
    return key, write_units(size), _index_partitions(table, old)


def _charge_write(backend, table, key, units, indexes, settings, transactional=False):
    """Charges a write to its partition and the index partitions it changes; the throttling reason if refused."""
    return _charge_all([(table, key, units, indexes)], settings, transactional)[0]


def _charge_all(writes, settings, transactional):
    """Charges every write of one request, or none of them: DynamoDB refuses a throttled request whole, and what
    it refuses consumes no capacity. Returns each write's throttling reason (None where it had budget)."""
    factor = 2 if transactional else 1
    needs = defaultdict(float)  # (table, index, partition) -> units
    parts = []
    for table, key, units, indexes in writes:
        mine = [(table.name, None, _partition(table, key))] + [(table.name, i, p) for i, p in indexes]
        for part in mine:
            needs[part] += units * factor
        parts.append(mine)
    limit = settings["scale"] * settings["wcu_per_partition"]
    now = time.monotonic()
    with _lock:
        balance = {}
        for part, units in needs.items():
            tokens, at = _buckets.get((*part, "write"), (limit, now))
            balance[part] = min(limit, tokens + (now - at) * limit)
        short = {part for part, units in needs.items() if balance[part] < units}
        for part, units in needs.items():
            counters = _report[part[0]][part[2] if part[1] is None else f"{part[1]}:{part[2]}"]
            if short:
                _buckets[(*part, "write")] = (balance[part], now)
                if part in short:
                    counters["throttled_write_units"] += units
                    counters["throttled_requests"] += 1
            else:
                _buckets[(*part, "write")] = (balance[part] - units, now)
                counters["write_units"] += units
    reasons = []
    for mine in parts:
        if mine[0] in short:
            reasons.append("TableWriteKeyRangeThroughputExceeded")
        elif any(part in short for part in mine[1:]):
            reasons.append("IndexWriteKeyRangeThroughputExceeded")
        else:
            reasons.append(None)
    return reasons


def _fault(operation, settings):
    fault = settings["faults"].get(operation)
    if not fault:
        return
    if fault.get("latency_ms"):
        time.sleep(fault["latency_ms"] / 1000)
    if random.random() < fault.get("error_rate", 0):
        raise Injected(fault.get("error", "ThrottlingException"))


# --- item holds: transactions in progress -----------------------------------------------------------------------

_holds = {}  # (table, partition, sort) -> until (monotonic seconds)


def _item_id(table, key):
    sort = key.get(table.range_key_attr) if table.range_key_attr else None
    return (table.name, json.dumps(key.get(table.hash_key_attr)), json.dumps(sort))


def _held(item_id):
    with _lock:
        return _holds.get(item_id, 0) > time.monotonic()


def _hold(item_ids, seconds):
    now = time.monotonic()
    with _lock:
        if len(_holds) > 10_000:  # forget holds that ended
            for item_id in [i for i, until in _holds.items() if until <= now]:
                del _holds[item_id]
        for item_id in item_ids:
            _holds[item_id] = max(_holds.get(item_id, 0), now + seconds)


# --- the wrapped operations ---------------------------------------------------------------------------------------

def _pushed_back(handler, operation):
    """(settings, backend, table) for a single-table request under pushback, its injected fault raised first; None
    when pushback is off for its table or the table does not exist (moto answers as it would)."""
    settings = settings_for(handler.body.get("TableName"))
    if settings is None:
        return None
    backend, table = _table(handler, handler.body["TableName"])
    if table is None:
        return None
    _fault(operation, settings)
    return settings, backend, table


def _plain_write(operation, op):
    def wrap(original):
        def handler(self):
            pushed = _pushed_back(self, operation)
            if pushed is None:
                return original(self)
            settings, backend, table = pushed
            key, units, indexes = _write_cost(backend, table, op, self.body)
            if _held(_item_id(table, key)):
                raise TransactionConflict()
            reason = _charge_write(backend, table, key, units, indexes, settings)
            if reason:
                raise Throttled(reason, table.table_arn)
            return original(self)
        return handler
    return wrap


def _transact_write(original):
    def handler(self):
        items = self.body.get("TransactItems", [])
        tables = {next(iter(entry.values())).get("TableName") for entry in items}
        settings = next((s for s in map(settings_for, tables) if s is not None), None)
        if settings is None:
            return original(self)
        _fault("TransactWriteItems", settings)
        writes, ids, held = [], [], []
        for entry in items:
            op_type, op = next(iter(entry.items()))
            backend, table = _table(self, op["TableName"])
            if table is None:  # moto answers ResourceNotFoundException itself
                return original(self)
            kind = {"Put": "Put", "Update": "Update", "Delete": "Delete", "ConditionCheck": "Delete"}[op_type]
            key, units, indexes = _write_cost(backend, table, kind, op)
            writes.append((table, key, units, indexes))
            ids.append(_item_id(table, key))
            held.append(_held(ids[-1]))
        if any(held):
            raise TransactionCanceledException([
                ("TransactionConflict", "Transaction is ongoing for the item", None) if h else (None, None, None)
                for h in held
            ])
        throttled = _charge_all(writes, settings, transactional=True)
        if any(throttled):
            raise TransactionCanceledException([
                ("ThrottlingError", "Throughput exceeds the current capacity of your table or index.", None)
                if reason else (None, None, None)
                for reason in throttled
            ])
        hold = settings["transaction_hold_ms"] / 1000
        if hold:
            _hold(ids, hold)
        return original(self)
    return handler


def _read(operation):
    def wrap(original):
        def handler(self):
            pushed = _pushed_back(self, operation)
            if pushed is None:
                return original(self)
            settings, backend, table = pushed
            consistent = bool(self.body.get("ConsistentRead"))
            partition = _query_partition(table, self.body) if operation == "Query" else _partition(table, self.body["Key"])
            index = self.body.get("IndexName")
            if partition is not None and index is None and not _has_budget(table.name, partition, "read", settings):
                raise Throttled("TableReadKeyRangeThroughputExceeded", table.table_arn)
            result = original(self)
            payload = getattr(result, "result", None) or {}
            if operation == "Query":
                size = sum(item_size(item) for item in payload.get("Items", []))
            else:  # the whole item, as DynamoDB charges it, whatever the projection returned
                size = item_size(_current(backend, table, self.body["Key"]))
            if partition is not None:
                _take(table.name, index, partition, "read", read_units(size, consistent), settings, debt=True)
            return result
        return handler
    return wrap


def _query_partition(table, body):
    """The partition key value of a Query's key condition (`#pk = :pk` or `pk = :pk`)."""
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    index = body.get("IndexName")
    hash_attr = table.hash_key_attr
    if index:
        schema = next((i.schema for i in table.global_indexes if i.name == index), [])
        hash_attr = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), hash_attr)
    for name, placeholder in re.findall(r"([#\w]+)\s*=\s*(:\w+)", body.get("KeyConditionExpression", "")):
        if names.get(name, name) == hash_attr and placeholder in values:
            return next(iter(values[placeholder].values()))
    return None


def _send_message(original):
    def send_message(self, queue_name, *args, **kwargs):
        with _lock:
            rate = _queue_settings.get(queue_name, {}).get("send_error_rate", 0)
        if rate and random.random() < rate:
            error = JsonRESTError("ServiceUnavailable", "The request has failed due to a temporary failure (injected)")
            error.code = 503
            raise error
        return original(self, queue_name, *args, **kwargs)
    return send_message


# --- the control endpoint ----------------------------------------------------------------------------------------

def _json_response(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _control(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if path == "/_stampede/pushback" and method == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        with _lock:
            if "queue" in request:
                _queue_settings[request["queue"]] = {"send_error_rate": float(request.get("send_error_rate", 0))}
            elif "table" in request:
                table = request.pop("table")
                _table_settings[table] = None if request.get("off") else {k: v for k, v in request.items()}
                for key in [k for k in _buckets if k[0] == table]:
                    del _buckets[key]
            else:
                return _json_response(start_response, "400 Bad Request", {"error": "name a table or a queue"})
        return _json_response(start_response, "200 OK", {"ok": True})
    if path == "/_stampede/pushback/report" and method == "GET":
        query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
        with _lock:
            partitions = {p: dict(c) for p, c in _report.get(query.get("table", ""), {}).items()}
        return _json_response(start_response, "200 OK", {"partitions": partitions})
    return _json_response(start_response, "404 Not Found", {"error": f"no {method} {path}"})


def _dispatch(original):
    def call(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_stampede/"):
            return _control(environ, start_response)
        return original(self, environ, start_response)
    return call


def patch():
    DynamoHandler.put_item = _plain_write("PutItem", "Put")(DynamoHandler.put_item)
    DynamoHandler.update_item = _plain_write("UpdateItem", "Update")(DynamoHandler.update_item)
    DynamoHandler.delete_item = _plain_write("DeleteItem", "Delete")(DynamoHandler.delete_item)
    DynamoHandler.transact_write_items = _transact_write(DynamoHandler.transact_write_items)
    DynamoHandler.get_item = _read("GetItem")(DynamoHandler.get_item)
    DynamoHandler.query = _read("Query")(DynamoHandler.query)
    SQSBackend.send_message = _send_message(SQSBackend.send_message)
    DomainDispatcherApplication.__call__ = _dispatch(DomainDispatcherApplication.__call__)
