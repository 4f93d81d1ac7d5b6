"""Named errors of the domain; outer layers map them to HTTP statuses and SIP responses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises, so adapters can catch the whole family at once."""


class ValidationError(DomainError):
    """A value from outside (API body, configuration) breaks a rule; maps to HTTP 400/422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class IllegalTransitionError(DomainError):
    """A state machine has no row for (current state, trigger); maps to HTTP 409."""

    def __init__(self, entity: str, entity_id: str, state: str, trigger: str) -> None:
        super().__init__(f"{entity} {entity_id!r} cannot {trigger!r} while {state!r}")
        self.entity = entity
        self.entity_id = entity_id
        self.state = state
        self.trigger = trigger


class ContactMismatchError(DomainError):
    """A command names a contact other than the one the agent holds.

    Timers and SIP events arrive late and out of order (a ring timeout for an offer that was already
    answered elsewhere); refusing them keeps a stale event from moving the agent's current contact.
    """

    def __init__(self, seat_id: str, expected: str | None, actual: str) -> None:
        super().__init__(f"seat {seat_id!r} holds contact {expected!r}, not {actual!r}")
        self.seat_id = seat_id
        self.expected = expected
        self.actual = actual


class SeatLicenceExhaustedError(DomainError):
    """Every purchased seat licence is in use; creating one more seat is refused."""

    def __init__(self, licensed: int, used: int) -> None:
        super().__init__(f"all {licensed} seat licences are in use ({used} used)")
        self.licensed = licensed
        self.used = used


class LicenceBelowUsageError(DomainError):
    """A licence reduction would leave more seats than licences; seats must be removed first."""

    def __init__(self, used: int, to_remove: int) -> None:
        super().__init__(f"{used} seats are in use: remove {to_remove} before lowering the licence count")
        self.used = used
        self.to_remove = to_remove


class SeatMismatchError(DomainError):
    """A command about a contact's offer names an agent other than the one the contact was offered to."""

    def __init__(self, contact_id: str, expected: str | None, actual: str) -> None:
        super().__init__(f"contact {contact_id!r} is offered to {expected!r}, not {actual!r}")
        self.contact_id = contact_id
        self.expected = expected
        self.actual = actual
