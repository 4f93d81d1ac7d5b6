"""Webhooks: what happens to contacts and agents, POSTed to the merchants' URLs.

Two ways in. The table's stream (``function.json``; in AWS an event source mapping filtered on the
same entities, with ReportBatchItemFailures): each contact, record and seat change becomes its
events (``services.webhook_events``), POSTed at once. And a timer (``contracts.schedules``, every
minute): the deliveries that failed are tried again with backoff, for a day.

A batch whose failed deliveries could not even be stored reports its stream records as failed, so
the stream hands them over again (receivers de-duplicate by event id).
"""

from __future__ import annotations

import logging
from typing import Any

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.services.webhook_events import webhook_events_in

log = logging.getLogger("functions.webhooks")
log.setLevel(logging.INFO)

RETRY_ACTION = "retry"


def handler(event: Any, context: Any) -> dict[str, Any]:
    container = services(Component.WEBHOOKS)
    if isinstance(event, dict) and event.get("action") == RETRY_ACTION:
        retried = container.webhooks.retry_due()
        return {"retried": len(retried)}
    region = container.settings.region
    # Two regions: each tells of what its own region wrote as the merchant's home.
    changes = [c for c in webhook_events_in(event) if region is None or c.home_region in (None, region)]
    try:
        # All at once: the POSTs of a batch go out in parallel, so one slow receiver delays no other.
        container.webhooks.deliver([change.event for change in changes])
    except Exception:
        log.exception("webhook delivery of %d events failed", len(changes))
        return {"batchItemFailures": [{"itemIdentifier": c.sequence_number} for c in changes]}
    return {"batchItemFailures": []}
