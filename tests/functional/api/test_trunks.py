"""Carrier trunks over the API: created, changed, removed by the platform admin; never world-open by accident."""

from __future__ import annotations

import pytest

from contact_center.data.catalog import TrunkItems
from contact_center.domain.credentials import digest_ha1
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


# Where a trunk sends calls, and a merchant's own trunks


def test_a_trunk_with_an_address_credentials_and_rules_reads_back_without_its_password(api: Api) -> None:
    reply = api.post(
        "/trunks",
        {
            "name": "Carrier SRV",
            "address": "sip:carrier.example;transport=tcp",
            "username": "acct-7",
            "password": "s3cret-pw",
            "max_concurrent_calls": 30,
            "caller_id_rules": [
                {"prefix": "+44", "caller_id": "+442071234567"},
                {"caller_id": "+14155550100"},
            ],
        },
    )
    assert reply.status == 201, reply.body
    body = reply.body
    assert (body["address"], body["transport"], body["username"], body["realm"]) == (
        "carrier.example",
        "tcp",
        "acct-7",
        "carrier.example",
    )
    assert body["max_concurrent_calls"] == 30
    assert body["caller_id_rules"][1] == {"prefix": "", "caller_id": "+14155550100"}
    assert "s3cret-pw" not in str(body) and "password" not in body
    # Stored as the seats' credentials are: HA1 for the realm, never the password.
    (item,) = TrunkItems().all()
    assert "s3cret-pw" not in str(item.attribute_values)
    assert dict(item.auth_ha1.as_dict())["MD5"] == digest_ha1("acct-7", "carrier.example", "s3cret-pw")
    assert api.get(f"/trunks/{body['trunk_id']}").body == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"address": "carrier.example:70000"}, "address"),
        ({"address": "2001:db8::1"}, "address"),
        ({"address": "sip:pbx.example;transport=sctp"}, "address"),
        ({"address": "10.0.0.1:5060", "transport": "quic"}, "transport"),
        ({"address": "sip:pbx.example;transport=udp", "transport": "tcp"}, "transport"),
        ({"address": "10.0.0.1:5060", "max_concurrent_calls": 0}, "max_concurrent_calls"),
        (
            {"address": "10.0.0.1:5060", "caller_id_rules": [{"caller_id": "0800"}]},
            "caller_id_rules[0].caller_id",
        ),
        ({"address": "10.0.0.1:5060", "username": "u"}, "password"),
        ({"username": "u", "password": "p", "source_cidrs": ["203.0.113.0/24"]}, "realm"),
        ({}, "source_cidrs"),
    ],
)
def test_a_bad_trunk_field_is_400_naming_it(api: Api, body: dict[str, object], field: str) -> None:
    reply = api.post("/trunks", {"name": "Bad", **body})
    assert (reply.status, reply.error["code"], reply.error["field"]) == (400, "validation_error", field)
    assert TrunkItems().all() == []


def test_a_patch_clears_the_address_and_replaces_credentials_for_the_stored_host(api: Api) -> None:
    trunk_id = api.post(
        "/trunks", {"name": "PBX", "address": "10.1.2.3:5070", "source_cidrs": ["10.1.2.3/32"]}
    ).body["trunk_id"]
    with_auth = api.patch(f"/trunks/{trunk_id}", {"username": "u1", "password": "p1"})
    assert (with_auth.status, with_auth.body["realm"], with_auth.body["address"]) == (
        200,
        "10.1.2.3",
        "10.1.2.3:5070",
    )
    cleared = api.patch(f"/trunks/{trunk_id}", {"address": None, "username": None})
    assert (cleared.body["address"], cleared.body["transport"], cleared.body["username"]) == (
        None,
        None,
        None,
    )
    assert cleared.body["source_cidrs"] == ["10.1.2.3/32"]


def test_a_merchant_manages_its_own_trunks_and_never_sees_anothers(api: Api) -> None:
    acme, acme_key = api.merchant()
    other, other_key = api.merchant(name="Other")
    created = api.post(
        f"/merchants/{acme}/trunks", {"name": "Legacy PBX", "address": "pbx.acme.test:5060"}, key=acme_key
    )
    assert created.status == 201, created.body
    trunk_id = created.body["trunk_id"]
    assert created.body["merchant_id"] == acme
    assert [t["trunk_id"] for t in api.get(f"/merchants/{acme}/trunks", key=acme_key).body["items"]] == [
        trunk_id
    ]
    assert api.get(f"/merchants/{other}/trunks", key=other_key).body["items"] == []
    # Another merchant's trunk is 404 through its own path, whatever the method.
    for method in ("GET", "DELETE"):
        assert api.call(method, f"/merchants/{other}/trunks/{trunk_id}", key=other_key).status == 404
    assert api.patch(f"/merchants/{other}/trunks/{trunk_id}", {"name": "Mine"}, key=other_key).status == 404
    assert api.get(f"/merchants/{acme}/trunks/{trunk_id}", key=acme_key).body["name"] == "Legacy PBX"
    # The platform admin lists every trunk: the edge takes the PBX's calls as any carrier's.
    assert [t["trunk_id"] for t in api.get("/trunks").body["items"]] == [trunk_id]
    renamed = api.patch(f"/merchants/{acme}/trunks/{trunk_id}", {"name": "Old PBX"}, key=acme_key)
    assert renamed.body["name"] == "Old PBX"
    assert api.delete(f"/merchants/{acme}/trunks/{trunk_id}", key=acme_key).status == 204
    assert api.get(f"/merchants/{acme}/trunks/{trunk_id}", key=acme_key).status == 404


def test_an_unknown_trunk_is_404_on_every_path(api: Api) -> None:
    acme, key = api.merchant()
    assert api.get("/trunks/trk_missing").status == 404
    assert api.get(f"/merchants/{acme}/trunks/trk_missing", key=key).status == 404
