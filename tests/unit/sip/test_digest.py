"""Digest authentication: RFC 7616 vectors, stateless fleet nonces, staleness and tampering."""

from __future__ import annotations

import base64
import hmac
import random

import pytest

from sip_edge.sip.digest import (
    AuthOutcome,
    DigestAuthenticator,
    DigestHeaderError,
    compute_ha1,
    compute_response,
    parse_authorization,
)
from sip_edge.sip.digest_header import _parse_authorization_fast, _parse_authorization_scan

KEY = b"fleet-key-0123456789abcdef"
REALM = "switchboard.example.com"
URI = "sip:switchboard.example.com"


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def ha1s_for(password: str, user: str = "1001") -> dict[str, str]:
    return {alg: compute_ha1(user, REALM, password, alg) for alg in ("SHA-256", "MD5")}


def answer(
    challenge_value: str,
    *,
    password: str = "s3cret",
    user: str = "1001",
    nc: str = "00000001",
    cnonce: str = "0a4f113b",
    method: str = "REGISTER",
    uri: str = URI,
) -> str:
    """What a client (sipp, a softphone) sends back for one WWW-Authenticate value."""
    challenge = parse_authorization(challenge_value)
    algorithm = challenge.algorithm
    ha1 = compute_ha1(user, challenge.realm or "", password, algorithm)
    response = compute_response(
        ha1,
        nonce=challenge.nonce or "",
        method=method,
        uri=uri,
        algorithm=algorithm,
        qop="auth",
        nc=nc,
        cnonce=cnonce,
    )
    return (
        f'Digest username="{user}", realm="{challenge.realm}", nonce="{challenge.nonce}", uri="{uri}", '
        f'response="{response}", algorithm={algorithm}, cnonce="{cnonce}", qop=auth, nc={nc}'
        + (f', opaque="{challenge.opaque}"' if challenge.opaque else "")
    )


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_vectors(algorithm: str, expected: str) -> None:
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    response = compute_response(
        ha1,
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        method="GET",
        uri="/dir/index.html",
        algorithm=algorithm,
        qop="auth",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == expected


def test_challenge_offers_sha256_then_md5_with_one_nonce() -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock())
    (name1, first), (name2, second) = auth.challenge()
    assert name1 == name2 == "WWW-Authenticate"
    assert auth.challenge_status == 401
    one, two = parse_authorization(first), parse_authorization(second)
    assert (one.algorithm, two.algorithm) == ("SHA-256", "MD5")
    assert one.nonce == two.nonce and one.qop == "auth" and one.realm == REALM
    assert "stale" not in one.params
    assert parse_authorization(auth.challenge(stale=True)[0][1]).params["stale"] == "true"
    proxy = DigestAuthenticator(KEY, REALM, proxy=True)
    assert proxy.challenge()[0][0] == "Proxy-Authenticate"
    assert (proxy.challenge_status, proxy.credentials_header) == (407, "Proxy-Authorization")


