"""Repository contract: the same assertions against moto and against AWS DynamoDB Local."""

from __future__ import annotations

from typing import Any

import pytest

from contact_center.data import keys
from contact_center.data.availability import available_for_queue
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.data.catalog import NumberItems, QueueItems, TrunkItems
from contact_center.data.contact_seats import ContactSeatItems
from contact_center.data.contacts import ContactItems, utc_day
from contact_center.data.merchants import ApiKeyItems, MerchantItems, new_api_key, new_merchant
from contact_center.data.models import (
    ContactItem,
    MerchantItem,
    NumberItem,
    QueueItem,
    QueueStatsItem,
    RecordItem,
    TrunkItem,
)
from contact_center.data.seat_state import SeatState
from contact_center.data.seats import SeatItems, new_seat, new_sip_user
from contact_center.data.sessions import DialogItems, IdempotencyItems, dialog_item
from contact_center.domain.errors import LicenceBelowUsageError, SeatLicenceExhaustedError
from contact_center.services import errors

pytestmark = pytest.mark.usefixtures("any_table")

NOW_MS = 1_790_000_000_000
NOW = NOW_MS // 1000


def make_merchant(mid: str = "m1", licences: int = 2) -> None:
    MerchantItems().create(
        new_merchant(mid, "Acme", "ops@acme.test", licences, NOW_MS),
        new_api_key(f"hash-{mid}", f"key-{mid}", mid, "sk_live_ab", NOW_MS),
    )


def make_seat(sid: str, mid: str = "m1", username: str | None = None) -> None:
    SeatItems().create(
        new_seat(mid, sid, f"Agent {sid}", username or f"u-{sid}", {"english": 3}, {"q1": 1}, NOW_MS),
        new_sip_user(username or f"u-{sid}", mid, sid, "sip.test", {"MD5": "x", "SHA-256": "y"}),
    )


def go_available(sid: str, idle_since: int, mid: str = "m1") -> None:
    seat = SeatItems().get(mid, sid)
    SeatItems().save_state(
        mid,
        sid,
        int(seat.version),
        SeatState(
            state="available", version=int(seat.version) + 1, state_since=idle_since, idle_since=idle_since
        ),
    )


def test_merchant_and_first_key_are_created_together() -> None:
    make_merchant()
    assert MerchantItems().get("m1").seat_licenses == 2
    key = ApiKeyItems().find_by_hash("hash-m1")
    assert key is not None and key.merchant_id == "m1"


def test_duplicate_merchant_is_rejected_and_writes_nothing() -> None:
    make_merchant()
    with pytest.raises(errors.AlreadyExistsError):
        MerchantItems().create(
            new_merchant("m1", "Other", "x@y.test", 9, NOW_MS),
            new_api_key("hash-other", "k2", "m1", "p", NOW_MS),
        )
    assert ApiKeyItems().find_by_hash("hash-other") is None  # the transaction rolled back
    assert MerchantItems().get("m1").name == "Acme"


def test_seat_creation_stops_at_the_licence_with_figures() -> None:
    make_merchant(licences=2)
    make_seat("s1")
    make_seat("s2")
    with pytest.raises(SeatLicenceExhaustedError) as caught:
        make_seat("s3")
    assert (caught.value.licensed, caught.value.used) == (2, 2)
    assert MerchantItems().get("m1").seats_used == 2
    assert [s.seat_id for s in SeatItems().all_for_merchant("m1")] == ["s1", "s2"]


def test_taken_sip_username_rolls_back_the_licence() -> None:
    make_merchant(licences=5)
    make_seat("s1", username="alice")
    with pytest.raises(errors.AlreadyExistsError):
        make_seat("s2", username="alice")
    assert MerchantItems().get("m1").seats_used == 1
    with pytest.raises(errors.NotFoundError):
        SeatItems().get("m1", "s2")


def test_licences_cannot_drop_below_seats_in_use() -> None:
    make_merchant(licences=3)
    make_seat("s1")
    make_seat("s2")
    with pytest.raises(LicenceBelowUsageError) as caught:
        MerchantItems().set_seat_licenses("m1", 1)
    assert caught.value.to_remove == 1
    assert MerchantItems().set_seat_licenses("m1", 2) is not None
    assert MerchantItems().get("m1").seat_licenses == 2


def test_deleting_a_seat_frees_its_licence_and_username() -> None:
    make_merchant(licences=1)
    make_seat("s1", username="alice")
    SeatItems().delete("m1", "s1")
    assert MerchantItems().get("m1").seats_used == 0
    make_seat("s2", username="alice")  # both the licence and the username are free again


