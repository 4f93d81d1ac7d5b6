"""Transfers and agents calling out, end to end on the local stack, with sipp on every side.

The stack's one trunk is the platform's carrier on 127.0.0.2: carriers' calls come from there, and
the merchant's outbound calls go to its signalling address on 127.0.0.2, where a sipp UAS plays the
carrier. Seats' phones are on 127.0.0.1, outside the trunk, so their INVITEs are agents calling out.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.integration.calls_support import (
    SCENARIOS,
    SIPP,
    Merchant,
    Seat,
    Sipp,
    add_trunk,
    bind_table,
    call_api,
    onboard,
    records,
    register,
    sipp_args,
)
from tests.support.ports import free_port
from tests.support.stack import RunningStack, running_stack

CARRIER_HOST = "127.0.0.2"
CARRIER_PORT = free_port()  # the carrier trunk's signalling address
_numbers = itertools.count(1)


def number() -> str:
    return f"+1415556{next(_numbers):04d}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    kind = os.environ.get("CALLS_DYNAMODB", "dynamodb-local")
    with running_stack(tmp_path_factory.mktemp("transfers"), dynamodb=kind) as running:
        add_trunk(
            running,
            {
                "name": "Carrier",
                "source_cidrs": ["127.0.0.2/32"],
                "address": f"{CARRIER_HOST}:{CARRIER_PORT}",
            },
        )
        yield running


def sipp(name: str, args: Sequence[str], tmp: Path, *, host: str, port: int, calls: int | None = 1) -> Sipp:
    """sipp on host:port; ``calls=None`` runs until it is sent SIGUSR1 (then ends its calls and exits)."""
    base = sipp_args(tmp, name, port)
    base[base.index("-i") + 1] = host
    if calls is None:
        del base[base.index("-m") : base.index("-m") + 2]
    else:
        base[base.index("-m") + 1] = str(calls)
    proc = subprocess.Popen(
        [SIPP, *args, *base], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True, cwd=tmp
    )
    return Sipp(name, proc, tmp)


def phone(seat: Seat, scenario: str, tmp: Path, *extra: str) -> Sipp:
    """A seat's phone answering calls on the port it registered from."""
    return sipp(
        f"phone_{seat.username}",
        ["-sf", str(SCENARIOS / scenario), *extra],
        tmp,
        host="127.0.0.1",
        port=seat.port,
    )


def carrier_call(stack: RunningStack, to: str, scenario: str, tmp: Path) -> Sipp:
    """A call from the carrier's address (the trunk)."""
    args = [f"127.0.0.1:{stack.sip_port}", "-sf", str(SCENARIOS / scenario), "-s", to]
    return sipp("caller", args, tmp, host=CARRIER_HOST, port=free_port())


def seat_dials(stack: RunningStack, seat: Seat, to: str, scenario: str, tmp: Path) -> Sipp:
    fields = tmp / f"dial_{seat.username}.csv"
    fields.write_text(f"SEQUENTIAL\n{seat.username};{seat.domain}\n")
    args = [
        f"127.0.0.1:{stack.sip_port}",
        "-sf", str(SCENARIOS / scenario),
        # sipp's digest names the host alone unless told the Request-URI, which it must name.
        "-auth_uri", f"{to}@127.0.0.1:{stack.sip_port}",  # sipp adds the "sip:"
        "-s", to,
        "-inf", str(fields),
        "-au", seat.username,
        "-ap", seat.password,
    ]  # fmt: skip
    return sipp(f"dial_{seat.username}", args, tmp, host="127.0.0.1", port=free_port())


def ready(stack: RunningStack, tmp: Path, seats: int, wrap_up: int = 30) -> Merchant:
    merchant = onboard(stack, number(), seats)
    status, queue = call_api(
        stack,
        "PATCH",
        f"/merchants/{merchant.merchant_id}/queues/{merchant.queue_id}",
        {"wrap_up_seconds": wrap_up},
        merchant.key,
    )
    assert status == 200, queue
    for seat in merchant.seats:
        register(stack, seat, tmp)
    merchant.make_available_in_order(merchant.seats)
    return merchant


def agent_segments(record: Any) -> list[tuple[str, str]]:
    return [(s["seat_id"], s["outcome"]) for s in record.segments if s["kind"] == "agent"]


