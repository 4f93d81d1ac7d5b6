"""The routing function: the SIP edge asks what to do with a call and gets a decision (JSON).

Event: ``{"action": "new_contact" | "offer_result" | "contact_ended" | "queue_timeout" |
"pending_offers" | "finish_wrap_up" | "edge_lost" | "region_lost" | "sweep", ...}`` (fields in ``contact_center.services.routing.commands``),
or ``{"action": "replication_mark", "region": ...}`` (a failback's check, ``services.regions``).
Result: the decision's dict, or ``{"error": {"code", "message", "retryable"}}``. A failure is always
an answer the edge can act on, never a stack trace: the edge must answer its caller either way.
"""

from __future__ import annotations

import logging
from typing import Any

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.domain.errors import DomainError, ValidationError
from contact_center.domain.ownership import NotHomeRegionError
from contact_center.services.errors import ConcurrentUpdateError, NotFoundError
from contact_center.services.regions import REPLICATION_MARK_ACTION, parse_replication_mark
from contact_center.services.routing.commands import (
    DeadlineExceededError,
    EndContact,
    ExpireQueueWait,
    InvalidRoutingRequestError,
    ListPendingOffers,
    ReportOfferResult,
    execute,
    parse_routing_command,
)
from contact_center.services.routing.forwarding import routing_error

log = logging.getLogger("functions.routing")
# The edge's reports about one contact, which its merchant's home region may hold alone for a moment.
ABOUT_A_CONTACT = (ReportOfferResult, EndContact, ExpireQueueWait)
log.setLevel(logging.INFO)


def handler(event: Any, context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("action") == REPLICATION_MARK_ACTION:
        return _replication_mark(event)
    try:
        command = parse_routing_command(event)
    except InvalidRoutingRequestError as exc:
        return routing_error("invalid_request", str(exc))
    container = services(Component.ROUTING)
    # A caller-supplied clock is for tests and replays; the edge normally leaves it to the function.
    now_ms = event.get("now_ms")
    if not isinstance(now_ms, int) or isinstance(now_ms, bool):
        now_ms = container.clock()
    two_regions = bool(container.settings.region)
    try:
        result = execute(container.routing, command, now_ms)
        if isinstance(command, ListPendingOffers) and two_regions and not event.get("forwarded"):
            result = container.forwarding.with_other_regions_offers(event, result)
        return result
    except DeadlineExceededError as exc:
        return routing_error("deadline_exceeded", str(exc), retryable=True)
    except NotFoundError as exc:
        if isinstance(command, ABOUT_A_CONTACT) and two_regions and not event.get("forwarded"):
            return container.forwarding.from_the_contacts_home(event, exc)
        return routing_error("not_found", str(exc))
    except ConcurrentUpdateError as exc:
        return routing_error("conflict", str(exc), retryable=True)
    except NotHomeRegionError as exc:
        return container.forwarding.to_home(
            event,
            exc,
            isinstance(command, ABOUT_A_CONTACT),
            lambda: handler({**event, "forwarded": True}, context),
        )
    except DomainError as exc:
        return routing_error("illegal_state", str(exc))
    except Exception:
        log.exception("routing %s failed", type(command).__name__)
        return routing_error(
            "internal", "routing failed; the contact is unchanged or safe to retry", retryable=True
        )


def _replication_mark(event: dict[str, Any]) -> dict[str, Any]:
    """Another region's replication mark as this replica has it (a failback's check from there)."""
    try:
        region = parse_replication_mark(event)
    except ValidationError as exc:
        return routing_error("invalid_request", str(exc))
    return {"region": region, "mark_ms": services(Component.ROUTING).regions.replication_mark(region)}
