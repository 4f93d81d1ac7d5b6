"""The agent state machine: every row of the table, the rows that are not there, and the snapshots."""

from __future__ import annotations

import dataclasses

import pytest

from contact_center.domain.agent_state import (
    API_SETTABLE_STATES,
    IDLE_STATES,
    TRANSITIONS,
    AgentCommand,
    AgentSnapshot,
    AgentState,
    AgentTrigger,
    Connect,
    DialOut,
    EndContact,
    FinishWrapUp,
    GoAvailable,
    GoNotReady,
    LogIn,
    LogOut,
    MissOffer,
    RejectBusy,
    ReleaseReservation,
    Reserve,
    SystemReason,
    accepts_offers,
    agent_can_be_set_by_api,
    allowed_triggers,
    apply,
    command_for_api_target,
)
from contact_center.domain.errors import ContactMismatchError, IllegalTransitionError, ValidationError
from contact_center.domain.events import AgentStateChanged

S = AgentState
T = AgentTrigger
SEAT = "seat-1"
CONTACT = "contact-1"
T0 = 1_700_000_000_000
NOW = T0 + 60_000


def agent_in(state: AgentState) -> AgentSnapshot:
    """A consistent snapshot in ``state``, at version 7, as the data layer would load it."""
    holds_contact = state in (S.RESERVED, S.ON_CONTACT, S.AFTER_CONTACT_WORK)
    return AgentSnapshot(
        seat_id=SEAT,
        state=state,
        version=7,
        state_since_ms=T0,
        reason={S.NOT_READY: "break", S.NOT_RESPONDING: SystemReason.MISSED_OFFER.value}.get(state),
        idle_since_ms=T0 - 5_000 if state in (S.AVAILABLE, S.RESERVED) else None,
        contact_id=CONTACT if holds_contact else None,
        wrap_up_deadline_ms=T0 + 30_000 if state is S.AFTER_CONTACT_WORK else None,
    )


COMMANDS: dict[AgentTrigger, AgentCommand] = {
    T.LOG_IN: LogIn(),
    T.GO_AVAILABLE: GoAvailable(),
    T.GO_NOT_READY: GoNotReady("lunch"),
    T.RESERVE: Reserve(CONTACT),
    T.DIAL_OUT: DialOut("outbound-1"),
    T.CONNECT: Connect(CONTACT),
    T.REJECT_BUSY: RejectBusy(CONTACT),
    T.MISS_OFFER: MissOffer(CONTACT),
    T.RELEASE_RESERVATION: ReleaseReservation(CONTACT),
    T.END_CONTACT: EndContact(CONTACT, wrap_up_seconds=30),
    T.END_CONTACT_WITHOUT_WRAP_UP: EndContact(CONTACT, wrap_up_seconds=0),
    T.FINISH_WRAP_UP: FinishWrapUp(CONTACT),
    T.LOG_OUT: LogOut(),
}

