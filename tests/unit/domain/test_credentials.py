"""Generated SIP passwords: strong, and safe to paste into a command line."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from contact_center.domain import credentials


def test_a_password_drawn_with_a_leading_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a random source whose first draw begins with "-" (1 draw in 64 does)
    draws: Iterator[str] = iter(["-leading-dash-password-xx", "Ordinary-password_123456"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(draws))
    # Then the password handed out is the next draw, not an option for a softphone's command line
    assert credentials.generate_password() == "Ordinary-password_123456"


def test_a_password_drawn_beginning_with_0x_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # sipp 3.6 reads a password beginning with "0x" as hex and answers the challenge wrongly
    # (1 draw in 2,048 begins so; a bench registering 150 seats met it).
    draws: Iterator[str] = iter(
        ["0xVHoR2TGYIU66kzxUZ71Jou", "0XVHoR2TGYIU66kzxUZ71Jou", "Ordinary-password_123456"]
    )
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(draws))
    assert credentials.generate_password() == "Ordinary-password_123456"


def test_no_generated_password_begins_with_a_dash() -> None:
    # 3,000 draws: without the redraw, at least one leading "-" is all but certain (1 - (63/64)^3000).
    passwords = [credentials.generate_password() for _ in range(3000)]
    assert not [p for p in passwords if p.startswith("-")]
    assert {len(p) for p in passwords} == {24}  # 18 random bytes, URL-safe base64
