"""Uploaded prompts in the table: versions replaced and deleted on conditions, and the versions a
queue names read with the queue, so the router's Queue decision tells the edge what to fetch."""

from __future__ import annotations

import pytest

from contact_center.data.catalog import CatalogCache
from contact_center.data.prompts import PromptRepository
from contact_center.data.repositories.catalog import QueueRepository, RoutingCatalogRepository
from contact_center.domain.prompts import PromptEncoding, PromptFile, QueuePrompts
from contact_center.domain.queueing import QueueMedia
from contact_center.services.errors import NotFoundError
from contact_center.services.prompts import Prompt
from contact_center.services.records import Queue
from contact_center.services.routing.decisions import Queue as QueueDecision


def _prompt(name: str, sha: str) -> Prompt:
    return Prompt("m1", name, PromptEncoding.PCM16, 8000, 1000, 16044, sha, f"m1/{name}/{sha}.wav", 1)


def test_a_new_version_replaces_the_old_and_returns_it(moto_table: str) -> None:
    prompts = PromptRepository()
    assert prompts.put(_prompt("welcome", "a" * 64)) is None
    replaced = prompts.put(_prompt("welcome", "b" * 64))
    assert replaced is not None and replaced.sha256 == "a" * 64
    assert [p.sha256 for p in prompts.for_merchant("m1")] == ["b" * 64]


def test_deleting_returns_the_version_deleted_and_a_second_delete_is_not_found(moto_table: str) -> None:
    prompts = PromptRepository()
    prompts.put(_prompt("welcome", "a" * 64))
    assert prompts.delete("m1", "welcome").key == f"m1/welcome/{'a' * 64}.wav"
    assert prompts.find("m1", "welcome") is None
    with pytest.raises(NotFoundError):
        prompts.delete("m1", "welcome")


def test_the_router_reads_the_versions_a_queue_names_into_its_queue_decision(moto_table: str) -> None:
    PromptRepository().put(_prompt("jingle", "c" * 64))
    media = QueueMedia(greeting=None, music_prompt="jingle", greeting_prompt="gone")
    QueueRepository().create(Queue("m1", "q1", "Support", media=media))
    queue = RoutingCatalogRepository(CatalogCache(ttl_seconds=0)).queue("m1", "q1")
    assert queue is not None
    # A prompt deleted since (or never there) is the default: nothing to fetch.
    assert queue.prompts == QueuePrompts(music=PromptFile(f"m1/jingle/{'c' * 64}.wav", "c" * 64))
    decision = QueueDecision("c1", "q1", 60, 0, media=media, prompts=queue.prompts)
    assert QueueDecision.from_dict(decision.to_dict()) == decision
