"""The routing use cases behind one class: the edge, the routing function and the seat stream call
``RoutingService``; each method hands over to the part that owns the rule (see the package
docstring for the map and for the invariants)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from contact_center.domain.contact import Channel, HangupCause, HangupSide
from contact_center.domain.menus import MenuChoice
from contact_center.domain.queue_address import QueueCall

from .answers import Answers
from .arrivals import Arrivals
from .callbacks import Callbacks
from .consults import Consults
from .context import RoutingContext
from .decisions import Acknowledged, Arrival, Connect, OfferOutcome, Reject, RoutingDecision
from .dequeue import AgentOffer, Dequeue, OfferPush
from .dialout import Dial, Dialers, Outbound, OutboundTrunks
from .endings import Endings
from .fleet import Fleet
from .offers import Offers
from .placement import Placement
from .policy import RoutingPolicy
from .ports import (
    AgentSeats,
    CallbackRunners,
    CallDialog,
    EventSink,
    HeldCalls,
    LiveContacts,
    Registrations,
    RoutingCatalog,
    RoutingMetrics,
)
from .region_loss import REGION_LOSS_PAGE, RegionLoss, RegionLossPage
from .sweeps import SweepReport, Sweeps
from .transfers import TransferOutcome, Transfers


class RoutingService:
    def __init__(
        self,
        catalog: RoutingCatalog,
        seats: AgentSeats,
        contacts: LiveContacts,
        registrations: Registrations,
        events: EventSink,
        policy: RoutingPolicy | None = None,
        decides: Callable[[str], bool] | None = None,
        metrics: RoutingMetrics | None = None,
        require_home: Callable[[str], object] | None = None,
        push: OfferPush | None = None,
        outbound_trunks: OutboundTrunks | None = None,
        dialers: Dialers | None = None,
        runners: CallbackRunners | None = None,
        held_calls: HeldCalls | None = None,
    ) -> None:
        context = RoutingContext(
            catalog,
            seats,
            contacts,
            registrations,
            events,
            policy or RoutingPolicy(),
            decides,
            metrics,
            require_home,
            held_calls,
        )
        self._offers = Offers(context, outbound_trunks)
        self._placement = Placement(context, self._offers)
        self._arrivals = Arrivals(context, self._placement)
        self._answers = Answers(context, self._placement)
        self._dequeue = Dequeue(context, self._offers, push, runners)
        self._endings = Endings(context, self._dequeue)
        self._callbacks = Callbacks(context, self._dequeue, self._endings)
        self._fleet = Fleet(context, self._placement, self._endings, self._callbacks)
        self._sweeps = Sweeps(context, self._dequeue, self._answers, self._endings)
        self._transfers = Transfers(context, self._placement, self._offers)
        self._outbound = Outbound(context, outbound_trunks, dialers)
        self._consults = Consults(context, dialers)
        self._region_loss = RegionLoss(context, self._endings)

    # Use cases called by the edge

    def new_contact(
        self,
        called: str,
        caller: str,
        edge_task_id: str | None,
        contact_id: str,
        now_ms: int,
        channel: Channel = Channel.VOICE,
        priority: int | None = None,
        menu_choice: MenuChoice | None = None,
        queue_call: QueueCall | None = None,
    ) -> Arrival:
        """A call arrived for ``called``: connect it, queue it, forward it or reject it (or play the
        number's menu first, then route by ``menu_choice``). Idempotent per ``contact_id``.
        ``queue_call``: ``called`` is a queue address (``domain.queue_address``)."""
        return self._arrivals.new_contact(
            called, caller, edge_task_id, contact_id, now_ms, channel, priority, menu_choice, queue_call
        )

    def offer_result(
        self,
        contact_id: str,
        seat_id: str,
        outcome: OfferOutcome,
        now_ms: int,
        dialog: CallDialog | None = None,
    ) -> RoutingDecision:
        """The agent leg of an offer ended: answered, or not (RONA: re-offer to the next agent)."""
        return self._answers.offer_result(contact_id, seat_id, outcome, now_ms, dialog)

    def leave_callback(self, contact_id: str, edge_task_id: str, digit: str, now_ms: int) -> Acknowledged:
        """The caller held by ``edge_task_id`` pressed ``digit``: it leaves a callback that keeps its
        place (``callbacks``); CallbackRefusedError when its queue takes none with that key."""
        return self._callbacks.leave(contact_id, edge_task_id, digit, now_ms)

    def callback_dialled(
        self, contact_id: str, seat_id: str, status: int | None, started_at_ms: int, now_ms: int
    ) -> Acknowledged:
        """A callback's customer was dialled: the attempt noted; a failed one retried or given up."""
        return self._callbacks.dialled(contact_id, seat_id, status, started_at_ms, now_ms)

    def contact_ended(
        self,
        contact_id: str,
        side: HangupSide,
        cause: HangupCause,
        now_ms: int,
        dialog_keys: Sequence[str] = (),
    ) -> Acknowledged:
        """The call is over (BYE, CANCEL, failure): record it and let the agent go. Idempotent."""
        return self._endings.contact_ended(contact_id, side, cause, now_ms, dialog_keys)

    def transfer(
        self, contact_id: str, seat_id: str, target: str, now_ms: int, consulted: bool = False
    ) -> TransferOutcome:
        """The agent on ``seat_id`` hands the caller to ``target`` (a queue, a seat, a number of the
        merchant): the caller's next step, and the agent's wrap-up. A refusal changes nothing.
        ``consulted``: the seat it consulted, in an attended transfer."""
        return self._transfers.transfer(contact_id, seat_id, target, now_ms, consulted)

    def consult(self, sip_username: str, dialled: str, now_ms: int) -> Connect | Reject:
        """An agent on a call consults another seat: that seat, reserved and to ring, or why not."""
        return self._consults.consult(sip_username, dialled, now_ms)

    def consult_result(
        self, merchant_id: str, seat_id: str, contact_id: str, answered: bool, now_ms: int
    ) -> Acknowledged:
        """The consulted seat answered (on the call), or the consult ended untransferred (let go)."""
        return self._consults.consult_result(merchant_id, seat_id, contact_id, answered, now_ms)

    def dial_out(
        self, sip_username: str, dialled: str, contact_id: str, edge_task_id: str | None, now_ms: int
    ) -> Dial | Reject:
        """A seat's phone calls ``dialled``: the merchant's trunk and caller ID, or the refusal."""
        return self._outbound.dial_out(sip_username, dialled, contact_id, edge_task_id, now_ms)

    def outbound_answered(self, contact_id: str, seat_id: str, now_ms: int) -> Acknowledged:
        """The far end of an agent's outbound call answered."""
        return self._outbound.outbound_answered(contact_id, seat_id, now_ms)

    def queue_timeout(self, contact_id: str, now_ms: int) -> RoutingDecision:
        """The edge's max-wait timer fired: overflow to another queue, forward to legacy, or reject."""
        return self._placement.queue_timeout(contact_id, now_ms)

    def legacy_failed(self, contact_id: str, now_ms: int) -> RoutingDecision:
        """A forwarded call's legacy side failed: fall back to the number's queue, or reject."""
        return self._placement.legacy_failed(contact_id, now_ms)

    def edge_lost(
        self,
        edge_task_id: str,
        now_ms: int,
        held: Collection[str] = (),
        initiated_before_ms: int | None = None,
    ) -> list[str]:
        """End the ringing and queued contacts an edge task no longer holds; their ids."""
        return self._fleet.edge_lost(edge_task_id, now_ms, held, initiated_before_ms)

    def end_lost_region(
        self, edge_task_ids: Sequence[str], now_ms: int, limit: int = REGION_LOSS_PAGE
    ) -> RegionLossPage:
        """After a takeover: end every contact the failed region's edge tasks held, talking ones
        too, at most ``limit`` a page (``region_loss``)."""
        return self._region_loss.end_held(edge_task_ids, now_ms, limit)

    def release_orphaned_agents(self, merchant_id: str, now_ms: int) -> list[str]:
        """After a takeover: free the merchant's agents held by contacts this region never received
        and whose calls no live edge task of this region holds."""
        return self._fleet.release_orphaned_agents(merchant_id, now_ms)

    def release_lost_region(
        self, merchant_ids: Collection[str], lost_edges: Collection[str], taken_at_ms: int, now_ms: int
    ) -> list[str]:
        """After a takeover: let go of the seats the dead home had reserved (``Sweeps``)."""
        return self._sweeps.release_lost_region(merchant_ids, lost_edges, taken_at_ms, now_ms)

    def pending_offers(self, edge_task_id: str, now_ms: int, retry_queued: bool = False) -> list[Connect]:
        """Offers made to contacts this edge task holds (by ``agent_available``), to ring now."""
        return self._fleet.pending_offers(edge_task_id, now_ms, retry_queued)

    def finish_wrap_up(
        self, merchant_id: str, seat_id: str, now_ms: int, contact_id: str | None = None
    ) -> AgentOffer | None:
        """The wrap-up deadline passed: the agent goes AVAILABLE and takes the next waiting contact."""
        return self._dequeue.finish_wrap_up(merchant_id, seat_id, now_ms, contact_id)

    # Use case run on a schedule

    def sweep(self, now_ms: int, merchant_ids: Collection[str] | None = None) -> SweepReport:
        """End wrap-ups past their deadline and let go of reservations that outlived their ring,
        for ``merchant_ids`` (every merchant when None): what a dead edge left behind.

        A sweep of named merchants is the one a failover controller asks for once it has taken them
        over: it also frees their agents held by contacts this replica never received
        (``release_orphaned_agents``), which no minute sweep looks for (it would read every busy
        seat's contact every minute to find what only a takeover leaves)."""
        orphans_freed = [
            seat_id
            for merchant_id in merchant_ids or ()
            for seat_id in self._fleet.release_orphaned_agents(merchant_id, now_ms)
        ]
        report = self._sweeps.sweep(now_ms, merchant_ids)
        report.orphans_freed = orphans_freed
        return report

    # Use case driven by agent state changes (the seat stream)

    def agent_available(self, merchant_id: str, seat_id: str, now_ms: int) -> AgentOffer | None:
        """Offer the agent the waiting contact it should take first, across every queue it serves."""
        return self._dequeue.agent_available(merchant_id, seat_id, now_ms)
