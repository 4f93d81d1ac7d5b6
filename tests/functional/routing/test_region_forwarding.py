"""Two regions: the routing function sends the edge's report about a contact this replica does not
have (yet) to the other region, where the contact's merchant's home may have created it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contact_center import bootstrap
from contact_center.data.failover import ReplicationMarkItems

from .conftest import DOMAIN, NOW
from .test_handlers import invoke

REPORT = {"action": "offer_result", "contact_id": "made-in-west", "seat_id": "a1", "outcome": "answered"}


class FakeHomeRegion:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, region: str, event: dict[str, Any]) -> dict[str, Any]:
        self.asked.append((region, dict(event)))
        return self.answer


@pytest.fixture
def east(moto_table: str) -> Iterator[None]:
    settings = bootstrap.Settings(
        sip_domain=DOMAIN, region="east", region_endpoints=(("east", "http://e"), ("west", "http://w"))
    )
    bootstrap.reset(settings, clock=lambda: NOW)
    yield
    bootstrap.reset()


def use(home: FakeHomeRegion | SilentRegion) -> None:
    bootstrap.services().__dict__["home_region"] = home  # the cached property's slot


def test_a_report_about_a_contact_this_replica_lacks_is_answered_by_the_other_region(east: None) -> None:
    west = FakeHomeRegion({"decision": "ack", "contact_id": "made-in-west", "state": "connected"})
    use(west)

    answer = invoke(REPORT)

    assert answer["decision"] == "ack" and answer["state"] == "connected"
    assert west.asked == [("west", {**REPORT, "forwarded": True})]


def test_a_contact_no_region_has_is_not_found_and_a_forwarded_report_is_not_sent_on(east: None) -> None:
    west = FakeHomeRegion({"error": {"code": "not_found", "message": "contact", "retryable": False}})
    use(west)

    assert invoke(REPORT)["error"]["code"] == "not_found"
    assert invoke({**REPORT, "forwarded": True})["error"]["code"] == "not_found"
    assert len(west.asked) == 1


class SilentRegion:
    def invoke(self, region: str, event: dict[str, Any]) -> dict[str, Any]:
        raise TimeoutError(f"{region} did not answer")


def test_a_report_about_a_contact_this_replica_lacks_is_retried_while_the_other_region_is_silent(
    east: None,
) -> None:
    use(SilentRegion())

    error = invoke(REPORT)["error"]

    assert error["code"] == "home_unreachable" and error["retryable"] is True


def test_a_region_answers_with_another_regions_replication_mark_as_its_replica_has_it(east: None) -> None:
    assert invoke({"action": "replication_mark", "region": "west"}) == {"region": "west", "mark_ms": None}
    ReplicationMarkItems().mark("west", NOW)  # replicated here from west
    ReplicationMarkItems().mark("west", NOW + 500)

    assert invoke({"action": "replication_mark", "region": "west"}) == {
        "region": "west",
        "mark_ms": NOW + 500,
    }
    assert invoke({"action": "replication_mark"})["error"]["code"] == "invalid_request"
