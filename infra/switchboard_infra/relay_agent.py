"""What a media relay instance is given besides rtpengine: the relay's bundle and the agent's
configuration.

No CDK here (the functional contract test renders the same configuration the template carries).
The configuration names every key and attribute from the registry contract and the table schema.
The bundle (an S3 asset the instance copies at boot, laid out by `write_bundle`) holds:

- ``relay_agent.py``: ``media_relay/agent.py``;
- ``prompts/``: the default prompts of ``build/prompts`` (``make prompts``);
- ``python/``: what the recording collector (``python3 -m sip_edge.app.media.recorder``) imports:
  the ``contact_center`` package and the few ``sip_edge`` modules of the collector, all standard
  library and boto3 (Debian's ``python3-boto3``), nothing to install.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from contact_center.contracts import media_relays, metrics
from contact_center.data import schema
from switchboard_infra import paths

# The termination lifecycle hook the agent completes once its relay holds no session.
LIFECYCLE_HOOK = "drain-calls"
BUNDLE_DIRECTORY = "/opt/switchboard/relay"
AGENT_PATH = f"{BUNDLE_DIRECTORY}/relay_agent.py"
PYTHON_PATH = f"{BUNDLE_DIRECTORY}/python"
CONFIG_PATH = "/etc/switchboard/relay-agent.json"
# The collector's modules and their packages' __init__ files, relative to the sip_edge package.
COLLECTOR_MODULES = (
    "__init__.py",
    "media/__init__.py",
    "media/g711.py",
    "media/recording.py",
    "app/__init__.py",
    "app/media/__init__.py",
    "app/media/recorder.py",
)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def agent_config(
    table: str, region: str, *, prompts_bucket: str, recordings_bucket: str, recordings_kms_key: str
) -> dict[str, Any]:
    return media_relays.agent_config(
        table=table,
        region=region,
        partition_key=schema.PARTITION_KEY,
        sort_key=schema.SORT_KEY,
        index_partition_key=schema.GSI1.partition_key,
        index_sort_key=schema.GSI1.sort_key,
        ttl_attribute=schema.TTL_ATTRIBUTE,
        metrics_namespace=metrics.MEDIA_NAMESPACE,
        metric_name=metrics.RELAY_SESSIONS,
        lifecycle_hook=LIFECYCLE_HOOK,
        prompts_bucket=prompts_bucket,
        recordings_bucket=recordings_bucket,
        recordings_kms_key=recordings_kms_key,
    )


def write_bundle(output: Path) -> None:
    """The relay's bundle laid out in ``output``."""
    prompts = sorted(paths.DEFAULT_PROMPTS.glob("*.wav"))
    if not prompts:
        raise RuntimeError(f"no default prompts in {paths.DEFAULT_PROMPTS}: run `make prompts` first")
    shutil.copy2(paths.RELAY_AGENT, output / "relay_agent.py")
    (output / "prompts").mkdir(exist_ok=True)
    for prompt in prompts:
        shutil.copy2(prompt, output / "prompts" / prompt.name)
    python = output / "python"
    shutil.copytree(paths.LAYER_PACKAGE, python / "contact_center", ignore=_IGNORE, dirs_exist_ok=True)
    for module in COLLECTOR_MODULES:
        target = python / "sip_edge" / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(paths.SIP_EDGE_PACKAGE / module, target)
