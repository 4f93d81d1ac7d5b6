"""The platform operator's routes for merchants' home regions (planned maintenance): where a merchant
lives, and a move to another region and back. They share ``services.regions.RegionControl`` with the
``homes`` command of the region tools; a move is one conditional write in the serving region's replica.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice

from contact_center.domain.ownership import Ownership
from contact_center.services.regions import Moved, parse_move_home

from .http import Call, endpoint

Json = dict[str, Any]
HOME = "/merchants/{merchant_id}/home"


def add_home_routes(app: Chalice) -> None:
    """Add the routes to ``app`` (a function, not a Blueprint: Chalice consumes a Blueprint's route
    options when it registers it, and the tests build several apps)."""

    @app.route(HOME, methods=["GET"])
    @endpoint()
    def get_home(call: Call, merchant_id: str) -> Json:
        call.admin()
        return _home(call.services.regions.ownership(merchant_id))

    @app.route(HOME, methods=["PUT"])
    @endpoint()
    def move_home(call: Call, merchant_id: str) -> Json:
        call.admin()
        region = parse_move_home(call.body())
        return _moved(call.services.regions.move_home(merchant_id, region))


def _home(ownership: Ownership) -> Json:
    return {
        "merchant_id": ownership.merchant_id,
        "home_region": ownership.home_region,
        "epoch": ownership.epoch,
        "preferred_region": ownership.preferred,
        "active_from": ownership.active_from_ms,
    }


def _moved(moved: Moved) -> Json:
    return {
        "merchant_id": moved.merchant_id,
        "from_region": moved.from_region,
        "to_region": moved.to_region,
        "epoch": moved.epoch,
    }
