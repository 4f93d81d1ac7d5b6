"""Random bytes read from the OS in blocks: each byte handed out once."""

from __future__ import annotations

from sip_edge.sip import entropy
from sip_edge.sip.building import generate_branch, generate_tag


def test_tokens_have_the_asked_length_and_do_not_repeat() -> None:
    tokens = [entropy.token_hex(8) for _ in range(5000)]  # several 4 KiB blocks
    assert all(len(token) == 16 for token in tokens)
    assert len(set(tokens)) == len(tokens)
    assert len(entropy.token_bytes(10_000)) == 10_000  # more than a block at once


def test_a_forked_child_does_not_reuse_the_parents_block() -> None:
    entropy.token_bytes(1)
    entropy._forget_after_fork()
    assert (entropy._pool, entropy._used) == (b"", 0)
    assert len(entropy.token_bytes(8)) == 8


def test_tags_and_branches_use_it() -> None:
    assert len(generate_tag()) == 16
    branch = generate_branch()
    assert branch.startswith("z9hG4bK") and len(branch) == 7 + 20
