"""The table: its name, keys, indexes, TTL and stream — the one source of truth.

Stdlib only: the CDK app (which must not import runtime code) builds the deployed table from this
module, the local stack creates its tables from it, and the PynamoDB models in this package declare
their keys from it.

Switchboard keeps all state in ONE DynamoDB table (a global table in AWS). Every entity is an item
addressed by a string partition key ``pk`` and sort key ``sk``; two overloaded global secondary
indexes serve the listings and the sparse "who is waiting / who is free" indexes. One table means one
replication stream, one backup, one set of alarms, and transactions across entities (a seat and its
merchant's licence counter) stay within one table.

Key layout (``{x}`` is a value; ``-`` means the attribute is absent, which keeps an index sparse):

=================  ==========================  ==================  ===========================  =====================================
entity             pk                          sk                  gsi1pk / gsi1sk              gsi2pk / gsi2sk
=================  ==========================  ==================  ===========================  =====================================
merchant           MERCHANT#{mid}              MERCHANT            MERCHANTS / {created}#{mid}  -
api key            APIKEY#{sha256(secret)}     APIKEY              MERCHANT#{mid}#KEYS / {kid}  -
seat (agent)       MERCHANT#{mid}#SEATS#{nn}   SEAT#{sid}          -                            -
seat availability  SEATQUEUES#{mid}#{sid}      QUEUE#{qid}         AVAILABLE#{mid}#{qid} / {idle}#{sid}  (one per queue served, only while AVAILABLE)  -
sip user           SIPUSER#{username}          SIPUSER             -                            -
queue              MERCHANT#{mid}              QUEUE#{qid}         -                            -
phone number       NUMBER#{e164}               NUMBER              MERCHANT#{mid}#NUMBERS / {e164}  -
number audit       NUMBERAUDIT#{mid}           {changed}#{aid}     -                            -
sip trunk          TRUNK#{tid}                 TRUNK               TRUNKS / {name}#{tid}        MERCHANT#{mid}#TRUNKS / {name}#{tid}  (a merchant's own)
binding            AOR#{aor}                   BINDING#{key}       -                            FLOW#{edge task} / {aor}
contact            CONTACT#{cid}               CONTACT             QUEUED#{qid} / {prio}#{enqueued}#{cid}  (only while QUEUED)  EDGE#{task}#{0-3} / {state}#{cid}
dialog             DIALOG#{dialog key}         DIALOG              -                            -
contact record     CONTACT#{cid}               RECORD              RECORDS#{qid}#{yyyy-mm-dd}#{n} / {ended}#{cid}  RECORDS#{mid}#{yyyy-mm-dd} / {ended}#{cid}
queue counters     QUEUE#{qid}#STATS#{day}#{nn}  STATS             -                            -
edge task          EDGE#{task}                 EDGE                EDGES / {task}               -
media relay        RELAY#{instance}            RELAY               RELAYS#{region} / {instance}  -
idempotency        IDEMPOTENCY#{scope}#{key}   IDEMPOTENCY         -                            -
user (person)      MERCHANT#{mid}              USER#{uid}          -                            -
invite             INVITE#{sha256(token)}      INVITE              -                            -
sign-in failures   SIGNIN#{mid}#{uid}          WINDOW#{n}          -                            -
webhook            MERCHANT#{mid}              WEBHOOK#{wid}       -                            -
prompt (uploaded)  MERCHANT#{mid}              PROMPT#{name}       -                            -
webhook delivery   DELIVERIES#{mid}            DELIVERY#{did}      DELIVERIES_DUE / {due}#{did}  (only while pending)  DELIVERIES_FAILED#{mid} / {updated}#{did}  (only when failed)
desk settings      MERCHANT#{mid}              DESK                -                            -
socket connection  SOCKET#{connection id}      TOPIC#{topic}       LISTENERS#{topic} / {connection id}  (one per topic listened to)  -
=================  ==========================  ==================  ===========================  =====================================

The media relay items are written by each relay instance's agent, outside this package; their keys
and attributes are spelled by ``contact_center.contracts.media_relays``.

``expires_at`` (epoch seconds) is the TTL attribute: bindings, dialogs, edge and media relay heartbeats,
idempotency records, invites, sign-in failure counters, webhook deliveries and event socket
connections (two hours, API Gateway's longest) carry it. DynamoDB deletes expired items lazily (up to days later) and local
engines never do, so every read of an expiring item also filters on it.

A seat's availability entries (``availability``) make the "who is free" index one partition per
queue: the router reads the head of its queue's partition, whatever other queues' agents are free.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TABLE_NAME = "switchboard"
TABLE_NAME_ENV = "SWITCHBOARD_TABLE"

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str
    projection: str = "ALL"


@dataclass(frozen=True)
class TableSpec:
    partition_key: str
    sort_key: str
    indexes: tuple[IndexSpec, ...]
    ttl_attribute: str
    stream_view_type: str

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """Every attribute used in a key of the table or of an index (all strings)."""
        names = [self.partition_key, self.sort_key]
        for index in self.indexes:
            names += [index.partition_key, index.sort_key]
        return tuple(names)

    def create_table_kwargs(self, table_name: str) -> dict[str, object]:
        """Arguments for boto3 ``create_table`` (the local stack and the tests)."""
        return {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in self.key_attributes],
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": index.projection},
                }
                for index in self.indexes
            ],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": self.stream_view_type},
        }


GSI1 = IndexSpec(name="gsi1", partition_key="gsi1pk", sort_key="gsi1sk")
GSI2 = IndexSpec(name="gsi2", partition_key="gsi2pk", sort_key="gsi2sk")

TABLE = TableSpec(
    partition_key=PARTITION_KEY,
    sort_key=SORT_KEY,
    indexes=(GSI1, GSI2),
    ttl_attribute=TTL_ATTRIBUTE,
    stream_view_type=STREAM_VIEW_TYPE,
)
