"""Linux network namespaces, veth pairs and commands inside them: the primitives of the topology.

Everything here shells out to ``ip`` (iproute2), ``iptables`` and ``conntrack`` and needs root. The
interfaces are created directly inside the namespaces (``ip -n A link add ... netns B``), so the
machine's own namespace never gains or loses an interface.
"""

from __future__ import annotations

import ctypes
import os
import queue
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"


class NetnsError(RuntimeError):
    pass


def run(argv: Sequence[str], *, check: bool = True, input: str | None = None) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, input=input, timeout=30)
    if check and result.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def add(name: str) -> None:
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def delete(name: str) -> None:
    """Deleting a namespace also deletes its interfaces, iptables rules and conntrack entries."""
    if exists(name):
        run(["ip", "netns", "delete", name], check=False)


def inside(name: str, argv: Sequence[str]) -> list[str]:
    """The command line that runs ``argv`` in namespace ``name``."""
    return ["ip", "netns", "exec", name, *argv]


def sh(name: str, argv: Sequence[str], *, check: bool = True, input: str | None = None) -> str:
    return run(inside(name, argv), check=check, input=input)


def sysctl(name: str, key: str, value: str | int) -> None:
    sh(name, ["sysctl", "-q", "-w", f"{key}={value}"])


def veth(a: str, a_if: str, b: str, b_if: str) -> None:
    """A cable between two namespaces: ``a_if`` in ``a``, ``b_if`` in ``b``, both up."""
    run(["ip", "-n", a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b])
    run(["ip", "-n", a, "link", "set", a_if, "up"])
    run(["ip", "-n", b, "link", "set", b_if, "up"])


def address(name: str, interface: str, cidr: str) -> None:
    run(["ip", "-n", name, "addr", "add", cidr, "dev", interface])


def default_route(name: str, gateway: str) -> None:
    run(["ip", "-n", name, "route", "add", "default", "via", gateway])


def bridge(name: str, interface: str) -> None:
    run(["ip", "-n", name, "link", "add", interface, "type", "bridge"])
    run(["ip", "-n", name, "link", "set", interface, "up"])


def attach(name: str, interface: str, bridge_interface: str) -> None:
    run(["ip", "-n", name, "link", "set", interface, "master", bridge_interface])


def call_in(name: str, function: Callable[[], T]) -> T:
    """Run ``function`` in a fresh thread that has entered namespace ``name``: the sockets it opens
    live there. (The network namespace is per thread in Linux; this process's others are untouched.)"""
    results: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)

    def body() -> None:
        try:
            enter(name)
            results.put((True, function()))
        except BaseException as exc:
            results.put((False, exc))

    thread = threading.Thread(target=body, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    ok, value = results.get()
    if not ok:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


def enter(name: str) -> None:
    """Move the calling thread into namespace ``name``. Only for a thread of its own (`call_in`)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise NetnsError(f"setns({name}) failed: {os.strerror(errno)}")
    finally:
        os.close(fd)
