"""Recording over HTTP: a queue's recording percent (validated, stored, shown), and the link to a
recorded call's file (404 until there is one; a supervisor's within its queues)."""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from pathlib import Path

import pytest

from contact_center import bootstrap
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome
from tests.functional.api.conftest import SIP_DOMAIN, Api, api_settings

NUMBER = "+14155550111"
LINK_BASE = "http://127.0.0.1:8080/recordings"


@pytest.fixture
def settings(tmp_path: Path) -> bootstrap.Settings:
    return dataclasses.replace(
        api_settings(), recordings_dir=str(tmp_path / "recordings"), recordings_link_base=LINK_BASE
    )


@pytest.mark.parametrize("percent", [-1, 101, "50", 12.5, None])
def test_a_recording_percent_outside_0_to_100_is_a_400_naming_the_field(api: Api, percent: object) -> None:
    merchant_id, key = api.merchant()
    reply = api.post(
        f"/merchants/{merchant_id}/queues", {"name": "Sales", "recording_percent": percent}, key=key
    )
    assert (reply.status, reply.error["field"]) == (400, "recording_percent"), reply.body
    queue_id = api.queue(merchant_id, key)
    patched = api.patch(
        f"/merchants/{merchant_id}/queues/{queue_id}", {"recording_percent": percent}, key=key
    )
    assert (patched.status, patched.error["field"]) == (400, "recording_percent")


def test_a_queue_records_nothing_until_its_percent_is_set(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    path = f"/merchants/{merchant_id}/queues/{queue_id}"
    assert api.get(path, key=key).body["recording_percent"] == 0
    assert api.patch(path, {"recording_percent": 25}, key=key).body["recording_percent"] == 25
    assert api.get(path, key=key).body["recording_percent"] == 25
    assert api.patch(path, {"name": "Renamed"}, key=key).body["recording_percent"] == 25


def _recorded_call(api: Api, percent: int) -> tuple[str, str, str]:
    """A call answered in a queue recording ``percent``; (merchant id, its key, the queue id)."""
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key, recording_percent=percent)
    number = api.post(f"/merchants/{merchant_id}/numbers", {"number": NUMBER, "queue_id": queue_id}, key=key)
    assert number.status == 201
    seat = api.seat(merchant_id, key, queue_ids=[queue_id])
    username = seat["sip"]["username"]
    BindingItems().write_batch(
        [
            new_binding(
                f"sip:{username}@{SIP_DOMAIN}", f"sip:{username}@192.0.2.10:5062", int(time.time()) + 3600
            )
        ],
        [],
    )
    state = api.put(
        f"/merchants/{merchant_id}/seats/{seat['seat_id']}/state", {"state": "available"}, key=key
    )
    assert state.status == 200
    routing = bootstrap.services().routing
    now = time.time_ns() // 1_000_000 - 600_000  # ended in the past: the listing reads up to now
    decision = routing.new_contact(NUMBER, "+4930222", "edge-1", "c-talk", now)
    assert isinstance(decision, Connect)
    assert decision.recording_key == (f"{merchant_id}/c-talk.wav" if percent == 100 else None)
    routing.offer_result("c-talk", seat["seat_id"], OfferOutcome.ANSWERED, now + 2000)
    routing.contact_ended("c-talk", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, now + 32_000)
    return merchant_id, key, queue_id


def test_a_recorded_call_is_linked_once_its_file_is_stored(api: Api, tmp_path: Path) -> None:
    merchant_id, key, _ = _recorded_call(api, 100)
    path = f"/merchants/{merchant_id}/contacts/c-talk/recording"
    # The record names the recording at once; the file comes a moment after the hang-up.
    listed = api.get(f"/merchants/{merchant_id}/contacts", key=key).body["items"]
    assert [r["recording_key"] for r in listed] == [f"{merchant_id}/c-talk.wav"]
    assert (api.get(path, key=key).status, api.get(path, key=key).error["code"]) == (404, "not_found")

    wav = tmp_path / "call.wav"
    wav.write_bytes(b"RIFF....WAVE")
    store = bootstrap.services().recording_store
    assert store is not None
    store.put(f"{merchant_id}/c-talk.wav", wav)
    reply = api.get(path, key=key)
    assert reply.status == 200, reply.body
    link = urllib.parse.urlsplit(reply.body["url"])
    assert reply.body["url"].startswith(f"{LINK_BASE}/{merchant_id}/c-talk.wav?")
    assert urllib.parse.parse_qs(link.query)["expires"] == [str(reply.body["expires_at"])]
    assert 0 < reply.body["expires_at"] - time.time() <= 300


def test_a_call_its_queue_does_not_record_has_no_recording(api: Api) -> None:
    merchant_id, key, _ = _recorded_call(api, 0)
    listed = api.get(f"/merchants/{merchant_id}/contacts", key=key).body["items"]
    assert [r["recording_key"] for r in listed] == [None]
    reply = api.get(f"/merchants/{merchant_id}/contacts/c-talk/recording", key=key)
    assert (reply.status, reply.error["code"]) == (404, "not_found")


def test_an_unknown_contact_has_no_recording(api: Api) -> None:
    merchant_id, key = api.merchant()
    assert api.get(f"/merchants/{merchant_id}/contacts/c-none/recording", key=key).status == 404
