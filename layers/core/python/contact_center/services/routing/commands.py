"""The routing function's requests as typed commands, and running one against the RoutingService.

The edge sends ``{"action": ..., ...}``; ``parse_routing_command`` validates it into one of these
commands (InvalidRoutingRequestError names the field), ``execute`` runs it and returns the JSON
the edge reads: a decision dict (``decisions``), or ``{"offers": [...]}`` for
``pending_offers``, ``{"offer": ...}`` for ``finish_wrap_up``, ``{"transfer": decision, ...}`` for ``transfer``
(``transfers.TransferOutcome``), a ``connect`` or ``reject`` decision for ``consult`` (``consults``), a ``dial`` or ``reject`` decision for ``dial_out``
(``dialout.Dial``), ``{"ended": [contact ids]}`` for
``edge_lost``, ``{"ended": [contact ids], "more": bool}`` for ``region_lost`` (``more``: send it
again for the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contact_center.domain.contact import Channel, HangupCause, HangupSide
from contact_center.domain.menus import DIGITS, OUTCOMES, MenuChoice
from contact_center.domain.queue_address import QueueCall

from ..errors import ServiceError
from .callback_commands import CALLBACK_ACTIONS, CallbackCommand, execute_callback, parse_callback
from .command_fields import InvalidRoutingRequestError as InvalidRoutingRequestError
from .command_fields import choice as _choice
from .command_fields import epoch_ms as _epoch_ms
from .command_fields import flag as _flag
from .command_fields import required as _required
from .command_fields import text as _text
from .decisions import OfferOutcome
from .dequeue import AgentOffer
from .ports import CallDialog
from .region_loss import MAX_LOST_EDGE_TASKS, REGION_LOSS_PAGE
from .service import RoutingService

# A call's dialog is stored under its dialog key and its caller's Call-ID; a few spare.
MAX_DIALOG_KEYS = 4
MAX_DIALOG_KEY_LENGTH = 256
MAX_DIALOG_TTL_SECONDS = 24 * 3600
# The most contacts one region_lost page may end.
MAX_REGION_LOSS_PAGE = 500


class DeadlineExceededError(ServiceError):
    """The edge stopped waiting for this request before it started: nothing was done. Under
    overload, work nobody waits for would only delay the requests still awaited."""

    def __init__(self, deadline_ms: int, now_ms: int) -> None:
        super().__init__(f"the edge stopped waiting {now_ms - deadline_ms} ms ago; nothing was done")


@dataclass(frozen=True, slots=True)
class NewContact:
    called: str
    caller: str
    contact_id: str
    edge_task_id: str | None = None
    channel: Channel = Channel.VOICE
    priority: int | None = None
    deadline_ms: int | None = None  # epoch ms after which the edge no longer waits for the answer
    menu: MenuChoice | None = None  # the caller's way out of the number's menu (second request)
    queue_call: QueueCall | None = None  # ``called`` is a queue address, sent over this trunk


@dataclass(frozen=True, slots=True)
class ReportOfferResult:
    contact_id: str
    seat_id: str
    outcome: OfferOutcome
    dialog: CallDialog | None = None


@dataclass(frozen=True, slots=True)
class EndContact:
    contact_id: str
    side: HangupSide
    cause: HangupCause
    dialog_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TransferContact:
    contact_id: str
    seat_id: str  # the agent handing the caller on
    target: str  # a queue id, a seat id or a number of the merchant
    consulted: bool = False  # an attended transfer to the seat the agent consulted


@dataclass(frozen=True, slots=True)
class Consult:
    sip_username: str  # the consulting seat's phone, as its digest credentials named it
    dialled: str  # the seat consulted


@dataclass(frozen=True, slots=True)
class ReportConsultResult:
    merchant_id: str
    seat_id: str  # the seat consulted
    contact_id: str  # the call consulted about
    answered: bool  # False: the consult ended without a transfer


@dataclass(frozen=True, slots=True)
class DialOut:
    sip_username: str  # the seat's phone, as its digest credentials named it
    dialled: str
    contact_id: str
    edge_task_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReportOutboundAnswer:
    contact_id: str
    seat_id: str


@dataclass(frozen=True, slots=True)
class ExpireQueueWait:
    contact_id: str


@dataclass(frozen=True, slots=True)
class FallBackFromLegacy:
    contact_id: str


@dataclass(frozen=True, slots=True)
class ListPendingOffers:
    edge_task_id: str
    retry_queued: bool = False
    deadline_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FinishWrapUp:
    merchant_id: str
    seat_id: str
    contact_id: str | None = None


@dataclass(frozen=True, slots=True)
class EndLostEdgeContacts:
    edge_task_id: str
    held: tuple[str, ...] = ()  # contacts the (live) task still holds
    initiated_before_ms: int | None = None


@dataclass(frozen=True, slots=True)
class EndLostRegionContacts:
    """After a takeover: end every contact the failed region's edge tasks held, a page at a time."""

    edge_task_ids: tuple[str, ...]
    limit: int = REGION_LOSS_PAGE


