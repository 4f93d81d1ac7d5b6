"""A real rtpengine for the media tests (skipped where the daemon is not installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.media_relay import RelayPorts
from tests.support.ports import HOST, free_port
from tests.support.relay import rtpengine_installed, running_relay

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def relay() -> Iterator[RelayPorts]:
    if not rtpengine_installed():
        pytest.skip("rtpengine-daemon is not installed")
    with running_relay() as (ports, _process):
        yield ports


@pytest.fixture(scope="module")
def dtmf_relay() -> Iterator[tuple[RelayPorts, int]]:
    """A relay reporting the RFC 4733 key presses it sees to the returned UDP port on HOST (where
    the test's, or the edge's, DTMF listener binds)."""
    if not rtpengine_installed():
        pytest.skip("rtpengine-daemon is not installed")
    listen_port = free_port()
    with running_relay(dtmf_dest=(HOST, listen_port)) as (ports, _process):
        yield ports, listen_port


@pytest.fixture(scope="session")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default prompts, made as `make prompts` makes them (espeak-ng and sox)."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng or sox is not installed")
    directory = tmp_path_factory.mktemp("prompts")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_prompts.py"), str(directory)], check=True)
    return directory
