"""The counting proxy's units per partition: DynamoDB's capacity rules applied to what it forwards."""

from __future__ import annotations

from tests.support.bench import bench_module

counter = bench_module("partition_units.py", "partition_units")


def s(value: str) -> dict[str, str]:
    return {"S": value}


def test_a_transaction_costs_two_units_per_item_and_writes_the_index_partitions_it_touches() -> None:
    units = counter.PartitionUnits()
    # An availability entry is put (the seat becomes free for queue q1)...
    entry = {"pk": s("SEATQUEUES#m#s1"), "sk": s("QUEUE#q1"), "gsi1pk": s("AVAILABLE#m#q1"), "gsi1sk": s("1")}
    put = units.writes("DynamoDB_20120810.TransactWriteItems", {"TransactItems": [{"Put": {"Item": entry}}]})
    assert put == [("SEATQUEUES#m#s1", 2.0), ("gsi1:AVAILABLE#m#q1", 1.0)]
    # ... then deleted with the seat's update in one transaction (the seat is reserved)
    deleted = units.writes(
        "DynamoDB_20120810.TransactWriteItems",
        {
            "TransactItems": [
                {
                    "Update": {
                        "Key": {"pk": s("MERCHANT#m"), "sk": s("SEAT#s1")},
                        "UpdateExpression": "SET #s = :s",
                    }
                },
                {"Delete": {"Key": {"pk": s("SEATQUEUES#m#s1"), "sk": s("QUEUE#q1")}}},
            ]
        },
    )
    # the index partition is known from the entry's keys as the proxy saw them written
    assert deleted == [("MERCHANT#m", 2.0), ("SEATQUEUES#m#s1", 2.0), ("gsi1:AVAILABLE#m#q1", 1.0)]


def test_an_update_that_moves_an_item_in_an_index_writes_both_index_partitions() -> None:
    units = counter.PartitionUnits()
    key = {"pk": s("CONTACT#c1"), "sk": s("CONTACT")}
    units.writes("DynamoDB_20120810.PutItem", {"Item": {**key, "gsi2pk": s("EDGE#a")}})
    moved = units.writes(
        "DynamoDB_20120810.UpdateItem",
        {
            "Key": key,
            "UpdateExpression": "SET #g = :g",
            "ExpressionAttributeNames": {"#g": "gsi2pk"},
            "ExpressionAttributeValues": {":g": s("EDGE#b")},
        },
    )
    assert sorted(moved) == [("CONTACT#c1", 1.0), ("gsi2:EDGE#a", 1.0), ("gsi2:EDGE#b", 1.0)]


def test_reads_name_the_partition_of_the_index_queried() -> None:
    units = counter.PartitionUnits()
    query = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "#p = :p AND begins_with(#s, :s)",
        "ExpressionAttributeNames": {"#p": "gsi1pk", "#s": "gsi1sk"},
        "ExpressionAttributeValues": {":p": s("AVAILABLE#m#q1"), ":s": s("0")},
    }
    assert units.read_partitions("DynamoDB_20120810.Query", query) == (["gsi1:AVAILABLE#m#q1"], 0.5)
    got = units.read_partitions("DynamoDB_20120810.GetItem", {"Key": {"pk": s("A")}, "ConsistentRead": True})
    assert got == (["A"], 1.0)


def test_the_busiest_second_of_each_partition_is_kept_and_ranked_by_its_share_of_the_limit() -> None:
    clock = [0.0]
    keys = counter.BusiestKeys(clock=lambda: clock[0])
    for _ in range(300):
        keys.add("QUEUE#q1", write=2.0)  # 600 write units in second 0
    clock[0] = 1.5
    for _ in range(100):
        keys.add("QUEUE#q1", write=2.0)  # 200 in second 1
        keys.add("MERCHANT#m", read=10.0)  # 1,000 read units
    report = keys.report()
    first, second = report["busiest"]
    assert first["partition"] == "QUEUE#q1" and first["peak_write_units_s"] == 600
    assert first["write_units"] == 800 and first["peak_share_of_limit"] == 0.6
    assert second["partition"] == "MERCHANT#m" and round(second["peak_share_of_limit"], 3) == 0.333
