"""Contact records for reports (``services.reports.RecordPort``): a merchant's records of one day."""

from __future__ import annotations

import time

from contact_center.data import keys
from contact_center.data.mappers.common import optional_int
from contact_center.data.models import RecordItem, items_of
from contact_center.services.reports import RecordRow


def row_of(item: RecordItem) -> RecordRow:
    return RecordRow(
        contact_id=item.contact_id,
        merchant_id=item.merchant_id or "",
        queue_id=item.queue_id,
        seat_id=item.seat_id,
        caller=item.caller or "",
        called=item.called or "",
        channel=item.channel,
        enqueued_at=optional_int(item.enqueued_at),
        answered_at=optional_int(item.answered_at),
        ended_at=int(item.ended_at),
        hangup_side=item.hangup_side,
        hangup_cause=item.hangup_cause,
        trunk_id=item.trunk_id,
        wrap_up_code=item.wrap_up_code,
        recording_key=item.recording_key,
    )


class RecordRepository:
    def day(
        self, merchant_id: str, day: str, after_sk: str | None, until_ms: int, limit: int
    ) -> list[tuple[str, RecordRow]]:
        low = after_sk or ""
        high = keys.record_index_sk(until_ms, "~")  # "~" sorts after every id character
        result = RecordItem.gsi2.query(
            keys.merchant_records_index_pk(merchant_id, day),
            RecordItem.gsi2sk.between(low, high),
            limit=limit + 1,  # ``between`` includes ``after_sk`` itself, dropped below
        )
        # The TTL deletes lazily (and local engines never): a record past it is gone already.
        now_s = time.time()
        rows = [
            (str(item.gsi2sk), row_of(item))
            for item in items_of(RecordItem, result)
            if item.expires_at is None or item.expires_at > now_s
        ]
        return [(sk, row) for sk, row in rows if sk != after_sk][:limit]