@dataclass(frozen=True, slots=True)
class Sweep:
    """The scheduled sweep (an EventBridge rule every minute; the local stack's timer)."""

    merchant_ids: tuple[str, ...] | None = None  # None: every merchant


RoutingCommand = (
    NewContact
    | ReportOfferResult
    | EndContact
    | TransferContact
    | Consult
    | ReportConsultResult
    | DialOut
    | ReportOutboundAnswer
    | ExpireQueueWait
    | FallBackFromLegacy
    | ListPendingOffers
    | FinishWrapUp
    | EndLostEdgeContacts
    | EndLostRegionContacts
    | Sweep
    | CallbackCommand
)


def _dialog_keys(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or not 0 < len(value) <= MAX_DIALOG_KEYS
        or not all(isinstance(key, str) and 0 < len(key) <= MAX_DIALOG_KEY_LENGTH for key in value)
    ):
        raise InvalidRoutingRequestError(
            name,
            f"must be a list of 1 to {MAX_DIALOG_KEYS} non-empty strings of at most {MAX_DIALOG_KEY_LENGTH}",
        )
    return tuple(value)


def _menu_choice(event: Mapping[str, Any]) -> MenuChoice | None:
    value = event.get("menu")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRoutingRequestError("menu", "must be an object")
    outcome = value.get("outcome")
    if outcome not in OUTCOMES:
        raise InvalidRoutingRequestError("menu.outcome", f"must be one of {', '.join(OUTCOMES)}")
    digit = value.get("digit")
    if digit is not None and (not isinstance(digit, str) or len(digit) != 1 or digit not in DIGITS):
        raise InvalidRoutingRequestError("menu.digit", f"must be one key of {DIGITS}")
    queue_id = value.get("queue_id")
    if not isinstance(queue_id, str) or not queue_id:
        raise InvalidRoutingRequestError("menu.queue_id", "must be a queue id")
    started = value.get("started_at_ms")
    if started is not None and (isinstance(started, bool) or not isinstance(started, int) or started < 0):
        raise InvalidRoutingRequestError("menu.started_at_ms", "must be a non-negative integer (epoch ms)")
    return MenuChoice(queue_id, str(outcome), digit, started)


def _dialog(event: Mapping[str, Any]) -> CallDialog | None:
    value = event.get("dialog")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRoutingRequestError("dialog", "must be an object")
    legs, owner, ttl = value.get("legs"), value.get("owner"), value.get("ttl_seconds")
    if not isinstance(legs, Mapping) or not legs:
        raise InvalidRoutingRequestError("dialog.legs", "must be a non-empty object")
    if owner is not None and not isinstance(owner, str):
        raise InvalidRoutingRequestError("dialog.owner", "must be a string")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_DIALOG_TTL_SECONDS:
        raise InvalidRoutingRequestError(
            "dialog.ttl_seconds", f"must be an integer from 1 to {MAX_DIALOG_TTL_SECONDS}"
        )
    return CallDialog(_dialog_keys(value.get("keys"), "dialog.keys"), legs, owner, ttl)


def _queue_call(event: Mapping[str, Any]) -> QueueCall | None:
    """``queue_id`` with the ``trunk_id`` it came over (and that trunk's ``trunk_merchant_id``)."""
    queue_id = _text(event, "queue_id", required=False)
    if queue_id is None:
        return None
    return QueueCall(
        queue_id, _required(event, "trunk_id"), _text(event, "trunk_merchant_id", required=False)
    )