# (from, command, to, reason, contact_id, idle_since_ms, wrap_up_deadline_ms) after the transition.
LEGAL: list[tuple[AgentState, AgentCommand, AgentState, str | None, str | None, int | None, int | None]] = [
    (S.OFFLINE, LogIn(), S.NOT_READY, None, None, None, None),
    (S.OFFLINE, GoAvailable(), S.AVAILABLE, None, None, NOW, None),
    (S.OFFLINE, GoNotReady("lunch"), S.NOT_READY, "lunch", None, None, None),
    (S.AVAILABLE, GoNotReady("lunch"), S.NOT_READY, "lunch", None, None, None),
    (S.AVAILABLE, Reserve(CONTACT), S.RESERVED, None, CONTACT, T0 - 5_000, None),
    (S.AVAILABLE, LogOut(), S.OFFLINE, None, None, None, None),
    # An agent's own outbound call makes it busy from the dial, whatever it was doing but talking.
    (S.AVAILABLE, DialOut("outbound-1"), S.ON_CONTACT, None, "outbound-1", None, None),
    (S.NOT_READY, DialOut("outbound-1"), S.ON_CONTACT, None, "outbound-1", None, None),
    (S.AFTER_CONTACT_WORK, DialOut("outbound-1"), S.ON_CONTACT, None, "outbound-1", None, None),
    (S.RESERVED, Connect(CONTACT), S.ON_CONTACT, None, CONTACT, None, None),
    (S.RESERVED, RejectBusy(CONTACT), S.NOT_RESPONDING, "rejected_busy", None, None, None),
    (S.RESERVED, MissOffer(CONTACT), S.NOT_RESPONDING, "missed_offer", None, None, None),
    # An abandoned offer is not the agent's fault: it keeps its place in the longest-idle line.
    (S.RESERVED, ReleaseReservation(CONTACT), S.AVAILABLE, None, None, T0 - 5_000, None),
    (S.ON_CONTACT, EndContact(CONTACT, 30), S.AFTER_CONTACT_WORK, None, CONTACT, None, NOW + 30_000),
    (S.ON_CONTACT, EndContact(CONTACT, 0), S.AVAILABLE, None, None, NOW, None),
    (S.AFTER_CONTACT_WORK, FinishWrapUp(CONTACT), S.AVAILABLE, None, None, NOW, None),
    (S.AFTER_CONTACT_WORK, GoAvailable(), S.AVAILABLE, None, None, NOW, None),
    (S.AFTER_CONTACT_WORK, GoNotReady("lunch"), S.NOT_READY, "lunch", None, None, None),
    (S.AFTER_CONTACT_WORK, LogOut(), S.OFFLINE, None, None, None, None),
    (S.NOT_READY, GoAvailable(), S.AVAILABLE, None, None, NOW, None),
    (S.NOT_READY, GoNotReady("lunch"), S.NOT_READY, "lunch", None, None, None),
    (S.NOT_READY, LogOut(), S.OFFLINE, None, None, None, None),
    (S.NOT_RESPONDING, GoAvailable(), S.AVAILABLE, None, None, NOW, None),
    (S.NOT_RESPONDING, GoNotReady("lunch"), S.NOT_READY, "lunch", None, None, None),
    (S.NOT_RESPONDING, LogOut(), S.OFFLINE, None, None, None, None),
]

# Legal rows that change nothing: no write, no event, no version bump.
NO_OPS: list[tuple[AgentState, AgentCommand]] = [
    (S.AVAILABLE, GoAvailable()),
    (S.NOT_READY, GoNotReady("break")),
    (S.OFFLINE, LogOut()),
]


def test_tests_cover_every_row_of_the_table() -> None:
    covered = {(source, command.trigger) for source, command, *_ in LEGAL}
    covered |= {(source, command.trigger) for source, command in NO_OPS}
    assert covered == set(TRANSITIONS)


@pytest.mark.parametrize(
    ("source", "command", "target", "reason", "contact_id", "idle_since", "deadline"),
    LEGAL,
    ids=[f"{row[0]}-{row[1].trigger}" for row in LEGAL],
)
def test_legal_transition(
    source: AgentState,
    command: AgentCommand,
    target: AgentState,
    reason: str | None,
    contact_id: str | None,
    idle_since: int | None,
    deadline: int | None,
) -> None:
    # Given an agent in the source state
    agent = agent_in(source)

    # When the command is applied
    result = apply(agent, command, NOW)

    # Then the snapshot and the event both describe the new state
    assert result.changed
    assert result.agent == AgentSnapshot(
        seat_id=SEAT,
        state=target,
        version=8,
        state_since_ms=NOW,
        reason=reason,
        idle_since_ms=idle_since,
        contact_id=contact_id,
        wrap_up_deadline_ms=deadline,
    )
    assert result.event == AgentStateChanged(
        seat_id=SEAT,
        from_state=source,
        to_state=target,
        trigger=command.trigger,
        occurred_at_ms=NOW,
        version=8,
        reason=reason,
        # The event names the contact involved even when the agent has just let go of it.
        contact_id=contact_id or getattr(command, "contact_id", None),
        wrap_up_deadline_ms=deadline,
    )
    assert agent.version == 7, "snapshots are immutable"


