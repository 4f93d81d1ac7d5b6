"""A number's migration mode: which side takes a caller, sticky, and monotone as a split ramps up."""

from __future__ import annotations

import pytest

from contact_center.domain.errors import ValidationError
from contact_center.domain.migration import NumberMode, NumberRouting, Side, bucket_of, parse_mode

CALLERS = [f"+1555{n:07d}" for n in range(2000)]


def split(percent: int) -> NumberRouting:
    return NumberRouting.of(NumberMode.SPLIT, "q1", "trk1", percent)


def test_a_caller_lands_on_the_same_side_on_every_call_and_with_or_without_its_plus() -> None:
    routing = split(50)
    assert all(routing.side_for(c) is routing.side_for(c) for c in CALLERS[:50])
    assert all(bucket_of(c) == bucket_of(c.lstrip("+")) for c in CALLERS[:50])


def test_raising_the_split_only_moves_callers_from_legacy_to_switchboard() -> None:
    for low, high in [(0, 10), (10, 50), (50, 100)]:
        for caller in CALLERS:
            if split(low).side_for(caller) is Side.SWITCHBOARD:
                assert split(high).side_for(caller) is Side.SWITCHBOARD


@pytest.mark.parametrize("percent", [0, 10, 50, 100])
def test_the_share_of_many_callers_follows_the_percent(percent: int) -> None:
    share = sum(split(percent).side_for(c) is Side.SWITCHBOARD for c in CALLERS) / len(CALLERS)
    assert abs(share * 100 - percent) <= 3


def test_the_whole_modes_ignore_the_caller_and_need_their_side_named() -> None:
    assert NumberRouting.of(NumberMode.LEGACY, None, "trk1", None).side_for("+1") is Side.LEGACY
    assert NumberRouting.of(NumberMode.SWITCHBOARD, "q1", None, 7).switchboard_percent == 100
    with pytest.raises(ValidationError) as caught:
        NumberRouting.of(NumberMode.LEGACY, "q1", None, None)
    assert caught.value.field == "legacy_trunk_id"
    with pytest.raises(ValidationError) as caught:
        NumberRouting.of(NumberMode.SPLIT, "q1", "trk1", None)
    assert caught.value.field == "switchboard_percent"
    with pytest.raises(ValidationError) as caught:
        NumberRouting.of(NumberMode.SPLIT, "q1", "trk1", 101)
    assert caught.value.field == "switchboard_percent"


def test_an_unknown_mode_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_mode("hybrid")
    assert caught.value.field == "mode"
