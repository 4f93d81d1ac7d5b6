"""Merchants' uploaded prompts, named where the media relay has them.

rtpengine's ``play media`` takes a file path on the relay's machine and opens the file itself; it
cannot read S3. The edge writes nothing there: the relay's agent (``media_relay.agent.UploadSync``,
beside every rtpengine, on the media fleet and locally) copies each version from the prompt store
(the bucket in AWS, the store's directory locally) into ``<MEDIA_PROMPTS>/uploaded/<sha256>.wav``,
resampled to the relay's format, and the edge names that path: through the agent, which copies a
version it lacks at once when asked (`part`), or directly where the relay has no agent.

Why keyed by content hash: a replaced prompt is a new file under a new name, so a relay still
playing the old version keeps reading a whole file and there is no invalidation to get wrong; the
same bytes uploaded under two names are one file.

Whatever fails (a version the relay has not copied yet, a store it cannot reach, a hash that does
not match) the relay refuses the file and the caller hears the default prompt instead: silence is
never the fallback.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from contact_center.contracts.media_relays import UPLOADED_PROMPTS_FOLDER
from contact_center.domain.prompts import PromptFile

__all__ = ["UploadedPrompts"]


class UploadedPrompts:
    def __init__(self, prompts_directory: str) -> None:
        """``prompts_directory``: the relays' prompts directory (``MEDIA_PROMPTS``)."""
        self._directory = PurePosixPath(prompts_directory) / UPLOADED_PROMPTS_FOLDER

    @staticmethod
    def part(file: PromptFile) -> str:
        """The name the relay's agent knows ``file`` by (a part of its prompts directory)."""
        return f"{UPLOADED_PROMPTS_FOLDER}/{file.sha256}"

    def path(self, file: PromptFile) -> str:
        """Where the relay has ``file`` once its agent copied it."""
        return str(self._directory / f"{file.sha256}.wav")
