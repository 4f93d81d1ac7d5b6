"""Switchboard's HTTP API: merchants onboard themselves — keys, queues, numbers, seats, agent state.

Each route parses its input into a typed command, calls one use case and returns a view; errors,
authentication and idempotency are handled around it by ``chalicelib.http.endpoint``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalice.app import Chalice
from chalicelib import homes, openapi, views
from chalicelib.http import Call, endpoint, install
from chalicelib.routes import desk, people, prompts, reports, transfers, wallboard, webhooks

from contact_center.services import agent_state, commands, number_commands, trunk_commands
from contact_center.services.regions import parse_move_home

app = Chalice(app_name="switchboard-api")
install(app)
desk.routes.register(app)
people.routes.register(app)
reports.routes.register(app)
webhooks.routes.register(app)
prompts.routes.register(app)
prompts.accept_binary(app)
wallboard.routes.register(app)
transfers.routes.register(app)

Json = dict[str, Any]
MERCHANT = "/merchants/{merchant_id}"


@app.route("/health", methods=["GET"])
@endpoint()
def health(call: Call) -> Json:
    return {"status": "ok"}


@app.route("/openapi.json", methods=["GET"])
@endpoint()
def openapi_document(call: Call) -> Json:
    return openapi.document()


# Merchants (sign-up is the platform admin's; a merchant reads and changes its own account)


@app.route("/merchants", methods=["POST"])
@endpoint(201)
def create_merchant(call: Call) -> Json:
    return views.signup(call.services.merchants.sign_up(commands.parse_create_merchant(call.body())))


@app.route("/merchants", methods=["GET"])
@endpoint()
def list_merchants(call: Call) -> Json:
    return views.page(call.services.merchants.list(call.page()), views.merchant)


@app.route(MERCHANT, methods=["GET"])
@endpoint()
def get_merchant(call: Call, merchant_id: str) -> Json:
    return views.merchant(call.services.merchants.get(call.merchant(merchant_id)))


@app.route(MERCHANT, methods=["PATCH"])
@endpoint()
def update_merchant(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    command = commands.parse_update_merchant(call.body())
    updated = call.services.merchants.update(owner, command, by_platform_admin=call.principal.is_admin)
    return views.merchant(updated)


# API keys


@app.route(MERCHANT + "/api-keys", methods=["POST"])
@endpoint(201)
def create_api_key(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    command = commands.parse_create_api_key(call.body())
    return views.issued_api_key(call.services.api_keys.issue(owner, command))


@app.route(MERCHANT + "/api-keys", methods=["GET"])
@endpoint()
def list_api_keys(call: Call, merchant_id: str) -> Json:
    return views.page(call.services.api_keys.list(call.merchant(merchant_id), call.page()), views.api_key)


@app.route(MERCHANT + "/api-keys/{key_id}", methods=["DELETE"])
@endpoint(204)
def delete_api_key(call: Call, merchant_id: str, key_id: str) -> None:
    call.services.api_keys.revoke(call.merchant(merchant_id), key_id)


# Queues


@app.route(MERCHANT + "/queues", methods=["POST"])
@endpoint(201)
def create_queue(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    settings = commands.parse_create_queue(call.body())
    return views.queue(call.services.queues.create(owner, settings))


@app.route(MERCHANT + "/queues", methods=["GET"])
@endpoint()
def list_queues(call: Call, merchant_id: str) -> Json:
    return views.page(call.services.queues.list(call.merchant(merchant_id), call.page()), views.queue)


@app.route(MERCHANT + "/queues/{queue_id}", methods=["GET"])
@endpoint()
def get_queue(call: Call, merchant_id: str, queue_id: str) -> Json:
    return views.queue(call.services.queues.get(call.merchant(merchant_id), queue_id))


@app.route(MERCHANT + "/queues/{queue_id}", methods=["PATCH"])
@endpoint()
def update_queue(call: Call, merchant_id: str, queue_id: str) -> Json:
    owner = call.merchant(merchant_id)
    patch = commands.parse_update_queue(call.body())
    return views.queue(call.services.queues.update(owner, queue_id, patch))


@app.route(MERCHANT + "/queues/{queue_id}", methods=["DELETE"])
@endpoint(204)
def delete_queue(call: Call, merchant_id: str, queue_id: str) -> None:
    call.services.queues.delete(call.merchant(merchant_id), queue_id)


@app.route(MERCHANT + "/queues/{queue_id}/stats", methods=["GET"])
@endpoint()
def queue_stats(call: Call, merchant_id: str, queue_id: str) -> Json:
    return views.queue_stats(call.services.stats.queue_stats(call.merchant(merchant_id), queue_id))


# Numbers


@app.route(MERCHANT + "/numbers", methods=["POST"])
@endpoint(201)
def create_number(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    command = commands.parse_create_number(call.body())
    return views.number(call.services.numbers.claim(owner, command))


@app.route(MERCHANT + "/numbers", methods=["GET"])
@endpoint()
def list_numbers(call: Call, merchant_id: str) -> Json:
    return views.page(call.services.numbers.list(call.merchant(merchant_id), call.page()), views.number)


@app.route(MERCHANT + "/numbers/{number}", methods=["PATCH"])
@endpoint()
def update_number(call: Call, merchant_id: str, number: str) -> Json:
    """A number's migration mode; it applies from the number's next call."""
    owner = call.merchant(merchant_id)
    command = number_commands.parse_set_number_mode(commands.parse_number_path(number), call.body())
    (audit,) = call.services.numbers.set_modes(owner, [command], views.actor(call.principal))
    return views.number_change(audit.changes[0], audit)


@app.route(MERCHANT + "/numbers/{number}/menu", methods=["PUT"])
@endpoint()
def set_number_menu(call: Call, merchant_id: str, number: str) -> Json:
    """The menu the number's callers hear before a queue takes them; it applies from the next call."""
    owner, e164 = call.merchant(merchant_id), commands.parse_number_path(number)
    menu = call.services.numbers.set_menu(owner, e164, number_commands.parse_number_menu(call.body()))
    return views.number_menu(e164, menu)


