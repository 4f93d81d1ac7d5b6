"""Live call tests' helpers: onboarding over the API, sipp agents and callers, stored state.

Agents register with ``sipp_register.xml`` from a fixed local port, then a sipp UAS scenario
listens on that same port, so the binding's ``received`` address is the UAS socket (as it would
be behind a NAT). Callers are sipp UACs on loopback, which the test trunk (127.0.0.0/8) admits.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contact_center.services.routing import RoutingPolicy
from tests.support.ports import free_port
from tests.support.stack import RunningStack, http_json

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
SIPP = shutil.which("sipp") or "sipp"


def call_api(
    stack: RunningStack, method: str, path: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key or stack.admin_key}"}
    data = json.dumps(body).encode() if body is not None else None
    status, raw = http_json(method, stack.api_url + path, data, headers)
    return status, json.loads(raw) if raw else None


# An edge re-reads the trunk list for an unknown source at most once a second (sip_edge trunks.py).
TRUNK_TAKES_CALLS_AFTER = 1.1


def add_trunk(stack: RunningStack, body: dict[str, Any]) -> dict[str, Any]:
    """Creates a trunk over the API and returns once every edge takes calls from it."""
    status, trunk = call_api(stack, "POST", "/trunks", body)
    assert status == 201, trunk
    time.sleep(TRUNK_TAKES_CALLS_AFTER)
    return dict(trunk)


@dataclass
class Seat:
    seat_id: str
    username: str
    password: str
    domain: str
    port: int


@dataclass
class Merchant:
    stack: RunningStack
    merchant_id: str
    key: str
    queue_id: str
    number: str
    seats: list[Seat]

    def state_path(self, seat: Seat) -> str:
        return f"/merchants/{self.merchant_id}/seats/{seat.seat_id}/state"

    def set_state(self, seat: Seat, state: str) -> None:
        body: dict[str, str] = {"state": state}
        if state == "not_ready":
            body["reason"] = "break"
        status, answer = call_api(self.stack, "PUT", self.state_path(seat), body, self.key)
        assert status == 200, answer

    def make_available_in_order(self, seats: Sequence[Seat]) -> None:
        """Seats available one after the other, each idle longer than the next by more than the
        router's near-tie window, so longest-idle offers them strictly in this order."""
        for index, seat in enumerate(seats):
            if index:
                time.sleep(RoutingPolicy().idle_tie_window_ms / 1000 + 0.1)
            self.set_state(seat, "available")

    def set_ring_timeout(self, seat: Seat, seconds: int) -> None:
        """How long an offer rings the seat's phones before RONA (the API takes 5 to 120 s)."""
        path = f"/merchants/{self.merchant_id}/seats/{seat.seat_id}"
        status, answer = call_api(self.stack, "PATCH", path, {"ring_timeout_seconds": seconds}, self.key)
        assert status == 200 and answer["ring_timeout_seconds"] == seconds, answer

    def state(self, seat: Seat) -> str:
        status, answer = call_api(self.stack, "GET", self.state_path(seat), None, self.key)
        assert status == 200, answer
        return str(answer["state"])

    def wait_state(self, seat: Seat, expected: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        state = self.state(seat)
        while state != expected and time.monotonic() < deadline:
            time.sleep(0.1)
            state = self.state(seat)
        return state


def onboard(stack: RunningStack, number: str, seats: int = 1, max_wait_seconds: int = 60) -> Merchant:
    status, merchant = call_api(
        stack,
        "POST",
        "/merchants",
        {"name": "Calls", "seat_licenses": seats, "contact_email": "ops@calls.test"},
    )
    assert status == 201, merchant
    mid, key = merchant["merchant_id"], merchant["api_key"]
    status, queue = call_api(
        stack,
        "POST",
        f"/merchants/{mid}/queues",
        {"name": "Support", "max_wait_seconds": max_wait_seconds},
        key,
    )
    assert status == 201, queue
    status, claimed = call_api(
        stack, "POST", f"/merchants/{mid}/numbers", {"number": number, "queue_id": queue["queue_id"]}, key
    )
    assert status == 201, claimed
    made: list[Seat] = []
    for index in range(seats):
        status, seat = call_api(
            stack,
            "POST",
            f"/merchants/{mid}/seats",
            {"display_name": f"Agent {index}", "queue_ids": [queue["queue_id"]]},
            key,
        )
        assert status == 201, seat
        sip = seat["sip"]
        made.append(Seat(seat["seat_id"], sip["username"], sip["password"], sip["domain"], free_port()))
    return Merchant(stack, mid, key, queue["queue_id"], number, made)


def sipp_args(tmp: Path, name: str, port: int, *, timeout: int = 20) -> list[str]:
    return [
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        "1",
        "-timeout",
        f"{timeout}s",
        "-timeout_error",
        "-buff_size",
        "4194304",
        "-trace_err",
        "-error_file",
        str(tmp / f"{name}_errors.log"),
        "-trace_msg",
        "-message_file",
        str(tmp / f"{name}_messages.log"),
        "-nostdin",
        "-nd",
    ]


def register(stack: RunningStack, seat: Seat, tmp: Path, edge_port: int | None = None) -> None:
    fields = tmp / f"{seat.username}.csv"
    fields.write_text(f"SEQUENTIAL\n{seat.username};{seat.domain}\n")
    result = subprocess.run(
        [
            SIPP,
            f"127.0.0.1:{edge_port or stack.sip_port}",
            "-sf",
            str(HERE / "sipp_register.xml"),
            "-inf",
            str(fields),
            "-au",
            seat.username,
            "-ap",
            seat.password,
            *sipp_args(tmp, f"register_{seat.username}", seat.port, timeout=10),
        ],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=tmp,
    )
    assert result.returncode == 0, result.stdout[-1500:]
    wait_for_binding(stack, seat)


def wait_for_binding(stack: RunningStack, seat: Seat, timeout: float = 5.0) -> None:
    """The registrar writes bindings behind (within about a second); routing reads them from the table."""
    from contact_center.data.bindings import BindingItems

    bind_table(stack)
    aor = f"sip:{seat.username}@{seat.domain}"
    deadline = time.monotonic() + timeout
    while not BindingItems().current(aor, int(time.time())):
        assert time.monotonic() < deadline, f"the binding of {aor} never reached the table"
        time.sleep(0.05)


@dataclass
class Sipp:
    name: str
    proc: subprocess.Popen[str]
    tmp: Path

    def wait(self, timeout: float = 30) -> int:
        try:
            self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        return self.proc.returncode

    def messages(self) -> str:
        path = self.tmp / f"{self.name}_messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def report(self) -> str:
        errors = self.tmp / f"{self.name}_errors.log"
        text = errors.read_text(errors="replace")[-1500:] if errors.exists() else ""
        return f"{self.name}: rc={self.proc.returncode}\n{text}\n{self.messages()[-3000:]}"


def agent(seat: Seat, scenario: str, tmp: Path, name: str | None = None) -> Sipp:
    name = name or f"agent_{seat.username}"
    proc = subprocess.Popen(
        [SIPP, "-sf", str(SCENARIOS / scenario), *sipp_args(tmp, name, seat.port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp,
    )
    return Sipp(name, proc, tmp)


def caller(stack: RunningStack, number: str, scenario: str, tmp: Path, name: str = "caller") -> Sipp:
    proc = subprocess.Popen(
        [
            SIPP,
            f"127.0.0.1:{stack.sip_port}",
            "-sf",
            str(SCENARIOS / scenario),
            "-s",
            number,
            *sipp_args(tmp, name, free_port()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp,
    )
    return Sipp(name, proc, tmp)


def bind_table(stack: RunningStack) -> None:
    from contact_center.data import table

    table.bind(table_name="switchboard", host=stack.dynamodb_endpoint)


def records(stack: RunningStack, merchant: Merchant, count: int = 1, timeout: float = 8.0) -> list[Any]:
    """The queue's contact records of today, once there are `count` of them."""
    from contact_center.data.contacts import ContactItems, now_ms, utc_day

    bind_table(stack)
    repository = ContactItems()
    deadline = time.monotonic() + timeout
    while True:
        found = repository.records_for_queue(merchant.queue_id, utc_day(now_ms()))
        if len(found) >= count or time.monotonic() > deadline:
            return sorted(found, key=lambda r: r.created_at)
        time.sleep(0.2)


def sdp_of(messages: str, method: str = "INVITE") -> bytes:
    """The body of the first `method` request in a sipp message log."""
    start = messages.find(f"\n{method} sip:")
    assert start >= 0, messages[-2000:]
    message = messages[start + 1 :]
    separator = "\r\n\r\n" if "\r\n\r\n" in message else "\n\n"
    head, _, rest = message.partition(separator)
    length = next(
        int(line.split(":", 1)[1]) for line in head.splitlines() if line.lower().startswith("content-length")
    )
    return rest.encode()[:length]