@pytest.mark.parametrize(("source", "command"), NO_OPS, ids=[f"{s}-{c.trigger}" for s, c in NO_OPS])
def test_repeating_the_current_state_is_a_no_op(source: AgentState, command: AgentCommand) -> None:
    agent = agent_in(source)

    result = apply(agent, command, NOW)

    assert result.agent is agent
    assert result.event is None
    assert not result.changed


ILLEGAL = sorted(
    (
        (state, trigger)
        for state in AgentState
        for trigger in AgentTrigger
        if (state, trigger) not in TRANSITIONS
    ),
    key=str,
)


@pytest.mark.parametrize(("source", "trigger"), ILLEGAL, ids=[f"{s}-{t}" for s, t in ILLEGAL])
def test_every_pair_outside_the_table_is_illegal(source: AgentState, trigger: AgentTrigger) -> None:
    agent = agent_in(source)

    with pytest.raises(IllegalTransitionError) as raised:
        apply(agent, COMMANDS[trigger], NOW)

    assert raised.value.state == source.value
    assert raised.value.trigger == trigger.value
    assert raised.value.entity_id == SEAT


@pytest.mark.parametrize(
    ("source", "command", "message"),
    [
        (S.ON_CONTACT, GoAvailable(), "agent 'seat-1' cannot 'go_available' while 'on_contact'"),
        (S.ON_CONTACT, LogOut(), "agent 'seat-1' cannot 'log_out' while 'on_contact'"),
        (S.RESERVED, GoNotReady("break"), "agent 'seat-1' cannot 'go_not_ready' while 'reserved'"),
        (S.OFFLINE, Reserve("c-9"), "agent 'seat-1' cannot 'reserve' while 'offline'"),
        (S.NOT_READY, Reserve("c-9"), "agent 'seat-1' cannot 'reserve' while 'not_ready'"),
        (S.NOT_RESPONDING, Reserve("c-9"), "agent 'seat-1' cannot 'reserve' while 'not_responding'"),
        (S.AVAILABLE, LogIn(), "agent 'seat-1' cannot 'log_in' while 'available'"),
        (S.AFTER_CONTACT_WORK, Reserve("c-9"), "agent 'seat-1' cannot 'reserve' while 'after_contact_work'"),
    ],
)
def test_illegal_transition_names_state_and_trigger(
    source: AgentState, command: AgentCommand, message: str
) -> None:
    with pytest.raises(IllegalTransitionError, match=f"^{message}$"):
        apply(agent_in(source), command, NOW)


@pytest.mark.parametrize(
    ("source", "command"),
    [
        (S.RESERVED, MissOffer("contact-old")),
        (S.RESERVED, Connect("contact-old")),
        (S.RESERVED, RejectBusy("contact-old")),
        (S.RESERVED, ReleaseReservation("contact-old")),
        (S.ON_CONTACT, EndContact("contact-old", 10)),
        (S.AFTER_CONTACT_WORK, FinishWrapUp("contact-old")),
    ],
)
def test_a_late_event_for_another_contact_is_refused(source: AgentState, command: AgentCommand) -> None:
    # A ring timeout for an earlier offer must not knock the agent off the current one.
    with pytest.raises(ContactMismatchError, match="holds contact 'contact-1', not 'contact-old'"):
        apply(agent_in(source), command, NOW)


