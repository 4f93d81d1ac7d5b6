"""Merchants' own prompts over the API: uploaded as WAV bodies, listed, named by queues, deleted."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from contact_center import bootstrap
from contact_center.contracts.values import PROMPT_BYTES_MAX, PROMPT_SECONDS_MAX
from tests.functional.api.conftest import Api, Reply, api_settings
from tests.support.audio import g711_wav, pcm_wav, tone

WAV = {"Content-Type": "audio/wav"}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "merchant-prompts"


@pytest.fixture
def settings(store: Path) -> bootstrap.Settings:
    return dataclasses.replace(api_settings(), prompts_directory=str(store))


@pytest.fixture
def merchant(api: Api) -> Iterator[tuple[str, str]]:
    yield api.merchant()


def upload(
    api: Api, merchant_id: str, key: str, name: str, data: bytes, content_type: str = "audio/wav"
) -> Reply:
    return api.call(
        "PUT",
        f"/merchants/{merchant_id}/prompts/{name}",
        raw=data,
        key=key,
        headers={"Content-Type": content_type},
    )


def test_an_uploaded_prompt_is_listed_with_its_length_and_size_and_stored(
    api: Api, merchant: tuple[str, str], store: Path
) -> None:
    merchant_id, key = merchant
    data = pcm_wav(tone(1000, 2.5))
    reply = upload(api, merchant_id, key, "welcome", data)
    assert reply.status == 200, reply.body
    assert reply.body["duration_ms"] == 2500
    assert (reply.body["encoding"], reply.body["sample_rate"]) == ("pcm16", 8000)
    listed = api.get(f"/merchants/{merchant_id}/prompts", key=key)
    assert listed.status == 200
    assert [(p["name"], p["duration_ms"], p["size_bytes"]) for p in listed.body["items"]] == [
        ("welcome", 2500, len(data))
    ]
    stored = store / merchant_id / "welcome" / f"{reply.body['sha256']}.wav"
    assert stored.read_bytes() == data  # the bytes as sent: the binary body was not mangled


def test_a_replaced_prompt_keeps_only_its_new_version(
    api: Api, merchant: tuple[str, str], store: Path
) -> None:
    merchant_id, key = merchant
    first = upload(api, merchant_id, key, "welcome", pcm_wav(tone(1000, 1))).body["sha256"]
    second = upload(api, merchant_id, key, "welcome", g711_wav(b"\xff" * 8000, tag=7, rate=8000)).body
    assert second["encoding"] == "ulaw"
    assert [f.name for f in (store / merchant_id / "welcome").iterdir()] == [f"{second['sha256']}.wav"]
    assert first != second["sha256"]


@pytest.mark.parametrize(
    ("data", "content_type", "status", "field"),
    [
        (pcm_wav(tone(440, 1)), "application/json", 415, "Content-Type"),
        (pcm_wav(tone(440, 1)), "application/octet-stream", 415, "Content-Type"),
        (pcm_wav(tone(440, 0.5) * 2, channels=2), "audio/wav", 415, "channels"),
        (pcm_wav(tone(440, 0.5, rate=44100), rate=44100), "audio/x-wav", 415, "sample_rate"),
        (b"ID3 not a wav at all", "audio/wav", 400, "body"),
        (g711_wav(b"\xff" * 8000 * (PROMPT_SECONDS_MAX + 1)), "audio/wav", 413, "duration"),
        (b"RIFF" + b"\x00" * PROMPT_BYTES_MAX, "audio/wav", 413, "body"),
    ],
)
def test_a_bad_upload_is_refused_naming_what_is_wrong(
    api: Api, merchant: tuple[str, str], data: bytes, content_type: str, status: int, field: str
) -> None:
    merchant_id, key = merchant
    reply = upload(api, merchant_id, key, "welcome", data, content_type)
    assert (reply.status, reply.error["field"]) == (status, field), reply.body
    assert api.get(f"/merchants/{merchant_id}/prompts", key=key).body["items"] == []


def test_a_name_that_is_not_a_prompt_name_is_refused(api: Api, merchant: tuple[str, str]) -> None:
    merchant_id, key = merchant
    reply = upload(api, merchant_id, key, "Welcome.wav", pcm_wav(tone(440, 1)))
    assert (reply.status, reply.error["field"]) == (400, "name")


def test_a_queue_may_name_only_an_uploaded_prompt_and_a_named_prompt_cannot_be_deleted(
    api: Api, merchant: tuple[str, str], store: Path
) -> None:
    merchant_id, key = merchant
    missing = api.post(
        f"/merchants/{merchant_id}/queues", {"name": "Support", "media": {"music_prompt": "jingle"}}, key=key
    )
    assert (missing.status, missing.error["field"]) == (400, "media.music_prompt")
    upload(api, merchant_id, key, "jingle", pcm_wav(tone(1500, 4)))
    queue_id = api.queue(merchant_id, key, media={"music_prompt": "jingle", "greeting": None})
    assert (
        api.get(f"/merchants/{merchant_id}/queues/{queue_id}", key=key).body["media"]["music_prompt"]
        == "jingle"
    )

    refused = api.delete(f"/merchants/{merchant_id}/prompts/jingle", key=key)
    assert refused.status == 409 and queue_id in refused.error["message"]

    assert api.patch(f"/merchants/{merchant_id}/queues/{queue_id}", {"media": {}}, key=key).status == 200
    assert api.delete(f"/merchants/{merchant_id}/prompts/jingle", key=key).status == 204
    assert api.get(f"/merchants/{merchant_id}/prompts", key=key).body["items"] == []
    assert not list(store.rglob("*.wav"))
    assert api.delete(f"/merchants/{merchant_id}/prompts/jingle", key=key).status == 404


def test_another_merchants_prompts_are_out_of_reach(api: Api, merchant: tuple[str, str]) -> None:
    merchant_id, key = merchant
    other_id, other_key = api.merchant(name="Other")
    upload(api, other_id, other_key, "welcome", pcm_wav(tone(440, 1)))
    assert upload(api, other_id, key, "welcome", pcm_wav(tone(440, 1))).status == 404
    assert api.get(f"/merchants/{merchant_id}/prompts", key=key).body["items"] == []


def test_without_a_prompt_store_uploads_are_unavailable(api: Api, merchant: tuple[str, str]) -> None:
    bootstrap.reset(api_settings())
    merchant_id, key = merchant
    reply = upload(api, merchant_id, key, "welcome", pcm_wav(tone(440, 1)))
    assert reply.status == 503
