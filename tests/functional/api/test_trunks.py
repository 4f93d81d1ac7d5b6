"""Carrier trunks over the API: created, changed, removed by the platform admin; never world-open by accident."""

from __future__ import annotations

import pytest

from contact_center.data.catalog import TrunkItems
from tests.functional.api.conftest import Api

CARRIER = {"name": "Carrier One", "source_cidrs": ["203.0.113.0/24"]}


def created_trunk(api: Api) -> str:
    reply = api.post("/trunks", CARRIER)
    assert reply.status == 201, reply.body
    return str(reply.body["trunk_id"])


def test_a_trunk_is_changed_by_patch_and_the_edge_reads_the_change(api: Api) -> None:
    trunk_id = created_trunk(api)
    reply = api.patch(f"/trunks/{trunk_id}", {"name": "Carrier Two", "source_cidrs": ["198.51.100.9/28"]})
    assert reply.status == 200, reply.body
    assert (reply.body["name"], reply.body["source_cidrs"], reply.body["legacy"]) == (
        "Carrier Two",
        ["198.51.100.0/28"],
        False,
    )
    # What the edge reads (the trunk list) holds the new networks only.
    assert [(t.name, t.source_cidrs) for t in TrunkItems().all()] == [("Carrier Two", ["198.51.100.0/28"])]
    assert [t["name"] for t in api.get("/trunks").body["items"]] == ["Carrier Two"]


def test_a_patch_changes_only_the_fields_it_names(api: Api) -> None:
    trunk_id = created_trunk(api)
    reply = api.patch(f"/trunks/{trunk_id}", {"legacy": True})
    assert (reply.body["name"], reply.body["source_cidrs"], reply.body["legacy"]) == (
        "Carrier One",
        ["203.0.113.0/24"],
        True,
    )


def test_a_trunk_is_deleted_and_the_edge_no_longer_lists_it(api: Api) -> None:
    trunk_id = created_trunk(api)
    assert api.delete(f"/trunks/{trunk_id}").status == 204
    assert TrunkItems().all() == []
    again = api.delete(f"/trunks/{trunk_id}")
    assert (again.status, again.error["code"]) == (404, "not_found")


def test_changing_or_deleting_a_missing_trunk_is_404(api: Api) -> None:
    assert api.patch("/trunks/trk_missing", {"name": "X"}).status == 404
    assert api.delete("/trunks/trk_missing").status == 404
    assert TrunkItems().all() == []  # the PATCH created nothing


def test_only_the_platform_admin_changes_trunks(api: Api) -> None:
    trunk_id = created_trunk(api)
    _, key = api.merchant()
    assert api.patch(f"/trunks/{trunk_id}", {"name": "Mine"}, key=key).status == 403
    assert api.delete(f"/trunks/{trunk_id}", key=key).status == 403
    assert api.get("/trunks").body["items"][0]["name"] == "Carrier One"


@pytest.mark.parametrize(
    "cidr", ["0.0.0.0/0", "::/0", "10.0.0.0/7", "128.0.0.0/1", "2000::/3", "2001:db8::/31", "::ffff:0:0/96"]
)
def test_a_world_open_source_range_is_refused_naming_the_field(api: Api, cidr: str) -> None:
    reply = api.post("/trunks", {"name": "Anyone", "source_cidrs": ["203.0.113.0/24", cidr]})
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        400,
        "validation_error",
        "source_cidrs[1]",
    )
    assert "allow_world_open" in reply.error["message"]
    trunk_id = created_trunk(api)
    patched = api.patch(f"/trunks/{trunk_id}", {"source_cidrs": [cidr]})
    assert (patched.status, patched.error["field"]) == (400, "source_cidrs[0]")
    assert [t.source_cidrs for t in TrunkItems().all()] == [["203.0.113.0/24"]]


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.0/104", "127.0.0.1/32"])
def test_the_widest_single_carrier_ranges_are_accepted(api: Api, cidr: str) -> None:
    assert api.post("/trunks", {"name": "Wide", "source_cidrs": [cidr]}).status == 201


def test_a_world_open_range_is_accepted_when_forced(api: Api) -> None:
    reply = api.post("/trunks", {"name": "Lab", "source_cidrs": ["0.0.0.0/0"], "allow_world_open": True})
    assert reply.status == 201 and reply.body["source_cidrs"] == ["0.0.0.0/0"]
    trunk_id = created_trunk(api)
    patched = api.patch(f"/trunks/{trunk_id}", {"source_cidrs": ["::/0"], "allow_world_open": True})
    assert patched.status == 200 and patched.body["source_cidrs"] == ["::/0"]
    refused = api.post("/trunks", {"name": "X", "source_cidrs": ["0.0.0.0/0"], "allow_world_open": "yes"})
    assert (refused.status, refused.error["field"]) == (400, "allow_world_open")