@pytest.mark.parametrize("index", [0, 1], ids=["sha256", "md5-only-client"])
def test_good_credentials_verify(index: int) -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock())
    challenge = auth.challenge()[index][1]
    result = auth.verify(answer(challenge), method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret"))
    assert result.outcome is AuthOutcome.OK, result.reason
    assert result.ok and result.username == "1001"
    assert result.algorithm == ("SHA-256", "MD5")[index]


def test_nonce_from_another_process_sharing_the_key_verifies() -> None:
    clock = Clock()
    issuer = DigestAuthenticator(KEY, REALM, now=clock)
    verifier = DigestAuthenticator(KEY, REALM, now=clock)
    credentials = answer(issuer.challenge()[0][1])
    assert verifier.verify(credentials, method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")).ok
    stranger = DigestAuthenticator(b"another-fleet-key-000000", REALM, now=clock)
    result = stranger.verify(credentials, method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret"))
    assert result.outcome is AuthOutcome.UNUSABLE


def test_expired_nonce_is_stale_only_with_the_right_password() -> None:
    clock = Clock()
    auth = DigestAuthenticator(KEY, REALM, now=clock, nonce_ttl=300)
    challenge = auth.challenge()[0][1]
    clock.now += 301
    good = auth.verify(answer(challenge), method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret"))
    assert good.outcome is AuthOutcome.STALE and good.stale
    bad = auth.verify(
        answer(challenge, password="nope"), method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")
    )
    assert bad.outcome is AuthOutcome.FAILED


def test_tampered_nonce_is_rejected() -> None:
    clock = Clock()
    auth = DigestAuthenticator(KEY, REALM, now=clock)
    nonce = parse_authorization(auth.challenge()[0][1]).nonce or ""
    raw = bytearray(base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4)))
    raw[7] ^= 0x01  # move the timestamp, e.g. to extend its life
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    challenge = f'Digest realm="{REALM}", nonce="{forged}", algorithm=SHA-256, qop="auth"'
    result = auth.verify(answer(challenge), method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret"))
    assert result.outcome is AuthOutcome.UNUSABLE
    assert "nonce" in result.reason
    for junk in ("", "!!!", "a" * 200, base64.urlsafe_b64encode(b"x" * 32).decode()):
        assert auth.nonce_age(junk) is None


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda c: c.replace('realm="switchboard.example.com"', 'realm="other"'), "realm"),
        (lambda c: c.replace("qop=auth", "qop=auth-int"), "qop"),
        (lambda c: c.replace(", qop=auth", ""), "qop"),
        (lambda c: c.replace("nc=00000001", "nc=1"), "nc"),
        (lambda c: c.replace('cnonce="0a4f113b", ', ""), "nc or cnonce"),
        (lambda c: c.replace(f'uri="{URI}"', 'uri="sip:elsewhere.example.com"'), "uri"),
        (lambda c: c.replace("algorithm=SHA-256", "algorithm=SHA-1"), "algorithm"),
        (lambda c: c.replace("Digest", "Basic"), "Digest"),
        (lambda c: c + ', response="00"', "duplicate"),
    ],
)
def test_field_checks(mutate: object, reason: str) -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock())
    credentials = mutate(answer(auth.challenge()[0][1]))  # type: ignore[operator]
    result = auth.verify(credentials, method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret"))
    # Unusable, not a failed guess: it is answered with a new challenge and not counted.
    assert result.outcome is AuthOutcome.UNUSABLE
    assert reason in result.reason


def test_wrong_password_unknown_user_and_wrong_method_fail() -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock())
    challenge = auth.challenge()[0][1]
    assert not auth.verify(
        answer(challenge, password="guess"), method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")
    ).ok
    assert not auth.verify(answer(challenge), method="REGISTER", request_uri=URI, ha1s=None).ok
    assert not auth.verify(answer(challenge), method="INVITE", request_uri=URI, ha1s=ha1s_for("s3cret")).ok
    md5_only_store = {"MD5": compute_ha1("1001", REALM, "s3cret", "MD5")}
    assert not auth.verify(answer(challenge), method="REGISTER", request_uri=URI, ha1s=md5_only_store).ok


