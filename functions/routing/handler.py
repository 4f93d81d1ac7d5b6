"""The routing function: the SIP edge asks what to do with a call and gets a decision (JSON).

Event: ``{"action": "new_contact" | "offer_result" | "contact_ended" | "queue_timeout" |
"pending_offers" | "finish_wrap_up" | "edge_lost" | "region_lost" | "sweep", ...}`` (fields in ``contact_center.services.routing.commands``).
Result: the decision's dict, or ``{"error": {"code", "message", "retryable"}}``. A failure is always
an answer the edge can act on, never a stack trace: the edge must answer its caller either way.
"""

from __future__ import annotations

import logging
from typing import Any

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.domain.errors import DomainError
from contact_center.domain.ownership import NotHomeRegionError
from contact_center.services.errors import ConcurrentUpdateError, NotFoundError
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

log = logging.getLogger("functions.routing")
# The edge's reports about one contact, which its merchant's home region may hold alone for a moment.
ABOUT_A_CONTACT = (ReportOfferResult, EndContact, ExpireQueueWait)
log.setLevel(logging.INFO)


def _error(code: str, message: str, retryable: bool = False) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "retryable": retryable}}


def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        command = parse_routing_command(event)
    except InvalidRoutingRequestError as exc:
        return _error("invalid_request", str(exc))
    container = services(Component.ROUTING)
    # A caller-supplied clock is for tests and replays; the edge normally leaves it to the function.
    now_ms = event.get("now_ms")
    if not isinstance(now_ms, int) or isinstance(now_ms, bool):
        now_ms = container.clock()
    try:
        result = execute(container.routing, command, now_ms)
        if (
            isinstance(command, ListPendingOffers)
            and container.settings.region
            and not event.get("forwarded")
        ):
            result = _with_other_regions_offers(event, result)
        return result
    except DeadlineExceededError as exc:
        return _error("deadline_exceeded", str(exc), retryable=True)
    except NotFoundError as exc:
        if isinstance(command, ABOUT_A_CONTACT) and container.settings.region and not event.get("forwarded"):
            return _from_the_contacts_home(event, exc)
        return _error("not_found", str(exc))
    except ConcurrentUpdateError as exc:
        return _error("conflict", str(exc), retryable=True)
    except NotHomeRegionError as exc:
        return _to_home_region(event, exc)
    except DomainError as exc:
        return _error("illegal_state", str(exc))
    except Exception:
        log.exception("routing %s failed", type(command).__name__)
        return _error("internal", "routing failed; the contact is unchanged or safe to retry", retryable=True)


def _to_home_region(event: Any, refused: NotHomeRegionError) -> dict[str, Any]:
    """The merchant is decided in another region: ask it (once; a home that refuses in turn is
    handing over, and the edge retries)."""
    if event.get("forwarded") or not refused.home_region:
        return _error("not_home", str(refused), retryable=True)
    try:
        return services().home_region.invoke(refused.home_region, {**event, "forwarded": True})
    except Exception:
        log.exception("routing in home region %s failed", refused.home_region)
        return _error("home_unreachable", str(refused), retryable=True)


def _other_regions() -> list[str]:
    """The deployed regions (and the local harness's) but this one."""
    settings = services().settings
    return [region for region in settings.deployed_regions if region != settings.region]


def _from_the_contacts_home(event: Any, missing: NotFoundError) -> dict[str, Any]:
    """A contact this replica does not have may have been created by its merchant's home region (a
    call forwarded there) and not be replicated here yet: the home answers for it."""
    for region in _other_regions():
        try:
            answer = services().home_region.invoke(region, {**event, "forwarded": True})
        except Exception:
            log.warning("routing in region %s unavailable", region)
            continue
        if (answer.get("error") or {}).get("code") != "not_found":
            return answer
    return _error("not_found", str(missing))


def _with_other_regions_offers(event: Any, result: dict[str, Any]) -> dict[str, Any]:
    """An edge task's pending offers, from every region: each region answers for the merchants it
    decides (its replica of the others' contacts may be stale), so the others are asked too."""
    container = services()
    offers = list(result.get("offers", []))
    for region in _other_regions():
        try:
            answer = container.home_region.invoke(region, {**event, "forwarded": True})
        except Exception:
            log.warning("pending offers of region %s unavailable", region)
            continue
        offers.extend(answer.get("offers", []))
    return {**result, "offers": offers}
