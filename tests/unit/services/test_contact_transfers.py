"""Who may transfer which contact over the API: an agent its own current call, a supervisor its
queues' calls, an admin any of the merchant's; everyone else hears 404, as for an unknown id."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from contact_center.domain.access import Principal, Role
from contact_center.domain.contact import ContactSnapshot, ContactState
from contact_center.services.contact_transfers import ContactTransfers, TransferRefusedError, TransferTarget
from contact_center.services.errors import NotFoundError
from contact_center.services.routing.ports import LiveContact

TARGET = TransferTarget("queue_id", "q-sales")


@dataclass(frozen=True)
class Answer:
    status: int
    warning: str | None = None


class Edge:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def transfer(self, edge_task_id: str, contact_id: str, target: str) -> Answer:
        self.sent.append((edge_task_id, contact_id, target))
        return Answer(202)


class Contacts:
    def __init__(self, *contacts: LiveContact) -> None:
        self.contacts = {c.contact_id: c for c in contacts}

    def get(self, contact_id: str) -> LiveContact | None:
        return self.contacts.get(contact_id)


def talking(
    contact_id: str, seat_id: str, queue_id: str, state: ContactState = ContactState.CONNECTED
) -> LiveContact:
    snapshot = ContactSnapshot(contact_id, state=state, queue_id=queue_id, seat_id=seat_id)
    return LiveContact(snapshot, "+15550100", "+4930123", merchant_id="m1", edge_task_id="edge-1")


AGENT = Principal(Role.AGENT, "m1", user_id="u1", seat_id="s1")
SUPERVISOR = Principal(Role.SUPERVISOR, "m1", user_id="u2", queue_ids=frozenset({"q1"}))
ADMIN = Principal(Role.MERCHANT_ADMIN, "m1", key_id="k1")


@pytest.mark.parametrize(
    ("principal", "contact_id", "allowed"),
    [
        (AGENT, "mine", True),
        (AGENT, "theirs", False),
        (SUPERVISOR, "mine", True),
        (SUPERVISOR, "other-queue", False),
        (ADMIN, "other-queue", True),
    ],
)
def test_each_role_reaches_only_the_contacts_of_its_scope(
    principal: Principal, contact_id: str, allowed: bool
) -> None:
    edge = Edge()
    service = ContactTransfers(
        Contacts(
            talking("mine", "s1", "q1"), talking("theirs", "s2", "q1"), talking("other-queue", "s3", "q2")
        ),
        edge,
    )
    if allowed:
        service.transfer(principal, "m1", contact_id, TARGET)
        assert edge.sent == [("edge-1", contact_id, "q-sales")]
    else:
        with pytest.raises(NotFoundError):
            service.transfer(principal, "m1", contact_id, TARGET)
        assert edge.sent == []


def test_a_contact_of_another_merchant_is_unknown_and_one_not_talking_is_refused() -> None:
    edge = Edge()
    service = ContactTransfers(
        Contacts(talking("c1", "s1", "q1"), talking("q", "s1", "q1", ContactState.QUEUED)), edge
    )
    with pytest.raises(NotFoundError):
        service.transfer(ADMIN, "m2", "c1", TARGET)
    with pytest.raises(TransferRefusedError) as refused:
        service.transfer(ADMIN, "m1", "q", TARGET)
    assert refused.value.state == "queued"
    # The agent's own contact no longer talking is no current contact of its: unknown to it.
    with pytest.raises(NotFoundError):
        service.transfer(AGENT, "m1", "q", TARGET)
    assert edge.sent == []
