"""What a prompt upload may be: a name, and mono 8/16 kHz 16-bit PCM or G.711 WAV within the limits."""

from __future__ import annotations

import hashlib

import pytest

from contact_center.domain.errors import ValidationError
from contact_center.domain.prompts import (
    MAX_PROMPT_BYTES,
    MAX_PROMPT_SECONDS,
    PromptEncoding,
    PromptFile,
    PromptTooLargeError,
    QueuePrompts,
    UnsupportedAudioError,
    inspect_wav,
    is_prompt_name,
    prompt_key,
    validate_prompt_name,
)
from contact_center.domain.queueing import QueueMedia
from tests.support.audio import g711_wav, pcm_wav, tone


def test_a_mono_8khz_16_bit_wav_is_accepted_with_its_length_size_and_hash() -> None:
    data = pcm_wav(tone(1000, 1.5))
    audio = inspect_wav(data)
    assert (audio.encoding, audio.sample_rate, audio.duration_ms) == (PromptEncoding.PCM16, 8000, 1500)
    assert audio.size_bytes == len(data)
    assert audio.sha256 == hashlib.sha256(data).hexdigest()


def test_16khz_pcm_and_both_g711_laws_are_accepted() -> None:
    assert inspect_wav(pcm_wav(tone(440, 1, rate=16000), rate=16000)).sample_rate == 16000
    assert inspect_wav(g711_wav(b"\xff" * 8000, tag=7)).encoding is PromptEncoding.ULAW
    alaw = inspect_wav(g711_wav(b"\xd5" * 4000, tag=6))
    assert (alaw.encoding, alaw.duration_ms) == (PromptEncoding.ALAW, 500)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (pcm_wav(tone(440, 0.5) * 2, channels=2), "channels"),
        (pcm_wav(tone(440, 0.5, rate=44100), rate=44100), "sample_rate"),
        (pcm_wav(tone(440, 0.5), width=1), "bits_per_sample"),
        (g711_wav(b"\x00" * 800, tag=3), "encoding"),  # IEEE float
        (g711_wav(b"\x00" * 1600, tag=7, bits=16), "bits_per_sample"),
    ],
)
def test_a_readable_wav_in_another_format_is_unsupported_naming_what_is_wrong(
    data: bytes, field: str
) -> None:
    with pytest.raises(UnsupportedAudioError) as refused:
        inspect_wav(data)
    assert refused.value.field == field


@pytest.mark.parametrize(
    "data",
    [b"", b"ID3\x04 an mp3", b"RIFF\x10\x00\x00\x00WAVEjunk", pcm_wav([])],
)
def test_what_is_not_a_readable_wav_with_audio_is_a_validation_error_of_the_body(data: bytes) -> None:
    with pytest.raises(ValidationError) as refused:
        inspect_wav(data)
    assert refused.value.field == "body"
    assert not isinstance(refused.value, UnsupportedAudioError | PromptTooLargeError)


def test_a_data_chunk_cut_short_is_refused() -> None:
    data = pcm_wav(tone(440, 1))
    with pytest.raises(ValidationError, match="cut short"):
        inspect_wav(data[:-100])


def test_too_long_or_too_large_is_refused_naming_duration_or_body() -> None:
    # One second past the limit at 8 kHz stays under the byte cap: the length is what is refused.
    with pytest.raises(PromptTooLargeError) as refused:
        inspect_wav(g711_wav(b"\xff" * 8000 * (MAX_PROMPT_SECONDS + 1)))
    assert refused.value.field == "duration"
    with pytest.raises(PromptTooLargeError) as refused:
        inspect_wav(b"RIFF" + b"\x00" * MAX_PROMPT_BYTES)
    assert refused.value.field == "body"


@pytest.mark.parametrize("name", ["greeting", "hold-music_2", "a", "x" * 64])
def test_prompt_names_are_plain_lower_case_names(name: str) -> None:
    assert is_prompt_name(name)
    assert validate_prompt_name(name, "name") == name


@pytest.mark.parametrize("name", ["", "Greeting", "../etc", "a/b", "-x", "x" * 65, "hold music", 7, None])
def test_anything_else_is_not_a_prompt_name(name: object) -> None:
    assert not is_prompt_name(name)
    with pytest.raises(ValidationError) as refused:
        validate_prompt_name(name, "name")
    assert refused.value.field == "name"


def test_a_queue_names_uploaded_prompts_by_the_same_rule() -> None:
    assert QueueMedia(greeting_prompt="welcome", music_prompt="jingle").music_prompt == "jingle"
    with pytest.raises(ValidationError) as refused:
        QueueMedia(music_prompt="Jingle.wav")
    assert refused.value.field == "media.music_prompt"


def test_each_version_is_stored_under_its_content_hash() -> None:
    sha = "ab" * 32
    assert prompt_key("m1", "welcome", sha) == f"m1/welcome/{sha}.wav"


def test_the_prompts_of_a_decision_survive_the_round_trip_and_malformed_parts_are_the_defaults() -> None:
    prompts = QueuePrompts(greeting=PromptFile("m1/welcome/x.wav", "x"))
    assert QueuePrompts.from_dict(prompts.as_dict()) == prompts
    assert QueuePrompts.from_dict({"greeting": {"key": 1}, "music": "x"}) == QueuePrompts()
    assert QueuePrompts.from_dict(None) == QueuePrompts()
