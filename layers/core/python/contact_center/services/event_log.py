"""Domain events as structured JSON log lines (one object per line on the ``contact_center.events`` logger).

Why a log and not table items: every agent transition and contact step is an event (tens per
call at 28 calls/s peak), and metrics are computed later in bulk. A JSON line costs nothing on the
hot path, lands in CloudWatch Logs from Lambda and from the edge container alike, and is queryable
with Logs Insights or a subscription filter to Firehose/S3 for reports. The durable state itself is
also on the table's stream (NEW_AND_OLD_IMAGES of every seat and contact) should a consumer need
exactly-once facts; no extra write is spent on the request path for either.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from enum import Enum
from typing import Any

from contact_center.domain.events import DomainEvent

EVENTS_LOGGER = "contact_center.events"


def event_to_dict(event: DomainEvent, **context: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"event": event.event_type}
    for item in dataclasses.fields(event):
        value = getattr(event, item.name)
        data[item.name] = value.value if isinstance(value, Enum) else value
    data.update({key: value for key, value in context.items() if value is not None})
    return data


class JsonLogEventSink:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(EVENTS_LOGGER)

    def publish(self, event: DomainEvent, **context: str | None) -> None:
        if self._log.isEnabledFor(logging.INFO):
            self._log.info(json.dumps(event_to_dict(event, **context), separators=(",", ":")))
