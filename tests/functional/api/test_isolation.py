"""Tenant isolation, for every route of the app: merchant A's key never reaches merchant B.

Another merchant's ids answer 404 exactly like ids that do not exist (never 403, so a key cannot
even learn that the other merchant exists), and nothing of B's changes. Platform-wide routes
answer 403 to any merchant key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from contact_center import bootstrap
from tests.functional.api.conftest import Api, api_settings, load_api
from tests.support.dynamodb import fresh_table

ROUTES = sorted((path, method) for path, methods in load_api().app.routes.items() for method in methods)
PUBLIC = {("/health", "GET"), ("/openapi.json", "GET")}
ADMIN_ONLY = {
    ("/merchants", "POST"),
    ("/merchants", "GET"),
    ("/trunks", "POST"),
    ("/trunks", "GET"),
    ("/trunks/{trunk_id}", "GET"),
    ("/trunks/{trunk_id}", "PATCH"),
    ("/trunks/{trunk_id}", "DELETE"),
}

BODIES: dict[tuple[str, str], Any] = {
    ("/merchants/{merchant_id}", "PATCH"): {"seat_licenses": 0, "name": "Hijacked"},
    ("/merchants/{merchant_id}/api-keys", "POST"): {"name": "stolen"},
    ("/merchants/{merchant_id}/queues", "POST"): {"name": "Intruder"},
    ("/merchants/{merchant_id}/queues/{queue_id}", "PATCH"): {"name": "Hijacked"},
    ("/merchants/{merchant_id}/numbers", "POST"): {"number": "+14155550199", "queue_id": "{queue_id}"},
    ("/merchants/{merchant_id}/seats", "POST"): {"display_name": "Intruder"},
    ("/merchants/{merchant_id}/seats/{seat_id}", "PATCH"): {"display_name": "Hijacked"},
    ("/merchants/{merchant_id}/seats/{seat_id}/state", "PUT"): {"state": "not_ready", "reason": "break"},
    ("/merchants", "POST"): {"name": "Rogue", "contact_email": "x@rogue.test", "seat_licenses": 1},
    ("/trunks", "POST"): {"name": "Rogue", "source_cidrs": ["10.0.0.0/8"]},
    ("/trunks/{trunk_id}", "PATCH"): {"name": "Rogue", "source_cidrs": ["10.0.0.0/8"]},
}


def _fill(template: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        template = template.replace("{" + name + "}", value)
    return template


def _snapshot(api: Api, merchant_id: str) -> dict[str, Any]:
    base = f"/merchants/{merchant_id}"
    return {
        "merchant": api.get(base).body,
        "queues": api.get(base + "/queues").body,
        "numbers": api.get(base + "/numbers").body,
        "seats": api.get(base + "/seats").body,
        "keys": api.get(base + "/api-keys").body,
    }


def test_every_route_is_classified() -> None:
    merchant_routes = {r for r in ROUTES if r[0].startswith("/merchants/{merchant_id}")}
    assert set(ROUTES) == PUBLIC | ADMIN_ONLY | merchant_routes


@dataclass
class World:
    api: Api
    a_key: str
    b_id: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One set of merchants for every route (setting them up per route would dominate the run)."""
    with mock_aws():
        # Module-scoped, so without the per-test shared botocore session; it binds once anyway.
        fresh_table(None)
        bootstrap.reset(api_settings())
        with Client(load_api().app) as client:
            api = Api(client)
            # Given two merchants, B with a queue, a number, a seat and a key
            _a_id, a_key = api.merchant(name="Merchant A")
            b_id, b_key = api.merchant(name="Merchant B")
            b_queue = api.queue(b_id, b_key)
            number = {"number": "+14155550100", "queue_id": b_queue}
            assert api.post(f"/merchants/{b_id}/numbers", number, key=b_key).status == 201
            b_seat = api.seat(b_id, b_key)["seat_id"]
            b_key_id = api.get(f"/merchants/{b_id}/api-keys", key=b_key).body["items"][0]["key_id"]
            ids = {
                "merchant_id": b_id,
                "queue_id": b_queue,
                "seat_id": b_seat,
                "number": "+14155550100",
                "key_id": b_key_id,
                "trunk_id": "trk_platform",
            }
            yield World(api, a_key, b_id, ids)
        bootstrap.reset()


def _request_body(path: str, method: str, ids: dict[str, str]) -> Any:
    body = BODIES.get((path, method))
    if isinstance(body, dict):
        return {k: _fill(v, ids) if isinstance(v, str) else v for k, v in body.items()}
    return {} if method == "POST" else None


@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
def test_merchant_a_cannot_reach_merchant_b(world: World, path: str, method: str) -> None:
    api, ids = world.api, world.ids
    before = _snapshot(api, world.b_id)

    # When A's key calls the route with B's ids
    reply = api.call(method, _fill(path, ids), _request_body(path, method, ids), key=world.a_key)

    # Then B stays invisible and untouched
    if (path, method) in PUBLIC:
        assert reply.status == 200
    elif (path, method) in ADMIN_ONLY:
        assert reply.status == 403, reply.body
        assert reply.error["code"] == "forbidden"
    else:
        assert reply.status == 404, reply.body
        assert reply.error["code"] == "not_found"
        # Exactly the answer for a merchant that does not exist at all.
        unknown_ids = {**ids, "merchant_id": "mer_doesnotexist"}
        unknown = api.call(
            method, _fill(path, unknown_ids), _request_body(path, method, unknown_ids), key=world.a_key
        )
        assert unknown.status == 404
        assert unknown.error["message"] == reply.error["message"].replace(world.b_id, "mer_doesnotexist")
    assert _snapshot(api, world.b_id) == before
