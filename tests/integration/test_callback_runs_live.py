"""Callbacks end to end on the local stack: the real router, the edge running the callback, the real
rtpengine, a scripted agent phone and a scripted customer behind the merchant's outbound trunk.

The stack's one trunk is the platform's carrier on 127.0.0.2: callers' INVITEs come from there, and
the merchant's outbound calls (the callback's dial) go to its signalling address there, where the
test's customer phone answers. In the first two tests the callback is left through the routing
function's ``leave_callback`` for a contact it queued for a caller task of the test's own; in the
last, a caller waiting in the queue presses the key.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sip_edge.sip.message import Request, Response
from tests.integration.calls_support import (
    Merchant,
    add_trunk,
    bind_table,
    call_api,
    onboard,
    records,
    register,
)
from tests.sip.b2bua_support import Phone, _Protocol
from tests.support.ports import free_port
from tests.support.rtp import RtpEndpoint, sdp_media_address, sdp_offer
from tests.support.stack import RunningStack, running_stack

pytestmark = pytest.mark.timeout(240)

CARRIER_HOST = "127.0.0.2"
TRUNK_PORT = free_port()  # the carrier trunk's signalling address: the customer answers there
CALLER_TASK = "callers-task"  # the task of the test's own that "held" the caller who left the callback
CUSTOMER = "+4917612345678"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    kind = os.environ.get("CALLS_DYNAMODB", "dynamodb-local")
    with running_stack(tmp_path_factory.mktemp("callbacks"), dynamodb=kind) as running:
        add_trunk(
            running,
            {"name": "Carrier", "source_cidrs": ["127.0.0.2/32"], "address": f"{CARRIER_HOST}:{TRUNK_PORT}"},
        )
        yield running


def ready(stack: RunningStack, tmp: Path, **settings: Any) -> Merchant:
    merchant = onboard(stack, f"+1415557{next(_numbers):04d}", 1)
    status, queue = call_api(
        stack,
        "PATCH",
        f"/merchants/{merchant.merchant_id}/queues/{merchant.queue_id}",
        {"callback": {"digit": "1", "max_attempts": 2, "retry_seconds": 10}, **settings},
        merchant.key,
    )
    assert status == 200 and queue["callback"]["digit"] == "1", queue
    register(stack, merchant.seats[0], tmp)
    return merchant


def route(stack: RunningStack, action: str, **fields: Any) -> dict[str, Any]:
    """The routing function, invoked as the edge invokes it."""
    client = boto3.client(
        "lambda",
        endpoint_url=stack.lambda_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    answer = client.invoke(FunctionName="routing", Payload=json.dumps({"action": action, **fields}).encode())
    result: dict[str, Any] = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    return result


def left_callback(stack: RunningStack, merchant: Merchant) -> str:
    """A caller queued by a task of the test's and gone after pressing the key: its contact id."""
    contact_id = str(uuid.uuid4())
    queued = route(
        stack,
        "new_contact",
        called=merchant.number,
        caller=CUSTOMER,
        contact_id=contact_id,
        edge_task_id=CALLER_TASK,
    )
    assert queued["decision"] == "queue", queued
    left = route(stack, "leave_callback", contact_id=contact_id, edge_task_id=CALLER_TASK, digit="1")
    assert left["state"] == "queued", left
    return contact_id


async def phone_at(host: str, port: int, name: str) -> Phone:
    phone = Phone(name)
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Protocol(phone.inbox), local_addr=(host, port)
    )
    phone.transport, phone.port = transport, port
    return phone


async def answered(
    phone: Phone, rtp: RtpEndpoint, timeout: float = 20
) -> tuple[Request, Response, Request, float]:
    """The phone is rung, answers with its RTP address and is acknowledged; when it was rung."""
    invite, source = await phone.request("INVITE", timeout=timeout)
    rung_at = time.monotonic()
    ok = phone.answer(invite, source, 200, body=sdp_offer("127.0.0.1", rtp.port))
    ack, _ = await phone.request("ACK")
    return invite, ok, ack, rung_at


async def queued(caller: Phone) -> None:
    """The edge holds the caller in the queue (its 182 or 183)."""
    await caller.recv(lambda m: isinstance(m, Response) and m.status in (182, 183), timeout=10)


