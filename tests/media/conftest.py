"""A real rtpengine for the media tests (skipped where the daemon is not installed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.media_relay import RelayPorts
from tests.support.relay import rtpengine_installed, running_relay


@pytest.fixture
def relay() -> Iterator[RelayPorts]:
    if not rtpengine_installed():
        pytest.skip("rtpengine-daemon is not installed")
    with running_relay() as (ports, _process):
        yield ports