def test_a_whole_contact_records_timestamped_events_with_increasing_versions() -> None:
    # Given a new seat
    agent = AgentSnapshot.new(SEAT, now_ms=T0)
    assert (agent.state, agent.version) == (S.OFFLINE, 0)
    steps: list[tuple[AgentCommand, int]] = [
        (LogIn(), T0 + 1_000),
        (GoAvailable(), T0 + 2_000),
        (Reserve(CONTACT), T0 + 3_000),
        (Connect(CONTACT), T0 + 8_000),
        (EndContact(CONTACT, wrap_up_seconds=20), T0 + 68_000),
        (FinishWrapUp(CONTACT), T0 + 88_000),
        (GoNotReady("meeting"), T0 + 90_000),
        (LogOut(), T0 + 95_000),
    ]

    # When it lives through a whole contact
    events = []
    for command, at in steps:
        result = apply(agent, command, at)
        agent = result.agent
        assert result.event is not None
        events.append(result.event)

    # Then every step left one event, in order, stamped with its time and version
    assert [(e.from_state, e.to_state) for e in events] == [
        (S.OFFLINE, S.NOT_READY),
        (S.NOT_READY, S.AVAILABLE),
        (S.AVAILABLE, S.RESERVED),
        (S.RESERVED, S.ON_CONTACT),
        (S.ON_CONTACT, S.AFTER_CONTACT_WORK),
        (S.AFTER_CONTACT_WORK, S.AVAILABLE),
        (S.AVAILABLE, S.NOT_READY),
        (S.NOT_READY, S.OFFLINE),
    ]
    assert [e.occurred_at_ms for e in events] == [at for _, at in steps]
    assert [e.version for e in events] == list(range(1, len(steps) + 1))
    assert [e.contact_id for e in events][2:6] == [CONTACT] * 4
    assert events[4].wrap_up_deadline_ms == T0 + 88_000
    assert events[6].reason == "meeting"
    assert agent == AgentSnapshot(seat_id=SEAT, state=S.OFFLINE, version=8, state_since_ms=T0 + 95_000)


def test_idle_since_is_when_the_agent_last_became_available() -> None:
    agent = apply(agent_in(S.NOT_READY), GoAvailable(), NOW).agent
    assert agent.idle_since_ms == NOW

    reserved = apply(agent, Reserve(CONTACT), NOW + 10).agent
    assert reserved.idle_since_ms == NOW

    connected = apply(reserved, Connect(CONTACT), NOW + 20).agent
    assert connected.idle_since_ms is None


def test_a_missed_offer_needs_the_agent_to_go_ready_again() -> None:
    missed = apply(agent_in(S.RESERVED), MissOffer(CONTACT), NOW).agent

    assert missed.state is S.NOT_RESPONDING
    assert not missed.accepts_offers
    with pytest.raises(IllegalTransitionError):
        apply(missed, Reserve("contact-2"), NOW + 1)
    assert apply(missed, GoAvailable(), NOW + 2).agent.accepts_offers


def test_changing_the_not_ready_reason_is_a_transition() -> None:
    result = apply(agent_in(S.NOT_READY), GoNotReady("training"), NOW)

    assert result.event is not None
    assert (result.event.from_state, result.event.to_state, result.event.reason) == (
        S.NOT_READY,
        S.NOT_READY,
        "training",
    )
    assert result.agent.version == 8


@pytest.mark.parametrize("state", list(AgentState))
def test_only_available_agents_accept_offers(state: AgentState) -> None:
    assert accepts_offers(state) is (state is S.AVAILABLE)


@pytest.mark.parametrize("state", list(AgentState))
def test_the_api_may_only_set_available_not_ready_or_offline(state: AgentState) -> None:
    assert agent_can_be_set_by_api(state) is (state in (S.AVAILABLE, S.NOT_READY, S.OFFLINE))
    assert {S.AVAILABLE, S.NOT_READY, S.OFFLINE} == API_SETTABLE_STATES


