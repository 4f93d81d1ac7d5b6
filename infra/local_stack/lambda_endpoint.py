"""A local Lambda service: the Invoke API over HTTP, and DynamoDB stream pollers.

Callers use the ordinary SDK (``boto3.client("lambda").invoke``) with ``AWS_ENDPOINT_URL_LAMBDA``
pointing here, exactly as in AWS; the handlers run in this process, not in the caller's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from contact_center.contracts import settings as contract
from contact_center.contracts.schedules import SCHEDULES
from local_stack.functions import FUNCTIONS_DIR, LambdaContext, LocalFunction, discover
from local_stack.logs import configure
from local_stack.schedules import Scheduler, for_functions

if TYPE_CHECKING:
    from contact_center.aws.dynamodb import DynamoDBClient

log = logging.getLogger("local_stack.lambda")

INVOKE_PREFIX = "/2015-03-31/functions/"


class Usage:
    """CPU spent in each function's handler (the invoking thread's, ``time.thread_time_ns``) and its
    invocations, for the benchmarks: one process runs every function, and the process's CPU alone
    cannot tell the routing function's from the stream consumers'."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cpu_ns: dict[str, int] = {}
        self.invocations: dict[str, int] = {}

    def add(self, name: str, cpu_ns: int) -> None:
        with self._lock:
            self.cpu_ns[name] = self.cpu_ns.get(name, 0) + cpu_ns
            self.invocations[name] = self.invocations.get(name, 0) + 1

    def as_dict(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"cpu_ns": dict(self.cpu_ns), "invocations": dict(self.invocations)}


USAGE = Usage()


def function_name_from(path_part: str) -> str:
    """Accept a name, a partial or full ARN, with or without a qualifier, as Lambda does."""
    name = unquote(path_part)
    if name.startswith("arn:"):
        name = name.split(":")[6]
    return name.split(":")[0]


def invoke(function: LocalFunction, payload: bytes, region: str) -> tuple[bytes, bool]:
    """Run a handler; returns (response payload, whether the function failed)."""
    started = time.thread_time_ns()
    try:
        event = json.loads(payload) if payload else {}
        result = function.handler()(event, LambdaContext(function, region))
        return json.dumps(result).encode(), False
    except Exception as exc:
        log.exception("function %s failed", function.name)
        body = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        return json.dumps(body).encode(), True
    finally:
        USAGE.add(function.name, time.thread_time_ns() - started)


class InvokeHandler(BaseHTTPRequestHandler):
    server: LambdaServer
    protocol_version = "HTTP/1.1"
    # The status line and headers go out in one write and the body in another; with Nagle's
    # algorithm the body waits for the client's delayed ACK (~40 ms), and the SDK client spends
    # about 1 ms more CPU per invocation meanwhile (measured: 1.45 ms -> 0.55 ms per invoke).
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length)
        if not (self.path.startswith(INVOKE_PREFIX) and self.path.split("?")[0].endswith("/invocations")):
            self._send(
                HTTPStatus.NOT_FOUND,
                {"message": f"unsupported path {self.path}"},
                error_type="UnknownOperationException",
            )
            return
        name = function_name_from(self.path[len(INVOKE_PREFIX) :].split("/")[0])
        function = self.server.functions.get(name)
        if function is None:
            self._send(
                HTTPStatus.NOT_FOUND,
                {"Type": "User", "Message": f"Function not found: {name}"},
                error_type="ResourceNotFoundException",
            )
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            self._send(HTTPStatus.NO_CONTENT, None)
        elif invocation_type == "Event":
            threading.Thread(target=invoke, args=(function, payload, self.server.region), daemon=True).start()
            self._send(HTTPStatus.ACCEPTED, None)
        else:
            body, failed = invoke(function, payload, self.server.region)
            self._send(HTTPStatus.OK, body, function_error="Unhandled" if failed else None)

    def do_GET(self) -> None:
        # Not part of the Lambda API: a readiness probe for the local stack, and each function's
        # handler CPU and invocations so far (``Usage``).
        self._send(HTTPStatus.OK, {"functions": sorted(self.server.functions), **USAGE.as_dict()})

    def _send(
        self,
        status: HTTPStatus,
        body: Any,
        *,
        error_type: str | None = None,
        function_error: str | None = None,
    ) -> None:
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("X-Amz-Executed-Version", "$LATEST")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        if function_error:
            self.send_header("X-Amz-Function-Error", function_error)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class LambdaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, port: int, functions: dict[str, LocalFunction], region: str, host: str = "127.0.0.1"
    ) -> None:
        self.functions = functions
        self.region = region
        super().__init__((host, port), InvokeHandler)

    def handle_error(self, request: Any, client_address: tuple[str, int]) -> None:
        # A client that gave up waiting (its read timeout) closes the socket before the answer:
        # as Lambda does, the function still ran; one line says so instead of a traceback.
        failure = sys.exc_info()[1]
        if isinstance(failure, (BrokenPipeError, ConnectionResetError)):
            log.info("invocation from %s:%s answered after its client hung up", *client_address[:2])
            return
        super().handle_error(request, client_address)