def test_seat_state_writes_need_the_version_they_read() -> None:
    make_merchant()
    make_seat("s1")
    go_available("s1", NOW_MS)
    with pytest.raises(errors.ConcurrentUpdateError):
        SeatItems().save_state("m1", "s1", 1, SeatState(state="not_ready", version=2, state_since=NOW_MS))
    assert SeatItems().get("m1", "s1").state == "available"


def test_the_queue_availability_index_lists_longest_idle_first_and_only_available() -> None:
    make_merchant(licences=3)
    for sid in ("s1", "s2", "s3"):
        make_seat(sid)
    go_available("s1", NOW_MS + 300)
    go_available("s2", NOW_MS + 100)
    go_available("s3", NOW_MS + 200)
    seat = SeatItems().get("m1", "s3")
    SeatItems().save_state(
        "m1",
        "s3",
        int(seat.version),
        SeatState(state="not_ready", version=int(seat.version) + 1, state_since=NOW_MS),
    )
    assert [s.seat_id for s in available_for_queue("m1", "q1", None)] == ["s2", "s1"]


def test_a_profile_change_of_an_available_seat_moves_it_between_queue_indexes() -> None:
    make_merchant(licences=2)
    make_seat("s1")
    go_available("s1", NOW_MS + 100)
    version = int(SeatItems().get("m1", "s1").version)

    SeatItems().update_profile("m1", "s1", {"queues": {"q2": 1}, "skills": {"billing": 4}})

    assert available_for_queue("m1", "q1", None) == []
    (entry,) = available_for_queue("m1", "q2", None)
    assert (entry.seat_id, dict(entry.skills.as_dict()), int(entry.idle_since)) == (
        "s1",
        {"billing": 4},
        NOW_MS + 100,
    )
    # The version moved with the profile: a state change computed before it no longer writes.
    assert int(SeatItems().get("m1", "s1").version) == int(entry.version) == version + 1
    with pytest.raises(errors.ConcurrentUpdateError):
        SeatItems().save_state(
            "m1", "s1", version, SeatState(state="not_ready", version=version + 1, state_since=NOW_MS)
        )
    assert [e.seat_id for e in available_for_queue("m1", "q2", None)] == ["s1"]


def test_a_profile_change_of_a_seat_not_available_lists_it_nowhere() -> None:
    make_merchant(licences=1)
    make_seat("s1")
    SeatItems().update_profile("m1", "s1", {"queues": {"q2": 1}})
    assert available_for_queue("m1", "q2", None) == [] and available_for_queue("m1", "q1", None) == []
    go_available("s1", NOW_MS)
    assert [e.seat_id for e in available_for_queue("m1", "q2", None)] == ["s1"]


def test_deleting_an_available_seat_takes_it_out_of_its_queue_indexes() -> None:
    make_merchant(licences=1)
    make_seat("s1")
    go_available("s1", NOW_MS)
    SeatItems().delete("m1", "s1")
    assert available_for_queue("m1", "q1", None) == []


def test_numbers_are_unique_platform_wide_and_need_their_queue() -> None:
    make_merchant("m1")
    make_merchant("m2")
    QueueItems().create(QueueItem(merchant_id="m1", queue_id="q1", name="Sales", created_at=NOW_MS))
    NumberItems().create(
        NumberItem(number="+14155550100", merchant_id="m1", queue_id="q1", created_at=NOW_MS)
    )
    with pytest.raises(errors.AlreadyExistsError):
        NumberItems().create(
            NumberItem(number="+14155550100", merchant_id="m2", queue_id="q1", created_at=NOW_MS)
        )
    with pytest.raises(errors.NotFoundError):
        NumberItems().create(
            NumberItem(number="+14155550101", merchant_id="m1", queue_id="missing", created_at=NOW_MS)
        )
    assert NumberItems().get("+14155550101") is None
    assert [n.number for n in NumberItems().all_for_merchant("m1")] == ["+14155550100"]
    with pytest.raises(errors.NotFoundError):
        NumberItems().delete("m2", "+14155550100")  # not m2's number
    with pytest.raises(errors.InUseError):
        QueueItems().delete("m1", "q1")


