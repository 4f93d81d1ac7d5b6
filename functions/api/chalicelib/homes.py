"""Views of the platform operator's home-region routes (``app.py``, "Merchants' home regions"): where a
merchant lives, and a move to another region and back. The routes share
``services.regions.RegionControl`` with the ``homes`` command of the region tools; a move is one
conditional write in the serving region's replica.
"""

from __future__ import annotations

from typing import Any

from contact_center.domain.ownership import Ownership
from contact_center.services.regions import Moved

Json = dict[str, Any]


def home(ownership: Ownership) -> Json:
    return {
        "merchant_id": ownership.merchant_id,
        "home_region": ownership.home_region,
        "epoch": ownership.epoch,
        "preferred_region": ownership.preferred,
        "active_from": ownership.active_from_ms,
    }


def moved(change: Moved) -> Json:
    return {
        "merchant_id": change.merchant_id,
        "from_region": change.from_region,
        "to_region": change.to_region,
        "epoch": change.epoch,
    }
