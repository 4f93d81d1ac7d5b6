"""A region died: its edge tasks held callers whose legs died with it, talking ones too, and no BYE,
CANCEL or loss report of theirs will ever come. The surviving region, home to their merchants once it
has taken them over, ends each such contact with a record and lets its agent go.

Bounded: one page ends at most ``limit`` contacts, so a routing invocation stays well inside its
timeout; an ended contact leaves the edge's index, so the next page is simply the same request
again, and a request that finds nothing left is a no-op (idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.domain.ownership import NotHomeRegionError

from ..errors import ConcurrentUpdateError
from .context import RoutingContext
from .endings import Endings

log = logging.getLogger("contact_center.routing")

# Queued callers first: an agent let go by an ended offer takes the oldest waiting contact, which
# should not be one about to be ended. Every live state, the talking and forwarded ones last.
LOST_STATES = (
    ContactState.QUEUED,
    ContactState.INITIATED,
    ContactState.OFFERED,
    ContactState.DIALING,
    ContactState.CONNECTED,
    ContactState.FORWARDED,
)
# A page: each end is one transaction (tens of ms), so a page takes seconds, not the timeout.
REGION_LOSS_PAGE = 100
# Edge tasks named in one request (a region runs a few dozen).
MAX_LOST_EDGE_TASKS = 100

# Sends one routing request (``{"action": "region_lost", ...}``) and returns the routing function's answer.
AskRouting = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class RegionLossPage:
    ended: tuple[str, ...]
    more: bool  # the page was full: ask again for the rest

    def to_dict(self) -> dict[str, Any]:
        return {"ended": list(self.ended), "more": self.more}


class RegionLoss:
    def __init__(self, context: RoutingContext, endings: Endings) -> None:
        self._ctx = context
        self._endings = endings

    def end_held(self, edge_task_ids: Sequence[str], now_ms: int, limit: int) -> RegionLossPage:
        """End up to ``limit`` contacts the lost ``edge_task_ids`` held (hang-up cause
        ``network_failure``, side ``system``); their agents are let go as any ending does."""
        ended: list[str] = []
        for edge_task_id in edge_task_ids:
            for state in LOST_STATES:
                for contact in self._ctx.contacts.owned_by_edge(edge_task_id, state.value):
                    if len(ended) >= limit:
                        return RegionLossPage(tuple(ended), more=True)
                    try:
                        self._endings.contact_ended(
                            contact.contact_id, HangupSide.SYSTEM, HangupCause.NETWORK_FAILURE, now_ms
                        )
                    except (NotHomeRegionError, ConcurrentUpdateError):
                        # Decided elsewhere, or contended past the retries: a later request retries it.
                        log.warning(
                            "could not end contact %s of lost edge task %s", contact.contact_id, edge_task_id
                        )
                        continue
                    ended.append(contact.contact_id)
        if ended:
            log.warning("ended %d contacts held by lost edge tasks %s", len(ended), ", ".join(edge_task_ids))
        return RegionLossPage(tuple(ended), more=False)


def request_region_lost(
    ask: AskRouting, edge_task_ids: Sequence[str], go_on: Callable[[], bool], limit: int = REGION_LOSS_PAGE
) -> tuple[int, bool]:
    """Ask the routing function (``ask``) to end what the lost ``edge_task_ids`` held, a page at a
    time while ``go_on()`` allows another. Returns how many contacts were ended and whether all
    were: what is left (an error answer, or no time for another page) a later request finds."""
    ended = 0
    for start in range(0, len(edge_task_ids), MAX_LOST_EDGE_TASKS):
        event = {
            "action": "region_lost",
            "edge_task_ids": list(edge_task_ids[start : start + MAX_LOST_EDGE_TASKS]),
            "limit": limit,
        }
        while True:
            answer = ask(event)
            if "error" in answer:
                log.warning("ending the contacts of lost edge tasks failed: %s", answer["error"])
                return ended, False
            ended += len(answer.get("ended", ()))
            if not answer.get("more"):
                break
            if not go_on():
                return ended, False
    return ended, True
