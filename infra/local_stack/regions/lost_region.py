"""The local controller's request to end what the dead region's edge tasks held: the routing
function's ``region_lost`` command, run in the controller's process against its region's table,
paged as the deployed controller pages it (``services.routing.region_loss.request_region_lost``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.services.routing.commands import execute, parse_routing_command
from contact_center.services.routing.region_loss import request_region_lost

log = logging.getLogger("local_stack.regions.controller")

ATTEMPTS = 20


def routing_command(event: Mapping[str, Any]) -> dict[str, Any]:
    """Run one routing request in this process, as the region's routing function would."""
    container = services(Component.ROUTING)
    try:
        return execute(container.routing, parse_routing_command(event), container.clock())
    except Exception as error:  # answered as the routing function answers a failure: ask again
        log.exception("routing %s failed", event.get("action"))
        return {"error": {"code": "internal", "message": str(error), "retryable": True}}


def end_lost_region(edge_task_ids: Sequence[str]) -> int:
    """End every contact ``edge_task_ids`` held (retrying while refused); how many were ended."""
    if not edge_task_ids:
        return 0
    total = 0
    for _ in range(ATTEMPTS):
        ended, done = request_region_lost(routing_command, edge_task_ids, lambda: True)
        total += ended
        if done:
            break
        time.sleep(0.5)
    log.info("ended %d contacts of lost edge tasks %s", total, ", ".join(edge_task_ids))
    return total
