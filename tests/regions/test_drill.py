"""The short failover drill (the full one is ``make drill``): two regions under load, a partition,
region east killed outright and back, its merchants moved home by one command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contact_center.data import table
from local_stack.regions.drill import Plan, run

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow, pytest.mark.timeout(600)]


def test_failover_and_failback_offer_no_agent_twice_and_keep_the_survivors_calls(tmp_path: Path) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    binding = (table.BINDING.table_name, table.BINDING.host, table.BINDING.region)
    try:
        result = run(Plan.small(), tmp_path, lag=1.0)
    finally:
        table.bind(*binding)
    assert result["partition_double_offers"] == 0
    assert result["double_offers"] == 0, result["double_offer_details"]
    assert result["failback_double_offers"] == 0
    assert result["rto_seconds"] is not None and result["rto_seconds"] <= 30
    assert result["talking_calls_in_surviving_region_at_kill"] > 0
    assert result["talking_calls_dropped_in_surviving_region"] == 0
    assert result["agents_reachable_seconds"] is not None
    # The rings the dead home had under way were let go at the takeover, none left parked or held
    parked = [
        state for state in result["seats_of_killed_before_failback"] if state.startswith("not_responding")
    ]
    assert parked == []
    assert result["homes_after_failback"] == ["east"]
