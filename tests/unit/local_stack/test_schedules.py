"""The local Lambda service runs the same schedules as the CDK app's EventBridge rules."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from contact_center.contracts.schedules import ROUTING_SWEEP, SCHEDULES, Schedule
from contact_center.services.routing.commands import Sweep, parse_routing_command
from local_stack.functions import discover
from local_stack.schedules import Scheduler, for_functions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_schedule_runs_once_per_period_from_one_period_after_start() -> None:
    clock = Clock()
    calls: list[tuple[str, dict[str, str]]] = []
    scheduler = Scheduler(
        [ROUTING_SWEEP], lambda name, event: bool(calls.append((name, json.loads(event)))), clock
    )
    assert scheduler.run_due() == 60 and calls == []
    clock.now += 59.5
    assert scheduler.run_due() == pytest.approx(0.5) and calls == []
    clock.now += 0.5
    assert scheduler.run_due() == 60
    assert calls == [("routing", {"action": "sweep"})]
    clock.now += 300  # a stalled machine does not catch up missed runs
    scheduler.run_due()
    assert len(calls) == 2


def test_every_schedule_names_a_function_the_local_service_serves() -> None:
    assert for_functions(SCHEDULES, discover()) == list(SCHEDULES)


def test_the_routing_sweeps_event_is_the_routing_functions_sweep_command() -> None:
    assert parse_routing_command(dict(ROUTING_SWEEP.event)) == Sweep()


def test_a_schedule_is_whole_minutes_as_eventbridge_rates_are() -> None:
    with pytest.raises(ValueError):
        Schedule("routing", 90, MappingProxyType({}))
