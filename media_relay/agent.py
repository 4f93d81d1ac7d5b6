"""The agent on a media relay instance: rtpengine's configuration at boot, then the relay's heartbeat,
its sessions metric, and the drain when Auto Scaling takes the instance away.

It runs alone on a Debian instance (the media fleet, ``switchboard_infra.constructs.media_fleet``),
so it is one file of standard library and boto3 (Debian's ``python3-boto3``); every name it writes
comes from its configuration file, which the CDK app renders from
``contact_center.contracts.media_relays``.

``python3 agent.py configure CONFIG CONF``
    Writes rtpengine's configuration: ``interface = <private>!<public>`` from the instance metadata,
    so rtpengine binds the private address the VPC delivers to and writes the public one into SDP,
    where callers and carriers send their RTP; ng on the private address (the edge tasks' security
    group alone may reach it), the CLI on the loopback; key reports (``dtmf-log-dest``) to the
    agent on the loopback; recordings as pcap files into the collector's spool.

``python3 agent.py prompts CONFIG BUNDLE``
    Copies the default prompts of the relay's bundle (``BUNDLE/prompts``, made by ``make prompts``)
    into the prompts' directory, the one the edges name as MEDIA_PROMPTS.

``python3 agent.py run CONFIG``
    Every ``beat_seconds``: reads rtpengine's session count (its CLI) and the instance's Auto
    Scaling target state (IMDS), and writes the relay's item (ng and public address, sessions,
    draining). Every ``metric_seconds`` it puts the sessions to CloudWatch, the fleet's scaling
    figure. When the instance is to be terminated (a scale-in, an instance refresh, a rebalance) the
    lifecycle hook holds it in Terminating:Wait: the agent marks the relay draining, edges stop
    sending it new calls within one of their reads, and once rtpengine holds no session the agent
    completes the lifecycle action. Calls still talking when the hook's timeout runs out end with
    the instance. rtpengine not answering: no beat (the edges' pings judge its calls), and after
    ``unhealthy_after_seconds`` the agent reports the instance unhealthy, so the group replaces it.
    Beside the beat, three threads: `KeyForwarder` sends each of rtpengine's key reports on to the
    edge task holding the call, `UploadSync` copies merchants' uploaded prompts from the prompts
    bucket into ``<prompts>/uploaded/<sha256>.wav`` every ``sync_seconds``, and `PromptJoiner` joins
    the prompts an edge names into one file for rtpengine to play (`serve_joins`).

``python3 agent.py joins DIRECTORY HOST:PORT [UPLOADS]``
    For a relay outside a fleet (the local stack, the media tests): the same `PromptJoiner` over the
    prompts in DIRECTORY, answering on HOST:PORT, and the same `UploadSync` copying the uploads of
    the prompt store's directory UPLOADS (``PROMPTS_DIRECTORY``) into ``DIRECTORY/uploaded``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable, Mapping
from typing import Any, Protocol

log = logging.getLogger("relay-agent")

IMDS = "http://169.254.169.254"
# The Auto Scaling target state of an instance its group is about to terminate.
TERMINATING = "Terminated"


class Metadata(Protocol):
    def get(self, path: str) -> str | None: ...


class InstanceMetadata:
    """IMDSv2 (the launch template requires tokens)."""

    def __init__(self, base: str = IMDS, timeout: float = 2.0) -> None:
        self._base = base
        self._timeout = timeout
        self._token = ""
        self._token_until = 0.0

    def _fresh_token(self) -> str:
        if time.monotonic() >= self._token_until:
            request = urllib.request.Request(
                f"{self._base}/latest/api/token",
                method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
            )
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                self._token = response.read().decode()
            self._token_until = time.monotonic() + 21_000
        return self._token

    def get(self, path: str) -> str | None:
        """The value at ``/latest/meta-data/<path>``; None when the instance has none (404)."""
        request = urllib.request.Request(
            f"{self._base}/latest/meta-data/{path}",
            headers={"X-aws-ec2-metadata-token": self._fresh_token()},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return str(response.read().decode().strip())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


def rtpengine_conf(
    private: str, public: str, ports: Mapping[str, int], recording_spool: str | None = None
) -> str:
    """rtpengine's configuration file: userspace forwarding, the private!public interface; key reports
    to the agent on the loopback (``ports["dtmf_log"]``); recordings into ``recording_spool``."""
    extra = []
    if "dtmf_log" in ports:
        extra.append(f"dtmf-log-dest = 127.0.0.1:{ports['dtmf_log']}")
    if recording_spool is not None:
        # pcap: the userspace relay has no kernel module for rtpengine's recording daemon to read.
        extra += [f"recording-dir = {recording_spool}", "recording-method = pcap"]
    return "\n".join(
        [
            "[rtpengine]",
            # Userspace forwarding: no kernel module to build on the instance.
            "table = -1",
            # Bound to the private address; the public one (the instance's public IP, 1:1 NAT by
            # the internet gateway) is what SDP names.
            f"interface = {private}!{public}",
            f"listen-ng = {private}:{ports['ng']}",
            f"listen-cli = 127.0.0.1:{ports['cli']}",
            f"port-min = {ports['rtp_min']}",
            f"port-max = {ports['rtp_max']}",
            # As the local stack runs it (local_stack.media_relay): a long hold is not a dead call.
            "timeout = 60",
            "silent-timeout = 3600",
            "delete-delay = 0",
            "tos = 184",
            "log-level = 5",
            *extra,
            "",
        ]
    )


_OWN_SESSIONS = re.compile(rb"Current sessions own:\s*(\d+)")


def cli_sessions(port: int, timeout: float = 2.0) -> int:
    """rtpengine's own sessions from its CLI (``list numsessions``); OSError when it does not answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"list numsessions\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    found = _OWN_SESSIONS.search(reply)
    if found is None:
        raise OSError(f"rtpengine's CLI gave no session count: {reply[:200]!r}")
    return int(found.group(1))


