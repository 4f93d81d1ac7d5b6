"""Transfers over the API: the contact as the caller's scope sees it, the body's target by field,
and the answer of the edge task holding the call (a fake here; tests/sip has the real exchange)."""

from __future__ import annotations

from dataclasses import dataclass

from contact_center import bootstrap
from contact_center.data.repositories.contacts import LiveContactRepository
from contact_center.services.contact_transfers import ContactTransfers
from tests.functional.api.conftest import Api
from tests.functional.api.test_seat_release import seat_on_a_call


@dataclass(frozen=True)
class Answer:
    status: int
    warning: str | None = None


class FakeEdge:
    def __init__(self, answer: Answer | None) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str, str]] = []

    def transfer(self, edge_task_id: str, contact_id: str, target: str) -> Answer | None:
        self.sent.append((edge_task_id, contact_id, target))
        return self.answer


def edge_answering(answer: Answer | None) -> FakeEdge:
    edge = FakeEdge(answer)
    bootstrap.services().__dict__["contact_transfers"] = ContactTransfers(LiveContactRepository(), edge)
    return edge


def path(call: dict[str, str], contact_id: str = "c-stuck") -> str:
    return f"/merchants/{call['merchant_id']}/contacts/{contact_id}/transfer"


def test_a_transfer_accepted_by_the_edge_is_202(api: Api) -> None:
    call = seat_on_a_call(api, answered=True)
    edge = edge_answering(Answer(202))
    reply = api.post(path(call), {"target": {"queue_id": "q-sales"}}, key=call["key"])
    assert reply.status == 202, reply.body
    assert reply.body == {"contact_id": "c-stuck", "target": {"queue_id": "q-sales"}, "status": "accepted"}
    assert edge.sent == [("edge-gone", "c-stuck", "q-sales")]


def test_bad_targets_are_400_naming_the_field(api: Api) -> None:
    call = seat_on_a_call(api, answered=True)
    edge = edge_answering(Answer(404, "no queue, seat or number named 'q-none'"))
    cases = {
        "target": {},
        "target.queue": {"target": {"queue": "x"}},
        "target.number": {"target": {"number": "not a number"}},
        "target.seat_id": {"target": {"seat_id": ""}},
    }
    for field, body in cases.items():
        reply = api.post(path(call), body, key=call["key"])
        assert (reply.status, reply.error["field"]) == (400, field), (field, reply.body)
    assert edge.sent == []
    # A target that names nothing of the merchant: the edge's router says so, for that field.
    reply = api.post(path(call), {"target": {"queue_id": "q-none"}}, key=call["key"])
    assert (reply.status, reply.error["field"]) == (400, "target.queue_id")
    assert "q-none" in reply.error["message"]


def test_an_unknown_contact_is_404_and_one_not_talking_is_409(api: Api) -> None:
    ringing = seat_on_a_call(api, answered=False)
    edge = edge_answering(Answer(202))
    assert api.post(path(ringing, "c-none"), {"target": {"queue_id": "q"}}, key=ringing["key"]).status == 404
    reply = api.post(path(ringing), {"target": {"queue_id": "q"}}, key=ringing["key"])
    assert (reply.status, reply.error["code"], reply.error["current_state"]) == (
        409,
        "transfer_refused",
        "offered",
    )
    assert edge.sent == []
    # Another merchant's contact is unknown to this one.
    other_merchant, other_key = api.merchant(name="Other")
    other = {"merchant_id": other_merchant}
    assert api.post(path(other), {"target": {"queue_id": "q"}}, key=other_key).status == 404


def test_an_edge_that_does_not_answer_is_503_and_a_busy_seat_409(api: Api) -> None:
    call = seat_on_a_call(api, answered=True)
    edge_answering(None)
    reply = api.post(path(call), {"target": {"seat_id": "s-2"}}, key=call["key"])
    assert (reply.status, reply.headers.get("Retry-After")) == (503, "1")
    edge_answering(Answer(486, "seat s-2 is not available"))
    reply = api.post(path(call), {"target": {"seat_id": "s-2"}}, key=call["key"])
    assert (reply.status, reply.error["message"]) == (409, "seat s-2 is not available")
