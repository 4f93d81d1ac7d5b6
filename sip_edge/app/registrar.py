"""The registrar (RFC 3261 §10.3) for agents' softphones: digest auth, bindings, NAT-aware contacts.

Policy only: it turns a REGISTER into a typed reply using the digest mechanism of ``sip_edge.sip``,
the credential cache, the failed-auth limiter and the location service. What it never does is
wait for DynamoDB on a cache hit: bindings are written behind (see ``location``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Generic, TypeVar

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.challenges import ChallengeChooser, ClientKey
from sip_edge.app.credentials import CredentialCache
from sip_edge.app.location import Binding, LocationService
from sip_edge.sip.digest import AuthOutcome, AuthResult, DigestAuthenticator
from sip_edge.sip.message import NameAddr, Request, SipParseError
from sip_edge.sip.stack import HandlerResult, Reply
from sip_edge.sip.transport import Flow

log = logging.getLogger("sip_edge.registrar")

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


@dataclass(frozen=True, slots=True)
class RegistrarSettings:
    domain: str
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 5


def binding_key(contact_uri: str, instance_id: str | None) -> str:
    """One binding per device: its RFC 5626 instance id when it sends one, else its Contact URI.

    The same function as the data layer's (``contact_center.data.bindings.binding_key``), which
    the mechanism may not import; a test keeps the two equal.
    """
    return hashlib.sha256((instance_id or contact_uri).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _ContactFacts:
    """What a binding takes from one Contact value; it depends on the value alone."""

    uri: str
    key: str
    instance_id: str | None
    expires: str | None  # the expires parameter as written, checked where it is used
    reg_id: int | None


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


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')


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
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.credentials = credentials
        self.location = location
        self.limiter = limiter
        self.edge_task_id = edge_task_id
        self.challenges = challenges or ChallengeChooser()
        self._now = now
        self.registrations = 0
        self.failures = 0
        self._date_second = -1
        self._date_text = ""
        self._usernames: _Memo[str, str] = _Memo()
        self._contacts: _Memo[tuple[str, ...], tuple[_ContactFacts, ...]] = _Memo()

    def aor_for(self, username: str) -> str:
        return f"sip:{username}@{self.settings.domain}"

    def decide(self, request: Request, flow: Flow) -> HandlerResult:
        """The answer to a REGISTER: a `Reply`, or None to drop it unanswered.

        Returned at once when the seat's credentials and bindings are in memory, which is every
        refresh of a registered seat, so the stack needs no asyncio task for it; an awaitable
        when something must be read from the data layer first.
        """
        source = flow.remote[0]
        username = self._username(request)
        if username is None:
            return Reply(400, "Bad To", headers=(_warning("To must be a sip: URI with a user part"),))
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

    def _contact_facts(self, request: Request) -> tuple[_ContactFacts, ...]:
        """The request's Contacts as binding facts; raises SipParseError for a malformed one."""
        lines = tuple(request.headers.get_lines("Contact"))
        facts = self._contacts.get(lines)
        if facts is None:
            facts = tuple(_facts_of(contact) for contact in request.contacts)
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
    ) -> HandlerResult:
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

    def _conclude(self, request: Request, flow: Flow, username: str, result: AuthResult) -> HandlerResult:
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
            return self._update_bindings(request, flow, aor)
        return self._update_bindings_after_loading(request, flow, aor)

    async def _update_bindings_after_loading(self, request: Request, flow: Flow, aor: str) -> Reply:
        try:
            await self.location.ensure_loaded(aor)
        except Exception as exc:
            return _store_unavailable("bindings", exc)
        return self._update_bindings(request, flow, aor)

    def _challenge(self, request: Request, client: ClientKey, *, stale: bool = False) -> Reply:
        algorithms = self.challenges.algorithms_for(
            request.headers.get("User-Agent") or "", client, (request.call_id, request.cseq[0])
        )
        headers = self.auth.challenge(stale=stale, algorithms=algorithms, client=client[0])
        # Stateless (RFC 3261 8.2.7): a fresh challenge is as good an answer to a retransmission,
        # and half of all REGISTER transactions would otherwise be kept 32 s for timer J.
        return Reply(self.auth.challenge_status, headers=tuple(headers), stateless=True)

    def _update_bindings(self, request: Request, flow: Flow, aor: str) -> Reply:
        now = self._now()
        header_expires = request.headers.get("Expires")
        try:
            default = int(header_expires) if header_expires is not None else self.settings.default_expires
        except ValueError:
            return Reply(400, "Bad Expires", headers=(_warning("Expires must be a number of seconds"),))
        call_id = request.call_id
        cseq, _ = request.cseq
        try:
            contacts = self._contact_facts(request)
        except SipParseError as exc:
            return Reply(400, "Bad Contact", headers=(_warning(exc.reason),))
        if not contacts and request.is_wildcard_contact:
            if default != 0:
                return Reply(400, "Bad Contact", headers=(_warning("Contact: * needs Expires: 0"),))
            self.location.remove_all(aor)
            return self._ok(aor, now)
        existing = {b.key: b for b in self.location.current(aor)}
        changes: list[Binding | tuple[str, str]] = []
        for contact in contacts:
            raw_expires = contact.expires
            try:
                expires = int(raw_expires) if raw_expires is not None else default
            except ValueError:
                return Reply(400, "Bad Contact", headers=(_warning("expires must be a number of seconds"),))
            key = contact.key
            previous = existing.get(key)
            if previous is not None and previous.call_id == call_id and previous.cseq >= cseq:
                # §10.3 step 7: an older or repeated REGISTER of the same client must not undo a newer one.
                return Reply(500, "Out of order", headers=(("Retry-After", "1"),))
            if expires == 0:
                changes.append((aor, key))
                continue
            if expires < self.settings.min_expires:
                return Reply(
                    423, "Interval Too Brief", headers=(("Min-Expires", str(self.settings.min_expires)),)
                )
            expires = min(expires, self.settings.max_expires)
            changes.append(
                Binding(
                    aor=aor,
                    key=key,
                    contact_uri=contact.uri,
                    expires_at=now + expires,
                    received=f"{flow.remote[0]}:{flow.remote[1]}",
                    transport=flow.transport.name,
                    flow_owner=self.edge_task_id,
                    call_id=call_id,
                    cseq=cseq,
                    instance_id=contact.instance_id,
                    reg_id=contact.reg_id,
                    user_agent=request.headers.get("User-Agent"),
                )
            )
        added = [c.key for c in changes if isinstance(c, Binding)]
        # The exact count only when the quick upper bound exceeds the limit.
        if len(existing) + len(added) > self.settings.max_contacts and (
            len((set(existing) - {c[1] if isinstance(c, tuple) else c.key for c in changes}) | set(added))
            > self.settings.max_contacts
        ):
            return Reply(
                403,
                "Too many contacts",
                headers=(_warning(f"at most {self.settings.max_contacts} devices per seat"),),
            )
        for change in changes:
            if isinstance(change, Binding):
                self.location.put(change)
            else:
                self.location.remove(*change)
        self.registrations += 1
        return self._ok(aor, now)

    def _ok(self, aor: str, now: float) -> Reply:
        headers = [
            ("Contact", f"<{b.contact_uri}>;expires={b.expires_in(now)}") for b in self.location.current(aor)
        ]
        headers.append(("Date", self._date(now)))
        return Reply(200, headers=tuple(headers))

    def _date(self, now: float) -> str:
        """The Date header value (RFC 3261 20.17), formatted once per second."""
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date_text = formatdate(second, usegmt=True)
        return self._date_text


def _store_unavailable(what: str, error: Exception) -> Reply:
    log.warning("REGISTER answered 503: cannot read %s (%s)", what, error)
    return Reply(503, headers=(("Retry-After", "5"), _warning(f"{what} unavailable, try again shortly")))


def _facts_of(contact: NameAddr) -> _ContactFacts:
    if contact.sip_uri is None:
        # A mailto: or tel: binding could never be called: refused (400), not stored.
        raise SipParseError("Contact must be a sip: or sips: URI")
    instance = contact.params.get("+sip.instance")
    uri = str(contact.uri)
    reg_id = contact.params.get("reg-id")
    return _ContactFacts(
        uri=uri,
        key=binding_key(uri, instance),
        instance_id=instance,
        expires=contact.params.get("expires"),
        reg_id=int(reg_id) if reg_id and reg_id.isdigit() else None,
    )


async def _settle(result: HandlerResult) -> Reply | None:
    if result is None or isinstance(result, Reply):
        return result
    return await result