async def served_in_turn(
    agent: Phone, customer: Phone, edge: tuple[str, int], agent_rtp: RtpEndpoint, customer_rtp: RtpEndpoint
) -> dict[str, Any]:
    """The agent takes three offers in turn, the second the callback: the customer is dialled once
    the agent answered, and the two talk for 2 s before the customer hangs up."""
    ring_1, ok_1, _, _ = await answered(agent, RtpEndpoint())
    agent.send(agent.in_dialog("BYE", ring_1, ok_1, edge, uas=True), edge)
    ring_2, _, ack_2, agent_rung_at = await answered(agent, agent_rtp)
    agent_rtp.remote = sdp_media_address(ack_2.body)
    agent_rtp.start()
    dialled, trunk_source = await customer.request("INVITE", timeout=20)
    customer_dialled_at = time.monotonic()
    customer_ok = customer.answer(dialled, trunk_source, 200, body=sdp_offer("127.0.0.1", customer_rtp.port))
    await customer.request("ACK")
    customer_rtp.remote = sdp_media_address(dialled.body)
    customer_rtp.start()
    await asyncio.sleep(2.0)
    heard = (len(agent_rtp.received), len(customer_rtp.received))
    customer.send(customer.in_dialog("BYE", dialled, customer_ok, edge, uas=True), edge)
    bye, bye_source = await agent.request("BYE", timeout=10)
    agent.answer(bye, bye_source, 200)
    ring_3, ok_3, _, _ = await answered(agent, RtpEndpoint())
    agent.send(agent.in_dialog("BYE", ring_3, ok_3, edge, uas=True), edge)
    return {
        "offered": [r.headers.get("X-Switchboard-Contact-Id") for r in (ring_1, ring_2, ring_3)],
        "bodies": (ring_1.body, ring_2.body, ring_3.body),
        "order": (agent_rung_at, customer_dialled_at),
        "dialled": dialled,
        "heard": heard,
    }


def dial_segments(segments: list[Any]) -> list[tuple[str, int | None]]:
    return [(s["outcome"], s.get("status")) for s in segments if s["kind"] == "dial"]


def test_a_callback_is_served_at_its_place_the_agent_rung_before_the_customer_and_they_talk(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path)
    seat = merchant.seats[0]
    edge = ("127.0.0.1", stack.sip_port)
    agent_rtp, customer_rtp = RtpEndpoint(tone_hz=1000), RtpEndpoint(tone_hz=500)

    async def scenario() -> dict[str, Any]:
        agent = await phone_at("127.0.0.1", seat.port, "agent")
        customer = await phone_at(CARRIER_HOST, TRUNK_PORT, "customer")
        first, third = (
            await phone_at(CARRIER_HOST, free_port(), "first"),
            await phone_at(CARRIER_HOST, free_port(), "third"),
        )
        try:
            # Three callers queued in turn; the second leaves a callback and is gone
            first.invite(edge, merchant.number, body=sdp_offer(CARRIER_HOST, free_port()))
            await queued(first)
            await asyncio.sleep(0.3)
            callback = await asyncio.to_thread(left_callback, stack, merchant)
            await asyncio.sleep(0.3)
            third.invite(edge, merchant.number, body=sdp_offer(CARRIER_HOST, free_port()))
            await queued(third)
            # An agent frees up and takes them one after the other
            await asyncio.to_thread(merchant.set_state, seat, "available")
            served = await served_in_turn(agent, customer, edge, agent_rtp, customer_rtp)
            return {"callback": callback, **served}
        finally:
            for phone in (agent, customer, first, third):
                phone.close()

    try:
        seen = asyncio.run(scenario())
    finally:
        agent_rtp.stop()
        customer_rtp.stop()
    callback = seen["callback"]
    offered = seen["offered"]
    # Served second: after the first caller, before the third
    assert offered[1] == callback and callback not in (offered[0], offered[2]) and offered[0] != offered[2]
    # The callback's agent leg has no SDP (the phone offers); the others carry the relay's
    assert seen["bodies"][1] == b"" and seen["bodies"][0] and seen["bodies"][2]
    # The agent was rung before the customer's INVITE arrived, and the customer is dialled as asked
    agent_rung_at, customer_dialled_at = seen["order"]
    assert agent_rung_at < customer_dialled_at
    assert seen["dialled"].uri.startswith(f"sip:{CUSTOMER}@")
    assert merchant.number in seen["dialled"].headers.get("P-Asserted-Identity")
    # RTP both ways through the relay: 2 s at 50 packets/s each way
    assert min(seen["heard"]) >= 80, seen["heard"]
    # The record: one contact, its callback and its answered dial, then the agent's talk
    found = [r for r in records(stack, merchant, count=3, timeout=15) if r.contact_id == callback]
    assert len(found) == 1
    segments = found[0].segments
    assert dial_segments(segments) == [("answered", 200)]
    kinds = [s["kind"] for s in segments]
    assert kinds.index("callback") < kinds.index("dial")
    assert found[0].answered_at is not None


