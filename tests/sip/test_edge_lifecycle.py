"""Process lifecycle: clean exit on SIGTERM/SIGINT with every port released; config errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sip.conftest import (
    HOST,
    ROOT,
    StreamClient,
    UdpClient,
    port_is_free,
    sip_request,
    start_edge,
    status_of,
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_signal_exits_zero_and_frees_every_port(tmp_path: Path, signum: signal.Signals) -> None:
    edge = start_edge(tmp_path)
    # Given an open TCP connection and traffic on every listener,
    tcp = StreamClient.tcp(edge)
    tcp.send(sip_request("OPTIONS", tcp.local, transport="TCP"))
    assert status_of(tcp.recv_message()) == 200
    udp = UdpClient(edge)
    udp.send(sip_request("OPTIONS", udp.local))
    assert status_of(udp.recv()) == 200
    # When the orchestrator stops the task,
    edge.proc.send_signal(signum)
    code = edge.proc.wait(timeout=10)
    udp.close()
    tcp.close()
    # Then it exits 0, says so, and leaves nothing bound.
    assert code == 0, edge.log()
    assert "stopped" in edge.log()
    assert edge.tls_port is not None
    for port in (edge.port, edge.tls_port, edge.health_port):
        assert port_is_free(port), port
    assert "Traceback" not in edge.log()


def test_logs_one_line_per_listener(tmp_path: Path) -> None:
    edge = start_edge(tmp_path)
    try:
        lines = [line for line in edge.log().splitlines() if "listening on" in line]
    finally:
        assert edge.stop() == 0
    assert len(lines) == 4
    for kind, port in (
        ("UDP", edge.port),
        ("TCP", edge.port),
        ("TLS", edge.tls_port),
        ("HEALTH", edge.health_port),
    ):
        assert any(f"{kind} {HOST}:{port}" in line for line in lines), (kind, lines)


def test_without_a_certificate_there_is_no_tls_listener(tmp_path: Path) -> None:
    edge = start_edge(tmp_path, tls=False)
    try:
        log = edge.log()
    finally:
        assert edge.stop() == 0
    assert "TLS" not in log


def test_port_from_environment(tmp_path: Path) -> None:
    from tests.sip.conftest import free_port

    port = free_port()
    env = {"SIP_HOST": HOST, "SIP_PORT": str(port), "EDGE_TASK_ID": "task-env-1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sip_edge"],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        assert "task-env-1" in line and f"UDP {HOST}:{port}" in line
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            sock.bind((HOST, 0))
            sock.sendto(sip_request("OPTIONS", sock.getsockname()), (HOST, port))
            assert status_of(sock.recv(65535)) == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_bad_configuration_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sip_edge", "--port", "notaport"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert b"port" in result.stderr
