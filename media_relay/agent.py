"""The agent on a media relay instance: rtpengine's configuration at boot, then the relay's heartbeat,
its sessions metric, and the drain when Auto Scaling takes the instance away.

It runs alone on a Debian instance (the media fleet, ``switchboard_infra.constructs.media_fleet``),
so it is one file of standard library and boto3 (Debian's ``python3-boto3``); every name it writes
comes from its configuration file, which the CDK app renders from
``contact_center.contracts.media_relays``.

``python3 agent.py configure CONFIG CONF``
    Writes rtpengine's configuration: ``interface = <private>!<public>`` from the instance metadata,
    so rtpengine binds the private address the VPC delivers to and writes the public one into SDP,
    where callers and carriers send their RTP; ng on the private address (the edge tasks' security
    group alone may reach it), the CLI on the loopback.

``python3 agent.py run CONFIG``
    Every ``beat_seconds``: reads rtpengine's session count (its CLI) and the instance's Auto
    Scaling target state (IMDS), and writes the relay's item (ng and public address, sessions,
    draining). Every ``metric_seconds`` it puts the sessions to CloudWatch, the fleet's scaling
    figure. When the instance is to be terminated (a scale-in, an instance refresh, a rebalance) the
    lifecycle hook holds it in Terminating:Wait: the agent marks the relay draining, edges stop
    sending it new calls within one of their reads, and once rtpengine holds no session the agent
    completes the lifecycle action. Calls still talking when the hook's timeout runs out end with
    the instance. rtpengine not answering: no beat (the edges' pings judge its calls), and after
    ``unhealthy_after_seconds`` the agent reports the instance unhealthy, so the group replaces it.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

log = logging.getLogger("relay-agent")

IMDS = "http://169.254.169.254"
# The Auto Scaling target state of an instance its group is about to terminate.
TERMINATING = "Terminated"


class Metadata(Protocol):
    def get(self, path: str) -> str | None: ...


class InstanceMetadata:
    """IMDSv2 (the launch template requires tokens)."""

    def __init__(self, base: str = IMDS, timeout: float = 2.0) -> None:
        self._base = base
        self._timeout = timeout
        self._token = ""
        self._token_until = 0.0

    def _fresh_token(self) -> str:
        if time.monotonic() >= self._token_until:
            request = urllib.request.Request(
                f"{self._base}/latest/api/token",
                method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
            )
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                self._token = response.read().decode()
            self._token_until = time.monotonic() + 21_000
        return self._token

    def get(self, path: str) -> str | None:
        """The value at ``/latest/meta-data/<path>``; None when the instance has none (404)."""
        request = urllib.request.Request(
            f"{self._base}/latest/meta-data/{path}",
            headers={"X-aws-ec2-metadata-token": self._fresh_token()},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return str(response.read().decode().strip())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


def rtpengine_conf(private: str, public: str, ports: Mapping[str, int]) -> str:
    """rtpengine's configuration file: userspace forwarding, the private!public interface."""
    return "\n".join(
        [
            "[rtpengine]",
            # Userspace forwarding: no kernel module to build on the instance.
            "table = -1",
            # Bound to the private address; the public one (the instance's public IP, 1:1 NAT by
            # the internet gateway) is what SDP names.
            f"interface = {private}!{public}",
            f"listen-ng = {private}:{ports['ng']}",
            f"listen-cli = 127.0.0.1:{ports['cli']}",
            f"port-min = {ports['rtp_min']}",
            f"port-max = {ports['rtp_max']}",
            # As the local stack runs it (local_stack.media_relay): a long hold is not a dead call.
            "timeout = 60",
            "silent-timeout = 3600",
            "delete-delay = 0",
            "tos = 184",
            "log-level = 5",
            "",
        ]
    )


_OWN_SESSIONS = re.compile(rb"Current sessions own:\s*(\d+)")


