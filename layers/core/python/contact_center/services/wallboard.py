"""A supervisor's wallboard: each queue's live figures and each agent's state, read once a second.

The figures are pure functions of what the stores already hold (``queue_figures``, ``agent_rows``):
- waiting callers and the oldest wait, from the contacts waiting in the queue now;
- agents by state, from the seats serving the queue (every state listed, zeros included);
- today (UTC) and the current 15-minute interval, from the contact records ended in them, by the
  same rules as the reports (``reports.Figures``): offered, answered, abandoned, the service level
  (answered within the queue's ``service_level_seconds``, over offered) and the abandon rate.

What a refresh reads (``WallboardService.board``), for a merchant with Q queues and S seats: one
query of the queues, one per seat shard (16, ``data.keys.SEAT_SHARDS``), one per queue of its
waiting contacts, and the records ended since the previous refresh. Records are written once, when
a contact ends, so each process keeps the day's records it has read (``DayRecords``) and asks only
for the newest, re-reading a short overlap for records whose write lagged their end. At 50 queues
and 2,000 seats that is about 68 queries of one page each, whatever the day's volume: about 300
read units, most of them the seats (2,000 items of about 1 KB, eventually consistent); the first
refresh of a process (or of a day) reads the day's records once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from contact_center.domain.access import Principal, Role
from contact_center.domain.agent_state import AgentState

from .ports import Clock, QueueActivityPort, QueuePort, SeatPort
from .records import Queue, Seat
from .reports import DAY_MS, Figures, Interval, Outcome, RecordRow
from .stats import utc_day

INTERVAL_MS = Interval.QUARTER_HOUR.ms
# How far back each refresh re-reads records: a record is written when its contact ends, a moment
# after ``ended_at``; one that lands behind records already read is still picked up.
RECORD_OVERLAP_MS = 60_000
# Merchants whose day of records one process keeps (the least recently read is dropped first).
KEPT_MERCHANTS = 50


@dataclass(frozen=True)
class WindowFigures:
    """One queue's ended contacts over a window (today, or the current interval)."""

    offered: int
    answered: int
    abandoned: int
    timed_out: int
    service_level: float | None  # answered within the level, over offered; None when none offered
    abandon_rate: float | None  # abandoned over offered; None when none offered


@dataclass(frozen=True)
class QueueFigures:
    queue_id: str
    name: str
    service_level_seconds: int
    waiting: int
    oldest_wait_seconds: int
    agents: dict[str, int]  # every AgentState value -> seats serving the queue in it
    today: WindowFigures
    interval: WindowFigures


@dataclass(frozen=True)
class AgentRow:
    seat_id: str
    display_name: str
    state: str
    reason: str | None
    seconds_in_state: int
    queue_ids: tuple[str, ...]


@dataclass(frozen=True)
class Board:
    now_ms: int
    day: str
    interval_start_ms: int
    queues: list[QueueFigures]
    agents: list[AgentRow]


def window_figures(records: Iterable[RecordRow], service_level_seconds: int) -> WindowFigures:
    figures = Figures()
    for record in records:
        figures.add(record, service_level_seconds * 1000)
    abandon_rate = round(figures.abandoned / figures.offered, 4) if figures.offered else None
    return WindowFigures(
        offered=figures.offered,
        answered=figures.answered,
        abandoned=figures.abandoned,
        timed_out=figures.timed_out,
        service_level=figures.service_level,
        abandon_rate=abandon_rate,
    )


def interval_start(now_ms: int) -> int:
    return now_ms - now_ms % INTERVAL_MS


