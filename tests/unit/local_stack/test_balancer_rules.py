"""The topology's load balancer: each target gets an equal share of new flows, swapped atomically."""

from __future__ import annotations

from local_stack.topology.balancer import CHAIN, Listener, entry_rules, rotation_rules


def probabilities(rules: str) -> list[float]:
    found = []
    for line in rules.splitlines():
        if line.startswith(f"-A {CHAIN}"):
            words = line.split()
            found.append(float(words[words.index("--probability") + 1]) if "--probability" in words else 1.0)
    return found


def test_each_of_three_targets_gets_a_third_of_new_flows() -> None:
    rules = rotation_rules(["10.0.1.11", "10.0.1.12", "10.0.1.13"])
    shares, left = [], 1.0
    for probability in probabilities(rules):
        shares.append(left * probability)
        left -= left * probability
    assert [round(share, 6) for share in shares] == [0.333333] * 3
    assert rules.splitlines()[1] == f":{CHAIN} - [0:0]"  # declaring the chain flushes it: one commit
    assert rules.rstrip().endswith("COMMIT")


def test_no_healthy_target_leaves_an_empty_rotation() -> None:
    assert probabilities(rotation_rules([])) == []


def test_only_the_virtual_address_and_its_listeners_enter_the_rotation() -> None:
    rules = entry_rules("10.0.0.10", [Listener("udp", 5060), Listener("tcp", 5060)])
    assert [r[r.index("-p") + 1] for r in rules] == ["udp", "tcp"]
    assert all(r[r.index("-d") + 1] == "10.0.0.10" and r[-1] == CHAIN for r in rules)
