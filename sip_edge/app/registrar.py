"""The registrar (RFC 3261 §10.3) for agents' softphones: digest auth, bindings, NAT-aware contacts.

Policy only: it turns a REGISTER into a typed reply using the digest mechanism of ``sip_edge.sip``,
the credential cache, the failed-auth limiter and the location service. What it never does is
wait for DynamoDB on a cache hit: bindings are written behind (see ``location``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.challenges import ChallengeChooser, ClientKey
from sip_edge.app.credentials import CredentialCache
from sip_edge.app.location import Binding, LocationService
from sip_edge.sip.digest import AuthOutcome, DigestAuthenticator
from sip_edge.sip.message import Request, SipParseError
from sip_edge.sip.stack import Reply
from sip_edge.sip.transport import Flow

log = logging.getLogger("sip_edge.registrar")


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

    def aor_for(self, username: str) -> str:
        return f"sip:{username}@{self.settings.domain}"

    async def register(self, request: Request, flow: Flow) -> Reply | None:
        source = flow.remote[0]
        to_uri = request.to.sip_uri
        if to_uri is None or not to_uri.user:
            return Reply(400, "Bad To", headers=(_warning("To must be a sip: URI with a user part"),))
        username = to_uri.user
        if self.limiter.is_locked(source, username):
            return None  # dropped: a locked-out guesser gets no verdict at all
        authorization = request.headers.get(self.auth.credentials_header)
        if authorization is None:
            return self._challenge(request, (source, username))
        # It answered a challenge, right or wrong: it can use what it was offered.
        self.challenges.answered((source, username))
        ha1s = await self.credentials.get(username)
        if self.limiter.is_locked(source, username):
            return None  # locked while this request waited for the credentials (a burst of guesses)
        result = self.auth.verify(
            authorization, method="REGISTER", request_uri=request.uri, ha1s=ha1s, client=source
        )
        if result.outcome is AuthOutcome.FAILED and self.credentials.may_refresh(username):
            # A password rotated moments ago: read the credentials once more before refusing.
            ha1s = await self.credentials.get(username, force=True)
            result = self.auth.verify(
                authorization, method="REGISTER", request_uri=request.uri, ha1s=ha1s, client=source
            )
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
                "; source locked out" if locked else "",
            )
            # The same answer for an unknown user and a wrong password: nothing tells them apart.
            return Reply(403, "Forbidden")
        self.limiter.record_success(source, username)
        return await self._update_bindings(request, flow, self.aor_for(username))

    def _challenge(self, request: Request, client: ClientKey, *, stale: bool = False) -> Reply:
        algorithms = self.challenges.algorithms_for(request.headers.get("User-Agent") or "", client)
        headers = self.auth.challenge(stale=stale, algorithms=algorithms, client=client[0])
        return Reply(self.auth.challenge_status, headers=tuple(headers))

    async def _update_bindings(self, request: Request, flow: Flow, aor: str) -> Reply:
        await self.location.ensure_loaded(aor)
        now = self._now()
        header_expires = request.headers.get("Expires")
        try:
            default = int(header_expires) if header_expires is not None else self.settings.default_expires
        except ValueError:
            return Reply(400, "Bad Expires", headers=(_warning("Expires must be a number of seconds"),))
        call_id = request.call_id
        cseq, _ = request.cseq
        if request.is_wildcard_contact:
            if default != 0:
                return Reply(400, "Bad Contact", headers=(_warning("Contact: * needs Expires: 0"),))
            self.location.remove_all(aor)
            return self._ok(aor, now)
        try:
            contacts = request.contacts
        except SipParseError as exc:
            return Reply(400, "Bad Contact", headers=(_warning(exc.reason),))
        existing = {b.key: b for b in self.location.current(aor)}
        changes: list[Binding | tuple[str, str]] = []
        for contact in contacts:
            raw_expires = contact.params.get("expires")
            try:
                expires = int(raw_expires) if raw_expires is not None else default
            except ValueError:
                return Reply(400, "Bad Contact", headers=(_warning("expires must be a number of seconds"),))
            instance = contact.params.get("+sip.instance")
            key = binding_key(str(contact.uri), instance)
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
            reg_id = contact.params.get("reg-id")
            changes.append(
                Binding(
                    aor=aor,
                    key=key,
                    contact_uri=str(contact.uri),
                    expires_at=now + expires,
                    received=f"{flow.remote[0]}:{flow.remote[1]}",
                    transport=flow.transport.name,
                    flow_owner=self.edge_task_id,
                    call_id=call_id,
                    cseq=cseq,
                    instance_id=instance,
                    reg_id=int(reg_id) if reg_id and reg_id.isdigit() else None,
                    user_agent=request.headers.get("User-Agent"),
                )
            )
        kept = set(existing) - {c[1] if isinstance(c, tuple) else c.key for c in changes}
        added = {c.key for c in changes if isinstance(c, Binding)}
        if len(kept | added) > self.settings.max_contacts:
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
        headers.append(("Date", formatdate(now, usegmt=True)))
        return Reply(200, headers=tuple(headers))
