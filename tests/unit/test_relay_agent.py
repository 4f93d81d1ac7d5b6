"""The agent on a media relay instance: rtpengine's interface, the heartbeat it writes, the sessions
metric and the drain on scale-in. AWS clients, the metadata service and rtpengine are fakes here
(the item against a table: tests/functional; the CLI against rtpengine: tests/media)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from media_relay.agent import TERMINATING, Agent, cli_sessions, relay_item, rtpengine_conf
from switchboard_infra.relay_agent import LIFECYCLE_HOOK, agent_config

CONFIG = agent_config(
    "switchboard",
    "us-east-1",
    prompts_bucket="prompts",
    recordings_bucket="recordings",
    recordings_kms_key="arn:aws:kms:us-east-1:111122223333:key/recordings",
)


class Metadata:
    def __init__(self) -> None:
        self.values = {
            "instance-id": "i-0abc",
            "local-ipv4": "10.0.0.12",
            "public-ipv4": "203.0.113.7",
            "autoscaling/target-lifecycle-state": "InService",
        }

    def get(self, path: str) -> str | None:
        return self.values.get(path)


class Recorder:
    """A boto3 client: records every call."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._answers = answers

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return self._answers.get(name, {})

        return call


class Relay:
    def __init__(self) -> None:
        self.metadata = Metadata()
        self.sessions: int | None = 3
        self.clock = 1_000.0
        self.dynamodb, self.cloudwatch = Recorder(), Recorder()
        self.autoscaling = Recorder(
            describe_auto_scaling_instances={
                "AutoScalingInstances": [{"InstanceId": "i-0abc", "AutoScalingGroupName": "media-asg"}]
            }
        )
        self.agent = Agent(
            CONFIG,
            self.metadata,
            self._sessions,
            self.dynamodb,
            self.cloudwatch,
            self.autoscaling,
            lambda: self.clock,
        )

    def _sessions(self) -> int:
        if self.sessions is None:
            raise ConnectionRefusedError("rtpengine is down")
        return self.sessions

    def steps(self, n: int, every: float = 5.0) -> None:
        for _ in range(n):
            self.agent.step()
            self.clock += every

    def items(self) -> list[dict[str, Any]]:
        return [kwargs["Item"] for name, kwargs in self.dynamodb.calls if name == "put_item"]

    def completions(self) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.autoscaling.calls if name == "complete_lifecycle_action"]


def test_rtpengine_binds_the_private_address_and_writes_the_public_one_into_sdp() -> None:
    conf = rtpengine_conf("10.0.0.12", "203.0.113.7", CONFIG["ports"])
    lines = conf.splitlines()
    assert lines[0] == "[rtpengine]"
    assert "interface = 10.0.0.12!203.0.113.7" in lines
    assert "listen-ng = 10.0.0.12:2223" in lines  # never the public address
    assert "listen-cli = 127.0.0.1:2224" in lines
    assert {"port-min = 30000", "port-max = 39999", "table = -1"} <= set(lines)


def test_each_beat_writes_the_relay_item_with_its_addresses_and_sessions() -> None:
    relay = Relay()
    relay.steps(1)
    (item,) = relay.items()
    assert item["pk"] == {"S": "RELAY#i-0abc"} and item["sk"] == {"S": "RELAY"}
    assert item["gsi1pk"] == {"S": "RELAYS#us-east-1"} and item["gsi1sk"] == {"S": "i-0abc"}
    assert item["ng_address"] == {"S": "10.0.0.12:2223"}
    assert item["public_address"] == {"S": "203.0.113.7"}
    assert item["sessions"] == {"N": "3"} and item["draining"] == {"BOOL": False}
    assert item["heartbeat_at"] == {"N": "1000"} and item["expires_at"] == {"N": str(1000 + 3600)}
    assert item["entity"] == {"S": "media_relay"}
    assert item["agent_address"] == {"S": "10.0.0.12:2226"}  # where the edges ask for joined prompts
    assert relay.dynamodb.calls[0][1]["TableName"] == "switchboard"


def test_the_sessions_metric_is_put_once_a_minute() -> None:
    relay = Relay()
    relay.steps(24)  # two minutes of beats
    puts = [kwargs for name, kwargs in relay.cloudwatch.calls if name == "put_metric_data"]
    assert len(puts) == 2
    assert puts[0]["Namespace"] == "Switchboard/Media"
    assert puts[0]["MetricData"] == [{"MetricName": "Sessions", "Value": 3.0, "Unit": "Count"}]


