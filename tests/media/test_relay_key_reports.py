"""A media fleet relay on a real rtpengine, configured as its agent configures it: every RFC 4733 key
is reported to the agent on the loopback (rtpengine 10.5 has one ``dtmf-log-dest``), and the agent
forwards it to the edge task that labelled the call's leg in its offer, not to another edge task.
And what rtpengine answers when the edge names an uploaded prompt the relay has not copied yet:
``play media`` is refused, and the hold player plays the default prompt instead."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from pathlib import Path

from contact_center.contracts.media_relays import KEY_REPORT_LABEL_PREFIX, key_report_label
from contact_center.domain.prompts import PromptFile, QueuePrompts
from local_stack.media_relay import RelayPorts
from media_relay.agent import KeyForwarder, ng_labels
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.anchor import ANCHOR
from sip_edge.app.media.hold import UPLOADED, HoldPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.uploaded import UploadedPrompts
from sip_edge.media.dtmf import DtmfListener
from sip_edge.media.ng import NgClient, NgRefusedError
from sip_edge.media.sdp import parked_answer
from tests.support.ports import HOST, free_port
from tests.support.relay import as_the_agent_configures_it, needs_rtpengine, running_relay
from tests.support.rtp import RtpEndpoint, sdp_media_address, sdp_offer

PUBLIC = "203.0.113.7"


async def _caller_on_relay(client: NgClient, call_id: str, caller: RtpEndpoint, label: str | None) -> None:
    """The caller's leg as an edge anchors a queued caller: its offer (labelled), our parked answer.
    The caller sends to the relay's local address: the advertised one is a documentation address."""
    offered = await client.offer(call_id, "caller", sdp_offer(HOST, caller.port), ANCHOR, label=label)
    answered = await client.answer(call_id, "caller", "edge", parked_answer(offered.sdp), ANCHOR)
    caller.remote = (HOST, sdp_media_address(answered.sdp)[1])
    caller.start()


@needs_rtpengine
def test_a_key_pressed_on_a_call_reaches_the_edge_that_labelled_it_and_no_other(tmp_path: Path) -> None:
    reports = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    reports.bind((HOST, 0))
    dtmf_log = reports.getsockname()[1]
    # As on an instance, with the recordings' spool too.
    (tmp_path / "spool").mkdir()
    argv = as_the_agent_configures_it(
        tmp_path / "rtpengine.conf", PUBLIC, free_port(), dtmf_log, tmp_path / "spool"
    )
    with running_relay(argv=argv) as (ports, _process):
        forwarder = KeyForwarder(
            lambda call_id: ng_labels((ports.host, ports.ng_port), call_id),
            KEY_REPORT_LABEL_PREFIX,
            reports.sendto,
        )
        threading.Thread(target=forwarder.serve, args=(reports,), daemon=True).start()
        callers = [RtpEndpoint(), RtpEndpoint()]

        async def scenario() -> tuple[str, str, int, int]:
            # Two edge tasks, each holding one call on the same relay.
            edges = [DtmfListener(), DtmfListener()]
            addresses = [await edge.start(HOST, 0) for edge in edges]
            client = NgClient((ports.host, ports.ng_port))
            calls = [f"keys-{uuid.uuid4()}", f"keys-{uuid.uuid4()}"]
            try:
                for call_id, caller, address in zip(calls, callers, addresses, strict=True):
                    await _caller_on_relay(client, call_id, caller, key_report_label(*address))
                first, second = edges[0].digits(calls[0]), edges[1].digits(calls[1])
                await asyncio.sleep(0.3)
                callers[0].press("7")
                callers[1].press("#")
                heard = await asyncio.wait_for(first.get(), 5), await asyncio.wait_for(second.get(), 5)
                await asyncio.sleep(0.3)  # anything misdirected would have arrived by now
                return heard[0], heard[1], edges[0].received, edges[1].received
            finally:
                for call_id in calls:
                    await client.delete(call_id, "caller")
                client.close()
                for edge in edges:
                    edge.close()

        try:
            first, second, received_first, received_second = asyncio.run(scenario())
        finally:
            for caller in callers:
                caller.stop()
            reports.close()
    assert (first, second) == ("7", "#")
    assert (received_first, received_second) == (1, 1)  # each edge heard its own call's key only
    assert forwarder.forwarded == 2


@needs_rtpengine
def test_an_uploaded_prompt_the_relay_has_not_copied_is_refused_and_the_default_plays(
    relay: RelayPorts, prompts: Path
) -> None:
    caller = RtpEndpoint()
    missing = PromptFile("m-1/greeting/" + "ab" * 32 + ".wav", "ab" * 32)

    async def scenario() -> tuple[str, list[str]]:
        client = NgClient((relay.host, relay.ng_port))
        call_id = f"missing-{uuid.uuid4()}"
        try:
            await _caller_on_relay(client, call_id, caller, None)
            # rtpengine's own answer to a file it cannot open.
            try:
                await client.play_media(
                    call_id, "caller", str(prompts / "uploaded" / f"{missing.sha256}.wav")
                )
                refused = ""
            except NgRefusedError as exc:
                refused = str(exc)
            # An edge names the relay's copy; it writes nothing on the relay's disk.
            player = HoldPlayer(
                client, call_id, "caller", PromptSet(str(prompts), UploadedPrompts(str(prompts)))
            )
            player.start(Announcements("greeting", None, None, 0, QueuePrompts(greeting=missing)))
            await asyncio.sleep(1.0)
            await player.stop()
            return refused, player.played
        finally:
            await client.delete(call_id, "caller")
            client.close()

    try:
        refused, played = asyncio.run(scenario())
    finally:
        caller.stop()
    assert "Failed to start media playback from file" in refused
    assert played[0] == "greeting"  # the default greeting, not silence
    assert f"{UPLOADED}:greeting" not in played
