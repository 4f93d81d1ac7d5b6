"""The witness: a region is failed over only when its peer AND a third vantage point both fail to
reach it, so a live region that only its peer cannot reach (a partition, a slow region) keeps its
merchants, and a region cut off from both takes nothing over."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contact_center.domain.ownership import Hysteresis, ProbeOutcome, WitnessView, peer_failed
from contact_center.services.regions import FailoverMonitor, RegionControl
from local_stack.regions.controller import ask_witness, deep_probe
from local_stack.regions.witness import Witness, serve
from tests.regions.test_ownership_rules import Clock, control
from tests.support.ports import free_port


@pytest.mark.parametrize(
    ("own_ok", "witness", "failed"),
    [
        (True, None, False),
        (False, None, True),  # no witness: this region's own probe decides
        (True, WitnessView.UNREACHABLE, False),
        (False, WitnessView.REACHABLE, False),  # only this region cannot reach it
        (False, WitnessView.SILENT, False),  # this region reaches nobody: it is the one cut off
        (False, WitnessView.UNREACHABLE, True),
    ],
)
def test_a_peer_has_failed_only_when_two_vantage_points_agree(
    own_ok: bool, witness: WitnessView | None, failed: bool
) -> None:
    assert peer_failed(own_ok, witness) is failed


def _monitor(view: list[WitnessView]) -> tuple[FailoverMonitor, RegionControl, Clock, list[int]]:
    regions, _, clock = control("west")
    regions.home("m1", "east")
    asked: list[int] = []

    def witness() -> WitnessView:
        asked.append(clock.now)
        return view[0]

    monitor = FailoverMonitor(regions, "east", lambda: False, clock, Hysteresis(3, 2, 1_000), witness=witness)
    return monitor, regions, clock, asked


def test_a_live_region_only_the_peer_cannot_reach_keeps_its_merchants_until_the_witness_loses_it_too() -> (
    None
):
    view = [WitnessView.REACHABLE]
    monitor, regions, clock, asked = _monitor(view)

    for _ in range(40):  # 20 s of failed probes from west, the witness reaching east all along
        assert monitor.tick() == []
        clock.now += 500
    assert monitor.peer_healthy and regions.ownership("m1").home_region == "east"
    assert len(asked) == 40

    view[0] = WitnessView.UNREACHABLE
    moved = []
    for _ in range(4):
        moved.append(len(monitor.tick()))
        clock.now += 500

    assert moved == [0, 0, 1, 0]
    assert regions.ownership("m1").home_region == "west"


def test_a_region_that_reaches_neither_its_peer_nor_the_witness_takes_nothing_over() -> None:
    monitor, regions, clock, _ = _monitor([WitnessView.SILENT])
    for _ in range(40):
        assert monitor.tick() == []
        clock.now += 500
    assert regions.ownership("m1").home_region == "east"


def test_the_witness_is_asked_only_when_the_own_probe_fails() -> None:
    regions, _, clock = control("west")
    asked: list[int] = []

    def witness() -> WitnessView:
        asked.append(clock.now)
        return WitnessView.UNREACHABLE

    monitor = FailoverMonitor(regions, "east", lambda: True, clock, witness=witness)
    monitor.tick()
    assert asked == []


@pytest.fixture
def outcomes() -> dict[str, ProbeOutcome]:
    return {"east": ProbeOutcome.OK, "west": ProbeOutcome.OK}


@pytest.fixture
def witness_url(outcomes: dict[str, ProbeOutcome]) -> Iterator[tuple[str, Witness, Clock]]:
    clock = Clock()

    def probe(name: str) -> Callable[[], ProbeOutcome]:
        return lambda: outcomes[name]

    witness = Witness({name: probe(name) for name in outcomes}, clock=clock, grace_ms=12_000)
    port = free_port()
    server = serve(witness, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}", witness, clock
    finally:
        server.shutdown()
        server.server_close()


def test_the_witness_answers_what_its_own_probes_see(
    witness_url: tuple[str, Witness, Clock], outcomes: dict[str, ProbeOutcome]
) -> None:
    url, witness, clock = witness_url
    assert ask_witness(url, "east") is WitnessView.REACHABLE

    outcomes["east"] = ProbeOutcome.REFUSED
    witness.probe_once("east")
    witness.probe_once("west")
    assert ask_witness(url, "east") is WitnessView.UNREACHABLE
    assert ask_witness(url, "west") is WitnessView.REACHABLE

    # A slow answer is not a dead region for the witness either, until the grace is over
    outcomes["west"] = ProbeOutcome.SLOW
    witness.probe_once("west")
    assert ask_witness(url, "west") is WitnessView.REACHABLE
    clock.now += 12_000
    witness.probe_once("west")
    assert ask_witness(url, "west") is WitnessView.UNREACHABLE


def test_a_witness_that_does_not_answer_or_does_not_know_the_region_is_silent(
    witness_url: tuple[str, Witness, Clock],
) -> None:
    url, _, _ = witness_url
    assert ask_witness(url, "north") is WitnessView.SILENT
    assert ask_witness(f"http://127.0.0.1:{free_port()}", "east") is WitnessView.SILENT


def test_only_a_refused_connection_is_a_dead_region_a_silent_one_is_only_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    lambda_port, nobody, silent = free_port(), free_port(), free_port()
    server = ThreadingHTTPServer(("127.0.0.1", lambda_port), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    listener = socket.socket()
    listener.bind(("127.0.0.1", silent))
    listener.listen(16)  # accepts connections, never answers: a region too busy to reply
    try:
        service = f"http://127.0.0.1:{lambda_port}"
        assert deep_probe(f"http://127.0.0.1:{nobody}", service, "t") is ProbeOutcome.REFUSED
        assert deep_probe(service, f"http://127.0.0.1:{nobody}", "t") is ProbeOutcome.REFUSED
        assert deep_probe(service, f"http://127.0.0.1:{silent}", "t") is ProbeOutcome.SLOW
    finally:
        server.shutdown()
        server.server_close()
        listener.close()