def test_a_terminating_instance_drains_until_its_last_session_ends_then_completes_the_hook() -> None:
    relay = Relay()
    relay.steps(1)
    # Given Auto Scaling chose this instance for a scale-in (the hook holds it in Terminating:Wait):
    relay.metadata.values["autoscaling/target-lifecycle-state"] = TERMINATING
    relay.steps(12)  # a minute with three calls still talking
    assert all(item["draining"] == {"BOOL": True} for item in relay.items()[1:])
    assert relay.completions() == []
    # A draining relay leaves the scaling average: its falling sessions would scale the fleet in.
    assert len([c for c in relay.cloudwatch.calls if c[0] == "put_metric_data"]) == 1
    relay.sessions = 0
    relay.steps(1)
    assert relay.completions() == [
        {
            "LifecycleHookName": LIFECYCLE_HOOK,
            "AutoScalingGroupName": "media-asg",
            "InstanceId": "i-0abc",
            "LifecycleActionResult": "CONTINUE",
        }
    ]
    relay.steps(3)
    assert len(relay.completions()) == 1


def test_no_session_right_after_draining_begins_still_waits_for_the_edges_to_see_it() -> None:
    relay = Relay()
    relay.sessions = 0
    relay.metadata.values["autoscaling/target-lifecycle-state"] = TERMINATING
    relay.steps(2)  # 0 s and 5 s into the drain: an edge may still be sending a new call here
    assert relay.completions() == []
    relay.steps(1)  # 10 s: every edge has read the draining beat
    assert len(relay.completions()) == 1


def test_rtpengine_not_answering_means_no_beat_and_a_draining_instance_goes_at_once() -> None:
    relay = Relay()
    relay.sessions = None
    relay.steps(2)
    assert relay.items() == [] and relay.completions() == []
    relay.metadata.values["autoscaling/target-lifecycle-state"] = TERMINATING
    relay.steps(1)
    assert len(relay.completions()) == 1


def test_a_relay_whose_rtpengine_stays_silent_a_minute_is_reported_unhealthy_once() -> None:
    relay = Relay()
    relay.steps(1)
    relay.sessions = None
    relay.steps(12)  # 0..55 s silent
    health = [kwargs for name, kwargs in relay.autoscaling.calls if name == "set_instance_health"]
    assert health == []
    relay.steps(3)
    health = [kwargs for name, kwargs in relay.autoscaling.calls if name == "set_instance_health"]
    assert health == [
        {"InstanceId": "i-0abc", "HealthStatus": "Unhealthy", "ShouldRespectGracePeriod": False}
    ]


def test_a_relay_silent_for_a_moment_is_not_replaced() -> None:
    relay = Relay()
    relay.sessions = None
    relay.steps(6)
    relay.sessions = 0
    relay.steps(1)
    relay.sessions = None
    relay.steps(6)
    assert not relay.agent.reported_unhealthy


def test_an_instance_without_a_public_address_cannot_be_a_relay() -> None:
    metadata = Metadata()
    del metadata.values["public-ipv4"]
    with pytest.raises(RuntimeError, match="public"):
        Agent(CONFIG, metadata, lambda: 0, Recorder(), Recorder(), Recorder())


def test_the_item_names_come_from_the_configuration() -> None:
    item = relay_item(
        CONFIG,
        relay_id="i-1",
        ng_address="10.0.0.1:2223",
        public_address="198.51.100.1",
        now=5,
        sessions=0,
        draining=True,
    )
    assert set(item) == {
        "pk", "sk", "gsi1pk", "gsi1sk", "expires_at", "entity", "relay_id", "ng_address", "public_address",
        "heartbeat_at", "sessions", "draining",
    }  # fmt: skip


def test_the_session_count_is_read_from_rtpengines_cli() -> None:
    # rtpengine's CLI answers one command per connection and closes it.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        received: list[bytes] = []

        def answer() -> None:
            connection, _ = server.accept()
            with connection:
                received.append(connection.recv(100))
                connection.sendall(
                    b"Current sessions own: 17\nCurrent sessions foreign: 2\nCurrent sessions total: 19\n"
                )

        thread = threading.Thread(target=answer)
        thread.start()
        assert cli_sessions(server.getsockname()[1]) == 17
        thread.join()
    assert received == [b"list numsessions\n"]


def test_the_local_stack_runs_the_agent_the_relays_bundle_ships() -> None:
    from local_stack.media_relay import RELAY_AGENT
    from switchboard_infra import paths

    assert RELAY_AGENT == paths.RELAY_AGENT
