"""Real-socket fixtures: a `python -m sip_edge` subprocess on free loopback ports, and SIP clients."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def port_is_free(port: int) -> bool:
    """Bindable again by a restarted server (which sets SO_REUSEADDR, as the edge does, so the
    TIME_WAIT left by connections the edge closed does not count as in use)."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                return False
    return True


def write_self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "edge.crt", directory / "edge.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class EdgeProcess:
    proc: subprocess.Popen[bytes]
    port: int
    tls_port: int | None
    health_port: int
    cert: Path | None
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tls_client_context(self) -> ssl.SSLContext:
        assert self.cert is not None
        context = ssl.create_default_context(cafile=str(self.cert))
        context.check_hostname = False
        return context

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def start_edge(tmp: Path, *, tls: bool = True, extra_env: dict[str, str] | None = None) -> EdgeProcess:
    port, health = free_port(), free_port()
    tls_port = free_port() if tls else None
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SIP_", "EDGE_"))}
    env["PYTHONPATH"] = str(ROOT)
    # The edge's table and function are nowhere here: its heartbeat and health probes meet a closed
    # local port at once, with local credentials, so nothing leaves the machine (no metadata service).
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    cert = None
    args = [
        sys.executable,
        "-m",
        "sip_edge",
        "--host",
        HOST,
        "--port",
        str(port),
        "--health-port",
        str(health),
    ]
    if tls_port is not None:
        cert, key = write_self_signed(tmp)
        # Given by environment, as the container does.
        env["SIP_TLS_CERT"], env["SIP_TLS_KEY"] = str(cert), str(key)
        args += ["--tls-port", str(tls_port)]
    env.update(extra_env or {})
    log_path = tmp / f"edge-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    edge = EdgeProcess(proc, port, tls_port, health, cert, log_path)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"edge exited with {proc.returncode}:\n{edge.log()}")
        try:
            with socket.create_connection((HOST, health), timeout=0.5) as probe:
                probe.sendall(b"GET /live HTTP/1.1\r\n\r\n")  # up; its dependencies are not here
                if probe.recv(16).startswith(b"HTTP/1.1 200 "):
                    return edge
        except OSError:
            time.sleep(0.05)
    edge.stop()
    raise RuntimeError(f"edge did not start:\n{edge.log()}")


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    process = start_edge(tmp_path_factory.mktemp("edge"))
    yield process
    code = process.stop()
    assert code == 0, process.log()


# --- clients ------------------------------------------------------------------------------------


def sip_request(
    method: str,
    local: tuple[str, int],
    *,
    transport: str = "UDP",
    branch: str | None = None,
    call_id: str | None = None,
    via_host: str | None = None,
    rport: bool = True,
    cseq: int = 1,
    to_tag: str | None = None,
    extra: str = "",
) -> bytes:
    branch = branch or f"z9hG4bK{os.urandom(6).hex()}"
    call_id = call_id or os.urandom(8).hex()
    sent_by = via_host or f"{local[0]}:{local[1]}"
    to = "<sip:edge@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:edge@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {sent_by};branch={branch}{';rport' if rport else ''}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:tester@127.0.0.1>;tag={os.urandom(4).hex()}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"{extra}"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class UdpClient:
    def __init__(self, edge: EdgeProcess, timeout: float = 3.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(timeout)
        self.target = (HOST, edge.port)
        self.local: tuple[str, int] = self.sock.getsockname()

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def recv(self, timeout: float | None = None) -> bytes:
        if timeout is not None:
            self.sock.settimeout(timeout)
        return self.sock.recv(65535)

    def recv_none(self, wait: float) -> bool:
        self.sock.settimeout(wait)
        try:
            self.sock.recv(65535)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


class StreamClient:
    """A TCP or TLS SIP client that frames responses by Content-Length."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.local: tuple[str, int] = sock.getsockname()

    @classmethod
    def tcp(cls, edge: EdgeProcess, timeout: float = 5.0) -> StreamClient:
        return cls(socket.create_connection((HOST, edge.port), timeout=timeout))

    @classmethod
    def tls(cls, edge: EdgeProcess, timeout: float = 5.0) -> StreamClient:
        assert edge.tls_port is not None
        raw = socket.create_connection((HOST, edge.tls_port), timeout=timeout)
        return cls(edge.tls_client_context().wrap_socket(raw, server_hostname="localhost"))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def recv_message(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        head, _, _ = self.buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"content-length", b"l"):
                length = int(value)
        return self.read_exactly(len(head) + 4 + length)

    def close(self) -> None:
        self.sock.close()


def status_of(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


def header(data: bytes, name: str) -> str | None:
    for line in data.decode().split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None
