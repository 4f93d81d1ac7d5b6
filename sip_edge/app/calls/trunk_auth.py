"""Answering a trunk's digest challenge (RFC 3261 §22.2) with the trunk's stored HA1.

A legacy PBX or a carrier may answer our INVITE with 401 (WWW-Authenticate) or 407
(Proxy-Authenticate). The INVITE is then sent once more on the same dialog, CSeq one higher
(§8.1.3.5), with Authorization or Proxy-Authorization computed from the HA1 kept for the trunk's
realm: the password itself is never stored, so a challenge for another realm, or with an algorithm
we hold no HA1 for, cannot be answered. That call then fails over as it would were the trunk
unreachable, and the log names the realm asked for and the one we hold.

A second challenge to the retried INVITE is not answered again (wrong credentials would loop).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from contact_center.domain.trunks import OutboundAuth
from sip_edge.sip.digest import compute_response
from sip_edge.sip.digest_header import DigestHeaderError, parse_authorization
from sip_edge.sip.message import Request, Response

__all__ = ["CHALLENGES", "TrunkChallengeError", "answer_challenge", "authorizer"]

log = logging.getLogger("sip_edge.trunks")

# Challenge status -> (the header that carries it, the header that answers it).
CHALLENGES = {401: ("WWW-Authenticate", "Authorization"), 407: ("Proxy-Authenticate", "Proxy-Authorization")}


class TrunkChallengeError(Exception):
    """A trunk's challenge that its stored credentials cannot answer."""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def answer_challenge(auth: OutboundAuth, challenge: Response, request: Request) -> tuple[str, str]:
    """The header answering ``challenge`` (a 401/407 to ``request``), or `TrunkChallengeError`."""
    names = CHALLENGES.get(challenge.status)
    if names is None:
        raise TrunkChallengeError(f"{challenge.status} is not a challenge")
    asked, answer = names
    offered = [
        value for value in challenge.headers.get_lines(asked) if value.strip().lower().startswith("digest")
    ]
    if not offered:
        raise TrunkChallengeError(f"the {challenge.status} has no digest {asked}")
    problems: list[str] = []
    for value in offered:  # RFC 8760: several challenges, one per algorithm, the preferred first
        try:
            params = parse_authorization(value).params
        except DigestHeaderError as exc:
            problems.append(f"unreadable challenge ({exc})")
            continue
        realm = params.get("realm", "")
        algorithm = params.get("algorithm", "MD5")
        if realm != auth.realm:
            problems.append(f"realm {realm!r} (credentials are for {auth.realm!r})")
            continue
        ha1 = next((v for k, v in auth.ha1.items() if k.upper() == algorithm.upper()), None)
        nonce = params.get("nonce")
        if ha1 is None or nonce is None:
            problems.append(f"algorithm {algorithm} without a stored HA1" if ha1 is None else "no nonce")
            continue
        return answer, _credentials(auth, params, ha1, request)
    raise TrunkChallengeError("; ".join(problems))


def _credentials(auth: OutboundAuth, params: dict[str, str], ha1: str, request: Request) -> str:
    algorithm = params.get("algorithm", "MD5")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else None  # auth-int would hash a body a B2BUA may not own
    cnonce = secrets.token_hex(8) if qop else ""
    nc = "00000001" if qop else ""
    response = compute_response(
        ha1,
        nonce=params["nonce"],
        method=request.method,
        uri=request.uri,
        algorithm=algorithm,
        qop=qop,
        nc=nc,
        cnonce=cnonce,
    )
    fields = [
        f"username={_quoted(auth.username)}",
        f"realm={_quoted(auth.realm)}",
        f"nonce={_quoted(params['nonce'])}",
        f"uri={_quoted(request.uri)}",
        f"response={_quoted(response)}",
        f"algorithm={algorithm}",
    ]
    if qop:
        fields += [f"qop={qop}", f"nc={nc}", f"cnonce={_quoted(cnonce)}"]
    if "opaque" in params:
        fields.append(f"opaque={_quoted(params['opaque'])}")
    return "Digest " + ", ".join(fields)


@dataclass(frozen=True, slots=True)
class _Authorizer:
    trunk_id: str
    auth: OutboundAuth | None

    def __call__(self, challenge: Response, request: Request) -> tuple[str, str] | None:
        if self.auth is None:
            log.warning(
                "trunk %s challenged a call (%d) and has no credentials", self.trunk_id, challenge.status
            )
            return None
        try:
            return answer_challenge(self.auth, challenge, request)
        except TrunkChallengeError as exc:
            log.warning("trunk %s challenged a call we cannot answer: %s", self.trunk_id, exc)
            return None


def authorizer(trunk_id: str, auth: OutboundAuth | None) -> _Authorizer:
    """What the ring calls on a 401/407 of the trunk: the answering header, or None (logged)."""
    return _Authorizer(trunk_id, auth)
