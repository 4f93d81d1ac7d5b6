"""The failover controller: this region's watch over the other one (``services.peer_watch``).

Invoked every minute by its schedule (``contracts.schedules.FAILOVER_WATCH``, an EventBridge rule;
the local stack's timer), it probes the peer region every 10 s through the peer's routing function
and, once the peer has failed, takes its merchants over in this region's replica and asks this
region's routing function to end every contact the peer's lost edge tasks held (``region_lost``). Event:
``{"action": "watch"}``. Result: ``{"peer", "probes": [{"outcome", "failed", "peer_healthy"}],
"taken_over": [merchant ids]}``, or ``{"peer": null}`` where there is no peer to watch (one region,
or the local harness, whose controller is its own process).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from contact_center.bootstrap import services
from contact_center.contracts.schedules import FAILOVER_WATCH
from contact_center.contracts.settings import Component, load_function_settings

log = logging.getLogger("functions.failover")
log.setLevel(logging.INFO)

# Room left at the end of an invocation for a probe (its timeouts) and the state's write.
PROBE_BUDGET_MS = 8_000
# Room left for returning: the last page of a region loss must be over by then.
RETURN_BUDGET_MS = 1_000


def handler(event: Any, context: Any) -> dict[str, Any]:
    peer = load_function_settings(Component.FAILOVER, os.environ).failover_peer
    if peer is None:
        return {"peer": None}
    container = services(Component.FAILOVER)
    end = container.clock() + context.get_remaining_time_in_millis()
    reports = container.peer_watch(peer).run(
        FAILOVER_WATCH.ticks,
        FAILOVER_WATCH.tick_seconds * 1000,
        time.sleep,
        end - PROBE_BUDGET_MS,
        end - RETURN_BUDGET_MS,
    )
    return {
        "peer": peer,
        "probes": [
            {"outcome": str(r.outcome), "failed": r.failed, "peer_healthy": r.peer_healthy} for r in reports
        ],
        "taken_over": [change.merchant_id for r in reports for change in r.moved],
    }
