"""The error family: one base, every name ending in Error."""

from __future__ import annotations

import inspect

import pytest

from contact_center.domain import errors

ERROR_CLASSES = [
    cls for _, cls in inspect.getmembers(errors, inspect.isclass) if cls.__module__ == errors.__name__
]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_is_a_named_domain_error(cls: type) -> None:
    assert cls.__name__.endswith("Error")
    assert issubclass(cls, errors.DomainError)


def test_illegal_transition_message() -> None:
    error = errors.IllegalTransitionError("agent", "seat-1", "on_contact", "go_available")
    assert str(error) == "agent 'seat-1' cannot 'go_available' while 'on_contact'"