def queue_figures(
    queue: Queue,
    waiting_since: Sequence[int],
    seats: Iterable[Seat],
    records_today: Sequence[RecordRow],
    now_ms: int,
) -> QueueFigures:
    """One queue's tile. ``records_today`` are the day's records (any queue's: filtered here)."""
    agents = {state.value: 0 for state in AgentState}
    for seat in seats:
        if queue.queue_id in seat.queue_ids:
            agents[seat.agent.state.value] += 1
    mine = [r for r in records_today if r.queue_id == queue.queue_id and r.outcome is not Outcome.NOT_QUEUED]
    start = interval_start(now_ms)
    level = queue.service_level_seconds
    oldest = max(0, (now_ms - min(waiting_since)) // 1000) if waiting_since else 0
    return QueueFigures(
        queue_id=queue.queue_id,
        name=queue.name,
        service_level_seconds=level,
        waiting=len(waiting_since),
        oldest_wait_seconds=oldest,
        agents=agents,
        today=window_figures(mine, level),
        interval=window_figures([r for r in mine if r.ended_at >= start], level),
    )


def agent_rows(seats: Iterable[Seat], now_ms: int) -> list[AgentRow]:
    """Every seat's agent with its state and the whole seconds it has been in it, by name."""
    rows = [
        AgentRow(
            seat_id=seat.seat_id,
            display_name=seat.display_name,
            state=seat.agent.state.value,
            reason=seat.agent.reason,
            seconds_in_state=max(0, (now_ms - seat.agent.state_since_ms) // 1000),
            queue_ids=seat.queue_ids,
        )
        for seat in seats
    ]
    return sorted(rows, key=lambda row: (row.display_name.lower(), row.seat_id))


def in_view(
    principal: Principal, queues: Iterable[Queue], seats: Iterable[Seat]
) -> tuple[list[Queue], list[Seat]]:
    """What a caller's wallboard shows: a supervisor its queues and the seats serving them; admins all."""
    shown = [q for q in queues if principal.may_reach_queue(q.queue_id)]
    if principal.role is Role.SUPERVISOR:
        return shown, [s for s in seats if principal.may_reach_seat_serving(s.seat_id, set(s.queue_ids))]
    return shown, list(seats)


class RecentRecordPort(Protocol):
    def ended_between(self, merchant_id: str, day: str, from_ms: int, until_ms: int) -> list[RecordRow]:
        """The merchant's records of a UTC day that ended from ``from_ms`` to ``until_ms``."""
        ...


class _Day:
    def __init__(self, day: str) -> None:
        self.day = day
        self.rows: dict[str, RecordRow] = {}  # contact id -> record
        self.read_until_ms: int | None = None  # records ended at or before this were read


class DayRecords:
    """The day's contact records of each merchant, kept in this process and topped up on each read.

    A record never changes once written, so only records ended since the last read (less an
    overlap) are asked for. Bounded: one day per merchant, replaced when the UTC day turns, for the
    ``merchants`` most recently read (a busy merchant's day is about 100 bytes a contact here).
    """

    def __init__(self, records: RecentRecordPort, merchants: int = KEPT_MERCHANTS) -> None:
        self._records = records
        self._days: OrderedDict[str, _Day] = OrderedDict()
        self._merchants = merchants
        self._lock = threading.Lock()

    def today(self, merchant_id: str, now_ms: int) -> list[RecordRow]:
        day = utc_day(now_ms)
        with self._lock:
            kept = self._days.get(merchant_id)
            if kept is None or kept.day != day:
                kept = self._days[merchant_id] = _Day(day)
            self._days.move_to_end(merchant_id)
            while len(self._days) > self._merchants:
                self._days.popitem(last=False)
            since = now_ms - now_ms % DAY_MS
            if kept.read_until_ms is not None:
                since = max(since, kept.read_until_ms - RECORD_OVERLAP_MS)
            for row in self._records.ended_between(merchant_id, day, since, now_ms):
                kept.rows[row.contact_id] = row
            kept.read_until_ms = now_ms
            return list(kept.rows.values())


class WallboardService:
    def __init__(
        self,
        queues: QueuePort,
        seats: SeatPort,
        activity: QueueActivityPort,
        records: RecentRecordPort,
        clock: Clock,
    ) -> None:
        self._queues = queues
        self._seats = seats
        self._activity = activity
        self._day_records = DayRecords(records)
        self._clock = clock

    def _all_queues(self, merchant_id: str) -> list[Queue]:
        queues: list[Queue] = []
        token: str | None = None
        while True:
            page = self._queues.page(merchant_id, 100, token)
            queues.extend(page.items)
            if not page.next_token:
                return queues
            token = page.next_token

    def board(self, merchant_id: str, principal: Principal) -> Board:
        now = self._clock()
        queues, seats = in_view(
            principal, self._all_queues(merchant_id), self._seats.all_for_merchant(merchant_id)
        )
        records = self._day_records.today(merchant_id, now) if queues else []
        tiles = [
            queue_figures(q, self._activity.waiting_since(q.queue_id), seats, records, now)
            for q in sorted(queues, key=lambda q: (q.name.lower(), q.queue_id))
        ]
        return Board(now, utc_day(now), interval_start(now), tiles, agent_rows(seats, now))
