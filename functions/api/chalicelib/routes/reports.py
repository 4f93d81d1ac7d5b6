"""Reports: contact records (JSON pages or a CSV export) and interval figures per queue and agent."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.http import Call, endpoint
from chalicelib.routes import Routes
from contact_center.domain.access import Principal, Role
from contact_center.services import reports
from contact_center.services.commands import parse_page

routes = Routes()

Json = dict[str, Any]
MERCHANT = "/merchants/{merchant_id}"
CSV = "text/csv"


def record_view(r: reports.RecordRow) -> Json:
    return {
        "contact_id": r.contact_id,
        "queue_id": r.queue_id,
        "seat_id": r.seat_id,
        "caller": r.caller,
        "called": r.called,
        "channel": r.channel,
        "outcome": r.outcome.value,
        "enqueued_at": r.enqueued_at,
        "answered_at": r.answered_at,
        "ended_at": r.ended_at,
        "hangup_side": r.hangup_side,
        "hangup_cause": r.hangup_cause,
        "wrap_up_code": r.wrap_up_code,
        "recording_key": r.recording_key,
    }


def interval_view(row: reports.IntervalRow, group_by: reports.GroupBy) -> Json:
    f = row.figures
    return {
        "queue_id" if group_by is reports.GroupBy.QUEUE else "seat_id": row.key,
        "interval_start": row.start_ms,
        "offered": f.offered,
        "answered": f.answered,
        "abandoned": f.abandoned,
        "timed_out": f.timed_out,
        "asa_seconds": f.asa_seconds,
        "aht_seconds": f.aht_seconds,
        "service_level": f.service_level,
    }


def _allowed_queues(principal: Principal) -> frozenset[str] | None:
    return principal.queue_ids if principal.role is Role.SUPERVISOR else None


def _query(call: Call) -> dict[str, str]:
    return dict(call.request.query_params or {})


def _wants_csv(call: Call) -> bool:
    query = _query(call)
    return query.get("format") == "csv" or CSV in (call.request.headers.get("accept") or "")


@routes.route(MERCHANT + "/contacts", methods=["GET"])
@endpoint()
def list_contacts(call: Call, merchant_id: str) -> Json | Response:
    owner = call.merchant(merchant_id)
    service = call.services.reports
    query = _query(call)
    contacts = service.scoped(
        reports.parse_contact_filter(query, call.services.clock()), _allowed_queues(call.principal)
    )
    if _wants_csv(call):
        page = service.contacts(owner, contacts, reports.EXPORT_MAX_ROWS, query.get("next_token"))
        headers = {
            "Content-Type": f"{CSV}; charset=utf-8",
            "Content-Disposition": 'attachment; filename="contacts.csv"',
        }
        if page.next_token:
            headers["X-Next-Token"] = page.next_token
        return Response(body=reports.to_csv(page.items), status_code=200, headers=dict(headers))
    paging = {k: v for k, v in query.items() if k in ("limit",)}
    limit = parse_page(paging).limit
    page = service.contacts(owner, contacts, limit, query.get("next_token"))
    return {"items": [record_view(r) for r in page.items], "next_token": page.next_token}


@routes.route(MERCHANT + "/contacts/{contact_id}/recording", methods=["GET"])
@endpoint()
def get_recording(call: Call, merchant_id: str, contact_id: str) -> Json:
    owner = call.merchant(merchant_id)
    link = call.services.recordings.link(owner, contact_id, _allowed_queues(call.principal))
    return {"contact_id": contact_id, "url": link.url, "expires_at": link.expires_at}


def _intervals(call: Call, merchant_id: str, group_by: reports.GroupBy) -> Json:
    owner = call.merchant(merchant_id)
    service = call.services.reports
    query = reports.parse_interval_query(call.request.query_params, group_by, call.services.clock())
    scoped = service.scoped(query.contacts, _allowed_queues(call.principal))
    rows = service.intervals(
        owner, reports.IntervalQuery(scoped, query.interval, group_by, query.service_level_seconds)
    )
    return {
        "interval": query.interval.value,
        "service_level_seconds": query.service_level_seconds,
        "from": scoped.from_ms,
        "to": scoped.to_ms,
        "items": [interval_view(row, group_by) for row in rows],
    }


@routes.route(MERCHANT + "/reports/queues", methods=["GET"])
@endpoint()
def queue_intervals(call: Call, merchant_id: str) -> Json:
    return _intervals(call, merchant_id, reports.GroupBy.QUEUE)


@routes.route(MERCHANT + "/reports/agents", methods=["GET"])
@endpoint()
def agent_intervals(call: Call, merchant_id: str) -> Json:
    return _intervals(call, merchant_id, reports.GroupBy.AGENT)
