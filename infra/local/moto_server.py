"""moto server (the local AWS emulator) with Stampede's fixes applied; usage is moto_server's:
`python moto_server.py -H 127.0.0.1 -p PORT`. Requests are not logged one line each (that was 12 % of the
emulator's time under load); errors still are. Each fix is its own module and says why it exists:
  moto_transactions    DynamoDB TransactWriteItems: O(items) instead of O(table), atomic under concurrency
  moto_cloudformation  CloudFormation models for resource types the CDK template uses that moto lacks
  moto_sqs             SQS message counts without a clock read per message (sends were O(queue length))
  moto_dispatch        request dispatch without a directory listing per request (the server's global lock)
"""
import logging
import sys

from moto import server

import moto_cloudformation
import moto_dispatch
import moto_sqs
import moto_transactions

if __name__ == "__main__":
    moto_transactions.patch()
    moto_cloudformation.patch()
    moto_sqs.patch()
    moto_dispatch.patch()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server.main(sys.argv[1:])
