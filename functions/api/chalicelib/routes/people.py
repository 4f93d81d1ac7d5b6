"""Signing in, and the people a merchant admin lets sign in (supervisors and agents)."""

from __future__ import annotations

from typing import Any

from chalicelib.http import Call, endpoint
from chalicelib.routes import Routes
from chalicelib.views import page
from contact_center.domain.access import Principal
from contact_center.services import people, sign_in
from contact_center.services.tokens import SessionToken

routes = Routes()

Json = dict[str, Any]
USERS = "/merchants/{merchant_id}/users"


def principal_view(p: Principal) -> Json:
    return {
        "role": p.role.value,
        "merchant_id": p.merchant_id,
        "user_id": p.user_id,
        "seat_id": p.seat_id,
        "queue_ids": sorted(p.queue_ids),
    }


def session_view(s: SessionToken) -> Json:
    return {"token": s.token, "expires_at": s.expires_at, **principal_view(s.principal)}


def user_view(u: people.User) -> Json:
    return {
        "user_id": u.user_id,
        "role": u.role.value,
        "seat_id": u.seat_id,
        "queue_ids": list(u.queue_ids),
        "password_set": u.password_set,
        "created_at": u.created_at,
    }


def invite_view(i: people.Invite) -> Json:
    return {"invite_token": i.token, "expires_at": i.expires_at}


@routes.route("/auth/sign-in", methods=["POST"])
@endpoint()
def sign_in_route(call: Call) -> Json:
    return session_view(call.services.sign_in.sign_in(sign_in.parse_sign_in(call.body())))


@routes.route("/auth/invites/accept", methods=["POST"])
@endpoint()
def accept_invite(call: Call) -> Json:
    return session_view(call.services.sign_in.accept_invite(sign_in.parse_accept_invite(call.body())))


@routes.route("/auth/me", methods=["GET"])
@endpoint()
def me(call: Call) -> Json:
    return principal_view(call.principal)


@routes.route(USERS, methods=["POST"])
@endpoint(201)
def create_user(call: Call, merchant_id: str) -> Json:
    command = people.parse_create_user(call.body())
    created = call.services.people.create(call.merchant(merchant_id), command)
    view = user_view(created.user)
    return {**view, "invite": invite_view(created.invite) if created.invite else None}


@routes.route(USERS, methods=["GET"])
@endpoint()
def list_users(call: Call, merchant_id: str) -> Json:
    return page(call.services.people.list(call.merchant(merchant_id), call.page()), user_view)


@routes.route(USERS + "/{user_id}", methods=["GET"])
@endpoint()
def get_user(call: Call, merchant_id: str, user_id: str) -> Json:
    return user_view(call.services.people.get(call.merchant(merchant_id), user_id))


@routes.route(USERS + "/{user_id}", methods=["DELETE"])
@endpoint(204)
def delete_user(call: Call, merchant_id: str, user_id: str) -> None:
    call.services.people.delete(call.merchant(merchant_id), user_id)


@routes.route(USERS + "/{user_id}/password", methods=["PUT"])
@endpoint(204)
def set_password(call: Call, merchant_id: str, user_id: str) -> None:
    owner = call.merchant(merchant_id)
    call.services.people.set_password(owner, user_id, people.parse_password(call.body()))


@routes.route(USERS + "/{user_id}/invites", methods=["POST"])
@endpoint(201)
def invite_user(call: Call, merchant_id: str, user_id: str) -> Json:
    return invite_view(call.services.people.invite(call.merchant(merchant_id), user_id))
