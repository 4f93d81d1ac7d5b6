"""What a queued caller hears, as prompt names, and the parked answer that holds its media."""

from __future__ import annotations

import pytest

from sip_edge.app.media.prompts import TEXTS, PromptSet, announcement, spoken_number
from sip_edge.media.sdp import parked_answer


@pytest.mark.parametrize(
    ("number", "names"),
    [
        (0, ["n0"]),
        (7, ["n7"]),
        (13, ["n13"]),
        (20, ["n20"]),
        (37, ["n30", "n7"]),
        (100, ["n1", "hundred"]),
        (120, ["n1", "hundred", "n20"]),
        (999, ["n9", "hundred", "n90", "n9"]),
        (1234, ["n1", "n2", "n3", "n4"]),
    ],
)
def test_numbers_are_said_by_concatenating_recorded_words(number: int, names: list[str]) -> None:
    assert spoken_number(number) == names


def test_every_word_a_number_needs_is_in_the_catalogue() -> None:
    for number in range(0, 1000):
        assert set(spoken_number(number)) <= set(TEXTS)


def test_the_announcement_gives_the_place_and_the_wait_rounded_up_to_minutes() -> None:
    assert announcement(3, 61) == ["caller-number", "n3", "expected-wait", "n2", "minutes"]
    assert announcement(1, 60) == ["caller-number", "n1", "expected-wait", "n1", "minute"]


def test_a_wait_under_a_minute_is_said_as_such_and_an_unknown_one_not_at_all() -> None:
    assert announcement(2, 25) == ["caller-number", "n2", "less-than-a-minute"]
    assert announcement(2, None) == ["caller-number", "n2"]
    assert announcement(None, None) == []


@pytest.mark.parametrize(("key", "word"), [("1", "n1"), ("0", "n0"), ("*", "star"), ("#", "hash")])
def test_a_queue_with_callbacks_names_its_key_after_the_place_and_the_wait(key: str, word: str) -> None:
    assert announcement(2, 25, key) == ["caller-number", "n2", "less-than-a-minute", "callback-offer", word]
    assert announcement(None, None, key) == ["callback-offer", word]
    assert {"callback-offer", "callback-left", word} <= set(TEXTS)


def test_prompt_files_are_wav_files_in_the_relays_directory() -> None:
    assert PromptSet("/srv/prompts").path("n7") == "/srv/prompts/n7.wav"


OFFER = (
    b"v=0\r\no=- 5 5 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    b"m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=rtcp:30001\r\na=sendrecv\r\nm=video 30002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
)


def test_the_parked_answer_accepts_the_offered_audio_at_the_discard_port_and_refuses_video() -> None:
    answer = parked_answer(OFFER).decode()
    assert "m=audio 9 RTP/AVP 0 101\r\n" in answer
    assert "a=rtpmap:0 PCMU/8000\r\n" in answer
    assert "c=IN IP4 127.0.0.1\r\n" in answer
    assert "m=video 0 RTP/AVP 96\r\n" in answer
    assert "VP8" not in answer and "a=rtcp:" not in answer
