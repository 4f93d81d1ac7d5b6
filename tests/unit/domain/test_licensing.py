"""Seat licences."""

from __future__ import annotations

import pytest

from contact_center.domain.errors import LicenceBelowUsageError, SeatLicenceExhaustedError, ValidationError
from contact_center.domain.licensing import check_licence_change, check_seat_allowed, seats_remaining


@pytest.mark.parametrize(("licensed", "used"), [(1, 0), (5000, 4999), (10, 3)])
def test_a_seat_is_allowed_below_the_licence(licensed: int, used: int) -> None:
    check_seat_allowed(licensed, used)


@pytest.mark.parametrize(("licensed", "used"), [(0, 0), (10, 10), (10, 12)])
def test_no_seat_beyond_the_licence(licensed: int, used: int) -> None:
    with pytest.raises(SeatLicenceExhaustedError) as raised:
        check_seat_allowed(licensed, used)
    assert (raised.value.licensed, raised.value.used) == (licensed, used)
    assert str(raised.value) == f"all {licensed} seat licences are in use ({used} used)"


@pytest.mark.parametrize(("new_licensed", "used"), [(10, 10), (20, 10), (0, 0)])
def test_licence_change_allowed(new_licensed: int, used: int) -> None:
    check_licence_change(new_licensed, used)


@pytest.mark.parametrize(("new_licensed", "used", "to_remove"), [(8, 10, 2), (0, 3, 3)])
def test_licence_cannot_drop_below_usage(new_licensed: int, used: int, to_remove: int) -> None:
    with pytest.raises(LicenceBelowUsageError) as raised:
        check_licence_change(new_licensed, used)
    assert (raised.value.used, raised.value.to_remove) == (used, to_remove)
    assert f"remove {to_remove}" in str(raised.value)


@pytest.mark.parametrize(("licensed", "used"), [(-1, 0), (1, -1), (True, 0)])
def test_counts_must_be_non_negative_integers(licensed: int, used: int) -> None:
    with pytest.raises(ValidationError):
        check_seat_allowed(licensed, used)
    with pytest.raises(ValidationError):
        check_licence_change(licensed, used)


def test_seats_remaining() -> None:
    assert seats_remaining(10, 3) == 7
    assert seats_remaining(10, 12) == 0
