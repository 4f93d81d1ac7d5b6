"""DynamoDB stopped for 10 s under API load: every answer is 503 with Retry-After, never a 500, and the
API serves again by itself once DynamoDB is back.

The local stack runs on a DynamoDB this test owns (moto's server on loopback, which keeps its data
across a restart), so the test can stop it without touching the stack's own processes.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from tests.support.ports import free_port
from tests.support.stack import RunningStack, http_json, running_stack

OUTAGE_SECONDS = 10
CLIENTS = 3  # bounded load: three clients in a loop, one request in flight each


@pytest.fixture(scope="module")
def database() -> Iterator[ThreadedMotoServer]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, database: ThreadedMotoServer) -> Iterator[RunningStack]:
    host, port = database.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with running_stack(tmp_path_factory.mktemp("outage"), args=["--dynamodb-endpoint", endpoint]) as running:
        yield running


def call(
    stack: RunningStack, method: str, path: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key or stack.admin_key}"}
    data = json.dumps(body).encode() if body is not None else None
    status, raw = http_json(method, stack.api_url + path, data, headers)
    return status, json.loads(raw) if raw else None


def test_the_api_answers_503_through_a_database_outage_and_recovers(
    stack: RunningStack, database: ThreadedMotoServer
) -> None:
    status, merchant = call(
        stack, "POST", "/merchants", {"name": "Outage", "seat_licenses": 2, "contact_email": "o@outage.test"}
    )
    assert status == 201, merchant
    mid, key = merchant["merchant_id"], merchant["api_key"]
    requests = [
        ("GET", f"/merchants/{mid}", None, key),
        ("GET", f"/merchants/{mid}/seats", None, key),
        ("POST", f"/merchants/{mid}/queues", {"name": "Orders"}, key),
        ("GET", "/merchants", None, None),
    ]
    statuses: Counter[int] = Counter()
    bad: list[tuple[int, Any, str | None]] = []
    lock = threading.Lock()

    def client(deadline: float) -> None:
        n = 0
        while time.monotonic() < deadline:
            method, path, body, with_key = requests[n % len(requests)]
            n += 1
            request = urllib.request.Request(
                stack.api_url + path,
                data=json.dumps(body).encode() if body is not None else None,
                method=method,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {with_key or stack.admin_key}",
                },
            )
            status, raw, retry_after = _send(request)
            with lock:
                statuses[status] += 1
                body_json = json.loads(raw) if raw else None
                shaped = (
                    isinstance(body_json, dict)
                    and body_json.get("error", {}).get("code") == "storage_unavailable"
                )
                if status != 503 or not shaped or not (retry_after or "").isdigit():
                    bad.append((status, body_json, retry_after))

    # When DynamoDB stops for 10 s under a steady load
    database.stop()
    try:
        deadline = time.monotonic() + OUTAGE_SECONDS
        threads = [threading.Thread(target=client, args=(deadline,)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=OUTAGE_SECONDS + 60)
    finally:
        database.start()
    # Then every answer was a 503 in the error shape with Retry-After (never a 500, never a hang),
    assert statuses[503] >= CLIENTS * 3, statuses
    assert not bad, (bad[:5], statuses)
    # and once it is back the same requests succeed without restarting anything.
    deadline = time.monotonic() + 30
    while (
        status := call(stack, "GET", f"/merchants/{mid}", key=key)[0]
    ) != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == 200, stack.log()[-3000:]
    assert call(stack, "POST", f"/merchants/{mid}/queues", {"name": "Orders"}, key)[0] == 201


def _send(request: urllib.request.Request) -> tuple[int, bytes, str | None]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Retry-After")
