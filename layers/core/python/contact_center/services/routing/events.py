"""Reading the table's stream for the router: which seats just became AVAILABLE.

Stream records carry DynamoDB's typed JSON (``{"S": "available"}``); only the few attributes the
router needs are read, so the record's shape is this module's only concern.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from contact_center.domain.agent_state import AgentState


@dataclass(frozen=True, slots=True)
class SeatBecameAvailable:
    merchant_id: str
    seat_id: str
    sequence_number: str
    home_region: str | None = None  # the region that wrote the change as the merchant's home


def _string(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    if isinstance(value, Mapping):
        text = value.get("S")
        return text if isinstance(text, str) else None
    return None


def _in_state(image: Mapping[str, Any], state: AgentState) -> bool:
    # The enum's value is the stored spelling; its name is accepted as well (see data.mappers).
    value = _string(image, "state")
    return value is not None and value.lower() == state.value


def available_seats_in(event: Any) -> Iterator[SeatBecameAvailable]:
    """Seats whose new image is AVAILABLE and whose old image was not (or was absent), once per seat.

    A write that leaves an available seat available (a profile edit) triggers nothing: the seat was
    already looked at when it became available, and new contacts look for it themselves. Nor does
    ON_CONTACT -> AVAILABLE: only the router makes it (a call ended without wrap-up), and it offers
    the agent the next waiting contact itself in the same invocation; reading again here would
    double the dequeue's reads for every call.
    """
    latest: dict[tuple[str, str], SeatBecameAvailable] = {}
    records = event.get("Records", []) if isinstance(event, Mapping) else []
    for record in records:
        dynamodb = record.get("dynamodb") or {}
        new = dynamodb.get("NewImage") or {}
        old = dynamodb.get("OldImage") or {}
        if _string(new, "entity") != "seat" or not _in_state(new, AgentState.AVAILABLE):
            continue
        if _in_state(old, AgentState.AVAILABLE) or _in_state(old, AgentState.ON_CONTACT):
            continue
        merchant_id, seat_id = _string(new, "merchant_id"), _string(new, "seat_id")
        if merchant_id and seat_id:
            latest[(merchant_id, seat_id)] = SeatBecameAvailable(
                merchant_id, seat_id, str(dynamodb.get("SequenceNumber", "")), _string(new, "home_region")
            )
    yield from latest.values()
