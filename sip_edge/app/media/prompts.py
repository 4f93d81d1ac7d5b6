"""The default prompts: their names, their words, and how a number or a wait is spoken.

One catalogue for both sides: `scripts/make_prompts.py` speaks ``TEXTS`` with espeak-ng and sox into
mono WAV files at setup, and the hold player names the same files to the relay. Numbers are
said by concatenating number prompts, as telephone systems do: 0-19 and the tens are recorded,
37 is "thirty" + "seven", 120 is "one" "hundred" "twenty".

Why the files are 96 kHz although a call hears 8 kHz: the relay (Debian's rtpengine 10.5) reads a
WAV file 4096 bytes at a time and queues each read's packets ahead of their time; its clock-skew
correction then pulls queued packets 10 ms earlier each, so an 8 kHz file (256 ms a read) reached a
caller as bursts of 13 packets 10 ms apart and about 110 ms of nothing, every quarter second (a
phone's jitter buffer runs dry: audible). At 96 kHz a read is 21 ms, under the 50 ms the correction
waits for, and the packets leave every 20 ms. (rtpengine 13.4 stopped correcting skew during
playback; the files can return to 8 kHz once the relays run it.) The relay resamples to the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sip_edge.app.media.uploaded import UploadedPrompts

__all__ = [
    "CALLBACK_LEFT",
    "CALLBACK_OFFER",
    "MUSIC",
    "RELAY_SAMPLE_RATE",
    "TEXTS",
    "TRAILING_SILENCE_S",
    "PromptSet",
    "announcement",
    "spoken_key",
    "spoken_number",
]

_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]  # fmt: skip
_TENS = {
    20: "twenty",
    30: "thirty",
    40: "forty",
    50: "fifty",
    60: "sixty",
    70: "seventy",
    80: "eighty",
    90: "ninety",
}

RELAY_SAMPLE_RATE = 96_000
# Every spoken prompt ends in this much silence, so concatenated words flow and the next file may be
# started a little before this one ends (the hold player's switch lead) without cutting a word.
TRAILING_SILENCE_S = 0.12

MUSIC = "music"
CALLBACK_OFFER = "callback-offer"
CALLBACK_LEFT = "callback-left"
TEXTS: dict[str, str] = {
    "greeting": "Thank you for calling. All of our agents are busy. Please stay on the line.",
    # The default menu prompt (a number's menu names its own prompt; merchants upload theirs).
    "menu": "For sales, press one. For support, press two.",
    # What a callback's agent hears on answering, before the customer is dialled.
    "callback-whisper": "Callback. Connecting you to a customer who asked to be called back.",
    "caller-number": "You are caller number",
    "expected-wait": "Your expected wait is about",
    "less-than-a-minute": "Your expected wait is less than a minute.",
    "minute": "minute",
    "minutes": "minutes",
    "hundred": "hundred",
    # A queue with callbacks says its key after each announcement, and confirms a callback left.
    "callback-offer": "To keep your place in line and be called back, press",
    "star": "star",
    "hash": "hash",
    "callback-left": "Thank you. You keep your place in line, and we will call you back. Goodbye.",
    **{f"n{n}": word for n, word in enumerate(_UNITS)},
    **{f"n{n}": word for n, word in _TENS.items()},
}


def spoken_number(n: int) -> list[str]:
    """Prompt names that say ``n`` (0-999; larger numbers are said digit by digit)."""
    if n < 0:
        raise ValueError("a negative number is never announced")
    if n >= 1000:
        return [f"n{int(d)}" for d in str(n)]
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [f"n{hundreds}", "hundred"]
        if rest == 0:
            return words
    if rest < 20:
        return [*words, f"n{rest}"]
    tens, unit = divmod(rest, 10)
    words.append(f"n{tens * 10}")
    if unit:
        words.append(f"n{unit}")
    return words


def spoken_key(key: str) -> str:
    """The prompt that names a telephone key: "one", "star", "hash"."""
    return {"*": "star", "#": "hash"}.get(key) or f"n{int(key)}"


def announcement(
    position: int | None, wait_seconds: int | None, callback_key: str | None = None
) -> list[str]:
    """What a queued caller hears: its place ("you are caller number 3"), the expected wait in
    whole minutes, rounded up ("about 2 minutes"), or "less than a minute", and the key that leaves a
    callback when the queue takes them ("... press one")."""
    names: list[str] = []
    if position is not None and position > 0:
        names += ["caller-number", *spoken_number(position)]
    if wait_seconds is not None:
        if wait_seconds < 60:
            names.append("less-than-a-minute")
        else:
            minutes = -(-wait_seconds // 60)
            names += ["expected-wait", *spoken_number(minutes), "minute" if minutes == 1 else "minutes"]
    if callback_key is not None:
        names += [CALLBACK_OFFER, spoken_key(callback_key)]
    return names


@dataclass(frozen=True, slots=True)
class PromptSet:
    """Where the prompt files are, as the relay sees them (rtpengine opens them itself), and the
    merchants' uploaded prompts copied beside them (None: the defaults only)."""

    directory: str
    uploaded: UploadedPrompts | None = None

    def path(self, name: str) -> str:
        return str(PurePosixPath(self.directory) / f"{name}.wav")
