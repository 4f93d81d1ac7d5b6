"""A registration storm's reads: many seats' credentials and many AORs' bindings in few requests.

Credentials against moto and AWS DynamoDB Local (``any_table``); bindings against DynamoDB Local
alone (moto answers a PartiQL ``IN`` with the first key's items only). Requests are counted on the
data layer's own request path (its ``before-send`` event, emitted once per request sent).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from contact_center.aws.dynamodb import shared_client
from contact_center.data import table
from contact_center.data.seats import new_sip_user
from sip_edge.app.adapters.tables import TableBindingStore, TableCredentialSource
from sip_edge.sip.registration import Binding
from tests.support.dynamodb import fresh_table

NOW = 1_790_000_000
REALM = "sip.test"


@pytest.fixture
def local_table(dynamodb_local_endpoint: str) -> str:
    return fresh_table(dynamodb_local_endpoint)


@pytest.fixture
def requests() -> Iterator[Counter[str]]:
    """Requests sent to the table the test's table fixture (named before this one) bound."""
    counted: Counter[str] = Counter()
    events = shared_client(table.BINDING.region, table.BINDING.host).meta.events

    def count(event_name: str, **kwargs: Any) -> None:
        counted[event_name.rsplit(".", 1)[-1]] += 1

    events.register("before-send.dynamodb", count)
    yield counted
    events.unregister("before-send.dynamodb", count)


def _binding(n: int, expires_at: float, owner: str = "edge-a") -> Binding:
    return Binding(
        aor=f"sip:seat{n:04d}@{REALM}",
        key=f"{n:032x}",
        contact_uri=f"sip:seat{n:04d}@192.0.2.{n % 250}:5060",
        expires_at=expires_at,
        received=f"192.0.2.{n % 250}:5060",
        transport="UDP",
        flow_owner=owner,
        call_id=f"call-{n}",
        cseq=1,
    )


def test_credentials_of_250_seats_take_three_requests(any_table: str, requests: Counter[str]) -> None:
    # Given 250 seats, and two names that are no seat
    for n in range(250):
        new_sip_user(f"seat{n:04d}", "m1", f"s{n}", REALM, {"MD5": f"{n:032x}"}).save()
    names = [f"seat{n:04d}" for n in range(250)] + ["nobody", "ghost"]
    requests.clear()
    # When their credentials are read as a storm's first registrations read them
    found = TableCredentialSource().ha1s_many(names)
    # Then every seat's HA1s come back, the unknown names as None, in ceil(252 / 100) requests
    assert {name: found[name] for name in names[:250]} == {
        f"seat{n:04d}": {"MD5": f"{n:032x}"} for n in range(250)
    }
    assert found["nobody"] is None and found["ghost"] is None
    assert requests == Counter({"BatchGetItem": 3})


@pytest.mark.dynamodb_local
def test_bindings_of_120_aors_take_three_requests_and_skip_expired_ones(
    local_table: str, requests: Counter[str]
) -> None:
    # Given 120 AORs with a live binding, one AOR with two devices, one whose binding has expired
    store = TableBindingStore()
    live = [_binding(n, NOW + 600) for n in range(120)]
    second = dataclasses.replace(live[0], key="f" * 32, contact_uri="sip:seat0000@192.0.2.99:5060")
    expired = _binding(500, NOW - 1)
    store.write([*live, second, expired], [])
    aors = [b.aor for b in live] + [expired.aor, "sip:nobody@sip.test"]
    requests.clear()
    # When they are read together
    found = store.load_many(aors, NOW)
    # Then each AOR has its bindings, in ceil(122 / 50) requests (more only when DynamoDB pages)
    assert sorted(found[live[0].aor], key=lambda b: b.key) == sorted([live[0], second], key=lambda b: b.key)
    assert all(found[b.aor] == [b] for b in live[1:])
    assert found[expired.aor] == [] and found["sip:nobody@sip.test"] == []
    assert set(requests) == {"ExecuteStatement"} and requests["ExecuteStatement"] == 3
