"""Roles over HTTP: the route policy table as data, sign-in, and each role held to its scope.

Every route declares the roles that may call it (``chalicelib/policy.py``); these tests call every
route as every role and expect 403 from each role the table leaves out, and 404 for another
merchant's ids from the roles it names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from contact_center import bootstrap
from contact_center.domain.access import Role
from contact_center.services.passwords import ScryptCost
from tests.functional.api.conftest import Api, api_settings, load_api
from tests.support.dynamodb import fresh_table

load_api()
from chalicelib import policy  # noqa: E402  (on the path once load_api ran)

CHEAP = ScryptCost(n=2**4)
PASSWORD = "correct horse battery"
ROUTES = sorted((method, path) for path, methods in load_api().app.routes.items() for method in methods)


def test_every_route_has_exactly_one_row_in_the_policy_table() -> None:
    assert set(ROUTES) == set(policy.ROUTE_ROLES)


def test_the_policy_table_reads_as_the_roles_intend() -> None:
    roles = policy.ROUTE_ROLES
    assert roles[("PATCH", "/merchants/{merchant_id}")] == {Role.PLATFORM_ADMIN, Role.MERCHANT_ADMIN}
    assert roles[("PUT", policy.SEAT + "/state")] == {Role.PLATFORM_ADMIN, Role.MERCHANT_ADMIN, Role.AGENT}
    assert Role.SUPERVISOR in roles[("GET", policy.QUEUE + "/stats")]
    # Nothing of a merchant's setup is a person's: reads of a seat, a queue, the reports, its state,
    # handing on a live call, and the wrap-up code of its own contact.
    person_routes = {route for route, allowed in roles.items() if allowed & {Role.AGENT, Role.SUPERVISOR}}
    transfer = policy.MERCHANT + "/contacts/{contact_id}/transfer"
    assert all(
        method == "GET" or path.endswith(("/state", "/wrap-up")) or path == transfer
        for method, path in person_routes
    )
    assert Role.SUPERVISOR not in roles[("PUT", policy.MERCHANT + "/contacts/{contact_id}/wrap-up")]
    assert {path for _, path in person_routes} <= {
        "/auth/me",
        policy.QUEUE,
        policy.QUEUE + "/stats",
        policy.SEAT,
        policy.SEAT + "/state",
        policy.SEAT + "/desk",
        policy.MERCHANT + "/contacts/{contact_id}/wrap-up",
        policy.MERCHANT + "/seats",
        policy.MERCHANT + "/contacts",
        policy.MERCHANT + "/contacts/{contact_id}/recording",
        transfer,
        policy.MERCHANT + "/reports/queues",
        policy.MERCHANT + "/reports/agents",
        policy.MERCHANT + "/wallboard",
    }


@dataclass
class World:
    api: Api
    ids: dict[str, str]  # path parameters naming merchant A's things
    other_ids: dict[str, str]  # merchant B's
    credentials: dict[Role, str]  # merchant A's people and keys, by role


def _sign_in(api: Api, merchant_id: str, user_id: str) -> str:
    reply = api.post(
        "/auth/sign-in", {"merchant_id": merchant_id, "user_id": user_id, "password": PASSWORD}, key=None
    )
    assert reply.status == 200, reply.body
    return str(reply.body["token"])


def _merchant_with_people(api: Api, name: str) -> tuple[dict[str, str], dict[Role, str]]:
    merchant_id, key = api.merchant(name=name)
    queue = api.queue(merchant_id, key)
    seat = api.seat(merchant_id, key, queue_ids=[queue])["seat_id"]
    users = f"/merchants/{merchant_id}/users"
    agent = {"user_id": "ana", "role": "agent", "seat_id": seat, "password": PASSWORD}
    supervisor = {"user_id": "sam", "role": "supervisor", "queue_ids": [queue], "password": PASSWORD}
    for body in (agent, supervisor):
        assert api.post(users, body, key=key).status == 201
    key_id = api.get(f"/merchants/{merchant_id}/api-keys", key=key).body["items"][0]["key_id"]
    ids = {
        "merchant_id": merchant_id,
        "queue_id": queue,
        "seat_id": seat,
        "user_id": "ana",
        "key_id": key_id,
        "number": "+14155550100",
        "trunk_id": "trk_x",
        "webhook_id": "whk_x",
        "delivery_id": "dlv_x",
        "contact_id": "con_x",
    }
    credentials = {
        Role.MERCHANT_ADMIN: key,
        Role.AGENT: _sign_in(api, merchant_id, "ana"),
        Role.SUPERVISOR: _sign_in(api, merchant_id, "sam"),
    }
    return ids, credentials


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        fresh_table(None)
        container = bootstrap.reset(api_settings())
        assert container is not None
        container.password_cost = CHEAP
        with Client(load_api().app) as client:
            api = Api(client)
            ids, credentials = _merchant_with_people(api, "Merchant A")
            other_ids, _ = _merchant_with_people(api, "Merchant B")
            from tests.functional.api.conftest import ADMIN_KEY

            yield World(api, ids, other_ids, {**credentials, Role.PLATFORM_ADMIN: ADMIN_KEY})
        bootstrap.reset()


def _fill(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


def _cases() -> list[tuple[Role, str, str]]:
    return [
        (role, method, path)
        for method, path in ROUTES
        for role in (Role.MERCHANT_ADMIN, Role.SUPERVISOR, Role.AGENT)
        if policy.ROUTE_ROLES[(method, path)] and role not in policy.ROUTE_ROLES[(method, path)]
    ]


@pytest.mark.parametrize(("role", "method", "path"), _cases(), ids=lambda v: str(v))
def test_a_role_the_table_leaves_out_gets_403(world: World, role: Role, method: str, path: str) -> None:
    body: Any = {} if method in ("POST", "PUT", "PATCH") else None
    reply = world.api.call(method, _fill(path, world.ids), body, key=world.credentials[role])
    assert (reply.status, reply.error["code"]) == (403, "forbidden"), reply.body


@pytest.mark.parametrize("role", [Role.MERCHANT_ADMIN, Role.SUPERVISOR, Role.AGENT])
def test_another_merchants_ids_stay_404_for_every_role(world: World, role: Role) -> None:
    for method, path in ROUTES:
        allowed = policy.ROUTE_ROLES[(method, path)]
        if role not in allowed or "{merchant_id}" not in path or method != "GET":
            continue
        reply = world.api.get(_fill(path, world.other_ids), key=world.credentials[role])
        assert (reply.status, reply.error["code"]) == (404, "not_found"), (path, reply.body)


def test_an_agent_reads_and_changes_its_own_seat_only(world: World) -> None:
    api, ids, token = world.api, world.ids, world.credentials[Role.AGENT]
    own = f"/merchants/{ids['merchant_id']}/seats/{ids['seat_id']}/state"
    assert api.put(own, {"state": "not_ready", "reason": "break"}, key=token).body["state"] == "not_ready"
    assert api.get(own, key=token).body["reason"] == "break"
    # Another seat of the same merchant: forbidden, read or write.
    admin_key = world.credentials[Role.MERCHANT_ADMIN]
    other = api.seat(ids["merchant_id"], admin_key)["seat_id"]
    other_state = f"/merchants/{ids['merchant_id']}/seats/{other}/state"
    assert api.get(other_state, key=token).status == 403
    refused = api.put(other_state, {"state": "available"}, key=token)
    assert (refused.status, refused.error["field"]) == (403, "seat_id")
    assert api.get(other_state, key=admin_key).body["state"] == "offline"
    # Nor any merchant setting.
    assert api.get(f"/merchants/{ids['merchant_id']}", key=token).status == 403
    assert api.get(f"/merchants/{ids['merchant_id']}/queues/{ids['queue_id']}", key=token).status == 403


def test_a_supervisor_reads_its_queues_and_their_seats_and_nothing_else(world: World) -> None:
    api, ids, token = world.api, world.ids, world.credentials[Role.SUPERVISOR]
    merchant = f"/merchants/{ids['merchant_id']}"
    assert api.get(f"{merchant}/queues/{ids['queue_id']}/stats", key=token).status == 200
    assert api.get(f"{merchant}/seats/{ids['seat_id']}/state", key=token).status == 200
    admin_key = world.credentials[Role.MERCHANT_ADMIN]
    elsewhere = api.queue(ids["merchant_id"], admin_key, name="Sales")
    seat_elsewhere = api.seat(ids["merchant_id"], admin_key, queue_ids=[elsewhere])["seat_id"]
    assert api.get(f"{merchant}/queues/{elsewhere}/stats", key=token).status == 403
    assert api.get(f"{merchant}/seats/{seat_elsewhere}/state", key=token).status == 403
    listed = api.get(f"{merchant}/seats", key=token).body["items"]
    assert [seat["seat_id"] for seat in listed] == [ids["seat_id"]]  # not the one serving Sales
    assert len(api.get(f"{merchant}/seats", key=admin_key).body["items"]) > 1
    # Watching is not steering: a supervisor does not set an agent's state.
    assert (
        api.put(f"{merchant}/seats/{ids['seat_id']}/state", {"state": "available"}, key=token).status == 403
    )


def test_me_says_who_the_credentials_are(world: World) -> None:
    me = world.api.get("/auth/me", key=world.credentials[Role.AGENT]).body
    assert me == {
        "role": "agent",
        "merchant_id": world.ids["merchant_id"],
        "user_id": "ana",
        "seat_id": world.ids["seat_id"],
        "queue_ids": [],
    }
    assert (
        world.api.get("/auth/me", key=world.credentials[Role.MERCHANT_ADMIN]).body["role"] == "merchant_admin"
    )


def test_wrong_password_unknown_user_and_other_merchant_all_answer_the_same_401(world: World) -> None:
    ids = world.ids
    attempts = [
        {"merchant_id": ids["merchant_id"], "user_id": "ana", "password": PASSWORD + "!"},
        {"merchant_id": ids["merchant_id"], "user_id": "nobody", "password": PASSWORD},
        {"merchant_id": world.other_ids["merchant_id"], "user_id": "nobody", "password": PASSWORD},
    ]
    replies = [world.api.post("/auth/sign-in", body, key=None) for body in attempts]
    assert {(r.status, r.error["message"]) for r in replies} == {
        (401, "the merchant, user or password is not valid")
    }


def test_an_invite_sets_the_password_once_and_signs_in(world: World) -> None:
    api, ids, admin_key = world.api, world.ids, world.credentials[Role.MERCHANT_ADMIN]
    created = api.post(
        f"/merchants/{ids['merchant_id']}/users",
        {"user_id": "newbie", "role": "supervisor", "queue_ids": [ids["queue_id"]]},
        key=admin_key,
    )
    assert created.status == 201 and created.body["password_set"] is False
    invite = created.body["invite"]["invite_token"]
    accepted = api.post("/auth/invites/accept", {"token": invite, "password": PASSWORD}, key=None)
    assert accepted.status == 200 and accepted.body["role"] == "supervisor"
    assert api.get("/auth/me", key=accepted.body["token"]).body["queue_ids"] == [ids["queue_id"]]
    again = api.post("/auth/invites/accept", {"token": invite, "password": PASSWORD + "2"}, key=None)
    assert again.status == 401
    assert _sign_in(api, ids["merchant_id"], "newbie").startswith("sbt_")
    user = api.get(f"/merchants/{ids['merchant_id']}/users/newbie", key=admin_key).body
    assert user["password_set"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "x1", "role": "agent", "seat_id": "seat_nope"}, "seat_id"),
        ({"user_id": "x2", "role": "supervisor", "queue_ids": ["q_nope"]}, "queue_ids"),
        ({"user_id": "x3", "role": "merchant_admin"}, "role"),
        ({"user_id": "x4", "role": "agent", "seat_id": "s", "password": "short"}, "password"),
    ],
)
def test_a_user_names_only_what_its_merchant_has(world: World, body: dict[str, Any], field: str) -> None:
    reply = world.api.post(
        f"/merchants/{world.ids['merchant_id']}/users", body, key=world.credentials[Role.MERCHANT_ADMIN]
    )
    assert (reply.status, reply.error["field"]) == (400, field)


def test_an_agent_signs_out_and_leaves_every_queues_availability(world: World) -> None:
    from contact_center.data.availability import available_for_queue

    api, ids, token = world.api, world.ids, world.credentials[Role.AGENT]
    state = f"/merchants/{ids['merchant_id']}/seats/{ids['seat_id']}/state"
    assert api.put(state, {"state": "available"}, key=token).body["state"] == "available"
    assert [e.seat_id for e in available_for_queue(ids["merchant_id"], ids["queue_id"], None)] == [
        ids["seat_id"]
    ]
    signed_out = api.put(state, {"state": "offline"}, key=token)
    assert (signed_out.status, signed_out.body["state"]) == (200, "offline")
    assert available_for_queue(ids["merchant_id"], ids["queue_id"], None) == []
    # From not ready too, and again (a no-op).
    api.put(state, {"state": "not_ready", "reason": "lunch"}, key=token)
    assert api.put(state, {"state": "offline"}, key=token).body["state"] == "offline"
    assert api.put(state, {"state": "offline"}, key=token).body["state"] == "offline"


def test_guessing_a_password_is_throttled_per_user_even_with_the_right_one() -> None:
    with mock_aws():
        fresh_table(None)
        clock = Clock()
        container = bootstrap.reset(api_settings(), clock)
        assert container is not None
        container.password_cost = CHEAP
        with Client(load_api().app) as client:
            api = Api(client)
            ids, _ = _merchant_with_people(api, "Guessed")
            body = {"merchant_id": ids["merchant_id"], "user_id": "ana", "password": "wrong guess!"}
            # Given ten wrong guesses in one quarter hour
            assert {api.post("/auth/sign-in", body, key=None).status for _ in range(10)} == {401}
            # Then even the right password waits for the next window, which the answer names
            right = {**body, "password": PASSWORD}
            throttled = api.post("/auth/sign-in", right, key=None)
            assert (throttled.status, throttled.error["code"]) == (429, "too_many_attempts")
            assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
            # Another user of the merchant is not held up
            other = {**right, "user_id": "sam"}
            assert api.post("/auth/sign-in", other, key=None).status == 200
            clock.now += int(throttled.headers["Retry-After"]) * 1000
            assert api.post("/auth/sign-in", right, key=None).status == 200
        bootstrap.reset()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now