def relay_item(
    config: Mapping[str, Any],
    *,
    relay_id: str,
    ng_address: str,
    public_address: str,
    now: int,
    sessions: int,
    draining: bool,
    agent_address: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The relay's item in DynamoDB's attribute-value form."""
    keys, item = config["keys"], config["item"]
    joins = {item["agent_address"]: {"S": agent_address}} if agent_address else {}
    return {
        keys["pk"]: {"S": item["pk_prefix"] + relay_id},
        keys["sk"]: {"S": item["sk"]},
        keys["index_pk"]: {"S": item["index_pk"]},
        keys["index_sk"]: {"S": relay_id},
        keys["ttl"]: {"N": str(now + int(config["kept_seconds"]))},
        item["entity_attribute"]: {"S": item["entity"]},
        item["relay_id"]: {"S": relay_id},
        item["ng_address"]: {"S": ng_address},
        item["public_address"]: {"S": public_address},
        item["heartbeat_at"]: {"N": str(now)},
        item["sessions"]: {"N": str(sessions)},
        item["draining"]: {"BOOL": draining},
        **joins,
    }


def ng_labels(address: tuple[str, int], call_id: str, timeout: float = 1.0) -> dict[str, str]:
    """The ``label`` of each tag of rtpengine's call ``call_id`` (ng ``query``); OSError when rtpengine
    does not answer, ValueError when it answers something else."""
    # rtpengine takes an ng message in JSON as well as bencode, and answers in kind: no bencode here.
    cookie = os.urandom(6).hex().encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(cookie + b" " + json.dumps({"command": "query", "call-id": call_id}).encode(), address)
        while True:
            got, _, body = sock.recv(65_535).partition(b" ")
            if got == cookie:
                break
    reply = json.loads(body)
    if not isinstance(reply, dict) or reply.get("result") != "ok":
        raise ValueError(f"rtpengine's query of {call_id} answered {reply!r:.200}")
    tags = reply.get("tags")
    if not isinstance(tags, dict):
        return {}
    return {
        str(tag): info["label"]
        for tag, info in tags.items()
        if isinstance(info, dict) and isinstance(info.get("label"), str)
    }


def label_destination(labels: Mapping[str, str], source_tag: object, prefix: str) -> tuple[str, int] | None:
    """Where the edge that labelled the call wants its key reports: the pressing leg's label first,
    then any leg's (a re-offer from the other side keeps the caller's label)."""
    ordered = [labels[source_tag]] if isinstance(source_tag, str) and source_tag in labels else []
    for label in [*ordered, *labels.values()]:
        if not label.startswith(prefix):
            continue
        host, _, port = label[len(prefix) :].rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65_536:
            return host, int(port)
    return None


class KeyForwarder:
    """rtpengine's key reports (its one ``dtmf-log-dest``, this agent on the loopback), each sent on to
    the edge task holding the call: the address the edge put in the call's label. A call's address is
    asked of rtpengine once and remembered (the last ``remembered`` calls)."""

    def __init__(
        self,
        labels: Callable[[str], Mapping[str, str]],
        prefix: str,
        send: Callable[[bytes, tuple[str, int]], object],
        remembered: int = 4_096,
    ) -> None:
        self._labels = labels
        self._prefix = prefix
        self._send = send
        self._remembered = remembered
        self._destinations: dict[str, tuple[str, int]] = {}
        self.forwarded = 0
        self.unclaimed = 0

    def forward(self, datagram: bytes) -> tuple[str, int] | None:
        """Send one report on; where it went, None when no edge named the call (the report is dropped:
        a menu on such a call hears SIP INFO keys only)."""
        try:
            report = json.loads(datagram)
        except ValueError:
            return None
        call_id = report.get("callid") if isinstance(report, dict) else None
        if not isinstance(call_id, str):
            return None
        destination = self._destinations.get(call_id)
        if destination is None:
            try:
                labels = self._labels(call_id)
            except (OSError, ValueError) as exc:
                log.warning("key report of %s not forwarded: rtpengine's query failed (%s)", call_id, exc)
                return None
            destination = label_destination(labels, report.get("source_tag"), self._prefix)
            if destination is None:
                self.unclaimed += 1
                log.info("key report of %s not forwarded: no edge labelled the call", call_id)
                return None
            if len(self._destinations) >= self._remembered:
                self._destinations.pop(next(iter(self._destinations)))  # the oldest call
            self._destinations[call_id] = destination
        self._send(datagram, destination)
        self.forwarded += 1
        return destination

    def serve(self, sock: socket.socket) -> None:
        while True:
            datagram = sock.recv(65_535)
            try:
                self.forward(datagram)
            except OSError as exc:  # an edge task gone: the next report may go elsewhere
                log.warning("key report not sent: %s", exc)


_UPLOADED_NAME = re.compile(r"([0-9a-f]{64})\.wav")
# The format rtpengine 10.5 plays without bunching (``sip_edge.app.media.prompts.RELAY_SAMPLE_RATE``
# says why; a test holds the two equal): 16-bit mono at 96 kHz, band-limited to what a call carries.
RELAY_SAMPLE_RATE = 96_000


class S3Uploads:
    """The region's prompts bucket (the media fleet)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def stored(self) -> list[str]:
        keys: list[str] = []
        token: str | None = None
        while True:
            page = self._s3.list_objects_v2(
                Bucket=self._bucket, **({"ContinuationToken": token} if token else {})
            )
            keys += [str(listed["Key"]) for listed in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return keys

    def read(self, key: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())


class DirectoryUploads:
    """The prompt store's directory (``PROMPTS_DIRECTORY``: the local stack), keys relative to it."""

    def __init__(self, root: str) -> None:
        self._root = root

    def stored(self) -> list[str]:
        return [
            os.path.relpath(os.path.join(folder, name), self._root)
            for folder, _, names in os.walk(self._root)
            for name in names
        ]

    def read(self, key: str) -> bytes:
        with open(os.path.join(self._root, key), "rb") as handle:
            return handle.read()


class Uploads(Protocol):
    def stored(self) -> list[str]: ...
    def read(self, key: str) -> bytes: ...


def to_relay_format(source: str, target: str) -> None:
    """``source`` (any WAV a merchant may upload: 8 or 16 kHz, PCM or G.711) written as the relay's
    prompts are: by sox, as `make prompts` writes the default ones; CalledProcessError when sox
    cannot read it."""
    subprocess.run(
        ["sox", "-t", "wav", source, "-t", "wav", "-b", "16", "-e", "signed-integer", target,
         "channels", "1", "rate", "8000", "rate", str(RELAY_SAMPLE_RATE)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


class UploadSync:
    """Merchants' uploaded prompts, copied from the prompt store (keys end in ``<sha256>.wav``) into
    ``directory/<sha256>.wav``, where the edges name them: the bucket on the media fleet, the store's
    directory locally, so no edge ever writes on a relay's disk. Each copy is resampled to the
    relay's format (`to_relay_format`): an upload at 8 or 16 kHz would play in the bunches the 8 kHz
    default prompts did. Content-addressed by the upload's own hash, checked before the conversion;
    a file is written aside and renamed, so rtpengine never opens half of one; a version no longer
    in the store (replaced or deleted) is removed (a playback that has it open keeps reading)."""

    def __init__(self, uploads: Uploads, directory: str, soonest: float = 1.0) -> None:
        self._uploads = uploads
        self._directory = directory
        # An on-demand sync (a part the edge named is missing) runs at most this often.
        self._soonest = soonest
        self._last = -soonest
        self._finished = 0  # syncs completed: a join that waited for one does not repeat it
        self._lock = threading.Lock()
        self.copied = 0

    def _listed(self) -> dict[str, str]:
        """sha256 -> key of every prompt version in the store."""
        versions: dict[str, str] = {}
        for key in self._uploads.stored():
            found = _UPLOADED_NAME.fullmatch(key.rsplit("/", 1)[-1])
            if found:
                versions[found.group(1)] = key
        return versions

    def sync_once(self) -> int:
        """Copy what the store has and the directory lacks, remove what it no longer has; files copied."""
        with self._lock:
            return self._sync()

    def sync_soon(self, wait: float = 0.5) -> None:
        """A sync now (an edge named an upload not copied yet), unless one ran within ``soonest``. A
        sync already running is waited for up to ``wait`` seconds and not repeated: it copies what
        this one would (a new relay's first sync converts every upload: no join waits that long)."""
        finished = self._finished
        if not self._lock.acquire(timeout=wait):
            return
        try:
            if self._finished == finished and time.monotonic() - self._last >= self._soonest:
                self._sync()
        except Exception:
            log.exception("uploaded prompts not synced on demand")
        finally:
            self._lock.release()

    def _sync(self) -> int:
        self._last = time.monotonic()
        versions = self._listed()
        os.makedirs(self._directory, exist_ok=True)
        copied = sum(
            self._copy(sha256, key)
            for sha256, key in versions.items()
            if not os.path.exists(os.path.join(self._directory, f"{sha256}.wav"))
        )
        for name in os.listdir(self._directory):
            found = _UPLOADED_NAME.fullmatch(name)
            if found and found.group(1) not in versions:
                os.unlink(os.path.join(self._directory, name))
        self.copied += copied
        self._finished += 1
        return copied

    def _copy(self, sha256: str, key: str) -> bool:
        data = self._uploads.read(key)
        if hashlib.sha256(data).hexdigest() != sha256:
            log.warning("uploaded prompt %s does not match its name: not copied", key)
            return False
        fd, original = tempfile.mkstemp(dir=self._directory, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        fd, scratch = tempfile.mkstemp(dir=self._directory, prefix=".sync-")
        os.close(fd)
        try:
            to_relay_format(original, scratch)
        except (OSError, subprocess.SubprocessError) as exc:
            os.unlink(scratch)
            log.warning("uploaded prompt %s not converted for the relay: %s", key, exc)
            return False
        finally:
            os.unlink(original)
        os.chmod(scratch, 0o644)  # rtpengine runs as its own user
        os.replace(scratch, os.path.join(self._directory, f"{sha256}.wav"))
        return True

    def run(self, every: float) -> None:
        while True:
            try:
                copied = self.sync_once()
                if copied:
                    log.info("%d uploaded prompts copied", copied)
            except Exception:
                log.exception("uploaded prompts not synced; trying again")
            time.sleep(every)


# A part is a prompt of the relay's prompts directory, named without ".wav": a default prompt
# ("n3") or a folder's file ("uploaded/<sha256>"); never a path that could leave the directory.
_PART = re.compile(r"[A-Za-z0-9_-]{1,100}(/[A-Za-z0-9_-]{1,100})?")


class JoinError(Exception):
    """The parts cannot be one file here (one missing, unreadable, or of another format)."""


class PromptJoiner:
    """The prompts an edge names joined into one WAV file on this relay's disk, for rtpengine to play
    without the gap it leaves at every switch from one file to the next (rtpengine 10.5 times a new
    file from a clock reading taken before it opened it). The edge and a relay share no disk, so the
    relay's agent joins the relay's own copies: the default prompts of its bundle and the uploads it
    synced. A joined file is named by the content hashes of its parts (a part that changes makes a
    new file; the same words asked again are the file already made), written aside and renamed so
    rtpengine never opens half of one, and ``joined/`` keeps the ``max_files`` most recently used (a
    playback that has a removed file open keeps reading it)."""

    def __init__(
        self,
        directory: str,
        joined: str | None = None,
        max_files: int = 256,
        missing: Callable[[], object] | None = None,
    ) -> None:
        """``joined``: where the joined files go (the contract's ``<directory>/said``); ``missing``:
        called when a part is not here, before it is looked for again (the uploads' sync on demand,
        so the first caller of a new upload need not wait for the next periodic sync)."""
        # An announcement is 2-6 s: at 96 kHz 0.4-1.2 MB, so 256 files are at most about 300 MB.
        self._missing = missing
        self.directory = directory
        self._joined = joined or os.path.join(directory, "said")
        self._max_files = max_files
        # (path, size, mtime) -> the file's sha256: a file is hashed once, not per request.
        self._hashes: dict[tuple[str, int, int], str] = {}
        self.written = 0

    def _part(self, name: object) -> str:
        if not isinstance(name, str) or not _PART.fullmatch(name):
            raise JoinError(f"not a prompt name: {name!r:.80}")
        return os.path.join(self.directory, f"{name}.wav")

    def _hash(self, path: str) -> str:
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise JoinError(f"no prompt {os.path.basename(path)}: {exc.strerror}") from None
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key not in self._hashes:
            with open(path, "rb") as handle:
                self._hashes[key] = hashlib.file_digest(handle, "sha256").hexdigest()
        return self._hashes[key]

    def joined(self, names: list[object]) -> str:
        """The path of one file saying ``names`` in turn (a single part: its own path)."""
        if not names:
            raise JoinError("no parts to join")
        parts = [self._part(name) for name in names]
        if self._missing is not None and not all(os.path.exists(part) for part in parts):
            self._missing()
        digest = hashlib.sha256(" ".join(self._hash(part) for part in parts).encode()).hexdigest()
        if len(parts) == 1:
            return parts[0]
        target = os.path.join(self._joined, f"{digest}.wav")
        if os.path.exists(target):
            os.utime(target)  # used again: kept over the least recently used
            return target
        self._write(parts, target)
        return target

    def _write(self, parts: list[str], target: str) -> None:
        frames: list[bytes] = []
        params = None
        try:
            for part in parts:
                with wave.open(part, "rb") as reader:
                    if params is not None and reader.getparams()[:3] != params[:3]:
                        raise JoinError(f"{os.path.basename(part)} is not of the other parts' format")
                    params = reader.getparams()
                    frames.append(reader.readframes(reader.getnframes()))
        except (OSError, EOFError, wave.Error) as exc:
            raise JoinError(f"a part cannot be read: {exc}") from None
        assert params is not None
        os.makedirs(self._joined, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=self._joined, prefix=".join-")
        with os.fdopen(fd, "wb") as out, wave.open(out, "wb") as writer:
            writer.setnchannels(params.nchannels)
            writer.setsampwidth(params.sampwidth)
            writer.setframerate(params.framerate)
            writer.writeframes(b"".join(frames))
        os.chmod(scratch, 0o644)  # rtpengine runs as its own user
        os.replace(scratch, target)
        self.written += 1
        self._keep_newest(target)

    def _keep_newest(self, keep: str) -> None:
        files = []
        for name in os.listdir(self._joined):
            path = os.path.join(self._joined, name)
            if name.endswith(".wav") and path != keep:
                with contextlib.suppress(FileNotFoundError):
                    files.append((os.stat(path).st_mtime, path))
        files.sort()
        for _, old in files[: max(0, len(files) - self._max_files + 1)]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(old)

    def answer(self, datagram: bytes) -> bytes | None:
        """One request in the ng protocol's framing (``<cookie> <JSON>``, as rtpengine takes it):
        ``{"command": "join", "parts": [...]}`` -> ``{"result": "ok", "file": path}``, or
        ``"result": "error"`` with its ``error-reason``; ``ping`` -> ``pong``. None: not a request."""
        cookie, _, body = datagram.partition(b" ")
        try:
            request = json.loads(body)
        except ValueError:
            return None
        if not isinstance(request, dict):
            return None
        reply: dict[str, Any]
        if request.get("command") == "ping":
            reply = {"result": "pong"}
        elif request.get("command") == "join" and isinstance(request.get("parts"), list):
            try:
                reply = {"result": "ok", "file": self.joined(request["parts"])}
            except JoinError as exc:
                reply = {"result": "error", "error-reason": str(exc)}
        else:
            reply = {"result": "error", "error-reason": "unknown command"}
        return cookie + b" " + json.dumps(reply).encode()


def serve_joins(sock: socket.socket, joiner: PromptJoiner, workers: int = 4) -> None:
    """Answer the edges' join requests on ``sock``, a few at once: a request that waits for an
    upload's copy (a bucket listing, a conversion) holds up no other (a repeated request finds the
    file the first one made)."""

    def answer(datagram: bytes, sender: tuple[str, int]) -> None:
        try:
            reply = joiner.answer(datagram)
            if reply is not None:
                sock.sendto(reply, sender)
        except OSError as exc:
            log.warning("join request of %s not answered: %s", sender, exc)

    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="join") as pool:
        while True:
            try:
                datagram, sender = sock.recvfrom(65_535)
            except OSError:
                if sock.fileno() == -1:
                    return  # the socket was closed: the agent is stopping
                raise
            pool.submit(answer, datagram, sender)


def install_prompts(bundle: str, directory: str) -> int:
    """The default prompts of the relay's bundle copied into the prompts' directory; files copied."""
    source = os.path.join(bundle, "prompts")
    os.makedirs(directory, mode=0o755, exist_ok=True)
    names = sorted(n for n in os.listdir(source) if n.endswith(".wav"))
    for name in names:
        shutil.copyfile(os.path.join(source, name), os.path.join(directory, name))
        os.chmod(os.path.join(directory, name), 0o644)
    return len(names)


class Agent:
    def __init__(
        self,
        config: Mapping[str, Any],
        metadata: Metadata,
        sessions: Callable[[], int],
        dynamodb: Any,
        cloudwatch: Any,
        autoscaling: Any,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._metadata = metadata
        self._sessions = sessions
        self._dynamodb = dynamodb
        self._cloudwatch = cloudwatch
        self._autoscaling = autoscaling
        self._now = now
        instance = metadata.get("instance-id")
        private = metadata.get("local-ipv4")
        public = metadata.get("public-ipv4")
        if not (instance and private and public):
            raise RuntimeError("the instance metadata names no instance id, private or public IPv4")
        self.relay_id = instance
        self.ng_address = f"{private}:{config['ports']['ng']}"
        self.public_address = public
        # Where the edges ask this relay's agent for joined prompts (`PromptJoiner`).
        self.agent_address = f"{private}:{config['ports']['join']}"
        self.draining_since: float | None = None
        self.completed = False
        self.reported_unhealthy = False
        self._silent_since: float | None = None
        self._metric_due = 0.0
        self._group: str | None = None

    def step(self) -> None:
        now = self._now()
        if (
            self.draining_since is None
            and self._metadata.get("autoscaling/target-lifecycle-state") == TERMINATING
        ):
            self.draining_since = now
            log.warning("the instance is leaving the fleet: draining (no new calls)")
        try:
            sessions = self._sessions()
        except OSError as exc:
            log.error("rtpengine does not answer (%s): no beat", exc)
            if self.draining_since is not None:
                self._complete()  # nothing left to drain
            else:
                self._silent(now)
            return
        self._silent_since = None
        self._dynamodb.put_item(
            TableName=self._config["table"],
            Item=relay_item(
                self._config,
                relay_id=self.relay_id,
                ng_address=self.ng_address,
                public_address=self.public_address,
                now=int(now),
                sessions=sessions,
                draining=self.draining_since is not None,
                agent_address=self.agent_address,
            ),
        )
        if self.draining_since is None and now >= self._metric_due:
            metrics = self._config["metrics"]
            self._cloudwatch.put_metric_data(
                Namespace=metrics["namespace"],
                MetricData=[{"MetricName": metrics["name"], "Value": float(sessions), "Unit": "Count"}],
            )
            self._metric_due = now + int(self._config["metric_seconds"])
        # Edges read the registry every beat: two beats after the first draining one, no edge sends
        # a new call here, so no session means no call is on its way.
        grace = 2 * int(self._config["beat_seconds"])
        if self.draining_since is not None and sessions == 0 and now - self.draining_since >= grace:
            self._complete()

    def _silent(self, now: float) -> None:
        """rtpengine's calls died with it: a relay silent this long is replaced, not waited for."""
        if self._silent_since is None:
            self._silent_since = now
        if self.reported_unhealthy or now - self._silent_since < int(self._config["unhealthy_after_seconds"]):
            return
        self._autoscaling.set_instance_health(
            InstanceId=self.relay_id, HealthStatus="Unhealthy", ShouldRespectGracePeriod=False
        )
        self.reported_unhealthy = True
        log.error(
            "rtpengine has not answered for %.0f s: the instance is reported unhealthy",
            now - self._silent_since,
        )

    def _complete(self) -> None:
        if self.completed:
            return
        if self._group is None:
            (instance,) = self._autoscaling.describe_auto_scaling_instances(InstanceIds=[self.relay_id])[
                "AutoScalingInstances"
            ]
            self._group = str(instance["AutoScalingGroupName"])
        self._autoscaling.complete_lifecycle_action(
            LifecycleHookName=self._config["lifecycle_hook"],
            AutoScalingGroupName=self._group,
            InstanceId=self.relay_id,
            LifecycleActionResult="CONTINUE",
        )
        self.completed = True
        log.warning("drained: the instance may terminate")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    command, config_path, *rest = argv
    if command == "joins":
        # A relay outside a fleet: its prompts directory, where it answers, the uploads' directory.
        host, _, port = rest[0].rpartition(":")
        sync = None
        if rest[1:]:
            sync = UploadSync(DirectoryUploads(rest[1]), os.path.join(config_path, "uploaded"))
            threading.Thread(target=sync.run, args=(30,), name="uploads", daemon=True).start()
        joiner = PromptJoiner(config_path, missing=None if sync is None else sync.sync_soon)
        _serve_joins_on(joiner, (host, int(port)))
        return 0
    with open(config_path) as handle:
        config = json.load(handle)
    if command == "prompts":
        log.info("%d default prompts installed", install_prompts(rest[0], config["prompts"]["directory"]))
        return 0
    metadata = InstanceMetadata()
    if command == "configure":
        private, public = metadata.get("local-ipv4"), metadata.get("public-ipv4")
        if not (private and public):
            raise SystemExit("the instance has no private or public IPv4: a relay needs both")
        with open(rest[0], "w") as handle:
            handle.write(rtpengine_conf(private, public, config["ports"], config["recordings"]["spool"]))
        return 0
    import boto3

    region = config["region"]
    agent = Agent(
        config,
        metadata,
        lambda: cli_sessions(int(config["ports"]["cli"])),
        boto3.client("dynamodb", region_name=region),
        boto3.client("cloudwatch", region_name=region),
        boto3.client("autoscaling", region_name=region),
    )
    _start_helpers(config, agent, boto3.client("s3", region_name=region))
    while True:
        try:
            agent.step()
        except Exception:
            log.exception("a beat failed; trying again")
        time.sleep(int(config["beat_seconds"]))


def _serve_joins_on(joiner: PromptJoiner, address: tuple[str, int]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(address)
    log.info("joining prompts of %s on %s:%d", joiner.directory, *address)
    serve_joins(sock, joiner)


def _start_helpers(config: Mapping[str, Any], agent: Agent, s3: Any) -> None:
    """The key reports' forwarder, the prompts' joins and the uploads' sync, each in a thread of its own."""
    host, _, port = agent.ng_address.rpartition(":")
    reports = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    reports.bind(("127.0.0.1", int(config["ports"]["dtmf_log"])))
    forwarder = KeyForwarder(
        lambda call_id: ng_labels((host, int(port)), call_id),
        config["key_reports"]["label_prefix"],
        reports.sendto,
    )
    threading.Thread(target=forwarder.serve, args=(reports,), name="key-reports", daemon=True).start()
    prompts = config["prompts"]
    sync = None
    if prompts["bucket"]:  # none: no merchant uploads to copy (a relay outside a region's stack)
        # A listing of a region's bucket takes a page per 1,000 versions: on demand every 5 s at most.
        sync = UploadSync(S3Uploads(s3, prompts["bucket"]), prompts["uploads"], soonest=5.0)
        threading.Thread(
            target=sync.run, args=(int(prompts["sync_seconds"]),), name="uploads", daemon=True
        ).start()
    joiner = PromptJoiner(
        prompts["directory"], prompts["joined"], missing=None if sync is None else sync.sync_soon
    )
    join_host, _, join_port = agent.agent_address.rpartition(":")
    threading.Thread(
        target=_serve_joins_on, args=(joiner, (join_host, int(join_port))), name="joins", daemon=True
    ).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
