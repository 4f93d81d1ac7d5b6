"""The registrar (RFC 3261 §10.3) for agents' softphones: who may register, and from where.

Policy only: it turns a REGISTER into a typed reply using the mechanism of ``sip_edge.sip``
(digest auth, and the binding rules of §10.3 in ``sip_edge.sip.registration``), the credential
cache, the failed-auth limiter and the location service. What it never does is wait for DynamoDB
on a cache hit: bindings are written behind (see ``location``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.registration.challenges import ChallengeChooser, ClientKey
from sip_edge.app.registration.credentials import CredentialCache
from sip_edge.app.registration.location import BindingWriteError, LocationService
from sip_edge.app.registration.shedding import RegistrationShedder
from sip_edge.sip.decisions import Reply
from sip_edge.sip.digest import AuthOutcome, AuthResult, DigestAuthenticator
from sip_edge.sip.message import Request
from sip_edge.sip.registration import BindingLimits, BindingRules, ContactFacts, contact_facts, warning
from sip_edge.sip.transport import Flow

log = logging.getLogger("sip_edge.registrar")

# Longest a REGISTER that moves a device waits for its binding's write (a UDP phone retransmits
# meanwhile; the transaction absorbs it).
MOVE_WRITE_TIMEOUT = 2.0

# A REGISTER's answer: at once when everything needed is in memory, else once it has been read.
Decision = Reply | None | Awaitable[Reply | None]
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


@dataclass(frozen=True, slots=True)
class RegistrarSettings:
    domain: str
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 5

    @property
    def limits(self) -> BindingLimits:
        return BindingLimits(self.min_expires, self.max_expires, self.default_expires, self.max_contacts)


class _Memo(Generic[_Key, _Value]):
    """What was derived from a header value, for the next message carrying the same value.

    A seat's To and Contact are the same on every refresh, so they are parsed once rather than
    twice a registration. Two generations of at most ``limit`` entries (as the parser's checked
    values): entries in use stay, a flood of distinct values costs bounded memory.
    """

    __slots__ = ("_current", "_limit", "_previous")

    def __init__(self, limit: int = 8192) -> None:
        self._limit = limit
        self._current: dict[_Key, _Value] = {}
        self._previous: dict[_Key, _Value] = {}

    def get(self, key: _Key) -> _Value | None:
        value = self._current.get(key)
        if value is None:
            value = self._previous.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key: _Key, value: _Value) -> None:
        if len(self._current) >= self._limit:
            self._previous = self._current
            self._current = {}
        self._current[key] = value


class Registrar:
    def __init__(
        self,
        settings: RegistrarSettings,
        auth: DigestAuthenticator,
        credentials: CredentialCache,
        location: LocationService,
        limiter: FailedAuthLimiter,
        edge_task_id: str,
        now: Callable[[], float] = time.time,
        challenges: ChallengeChooser | None = None,
        shedder: RegistrationShedder | None = None,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.credentials = credentials
        self.location = location
        self.limiter = limiter
        self.edge_task_id = edge_task_id
        self.challenges = challenges or ChallengeChooser()
        self.shedder = shedder or RegistrationShedder()
        self._now = now
        self.bindings = BindingRules(settings.limits, location, edge_task_id)
        self.failures = 0
        # REGISTERs of a moved device answered before its write was done / refused as it failed.
        self.answered_unwritten = 0
        self.refused_unwritten = 0
        self._usernames: _Memo[str, str] = _Memo()
        self._contacts: _Memo[tuple[str, ...], tuple[ContactFacts, ...]] = _Memo()

    @property
    def registrations(self) -> int:
        return self.bindings.updates

    @property
    def backlog(self) -> int:
        """REGISTERs' reads of the table not answered yet (credentials, then bindings)."""
        return self.credentials.backlog + self.location.backlog

    def aor_for(self, username: str) -> str:
        return f"sip:{username}@{self.settings.domain}"

    def decide(self, request: Request, flow: Flow) -> Decision:
        """The answer to a REGISTER: a `Reply`, or None to drop it unanswered.

        Returned at once when the seat's credentials and bindings are in memory, which is every
        refresh of a registered seat, so the stack needs no asyncio task for it; an awaitable
        when something must be read from the data layer first.
        """
        source = flow.remote[0]
        username = self._username(request)
        if username is None:
            return Reply(400, "Bad To", headers=(warning("To must be a sip: URI with a user part"),))
        refusal = self.limiter.refusal(source, username)
        if refusal is not None:
            return refusal  # locked out: the same answer whatever the password, no digest work
        authorization = request.headers.get(self.auth.credentials_header)
        if authorization is None:
            return self._challenge(request, (source, username))
        # It answered a challenge, right or wrong: it can use what it was offered.
        self.challenges.answered((source, username))
        ha1s, fresh = self.credentials.cached(username)
        if not fresh:
            # A first registration: it waits for the table behind every other one that does.
            shed = self.shedder.refusal(self.backlog, (source, username))
            if shed is not None:
                return shed
            return self._verify_after_loading(request, flow, username, authorization)
        return self._verify(request, flow, username, authorization, ha1s)

    def _username(self, request: Request) -> str | None:
        """The user part of the To URI; None when To is not a sip: URI with one."""
        to = request.headers.get("To")
        username = self._usernames.get(to) if to is not None else None
        if username is None:
            to_uri = request.to.sip_uri
            if to_uri is None or not to_uri.user:
                return None
            username = to_uri.user
            if to is not None:
                self._usernames.put(to, username)
        return username

    def _contact_facts(self, request: Request) -> tuple[ContactFacts, ...]:
        """The request's Contacts as binding facts; raises SipParseError for a malformed one."""
        lines = tuple(request.headers.get_lines("Contact"))
        facts = self._contacts.get(lines)
        if facts is None:
            facts = tuple(contact_facts(contact) for contact in request.contacts)
            self._contacts.put(lines, facts)
        return facts

    async def register(self, request: Request, flow: Flow) -> Reply | None:
        """`decide`, awaited: for callers that are coroutines anyway."""
        return await _settle(self.decide(request, flow))

    async def _verify_after_loading(
        self, request: Request, flow: Flow, username: str, authorization: str
    ) -> Reply | None:
        try:
            ha1s = await self.credentials.get(username)
        except Exception as exc:  # the data layer is down: "try later", not a crash
            return _store_unavailable("credentials", exc)
        refusal = self.limiter.refusal(flow.remote[0], username)
        if refusal is not None:
            return refusal  # locked while this request waited for the credentials (a burst of guesses)
        return await _settle(self._verify(request, flow, username, authorization, ha1s))

    def _verify(
        self,
        request: Request,
        flow: Flow,
        username: str,
        authorization: str,
        ha1s: Mapping[str, str] | None,
    ) -> Decision:
        result = self.auth.verify(
            authorization, method="REGISTER", request_uri=request.uri, ha1s=ha1s, client=flow.remote[0]
        )
        if result.outcome is AuthOutcome.FAILED and self.credentials.may_refresh(username):
            return self._verify_with_fresh_credentials(request, flow, username, authorization)
        return self._conclude(request, flow, username, result)

    async def _verify_with_fresh_credentials(
        self, request: Request, flow: Flow, username: str, authorization: str
    ) -> Reply | None:
        # A password rotated moments ago: read the credentials once more before refusing.
        try:
            ha1s = await self.credentials.get(username, force=True)
        except Exception as exc:
            return _store_unavailable("credentials", exc)
        result = self.auth.verify(
            authorization, method="REGISTER", request_uri=request.uri, ha1s=ha1s, client=flow.remote[0]
        )
        return await _settle(self._conclude(request, flow, username, result))

    def _conclude(self, request: Request, flow: Flow, username: str, result: AuthResult) -> Decision:
        source = flow.remote[0]
        if result.stale:
            return self._challenge(request, (source, username), stale=True)
        if result.outcome is AuthOutcome.UNUSABLE:
            # Nothing was guessed (e.g. a nonce issued to another address after a NAT rebinding):
            # a fresh challenge, not a failure.
            return self._challenge(request, (source, username))
        if not result.ok or result.username != username:
            self.failures += 1
            locked = self.limiter.record_failure(source, username)
            log.info(
                "REGISTER auth failed from %s (%s)%s",
                source,
                result.reason or "identity mismatch",
                f"; {locked} locked out" if locked else "",
            )
            # The same answer for an unknown user and a wrong password: nothing tells them apart.
            return Reply(403, "Forbidden")
        self.limiter.record_success(source, username)
        aor = self.aor_for(username)
        if self.location.is_loaded(aor):
            return self._once_routable(
                aor, self.bindings.apply(request, flow, aor, self._now(), self._contact_facts)
            )
        return self._update_bindings_after_loading(request, flow, aor)

    async def _update_bindings_after_loading(self, request: Request, flow: Flow, aor: str) -> Reply:
        try:
            await self.location.ensure_loaded(aor)
        except Exception as exc:
            return _store_unavailable("bindings", exc)
        decision = self._once_routable(
            aor, self.bindings.apply(request, flow, aor, self._now(), self._contact_facts)
        )
        return decision if isinstance(decision, Reply) else await decision

    def _once_routable(self, aor: str, reply: Reply) -> Reply | Awaitable[Reply]:
        """``reply`` at once, unless it confirms a device on a new flow: then once the fleet can see
        it (see `location`), so a call right after the 200 is not relayed to the flow it left.
        It waits for the request holding its own binding, not for the writes of other phones."""
        if reply.status != 200 or not self.location.moved(aor):
            return reply
        stored = self.location.stored(aor)
        return reply if stored is None else self._after_stored(stored, reply)

    async def _after_stored(self, stored: asyncio.Future[None], reply: Reply) -> Reply:
        try:
            # Shielded: the write is shared by every REGISTER of the AOR and by the write-behind.
            await asyncio.wait_for(asyncio.shield(stored), MOVE_WRITE_TIMEOUT)
        except BindingWriteError as exc:
            # Its own write failed (after the store's retries): the fleet cannot reach the phone
            # there, so it is told to come back rather than promised a binding nobody else sees.
            self.refused_unwritten += 1
            log.warning("REGISTER answered 503: its binding was not written (%r)", exc.cause)
            return _try_again_shortly("binding not stored")
        except TimeoutError:
            # The store is slow: the binding is kept and written behind; the phone is answered.
            self.answered_unwritten += 1
            log.warning("REGISTER answered before its new binding was written")
        return reply

    def _challenge(self, request: Request, client: ClientKey, *, stale: bool = False) -> Reply:
        algorithms = self.challenges.algorithms_for(
            request.headers.get("User-Agent") or "", client, (request.call_id, request.cseq[0])
        )
        headers = self.auth.challenge(stale=stale, algorithms=algorithms, client=client[0])
        # Stateless (RFC 3261 8.2.7): a fresh challenge is as good an answer to a retransmission,
        # and half of all REGISTER transactions would otherwise be kept 32 s for timer J.
        return Reply(self.auth.challenge_status, headers=tuple(headers), stateless=True)


def _store_unavailable(what: str, error: Exception) -> Reply:
    log.warning("REGISTER answered 503: cannot read %s (%s)", what, error)
    return _try_again_shortly(f"{what} unavailable")


def _try_again_shortly(what: str) -> Reply:
    return Reply(503, headers=(("Retry-After", "5"), warning(f"{what}, try again shortly")))


async def _settle(result: Decision) -> Reply | None:
    if result is None or isinstance(result, Reply):
        return result
    return await result
