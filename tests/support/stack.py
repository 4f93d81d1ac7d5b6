"""Starts the whole local stack (``python -m local_stack``) on free ports for a test, and stops it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunningStack:
    proc: subprocess.Popen[bytes]
    api_url: str
    sip_port: int
    lambda_url: str
    admin_key: str
    dynamodb_endpoint: str | None
    log_path: Path
    web_url: str  # the pages of web/, with the API under /api

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _own_data(args: Sequence[str], tmp_path: Path) -> list[str]:
    """A test's stack keeps its data in the test's own folder, never in the developer's ``.local/``."""
    if "--data" in args or "--in-memory" in args:
        return list(args)
    return [*args, "--data", str(tmp_path / "local-data")]


@contextmanager
def running_stack(
    tmp_path: Path,
    *,
    dynamodb: str = "moto",
    extra_env: dict[str, str] | None = None,
    timeout: float = 90,
    args: Sequence[str] = (),
) -> Iterator[RunningStack]:
    api_port, sip_port, lambda_port, db_port = free_port(), free_port(), free_port(), free_port()
    web_port, ws_port, ws_management_port = free_port(), free_port(), free_port()
    # The relay's control port, its agent's and the edge's key-report port too: left to the stack, they would come
    # from the ephemeral range, where another test's outgoing sockets can take them first.
    ng_port, dtmf_port, agent_port = free_port(), free_port(), free_port()
    admin_key = "sb_admin_test_" + os.urandom(6).hex()
    env = dict(os.environ)
    env.update(
        {
            "API_PORT": str(api_port),
            "WEB_PORT": str(web_port),
            "WS_PORT": str(ws_port),
            "WS_MANAGEMENT_PORT": str(ws_management_port),
            "SIP_PORT": str(sip_port),
            "LAMBDA_PORT": str(lambda_port),
            "DYNAMODB_PORT": str(db_port),
            "MEDIA_NG_PORT": str(ng_port),
            "MEDIA_DTMF_PORT": str(dtmf_port),
            "MEDIA_AGENT_PORT": str(agent_port),
            "SWITCHBOARD_ADMIN_KEY": admin_key,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    log_path = tmp_path / "stack.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "local_stack", "--dynamodb", dynamodb, *_own_data(args, tmp_path)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = RunningStack(
        proc,
        f"http://127.0.0.1:{api_port}",
        sip_port,
        f"http://127.0.0.1:{lambda_port}",
        admin_key,
        f"http://127.0.0.1:{db_port}",
        log_path,
        f"http://127.0.0.1:{web_port}",
    )
    try:
        deadline = time.monotonic() + timeout
        while "Switchboard is up" not in stack.log():
            if proc.poll() is not None:
                raise RuntimeError(f"local stack exited with {proc.returncode}:\n{stack.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"local stack not up after {timeout} s:\n{stack.log()}")
            time.sleep(0.2)
        yield stack
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def http_json(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
