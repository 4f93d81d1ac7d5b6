"""Reports over contact records: the records themselves (filtered, paged, CSV) and interval figures.

Records are written once, when a contact ends, and kept ``CONTACT_RECORD_RETENTION_DAYS`` (400 by
default: 13 months) by the table's TTL. They are listed from a per-merchant, per-day index (by end
time), so a report reads only the days it covers. Interval figures are computed from the same
records when asked for: no counter can drift from the records, and a report over a day of a busy
merchant reads that day's records once.

A contact counts in the interval it ended in. Per queue and per agent (the seat that last held it):
- offered: contacts that reached the queue (or the agent);
- answered, abandoned (the caller left while waiting), timed_out (the queue gave up: forwarded);
- ASA: mean seconds from entering the queue to being answered, over the answered;
- AHT: mean seconds from the answer to the end, over the answered;
- service level: the share of offered contacts answered within ``service_level_seconds``.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from contact_center.contracts import values
from contact_center.domain.errors import ValidationError
from contact_center.domain.queueing import DEFAULT_SERVICE_LEVEL_SECONDS as DEFAULT_SERVICE_LEVEL_SECONDS
from contact_center.domain.validation import validate_identifier

from .errors import ForbiddenError
from .ports import Clock

DAY_MS = 86_400_000
RANGE_MAX_DAYS = 31
PAGE_MAX = 1000
EXPORT_MAX_ROWS = 10_000
E164 = re.compile(values.E164_PATTERN)


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMED_OUT = "timed_out"
    NOT_QUEUED = "not_queued"  # routed straight to the legacy trunk: the legacy centre counts it


class Interval(StrEnum):
    QUARTER_HOUR = "15m"
    DAY = "day"

    @property
    def ms(self) -> int:
        return 15 * 60_000 if self is Interval.QUARTER_HOUR else DAY_MS


@dataclass(frozen=True)
class RecordRow:
    """One contact record as reports read it."""

    contact_id: str
    merchant_id: str
    queue_id: str | None
    seat_id: str | None
    caller: str
    called: str
    channel: str
    enqueued_at: int | None
    answered_at: int | None
    ended_at: int
    hangup_side: str | None
    hangup_cause: str | None
    trunk_id: str | None
    wrap_up_code: str | None = None
    recording_key: str | None = None  # the call was recorded (``services.recordings`` links it)

    @property
    def outcome(self) -> Outcome:
        # The same rule as the queue's daily counters (``routing.records.outcome_of``), on a record.
        if self.queue_id is None:
            return Outcome.NOT_QUEUED
        if self.answered_at is not None:
            return Outcome.ANSWERED
        if self.trunk_id is not None:
            return Outcome.TIMED_OUT
        return Outcome.ABANDONED


class RecordPort(Protocol):
    def day(
        self, merchant_id: str, day: str, after_sk: str | None, until_ms: int, limit: int
    ) -> list[tuple[str, RecordRow]]:
        """The day's records ending after ``after_sk`` (an index sort key) and at or before
        ``until_ms``, oldest first, each with its sort key; at most ``limit``."""
        ...


@dataclass(frozen=True)
class ContactFilter:
    from_ms: int
    to_ms: int
    queue_ids: frozenset[str] | None = None  # None: every queue
    seat_id: str | None = None
    outcome: Outcome | None = None

    def admits(self, row: RecordRow) -> bool:
        if not self.from_ms <= row.ended_at <= self.to_ms:
            return False
        if self.queue_ids is not None and row.queue_id not in self.queue_ids:
            return False
        if self.seat_id is not None and row.seat_id != self.seat_id:
            return False
        return self.outcome is None or row.outcome is self.outcome


@dataclass(frozen=True)
class RecordPage:
    items: list[RecordRow]
    next_token: str | None


@dataclass
class Figures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    timed_out: int = 0
    answered_in_level: int = 0
    answer_ms: int = 0
    handle_ms: int = 0

    def add(self, row: RecordRow, level_ms: int) -> None:
        self.offered += 1
        outcome = row.outcome
        if outcome is Outcome.ANSWERED and row.answered_at is not None:
            self.answered += 1
            waited = row.answered_at - (row.enqueued_at if row.enqueued_at is not None else row.answered_at)
            self.answer_ms += waited
            self.handle_ms += row.ended_at - row.answered_at
            self.answered_in_level += waited <= level_ms
        elif outcome is Outcome.ABANDONED:
            self.abandoned += 1
        elif outcome is Outcome.TIMED_OUT:
            self.timed_out += 1

    @property
    def asa_seconds(self) -> float | None:
        return round(self.answer_ms / self.answered / 1000, 1) if self.answered else None

    @property
    def aht_seconds(self) -> float | None:
        return round(self.handle_ms / self.answered / 1000, 1) if self.answered else None

    @property
    def service_level(self) -> float | None:
        return round(self.answered_in_level / self.offered, 4) if self.offered else None


@dataclass(frozen=True)
class IntervalRow:
    key: str  # the queue id or the seat id
    start_ms: int
    figures: Figures = field(default_factory=Figures)


class GroupBy(StrEnum):
    QUEUE = "queue"
    AGENT = "agent"


@dataclass(frozen=True)
class IntervalQuery:
    contacts: ContactFilter
    interval: Interval
    group_by: GroupBy
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS


def _day(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _days(from_ms: int, to_ms: int) -> list[str]:
    first = datetime.fromtimestamp(from_ms / 1000, tz=UTC).date()
    last = datetime.fromtimestamp(to_ms / 1000, tz=UTC).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise ValidationError(name, f"must be an integer from {low} to {high}")
    return int(raw)


def parse_contact_filter(params: Mapping[str, str] | None, now_ms: int) -> ContactFilter:
    """``from``/``to`` (epoch ms, default the last 24 hours, at most 31 days apart), ``queue_id``,
    ``seat_id``, ``outcome``."""
    params = params or {}
    to_ms = _int_param(params, "to", now_ms, 0, 2**53)
    from_ms = _int_param(params, "from", to_ms - DAY_MS, 0, 2**53)
    if from_ms > to_ms:
        raise ValidationError("from", "must not be after 'to'")
    if to_ms - from_ms > RANGE_MAX_DAYS * DAY_MS:
        raise ValidationError("from", f"the range may span at most {RANGE_MAX_DAYS} days")
    queue_id = params.get("queue_id")
    seat_id = params.get("seat_id")
    outcome = params.get("outcome")
    if outcome is not None and outcome not in {o.value for o in Outcome}:
        raise ValidationError("outcome", f"must be one of {sorted(o.value for o in Outcome)}")
    return ContactFilter(
        from_ms=from_ms,
        to_ms=to_ms,
        queue_ids=None if queue_id is None else frozenset({validate_identifier(queue_id, "queue_id")}),
        seat_id=None if seat_id is None else validate_identifier(seat_id, "seat_id"),
        outcome=None if outcome is None else Outcome(outcome),
    )


def parse_interval_query(params: Mapping[str, str] | None, group_by: GroupBy, now_ms: int) -> IntervalQuery:
    params = params or {}
    interval = params.get("interval", Interval.QUARTER_HOUR.value)
    if interval not in {i.value for i in Interval}:
        raise ValidationError("interval", f"must be one of {sorted(i.value for i in Interval)}")
    level = _int_param(params, "service_level_seconds", DEFAULT_SERVICE_LEVEL_SECONDS, 1, 3600)
    return IntervalQuery(parse_contact_filter(params, now_ms), Interval(interval), group_by, level)


def _token(day: str, sort_key: str) -> str:
    # base64url: the sort key holds "#", which a URL would take for its fragment.
    return base64.urlsafe_b64encode(f"{day}|{sort_key}".encode()).decode().rstrip("=")


def _untoken(token: str | None, days: list[str]) -> tuple[int, str | None]:
    if token is None:
        return 0, None
    invalid = ValidationError("next_token", "is not a token this API issued for this range")
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise invalid from None
    day, _, sort_key = text.partition("|")
    if day not in days or not sort_key or len(sort_key) > 200:
        raise invalid
    return days.index(day), sort_key


class ReportService:
    def __init__(self, records: RecordPort, clock: Clock) -> None:
        self._records = records
        self._clock = clock

    @staticmethod
    def scoped(contacts: ContactFilter, allowed_queues: frozenset[str] | None) -> ContactFilter:
        """The filter within the queues the caller may read (a supervisor's); Forbidden when it asks
        for another queue. None: every queue."""
        if allowed_queues is None:
            return contacts
        if contacts.queue_ids is not None and not contacts.queue_ids <= allowed_queues:
            raise ForbiddenError("these credentials do not reach this queue", "queue_id")
        wanted = contacts.queue_ids if contacts.queue_ids is not None else allowed_queues
        return ContactFilter(contacts.from_ms, contacts.to_ms, wanted, contacts.seat_id, contacts.outcome)

    def _rows(
        self, merchant_id: str, contacts: ContactFilter, token: str | None
    ) -> Iterator[tuple[str, RecordRow]]:
        """Every matching record from ``token`` on, oldest first, each with the token after it."""
        days = _days(contacts.from_ms, contacts.to_ms)
        start, after = _untoken(token, days)
        if after is None:
            after = f"{contacts.from_ms - 1:015d}#~"
        for day in days[start:]:
            while True:
                batch = self._records.day(merchant_id, day, after, contacts.to_ms, PAGE_MAX)
                for sort_key, row in batch:
                    if contacts.admits(row):
                        yield _token(day, sort_key), row
                if len(batch) < PAGE_MAX:
                    break
                after = batch[-1][0]
            after = f"{contacts.from_ms - 1:015d}#~"

    def contacts(
        self, merchant_id: str, contacts: ContactFilter, limit: int, token: str | None
    ) -> RecordPage:
        items: list[RecordRow] = []
        next_token: str | None = None
        for position, row in self._rows(merchant_id, contacts, token):
            if len(items) == limit:
                break
            items.append(row)
            next_token = position
        else:
            next_token = None
        return RecordPage(items, next_token)

    def intervals(self, merchant_id: str, query: IntervalQuery) -> list[IntervalRow]:
        level_ms = query.service_level_seconds * 1000
        rows: dict[tuple[str, int], IntervalRow] = {}
        for _, record in self._rows(merchant_id, query.contacts, None):
            key = record.queue_id if query.group_by is GroupBy.QUEUE else record.seat_id
            if key is None:
                continue
            start = record.ended_at - record.ended_at % query.interval.ms
            row = rows.setdefault((key, start), IntervalRow(key, start))
            row.figures.add(record, level_ms)
        return [rows[k] for k in sorted(rows)]


CSV_COLUMNS = (
    "contact_id",
    "queue_id",
    "seat_id",
    "caller",
    "called",
    "channel",
    "outcome",
    "enqueued_at",
    "answered_at",
    "ended_at",
    "hangup_side",
    "hangup_cause",
)


def _cell(value: object) -> object:
    """A value as a spreadsheet will take it: the caller's number and hang-up details come from the
    network, and a cell starting with = + - @ would run as a formula (an E.164 number is left as is)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not E164.fullmatch(value):
        return "'" + value
    return value


def to_csv(rows: list[RecordRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        fields = {**row.__dict__, "outcome": row.outcome.value}
        writer.writerow([_cell(fields[column]) for column in CSV_COLUMNS])
    return out.getvalue()
