"""Eligibility and the ACD strategies."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping

import pytest

from contact_center.domain.acd import (
    AgentCandidate,
    choose_contact_for_agent,
    is_eligible,
    rank_agents,
    spread_near_ties,
)
from contact_center.domain.agent_state import AgentSnapshot, AgentState
from contact_center.domain.errors import ValidationError
from contact_center.domain.queueing import QueueConfig, QueuedContact, RoutingStrategy
from contact_center.domain.skills import SkillRequirement, missing_requirements, proficiency_score

T0 = 1_700_000_000_000
SPANISH_BILLING = QueueConfig(
    "billing-es",
    required_skills=(SkillRequirement("spanish", 3), SkillRequirement("billing", 2)),
)


def candidate(
    seat_id: str,
    idle_since_ms: int = T0,
    skills: Mapping[str, int] | None = None,
    queues: Mapping[str, int] | None = None,
    state: AgentState = AgentState.AVAILABLE,
) -> AgentCandidate:
    return AgentCandidate(
        agent=AgentSnapshot(seat_id=seat_id, state=state, version=1, idle_since_ms=idle_since_ms),
        skills=skills or {},
        queues=queues if queues is not None else {"q": 1, "billing-es": 1},
    )


@pytest.mark.parametrize(
    ("skills", "queues", "eligible"),
    [
        ({"spanish": 3, "billing": 2}, {"billing-es": 1}, True),
        ({"spanish": 5, "billing": 5, "french": 1}, {"billing-es": 2}, True),
        ({"spanish": 2, "billing": 5}, {"billing-es": 1}, False),  # below the minimum
        ({"spanish": 3}, {"billing-es": 1}, False),  # a required skill missing
        ({}, {"billing-es": 1}, False),
        ({"spanish": 3, "billing": 2}, {"sales": 1}, False),  # does not serve the queue
    ],
)
def test_eligibility(skills: dict[str, int], queues: dict[str, int], eligible: bool) -> None:
    assert is_eligible(candidate("a", skills=skills, queues=queues), SPANISH_BILLING) is eligible


def test_a_queue_without_requirements_takes_anyone_who_serves_it() -> None:
    assert is_eligible(candidate("a", queues={"q": 1}), QueueConfig("q"))


def test_missing_requirements_explain_ineligibility() -> None:
    assert missing_requirements({"spanish": 2, "billing": 2}, SPANISH_BILLING.required_skills) == [
        SkillRequirement("spanish", 3)
    ]


def test_rank_keeps_only_available_eligible_agents() -> None:
    queue = QueueConfig("q", required_skills=(SkillRequirement("voice", 1),))
    agents = [
        candidate("available", skills={"voice": 1}),
        candidate("busy", skills={"voice": 1}, state=AgentState.ON_CONTACT),
        candidate("reserved", skills={"voice": 1}, state=AgentState.RESERVED),
        candidate("unskilled"),
        candidate("elsewhere", skills={"voice": 1}, queues={"other": 1}),
    ]
    assert [a.seat_id for a in rank_agents(queue, agents)] == ["available"]


def test_longest_idle_first() -> None:
    agents = [
        candidate("a", T0 + 300),
        candidate("b", T0 + 100),
        candidate("c", T0 + 200),
        candidate("d", T0 + 100),
    ]

    ranked = rank_agents(QueueConfig("q"), agents)

    # Equal idle times fall back to seat id so every router picks the same agent.
    assert [a.seat_id for a in ranked] == ["b", "d", "c", "a"]


def test_longest_idle_is_the_default_strategy() -> None:
    assert QueueConfig("q").strategy is RoutingStrategy.LONGEST_IDLE


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        (None, ["a", "b", "c", "d"]),
        ("a", ["b", "c", "d", "a"]),
        ("c", ["d", "a", "b", "c"]),
        ("d", ["a", "b", "c", "d"]),
        ("bb", ["c", "d", "a", "b"]),  # the last served agent has left: continue after its place
    ],
)
def test_round_robin_starts_after_the_cursor(cursor: str | None, expected: list[str]) -> None:
    agents = [candidate(s) for s in ("c", "a", "d", "b")]
    ranked = rank_agents(QueueConfig("q"), agents, RoutingStrategy.ROUND_ROBIN, round_robin_cursor=cursor)
    assert [a.seat_id for a in ranked] == expected


@pytest.mark.parametrize("agent_count", [1, 2, 5, 7])
def test_round_robin_is_fair_over_many_calls(agent_count: int) -> None:
    # Given agents offered in a different order on every call and different idle times
    rng = random.Random(agent_count)
    agents = [candidate(f"seat-{i:02d}", T0 + rng.randrange(10_000)) for i in range(agent_count)]
    queue = QueueConfig("q", strategy=RoutingStrategy.ROUND_ROBIN)
    cursor: str | None = None
    served: list[str] = []

    # When N rounds of calls are routed, storing the served seat as the next cursor
    for _ in range(agent_count * 6):
        rng.shuffle(agents)
        chosen = rank_agents(queue, agents, round_robin_cursor=cursor)[0]
        served.append(chosen.seat_id)
        cursor = chosen.seat_id

    # Then each agent took exactly one call per round, in a stable rotation
    assert Counter(served) == {a.seat_id: 6 for a in agents}
    assert served[:agent_count] == sorted(a.seat_id for a in agents)
    assert served[agent_count:] == served[:-agent_count]


def test_round_robin_skips_agents_that_are_busy() -> None:
    agents = [candidate("a"), candidate("b", state=AgentState.ON_CONTACT), candidate("c")]
    ranked = rank_agents(QueueConfig("q"), agents, RoutingStrategy.ROUND_ROBIN, round_robin_cursor="a")
    assert [a.seat_id for a in ranked] == ["c", "a"]


def test_most_skilled_ranks_by_summed_proficiency_then_longest_idle() -> None:
    agents = [
        candidate("novice", T0 + 1, {"spanish": 3, "billing": 2}),  # 5
        candidate("expert-recent", T0 + 500, {"spanish": 5, "billing": 4}),  # 9
        candidate("expert-idle", T0 + 100, {"spanish": 4, "billing": 5}),  # 9, idle longer
        candidate("good", T0 + 2, {"spanish": 4, "billing": 3, "french": 5}),  # 7: french is not counted
        candidate("expert-tie", T0 + 100, {"spanish": 5, "billing": 4}),  # 9, same idle: seat id
    ]

    ranked = rank_agents(SPANISH_BILLING, agents, RoutingStrategy.MOST_SKILLED)

    assert [a.seat_id for a in ranked] == ["expert-idle", "expert-tie", "expert-recent", "good", "novice"]


def test_most_skilled_without_requirements_is_longest_idle() -> None:
    agents = [candidate("a", T0 + 2, {"x": 5}), candidate("b", T0 + 1, {"x": 1})]
    ranked = rank_agents(QueueConfig("q", strategy=RoutingStrategy.MOST_SKILLED), agents)
    assert [a.seat_id for a in ranked] == ["b", "a"]


def test_proficiency_score_counts_only_required_skills() -> None:
    assert proficiency_score({"spanish": 4, "billing": 1, "x": 5}, SPANISH_BILLING.required_skills) == 5


@pytest.mark.parametrize(
    ("skills", "queues"),
    [({"x": 0}, {}), ({"x": 6}, {}), ({"x": True}, {}), ({}, {"q": 0}), ({}, {"q": 11})],
)
def test_candidate_limits(skills: dict[str, int], queues: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        candidate("a", skills=skills, queues=queues)


# --- choosing a contact for an agent that just became available --------------------------------

QUEUES = {
    "sales": QueueConfig("sales", priority=5),
    "support": QueueConfig("support", priority=2),
    "vip": QueueConfig("vip", priority=1, required_skills=(SkillRequirement("vip", 4),)),
    "unserved": QueueConfig("unserved", priority=1),
}
# The agent serves three queues; sales is its own first choice.
AGENT_QUEUES = {"sales": 1, "support": 2, "vip": 2}


def head(contact_id: str, queue_id: str, enqueued_at_ms: int, priority: int = 5) -> QueuedContact:
    return QueuedContact(contact_id, queue_id, enqueued_at_ms, priority)


@pytest.mark.parametrize(
    ("heads", "expected"),
    [
        pytest.param([], None, id="nothing-waiting"),
        pytest.param(
            [head("old-normal", "support", T0), head("new-urgent", "sales", T0 + 9_000, priority=1)],
            "new-urgent",
            id="contact-priority-beats-age",
        ),
        pytest.param(
            [head("support-old", "support", T0), head("sales-new", "sales", T0 + 9_000)],
            "sales-new",
            id="agent-queue-priority-beats-age",
        ),
        pytest.param(
            [head("support-new", "support", T0 + 9_000), head("vip-old", "vip", T0)],
            "vip-old",
            id="queue-priority-when-agent-priority-ties",
        ),
        pytest.param(
            [head("support-2", "support", T0 + 2), head("support-1", "support", T0 + 1)],
            "support-1",
            id="oldest-within-equal-priorities",
        ),
        pytest.param(
            [head("b", "support", T0), head("a", "support", T0)],
            "a",
            id="contact-id-breaks-exact-ties",
        ),
        pytest.param(
            [head("unserved", "unserved", T0, priority=1), head("support", "support", T0 + 5)],
            "support",
            id="queues-the-agent-does-not-serve-are-skipped",
        ),
        pytest.param(
            [head("unknown", "deleted-queue", T0, priority=1)],
            None,
            id="unknown-queues-are-skipped",
        ),
    ],
)
def test_choose_contact_for_agent_in_three_queues(heads: list[QueuedContact], expected: str | None) -> None:
    agent = candidate("a", skills={"vip": 4}, queues=AGENT_QUEUES)

    chosen = choose_contact_for_agent(agent, heads, QUEUES)

    assert (chosen.contact_id if chosen else None) == expected


def test_choose_contact_skips_queues_whose_skills_the_agent_lacks() -> None:
    agent = candidate("a", skills={"vip": 3}, queues=AGENT_QUEUES)
    heads = [head("vip", "vip", T0, priority=1), head("sales", "sales", T0 + 1)]

    chosen = choose_contact_for_agent(agent, heads, QUEUES)

    assert chosen is not None and chosen.contact_id == "sales"


@pytest.mark.parametrize("state", [s for s in AgentState if s is not AgentState.AVAILABLE])
def test_an_agent_not_accepting_offers_gets_nothing(state: AgentState) -> None:
    agent = candidate("a", queues=AGENT_QUEUES, state=state)
    assert choose_contact_for_agent(agent, [head("c", "sales", T0)], QUEUES) is None


def test_candidates_are_read_only_copies() -> None:
    skills = {"x": 1}
    agent = candidate("a", skills=skills)
    skills["x"] = 5
    assert agent.skills["x"] == 1
    with pytest.raises(TypeError):
        agent.skills["x"] = 5  # type: ignore[index]


def test_near_ties_start_at_a_different_agent_per_contact() -> None:
    ranked = rank_agents(
        QueueConfig("q"),
        [candidate(f"a{index}", T0 + index * 100) for index in range(5)] + [candidate("late", T0 + 10_000)],
    )
    firsts = Counter(spread_near_ties(ranked, f"contact-{n}", window_ms=500)[0].seat_id for n in range(400))
    # a0..a4 are idle within 500 ms of a0: each contact starts at one of them, spread evenly.
    assert set(firsts) == {"a0", "a1", "a2", "a3", "a4"}
    assert min(firsts.values()) > 40
    for n in range(50):
        spread = spread_near_ties(ranked, f"contact-{n}", window_ms=500)
        # Every agent is still tried once, the near ties in their order from the start, the rest after.
        assert sorted(a.seat_id for a in spread) == sorted(a.seat_id for a in ranked)
        assert spread[-1].seat_id == "late"
        assert spread == spread_near_ties(ranked, f"contact-{n}", window_ms=500)  # stable per contact


def test_an_agent_idle_longer_than_the_window_is_always_first() -> None:
    ranked = rank_agents(
        QueueConfig("q"), [candidate("old", T0), candidate("b", T0 + 501), candidate("c", T0 + 502)]
    )
    assert {spread_near_ties(ranked, f"k{n}", window_ms=500)[0].seat_id for n in range(100)} == {"old"}
    assert spread_near_ties(ranked, "k", window_ms=0) == ranked
