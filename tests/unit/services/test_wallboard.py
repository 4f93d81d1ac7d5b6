"""The wallboard's figures, from queues, seats, waiting contacts and records, with exact numbers."""

from __future__ import annotations

from dataclasses import replace

from contact_center.domain.access import Principal, Role
from contact_center.domain.agent_state import AgentSnapshot, AgentState
from contact_center.services.records import Page, Queue, Seat
from contact_center.services.reports import RecordRow
from contact_center.services.wallboard import (
    RECORD_OVERLAP_MS,
    DayRecords,
    WallboardService,
    agent_rows,
    interval_start,
    queue_figures,
)

DAY0 = 1_780_000_000_000 - 1_780_000_000_000 % 86_400_000  # a UTC midnight
NOW = DAY0 + 10 * 3_600_000 + 20 * 60_000 + 30_000  # 10:20:30, interval 10:15-10:30
INTERVAL = DAY0 + 10 * 3_600_000 + 15 * 60_000


def record(
    contact_id: str,
    ended_at: int,
    *,
    queue_id: str | None = "q1",
    waited_s: int | None = None,
    answered: bool = False,
    timed_out: bool = False,
    seat_id: str | None = None,
) -> RecordRow:
    enqueued = ended_at - 120_000
    answered_at = enqueued + (waited_s or 0) * 1000 if answered else None
    return RecordRow(
        contact_id=contact_id,
        merchant_id="m1",
        queue_id=queue_id,
        seat_id=seat_id,
        caller="+14155550100",
        called="+14155550199",
        channel="voice",
        enqueued_at=enqueued,
        answered_at=answered_at,
        ended_at=ended_at,
        hangup_side=None,
        hangup_cause=None,
        trunk_id="legacy" if timed_out else None,
    )


def seat(
    seat_id: str, state: AgentState, since: int, queues: tuple[str, ...] = ("q1",), name: str = ""
) -> Seat:
    return Seat(
        merchant_id="m1",
        seat_id=seat_id,
        display_name=name or seat_id,
        sip_username=f"u-{seat_id}",
        agent=AgentSnapshot(seat_id=seat_id, state=state, state_since_ms=since),
        queue_ids=queues,
    )


Q1 = Queue(merchant_id="m1", queue_id="q1", name="Sales")


# Earlier today: answered in 10 s and 30 s, one abandoned, one timed out. This interval: answered in
# 5 s, 25 s (outside 20 s) and one abandoned. Another queue's and an unqueued record count nowhere.
RECORDS = [
    record("a1", DAY0 + 3_600_000, waited_s=10, answered=True),
    record("a2", DAY0 + 3_700_000, waited_s=30, answered=True),
    record("a3", DAY0 + 3_800_000),
    record("a4", DAY0 + 3_900_000, timed_out=True),
    record("b1", INTERVAL + 1_000, waited_s=5, answered=True),
    record("b2", INTERVAL + 2_000, waited_s=25, answered=True),
    record("b3", INTERVAL + 3_000),
    record("c1", INTERVAL + 4_000, queue_id="q2", waited_s=1, answered=True),
    record("d1", INTERVAL + 5_000, queue_id=None),
]


def test_interval_starts_on_the_quarter_hour() -> None:
    assert interval_start(NOW) == INTERVAL
    assert interval_start(INTERVAL) == INTERVAL


def test_today_and_interval_figures_by_the_queues_service_level() -> None:
    tile = queue_figures(Q1, [NOW - 45_000, NOW - 7_000], [], RECORDS, NOW)

    assert (tile.waiting, tile.oldest_wait_seconds) == (2, 45)
    today, interval = tile.today, tile.interval
    assert (today.offered, today.answered, today.abandoned, today.timed_out) == (7, 4, 2, 1)
    assert today.service_level == round(2 / 7, 4)  # 10 s and 5 s within 20 s
    assert today.abandon_rate == round(2 / 7, 4)
    assert (interval.offered, interval.answered, interval.abandoned) == (3, 2, 1)
    assert interval.service_level == round(1 / 3, 4)
    assert interval.abandon_rate == round(1 / 3, 4)


def test_a_longer_service_level_counts_more_answers_within_it() -> None:
    tile = queue_figures(replace(Q1, service_level_seconds=30), [], [], RECORDS, NOW)

    assert tile.service_level_seconds == 30
    assert tile.today.service_level == round(4 / 7, 4)
    assert tile.interval.service_level == round(2 / 3, 4)


def test_an_empty_queue_has_no_rates_rather_than_zero() -> None:
    tile = queue_figures(Q1, [], [], [], NOW)

    assert (tile.waiting, tile.oldest_wait_seconds) == (0, 0)
    assert tile.today.offered == 0
    assert tile.today.service_level is None and tile.today.abandon_rate is None


def test_agents_by_state_count_only_seats_serving_the_queue_and_list_every_state() -> None:
    seats = [
        seat("s1", AgentState.AVAILABLE, NOW),
        seat("s2", AgentState.AVAILABLE, NOW),
        seat("s3", AgentState.ON_CONTACT, NOW),
        seat("s4", AgentState.AFTER_CONTACT_WORK, NOW),
        seat("s5", AgentState.NOT_READY, NOW),
        seat("s6", AgentState.AVAILABLE, NOW, queues=("q2",)),
    ]

    agents = queue_figures(Q1, [], seats, [], NOW).agents

    assert agents == {
        "offline": 0,
        "available": 2,
        "reserved": 0,
        "on_contact": 1,
        "after_contact_work": 1,
        "not_ready": 1,
        "not_responding": 0,
    }


