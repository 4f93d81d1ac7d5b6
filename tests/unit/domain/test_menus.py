"""A number's menu: its validation (naming the field) and what each digit or timeout leads to."""

from __future__ import annotations

from typing import Any

import pytest

from contact_center.domain.errors import ValidationError
from contact_center.domain.menus import Menu, MenuChoice, MenuStep, StepKind, menu_step

MENU = Menu("main-menu", "general", {"1": "sales", "2": "support"}, timeout_seconds=5, retries=1)


def test_a_menu_digit_routes_to_its_queue() -> None:
    assert menu_step(MENU, 0, "2") == MenuStep(StepKind.ROUTE, "support", 0, "chosen", "2")


def test_an_invalid_digit_replays_the_menu_until_the_retries_are_spent_then_the_default() -> None:
    first = menu_step(MENU, 0, "9")
    assert first == MenuStep(StepKind.REPLAY, None, 1, "invalid", "9")
    assert menu_step(MENU, first.invalid, "#") == MenuStep(StepKind.ROUTE, "general", 2, "invalid", "#")
    # A valid digit after an invalid one still chooses.
    assert menu_step(MENU, first.invalid, "1") == MenuStep(StepKind.ROUTE, "sales", 1, "chosen", "1")


def test_no_digit_before_the_timeout_routes_to_the_default_queue() -> None:
    assert menu_step(MENU, 0, None) == MenuStep(StepKind.ROUTE, "general", 0, "timeout")


def test_a_menu_reads_back_from_its_dict_and_lists_its_queues() -> None:
    assert Menu.from_dict(MENU.to_dict()) == MENU
    assert MENU.queue_ids() == {"general", "sales", "support"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prompt": "../etc/passwd"}, "menu.prompt"),
        ({"default_queue": ""}, "menu.default_queue"),
        ({"options": {}}, "menu.options"),
        ({"options": {"12": "sales"}}, "menu.options"),
        ({"options": {"A": "sales"}}, "menu.options"),
        ({"options": {"1": ""}}, "menu.options.1"),
        ({"timeout_seconds": 0}, "menu.timeout_seconds"),
        ({"timeout_seconds": True}, "menu.timeout_seconds"),
        ({"retries": 6}, "menu.retries"),
        ({"colour": "blue"}, "menu.colour"),
    ],
)
def test_a_menu_that_breaks_a_rule_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Menu.from_dict({**MENU.to_dict(), **change})
    assert refused.value.field == field


def test_a_choice_routes_to_its_queue_while_the_menu_offers_it_else_to_the_default() -> None:
    assert MenuChoice("support", "chosen", "2").queue_in(MENU) == "support"
    assert MenuChoice("general", "timeout").queue_in(MENU) == "general"
    # The menu changed while the caller chose, or the edge named a queue the menu never had.
    assert MenuChoice("billing", "chosen", "3").queue_in(MENU) == "general"


def test_an_error_about_a_queue_names_the_setting_that_gave_it() -> None:
    assert MENU.field_of("general") == "menu.default_queue"
    assert MENU.field_of("support") == "menu.options.2"
