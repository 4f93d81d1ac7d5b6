"""The counting proxy's injected faults (``/__faults``): which requests they touch, and for how long."""

from __future__ import annotations

import time

from tests.support.bench import bench_module

bench_module("partition_units.py", "partition_units")  # the proxy imports it by that name
counter = bench_module("dynamodb_counter.py", "dynamodb_counter")


def test_faults_touch_the_table_s_named_operations_only_and_end_by_themselves() -> None:
    faults = counter.Faults.parse("latency_ms=300&drop=0.05&ops=TransactWriteItems,Query&for_s=60")
    assert (faults.latency_ms, faults.drop, faults.ops, faults.for_s) == (
        300.0,
        0.05,
        ("TransactWriteItems", "Query"),
        60.0,
    )
    assert faults.applies("DynamoDB_20120810.TransactWriteItems")
    assert not faults.applies("DynamoDB_20120810.GetItem")  # not named
    assert not faults.applies("DynamoDBStreams_20120810.GetRecords")  # the stream is left alone
    faults.set_at = time.monotonic() - 61
    assert not faults.applies("DynamoDB_20120810.Query")  # over


def test_no_query_means_no_faults() -> None:
    faults = counter.Faults.parse("")
    assert not faults.applies("DynamoDB_20120810.GetItem")
    assert counter.Faults.parse("drop=0.1").applies("DynamoDB_20120810.GetItem")  # every table operation
