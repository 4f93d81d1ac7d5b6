"""Key builders: the only place that spells the key strings documented in ``schema``."""

from __future__ import annotations

import zlib

SEP = "#"


def merchant_pk(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}"


def merchant_id_of(pk: str) -> str:
    return pk.removeprefix("MERCHANT#")


MERCHANT_SK = "MERCHANT"
# The merchant's home region and epoch: an item of its own, apart from the profile, because global
# tables resolve conflicts per item and a profile edit in another region must never undo a move.
OWNERSHIP_SK = "OWNERSHIP"
# Every ownership item is listed under one index key: a takeover or failback reads the merchants'
# ownerships, not the whole table (a scan would grow with contact records and slow the failover).
OWNERSHIPS_INDEX_PK = "OWNERSHIPS"
MERCHANTS_INDEX_PK = "MERCHANTS"


def api_key_pk(secret_hash: str) -> str:
    return f"APIKEY#{secret_hash}"


API_KEY_SK = "APIKEY"


def merchant_keys_index_pk(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}#KEYS"


# A merchant's seats are spread over this many partitions: every call changes its seat's state three
# or four times in transactions (two units each), so one merchant at 280 new calls/s would write
# about 2,200 units a second into one partition, past its 1,000; sixteen take about 140 each.
# Listings read the sixteen in turn (``seat_partitions``).
SEAT_SHARDS = 16


def seat_pk(merchant_id: str, seat_id: str) -> str:
    """The partition of a seat: always the same one for one seat."""
    return f"MERCHANT#{merchant_id}#SEATS#{zlib.crc32(seat_id.encode()) % SEAT_SHARDS:02d}"


def seat_partitions(merchant_id: str) -> list[str]:
    """Every partition of a merchant's seats, in listing order."""
    return [f"MERCHANT#{merchant_id}#SEATS#{shard:02d}" for shard in range(SEAT_SHARDS)]


def seat_sk(seat_id: str) -> str:
    return f"SEAT#{seat_id}"


SEAT_SK_PREFIX = "SEAT#"


def available_index_sk(idle_since_ms: int, seat_id: str) -> str:
    # Zero-padded so that lexicographic order is numeric order: the index is longest-idle first.
    return f"{idle_since_ms:015d}#{seat_id}"


def legacy_available_index_pk(merchant_id: str) -> str:
    """The per-merchant index of AVAILABLE seats the router read before the per-queue one: a seat
    still keyed so became AVAILABLE before its queues' entries existed (``availability.relist``)."""
    return f"AVAILABLE#{merchant_id}"


def seat_queue_pk(merchant_id: str, seat_id: str) -> str:
    # Each seat's entries in a partition of their own: a state change writes them, and a merchant's
    # partition (its seats and queues) does not take those writes too.
    return f"SEATQUEUES#{merchant_id}#{seat_id}"


def seat_queue_sk(queue_id: str) -> str:
    return f"QUEUE#{queue_id}"


def queue_available_index_pk(merchant_id: str, queue_id: str) -> str:
    """One partition of the availability index per queue: who is free for it, longest idle first."""
    return f"AVAILABLE#{merchant_id}#{queue_id}"


def sip_user_pk(username: str) -> str:
    return f"SIPUSER#{username}"


SIP_USER_SK = "SIPUSER"


def queue_sk(queue_id: str) -> str:
    return f"QUEUE#{queue_id}"


QUEUE_SK_PREFIX = "QUEUE#"


def number_pk(number: str) -> str:
    return f"NUMBER#{number}"


NUMBER_SK = "NUMBER"


def merchant_numbers_index_pk(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}#NUMBERS"


def trunk_pk(trunk_id: str) -> str:
    return f"TRUNK#{trunk_id}"


TRUNK_SK = "TRUNK"
TRUNKS_INDEX_PK = "TRUNKS"


def merchant_trunks_index_pk(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}#TRUNKS"


def aor_pk(aor: str) -> str:
    return f"AOR#{aor}"


def binding_sk(binding_key: str) -> str:
    return f"BINDING#{binding_key}"


BINDING_SK_PREFIX = "BINDING#"


def flow_index_pk(edge_task_id: str) -> str:
    return f"FLOW#{edge_task_id}"


def contact_id_of(pk: str) -> str:
    return pk.removeprefix("CONTACT#")


def contact_pk(contact_id: str) -> str:
    return f"CONTACT#{contact_id}"


CONTACT_SK = "CONTACT"
RECORD_SK = "RECORD"


def queued_index_pk(queue_id: str) -> str:
    return f"QUEUED#{queue_id}"


# A queue's records of a day are indexed over this many partitions (by contact): every call's
# record is written into its queue's index, two units a call, 560 a second for one queue at 280
# calls/s in one partition. Readers query the four in turn.
INDEX_SHARDS = 4


def _index_shard(contact_id: str) -> int:
    return zlib.crc32(contact_id.encode()) % INDEX_SHARDS


def _sharded(prefix: str, contact_id: str) -> str:
    return f"{prefix}#{_index_shard(contact_id)}"


