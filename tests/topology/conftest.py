"""The production topology on one machine (root, network namespaces, iptables, conntrack).

Every test here is marked ``topology`` and shares one harness (about 15 s to start).
``TOPOLOGY_CALLS`` sets the calls per transport (``make test``: 20; ``make test-topology``: 100).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack import dynamodb_local, media_relay
from local_stack.topology.harness import Harness
from local_stack.topology.network import Layout
from tests.conftest import WHOLE_MACHINE_GROUP

CALLS = int(os.environ.get("TOPOLOGY_CALLS", "20"))
LONG = CALLS >= 100


def missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, iptables)"
    for tool in ("ip", "iptables", "iptables-restore", "conntrack", "sipp"):
        if shutil.which(tool) is None:
            return f"needs {tool} (make setup installs it)"
    if dynamodb_local.jar_dir() is None:
        return dynamodb_local.MISSING
    if not media_relay.installed():
        return "needs rtpengine (Debian package rtpengine-daemon; make setup installs it)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = missing()
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.topology)
            # One worker runs the whole folder (and the other whole-machine tests, see tests/conftest.py).
            if config.pluginmanager.hasplugin("xdist"):
                item.add_marker(pytest.mark.xdist_group(WHOLE_MACHINE_GROUP))
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with Harness(
        Layout(edges=3, prefix=f"sbt{os.getpid() % 10000}"), tmp_path_factory.mktemp("topology")
    ) as running:
        yield running
