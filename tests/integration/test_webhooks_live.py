"""Webhooks through the local stack: the stream poller feeds the webhooks function as in AWS, and
each agent state change reaches a receiver on 127.0.0.1, signed, within 5 s at p95."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.ports import free_port
from tests.support.stack import RunningStack, http_json, running_stack

CHANGES = 20
P95_LIMIT_SECONDS = 5.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def _call(stack: RunningStack, method: str, path: str, body: Any, key: str) -> Any:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    status, raw = http_json(
        method, stack.api_url + path, json.dumps(body).encode() if body else None, headers
    )
    assert status < 300, raw
    return json.loads(raw) if raw else None


def test_agent_state_changes_reach_the_receiver_signed_within_five_seconds(stack: RunningStack) -> None:
    arrivals: dict[int, float] = {}
    received: list[tuple[dict[str, str], bytes]] = []
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                received.append((dict(self.headers.items()), body))
                arrivals[int(json.loads(body)["data"]["version"])] = time.monotonic()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        merchant = _call(
            stack,
            "POST",
            "/merchants",
            {"name": "Hooked", "seat_licenses": 1, "contact_email": "ops@hooked.test"},
            stack.admin_key,
        )
        mid, key = merchant["merchant_id"], merchant["api_key"]
        url = f"http://127.0.0.1:{server.server_port}/hooks"
        hook = _call(
            stack, "POST", f"/merchants/{mid}/webhooks", {"url": url, "events": ["agent.state_changed"]}, key
        )
        seat = _call(stack, "POST", f"/merchants/{mid}/seats", {"display_name": "Ana"}, key)
        state = f"/merchants/{mid}/seats/{seat['seat_id']}/state"
        sent: dict[int, float] = {}
        for n in range(CHANGES):
            body = {"state": "available"} if n % 2 == 0 else {"state": "not_ready", "reason": "break"}
            changed = _call(stack, "PUT", state, body, key)
            sent[int(changed["version"])] = time.monotonic()
            time.sleep(0.2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not set(sent) <= set(arrivals):
            time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()

    assert set(sent) <= set(arrivals), f"missing versions {set(sent) - set(arrivals)}\n{stack.log()[-3000:]}"
    latencies = sorted(arrivals[v] - sent[v] for v in sent)
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    print(
        f"webhook delivery latency over {len(latencies)} changes: p50 {latencies[len(latencies) // 2]:.2f} s, p95 {p95:.2f} s"
    )
    assert p95 < P95_LIMIT_SECONDS
    for headers, body in received:
        fields = dict(part.split("=", 1) for part in headers["Switchboard-Signature"].split(","))
        expected = hmac.new(
            hook["secret"].encode(), f"{fields['t']}.".encode() + body, hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(expected, fields["v1"])
