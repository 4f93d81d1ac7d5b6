"""A call's end, reported to the router until it lands.

The router's end of a contact is one transaction that records it and lets its agent go
(``contact_center.services.routing.endings``); nothing else frees a seat on a call. So an end that
failed (the table slow or timing out, the routing function restarted) must not be dropped: the
contact would stay live for ever, its seat on a call nobody holds (an ended queued caller would
even be offered to agents). The routing client already tries each report a few times within
seconds; after that, this tries again with growing pauses for several minutes, in the background
(the caller and the agent have their BYE already). ``contact_ended`` is idempotent per contact id: a
report that landed although its answer was lost is answered as ended again, and a late one cannot
end a later contact.

A refusal that no retry can change (``not_found``: never created; a malformed request) is final,
but for a call whose routing failed: its ``new_contact`` may still be running on a slow table and
create the contact after the edge gave up on it (a caller long gone, whom the router would offer to
an agent). Its end is asked again after ``LATE_CREATE_DELAYS``, and ends such a late contact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from contact_center.services.routing.decisions import Acknowledged
from sip_edge.app.calls.ports import RoutingError
from sip_edge.app.calls.tasks import CallTasks

__all__ = ["END_RETRY_DELAYS", "LATE_CREATE_DELAYS", "report_end", "until_recorded"]

Report = Callable[[], Awaitable[Acknowledged]]

log = logging.getLogger("sip_edge.calls")

# Pauses between the background attempts: about 9 minutes in all, longer than a brown-out of the
# table is worth waiting out, short enough that an agent is not held past its next call for long.
END_RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 15, 30, 30, 60, 60, 60, 60, 60, 60, 60)
# After a failed routing: past the routing client's attempts (3 x 5 s), past the longest a routing
# invocation ran on a table dropping 5 % of its requests (about 35 s, bench/RESULTS.md). Two asks
# only, so a brown-out is not fed a retry per failed call; the edge's lost-contacts sweep is the
# last resort (``fleet.directory``).
LATE_CREATE_DELAYS: tuple[float, ...] = (10, 30)


async def until_recorded(
    report: Report,
    contact_id: str,
    delays: Sequence[float] = END_RETRY_DELAYS,
    *,
    not_found_too: bool = False,
) -> Acknowledged | None:
    """``report()`` after each of ``delays`` until it lands; None when every attempt failed or the
    router refused it for good (both logged). ``not_found_too``: a contact not found yet may still
    be created (see the module docstring)."""
    for attempt, delay in enumerate(delays, start=1):
        await asyncio.sleep(delay)
        try:
            return await report()
        except RoutingError as exc:
            if not_found_too and exc.code == "not_found":
                continue
            if not exc.retryable:
                log.error("contact_ended for %s refused: %s", contact_id, exc)
                return None
            log.warning("contact_ended for %s failed again (retry %d): %s", contact_id, attempt, exc)
    log.error(
        "contact_ended for %s never landed after %d retries; its seat needs a release",
        contact_id,
        len(delays),
    )
    return None


async def report_end(
    report: Report,
    contact_id: str,
    tasks: CallTasks,
    done: Callable[[Acknowledged | None], Awaitable[None]] | None = None,
    *,
    routing_failed: bool = False,
) -> Acknowledged | None:
    """Report a call's end now; when that fails and may pass, again in the background
    (``until_recorded``). ``done`` is told the outcome once it is known, now or later; the answer
    is the outcome of this first attempt. ``routing_failed``: the call's routing failed, so a
    contact not found may yet be created (the module docstring)."""
    try:
        result = await report()
    except RoutingError as exc:
        # not_found: the contact was never created (routing failed first): nothing to record.
        if exc.code != "not_found":
            log.error("contact_ended for %s failed: %s", contact_id, exc)
        if exc.retryable or (routing_failed and exc.code == "not_found"):
            tasks.spawn(_later(report, contact_id, done, late_create=not exc.retryable), name="end-retry")
            return None
        result = None
    if done is not None:
        await done(result)
    return result


async def _later(
    report: Report,
    contact_id: str,
    done: Callable[[Acknowledged | None], Awaitable[None]] | None,
    *,
    late_create: bool,
) -> None:
    delays = LATE_CREATE_DELAYS if late_create else END_RETRY_DELAYS
    result = await until_recorded(report, contact_id, delays, not_found_too=late_create)
    if done is not None:
        await done(result)
