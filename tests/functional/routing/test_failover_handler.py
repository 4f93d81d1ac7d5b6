"""The failover function against the table: its canary answered by the real routing function, its
watch kept in the table between invocations, the peer's merchants taken over after two failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from contact_center import bootstrap
from contact_center.aws.failover import CANARY_EVENT
from contact_center.contracts import metrics
from contact_center.contracts import settings as contract
from contact_center.data.failover import FailoverWatchItems
from contact_center.data.ownership import OwnershipItems
from contact_center.domain.ownership import Ownership

from .conftest import DOMAIN, NOW, World
from .test_handlers import invoke, load

failover = load("failover")
HERE, PEER = "us-west-2", "us-east-1"


class Context:
    """Room for exactly one probe per invocation (the deployed run makes six, 10 s apart)."""

    def get_remaining_time_in_millis(self) -> int:
        return 9_000


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


class PeerRouting:
    """The peer region's routing function as the canary reaches it: healthy, or failing."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, region: str, event: Mapping[str, Any]) -> dict[str, Any]:
        self.sent.append((region, dict(event)))
        if self.down:
            raise EndpointConnectionError(endpoint_url=f"https://lambda.{region}.amazonaws.com")
        return invoke(dict(event))  # the real routing handler, on this table


class Sweeps:
    asked: list[list[str]] = []

    def __init__(self, function_name: str, region: str, endpoint_url: str | None = None) -> None:
        self.target = (function_name, region)

    def __call__(self, merchant_ids: Sequence[str]) -> None:
        Sweeps.asked.append(list(merchant_ids))


@pytest.fixture
def west(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PeerRouting, Clock]]:
    World()  # a merchant, m1, on the table
    OwnershipItems().move(None, Ownership("m1", PEER, 1, 0, PEER), NOW)
    OwnershipItems().move(None, Ownership("m2", HERE, 1, 0, HERE), NOW)
    monkeypatch.setenv(contract.TABLE.name, moto_table)
    monkeypatch.setenv(contract.REGION.name, HERE)
    monkeypatch.setenv(contract.FAILOVER_PEER.name, PEER)
    monkeypatch.setattr(bootstrap, "RoutingSweepRequest", Sweeps)
    Sweeps.asked = []
    clock = Clock()
    settings = bootstrap.Settings(
        sip_domain=DOMAIN,
        region=HERE,
        regions=(PEER, HERE),
        handoff_ms=0,
        metrics_namespace=metrics.FAILOVER_NAMESPACE,
    )
    container = bootstrap.reset(settings, clock=clock)
    peer = PeerRouting()
    container.home_region = peer  # type: ignore[union-attr]
    yield peer, clock
    bootstrap.reset()


def run(clock: Clock) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(failover({"action": "watch"}, Context())))
    clock.now += 10_000
    return result


def test_the_canary_is_answered_by_a_healthy_routing_function_and_writes_nothing(
    west: tuple[PeerRouting, Clock],
) -> None:
    assert invoke(dict(CANARY_EVENT)) == {"offers": []}


def test_two_failed_probes_take_the_peers_merchants_over_and_the_watch_survives_each_invocation(
    west: tuple[PeerRouting, Clock], capsys: pytest.CaptureFixture[str]
) -> None:
    peer, clock = west
    first = run(clock)
    assert first["probes"] == [{"outcome": "ok", "failed": False, "peer_healthy": True}]
    assert peer.sent == [(PEER, dict(CANARY_EVENT))]

    peer.down = True
    second, third = run(clock), run(clock)

    assert second["probes"][0]["failed"] and second["taken_over"] == []
    assert third["probes"] == [{"outcome": "refused", "failed": True, "peer_healthy": False}]
    assert third["taken_over"] == ["m1"]
    moved = OwnershipItems().get("m1")
    assert moved is not None and (moved.home_region, moved.epoch, moved.preferred) == (HERE, 2, PEER)
    unchanged = OwnershipItems().get("m2")
    assert unchanged is not None and unchanged.epoch == 1
    assert Sweeps.asked == [["m1"]]
    watch = FailoverWatchItems().load(HERE, PEER)
    assert watch is not None and not watch.health.healthy and not watch.takeover_due
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    taken = [line for line in lines if metrics.MERCHANTS_TAKEN_OVER in line]
    assert [(t[metrics.MERCHANTS_TAKEN_OVER], t[metrics.PEER_DIMENSION]) for t in taken] == [(1, PEER)]
    assert [line[metrics.PEER_PROBE_FAILED] for line in lines if metrics.PEER_PROBE_FAILED in line] == [
        0,
        1,
        1,
    ]


def test_a_peer_that_comes_back_is_healthy_again_and_its_merchants_stay_until_failed_back(
    west: tuple[PeerRouting, Clock],
) -> None:
    peer, clock = west
    peer.down = True
    run(clock), run(clock)
    peer.down = False
    healthy = [run(clock)["probes"][0]["peer_healthy"] for _ in range(3)]
    assert healthy == [False, False, True]
    moved = OwnershipItems().get("m1")
    assert moved is not None and moved.home_region == HERE


def test_without_a_peer_the_function_watches_nothing(
    west: tuple[PeerRouting, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    peer, clock = west
    monkeypatch.delenv(contract.FAILOVER_PEER.name)
    assert run(clock) == {"peer": None}
    assert peer.sent == []


def test_one_scheduled_run_probes_six_times_ten_seconds_apart(
    west: tuple[PeerRouting, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    peer, clock = west
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += round(seconds * 1000)

    monkeypatch.setattr(time, "sleep", sleep)

    class Lambda:
        def get_remaining_time_in_millis(self) -> int:
            return 58_000 - (clock.now - start)

    start = clock.now
    result = failover({"action": "watch"}, Lambda())
    assert len(result["probes"]) == 6 and len(peer.sent) == 6
    assert slept == [10.0] * 5
