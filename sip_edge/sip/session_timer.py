"""Session timers (RFC 4028): the negotiation on either side of a dialog, and the timer that guards it.

A dialog whose two ends vanish without a BYE would otherwise live for ever. With a session timer
one side, the refresher, sends a refresh (re-INVITE or UPDATE) every half interval; the other
expects one and ends the session when none came in time (§10: ``interval - min(32, interval/3)``).

- As the UAS of an INVITE (`answer_invite`): a ``Session-Expires`` below our minimum is refused
  with 422 and our ``Min-SE`` (§9); otherwise the UAC's interval and refresher are honoured; a UAC
  that supports timers but asked for none gets our default interval with itself as the refresher;
  a UAC that does not support them and asked for none gets none (the caller of this module falls
  back to something else, e.g. in-dialog OPTIONS).
- As the UAC (`offer_headers`, `from_answer`): we ask for an interval, say we support ``timer``,
  and take what the 2xx says; a 2xx without ``Session-Expires`` means no timer on that dialog.

`SessionTimer` runs one negotiated `Session` on an injectable clock (tests drive a fake one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .message import Request, Response
from .timers import Clock, TimerHandle

__all__ = [
    "MIN_SE_FLOOR",
    "Session",
    "SessionTimer",
    "TooSmall",
    "answer_invite",
    "answer_refresh",
    "from_answer",
    "offer_headers",
    "supports_timer",
    "timer_headers",
]

# §4: no Min-SE may be below 90 seconds; it keeps refreshes from becoming a load of their own.
MIN_SE_FLOOR = 90
UAC = "uac"
UAS = "uas"


@dataclass(frozen=True, slots=True)
class Session:
    """A negotiated session timer as seen from our side of one dialog."""

    interval: int
    we_refresh: bool
    peer_supports: bool = True  # the peer said ``Supported: timer`` (our 2xx may ``Require`` it)

    def header(self, we_are_uac: bool) -> str:
        """``Session-Expires`` for a request (``we_are_uac``) or a response of ours in this dialog."""
        refresher = (UAC if we_are_uac else UAS) if self.we_refresh else (UAS if we_are_uac else UAC)
        return f"{self.interval};refresher={refresher}"


@dataclass(frozen=True, slots=True)
class TooSmall:
    """The UAC's interval is below our minimum: answer 422 with ``Min-SE: min_se`` (§9)."""

    min_se: int


def _tokens(message: Request | Response, name: str) -> set[str]:
    return {
        token.strip().lower()
        for line in message.headers.get_lines(name)
        for token in line.split(",")
        if token.strip()
    }


def supports_timer(message: Request | Response) -> bool:
    return "timer" in _tokens(message, "Supported") | _tokens(message, "Require")


def _delta(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.split(";", 1)[0].strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def _refresher(value: str) -> str | None:
    for param in value.split(";")[1:]:
        name, _, found = param.partition("=")
        if name.strip().lower() == "refresher" and found.strip().lower() in (UAC, UAS):
            return found.strip().lower()
    return None


def answer_invite(request: Request, *, min_se: int, default_interval: int) -> Session | TooSmall | None:
    """Our side of the session timer of an INVITE we answer as its UAS (§9)."""
    supported = supports_timer(request)
    value = request.headers.get("Session-Expires")
    asked = _delta(value)
    if asked is None:
        if not supported:
            return None
        floor = max(min_se, _delta(request.headers.get("Min-SE")) or 0)
        return Session(max(default_interval, floor), we_refresh=False)
    if asked < min_se:
        return TooSmall(min_se)
    # A UAC that does not support timers cannot refresh: a proxy asked for the timer, we refresh.
    refresher = (_refresher(value or "") or UAC) if supported else UAS
    return Session(asked, we_refresh=refresher == UAS, peer_supports=supported)


def answer_refresh(request: Request, current: Session, min_se: int) -> Session:
    """Our side of the session after a refresh the peer sent (we are the UAS of its transaction):
    the interval (at least ``min_se``) and refresher it asks for, else the current ones."""
    value = request.headers.get("Session-Expires")
    asked = _delta(value)
    if asked is None:
        return current
    refresher = _refresher(value or "")
    we_refresh = current.we_refresh if refresher is None else refresher == UAS
    return Session(max(asked, min_se), we_refresh, current.peer_supports)


def timer_headers(session: Session | None, *, we_are_uac: bool) -> list[tuple[str, str]]:
    """The session-timer headers of a request (``we_are_uac``) or a 2xx of ours in a dialog with
    ``session``; a 2xx requires ``timer`` of a peer that supports it (§9)."""
    if session is None:
        return []
    headers = [("Session-Expires", session.header(we_are_uac)), ("Supported", "timer")]
    if not we_are_uac and session.peer_supports:
        headers.append(("Require", "timer"))
    return headers


def offer_headers(interval: int, min_se: int) -> list[tuple[str, str]]:
    """What our INVITE as a UAC says: we support timers, this interval, this minimum (§7.1)."""
    return [("Supported", "timer"), ("Session-Expires", str(interval)), ("Min-SE", str(min_se))]


def from_answer(response: Response) -> Session | None:
    """Our side of the session timer from the 2xx to our INVITE (§7.2); None: no timer."""
    value = response.headers.get("Session-Expires")
    interval = _delta(value)
    if interval is None:
        return None
    # A 2xx naming no refresher leaves it to the UAC (§7.2): us.
    return Session(interval, we_refresh=(_refresher(value or "") or UAC) == UAC)


class SessionTimer:
    """One dialog's session timer: asks for a refresh at half the interval when we refresh, or
    reports the session expired when the peer should refresh and did not (§10)."""

    def __init__(
        self,
        clock: Clock,
        session: Session,
        *,
        refresh_due: Callable[[], object],
        expired: Callable[[], object],
    ) -> None:
        self._clock = clock
        self.session = session
        self._refresh_due = refresh_due
        self._expired = expired
        self._handle: TimerHandle | None = None

    def start(self, session: Session | None = None) -> None:
        """(Re)arm from now, after the session was set up or refreshed (with its new terms)."""
        if session is not None:
            self.session = session
        self.stop()
        interval = self.session.interval
        if self.session.we_refresh:
            self._handle = self._clock.call_later(interval / 2, self._refresh_due)
        else:
            self._handle = self._clock.call_later(interval - min(32, interval / 3), self._expired)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
