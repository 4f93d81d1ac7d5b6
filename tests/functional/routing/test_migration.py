"""A number in migration, through the RoutingService over moto: each caller's side, the fallback
from a failed legacy side to the number's queue, and the side every record names."""

from __future__ import annotations

from contact_center.data import keys
from contact_center.data.catalog import ROUTING_CACHE
from contact_center.data.models import NumberItem
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.domain.migration import NumberMode, NumberRouting, Side
from contact_center.services.routing.decisions import Connect, Forward, Queue

from .conftest import EDGE, NOW, World

NUMBER = "+15550100"


def callers(routing: NumberRouting, side: Side, count: int) -> list[str]:
    found = [f"+1666{n:07d}" for n in range(1000) if routing.side_for(f"+1666{n:07d}") is side]
    return found[:count]


def set_mode(mode: NumberMode, percent: int) -> NumberRouting:
    item = NumberItem.get(keys.number_pk(NUMBER), keys.NUMBER_SK)
    item.update(
        actions=[
            NumberItem.mode.set(mode.value),
            NumberItem.switchboard_percent.set(percent),
            NumberItem.legacy_trunk.set("legacy-pbx"),
        ]
    )
    ROUTING_CACHE.clear()
    return NumberRouting(mode, "q1", "legacy-pbx", percent)


def test_a_split_sends_each_caller_to_its_side_and_every_record_names_it(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    routing = set_mode(NumberMode.SPLIT, 50)
    (legacy_caller,) = callers(routing, Side.LEGACY, 1)
    (our_caller,) = callers(routing, Side.SWITCHBOARD, 1)
    forwarded = world.service.new_contact(NUMBER, legacy_caller, EDGE, "c1", NOW)
    assert forwarded == Forward("c1", "legacy-pbx", fallback=True)
    assert isinstance(world.service.new_contact(NUMBER, our_caller, EDGE, "c2", NOW), Connect)
    # The same caller lands on the same side on its next call.
    assert isinstance(world.service.new_contact(NUMBER, legacy_caller, EDGE, "c3", NOW), Forward)
    for contact_id in ("c1", "c2", "c3"):
        world.service.contact_ended(contact_id, HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 5000)
    assert [world.record(c).side for c in ("c1", "c2", "c3")] == ["legacy", "switchboard", "legacy"]


def test_a_mode_change_reaches_the_next_call_and_never_a_call_in_progress(world: World) -> None:
    world.queue()
    world.number()
    set_mode(NumberMode.LEGACY, 0)
    assert isinstance(world.service.new_contact(NUMBER, "+15551234", EDGE, "c1", NOW), Forward)
    set_mode(NumberMode.SWITCHBOARD, 100)
    assert isinstance(world.service.new_contact(NUMBER, "+15551234", EDGE, "c2", NOW), Queue)
    assert world.contact("c1").snapshot.state is ContactState.FORWARDED  # untouched by the change
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 9000)
    assert world.record("c1").side == "legacy"


def test_a_failed_legacy_side_falls_back_to_the_numbers_queue_and_is_recorded_as_ours(world: World) -> None:
    world.queue()
    world.number()
    set_mode(NumberMode.LEGACY, 0)
    assert isinstance(world.service.new_contact(NUMBER, "+15551234", EDGE, "c1", NOW), Forward)
    world.seat("a1")
    # When the edge reports the legacy side failed, the queue's free agent is rung.
    decision = world.service.legacy_failed("c1", NOW + 2000)
    assert isinstance(decision, Connect) and decision.seat_id == "a1"
    # A retried report gets the same answer and moves nothing twice.
    assert isinstance(world.service.legacy_failed("c1", NOW + 2100), Connect)
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 9000)
    record = world.record("c1")
    assert record.side == "switchboard"
    assert (record.segments[0].kind, record.segments[0].outcome) == ("trunk", "failed")


def test_without_a_queue_a_failed_legacy_side_ends_the_call(world: World) -> None:
    world.queue()
    world.number(queue_id=None, legacy_trunk="legacy-pbx")
    assert world.service.new_contact(NUMBER, "+15551234", EDGE, "c1", NOW) == Forward("c1", "legacy-pbx")
    decision = world.service.legacy_failed("c1", NOW + 2000)
    assert getattr(decision, "status", None) == 480
    record = world.record("c1")
    # It was the legacy side's call, and it failed there: the record says both.
    assert world.contact("c1") is None and (record.side, record.hangup_cause) == ("legacy", "system_error")


def set_fallback(trunk_id: str, mode: NumberMode = NumberMode.SWITCHBOARD) -> None:
    item = NumberItem.get(keys.number_pk(NUMBER), keys.NUMBER_SK)
    item.update(actions=[NumberItem.mode.set(mode.value), NumberItem.fallback_trunk.set(trunk_id)])
    ROUTING_CACHE.clear()


def test_a_switchboard_call_its_queue_cannot_take_goes_to_the_numbers_fallback_trunk(world: World) -> None:
    world.queue(max_wait=10)
    world.number()
    set_fallback("legacy-pbx")
    assert isinstance(world.service.new_contact(NUMBER, "+15551234", EDGE, "c1", NOW), Queue)
    # Max wait reached with nobody free: forwarded (no fallback back to the queue it left).
    assert world.service.queue_timeout("c1", NOW + 10_000) == Forward("c1", "legacy-pbx")
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 20_000)
    record = world.record("c1")
    assert record.side == "legacy"
    assert [s.kind for s in record.segments] == ["queue", "trunk"]


def test_the_queues_own_overflow_comes_before_the_numbers_fallback_trunk(world: World) -> None:
    world.queue("q2")
    world.queue(max_wait=10, overflow={"kind": "queue", "target": "q2"})
    world.number()
    set_fallback("legacy-pbx")
    world.service.new_contact(NUMBER, "+15551234", EDGE, "c1", NOW)
    assert isinstance(world.service.queue_timeout("c1", NOW + 10_000), Queue)


def test_a_call_the_legacy_side_already_failed_is_not_forwarded_to_the_fallback_trunk(world: World) -> None:
    world.queue(max_wait=10)
    world.number()
    set_mode(NumberMode.SPLIT, 0)
    set_fallback("legacy-pbx", NumberMode.SPLIT)
    world.service.new_contact(NUMBER, "+15551234", EDGE, "c1", NOW)
    assert isinstance(world.service.legacy_failed("c1", NOW + 1000), Queue)
    decision = world.service.queue_timeout("c1", NOW + 12_000)
    assert not isinstance(decision, Forward)