@app.route(MERCHANT + "/numbers/{number}/menu", methods=["DELETE"])
@endpoint(204)
def delete_number_menu(call: Call, merchant_id: str, number: str) -> None:
    owner = call.merchant(merchant_id)
    call.services.numbers.set_menu(owner, commands.parse_number_path(number), None)


@app.route(MERCHANT + "/number-changes", methods=["POST"])
@endpoint(201)
def change_numbers(call: Call, merchant_id: str) -> Json:
    """A migration wave: many numbers' modes at once, all or nothing."""
    owner = call.merchant(merchant_id)
    changes = number_commands.parse_set_number_modes(call.body())
    return views.number_changes(call.services.numbers.set_modes(owner, changes, views.actor(call.principal)))


@app.route(MERCHANT + "/number-changes", methods=["GET"])
@endpoint()
def list_number_changes(call: Call, merchant_id: str) -> Json:
    """The audit log of mode changes, newest first."""
    return views.page(
        call.services.numbers.audit(call.merchant(merchant_id), call.page()), views.number_audit
    )


@app.route(MERCHANT + "/numbers/{number}", methods=["DELETE"])
@endpoint(204)
def delete_number(call: Call, merchant_id: str, number: str) -> None:
    owner = call.merchant(merchant_id)
    call.services.numbers.release(owner, commands.parse_number_path(number))


# Seats, their credentials and their agent's state


