"""Server-side HTTP Digest authentication for SIP (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760).

Reading the Authorization header is `digest_header`; this module challenges and verifies.

- Challenges offer SHA-256 first and MD5 second (RFC 8760 2.4: most preferred first), each with
  qop="auth", as two WWW-Authenticate (registrar/UAS, 401) or Proxy-Authenticate (proxy, 407)
  headers. Clients that only know MD5 (sipp, older phones) pick the second one.
- Nonces are stateless: ``base64url(timestamp || salt || HMAC-SHA256(fleet key, timestamp ||
  salt || realm)[:16])``. Any edge process holding the same key verifies a nonce another one
  issued, so a REGISTER retried through another task behind the load balancer still succeeds.
  An expired nonce with an otherwise correct response yields STALE, answered with a fresh
  challenge carrying ``stale=true`` (RFC 7616 3.3) so phones retry without prompting the user.
- Verification takes the stored HA1 per algorithm (``H(username:realm:password)``, hex); the
  password itself is never needed after provisioning.
- All secret comparisons use ``hmac.compare_digest``.

Replay protection within a nonce's lifetime is per process (a bounded cache of seen
``(nonce, cnonce, nc)``); across processes the nonce TTL bounds the window, which is the
trade-off stateless nonces make.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .digest_header import DigestCredentials, DigestHeaderError, parse_authorization
from .entropy import token_bytes

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "AuthOutcome",
    "AuthResult",
    "DigestAuthenticator",
    "DigestCredentials",
    "DigestHeaderError",
    "compute_ha1",
    "compute_response",
    "parse_authorization",
]

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
try:
    hashlib.new("sha512_256")
except ValueError:  # pragma: no cover - depends on the OpenSSL build
    pass
else:
    _HASHES["SHA-512-256"] = lambda data: hashlib.new("sha512_256", data).hexdigest()

SUPPORTED_ALGORITHMS = tuple(_HASHES)
_CANONICAL_ALGORITHM = {name.upper(): name for name in _HASHES}

_NONCE_BYTES = 8 + 8 + 16


def _algorithm(name: str) -> str:
    canonical = _CANONICAL_ALGORITHM.get(name.upper())
    if canonical is None:
        raise ValueError(f"unsupported digest algorithm {name!r}")
    return canonical


def _hash(algorithm: str, text: str) -> str:
    # Message text is decoded with surrogateescape: its bytes come back as they were on the wire,
    # which is what the client hashed (a non-UTF-8 cnonce must not raise).
    return _HASHES[algorithm](text.encode("utf-8", "surrogateescape"))


def compute_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """``H(username:realm:password)`` in lower-case hex: what the directory stores per algorithm."""
    return _hash(_algorithm(algorithm), f"{username}:{realm}:{password}")


def compute_response(
    ha1: str,
    *,
    nonce: str,
    method: str,
    uri: str,
    algorithm: str = "MD5",
    qop: str | None = "auth",
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The request-digest of RFC 7616 3.4.1 (and RFC 2617 3.2.2.1 when ``qop`` is None)."""
    alg = _algorithm(algorithm)
    if qop == "auth-int":
        ha2 = _hash(alg, f"{method}:{uri}:{_HASHES[alg](body)}")
    else:
        ha2 = _hash(alg, f"{method}:{uri}")
    if qop is None:
        return _hash(alg, f"{ha1}:{nonce}:{ha2}")
    return _hash(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


class AuthOutcome(enum.Enum):
    OK = "ok"
    # Nonce past its lifetime but the response was right: re-challenge with stale=true.
    STALE = "stale"
    # A response computed over a nonce we issued (to this client) was wrong or replayed: a guess.
    FAILED = "failed"
    # Credentials that cannot be checked (malformed, foreign or unbound nonce, other realm...):
    # answered with a fresh challenge, and never counted as a guess, so forged packets carrying a
    # victim's address cannot lock the victim out.
    UNUSABLE = "unusable"


@dataclass(frozen=True, slots=True)
class AuthResult:
    outcome: AuthOutcome
    reason: str = ""
    username: str | None = None
    algorithm: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is AuthOutcome.OK

    @property
    def stale(self) -> bool:
        return self.outcome is AuthOutcome.STALE


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    if len(text) > 64:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


class DigestAuthenticator:
    """Issues challenges and verifies credentials for one realm.

    ``key`` is the fleet-wide secret (at least 16 bytes) shared by every edge process; ``now``
    is injectable so tests move time instead of sleeping.
    """

    def __init__(
        self,
        key: bytes,
        realm: str,
        *,
        nonce_ttl: float = 300.0,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        proxy: bool = False,
        opaque: str | None = None,
        now: Callable[[], float] = time.time,
        clock_skew: float = 30.0,
        replay_cache_size: int = 10000,
    ) -> None:
        if len(key) < 16:
            raise ValueError("the nonce key must be at least 16 bytes")
        self._key = key
        self._mac_inner, self._mac_outer = _hmac_sha256_pads(key)
        self.realm = realm
        self.nonce_ttl = nonce_ttl
        self.algorithms = tuple(_algorithm(name) for name in algorithms)
        self.proxy = proxy
        self.opaque = opaque
        self._now = now
        self._clock_skew = clock_skew
        self._realm_bytes = realm.encode("utf-8")
        # Every challenge value is the same text around its nonce, per algorithm offered.
        self._challenge_head = f'Digest realm="{_quote(realm)}", nonce="'
        opaque_part = f', opaque="{_quote(opaque)}"' if opaque is not None else ""
        self._challenge_tails = {
            stale: {
                name: f'"{opaque_part}, algorithm={name}, qop="auth"' + (", stale=true" if stale else "")
                for name in self.algorithms
            }
            for stale in (False, True)
        }
        self._replay_cache_size = replay_cache_size
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    # --- challenges ---------------------------------------------------------------------------

    @property
    def challenge_header(self) -> str:
        return "Proxy-Authenticate" if self.proxy else "WWW-Authenticate"

    @property
    def credentials_header(self) -> str:
        return "Proxy-Authorization" if self.proxy else "Authorization"

    @property
    def challenge_status(self) -> int:
        return 407 if self.proxy else 401

    def _mac(self, stamp_and_salt: bytes, client: str) -> bytes:
        message = stamp_and_salt + self._realm_bytes + b"\0" + client.encode()
        # HMAC-SHA256 (RFC 2104) from the keyed pads hashed once in __init__: a copy of each per
        # nonce issued or checked, half the work of hmac.digest, which sets OpenSSL's HMAC up anew.
        inner = self._mac_inner.copy()
        inner.update(message)
        outer = self._mac_outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:16]

    def make_nonce(self, client: str = "") -> str:
        """A nonce bound to ``client`` (e.g. the source address): only that client can use it."""
        stamp_and_salt = struct.pack(">Q", int(self._now())) + token_bytes(8)
        return _b64encode(stamp_and_salt + self._mac(stamp_and_salt, client))

    def nonce_age(self, nonce: str, client: str = "") -> float | None:
        """Seconds since the nonce was issued, or None when it was not issued under our key to
        ``client``."""
        raw = _b64decode(nonce)
        if raw is None or len(raw) != _NONCE_BYTES:
            return None
        if not hmac.compare_digest(raw[16:], self._mac(raw[:16], client)):
            return None
        stamp: int = struct.unpack(">Q", raw[:8])[0]
        return self._now() - stamp

    def challenge(
        self, *, stale: bool = False, algorithms: tuple[str, ...] | None = None, client: str = ""
    ) -> list[tuple[str, str]]:
        """Headers for a 401/407: one challenge per algorithm, most preferred first, sharing one
        nonce so a client may answer whichever it supports. ``algorithms`` narrows the offer (to
        those this authenticator accepts) for clients known to read only the first challenge."""
        nonce = self.make_nonce(client)
        offered = (
            self.algorithms if algorithms is None else tuple(a for a in self.algorithms if a in algorithms)
        )
        header = self.challenge_header
        head = self._challenge_head
        tails = self._challenge_tails[stale]
        return [(header, f"{head}{nonce}{tails[algorithm]}") for algorithm in offered]

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        credentials: DigestCredentials | str,
        *,
        method: str,
        request_uri: str,
        ha1s: Mapping[str, str] | None,
        client: str = "",
    ) -> AuthResult:
        """Check credentials against the stored HA1s (algorithm -> hex) of their username.

        ``ha1s`` None (unknown user) fails in the same way as a wrong password, so a caller does
        not reveal which usernames exist. ``client`` must be what the nonce was issued to.
        Only a response over a valid nonce counts as FAILED; anything that cannot be checked is
        UNUSABLE.
        """
        if isinstance(credentials, str):
            try:
                credentials = parse_authorization(credentials)
            except DigestHeaderError as exc:
                return AuthResult(AuthOutcome.UNUSABLE, str(exc))
        username = credentials.username
        if credentials.scheme.lower() != "digest":
            return AuthResult(AuthOutcome.UNUSABLE, "not a Digest credential", username)
        nonce = credentials.nonce
        uri = credentials.uri
        response = credentials.response
        if username is None or nonce is None or uri is None or response is None:
            return AuthResult(AuthOutcome.UNUSABLE, "missing username, nonce, uri or response", username)
        if credentials.realm != self.realm:
            return AuthResult(AuthOutcome.UNUSABLE, "wrong realm", username)
        algorithm = _CANONICAL_ALGORITHM.get(credentials.algorithm.upper())
        if algorithm is None or algorithm not in self.algorithms:
            return AuthResult(AuthOutcome.UNUSABLE, "algorithm not offered", username)
        if self.opaque is not None and not hmac.compare_digest(
            (credentials.opaque or "").encode("utf-8", "surrogateescape"), self.opaque.encode()
        ):
            return AuthResult(AuthOutcome.UNUSABLE, "opaque mismatch", username, algorithm)
        qop = credentials.qop
        nc = credentials.nc or ""
        cnonce = credentials.cnonce or ""
        # We only offer qop="auth"; RFC 7616 makes qop mandatory, and without it nc/cnonce
        # would not bind the response to this client's request count.
        if qop is None or qop.lower() != "auth":
            return AuthResult(AuthOutcome.UNUSABLE, "qop=auth required", username, algorithm)
        if _NC_RE.fullmatch(nc) is None or not cnonce:
            return AuthResult(AuthOutcome.UNUSABLE, "bad nc or cnonce", username, algorithm)
        if not _same_uri(uri, request_uri):
            return AuthResult(
                AuthOutcome.UNUSABLE, "digest uri does not match Request-URI", username, algorithm
            )
        age = self.nonce_age(nonce, client)
        if age is None:
            return AuthResult(
                AuthOutcome.UNUSABLE, "nonce not issued by this fleet to this client", username, algorithm
            )
        ha1 = ha1s.get(algorithm) if ha1s is not None else None
        # Compute even for unknown users so that timing does not tell them apart.
        expected = compute_response(
            ha1 or "0" * 32,
            nonce=nonce,
            method=method,
            uri=uri,
            algorithm=algorithm,
            qop="auth",
            nc=nc,
            cnonce=cnonce,
        )
        if (
            not hmac.compare_digest(expected.encode(), response.lower().encode("utf-8", "surrogateescape"))
            or ha1 is None
        ):
            return AuthResult(AuthOutcome.FAILED, "wrong credentials", username, algorithm)
        if age > self.nonce_ttl or age < -self._clock_skew:
            return AuthResult(AuthOutcome.STALE, "nonce expired", username, algorithm)
        if not self._first_use(nonce, cnonce, nc):
            return AuthResult(AuthOutcome.FAILED, "replayed credentials", username, algorithm)
        return AuthResult(AuthOutcome.OK, "", username, algorithm)

    def _first_use(self, nonce: str, cnonce: str, nc: str) -> bool:
        if self._replay_cache_size <= 0:
            return True
        key = (nonce, cnonce, nc)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._replay_cache_size:
            self._seen.popitem(last=False)
        return True


