"""A seat with two registered phones, one of them dead, on the local stack end to end.

The seat registers from two ports; the first phone then goes away without unregistering (a
softphone restarted on a new port). A call must ring both, be answered by the live one without
waiting on the dead one, and leave the dead binding pruned from the table.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.calls_support import (
    add_trunk,
    agent,
    bind_table,
    caller,
    onboard,
    records,
    register,
)
from tests.support.ports import free_port
from tests.support.stack import RunningStack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("forking"), dynamodb="dynamodb-local") as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


def contacts(stack: RunningStack, aor: str) -> set[str]:
    from contact_center.data.bindings import BindingItems

    bind_table(stack)
    return {item.contact_uri for item in BindingItems().current(aor, int(time.time()))}


def test_the_live_phone_answers_at_once_and_the_dead_binding_is_pruned(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, f"+1415559{secrets.randbelow(10**4):04d}", 1)
    seat = merchant.seats[0]
    dead = dataclasses.replace(seat, port=free_port())
    register(stack, dead, tmp_path)  # its sipp exits: nothing listens on that port any more
    register(stack, seat, tmp_path)
    aor = f"sip:{seat.username}@{seat.domain}"
    deadline = time.monotonic() + 5  # the registrar writes behind
    while len(contacts(stack, aor)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(contacts(stack, aor)) == 2
    merchant.make_available_in_order([seat])
    phone = agent(seat, "agent_answer.xml", tmp_path)
    started = time.monotonic()
    call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert phone.wait() == 0, phone.report()
    # No dead air: the call is over long before a single timeout on the dead phone (8 s and more).
    assert time.monotonic() - started < 6
    [record] = records(stack, merchant)
    assert (record.hangup_cause, record.rona_attempts) == ("normal_clearing", 0)
    deadline = time.monotonic() + 10
    while len(contacts(stack, aor)) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert contacts(stack, aor) == {f"sip:{seat.username}@127.0.0.1:{seat.port}"}