def cli_sessions(port: int, timeout: float = 2.0) -> int:
    """rtpengine's own sessions from its CLI (``list numsessions``); OSError when it does not answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"list numsessions\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    found = _OWN_SESSIONS.search(reply)
    if found is None:
        raise OSError(f"rtpengine's CLI gave no session count: {reply[:200]!r}")
    return int(found.group(1))


def relay_item(
    config: Mapping[str, Any],
    *,
    relay_id: str,
    ng_address: str,
    public_address: str,
    now: int,
    sessions: int,
    draining: bool,
) -> dict[str, dict[str, Any]]:
    """The relay's item in DynamoDB's attribute-value form."""
    keys, item = config["keys"], config["item"]
    return {
        keys["pk"]: {"S": item["pk_prefix"] + relay_id},
        keys["sk"]: {"S": item["sk"]},
        keys["index_pk"]: {"S": item["index_pk"]},
        keys["index_sk"]: {"S": relay_id},
        keys["ttl"]: {"N": str(now + int(config["kept_seconds"]))},
        item["entity_attribute"]: {"S": item["entity"]},
        item["relay_id"]: {"S": relay_id},
        item["ng_address"]: {"S": ng_address},
        item["public_address"]: {"S": public_address},
        item["heartbeat_at"]: {"N": str(now)},
        item["sessions"]: {"N": str(sessions)},
        item["draining"]: {"BOOL": draining},
    }


class Agent:
    def __init__(
        self,
        config: Mapping[str, Any],
        metadata: Metadata,
        sessions: Callable[[], int],
        dynamodb: Any,
        cloudwatch: Any,
        autoscaling: Any,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._metadata = metadata
        self._sessions = sessions
        self._dynamodb = dynamodb
        self._cloudwatch = cloudwatch
        self._autoscaling = autoscaling
        self._now = now
        instance = metadata.get("instance-id")
        private = metadata.get("local-ipv4")
        public = metadata.get("public-ipv4")
        if not (instance and private and public):
            raise RuntimeError("the instance metadata names no instance id, private or public IPv4")
        self.relay_id = instance
        self.ng_address = f"{private}:{config['ports']['ng']}"
        self.public_address = public
        self.draining_since: float | None = None
        self.completed = False
        self.reported_unhealthy = False
        self._silent_since: float | None = None
        self._metric_due = 0.0
        self._group: str | None = None

    def step(self) -> None:
        now = self._now()
        if (
            self.draining_since is None
            and self._metadata.get("autoscaling/target-lifecycle-state") == TERMINATING
        ):
            self.draining_since = now
            log.warning("the instance is leaving the fleet: draining (no new calls)")
        try:
            sessions = self._sessions()
        except OSError as exc:
            log.error("rtpengine does not answer (%s): no beat", exc)
            if self.draining_since is not None:
                self._complete()  # nothing left to drain
            else:
                self._silent(now)
            return
        self._silent_since = None
        self._dynamodb.put_item(
            TableName=self._config["table"],
            Item=relay_item(
                self._config,
                relay_id=self.relay_id,
                ng_address=self.ng_address,
                public_address=self.public_address,
                now=int(now),
                sessions=sessions,
                draining=self.draining_since is not None,
            ),
        )
        if self.draining_since is None and now >= self._metric_due:
            metrics = self._config["metrics"]
            self._cloudwatch.put_metric_data(
                Namespace=metrics["namespace"],
                MetricData=[{"MetricName": metrics["name"], "Value": float(sessions), "Unit": "Count"}],
            )
            self._metric_due = now + int(self._config["metric_seconds"])
        # Edges read the registry every beat: two beats after the first draining one, no edge sends
        # a new call here, so no session means no call is on its way.
        grace = 2 * int(self._config["beat_seconds"])
        if self.draining_since is not None and sessions == 0 and now - self.draining_since >= grace:
            self._complete()

    def _silent(self, now: float) -> None:
        """rtpengine's calls died with it: a relay silent this long is replaced, not waited for."""
        if self._silent_since is None:
            self._silent_since = now
        if self.reported_unhealthy or now - self._silent_since < int(self._config["unhealthy_after_seconds"]):
            return
        self._autoscaling.set_instance_health(
            InstanceId=self.relay_id, HealthStatus="Unhealthy", ShouldRespectGracePeriod=False
        )
        self.reported_unhealthy = True
        log.error(
            "rtpengine has not answered for %.0f s: the instance is reported unhealthy",
            now - self._silent_since,
        )

    def _complete(self) -> None:
        if self.completed:
            return
        if self._group is None:
            (instance,) = self._autoscaling.describe_auto_scaling_instances(InstanceIds=[self.relay_id])[
                "AutoScalingInstances"
            ]
            self._group = str(instance["AutoScalingGroupName"])
        self._autoscaling.complete_lifecycle_action(
            LifecycleHookName=self._config["lifecycle_hook"],
            AutoScalingGroupName=self._group,
            InstanceId=self.relay_id,
            LifecycleActionResult="CONTINUE",
        )
        self.completed = True
        log.warning("drained: the instance may terminate")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    command, config_path, *rest = argv
    with open(config_path) as handle:
        config = json.load(handle)
    metadata = InstanceMetadata()
    if command == "configure":
        private, public = metadata.get("local-ipv4"), metadata.get("public-ipv4")
        if not (private and public):
            raise SystemExit("the instance has no private or public IPv4: a relay needs both")
        with open(rest[0], "w") as handle:
            handle.write(rtpengine_conf(private, public, config["ports"]))
        return 0
    import boto3

    region = config["region"]
    agent = Agent(
        config,
        metadata,
        lambda: cli_sessions(int(config["ports"]["cli"])),
        boto3.client("dynamodb", region_name=region),
        boto3.client("cloudwatch", region_name=region),
        boto3.client("autoscaling", region_name=region),
    )
    while True:
        try:
            agent.step()
        except Exception:
            log.exception("a beat failed; trying again")
        time.sleep(int(config["beat_seconds"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
