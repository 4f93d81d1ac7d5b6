from __future__ import annotations

import os

import pytest

# Tests never reach AWS: fake credentials before any SDK client is made.
for _name, _value in (
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled"),
):
    os.environ.setdefault(_name, _value)
for _name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(_name, None)

# Tests that load the whole machine (the topology, the two-region drill) or measure a latency target
# run on one worker, one after another: on 2 cores, side by side they would each distort the other.
WHOLE_MACHINE_GROUP = "whole-machine"
_WHOLE_MACHINE = (
    "tests/regions/test_drill.py",
    "tests/integration/test_routing_client.py::test_routing_client_over_the_local_lambda_service",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.nodeid.startswith(_WHOLE_MACHINE):
            item.add_marker(pytest.mark.xdist_group(WHOLE_MACHINE_GROUP))
