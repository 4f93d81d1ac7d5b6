"""What the routing function sends to another region: a request this region may not decide (the
fence refused it, naming the merchant's home), a report about a contact this replica lacks, and an
edge task's poll for pending offers, which each region answers for the merchants it decides.

A forwarded request carries ``forwarded: true`` and is never sent on: a home that refuses in turn
is handing over, and the edge retries.

A home that does not take a forwarded request at once gets one retry after the move's handoff
(``domain.ownership.forward_retry_wait_ms``), as the edge retries a refusal: just after a move (a
failback above all) the new home may still be starting (no answer), may not have the move in its
replica yet (it refuses as not the home), or may not have a contact the old home created moments
before (``not_found`` for a contact this region holds). Each of these is over once the handoff is:
the handoff is sized above the replication lag. What still fails is answered as retryable, never as a
contact that does not exist.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from contact_center.domain.ownership import NotHomeRegionError, forward_retry_wait_ms

from ..errors import NotFoundError

log = logging.getLogger("contact_center.forwarding")

# A request without a deadline of its own is worth retrying only while its sender still waits: the
# edge gives each attempt 5 s.
FORWARD_PATIENCE_MS = 5_000


class RegionInvoker(Protocol):
    """The routing function of another region (``aws.home_region.HomeRegionInvoker``)."""

    def invoke(self, region: str, event: Mapping[str, Any]) -> dict[str, Any]: ...


def routing_error(code: str, message: str, retryable: bool = False) -> dict[str, Any]:
    """The routing function's error answer (the edge retries a ``retryable`` one)."""
    return {"error": {"code": code, "message": message, "retryable": retryable}}


def _code(answer: Mapping[str, Any] | None) -> str | None:
    error = (answer or {}).get("error")
    return str(error.get("code")) if isinstance(error, Mapping) else None


class Forwarding:
    def __init__(
        self,
        invoker: RegionInvoker,
        region: str,
        regions: Sequence[str],
        handoff_ms: int,
        clock: Callable[[], int],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._invoker = invoker
        self._region = region
        self._others = [name for name in regions if name != region]
        self._handoff_ms = handoff_ms
        self._clock = clock
        self._sleep = sleep

    def to_home(
        self,
        event: Mapping[str, Any],
        refused: NotHomeRegionError,
        about_a_contact: bool,
        again_here: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """The answer of the merchant's home to a request this region's fence refused.

        ``about_a_contact``: a report about a contact this region holds (the home may lack it for the
        replication lag). ``again_here``: the request run here once more, as a forwarded one, for a
        home that is this region still within its handoff."""
        if event.get("forwarded") or not refused.home_region:
            return routing_error("not_home", str(refused), retryable=True)
        started = self._clock()
        deadline = event.get("deadline_ms")
        if not isinstance(deadline, int) or isinstance(deadline, bool):
            deadline = started + FORWARD_PATIENCE_MS
        # This region itself may be the home, from the end of its handoff.
        here = refused.home_region == self._region
        answer = None if here else self._ask(refused.home_region, event)
        if answer is not None and not self._changed_by_the_handoff(answer, about_a_contact):
            return answer
        wait_ms = forward_retry_wait_ms(refused.active_from_ms, self._clock(), self._handoff_ms)
        if self._clock() + wait_ms < deadline:
            self._sleep(wait_ms / 1000)
            answer = again_here() if here else self._ask(refused.home_region, event)
        if answer is None:
            return routing_error("home_unreachable", str(refused), retryable=True)
        if about_a_contact and _code(answer) == "not_found":
            return routing_error(
                "not_replicated",
                f"{refused.home_region} does not have the contact yet (replication): ask again",
                retryable=True,
            )
        return answer

    @staticmethod
    def _changed_by_the_handoff(answer: Mapping[str, Any], about_a_contact: bool) -> bool:
        """Whether the home's answer is one the end of the handoff changes: it refused as not the home
        (the move has not reached its replica), or lacks the contact this region holds."""
        code = _code(answer)
        return code == "not_home" or (about_a_contact and code == "not_found")

    def from_the_contacts_home(self, event: Mapping[str, Any], missing: NotFoundError) -> dict[str, Any]:
        """A contact this replica does not have may have been created by its merchant's home region (a
        call forwarded there) and not be replicated here yet: the home answers for it. Not found only
        when every other region answered so; a region that did not answer may have it."""
        silent: list[str] = []
        for region in self._others:
            answer = self._ask(region, event)
            if answer is None:
                silent.append(region)
            elif _code(answer) != "not_found":
                return answer
        if silent:
            return routing_error(
                "home_unreachable", f"{missing}; {', '.join(silent)} did not answer", retryable=True
            )
        return routing_error("not_found", str(missing))

    def with_other_regions_offers(self, event: Mapping[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        """An edge task's pending offers, from every region: each region answers for the merchants it
        decides (its replica of the others' contacts may be stale), so the others are asked too."""
        offers = list(result.get("offers", []))
        for region in self._others:
            answer = self._ask(region, event)
            offers.extend((answer or {}).get("offers", []))
        return {**result, "offers": offers}

    def _ask(self, region: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """The routing function of ``region``, on a forwarded copy of ``event``; None when it did not
        answer (still starting, gone, or too slow)."""
        try:
            return self._invoker.invoke(region, {**event, "forwarded": True})
        except Exception as error:
            log.warning("routing in region %s did not answer: %s", region, error)
            return None