def test_command_for_api_target() -> None:
    assert command_for_api_target(S.AVAILABLE) == GoAvailable()
    assert command_for_api_target(S.NOT_READY, "break") == GoNotReady("break")
    assert command_for_api_target(S.OFFLINE) == LogOut()


def test_an_agent_signs_out_from_exactly_the_idle_states() -> None:
    # Given the transition table's sign-out rows
    signs_out_from = {state for (state, trigger), target in TRANSITIONS.items() if trigger is T.LOG_OUT}
    # Then they are every state not bound to a live contact, and all lead to OFFLINE
    assert signs_out_from == IDLE_STATES == set(AgentState) - {S.RESERVED, S.ON_CONTACT}
    assert {TRANSITIONS[(state, T.LOG_OUT)] for state in signs_out_from} == {S.OFFLINE}


@pytest.mark.parametrize("state", sorted(set(AgentState) - {S.RESERVED, S.ON_CONTACT, S.OFFLINE}))
def test_signing_out_from_an_idle_state_forgets_the_reason_and_the_contact(state: AgentState) -> None:
    agent = AgentSnapshot("seat-1", state, version=3, reason="break", contact_id="c1", idle_since_ms=T0)
    result = apply(agent, LogOut(), T0 + 1_000)
    assert result.agent.state is S.OFFLINE and result.agent.version == 4
    assert (result.agent.reason, result.agent.contact_id, result.agent.idle_since_ms) == (None, None, None)
    assert result.event is not None and result.event.trigger is T.LOG_OUT


@pytest.mark.parametrize(
    ("target", "reason", "field"),
    [
        (S.ON_CONTACT, None, "state"),
        (S.OFFLINE, "break", "reason"),
        (S.AVAILABLE, "break", "reason"),
        (S.NOT_READY, None, "reason"),
    ],
)
def test_command_for_api_target_refuses(target: AgentState, reason: str | None, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        command_for_api_target(target, reason)
    assert raised.value.field == field


def test_available_from_on_contact_through_the_api_is_a_conflict() -> None:
    # The target is one the API may set, but not from here: the adapter answers 409.
    assert agent_can_be_set_by_api(S.AVAILABLE)
    with pytest.raises(IllegalTransitionError):
        apply(agent_in(S.ON_CONTACT), command_for_api_target(S.AVAILABLE), NOW)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 65, "bad\nreason", "tab\there"])
def test_not_ready_reason_limits(reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        GoNotReady(reason)
    assert raised.value.field == "reason"


@pytest.mark.parametrize("reason", ["break", "x" * 64, "Doctor's appointment", "休憩"])
def test_free_text_not_ready_reasons_are_allowed(reason: str) -> None:
    assert apply(agent_in(S.AVAILABLE), GoNotReady(reason), NOW).agent.reason == reason


@pytest.mark.parametrize("seconds", [-1, 3601, True])
def test_wrap_up_seconds_limits(seconds: int) -> None:
    with pytest.raises(ValidationError, match="wrap_up_seconds"):
        EndContact(CONTACT, seconds)


def test_reserve_needs_a_contact() -> None:
    with pytest.raises(ValidationError, match="contact_id"):
        Reserve("")


@pytest.mark.parametrize(
    ("state", "triggers"),
    [
        (S.OFFLINE, {T.LOG_IN, T.LOG_OUT, T.GO_AVAILABLE, T.GO_NOT_READY}),
        (S.RESERVED, {T.CONNECT, T.REJECT_BUSY, T.MISS_OFFER, T.RELEASE_RESERVATION}),
        (S.ON_CONTACT, {T.END_CONTACT, T.END_CONTACT_WITHOUT_WRAP_UP}),
    ],
)
def test_allowed_triggers(state: AgentState, triggers: set[AgentTrigger]) -> None:
    assert allowed_triggers(state) == triggers


def test_snapshots_and_commands_are_immutable() -> None:
    agent = agent_in(S.AVAILABLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        agent.state = S.OFFLINE  # type: ignore[misc]