def test_a_busy_customer_is_a_busy_dial_and_the_callback_waits_at_its_place(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path)
    seat = merchant.seats[0]

    async def scenario() -> tuple[str, str | None]:
        agent = await phone_at("127.0.0.1", seat.port, "agent")
        customer = await phone_at(CARRIER_HOST, TRUNK_PORT, "customer")
        try:
            callback = await asyncio.to_thread(left_callback, stack, merchant)
            await asyncio.to_thread(merchant.set_state, seat, "available")
            await answered(agent, RtpEndpoint())
            dialled, trunk_source = await customer.request("INVITE", timeout=20)
            customer.answer(dialled, trunk_source, 486)
            await customer.request("ACK")
            bye, bye_source = await agent.request("BYE", timeout=10)
            agent.answer(bye, bye_source, 200)
            return callback, bye.headers.get("Reason")
        finally:
            agent.close()
            customer.close()

    callback, reason = asyncio.run(scenario())
    assert reason is not None and "cause=486" in reason
    # The agent is back in line, the callback back at its place with its busy dial noted
    assert merchant.wait_state(seat, "available") == "available"
    from contact_center.data.contacts import ContactItems

    bind_table(stack)
    item = ContactItems().get(callback)
    assert item is not None and item.state == "queued" and item.owning_edge is None
    assert dial_segments(list(item.segments)) == [("busy", 486)]


def test_the_second_of_three_callers_presses_the_key_and_is_called_back_second_when_an_agent_frees(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, media={"answer": "200"})
    seat = merchant.seats[0]
    edge = ("127.0.0.1", stack.sip_port)
    agent_rtp, customer_rtp = RtpEndpoint(tone_hz=1000), RtpEndpoint(tone_hz=500)
    callers_rtp = [RtpEndpoint() for _ in range(3)]

    async def scenario() -> dict[str, Any]:
        agent = await phone_at("127.0.0.1", seat.port, "agent")
        customer = await phone_at(CARRIER_HOST, TRUNK_PORT, "customer")
        callers = [await phone_at(CARRIER_HOST, free_port(), f"caller{n}") for n in range(3)]
        try:
            calls = []
            for caller, rtp in zip(callers, callers_rtp, strict=True):  # queued in this order
                invite = caller.invite(edge, merchant.number, body=sdp_offer("127.0.0.1", rtp.port))
                ok = await caller.response("INVITE", 200, timeout=15)
                caller.send(caller.in_dialog("ACK", invite, ok, edge, cseq=1), edge)
                rtp.remote = sdp_media_address(ok.body)
                rtp.start()
                calls.append((invite, ok))
                await asyncio.sleep(0.3)
            await asyncio.sleep(1.0)
            # The second presses the queue's key: its call ends, its contact keeps its place
            callers_rtp[1].press("1")
            left, source = await callers[1].request("BYE", timeout=20)
            callers[1].answer(left, source, 200)
            await asyncio.sleep(0.5)
            # An agent frees up and takes them in turn
            await asyncio.to_thread(merchant.set_state, seat, "available")
            served = await served_in_turn(agent, customer, edge, agent_rtp, customer_rtp)
            return {"left": left.headers.get("Reason"), **served}
        finally:
            for phone in (agent, customer, *callers):
                phone.close()

    try:
        seen = asyncio.run(scenario())
    finally:
        for rtp in (agent_rtp, customer_rtp, *callers_rtp):
            rtp.stop()
    assert seen["left"] is not None and "callback left" in seen["left"]
    first, callback, third = seen["offered"]
    assert len({first, callback, third}) == 3
    # The callback is the one agent leg without SDP (the phone offers); the callers' carry the relay's
    assert seen["bodies"][1] == b"" and seen["bodies"][0] and seen["bodies"][2]
    agent_rung_at, customer_dialled_at = seen["order"]
    assert agent_rung_at < customer_dialled_at
    assert min(seen["heard"]) >= 80, seen["heard"]
    # Its place kept: enqueued between the first and the third, served between them
    found = {r.contact_id: r for r in records(stack, merchant, count=3, timeout=15)}
    assert found[first].enqueued_at < found[callback].enqueued_at < found[third].enqueued_at
    assert dial_segments(found[callback].segments) == [("answered", 200)]
