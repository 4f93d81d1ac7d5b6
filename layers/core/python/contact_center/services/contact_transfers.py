"""Transfers over the API (the web desk): a caller handed on by the edge task holding its call.

    POST /merchants/{id}/contacts/{contact_id}/transfer {"target": {"queue_id"|"seat_id"|"number": ..}}
      the contact, seen from the caller's scope (an agent: its own current contact; a supervisor:
      its queues' contacts; a merchant admin: any) -> 404 otherwise
      not talking (not connected to an agent, or held by no edge task) -> 409
      a signed command to the task holding the call (``contracts.offer_push``), which runs the
      blind transfer a REFER would and answers with the router's verdict:
        202 -> accepted (the agent is let go into wrap-up, the caller moves on)
        404 -> the target names nothing of the merchant: 400 naming the target's field
        409, 481, 486 -> 409 (the call moved, ended, or the seat is not free), with why
        no answer -> 503

The edge decides with the router exactly as for a REFER, so a transfer from the desk and one from
the agent's phone cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.domain.access import Principal, Role
from contact_center.domain.contact import ContactState
from contact_center.domain.errors import ValidationError

from .errors import NotFoundError, ServiceError
from .routing.dialout import dialled_number
from .routing.ports import LiveContact

__all__ = [
    "TARGET_KINDS",
    "ContactTransfers",
    "EdgeAnswer",
    "EdgeCommandPort",
    "TransferRefusedError",
    "TransferTarget",
    "TransferUnavailableError",
    "parse_transfer",
]

TARGET_KINDS = ("queue_id", "seat_id", "number")
MAX_TARGET_LENGTH = 128


class TransferRefusedError(ServiceError):
    """The call could not be handed on now (409): it is not talking, or the target is not free."""

    def __init__(self, message: str, state: str | None = None) -> None:
        super().__init__(message)
        self.state = state


class TransferUnavailableError(ServiceError):
    """The edge task holding the call did not answer (503): the caller stays with its agent."""


@dataclass(frozen=True, slots=True)
class TransferTarget:
    kind: str  # one of TARGET_KINDS
    value: str

    @property
    def field(self) -> str:
        return f"target.{self.kind}"


def parse_transfer(body: Any) -> TransferTarget:
    """The body's target; ValidationError naming the field otherwise."""
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    target = body.get("target")
    if not isinstance(target, Mapping):
        raise ValidationError("target", "must be an object naming one of queue_id, seat_id, number")
    for name in target:
        if name not in TARGET_KINDS:
            raise ValidationError(
                f"target.{name}", "is not a transfer target: use queue_id, seat_id or number"
            )
    named = [kind for kind in TARGET_KINDS if kind in target]
    if len(named) != 1:
        raise ValidationError("target", "must name exactly one of queue_id, seat_id, number")
    kind = named[0]
    value = target[kind]
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_TARGET_LENGTH:
        raise ValidationError(f"target.{kind}", f"must be a string of 1 to {MAX_TARGET_LENGTH} characters")
    if kind == "number" and dialled_number(value) is None:
        raise ValidationError("target.number", f"{value!r} is not a phone number")
    return TransferTarget(kind, value.strip())


class EdgeAnswer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def warning(self) -> str | None: ...


class EdgeCommandPort(Protocol):
    def transfer(self, edge_task_id: str, contact_id: str, target: str) -> EdgeAnswer | None:
        """The task's answer to a transfer command, None when it did not answer."""
        ...


class ContactReader(Protocol):
    def get(self, contact_id: str) -> LiveContact | None: ...


def _in_scope(principal: Principal, contact: LiveContact) -> bool:
    snapshot = contact.snapshot
    if principal.role is Role.AGENT:
        return snapshot.seat_id == principal.seat_id and snapshot.state is ContactState.CONNECTED
    if principal.role is Role.SUPERVISOR:
        return snapshot.queue_id is not None and snapshot.queue_id in principal.queue_ids
    return True


class ContactTransfers:
    def __init__(self, contacts: ContactReader, edge: EdgeCommandPort | None) -> None:
        self._contacts = contacts
        self._edge = edge

    def transfer(
        self, principal: Principal, merchant_id: str, contact_id: str, target: TransferTarget
    ) -> None:
        """Hand the caller of ``contact_id`` to ``target``; returns once the edge accepted it."""
        contact = self._contacts.get(contact_id)
        if contact is None or contact.merchant_id != merchant_id or not _in_scope(principal, contact):
            raise NotFoundError("contact", contact_id)
        state = contact.snapshot.state
        if state is not ContactState.CONNECTED or contact.edge_task_id is None:
            raise TransferRefusedError(f"contact {contact_id} is not talking to an agent", state.value)
        if self._edge is None:
            raise TransferUnavailableError("this deployment has no way to reach the edge tasks")
        answer = self._edge.transfer(contact.edge_task_id, contact_id, target.value)
        if answer is None:
            raise TransferUnavailableError(f"the edge task holding contact {contact_id} did not answer")
        if 200 <= answer.status < 300:
            return
        reason = answer.warning or f"refused with {answer.status}"
        if answer.status == 404:
            raise ValidationError(target.field, reason)
        if answer.status in (409, 481, 486, 487, 491):
            raise TransferRefusedError(reason)
        raise TransferUnavailableError(reason)
