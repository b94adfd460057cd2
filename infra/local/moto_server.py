"""moto server (the local AWS emulator) with Stampede's fixes applied; usage is moto_server's:
`python moto_server.py -H 127.0.0.1 -p PORT`. Requests are not logged one line each (that was 12 % of the
emulator's time under load); errors still are. Each fix is its own module and says why it exists:
  moto_transactions    DynamoDB writes isolated per partition, transactions O(items) instead of O(table)
  moto_pushback        DynamoDB's throttling, transaction conflicts and injected faults, when switched on
  moto_streams         DynamoDB Streams without moto's Docker-only Lambda trigger
  moto_cloudformation  CloudFormation models for resource types the CDK template uses that moto lacks
  moto_sqs             SQS message counts without a clock read per message (sends were O(queue length))
  moto_dispatch        request dispatch without a directory listing per request (the server's global lock)
  moto_calls           a count of the calls answered, per operation (GET /_stampede/calls), for benchmarks
The patches are written against one moto version (infra/local/requirements.txt); any other refuses to start.
"""
import logging
import sys

import moto
from moto import server

import moto_calls
import moto_cloudformation
import moto_dispatch
import moto_pushback
import moto_sqs
import moto_streams
import moto_transactions

PATCHED_VERSION = "5.2.5"

if __name__ == "__main__":
    if moto.__version__ != PATCHED_VERSION:
        sys.exit(f"moto {moto.__version__} is installed; these patches are for moto {PATCHED_VERSION}")
    moto_transactions.patch()
    moto_pushback.patch()
    moto_streams.patch()
    moto_cloudformation.patch()
    moto_sqs.patch()
    moto_dispatch.patch()
    moto_calls.patch()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server.main(sys.argv[1:])