def test_agent_rows_give_state_and_whole_seconds_in_it_sorted_by_name() -> None:
    rows = agent_rows(
        [
            seat("s2", AgentState.NOT_READY, NOW - 61_900, name="bob"),
            seat("s1", AgentState.ON_CONTACT, NOW - 5_000, name="Alice"),
        ],
        NOW,
    )

    assert [(r.display_name, r.state, r.seconds_in_state) for r in rows] == [
        ("Alice", "on_contact", 5),
        ("bob", "not_ready", 61),
    ]


class FakeRecords:
    def __init__(self, rows: list[RecordRow]) -> None:
        self.rows = rows
        self.asked: list[tuple[int, int]] = []

    def ended_between(self, merchant_id: str, day: str, from_ms: int, until_ms: int) -> list[RecordRow]:
        self.asked.append((from_ms, until_ms))
        return [r for r in self.rows if from_ms <= r.ended_at <= until_ms]


def test_day_records_read_the_day_once_then_only_the_newest_with_an_overlap() -> None:
    source = FakeRecords(RECORDS[:4])
    day = DayRecords(source)

    assert {r.contact_id for r in day.today("m1", NOW)} == {"a1", "a2", "a3", "a4"}
    # A record whose write lagged its end by 30 s is still read on the next refresh.
    source.rows.append(record("late", NOW - 30_000))
    assert {r.contact_id for r in day.today("m1", NOW + 1_000)} == {"a1", "a2", "a3", "a4", "late"}

    assert source.asked == [(DAY0, NOW), (NOW - RECORD_OVERLAP_MS, NOW + 1_000)]


def test_day_records_start_again_when_the_utc_day_turns() -> None:
    source = FakeRecords(RECORDS[:2])
    day = DayRecords(source)
    day.today("m1", NOW)

    tomorrow = DAY0 + 86_400_000 + 1_000
    assert day.today("m1", tomorrow) == []
    assert source.asked[-1] == (DAY0 + 86_400_000, tomorrow)


class FakeQueues:
    def __init__(self, queues: list[Queue]) -> None:
        self.queues = queues

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[Queue]:
        start = int(next_token or 0)
        end = start + limit
        return Page(self.queues[start:end], str(end) if end < len(self.queues) else None)


class FakeSeats:
    def __init__(self, seats: list[Seat]) -> None:
        self.seats = seats

    def all_for_merchant(self, merchant_id: str) -> list[Seat]:
        return self.seats


class FakeActivity:
    def __init__(self, waiting: dict[str, list[int]]) -> None:
        self.waiting = waiting

    def waiting_since(self, queue_id: str) -> list[int]:
        return self.waiting.get(queue_id, [])


def service(queue_count: int = 2) -> WallboardService:
    queues = [
        Queue(merchant_id="m1", queue_id=f"q{n}", name=f"Queue {n:03d}") for n in range(1, queue_count + 1)
    ]
    seats = [seat("s1", AgentState.AVAILABLE, NOW, ("q1",)), seat("s2", AgentState.ON_CONTACT, NOW, ("q2",))]
    return WallboardService(
        FakeQueues(queues),  # type: ignore[arg-type]
        FakeSeats(seats),  # type: ignore[arg-type]
        FakeActivity({"q1": [NOW - 3_000]}),  # type: ignore[arg-type]
        FakeRecords(RECORDS),
        lambda: NOW,
    )


def test_a_supervisor_sees_its_queues_and_the_seats_serving_them_only() -> None:
    supervisor = Principal(role=Role.SUPERVISOR, merchant_id="m1", user_id="u1", queue_ids=frozenset({"q1"}))

    board = service().board("m1", supervisor)

    assert [q.queue_id for q in board.queues] == ["q1"]
    assert board.queues[0].waiting == 1
    assert [a.seat_id for a in board.agents] == ["s1"]
    assert (board.day, board.interval_start_ms) == ("2026-05-28", INTERVAL)


def test_a_merchant_admin_sees_every_queue_across_pages() -> None:
    admin = Principal(role=Role.MERCHANT_ADMIN, merchant_id="m1", key_id="k1")

    board = service(queue_count=150).board("m1", admin)

    assert len(board.queues) == 150
    assert [a.seat_id for a in board.agents] == ["s1", "s2"]
    assert board.queues[1].today.offered == 1  # q2: c1 only


def test_day_records_keep_only_the_most_recently_read_merchants() -> None:
    source = FakeRecords(RECORDS[:1])
    day = DayRecords(source, merchants=2)
    for merchant in ("m1", "m2", "m1", "m3"):  # m2 is the least recently read when m3 comes
        day.today(merchant, NOW)
    source.asked.clear()

    day.today("m2", NOW)  # read again from the day's start
    day.today("m1", NOW)  # no longer kept either: m2 pushed it out

    assert source.asked == [(DAY0, NOW), (DAY0, NOW)]
