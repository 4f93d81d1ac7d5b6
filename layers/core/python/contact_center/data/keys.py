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
MERCHANTS_INDEX_PK = "MERCHANTS"


def api_key_pk(secret_hash: str) -> str:
    return f"APIKEY#{secret_hash}"


API_KEY_SK = "APIKEY"


def merchant_keys_index_pk(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}#KEYS"


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


def edge_contacts_index_pk(edge_task_id: str) -> str:
    return f"EDGE#{edge_task_id}"


def edge_contacts_index_sk(state: str, contact_id: str) -> str:
    # State first, so an edge reads only its contacts in one state (the offers it must ring).
    return f"{state}#{contact_id}"


def records_index_pk(queue_id: str, day: str) -> str:
    return f"RECORDS#{queue_id}#{day}"


def dialog_pk(dialog_key: str) -> str:
    return f"DIALOG#{dialog_key}"


DIALOG_SK = "DIALOG"


def queue_stats_pk(queue_id: str) -> str:
    return f"QUEUE#{queue_id}"


# A queue's daily counters are split over this many items: every contact of a queue bumps them in
# its creation and end transactions, and transactions touching one item at once cancel each other
# (TransactionConflict). Readers sum the shards (one Query).
QUEUE_STATS_SHARDS = 16


def queue_stats_day_prefix(day: str) -> str:
    return f"STATS#{day}#"


def queue_stats_sk(day: str, contact_id: str) -> str:
    """The counter shard a contact's counts go to: always the same one for one contact."""
    shard = zlib.crc32(contact_id.encode()) % QUEUE_STATS_SHARDS
    return f"{queue_stats_day_prefix(day)}{shard:02d}"


def edge_pk(task_id: str) -> str:
    return f"EDGE#{task_id}"


EDGE_SK = "EDGE"
EDGES_INDEX_PK = "EDGES"


def idempotency_pk(scope: str, key: str) -> str:
    return f"IDEMPOTENCY#{scope}#{key}"


IDEMPOTENCY_SK = "IDEMPOTENCY"


def number_audit_pk(merchant_id: str) -> str:
    return f"NUMBERAUDIT#{merchant_id}"


def number_audit_sk(changed_at: int, audit_id: str) -> str:
    return f"{changed_at:013d}#{audit_id}"
