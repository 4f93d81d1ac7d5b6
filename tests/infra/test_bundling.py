"""The layer's dependency cache: parallel synths (test workers) building the same key at once."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from switchboard_infra import bundling, paths


def test_parallel_builds_of_one_key_all_get_a_complete_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "BUILD_CACHE", tmp_path)
    gate = threading.Barrier(4)

    def offline_pip(*_: Any, **__: Any) -> None:
        gate.wait(timeout=10)  # every builder is past the cache check before any finishes
        raise subprocess.CalledProcessError(1, "pip")

    monkeypatch.setattr(bundling.subprocess, "run", offline_pip)
    results: list[Path | BaseException] = []

    def build() -> None:
        try:
            results.append(bundling._install_dependencies(bundling.pinned(("pynamodb",)), "3.12"))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4 and all(isinstance(r, Path) for r in results), results
    (target,) = set(results)
    assert (target / ".complete").exists() and (target / "pynamodb" / "models.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no scratch left behind
