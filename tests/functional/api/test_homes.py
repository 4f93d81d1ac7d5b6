"""Two regions over the API: a merchant signed up is homed where it signed up, in the same write;
the platform operator moves its home to the other region and back (planned maintenance)."""

from __future__ import annotations

import hashlib

import pytest

from contact_center import bootstrap
from contact_center.data.ownership import OwnershipItems
from contact_center.domain.ownership import Ownership

from .conftest import ADMIN_KEY, SIP_DOMAIN, SIP_REGISTRAR, Api

EAST, WEST = "us-east-1", "us-west-2"


@pytest.fixture
def settings() -> bootstrap.Settings:
    """The API of the east region of a two-region deployment."""
    return bootstrap.Settings(
        sip_domain=SIP_DOMAIN,
        sip_registrar=SIP_REGISTRAR,
        admin_key_sha256=hashlib.sha256(ADMIN_KEY.encode()).hexdigest(),
        region=EAST,
        regions=(EAST, WEST),
        handoff_ms=3_000,
    )


def test_a_merchant_signed_up_is_homed_in_the_region_that_served_it(api: Api) -> None:
    merchant_id, _ = api.merchant()

    stored = OwnershipItems().get(merchant_id)

    assert stored is not None
    assert (stored.home_region, stored.epoch, stored.preferred) == (EAST, 1, EAST)
    home = api.get(f"/merchants/{merchant_id}/home")
    assert home.status == 200
    assert home.body == {
        "merchant_id": merchant_id,
        "home_region": EAST,
        "epoch": 1,
        "preferred_region": EAST,
        "active_from": 0,
    }


def test_the_operator_moves_a_home_away_and_back_each_move_one_epoch_up(api: Api) -> None:
    merchant_id, _ = api.merchant()

    away = api.put(f"/merchants/{merchant_id}/home", {"region": WEST})
    back = api.put(f"/merchants/{merchant_id}/home", {"region": EAST})

    assert away.status == 200, away.body
    assert away.body == {"merchant_id": merchant_id, "from_region": EAST, "to_region": WEST, "epoch": 2}
    assert back.body == {"merchant_id": merchant_id, "from_region": WEST, "to_region": EAST, "epoch": 3}
    stored = OwnershipItems().get(merchant_id)
    assert stored is not None and (stored.home_region, stored.epoch, stored.preferred) == (EAST, 3, EAST)


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "region"), ({"region": "eu-west-1"}, "region"), ({"region": 3}, "region"), ({"to": WEST}, "to")],
)
def test_a_bad_move_is_400_naming_the_field_and_moves_nothing(api: Api, body: object, field: str) -> None:
    merchant_id, _ = api.merchant()

    reply = api.put(f"/merchants/{merchant_id}/home", body)

    assert reply.status == 400
    assert reply.error["field"] == field
    assert OwnershipItems().get(merchant_id) == Ownership(merchant_id, EAST, 1, 0, EAST)


def test_only_the_platform_admin_reads_or_moves_a_home(api: Api) -> None:
    merchant_id, key = api.merchant()

    assert api.get(f"/merchants/{merchant_id}/home", key=key).status == 403
    assert api.put(f"/merchants/{merchant_id}/home", {"region": WEST}, key=key).status == 403
    assert api.put("/merchants/mer_nobody/home", {"region": WEST}).status == 404


def test_a_move_from_a_stale_epoch_is_409(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    merchant_id, _ = api.merchant()
    items = OwnershipItems()
    read_before_the_other_move = items.get(merchant_id)
    items.move(read_before_the_other_move, Ownership(merchant_id, WEST, 2, 0, WEST), 1)
    # The API read the ownership before someone else's move landed
    monkeypatch.setattr(OwnershipItems, "get", lambda self, m: read_before_the_other_move)

    reply = api.put(f"/merchants/{merchant_id}/home", {"region": WEST})

    assert reply.status == 409 and reply.error["code"] == "home_moved"


def test_an_agents_state_change_in_the_region_that_is_not_home_is_409_naming_the_home(api: Api) -> None:
    merchant_id, key = api.merchant()
    seat = api.seat(merchant_id, key)
    assert api.put(f"/merchants/{merchant_id}/home", {"region": WEST}).status == 200

    reply = api.put(
        f"/merchants/{merchant_id}/seats/{seat['seat_id']}/state", {"state": "available"}, key=key
    )

    assert reply.status == 409
    assert reply.error["code"] == "not_home_region" and reply.error["home_region"] == WEST
