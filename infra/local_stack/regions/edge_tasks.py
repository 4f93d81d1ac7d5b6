"""The drill's edge tasks as the routing side reaches them: one per region, advertised by its
heartbeat (``EdgeTaskItems``) on the region's loopback address, answering the signed MESSAGEs a router
sends a task (``contracts.offer_push``) as ``sip_edge/app/calls/offer_push.py`` does.

A takeover asks the surviving region's task which contacts it holds (``offer_push.HELD``): the answer
is every call of the drill that entered through that region and is not over, the calls a real task
would be setting up or bridging. Pushed offers are acknowledged and left to the drill's poll, which
hands every pending offer to its caller anyway.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Collection
from functools import partial

from contact_center.contracts import offer_push
from contact_center.data.sessions import EdgeTaskItems
from local_stack.regions.harness import ADDRESSES, FLEET_KEY
from local_stack.regions.load import World

log = logging.getLogger("local_stack.regions.edge_tasks")

HEARTBEAT_EVERY = 3.0
HEARTBEAT_TTL_SECONDS = 10


def _reply(request: bytes, status: int, reason: str, body: bytes = b"", content_type: str = "") -> bytes:
    head = request.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
    copied = [line for line in head[1:] if line.split(":", 1)[0].strip().lower() in _ECHOED]
    lines = [f"SIP/2.0 {status} {reason}", *copied]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


_ECHOED = frozenset({"via", "from", "to", "call-id", "cseq"})


def answer(data: bytes, key: bytes, held: Callable[[list[str]], list[str]], now_s: float) -> bytes | None:
    """The task's answer to one datagram (None: not a request for it)."""
    if not data.startswith(b"MESSAGE "):
        return None
    raw_head, _, body = data.partition(b"\r\n\r\n")
    headers = {}
    for line in raw_head.decode(errors="replace").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if not offer_push.verify(headers.get(offer_push.SIGNATURE_HEADER.lower()), body, key, now_s):
        return _reply(data, 403, "Forbidden")
    if headers.get("content-type", "").split(";")[0].strip() != offer_push.COMMAND_CONTENT_TYPE:
        return _reply(data, 202, "Accepted")
    try:
        command = offer_push.decode_command(body)
    except ValueError:
        return _reply(data, 400, "Bad Request")
    asked = command.get("contact_ids")
    if command["command"] != offer_push.HELD or not isinstance(asked, list):
        return _reply(data, 501, "Not Implemented")
    found = offer_push.held_body(held([str(contact_id) for contact_id in asked]))
    return _reply(data, 200, "OK", found, offer_push.HELD_CONTENT_TYPE)


class DrillEdgeTask:
    """One region's task: a UDP socket on ``host`` and a heartbeat while ``alive()``."""

    def __init__(
        self,
        task_id: str,
        region: str,
        host: str,
        fleet_key: str,
        held: Callable[[], Collection[str]],
        alive: Callable[[], bool],
        stopped: threading.Event,
    ) -> None:
        self.task_id = task_id
        self._region = region
        self._key = offer_push.push_key(fleet_key)
        self._held = held
        self._alive = alive
        self._stopped = stopped
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self._sock.settimeout(0.5)
        self.address = f"{host}:{self._sock.getsockname()[1]}"
        # What a takeover asked of it: the contacts asked about, and those it said it held.
        self.asked = 0
        self.said_held = 0

    def start(self) -> None:
        threading.Thread(target=self._serve, name=f"{self.task_id}-sip", daemon=True).start()
        threading.Thread(target=self._beat, name=f"{self.task_id}-heartbeat", daemon=True).start()

    def _serve(self) -> None:
        with self._sock:
            while not self._stopped.is_set():
                try:
                    data, sender = self._sock.recvfrom(65535)
                except TimeoutError:
                    continue
                if not self._alive():
                    continue  # died with its region: nothing answers
                reply = answer(data, self._key, self._held_of, time.time())
                if reply is not None:
                    self._sock.sendto(reply, sender)

    def _held_of(self, asked: list[str]) -> list[str]:
        live = set(self._held())
        found = [contact_id for contact_id in asked if contact_id in live]
        self.asked += len(asked)
        self.said_held += len(found)
        return found

    def _beat(self) -> None:
        tasks = EdgeTaskItems()
        while not self._stopped.is_set():
            if self._alive():
                with contextlib.suppress(Exception):
                    tasks.heartbeat(
                        self.task_id,
                        self.address,
                        int(time.time()),
                        HEARTBEAT_TTL_SECONDS,
                        region=self._region,
                    )
            self._stopped.wait(HEARTBEAT_EVERY)


def start_edge_tasks(world: World) -> dict[str, DrillEdgeTask]:
    """One task per region, holding the calls of ``world`` that entered there, stopped with it."""
    tasks = {
        region: DrillEdgeTask(
            f"edge-{region}-1",
            region,
            ADDRESSES[region],
            FLEET_KEY,
            partial(world.held_by, region),
            partial(world.alive.__getitem__, region),
            world.stopped,
        )
        for region in ADDRESSES
    }
    for task in tasks.values():
        task.start()
    return tasks
