"""Which calls a queue records (a pure function of the contact id) and the keys recordings get."""

from __future__ import annotations

import uuid

import pytest

from contact_center.domain.errors import ValidationError
from contact_center.domain.queueing import QueueConfig
from contact_center.domain.recording import (
    is_recording_key,
    recording_bucket,
    recording_key,
    recording_key_for,
    records_contact,
)

IDS = [str(uuid.UUID(int=n * 7919 + 12345)) for n in range(10_000)]


def test_a_contacts_bucket_is_the_first_eight_bytes_of_its_sha256_modulo_100() -> None:
    # sha256(b"c1") = 0x4c5a... ; int.from_bytes(digest[:8], "big") % 100
    import hashlib

    expected = int.from_bytes(hashlib.sha256(b"c1").digest()[:8], "big") % 100
    assert recording_bucket("c1") == expected
    assert all(recording_bucket(c) == recording_bucket(c) for c in IDS[:50])  # deterministic


def test_zero_percent_records_nothing_and_one_hundred_everything() -> None:
    assert not any(records_contact(c, 0) for c in IDS)
    assert all(records_contact(c, 100) for c in IDS)


def test_a_percent_records_about_that_share_of_contacts() -> None:
    recorded = sum(records_contact(c, 30) for c in IDS)
    assert 2800 <= recorded <= 3200  # 30 % of 10,000, within about 4.4 standard deviations


def test_a_higher_percent_records_every_contact_a_lower_one_did() -> None:
    assert {c for c in IDS if records_contact(c, 20)} <= {c for c in IDS if records_contact(c, 50)}


def test_a_recording_key_is_the_merchant_then_the_contact() -> None:
    assert recording_key("m1", "c-1") == "m1/c-1.wav"
    assert recording_key_for("m1", IDS[0], 100) == f"m1/{IDS[0]}.wav"
    assert recording_key_for("m1", IDS[0], 0) is None
    assert recording_key_for(None, IDS[0], 100) is None


@pytest.mark.parametrize(
    "key", ["../m1/c.wav", "m1/../c.wav", "/m1/c.wav", "m1/c.mp3", "m1/c/d.wav", "m1/..wav"]
)
def test_only_keys_of_the_form_merchant_slash_contact_wav_are_recording_keys(key: str) -> None:
    assert not is_recording_key(key)


@pytest.mark.parametrize("percent", [-1, 101, 50.5, "50", True, None])
def test_a_queue_refuses_a_recording_percent_outside_0_to_100_naming_the_field(percent: object) -> None:
    with pytest.raises(ValidationError) as error:
        QueueConfig("q1", recording_percent=percent)  # type: ignore[arg-type]
    assert error.value.field == "recording_percent"


def test_a_queue_records_nothing_by_default() -> None:
    assert QueueConfig("q1").recording_percent == 0
