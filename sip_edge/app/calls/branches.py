"""The branches of a forked ring: one agent leg per device, and what happens to them after the fork.

A `Branch` is one device being rung (its target, route, leg and INVITE transaction). When the fork
is decided (a device answered, a 6xx, the caller left) the branches still ringing have been
CANCELled; `LateBranches` takes them over, because the call's driver no longer reads their news:

- a 2xx that crossed our CANCEL is acknowledged and ended with a BYE (RFC 3261 §15: the only way
  to end a dialog the 2xx created), so the device does not stay off-hook on a call nobody hears;
- a branch that sends no final response within the grace time is given up on;
- a branch that never answered anything (timed out, failed to send, silent until given up) is a
  stale binding and is pruned (`StaleBindings`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from contact_center.services.routing.ports import AgentTarget
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.ports import StaleBindings
from sip_edge.app.fleet.routes import AgentRoute
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.dialog import Leg
from sip_edge.sip.message import Response
from sip_edge.sip.stack import SipStack
from sip_edge.sip.timers import TimerHandle
from sip_edge.sip.transaction import TransactionError

__all__ = ["REASON_ELSEWHERE", "Branch", "LateBranches"]

log = logging.getLogger("sip_edge.calls")

# RFC 3326 §2: the Reason of the CANCELs that stop the other devices once one answered.
REASON_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'


@dataclass(eq=False, slots=True)
class Branch:
    aor: str
    target: AgentTarget
    route: AgentRoute
    leg: Leg
    tx: ClientTransaction | None = None
    responded: bool = False  # the device answered something (even 100): it is alive
    final: int | None = None  # its final status
    failed: bool = False  # no final status will come (transaction error, not sent, given up)
    cancelled: bool = False
    bye_sent: bool = False

    @property
    def pending(self) -> bool:
        return self.tx is not None and self.final is None and not self.failed

    @property
    def stale(self) -> bool:
        """Never answered anything: the binding points at no device."""
        return self.failed and not self.responded

    def confirm(self, response: Response) -> None:
        """The 2xx confirms the leg's dialog (§12.1.2): the peer's tag, target and route set."""
        leg = self.leg
        leg.remote = str(response.headers.get("To"))
        leg.learn_target(response)
        # The UAC's route set is the 2xx's Record-Route reversed; the owner's hop stays first.
        leg.route_set = [*self.route.route, *reversed(response.headers.get_all("Record-Route"))]


class LateBranches:
    """The branches of one call's rings still running after their fork was decided."""

    def __init__(
        self,
        stack: SipStack,
        clock: CallClock,
        grace_seconds: float,
        stale: StaleBindings | None,
        contact_id: str,
    ) -> None:
        self._stack = stack
        self._clock = clock
        self._grace = grace_seconds
        self._stale = stale
        self._contact_id = contact_id
        self._pruned: set[tuple[str, str]] = set()

    def adopt(self, branches: Iterable[Branch]) -> None:
        for branch in branches:
            tx = branch.tx
            assert tx is not None
            self._watch(branch, tx)

    def _watch(self, branch: Branch, tx: ClientTransaction) -> None:
        timer = self._clock.call_later(self._grace, lambda: self._give_up(branch))
        tx.on_response = lambda _t, response: self._on_response(branch, response, timer)
        tx.on_error = lambda _t, error: self._on_error(branch, error, timer)

    def _on_response(self, branch: Branch, response: Response, timer: TimerHandle) -> None:
        branch.responded = True
        status = response.status
        if status < 200 or not branch.pending:
            if 200 <= status < 300 and branch.bye_sent:
                self._ack(branch)  # §13.2.2.4: each retransmitted 2xx gets its ACK again
            return
        timer.cancel()
        branch.final = status
        if status < 300:
            log.info("a device answered contact %s after another had it: hanging it up", self._contact_id)
            branch.confirm(response)
            self.ack_and_bye(branch, REASON_ELSEWHERE)

    def _on_error(self, branch: Branch, error: TransactionError, timer: TimerHandle) -> None:
        timer.cancel()
        if branch.pending:
            branch.failed = True
            self.prune([branch])

    def _give_up(self, branch: Branch) -> None:
        if branch.pending:
            assert branch.tx is not None
            branch.tx.terminate()
            branch.failed = True
            self.prune([branch])

    def _ack(self, branch: Branch) -> None:
        assert branch.tx is not None
        leg = branch.leg
        self._stack.send_stateless(leg.request("ACK", cseq=branch.tx.request.cseq[0]), leg.destination_of())

    def ack_and_bye(self, branch: Branch, reason: str) -> None:
        """Acknowledge a 2xx nobody wants and end its dialog at once."""
        self._ack(branch)
        if branch.bye_sent:
            return
        branch.bye_sent = True
        leg = branch.leg
        bye = leg.request("BYE", headers=(("Reason", reason),))
        try:
            self._stack.send_request(bye, leg.destination_of())
        except Exception as exc:
            log.warning("BYE to an unwanted answer of %s not sent: %s", self._contact_id, exc)

    def prune(self, branches: Iterable[Branch]) -> None:
        """Forget the bindings of devices that never answered (once per device per call)."""
        if self._stale is None:
            return
        for branch in branches:
            key = (branch.aor, branch.target.contact_uri)
            if branch.stale and key not in self._pruned:
                self._pruned.add(key)
                log.info(
                    "pruning the stale binding %s of %s (no answer to contact %s)",
                    branch.target.contact_uri,
                    branch.aor,
                    self._contact_id,
                )
                self._stale.forget(branch.aor, branch.target)
