"""Merchants' uploaded prompts, copied where the media relay can open them.

rtpengine's ``play media`` takes a file path on the relay's machine and opens the file itself; it
cannot read S3. So the edge fetches an uploaded prompt from the prompt store (the bucket in AWS, the
directory locally) into ``<MEDIA_PROMPTS>/uploaded/<sha256>.wav`` the first time a caller needs it,
and names that path to the relay. The edge and its relays therefore share that directory (one host,
or a shared volume for a media fleet).

Why keyed by content hash: a replaced prompt is a new file under a new name, so a relay still
playing the old version keeps reading a whole file and there is no invalidation to get wrong; the
same bytes uploaded under two names are one file; a file is written aside and renamed, so the
relay never opens half of one. The hash is checked against the decision's before the file is kept.
The directory is bounded: past ``max_files`` the least recently written are removed (a relay that
has a removed file open keeps reading it).

Whatever fails (the store unreachable, a prompt deleted since the decision, a hash that does not
match) the caller hears the default prompt instead: silence is never the fallback.

The media fleet's relays share no disk with the edge: there each relay's agent copies the bucket's
prompts into the same ``uploaded/<sha256>.wav`` itself (``media_relay.agent.UploadSync``), and the
edge (no store given) only names the path; a file the relay has not copied yet is refused by
rtpengine's ``play media``, and the hold player plays the default prompt instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from contact_center.contracts.media_relays import UPLOADED_PROMPTS_FOLDER
from contact_center.domain.prompts import PromptFile
from contact_center.services.prompts import PromptStore
from sip_edge.app.media.joined import keep_newest

__all__ = ["UploadedPrompts"]

log = logging.getLogger("sip_edge.media")

_MAX_FILES = 512  # 512 one-minute 16 kHz prompts are about 1 GB


class UploadedPrompts:
    def __init__(
        self, store: PromptStore | None, prompts_directory: str, max_files: int = _MAX_FILES
    ) -> None:
        """``store`` None: the relays copy the uploads themselves; the edge names their path only."""
        self._store = store
        self._directory = Path(prompts_directory) / UPLOADED_PROMPTS_FOLDER
        self._max_files = max_files
        self._fetching: dict[str, asyncio.Task[str | None]] = {}
        self.fetched = 0  # files copied from the store (the rest were found in the directory)

    async def path(self, file: PromptFile) -> str | None:
        """The path of ``file`` for the relay, fetched on first use; None when it cannot be had."""
        target = self._directory / f"{file.sha256}.wav"
        if self._store is None or target.exists():
            return str(target)
        # Callers queued at once for the same new prompt share one fetch.
        task = self._fetching.get(file.sha256)
        if task is None:
            task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._fetch, file, target))
            self._fetching[file.sha256] = task
            task.add_done_callback(lambda _: self._fetching.pop(file.sha256, None))
        return await asyncio.shield(task)

    def _fetch(self, file: PromptFile, target: Path) -> str | None:
        assert self._store is not None
        try:
            data = self._store.get(file.key)
        except Exception as exc:  # any store failure: the default prompt plays
            log.warning("uploaded prompt %s not fetched: %s", file.key, exc)
            return None
        if hashlib.sha256(data).hexdigest() != file.sha256:
            log.warning("uploaded prompt %s is not the version decided (%s)", file.key, file.sha256)
            return None
        self._directory.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=self._directory, prefix=".fetch-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(scratch, 0o644)  # the relay may run as another user
        os.replace(scratch, target)
        self.fetched += 1
        keep_newest(self._directory, self._max_files, keep=target)
        return str(target)
