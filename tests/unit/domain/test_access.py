"""Roles and the scope each carries: who reaches which seat and which queue inside a merchant."""

from __future__ import annotations

import pytest

from contact_center.domain.access import PLATFORM_ADMIN, Principal, Role

MERCHANT_ADMIN = Principal(Role.MERCHANT_ADMIN, "m1", key_id="k1")
SUPERVISOR = Principal(Role.SUPERVISOR, "m1", user_id="sam", queue_ids=frozenset({"q1", "q2"}))
AGENT = Principal(Role.AGENT, "m1", user_id="ana", seat_id="s1")


def test_an_agent_reaches_its_own_seat_only_and_no_queue() -> None:
    assert AGENT.may_reach_seat("s1") and not AGENT.may_reach_seat("s2")
    assert not AGENT.may_reach_queue("q1")


def test_a_supervisor_reaches_its_queues_and_the_seats_serving_them() -> None:
    assert SUPERVISOR.may_reach_queue("q1") and not SUPERVISOR.may_reach_queue("q3")
    assert SUPERVISOR.may_reach_seat_serving("s9", {"q2", "q7"})
    assert not SUPERVISOR.may_reach_seat_serving("s9", {"q3"})
    assert not SUPERVISOR.may_reach_seat("s9")  # without the seat's queues: no


@pytest.mark.parametrize("admin", [PLATFORM_ADMIN, MERCHANT_ADMIN])
def test_admins_reach_every_seat_and_queue(admin: Principal) -> None:
    assert admin.may_reach_seat("any") and admin.may_reach_queue("any")
    assert admin.may_reach_seat_serving("any", set())


def test_scopes_keep_callers_idempotency_keys_apart() -> None:
    assert {PLATFORM_ADMIN.scope, MERCHANT_ADMIN.scope, SUPERVISOR.scope, AGENT.scope} == {
        "admin",
        "merchant:m1",
        "user:m1:sam",
        "user:m1:ana",
    }


@pytest.mark.parametrize(
    "build",
    [
        lambda: Principal(Role.MERCHANT_ADMIN),  # a merchant role without a merchant
        lambda: Principal(Role.PLATFORM_ADMIN, "m1"),  # the platform admin inside one merchant
        lambda: Principal(Role.AGENT, "m1", user_id="ana"),  # an agent without its seat
    ],
)
def test_impossible_principals_cannot_be_built(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
