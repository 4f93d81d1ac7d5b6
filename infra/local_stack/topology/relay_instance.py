"""A media relay instance in the topology, booted as the media fleet's user data boots one in AWS
(`switchboard_infra.constructs.media_fleet`): the unchanged relay agent (``media_relay/agent.py``)
writes rtpengine's configuration from the instance metadata (``interface = private!public``),
rtpengine runs with it, and the agent beats the relay's item into the table every 5 s. The edge
tasks, reading the registry the template names (``MEDIA_RELAY_REGISTRY``), anchor calls on it.

What differs from an instance, and why: the metadata service is `instance_metadata` on the
link-local address inside the ``media`` namespace; the agent's AWS clients reach DynamoDB Local and
moto's server (CloudWatch, Auto Scaling) through the SDK's endpoint variables; rtpengine runs in the
foreground logging to stderr, so the harness keeps its log beside the others'.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from contact_center.contracts import media_relays
from contact_center.contracts import settings as contract
from contact_center.data import schema
from local_stack.media_relay import ng_answers, rtpengine_binary
from local_stack.topology import netns
from local_stack.topology.network import INSTANCE_METADATA, RELAY_PRIVATE, RELAY_PUBLIC
from switchboard_infra import paths
from switchboard_infra.relay_agent import agent_config

__all__ = ["RELAY_ID", "RelayInstance", "relay_instance"]

RELAY_ID = "i-0topologyrelay1"


def relay_instance(edge: Mapping[str, str], namespace: str, workdir: Path) -> RelayInstance | None:
    """The relay for edges with these settings: None when they read no registry (fixed relays, or
    none: their calls go unanchored)."""
    region = edge.get(contract.MEDIA_RELAY_REGISTRY.name)
    if region is None:
        return None
    return RelayInstance(
        namespace, workdir, edge[contract.TABLE.name], region, edge.get(contract.PROMPTS_BUCKET.name, "")
    )


class Start(Protocol):
    """Starts a child process in a namespace, its log kept with the harness's."""

    def __call__(self, name: str, namespace: str, argv: Sequence[str], env: dict[str, str]) -> object: ...


Wait = Callable[[Callable[[], bool], str, float], None]


@dataclass(frozen=True)
class RelayInstance:
    namespace: str
    workdir: Path
    table: str
    region: str
    prompts_bucket: str = ""

    @property
    def config_path(self) -> Path:
        return self.workdir / "relay-agent.json"

    @property
    def rtpengine_conf(self) -> Path:
        return self.workdir / "rtpengine.conf"

    def boot(self, start: Start, wait: Wait, env: dict[str, str], moto: str) -> None:
        """What the user data does on an instance: the agent configures rtpengine from the metadata,
        rtpengine starts, the agent runs. ``wait(ready, what, timeout)`` waits or raises; ``moto``:
        the agent's CloudWatch and Auto Scaling (DynamoDB's endpoint is in every process's ``env``)."""
        start("relay-metadata", self.namespace, self.metadata_argv(), env)
        self.config_path.write_text(json.dumps(self.agent_config(), indent=1))
        wait(lambda: netns.call_in(self.namespace, self.metadata_answers), "the relay's metadata", 10)
        netns.sh(self.namespace, self.configure_argv())
        start("relay", self.namespace, self.rtpengine_argv(), env)
        # The agent's first beat needs rtpengine's session count: no beat is lost waiting for it.
        wait(lambda: netns.call_in(self.namespace, self.answers), "the media relay", 10)
        agent = {
            **env,
            "AWS_ENDPOINT_URL_CLOUDWATCH": moto,
            "AWS_ENDPOINT_URL_AUTO_SCALING": moto,
            "AWS_ENDPOINT_URL_S3": moto,
        }
        start("relay-agent", self.namespace, self.agent_argv(), agent)

    def agent_config(self) -> dict[str, Any]:
        """The instance's configuration, its files in the harness's directory rather than the
        machine's (no recording collector runs here: the recordings bucket is named only)."""
        config = agent_config(
            self.table,
            self.region,
            prompts_bucket=self.prompts_bucket,
            recordings_bucket="switchboard-recordings",
            recordings_kms_key="",
        )
        spool, uploads = self.workdir / "recording-spool", self.workdir / "prompts" / "uploaded"
        spool.mkdir(parents=True, exist_ok=True)
        config["recordings"]["spool"], config["prompts"]["uploads"] = str(spool), str(uploads)
        config["prompts"]["joined"] = str(self.workdir / "prompts" / "said")
        return config

    def metadata_argv(self) -> list[str]:
        values = {
            "instance-id": RELAY_ID,
            "local-ipv4": RELAY_PRIVATE,
            "public-ipv4": RELAY_PUBLIC,
            "autoscaling/target-lifecycle-state": "InService",
        }
        return [
            sys.executable, "-m", "local_stack.topology.instance_metadata", "--host", INSTANCE_METADATA,
            *(arg for path, value in values.items() for arg in ("--value", f"{path}={value}")),
        ]  # fmt: skip

    def metadata_answers(self) -> bool:
        """Run in the ``media`` namespace."""
        request = urllib.request.Request(
            f"http://{INSTANCE_METADATA}/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        )
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def configure_argv(self) -> list[str]:
        return [
            sys.executable,
            str(paths.RELAY_AGENT),
            "configure",
            str(self.config_path),
            str(self.rtpengine_conf),
        ]

    def rtpengine_argv(self) -> list[str]:
        return [rtpengine_binary(), f"--config-file={self.rtpengine_conf}", "--foreground", "--log-stderr",
                "--no-fallback"]  # fmt: skip

    def answers(self) -> bool:
        """Whether rtpengine answers an ng ping (run in the ``media`` namespace)."""
        return ng_answers(RELAY_PRIVATE, media_relays.NG_PORT)

    def agent_argv(self) -> list[str]:
        return [sys.executable, str(paths.RELAY_AGENT), "run", str(self.config_path)]

    def registered(self, dynamodb: Any) -> bool:
        """Whether the relay's item is in the table (``dynamodb``: a boto3 client of the table's)."""
        item = dynamodb.get_item(
            TableName=self.table,
            Key={
                schema.PARTITION_KEY: {"S": media_relays.RELAY_PK_PREFIX + RELAY_ID},
                schema.SORT_KEY: {"S": media_relays.RELAY_SK},
            },
        )
        return "Item" in item
