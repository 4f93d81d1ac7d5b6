"""The composition root: what `sip_edge.main.build` wires for each set of ports, and its shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Sequence

from contact_center.domain.media_relays import RelayBeat
from sip_edge.config import EdgeConfig
from sip_edge.main import EdgePorts, build
from sip_edge.sip.registration import Binding
from tests.sip.b2bua_support import HOST, FakeRouting, NoCredentials, StaticTrunks


class RecordingBindings:
    def __init__(self) -> None:
        self.writes: list[list[Binding]] = []

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        self.writes.append(upserts)

    def load(self, aor: str, now: float) -> list[Binding]:
        return []

    def load_many(self, aors: Sequence[str], now: float) -> dict[str, list[Binding]]:
        return {aor: self.load(aor, now) for aor in aors}


class Fleet:
    """Heartbeats as the table would keep them."""

    def __init__(self) -> None:
        self.beats: list[tuple[str, str, int]] = []

    def heartbeat(self, task_id: str, address: str, now: int, active_calls: int) -> None:
        self.beats.append((task_id, address, active_calls))

    def address_of(self, task_id: str, now: int) -> str | None:
        return None

    def lost(self, now: int) -> list[tuple[str, int]]:
        return []

    def forget(self, task_id: str, heartbeat_at: int) -> bool:
        return True


def config() -> EdgeConfig:
    return EdgeConfig(host=HOST, port=0, task_id="edge-c", nonce_key="k" * 16)


def test_a_registrar_only_edge_has_no_calls_and_refuses_an_invite_with_501() -> None:
    async def scenario() -> tuple[list[str], bytes]:
        task = build(config(), EdgePorts(credentials=NoCredentials(), bindings=RecordingBindings()))
        assert task.calls is None and task.policy.b2bua is None
        await task.start()
        try:
            port = task.edge.address("UDP")[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((HOST, 0))
                sock.setblocking(False)
                invite = (
                    f"INVITE sip:100@{HOST}:{port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {HOST}:{sock.getsockname()[1]};branch=z9hG4bKcomp1\r\n"
                    "Max-Forwards: 70\r\nFrom: <sip:c@example.com>;tag=1\r\nTo: <sip:100@example.com>\r\n"
                    "Call-ID: comp-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
                )
                sock.sendto(invite.encode(), (HOST, port))
                loop = asyncio.get_running_loop()
                answers: list[bytes] = []
                while not answers or answers[-1].startswith(b"SIP/2.0 100"):
                    answers.append(await asyncio.wait_for(loop.sock_recv(sock, 65535), 3))
            return task.workers.names, answers[-1]
        finally:
            await task.close()

    names, final = asyncio.run(scenario())
    assert names == ["location-flush", "nat-keepalive", "health"]
    assert final.startswith(b"SIP/2.0 501")


def test_a_routed_edge_with_a_fleet_beats_with_its_bound_address_and_sweeps() -> None:
    async def scenario() -> tuple[list[str], list[tuple[str, str, int]], int]:
        fleet = Fleet()
        ports = EdgePorts(
            credentials=NoCredentials(),
            bindings=RecordingBindings(),
            routing=FakeRouting(),
            trunks=StaticTrunks(),
            fleet=fleet,
        )
        task = build(config(), ports)
        await task.start()
        try:
            port = task.edge.address("UDP")[1]
            for _ in range(100):
                if fleet.beats:
                    break
                await asyncio.sleep(0.02)
            return task.workers.names, fleet.beats, port
        finally:
            await task.close()

    names, beats, port = asyncio.run(scenario())
    assert names == [
        "location-flush",
        "nat-keepalive",
        "trunk-ping",
        "edge-heartbeat",
        "lost-edge-sweep",
        "health",
    ]
    assert beats[0] == ("edge-c", f"{HOST}:{port}", 0)  # the first beat at once, with the bound port


class Relays:
    """The region's relay registry with one relay, as its agent would have written it."""

    def __init__(self) -> None:
        self.reads = 0

    def beats(self) -> list[RelayBeat]:
        self.reads += 1
        return [RelayBeat("i-1", (HOST, 2223), "203.0.113.7", int(time.time()))]


def test_an_edge_with_a_relay_registry_fills_its_pool_from_it() -> None:
    async def scenario() -> tuple[list[str], list[tuple[str, int]]]:
        relays = Relays()
        ports = EdgePorts(
            credentials=NoCredentials(),
            bindings=RecordingBindings(),
            routing=FakeRouting(),
            trunks=StaticTrunks(),
            relay_source=relays,
        )
        task = build(dataclasses.replace(config(), media_registry="us-east-1"), ports)
        assert task.calls is not None and task.calls.relays is not None
        assert task.calls.relays.relays == []  # nothing until the registry is read
        await task.start()
        try:
            for _ in range(100):
                if task.calls.relays.relays:
                    break
                await asyncio.sleep(0.02)
            return task.workers.names, [relay.client.address for relay in task.calls.relays.relays]
        finally:
            await task.close()

    names, pool = asyncio.run(scenario())
    assert "media-relays" in names and "media-relay-registry" in names
    assert pool == [(HOST, 2223)]


def test_closing_the_task_writes_the_bindings_still_pending() -> None:
    async def scenario() -> RecordingBindings:
        bindings = RecordingBindings()
        task = build(config(), EdgePorts(credentials=NoCredentials(), bindings=bindings))
        await task.start()
        task.location.put(
            Binding(
                aor="sip:a@x",
                key="k",
                contact_uri="sip:a@192.0.2.1",
                expires_at=4e9,
                received="192.0.2.1:5060",
                transport="UDP",
                flow_owner="edge-c",
                call_id="r",
                cseq=1,
            )
        )
        await task.close()
        return bindings

    written = asyncio.run(scenario()).writes
    assert [b.key for batch in written for b in batch] == ["k"]