def parse_routing_command(event: Any) -> RoutingCommand:
    if not isinstance(event, Mapping):
        raise InvalidRoutingRequestError("event", "must be a JSON object")
    action = event.get("action")
    if action == "new_contact":
        priority = event.get("priority")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise InvalidRoutingRequestError("priority", "must be an integer")
        return NewContact(
            called=_required(event, "called"),
            caller=_text(event, "caller", required=False) or "anonymous",
            contact_id=_required(event, "contact_id"),
            edge_task_id=_text(event, "edge_task_id", required=False),
            channel=_choice(event, "channel", Channel, Channel.VOICE),
            priority=priority,
            deadline_ms=_epoch_ms(event, "deadline_ms"),
            menu=_menu_choice(event),
            queue_call=_queue_call(event),
        )
    if action == "offer_result":
        return ReportOfferResult(
            contact_id=_required(event, "contact_id"),
            seat_id=_required(event, "seat_id"),
            outcome=_choice(event, "outcome", OfferOutcome),
            dialog=_dialog(event),
        )
    if action == "contact_ended":
        return EndContact(
            contact_id=_required(event, "contact_id"),
            side=_choice(event, "side", HangupSide, HangupSide.CUSTOMER),
            cause=_choice(event, "cause", HangupCause, HangupCause.NORMAL_CLEARING),
            dialog_keys=_dialog_keys(event.get("dialog_keys"), "dialog_keys"),
        )
    if action == "transfer":
        return TransferContact(
            contact_id=_required(event, "contact_id"),
            seat_id=_required(event, "seat_id"),
            target=_required(event, "target"),
            consulted=_flag(event, "consulted"),
        )
    if action == "consult":
        return Consult(_required(event, "sip_username"), _required(event, "dialled"))
    if action == "consult_result":
        return ReportConsultResult(
            merchant_id=_required(event, "merchant_id"),
            seat_id=_required(event, "seat_id"),
            contact_id=_required(event, "contact_id"),
            answered=_flag(event, "answered"),
        )
    if action == "dial_out":
        return DialOut(
            sip_username=_required(event, "sip_username"),
            dialled=_required(event, "dialled"),
            contact_id=_required(event, "contact_id"),
            edge_task_id=_text(event, "edge_task_id", required=False),
        )
    if action == "outbound_answered":
        return ReportOutboundAnswer(_required(event, "contact_id"), _required(event, "seat_id"))
    if action == "queue_timeout":
        return ExpireQueueWait(contact_id=_required(event, "contact_id"))
    if action == "legacy_failed":
        return FallBackFromLegacy(contact_id=_required(event, "contact_id"))
    if action == "pending_offers":
        return ListPendingOffers(
            edge_task_id=_required(event, "edge_task_id"),
            retry_queued=bool(event.get("retry_queued", False)),
            deadline_ms=_epoch_ms(event, "deadline_ms"),
        )
    if action == "finish_wrap_up":
        return FinishWrapUp(
            merchant_id=_required(event, "merchant_id"),
            seat_id=_required(event, "seat_id"),
            contact_id=_text(event, "contact_id", required=False),
        )
    if action == "edge_lost":
        held = event.get("held", [])
        if not isinstance(held, list) or not all(isinstance(c, str) and c for c in held):
            raise InvalidRoutingRequestError("held", "must be a list of contact ids")
        before = _epoch_ms(event, "initiated_before_ms")
        return EndLostEdgeContacts(_required(event, "edge_task_id"), tuple(held), before)
    if action == "region_lost":
        return _region_lost(event)
    if action in CALLBACK_ACTIONS:
        return parse_callback(str(action), event)
    if action == "sweep":
        merchants = event.get("merchant_ids")
        if merchants is not None and (
            not isinstance(merchants, list) or not all(isinstance(m, str) and m for m in merchants)
        ):
            raise InvalidRoutingRequestError("merchant_ids", "must be a list of merchant ids")
        return Sweep(tuple(merchants) if merchants is not None else None)
    raise InvalidRoutingRequestError(
        "action",
        "must be one of new_contact, offer_result, contact_ended, transfer, consult, consult_result,"
        " dial_out, outbound_answered,"
        " queue_timeout, legacy_failed, pending_offers, finish_wrap_up, edge_lost, region_lost, sweep,"
        f" {', '.join(CALLBACK_ACTIONS)}",
    )