@app.route(MERCHANT + "/seats", methods=["POST"])
@endpoint(201)
def create_seat(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    profile = commands.parse_create_seat(call.body())
    return views.created_seat(call.services.seats.create(owner, profile))


@app.route(MERCHANT + "/seats", methods=["GET"])
@endpoint()
def list_seats(call: Call, merchant_id: str) -> Json:
    seats = call.services.seats.list(call.merchant(merchant_id), call.page())
    # A supervisor's wallboard: the seats serving its queues (a page may then hold fewer than limit).
    reachable = [s for s in seats.items if call.principal.may_reach_seat_serving(s.seat_id, set(s.queue_ids))]
    return views.page(replace(seats, items=reachable), views.seat)


@app.route(MERCHANT + "/seats/{seat_id}", methods=["GET"])
@endpoint()
def get_seat(call: Call, merchant_id: str, seat_id: str) -> Json:
    return views.seat(call.services.seats.get(call.merchant(merchant_id), seat_id))


@app.route(MERCHANT + "/seats/{seat_id}", methods=["PATCH"])
@endpoint()
def update_seat(call: Call, merchant_id: str, seat_id: str) -> Json:
    owner = call.merchant(merchant_id)
    patch = commands.parse_update_seat(call.body())
    return views.seat(call.services.seats.update(owner, seat_id, patch))


@app.route(MERCHANT + "/seats/{seat_id}", methods=["DELETE"])
@endpoint(204)
def delete_seat(call: Call, merchant_id: str, seat_id: str) -> None:
    call.services.seats.delete(call.merchant(merchant_id), seat_id)


@app.route(MERCHANT + "/seats/{seat_id}/credentials", methods=["POST"])
@endpoint(201)
def rotate_seat_credentials(call: Call, merchant_id: str, seat_id: str) -> Json:
    return views.sip(call.services.seats.rotate_credentials(call.merchant(merchant_id), seat_id))


@app.route(MERCHANT + "/seats/{seat_id}/state", methods=["GET"])
@endpoint()
def get_seat_state(call: Call, merchant_id: str, seat_id: str) -> Json:
    return views.seat_state(call.services.agent_state.get(call.merchant(merchant_id), seat_id))


@app.route(MERCHANT + "/seats/{seat_id}/state", methods=["PUT"])
@endpoint()
def put_seat_state(call: Call, merchant_id: str, seat_id: str) -> Json:
    owner = call.merchant(merchant_id)
    command = commands.parse_state_change(call.body())
    return views.seat_state(call.services.agent_state.change(owner, seat_id, command))


@app.route(MERCHANT + "/seats/{seat_id}/release", methods=["POST"])
@endpoint()
def release_seat(call: Call, merchant_id: str, seat_id: str) -> Json:
    owner = call.merchant(merchant_id)
    target = commands.parse_release(call.body(), agent_state.FORCED_RELEASE_REASON)
    return views.seat_state(call.services.agent_state.force_release(owner, seat_id, target))


# Merchants' home regions (platform admin): where a merchant lives, a planned move and back


@app.route(MERCHANT + "/home", methods=["GET"])
@endpoint()
def get_home(call: Call, merchant_id: str) -> Json:
    return homes.home(call.services.regions.ownership(merchant_id))


@app.route(MERCHANT + "/home", methods=["PUT"])
@endpoint()
def move_home(call: Call, merchant_id: str) -> Json:
    return homes.moved(call.services.regions.move_home(merchant_id, parse_move_home(call.body())))


# Trunks: the platform's carriers (admin) and a merchant's own (its legacy PBX)


@app.route("/trunks", methods=["POST"])
@endpoint(201)
def create_trunk(call: Call) -> Json:
    return views.trunk(call.services.trunks.create(trunk_commands.parse_create_trunk(call.body())))


@app.route("/trunks", methods=["GET"])
@endpoint()
def list_trunks(call: Call) -> Json:
    return views.page(call.services.trunks.list(call.page()), views.trunk)


@app.route("/trunks/{trunk_id}", methods=["GET"])
@endpoint()
def get_trunk(call: Call, trunk_id: str) -> Json:
    return views.trunk(call.services.trunks.get(trunk_id))


@app.route("/trunks/{trunk_id}", methods=["PATCH"])
@endpoint()
def update_trunk(call: Call, trunk_id: str) -> Json:
    return views.trunk(call.services.trunks.update(trunk_id, trunk_commands.parse_update_trunk(call.body())))


@app.route("/trunks/{trunk_id}", methods=["DELETE"])
@endpoint(204)
def delete_trunk(call: Call, trunk_id: str) -> None:
    call.services.trunks.delete(trunk_id)


@app.route(MERCHANT + "/trunks", methods=["POST"])
@endpoint(201)
def create_merchant_trunk(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    command = trunk_commands.parse_create_trunk(call.body())
    return views.trunk(call.services.trunks.create(command, owner))


@app.route(MERCHANT + "/trunks", methods=["GET"])
@endpoint()
def list_merchant_trunks(call: Call, merchant_id: str) -> Json:
    return views.page(call.services.trunks.list(call.page(), call.merchant(merchant_id)), views.trunk)


@app.route(MERCHANT + "/trunks/{trunk_id}", methods=["GET"])
@endpoint()
def get_merchant_trunk(call: Call, merchant_id: str, trunk_id: str) -> Json:
    return views.trunk(call.services.trunks.get(trunk_id, call.merchant(merchant_id)))


@app.route(MERCHANT + "/trunks/{trunk_id}", methods=["PATCH"])
@endpoint()
def update_merchant_trunk(call: Call, merchant_id: str, trunk_id: str) -> Json:
    owner = call.merchant(merchant_id)
    command = trunk_commands.parse_update_trunk(call.body())
    return views.trunk(call.services.trunks.update(trunk_id, command, owner))


@app.route(MERCHANT + "/trunks/{trunk_id}", methods=["DELETE"])
@endpoint(204)
def delete_merchant_trunk(call: Call, merchant_id: str, trunk_id: str) -> None:
    call.services.trunks.delete(trunk_id, call.merchant(merchant_id))
