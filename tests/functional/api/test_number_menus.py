"""A number's menu over the API: set, read back with the number, seen by the router, removed;
queues that are not the merchant's are 404 and bad settings 400, each naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from contact_center.data.repositories.catalog import RoutingCatalogRepository
from contact_center.domain.menus import Menu
from tests.functional.api.conftest import Api

NUMBER = "+14155550100"


def onboard(api: Api) -> tuple[str, str, str, str, str]:
    """A merchant with three queues and a number routed to the first."""
    merchant, key = api.merchant()
    general, sales, support = (api.queue(merchant, key, name) for name in ("General", "Sales", "Support"))
    reply = api.post(f"/merchants/{merchant}/numbers", {"number": NUMBER, "queue_id": general}, key=key)
    assert reply.status == 201, reply.body
    return merchant, key, general, sales, support


def _menu(general: str, sales: str, support: str, **changes: Any) -> dict[str, Any]:
    return {"options": {"1": sales, "2": support}, "default_queue": general, **changes}


def test_a_menu_is_set_listed_with_its_number_routed_by_and_removed(api: Api) -> None:
    merchant, key, general, sales, support = onboard(api)
    path = f"/merchants/{merchant}/numbers/{NUMBER}/menu"
    reply = api.put(path, _menu(general, sales, support, timeout_seconds=4), key=key)
    assert reply.status == 200, reply.body
    expected = {
        "prompt": "menu",  # the default prompts' menu when none is named
        "options": {"1": sales, "2": support},
        "default_queue": general,
        "timeout_seconds": 4,
        "retries": 2,
    }
    assert reply.body == {"number": NUMBER, "menu": expected}
    (listed,) = api.get(f"/merchants/{merchant}/numbers", key=key).body["items"]
    assert listed["menu"] == expected
    # The router sees it from the next call.
    route = RoutingCatalogRepository().number(NUMBER)
    assert route is not None and route.menu == Menu("menu", general, {"1": sales, "2": support}, 4, 2)

    assert api.delete(path, key=key).status == 204
    (listed,) = api.get(f"/merchants/{merchant}/numbers", key=key).body["items"]
    assert listed["menu"] is None
    route = RoutingCatalogRepository().number(NUMBER)
    assert route is not None and route.menu is None


def test_a_queue_of_another_merchant_or_none_at_all_is_404_naming_the_field(api: Api) -> None:
    merchant, key, general, sales, support = onboard(api)
    other, other_key = api.merchant(name="Other")
    theirs = api.queue(other, other_key, "Theirs")
    path = f"/merchants/{merchant}/numbers/{NUMBER}/menu"
    reply = api.put(path, _menu(general, sales, theirs), key=key)
    assert (reply.status, reply.error["field"]) == (404, "menu.options.2"), reply.body
    reply = api.put(path, _menu("q-gone", sales, support), key=key)
    assert (reply.status, reply.error["field"]) == (404, "menu.default_queue"), reply.body
    # Nothing was written.
    (listed,) = api.get(f"/merchants/{merchant}/numbers", key=key).body["items"]
    assert listed["menu"] is None


def test_another_merchants_number_is_404(api: Api) -> None:
    _merchant, _key, general, sales, support = onboard(api)
    other, other_key = api.merchant(name="Other")
    reply = api.put(
        f"/merchants/{other}/numbers/{NUMBER}/menu", _menu(general, sales, support), key=other_key
    )
    assert reply.status == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"prompt": "../etc/passwd"}, "menu.prompt"),
        ({"options": {}}, "menu.options"),
        ({"options": {"12": "q"}}, "menu.options"),
        ({"options": {"1": "not an id"}}, "menu.options.1"),
        ({"default_queue": None}, "menu.default_queue"),
        ({"timeout_seconds": 0}, "menu.timeout_seconds"),
        ({"retries": 9}, "menu.retries"),
        ({"colour": "blue"}, "menu.colour"),
    ],
)
def test_a_menu_breaking_a_rule_is_400_naming_the_field(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    merchant, key, general, sales, support = onboard(api)
    reply = api.put(
        f"/merchants/{merchant}/numbers/{NUMBER}/menu", _menu(general, sales, support, **changes), key=key
    )
    assert (reply.status, reply.error["field"]) == (400, field), reply.body


def test_a_queue_a_menu_routes_to_cannot_be_deleted(api: Api) -> None:
    merchant, key, general, sales, support = onboard(api)
    api.put(f"/merchants/{merchant}/numbers/{NUMBER}/menu", _menu(general, sales, support), key=key)
    reply = api.delete(f"/merchants/{merchant}/queues/{support}", key=key)
    assert reply.status == 409, reply.body
    assert NUMBER in reply.error["message"]
