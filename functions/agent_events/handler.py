"""Seat changes from the table's stream: an agent that became AVAILABLE takes the next waiting contact.

Subscribed to the stream with a filter on ``entity = seat`` (``function.json``; in AWS an event
source mapping with the same filter and ReportBatchItemFailures). A failed record is reported by
its sequence number so only it is retried, not the whole batch.
"""

from __future__ import annotations

import logging
from typing import Any

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.services.routing.events import available_seats_in

log = logging.getLogger("functions.agent_events")
log.setLevel(logging.INFO)


def handler(event: Any, context: Any) -> dict[str, Any]:
    container = services(Component.AGENT_EVENTS)
    failures: list[dict[str, str]] = []
    region = container.settings.region
    for change in available_seats_in(event):
        # Two regions: each acts only on the seat changes its own region wrote as the merchant's
        # home (the stamp), never on those replicated from the other region.
        if region is not None and change.home_region != region:
            continue
        try:
            container.routing.agent_available(change.merchant_id, change.seat_id, container.clock())
        except Exception:
            log.exception("dequeue for seat %s failed", change.seat_id)
            failures.append({"itemIdentifier": change.sequence_number})
    return {"batchItemFailures": failures}
