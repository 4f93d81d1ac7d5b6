"""The replicator between two DynamoDB Local engines behaves as global tables do: after the lag,
item by item, last writer wins, held while paused, and a dead region's unshipped writes are lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from contact_center.data import table
from local_stack.regions.replicator import MARKER, Replicator
from tests.support.dynamodb import dynamodb_local

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]

TABLE = "switchboard"


def client(endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[str, str]]:
    with dynamodb_local() as east, dynamodb_local() as west:
        for endpoint in (east, west):
            table.create_table(TABLE, client=client(endpoint))
        yield east, west


@pytest.fixture
def replicator(engines: tuple[str, str]) -> Iterator[Replicator]:
    east, west = engines
    replicating = Replicator({"east": east, "west": west}, TABLE, lag=0.5, poll=0.02)
    replicating.start()
    time.sleep(0.5)  # readers positioned at the streams' ends
    yield replicating
    replicating.stop()


def put(endpoint: str, pk: str, value: str) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": "X"}, "entity": {"S": "test"}, "value": {"S": value}}
    client(endpoint).put_item(TableName=TABLE, Item=item)


def value(endpoint: str, pk: str) -> str | None:
    item = client(endpoint).get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": "X"}}).get("Item")
    return None if item is None else str(item["value"]["S"])


def wait_for(check: Any, timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError("not replicated in time")
        time.sleep(0.02)
    return time.monotonic() - start


def test_a_write_reaches_the_other_region_after_the_lag_and_is_not_sent_back(
    engines: tuple[str, str], replicator: Replicator
) -> None:
    east, west = engines
    put(east, "lag", "1")
    took = wait_for(lambda: value(west, "lag") == "1")
    assert took >= 0.4
    time.sleep(1.5)
    assert replicator.pending() == 0 and replicator.applied == 1


def test_the_later_writer_wins_in_both_regions(engines: tuple[str, str], replicator: Replicator) -> None:
    east, west = engines
    put(east, "both", "east")
    time.sleep(0.1)
    put(west, "both", "west")  # later: it wins everywhere
    wait_for(lambda: value(east, "both") == "west")
    time.sleep(1.0)
    assert value(east, "both") == value(west, "both") == "west"
    assert replicator.dropped_older == 1


def test_a_pause_holds_every_write_until_resumed(engines: tuple[str, str], replicator: Replicator) -> None:
    east, west = engines
    replicator.pause()
    put(east, "held", "1")
    time.sleep(1.5)
    assert value(west, "held") is None and replicator.pending_from("east") == 1
    replicator.resume()
    wait_for(lambda: value(west, "held") == "1")


def test_a_dead_regions_unshipped_writes_are_lost(engines: tuple[str, str], replicator: Replicator) -> None:
    east, west = engines
    replicator.pause()
    put(east, "unshipped", "1")
    wait_for(lambda: replicator.pending_from("east") == 1)
    assert replicator.stop_region("east") == 1
    replicator.resume()
    time.sleep(1.0)
    assert value(west, "unshipped") is None


def test_a_returning_region_gets_a_copy_of_every_item(engines: tuple[str, str]) -> None:
    east, west = engines
    put(west, "seed-1", "a")
    put(west, "seed-2", "b")
    replicating = Replicator({"east": east, "west": west}, TABLE, lag=0.2, poll=0.02)
    try:
        copied = replicating.copy_all("west", "east")
        assert copied >= 2 and value(east, "seed-2") == "b"
        item = client(east).get_item(TableName=TABLE, Key={"pk": {"S": "seed-1"}, "sk": {"S": "X"}})["Item"]
        assert item[MARKER]["S"].startswith("west:copy:")
    finally:
        replicating.stop()


class _Flaky:
    """A target engine that times out ``failures`` times before it takes a write."""

    def __init__(self, real: Any, failures: int) -> None:
        self._real = real
        self.failures = failures

    def put_item(self, **request: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise TimeoutError("read timeout")
        return self._real.put_item(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_write_the_target_fails_to_take_is_applied_later_not_dropped(
    engines: tuple[str, str], replicator: Replicator
) -> None:
    east, west = engines
    target = replicator._regions["west"]
    flaky = _Flaky(target.client, failures=3)
    target.client = flaky
    try:
        put(east, "flaky", "1")
        wait_for(lambda: value(west, "flaky") == "1", timeout=10.0)
    finally:
        target.client = flaky._real
    assert flaky.failures == 0
    wait_for(lambda: replicator.pending() == 0)