def test_lists_paginate_with_tokens() -> None:
    for i in range(5):
        TrunkItems().create(
            TrunkItem(trunk_id=f"t{i}", name=f"carrier{i}", source_cidrs=["127.0.0.0/8"], created_at=NOW_MS)
        )
    first = TrunkItems().page(limit=2)
    assert len(first.items) == 2 and first.next_token
    seen = [t.trunk_id for t in first.items]
    token = first.next_token
    while token:
        page = TrunkItems().page(limit=2, next_token=token)
        seen += [t.trunk_id for t in page.items]
        token = page.next_token
    assert seen == [f"t{i}" for i in range(5)]


def test_a_merchants_seats_are_spread_over_partitions_and_listed_whole_across_them() -> None:
    # Given 40 seats of one merchant (and one of another)
    make_merchant("m1", licences=40)
    make_merchant("m2", licences=1)
    for i in range(40):
        make_seat(f"s{i:02d}")
    make_seat("other", mid="m2")
    # Then they lie in several partitions, none of them the merchant's own
    partitions = {keys.seat_pk("m1", f"s{i:02d}") for i in range(40)}
    assert len(partitions) > 8 and keys.merchant_pk("m1") not in partitions
    # And pages of 7 list every seat once, across the partitions, then stop
    seen: list[str] = []
    token: str | None = None
    for _ in range(20):
        page = SeatItems().page("m1", 7, token)
        assert len(page.items) <= 7
        seen += [seat.seat_id for seat in page.items]
        token = page.next_token
        if token is None:
            break
    assert sorted(seen) == [f"s{i:02d}" for i in range(40)] and len(seen) == 40
    assert sorted(s.seat_id for s in SeatItems().all_for_merchant("m1")) == sorted(seen)


def test_bindings_filter_expired_contacts() -> None:
    repo = BindingItems()
    repo.write_batch(
        [
            new_binding("sip:alice@sip.test", "sip:alice@10.0.0.1:5060", NOW + 60, flow_owner="edge-a"),
            new_binding("sip:alice@sip.test", "sip:alice@10.0.0.2:5060", NOW - 1, flow_owner="edge-a"),
        ],
        [],
    )
    assert [b.contact_uri for b in repo.current("sip:alice@sip.test", NOW)] == ["sip:alice@10.0.0.1:5060"]
    assert [b.aor for b in repo.owned_by("edge-a", NOW)] == ["sip:alice@sip.test"]
    from contact_center.data.bindings import binding_key

    repo.write_batch([], [("sip:alice@sip.test", binding_key("sip:alice@10.0.0.1:5060"))])
    assert repo.current("sip:alice@sip.test", NOW) == []


def _queued_contact(cid: str, priority: int, at: int) -> None:
    repo = ContactSeatItems()
    repo.create(ContactItem(contact_id=cid, state="initiated", created_at=at, version=1))
    repo.enqueue(cid, 1, "q1", priority, at)


def test_queue_heads_are_ordered_by_priority_then_age() -> None:
    _queued_contact("c-old-low", 5, NOW_MS)
    _queued_contact("c-new-urgent", 1, NOW_MS + 50)
    _queued_contact("c-new-low", 5, NOW_MS + 10)
    assert [c.contact_id for c in ContactItems().waiting("q1")] == [
        "c-new-urgent",
        "c-old-low",
        "c-new-low",
    ]


def test_offer_reserves_one_seat_for_one_contact_only() -> None:
    make_merchant()
    make_seat("s1")
    go_available("s1", NOW_MS)
    _queued_contact("c1", 5, NOW_MS)
    _queued_contact("c2", 5, NOW_MS + 1)
    repo = ContactSeatItems()
    seat = SeatItems().get("m1", "s1")
    reserved = SeatState("reserved", int(seat.version) + 1, NOW_MS, contact_id="c1")
    repo.offer(repo.get("c1"), seat, reserved, NOW_MS)
    # A second contact racing for the same (stale) seat snapshot loses, and stays queued.
    with pytest.raises(errors.ConcurrentUpdateError):
        repo.offer(
            repo.get("c2"),
            seat,
            SeatState("reserved", int(seat.version) + 1, NOW_MS, contact_id="c2"),
            NOW_MS,
        )
    assert repo.get("c2").state == "queued"
    assert [c.contact_id for c in repo.waiting("q1")] == ["c2"]
    assert SeatItems().get("m1", "s1").contact_id == "c1"
    assert available_for_queue("m1", "q1", None) == []


