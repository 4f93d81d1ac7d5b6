"""A merchant's contact records ended in a time range (``services.wallboard.RecentRecordPort``)."""

from __future__ import annotations

from contact_center.data import keys
from contact_center.data.reports import RecordRepository
from contact_center.services.reports import RecordRow

PAGE = 1000


class RecentRecordRepository:
    def __init__(self, records: RecordRepository | None = None) -> None:
        self._records = records or RecordRepository()

    def ended_between(self, merchant_id: str, day: str, from_ms: int, until_ms: int) -> list[RecordRow]:
        # The day's index sorts by end time first: this key sorts before every record ended at from_ms.
        after: str | None = keys.record_index_sk(from_ms, "")
        rows: list[RecordRow] = []
        while True:
            batch = self._records.day(merchant_id, day, after, until_ms, PAGE)
            rows.extend(row for _, row in batch)
            if len(batch) < PAGE:
                return rows
            after = batch[-1][0]
