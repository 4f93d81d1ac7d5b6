"""The deployed failover controller (``functions/failover``) in the shape it runs: invoked through its
region's Lambda service, its canary a real Lambda ``Invoke`` of the other region's routing function,
each region on its own DynamoDB Local. Region east is killed outright; one scheduled run of west's
controller finds it refusing, takes east's merchants over in west's replica, and has west's routing
function end the calls east's edge task held, talking ones too."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from contact_center import bootstrap
from contact_center.aws.failover import CANARY_EVENT
from contact_center.contracts import settings as contract
from contact_center.data import table
from contact_center.data.ownership import OwnershipItems
from contact_center.data.repositories.contacts import LiveContactRepository
from contact_center.data.repositories.seats import AgentSeatRepository
from contact_center.data.sessions import EdgeTaskItems
from contact_center.domain.agent_state import AgentState
from contact_center.domain.ownership import Ownership
from contact_center.services.routing.decisions import OfferOutcome
from local_stack.processes import Child
from local_stack.regions.harness import ADDRESSES, TABLE, Region
from tests.functional.routing.conftest import DOMAIN, World

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow, pytest.mark.timeout(180)]


def _lambda(url: str) -> Any:
    config = Config(read_timeout=60, retries={"max_attempts": 1})
    return boto3.client("lambda", endpoint_url=url, region_name="us-east-1", config=config)


def _start_lambda_service(region: Region, urls: dict[str, str], extra: dict[str, str]) -> None:
    argv = [sys.executable, "-m", "local_stack.lambda_endpoint", "--host", ADDRESSES[region.name]]
    argv += ["--port", str(region.lambda_port), "--table", TABLE, "--no-schedules"]
    env = {**region.environment(urls), **extra}
    child = Child(f"{region.name}-lambda", argv, env, log_path=region.log_dir / f"{region.name}-lambda.log")
    child.start()
    region.children.append(child)
    deadline = time.monotonic() + 60
    while not region.healthy():
        assert time.monotonic() < deadline, f"{region.name}'s Lambda service did not start"
        time.sleep(0.2)


def _home(region: Region, merchant_id: str, home: str) -> None:
    table.bind(TABLE, region.dynamodb_url, "us-east-1")
    OwnershipItems().move(None, Ownership(merchant_id, home, 1, 0, home), 0)


def _ownership(region: Region, merchant_id: str) -> Ownership | None:
    table.bind(TABLE, region.dynamodb_url, "us-east-1")
    return OwnershipItems().get(merchant_id)


EAST_EDGE = "east-edge-1"


def _east_call_replicated_to(region: Region) -> World:
    """A call of east's merchant m1 talking through east's edge task, as replication left it in
    ``region``'s replica: written by east's routing (its ownership stamps), with the task's last beat
    two minutes old."""
    table.bind(TABLE, region.dynamodb_url, "us-east-1")
    world = World()
    world.queue()
    world.number()
    now_ms = int(time.time() * 1000)
    world.seat("a1", registered=False)
    world.register("a1", expires_at=now_ms // 1000 + 3600)
    bootstrap.reset(bootstrap.Settings(sip_domain=DOMAIN, region="east"))
    try:
        routing = bootstrap.services().routing
        routing.new_contact("+15550100", "+4930123", EAST_EDGE, "talking", now_ms)
        routing.offer_result("talking", "a1", OfferOutcome.ANSWERED, now_ms + 500)
    finally:
        bootstrap.reset()
    EdgeTaskItems().heartbeat(EAST_EDGE, "10.0.1.1:5060", now_ms // 1000 - 120, region="east")
    assert world.contact("talking").snapshot.state.value == "connected"
    return world


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[dict[str, Region]]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    binding = (table.BINDING.table_name, table.BINDING.host, table.BINDING.region)
    east, west = Region("east", tmp_path, 1_000), Region("west", tmp_path, 1_000)
    try:
        for region in (east, west):
            region.start_database()
            _home(region, "m-east", "east")  # as replication left both replicas
        _home(west, "m-west", "west")
        _home(west, "m1", "east")
        _east_call_replicated_to(west)
        urls = {"east": east.lambda_url, "west": west.lambda_url}
        _start_lambda_service(east, urls, {})
        _start_lambda_service(west, urls, {contract.FAILOVER_PEER.name: "east"})
        yield {"east": east, "west": west}
    finally:
        for region in (east, west):
            region.stop()
        table.bind(*binding)


def test_the_survivors_controller_takes_the_killed_regions_merchants_over(regions: dict[str, Region]) -> None:
    east, west = regions["east"], regions["west"]
    # A healthy peer answers the canary from its routing function and its table.
    answer = _lambda(east.lambda_url).invoke(
        FunctionName="routing", Payload=json.dumps(CANARY_EVENT).encode()
    )
    assert json.loads(answer["Payload"].read()) == {"offers": []}

    east.kill()
    started = time.monotonic()
    response = _lambda(west.lambda_url).invoke(FunctionName="failover", Payload=b'{"action": "watch"}')
    result = json.loads(response["Payload"].read())
    took = time.monotonic() - started

    assert "FunctionError" not in response, result
    # The local function's 30 s leaves room for three probes 10 s apart (the deployed 58 s, six).
    assert [p["outcome"] for p in result["probes"]] == ["refused"] * 3
    assert [p["peer_healthy"] for p in result["probes"]] == [True, False, False]
    assert sorted(result["taken_over"]) == ["m-east", "m1"] and 19 < took < 30
    moved = _ownership(west, "m-east")
    assert moved is not None and (moved.home_region, moved.epoch, moved.preferred) == ("west", 2, "east")
    stayed = _ownership(west, "m-west")
    assert stayed is not None and stayed.epoch == 1
    # The call east's dead edge task held ended in west with a record, and its agent is free again
    table.bind(TABLE, west.dynamodb_url, "us-east-1")
    contacts = LiveContactRepository()
    assert contacts.get("talking") is None
    record = contacts.record("talking")
    assert record is not None and (record.hangup_side, record.hangup_cause) == ("system", "network_failure")
    agent = AgentSeatRepository().get("m1", "a1").agent
    assert agent.state in (AgentState.AVAILABLE, AgentState.AFTER_CONTACT_WORK)
