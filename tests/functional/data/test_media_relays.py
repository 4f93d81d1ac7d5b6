"""The relay registry's contract: what a relay's agent writes (boto3, names from its configuration)
is what the edge reads (the data layer), and only the edge's own region's relays are listed."""

from __future__ import annotations

import boto3

from contact_center.domain.media_relays import RelayBeat, live_relays
from media_relay.agent import relay_item
from sip_edge.app.adapters.tables import TableRelaySource
from switchboard_infra.relay_agent import agent_config

NOW = 1_790_000_000


def beat(
    table: str,
    region: str,
    relay_id: str,
    ng: str,
    *,
    at: int = NOW,
    draining: bool = False,
    agent: str | None = None,
) -> None:
    item = relay_item(
        agent_config(
            table, region, prompts_bucket="prompts", recordings_bucket="recordings", recordings_kms_key="key"
        ),
        relay_id=relay_id,
        ng_address=ng,
        public_address="203.0.113.9",
        now=at,
        sessions=4,
        draining=draining,
        agent_address=agent,
    )
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName=table, Item=item)


def test_the_edge_reads_what_the_agent_writes(moto_table: str) -> None:
    beat(moto_table, "us-east-1", "i-a", "10.0.1.5:2223", agent="10.0.1.5:2226")
    beat(moto_table, "us-east-1", "i-b", "10.0.2.7:2223", at=NOW - 60, draining=True)
    beats = TableRelaySource("us-east-1").beats()
    assert sorted(beats, key=lambda b: b.relay_id) == [
        RelayBeat(
            "i-a", ("10.0.1.5", 2223), "203.0.113.9", NOW, sessions=4, agent_address=("10.0.1.5", 2226)
        ),
        RelayBeat("i-b", ("10.0.2.7", 2223), "203.0.113.9", NOW - 60, sessions=4, draining=True),
    ]
    assert [b.relay_id for b in live_relays(beats, NOW, 15)] == ["i-a"]


def test_another_regions_relays_replicated_into_this_table_are_not_listed(moto_table: str) -> None:
    beat(moto_table, "us-east-1", "i-a", "10.0.1.5:2223")
    beat(moto_table, "us-west-2", "i-w", "10.1.1.5:2223")
    assert [b.relay_id for b in TableRelaySource("us-east-1").beats()] == ["i-a"]
    assert [b.relay_id for b in TableRelaySource("us-west-2").beats()] == ["i-w"]


def test_a_relay_item_with_a_bad_ng_address_is_skipped(moto_table: str) -> None:
    beat(moto_table, "us-east-1", "i-a", "10.0.1.5")
    beat(moto_table, "us-east-1", "i-b", "10.0.2.7:2223")
    assert [b.relay_id for b in TableRelaySource("us-east-1").beats()] == ["i-b"]


def test_a_bad_agent_address_leaves_the_relay_listed_without_an_agent(moto_table: str) -> None:
    beat(moto_table, "us-east-1", "i-a", "10.0.1.5:2223", agent="10.0.1.5")
    (listed,) = TableRelaySource("us-east-1").beats()
    assert listed.relay_id == "i-a" and listed.agent_address is None