def test_opaque_must_echo() -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock(), opaque="edge-1")
    challenge = auth.challenge()[0][1]
    assert auth.verify(answer(challenge), method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")).ok
    stripped = answer(challenge).replace(', opaque="edge-1"', "")
    result = auth.verify(stripped, method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret"))
    assert "opaque" in result.reason


def test_replayed_credentials_are_rejected_in_process_but_next_nc_passes() -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock())
    challenge = auth.challenge()[0][1]
    first = answer(challenge)
    assert auth.verify(first, method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")).ok
    assert "replay" in auth.verify(first, method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")).reason
    assert auth.verify(
        answer(challenge, nc="00000002"), method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")
    ).ok


def test_request_uri_comparison_ignores_host_case() -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock())
    credentials = answer(auth.challenge()[0][1], uri="sip:SwitchBoard.example.com")
    assert auth.verify(credentials, method="REGISTER", request_uri=URI, ha1s=ha1s_for("s3cret")).ok


def test_parse_authorization_grammar() -> None:
    creds = parse_authorization(
        'Digest  username="bob\\"s", realm = "a,b" ,nonce="n", uri="sip:a@b;x=1", response="ABC", qop=auth,'
        ' nc=00000001, cnonce="c", algorithm=MD5'
    )
    assert creds.scheme == "Digest"
    assert creds.username == 'bob"s' and creds.realm == "a,b" and creds.uri == "sip:a@b;x=1"
    assert (creds.qop, creds.nc, creds.algorithm) == ("auth", "00000001", "MD5")
    assert parse_authorization("NoOneKnowsThisScheme opaque-data=here").params == {"opaque-data": "here"}
    assert parse_authorization('Digest realm="x"').algorithm == "MD5"
    for bad in ("", 'Digest username="unterminated', "Digest a=", "Digest a b", "Digest =x", "x" * 5000):
        with pytest.raises(DigestHeaderError):
            parse_authorization(bad)


def test_key_must_be_long_enough() -> None:
    with pytest.raises(ValueError):
        DigestAuthenticator(b"short", REALM)
    with pytest.raises(ValueError):
        compute_ha1("a", "b", "c", "SHA-1")


@pytest.mark.parametrize(
    ("digest_uri", "request_uri", "same"),
    [
        ("sip:example.com", "sip:example.com", True),
        ("SIP:Example.COM", "sip:example.com", True),
        ("sip:127.0.0.1:5091", "sip:127.0.0.1", True),  # sipp names the registrar's host:port
        ("sip:127.0.0.1", "sip:127.0.0.1:5060", True),
        ("sip:127.0.0.1:5091", "sip:127.0.0.1:5092", False),
        ("sip:other.example.com", "sip:example.com", False),
        ("sip:alice@example.com", "sip:bob@example.com", False),
        ("sips:example.com", "sip:example.com", False),
    ],
)
def test_digest_uri_must_name_the_request_uri(digest_uri: str, request_uri: str, same: bool) -> None:
    from sip_edge.sip.digest import _same_uri

    assert _same_uri(digest_uri, request_uri) is same


def test_a_nonce_is_bound_to_the_client_it_was_issued_to() -> None:
    auth = DigestAuthenticator(KEY, REALM, now=Clock())
    credentials = answer(auth.challenge(client="198.51.100.7")[0][1])
    ha1s = ha1s_for("s3cret")
    assert auth.verify(credentials, method="REGISTER", request_uri=URI, ha1s=ha1s, client="198.51.100.7").ok
    # The same credentials sent with another source address (e.g. forged) cannot even be checked.
    moved = auth.verify(credentials, method="REGISTER", request_uri=URI, ha1s=ha1s, client="203.0.113.9")
    assert moved.outcome is AuthOutcome.UNUSABLE


def test_parse_authorization_fast_path_agrees_with_the_scanner() -> None:
    # The regular expressions take the well-formed values; whatever they accept, the character
    # scanner must read the same way (and what they refuse, the scanner reports).
    rng = random.Random(4475)
    alphabet = ' \t,="\\abcDE=\n'
    samples = [
        'Digest username="bob\\"s", realm = "a,b" ,nonce="n", uri="sip:a@b;x=1", response="ABC"',
        "Digest a=1,,, b=2 ,",
        'Digest a="\\\\"',
        'Digest a=b"c',
        "Digest a==1",
        'Digest a="x"y',
        "Digest a=1 a=2",
        "Digest a=1,A=2",
    ]
    samples += [
        "Digest " + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16))) for _ in range(20000)
    ]
    for sample in samples:
        text = sample.strip(" \t")
        fast = _parse_authorization_fast(text)
        if fast is None:
            continue
        assert _parse_authorization_scan(text) == fast, sample


@pytest.mark.parametrize("key", [KEY, b"k" * 64, b"a much longer fleet key than a SHA-256 block holds" * 3])
def test_nonce_mac_is_hmac_sha256_of_stamp_salt_realm_and_client(key: bytes) -> None:
    # Other edge tasks verify our nonces with the same key: the MAC must stay HMAC-SHA256.
    auth = DigestAuthenticator(key, REALM, now=Clock())
    nonce = auth.make_nonce("198.51.100.7")
    raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    message = raw[:16] + REALM.encode() + b"\0" + b"198.51.100.7"
    assert raw[16:] == hmac.digest(key, message, "sha256")[:16]
    assert auth.nonce_age(nonce, "198.51.100.7") == 0
