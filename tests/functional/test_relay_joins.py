"""The edge asks a relay's agent over UDP for an announcement's words as one file: the edge's client
(`sip_edge.app.media.joined.RelayAgent`) against the agent's own server (`media_relay.agent`)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_relay.agent import PromptJoiner, serve_joins
from sip_edge.app.media.joined import RelayAgent
from tests.support.ports import HOST, free_port


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[tuple[str, int], PromptJoiner]]:
    for name, frames in (("caller-number", b"\x01\x00" * 8), ("n3", b"\x02\x00" * 4)):
        with wave.open(str(tmp_path / f"{name}.wav"), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(96000)
            writer.writeframes(frames)
    joiner = PromptJoiner(str(tmp_path))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    threading.Thread(target=serve_joins, args=(sock, joiner), daemon=True).start()
    yield sock.getsockname(), joiner
    sock.close()


def _joined(address: tuple[str, int], parts: list[str], timeout: float = 1.0) -> str | None:
    async def ask() -> str | None:
        client = RelayAgent(address, timeout=timeout)
        try:
            return await client.joined(parts)
        finally:
            client.close()

    return asyncio.run(ask())


def test_the_agent_answers_the_path_of_the_file_it_joined(
    agent: tuple[tuple[str, int], PromptJoiner],
) -> None:
    address, joiner = agent
    path = _joined(address, ["caller-number", "n3"])
    assert path is not None and path == joiner.joined(["caller-number", "n3"])
    with wave.open(path, "rb") as reader:
        assert reader.getnframes() == 12


def test_parts_the_relay_lacks_give_no_file(agent: tuple[tuple[str, int], PromptJoiner]) -> None:
    address, _ = agent
    assert _joined(address, ["caller-number", "n4"]) is None


def test_a_relay_without_an_agent_gives_no_file_within_the_timeout() -> None:
    started = time.monotonic()
    assert _joined((HOST, free_port()), ["caller-number", "n3"], timeout=0.3) is None
    assert time.monotonic() - started < 1.0


def test_the_join_service_stops_quietly_once_its_socket_is_closed(tmp_path: Path) -> None:
    # The agent stopping closes the socket between two requests: the next read ends the service
    # instead of raising in its thread.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.close()
    serve_joins(sock, PromptJoiner(str(tmp_path)))
