"""Reports from contact records: filters, paging across days, interval figures, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from contact_center.domain.errors import ValidationError
from contact_center.services.errors import ForbiddenError
from contact_center.services.reports import (
    DAY_MS,
    ContactFilter,
    GroupBy,
    Interval,
    IntervalQuery,
    Outcome,
    RecordRow,
    ReportService,
    parse_contact_filter,
    to_csv,
)

DAY0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def row(cid: str, ended: int, *, queue: str | None = "q1", seat: str | None = "s1", waited: int | None = 10,
        talked: int = 100, trunk: str | None = None, caller: str = "+14155550123") -> RecordRow:  # fmt: skip
    answered = None if waited is None else ended - talked * 1000
    enqueued = (answered - waited * 1000) if answered is not None else ended - 30_000
    return RecordRow(cid, "m1", queue, seat if answered is not None else None, caller, "+14155550100",
                     "voice", enqueued, answered, ended, "customer", "normal_clearing", trunk)  # fmt: skip


class FakeRecords:
    def __init__(self, rows: list[RecordRow]) -> None:
        self.rows = rows
        self.queries: list[str] = []

    def day(
        self, merchant_id: str, day: str, after_sk: str | None, until_ms: int, limit: int
    ) -> list[tuple[str, RecordRow]]:
        self.queries.append(day)
        from datetime import UTC, datetime

        keyed = sorted(
            (f"{r.ended_at:015d}#{r.contact_id}", r)
            for r in self.rows
            if datetime.fromtimestamp(r.ended_at / 1000, tz=UTC).strftime("%Y-%m-%d") == day
        )
        return [(k, r) for k, r in keyed if (after_sk is None or k > after_sk) and r.ended_at <= until_ms][
            :limit
        ]


def test_outcomes_follow_the_queue_counters_rule() -> None:
    assert row("a", DAY0).outcome is Outcome.ANSWERED
    assert row("b", DAY0, waited=None).outcome is Outcome.ABANDONED
    assert row("c", DAY0, waited=None, trunk="t1").outcome is Outcome.TIMED_OUT
    assert row("d", DAY0, queue=None).outcome is Outcome.NOT_QUEUED


def test_pages_run_across_days_in_end_order_and_filters_apply() -> None:
    rows = [row(f"c{i}", DAY0 + i * 6 * 3600_000) for i in range(10)]  # four a day, over three days
    rows.append(row("abandoned", DAY0 + 1000, waited=None))
    service = ReportService(FakeRecords(rows), lambda: DAY0 + 3 * DAY_MS)
    everything = ContactFilter(DAY0, DAY0 + 3 * DAY_MS)
    seen: list[str] = []
    token = None
    while True:
        page = service.contacts("m1", everything, 4, token)
        seen += [r.contact_id for r in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == ["c0", "abandoned", *[f"c{i}" for i in range(1, 10)]]
    answered_only = ContactFilter(DAY0, DAY0 + 3 * DAY_MS, outcome=Outcome.ABANDONED)
    assert [r.contact_id for r in service.contacts("m1", answered_only, 50, None).items] == ["abandoned"]


def test_quarter_hour_figures_per_queue() -> None:
    rows = [
        row("fast", DAY0 + 60_000, waited=5, talked=100),
        row("slow", DAY0 + 120_000, waited=40, talked=200),
        row("gone", DAY0 + 180_000, waited=None),
        row("next", DAY0 + 16 * 60_000, waited=10, talked=60),
    ]
    service = ReportService(FakeRecords(rows), lambda: DAY0 + DAY_MS)
    query = IntervalQuery(ContactFilter(DAY0, DAY0 + DAY_MS), Interval.QUARTER_HOUR, GroupBy.QUEUE, 20)
    first, second = service.intervals("m1", query)
    assert (first.key, first.start_ms, second.start_ms) == ("q1", DAY0, DAY0 + 15 * 60_000)
    f = first.figures
    assert (f.offered, f.answered, f.abandoned) == (3, 2, 1)
    assert (f.asa_seconds, f.aht_seconds) == (22.5, 150.0)
    assert f.service_level == round(1 / 3, 4)  # only "fast" was answered within 20 s
    day = service.intervals("m1", IntervalQuery(query.contacts, Interval.DAY, GroupBy.AGENT, 20))
    assert [(r.key, r.figures.answered) for r in day] == [("s1", 3)]


def test_a_supervisor_is_kept_to_its_queues() -> None:
    contacts = ContactFilter(DAY0, DAY0 + 1)
    assert ReportService.scoped(contacts, frozenset({"q1"})).queue_ids == {"q1"}
    with pytest.raises(ForbiddenError):
        ReportService.scoped(ContactFilter(DAY0, DAY0 + 1, frozenset({"q2"})), frozenset({"q1"}))
    assert ReportService.scoped(contacts, None).queue_ids is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "10", "to": "5"}, "from"),
        ({"from": "0", "to": str(40 * DAY_MS)}, "from"),
        ({"outcome": "lost"}, "outcome"),
        ({"to": "soon"}, "to"),
        ({"queue_id": "bad id"}, "queue_id"),
    ],
)
def test_bad_filters_name_their_parameter(params: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_contact_filter(params, DAY0)
    assert raised.value.field == field


def test_csv_has_a_header_and_defuses_formulas_from_the_network() -> None:
    text = to_csv([row("c1", DAY0), row("c2", DAY0, caller='=HYPERLINK("http://evil")')])
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == ["contact_id", "queue_id", "seat_id"]
    assert lines[1][3] == "+14155550123"  # a real number stays as it is
    assert lines[2][3].startswith("'=")