def as_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record (DynamoDB Streams' JSON: epoch times) in the shape Lambda hands to a
    stream handler: with its source ARN."""
    return {**record, "eventSourceARN": stream_arn}


# The deployed stream mapping's retries of a failed record (``constructs.services``: retry_attempts).
STREAM_RETRY_ATTEMPTS = 5
STREAM_RETRY_PAUSE_S = 0.5


class StreamPoller(threading.Thread):
    """Feeds a table's stream to the functions subscribed to it, as Lambda's event source mappings do."""

    def __init__(
        self,
        table_name: str,
        functions: dict[str, LocalFunction],
        region: str,
        interval: float = 0.02,
        shard_refresh: float = 2.0,
    ) -> None:
        super().__init__(name="stream-poller", daemon=True)
        self.table_name = table_name
        self.subscribers = [(f, s) for f in functions.values() for s in f.stream_sources]
        self.region = region
        self.interval = interval
        self.shard_refresh = shard_refresh
        self.stopped = threading.Event()
        # Set once every shard has an iterator: changes from then on reach the subscribers.
        self.positioned = threading.Event()
        self._seen_first_shards = False

    def run(self) -> None:
        import boto3

        from contact_center.aws.dynamodb import DynamoDBClient

        # Short timeouts: a request lost by the local database must cost a moment, not the SDK's
        # default minute, during which no seat change would reach its handler. A retried
        # GetRecords re-reads from the same iterator, so nothing is skipped. The data layer's
        # request path: botocore's parser cost more CPU than the handlers fed by the records.
        streams = DynamoDBClient(region=self.region, service="dynamodbstreams", timeout=3, attempts=3)
        ddb = boto3.client("dynamodb", region_name=self.region)
        stream_arn = ddb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        iterators: dict[str, str | None] = {}
        refreshed = 0.0
        while not self.stopped.is_set():
            try:
                # Shards change rarely (a few an hour); describing them on every short poll would
                # double the round trips between a write and its delivery.
                if time.monotonic() - refreshed > self.shard_refresh or not any(iterators.values()):
                    self._discover_shards(streams, stream_arn, iterators)
                    refreshed = time.monotonic()
                for shard_id, iterator in list(iterators.items()):
                    if iterator is None:
                        continue
                    response = streams.call("GetRecords", ShardIterator=iterator, Limit=1000)
                    iterators[shard_id] = response.get("NextShardIterator")
                    if response["Records"]:
                        self._deliver([as_lambda_record(r, stream_arn) for r in response["Records"]])
            except Exception:
                log.exception("stream poller error; retrying")
                time.sleep(1)
            self.stopped.wait(self.interval)

    def _discover_shards(
        self, streams: DynamoDBClient, stream_arn: str, iterators: dict[str, str | None]
    ) -> None:
        description = streams.call("DescribeStream", StreamArn=stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in iterators:
                continue
            # Shards that exist at start are read from their end (no replay of old history); shards
            # that appear later are read from their start so no change is missed.
            kind = "TRIM_HORIZON" if self._seen_first_shards else "LATEST"
            iterators[shard_id] = streams.call(
                "GetShardIterator", StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType=kind
            )["ShardIterator"]
        self._seen_first_shards = True
        self.positioned.set()

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        for function, source in self.subscribers:
            matching = [r for r in records if source.matches(r)]
            for start in range(0, len(matching), source.batch_size):
                self._invoke_until_done(function, matching[start : start + source.batch_size])

    def _invoke_until_done(self, function: LocalFunction, batch: list[dict[str, Any]]) -> None:
        """Invoke ``function`` with ``batch``, then again with the records it reported failed (or the
        whole batch when it raised), as the deployed mapping does (``retry_attempts``,
        ReportBatchItemFailures): a seat-available dequeue that failed on a slow table is tried
        again, not dropped."""
        for attempt in range(STREAM_RETRY_ATTEMPTS + 1):
            if attempt:
                self.stopped.wait(STREAM_RETRY_PAUSE_S * attempt)
            answer, failed = invoke(function, json.dumps({"Records": batch}).encode(), self.region)
            if not failed:
                batch = _failed_records(answer, batch)
            if not batch:
                return
            log.warning(
                "function %s failed on %d stream records (attempt %d)", function.name, len(batch), attempt + 1
            )
        log.error(
            "function %s: %d stream records dropped after %d retries",
            function.name,
            len(batch),
            STREAM_RETRY_ATTEMPTS,
        )


def _failed_records(answer: bytes, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of ``batch`` a handler's ``batchItemFailures`` names (by sequence number)."""
    try:
        failures = json.loads(answer).get("batchItemFailures") or []
    except (ValueError, AttributeError):
        return []
    failed = {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)}
    return [r for r in batch if str((r.get("dynamodb") or {}).get("SequenceNumber")) in failed]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Lambda Invoke API and stream pollers")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LAMBDA_PORT", "9001")))
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--functions-dir", type=Path, default=FUNCTIONS_DIR)
    parser.add_argument("--table", default=os.environ.get(contract.TABLE.name, "switchboard"))
    parser.add_argument("--no-streams", action="store_true")
    parser.add_argument("--no-schedules", action="store_true", help="do not run the scheduled invocations")
    args = parser.parse_args(argv)
    configure("lambda")
    region = os.environ.get("AWS_REGION", "us-east-1")
    functions = discover(args.functions_dir)
    server = LambdaServer(args.port, functions, region, args.host)
    poller = None
    if not args.no_streams and any(f.stream_sources for f in functions.values()):
        poller = StreamPoller(args.table, functions, region)
        poller.start()
        # Serve only once the stream is read from a fixed point: whoever waits for this service to
        # answer can count on every later table change reaching the handlers.
        if not poller.positioned.wait(30):
            log.warning("the stream poller has no position after 30 s; changes may be missed until it has")
    scheduler = None
    schedules = for_functions(SCHEDULES, functions)
    if not args.no_schedules and schedules:
        scheduler = Scheduler(schedules, lambda name, event: invoke(functions[name], event, region)[1])
        scheduler.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.info(
        "Lambda API on http://%s:%d serving %s",
        args.host,
        server.server_address[1],
        ", ".join(functions) or "none",
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if poller:
            poller.stopped.set()
        if scheduler:
            scheduler.stopped.set()
        server.server_close()


if __name__ == "__main__":
    main()
