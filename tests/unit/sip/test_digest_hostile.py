"""Digest verification of credentials carrying bytes that are not UTF-8 (found by the SIP fuzzer).

The parser keeps such bytes as surrogates; the digest is computed over the bytes as they came,
so a hostile value is a wrong answer, never an exception (which the edge would turn into a 500).
"""

from __future__ import annotations

import re

import pytest

from sip_edge.sip.digest import AuthOutcome, DigestAuthenticator, compute_ha1, compute_response

REALM = "sip.test"
CLIENT = "192.0.2.10"
HA1S = {alg: compute_ha1("alice", REALM, "s3cret", alg) for alg in ("MD5", "SHA-256")}


def nonce_of(auth: DigestAuthenticator) -> str:
    header = auth.challenge(client=CLIENT)[0]
    value = header[1] if isinstance(header, tuple) else header
    return re.search(r'nonce="([^"]+)"', value).group(1)  # type: ignore[union-attr]


def credentials(nonce: str, *, response: str, cnonce: str = "0a4f113b") -> str:
    return (
        f'Digest username="alice", realm="{REALM}", nonce="{nonce}", uri="sip:{REALM}", '
        f'response="{response}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="{cnonce}"'
    )


@pytest.mark.parametrize(("response", "cnonce"), [("\udcff\udcfe", "0a4f113b"), ("00", "\udc9d")])
def test_non_utf8_bytes_in_the_credentials_are_a_wrong_answer_not_an_error(
    response: str, cnonce: str
) -> None:
    auth = DigestAuthenticator(b"k" * 32, REALM)
    result = auth.verify(
        credentials(nonce_of(auth), response=response, cnonce=cnonce),
        method="REGISTER",
        request_uri=f"sip:{REALM}",
        ha1s=HA1S,
        client=CLIENT,
    )
    assert result.outcome is AuthOutcome.FAILED


def test_a_digest_over_a_non_utf8_cnonce_is_checked_over_its_raw_bytes() -> None:
    auth = DigestAuthenticator(b"k" * 32, REALM)
    nonce = nonce_of(auth)
    cnonce = "\udc9d\udcff"  # the bytes 0x9d 0xff as the parser keeps them
    right = compute_response(
        HA1S["SHA-256"],
        nonce=nonce,
        method="REGISTER",
        uri=f"sip:{REALM}",
        algorithm="SHA-256",
        nc="00000001",
        cnonce=cnonce,
    )
    result = auth.verify(
        credentials(nonce, response=right, cnonce=cnonce),
        method="REGISTER",
        request_uri=f"sip:{REALM}",
        ha1s=HA1S,
        client=CLIENT,
    )
    assert result.ok
