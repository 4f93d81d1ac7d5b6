"""Speaks the default prompts into mono 16-bit WAV files (``make prompts``, run by ``make setup``).

The words come from `sip_edge.app.media.prompts.TEXTS`, the catalogue the edge plays from; espeak-ng
speaks them and sox band-limits them to telephone audio (8 kHz) and writes them at the relay's rate
(`RELAY_SAMPLE_RATE`, 96 kHz: why, in that module). The music on hold is a generated tone loop (two
soft alternating chords), so nothing licensed ships with the project. A file is made again only
when its words or the file format changed (``manifest.json`` remembers both).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sip_edge.app.media.prompts import MUSIC, RELAY_SAMPLE_RATE, TEXTS, TRAILING_SILENCE_S

_FORMAT = ["-r", str(RELAY_SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]
# Telephone band first (8 kHz), then the relay's rate: the files hold what a call can carry.
_TELEPHONE = ["rate", "8000", "rate", str(RELAY_SAMPLE_RATE)]
_MUSIC_RECIPE = "chords:523,659,784/440,554,659"


def _speak(text: str, out: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
        # Leading and trailing silence trimmed, then a short pause after: concatenated words flow.
        trim = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"]
        pad = ["pad", "0", str(TRAILING_SILENCE_S)]
        subprocess.run(
            ["sox", str(raw), *_FORMAT, str(out), *trim, *pad, "gain", "-n", "-3", *_TELEPHONE], check=True
        )


def _music(out: Path) -> None:
    # 4 s: two 2-second chords with soft edges, quiet enough not to tire a caller over minutes.
    with tempfile.TemporaryDirectory() as scratch:
        parts = []
        for index, chord in enumerate(((523, 659, 784), (440, 554, 659))):
            part = Path(scratch) / f"{index}.wav"
            tones = [arg for hz in chord for arg in ("sine", str(hz))]
            subprocess.run(
                [
                    "sox",
                    "-n",
                    *_FORMAT,
                    str(part),
                    "synth",
                    "2",
                    *tones,
                    "fade",
                    "q",
                    "0.3",
                    "2",
                    "0.3",
                    "gain",
                    "-n",
                    "-12",
                ],
                check=True,
            )
            parts.append(str(part))
        subprocess.run(["sox", *parts, *_FORMAT, str(out)], check=True)


def build(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    wanted = {**TEXTS, MUSIC: _MUSIC_RECIPE}
    made = 0
    for name, text in wanted.items():
        out = directory / f"{name}.wav"
        recipe = f"{text} @ {RELAY_SAMPLE_RATE} Hz"  # a new rate remakes every file
        if manifest.get(name) == recipe and out.exists():
            continue
        if name == MUSIC:
            _music(out)
        else:
            _speak(text, out)
        manifest[name] = recipe
        made += 1
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return made


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/prompts")
    print(f"prompts: {build(target)} made in {target}")
