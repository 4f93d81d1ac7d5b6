"""The indexes one busy key would make hot are spread over partitions by contact (`data/keys.py`):
every write lands in one of the listed partitions, and the listed partitions are all used."""

from __future__ import annotations

from contact_center.data import keys


def test_an_edge_task_s_contacts_are_spread_over_every_one_of_its_index_partitions() -> None:
    partitions = keys.edge_contacts_index_partitions("edge-1")
    written = {keys.edge_contacts_index_pk("edge-1", f"contact-{n}") for n in range(200)}
    assert written == set(partitions)
    assert len(partitions) == keys.INDEX_SHARDS > 1
    # Another task's contacts never share its partitions.
    assert not written & set(keys.edge_contacts_index_partitions("edge-10"))


def test_a_queue_s_records_are_spread_over_every_one_of_its_index_partitions() -> None:
    partitions = keys.records_index_partitions("q1", "2026-12-07")
    written = {keys.records_index_pk("q1", "2026-12-07", f"contact-{n}") for n in range(200)}
    assert written == set(partitions)
