"""The local Lambda service answers an invocation without a delayed-ACK stall.

Headers and body leave in two writes; with Nagle's algorithm the body would wait for the client's
delayed ACK (~40 ms on Linux) on every invocation, which made the edge's routed calls slow and its
SDK threads busy. The bound below is far under that stall and far over a loopback round trip.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

from local_stack.functions import LocalFunction
from local_stack.lambda_endpoint import LambdaServer


def test_invocations_do_not_wait_for_a_delayed_ack(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return {'echo': event}\n")
    server = LambdaServer(0, {"echo": LocalFunction("echo", tmp_path, [])}, "us-east-1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}),
        )
        waits = []
        for index in range(25):
            started = time.perf_counter()
            answer = client.invoke(FunctionName="echo", Payload=json.dumps({"n": index}).encode())
            body = json.loads(answer["Payload"].read())
            waits.append(time.perf_counter() - started)
            assert body == {"echo": {"n": index}}
        assert statistics.median(waits) < 0.020, f"median invocation {statistics.median(waits) * 1000:.1f} ms"
    finally:
        server.shutdown()
        server.server_close()
