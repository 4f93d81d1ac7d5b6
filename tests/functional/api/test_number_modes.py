"""Per-number migration over the API: modes, a wave all or nothing, the audit log, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from contact_center.data.repositories.catalog import RoutingCatalogRepository
from contact_center.domain.migration import NumberMode, Side
from contact_center.services import numbers as numbers_module
from tests.functional.api.conftest import Api


def onboard(api: Api, count: int = 1) -> tuple[str, str, str, str, list[str]]:
    """A merchant with a queue, its own legacy trunk and ``count`` numbers."""
    merchant, key = api.merchant()
    queue = api.queue(merchant, key)
    trunk = api.post(f"/merchants/{merchant}/trunks", {"name": "Legacy", "address": "10.9.0.1:5060"}, key=key)
    numbers = [f"+1415555{n:04d}" for n in range(count)]
    for number in numbers:
        assert (
            api.post(f"/merchants/{merchant}/numbers", {"number": number, "queue_id": queue}, key=key).status
            == 201
        )
    return merchant, key, queue, trunk.body["trunk_id"], numbers


def listed(api: Api, merchant: str, key: str) -> dict[str, dict[str, Any]]:
    return {n["number"]: n for n in api.get(f"/merchants/{merchant}/numbers", key=key).body["items"]}


def test_a_number_moves_to_a_split_then_legacy_and_back_each_logged(api: Api) -> None:
    merchant, key, queue, trunk, (number,) = onboard(api)
    path = f"/merchants/{merchant}/numbers/{number}"
    split = api.patch(path, {"mode": "split", "legacy_trunk_id": trunk, "switchboard_percent": 10}, key=key)
    assert split.status == 200, split.body
    assert (split.body["mode"], split.body["switchboard_percent"], split.body["previous"]["mode"]) == (
        "split",
        10,
        "switchboard",
    )
    # Rollback is the same call with mode legacy; the trunk is remembered.
    assert api.patch(path, {"mode": "legacy"}, key=key).body["legacy_trunk_id"] == trunk
    assert listed(api, merchant, key)[number]["mode"] == "legacy"
    assert api.patch(path, {"mode": "switchboard"}, key=key).body["queue_id"] == queue
    log = api.get(f"/merchants/{merchant}/number-changes", key=key).body["items"]
    assert [(e["changes"][0]["mode"], e["changes"][0]["previous"]["mode"]) for e in log] == [
        ("switchboard", "legacy"),
        ("legacy", "split"),
        ("split", "switchboard"),
    ]
    assert all(e["actor"].startswith("key:") for e in log)


def test_the_router_sends_each_caller_to_the_side_the_split_gives_from_the_next_call(api: Api) -> None:
    merchant, key, _, trunk, (number,) = onboard(api)
    path = f"/merchants/{merchant}/numbers/{number}"
    api.patch(path, {"mode": "split", "legacy_trunk_id": trunk, "switchboard_percent": 50}, key=key)
    route = RoutingCatalogRepository().number(number)
    assert route is not None
    sides = {route.mode.side_for(f"+1555{n:07d}") for n in range(200)}
    assert sides == {Side.LEGACY, Side.SWITCHBOARD}
    api.patch(path, {"mode": "legacy"}, key=key)
    after = RoutingCatalogRepository().number(number)
    assert after is not None and after.mode.mode is NumberMode.LEGACY


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"mode": "hybrid"}, 400, "mode"),
        (
            {"mode": "split", "legacy_trunk_id": "TRUNK", "switchboard_percent": 101},
            400,
            "switchboard_percent",
        ),
        (
            {"mode": "split", "legacy_trunk_id": "TRUNK", "switchboard_percent": -1},
            400,
            "switchboard_percent",
        ),
        ({"mode": "split", "legacy_trunk_id": "TRUNK"}, 400, "switchboard_percent"),
        ({"mode": "legacy"}, 400, "legacy_trunk_id"),
        ({"mode": "legacy", "legacy_trunk_id": "trk_unknown"}, 404, None),
        ({"mode": "legacy", "legacy_trunk_id": "OTHER"}, 404, None),
        ({"mode": "switchboard", "fallback_trunk_id": "trk_unknown"}, 404, None),
        ({"mode": "switchboard", "fallback_trunk_id": "OTHER"}, 404, None),
        ({"mode": "switchboard", "fallback_trunk_id": 7}, 400, "fallback_trunk_id"),
        (
            {"mode": "legacy", "legacy_trunk_id": "TRUNK", "fallback_trunk_id": "TRUNK"},
            400,
            "fallback_trunk_id",
        ),
    ],
)
def test_bad_modes_and_trunks_change_nothing(
    api: Api, body: dict[str, Any], status: int, field: str | None
) -> None:
    merchant, key, _, trunk, (number,) = onboard(api)
    other, other_key = api.merchant(name="Other")
    others = api.post(f"/merchants/{other}/trunks", {"name": "Theirs", "address": "10.8.0.1"}, key=other_key)
    resolved = {k: {"TRUNK": trunk, "OTHER": others.body["trunk_id"]}.get(v, v) for k, v in body.items()}
    reply = api.patch(f"/merchants/{merchant}/numbers/{number}", resolved, key=key)
    assert reply.status == status, reply.body
    if field is not None:
        assert reply.error["field"] == field
    else:
        assert reply.error["code"] == "not_found"
    assert listed(api, merchant, key)[number]["mode"] == "switchboard"
    assert api.get(f"/merchants/{merchant}/number-changes", key=key).body["items"] == []


def test_another_merchants_number_is_404(api: Api) -> None:
    _merchant, _key, _, _trunk, (number,) = onboard(api)
    other, other_key = api.merchant(name="Other")
    reply = api.patch(f"/merchants/{other}/numbers/{number}", {"mode": "switchboard"}, key=other_key)
    assert reply.status == 404


def test_a_platform_trunk_may_take_a_merchants_legacy_calls(api: Api) -> None:
    merchant, key, _, _, (number,) = onboard(api)
    platform = api.post("/trunks", {"name": "Legacy centre", "address": "10.7.0.1:5060"}).body["trunk_id"]
    reply = api.patch(
        f"/merchants/{merchant}/numbers/{number}", {"mode": "legacy", "legacy_trunk_id": platform}, key=key
    )
    assert (reply.status, reply.body["legacy_trunk_id"]) == (200, platform)


def test_a_wave_moves_every_number_or_none(api: Api) -> None:
    merchant, key, _, trunk, numbers = onboard(api, 3)
    wave = [
        {"number": n, "mode": "split", "legacy_trunk_id": trunk, "switchboard_percent": 50} for n in numbers
    ]
    failing = [*wave[:2], {**wave[2], "legacy_trunk_id": "trk_unknown"}]
    assert api.post(f"/merchants/{merchant}/number-changes", {"changes": failing}, key=key).status == 404
    assert {n["mode"] for n in listed(api, merchant, key).values()} == {"switchboard"}
    done = api.post(f"/merchants/{merchant}/number-changes", {"changes": wave}, key=key)
    assert done.status == 201, done.body
    assert (done.body["batch_id"], len(done.body["audit_ids"]), len(done.body["changes"])) == (None, 1, 3)
    assert {n["mode"] for n in listed(api, merchant, key).values()} == {"split"}


def test_a_wave_bigger_than_one_transaction_is_undone_when_a_later_part_fails(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given transactions of at most 5 items: 2 numbers, the trunk and queue checks, the audit entry
    monkeypatch.setattr(numbers_module, "TRANSACTION_ITEMS", 5)
    merchant, key, _, trunk, numbers = onboard(api, 5)
    wave = [{"number": n, "mode": "legacy", "legacy_trunk_id": trunk} for n in numbers]
    # When the last part names a trunk that does not exist
    failing = [*wave[:4], {**wave[4], "legacy_trunk_id": "trk_unknown"}]
    reply = api.post(f"/merchants/{merchant}/number-changes", {"changes": failing}, key=key)
    # Then nothing stays moved, and the log shows the parts written and their undoing
    assert reply.status == 404
    assert {n["mode"] for n in listed(api, merchant, key).values()} == {"switchboard"}
    log = api.get(f"/merchants/{merchant}/number-changes", key=key).body["items"]
    undone = {e["rollback_of"] for e in log if e["rollback_of"]}
    assert undone and undone == {e["audit_id"] for e in log if not e["rollback_of"]}
    # And the same wave with a good trunk goes through in several parts of one batch
    done = api.post(f"/merchants/{merchant}/number-changes", {"changes": wave}, key=key)
    assert done.status == 201 and done.body["batch_id"] is not None and len(done.body["audit_ids"]) == 3
    assert {n["mode"] for n in listed(api, merchant, key).values()} == {"legacy"}


def test_a_wave_naming_a_number_twice_or_no_number_is_400(api: Api) -> None:
    merchant, key, _, _trunk, (number,) = onboard(api)
    twice = [{"number": number, "mode": "switchboard"}, {"number": number, "mode": "switchboard"}]
    reply = api.post(f"/merchants/{merchant}/number-changes", {"changes": twice}, key=key)
    assert (reply.status, reply.error["field"]) == (400, "changes[1].number")
    reply = api.post(f"/merchants/{merchant}/number-changes", {"changes": []}, key=key)
    assert (reply.status, reply.error["field"]) == (400, "changes")


def test_a_fallback_trunk_is_set_kept_across_changes_logged_and_removed_with_null(api: Api) -> None:
    merchant, key, _, trunk, (number,) = onboard(api)
    path = f"/merchants/{merchant}/numbers/{number}"
    reply = api.patch(path, {"mode": "switchboard", "fallback_trunk_id": trunk}, key=key)
    assert (reply.status, reply.body["fallback_trunk_id"]) == (200, trunk), reply.body
    assert listed(api, merchant, key)[number]["fallback_trunk_id"] == trunk
    route = RoutingCatalogRepository().number(number)
    assert route is not None and route.mode.fallback_trunk_id == trunk
    # Not given: kept (a split keeps its Switchboard side's fallback).
    split = api.patch(path, {"mode": "split", "legacy_trunk_id": trunk, "switchboard_percent": 20}, key=key)
    assert split.body["fallback_trunk_id"] == trunk
    cleared = api.patch(path, {"mode": "switchboard", "fallback_trunk_id": None}, key=key)
    assert (cleared.body["fallback_trunk_id"], cleared.body["previous"]["fallback_trunk_id"]) == (None, trunk)
    log = api.get(f"/merchants/{merchant}/number-changes", key=key).body["items"]
    assert [e["changes"][0]["fallback_trunk_id"] for e in log] == [None, trunk, trunk]
