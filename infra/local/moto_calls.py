"""Counts the calls the emulator answers, per operation, for benchmarks: GET /_stampede/calls returns
{"DynamoDB_20120810.GetItem": 12, ...} since the server started (subtract two readings to count what happened in
between). Operations are named by their X-Amz-Target header, which every JSON-protocol service sends (DynamoDB,
DynamoDB Streams, SQS, Secrets Manager); calls of other services (S3) are not counted.

What it counts is what reached the emulator, so a cache in the app that answers without calling shows as no call.
"""
import json
import threading
from collections import Counter

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

PATH = "/_stampede/calls"

_lock = threading.Lock()
_calls = Counter()


def _counting(original):
    def call(self, environ, start_response):
        if environ.get("PATH_INFO") == PATH:
            with _lock:
                body = json.dumps(dict(_calls)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            with _lock:
                _calls[target] += 1
        return original(self, environ, start_response)
    return call


def patch():
    DomainDispatcherApplication.__call__ = _counting(DomainDispatcherApplication.__call__)