def _hmac_sha256_pads(key: bytes) -> tuple[_Hash, _Hash]:
    """SHA-256 states after the inner and outer keyed pads of HMAC (RFC 2104 2)."""
    block = 64  # SHA-256's block size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner, outer


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


# nc: exactly 8 hex digits (RFC 7616 3.4).
_NC_RE = re.compile(r"[0-9a-fA-F]{8}")


def _same_uri(digest_uri: str, request_uri: str) -> bool:
    """RFC 7616 3.4.6: the digest-uri must name the Request-URI. Proxies and NATs may re-case the
    scheme or host, so those compare case-insensitively; everything else exactly, except that a
    port given on one side only is tolerated: sipp and some phones put the registrar's host:port
    in the digest-uri while the Request-URI names the bare domain. Two different ports never match."""
    if digest_uri == request_uri:
        return True
    scheme_a, _, rest_a = digest_uri.partition(":")
    scheme_b, _, rest_b = request_uri.partition(":")
    if scheme_a.lower() != scheme_b.lower():
        return False
    user_a, at_a, host_a = rest_a.rpartition("@")
    user_b, at_b, host_b = rest_b.rpartition("@")
    if at_a != at_b or user_a != user_b:
        return False
    name_a, port_a = _split_port(host_a.split(";", 1)[0].lower())
    name_b, port_b = _split_port(host_b.split(";", 1)[0].lower())
    return name_a == name_b and (port_a == port_b or port_a is None or port_b is None)


def _split_port(hostport: str) -> tuple[str, str | None]:
    if hostport.endswith("]") or ":" not in hostport.rsplit("]", 1)[-1]:
        return hostport, None
    host, _, port = hostport.rpartition(":")
    return host, port