def _region_lost(event: Mapping[str, Any]) -> EndLostRegionContacts:
    edges = event.get("edge_task_ids")
    if (
        not isinstance(edges, list)
        or not 0 < len(edges) <= MAX_LOST_EDGE_TASKS
        or not all(isinstance(edge, str) and edge for edge in edges)
    ):
        raise InvalidRoutingRequestError(
            "edge_task_ids", f"must be a list of 1 to {MAX_LOST_EDGE_TASKS} edge task ids"
        )
    limit = event.get("limit", REGION_LOSS_PAGE)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_REGION_LOSS_PAGE:
        raise InvalidRoutingRequestError("limit", f"must be an integer from 1 to {MAX_REGION_LOSS_PAGE}")
    return EndLostRegionContacts(tuple(edges), limit)


def _offer_dict(offer: AgentOffer | None) -> dict[str, Any] | None:
    if offer is None:
        return None
    return {
        "contact_id": offer.contact_id,
        "seat_id": offer.seat_id,
        "merchant_id": offer.merchant_id,
        "edge_task_id": offer.edge_task_id,
    }


def execute(service: RoutingService, command: RoutingCommand, now_ms: int) -> dict[str, Any]:
    """Run ``command``. A request with a deadline (one that starts new work) that begins after it
    raises DeadlineExceededError; requests that release a seat or end a contact have none."""
    deadline = command.deadline_ms if isinstance(command, NewContact | ListPendingOffers) else None
    if deadline is not None and now_ms > deadline:
        raise DeadlineExceededError(deadline, now_ms)
    match command:
        case NewContact():
            return service.new_contact(
                command.called,
                command.caller,
                command.edge_task_id,
                command.contact_id,
                now_ms,
                channel=command.channel,
                priority=command.priority,
                menu_choice=command.menu,
                queue_call=command.queue_call,
            ).to_dict()
        case ReportOfferResult():
            return service.offer_result(
                command.contact_id, command.seat_id, command.outcome, now_ms, command.dialog
            ).to_dict()
        case EndContact():
            return service.contact_ended(
                command.contact_id, command.side, command.cause, now_ms, command.dialog_keys
            ).to_dict()
        case TransferContact():
            return service.transfer(
                command.contact_id, command.seat_id, command.target, now_ms, command.consulted
            ).to_dict()
        case Consult():
            return service.consult(command.sip_username, command.dialled, now_ms).to_dict()
        case ReportConsultResult():
            return service.consult_result(
                command.merchant_id, command.seat_id, command.contact_id, command.answered, now_ms
            ).to_dict()
        case DialOut():
            return service.dial_out(
                command.sip_username, command.dialled, command.contact_id, command.edge_task_id, now_ms
            ).to_dict()
        case ReportOutboundAnswer():
            return service.outbound_answered(command.contact_id, command.seat_id, now_ms).to_dict()
        case ExpireQueueWait():
            return service.queue_timeout(command.contact_id, now_ms).to_dict()
        case FallBackFromLegacy():
            return service.legacy_failed(command.contact_id, now_ms).to_dict()
        case ListPendingOffers():
            offers = service.pending_offers(command.edge_task_id, now_ms, command.retry_queued)
            return {"offers": [offer.to_dict() for offer in offers]}
        case FinishWrapUp():
            offer = service.finish_wrap_up(command.merchant_id, command.seat_id, now_ms, command.contact_id)
            return {"offer": _offer_dict(offer)}
        case EndLostEdgeContacts():
            ended = service.edge_lost(
                command.edge_task_id, now_ms, frozenset(command.held), command.initiated_before_ms
            )
            return {"ended": ended}
        case EndLostRegionContacts():
            return service.end_lost_region(command.edge_task_ids, now_ms, command.limit).to_dict()
        case Sweep():
            return service.sweep(now_ms, command.merchant_ids).to_dict()
        case _:
            return execute_callback(service, command, now_ms)
