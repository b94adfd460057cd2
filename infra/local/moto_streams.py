"""DynamoDB Streams as DynamoDB writes them (moto 5.2.x): one record per committed change, none for a cancelled
transaction, sequence numbers unique and in order, and no Lambda trigger.

moto hands every new stream record to the table's Lambda event source mappings, which it can only run in
Docker; without Docker every write tries and fails, and a success would also clear the shard's records and
restart its sequence numbers. Locally the event source mapping is `jobs --stream` (the handler the Lambda runs,
reading the stream through the DynamoDB Streams API), so records are only appended here. moto also numbers
records by the list's length, which two writes to different partitions (side by side since moto_transactions)
could read at once; and its transactions write item by item, so a cancelled one left records of the writes it
rolled back. Here a transaction's records are held back and appended only when it commits.
"""
import contextlib
import threading

from moto.dynamodb.models.table import StreamRecord, StreamShard

_append = threading.Lock()
_local = threading.local()


def _add(self, old, new):
    view = self.table.stream_specification["StreamViewType"]
    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    held = getattr(_local, "held", None)
    if held is not None:
        held.append((self, view, event_name, old, new))
        return
    with _append:
        sequence = len(self.items) + self.starting_sequence_number
        self.items.append(StreamRecord(self.table, view, event_name, old, new, sequence))


@contextlib.contextmanager
def transaction():
    """Holds back the stream records of the writes inside; appends them if the block completes."""
    if getattr(_local, "held", None) is not None:  # nested: the outer block decides
        yield
        return
    _local.held = []
    try:
        yield
        held, _local.held = _local.held, None
        for shard, view, event_name, old, new in held:
            _add(shard, old, new)
    finally:
        _local.held = None


@contextlib.contextmanager
def suppressed():
    """Writes inside leave no stream record: a cancelled transaction's items put back as they were."""
    previous, _local.held = getattr(_local, "held", None), []
    try:
        yield
    finally:
        _local.held = previous


def patch():
    StreamShard.add = _add
