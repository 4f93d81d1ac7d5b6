"""Who is calling out: an INVITE from anything but a trunk must prove it is a seat's phone.

A seat's phone answers a digest challenge (407 Proxy-Authenticate, RFC 3261 §22.3) with the
credentials it registers with; the result is the seat's SIP username, which the router maps to its
seat and merchant. The same stateless nonces, credential cache, per-source failure limiter and
choice of algorithms as the registrar's (so a phone that reads only an MD5 challenge gets one).
"""

from __future__ import annotations

import logging

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.registration.challenges import ChallengeChooser, ClientKey
from sip_edge.app.registration.credentials import CredentialCache
from sip_edge.sip.decisions import Reply
from sip_edge.sip.digest import AuthOutcome, DigestAuthenticator
from sip_edge.sip.digest_header import DigestHeaderError, parse_authorization
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.message import Request

__all__ = ["SeatAuth"]

log = logging.getLogger("sip_edge.calls")


class SeatAuth:
    def __init__(
        self,
        auth: DigestAuthenticator,
        credentials: CredentialCache,
        limiter: FailedAuthLimiter,
        challenges: ChallengeChooser,
    ) -> None:
        self._auth = auth
        self._credentials = credentials
        self._limiter = limiter
        self._challenges = challenges

    async def identify(self, request: Request, source: str) -> str | Reply:
        """The SIP username the INVITE proved, or the answer to send: a challenge, or 403."""
        authorization = request.headers.get(self._auth.credentials_header)
        # The challenge's choice of algorithms is kept per source and From user, as the
        # registrar keeps it per source and To user.
        client = (source, _from_user(request))
        if authorization is None:
            return self._challenge(request, client)
        try:
            claimed = parse_authorization(authorization).username or ""
        except DigestHeaderError:
            return self._challenge(request, client)
        refusal = self._limiter.refusal(source, claimed)
        if refusal is not None:
            return refusal
        self._challenges.answered(client)
        try:
            ha1s = await self._credentials.get(claimed)
        except Exception as exc:  # the data layer is down: "try later", not a crash
            log.warning("an outbound call answered 503: cannot read credentials (%s)", exc)
            return Reply(503, headers=(("Retry-After", "5"),))
        result = self._auth.verify(
            authorization, method=request.method, request_uri=request.uri, ha1s=ha1s, client=source
        )
        if result.stale or result.outcome is AuthOutcome.UNUSABLE:
            return self._challenge(request, client, stale=result.stale)
        if not result.ok or result.username != claimed:
            locked = self._limiter.record_failure(source, claimed)
            log.info("INVITE auth failed from %s%s", source, f"; {locked} locked out" if locked else "")
            return Reply(403, "Forbidden")
        self._limiter.record_success(source, claimed)
        return claimed

    def _challenge(self, request: Request, client: ClientKey, *, stale: bool = False) -> Reply:
        algorithms = self._challenges.algorithms_for(
            request.headers.get("User-Agent") or "", client, (request.call_id, request.cseq[0])
        )
        headers = self._auth.challenge(stale=stale, algorithms=algorithms, client=client[0])
        return Reply(self._auth.challenge_status, headers=tuple(headers))


def _from_user(request: Request) -> str:
    try:
        uri = request.from_.sip_uri
    except SipParseError:
        return ""
    return uri.user or "" if uri is not None else ""
