"""Session tokens: signed claims of role and scope, refused once altered, forged or expired."""

from __future__ import annotations

import base64
import json

import pytest

from contact_center.domain.access import Principal, Role
from contact_center.services.errors import AuthenticationError
from contact_center.services.passwords import ScryptCost, hash_password, validate_password, verify_password
from contact_center.services.tokens import TOKEN_TTL_SECONDS, TokenSigner, signing_key

ADMIN_HASH = "ab" * 32
CHEAP = ScryptCost(n=2**4)
AGENT = Principal(Role.AGENT, "m1", user_id="ana", seat_id="s1")
SUPERVISOR = Principal(Role.SUPERVISOR, "m1", user_id="sam", queue_ids=frozenset({"q1", "q2"}))


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.mark.parametrize("principal", [AGENT, SUPERVISOR])
def test_a_token_carries_its_principal_until_it_expires(principal: Principal) -> None:
    clock = Clock()
    signer = TokenSigner(signing_key(ADMIN_HASH), clock)
    issued = signer.issue(principal)
    assert issued.expires_at == clock.now + TOKEN_TTL_SECONDS * 1000
    assert signer.verify(issued.token) == principal
    clock.now = issued.expires_at
    with pytest.raises(AuthenticationError):
        signer.verify(issued.token)


def test_an_altered_claim_breaks_the_signature() -> None:
    signer = TokenSigner(signing_key(ADMIN_HASH), Clock())
    payload, signature = signer.issue(AGENT).token.removeprefix("sbt_").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["s"] = "s2"  # another agent's seat
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(AuthenticationError):
        signer.verify(f"sbt_{forged}.{signature}")


def test_a_token_signed_under_another_admin_key_is_refused() -> None:
    other = TokenSigner(signing_key("cd" * 32), Clock()).issue(AGENT).token
    with pytest.raises(AuthenticationError):
        TokenSigner(signing_key(ADMIN_HASH), Clock()).verify(other)


def test_without_an_admin_key_nobody_signs_in() -> None:
    signer = TokenSigner(None, Clock())
    with pytest.raises(AuthenticationError):
        signer.issue(AGENT)


def test_admins_get_no_session_tokens() -> None:
    with pytest.raises(ValueError):
        TokenSigner(signing_key(ADMIN_HASH), Clock()).issue(Principal(Role.MERCHANT_ADMIN, "m1"))


def test_passwords_are_salted_and_verified() -> None:
    first, second = (
        hash_password("correct horse battery", CHEAP),
        hash_password("correct horse battery", CHEAP),
    )
    assert first != second and "correct" not in first
    assert verify_password("correct horse battery", first, CHEAP)
    assert not verify_password("correct horse batterz", first, CHEAP)
    assert not verify_password("anything at all", None, CHEAP)
    assert not verify_password("anything at all", "md5$nonsense", CHEAP)


@pytest.mark.parametrize("password", ["short", "x" * 257, 12345678901234])
def test_weak_or_malformed_passwords_are_refused(password: object) -> None:
    from contact_center.domain.errors import ValidationError

    with pytest.raises(ValidationError) as raised:
        validate_password(password)
    assert raised.value.field == "password"
