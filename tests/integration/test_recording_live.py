"""Call recording end to end on the local stack (`make run`'s processes: the edge, rtpengine with its
recording spool, the collector, the API and the web server): a queue recording every call, an
agent registered over SIP who answers, both parties sending audio; the record names the recording,
the API's link fetches it, and it lasts as long as the call was answered. A queue recording
nothing leaves no recording."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.media_relay import installed
from tests.integration.calls_support import Merchant, add_trunk, call_api, onboard, register
from tests.sip.b2bua_support import HOST, Phone
from tests.support.stack import RunningStack, running_stack
from tests.support.talk import talk

pytestmark = pytest.mark.skipif(not installed(), reason="rtpengine-daemon is not installed")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("recording")) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


def _merchant(stack: RunningStack, tmp: Path, number: str, percent: int) -> Merchant:
    merchant = onboard(stack, number)
    path = f"/merchants/{merchant.merchant_id}/queues/{merchant.queue_id}"
    status, queue = call_api(stack, "PATCH", path, {"recording_percent": percent}, merchant.key)
    assert (status, queue["recording_percent"]) == (200, percent), queue
    register(stack, merchant.seats[0], tmp)
    merchant.make_available_in_order(merchant.seats)
    return merchant


def _talk(stack: RunningStack, merchant: Merchant, seconds: float) -> float:
    """A carrier call the seat's phone (where it registered) answers; the answered length."""

    async def scenario() -> float:
        carrier = await Phone.open("carrier")
        seat = merchant.seats[0]
        agent = await Phone.open(seat.username, seat.port)
        try:
            answered = await talk(carrier, agent, (HOST, stack.sip_port), merchant.number, seconds)
            await carrier.response("BYE", 200, timeout=10)
            return answered
        finally:
            carrier.close()
            agent.close()

    return asyncio.run(scenario())


def _record(stack: RunningStack, merchant: Merchant) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        status, page = call_api(stack, "GET", f"/merchants/{merchant.merchant_id}/contacts", key=merchant.key)
        assert status == 200, page
        if page["items"] or time.monotonic() > deadline:
            [record] = page["items"]
            return dict(record)
        time.sleep(0.2)


def _recording(stack: RunningStack, merchant: Merchant, contact_id: str, within: float) -> tuple[int, Any]:
    path = f"/merchants/{merchant.merchant_id}/contacts/{contact_id}/recording"
    deadline = time.monotonic() + within
    while True:
        status, body = call_api(stack, "GET", path, key=merchant.key)
        if status != 404 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def test_a_recorded_call_is_named_by_its_record_and_fetched_through_the_link(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = _merchant(stack, tmp_path, "+14155550801", 100)
    answered_seconds = _talk(stack, merchant, 3.0)

    record = _record(stack, merchant)
    assert record["recording_key"] == f"{merchant.merchant_id}/{record['contact_id']}.wav"
    status, link = _recording(stack, merchant, record["contact_id"], within=10)
    assert status == 200, (link, stack.log()[-3000:])
    assert link["url"].startswith(stack.web_url + "/recordings/")
    with urllib.request.urlopen(link["url"], timeout=10) as response:
        assert response.headers["Content-Type"] == "audio/wav"
        fetched = tmp_path / "fetched.wav"
        fetched.write_bytes(response.read())
    duration = float(subprocess.run(["soxi", "-D", str(fetched)], check=True, capture_output=True).stdout)
    assert abs(duration - answered_seconds) < 0.5, (duration, answered_seconds)


def test_a_queue_recording_nothing_leaves_no_recording(stack: RunningStack, tmp_path: Path) -> None:
    merchant = _merchant(stack, tmp_path, "+14155550802", 0)
    _talk(stack, merchant, 1.0)
    record = _record(stack, merchant)
    assert record["recording_key"] is None
    status, body = _recording(stack, merchant, record["contact_id"], within=2)
    assert status == 404, body