def _shards(prefix: str) -> list[str]:
    return [f"{prefix}#{shard}" for shard in range(INDEX_SHARDS)]


def edge_contacts_index_pk(edge_task_id: str, contact_id: str) -> str:
    # An edge task's contacts over INDEX_SHARDS partitions (by contact): every change of a contact it
    # holds rewrites the entry (projection ALL), about 8 write units a call, 2,240 a second for one
    # task at 280 calls/s; four partitions keep each under a quarter of its 1,000 units whatever the
    # fleet's size. Its readers (the task's safety-net poll every few seconds, a lost task's sweep)
    # query the four in turn.
    return _sharded(f"EDGE#{edge_task_id}", contact_id)


def edge_contacts_index_partitions(edge_task_id: str) -> list[str]:
    return _shards(f"EDGE#{edge_task_id}")


def edge_contacts_index_sk(state: str, contact_id: str) -> str:
    # State first, so an edge reads only its contacts in one state (the offers it must ring).
    return f"{state}#{contact_id}"


def records_index_pk(queue_id: str, day: str, contact_id: str) -> str:
    return _sharded(f"RECORDS#{queue_id}#{day}", contact_id)


def records_index_partitions(queue_id: str, day: str) -> list[str]:
    return _shards(f"RECORDS#{queue_id}#{day}")


def dialog_pk(dialog_key: str) -> str:
    return f"DIALOG#{dialog_key}"


DIALOG_SK = "DIALOG"


# A queue's daily counters are split over this many items, each its own partition: every contact of
# a queue bumps them in its creation and end transactions (two transactional writes, four units),
# so one queue at 280 new calls/s writes 1,120 units a second, past one partition's 1,000; sixteen
# partitions take 70 each. One item would also serialise those transactions (TransactionConflict).
# Readers sum the shards (one BatchGetItem).
QUEUE_STATS_SHARDS = 16
QUEUE_STATS_SK = "STATS"


def queue_stats_pk(queue_id: str, day: str, shard: int) -> str:
    return f"QUEUE#{queue_id}#STATS#{day}#{shard:02d}"


def queue_stats_shard(contact_id: str) -> int:
    """The counter shard a contact's counts go to: always the same one for one contact."""
    return zlib.crc32(contact_id.encode()) % QUEUE_STATS_SHARDS


def edge_pk(task_id: str) -> str:
    return f"EDGE#{task_id}"


EDGE_SK = "EDGE"
EDGES_INDEX_PK = "EDGES"


def idempotency_pk(scope: str, key: str) -> str:
    return f"IDEMPOTENCY#{scope}#{key}"


IDEMPOTENCY_SK = "IDEMPOTENCY"


def user_sk(user_id: str) -> str:
    """A person who signs in (supervisor, agent), in its merchant's partition beside its seats."""
    return f"USER#{user_id}"


USER_SK_PREFIX = "USER#"


def invite_pk(invite_hash: str) -> str:
    return f"INVITE#{invite_hash}"


INVITE_SK = "INVITE"


def sign_in_failures_pk(merchant_id: str, user_id: str) -> str:
    return f"SIGNIN#{merchant_id}#{user_id}"


def window_sk(window: int) -> str:
    return f"WINDOW#{window}"


def merchant_records_index_pk(merchant_id: str, day: str) -> str:
    """A merchant's contact records of one UTC day (by end), whatever their queue: the reports' index."""
    return f"RECORDS#{merchant_id}#{day}"


def record_index_sk(ended_at_ms: int, contact_id: str) -> str:
    return f"{ended_at_ms:015d}#{contact_id}"


def webhook_sk(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}"


WEBHOOK_SK_PREFIX = "WEBHOOK#"


def prompt_sk(name: str) -> str:
    return f"PROMPT#{name}"


PROMPT_SK_PREFIX = "PROMPT#"


def delivery_pk(merchant_id: str) -> str:
    return f"DELIVERIES#{merchant_id}"


def delivery_sk(delivery_id: str) -> str:
    return f"DELIVERY#{delivery_id}"


# Pending deliveries are few (only those whose first POST failed); one partition, read by the
# minute's retry, keyed by when each is due.
DELIVERIES_DUE_INDEX_PK = "DELIVERIES_DUE"


def failed_deliveries_index_pk(merchant_id: str) -> str:
    return f"DELIVERIES_FAILED#{merchant_id}"


def number_audit_pk(merchant_id: str) -> str:
    return f"NUMBERAUDIT#{merchant_id}"


def number_audit_sk(changed_at: int, audit_id: str) -> str:
    return f"{changed_at:013d}#{audit_id}"


# The agent desk: a merchant's desk settings, and the event socket's open connections.
DESK_SETTINGS_SK = "DESK"


def socket_connection_pk(connection_id: str) -> str:
    return f"SOCKET#{connection_id}"


def socket_topic_sk(topic: str) -> str:
    return f"TOPIC#{topic}"


def socket_listeners_index_pk(topic: str) -> str:
    return f"LISTENERS#{topic}"
