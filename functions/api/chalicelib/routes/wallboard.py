"""The wallboard: every queue's live figures and every agent's state, in one read a second."""

from __future__ import annotations

from typing import Any

from chalicelib.http import Call, endpoint
from chalicelib.routes import Routes
from contact_center.services.wallboard import AgentRow, Board, QueueFigures, WindowFigures

routes = Routes()

Json = dict[str, Any]


def window_view(w: WindowFigures) -> Json:
    return {
        "offered": w.offered,
        "answered": w.answered,
        "abandoned": w.abandoned,
        "timed_out": w.timed_out,
        "service_level": w.service_level,
        "abandon_rate": w.abandon_rate,
    }


def queue_view(q: QueueFigures) -> Json:
    return {
        "queue_id": q.queue_id,
        "name": q.name,
        "service_level_seconds": q.service_level_seconds,
        "waiting": q.waiting,
        "oldest_wait_seconds": q.oldest_wait_seconds,
        "agents": q.agents,
        "today": window_view(q.today),
        "interval": window_view(q.interval),
    }


def agent_view(a: AgentRow) -> Json:
    return {
        "seat_id": a.seat_id,
        "display_name": a.display_name,
        "state": a.state,
        "reason": a.reason,
        "seconds_in_state": a.seconds_in_state,
        "queue_ids": list(a.queue_ids),
    }


def board_view(b: Board) -> Json:
    return {
        "now": b.now_ms,
        "day": b.day,
        "interval_start": b.interval_start_ms,
        "queues": [queue_view(q) for q in b.queues],
        "agents": [agent_view(a) for a in b.agents],
    }


@routes.route("/merchants/{merchant_id}/wallboard", methods=["GET"])
@endpoint()
def wallboard(call: Call, merchant_id: str) -> Json:
    return board_view(call.services.wallboard.board(call.merchant(merchant_id), call.principal))
