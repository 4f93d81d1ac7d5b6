"""Callbacks that keep their place, on the local stack (`make run`'s processes: the API, the routing
function, the edge and rtpengine reporting RFC 4733 keys): a queue with callbacks and no agent, three
callers answered and waiting in it; the second presses the queue's key. Its call ends with a BYE
saying why; its contact is still QUEUED, owned by no edge task, at its original enqueue time, so
still between the first and the third; the other two callers still wait and hear the queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_stack.media_relay import installed
from tests.integration.calls_support import Merchant, add_trunk, bind_table, call_api, onboard
from tests.sip.b2bua_support import HOST, Phone
from tests.support.rtp import RtpEndpoint, sdp_media_address, sdp_offer
from tests.support.stack import RunningStack, running_stack

pytestmark = pytest.mark.skipif(not installed(), reason="rtpengine-daemon is not installed")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("callbacks")) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


@dataclass
class Caller:
    phone: Phone
    rtp: RtpEndpoint
    invite: Any = None
    ok: Any = None


def _waiting(stack: RunningStack, merchant: Merchant) -> list[tuple[str, int, str, str | None]]:
    """The queue's waiting contacts in service order: (id, enqueued at, state, owning edge task)."""
    from contact_center.data.contacts import ContactItems

    bind_table(stack)
    return [
        (item.contact_id, int(item.enqueued_at), item.state, item.owning_edge)
        for item in ContactItems().waiting(merchant.queue_id)
    ]


def _until(check: Any, timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_the_second_of_three_callers_leaves_a_callback_and_keeps_its_place_while_the_others_wait(
    stack: RunningStack,
) -> None:
    merchant = onboard(stack, "+14155550161", seats=1)  # its one seat never becomes available
    path = f"/merchants/{merchant.merchant_id}/queues/{merchant.queue_id}"
    settings = {"callback": {"digit": "1"}, "media": {"answer": "200"}}
    status, queue = call_api(stack, "PATCH", path, settings, merchant.key)
    assert status == 200 and queue["callback"]["digit"] == "1", queue
    edge = (HOST, stack.sip_port)

    async def scenario() -> tuple[list[Any], list[Any], Any, list[int], bool]:
        callers = [Caller(await Phone.open(f"caller{n}"), RtpEndpoint()) for n in range(3)]
        try:
            for caller in callers:  # one after the other: the order of the queue is the order here
                caller.invite = caller.phone.invite(
                    edge, merchant.number, body=sdp_offer(HOST, caller.rtp.port)
                )
                caller.ok = await caller.phone.response("INVITE", 200, timeout=15)
                caller.phone.send(caller.phone.in_dialog("ACK", caller.invite, caller.ok, edge, cseq=1), edge)
                caller.rtp.remote = sdp_media_address(caller.ok.body)
                caller.rtp.start()
                await asyncio.sleep(0.3)
            before = await asyncio.to_thread(
                _until, lambda: len(_waiting(stack, merchant)) == 3 and _waiting(stack, merchant)
            )
            await asyncio.sleep(1.0)  # the announcement naming the key has started
            second = callers[1]
            second.rtp.press("1")
            bye, source = await second.phone.request("BYE", timeout=20)
            second.phone.answer(bye, source, 200)
            await asyncio.sleep(1.0)
            after = await asyncio.to_thread(_waiting, stack, merchant)
            # The other two still hear the queue: audio went on reaching them after the BYE.
            bye_at = time.monotonic()
            await asyncio.sleep(1.0)
            still_heard = [
                sum(1 for p in caller.rtp.received if p.at > bye_at) for caller in (callers[0], callers[2])
            ]
            others_ended = False
            for caller in (callers[0], callers[2]):
                try:
                    await caller.phone.request("BYE", timeout=0.2)
                    others_ended = True
                except TimeoutError:
                    pass
            for caller in (callers[0], callers[2]):
                caller.phone.send(caller.phone.in_dialog("BYE", caller.invite, caller.ok, edge), edge)
                await caller.phone.response("BYE", final=True, timeout=10)
            return before, after, bye, still_heard, others_ended
        finally:
            for caller in callers:
                caller.rtp.stop()
                caller.phone.close()

    before, after, bye, still_heard, others_ended = asyncio.run(scenario())
    assert [state for _, _, state, _ in before] == ["queued"] * 3
    assert all(owner for _, _, _, owner in before), before
    assert bye.headers.get("Reason") == 'SIP;cause=200;text="callback left: the caller keeps its place"'
    first, second, third = before
    # Still QUEUED at its place: same enqueue time, between the first and the third, owned by no task.
    assert after[1][:3] == second[:3], (before, after)
    assert after[1][3] is None
    assert [contact[:2] for contact in after] == [contact[:2] for contact in before]
    assert after[0][3] == first[3] and after[2][3] == third[3]
    assert not others_ended and min(still_heard) > 20, still_heard
    # The edge reported no end for it: no record, no abandon counted.
    status, page = call_api(stack, "GET", f"/merchants/{merchant.merchant_id}/contacts", key=merchant.key)
    assert status == 200 and second[0] not in {record["contact_id"] for record in page["items"]}, page