def test_ending_a_contact_writes_one_record_and_counts_it() -> None:
    _queued_contact("c1", 5, NOW_MS)
    repo = ContactSeatItems()
    live = repo.get("c1")
    record = RecordItem(
        contact_id="c1",
        queue_id="q1",
        created_at=NOW_MS,
        ended_at=NOW_MS + 5000,
        hangup_side="caller",
        hangup_cause="abandoned",
    )
    repo.end(live, record, "abandoned")
    assert repo.record("c1").hangup_cause == "abandoned"
    with pytest.raises(errors.NotFoundError):
        repo.get("c1")
    stats = repo.stats("q1", utc_day(NOW_MS + 5000))
    assert stats is not None and stats.abandoned == 1
    with pytest.raises(errors.ConcurrentUpdateError):
        repo.end(live, RecordItem(contact_id="c1", created_at=NOW_MS, ended_at=NOW_MS + 6000), "abandoned")
    assert [r.contact_id for r in repo.records_for_queue("q1", utc_day(NOW_MS + 5000))] == ["c1"]


def test_queue_counters_are_sharded_and_summed_by_the_reader() -> None:
    repo = ContactSeatItems()
    for index in range(24):
        repo.create(
            ContactItem(
                contact_id=f"s{index}",
                state="queued",
                queue_id="q1",
                priority=5,
                enqueued_at=NOW_MS + index,
                created_at=NOW_MS + index,
                version=1,
            )
        )
    for index in range(10):
        live = repo.get(f"s{index}")
        record = RecordItem(contact_id=f"s{index}", queue_id="q1", created_at=NOW_MS, ended_at=NOW_MS + 9000)
        repo.end(live, record, "answered")
    day = utc_day(NOW_MS)
    shards = list(
        QueueStatsItem.batch_get(
            [(keys.queue_stats_pk("q1", day, n), keys.QUEUE_STATS_SK) for n in range(keys.QUEUE_STATS_SHARDS)]
        )
    )
    # Concurrent contacts of one queue mostly bump different items, each in a partition of its own
    # (no transaction conflicts, no partition taking every count of a busy queue).
    assert len(shards) > 4 and len({shard.pk for shard in shards}) == len(shards)
    stats = repo.stats("q1", day)
    assert stats is not None and (stats.offered, stats.answered, stats.abandoned) == (24, 10, 0)
    assert repo.stats("q1", "1999-01-01") is None


def test_dialogs_and_idempotency_records_expire() -> None:
    dialogs = DialogItems()
    dialogs.save(
        dialog_item(
            "d1",
            contact_id="c1",
            owner="edge-a",
            state="confirmed",
            legs={"a": {"call_id": "x"}},
            now=NOW,
            ttl_seconds=10,
        )
    )
    found = dialogs.get("d1", NOW + 5)
    assert found is not None and found.legs["a"]["call_id"] == "x"
    assert dialogs.get("d1", NOW + 11) is None
    idem = IdempotencyItems()
    assert idem.claim("m1:POST /x", "key-1", "h", NOW) is True
    assert idem.claim("m1:POST /x", "key-1", "h", NOW) is False
    idem.complete("m1:POST /x", "key-1", 201, '{"ok": true}')
    record = idem.get("m1:POST /x", "key-1", NOW + 1)
    assert record is not None and record.status_code == 201
    assert idem.get("m1:POST /x", "key-1", NOW + 86401) is None


def test_merchant_listing_uses_the_index() -> None:
    make_merchant("m1")
    make_merchant("m2")
    page = MerchantItems().page(limit=10, next_token=None)
    assert {m.merchant_id for m in page.items} == {"m1", "m2"}
    assert all(isinstance(m, MerchantItem) for m in page.items)


def test_a_profile_change_racing_the_seat_turning_available_leaves_no_entry_in_a_queue_it_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_merchant(licences=1)
    make_seat("s1")  # serving q1, not available
    real_get = SeatItems.get
    reads: list[int] = []

    def get_then_the_agent_goes_available(
        self: SeatItems, mid: str, sid: str, consistent: bool = True
    ) -> Any:
        item = real_get(self, mid, sid, consistent)
        reads.append(1)
        if len(reads) == 1:  # between the profile update's read and its write
            go_available("s1", NOW_MS)
        return item

    monkeypatch.setattr(SeatItems, "get", get_then_the_agent_goes_available)
    SeatItems().update_profile("m1", "s1", {"queues": {"q2": 1}})
    monkeypatch.undo()

    assert available_for_queue("m1", "q1", None) == []
    assert [e.seat_id for e in available_for_queue("m1", "q2", None)] == ["s1"]