def test_a_blind_transfer_keeps_the_callers_dialog_and_records_both_agents(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=2)
    first, second = merchant.seats
    transferring = phone(first, "agent_refers.xml", tmp_path, "-key", "target", second.seat_id)
    taking = phone(second, "agent_answer.xml", tmp_path)
    call = carrier_call(stack, merchant.number, "caller_transferred.xml", tmp_path)
    assert transferring.wait() == 0, transferring.report() + stack.log()[-3000:]
    # The transferring agent is let go into wrap-up at once.
    assert merchant.wait_state(first, "after_contact_work") == "after_contact_work"
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert taking.wait() == 0, taking.report()
    [record] = records(stack, merchant)
    assert agent_segments(record) == [(first.seat_id, "transferred"), (second.seat_id, "normal_clearing")]
    assert (record.seat_id, record.hangup_side) == (second.seat_id, "customer")


def test_a_refer_to_a_queue_without_agents_puts_the_caller_in_that_queue(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=1)
    [seat] = merchant.seats
    status, empty = call_api(
        stack, "POST", f"/merchants/{merchant.merchant_id}/queues", {"name": "Nobody here"}, merchant.key
    )
    assert status == 201, empty
    transferring = phone(seat, "agent_refers.xml", tmp_path, "-key", "target", empty["queue_id"])
    call = carrier_call(stack, merchant.number, "caller_held_after_transfer.xml", tmp_path)
    assert transferring.wait() == 0, transferring.report() + stack.log()[-3000:]
    assert call.wait() == 0, call.report()
    bind_table(stack)
    from contact_center.data.contacts import ContactItems, now_ms, utc_day

    deadline = time.monotonic() + 8
    found: list[Any] = []
    while not found and time.monotonic() < deadline:
        found = ContactItems().records_for_queue(empty["queue_id"], utc_day(now_ms()))
        time.sleep(0.2)
    [record] = found
    assert agent_segments(record) == [(seat.seat_id, "transferred")]
    assert [s["queue_id"] for s in record.segments if s["kind"] == "queue"] == [
        merchant.queue_id,
        empty["queue_id"],
    ]
    assert (record.queue_id, record.hangup_cause) == (empty["queue_id"], "caller_abandoned")


def test_a_seat_calls_out_and_the_carrier_sees_the_merchants_caller_id(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=1, wrap_up=0)
    [seat] = merchant.seats
    # The edge pings the trunk with OPTIONS at any moment, and each ping is a call to sipp: the
    # carrier answers them and takes calls until it is told to stop.
    carrier = sipp(
        "carrier",
        ["-sf", str(SCENARIOS / "carrier_uas.xml")],
        tmp_path,
        host=CARRIER_HOST,
        port=CARRIER_PORT,
        calls=None,
    )
    time.sleep(0.3)  # the carrier listens before the call leaves
    dialled = "+442079460000"
    out = seat_dials(stack, seat, dialled, "seat_calls_out.xml", tmp_path)
    assert out.wait() == 0, out.report() + carrier.report() + stack.log()[-3000:]
    carrier.proc.send_signal(signal.SIGUSR1)
    assert carrier.wait() == 0, carrier.report()
    received = carrier.messages()
    invite = received[received.find("INVITE sip:") :]
    assert (
        f"From: <sip:{merchant.number}@" in invite
        and f"sip:{merchant.number}@" in invite.split("P-Asserted-Identity:")[1]
    )
    assert f"INVITE sip:{dialled}@" in invite
    contact_id = re.search(r"X-Switchboard-Contact-Id: (\S+)", invite)
    assert contact_id is not None
    bind_table(stack)
    from contact_center.data.contacts import ContactItems

    deadline = time.monotonic() + 8
    record = None
    while record is None and time.monotonic() < deadline:
        try:
            record = ContactItems().record(contact_id.group(1))
        except Exception:
            time.sleep(0.2)
    assert record is not None
    assert (record.called, record.caller, record.seat_id) == (dialled, merchant.number, seat.seat_id)
    assert [s["kind"] for s in record.segments] == ["outbound"] and record.answered_at is not None
    assert merchant.wait_state(seat, "available") == "available"


def test_a_number_outside_the_allowed_prefixes_is_refused_with_403_and_a_reason(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=1)
    [seat] = merchant.seats
    status, changed = call_api(
        stack, "PATCH", f"/merchants/{merchant.merchant_id}", {"dial_prefixes": ["+44"]}, merchant.key
    )
    assert status == 200 and changed["dial_prefixes"] == ["+44"], changed
    refused = seat_dials(stack, seat, "+33142270000", "seat_call_refused.xml", tmp_path)
    assert refused.wait() == 0, refused.report() + stack.log()[-3000:]
    assert merchant.state(seat) == "available"  # never made busy
