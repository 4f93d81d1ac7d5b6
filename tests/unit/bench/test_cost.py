"""The media fleet in the cost of a call: relays for the peak's concurrent calls, priced apart."""

from __future__ import annotations

import pytest

from tests.unit.bench import bench_module

cost = bench_module("bench_cost", "cost.py")


def test_the_seed_peak_of_6720_calls_takes_23_relays_of_300_sessions() -> None:
    instances, note = cost.media_relays(cost.SEED, cost.RELAY_SIZING)
    assert instances == 23  # 28 calls/s x 240 s = 6,720 concurrent calls
    assert "6,720 concurrent calls" in note and "keeps 8" in note


def test_a_quiet_load_still_pays_two_relays_per_region() -> None:
    quiet = cost.Load("quiet", 100, 1_000, 4.0, 0.1)
    assert cost.media_relays(quiet, cost.RELAY_SIZING)[0] == 4


def test_the_relays_are_priced_apart_by_the_hour_of_an_instance_its_address_and_its_disk() -> None:
    seed = cost.cost_of(cost.SEED, cost.RECORDED)
    hourly = 0.0725 + 0.005 + 8 * 0.08 / 730
    minutes_per_hour = 800_000 * 4 / 24
    line = seed.apart["media relays (EC2 c7g.large, sized for the peak)"]
    assert line == pytest.approx(23 * hourly / minutes_per_hour * 1000)
    assert "media relays (EC2 c7g.large, sized for the peak)" not in seed.lines  # not in the target's total
