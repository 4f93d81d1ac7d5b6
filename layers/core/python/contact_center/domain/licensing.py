"""Seat licences: a merchant may run as many seats as it has purchased, never more.

These checks state the rule and name the error; the data layer enforces the same rule atomically
(a transaction conditioned on the counter), since a read-then-check here alone could race.
"""

from __future__ import annotations

from .errors import LicenceBelowUsageError, SeatLicenceExhaustedError, ValidationError


def _check_count(field: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(field, "must be a non-negative integer")


def seats_remaining(licensed: int, used: int) -> int:
    _check_count("licensed", licensed)
    _check_count("used", used)
    return max(licensed - used, 0)


def check_seat_allowed(licensed: int, used: int) -> None:
    """Allow one more seat when ``used`` seats exist; SeatLicenceExhaustedError otherwise."""
    if seats_remaining(licensed, used) == 0:
        raise SeatLicenceExhaustedError(licensed, used)


def check_licence_change(new_licensed: int, used: int) -> None:
    """Allow changing the purchased count to ``new_licensed`` unless it drops below usage.

    Seats are never removed implicitly: which agents lose their seat is the merchant's decision,
    so the error tells how many seats must be removed first.
    """
    _check_count("licensed", new_licensed)
    _check_count("used", used)
    if new_licensed < used:
        raise LicenceBelowUsageError(used, used - new_licensed)
