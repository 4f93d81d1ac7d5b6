"""The JSON representation of each resource; field names are the public contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberRouting
from contact_center.services.auth import Principal
from contact_center.services.records import (
    ApiKey,
    CreatedSeat,
    IssuedApiKey,
    Merchant,
    MerchantSignup,
    NumberAudit,
    NumberChange,
    Page,
    PhoneNumber,
    Queue,
    QueueStats,
    Seat,
    SipCredentials,
    Trunk,
)

T = TypeVar("T")
Json = dict[str, Any]


def page(result: Page[T], view: Callable[[T], Json]) -> Json:
    return {"items": [view(item) for item in result.items], "next_token": result.next_token}


def merchant(m: Merchant) -> Json:
    return {
        "merchant_id": m.merchant_id,
        "name": m.name,
        "contact_email": m.contact_email,
        "seat_licenses": m.seat_licenses,
        "seats_used": m.seats_used,
        "created_at": m.created_at,
        "dial_prefixes": list(m.dial_prefixes),
    }


def signup(s: MerchantSignup) -> Json:
    return {**merchant(s.merchant), "api_key": s.api_key.secret, "api_key_id": s.api_key.key.key_id}


def api_key(k: ApiKey) -> Json:
    return {"key_id": k.key_id, "name": k.name, "prefix": k.prefix, "created_at": k.created_at}


def issued_api_key(k: IssuedApiKey) -> Json:
    return {**api_key(k.key), "api_key": k.secret}


def queue(q: Queue) -> Json:
    return {
        "queue_id": q.queue_id,
        "name": q.name,
        "skills": [{"name": s.name, "min_proficiency": s.min_proficiency} for s in q.skills],
        "priority": q.priority,
        "strategy": q.strategy.value,
        "max_wait_seconds": q.max_wait_seconds,
        "overflow": {"type": q.overflow.kind.value, "target": q.overflow.target} if q.overflow else None,
        "wrap_up_seconds": q.wrap_up_seconds,
        "media": q.media.as_dict(),
        "service_level_seconds": q.service_level_seconds,
        "recording_percent": q.recording_percent,
        "callback": q.callback.as_dict() if q.callback is not None else None,
        "created_at": q.created_at,
    }


def number(n: PhoneNumber) -> Json:
    return {
        "number": n.number,
        "queue_id": n.queue_id,
        "mode": n.mode.value,
        "legacy_trunk_id": n.legacy_trunk_id,
        "switchboard_percent": n.switchboard_percent,
        "fallback_trunk_id": n.fallback_trunk_id,
        "menu": n.menu.to_dict() if n.menu is not None else None,
        "created_at": n.created_at,
    }


def number_menu(number: str, menu: Menu | None) -> Json:
    return {"number": number, "menu": menu.to_dict() if menu is not None else None}


def actor(principal: Principal) -> str:
    """Who made a change, as the audit log names it: the admin or the merchant's key."""
    return "admin" if principal.is_admin else f"key:{principal.key_id}"


def number_routing(r: NumberRouting) -> Json:
    return {
        "mode": r.mode.value,
        "queue_id": r.queue_id,
        "legacy_trunk_id": r.legacy_trunk_id,
        "switchboard_percent": r.switchboard_percent,
        "fallback_trunk_id": r.fallback_trunk_id,
    }


def number_change(c: NumberChange, audit: NumberAudit) -> Json:
    return {
        "number": c.number,
        **number_routing(c.routing),
        "previous": number_routing(c.previous),
        "audit_id": audit.audit_id,
    }


def number_changes(audits: Sequence[NumberAudit]) -> Json:
    return {
        "batch_id": audits[0].batch_id if audits else None,
        "audit_ids": [a.audit_id for a in audits],
        "changes": [number_change(c, a) for a in audits for c in a.changes],
    }


def number_audit(a: NumberAudit) -> Json:
    return {
        "audit_id": a.audit_id,
        "changed_at": a.changed_at,
        "actor": a.actor,
        "batch_id": a.batch_id,
        "rollback_of": a.rollback_of,
        "changes": [
            {"number": c.number, **number_routing(c.routing), "previous": number_routing(c.previous)}
            for c in a.changes
        ],
    }


def seat_state(s: Seat) -> Json:
    return {
        "seat_id": s.seat_id,
        "state": s.agent.state.value,
        "reason": s.agent.reason,
        "since": s.agent.state_since_ms,
        "contact_id": s.agent.contact_id,
        "version": s.agent.version,
    }


def seat(s: Seat) -> Json:
    return {
        "seat_id": s.seat_id,
        "display_name": s.display_name,
        "skills": [{"name": name, "proficiency": level} for name, level in sorted(s.skills.items())],
        "queue_ids": list(s.queue_ids),
        "ring_timeout_seconds": s.ring_timeout_seconds,
        "sip_username": s.sip_username,
        "state": s.agent.state.value,
        "created_at": s.created_at,
    }


def sip(c: SipCredentials) -> Json:
    return {"username": c.username, "password": c.password, "domain": c.domain, "registrar": c.registrar}


def created_seat(c: CreatedSeat) -> Json:
    return {**seat(c.seat), "sip": sip(c.sip)}


def trunk(t: Trunk) -> Json:
    """Never the credentials' HA1: the username and realm say which credentials are set."""
    return {
        "trunk_id": t.trunk_id,
        "merchant_id": t.merchant_id,
        "name": t.name,
        "source_cidrs": list(t.source_cidrs),
        "legacy": t.legacy,
        "address": str(t.address) if t.address is not None else None,
        "transport": t.address.transport.value if t.address is not None else None,
        "max_concurrent_calls": t.max_concurrent_calls,
        "caller_id_rules": [{"prefix": r.prefix, "caller_id": r.caller_id} for r in t.caller_id_rules],
        "username": t.auth.username if t.auth is not None else None,
        "realm": t.auth.realm if t.auth is not None else None,
        "created_at": t.created_at,
    }


def queue_stats(s: QueueStats) -> Json:
    return {
        "queue_id": s.queue_id,
        "day": s.day,
        "waiting": s.waiting,
        "oldest_wait_seconds": s.oldest_wait_seconds,
        "agents": s.agents,
        "offered": s.offered,
        "answered": s.answered,
        "abandoned": s.abandoned,
        "timed_out": s.timed_out,
    }
