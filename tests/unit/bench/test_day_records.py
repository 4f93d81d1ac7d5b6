"""Stranded callers and double offers as bench/day_records.py reckons them from the router's records."""

from __future__ import annotations

from typing import Any

from tests.support.bench import bench_module

day = bench_module("day_records.py", "bench_day_records")


def seat(seat_id: str, *states: tuple[int, str], queues: tuple[str, ...] = ("q1",)) -> list[Any]:
    return [
        day.SeatVersion(seat_id, version, state, since, frozenset(queues))
        for version, (since, state) in enumerate(states, 1)
    ]


def record(contact_id: str, *segments: tuple[str, int, int, str]) -> dict[str, Any]:
    """Segments as (kind, started, ended, queue or seat)."""
    return {
        "contact_id": contact_id,
        "segments": [
            {
                "kind": kind,
                "started_at": start,
                "ended_at": end,
                "outcome": "x",
                "queue_id": "q1",
                **({"seat_id": who} if kind == "agent" else {}),
            }
            for kind, start, end, who in segments
        ],
    }


def test_a_caller_offered_the_seat_that_freed_up_is_not_stranded_and_gives_the_handoff_delay() -> None:
    # Given seat s1 busy until 10,000 ms, then available, reserved for c1 at 10,080
    versions = seat("s1", (0, "on_contact"), (10_000, "available"), (10_080, "reserved"))
    # And c1 waiting in q1 from 4,000 ms until that offer
    records = [record("c1", ("queue", 4_000, 10_080, "q1"), ("agent", 10_080, 30_000, "s1"))]
    # When reckoned
    result = day.reckon(records, versions, run_end_ms=60_000)
    # Then the router's hand-off took 80 ms, nobody was stranded
    assert result.handoff_ms == [80]
    assert result.tolerance_ms == day.TOLERANCE_FLOOR_MS
    assert result.stranded == []


def test_a_caller_waiting_while_an_eligible_seat_stays_free_is_stranded() -> None:
    # Given s2 available from 1,000 ms to the end, serving q1, and never offered c2 (waiting 2-9 s)
    versions = seat("s2", (0, "offline"), (1_000, "available"))
    records = [record("c2", ("queue", 2_000, 9_000, "q1"))]
    result = day.reckon(records, versions, run_end_ms=60_000)
    assert [s["contact_id"] for s in result.stranded] == ["c2"]
    assert result.stranded[0]["overlap_ms"] == 7_000


def test_a_seat_of_another_queue_does_not_strand_a_caller() -> None:
    versions = seat("s3", (0, "offline"), (1_000, "available"), queues=("q2",))
    records = [record("c3", ("queue", 2_000, 9_000, "q1"))]
    assert day.reckon(records, versions, run_end_ms=60_000).stranded == []


def test_ringing_a_seat_that_never_answers_is_not_waiting() -> None:
    # Given c4's queue segment spans an 8 s ring at s4 (RONA), while s5 became free only as c4
    # was offered again
    versions = [
        *seat("s4", (0, "available"), (1_000, "reserved"), (9_000, "not_responding")),
        *seat("s5", (0, "on_contact"), (9_050, "available"), (9_100, "reserved")),
    ]
    records = [
        record(
            "c4",
            ("agent", 1_000, 9_000, "s4"),
            ("queue", 1_000, 9_100, "q1"),
            ("agent", 9_100, 20_000, "s5"),
        )
    ]
    result = day.reckon(records, versions, run_end_ms=60_000)
    assert result.stranded == []
    assert [(w.start, w.end) for w in result.waits] == [(9_000, 9_100)]


def test_two_contacts_held_by_one_seat_at_once_are_a_double_offer() -> None:
    records = [
        record("c5", ("queue", 0, 100, "q1"), ("agent", 100, 5_000, "s6")),
        record("c6", ("queue", 0, 4_000, "q1"), ("agent", 4_000, 8_000, "s6")),
        record("c7", ("queue", 0, 8_000, "q1"), ("agent", 8_000, 9_000, "s6")),
    ]
    found = day.reckon(records, [], run_end_ms=10_000).double_offers
    assert found == [{"seat_id": "s6", "contacts": ["c5", "c6"], "overlap_ms": 1_000}]


def test_the_tolerance_follows_the_routers_own_p99_when_it_is_slower_than_the_floor() -> None:
    versions, records = [], []
    for index in range(100):
        start = index * 10_000
        versions += seat(f"s{index}", (start, "available"), (start + 400 + index, "reserved"))
        records.append(record(f"c{index}", ("queue", start, start + 400 + index, "q1"),
                              ("agent", start + 400 + index, start + 5_000, f"s{index}")))  # fmt: skip
    result = day.reckon(records, versions, run_end_ms=2_000_000)
    assert result.tolerance_ms == 2 * 499
    assert result.stranded == []
