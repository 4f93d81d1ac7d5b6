"""The HTTP API end to end through chalice.test.Client, against moto."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from chalice.test import Client

from contact_center import bootstrap
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.data.merchants import MerchantItems
from contact_center.data.seats import SeatItems, SipUserItems
from contact_center.domain.agent_state import ReleaseReservation, Reserve
from contact_center.domain.credentials import digest_ha1
from contact_center.services.routing.decisions import Connect
from tests.functional.api.conftest import ADMIN_KEY, SIP_DOMAIN, SIP_REGISTRAR, Api, SerializedMoto, load_api

# Authentication and request shape


def test_health_and_openapi_need_no_key(api: Api) -> None:
    assert api.get("/health", key=None).body == {"status": "ok"}
    assert api.get("/openapi.json", key=None).body["openapi"].startswith("3.")


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer", ""])
def test_missing_or_bad_key_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    reply = api.call("GET", "/trunks", key=None, headers=headers)
    assert reply.status == 401
    assert reply.error["code"] == "unauthorized"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_malformed_json_is_400(api: Api) -> None:
    reply = api.call("POST", "/merchants", raw=b'{"name": "Acme",')
    assert (reply.status, reply.error["code"], reply.error["field"]) == (400, "malformed_json", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"contact_email": "ops@acme.test"}, "name"),
        ({"name": "Acme", "contact_email": "not-an-email"}, "contact_email"),
        ({"name": "Acme", "contact_email": "ops@acme.test", "seat_licenses": "5"}, "seat_licenses"),
        ({"name": "Acme", "contact_email": "ops@acme.test", "seat_licenses": -1}, "seat_licenses"),
        ({"name": "Acme", "contact_email": "ops@acme.test", "seat_licenses": True}, "seat_licenses"),
    ],
)
def test_wrong_types_are_400_naming_the_field(api: Api, body: object, field: str) -> None:
    reply = api.call("POST", "/merchants", body)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (400, "validation_error", field)


# Merchants and keys


def test_merchant_signup_returns_a_working_key_and_reads_back(api: Api) -> None:
    reply = api.post("/merchants", {"name": "Acme", "seat_licenses": 3, "contact_email": "Ops@ACME.test"})
    assert reply.status == 201
    merchant_id, key = reply.body["merchant_id"], reply.body["api_key"]
    assert reply.body["seat_licenses"] == 3 and reply.body["seats_used"] == 0
    own = api.get(f"/merchants/{merchant_id}", key=key)
    assert own.status == 200
    assert own.body["contact_email"] == "Ops@acme.test"  # domain lower-cased, local part kept
    assert "api_key" not in own.body


def test_api_keys_are_issued_listed_revoked_and_stored_hashed(api: Api) -> None:
    merchant_id, key = api.merchant()
    issued = api.post(f"/merchants/{merchant_id}/api-keys", {"name": "ci"}, key=key)
    assert issued.status == 201 and issued.body["api_key"].startswith("sbk_")
    listed = api.get(f"/merchants/{merchant_id}/api-keys", key=key).body["items"]
    assert {k["name"] for k in listed} == {"default", "ci"}
    assert all("api_key" not in k for k in listed)
    from contact_center.data.models import ApiKeyItem

    stored = [item.pk for item in ApiKeyItem.scan()]
    assert f"APIKEY#{hashlib.sha256(issued.body['api_key'].encode()).hexdigest()}" in stored
    assert not any(issued.body["api_key"] in pk for pk in stored)
    assert api.delete(f"/merchants/{merchant_id}/api-keys/{issued.body['key_id']}", key=key).status == 204
    assert api.get(f"/merchants/{merchant_id}", key=issued.body["api_key"]).status == 401
    assert api.delete(f"/merchants/{merchant_id}/api-keys/{issued.body['key_id']}", key=key).status == 404


def test_licences_cannot_drop_below_seats_in_use(api: Api) -> None:
    merchant_id, key = api.merchant(licences=3)
    for _ in range(3):
        api.seat(merchant_id, key)
    reply = api.patch(f"/merchants/{merchant_id}", {"seat_licenses": 1, "name": "Renamed"})
    assert reply.status == 409
    assert reply.error["seats_to_remove"] == 2 and "remove 2 seats" in reply.error["message"]
    # Nothing half-written: the refused request did not rename the merchant either.
    assert api.get(f"/merchants/{merchant_id}", key=key).body["name"] == "Acme Shoes"
    raised = api.patch(f"/merchants/{merchant_id}", {"seat_licenses": 10, "name": "Renamed"})
    assert (raised.status, raised.body["seat_licenses"], raised.body["name"]) == (200, 10, "Renamed")


def test_a_merchant_cannot_change_its_own_licences(api: Api) -> None:
    merchant_id, key = api.merchant(licences=3)
    reply = api.patch(f"/merchants/{merchant_id}", {"seat_licenses": 1000, "name": "Renamed"}, key=key)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (403, "forbidden", "seat_licenses")
    # Nothing half-written: neither the licences nor the name moved.
    after = api.get(f"/merchants/{merchant_id}", key=key).body
    assert (after["seat_licenses"], after["name"]) == (3, "Acme Shoes")
    # The merchant still edits its own profile.
    renamed = api.patch(f"/merchants/{merchant_id}", {"name": "Renamed"}, key=key)
    assert (renamed.status, renamed.body["name"], renamed.body["seat_licenses"]) == (200, "Renamed", 3)


def test_unknown_merchant_is_404_for_the_admin(api: Api) -> None:
    assert api.get("/merchants/mer_nope").status == 404
    assert api.post("/merchants/mer_nope/queues", {"name": "x"}).status == 404


# Queues


def test_a_queues_media_settings_are_kept_and_a_patch_replaces_them_whole(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    path = f"/merchants/{merchant_id}/queues/{queue_id}"
    uploads = {"greeting_prompt": None, "music_prompt": None}  # none uploaded: the defaults play
    media = {"answer": "early_media", "greeting": None, "announce_every_seconds": 45, **uploads}
    assert api.patch(path, {"media": media}, key=key).body["media"] == media
    assert api.get(path, key=key).body["media"] == media
    patched = api.patch(path, {"media": {"announce_every_seconds": 0}}, key=key).body["media"]
    assert patched == {
        "answer": "early_media",
        "greeting": "greeting",
        "announce_every_seconds": 0,
        **uploads,
    }
    answered = api.patch(path, {"media": {"answer": "200"}}, key=key).body["media"]
    assert answered["answer"] == "200" and api.get(path, key=key).body["media"]["answer"] == "200"


@pytest.mark.parametrize(
    ("media", "field"),
    [
        ({"answer": "ring"}, "media.answer"),
        ({"answer": "answer"}, "media.answer"),
        ({"answer": 200}, "media.answer"),  # the status as a string, as the enum names it
        ({"greeting": "../etc/passwd"}, "media.greeting"),
        ({"announce_every_seconds": 5}, "media.announce_every_seconds"),
        ({"announce_every_seconds": True}, "media.announce_every_seconds"),
        ({"volume": 3}, "media.volume"),
        ("loud", "media"),
    ],
)
def test_bad_queue_media_is_a_400_naming_the_field(api: Api, media: object, field: str) -> None:
    merchant_id, key = api.merchant()
    response = api.post(f"/merchants/{merchant_id}/queues", {"name": "Sales", "media": media}, key=key)
    assert response.status == 400
    assert response.body["error"]["field"] == field


def test_queue_defaults_update_and_delete(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    queue = api.get(f"/merchants/{merchant_id}/queues/{queue_id}", key=key).body
    assert queue == {
        "queue_id": queue_id,
        "name": "Support",
        "skills": [],
        "priority": 5,
        "strategy": "longest_idle",
        "max_wait_seconds": 300,
        "overflow": None,
        "wrap_up_seconds": 0,
        "media": {
            "answer": "early_media",
            "greeting": "greeting",
            "announce_every_seconds": 30,
            "greeting_prompt": None,
            "music_prompt": None,
        },
        "service_level_seconds": 20,
        "recording_percent": 0,
        "callback": None,
        "created_at": queue["created_at"],
    }
    other = api.queue(merchant_id, key, name="Overflow")
    patch = {
        "skills": [{"name": "Spanish", "min_proficiency": 3}],
        "strategy": "most_skilled",
        "overflow": {"type": "queue", "target": other},
    }
    updated = api.patch(f"/merchants/{merchant_id}/queues/{queue_id}", patch, key=key).body
    assert updated["skills"] == [{"name": "spanish", "min_proficiency": 3}]
    assert updated["overflow"] == {"type": "queue", "target": other} and updated["name"] == "Support"
    cleared = api.patch(f"/merchants/{merchant_id}/queues/{queue_id}", {"overflow": None}, key=key).body
    assert cleared["overflow"] is None
    assert api.delete(f"/merchants/{merchant_id}/queues/{queue_id}", key=key).status == 204
    assert api.get(f"/merchants/{merchant_id}/queues/{queue_id}", key=key).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "Q", "priority": 11}, "priority"),
        ({"name": "Q", "strategy": "random"}, "strategy"),
        ({"name": "Q", "skills": [{"name": "en", "min_proficiency": 6}]}, "skills[0].min_proficiency"),
        ({"name": "Q", "max_wait_seconds": 0}, "max_wait_seconds"),
        ({"name": "Q", "overflow": {"type": "elsewhere", "target": "x"}}, "overflow.type"),
    ],
)
def test_queue_validation_names_the_field(api: Api, body: dict[str, object], field: str) -> None:
    merchant_id, key = api.merchant()
    reply = api.post(f"/merchants/{merchant_id}/queues", body, key=key)
    assert (reply.status, reply.error["field"]) == (400, field)


def test_a_queues_callback_policy_is_kept_filled_with_defaults_and_cleared_by_null(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    path = f"/merchants/{merchant_id}/queues/{queue_id}"
    policy = {"digit": "#", "max_attempts": 5, "retry_seconds": 600}
    assert api.patch(path, {"callback": policy}, key=key).body["callback"] == policy
    assert api.get(path, key=key).body["callback"] == policy
    # A PATCH replaces the whole policy; what it leaves out takes the defaults.
    defaults = {"digit": "1", "max_attempts": 3, "retry_seconds": 120}
    assert api.patch(path, {"callback": {}}, key=key).body["callback"] == defaults
    assert api.patch(path, {"name": "Renamed"}, key=key).body["callback"] == defaults
    assert api.patch(path, {"callback": None}, key=key).body["callback"] is None
    assert api.get(path, key=key).body["callback"] is None
    created = api.post(f"/merchants/{merchant_id}/queues", {"name": "Q", "callback": {"digit": "9"}}, key=key)
    assert created.status == 201 and created.body["callback"]["digit"] == "9"


@pytest.mark.parametrize(
    ("callback", "field"),
    [
        ({"digit": "A"}, "callback.digit"),
        ({"digit": "12"}, "callback.digit"),
        ({"digit": 1}, "callback.digit"),
        ({"digit": ""}, "callback.digit"),
        ({"max_attempts": 0}, "callback.max_attempts"),
        ({"max_attempts": 11}, "callback.max_attempts"),
        ({"max_attempts": "3"}, "callback.max_attempts"),
        ({"max_attempts": True}, "callback.max_attempts"),
        ({"retry_seconds": 9}, "callback.retry_seconds"),
        ({"retry_seconds": 3601}, "callback.retry_seconds"),
        ({"retry_seconds": 120.5}, "callback.retry_seconds"),
        ({"attempts": 3}, "callback.attempts"),
        ("1", "callback"),
        ([], "callback"),
    ],
)
def test_a_bad_callback_policy_is_a_400_naming_the_field_and_changes_nothing(
    api: Api, callback: object, field: str
) -> None:
    merchant_id, key = api.merchant()
    created = api.post(f"/merchants/{merchant_id}/queues", {"name": "Q", "callback": callback}, key=key)
    assert (created.status, created.error["field"]) == (400, field)
    queue_id = api.queue(merchant_id, key)
    path = f"/merchants/{merchant_id}/queues/{queue_id}"
    patched = api.patch(path, {"callback": callback}, key=key)
    assert (patched.status, patched.error["field"]) == (400, field)
    assert api.get(path, key=key).body["callback"] is None


def test_queue_overflow_into_itself_or_a_missing_queue_is_refused(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    itself = api.patch(
        f"/merchants/{merchant_id}/queues/{queue_id}",
        {"overflow": {"type": "queue", "target": queue_id}},
        key=key,
    )
    assert (itself.status, itself.error["field"]) == (400, "overflow.target")
    missing = api.patch(
        f"/merchants/{merchant_id}/queues/{queue_id}",
        {"overflow": {"type": "queue", "target": "que_x"}},
        key=key,
    )
    assert missing.status == 404


# Numbers


def test_numbers_are_e164_and_unique_platform_wide(api: Api) -> None:
    a_id, a_key = api.merchant()
    b_id, b_key = api.merchant()
    a_queue, b_queue = api.queue(a_id, a_key), api.queue(b_id, b_key)
    bad = api.post(f"/merchants/{a_id}/numbers", {"number": "0415 555 0100", "queue_id": a_queue}, key=a_key)
    assert (bad.status, bad.error["field"]) == (400, "number")
    assert (
        api.post(
            f"/merchants/{a_id}/numbers", {"number": "+14155550100", "queue_id": a_queue}, key=a_key
        ).status
        == 201
    )
    taken = api.post(f"/merchants/{b_id}/numbers", {"number": "+14155550100", "queue_id": b_queue}, key=b_key)
    assert (taken.status, taken.error["code"]) == (409, "already_exists")
    foreign_queue = api.post(
        f"/merchants/{a_id}/numbers", {"number": "+14155550101", "queue_id": b_queue}, key=a_key
    )
    assert foreign_queue.status == 404
    assert [n["number"] for n in api.get(f"/merchants/{a_id}/numbers", key=a_key).body["items"]] == [
        "+14155550100"
    ]
    in_use = api.delete(f"/merchants/{a_id}/queues/{a_queue}", key=a_key)
    assert (in_use.status, in_use.error["code"]) == (409, "in_use")
    assert api.delete(f"/merchants/{a_id}/numbers/%2B14155550100", key=a_key).status == 204
    assert api.get(f"/merchants/{a_id}/numbers", key=a_key).body["items"] == []


# Seats and credentials


def test_seat_creation_returns_sip_credentials_stored_as_ha1_only(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    created = api.seat(merchant_id, key, skills=[{"name": "english", "proficiency": 4}], queue_ids=[queue_id])
    sip = created["sip"]
    assert (sip["domain"], sip["registrar"]) == (SIP_DOMAIN, SIP_REGISTRAR)
    assert created["state"] == "offline" and created["queue_ids"] == [queue_id]
    user = SipUserItems().get(sip["username"])
    assert user is not None
    ha1 = user.ha1.as_dict()
    assert ha1 == {
        "MD5": digest_ha1(sip["username"], SIP_DOMAIN, sip["password"], "MD5"),
        "SHA-256": digest_ha1(sip["username"], SIP_DOMAIN, sip["password"], "SHA-256"),
    }
    assert sip["password"] not in str(user.attribute_values)
    read = api.get(f"/merchants/{merchant_id}/seats/{created['seat_id']}", key=key).body
    assert "sip" not in read and "password" not in str(read)


def test_rotating_credentials_replaces_the_ha1(api: Api) -> None:
    merchant_id, key = api.merchant()
    created = api.seat(merchant_id, key)
    rotated = api.post(f"/merchants/{merchant_id}/seats/{created['seat_id']}/credentials", key=key)
    assert rotated.status == 201
    assert rotated.body["username"] == created["sip"]["username"]
    assert rotated.body["password"] != created["sip"]["password"]
    user = SipUserItems().get(created["sip"]["username"])
    assert user is not None
    assert user.ha1["MD5"] == digest_ha1(rotated.body["username"], SIP_DOMAIN, rotated.body["password"])


def test_seat_beyond_the_licences_is_402_with_figures(api: Api) -> None:
    merchant_id, key = api.merchant(licences=1)
    api.seat(merchant_id, key)
    reply = api.post(f"/merchants/{merchant_id}/seats", {"display_name": "Bob"}, key=key)
    assert reply.status == 402
    assert (reply.body["licensed"], reply.body["used"]) == (1, 1)
    assert reply.error["code"] == "seat_licenses_exhausted"


def test_deleting_a_seat_frees_its_licence(api: Api) -> None:
    merchant_id, key = api.merchant(licences=1)
    seat_id = api.seat(merchant_id, key)["seat_id"]
    assert api.delete(f"/merchants/{merchant_id}/seats/{seat_id}", key=key).status == 204
    assert api.get(f"/merchants/{merchant_id}", key=key).body["seats_used"] == 0
    api.seat(merchant_id, key)


def test_seat_update_and_validation(api: Api) -> None:
    merchant_id, key = api.merchant()
    seat_id = api.seat(merchant_id, key)["seat_id"]
    path = f"/merchants/{merchant_id}/seats/{seat_id}"
    bad = api.patch(path, {"skills": [{"name": "english", "proficiency": 9}]}, key=key)
    assert (bad.status, bad.error["field"]) == (400, "skills[0].proficiency")
    missing_queue = api.patch(path, {"queue_ids": ["que_missing"]}, key=key)
    assert missing_queue.status == 404
    updated = api.patch(
        path, {"display_name": "Ada L.", "skills": [{"name": "french", "proficiency": 2}]}, key=key
    )
    assert updated.body["display_name"] == "Ada L." and updated.body["skills"] == [
        {"name": "french", "proficiency": 2}
    ]
    assert api.get(path, key=key).body == updated.body


def test_ring_timeout_is_set_on_create_changed_by_patch_and_shown_everywhere(api: Api) -> None:
    merchant_id, key = api.merchant()
    # Given a seat created without a ring timeout and one created with 7 s,
    default = api.seat(merchant_id, key)
    quick = api.seat(merchant_id, key, display_name="Bob", ring_timeout_seconds=7)
    # then the first rings for the default and the second for what it asked, on every read.
    assert (default["ring_timeout_seconds"], quick["ring_timeout_seconds"]) == (20, 7)
    path = f"/merchants/{merchant_id}/seats/{quick['seat_id']}"
    assert api.get(path, key=key).body["ring_timeout_seconds"] == 7
    listed = api.get(f"/merchants/{merchant_id}/seats", key=key).body["items"]
    assert {item["seat_id"]: item["ring_timeout_seconds"] for item in listed} == {
        default["seat_id"]: 20,
        quick["seat_id"]: 7,
    }
    # When it is patched, the new value is stored; a patch without it leaves it alone.
    patched = api.patch(path, {"ring_timeout_seconds": 45}, key=key)
    assert (patched.status, patched.body["ring_timeout_seconds"]) == (200, 45)
    renamed = api.patch(path, {"display_name": "Bob B."}, key=key).body
    assert (renamed["display_name"], renamed["ring_timeout_seconds"]) == ("Bob B.", 45)
    assert api.get(path, key=key).body == renamed
    assert int(SeatItems().get(merchant_id, quick["seat_id"]).ring_timeout_seconds) == 45


@pytest.mark.parametrize("value", [4, 121, 0, True, "20", 20.5, None])
def test_a_bad_ring_timeout_is_400_naming_the_field_and_changes_nothing(api: Api, value: object) -> None:
    merchant_id, key = api.merchant()
    seat_id = api.seat(merchant_id, key, ring_timeout_seconds=30)["seat_id"]
    created = api.post(
        f"/merchants/{merchant_id}/seats", {"display_name": "Bob", "ring_timeout_seconds": value}, key=key
    )
    assert (created.status, created.error["code"], created.error["field"]) == (
        400,
        "validation_error",
        "ring_timeout_seconds",
    )
    assert "from 5 to 120" in created.error["message"]
    assert api.get(f"/merchants/{merchant_id}", key=key).body["seats_used"] == 1
    path = f"/merchants/{merchant_id}/seats/{seat_id}"
    if value is not None:  # a null in a PATCH means "leave it as it is"
        patched = api.patch(path, {"display_name": "Renamed", "ring_timeout_seconds": value}, key=key)
        assert (patched.status, patched.error["field"]) == (400, "ring_timeout_seconds")
    read = api.get(path, key=key).body
    assert (read["display_name"], read["ring_timeout_seconds"]) == ("Ada", 30)


@pytest.mark.parametrize("set_by", ["create", "patch"])
def test_the_router_rings_for_the_ring_timeout_set_over_the_api(api: Api, set_by: str) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    number = "+14155550177"
    assert (
        api.post(
            f"/merchants/{merchant_id}/numbers", {"number": number, "queue_id": queue_id}, key=key
        ).status
        == 201
    )
    # Given a seat whose ring timeout was set to 7 s over the API, on create or by a later patch,
    fields = {"ring_timeout_seconds": 7} if set_by == "create" else {}
    seat = api.seat(merchant_id, key, queue_ids=[queue_id], **fields)
    seat_path = f"/merchants/{merchant_id}/seats/{seat['seat_id']}"
    if set_by == "patch":
        assert api.patch(seat_path, {"ring_timeout_seconds": 7}, key=key).status == 200
    # and that is available with a registered phone,
    assert api.put(seat_path + "/state", {"state": "available"}, key=key).status == 200
    username = seat["sip"]["username"]
    aor, contact = f"sip:{username}@{SIP_DOMAIN}", f"sip:{username}@192.0.2.10:5062"
    BindingItems().write_batch([new_binding(aor, contact, int(time.time()) + 3600)], [])
    # when a call arrives for the queue's number,
    decision = bootstrap.services().routing.new_contact(
        number, "+4930123", "edge-1", "c-ring", time.time_ns() // 1_000_000
    )
    # then the edge is told to ring that seat for 7 s.
    assert isinstance(decision, Connect), decision
    assert (decision.seat_id, decision.ring_timeout_seconds) == (seat["seat_id"], 7)


def test_failed_seat_creation_leaves_nothing(api: Api) -> None:
    merchant_id, key = api.merchant(licences=2)
    reply = api.post(
        f"/merchants/{merchant_id}/seats", {"display_name": "Ada", "queue_ids": ["que_missing"]}, key=key
    )
    assert reply.status == 404
    assert api.get(f"/merchants/{merchant_id}", key=key).body["seats_used"] == 0
    assert api.get(f"/merchants/{merchant_id}/seats", key=key).body["items"] == []


# Agent state


def test_agent_state_follows_the_domain_state_machine(api: Api) -> None:
    merchant_id, key = api.merchant()
    seat_id = api.seat(merchant_id, key)["seat_id"]
    path = f"/merchants/{merchant_id}/seats/{seat_id}/state"
    # Choosing a state at the desk logs the agent in.
    available = api.put(path, {"state": "available"}, key=key)
    assert (available.status, available.body["state"]) == (200, "available")
    # While a call is being offered the agent cannot choose a state: 409 naming the current one.
    bootstrap.services().agent_state.change(merchant_id, seat_id, Reserve("c-1"))
    refused = api.put(path, {"state": "not_ready", "reason": "lunch"}, key=key)
    assert refused.status == 409
    assert (refused.error["code"], refused.error["current_state"]) == ("illegal_transition", "reserved")
    assert "reserved" in refused.error["message"]
    bootstrap.services().agent_state.change(merchant_id, seat_id, ReleaseReservation("c-1"))
    paused = api.put(path, {"state": "not_ready", "reason": "lunch"}, key=key).body
    assert (paused["state"], paused["reason"]) == ("not_ready", "lunch")
    assert api.get(path, key=key).body == paused
    assert SeatItems().get(merchant_id, seat_id).state == "not_ready"
    no_reason = api.put(path, {"state": "not_ready"}, key=key)
    assert (no_reason.status, no_reason.error["field"]) == (400, "reason")
    not_settable = api.put(path, {"state": "on_contact"}, key=key)
    assert (not_settable.status, not_settable.error["field"]) == (400, "state")


def test_queue_stats_count_agents_by_state(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    api.seat(merchant_id, key, queue_ids=[queue_id])
    api.seat(merchant_id, key)  # not in the queue
    stats = api.get(f"/merchants/{merchant_id}/queues/{queue_id}/stats", key=key).body
    assert stats["waiting"] == 0 and stats["oldest_wait_seconds"] == 0
    assert stats["agents"]["offline"] == 1 and sum(stats["agents"].values()) == 1
    assert (stats["offered"], stats["answered"], stats["abandoned"]) == (0, 0, 0)


# Trunks


def test_trunks_are_admin_only_and_normalised(api: Api) -> None:
    _, key = api.merchant()
    body = {"name": "Carrier One", "source_cidrs": ["203.0.113.7/24", "2001:db8::/32"]}
    assert api.post("/trunks", body, key=key).status == 403
    created = api.post("/trunks", body)
    assert created.status == 201 and created.body["source_cidrs"] == ["203.0.113.0/24", "2001:db8::/32"]
    bad = api.post("/trunks", {"name": "X", "source_cidrs": ["300.1.1.1/8"]})
    assert (bad.status, bad.error["field"]) == (400, "source_cidrs[0]")
    assert [t["name"] for t in api.get("/trunks").body["items"]] == ["Carrier One"]


# Pagination


def test_lists_paginate_with_limit_and_next_token(api: Api) -> None:
    merchant_id, key = api.merchant()
    created = {api.queue(merchant_id, key, name=f"Q{i}") for i in range(5)}
    seen: list[str] = []
    token: str | None = None
    while True:
        query = "?limit=2" + (f"&next_token={token}" if token else "")
        page = api.get(f"/merchants/{merchant_id}/queues{query}", key=key).body
        assert len(page["items"]) <= 2
        seen += [q["queue_id"] for q in page["items"]]
        token = page["next_token"]
        if not token:
            break
    assert sorted(seen) == sorted(created)


@pytest.mark.parametrize(
    ("query", "field"), [("limit=0", "limit"), ("limit=abc", "limit"), ("next_token=%25%25", "next_token")]
)
def test_bad_paging_parameters_are_400(api: Api, query: str, field: str) -> None:
    reply = api.get(f"/trunks?{query}")
    assert (reply.status, reply.error["field"]) == (400, field)


def test_a_token_from_another_listing_is_refused(api: Api) -> None:
    a_id, a_key = api.merchant()
    b_id, b_key = api.merchant()
    for i in range(3):
        api.queue(a_id, a_key, name=f"Q{i}")
    token = api.get(f"/merchants/{a_id}/queues?limit=1", key=a_key).body["next_token"]
    assert token
    reply = api.get(f"/merchants/{b_id}/queues?next_token={token}", key=b_key)
    assert (reply.status, reply.error["field"]) == (400, "next_token")


# Idempotency


def test_a_retried_post_returns_the_first_result_and_creates_nothing_twice(api: Api) -> None:
    merchant_id, key = api.merchant(licences=5)
    headers = {"Idempotency-Key": "seat-ada-1"}
    first = api.post(f"/merchants/{merchant_id}/seats", {"display_name": "Ada"}, key=key, headers=headers)
    retry = api.post(f"/merchants/{merchant_id}/seats", {"display_name": "Ada"}, key=key, headers=headers)
    assert first.status == retry.status == 201
    assert retry.body == first.body  # the same seat and the same (one-time) password
    assert (first.headers["Idempotent-Replayed"], retry.headers["Idempotent-Replayed"]) == ("false", "true")
    assert api.get(f"/merchants/{merchant_id}", key=key).body["seats_used"] == 1
    reused = api.post(f"/merchants/{merchant_id}/seats", {"display_name": "Bob"}, key=key, headers=headers)
    assert (reused.status, reused.error["code"]) == (409, "idempotency_key_reused")


def test_idempotent_merchant_signup(api: Api) -> None:
    body = {"name": "Acme", "seat_licenses": 1, "contact_email": "ops@acme.test"}
    first = api.post("/merchants", body, headers={"Idempotency-Key": "signup-1"})
    retry = api.post("/merchants", body, headers={"Idempotency-Key": "signup-1"})
    assert retry.body == first.body
    assert len(api.get("/merchants").body["items"]) == 1


def test_a_failed_first_request_does_not_block_its_retry(api: Api) -> None:
    merchant_id, key = api.merchant(licences=1)
    seat_id = api.seat(merchant_id, key)["seat_id"]
    headers = {"Idempotency-Key": "seat-2"}
    refused = api.post(f"/merchants/{merchant_id}/seats", {"display_name": "Bob"}, key=key, headers=headers)
    assert refused.status == 402
    api.delete(f"/merchants/{merchant_id}/seats/{seat_id}", key=key)
    retried = api.post(f"/merchants/{merchant_id}/seats", {"display_name": "Bob"}, key=key, headers=headers)
    assert retried.status == 201


def test_idempotency_keys_are_per_caller(api: Api) -> None:
    a_id, a_key = api.merchant()
    b_id, b_key = api.merchant()
    headers = {"Idempotency-Key": "same"}
    a = api.post(f"/merchants/{a_id}/queues", {"name": "Q"}, key=a_key, headers=headers)
    b = api.post(f"/merchants/{b_id}/queues", {"name": "Q"}, key=b_key, headers=headers)
    assert a.status == b.status == 201 and a.body["queue_id"] != b.body["queue_id"]


# Concurrency


def test_concurrent_seat_creation_stops_exactly_at_the_licence(
    api: Api, serialized_moto: SerializedMoto
) -> None:
    merchant_id, key = api.merchant(licences=5)
    # One app instance per thread, as Lambda runs one request per instance.
    apps = [load_api(f"switchboard_api_app_{i}").app for i in range(20)]
    barrier = threading.Barrier(20)

    def create(index: int) -> int:
        with Client(apps[index]) as client:
            barrier.wait()
            return (
                Api(client)
                .post(f"/merchants/{merchant_id}/seats", {"display_name": f"Agent {index}"}, key=key)
                .status
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(create, range(20)))

    assert sorted(statuses) == [201] * 5 + [402] * 15
    assert int(MerchantItems().get(merchant_id).seats_used) == 5
    assert len(SeatItems().all_for_merchant(merchant_id)) == 5


def test_one_app_serves_concurrent_requests_each_with_its_own_request(api: Api) -> None:
    # The local server is threaded and shares one app; each route must see its own request.
    merchant_id, key = api.merchant(licences=0)
    app = load_api().app
    names = [f"Queue {i}" for i in range(8)]

    def create(name: str) -> str:
        with Client(app) as client:
            return str(
                Api(client).post(f"/merchants/{merchant_id}/queues", {"name": name}, key=key).body["name"]
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(create, names)) == names
    assert ADMIN_KEY  # the admin key is never needed for a merchant's own work
